package analysis

import (
	"cmp"
	"encoding/json"
	"math"
	"slices"

	"github.com/lodsim/lodsim/replay"
)

// EventDiff is the count of one event kind in the reference and the other
// run.
type EventDiff struct {
	Kind  string `json:"kind"`
	Ref   uint64 `json:"ref"`
	Other uint64 `json:"other"`
}

// MetricError is one summary metric in both runs and the relative error of
// the other against the reference,
//
//	RelErr = (Other - Ref) / |Ref|
//
// 0 when both are 0 and NaN (null in JSON) when only Ref is 0.
type MetricError struct {
	Name   string
	Ref    float64
	Other  float64
	RelErr float64
}

type metricErrorJSON struct {
	Name   string   `json:"name"`
	Ref    float64  `json:"ref"`
	Other  float64  `json:"other"`
	RelErr *float64 `json:"rel_err"`
}

// MarshalJSON writes an undefined relative error as null.
func (m MetricError) MarshalJSON() ([]byte, error) {
	j := metricErrorJSON{Name: m.Name, Ref: m.Ref, Other: m.Other}
	if !math.IsNaN(m.RelErr) && !math.IsInf(m.RelErr, 0) {
		j.RelErr = &m.RelErr
	}
	return json.Marshal(j)
}

// UnmarshalJSON reads a null relative error as NaN.
func (m *MetricError) UnmarshalJSON(b []byte) error {
	var j metricErrorJSON
	if err := json.Unmarshal(b, &j); err != nil {
		return err
	}
	*m = MetricError{Name: j.Name, Ref: j.Ref, Other: j.Other, RelErr: math.NaN()}
	if j.RelErr != nil {
		m.RelErr = *j.RelErr
	}
	return nil
}

// RelErr is (other - ref) / |ref|: 0 when both are 0, NaN when only ref is.
func RelErr(ref, other float64) float64 {
	if ref == 0 {
		if other == 0 {
			return 0
		}
		return math.NaN()
	}
	return (other - ref) / math.Abs(ref)
}

// PairedDiff summarises per-request differences other - ref of one latency,
// in milliseconds, over requests completed in both runs. Percentiles and Max
// are of the absolute difference.
type PairedDiff struct {
	Count   int64   `json:"count"`
	Mean    float64 `json:"mean"`     // signed: > 0 when the other run is slower
	MeanAbs float64 `json:"mean_abs"` // mean absolute difference
	P50Abs  float64 `json:"p50_abs"`
	P99Abs  float64 `json:"p99_abs"`
	MaxAbs  float64 `json:"max_abs"`
}

// Paired is the per-request comparison of two runs, matched by request id.
type Paired struct {
	Matched       int64      `json:"matched"`        // ids present in both runs
	BothCompleted int64      `json:"both_completed"` // matched and completed in both
	OnlyRef       int64      `json:"only_ref"`       // ids only in the reference run
	OnlyOther     int64      `json:"only_other"`     // ids only in the other run
	TTFT          PairedDiff `json:"ttft_ms"`
	TPOT          PairedDiff `json:"tpot_ms"`
	E2E           PairedDiff `json:"e2e_ms"`
}

// Comparison is one configuration run at a reference level of detail (high)
// and another (medium). Ratios are reference over other, so values above 1
// mean the other run is cheaper; a ratio with a zero denominator is 0.
type Comparison struct {
	Label           string      `json:"label"`
	RefLoD          string      `json:"ref_lod"`
	LoD             string      `json:"lod"`
	RefEvents       uint64      `json:"ref_events"`
	Events          uint64      `json:"events"`
	EventsByKind    []EventDiff `json:"events_by_kind"` // sorted by kind
	Reduction       float64     `json:"event_reduction"`
	RefWallNs       int64       `json:"ref_wall_ns"`
	WallNs          int64       `json:"wall_ns"`
	SpeedUp         float64     `json:"speed_up"`
	RefPeakRSSBytes int64       `json:"ref_peak_rss_bytes"`
	PeakRSSBytes    int64       `json:"peak_rss_bytes"`
	RefCompleted    int64       `json:"ref_completed"`
	Completed       int64       `json:"completed"`
	// Metrics has the relative error of every summary metric, in the order
	// of Summary.Metrics.
	Metrics []MetricError `json:"metrics"`
	Paired  Paired        `json:"paired"`
	// RefCDFs and CDFs are what the accuracy figure draws.
	RefCDFs LatencyCDFs `json:"ref_cdfs"`
	CDFs    LatencyCDFs `json:"cdfs"`
	// Walls, when the comparison was repeated (compare --repeat), holds
	// the wall time of every repetition of both levels, the committed run
	// first; figure 2 then shows the median with its range. WallNs and
	// SpeedUp stay the committed runs' single figures.
	Walls *WallTimes `json:"wall_times,omitempty"`
}

// SpeedUpSpread is the speed-up over the repetitions (Walls) with its
// range, or the committed runs' single figure when there are none.
func (c *Comparison) SpeedUpSpread() Spread {
	if c.Walls != nil {
		if s := c.Walls.SpeedUp(); s.N > 0 {
			return s
		}
	}
	return Spread{N: 1, Median: c.SpeedUp, Min: c.SpeedUp, Max: c.SpeedUp}
}

