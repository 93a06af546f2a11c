package experiment

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// tinyConfig is the TP1 reference scenario cut to 3 simulated seconds.
const tinyConfig = `name: tiny-tp1
simulation: {lod: medium, seed: 42}
model: {name: Llama-3-8B}
hardware: {gpu: A100-80GB-SXM}
cluster: {replicas: 1, tensor_parallel: 1}
workload:
  synthetic:
    arrival: poisson
    rate: 4
    duration: 3s
    prompt: {kind: fixed, mean: 512}
    output: {kind: fixed, mean: 64}
`

func tiny(t *testing.T) *replay.Config {
	t.Helper()
	c, err := replay.ParseConfig([]byte(tinyConfig))
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func writeFile(t *testing.T, dir, name, text string) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestParseSweep(t *testing.T) {
	sw, err := ParseSweep("tp=1, 2,4")
	if err != nil || sw.Key != "tp" || strings.Join(sw.Values, "|") != "1|2|4" {
		t.Errorf("ParseSweep = %+v %v", sw, err)
	}
	for in, want := range map[string]string{
		"tp":        "expected KEY=V1,V2",
		"gpus=1,2":  `unknown key "gpus"`,
		"=1":        "expected KEY=V1,V2",
		"replicas=": "expected KEY=V1,V2",
		"tp=1,,2":   "empty value",
	} {
		if _, err := ParseSweep(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseSweep(%q) = %v, want %q", in, err, want)
		}
	}
	for in, want := range map[string]string{"high": "need a reference", "high,high": "distinct", "high,fast": `unknown level of detail "fast"`} {
		if _, err := ParseLoDs(in); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("ParseLoDs(%q) = %v, want %q", in, err, want)
		}
	}
	if l, err := ParseLoDs("high,medium,adaptive"); err != nil || len(l) != 3 || l[2] != "adaptive" {
		t.Errorf("ParseLoDs(high,medium,adaptive) = %v, %v", l, err)
	}
}

func TestExpandSweep(t *testing.T) {
	base := tiny(t)
	cfgs, err := Sweep{"tp", []string{"2", "4"}}.Expand([]*replay.Config{base})
	if err != nil {
		t.Fatal(err)
	}
	if len(cfgs) != 2 || cfgs[0].Name != "tiny-tp2" || cfgs[1].Name != "tiny-tp4" || cfgs[1].Cluster.TensorParallel != 4 {
		t.Errorf("expanded = %s/%d, %s/%d", cfgs[0].Name, cfgs[0].Cluster.TensorParallel, cfgs[1].Name, cfgs[1].Cluster.TensorParallel)
	}
	if base.Cluster.TensorParallel != 1 || base.Name != "tiny-tp1" {
		t.Error("expanding changed the base config")
	}
	cfgs, err = Sweep{"rate", []string{"0.5"}}.Expand([]*replay.Config{base})
	if err != nil || cfgs[0].Name != "tiny-tp1-rate0.5" || cfgs[0].Workload.Synthetic.Rate != 0.5 {
		t.Errorf("rate sweep: %v", err)
	}
	for _, bad := range []struct{ key, val, want string }{
		{"tp", "0", `value "0": expected a positive integer`},
		{"pp", "two", `value "two"`},
		{"rate", "-1", "positive number"},
		{"gpu", "TPU-v9", "unknown GPU"},
	} {
		if _, err := (Sweep{bad.key, []string{bad.val}}).Expand([]*replay.Config{base}); err == nil || !strings.Contains(err.Error(), bad.want) {
			t.Errorf("sweep %s=%s: %v, want %q", bad.key, bad.val, err, bad.want)
		}
	}
	// Every invalid point is reported at once: TP 3 and 5 divide no head count.
	_, err = Sweep{"tp", []string{"3", "5"}}.Expand([]*replay.Config{base})
	if err == nil || !strings.Contains(err.Error(), "tiny-tp3") || !strings.Contains(err.Error(), "tiny-tp5") {
		t.Errorf("expected both bad points in one error: %v", err)
	}
}

