package sweep

import (
	"cmp"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
)

// Cheapest returns the rows that meet the SLO, cheapest first: by USD per
// million output tokens (the cluster's price over the output rate it
// achieved), then by GPU count and plan index, so ties resolve the same way
// every time.
func (t *Table) Cheapest() []*Row {
	var out []*Row
	for i := range t.Rows {
		if r := &t.Rows[i]; r.MeetsSLO && r.Status == "ok" && !math.IsNaN(r.USDPerMTok) {
			out = append(out, r)
		}
	}
	slices.SortFunc(out, func(a, b *Row) int {
		return cmp.Or(cmp.Compare(a.USDPerMTok, b.USDPerMTok), cmp.Compare(a.GPUs, b.GPUs), cmp.Compare(a.Point, b.Point))
	})
	return out
}

// Latency picks the latency a frontier trades throughput against.
type Latency struct {
	Name  string // e.g. "TTFT p99"
	Value func(r *Row) float64
}

// Frontier latencies of the --best report.
var (
	TTFTP99 = Latency{"TTFT p99", func(r *Row) float64 { return r.TTFTP99Ms }}
	TPOTP99 = Latency{"TPOT p99", func(r *Row) float64 { return r.TPOTP99Ms }}
)

// Frontier returns the Pareto frontier of output tokens per second per GPU
// (more is better) against a latency (less is better), over the rows that
// ran and completed requests: the rows no other row beats on both. It is
// ordered by latency, ascending (so throughput ascends too); of rows equal
// on both the one first in the plan represents them.
func (t *Table) Frontier(lat Latency) []*Row {
	var ok []*Row
	for i := range t.Rows {
		if r := &t.Rows[i]; r.Status == "ok" && r.Completed > 0 {
			ok = append(ok, r)
		}
	}
	slices.SortFunc(ok, func(a, b *Row) int {
		return cmp.Or(cmp.Compare(lat.Value(a), lat.Value(b)),
			cmp.Compare(b.OutputTokensPerSPerGPU, a.OutputTokensPerSPerGPU), cmp.Compare(a.Point, b.Point))
	})
	var out []*Row
	best := math.Inf(-1)
	for _, r := range ok {
		if r.OutputTokensPerSPerGPU > best {
			out = append(out, r)
			best = r.OutputTokensPerSPerGPU
		}
	}
	return out
}

// describe is "key=value ..." for a row.
func (t *Table) describe(r *Row) string { return describeValues(t.Keys, r.Values) }

// WriteBest writes the top cheapest rows meeting the SLO and both
// frontiers as aligned text.
func (t *Table) WriteBest(w io.Writer, top int) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	ok, failed, meets := 0, 0, 0
	for i := range t.Rows {
		switch r := &t.Rows[i]; {
		case r.Status != "ok":
			failed++
		case r.MeetsSLO:
			meets++
			ok++
		default:
			ok++
		}
	}
	fmt.Fprintf(tw, "%d points: %d ran, %d failed (e.g. did not fit); %d meet the SLO (goodput fraction >= %g)\n\n",
		len(t.Rows), ok, failed, meets, t.Attainment)
	ch := t.Cheapest()
	if len(ch) == 0 {
		fmt.Fprintf(tw, "no configuration meets the SLO\n")
	} else {
		fmt.Fprintf(tw, "cheapest configurations meeting the SLO\n")
		fmt.Fprintf(tw, "rank\tconfiguration\tGPUs\tUSD/h\tUSD/Mtok\tGPU-h/Mtok\tgoodput\tTTFT p99 ms\tTPOT p99 ms\ttok/s/GPU\t\n")
		for k, r := range ch[:min(top, len(ch))] {
			fmt.Fprintf(tw, "%d\t%s\t%d\t%.2f\t%.3f\t%.3f\t%.4f\t%.1f\t%.2f\t%.1f\t\n", k+1, t.describe(r), r.GPUs, r.USDPerHour,
				r.USDPerMTok, r.GPUHoursPerMTok, r.GoodputFraction, r.TTFTP99Ms, r.TPOTP99Ms, r.OutputTokensPerSPerGPU)
		}
	}
	for _, lat := range []Latency{TTFTP99, TPOTP99} {
		fmt.Fprintf(tw, "\nPareto frontier: output tok/s per GPU vs %s\n", lat.Name)
		fmt.Fprintf(tw, "%s ms\ttok/s/GPU\tconfiguration\tGPUs\tmeets SLO\tUSD/Mtok\t\n", lat.Name)
		for _, r := range t.Frontier(lat) {
			fmt.Fprintf(tw, "%.2f\t%.1f\t%s\t%d\t%v\t%s\t\n", lat.Value(r), r.OutputTokensPerSPerGPU, t.describe(r), r.GPUs, r.MeetsSLO, num(r.USDPerMTok))
		}
	}
	return tw.Flush()
}

func num(v float64) string {
	if math.IsNaN(v) {
		return "n/a"
	}
	return strconv.FormatFloat(v, 'f', 3, 64)
}
