package trace

import (
	"bytes"
	"compress/gzip"
	"encoding/binary"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"

	"github.com/lodsim/lodsim/trace/tabular"
)

func encode(t testing.TB, reqs []Request, format string) []byte {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(&buf, NewSliceReader(reqs), format); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func writeTemp(t testing.TB, name string, data []byte) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return path
}

func openBytes(data []byte, format string, opt Options) (Reader, error) {
	switch format {
	case "parquet":
		return NewParquetReader(bytes.NewReader(data), int64(len(data)), "fuzz", opt)
	case "arrow", "arrows":
		return NewArrowReader(bytes.NewReader(data), "fuzz", opt)
	case "jsonl":
		return NewJSONLReader(bytes.NewReader(data), "fuzz", opt)
	}
	return NewCSVReader(bytes.NewReader(data), "fuzz", opt)
}

// TestArrowFooterHugeBlock is the crash of issue 13: one bit flip in a
// footer block's body length made the reader allocate hundreds of GB. The
// footer check must refuse it before Arrow allocates.
func TestArrowFooterHugeBlock(t *testing.T) {
	data := encode(t, richRequests(100), "arrow")
	flen := int(binary.LittleEndian.Uint32(data[len(data)-10:]))
	footer := data[len(data)-10-flen : len(data)-10]
	// The record batch block: find its body length (a small positive
	// int64 at offset 16 of a 24-byte block) by trying each aligned spot.
	patched := 0
	for off := 0; off+8 <= len(footer); off += 8 {
		v := binary.LittleEndian.Uint64(footer[off:])
		if v > 100 && v < uint64(len(data)) && off >= 16 {
			meta := binary.LittleEndian.Uint32(footer[off-8:])
			if meta > 0 && meta < 1<<16 {
				bad := append([]byte(nil), data...)
				binary.LittleEndian.PutUint64(bad[len(data)-10-flen+off:], v|1<<40)
				_, err := readAllErr(NewArrowReader(bytes.NewReader(bad), "flip.arrow", Options{}))
				if err == nil {
					continue // not the body length
				}
				if !errors.Is(err, tabular.ErrCorrupt) || !strings.Contains(err.Error(), "flip.arrow") {
					t.Fatalf("error %v: want a corrupt-file error naming the file", err)
				}
				patched++
			}
		}
	}
	if patched == 0 {
		t.Fatal("no footer field could be patched")
	}
}

// TestArrowStreamHugeMessage: a stream message length beyond the metadata
// limit is refused before the buffer is made.
func TestArrowStreamHugeMessage(t *testing.T) {
	data := encode(t, richRequests(10), "arrows")
	bad := append([]byte(nil), data...)
	binary.LittleEndian.PutUint32(bad[4:], 1<<30) // schema message length
	_, err := readAllErr(NewArrowReader(bytes.NewReader(bad), "s.arrows", Options{}))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "metadata-bytes") {
		t.Fatalf("error %v: want ErrLimit naming metadata-bytes", err)
	}
	// With a small decoded-size limit, a good stream's batch is refused
	// with the limit named, not read.
	_, err = readAllErr(NewArrowReader(bytes.NewReader(encode(t, richRequests(5000), "arrows")), "s.arrows",
		Options{Limits: tabular.Limits{DecodedBytes: 1 << 10}}))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "decoded-bytes") {
		t.Fatalf("error %v: want ErrLimit naming decoded-bytes", err)
	}
}

// TestCorruptionSweep flips every byte of small Arrow (file and stream)
// and Parquet traces in turn and requires each read to end in an error or
// valid requests: never a panic, and never more than a few MiB allocated
// (any length field trusted would allocate far more).
func TestCorruptionSweep(t *testing.T) {
	reqs := richRequests(40)
	for _, format := range []string{"arrow", "arrows", "parquet"} {
		data := encode(t, reqs, format)
		step := 1
		if testing.Short() {
			step = 7
		}
		var ms runtime.MemStats
		for pos := 0; pos < len(data); pos += step {
			for _, x := range []byte{0xff, 0x80, 0x01, 0x7f} {
				bad := append([]byte(nil), data...)
				bad[pos] ^= x
				runtime.ReadMemStats(&ms)
				before := ms.TotalAlloc
				checkCorrupt(t, bad, format, pos)
				runtime.ReadMemStats(&ms)
				if d := ms.TotalAlloc - before; d > 64<<20 {
					t.Fatalf("%s: byte %d ^ %#x: allocated %d MiB", format, pos, x, d>>20)
				}
			}
		}
	}
}

