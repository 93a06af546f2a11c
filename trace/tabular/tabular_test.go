package tabular

import (
	"bytes"
	"compress/gzip"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"
)

func TestSniff(t *testing.T) {
	for _, c := range []struct {
		head string
		want Format
	}{
		{"PAR1\x15\x04", Parquet}, {"ARROW1\x00\x00", ArrowFile}, {"\xff\xff\xff\xff\x10\x00", ArrowStream},
		{"\x1f\x8b\x08", Gzip}, {"a,b,c\n", Unknown}, {"", Unknown},
	} {
		if got := Sniff([]byte(c.head)); got != c.want {
			t.Errorf("Sniff(%q) = %v, want %v", c.head, got, c.want)
		}
	}
}

func TestCSVReader(t *testing.T) {
	in := "\ufeffa,b\n1,2\n3\n\"x\ny\",4\n"
	c, err := NewCSV(strings.NewReader(in), "t.csv", CSVOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if h := c.Header(); len(h) != 2 || h[0] != "a" {
		t.Fatalf("header %q", h)
	}
	if rec, err := c.Read(); err != nil || rec[1] != "2" || c.Row() != 1 || c.Line(0) != 2 {
		t.Fatalf("row 1: %q %v line %d", rec, err, c.Line(0))
	}
	_, err = c.Read()
	var e *Error
	if !errors.As(err, &e) || e.Row != 2 || e.Line != 3 || !strings.Contains(err.Error(), "2 fields") {
		t.Fatalf("short row: %v", err)
	}
	if rec, err := c.Read(); err != nil || rec[0] != "x\ny" || c.Line(1) != 5 {
		t.Fatalf("quoted row: %q %v", rec, err)
	}
	if _, err := c.Read(); err != io.EOF {
		t.Fatalf("end: %v", err)
	}
	wide := strings.Repeat("x,", MaxColumns) + "x\n"
	if _, err := NewCSV(strings.NewReader(wide), "w.csv", CSVOptions{}); err == nil || !strings.Contains(err.Error(), "at most 10000 columns") {
		t.Fatalf("wide header: %v", err)
	}
	if _, err := NewCSV(strings.NewReader(""), "e.csv", CSVOptions{}); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
}

// TestRecordBound: a record may be as long as the limit, not longer, and
// records below it may follow each other without end.
func TestRecordBound(t *testing.T) {
	lim := Limits{RecordBytes: 1000}
	ok := "a\n" + strings.Repeat(strings.Repeat("x", 998)+"\n", 50)
	c, err := NewCSV(strings.NewReader(ok), "ok.csv", CSVOptions{Limits: lim})
	if err != nil {
		t.Fatal(err)
	}
	for n := 0; ; n++ {
		if _, err := c.Read(); err == io.EOF {
			if n != 50 {
				t.Fatalf("%d rows", n)
			}
			break
		} else if err != nil {
			t.Fatalf("row %d: %v", n+1, err)
		}
	}
	long := "a\n" + strings.Repeat("x", 10000) + "\n"
	c, _ = NewCSV(strings.NewReader(long), "long.csv", CSVOptions{Limits: lim})
	_, err = c.Read()
	var le *LimitError
	if !errors.As(err, &le) || le.Field != "RecordBytes" || !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "long.csv: row 1") {
		t.Fatalf("long record: %v", err)
	}

	l := NewLines(strings.NewReader("ab\n\n"+strings.Repeat("y", 5000)), lim)
	if b, err := l.Next(); err != nil || string(b) != "ab" || l.Line() != 1 {
		t.Fatalf("line 1: %q %v", b, err)
	}
	if b, err := l.Next(); err != nil || len(b) != 0 {
		t.Fatalf("line 2: %q %v", b, err)
	}
	if _, err := l.Next(); !errors.As(err, &le) {
		t.Fatalf("long line: %v", err)
	}
}

func TestGunzipBound(t *testing.T) {
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	zw.Write(make([]byte, 1<<20))
	zw.Close()
	zr, err := Gunzip(bytes.NewReader(buf.Bytes()), Limits{DecompressedBytes: 1 << 20})
	if err != nil {
		t.Fatal(err)
	}
	if n, err := io.Copy(io.Discard, zr); err != nil || n != 1<<20 {
		t.Fatalf("at the limit: %d %v", n, err)
	}
	zr, _ = Gunzip(bytes.NewReader(buf.Bytes()), Limits{DecompressedBytes: 1<<20 - 1})
	if _, err := io.Copy(io.Discard, zr); !errors.Is(err, ErrLimit) {
		t.Fatalf("past the limit: %v", err)
	}
}

func TestParquetFooterLength(t *testing.T) {
	// A footer length beyond the file is refused before anything is read.
	data := []byte("PAR1xxxxxxxxxxxx\xff\xff\xff\x7fPAR1")
	_, err := OpenParquet(bytes.NewReader(data), int64(len(data)), "f.parquet", Limits{})
	if !errors.Is(err, ErrCorrupt) || !strings.Contains(err.Error(), "footer length") {
		t.Fatalf("error %v", err)
	}
	if _, err := OpenParquet(bytes.NewReader(nil), 0, "e.parquet", Limits{}); !errors.Is(err, ErrEmpty) {
		t.Fatalf("empty: %v", err)
	}
}

func TestDefaultDecodedBytes(t *testing.T) {
	if DefaultDecodedBytes(0) != 4<<30 || DefaultDecodedBytes(1000) != 64<<20 || DefaultDecodedBytes(1<<30) != 64<<30 {
		t.Error("DefaultDecodedBytes")
	}
}

// TestParquetPageValues: a page claiming more values than the decoded-bytes
// limit allows is refused at open, before parquet-go sizes its buffers.
func TestParquetPageValues(t *testing.T) {
	type row struct {
		A *int64 `parquet:",optional"`
	}
	var buf bytes.Buffer
	w := parquet.NewGenericWriter[row](&buf)
	rows := make([]row, 10000)
	w.Write(rows)
	w.Close()
	data := buf.Bytes()
	if _, err := OpenParquet(bytes.NewReader(data), int64(len(data)), "ok.parquet", Limits{}); err != nil {
		t.Fatal(err)
	}
	_, err := OpenParquet(bytes.NewReader(data), int64(len(data)), "small.parquet", Limits{DecodedBytes: 10000*8 - 1})
	if !errors.Is(err, ErrLimit) || !strings.Contains(err.Error(), "a page of 10000 values") || !strings.Contains(err.Error(), `column "A"`) {
		t.Fatalf("error %v", err)
	}
}
