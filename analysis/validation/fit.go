package validation

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"

	"gonum.org/v1/gonum/mat"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// ErrNoRows is returned when a fit has no simulated row to fit to.
var ErrNoRows = errors.New("validation: no row to fit to")

// OverheadParam names one fitted parameter of cost.Overheads.
type OverheadParam int

// The fitted parameters, in the order of FitReport.Params.
const (
	ParamStep OverheadParam = iota
	ParamPerSeq
	ParamPerPrefillToken
	ParamPerRequest
	ParamMemoryReserve
	numParams
)

var paramInfo = [numParams]struct {
	name  string
	scale float64 // ns; the fit works in units of this, so steps are comparable
}{
	{"step_ns", 1e6},
	{"per_seq_ns", 1e5},
	{"per_prefill_token_ns", 100},
	{"per_request_ns", 1e7},
	{"memory_reserve_gb", 1},
}

func (p OverheadParam) String() string { return paramInfo[p].name }

func getParam(o cost.Overheads, p OverheadParam) float64 {
	switch p {
	case ParamStep:
		return o.StepNs
	case ParamPerSeq:
		return o.PerSeqNs
	case ParamPerPrefillToken:
		return o.PerPrefillTokenNs
	case ParamMemoryReserve:
		return o.MemoryReserveGB
	}
	return o.PerRequestNs
}

func setParam(o *cost.Overheads, p OverheadParam, v float64) {
	switch p {
	case ParamStep:
		o.StepNs = v
	case ParamPerSeq:
		o.PerSeqNs = v
	case ParamPerPrefillToken:
		o.PerPrefillTokenNs = v
	case ParamMemoryReserve:
		o.MemoryReserveGB = v
	default:
		o.PerRequestNs = v
	}
}

// FitOptions control FitOverheads.
type FitOptions struct {
	Sim Options // how rows are simulated; Sim.Overheads is ignored
	// Params lists the parameters to fit; nil fits all five. The others
	// keep the base profile's values.
	Params []OverheadParam
	// MaxIter bounds the Levenberg-Marquardt iterations; 0 is 25.
	MaxIter int
	// Log, if set, receives one line per iteration.
	Log io.Writer
}

// FitReport says how the fit went.
type FitReport struct {
	Rows       int      // rows fitted to
	Skipped    []string // rows left out, each with its reason
	Params     []string // fitted parameter names
	Start, End cost.Overheads
	// Cost is the sum of squared relative errors of TTFT and TPOT over the
	// rows, before and after (for the engine constants, of their objective's
	// residuals: engineObjective).
	StartCost, EndCost float64
	Iterations         int
	Evaluations        int // simulations of the whole row set
	// Before and After are the accuracy on the fitted rows with the start
	// and the fitted overheads.
	Before, After *Report
}

// WriteText writes the report for people.
func (r *FitReport) WriteText(w io.Writer) error {
	fmt.Fprintf(w, "fitted %d rows (%d skipped) in %d iterations, %d evaluations\n", r.Rows, len(r.Skipped), r.Iterations, r.Evaluations)
	for _, s := range r.Skipped {
		fmt.Fprintf(w, "  skipped: %s\n", s)
	}
	fmt.Fprintf(w, "cost (sum of squared relative errors): %.4g -> %.4g\n", r.StartCost, r.EndCost)
	for p := OverheadParam(0); p < numParams; p++ {
		fmt.Fprintf(w, "  %-22s %14.1f -> %14.1f ns\n", p, getParam(r.Start, p), getParam(r.End, p))
	}
	if r.Before != nil && r.After != nil {
		fmt.Fprintf(w, "TTFT MAPE %.2f%% -> %.2f%%, TPOT MAPE %.2f%% -> %.2f%%\n",
			r.Before.TTFT.Overall.MAPE, r.After.TTFT.Overall.MAPE, r.Before.TPOT.Overall.MAPE, r.After.TPOT.Overall.MAPE)
	}
	return nil
}

