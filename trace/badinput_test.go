package trace

import (
	"bytes"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// Every bad input must give an *Error naming the file, the row and the
// column, with what was found and what was expected.
func TestBadCSV(t *testing.T) {
	const h = "TIMESTAMP,ContextTokens,GeneratedTokens\n"
	const ok = "2023-11-16 18:17:03.9799600,10,1\n"
	for _, tc := range []struct {
		name, data string
		parts      []string
	}{
		{"empty", "", []string{"empty file"}},
		{"header only", h, []string{"no data rows"}},
		{"missing columns", "TIMESTAMP,Context\n1,2\n", []string{`found columns ["TIMESTAMP", "Context"]`, "prompt, output", "azure (TIMESTAMP, ContextTokens, GeneratedTokens)"}},
		{"negative tokens", h + ok + "2023-11-16 18:17:04,-5,1\n", []string{"row 2 (line 3)", `"ContextTokens"`, `"-5"`, "non-negative integer"}},
		{"fractional tokens", h + ok + "2023-11-16 18:17:04,5,1.5\n", []string{"row 2", `"GeneratedTokens"`, `"1.5"`}},
		{"NaN tokens", h + ok + "2023-11-16 18:17:04,NaN,1\n", []string{"row 2", `"ContextTokens"`, `"NaN"`}},
		{"text tokens", h + "2023-11-16 18:17:04,ten,1\n", []string{"row 1", `"ContextTokens"`, `"ten"`}},
		{"huge tokens", h + "2023-11-16 18:17:04,3000000000,1\n", []string{"row 1", "below 2^31"}},
		{"bad timestamp", h + ok + "2023-13-16 18:17:04,5,1\n", []string{"row 2", `"TIMESTAMP"`, `"2023-13-16 18:17:04"`, "timestamp like"}},
		{"NaN arrival", h + "NaN,5,1\n", []string{"row 1", `"TIMESTAMP"`, "finite"}},
		{"empty arrival", h + ok + ",5,1\n", []string{"row 2", `"TIMESTAMP"`, "empty"}},
		{"out of order", h + ok + "2023-11-16 18:17:02,5,1\n", []string{"row 2", `"TIMESTAMP"`, "before the previous row", "pass --sort"}},
		{"field count", h + ok + "2023-11-16 18:17:04,5\n", []string{"row 2", "line 3", "number of fields"}},
		{"bad quote", h + ok + "2023-11-16 \"18:17:04,5,1\n", []string{"row 2", "malformed CSV"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "bad.csv")
			os.WriteFile(path, []byte(tc.data), 0o644)
			r, err := Open(path, Options{})
			if err == nil {
				_, err = ReadAll(r)
			}
			var e *Error
			if !errors.As(err, &e) {
				t.Fatalf("err = %v (%T), want *Error", err, err)
			}
			requireError(t, err, append([]string{"bad.csv"}, tc.parts...)...)
		})
	}
}

func TestOutOfOrderSortAndSkip(t *testing.T) {
	data := "arrived_at,num_prefill_tokens,num_decode_tokens\n1,10,1\n3,30,3\n2,20,2\n2,21,2\n4,40,4\n"
	path := filepath.Join(t.TempDir(), "ooo.csv")
	os.WriteFile(path, []byte(data), 0o644)

	_, err := ReadAll(mustOpen(t, path, Options{}))
	if !errors.Is(err, ErrOutOfOrder) {
		t.Fatalf("err = %v, want ErrOutOfOrder", err)
	}
	requireError(t, err, "row 3", `"arrived_at"`)

	sorted := collect(t)(Open(path, Options{Sort: true}))
	var order []int32
	for _, q := range sorted {
		order = append(order, q.PromptTokens)
	}
	// Stable: the two rows at 2 s keep file order; IDs are file row indexes.
	if got := order; !equalInts(got, []int32{10, 20, 21, 30, 40}) || sorted[1].ID != 2 || sorted[1].Arrival != 1e9 {
		t.Errorf("sorted = %+v", sorted)
	}

	r := mustOpen(t, path, Options{SkipInvalid: true})
	skipped := collect(t)(r, nil)
	if len(skipped) != 3 {
		t.Fatalf("%d rows kept, want 3 (rows 3 and 4 arrive before row 2)", len(skipped))
	}
	if p, _ := ProblemsOf(r); p.OutOfOrder != 2 || p.Rows != 2 {
		t.Errorf("problems = %+v", p)
	}
}