func checkCorrupt(t *testing.T, data []byte, format string, pos int) {
	t.Helper()
	defer func() {
		if p := recover(); p != nil {
			t.Fatalf("%s: byte %d: panic %v", format, pos, p)
		}
	}()
	// A 1 MiB bound on decoded buffers: the files hold 40 rows.
	r, err := openBytes(data, format, Options{Sort: true, Limits: tabular.Limits{DecodedBytes: 1 << 20}})
	if err != nil {
		return
	}
	defer r.Close()
	for {
		q, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("%s: byte %d: error %v is not an *Error", format, pos, err)
			}
			return
		}
		if q.Arrival < 0 || q.PromptTokens < 0 || q.OutputTokens < 0 {
			t.Fatalf("%s: byte %d: invalid request %+v", format, pos, q)
		}
	}
}

func TestTextLimits(t *testing.T) {
	lim := tabular.Limits{RecordBytes: 1 << 16}
	noNewline := "arrival_ns,prompt_tokens,output_tokens\n" + strings.Repeat("1", 1<<18)
	openQuote := "arrival_ns,prompt_tokens,output_tokens\n1,2,\"" + strings.Repeat("x\n", 1<<17)
	longJSON := `{"timestamp": 1, "input_length": 1, "output_length": 1, "x": "` + strings.Repeat("y", 1<<18) + `"}`
	for _, c := range []struct{ name, data, format string }{
		{"csv without newline", noNewline, "csv"},
		{"csv unterminated quote", openQuote, "csv"},
		{"jsonl long line", longJSON, "jsonl"},
	} {
		_, err := readAllErr(openBytes([]byte(c.data), c.format, Options{Limits: lim}))
		if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "record-bytes") {
			t.Errorf("%s: error %v, want ErrLimit naming record-bytes", c.name, err)
		}
	}
	// The default bound is 8 MiB.
	_, err := readAllErr(openBytes([]byte("a,b,c\n"+strings.Repeat("9", 9<<20)), "csv", Options{Columns: "arrival=a,prompt=b,output=c"}))
	if !errors.Is(err, ErrLimit) {
		t.Errorf("9 MiB line: %v", err)
	}
}

func TestGzipBomb(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write([]byte("arrival_ns,prompt_tokens,output_tokens\n"))
	line := []byte("1,1,1\n")
	for i := 0; i < 1<<20/len(line)*4; i++ {
		zw.Write(line)
	}
	zw.Close()
	path := writeTemp(t, "bomb.csv.gz", buf.Bytes())
	_, err := readAllErr(Open(path, Options{Limits: tabular.Limits{DecompressedBytes: 1 << 20}}))
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "decompressed-bytes") {
		t.Fatalf("error %v: want ErrLimit naming decompressed-bytes", err)
	}
}

func TestArrivalSpan(t *testing.T) {
	h := "arrival_ns,prompt_tokens,output_tokens\n"
	for _, c := range []struct {
		name, data string
		opt        Options
		want       []string
	}{
		{"far future", h + "0,1,1\n1000000000,1,1\n" + "40000000000000000,1,1\n", Options{}, []string{"row 3", "max-span", "366 days"}},
		{"centuries apart", "TIMESTAMP,ContextTokens,GeneratedTokens\n1700-01-01 00:00:00,1,1\n2200-01-01 00:00:00,1,1\n", Options{}, []string{"row 2", "max-span"}},
		{"int64 extremes", h + "-9000000000000000000,1,1\n9000000000000000000,1,1\n", Options{}, []string{"row 2", "292 years"}},
		{"keep-offset calendar", "TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,1,1\n", Options{KeepOffset: true}, []string{"row 1", "keep-offset"}},
		{"keep-offset negative", h + "-5,1,1\n", Options{KeepOffset: true}, []string{"before 0", "keep-offset"}},
		{"small span", h + "0,1,1\n2000000000,1,1\n", Options{MaxSpan: 1e9}, []string{"row 2", "1 s"}},
	} {
		_, err := readAllErr(openBytes([]byte(c.data), "csv", c.opt))
		if !errors.Is(err, ErrSpan) {
			t.Errorf("%s: error %v, want ErrSpan", c.name, err)
			continue
		}
		requireError(t, err, c.want...)
	}
	// Sorted, the span is checked too.
	_, err := readAllErr(openBytes([]byte(h+"40000000000000000,1,1\n0,1,1\n"), "csv", Options{Sort: true}))
	if !errors.Is(err, ErrSpan) {
		t.Errorf("sorted far future: %v", err)
	}
	// NoSpanLimit keeps Unix time for a conversion.
	got, err := readAllErr(openBytes([]byte("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03,1,1\n"), "csv", Options{KeepOffset: true, MaxSpan: NoSpanLimit}))
	if err != nil || got[0].Arrival != 1700158623e9 {
		t.Errorf("NoSpanLimit: %v %v", got, err)
	}
}