// FitOverheads fits the engine overheads of base to the end-to-end
// measurements in rows by non-linear least squares on relative errors:
//
//	minimise  sum over rows of ((TTFT_sim - TTFT)/TTFT)² + ((TPOT_sim - TPOT)/TPOT)²
//	subject to every overhead >= 0
//
// with TTFT_sim and TPOT_sim from replaying each row (RowConfig, Measure)
// through the simulator. The solver is Levenberg-Marquardt (Levenberg
// 1944, Marquardt 1963; Nocedal and Wright, Numerical Optimization, 2nd
// ed., section 10.3) with Marquardt's diagonal scaling and a Jacobian by
// forward differences of whole re-simulations, in parameter units of
// 1 ms (step), 0.1 ms (per sequence), 100 ns (per prefill token) and 10 ms
// (per request); bounds are kept by projecting each step onto the
// non-negative orthant. The simulator is piecewise smooth in the
// parameters (scheduling decisions switch), so difference steps are a few
// percent, not machine epsilon, and the descent starts from the best
// point of a coarse scan along each parameter (0.5, 1, 2 and 4 units).
// Rows whose GPU is not base's are skipped.
func FitOverheads(rows []Row, base *cost.Profile, opt FitOptions) (cost.Overheads, FitReport, error) {
	rep := FitReport{Start: base.Overhead, End: base.Overhead}
	params := opt.Params
	if params == nil {
		params = []OverheadParam{ParamStep, ParamPerSeq, ParamPerPrefillToken, ParamPerRequest, ParamMemoryReserve}
	}
	for _, p := range params {
		if p < 0 || p >= numParams {
			return base.Overhead, rep, fmt.Errorf("validation: fit parameter %d: expected 0..%d", p, numParams-1)
		}
		rep.Params = append(rep.Params, p.String())
	}
	maxIter := opt.MaxIter
	if maxIter <= 0 {
		maxIter = 25
	}
	sim := opt.Sim
	key := base.GPU().Key
	sim.Profiles = map[string]*cost.Profile{key: base}
	var use []Row
	for _, r := range rows {
		g, err := cost.LookupGPU(r.GPU)
		if err == nil && g.Key != key {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: line %d: %s: GPU %s, the profile is for %s", r.File, r.Line, r.Label(), g.Key, key))
			continue
		}
		use = append(use, r)
	}
	return fitRows(use, base.Overhead, sim, params, maxIter, opt.Log, objective{}, rep)
}