func TestSweepGPUAndBudget(t *testing.T) {
	base, err := Load("scenario:reference-tp2")
	if err != nil {
		t.Fatal(err)
	}
	out, err := Sweep{"gpu", []string{"h100", "L40S"}}.Expand(base)
	if err != nil {
		t.Fatal(err)
	}
	if len(out) != 2 || out[0].Hardware.GPU != "H100-SXM" || out[1].Hardware.GPU != "L40S" || out[0].Name != "tp2-gpuh100" {
		t.Fatalf("gpu sweep: %s %s %s", out[0].Hardware.GPU, out[1].Hardware.GPU, out[0].Name)
	}
	out, err = Sweep{"max_num_batched_tokens", []string{"512", "8192"}}.Expand(base)
	if err != nil || out[1].Scheduler.MaxNumBatchedTokens != 8192 {
		t.Fatalf("budget sweep: %v", err)
	}
}

func TestOverrides(t *testing.T) {
	dir := t.TempDir()
	tr := writeFile(t, dir, "t.csv", "arrived_at,num_prefill_tokens,num_decode_tokens\n0.2,100,10\n0.1,80,5\n")
	c := tiny(t)
	seed, v, ttft := uint64(9), 0.3, 250*time.Millisecond
	o := Overrides{Trace: tr, TraceOptions: trace.Options{Sort: true}, Seed: &seed, Variability: &v, Topology: "shared", LoD: "high", SLOTTFT: &ttft}
	if err := o.Apply(c); err != nil {
		t.Fatal(err)
	}
	if c.Workload.Trace != tr || !c.Workload.Sort || c.Workload.Synthetic != nil || c.Simulation.Seed != 9 || c.Simulation.Variability != 0.3 ||
		c.Cluster.Links.Topology != "shared" || c.Simulation.LoD != "high" || c.SLO.TTFT != replay.Duration(ttft) {
		t.Fatalf("overrides not applied: %+v", c)
	}
	e, err := New(c)
	if err != nil {
		t.Fatal(err)
	}
	run, err := e.Collect(nil)
	if err != nil || len(run.Results) != 2 || run.Summary.SLO.TTFTNs != 250e6 {
		t.Fatalf("run of the override trace: %v", err)
	}
	bad, c := Overrides{Topology: "mesh", LoD: "fast"}, tiny(t)
	if err := bad.Apply(c); err != nil {
		t.Fatal(err)
	}
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "cluster.links.topology") || !strings.Contains(err.Error(), "simulation.lod") {
		t.Errorf("every bad override in one error: %v", err)
	}
}

// TestNewChecksInputsFirst: every input problem surfaces from New, before
// a caller creates outputs.
func TestNewChecksInputsFirst(t *testing.T) {
	dir := t.TempDir()
	c := tiny(t)
	c.Workload = replay.WorkloadConfig{Trace: filepath.Join(dir, "missing.parquet")}
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "missing.parquet") || !strings.Contains(err.Error(), "tiny-tp1") {
		t.Errorf("missing trace: %v", err)
	}
	// A profile of another GPU than hardware.gpu is refused, not used.
	gz, err := os.ReadFile("../../hwprofile/profiles/h100_sxm.vllm.yaml.gz")
	if err != nil {
		t.Fatal(err)
	}
	zr, err := gzip.NewReader(bytes.NewReader(gz))
	if err != nil {
		t.Fatal(err)
	}
	h100, err := io.ReadAll(zr)
	if err != nil {
		t.Fatal(err)
	}
	c = tiny(t)
	c.Hardware.Profile = writeFile(t, dir, "h100.yaml", string(h100))
	if _, err := New(c); err == nil || !strings.Contains(err.Error(), "calibrated on H100-SXM, but hardware.gpu is A100-80GB-SXM") {
		t.Errorf("mismatched profile: %v", err)
	}
	c.Hardware.GPU = "h100_sxm" // the key spelling names the same GPU
	if _, err := New(c); err != nil {
		t.Errorf("matching profile refused: %v", err)
	}
}

