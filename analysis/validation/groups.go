package validation

import (
	"encoding/csv"
	"fmt"
	"io"
	"maps"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// ErrorStats summarise the percentage errors of one metric over a set of
// simulated rows:
//
//	error_i = 100 x (predicted_i - measured_i) / measured_i
//	MAPE    = mean |error_i|
//	MedianAPE  = median |error_i|
//	MedianBias = median error_i (signed: > 0 means lodsim predicts too high)
//
// Medians of an even count are the mean of the two middle values.
type ErrorStats struct {
	MAPE       float64 `json:"mape_pct"`
	MedianAPE  float64 `json:"median_ape_pct"`
	MedianBias float64 `json:"median_bias_pct"`
}

// GroupRow is the accuracy of one validation group: the rows of one
// (model, GPU, engine, precision, mode), how many were skipped, and the
// TTFT and TPOT errors of the simulated ones.
type GroupRow struct {
	Group     string     `json:"group"`
	Model     string     `json:"model"`
	GPU       string     `json:"gpu"`
	Engine    string     `json:"engine"`
	Precision string     `json:"precision"`
	Mode      string     `json:"mode"`
	Rows      int        `json:"rows"`    // rows of the group in the file
	Skipped   int        `json:"skipped"` // rows not simulated (Prediction.Skipped)
	TTFT      ErrorStats `json:"ttft"`
	TPOT      ErrorStats `json:"tpot"`
}

// Simulated is the number of rows with predictions.
func (g GroupRow) Simulated() int { return g.Rows - g.Skipped }

// GroupTable is the per-group accuracy of a set of predictions, groups
// sorted by name, and the pooled accuracy over every simulated row.
type GroupTable struct {
	Groups []GroupRow `json:"groups"`
	Pooled GroupRow   `json:"pooled"`
}

// Groups tabulates preds by Row.Group.
func Groups(preds []Prediction) GroupTable {
	by := map[string][]Prediction{}
	for _, p := range preds {
		by[p.Row.Group()] = append(by[p.Row.Group()], p)
	}
	names := make([]string, 0, len(by))
	for n := range by {
		names = append(names, n)
	}
	slices.Sort(names)
	var t GroupTable
	for _, n := range names {
		ps := by[n]
		r := groupRow(n, ps)
		r.Model, r.GPU, r.Engine, r.Precision, r.Mode = shortModel(ps[0].Row.Model), ps[0].Row.GPU, ps[0].Row.Backend, ps[0].Row.PrecisionName(), ps[0].Row.ModeName()
		t.Groups = append(t.Groups, r)
	}
	t.Pooled = groupRow("pooled", preds)
	return t
}

func groupRow(name string, preds []Prediction) GroupRow {
	r := GroupRow{Group: name, Rows: len(preds)}
	var ttft, tpot []float64
	for _, p := range preds {
		if !p.Simulated() {
			r.Skipped++
			continue
		}
		ttft = append(ttft, pctErr(p.Metrics.TTFTms, p.Row.TTFTms))
		tpot = append(tpot, pctErr(p.Metrics.TPOTms, p.Row.TPOTms))
	}
	r.TTFT, r.TPOT = errorStats(ttft), errorStats(tpot)
	return r
}

func pctErr(pred, meas float64) float64 { return 100 * (pred - meas) / meas }

func errorStats(errs []float64) ErrorStats {
	if len(errs) == 0 {
		return ErrorStats{MAPE: math.NaN(), MedianAPE: math.NaN(), MedianBias: math.NaN()}
	}
	abs := make([]float64, len(errs))
	var sum float64
	for i, e := range errs {
		abs[i] = math.Abs(e)
		sum += abs[i]
	}
	return ErrorStats{MAPE: sum / float64(len(errs)), MedianAPE: cost.Median(abs), MedianBias: cost.Median(slices.Clone(errs))}
}

// Group returns the row of the named group and whether there is one.
func (t GroupTable) Group(name string) (GroupRow, bool) {
	for _, g := range t.Groups {
		if g.Group == name {
			return g, true
		}
	}
	return GroupRow{}, false
}

// WriteText writes the table for people: one line per group and the
// pooled line; a group with no simulated row shows dashes.
func (t GroupTable) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "group\trows\tskipped\tTTFT MAPE %%\tmedian APE %%\tmedian bias %%\tTPOT MAPE %%\tmedian APE %%\tmedian bias %%\t\n")
	for _, g := range append(slices.Clone(t.Groups), t.Pooled) {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", g.Group, g.Rows, g.Skipped,
			pct(g.TTFT.MAPE), pct(g.TTFT.MedianAPE), signed(g.TTFT.MedianBias), pct(g.TPOT.MAPE), pct(g.TPOT.MedianAPE), signed(g.TPOT.MedianBias))
	}
	return tw.Flush()
}

func pct(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return strconv.FormatFloat(v, 'f', 1, 64)
}

func signed(v float64) string {
	if math.IsNaN(v) {
		return "-"
	}
	return fmt.Sprintf("%+.1f", v)
}

// GroupHeader is the header WriteCSV writes.
var GroupHeader = []string{"group", "model", "gpu", "engine", "precision", "mode", "rows", "skipped",
	"ttft_mape_pct", "ttft_median_ape_pct", "ttft_median_bias_pct", "tpot_mape_pct", "tpot_median_ape_pct", "tpot_median_bias_pct"}

// WriteCSV writes one record per group and a last "pooled" record; a
// statistic with no simulated row is empty.
func (t GroupTable) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write(GroupHeader)
	f := func(v float64) string {
		if math.IsNaN(v) {
			return ""
		}
		return strconv.FormatFloat(v, 'g', 6, 64)
	}
	for _, g := range append(slices.Clone(t.Groups), t.Pooled) {
		cw.Write([]string{g.Group, g.Model, g.GPU, g.Engine, g.Precision, g.Mode, strconv.Itoa(g.Rows), strconv.Itoa(g.Skipped),
			f(g.TTFT.MAPE), f(g.TTFT.MedianAPE), f(g.TTFT.MedianBias), f(g.TPOT.MAPE), f(g.TPOT.MedianAPE), f(g.TPOT.MedianBias)})
	}
	cw.Flush()
	return cw.Error()
}

// EngineAccuracy is the accuracy of one engine's simulated rows with the
// rows grouped by TP ("TP  1", "TP  2", ... padded so they sort by
// number): the data of the per-engine validation figure.
type EngineAccuracy struct {
	Engine     string
	TTFT, TPOT analysis.AccuracyTable
}

// ByEngine tabulates the simulated rows of each engine by TP, engines
// sorted by name; an engine with no simulated row is left out.
func (rep *Report) ByEngine() []EngineAccuracy {
	ttft, tpot := map[string][]analysis.Pair{}, map[string][]analysis.Pair{}
	for _, p := range rep.Predictions {
		if !p.Simulated() {
			continue
		}
		e := strings.ToLower(p.Row.Backend)
		l, g := p.Row.Label(), p.Row.Parallelism()
		ttft[e] = append(ttft[e], analysis.Pair{Label: l, Group: g, Measured: p.Row.TTFTms, Predicted: p.Metrics.TTFTms})
		tpot[e] = append(tpot[e], analysis.Pair{Label: l, Group: g, Measured: p.Row.TPOTms, Predicted: p.Metrics.TPOTms})
	}
	var out []EngineAccuracy
	for _, e := range slices.Sorted(maps.Keys(ttft)) {
		out = append(out, EngineAccuracy{Engine: e, TTFT: analysis.Accuracy(ttft[e]), TPOT: analysis.Accuracy(tpot[e])})
	}
	return out
}
