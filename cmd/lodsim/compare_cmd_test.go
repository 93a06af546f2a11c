package main

import (
	"bytes"
	"encoding/csv"
	"encoding/json"
	"image/png"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/plots/report"
)

// tinyConfig is the TP1 reference scenario cut to 3 simulated seconds, so an
// end-to-end compare takes well under a second.
const tinyConfig = `name: tiny-tp1
simulation:
  lod: medium
  seed: 42
model:
  name: Llama-3-8B
hardware:
  gpu: A100-80GB-SXM
cluster:
  replicas: 1
  tensor_parallel: 1
  links:
    topology: nvlink
scheduler:
  max_num_seqs: 256
  max_num_batched_tokens: 2048
  block_size: 16
router:
  policy: round_robin
workload:
  synthetic:
    arrival: poisson
    rate: 4
    duration: 3s
    prompt: {kind: fixed, mean: 512}
    output: {kind: fixed, mean: 64}
`

func writeTinyConfig(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "tiny.yaml")
	if err := os.WriteFile(p, []byte(tinyConfig), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkPNG(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Error(err)
		return
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Errorf("%s: %v", path, err)
		return
	}
	if b := img.Bounds(); b.Dx() < 400 || b.Dy() < 300 {
		t.Errorf("%s: %dx%d, too small to read", path, b.Dx(), b.Dy())
	}
}

// TestCompareEndToEnd runs compare over a two-point TP sweep, then redraws
// with plot and builds the report from what it saved.
func TestCompareEndToEnd(t *testing.T) {
	cfg := writeTinyConfig(t)
	out := filepath.Join(t.TempDir(), "cmp")
	stdout, err := runCLI(t, "compare", "-c", cfg, "--sweep", "tp=1,2", "--repeat", "1", "--out", out, "--slo-ttft", "500ms", "--slo-tpot", "50ms")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"tiny-tp1", "tiny-tp2", "high/medium", "reduction", "speed-up", "TTFT p99", "TTFT p50 ms", "TPOT p99 ms", "output tok/s", "absolute latencies"} {
		if !strings.Contains(stdout, want) {
			t.Errorf("table lacks %q:\n%s", want, stdout)
		}
	}
	txt, _ := os.ReadFile(filepath.Join(out, rundir.CompareText))
	if !strings.Contains(stdout, string(txt)) || len(txt) == 0 {
		t.Error("compare.txt is not the printed table")
	}

	var sw analysis.Sweep
	b, err := os.ReadFile(filepath.Join(out, rundir.CompareJSON))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &sw); err != nil {
		t.Fatal(err)
	}
	if len(sw.Comparisons) != 2 || sw.Comparisons[0].Label != "tiny-tp1" || sw.Comparisons[1].Label != "tiny-tp2" || sw.SLO.TTFTNs != 500e6 {
		t.Fatalf("compare.json: %d comparisons, slo %+v", len(sw.Comparisons), sw.SLO)
	}
	for _, c := range sw.Comparisons {
		if c.RefLoD != "high" || c.LoD != "medium" || c.RefEvents <= c.Events || c.Reduction <= 1 || c.Completed == 0 || c.Paired.Matched == 0 {
			t.Errorf("%s: %+v", c.Label, c)
		}
	}
	f, _ := os.Open(filepath.Join(out, rundir.CompareCSV))
	rows, err := csv.NewReader(f).ReadAll()
	f.Close()
	if err != nil || len(rows) != 3 || rows[0][0] != "label" {
		t.Errorf("compare.csv: %d rows, %v", len(rows), err)
	}

	// Without variability high and medium agree exactly: no sweep figure.
	if fileExists(filepath.Join(out, report.Fig3Prefix+"sweep.png")) {
		t.Error("accuracy-sweep figure drawn though every relative error is 0")
	}
	figs := []string{report.Fig1File, report.Fig2File, report.Fig3Prefix + "tiny-tp1.png", report.Fig3Prefix + "tiny-tp2.png"}
	for _, name := range []string{"tiny-tp1-high", "tiny-tp1-medium", "tiny-tp2-high", "tiny-tp2-medium"} {
		run, err := rundir.Read(filepath.Join(out, name))
		if err != nil {
			t.Fatal(err)
		}
		if run.Name() != name || len(run.Results) == 0 || run.Summary.SLO.TPOTNs != 50e6 {
			t.Errorf("%s: %s with %d results", name, run.Name(), len(run.Results))
		}
		figs = append(figs, filepath.Join(name, report.Fig4File), filepath.Join(name, report.Fig5File))
	}
	for _, f := range figs {
		checkPNG(t, filepath.Join(out, f))
	}

	// plot redraws the same figures from the saved files, byte for byte.
	redraw := filepath.Join(t.TempDir(), "redraw")
	listed, err := runCLI(t, "plot", "--in", out, "--out", redraw)
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(listed, "\n"); n != len(figs) {
		t.Errorf("plot wrote %d files, want %d:\n%s", n, len(figs), listed)
	}
	for _, f := range figs {
		a, _ := os.ReadFile(filepath.Join(out, f))
		b, err := os.ReadFile(filepath.Join(redraw, f))
		if err != nil || !bytes.Equal(a, b) {
			t.Errorf("%s: redrawn figure differs from the original (%v)", f, err)
		}
	}

	// report embeds every figure and references nothing outside the page.
	if _, err := runCLI(t, "report", "--in", out); err != nil {
		t.Fatal(err)
	}
	page, err := os.ReadFile(filepath.Join(out, report.File))
	if err != nil {
		t.Fatal(err)
	}
	checkSelfContained(t, string(page), len(figs))
	for _, want := range []string{"tiny-tp2", "Per-request differences", "TTFT&lt;=500ms", "Run tiny-tp1-high", "output tokens/s"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

func checkSelfContained(t *testing.T, page string, images int) {
	t.Helper()
	if n := strings.Count(page, `<img src="data:image/png;base64,`); n != images {
		t.Errorf("report embeds %d images, want %d", n, images)
	}
	for _, ext := range []string{"http://", "https://", "<script", "<link", "url("} {
		if strings.Contains(page, ext) {
			t.Errorf("report refers to %q: not self-contained", ext)
		}
	}
	if !strings.HasPrefix(page, "<!DOCTYPE html>") || !strings.Contains(page, "</html>") {
		t.Error("report is not a whole HTML page")
	}
}

func TestPlotAndReportRunDir(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "small-high")
	runApp(t, "replay", "-c", writeSmallConfig(t), "--out", dir, "--slo-ttft", "50ms")
	if _, err := runCLI(t, "plot", "--in", dir); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, report.Fig4File))
	checkPNG(t, filepath.Join(dir, report.Fig5File))
	if _, err := runCLI(t, "report", "--in", dir); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, report.File))
	checkSelfContained(t, string(page), 2)
	if !strings.Contains(string(page), "lodsim run small-high") || !strings.Contains(string(page), "TTFT&lt;=50ms") {
		t.Error("run report lacks its title or SLO")
	}
}

