package main

import (
	"bytes"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/rundir"
)

const smallConfig = `
name: small
simulation: {lod: high, seed: 3}
model: {name: Llama-3-8B}
hardware: {gpu: H100-SXM}
cluster: {replicas: 2, tensor_parallel: 2}
router: {policy: least_kv}
workload: {trace: small.csv}
`

// smallTrace is in the Vidur/Splitwise layout (seconds, prefill, decode).
const smallTrace = `arrived_at,num_prefill_tokens,num_decode_tokens
0.0,512,64
0.05,300,20
0.1,1200,100
0.1,64,8
0.4,2048,32
`

func writeSmallConfig(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "small.csv"), []byte(smallTrace), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg := filepath.Join(dir, "small.yaml")
	if err := os.WriteFile(cfg, []byte(smallConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg
}

func TestReplayCommand(t *testing.T) {
	cfg := writeSmallConfig(t)
	var files [2]map[string][]byte
	for i := range files {
		out := filepath.Join(t.TempDir(), "run")
		text, err := tryApp(t, "replay", "-c", cfg, "--out", out)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(text, "small at high LoD") || !strings.Contains(text, "TTFT") || !strings.Contains(text, "\non H100-SXM, costs: profile:") {
			t.Errorf("unexpected output:\n%s", text)
		}
		// The console starts with what is simulated, and the wall time covers
		// the whole command with its split.
		if !strings.HasPrefix(text, "lodsim ") || !strings.Contains(text, "\nsmall: Llama-3-8B on 2 x H100-SXM TP2 PP1, vLLM V1-style (mixed batching), trace ") ||
			!strings.Contains(text, "high LoD\n") || !regexp.MustCompile(`wall \S+ in all: read \S+, simulate \S+, write \S+\n`).MatchString(text) {
			t.Errorf("no header or wall-time split:\n%s", text)
		}
		if resolved, err := os.ReadFile(filepath.Join(out, rundir.ConfigFile)); err != nil || !strings.Contains(string(resolved), "seed: 3") || !strings.Contains(string(resolved), "max_num_seqs: 256") {
			t.Errorf("config.resolved.yaml: %v\n%s", err, resolved)
		}
		run, err := rundir.Read(out)
		if err != nil {
			t.Fatal(err)
		}
		if len(run.Results) != 5 || run.Summary.Completed != 5 || run.Stats.TotalEvents == 0 {
			t.Fatalf("%d results, %d completed, %d events", len(run.Results), run.Summary.Completed, run.Stats.TotalEvents)
		}
		// The streamed summary equals one computed from the saved results.
		got := analysis.Summarize(run.Results, run.Stats, analysis.SLO{})
		got.WallS = run.Summary.WallS
		if run.Summary.WallS <= 0 || run.Summary.TotalEvents != run.Stats.TotalEvents || len(run.Summary.Events) == 0 {
			t.Errorf("summary lacks the run's cost: wall %v, events %d", run.Summary.WallS, run.Summary.TotalEvents)
		}
		if !reflect.DeepEqual(got, run.Summary) {
			t.Errorf("streamed summary differs from the one recomputed from results.parquet:\n%+v\n%+v", run.Summary, got)
		}
		files[i] = map[string][]byte{}
		for _, f := range []string{rundir.ResultsFile, rundir.StatsFile, rundir.SummaryJSON} {
			b, err := os.ReadFile(filepath.Join(out, f))
			if err != nil {
				t.Fatal(err)
			}
			if f == rundir.SummaryJSON {
				// Wall time is the one measured, not simulated, figure.
				b = regexp.MustCompile(`"wall_s": [0-9.e+-]+`).ReplaceAll(b, []byte(`"wall_s": 0`))
			}
			files[i][f] = b
		}
	}
	for f, b := range files[0] {
		if !bytes.Equal(b, files[1][f]) {
			t.Errorf("%s differs between two runs with the same seed", f)
		}
	}
}

func TestReplayBadConfigWritesNothing(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bad.yaml")
	os.WriteFile(cfg, []byte("simulation: {lod: fast}\nmodel: {name: Llama-3-8B}\nhardware: {gpu: H100-SXM}\ncluster: {tensor_parallel: 5}\nworkload: {embedded: azure-code-2023}\n"), 0o644)
	out := filepath.Join(dir, "out")
	_, err := tryApp(t, "replay", "-c", cfg, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "simulation.lod") || !strings.Contains(err.Error(), "cluster.tensor_parallel") {
		t.Fatalf("error should name both bad fields: %v", err)
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed run left %s behind", out)
	}
}

func TestReplayMissingTraceNamesFile(t *testing.T) {
	dir := t.TempDir()
	cfg := filepath.Join(dir, "c.yaml")
	os.WriteFile(cfg, []byte("model: {name: Llama-3-8B}\nhardware: {gpu: H100-SXM}\nworkload: {trace: nope.parquet}\n"), 0o644)
	out := filepath.Join(dir, "out")
	_, err := tryApp(t, "replay", "-c", cfg, "--out", out)
	if err == nil || !strings.Contains(err.Error(), "nope.parquet") {
		t.Fatalf("error should name the trace file: %v", err)
	}
	if ents, _ := os.ReadDir(out); len(ents) != 0 {
		t.Errorf("a failed run left files behind: %v", ents)
	}
}

// TestReplaySLOFromConfig: goodput uses the config's slo section, and a
// flag overrides one bound of it.
func TestReplaySLOFromConfig(t *testing.T) {
	cfg := writeSmallConfig(t)
	data, _ := os.ReadFile(cfg)
	os.WriteFile(cfg, append(data, []byte("slo: {ttft: 1ns, tpot: 1s}\n")...), 0o644)
	out := filepath.Join(t.TempDir(), "run")
	if _, err := tryApp(t, "replay", "-c", cfg, "--out", out); err != nil {
		t.Fatal(err)
	}
	run, err := rundir.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Summary.SLO.TTFTNs != 1 || run.Summary.SLO.TPOTNs != 1e9 || run.Summary.Goodput.Met != 0 {
		t.Fatalf("SLO %+v, goodput %+v: a 1 ns TTFT bound should fail every request", run.Summary.SLO, run.Summary.Goodput)
	}
	if _, err := tryApp(t, "replay", "-c", cfg, "--out", out, "--slo-ttft", "1h"); err != nil {
		t.Fatal(err)
	}
	run, _ = rundir.Read(out)
	if run.Summary.SLO.TTFTNs != 3600e9 || run.Summary.SLO.TPOTNs != 1e9 || run.Summary.Goodput.Met != 5 {
		t.Fatalf("SLO %+v, goodput %+v: with --slo-ttft 1h all five should meet it", run.Summary.SLO, run.Summary.Goodput)
	}
}

// TestReplayEmbeddedTraceFlag: --trace takes an embedded trace by name.
func TestReplayEmbeddedTraceFlag(t *testing.T) {
	out := filepath.Join(t.TempDir(), "run")
	text, err := tryApp(t, "replay", "-c", "scenario:azure-conv-4xh100", "--trace", "embedded:azure-code-2023", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	run, err := rundir.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Summary.Requests != 8819 {
		t.Errorf("%d requests, want the code trace's 8819\n%s", run.Summary.Requests, text)
	}
}

// TestReplayTraceReaderFlags: --trace takes the trace commands' reader
// flags: a failed row (no output) is dropped with --drop-failed, and
// out-of-order arrivals need --sort.
func TestReplayTraceReaderFlags(t *testing.T) {
	dir := t.TempDir()
	tr := filepath.Join(dir, "t.csv")
	os.WriteFile(tr, []byte("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,100,10\n0.2,50,0\n0.1,80,5\n"), 0o644)
	out := filepath.Join(dir, "run")
	if _, err := tryApp(t, "replay", "-c", "scenario:reference-tp1", "--trace", tr, "--out", out); err == nil || !strings.Contains(err.Error(), "t.csv") {
		t.Fatalf("out-of-order trace accepted or error without the file: %v", err)
	}
	if _, err := tryApp(t, "replay", "-c", "scenario:reference-tp1", "--trace", tr, "--sort", "--drop-failed", "--out", out); err != nil {
		t.Fatal(err)
	}
	run, err := rundir.Read(out)
	if err != nil {
		t.Fatal(err)
	}
	if run.Summary.Requests != 2 || run.Summary.Completed != 2 {
		t.Errorf("%d requests, %d completed; want the 2 rows with output", run.Summary.Requests, run.Summary.Completed)
	}
}
