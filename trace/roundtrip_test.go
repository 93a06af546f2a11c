package trace

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

// richRequests exercises every optional field, including quoting and empty
// lists, with row-group and batch boundaries crossed.
func richRequests(n int) []Request {
	reqs := make([]Request, n)
	models := []string{"llama-70b", "mistral, 7b", `"quoted"`, " spaced", ""}
	for i := range reqs {
		q := Request{
			ID:           RequestID(1000 + 3*i),
			Arrival:      int64(i) * 1_234_567,
			PromptTokens: int32(1 + i%4000),
			OutputTokens: int32(i % 700),
			Model:        models[i%len(models)],
		}
		if i%3 == 0 {
			q.Session = fmt.Sprintf("s%d", i/10)
		}
		if i%4 == 1 {
			q.Priority = int32(i%5 - 2)
		}
		if i%2 == 0 {
			k := i % 9
			for j := 0; j < k; j++ {
				q.PrefixHashes = append(q.PrefixHashes, uint64(i)*0x9e3779b97f4a7c15+uint64(j))
			}
		}
		reqs[i] = q
	}
	return reqs
}

func writeFile(t testing.TB, path string, r Reader, format string) {
	t.Helper()
	var buf bytes.Buffer
	if _, err := Write(&buf, r, format); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestRoundTripChain converts CSV -> Parquet -> Arrow file -> Arrow stream
// -> JSONL -> CSV, reading each output back with Open, and requires the
// records at every step to equal the original.
func TestRoundTripChain(t *testing.T) {
	conv := collect(t)(Embedded("azure-conv-2023"))
	rich := richRequests(ArrowBatchRows + 500) // crosses an Arrow batch boundary
	for name, want := range map[string][]Request{"azure-conv": conv, "rich": rich} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			src := Reader(NewSliceReader(want))
			for i, ext := range []string{"csv", "parquet", "arrow", "arrows", "jsonl", "csv"} {
				path := filepath.Join(dir, fmt.Sprintf("step%d.%s", i, ext))
				format, err := FormatForPath(path)
				if err != nil {
					t.Fatal(err)
				}
				writeFile(t, path, src, format)
				got := collect(t)(Open(path, Options{KeepOffset: true}))
				requireEqual(t, got, want)
				src = NewSliceReader(got)
			}
		})
	}
}

func TestParquetRowGroups(t *testing.T) {
	want := richRequests(ParquetRowGroupRows + 5000)
	var buf bytes.Buffer
	if _, err := WriteParquet(&buf, NewSliceReader(want)); err != nil {
		t.Fatal(err)
	}
	r, err := NewParquetReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()), "rg.parquet", Options{KeepOffset: true})
	if err != nil {
		t.Fatal(err)
	}
	d := r.(*fileReader).dec.(*parquetDecoder)
	if n := len(d.file.RowGroups()); n != 2 {
		t.Fatalf("%d row groups, want 2", n)
	}
	requireEqual(t, collect(t)(r, nil), want)
}
