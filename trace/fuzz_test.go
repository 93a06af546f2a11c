package trace

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"time"

	"github.com/lodsim/lodsim/trace/tabular"
)

// checkStream reads at most 10,000 requests and checks the Reader contract:
// errors are *Error naming the file (never a panic), arrivals do not
// decrease, token counts are not negative.
func checkStream(t *testing.T, r Reader, err error) {
	t.Helper()
	if err != nil {
		var e *Error
		if !errors.As(err, &e) && !strings.HasPrefix(err.Error(), "trace: ") {
			t.Fatalf("open error %q is neither *Error nor prefixed", err)
		}
		return
	}
	defer r.Close()
	prev := int64(-1 << 63)
	for i := 0; i < 10000; i++ {
		q, err := r.Next()
		if err == io.EOF {
			return
		}
		if err != nil {
			var e *Error
			if !errors.As(err, &e) || e.File != "fuzz" {
				t.Fatalf("error %q is not an *Error naming the file", err)
			}
			return
		}
		// Shifted arrivals lie in [0, MaxSpan]; tokens in [0, MaxRequestTokens].
		if q.Arrival < prev || q.Arrival < 0 || q.Arrival > DefaultMaxSpan || q.PromptTokens < 0 || q.OutputTokens < 0 ||
			int64(q.PromptTokens)+int64(q.OutputTokens) > MaxRequestTokens {
			t.Fatalf("request %+v after arrival %d", q, prev)
		}
		prev = q.Arrival
	}
}

func FuzzCSV(f *testing.F) {
	for _, path := range []string{"testdata/burstgpt.csv", "testdata/azure2024.csv", "testdata/vidur.csv"} {
		data, err := readFileTB(f, path)
		if err == nil {
			f.Add(data, "", false)
		}
	}
	f.Add([]byte("TIMESTAMP,ContextTokens,GeneratedTokens\n2023-11-16 18:17:03.9799600,10,1\n"), "", true)
	f.Add([]byte("a,b,c\n1,2,3\n\"x\"\"\",4,5\n"), "arrival=a,prompt=b,output=c,unit=ms", false)
	f.Add([]byte("id,arrival_ns,prompt_tokens,output_tokens,priority,session,model,prefix_hashes\n1,5,1,1,-3,s,\"m,1\",1 2 3\n"), "", true)
	f.Add([]byte("\ufeffarrived_at,num_prefill_tokens,num_decode_tokens\n1e308,1,1\n-1e308,1,1\n"), "", false)
	f.Fuzz(func(t *testing.T, data []byte, columns string, skip bool) {
		opt := Options{Columns: columns, SkipInvalid: skip, Limits: fuzzLimits}
		r, err := NewCSVReader(bytes.NewReader(data), "fuzz", opt)
		checkStream(t, r, err)
		opt.Sort = true
		r, err = NewCSVReader(bytes.NewReader(data), "fuzz", opt)
		checkStream(t, r, err)
	})
}

func FuzzJSONL(f *testing.F) {
	if data, err := readFileTB(f, "testdata/mooncake.jsonl"); err == nil {
		f.Add(data, "")
	}
	f.Add([]byte(`{"timestamp": "2024-05-10 00:00:00+00:00", "input_length": "5", "output_length": 1.0, "model": 3}`+"\n"), "")
	f.Add([]byte(`{"t": 1, "p": 2, "o": 3, "h": "1 2"}`+"\n"+`{"t": null}`), "arrival=t,prompt=p,output=o,prefix=h")
	f.Add([]byte(`{"timestamp": 1e400, "input_length": -0, "output_length": 1}`), "")
	f.Fuzz(func(t *testing.T, data []byte, columns string) {
		r, err := NewJSONLReader(bytes.NewReader(data), "fuzz", Options{Columns: columns, Limits: fuzzLimits})
		checkStream(t, r, err)
	})
}