// fitRows is FitOverheads on rows already chosen, from start, with
// sim.Overheads set to each trial point, minimising ob (objective): with
// its logRatio the residuals are ln(predicted/measured) instead of
// relative errors: symmetric in over- and under-prediction, so a row
// predicted 10x too high (a KV-capacity queue the overheads cannot remove)
// weighs ln 10 = 2.3, not 9, and does not decide the fit of every other
// row.
func fitRows(use []Row, start cost.Overheads, sim Options, params []OverheadParam, maxIter int, log io.Writer, ob objective, rep FitReport) (cost.Overheads, FitReport, error) {
	rows := use
	base := struct{ Overhead cost.Overheads }{start}
	eval := func(o cost.Overheads) (*Report, []float64, error) {
		rep.Evaluations++
		s := sim
		s.Overheads = &o
		r, err := Validate(use, s)
		if err != nil {
			return nil, nil, err
		}
		return r, ob.residuals(r.Predictions), nil
	}
	toOver := func(x []float64) cost.Overheads {
		o := base.Overhead
		for i, p := range params {
			setParam(&o, p, x[i]*paramInfo[p].scale)
		}
		return o
	}
	cost := func(r []float64) float64 {
		var c float64
		for _, v := range r {
			c += v * v
		}
		return c
	}

	x := make([]float64, len(params))
	for i, p := range params {
		x[i] = ob.clamp(i, getParam(base.Overhead, p)/paramInfo[p].scale)
	}
	before, res, err := eval(toOver(x))
	if err != nil {
		return base.Overhead, rep, err
	}
	rep.Before = before
	for _, p := range before.Predictions {
		if !p.Simulated() {
			rep.Skipped = append(rep.Skipped, fmt.Sprintf("%s: line %d: %s: %s", p.Row.File, p.Row.Line, p.Row.Label(), p.Skipped))
		}
	}
	if len(res) == 0 {
		return base.Overhead, rep, fmt.Errorf("%w: %d rows given, none simulated", ErrNoRows, len(rows))
	}
	rep.Rows = len(res) / 2
	c := cost(res)
	rep.StartCost = c
	after := before
	// The cost is not convex in the parameters (scheduling switches), so
	// a coarse scan along each parameter picks the start of the descent.
	for j := range x {
		last := x[j]
		for _, v := range []float64{0.5, 1, 2, 4} {
			xs := slices.Clone(x)
			if xs[j] = ob.clamp(j, v); xs[j] == x[j] || xs[j] == last {
				continue // the start, or clamped onto a point tried: the same simulation
			}
			last = xs[j]
			r, rs, err := eval(toOver(xs))
			if err != nil {
				return base.Overhead, rep, err
			}
			if len(rs) == len(res) && cost(rs) < c {
				x, res, c, after = xs, rs, cost(rs), r
			}
		}
	}
	lambda := 1e-2
	n, m := len(x), len(res)
	J := mat.NewDense(m, n, nil)
	for it := 0; it < maxIter; it++ {
		rep.Iterations = it + 1
		for j := range n {
			h := ob.diffStep(j, x[j], math.Max(0.25, 0.1*x[j]))
			xp := slices.Clone(x)
			xp[j] += h
			_, rp, err := eval(toOver(xp))
			if err != nil {
				return base.Overhead, rep, err
			}
			if len(rp) != m {
				return base.Overhead, rep, fmt.Errorf("validation: fit: %d residuals at a trial point, expected %d (a row stopped simulating)", len(rp), m)
			}
			for i := range m {
				J.Set(i, j, (rp[i]-res[i])/h)
			}
		}
		var jtj mat.SymDense
		jtj.SymOuterK(1, J.T())
		var g mat.VecDense
		g.MulVec(J.T(), mat.NewVecDense(m, res))
		prev := c
		improved := false
		for try := 0; try < 8; try++ {
			a := mat.NewSymDense(n, nil)
			a.CopySym(&jtj)
			for j := range n {
				d := jtj.At(j, j)
				if d == 0 {
					d = 1
				}
				a.SetSym(j, j, jtj.At(j, j)+lambda*d)
			}
			var step mat.VecDense
			if err := step.SolveVec(a, &g); err != nil {
				lambda *= 10
				continue
			}
			xn := make([]float64, n)
			for j := range n {
				xn[j] = ob.clamp(j, x[j]-step.AtVec(j))
			}
			r, rn, err := eval(toOver(xn))
			if err != nil {
				return base.Overhead, rep, err
			}
			if len(rn) == m && cost(rn) < c {
				x, res, c, after = xn, rn, cost(rn), r
				lambda = math.Max(lambda/3, 1e-7)
				improved = true
				break
			}
			lambda *= 4
		}
		if log != nil {
			fmt.Fprintf(log, "iteration %d: cost %.5g, lambda %.3g, %v\n", it+1, c, lambda, toOver(x))
		}
		// Stop once the cost settles: a relative decrease under 1e-4 per
		// iteration changes no reported digit of the MAPEs.
		if !improved || prev-c < 1e-4*prev {
			break
		}
	}
	rep.End = toOver(x)
	rep.EndCost = c
	rep.After = after
	return rep.End, rep, nil
}

// Split divides rows into two halves for calibrating on one and measuring
// on the other. Rows are shuffled by seed within each group (model, GPU,
// TP) and dealt alternately, so each group sits in both halves; each half
// keeps the rows' original order. The same rows and seed give the same
// halves.
func Split(rows []Row, seed uint64) (calib, eval []Row) {
	groups := map[string][]int{}
	var names []string
	for i, r := range rows {
		g := r.Stratum()
		if _, ok := groups[g]; !ok {
			names = append(names, g)
		}
		groups[g] = append(groups[g], i)
	}
	slices.Sort(names)
	rng := rand.New(rand.NewPCG(seed, 0x73706c6974)) // "split"
	inCalib := make([]bool, len(rows))
	turn := 0
	for _, g := range names {
		idx := groups[g]
		rng.Shuffle(len(idx), func(i, j int) { idx[i], idx[j] = idx[j], idx[i] })
		for _, i := range idx {
			inCalib[i] = turn%2 == 0
			turn++
		}
	}
	for i, r := range rows {
		if inCalib[i] {
			calib = append(calib, r)
		} else {
			eval = append(eval, r)
		}
	}
	return calib, eval
}
