package sweep

import (
	"fmt"
	"math"
	"slices"
)

// XY is one labelled point of a figure.
type XY struct {
	X, Y  float64
	Label string
}

// FrontierPlot is the data of a frontier figure: every point that ran, split
// by whether it meets the SLO, and the Pareto frontier through them. X is
// the latency in ms, Y the output tokens per second per GPU.
type FrontierPlot struct {
	Latency  string // e.g. "TTFT p99"
	Meets    []XY
	Misses   []XY
	Frontier []XY
}

// FrontierPlot computes the frontier figure's data for lat.
func (t *Table) FrontierPlot(lat Latency) FrontierPlot {
	f := FrontierPlot{Latency: lat.Name}
	for i := range t.Rows {
		r := &t.Rows[i]
		if r.Status != "ok" || r.Completed == 0 {
			continue
		}
		xy := XY{lat.Value(r), r.OutputTokensPerSPerGPU, t.describe(r)}
		if r.MeetsSLO {
			f.Meets = append(f.Meets, xy)
		} else {
			f.Misses = append(f.Misses, xy)
		}
	}
	for _, r := range t.Frontier(lat) {
		f.Frontier = append(f.Frontier, XY{lat.Value(r), r.OutputTokensPerSPerGPU, t.describe(r)})
	}
	return f
}

// KeyMetric is a table metric drawn against the main swept key, whether
// less is better (the best of several rows is then the minimum), and
// whether only rows meeting the SLO count (cost: the cheapest
// configuration that serves the load within the SLO).
type KeyMetric struct {
	Name, Unit string
	Less       bool
	SLOOnly    bool
	Value      func(r *Row) float64
}

// KeyMetrics are the metrics of the per-key figure.
var KeyMetrics = []KeyMetric{
	{"TTFT p99", "ms", true, false, func(r *Row) float64 { return r.TTFTP99Ms }},
	{"TPOT p99", "ms", true, false, func(r *Row) float64 { return r.TPOTP99Ms }},
	{"output tok/s per GPU", "tok/s", false, false, func(r *Row) float64 { return r.OutputTokensPerSPerGPU }},
	{"goodput fraction", "", false, false, func(r *Row) float64 { return r.GoodputFraction }},
	{"cost meeting the SLO", "USD/Mtok", true, true, func(r *Row) float64 { return r.USDPerMTok }},
}

// maxGroups is the most lines a per-key panel draws; beyond it the second
// key is not split out.
const maxGroups = 7

// KeyPlot is one metric against the main key: Ticks are the key's values
// in plan order (x = 0, 1, ...); each group is a line over them. A group is
// one value of the second swept key (all rows when there is none, or it
// has more than maxGroups values), and each y is the best value of the
// metric over the rows with that x and group (the other keys are
// optimised away; for an SLOOnly metric, over the rows meeting the SLO);
// NaN where no row counts.
type KeyPlot struct {
	Metric KeyMetric
	Key    string
	Group  string // the second key, "" when not split
	Ticks  []string
	Groups []KeyGroup
}

// KeyGroup is one line of a KeyPlot.
type KeyGroup struct {
	Name string
	Y    []float64
}

// KeyPlots computes one KeyPlot per KeyMetrics entry against key (the
// first swept key when empty).
func (t *Table) KeyPlots(key string) ([]KeyPlot, error) {
	if len(t.Keys) == 0 {
		return nil, fmt.Errorf("the table has no swept keys")
	}
	ki := 0
	if key != "" {
		ki = slices.Index(t.Keys, key)
		if ki < 0 {
			return nil, fmt.Errorf("key %q is not swept (swept: %v)", key, t.Keys)
		}
	}
	distinct := func(k int) []string {
		var out []string
		for i := range t.Rows {
			if v := t.Rows[i].Values[k]; !slices.Contains(out, v) {
				out = append(out, v)
			}
		}
		return out
	}
	ticks := distinct(ki)
	gi := -1
	groups := []string{"all points"}
	for k := range t.Keys {
		if k == ki {
			continue
		}
		if d := distinct(k); len(d) > 1 && len(d) <= maxGroups {
			gi, groups = k, d
		}
		break
	}
	var out []KeyPlot
	for _, m := range KeyMetrics {
		kp := KeyPlot{Metric: m, Key: t.Keys[ki], Ticks: ticks}
		if gi >= 0 {
			kp.Group = t.Keys[gi]
		}
		for _, g := range groups {
			y := make([]float64, len(ticks))
			for x := range y {
				y[x] = math.NaN()
			}
			for i := range t.Rows {
				r := &t.Rows[i]
				if r.Status != "ok" || r.Completed == 0 || (gi >= 0 && r.Values[gi] != g) || (m.SLOOnly && !r.MeetsSLO) {
					continue
				}
				v := m.Value(r)
				if math.IsNaN(v) {
					continue
				}
				x := slices.Index(ticks, r.Values[ki])
				if math.IsNaN(y[x]) || (m.Less && v < y[x]) || (!m.Less && v > y[x]) {
					y[x] = v
				}
			}
			name := g
			if gi >= 0 {
				name = kp.Group + "=" + g
			}
			kp.Groups = append(kp.Groups, KeyGroup{name, y})
		}
		out = append(out, kp)
	}
	return out, nil
}
