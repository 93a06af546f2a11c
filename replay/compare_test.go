package replay

import (
	"fmt"
	"reflect"
)

// diffOutputs names the first output in which two runs of the same
// workload differ, or returns "" when they agree in every output: each
// per-request result, the inter-token-latency histogram, every time-series
// sample and every statistic. Only the LoD label and the event counts,
// which describe how the run was simulated rather than what happened, may
// differ.
func diffOutputs(a, b *Stats, ra, rb []RequestResult) string {
	if len(ra) != len(rb) {
		return fmt.Sprintf("%d results vs %d", len(ra), len(rb))
	}
	for i := range ra {
		if ra[i] != rb[i] {
			return fmt.Sprintf("request %d differs:\n  %+v\n  %+v", i, ra[i], rb[i])
		}
	}
	if !sameHistogram(&a.ITL, &b.ITL) {
		return fmt.Sprintf("ITL histograms differ: total %d/%d, sum %v/%v, max %d/%d, p50 %v/%v, p99 %v/%v",
			a.ITL.Total, b.ITL.Total, a.ITL.Sum, b.ITL.Sum, a.ITL.Max, b.ITL.Max,
			a.ITL.Quantile(0.5), b.ITL.Quantile(0.5), a.ITL.Quantile(0.99), b.ITL.Quantile(0.99))
	}
	if len(a.Samples) != len(b.Samples) {
		return fmt.Sprintf("%d samples vs %d", len(a.Samples), len(b.Samples))
	}
	for i := range a.Samples {
		if a.Samples[i] != b.Samples[i] {
			return fmt.Sprintf("sample %d differs:\n  %+v\n  %+v", i, a.Samples[i], b.Samples[i])
		}
	}
	if da, db := a.Disaggregated, b.Disaggregated; (da == nil) != (db == nil) {
		return "one run is disaggregated, the other not"
	} else if da != nil {
		for i := range min(len(da.Samples), len(db.Samples)) {
			if da.Samples[i] != db.Samples[i] {
				return fmt.Sprintf("pool sample %d differs:\n  %+v\n  %+v", i, da.Samples[i], db.Samples[i])
			}
		}
		u, v := *da, *db
		u.Samples, v.Samples = nil, nil
		if len(da.Samples) != len(db.Samples) || !reflect.DeepEqual(u, v) {
			return fmt.Sprintf("disaggregated statistics differ (%d and %d pool samples):\n  %+v\n  %+v", len(da.Samples), len(db.Samples), u, v)
		}
	}
	x, y := *a, *b
	x.LoD, y.LoD = "", ""
	x.Events, y.Events = nil, nil
	x.TotalEvents, y.TotalEvents = 0, 0
	x.ITL, y.ITL = Histogram{}, Histogram{}
	x.Samples, y.Samples = nil, nil
	if !reflect.DeepEqual(x, y) {
		return fmt.Sprintf("statistics differ:\n  %+v\n  %+v", x, y)
	}
	return ""
}

// sameHistogram compares recorded values, not slice capacity.
func sameHistogram(a, b *Histogram) bool {
	n := max(len(a.Counts), len(b.Counts))
	for i := 0; i < n; i++ {
		var ca, cb uint64
		if i < len(a.Counts) {
			ca = a.Counts[i]
		}
		if i < len(b.Counts) {
			cb = b.Counts[i]
		}
		if ca != cb {
			return false
		}
	}
	return a.Total == b.Total && a.Sum == b.Sum && a.Max == b.Max
}