// TestParallelRunsAreDeterministic: experiments run in parallel goroutines
// give the same results as one by one, and the same seed the same results.
func TestParallelRunsAreDeterministic(t *testing.T) {
	var exps []*Experiment
	for _, tp := range []string{"1", "2", "4"} {
		cfgs, err := Sweep{"tp", []string{tp}}.Expand([]*replay.Config{tiny(t)})
		if err != nil {
			t.Fatal(err)
		}
		e, err := New(cfgs[0])
		if err != nil {
			t.Fatal(err)
		}
		exps = append(exps, e)
	}
	par, err := CollectAll(exps, 3)
	if err != nil {
		t.Fatal(err)
	}
	for i, e := range exps {
		seq, err := e.Collect(nil)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(seq.Results, par[i].Results) || !reflect.DeepEqual(seq.Stats, par[i].Stats) || len(seq.Results) == 0 {
			t.Errorf("%s: parallel run differs from the sequential one", e.Name())
		}
	}
}

func TestProvenance(t *testing.T) {
	cfgs, err := Load("scenario:azure-conv-4xh100")
	if err != nil {
		t.Fatal(err)
	}
	e, err := New(cfgs[0])
	if err != nil {
		t.Fatal(err)
	}
	p := e.Provenance()
	if p.Model != "Llama-3.1-8B" || p.GPU != "H100-SXM" || p.Parallelism != "4 replica(s) x TP1 x PP1" || !strings.Contains(p.Workload, "azure-conv-2023") ||
		p.Profile.Name != "profile:embedded:h100_sxm" || len(p.Profile.SHA256) != 64 || !strings.HasPrefix(p.Version, "lodsim ") || !strings.Contains(p.Engine, "vLLM") {
		t.Errorf("provenance %+v", p)
	}
	if d := Describe(cfgs[0]); !strings.Contains(d, "Llama-3.1-8B on 4 x H100-SXM TP1 PP1") {
		t.Errorf("describe: %s", d)
	}
}

// TestComparisonFailureLeavesNoIndex: a comparison that fails half-way
// removes the previous index and writes none, while the runs it finished
// stay committed and readable.
func TestComparisonFailureLeavesNoIndex(t *testing.T) {
	out := t.TempDir()
	good := tiny(t)
	cmp := &Comparison{Configs: []*replay.Config{good}, LoDs: []string{"high", "medium"}, Out: out}
	sw, err := cmp.Run()
	if err != nil {
		t.Fatal(err)
	}
	if len(sw.Runs) != 2 || !rundir.IsCompare(out) {
		t.Fatalf("first comparison: runs %v", sw.Runs)
	}
	// The second configuration's trace goes out of order on its third row,
	// which only the run itself finds.
	bad := tiny(t)
	bad.Name = "bad"
	bad.Workload = replay.WorkloadConfig{Trace: writeFile(t, t.TempDir(), "t.csv",
		"arrived_at,num_prefill_tokens,num_decode_tokens\n0.1,100,10\n0.2,80,5\n0.05,80,5\n")}
	cmp.Configs = []*replay.Config{good, bad}
	if _, err := cmp.Run(); err == nil || !strings.Contains(err.Error(), "t.csv") {
		t.Fatalf("expected the out-of-order trace to fail the run: %v", err)
	}
	if rundir.IsCompare(out) {
		t.Error("a failed comparison left an index behind")
	}
	if _, err := rundir.Read(filepath.Join(out, "tiny-tp1-high")); err != nil {
		t.Errorf("finished run unreadable: %v", err)
	}
	ents, _ := os.ReadDir(out)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") || strings.HasPrefix(e.Name(), "bad") {
			t.Errorf("failed comparison left %s", e.Name())
		}
	}
	// Invalid inputs are found before anything is touched: the index of a
	// good comparison survives a comparison with a bad config.
	if _, err := cmp.Run(); err == nil {
		t.Fatal("bad run passed")
	}
	cmp.Configs = []*replay.Config{good}
	if _, err := cmp.Run(); err != nil {
		t.Fatal(err)
	}
	broken := tiny(t)
	broken.Name, broken.Cluster.TensorParallel = "broken", 3
	cmp.Configs = []*replay.Config{good, broken}
	if _, err := cmp.Run(); err == nil || !strings.Contains(err.Error(), "tensor_parallel") {
		t.Fatalf("invalid config: %v", err)
	}
	if !rundir.IsCompare(out) {
		t.Error("an invalid config removed the previous comparison's index")
	}
}

