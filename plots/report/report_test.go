package report

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/experiment"
)

// TestRunReport builds the page of a real run directory: it names what was
// simulated and embeds the run's figures; Plot redraws the same figures.
func TestRunReport(t *testing.T) {
	cfgs, err := experiment.Load("scenario:reference-tp1")
	if err != nil {
		t.Fatal(err)
	}
	e, err := experiment.New(cfgs[0])
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(t.TempDir(), "tp1-medium")
	run, _, err := e.WriteRun(dir, nil)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	var page bytes.Buffer
	if err := rep.Write(&page); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"Run " + run.ID + ": Llama-3-8B on A100-80GB-SXM, 1 replica(s) x TP1 x PP1", "seed 42", "sha256 ", "lodsim "} {
		if !strings.Contains(page.String(), want) {
			t.Errorf("report lacks %q", want)
		}
	}
	if n := strings.Count(page.String(), "data:image/png;base64,"); n != 2 {
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
