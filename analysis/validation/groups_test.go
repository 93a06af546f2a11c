package validation

import (
	"bytes"
	"math"
	"slices"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
)

// TestGroupTable: errors by hand. Group a has three simulated rows with
// TTFT errors +10 %, -20 %, +30 % and TPOT errors 0, +5 %, -5 %, and one
// skipped row; group b only a skipped row.
func TestGroupTable(t *testing.T) {
	row := func(model string) Row {
		return Row{Model: model, GPU: "h100_sxm", Backend: "vllm", TTFTms: 100, TPOTms: 10, TP: 1}
	}
	sim := func(r Row, ttft, tpot float64) Prediction {
		return Prediction{Row: r, Metrics: Metrics{TTFTms: ttft, TPOTms: tpot}}
	}
	a, b := row("org/A"), row("org/B")
	preds := []Prediction{sim(a, 110, 10), sim(a, 80, 10.5), {Row: a, Skipped: "why"}, sim(a, 130, 9.5), {Row: b, Skipped: "why"}}
	tab := Groups(preds)
	if len(tab.Groups) != 2 {
		t.Fatalf("%d groups, expected 2: %+v", len(tab.Groups), tab.Groups)
	}
	ga, ok := tab.Group("A h100_sxm vllm bf16 agg")
	if !ok {
		t.Fatalf("no group A: %+v", tab.Groups)
	}
	// Sums of small decimals: 1e-9 of rounding.
	near := func(got, want float64) bool { return math.Abs(got-want) < 1e-9 }
	if ga.Rows != 4 || ga.Skipped != 1 || !near(ga.TTFT.MAPE, 20) || !near(ga.TTFT.MedianAPE, 20) || !near(ga.TTFT.MedianBias, 10) ||
		!near(ga.TPOT.MAPE, 10.0/3) || !near(ga.TPOT.MedianAPE, 5) || !near(ga.TPOT.MedianBias, 0) {
		t.Errorf("group A: %+v", ga)
	}
	gb, _ := tab.Group("B h100_sxm vllm bf16 agg")
	if gb.Rows != 1 || gb.Skipped != 1 || !math.IsNaN(gb.TTFT.MAPE) {
		t.Errorf("group B: %+v", gb)
	}
	if tab.Pooled.Rows != 5 || tab.Pooled.Skipped != 2 || !near(tab.Pooled.TTFT.MAPE, 20) {
		t.Errorf("pooled: %+v", tab.Pooled)
	}
	var buf bytes.Buffer
	tab.WriteText(&buf)
	if !strings.Contains(buf.String(), "+10.0") || !strings.Contains(buf.String(), " - ") {
		t.Errorf("text:\n%s", buf.String())
	}
}

// TestWholeFileValidatesTheRest: in one file, a disaggregated row and a row
// of an unknown model are skipped, each with its reason, and the
// aggregated row is simulated; WriteText reports ErrAllSkipped only when
// nothing was simulated.
func TestWholeFileValidatesTheRest(t *testing.T) {
	data := siliconHeader + "\n" +
		"ok,agg,Qwen/Qwen3-32B,h100_sxm,sglang,0.5.1.post1,1024,128,16,4,492.8,10.55\n" +
		"dis,disagg,deepseek-ai/DeepSeek-R1,h200_sxm,sglang,0.5.8,1024,1024,,,500,20\n" +
		"unk,agg,nobody/NoModel-1B,h100_sxm,vllm,0.12.0,1024,128,16,1,100,10\n"
	rows, _, err := ReadBenchmarks(strings.NewReader(data), "mixed.csv")
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Validate(rows, Options{RequestsPerClient: 4})
	if err != nil {
		t.Fatal(err)
	}
	if rep.Groups.Pooled.Rows != 3 || rep.Groups.Pooled.Skipped != 2 || rep.TTFT.Overall.Count != 1 {
		t.Fatalf("pooled %+v, %d simulated", rep.Groups.Pooled, rep.TTFT.Overall.Count)
	}
	// The TTFT and TPOT tables count the skipped rows per group as the
	// group table does (they printed 0 while the group table had 2).
	for _, tab := range []analysis.AccuracyTable{rep.TTFT, rep.TPOT} {
		for _, g := range rep.Groups.Groups {
			if a, ok := tab.Group(g.Group); !ok || a.Skipped != int64(g.Skipped) {
				t.Errorf("metric table, group %s: %+v, expected %d skipped", g.Group, a, g.Skipped)
			}
		}
		if tab.Overall.Skipped != 2 || tab.Overall.Count != 1 {
			t.Errorf("metric table overall %+v, expected 1 counted and 2 skipped", tab.Overall)
		}
	}
	for _, p := range rep.Skipped() {
		if p.Skipped == "" || !(strings.Contains(p.Skipped, "disaggregated") || strings.Contains(p.Skipped, "unknown model")) {
			t.Errorf("row %s skipped for %q", p.Row.ID, p.Skipped)
		}
	}
	var buf bytes.Buffer
	if err := rep.WriteText(&buf, LayoutSilicon); err != nil {
		t.Errorf("WriteText: %v", err)
	}
	none := NewReport(rep.Skipped())
	if err := none.WriteText(&buf, LayoutSilicon); err == nil {
		t.Error("all rows skipped: no error")
	}
}