func TestScaleOverflow(t *testing.T) {
	src := []Request{{ID: 0, Arrival: 0, PromptTokens: 1, OutputTokens: 1}, {ID: 1, Arrival: 3600e9, PromptTokens: 1, OutputTokens: 1}}
	got, err := ReadAll(Scale(NewSliceReader(src), 1e-12))
	if err == nil || !strings.Contains(err.Error(), "292 years") || !strings.Contains(err.Error(), "scale factor 1e-12") {
		t.Fatalf("scale 1e-12: %v, %v", got, err)
	}
	for _, q := range got {
		if q.Arrival < 0 {
			t.Fatalf("negative arrival %d", q.Arrival)
		}
	}
	if got, err := ReadAll(Scale(NewSliceReader(src), 0.5)); err != nil || got[1].Arrival != 7200e9 {
		t.Fatalf("scale 0.5: %v %v", got, err)
	}
	ext := []Request{{Arrival: math.MinInt64 + 1}, {Arrival: math.MaxInt64}}
	if _, err := ReadAll(ShiftToZero(NewSliceReader(ext))); err == nil {
		t.Fatal("ShiftToZero across the int64 range: no error")
	}
}

func TestSyntheticRanges(t *testing.T) {
	fixed := LengthDist{Kind: "fixed", Mean: 10}
	for _, c := range []struct {
		spec Synthetic
		want string
	}{
		{Synthetic{Rate: 1e-300, Count: 10, Prompt: fixed, Output: fixed}, "rate 1e-300"},
		{Synthetic{Rate: 1, Count: -5, Prompt: fixed, Output: fixed}, "count -5: expected a positive number"},
		{Synthetic{Rate: 1, Duration: -1, Prompt: fixed, Output: fixed}, "duration -1 ns"},
		{Synthetic{Rate: 1, Prompt: fixed, Output: fixed}, "count and duration both 0"},
		{Synthetic{Rate: 1, Count: 1, Prompt: LengthDist{Kind: "fixed", Mean: 3e9}, Output: fixed}, "prompt: mean 3e+09"},
	} {
		_, err := NewSynthetic(c.spec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%+v: error %v, want %q", c.spec, err, c.want)
		}
	}
	// The slowest rate with many requests runs past int64: an error, not
	// a negative arrival.
	r, err := NewSynthetic(Synthetic{Rate: MinRate, Count: 1 << 40, Prompt: fixed, Output: fixed, Seed: 1})
	if err != nil {
		t.Fatal(err)
	}
	prev := int64(-1)
	for i := 0; ; i++ {
		q, err := r.Next()
		if err != nil {
			if !strings.Contains(err.Error(), "292 years") {
				t.Fatalf("error %v", err)
			}
			break
		}
		if q.Arrival < prev {
			t.Fatalf("request %d arrives at %d after %d", i, q.Arrival, prev)
		}
		prev = q.Arrival
	}
	if _, err := NewClosedLoop(ClosedLoop{Clients: 1 << 30, Requests: 1, Prompt: fixed, Output: fixed}); err == nil || !strings.Contains(err.Error(), "clients 1073741824") {
		t.Errorf("closed loop clients 2^30: %v", err)
	}
}

func TestRequestTokenBound(t *testing.T) {
	data := "arrival_ns,prompt_tokens,output_tokens\n0,1,1\n1,2000000000,200000000\n2,1,1\n"
	_, err := readAllErr(openBytes([]byte(data), "csv", Options{}))
	requireError(t, err, "row 2", "2000000000 prompt + 200000000 output", "at most 1073741824")
	got, err := readAllErr(openBytes([]byte(data), "csv", Options{SkipInvalid: true}))
	if err != nil || len(got) != 2 {
		t.Fatalf("skip: %v %v", got, err)
	}
}

