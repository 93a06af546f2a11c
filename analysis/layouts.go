package analysis

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
)

// LayoutPoint is one load level of one cluster layout: a row of a sweep
// over the workload's rate scale (`lodsim sweep --grid rate_scale=...`).
type LayoutPoint struct {
	RateScale    float64
	RequestsPerS float64 // completed requests per second
	GoodputPerS  float64 // completed requests per second meeting the SLO
	SLOFraction  float64 // of the completed requests
	TTFTP50Ms    float64
	TTFTP99Ms    float64
	TPOTP50Ms    float64
	TPOTP99Ms    float64
	PeakKV       float64 // KV use of the fullest replica
}

// Layout is one cluster layout's points, by rising rate scale.
type Layout struct {
	Label  string // e.g. "2P + 2D"
	Points []LayoutPoint
}

// LayoutComparison puts cluster layouts of the same GPU count (aggregated,
// disaggregated with different splits) side by side on one workload under
// one SLO: the goodput, TTFT and TPOT of each at each load.
type LayoutComparison struct {
	Title   string
	Layouts []Layout
	// SLOTTFTMs and SLOTPOTMs are the SLO's bounds (0: not drawn).
	SLOTTFTMs, SLOTPOTMs float64
}

// Check reports a comparison that cannot be drawn: no layouts, a layout
// without points or with unsorted or repeated rate scales, or a
// non-finite or negative value (naming the layout and rate scale).
func (c *LayoutComparison) Check() error {
	if len(c.Layouts) == 0 {
		return fmt.Errorf("layout comparison %q: no layouts", c.Title)
	}
	if !(c.SLOTTFTMs >= 0) || !(c.SLOTPOTMs >= 0) || math.IsInf(c.SLOTTFTMs+c.SLOTPOTMs, 0) {
		return fmt.Errorf("layout comparison %q: SLO TTFT %v ms, TPOT %v ms; expected finite numbers >= 0", c.Title, c.SLOTTFTMs, c.SLOTPOTMs)
	}
	for _, l := range c.Layouts {
		if len(l.Points) == 0 {
			return fmt.Errorf("layout %q: no points", l.Label)
		}
		for i, p := range l.Points {
			if i > 0 && p.RateScale <= l.Points[i-1].RateScale {
				return fmt.Errorf("layout %q: rate scale %v after %v, expected rising", l.Label, p.RateScale, l.Points[i-1].RateScale)
			}
			for _, v := range []float64{p.RateScale, p.RequestsPerS, p.GoodputPerS, p.SLOFraction, p.TTFTP50Ms, p.TTFTP99Ms, p.TPOTP50Ms, p.TPOTP99Ms, p.PeakKV} {
				if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
					return fmt.Errorf("layout %q at rate scale %v: value %v, expected a finite number >= 0", l.Label, p.RateScale, v)
				}
			}
		}
	}
	return nil
}

// RateScales is every rate scale of any layout, sorted.
func (c *LayoutComparison) RateScales() []float64 {
	var out []float64
	for _, l := range c.Layouts {
		for _, p := range l.Points {
			out = append(out, p.RateScale)
		}
	}
	slices.Sort(out)
	return slices.Compact(out)
}

// Best is the label of the layout with the most goodput at rate scale x,
// the first listed on a tie, or "" when none ran at x.
func (c *LayoutComparison) Best(x float64) string {
	best, most := "", -1.0
	for _, l := range c.Layouts {
		for _, p := range l.Points {
			if p.RateScale == x && p.GoodputPerS > most {
				best, most = l.Label, p.GoodputPerS
			}
		}
	}
	return best
}

// WriteMarkdown writes the comparison as a Markdown table, one row per
// rate scale and layout, the best goodput of each rate scale in bold.
func (c *LayoutComparison) WriteMarkdown(w io.Writer) error {
	var b strings.Builder
	fmt.Fprintf(&b, "| layout | rate x | req/s | TTFT p50 / p99 ms | TPOT p50 / p99 ms | goodput req/s | SLO met | peak KV |\n")
	fmt.Fprintf(&b, "|---|---|---|---|---|---|---|---|\n")
	for _, x := range c.RateScales() {
		best := c.Best(x)
		for _, l := range c.Layouts {
			for _, p := range l.Points {
				if p.RateScale != x {
					continue
				}
				g := fmt.Sprintf("%.2f", p.GoodputPerS)
				if l.Label == best {
					g = "**" + g + "**"
				}
				fmt.Fprintf(&b, "| %s | %g | %.2f | %.1f / %.1f | %.2f / %.2f | %s | %.1f %% | %.2f |\n", l.Label, x, p.RequestsPerS,
					p.TTFTP50Ms, p.TTFTP99Ms, p.TPOTP50Ms, p.TPOTP99Ms, g, 100*p.SLOFraction, p.PeakKV)
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}