func FuzzColumns(f *testing.F) {
	f.Add("arrival=a,prompt=b,output=c", "a,b,c")
	f.Add("unit=ms,prefix=h,hashes=h", "h,TIMESTAMP")
	f.Add(",,=,=x,x=", "")
	f.Fuzz(func(t *testing.T, spec, header string) {
		cs, err := ParseColumns(spec)
		if err == nil {
			// What String writes, ParseColumns reads back the same.
			again, err := ParseColumns(cs.String())
			if err != nil || again != cs {
				t.Fatalf("ParseColumns(%q).String() = %q does not read back: %v", spec, cs.String(), err)
			}
		}
		m, err := resolveMapping("fuzz", strings.Split(header, ","), Options{Columns: spec})
		if err == nil && (m.col[fArrival] < 0 || m.col[fPrompt] < 0 || m.col[fOutput] < 0 || m.unit <= 0) {
			t.Fatalf("mapping without required columns: %+v", m)
		}
	})
}

// FuzzTimestamp checks the hand-written timestamp parser against time.Parse.
func FuzzTimestamp(f *testing.F) {
	for _, s := range []string{"2023-11-16 18:17:03.9799600", "2024-05-10 00:00:01+00:00", "2024-02-29T23:59:59.123456789Z",
		"1999-12-31 23:59:59-05:30", "2023-02-29 00:00:00", "2261-12-31 23:59:59.999999999", "1678-01-01 00:00:00"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		got, ok := parseTimestamp(s)
		norm := strings.Replace(s, "T", " ", 1)
		want, err := time.Parse("2006-01-02 15:04:05Z07:00", norm)
		if err != nil {
			want, err = time.Parse("2006-01-02 15:04:05", norm)
		}
		// time.Parse takes at most 9 fractional digits, offsets to ±24h,
		// and years outside the int64-nanosecond range; compare the rest.
		// time.Parse also takes one-digit hours; the parser wants the fixed
		// two-digit shape every trace uses.
		fixed := len(norm) >= 19 && norm[4] == '-' && norm[7] == '-' && norm[13] == ':' && norm[16] == ':'
		for _, i := range []int{0, 1, 2, 3, 5, 6, 8, 9, 11, 12, 14, 15, 17, 18} {
			fixed = fixed && norm[i] >= '0' && norm[i] <= '9'
		}
		if err != nil || !fixed || want.Year() < 1678 || want.Year() > 2261 || len(s) > 40 {
			return
		}
		_, off := want.Zone()
		if off%60 != 0 || off >= 24*3600 || off <= -24*3600 || strings.Count(s, ":") > 3 {
			return
		}
		// time.Parse takes offset minutes up to 99; the parser wants 0-59.
		if i := strings.LastIndexAny(norm, "+-"); i > 18 {
			if tail := norm[i+1:]; len(tail) >= 4 && tail[len(tail)-2:] > "59" {
				return
			}
		}
		if !ok {
			t.Fatalf("parseTimestamp(%q) failed; time.Parse gives %v", s, want)
		}
		if got != want.UnixNano() {
			t.Fatalf("parseTimestamp(%q) = %d, time.Parse = %d", s, got, want.UnixNano())
		}
	})
}

// fuzzLimits bound what a fuzzed binary file may make the reader allocate:
// the seeds hold at most a few hundred rows.
var fuzzLimits = tabular.Limits{DecodedBytes: 16 << 20, MetadataBytes: 1 << 20, RecordBytes: 1 << 20}

func fuzzBinary(f *testing.F, format string) {
	for _, n := range []int{1, 7, 300} {
		f.Add(encode(f, richRequests(n), format), false)
	}
	f.Add(encode(f, []Request{{ID: 3, Arrival: 5, PromptTokens: 1, OutputTokens: 0}, {ID: 3, Arrival: 4, PromptTokens: 1 << 30, OutputTokens: 9}}, format), true)
	f.Fuzz(func(t *testing.T, data []byte, skip bool) {
		opt := Options{SkipInvalid: skip, Limits: fuzzLimits}
		r, err := openBinary(data, format, opt)
		checkStream(t, r, err)
		opt.Sort = true
		r, err = openBinary(data, format, opt)
		checkStream(t, r, err)
	})
}

func openBinary(data []byte, format string, opt Options) (Reader, error) {
	if format == "parquet" {
		return NewParquetReader(bytes.NewReader(data), int64(len(data)), "fuzz", opt)
	}
	return NewArrowReader(bytes.NewReader(data), "fuzz", opt)
}

func FuzzParquet(f *testing.F)     { fuzzBinary(f, "parquet") }
func FuzzArrowFile(f *testing.F)   { fuzzBinary(f, "arrow") }
func FuzzArrowStream(f *testing.F) { fuzzBinary(f, "arrows") }