func TestDuplicateIDs(t *testing.T) {
	h := "id,arrival_ns,prompt_tokens,output_tokens\n"
	for _, data := range []string{
		h + "1,0,1,1\n2,1,1,1\n2,2,1,1\n",          // repeated in order
		h + "5,0,1,1\n9,1,1,1\n3,2,1,1\n9,3,1,1\n", // repeated after an out-of-order id
		h + "5,0,1,1\n9,1,1,1\n3,2,1,1\n3,3,1,1\n", // repeated out-of-order id
		h + "5,0,1,1\n6,1,1,1\n7,2,1,1\n6,3,1,1\n", // inside a run
	} {
		row := "row " + strconv.Itoa(strings.Count(data, "\n")-1)
		for _, format := range []string{"csv", "parquet", "arrow"} {
			in := []byte(data)
			if format != "csv" {
				reqs, err := readAllErr(openBytes(in, "csv", Options{SkipInvalid: true}))
				if err != nil {
					t.Fatal(err)
				}
				// Rebuild with the duplicate kept: write from the parsed
				// rows with ids forced from the CSV text.
				lines := strings.Split(strings.TrimSpace(data), "\n")[1:]
				reqs = reqs[:0]
				for i, l := range lines {
					var id int64
					for _, c := range strings.Split(l, ",")[0] {
						id = id*10 + int64(c-'0')
					}
					reqs = append(reqs, Request{ID: RequestID(id), Arrival: int64(i), PromptTokens: 1, OutputTokens: 1})
				}
				in = encode(t, reqs, format)
			}
			_, err := readAllErr(openBytes(in, format, Options{}))
			if !errors.Is(err, ErrDuplicateID) {
				t.Errorf("%s %q: error %v, want ErrDuplicateID", format, data, err)
				continue
			}
			requireError(t, err, row, "unique request id")
		}
	}
	r, err := openBytes([]byte(h+"1,0,1,1\n1,1,1,1\n2,2,1,1\n"), "csv", Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	got, err := ReadAll(r)
	if p, _ := ProblemsOf(r); err != nil || len(got) != 2 || p.Duplicate != 1 {
		t.Fatalf("skip duplicates: %v %v %+v", got, err, p)
	}
	// Unique ids in any order pass.
	if _, err := readAllErr(openBytes([]byte(h+"3,0,1,1\n1,1,1,1\n2,2,1,1\n7,3,1,1\n0,4,1,1\n"), "csv", Options{})); err != nil {
		t.Fatal(err)
	}
}

func TestZeroOutputCounted(t *testing.T) {
	r := mustOpen(t, "testdata/burstgpt.csv", Options{})
	if _, err := ReadAll(r); err != nil {
		t.Fatal(err)
	}
	p, _ := ProblemsOf(r)
	if p.ZeroOutput != 2 || len(p.Warnings()) != 1 || !strings.Contains(p.Warnings()[0], "drop-failed") {
		t.Fatalf("problems %+v, warnings %q", p, p.Warnings())
	}
	r = mustOpen(t, "testdata/burstgpt.csv", Options{DropFailed: true})
	ReadAll(r)
	if p, _ := ProblemsOf(r); p.ZeroOutput != 0 || len(p.Warnings()) != 0 {
		t.Fatalf("drop-failed: %+v", p)
	}
	s, err := ComputeStats(mustOpen(t, "testdata/burstgpt.csv", Options{}))
	if err != nil || s.Problems.ZeroOutput != 2 || !strings.Contains(s.String(), "0 output tokens") {
		t.Fatalf("stats: %v\n%s", err, s)
	}
}

func TestSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	_, err := Open(dir, Options{})
	requireError(t, err, "a directory", "expected a trace file")

	fifo := filepath.Join(dir, "trace.csv")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	go func() {
		f, err := os.OpenFile(fifo, os.O_WRONLY, 0)
		if err == nil {
			f.WriteString("arrival_ns,prompt_tokens,output_tokens\n5,1,1\n7,2,2\n")
			f.Close()
		}
	}()
	got, err := readAllErr(Open(fifo, Options{}))
	if err != nil || len(got) != 2 || got[1].Arrival != 2 {
		t.Fatalf("CSV through a FIFO: %v %v", got, err)
	}
	pq := filepath.Join(dir, "trace.parquet")
	syscall.Mkfifo(pq, 0o600)
	go func() {
		f, err := os.OpenFile(pq, os.O_WRONLY, 0)
		if err == nil {
			f.Write(encode(t, richRequests(3), "parquet"))
			f.Close()
		}
	}()
	_, err = Open(pq, Options{})
	requireError(t, err, "named pipe", "random access")
	_, err = Open(writeTemp(t, "x.csv", []byte("a")), Options{Format: "xlsx"})
	requireError(t, err, `format "xlsx"`, "csv, parquet, arrow or jsonl")
}