func TestPlotAndReportAccuracy(t *testing.T) {
	dir := t.TempDir()
	in := rundir.Accuracy{Title: "GEMM on H100", Unit: "us", Pairs: []analysis.Pair{
		{Label: "m=1", Group: "gemm", Measured: 10, Predicted: 11},
		{Label: "m=64", Group: "gemm", Measured: 100, Predicted: 90},
		{Label: "ctx", Group: "attention", Measured: 1000, Predicted: 1000},
	}}
	b, _ := json.Marshal(in)
	if err := os.WriteFile(filepath.Join(dir, rundir.AccuracyJSON), b, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := runCLI(t, "plot", "--in", dir); err != nil {
		t.Fatal(err)
	}
	checkPNG(t, filepath.Join(dir, report.Fig6File))
	if _, err := runCLI(t, "report", "--in", dir); err != nil {
		t.Fatal(err)
	}
	page, _ := os.ReadFile(filepath.Join(dir, report.File))
	checkSelfContained(t, string(page), 1)
	for _, want := range []string{"GEMM on H100", "<td>gemm</td><td>2</td>", "10.00%", "overall"} {
		if !strings.Contains(string(page), want) {
			t.Errorf("accuracy report lacks %q", want)
		}
	}
}

func TestPlotUnknownDir(t *testing.T) {
	dir := t.TempDir()
	for _, cmd := range []string{"plot", "report"} {
		_, err := runCLI(t, cmd, "--in", dir)
		if err == nil || !strings.Contains(err.Error(), "found no compare.json, run.json, accuracy.json or layouts.json") || !strings.Contains(err.Error(), dir) {
			t.Errorf("%s of an empty dir: %v", cmd, err)
		}
	}
}

// TestCompareSweepWithoutConfig: the README's compare --sweep tp=1,2,4,8
// sweeps the first reference scenario.
func TestCompareSweepWithoutConfig(t *testing.T) {
	if testing.Short() {
		t.Skip("runs an embedded reference scenario twice")
	}
	out := t.TempDir()
	stdout, err := runCLI(t, "compare", "--sweep", "tp=1,2", "--repeat", "1", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	sw, err := rundir.ReadIndex(out)
	if err != nil || len(sw.Comparisons) != 2 || sw.Comparisons[1].Label != "tp2" || len(sw.Runs) != 4 {
		t.Fatalf("sweep index: %v\n%s", err, stdout)
	}
}

// TestCompareDefault is the acceptance check of the issue: with no config,
// compare runs the embedded TP1, TP2 and TP4 references and writes figures
// 1-3 and the table.
func TestCompareDefault(t *testing.T) {
	if testing.Short() {
		t.Skip("runs the embedded reference scenarios")
	}
	out := t.TempDir()
	stdout, err := runCLI(t, "compare", "--out", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, label := range []string{"tp1", "tp2", "tp4"} {
		if !strings.Contains(stdout, label) {
			t.Errorf("table lacks %s", label)
		}
		checkPNG(t, filepath.Join(out, report.Fig3Prefix+label+".png"))
	}
	checkPNG(t, filepath.Join(out, report.Fig1File))
	checkPNG(t, filepath.Join(out, report.Fig2File))
	// Wall times are the median of three runs by default (issue 14).
	sw, err := rundir.ReadIndex(out)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range sw.Comparisons {
		if c.Walls == nil || len(c.Walls.Ns) != 3 || len(c.Walls.RefNs) != 3 {
			t.Errorf("%s: wall times %+v, want 3 repetitions", c.Label, c.Walls)
		}
	}
	if !strings.Contains(stdout, "speed-up median") {
		t.Error("the table does not give the median speed-up")
	}
	for _, f := range []string{rundir.CompareText, rundir.CompareCSV, rundir.CompareJSON} {
		if fi, err := os.Stat(filepath.Join(out, f)); err != nil || fi.Size() == 0 {
			t.Errorf("%s missing or empty", f)
		}
	}
}

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
