package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
)

// handRun is a small run with every status, a preemption and a time
// series, built without simulating.
func handRun() *analysis.Run {
	const ms = int64(1e6)
	rs := []replay.RequestResult{
		{ID: 1, Arrival: 0, FirstScheduled: replay.Time(1 * ms), FirstToken: replay.Time(10 * ms), Completion: replay.Time(110 * ms), PromptTokens: 100, OutputTokens: 11, Status: replay.Completed},
		{ID: 2, Arrival: replay.Time(5 * ms), FirstScheduled: replay.Time(5 * ms), FirstToken: replay.Time(25 * ms), Completion: replay.Time(65 * ms), PromptTokens: 200, OutputTokens: 5, Replica: 1, Status: replay.Completed},
		{ID: 4, Arrival: replay.Time(20 * ms), FirstScheduled: replay.Time(30 * ms), FirstToken: replay.Time(60 * ms), Completion: -1, PromptTokens: 400, OutputTokens: 3, Preemptions: 2, Status: replay.Unfinished},
		{ID: 5, Arrival: replay.Time(30 * ms), FirstScheduled: -1, FirstToken: -1, Completion: -1, PromptTokens: 500, Status: replay.Rejected, Reason: replay.TooLongForModel},
	}
	st := &replay.Stats{LoD: "medium", Seed: 7, SimEnd: replay.Time(200 * ms), TotalEvents: 12,
		Events: []replay.EventCount{{Kind: "arrival", Count: 4}, {Kind: "iteration", Count: 8}}, Completed: 2, Unfinished: 1, Rejected: 1, Arrived: 4}
	st.ITL.Add(10*ms, 14)
	for i := range 3 {
		st.Samples = append(st.Samples, replay.Sample{T: replay.Time(int64(i+1) * 100 * ms), Running: 2, Waiting: int32(i), BatchSize: 1.5, KVUtil: 0.25, OutputTokens: 5, Completed: 1})
	}
	run := &analysis.Run{Label: "tp2", LoD: "medium", WallNs: 1234567, PeakRSSBytes: 55 << 20, Stats: st, Results: rs}
	run.Summary = analysis.Summarize(rs, st, analysis.SLO{TTFTNs: 50e6})
	return run
}

func TestRunDirRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "tp2-medium")
	run := handRun()
	if err := writeRunDir(dir, run); err != nil {
		t.Fatal(err)
	}
	got, err := readRunDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Info() != run.Info() {
		t.Errorf("info = %+v, want %+v", got.Info(), run.Info())
	}
	if !reflect.DeepEqual(got.Results, run.Results) {
		t.Errorf("results = %+v\nwant %+v", got.Results, run.Results)
	}
	if !reflect.DeepEqual(got.Stats, run.Stats) {
		t.Errorf("stats = %+v\nwant %+v", got.Stats, run.Stats)
	}
	if !reflect.DeepEqual(got.Summary, run.Summary) {
		t.Errorf("summary = %+v\nwant %+v", got.Summary, run.Summary)
	}
	txt, err := os.ReadFile(filepath.Join(dir, summaryText))
	if err != nil || !strings.Contains(string(txt), "tp2 at medium LoD") || !strings.Contains(string(txt), "TTFT<=50ms") {
		t.Errorf("summary.txt = %q, %v", txt, err)
	}
	// No temporary files are left behind.
	entries, _ := os.ReadDir(dir)
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s behind", e.Name())
		}
	}
}

func TestRunDirDeterministic(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	if err := writeRunDir(a, handRun()); err != nil {
		t.Fatal(err)
	}
	if err := writeRunDir(b, handRun()); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{runFile, resultsFile, statsFile, summaryJSON, summaryText} {
		x, _ := os.ReadFile(filepath.Join(a, name))
		y, _ := os.ReadFile(filepath.Join(b, name))
		if len(x) == 0 || !bytes.Equal(x, y) {
			t.Errorf("%s differs between identical runs (or is empty)", name)
		}
	}
}

func TestReadRunDirErrors(t *testing.T) {
	good := filepath.Join(t.TempDir(), "run")
	if err := writeRunDir(good, handRun()); err != nil {
		t.Fatal(err)
	}
	copyDir := func(t *testing.T) string {
		d := filepath.Join(t.TempDir(), "run")
		os.MkdirAll(d, 0o755)
		entries, _ := os.ReadDir(good)
		for _, e := range entries {
			b, _ := os.ReadFile(filepath.Join(good, e.Name()))
			os.WriteFile(filepath.Join(d, e.Name()), b, 0o644)
		}
		return d
	}
	for _, c := range []struct {
		name  string
		spoil func(dir string)
		want  []string
	}{
		{"missing run.json", func(d string) { os.Remove(filepath.Join(d, runFile)) }, []string{"run.json", "no such file"}},
		{"bad summary", func(d string) { os.WriteFile(filepath.Join(d, summaryJSON), []byte(`{"requests": "many"}`), 0o644) },
			[]string{"summary.json", "requests", "string"}},
		{"truncated stats", func(d string) { os.WriteFile(filepath.Join(d, statsFile), []byte(`{"lod": "high", `), 0o644) },
			[]string{"stats.json"}},
		{"unknown field", func(d string) { os.WriteFile(filepath.Join(d, runFile), []byte(`{"label": "x", "colour": 1}`), 0o644) },
			[]string{"run.json", "colour"}},
		{"bad results", func(d string) { os.WriteFile(filepath.Join(d, resultsFile), []byte("id,arrival\n1,2\n"), 0o644) },
			[]string{"results.parquet", "not a lodsim results file"}},
		{"missing results", func(d string) { os.Remove(filepath.Join(d, resultsFile)) }, []string{"results.parquet"}},
	} {
		d := copyDir(t)
		c.spoil(d)
		_, err := readRunDir(d)
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
	// stats.json is optional.
	d := copyDir(t)
	os.Remove(filepath.Join(d, statsFile))
	if run, err := readRunDir(d); err != nil || run.Stats != nil || len(run.Results) != 4 {
		t.Errorf("without stats: %v", err)
	}
}