func TestCommonColumnNames(t *testing.T) {
	for _, c := range []struct {
		header string
		arr    int64
	}{
		{"arrival_time,input_tokens,output_tokens", 1500e6},
		{"timestamp,prompt_len,completion_tokens", 1500e6},
		{"Arrival Time,Num Prompt Tokens,Output-Length", 1500e6},
		{"arrival_ms,input_length,output_len", 1500e3},
	} {
		got, err := readAllErr(openBytes([]byte(c.header+"\n0,10,2\n1.5,20,3\n"), "csv", Options{}))
		if err != nil {
			t.Errorf("%s: %v", c.header, err)
			continue
		}
		if got[1].Arrival != c.arr || got[1].PromptTokens != 20 || got[1].OutputTokens != 3 {
			t.Errorf("%s: %+v", c.header, got[1])
		}
	}
	_, err := readAllErr(openBytes([]byte("foo,bar\n1,2\n"), "csv", Options{}))
	requireError(t, err, "arrival_time/timestamp")
}

// TestArrowStringViews reads the string columns Polars writes by default
// (utf8_view) and large strings.
func TestArrowStringViews(t *testing.T) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "arrival_time", Type: arrow.PrimitiveTypes.Float64},
		{Name: "input_tokens", Type: arrow.PrimitiveTypes.Int64},
		{Name: "output_tokens", Type: arrow.PrimitiveTypes.Int64},
		{Name: "model", Type: arrow.BinaryTypes.StringView},
		{Name: "session_id", Type: arrow.BinaryTypes.LargeString},
		{Name: "request_id", Type: arrow.BinaryTypes.StringView},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < 3; i++ {
		b.Field(0).(*array.Float64Builder).Append(float64(i) * 0.5)
		b.Field(1).(*array.Int64Builder).Append(int64(10 + i))
		b.Field(2).(*array.Int64Builder).Append(int64(1 + i))
		b.Field(3).(*array.StringViewBuilder).Append([]string{"llama-3-70b-instruct-long-name", "m", "llama-3-70b-instruct-long-name"}[i])
		b.Field(4).(*array.LargeStringBuilder).Append("s")
		b.Field(5).(*array.StringViewBuilder).Append([]string{"7", "8", "9"}[i])
	}
	rec := b.NewRecord()
	defer rec.Release()
	var buf bytes.Buffer
	w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
	if err := w.Write(rec); err != nil {
		t.Fatal(err)
	}
	w.Close()
	got, err := readAllErr(NewArrowReader(bytes.NewReader(buf.Bytes()), "polars.arrows", Options{}))
	if err != nil {
		t.Fatal(err)
	}
	want := []Request{
		{ID: 7, Arrival: 0, PromptTokens: 10, OutputTokens: 1, Model: "llama-3-70b-instruct-long-name", Session: "s"},
		{ID: 8, Arrival: 500e6, PromptTokens: 11, OutputTokens: 2, Model: "m", Session: "s"},
		{ID: 9, Arrival: 1e9, PromptTokens: 12, OutputTokens: 3, Model: "llama-3-70b-instruct-long-name", Session: "s"},
	}
	requireEqual(t, got, want)
}

// TestWriteRefusesNegative: no writer puts a negative arrival or token count
// into a trace (the scale and shift overflows of issue 13 ended that way).
func TestWriteRefusesNegative(t *testing.T) {
	for _, format := range []string{"csv", "parquet", "arrow", "arrows", "jsonl"} {
		var buf bytes.Buffer
		_, err := Write(&buf, NewSliceReader([]Request{{ID: 1, Arrival: 0, PromptTokens: 1, OutputTokens: 1}, {ID: 2, Arrival: -5, PromptTokens: 1, OutputTokens: 1}}), format)
		if err == nil || !strings.Contains(err.Error(), "request 2") || !strings.Contains(err.Error(), "non-negative arrival") {
			t.Errorf("%s: %v", format, err)
		}
	}
}
