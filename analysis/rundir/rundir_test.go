package rundir

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"syscall"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
)

// handRun is a small run with every status, a preemption and a time
// series, built without simulating.
func handRun() *analysis.Run {
	const ms = replay.Time(1e6)
	rs := []replay.RequestResult{
		{ID: 1, Arrival: 0, FirstScheduled: 1 * ms, FirstToken: 10 * ms, Completion: 110 * ms, PromptTokens: 100, OutputTokens: 11, Status: replay.Completed},
		{ID: 2, Arrival: 5 * ms, FirstScheduled: 5 * ms, FirstToken: 25 * ms, Completion: 65 * ms, PromptTokens: 200, OutputTokens: 5, Replica: 1, Status: replay.Completed},
		{ID: 4, Arrival: 20 * ms, FirstScheduled: 30 * ms, FirstToken: 60 * ms, Completion: -1, PromptTokens: 400, OutputTokens: 3, Preemptions: 2, Status: replay.Unfinished},
		{ID: 5, Arrival: 30 * ms, FirstScheduled: -1, FirstToken: -1, Completion: -1, PromptTokens: 500, Status: replay.Rejected, Reason: replay.TooLongForModel},
	}
	st := &replay.Stats{LoD: "medium", Seed: 7, SimEnd: 200 * ms, TotalEvents: 12,
		Events: []replay.EventCount{{Kind: "arrival", Count: 4}, {Kind: "iteration", Count: 8}}, Completed: 2, Unfinished: 1, Rejected: 1, Arrived: 4}
	st.ITL.Add(int64(10*ms), 14)
	for i := range 3 {
		st.Samples = append(st.Samples, replay.Sample{T: replay.Time(i+1) * 100 * ms, Running: 2, Waiting: int32(i), BatchSize: 1.5, KVUtil: 0.25, OutputTokens: 5, Completed: 1})
	}
	cfg, err := replay.Scenario("reference-tp2")
	if err != nil {
		panic(err)
	}
	run := &analysis.Run{Label: "tp2", LoD: "medium", WallNs: 1234567, PeakRSSBytes: 55 << 20, Stats: st, Results: rs, Config: cfg,
		Provenance: analysis.Provenance{Version: "lodsim test", Model: "Llama-3-8B", GPU: "A100-80GB-SXM", Seed: 7}}
	run.Summary = analysis.Summarize(rs, st, analysis.SLO{TTFTNs: 50e6})
	return run
}

// noTemporaries fails if a dot-file is left in dir.
func noTemporaries(t *testing.T, dir string) {
	t.Helper()
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s behind in %s", e.Name(), dir)
		}
	}
}

func TestRunDirRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tp2-medium")
	run := handRun()
	if err := Write(dir, run); err != nil {
		t.Fatal(err)
	}
	if len(run.ID) != 16 {
		t.Fatalf("run id %q", run.ID)
	}
	got, err := Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(got.Info(), run.Info()) {
		t.Errorf("info = %+v, want %+v", got.Info(), run.Info())
	}
	if !reflect.DeepEqual(got.Results, run.Results) || !reflect.DeepEqual(got.Stats, run.Stats) || !reflect.DeepEqual(got.Summary, run.Summary) {
		t.Errorf("results, stats or summary changed in the round trip")
	}
	if got.Config == nil || got.Config.Cluster.TensorParallel != 2 || got.Config.Name != "tp2" {
		t.Errorf("config.resolved.yaml read back as %+v", got.Config)
	}
	txt, err := os.ReadFile(filepath.Join(dir, SummaryText))
	if err != nil || !strings.HasPrefix(string(txt), "run "+run.ID+"\n") || !strings.Contains(string(txt), "tp2 at medium LoD") || !strings.Contains(string(txt), "TTFT<=50ms") {
		t.Errorf("summary.txt = %q, %v", txt, err)
	}
	noTemporaries(t, dir)
	noTemporaries(t, filepath.Dir(dir))
}

func TestRunDirDeterministic(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	if err := Write(a, handRun()); err != nil {
		t.Fatal(err)
	}
	if err := Write(b, handRun()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{RunFile, ConfigFile, ResultsFile, StatsFile, SummaryJSON, SummaryText} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between identical runs (or is empty)", name)
		}
	}
	// Different results give a different id.
	other := handRun()
	other.Results = other.Results[:3]
	if err := Write(b, other); err != nil {
		t.Fatal(err)
	}
	if first := handRun(); Write(a, first) != nil || first.ID == other.ID {
		t.Errorf("runs with different results share id %s", other.ID)
	}
}

