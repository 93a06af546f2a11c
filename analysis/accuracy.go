package analysis

import (
	"cmp"
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
)

// Pair is one predicted-versus-measured observation, e.g. one operation
// shape of a calibration (Group = operation) or one validation scenario.
type Pair struct {
	Label     string  `json:"label"` // what was measured, e.g. "gemm m=8 n=4096 k=4096"
	Group     string  `json:"group"` // how rows are grouped, e.g. the operation
	Measured  float64 `json:"measured"`
	Predicted float64 `json:"predicted"`
}

// APE is the absolute percentage error of p,
//
//	APE = 100 x |Predicted - Measured| / |Measured|
//
// NaN when Measured is 0 or either value is not finite.
func (p Pair) APE() float64 {
	if p.Measured == 0 || math.IsNaN(p.Measured) || math.IsInf(p.Measured, 0) ||
		math.IsNaN(p.Predicted) || math.IsInf(p.Predicted, 0) {
		return math.NaN()
	}
	return 100 * math.Abs(p.Predicted-p.Measured) / math.Abs(p.Measured)
}

// AccuracyRow summarises the APE distribution (percent) of one group.
// Percentiles are nearest-rank.
type AccuracyRow struct {
	Group      string  `json:"group"`
	Count      int64   `json:"count"`   // pairs with a defined APE
	Skipped    int64   `json:"skipped"` // pairs with Measured 0 or a non-finite value
	MAPE       float64 `json:"mape_pct"`
	MedianAPE  float64 `json:"median_ape_pct"`
	P90APE     float64 `json:"p90_ape_pct"`
	Worst      float64 `json:"worst_ape_pct"`
	WorstLabel string  `json:"worst_label"`
}

// AccuracyTable is the accuracy of a set of predictions: one row per group
// (sorted by name), the overall row, and the pairs themselves (in input
// order) for the predicted-versus-measured figure.
type AccuracyTable struct {
	Groups  []AccuracyRow `json:"groups"`
	Overall AccuracyRow   `json:"overall"`
	Pairs   []Pair        `json:"pairs"`
}

// Accuracy computes the accuracy table of pairs.
func Accuracy(pairs []Pair) AccuracyTable {
	t := AccuracyTable{Pairs: slices.Clone(pairs)}
	groups := map[string][]Pair{}
	for _, p := range pairs {
		groups[p.Group] = append(groups[p.Group], p)
	}
	names := make([]string, 0, len(groups))
	for g := range groups {
		names = append(names, g)
	}
	slices.Sort(names)
	for _, g := range names {
		t.Groups = append(t.Groups, accuracyRow(g, groups[g]))
	}
	t.Overall = accuracyRow("overall", pairs)
	return t
}

func accuracyRow(group string, pairs []Pair) AccuracyRow {
	r := AccuracyRow{Group: group}
	apes := make([]float64, 0, len(pairs))
	worst := -1.0
	for _, p := range pairs {
		a := p.APE()
		if math.IsNaN(a) {
			r.Skipped++
			continue
		}
		apes = append(apes, a)
		// Ties keep the first label in input order, so output is stable.
		if a > worst {
			worst, r.WorstLabel = a, p.Label
		}
	}
	d := distOf(apes, 1)
	r.Count, r.MAPE, r.MedianAPE, r.P90APE, r.Worst = d.Count, d.Mean, d.P50, d.P90, d.Max
	return r
}

// Group returns the row of the named group and whether it exists.
func (t *AccuracyTable) Group(name string) (AccuracyRow, bool) {
	i, ok := slices.BinarySearchFunc(t.Groups, name, func(r AccuracyRow, n string) int { return cmp.Compare(r.Group, n) })
	if !ok {
		return AccuracyRow{}, false
	}
	return t.Groups[i], true
}

// AddSkipped counts n more skipped pairs in group and overall: pairs that
// never got a prediction (a validation row the simulator could not run),
// which Accuracy never saw. A group with no row yet gets one, in name
// order, with no APE.
func (t *AccuracyTable) AddSkipped(group string, n int64) {
	if n == 0 {
		return
	}
	i, ok := slices.BinarySearchFunc(t.Groups, group, func(r AccuracyRow, g string) int { return cmp.Compare(r.Group, g) })
	if !ok {
		t.Groups = slices.Insert(t.Groups, i, AccuracyRow{Group: group})
	}
	t.Groups[i].Skipped += n
	t.Overall.Skipped += n
}

func (t *AccuracyTable) rows() []AccuracyRow { return append(slices.Clone(t.Groups), t.Overall) }

// WriteText writes the table aligned, APEs in percent.
func (t *AccuracyTable) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "group\tcount\tskipped\tMAPE %%\tmedian APE %%\tp90 APE %%\tworst APE %%\tworst\t\n")
	for _, r := range t.rows() {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%.2f\t%.2f\t%.2f\t%.2f\t%s\t\n", r.Group, r.Count, r.Skipped, r.MAPE, r.MedianAPE, r.P90APE, r.Worst, r.WorstLabel)
	}
	return tw.Flush()
}

// WriteCSV writes one row per group and a last "overall" row.
func (t *AccuracyTable) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"group", "count", "skipped", "mape_pct", "median_ape_pct", "p90_ape_pct", "worst_ape_pct", "worst_label"})
	for _, r := range t.rows() {
		cw.Write([]string{r.Group, strconv.FormatInt(r.Count, 10), strconv.FormatInt(r.Skipped, 10),
			ftoa(r.MAPE), ftoa(r.MedianAPE), ftoa(r.P90APE), ftoa(r.Worst), r.WorstLabel})
	}
	cw.Flush()
	return cw.Error()
}