func equalInts(a, b []int32) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestSkipInvalidCounts(t *testing.T) {
	data := "arrived_at,num_prefill_tokens,num_decode_tokens\n1,10,1\n2,,2\n3,x,3\n4,40,-1\n5,50,5\n"
	r, err := NewCSVReader(strings.NewReader(data), "mixed.csv", Options{SkipInvalid: true})
	if err != nil {
		t.Fatal(err)
	}
	s, err := ComputeStats(r)
	if err != nil {
		t.Fatal(err)
	}
	p := s.Problems
	if s.Rows != 2 || p.Rows != 3 || p.Missing != 1 || p.Invalid != 2 || p.ByColumn["num_prefill_tokens"] != 2 || p.ByColumn["num_decode_tokens"] != 1 {
		t.Fatalf("stats rows %d, problems %+v", s.Rows, p)
	}
	requireError(t, p.First, "mixed.csv", "row 2", `"num_prefill_tokens"`)
	if !strings.Contains(s.String(), "3 (missing 1, invalid 2, out of order 0)") {
		t.Errorf("table lacks the skipped counts:\n%s", s)
	}
}

func TestBadJSONL(t *testing.T) {
	const ok = `{"timestamp": 0, "input_length": 5, "output_length": 1}` + "\n"
	for _, tc := range []struct {
		name, data string
		parts      []string
	}{
		{"empty", "\n\n", []string{"empty file"}},
		{"not json", "hello\n", []string{"row 1", "JSON object"}},
		{"missing columns", `{"a": 1}` + "\n", []string{`found columns ["a"]`, "mooncake (timestamp, input_length, output_length)"}},
		{"truncated line", ok + `{"timestamp": 1, "input_le`, []string{"row 2", "line 2", "JSON object"}},
		{"missing key", ok + `{"timestamp": 1, "input_length": 5}`, []string{"row 2", `"output_length"`, "empty"}},
		{"bool tokens", ok + `{"timestamp": 1, "input_length": true, "output_length": 1}`, []string{"row 2", `"input_length"`, "number"}},
		{"bad hashes", `{"timestamp": 1, "input_length": 5, "output_length": 1, "hash_ids": [-1]}`, []string{"row 1", `"hash_ids"`, "unsigned"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r, err := NewJSONLReader(strings.NewReader(tc.data), "bad.jsonl", Options{})
			if err == nil {
				_, err = ReadAll(r)
			}
			requireError(t, err, append([]string{"bad.jsonl"}, tc.parts...)...)
		})
	}
}

// Damaged binary files must fail with an error, never a panic, whatever the
// damage: every truncation length and a byte flipped at many offsets.
func TestCorruptBinary(t *testing.T) {
	want := richRequests(3000)
	for _, format := range []string{"parquet", "arrow", "arrows"} {
		var buf bytes.Buffer
		if _, err := Write(&buf, NewSliceReader(want), format); err != nil {
			t.Fatal(err)
		}
		data := buf.Bytes()
		open := func(b []byte) (Reader, error) {
			if format == "parquet" {
				return NewParquetReader(bytes.NewReader(b), int64(len(b)), "bad."+format, Options{KeepOffset: true})
			}
			return NewArrowReader(bytes.NewReader(b), "bad."+format, Options{KeepOffset: true})
		}
		step := max(1, len(data)/97)
		for n := 0; n < len(data); n += step {
			r, err := open(data[:n])
			if err == nil {
				_, err = ReadAll(r)
			}
			if err == nil {
				t.Errorf("%s truncated to %d of %d bytes: no error", format, n, len(data))
			} else if !strings.Contains(err.Error(), "bad."+format) {
				t.Errorf("%s truncated to %d: error %q does not name the file", format, n, err)
			}
		}
		for off := 0; off < len(data); off += step {
			b := bytes.Clone(data)
			b[off] ^= 0xff
			r, err := open(b)
			if err == nil {
				ReadAll(r) // may succeed (a flipped value) or fail; it must not panic
			}
		}
	}
}

func TestEmptyBinaryFiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range []string{"e.parquet", "e.arrow", "e.csv", "e.jsonl"} {
		path := filepath.Join(dir, name)
		os.WriteFile(path, nil, 0o644)
		_, err := Open(path, Options{})
		if !errors.Is(err, ErrEmpty) {
			t.Errorf("%s: err = %v, want ErrEmpty", name, err)
		}
	}
	// A valid file with zero rows is as empty as an empty one.
	path := filepath.Join(dir, "zero.parquet")
	writeFile(t, path, NewSliceReader(nil), "parquet")
	_, err := ReadAll(mustOpen(t, path, Options{}))
	if !errors.Is(err, ErrEmpty) {
		t.Errorf("zero-row parquet: err = %v, want ErrEmpty", err)
	}
}

func TestWrongColumnTypes(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bool.parquet")
	type row struct {
		A bool  `parquet:"arrival_ns"`
		P int32 `parquet:"prompt_tokens"`
		O int32 `parquet:"output_tokens"`
	}
	var buf bytes.Buffer
	w := newGenericWriterForTest[row](&buf)
	w.Write([]row{{true, 1, 1}})
	w.Close()
	os.WriteFile(path, buf.Bytes(), 0o644)
	_, err := Open(path, Options{})
	requireError(t, err, "bool.parquet", `"arrival_ns"`, "BOOLEAN", "timestamp")
}
