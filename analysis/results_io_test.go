package analysis

import (
	"bytes"
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/parquet-go/parquet-go"

	"github.com/lodsim/lodsim/replay"
)

func writeResults(t *testing.T, rs []replay.RequestResult) []byte {
	t.Helper()
	var buf bytes.Buffer
	if err := WriteResults(&buf, rs); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

func TestResultsRoundTrip(t *testing.T) {
	rs := handResults()
	rs[0].Replica = 3
	rs[3].Preemptions = 32767
	b := writeResults(t, rs)
	got, err := ReadResults(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, rs) {
		t.Errorf("round trip:\n got %+v\nwant %+v", got, rs)
	}
	if b2 := writeResults(t, rs); !bytes.Equal(b, b2) {
		t.Error("same results gave different bytes")
	}
	empty := writeResults(t, nil)
	if got, err := ReadResults(bytes.NewReader(empty), int64(len(empty))); err != nil || len(got) != 0 {
		t.Errorf("empty file: %v, %d rows", err, len(got))
	}
}

func TestResultWriterStreamsRowGroups(t *testing.T) {
	// Enough rows for several row groups, so that reading crosses their
	// boundaries and the writer has flushed mid-stream.
	rs := synthResults(2*resultRowGroup+123, 5)
	var buf bytes.Buffer
	w := NewResultWriter(&buf)
	var sink replay.Sink = w
	for i := range rs {
		if err := sink.Record(&rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if w.Rows() != int64(len(rs)) {
		t.Errorf("Rows = %d", w.Rows())
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if n := len(f.RowGroups()); n != 3 {
		t.Errorf("%d row groups, want 3", n)
	}
	got, err := ReadResults(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(got, rs) {
		t.Error("streamed results do not round-trip")
	}
}

func TestReadResultsErrors(t *testing.T) {
	parquetOf := func(rows any) []byte {
		var buf bytes.Buffer
		switch r := rows.(type) {
		case []resultRow:
			if err := parquet.Write(&buf, r); err != nil {
				t.Fatal(err)
			}
		case []struct {
			ID int64 `parquet:"id"`
		}:
			if err := parquet.Write(&buf, r); err != nil {
				t.Fatal(err)
			}
		case []struct {
			ID             int64   `parquet:"id"`
			Arrival        float64 `parquet:"arrival_ns"`
			FirstScheduled int64   `parquet:"first_scheduled_ns"`
			FirstToken     int64   `parquet:"first_token_ns"`
			Completion     int64   `parquet:"completion_ns"`
			PromptTokens   int32   `parquet:"prompt_tokens"`
			OutputTokens   int32   `parquet:"output_tokens"`
			Replica        int32   `parquet:"replica"`
			Preemptions    int32   `parquet:"preemptions"`
			Status         string  `parquet:"status"`
		}:
			if err := parquet.Write(&buf, r); err != nil {
				t.Fatal(err)
			}
		}
		return buf.Bytes()
	}
	good := resultRow{ID: 1, Status: "completed"}
	badStatus := good
	badStatus.Status = "done"
	badPre := good
	badPre.Preemptions = -1
	for _, c := range []struct {
		name string
		data []byte
		want []string
	}{
		{"not parquet", []byte("id,arrival_ns\n1,2\n"), []string{"not a lodsim results file"}},
		{"truncated", writeResults(t, handResults())[:40], []string{"not a lodsim results file"}},
		{"missing column", parquetOf([]struct {
			ID int64 `parquet:"id"`
		}{{1}}), []string{"column arrival_ns", "missing"}},
		{"wrong type", parquetOf([]struct {
			ID             int64   `parquet:"id"`
			Arrival        float64 `parquet:"arrival_ns"`
			FirstScheduled int64   `parquet:"first_scheduled_ns"`
			FirstToken     int64   `parquet:"first_token_ns"`
			Completion     int64   `parquet:"completion_ns"`
			PromptTokens   int32   `parquet:"prompt_tokens"`
			OutputTokens   int32   `parquet:"output_tokens"`
			Replica        int32   `parquet:"replica"`
			Preemptions    int32   `parquet:"preemptions"`
			Status         string  `parquet:"status"`
		}{{ID: 1}}), []string{"column arrival_ns", "DOUBLE", "INT64"}},
		{"bad status", parquetOf([]resultRow{good, good, badStatus}), []string{"row 2", "column status", `"done"`, "completed, unfinished or rejected"}},
		{"bad preemptions", parquetOf([]resultRow{badPre}), []string{"row 0", "column preemptions", "-1"}},
	} {
		_, err := ReadResults(bytes.NewReader(c.data), int64(len(c.data)))
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		if !errors.Is(err, ErrResultsFormat) {
			t.Errorf("%s: %v does not wrap ErrResultsFormat", c.name, err)
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
}

func BenchmarkResultWriter(b *testing.B) {
	rs := synthResults(100_000, 1)
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		w := NewResultWriter(&buf)
		for i := range rs {
			w.Record(&rs[i])
		}
		w.Close()
	}
	b.ReportMetric(float64(len(rs))*float64(b.N)/b.Elapsed().Seconds(), "results/s")
	b.ReportMetric(float64(buf.Len())/float64(len(rs)), "bytes/result")
}
