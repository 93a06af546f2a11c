package report

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/replay"
)

// TestRunReport builds the page of a real run directory: it names what was
// simulated and embeds the run's figures; Plot redraws the same figures.
func TestRunReport(t *testing.T) {
	cfgs, err := experiment.Load("scenario:reference-tp1")
	if err != nil {
		t.Fatal(err)
	}
	dir, run := writeRun(t, cfgs[0], "tp1-medium")
	page := renderDir(t, dir)
	for _, want := range []string{"Run " + run.ID + ": Llama-3-8B on A100-80GB-SXM, 1 replica(s) x TP1 x PP1", "seed 42", "sha256 ", "lodsim "} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page, "data:image/png;base64,"); n != 2 {
		t.Errorf("%d figures embedded, want 2", n)
	}
	written, err := Plot(dir, "")
	if err != nil || len(written) != 2 {
		t.Fatalf("plot wrote %v: %v", written, err)
	}
	if _, err := os.Stat(filepath.Join(dir, Fig4File)); err != nil {
		t.Error(err)
	}
	if _, err := Build(t.TempDir()); err == nil || !strings.Contains(err.Error(), "found no compare.json") {
		t.Errorf("empty directory: %v", err)
	}
	// A run with nothing to draw has no figures rather than an error.
	if figs, err := RunFigures(&analysis.Run{Label: "empty", LoD: "medium"}); err != nil || len(figs) != 0 {
		t.Errorf("empty run: %d figures, %v", len(figs), err)
	}
}

// TestDisaggRunReport runs a small disaggregated cluster end to end
// (config, run directory, summary, page): the page names both pools'
// layout and shows each pool and the KV transfers; the decode pool runs on
// a profile of its own (roofline), which run.json and the page's header
// name per pool.
func TestDisaggRunReport(t *testing.T) {
	c, err := replay.ParseConfig([]byte(`
name: disagg-small
simulation: {seed: 3}
model: {name: Llama-3.1-8B}
hardware: {gpu: H100-SXM}
cluster:
  disaggregated:
    prefill: {workers: 1}
    decode: {workers: 2, router: least_kv, profile: roofline}
workload:
  synthetic: {arrival: poisson, rate: 20, count: 40, prompt: {kind: fixed, mean: 512}, output: {kind: fixed, mean: 32}}
`))
	if err != nil {
		t.Fatal(err)
	}
	dir, _ := writeRun(t, c, "disagg")
	page := renderDir(t, dir)
	// The run directory's results carry the pools and the transfers.
	run, err := rundir.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	decoders := map[int32]bool{}
	for _, r := range run.Results {
		if !r.Disaggregated || r.PrefillWorker != 0 || r.TransferNs() <= 0 || r.FirstToken != r.TransferEnd {
			t.Fatalf("result read back as %+v", r)
		}
		decoders[r.DecodeWorker] = true
	}
	if len(run.Results) != 40 || !decoders[0] || !decoders[1] {
		t.Errorf("%d results, decode workers %v", len(run.Results), decoders)
	}
	if p := run.Provenance.Pools; len(p) != 2 || p[1] != (analysis.PoolProvenance{Pool: "decode", GPU: "H100-SXM", Profile: analysis.ProfileID{Name: "roofline", GPU: "H100-SXM"}}) || p[0].Profile != run.Provenance.Profile {
		t.Errorf("run.json pools %+v, expected prefill on the run's profile, decode on H100-SXM's roofline", p)
	}
	costs := "costs: prefill: " + run.Provenance.Profile.Name + " on H100-SXM (sha256 " + run.Provenance.Profile.SHA256 + "); decode: roofline on H100-SXM;"
	for _, want := range []string{costs, "1 prefill x TP1 x PP1 &#43; 2 decode x TP1 x PP1", "<td>prefill</td><td>1</td>", "<td>decode</td><td>2</td>", "KV transfers (nvlink)</th><th>count</th>", "<td></td><td>40</td>"} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if strings.Contains(page, "<th>EP</th>") {
		t.Error("pools without expert parallelism show EP columns")
	}
}