func TestReadRefusesMixedOrBrokenRuns(t *testing.T) {
	good := filepath.Join(t.TempDir(), "run")
	if err := Write(good, handRun()); err != nil {
		t.Fatal(err)
	}
	// another is a different run (fewer results) whose files get mixed in.
	another := filepath.Join(t.TempDir(), "run")
	r := handRun()
	r.Results = r.Results[:2]
	r.Summary = analysis.Summarize(r.Results, r.Stats, analysis.SLO{})
	if err := Write(another, r); err != nil {
		t.Fatal(err)
	}
	copyDir := func(t *testing.T, from string) string {
		d := filepath.Join(t.TempDir(), "run")
		os.MkdirAll(d, 0o755)
		entries, _ := os.ReadDir(from)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(from, e.Name()))
			os.WriteFile(filepath.Join(d, e.Name()), b, 0o644)
		}
		return d
	}
	mixIn := func(name string) func(string) {
		return func(d string) {
			b, _ := os.ReadFile(filepath.Join(another, name))
			os.WriteFile(filepath.Join(d, name), b, 0o644)
		}
	}
	for _, c := range []struct {
		name  string
		spoil func(dir string)
		want  []string
	}{
		{"missing run.json", func(d string) { os.Remove(filepath.Join(d, RunFile)) }, []string{"run.json", "no such file"}},
		{"results of another run", mixIn(ResultsFile), []string{ResultsFile, "does not belong to this run", "mixes files of different runs"}},
		{"summary of another run", mixIn(SummaryJSON), []string{SummaryJSON, "does not belong"}},
		{"label of another run", mixIn(RunFile), []string{ResultsFile, "does not belong"}},
		{"truncated stats", func(d string) { os.WriteFile(filepath.Join(d, StatsFile), []byte(`{"lod": "high", `), 0o644) }, []string{StatsFile, "does not belong"}},
		{"unknown field", func(d string) { os.WriteFile(filepath.Join(d, RunFile), []byte(`{"label": "x", "colour": 1}`), 0o644) }, []string{"run.json", "colour"}},
		{"no run id", func(d string) {
			os.WriteFile(filepath.Join(d, RunFile), []byte(`{"label": "x", "lod": "high"}`), 0o644)
		}, []string{"no run id", "older lodsim"}},
		{"missing results", func(d string) { os.Remove(filepath.Join(d, ResultsFile)) }, []string{ResultsFile, "no such file"}},
	} {
		d := copyDir(t, good)
		c.spoil(d)
		_, err := Read(d)
		if err == nil {
			t.Errorf("%s: no error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
	// A run without stats is complete without stats.json.
	r = handRun()
	r.Stats = nil
	d := filepath.Join(t.TempDir(), "nostats")
	if err := Write(d, r); err != nil {
		t.Fatal(err)
	}
	if run, err := Read(d); err != nil || run.Stats != nil || len(run.Results) != 4 {
		t.Errorf("without stats: %v", err)
	}
}

func TestCommitReplacesARunAsAUnit(t *testing.T) {
	t.Run("exchange", testCommitReplaces)
	t.Run("two renames", func(t *testing.T) {
		exchangeFn = func(a, b string) error { return errors.New("no exchange") }
		defer func() { exchangeFn = exchange }()
		testCommitReplaces(t)
	})
}

func testCommitReplaces(t *testing.T) {
	parent := t.TempDir()
	dir := filepath.Join(parent, "run")
	if err := Write(dir, handRun()); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "fig4_latency_cdf.png"), []byte("old figure"), 0o644)
	// A second run that fails before its commit leaves the first intact.
	w, err := Create(dir)
	if err != nil {
		t.Fatal(err)
	}
	res, _ := w.Results()
	res.Write([]byte("half a file"))
	w.Abort()
	if _, err := Read(dir); err != nil {
		t.Fatalf("aborted run damaged the previous one: %v", err)
	}
	noTemporaries(t, parent)
	// A committed one replaces it whole: the old figure goes too.
	r := handRun()
	r.Results = r.Results[:1]
	if err := Write(dir, r, Extra{Name: "fig5_timeseries.png", Data: []byte("new")}); err != nil {
		t.Fatal(err)
	}
	got, err := Read(dir)
	if err != nil || got.ID != r.ID || len(got.Results) != 1 {
		t.Fatalf("after replace: %v", err)
	}
	if _, err := os.Stat(filepath.Join(dir, "fig4_latency_cdf.png")); !os.IsNotExist(err) {
		t.Errorf("a file of the old run survived the swap")
	}
	if b, _ := os.ReadFile(filepath.Join(dir, "fig5_timeseries.png")); string(b) != "new" {
		t.Errorf("extra not written")
	}
	noTemporaries(t, parent)
}

