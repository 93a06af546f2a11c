package trace

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/parquet-go/parquet-go"
)

func TestBurstGPT(t *testing.T) {
	got := collect(t)(Open("testdata/burstgpt.csv", Options{}))
	want := []Request{
		{ID: 0, Arrival: 0, PromptTokens: 472, OutputTokens: 18, Model: "ChatGPT"},
		{ID: 1, Arrival: 40e9, PromptTokens: 1087, OutputTokens: 0, Model: "ChatGPT"},
		{ID: 2, Arrival: 113e9, PromptTokens: 417, OutputTokens: 217, Model: "GPT-4"},
		{ID: 3, Arrival: 129e9, PromptTokens: 1360, OutputTokens: 106, Model: "ChatGPT"},
		{ID: 4, Arrival: 155.5e9, PromptTokens: 2, OutputTokens: 0, Model: "GPT-4"},
	}
	requireEqual(t, got, want)

	// Dropping failures keeps row-index IDs, so they stay traceable to the file.
	ok := collect(t)(Open("testdata/burstgpt.csv", Options{DropFailed: true}))
	requireEqual(t, ok, []Request{want[0], want[2], want[3]})

	gpt4 := collect(t)(FilterModel(mustOpen(t, "testdata/burstgpt.csv", Options{}), "GPT-4"), nil)
	requireEqual(t, gpt4, []Request{want[2], want[4]})
}

func TestAzure2024(t *testing.T) {
	got := collect(t)(Open("testdata/azure2024.csv", Options{KeepOffset: true, MaxSpan: NoSpanLimit}))
	base := time.Date(2024, 5, 10, 0, 0, 0, 0, time.UTC).UnixNano()
	wantNs := []int64{base + 9_930_000, base + 24_214_000, base + 1e9, base + 1.5e9, base + 3602e9 + 1000}
	if len(got) != len(wantNs) {
		t.Fatalf("%d rows", len(got))
	}
	for i, q := range got {
		if q.Arrival != wantNs[i] {
			t.Errorf("row %d: arrival %d, want %d", i+1, q.Arrival, wantNs[i])
		}
	}
	if got[2].PromptTokens != 4176 || got[4].OutputTokens != 44 {
		t.Errorf("tokens: %+v", got)
	}
}

func TestVidur(t *testing.T) {
	got := collect(t)(Open("testdata/vidur.csv", Options{}))
	want := []Request{
		{ID: 0, Arrival: 0, PromptTokens: 1024, OutputTokens: 128},
		{ID: 1, Arrival: 250e6, PromptTokens: 2048, OutputTokens: 256},
		{ID: 2, Arrival: 1500e6, PromptTokens: 512, OutputTokens: 64},
		{ID: 3, Arrival: 2e9, PromptTokens: 300, OutputTokens: 30},
	}
	requireEqual(t, got, want)
}

func TestMooncake(t *testing.T) {
	got := collect(t)(Open("testdata/mooncake.jsonl", Options{}))
	if len(got) != 4 {
		t.Fatalf("%d rows, want 4 (blank lines are not rows)", len(got))
	}
	if got[2].Arrival != 3052e6 || got[2].PromptTokens != 512 || got[2].OutputTokens != 794 {
		t.Errorf("row 3 = %+v; timestamp is in ms", got[2])
	}
	if len(got[1].PrefixHashes) != 15 || got[1].PrefixHashes[14] != 28 || got[3].PrefixHashes != nil {
		t.Errorf("hashes: %v / %v", got[1].PrefixHashes, got[3].PrefixHashes)
	}
	// The hash count matches one hash per 512-token block.
	for i, q := range got {
		if blocks := (int(q.PromptTokens) + 511) / 512; len(q.PrefixHashes) != blocks && len(q.PrefixHashes) != 0 {
			t.Errorf("row %d: %d hashes for %d tokens", i+1, len(q.PrefixHashes), q.PromptTokens)
		}
	}
}

func TestColumnsMapping(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "custom.csv")
	os.WriteFile(path, []byte("when,in,out,who,tier\n1000,10,1,u1,2\n1500,20,2,u2,0\n"), 0o644)

	if _, err := Open(path, Options{}); err == nil || !strings.Contains(err.Error(), `"when"`) || !strings.Contains(err.Error(), "arrival") {
		t.Fatalf("unmapped file: err = %v, want the found columns and the expected fields", err)
	}
	got := collect(t)(Open(path, Options{Columns: "arrival=when,prompt=in,output=out,session=who,priority=tier,unit=ms"}))
	want := []Request{
		{ID: 0, Arrival: 0, PromptTokens: 10, OutputTokens: 1, Session: "u1", Priority: 2},
		{ID: 1, Arrival: 500e6, PromptTokens: 20, OutputTokens: 2, Session: "u2"},
	}
	requireEqual(t, got, want)
	// TimeUnit overrides the mapping's unit.
	got = collect(t)(Open(path, Options{Columns: "arrival=when,prompt=in,output=out,unit=ms", TimeUnit: "us"}))
	if got[1].Arrival != 500e3 {
		t.Errorf("arrival with TimeUnit us = %d, want 500000", got[1].Arrival)
	}
	// A partial mapping: the rest comes from a known layout.
	path2 := filepath.Join(dir, "partial.csv")
	os.WriteFile(path2, []byte("arrived_at,num_prefill_tokens,gen\n0,5,6\n"), 0o644)
	got = collect(t)(Open(path2, Options{Columns: "output=gen"}))
	requireEqual(t, got, []Request{{PromptTokens: 5, OutputTokens: 6}})

	if _, err := Open(path, Options{Columns: "arrival=nope,prompt=in,output=out"}); err == nil || !strings.Contains(err.Error(), `"nope"`) {
		t.Errorf("missing mapped column: err = %v", err)
	}
}