// TestDisaggReportExpertParallel: a pool with expert parallelism adds EP,
// attention DP and MoE TP columns to the pool table, "-" for a pool
// without.
func TestDisaggReportExpertParallel(t *testing.T) {
	s := analysis.Summary{Disaggregated: &analysis.DisaggSummary{
		Prefill: replay.PoolStats{Workers: 1, TP: 8, PP: 1, KVBlocks: 100, Steps: 10},
		Decode:  replay.PoolStats{Workers: 8, TP: 1, PP: 1, KVBlocks: 300, Steps: 90, EP: 8, AttentionDP: 4, MoETP: 2},
	}}
	rep := &Report{Title: "ep", Runs: []reportRun{{Name: "ep", Summary: &s}}}
	var buf bytes.Buffer
	if err := rep.Write(&buf); err != nil {
		t.Fatal(err)
	}
	page := buf.String()
	for _, want := range []string{
		"<th>PP</th><th>EP</th><th>attention DP</th><th>MoE TP</th><th>KV blocks per worker</th>",
		"<td>prefill</td><td>1</td><td>8</td><td>1</td><td>-</td><td>-</td><td>-</td><td>100</td>",
		"<td>decode</td><td>8</td><td>1</td><td>1</td><td>8</td><td>4</td><td>2</td><td>300</td>",
	} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// TestDisaggReportPoolGPU: a pool on a GPU of its own adds a GPU column
// to the pool table; pools on the cluster's GPU keep the plain table.
func TestDisaggReportPoolGPU(t *testing.T) {
	s := analysis.Summary{Disaggregated: &analysis.DisaggSummary{
		Prefill: replay.PoolStats{Workers: 1, TP: 8, PP: 1, KVBlocks: 100, Steps: 10},
		Decode:  replay.PoolStats{GPU: "B200-SXM", Workers: 8, TP: 1, PP: 1, KVBlocks: 300, Steps: 90},
	}}
	page := func() string {
		rep := &Report{Title: "gpu", Runs: []reportRun{{Name: "gpu", Summary: &s}}}
		var b bytes.Buffer
		if err := rep.Write(&b); err != nil {
			t.Fatal(err)
		}
		return b.String()
	}
	p := page()
	for _, want := range []string{"<th>pool</th><th>GPU</th><th>workers</th>",
		"<td>prefill</td><td>hardware.gpu</td><td>1</td>", "<td>decode</td><td>B200-SXM</td><td>8</td>"} {
		if !strings.Contains(p, want) {
			t.Errorf("report lacks %q", want)
		}
	}
	s.Disaggregated.Decode.GPU = ""
	if strings.Contains(page(), "<th>GPU</th>") {
		t.Error("pools on the cluster's GPU show a GPU column")
	}
}

// TestAdaptiveRunReport: an adaptive run's page says which parts ran at
// high and what each step class learned, as its text summary does.
func TestAdaptiveRunReport(t *testing.T) {
	cfgs, err := experiment.Load("scenario:reference-tp2")
	if err != nil {
		t.Fatal(err)
	}
	v := 0.05
	if err := (experiment.Overrides{LoD: "adaptive", Variability: &v}).Apply(cfgs[0]); err != nil {
		t.Fatal(err)
	}
	dir, run := writeRun(t, cfgs[0], "tp2-adaptive")
	a := run.Summary.Adaptive
	if a == nil || !a.Refined || a.HighSteps == 0 || len(a.Classes) == 0 {
		t.Fatalf("adaptive report %+v: want refined steps and classes", a)
	}
	page := renderDir(t, dir)
	for _, want := range []string{"adaptive LoD (error budget 0.01)", "refined where high can differ", "learned corrections",
		fmt.Sprintf("<td>%d</td><td>%d</td>", a.HighSteps, a.MediumSteps)} {
		if !strings.Contains(page, want) {
			t.Errorf("report lacks %q", want)
		}
	}
}

// writeRun simulates c into a run directory named name under a temporary
// directory and returns the directory and the run.
func writeRun(t *testing.T, c *replay.Config, name string) (string, *analysis.Run) {
	t.Helper()
	e, err := experiment.New(c)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), name)
	run, _, err := e.WriteRun(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	return dir, run
}

// renderDir builds the report of the run directory dir and returns its page.
func renderDir(t *testing.T, dir string) string {
	t.Helper()
	rep, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := rep.Write(&page); err != nil {
		t.Fatal(err)
	}
	return page.String()
}