func TestCreateRefusesWhatIsNotARun(t *testing.T) {
	parent := t.TempDir()
	mine := filepath.Join(parent, "mine")
	os.MkdirAll(mine, 0o755)
	os.WriteFile(filepath.Join(mine, "notes.txt"), []byte("keep me"), 0o644)
	if _, err := Create(mine); err == nil || !strings.Contains(err.Error(), "not a lodsim run directory") {
		t.Errorf("non-empty directory: %v", err)
	}
	file := filepath.Join(parent, "file")
	os.WriteFile(file, nil, 0o644)
	if _, err := Create(file); err == nil || !strings.Contains(err.Error(), "not a directory") {
		t.Errorf("file: %v", err)
	}
	// An empty directory and a symlink to a run directory are fine.
	empty := filepath.Join(parent, "empty")
	os.MkdirAll(empty, 0o755)
	if err := Write(empty, handRun()); err != nil {
		t.Errorf("empty directory: %v", err)
	}
	link := filepath.Join(parent, "link")
	os.Symlink("empty", link)
	if err := Write(link, handRun()); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced")
	}
	if _, err := Read(empty); err != nil {
		t.Errorf("run not written through the link: %v", err)
	}
}

func TestCreateFileSpecialFiles(t *testing.T) {
	dir := t.TempDir()
	fill := func(text string) func(w io.Writer) error {
		return func(w io.Writer) error { _, err := w.Write([]byte(text)); return err }
	}
	// A device node is written through, never replaced.
	if err := WriteFile("/dev/null", fill("x")); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatalf("/dev/null is no longer a device: %v", err)
	}
	// A FIFO is written through to its reader.
	fifo := filepath.Join(dir, "pipe")
	if err := syscall.Mkfifo(fifo, 0o644); err != nil {
		t.Skip("no FIFOs here:", err)
	}
	got := make(chan []byte)
	go func() { b, _ := os.ReadFile(fifo); got <- b }()
	if err := WriteFile(fifo, fill("through the pipe")); err != nil {
		t.Fatal(err)
	}
	if b := <-got; string(b) != "through the pipe" {
		t.Errorf("FIFO reader got %q", b)
	}
	if fi, _ := os.Lstat(fifo); fi.Mode()&os.ModeNamedPipe == 0 {
		t.Errorf("the FIFO was replaced")
	}
	// A symlink is followed: the target changes, the link stays.
	target := filepath.Join(dir, "target.txt")
	os.WriteFile(target, []byte("old"), 0o644)
	link := filepath.Join(dir, "link.txt")
	os.Symlink("target.txt", link)
	if err := WriteFile(link, fill("new")); err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(target); string(b) != "new" {
		t.Errorf("target = %q", b)
	}
	if fi, _ := os.Lstat(link); fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the symlink was replaced by a file")
	}
	// A directory is refused by name.
	if err := WriteFile(dir, fill("x")); err == nil || !strings.Contains(err.Error(), "is a directory") {
		t.Errorf("directory: %v", err)
	}
	noTemporaries(t, dir)
}

func TestRemoveTemporaries(t *testing.T) {
	dir := t.TempDir()
	f, err := CreateFile(filepath.Join(dir, "big.parquet"))
	if err != nil {
		t.Fatal(err)
	}
	f.Write([]byte("partial"))
	w, err := Create(filepath.Join(dir, "run"))
	if err != nil {
		t.Fatal(err)
	}
	removed := RemoveTemporaries()
	if len(removed) != 2 {
		t.Fatalf("removed %v, expected the file and the run directory in progress", removed)
	}
	noTemporaries(t, dir)
	f.Abort()
	w.Abort()
	if err := WriteFile(filepath.Join(dir, "done.txt"), func(w io.Writer) error { return nil }); err != nil {
		t.Fatal(err)
	}
	if c := Committed(); len(c) == 0 || c[len(c)-1] != filepath.Join(dir, "done.txt") {
		t.Errorf("committed = %v", c)
	}
}

func TestCompareIndexChecksRunIDs(t *testing.T) {
	out := t.TempDir()
	run := handRun()
	name := FileSafe(run.Name())
	if err := Write(filepath.Join(out, name), run); err != nil {
		t.Fatal(err)
	}
	sw := &analysis.Sweep{Comparisons: []analysis.Comparison{{Label: "tp2", RefLoD: "medium", LoD: "medium"}}, Runs: map[string]string{name: run.ID}}
	if err := WriteIndex(out, sw); err != nil {
		t.Fatal(err)
	}
	back, err := ReadIndex(out)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	if err := ReadRuns(out, back, func(string, *analysis.Run) error { n++; return nil }); err != nil || n != 1 {
		t.Fatalf("%d runs, %v", n, err)
	}
	// The run directory is replaced by another run: the index refuses it.
	other := handRun()
	other.Results = other.Results[:1]
	if err := Write(filepath.Join(out, name), other); err != nil {
		t.Fatal(err)
	}
	if err := ReadRuns(out, back, func(string, *analysis.Run) error { return nil }); err == nil || !strings.Contains(err.Error(), "mixes runs of different comparisons") {
		t.Errorf("mixed comparison: %v", err)
	}
	if err := RemoveIndex(out); err != nil || IsCompare(out) {
		t.Errorf("index not removed: %v", err)
	}
}