// TestCrossValidateSmall: leave-one-group-out on two rows of each of three
// groups: every group is predicted with constants fitted without it (on
// the other vLLM group for a vLLM group, on every other group for the
// lone SGLang group), and the table pools the held-out predictions.
func TestCrossValidateSmall(t *testing.T) {
	rows, _, err := ReadBenchmarkFile(wholeDevSet)
	if err != nil {
		t.Fatal(err)
	}
	keep := map[string]bool{"Llama-3.1-70B h200_sxm vllm fp8 agg": true, "Llama-3.1-70B b200_sxm vllm fp4 agg": true, "Qwen3-32B h100_sxm sglang bf16 agg": true}
	var sub []Row
	for _, r := range rows {
		if keep[r.Group()] && r.OSL <= 1024 && r.Concurrency <= 16 {
			sub = append(sub, r)
		}
	}
	sub = Subsample(sub, 2)
	cv, err := CrossValidate(sub, EngineFitOptions{PerGroup: 2, MaxIter: 1, Sim: Options{RequestsPerClient: 4}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Folds) != 3 {
		t.Fatalf("%d folds, expected 3", len(cv.Folds))
	}
	for _, f := range cv.Folds {
		for _, g := range f.TrainGroups {
			if g == f.Group {
				t.Errorf("fold %s was fitted on itself", f.Group)
			}
		}
		sglang := strings.Contains(f.Group, "sglang")
		if f.CrossEngine != sglang || len(f.TrainGroups) != map[bool]int{true: 2, false: 1}[sglang] {
			t.Errorf("fold %s: fitted on %v (cross-engine %v)", f.Group, f.TrainGroups, f.CrossEngine)
		}
		if len(f.Predictions) != 2 || f.Costs.Engine != replay.Engine(f.Predictions[0].Row.Backend) {
			t.Errorf("fold %s: %d predictions, constants of %s", f.Group, len(f.Predictions), f.Costs.Engine)
		}
	}
	if cv.Table.Pooled.Simulated() != 6 || len(cv.Table.Groups) != 3 {
		t.Errorf("pooled table %+v", cv.Table.Pooled)
	}
	// LeaveOut runs the named fold only, fitted on both other groups.
	one := "Qwen3-32B h100_sxm sglang bf16 agg"
	cv, err = CrossValidate(sub, EngineFitOptions{PerGroup: 2, MaxIter: 1, Sim: Options{RequestsPerClient: 4}, LeaveOut: []string{one}})
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Folds) != 1 || cv.Folds[0].Group != one || len(cv.Folds[0].TrainGroups) != 2 || len(cv.Table.Groups) != 1 || cv.Table.Pooled.Simulated() != 2 {
		t.Errorf("LeaveOut %s: folds %+v, table %+v", one, cv.Folds, cv.Table.Pooled)
	}
	// A misspelt group is an error, not an empty run.
	if _, err := CrossValidate(sub, EngineFitOptions{LeaveOut: []string{"qwen3-32b"}}); err == nil || !strings.Contains(err.Error(), `leave out "qwen3-32b": no such group`) {
		t.Errorf("LeaveOut of no group: %v", err)
	}
}