func TestParseColumns(t *testing.T) {
	cs, err := ParseColumns(" arrival = t , prompt=p,output=o,hashes=h,unit=ms")
	if err != nil {
		t.Fatal(err)
	}
	if cs.String() != "arrival=t,prompt=p,output=o,prefix=h,unit=ms" {
		t.Errorf("String() = %q", cs.String())
	}
	for _, bad := range []string{"arrival", "foo=bar", "unit=hours", "arrival=a,arrival=b", "=x", "prompt="} {
		if _, err := ParseColumns(bad); err == nil {
			t.Errorf("ParseColumns(%q) accepted", bad)
		}
	}
}

func TestGzipCSV(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	src, _ := os.ReadFile("testdata/vidur.csv")
	zw.Write(src)
	zw.Close()
	path := filepath.Join(t.TempDir(), "vidur.csv.gz")
	os.WriteFile(path, buf.Bytes(), 0o644)
	requireEqual(t, collect(t)(Open(path, Options{})), collect(t)(Open("testdata/vidur.csv", Options{})))
}

func TestFormatDetectionByContent(t *testing.T) {
	dir := t.TempDir()
	want := richRequests(50)
	for _, f := range []string{"parquet", "arrow", "arrows", "jsonl", "csv"} {
		path := filepath.Join(dir, "noext-"+f) // no extension: the first bytes decide
		writeFile(t, path, NewSliceReader(want), f)
		requireEqual(t, collect(t)(Open(path, Options{KeepOffset: true})), want)
	}
}

// Parquet files as other tools write them: int32/float/timestamp/string
// arrival columns, dictionary and nullable columns, several row groups.
func TestParquetColumnTypes(t *testing.T) {
	type tsRow struct {
		T      time.Time `parquet:"ts,timestamp(millisecond)"`
		In     int64     `parquet:"input_length"`
		Out    float64   `parquet:"output_length"`
		Model  string    `parquet:"model,dict"`
		Hashes []int64   `parquet:"hash_ids,list"`
	}
	type floatRow struct {
		At   float32 `parquet:"arrived_at"`
		P    int32   `parquet:"num_prefill_tokens"`
		D    *int32  `parquet:"num_decode_tokens,optional"`
		Sess *string `parquet:"session,optional,dict"`
	}
	type strRow struct {
		TS string `parquet:"TIMESTAMP,dict"`
		C  int32  `parquet:"ContextTokens"`
		G  int32  `parquet:"GeneratedTokens"`
	}
	dir := t.TempDir()
	write := func(name string, rows any, opts ...parquet.WriterOption) string {
		path := filepath.Join(dir, name)
		var buf bytes.Buffer
		switch rs := rows.(type) {
		case []tsRow:
			w := parquet.NewGenericWriter[tsRow](&buf, opts...)
			w.Write(rs)
			w.Close()
		case []floatRow:
			w := parquet.NewGenericWriter[floatRow](&buf, opts...)
			w.Write(rs)
			w.Close()
		case []strRow:
			w := parquet.NewGenericWriter[strRow](&buf, opts...)
			w.Write(rs)
			w.Close()
		}
		os.WriteFile(path, buf.Bytes(), 0o644)
		return path
	}
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	var ts []tsRow
	for i := 0; i < 2500; i++ {
		ts = append(ts, tsRow{T: t0.Add(time.Duration(i) * 7 * time.Millisecond), In: int64(i), Out: float64(i % 50),
			Model: []string{"a", "b"}[i%2], Hashes: []int64{int64(i), -1}[:i%3%2+1]})
	}
	got := collect(t)(Open(write("ts.parquet", ts, parquet.MaxRowsPerRowGroup(1000), parquet.PageBufferSize(512)), Options{Columns: "arrival=ts"}))
	if len(got) != 2500 {
		t.Fatalf("%d rows", len(got))
	}
	for i, q := range got {
		if q.Arrival != int64(i)*7e6 || q.PromptTokens != int32(i) || q.OutputTokens != int32(i%50) || q.Model != []string{"a", "b"}[i%2] {
			t.Fatalf("row %d = %+v", i+1, q)
		}
		wantH := []uint64{uint64(i), 1<<64 - 1}[:i%3%2+1]
		if len(q.PrefixHashes) != len(wantH) || q.PrefixHashes[0] != wantH[0] || q.PrefixHashes[len(wantH)-1] != wantH[len(wantH)-1] {
			t.Fatalf("row %d hashes = %v, want %v", i+1, q.PrefixHashes, wantH)
		}
	}

	seven, sess := int32(7), "s1"
	got = collect(t)(Open(write("float.parquet", []floatRow{{0.5, 10, &seven, &sess}, {1.25, 20, &seven, nil}}), Options{}))
	requireEqual(t, got, []Request{{Arrival: 0, PromptTokens: 10, OutputTokens: 7, Session: "s1"}, {ID: 1, Arrival: 750e6, PromptTokens: 20, OutputTokens: 7}})

	// A null in a required field is a missing value, named by row and column.
	_, err := ReadAll(mustOpen(t, write("null.parquet", []floatRow{{0, 1, &seven, nil}, {1, 2, nil, nil}}), Options{}))
	requireError(t, err, "null.parquet", "row 2", `"num_decode_tokens"`, "empty")

	got = collect(t)(Open(write("str.parquet", []strRow{{"2023-11-16 18:17:03.9799600", 5, 6}, {"2023-11-16 18:17:04.0319600", 7, 8}}), Options{}))
	if got[1].Arrival != 52e6 || got[1].OutputTokens != 8 {
		t.Errorf("string timestamps: %+v", got)
	}
}