func TestWriteRunMatchesCollect(t *testing.T) {
	e, err := New(tiny(t))
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "run")
	run, tm, err := e.WriteRun(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	if tm.WallNs <= 0 || tm.SimulateNs <= 0 || tm.RecordNs <= 0 || tm.WallNs < tm.SimulateNs {
		t.Errorf("timing %+v", tm)
	}
	back, err := rundir.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	mem, err := e.Collect(nil)
	if err != nil {
		t.Fatal(err)
	}
	want := analysis.Summarize(mem.Results, mem.Stats, e.SLO())
	want.WallS = back.Summary.WallS
	if back.ID != run.ID || !reflect.DeepEqual(back.Results, mem.Results) || !reflect.DeepEqual(back.Summary, want) {
		t.Error("the streamed run directory differs from the run held in memory")
	}
	if back.Config == nil || back.Config.Simulation.Seed != 42 || back.Provenance.Model != "Llama-3-8B" {
		t.Errorf("config.resolved.yaml or provenance missing: %+v", back.Provenance)
	}
	// results.parquet says what made it, and its config hash is that of
	// config.resolved.yaml beside it.
	f, err := os.Open(filepath.Join(dir, rundir.ResultsFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	fi, _ := f.Stat()
	info, err := analysis.ReadResultsInfo(f, fi.Size())
	if err != nil {
		t.Fatal(err)
	}
	cfg, err := os.ReadFile(filepath.Join(dir, rundir.ConfigFile))
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(cfg)
	md := info.Metadata
	if md["model"] != "Llama-3-8B" || md["seed"] != "42" || md["lod"] != e.LoD() || md["config_sha256"] != hex.EncodeToString(sum[:]) ||
		md["gpu"] == "" || md["engine"] == "" || md["profile"] == "" || !strings.HasPrefix(info.CreatedBy, "lodsim version ") {
		t.Errorf("results.parquet provenance: created_by %q, metadata %v", info.CreatedBy, md)
	}
}

func TestParseDurationAndLengths(t *testing.T) {
	for in, want := range map[string]time.Duration{"60s": time.Minute, "1.5": 1500 * time.Millisecond, "500ms": 500 * time.Millisecond, " 2 ": 2 * time.Second} {
		if d, err := ParseDuration(in); err != nil || d != want {
			t.Errorf("ParseDuration(%q) = %v, %v", in, d, err)
		}
	}
	for _, bad := range []string{"soon", "NaN", "1e300"} {
		if _, err := ParseDuration(bad); err == nil {
			t.Errorf("ParseDuration(%q) accepted", bad)
		}
	}
	if d, err := ParseLengthDist("normal:512,64", true); err != nil || d.Kind != "normal" || d.Mean != 512 || d.Std != 64 {
		t.Errorf("normal: %+v %v", d, err)
	}
	if _, err := ParseLengthDist("fixed:", true); err == nil {
		t.Error("fixed without N accepted")
	}
	neg := int64(-5)
	if _, err := (Transforms{Head: &neg}).Apply(nil); err == nil || !strings.Contains(err.Error(), "--head -5") {
		t.Errorf("negative head: %v", err)
	}
}

func TestVersionString(t *testing.T) {
	v := BuildVersion{Module: "v1.2.0", Revision: "abcdef0123456789", Time: "2026-12-01T00:00:00Z", Modified: true, Go: "go1.26"}
	if got := v.String(); got != "lodsim v1.2.0 (abcdef012345+dirty, 2026-12-01T00:00:00Z)" {
		t.Errorf("String = %q", got)
	}
	if got := v.Long(); !strings.Contains(got, "revision abcdef0123456789\ncommitted 2026-12-01T00:00:00Z\nbuilt with go1.26") {
		t.Errorf("Long = %q", got)
	}
	if got := (BuildVersion{Module: "(devel)"}).String(); got != "lodsim (devel)" {
		t.Errorf("without VCS: %q", got)
	}
}

// TestAllConfigErrorsAtOnce: field errors, an unknown GPU and a missing
// trace file come back together, so one round fixes them all.
func TestAllConfigErrorsAtOnce(t *testing.T) {
	dir := t.TempDir()
	p := writeFile(t, dir, "c.yaml", "simulation: {lod: fast}\nmodel: {name: Llama-3-8B}\nhardware: {gpu: TPU-v9}\n"+
		"cluster: {tensor_parallel: 5}\nscheduler: {batching: greedy}\nworkload: {trace: nope.csv}\n")
	cfgs, err := Load(p)
	if err == nil {
		_, err = New(cfgs[0])
	}
	for _, want := range []string{"simulation.lod", "cluster.tensor_parallel", "scheduler.batching", "hardware.gpu", "nope.csv"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("Load lacks %q: %v", want, err)
		}
	}
	c := tiny(t)
	c.Simulation.LoD, c.Hardware.GPU = "fast", "TPU-v9"
	c.Workload = replay.WorkloadConfig{Trace: filepath.Join(dir, "nope.csv")}
	_, err = New(c)
	for _, want := range []string{"simulation.lod", "hardware.gpu", "TPU-v9", "nope.csv"} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("New lacks %q: %v", want, err)
		}
	}
}