// TestCrossValidateDisagg: the disaggregated SGLang group takes part in
// SGLang's fit (FitEngineCosts names it among the groups fitted on) and
// is a fold of its own in leave-one-group-out cross-validation, fitted on
// the aggregated SGLang group, whose fold in turn is fitted on the
// disaggregated one, not across engines.
func TestCrossValidateDisagg(t *testing.T) {
	if testing.Short() {
		t.Skip("fits to disaggregated DeepSeek-R1 rows")
	}
	rows, _, err := ReadBenchmarkFile(wholeDevSet)
	if err != nil {
		t.Fatal(err)
	}
	const agg, dis = "Qwen3-32B h100_sxm sglang bf16 agg", "DeepSeek-R1 h200_sxm sglang fp8 disagg"
	var sub []Row
	for _, r := range rows {
		if (r.Group() == agg && r.OSL <= 1024 && r.Concurrency <= 16) || (r.Group() == dis && r.ISL == 1024 && r.Concurrency <= 4) {
			sub = append(sub, r)
		}
	}
	sub = Subsample(sub, 2)
	opt := EngineFitOptions{PerGroup: 2, MaxIter: 1, Sim: Options{RequestsPerClient: 4}}
	ec, _, err := FitEngineCosts(sub, replay.EngineSGLang, opt)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ec.Groups, []string{dis, agg}) || ec.Rows != 4 {
		t.Errorf("SGLang fitted on %v (%d rows), expected %s and %s (4 rows)", ec.Groups, ec.Rows, dis, agg)
	}
	cv, err := CrossValidate(sub, opt)
	if err != nil {
		t.Fatal(err)
	}
	if len(cv.Folds) != 2 {
		t.Fatalf("%d folds, expected 2 (the disaggregated group held out too)", len(cv.Folds))
	}
	for _, f := range cv.Folds {
		other := map[string]string{agg: dis, dis: agg}[f.Group]
		if f.CrossEngine || !slices.Equal(f.TrainGroups, []string{other}) {
			t.Errorf("fold %s: fitted on %v (cross-engine %v), expected %s", f.Group, f.TrainGroups, f.CrossEngine, other)
		}
		for _, p := range f.Predictions {
			if !p.Simulated() {
				t.Errorf("fold %s: %s skipped: %s", f.Group, p.Row.ID, p.Skipped)
			}
		}
	}
	if cv.Table.Pooled.Simulated() != 4 {
		t.Errorf("%d held-out rows simulated, expected 4", cv.Table.Pooled.Simulated())
	}
	// A disaggregated group none of whose rows simulates (no pool TPs)
	// leaves the SGLang fold nothing of its engine: it fits across
	// engines, on the vLLM group, instead of failing.
	const vllm = "Llama-3.1-70B h200_sxm vllm fp8 agg"
	var bad []Row
	for _, r := range sub {
		if r.Group() == dis {
			r.Disagg = DisaggLayout{}
		}
		bad = append(bad, r)
	}
	for _, r := range rows {
		if r.Group() == vllm && r.OSL <= 1024 && r.Concurrency <= 16 {
			bad = append(bad, r)
		}
	}
	opt.LeaveOut = []string{agg}
	cv, err = CrossValidate(Subsample(bad, 2), opt)
	if err != nil {
		t.Fatal(err)
	}
	if f := cv.Folds[0]; !f.CrossEngine || !slices.Equal(f.TrainGroups, []string{vllm}) {
		t.Errorf("fold %s with an unsimulated disaggregated group: fitted on %v (cross-engine %v), expected %s across engines", f.Group, f.TrainGroups, f.CrossEngine, vllm)
	}
}