// Arrow files as other tools write them: timestamp and float arrivals,
// dictionary-encoded and large strings, uint and narrow integer columns.
func TestArrowColumnTypes(t *testing.T) {
	mem := memory.NewGoAllocator()
	schema := arrow.NewSchema([]arrow.Field{
		{Name: "timestamp", Type: &arrow.TimestampType{Unit: arrow.Microsecond}},
		{Name: "input_length", Type: arrow.PrimitiveTypes.Uint16},
		{Name: "output_length", Type: arrow.PrimitiveTypes.Float32, Nullable: true},
		{Name: "model", Type: &arrow.DictionaryType{IndexType: arrow.PrimitiveTypes.Int8, ValueType: arrow.BinaryTypes.String}},
		{Name: "session_id", Type: arrow.BinaryTypes.LargeString, Nullable: true},
		{Name: "hash_ids", Type: arrow.LargeListOf(arrow.PrimitiveTypes.Int64)},
	}, nil)
	b := array.NewRecordBuilder(mem, schema)
	defer b.Release()
	for i := 0; i < 3; i++ {
		b.Field(0).(*array.TimestampBuilder).Append(arrow.Timestamp(1_000_000 + i*1500))
		b.Field(1).(*array.Uint16Builder).Append(uint16(100 + i))
		if i == 2 {
			b.Field(2).(*array.Float32Builder).AppendNull()
		} else {
			b.Field(2).(*array.Float32Builder).Append(float32(i + 1))
		}
		b.Field(3).(*array.BinaryDictionaryBuilder).AppendString([]string{"m1", "m2", "m1"}[i])
		if i == 1 {
			b.Field(4).(*array.LargeStringBuilder).AppendNull()
		} else {
			b.Field(4).(*array.LargeStringBuilder).Append("sess")
		}
		lb := b.Field(5).(*array.LargeListBuilder)
		lb.Append(true)
		lb.ValueBuilder().(*array.Int64Builder).AppendValues([]int64{int64(i), 9}, nil)
	}
	rec := b.NewRecord()
	defer rec.Release()
	for _, stream := range []bool{false, true} {
		var buf bytes.Buffer
		if stream {
			w := ipc.NewWriter(&buf, ipc.WithSchema(schema))
			w.Write(rec)
			w.Close()
		} else {
			w, err := ipc.NewFileWriter(&positionWriter{w: &buf}, ipc.WithSchema(schema))
			if err != nil {
				t.Fatal(err)
			}
			w.Write(rec)
			w.Close()
		}
		path := filepath.Join(t.TempDir(), "x.arrow")
		os.WriteFile(path, buf.Bytes(), 0o644)
		r := mustOpen(t, path, Options{})
		got, err := ReadAll(r)
		// The third row's output is null: a missing required value.
		requireError(t, err, "x.arrow", "row 3", `"output_length"`, "empty")
		want := []Request{
			{ID: 0, Arrival: 0, PromptTokens: 100, OutputTokens: 1, Model: "m1", Session: "sess", PrefixHashes: []uint64{0, 9}},
			{ID: 1, Arrival: 1500e3, PromptTokens: 101, OutputTokens: 2, Model: "m2", PrefixHashes: []uint64{1, 9}},
		}
		requireEqual(t, got, want)
		// Skipping it keeps the good rows and counts the bad one.
		r = mustOpen(t, path, Options{SkipInvalid: true})
		got, err = ReadAll(r)
		if err != nil {
			t.Fatal(err)
		}
		requireEqual(t, got, want)
		if p, _ := ProblemsOf(r); p.Missing != 1 || p.ByColumn["output_length"] != 1 {
			t.Errorf("problems = %+v", p)
		}
	}
}