// Metric returns the named metric error and whether it exists.
func (c *Comparison) Metric(name string) (MetricError, bool) {
	for _, m := range c.Metrics {
		if m.Name == name {
			return m, true
		}
	}
	return MetricError{}, false
}

func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

// Compare compares other against the reference run ref (high LoD). The
// label is ref's. Both runs' Summary fields must be filled; Stats may be nil
// (no event counts).
func Compare(ref, other *Run) Comparison {
	c := Comparison{
		Label: ref.Label, RefLoD: ref.LoD, LoD: other.LoD,
		RefWallNs: ref.WallNs, WallNs: other.WallNs,
		RefPeakRSSBytes: ref.PeakRSSBytes, PeakRSSBytes: other.PeakRSSBytes,
		RefCompleted: ref.Summary.Completed, Completed: other.Summary.Completed,
	}
	c.EventsByKind = eventDiffs(ref.Stats, other.Stats)
	if ref.Stats != nil {
		c.RefEvents = ref.Stats.TotalEvents
	}
	if other.Stats != nil {
		c.Events = other.Stats.TotalEvents
	}
	c.Reduction = ratio(float64(c.RefEvents), float64(c.Events))
	c.SpeedUp = ratio(float64(c.RefWallNs), float64(c.WallNs))
	rm, om := ref.Summary.Metrics(), other.Summary.Metrics()
	c.Metrics = make([]MetricError, len(rm))
	for i := range rm {
		c.Metrics[i] = MetricError{Name: rm[i].Name, Ref: rm[i].Value, Other: om[i].Value, RelErr: RelErr(rm[i].Value, om[i].Value)}
	}
	c.Paired = PairResults(ref.Results, other.Results)
	c.RefCDFs = Latencies(ref.Results)
	c.CDFs = Latencies(other.Results)
	return c
}

func eventDiffs(ref, other *replay.Stats) []EventDiff {
	byKind := map[string]*EventDiff{}
	get := func(k string) *EventDiff {
		d, ok := byKind[k]
		if !ok {
			d = &EventDiff{Kind: k}
			byKind[k] = d
		}
		return d
	}
	if ref != nil {
		for _, e := range ref.Events {
			get(e.Kind).Ref += e.Count
		}
	}
	if other != nil {
		for _, e := range other.Events {
			get(e.Kind).Other += e.Count
		}
	}
	out := make([]EventDiff, 0, len(byKind))
	for _, d := range byKind {
		out = append(out, *d)
	}
	slices.SortFunc(out, func(a, b EventDiff) int { return cmp.Compare(a.Kind, b.Kind) })
	return out
}

// byID returns the indices of results sorted by request id (stable, so
// duplicate ids pair up in their original order).
func byID(results []replay.RequestResult) []int32 {
	idx := make([]int32, len(results))
	for i := range idx {
		idx[i] = int32(i)
	}
	slices.SortStableFunc(idx, func(a, b int32) int { return cmp.Compare(results[a].ID, results[b].ID) })
	return idx
}

// PairResults matches ref and other by request id and summarises the
// per-request differences other - ref.
func PairResults(ref, other []replay.RequestResult) Paired {
	ri, oi := byID(ref), byID(other)
	var p Paired
	type pair struct{ a, b int32 }
	pairs := make([]pair, 0, min(len(ri), len(oi)))
	i, j := 0, 0
	for i < len(ri) && j < len(oi) {
		a, b := &ref[ri[i]], &other[oi[j]]
		switch {
		case a.ID < b.ID:
			p.OnlyRef++
			i++
		case a.ID > b.ID:
			p.OnlyOther++
			j++
		default:
			p.Matched++
			if a.Status == replay.Completed && b.Status == replay.Completed {
				pairs = append(pairs, pair{ri[i], oi[j]})
			}
			i++
			j++
		}
	}
	p.OnlyRef += int64(len(ri) - i)
	p.OnlyOther += int64(len(oi) - j)
	p.BothCompleted = int64(len(pairs))

	buf := make([]float64, 0, len(pairs))
	diff := func(f func(r *replay.RequestResult) float64) PairedDiff {
		buf = buf[:0]
		var sum float64
		for _, pr := range pairs {
			x, y := f(&ref[pr.a]), f(&other[pr.b])
			if x < 0 || y < 0 {
				continue
			}
			d := y - x
			sum += d
			buf = append(buf, math.Abs(d))
		}
		d := distOf(buf, 1e-6)
		if d.Count == 0 {
			return PairedDiff{}
		}
		return PairedDiff{Count: d.Count, Mean: sum / float64(d.Count) * 1e-6, MeanAbs: d.Mean, P50Abs: d.P50, P99Abs: d.P99, MaxAbs: d.Max}
	}
	p.TTFT = diff(func(r *replay.RequestResult) float64 { return float64(r.TTFT()) })
	p.TPOT = diff(func(r *replay.RequestResult) float64 { return r.TPOT() })
	p.E2E = diff(func(r *replay.RequestResult) float64 { return float64(r.E2E()) })
	return p
}
