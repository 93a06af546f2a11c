package rundir

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/trace/tabular"
)

// LayoutsJSON names a layout comparison directory's index: its title and
// its layouts, each a sweep directory (`lodsim sweep --grid
// rate_scale=...`) under it with a label:
//
//	{"title": "...", "slo_ttft_ms": 500, "slo_tpot_ms": 50,
//	 "layouts": [{"label": "4 aggregated", "dir": "agg"}, ...]}
const LayoutsJSON = "layouts.json"

// IsLayouts reports whether dir holds a layouts.json.
func IsLayouts(dir string) bool { return isFile(filepath.Join(dir, LayoutsJSON)) }

type layoutsIndex struct {
	Title     string  `json:"title"`
	SLOTTFTMs float64 `json:"slo_ttft_ms"`
	SLOTPOTMs float64 `json:"slo_tpot_ms"`
	Layouts   []struct {
		Label string `json:"label"`
		Dir   string `json:"dir"`
	} `json:"layouts"`
}

// ReadLayouts reads a layout comparison directory: layouts.json and the
// sweep.csv of each layout's directory, in the index's order. Rows whose
// status is not ok are left out.
func ReadLayouts(dir string) (*analysis.LayoutComparison, error) {
	var idx layoutsIndex
	if err := ReadJSON(filepath.Join(dir, LayoutsJSON), &idx); err != nil {
		return nil, err
	}
	c := &analysis.LayoutComparison{Title: idx.Title, SLOTTFTMs: idx.SLOTTFTMs, SLOTPOTMs: idx.SLOTPOTMs}
	for i, l := range idx.Layouts {
		if l.Label == "" || l.Dir == "" || filepath.IsAbs(l.Dir) {
			return nil, Input(fmt.Errorf("%s: layouts[%d]: label %q, dir %q; expected a label and a directory relative to %s", filepath.Join(dir, LayoutsJSON), i, l.Label, l.Dir, dir))
		}
		pts, err := readSweepCSV(filepath.Join(dir, l.Dir, "sweep.csv"))
		if err != nil {
			return nil, err
		}
		c.Layouts = append(c.Layouts, analysis.Layout{Label: l.Label, Points: pts})
	}
	if err := c.Check(); err != nil {
		return nil, Input(fmt.Errorf("%s: %w", dir, err))
	}
	return c, nil
}

// sweepColumns are the sweep.csv columns a layout point is read from.
var sweepColumns = []struct {
	name string
	dst  func(p *analysis.LayoutPoint) *float64
}{
	{"rate_scale", func(p *analysis.LayoutPoint) *float64 { return &p.RateScale }},
	{"requests_per_s", func(p *analysis.LayoutPoint) *float64 { return &p.RequestsPerS }},
	{"goodput_per_s", func(p *analysis.LayoutPoint) *float64 { return &p.GoodputPerS }},
	{"goodput_fraction", func(p *analysis.LayoutPoint) *float64 { return &p.SLOFraction }},
	{"ttft_p50_ms", func(p *analysis.LayoutPoint) *float64 { return &p.TTFTP50Ms }},
	{"ttft_p99_ms", func(p *analysis.LayoutPoint) *float64 { return &p.TTFTP99Ms }},
	{"tpot_p50_ms", func(p *analysis.LayoutPoint) *float64 { return &p.TPOTP50Ms }},
	{"tpot_p99_ms", func(p *analysis.LayoutPoint) *float64 { return &p.TPOTP99Ms }},
	{"kv_peak_util", func(p *analysis.LayoutPoint) *float64 { return &p.PeakKV }},
}

// readSweepCSV reads the points of a sweep's table over rate_scale with
// the project's CSV reader (tabular: bounded records, a byte-order mark
// dropped, errors naming file, row, line and column).
func readSweepCSV(path string) ([]analysis.LayoutPoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, Input(err)
	}
	defer f.Close()
	cr, err := tabular.NewCSV(f, path, tabular.CSVOptions{})
	if err != nil {
		return nil, Input(err)
	}
	col := map[string]int{}
	for i, h := range cr.Header() {
		col[h] = i
	}
	for _, c := range append([]string{"status"}, columnNames()...) {
		if _, ok := col[c]; !ok {
			return nil, Input(fmt.Errorf("%s: no column %s, expected a sweep table over rate_scale (lodsim sweep --grid rate_scale=...)", path, c))
		}
	}
	var pts []analysis.LayoutPoint
	for {
		row, err := cr.Read()
		if err == io.EOF {
			return pts, nil
		}
		if err != nil {
			return nil, Input(err)
		}
		if row[col["status"]] != "ok" {
			continue
		}
		var p analysis.LayoutPoint
		for _, c := range sweepColumns {
			j := col[c.name]
			v, err := strconv.ParseFloat(row[j], 64)
			if err != nil {
				return nil, Input(&tabular.Error{File: path, Row: cr.Row(), Line: cr.Line(j), Column: c.name, Found: strconv.Quote(row[j]), Expected: "a number"})
			}
			*c.dst(&p) = v
		}
		pts = append(pts, p)
	}
}

func columnNames() []string {
	out := make([]string, len(sweepColumns))
	for i, c := range sweepColumns {
		out[i] = c.name
	}
	return out
}
