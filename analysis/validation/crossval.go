package validation

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/replay"
)

// Fold is one leave-one-group-out fold: the constants fitted without the
// group and the group's rows predicted with them.
type Fold struct {
	Group string
	// Costs were fitted on TrainGroups: every other group of the group's
	// engine, aggregated or disaggregated, or, where the engine has no
	// other group with a row lodsim simulates, every other group of every
	// engine (CrossEngine).
	Costs       replay.EngineCosts
	TrainGroups []string
	CrossEngine bool
	Predictions []Prediction
}

// CrossValidation is leave-one-group-out cross-validation of the engine
// constants: per fold, and every fold's predictions tabulated together
// (Table: per group and pooled).
type CrossValidation struct {
	Folds []Fold
	Table GroupTable
}

// CrossValidate runs leave-one-group-out cross-validation: for each group
// of rows (Row.Group; a disaggregated group is one, as in the fit), fit
// the engine constants on the other groups of its engine, aggregated and
// disaggregated alike, then predict every row of the left-out group with
// those constants. It measures what a user should expect of the shipped
// constants on a deployment they were not fitted to. Groups of an engine
// lodsim does not know, and rows that cannot be simulated, appear in the
// table as skipped.
func CrossValidate(rows []Row, opt EngineFitOptions) (*CrossValidation, error) {
	byGroup := map[string][]Row{}
	for _, r := range rows {
		byGroup[r.Group()] = append(byGroup[r.Group()], r)
	}
	names := make([]string, 0, len(byGroup))
	for g := range byGroup {
		names = append(names, g)
	}
	slices.Sort(names)
	for _, g := range opt.LeaveOut {
		if byGroup[g] == nil {
			return nil, fmt.Errorf("leave out %q: no such group (the groups are %s)", g, strings.Join(names, "; "))
		}
	}
	cv := &CrossValidation{}
	var all []Prediction
	for _, g := range names {
		if len(opt.LeaveOut) > 0 && !slices.Contains(opt.LeaveOut, g) {
			continue
		}
		left := byGroup[g]
		f := Fold{Group: g}
		e := replay.Engine(strings.ToLower(strings.TrimSpace(left[0].Backend)))
		if !slices.Contains(replay.Engines, e) {
			ps, err := PredictAll(left, opt.Sim) // skipped, each with its reason
			if err != nil {
				return nil, err
			}
			all = append(all, ps...)
			continue
		}
		ec, _, err := fitPooled(foldTrain(rows, g, e), e, opt)
		if errors.Is(err, ErrNoRows) {
			// No other group of the engine has a row lodsim simulates
			// (or none exists): fit on every other group.
			f.CrossEngine = true
			ec, _, err = fitPooled(foldTrain(rows, g, ""), e, opt)
		}
		if err != nil {
			return nil, fmt.Errorf("fold %s: %w", g, err)
		}
		f.Costs = ec
		f.TrainGroups = ec.Groups
		sim := opt.Sim
		o := ec.Overheads(0)
		sim.Overheads, sim.Ramp = &o, &ec.ClientRamp
		if f.Predictions, err = PredictAll(left, sim); err != nil {
			return nil, err
		}
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "fold %s: fitted on %d groups: step %.0f ns, per seq %.0f ns, per prefill token %.1f ns, per request %.0f ns\n",
				g, len(f.TrainGroups), ec.StepNs, ec.PerSeqNs, ec.PerPrefillTokenNs, ec.PerRequestNs)
		}
		all = append(all, f.Predictions...)
		cv.Folds = append(cv.Folds, f)
	}
	cv.Table = Groups(all)
	return cv, nil
}

// foldTrain are the rows the fold of group g fits on: every other group's
// rows of engine e, aggregated and disaggregated, or of every engine when
// e is "".
func foldTrain(rows []Row, g string, e replay.Engine) []Row {
	var train []Row
	for _, r := range rows {
		if r.Group() != g && (e == "" || strings.EqualFold(strings.TrimSpace(r.Backend), string(e))) {
			train = append(train, r)
		}
	}
	return train
}

