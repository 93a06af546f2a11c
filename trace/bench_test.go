package trace

import (
	"bytes"
	"io"
	"sync"
	"testing"
)

const benchRows = 1 << 20

var benchFiles struct {
	once                sync.Once
	parquet, arrow, csv []byte
	arrowStream         []byte
}

// benchTrace is ~1M requests like a production trace: Poisson arrivals,
// lognormal lengths, a model column.
func benchTrace(tb testing.TB) {
	benchFiles.once.Do(func() {
		gen := func() Reader {
			s, err := NewSynthetic(Synthetic{Rate: 50, Count: benchRows, Seed: 1,
				Prompt: LengthDist{Kind: "normal", Mean: 1000, Std: 300},
				Output: LengthDist{Kind: "normal", Mean: 200, Std: 50}})
			if err != nil {
				tb.Fatal(err)
			}
			return s
		}
		for _, f := range []struct {
			dst    *[]byte
			format string
		}{{&benchFiles.parquet, "parquet"}, {&benchFiles.arrow, "arrow"}, {&benchFiles.arrowStream, "arrows"}, {&benchFiles.csv, "csv"}} {
			var buf bytes.Buffer
			if _, err := Write(&buf, gen(), f.format); err != nil {
				tb.Fatal(err)
			}
			*f.dst = buf.Bytes()
		}
	})
}

func drain(b *testing.B, r Reader, err error) {
	if err != nil {
		b.Fatal(err)
	}
	n := 0
	for {
		_, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			b.Fatal(err)
		}
		n++
	}
	r.Close()
	if n != benchRows {
		b.Fatalf("%d rows, want %d", n, benchRows)
	}
}

func report(b *testing.B) {
	b.ReportMetric(float64(benchRows)*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

func BenchmarkReadParquet(b *testing.B) {
	benchTrace(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFiles.parquet)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data := benchFiles.parquet
		r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), "bench.parquet", Options{})
		drain(b, r, err)
	}
	report(b)
}

func BenchmarkReadArrow(b *testing.B) {
	benchTrace(b)
	for _, tc := range []struct {
		name string
		data *[]byte
	}{{"format=file", &benchFiles.arrow}, {"format=stream", &benchFiles.arrowStream}} {
		b.Run(tc.name, func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(len(*tc.data)))
			for i := 0; i < b.N; i++ {
				r, err := NewArrowReader(bytes.NewReader(*tc.data), "bench.arrow", Options{})
				drain(b, r, err)
			}
			report(b)
		})
	}
}

func BenchmarkReadCSV(b *testing.B) {
	benchTrace(b)
	b.ReportAllocs()
	b.SetBytes(int64(len(benchFiles.csv)))
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		r, err := NewCSVReader(bytes.NewReader(benchFiles.csv), "bench.csv", Options{})
		drain(b, r, err)
	}
	report(b)
}

func BenchmarkWriteParquet(b *testing.B) {
	reqs := richRequests(1 << 17)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := WriteParquet(io.Discard, NewSliceReader(reqs)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(reqs))*float64(b.N)/b.Elapsed().Seconds(), "requests/s")
}

// BenchmarkStats is `lodsim trace stats` on a million-row Parquet file.
func BenchmarkStats(b *testing.B) {
	benchTrace(b)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		data := benchFiles.parquet
		r, err := NewParquetReader(bytes.NewReader(data), int64(len(data)), "bench.parquet", Options{SkipInvalid: true})
		if err != nil {
			b.Fatal(err)
		}
		s, err := ComputeStats(r)
		if err != nil || s.Rows != benchRows {
			b.Fatalf("%d rows, %v", s.Rows, err)
		}
	}
	report(b)
}
