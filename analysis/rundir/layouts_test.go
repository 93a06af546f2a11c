package rundir

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestReadLayouts reads a layout comparison: the index's order and
// labels, each sweep.csv's points (a failed point left out), and errors
// that name the file, row and column for a missing column or a bad value.
func TestReadLayouts(t *testing.T) {
	dir := t.TempDir()
	write := func(name, s string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(s), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	head := "point,rate_scale,requests_per_s,goodput_per_s,goodput_fraction,ttft_p50_ms,ttft_p99_ms,tpot_p50_ms,tpot_p99_ms,kv_peak_util,status\n"
	write(LayoutsJSON, `{"title": "t", "slo_ttft_ms": 500, "slo_tpot_ms": 50, "layouts": [{"label": "B", "dir": "b"}, {"label": "A", "dir": "a"}]}`)
	write("a/sweep.csv", head+"0,4,22,22,1,20,140,7,11,0.1,ok\n1,8,44,40,0.9,30,800,9,12,0.2,ok\n")
	write("b/sweep.csv", head+"0,4,22,21,0.95,25,150,8,9,0.1,ok\n1,8,,,,,,,,,failed\n")
	if !IsLayouts(dir) {
		t.Fatal("IsLayouts: false")
	}
	c, err := ReadLayouts(dir)
	if err != nil {
		t.Fatal(err)
	}
	if c.Title != "t" || c.SLOTTFTMs != 500 || c.SLOTPOTMs != 50 || len(c.Layouts) != 2 || c.Layouts[0].Label != "B" || c.Layouts[1].Label != "A" {
		t.Fatalf("read %+v", c)
	}
	if n := len(c.Layouts[0].Points); n != 1 {
		t.Errorf("B: %d points, expected 1 (its failed point left out)", n)
	}
	if p := c.Layouts[1].Points[1]; p.RateScale != 8 || p.GoodputPerS != 40 || p.TTFTP99Ms != 800 || p.TPOTP50Ms != 9 || p.PeakKV != 0.2 {
		t.Errorf("A at 8x: %+v", p)
	}
	write("a/sweep.csv", head+"0,4,22,22,1,20,140,7,11,0.1,ok\n1,8,44,forty,0.9,30,800,9,12,0.2,ok\n")
	if _, err := ReadLayouts(dir); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), `row 2 (line 3): column "goodput_per_s": found "forty"`) {
		t.Errorf("bad value: %v", err)
	}
	// A byte-order mark (a spreadsheet's save) before a first column
	// the reader needs.
	write("a/sweep.csv", "\ufeffrate_scale,point,requests_per_s,goodput_per_s,goodput_fraction,ttft_p50_ms,ttft_p99_ms,tpot_p50_ms,tpot_p99_ms,kv_peak_util,status\n"+
		"4,0,22,22,1,20,140,7,11,0.1,ok\n")
	if c, err := ReadLayouts(dir); err != nil || c.Layouts[1].Points[0].RateScale != 4 {
		t.Errorf("byte-order mark: %v", err)
	}
	write("a/sweep.csv", "point,rate_scale,status\n0,4,ok\n")
	if _, err := ReadLayouts(dir); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "no column requests_per_s") {
		t.Errorf("missing column: %v", err)
	}
	write(LayoutsJSON, `{"title": "t", "layouts": [{"label": "", "dir": "a"}]}`)
	if _, err := ReadLayouts(dir); !errors.Is(err, ErrInput) || !strings.Contains(err.Error(), "layouts[0]") {
		t.Errorf("no label: %v", err)
	}
}
