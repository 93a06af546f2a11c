package analysis

import (
	"bytes"
	"encoding/base64"
	"errors"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
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

// completionOrder shuffles results the way the simulator emits them: by
// completion, with a seeded tie-break, so ids arrive out of order.
func completionOrder(rs []replay.RequestResult, seed uint64) []replay.RequestResult {
	out := slices.Clone(rs)
	rng := rand.New(rand.NewPCG(seed, 3))
	rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
	return out
}

func TestResultsSortedByID(t *testing.T) {
	sorted := synthResults(5000, 7)
	want := writeResults(t, sorted)
	shuffled := completionOrder(sorted, 1)
	got := writeResults(t, shuffled)
	if !bytes.Equal(got, want) {
		t.Fatal("results recorded out of order gave different bytes than sorted ones")
	}
	back, err := ReadResults(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(back, sorted) {
		t.Error("file rows are not in id order")
	}
	// The footer declares the order, so engines can rely on it.
	f, err := parquet.OpenFile(bytes.NewReader(got), int64(len(got)))
	if err != nil {
		t.Fatal(err)
	}
	for i, rg := range f.Metadata().RowGroups {
		if len(rg.SortingColumns) != 1 || rg.SortingColumns[0].ColumnIdx != 0 || rg.SortingColumns[0].Descending {
			t.Errorf("row group %d: sorting columns %+v, want id ascending", i, rg.SortingColumns)
		}
	}
}

// TestResultsExternalSort forces the spill path with a small buffer: the
// bytes must equal the in-memory sort's, duplicate ids must keep a total
// order, and no run file may remain, also after a failed write.
func TestResultsExternalSort(t *testing.T) {
	rs := synthResults(3*resultBatch+77, 11)
	rs[10].ID, rs[11].ID = 5, 5 // duplicate ids, told apart by their times
	want := writeResults(t, rs)
	for _, bufRows := range []int{minSortRows, 3000, resultBatch, len(rs) - 1} {
		dir := t.TempDir()
		var buf bytes.Buffer
		if err := WriteResults(&buf, completionOrder(rs, uint64(bufRows)), WithSortBuffer(bufRows, dir)); err != nil {
			t.Fatalf("buffer %d: %v", bufRows, err)
		}
		if !bytes.Equal(buf.Bytes(), want) {
			t.Errorf("buffer %d: external sort gave different bytes than the in-memory one", bufRows)
		}
		if left, _ := os.ReadDir(dir); len(left) != 0 {
			t.Errorf("buffer %d: %d run files left behind", bufRows, len(left))
		}
	}
	dir := t.TempDir()
	var buf bytes.Buffer
	w := NewResultWriter(failWriter{}, WithSortBuffer(minSortRows, dir))
	for i := range rs {
		if err := w.Record(&rs[i]); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err == nil {
		t.Error("writing to a failing writer: no error")
	}
	if left, _ := os.ReadDir(dir); len(left) != 0 {
		t.Errorf("failed write: %d run files left behind", len(left))
	}
	if err := WriteResults(&buf, rs, WithSortBuffer(minSortRows-1, dir)); err == nil {
		t.Errorf("a sort buffer of %d rows: no error", minSortRows-1)
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

// TestResultsDurations checks the derived columns against the fixture's
// hand-computed values, read back by a reader that knows nothing of
// lodsim's types.
func TestResultsDurations(t *testing.T) {
	b := writeResults(t, completionOrder(handResults(), 2))
	type durRow struct {
		ID    int64  `parquet:"id"`
		TTFT  *int64 `parquet:"ttft_ns,optional"`
		TPOT  *int64 `parquet:"tpot_ns,optional"`
		E2E   *int64 `parquet:"e2e_ns,optional"`
		Queue *int64 `parquet:"queue_ns,optional"`
	}
	rows, err := parquet.Read[durRow](bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	msp := func(v int64) *int64 { v *= ms; return &v }
	want := []durRow{
		{1, msp(10), msp(10), msp(110), msp(1)},
		{2, msp(20), msp(10), msp(60), msp(0)},
		{3, msp(40), nil, msp(40), msp(10)}, // one token: no TPOT
		{4, msp(40), nil, nil, msp(10)},     // unfinished: no E2E
		{5, nil, nil, nil, nil},             // rejected: nothing happened
	}
	show := func(p *int64) string {
		if p == nil {
			return "null"
		}
		return strconv.FormatInt(*p, 10)
	}
	if len(rows) != len(want) {
		t.Fatalf("%d rows, want %d", len(rows), len(want))
	}
	for i, w := range want {
		g := rows[i]
		for j, pair := range [][2]*int64{{g.TTFT, w.TTFT}, {g.TPOT, w.TPOT}, {g.E2E, w.E2E}, {g.Queue, w.Queue}} {
			if show(pair[0]) != show(pair[1]) || g.ID != w.ID {
				t.Errorf("row %d (id %d) %s = %s, want %s (id %d)", i, g.ID, ResultDurationColumns[j], show(pair[0]), show(pair[1]), w.ID)
			}
		}
	}
	// TPOT is rounded to the nearest nanosecond: 100 ns over 3 tokens.
	r := replay.RequestResult{ID: 1, Arrival: 0, FirstScheduled: 0, FirstToken: 10, Completion: 110, OutputTokens: 4, Status: replay.Completed}
	got := (&rowEncoder{}).encode([]replay.RequestResult{r})[0]
	if *got.TPOT != 33 {
		t.Errorf("tpot of 100 ns over 3 tokens = %d, want 33", *got.TPOT)
	}
}

func TestResultsProvenance(t *testing.T) {
	prov := ResultsProvenance{Version: "v1.2.3", Build: "abc123", Metadata: map[string]string{
		"lodsim_version": "v1.2.3", "config_hash": "sha256:00ff", "model": "Llama-3.1-8B", "gpu": "H100-SXM",
		"engine": "vllm", "seed": "42", "run_id": "r-1"}}
	var buf bytes.Buffer
	if err := WriteResults(&buf, handResults(), WithProvenance(prov)); err != nil {
		t.Fatal(err)
	}
	info, err := ReadResultsInfo(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if info.CreatedBy != "lodsim version v1.2.3 (build abc123)" {
		t.Errorf("created_by = %q", info.CreatedBy)
	}
	if info.Rows != 5 {
		t.Errorf("rows = %d", info.Rows)
	}
	for k, v := range prov.Metadata {
		if info.Metadata[k] != v {
			t.Errorf("metadata %s = %q, want %q", k, info.Metadata[k], v)
		}
	}
	if info.Metadata[MetaSchema] != "lodsim.results/2" {
		t.Errorf("metadata %s = %q", MetaSchema, info.Metadata[MetaSchema])
	}
	if got := (ResultsProvenance{}).CreatedBy(); got != "lodsim version unknown" {
		t.Errorf("empty provenance: created_by %q", got)
	}
	// Reserved keys cannot be overwritten by a caller.
	bad := ResultsProvenance{Metadata: map[string]string{MetaArrowSchema: "x"}}
	if err := WriteResults(&bytes.Buffer{}, handResults(), WithProvenance(bad)); err == nil || !strings.Contains(err.Error(), "reserved") {
		t.Errorf("reserved key: %v", err)
	}
}

// TestResultsArrowSchema decodes the ARROW:schema metadata with Arrow's own
// IPC reader: it must name the file's columns in order and type the
// durations as duration[ns], or Arrow readers would ignore or reject it.
func TestResultsArrowSchema(t *testing.T) {
	arrowSchemaMatches(t, writeResults(t, handResults()))
	arrowSchemaMatches(t, writeResults(t, disaggResults(10, 1)))
}

func arrowSchemaMatches(t *testing.T, b []byte) {
	t.Helper()
	info, err := ReadResultsInfo(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	msg, err := base64.StdEncoding.DecodeString(info.Metadata[MetaArrowSchema])
	if err != nil {
		t.Fatal(err)
	}
	eos := []byte{0xFF, 0xFF, 0xFF, 0xFF, 0, 0, 0, 0}
	rd, err := ipc.NewReader(bytes.NewReader(append(msg, eos...)))
	if err != nil {
		t.Fatalf("ARROW:schema does not decode: %v", err)
	}
	defer rd.Release()
	f, err := parquet.OpenFile(bytes.NewReader(b), int64(len(b)))
	if err != nil {
		t.Fatal(err)
	}
	cols := f.Schema().Columns()
	fields := rd.Schema().Fields()
	if len(fields) != len(cols) {
		t.Fatalf("Arrow schema has %d fields, file %d columns", len(fields), len(cols))
	}
	for i, fl := range fields {
		if fl.Name != cols[i][0] {
			t.Errorf("field %d: Arrow %q, Parquet %q", i, fl.Name, cols[i][0])
		}
		isDur := slices.Contains(ResultDurationColumns, fl.Name) || fl.Name == "transfer_ns"
		if d, ok := fl.Type.(*arrow.DurationType); ok != isDur || (ok && d.Unit != arrow.Nanosecond) {
			t.Errorf("field %s: Arrow type %v", fl.Name, fl.Type)
		}
	}
}

// TestReadResultsWithoutDurations reads a file of the first layout (raw
// columns only), as written before the duration columns existed.
func TestReadResultsWithoutDurations(t *testing.T) {
	var buf bytes.Buffer
	rows := []rawRow{{ID: 7, Arrival: 1, FirstScheduled: 2, FirstToken: 3, Completion: 9, OutputTokens: 2, Status: "completed"}}
	if err := parquet.Write(&buf, rows); err != nil {
		t.Fatal(err)
	}
	got, err := ReadResults(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 1 || got[0].ID != 7 || got[0].Completion != 9 {
		t.Errorf("got %+v", got)
	}
}

// BenchmarkResultWriterSpill sorts 300 k results arriving out of order
// through a buffer of 64 Ki, so the merge of five spilled runs is timed.
func BenchmarkResultWriterSpill(b *testing.B) {
	rs := completionOrder(synthResults(300_000, 1), 4)
	dir := b.TempDir()
	var buf bytes.Buffer
	b.ReportAllocs()
	for b.Loop() {
		buf.Reset()
		if err := WriteResults(&buf, rs, WithSortBuffer(1<<16, dir)); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(len(rs))*float64(b.N)/b.Elapsed().Seconds(), "results/s")
	b.ReportMetric(float64(buf.Len())/float64(len(rs)), "bytes/result")
}

// TestDisaggResultsRoundTrip: a disaggregated run's results carry the
// prefill and decode workers and the transfer, in their own columns with
// the transfer's duration (null where none happened), and read back
// whole, also through the sort's spilled runs; an aggregated file keeps
// its columns.
func TestDisaggResultsRoundTrip(t *testing.T) {
	rs := disaggResults(3000, 5)
	for _, rows := range []int{DefaultSortRows, minSortRows} {
		var buf bytes.Buffer
		w := NewResultWriter(&buf, WithSortBuffer(rows, t.TempDir()))
		for _, r := range completionOrder(rs, 2) {
			if err := w.Record(&r); err != nil {
				t.Fatal(err)
			}
		}
		if err := w.Close(); err != nil {
			t.Fatal(err)
		}
		back, err := ReadResults(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		if !slices.Equal(back, rs) {
			t.Fatalf("sort buffer %d: results differ after a round trip", rows)
		}
		f, err := parquet.OpenFile(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
		if err != nil {
			t.Fatal(err)
		}
		for _, c := range DisaggColumns {
			if _, ok := f.Schema().Lookup(c); !ok {
				t.Errorf("column %s missing", c)
			}
		}
	}
	agg := writeResults(t, synthResults(10, 1))
	f, err := parquet.OpenFile(bytes.NewReader(agg), int64(len(agg)))
	if err != nil {
		t.Fatal(err)
	}
	if _, ok := f.Schema().Lookup("prefill_worker"); ok {
		t.Error("an aggregated run's file has disaggregated columns")
	}
}