// fitPooled fits one set of constants to train by engineObjective,
// whatever their engines (each row still runs its own engine's
// scheduler), labelled e.
func fitPooled(train []Row, e replay.Engine, opt EngineFitOptions) (replay.EngineCosts, FitReport, error) {
	ob := engineObjective(train)
	use := Subsample(train, perGroup(opt))
	maxIter := opt.MaxIter
	if maxIter <= 0 {
		maxIter = 8
	}
	sim := opt.Sim
	sim.Profiles = nil
	rep := FitReport{}
	for _, p := range EngineParams {
		rep.Params = append(rep.Params, p.String())
	}
	ec := replay.EngineCosts{Engine: e}
	if len(use) == 0 {
		return ec, rep, fmt.Errorf("%w: no %s row", ErrNoRows, e)
	}
	// The client ramp is a switch, not a smooth parameter: fit the costs
	// with the clients in lock-step and spread, and keep the better.
	var o cost.Overheads
	start := rep
	for _, ramp := range []float64{0, 1} {
		sim.Ramp = &ramp
		or, r, err := fitRows(use, cost.Overheads{}, sim, EngineParams, maxIter, nil, ob, start)
		if err != nil {
			return ec, r, err
		}
		if opt.Log != nil {
			fmt.Fprintf(opt.Log, "  %s, client ramp %g: cost %.4g -> %.4g\n", e, ramp, r.StartCost, r.EndCost)
		}
		if ramp == 0 || r.EndCost < rep.EndCost {
			o, rep, ec.ClientRamp = or, r, ramp
		}
	}
	ec.StepNs, ec.PerSeqNs, ec.PerPrefillTokenNs, ec.PerRequestNs = o.StepNs, o.PerSeqNs, o.PerPrefillTokenNs, o.PerRequestNs
	seen := map[string]bool{}
	for _, p := range rep.After.Predictions {
		if !p.Simulated() {
			continue
		}
		ec.Rows++
		if g := p.Row.Group(); !seen[g] {
			seen[g] = true
			ec.Groups = append(ec.Groups, g)
		}
	}
	slices.Sort(ec.Groups)
	return ec, rep, nil
}

// engineObjective is the engine-constant fit's objective (BENCHMARKS.md,
// "Engine constants"): log ratios, so over- and under-prediction weigh
// alike; every group weighing the same whatever its number of simulated
// rows, so a large group does not set the constants of every other;
// Cauchy's loss at EngineRobustScale, so rows the step model gets wrong by
// more than a factor of two do not decide the constants; and each constant
// at most the smallest measured time of train it is part of
// (measuredBounds).
func engineObjective(train []Row) objective {
	return objective{logRatio: true, balanced: true, robustScale: EngineRobustScale, upper: measuredBounds(train, EngineParams)}
}

// WriteText writes each fold's constants and the held-out table.
func (cv *CrossValidation) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "leave-one-group-out cross-validation: each group predicted with engine constants fitted on the other groups of its engine\n\n")
	fmt.Fprintf(w, "%-48s %7s %10s %10s %12s %12s %5s  %s\n", "left-out group", "groups", "step ns", "seq ns", "prefill ns", "request ns", "ramp", "fitted on")
	for _, f := range cv.Folds {
		on := "other groups of its engine"
		if f.CrossEngine {
			on = "every other group (no other group of its engine)"
		}
		fmt.Fprintf(w, "%-48s %7d %10.0f %10.0f %12.1f %12.0f %5g  %s\n", f.Group, len(f.TrainGroups), f.Costs.StepNs, f.Costs.PerSeqNs, f.Costs.PerPrefillTokenNs, f.Costs.PerRequestNs, f.Costs.ClientRamp, on)
	}
	fmt.Fprintf(w, "\nheld-out accuracy per group; bias = median signed error, > 0 predicts too high\n")
	return cv.Table.WriteText(w)
}

// CVRowsPerGroup and CVMaxIter are the fitting budget of each fold of
// WriteCrossValidation: smaller than the shipped fit's (ten folds of a
// full fit would take two hours on two shared cores), so the cross-validated error
// is, if anything, pessimistic.
const (
	CVRowsPerGroup = 3
	CVMaxIter      = 3
)

// WriteCrossValidation runs CrossValidate with mode "group" (the one mode)
// and writes it, each fold's line as it completes and then the table; a
// run in which no group was predicted is ErrAllSkipped.
func WriteCrossValidation(w io.Writer, mode string, rows []Row, sim Options) error {
	if mode != "group" {
		return fmt.Errorf("--cv: %q, expected group (leave one group out)", mode)
	}
	cv, err := CrossValidate(rows, EngineFitOptions{Sim: sim, Log: w, PerGroup: CVRowsPerGroup, MaxIter: CVMaxIter})
	if err != nil {
		return err
	}
	fmt.Fprintln(w)
	if err := cv.WriteText(w); err != nil {
		return err
	}
	if cv.Table.Pooled.Simulated() == 0 {
		return fmt.Errorf("validate --cv: every one of the %d rows was skipped (reasons above); %w", len(rows), ErrAllSkipped)
	}
	return nil
}