// TestComparisonRepeat: with Repeat each comparison carries the wall time
// of every repetition of both levels, the committed runs' first, and the
// text and CSV tables report the median speed-up with its range; a
// repeat out of range is refused before anything is written.
func TestComparisonRepeat(t *testing.T) {
	out := t.TempDir()
	done := 0
	cmp := &Comparison{Configs: []*replay.Config{tiny(t)}, LoDs: []string{"high", "medium"}, Out: out, Repeat: 3,
		Done: func(*analysis.Run, string) { done++ }}
	sw, err := cmp.Run()
	if err != nil {
		t.Fatal(err)
	}
	if done != 6 {
		t.Errorf("Done called %d times, want 2 committed runs + 4 repetitions", done)
	}
	c := sw.Comparisons[0]
	if c.Walls == nil || len(c.Walls.RefNs) != 3 || len(c.Walls.Ns) != 3 {
		t.Fatalf("walls %+v, want 3 repetitions of each level", c.Walls)
	}
	if c.Walls.RefNs[0] != c.RefWallNs || c.Walls.Ns[0] != c.WallNs || c.Walls.LoD != "medium" || c.Walls.RefLoD != "high" {
		t.Errorf("walls %+v do not start with the committed runs (%d, %d)", c.Walls, c.RefWallNs, c.WallNs)
	}
	if su := c.SpeedUpSpread(); su.N != 3 || su.Min > su.Median || su.Median > su.Max {
		t.Errorf("speed-up spread %+v", su)
	}
	var txt, csv bytes.Buffer
	if err := sw.WriteText(&txt); err != nil {
		t.Fatal(err)
	}
	if err := sw.WriteCSV(&csv); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(txt.String(), "repeated runs") || !strings.Contains(csv.String(), "speed_up_median") {
		t.Errorf("tables do not report the repetitions:\n%s", txt.String())
	}
	for _, r := range []int{-1, MaxRepeat + 1} {
		cmp := &Comparison{Configs: []*replay.Config{tiny(t)}, LoDs: []string{"high", "medium"}, Out: filepath.Join(t.TempDir(), "x"), Repeat: r}
		if _, err := cmp.Run(); err == nil || !strings.Contains(err.Error(), "repeat") {
			t.Errorf("repeat %d: %v", r, err)
		}
		if _, err := os.Stat(cmp.Out); !os.IsNotExist(err) {
			t.Errorf("repeat %d created %s", r, cmp.Out)
		}
	}
}
