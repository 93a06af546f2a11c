package analysis

import (
	"math"
	"strings"
	"testing"
)

// TestLayoutComparisonTable: the Markdown table lists every layout at
// each rate scale, rate scales in order, the most goodput of each in bold,
// and a malformed comparison is refused by Check naming the layout.
func TestLayoutComparisonTable(t *testing.T) {
	c := &LayoutComparison{Layouts: []Layout{
		{Label: "agg", Points: []LayoutPoint{{RateScale: 4, RequestsPerS: 22, GoodputPerS: 22, SLOFraction: 1}, {RateScale: 12, RequestsPerS: 65, GoodputPerS: 64.37, SLOFraction: 0.983}}},
		{Label: "2P + 2D", Points: []LayoutPoint{{RateScale: 4, RequestsPerS: 22, GoodputPerS: 22, SLOFraction: 1}, {RateScale: 8, RequestsPerS: 44, GoodputPerS: 41.66, SLOFraction: 0.948}}},
	}}
	if err := c.Check(); err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	if err := c.WriteMarkdown(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(b.String()), "\n")
	want := []string{"| agg | 4 |", "| 2P + 2D | 4 |", "| 2P + 2D | 8 |", "| agg | 12 |"}
	if len(lines) != 2+len(want) {
		t.Fatalf("%d lines, expected %d:\n%s", len(lines), 2+len(want), b.String())
	}
	for i, w := range want {
		if !strings.HasPrefix(lines[2+i], w) {
			t.Errorf("row %d: %q, expected it to start %q", i, lines[2+i], w)
		}
	}
	// A tie goes to the first layout listed; a layout alone at a rate
	// scale is its best.
	for i, bold := range []bool{true, false, true, true} {
		if got := strings.Contains(lines[2+i], "**"); got != bold {
			t.Errorf("row %d %q: bold %v, expected %v", i, lines[2+i], got, bold)
		}
	}
	if !strings.Contains(lines[5], "| **64.37** | 98.3 % |") {
		t.Errorf("agg at 12x: %q", lines[5])
	}
	c.Layouts[1].Points[1].GoodputPerS = math.NaN()
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), `layout "2P + 2D" at rate scale 8`) {
		t.Errorf("NaN goodput: %v", err)
	}
	c.Layouts[1].Points[1] = LayoutPoint{RateScale: 2}
	if err := c.Check(); err == nil || !strings.Contains(err.Error(), "expected rising") {
		t.Errorf("falling rate scale: %v", err)
	}
}
