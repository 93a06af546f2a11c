package validation

import (
	"math"
)

// objective is what fitRows minimises: the sum of squares of one residual
// per simulated row and metric (TTFT, TPOT), each
//
//	r = ln(predicted / measured)          with logRatio
//	r = (predicted - measured) / measured otherwise
//
// then, with balanced, multiplied by sqrt(N / (G n_g)) (N simulated rows in
// G groups, n_g in the row's group), and, with RobustScale c > 0, passed
// through Cauchy's loss: sign(r) c sqrt(ln(1 + (r/c)²)), whose square is
// 2 rho(r) for rho(r) = c²/2 ln(1 + (r/c)²) (Triggs, McLauchlan, Hartley and
// Fitzgibbon, "Bundle Adjustment: A Modern Synthesis", 2000, section 3.3:
// Gauss-Newton on the square roots of a robust cost). Upper, when set,
// bounds each fitted parameter from above (in fitRows' units), as 0 does
// from below.
type objective struct {
	logRatio    bool
	balanced    bool
	robustScale float64
	upper       []float64
}

// EngineRobustScale is the Cauchy scale of the engine-constant fit's log
// ratios: ln 2, a factor of two. A row predicted more than twice or less
// than half its measurement is off for a reason the CPU constants cannot
// remove (a KV-capacity queue, a step-cost model that is wrong for the
// model); Cauchy's influence r / (1 + (r/c)²) gives such a row at most half
// the pull it has in least squares, and less the further off it is, while
// rows within a few tens of percent weigh as in least squares.
var EngineRobustScale = math.Ln2

// residuals are the objective's residuals of the simulated predictions, in
// order: TTFT then TPOT of each.
func (ob objective) residuals(preds []Prediction) []float64 {
	perGroup := map[string]int{}
	n := 0
	for _, p := range preds {
		if p.Simulated() {
			perGroup[p.Row.Group()]++
			n++
		}
	}
	var res []float64
	for _, p := range preds {
		if !p.Simulated() {
			continue
		}
		w := 1.0
		if ob.balanced {
			w = math.Sqrt(float64(n) / float64(len(perGroup)*perGroup[p.Row.Group()]))
		}
		for _, pm := range [2][2]float64{{p.Metrics.TTFTms, p.Row.TTFTms}, {p.Metrics.TPOTms, p.Row.TPOTms}} {
			var r float64
			if ob.logRatio {
				r = math.Log(pm[0] / pm[1])
			} else {
				r = (pm[0] - pm[1]) / pm[1]
			}
			res = append(res, ob.robust(w*r))
		}
	}
	return res
}

// robust is Cauchy's square-rooted loss of r (objective), or r without a
// scale.
func (ob objective) robust(r float64) float64 {
	c := ob.robustScale
	if c <= 0 {
		return r
	}
	return math.Copysign(c*math.Sqrt(math.Log1p((r/c)*(r/c))), r)
}

// clamp keeps x[i] of parameter i within [0, upper[i]].
func (ob objective) clamp(i int, x float64) float64 {
	x = math.Max(0, x)
	if i < len(ob.upper) && ob.upper[i] > 0 {
		x = math.Min(x, ob.upper[i])
	}
	return x
}

// diffStep is the finite-difference step of parameter i at x, of size h
// where that stays within [0, upper[i]]: forward, else backward (near the
// upper bound), else whichever way has more room when the bounds are
// closer together than h, so no trial point leaves them (a negative or
// over-bound trial overhead is one the fit may never take).
func (ob objective) diffStep(i int, x, h float64) float64 {
	fwd := ob.clamp(i, x+h) - x
	if fwd >= h {
		return h
	}
	if bwd := x - ob.clamp(i, x-h); bwd >= fwd {
		return -bwd
	}
	return fwd
}

// measuredBounds are upper bounds on the engine constants params that the
// measurements themselves imply, in fitRows' units (paramInfo scales): a
// cost that is part of a measured time cannot exceed it. The per-request
// cost is in every request's TTFT, so it is at most the smallest TTFT of
// rows; the per-prefill-token cost, times the prompt, at most the
// smallest TTFT / ISL; the per-step cost is in every decode step, so it
// is at most the smallest TPOT; the per-sequence cost is paid once for
// each sequence a step decodes, so, times the sequences a replica (an
// attention-DP rank) decodes at once, at most that row's TPOT: at most the
// smallest TPOT / (clients per rank). A step cannot take less time than
// its CPU work whether or not an overlap scheduler hides that work behind
// the GPU's, so the bounds hold for overlapped engines too, where the
// rows otherwise leave the per-step costs unconstrained. No bound (0)
// where no row measures the time.
func measuredBounds(rows []Row, params []OverheadParam) []float64 {
	minTTFT, minTPOT, minPerToken, minPerSeq := math.Inf(1), math.Inf(1), math.Inf(1), math.Inf(1)
	for _, r := range rows {
		if r.TTFTms > 0 {
			minTTFT = math.Min(minTTFT, r.TTFTms)
			if r.ISL > 0 {
				minPerToken = math.Min(minPerToken, r.TTFTms/float64(r.ISL))
			}
		}
		if r.TPOTms > 0 {
			minTPOT = math.Min(minTPOT, r.TPOTms)
			minPerSeq = math.Min(minPerSeq, r.TPOTms/seqsPerRank(r))
		}
	}
	ub := make([]float64, len(params))
	for i, p := range params {
		var ms float64
		switch p {
		case ParamPerRequest:
			ms = minTTFT
		case ParamPerPrefillToken:
			ms = minPerToken
		case ParamStep:
			ms = minTPOT
		case ParamPerSeq:
			ms = minPerSeq
		default:
			continue
		}
		if !math.IsInf(ms, 1) {
			ub[i] = ms * 1e6 / paramInfo[p].scale
		}
	}
	return ub
}

// seqsPerRank is how many sequences one replica of row r decodes at once
// on average when every client is decoding: its clients over its
// attention-DP ranks (stated, or implied by vLLM's data parallelism), at
// least 1. A fraction is kept: 10 clients over 4 ranks are 2.5 a rank, not
// 2.
//
// A disaggregated row's steps of TPOT run on its decode pool (decode
// workers x decode attention DP ranks, its recipe's where the row leaves
// them blank, as disaggRowConfig builds them), and a client is in that
// pool only from its KV's arrival to its last token: the rest of its
// cycle, its TTFT, it waits for and runs on the prefill pool, whose queue
// reaches minutes at a thousand clients (135 s of TTFT against 29 s of
// decode). By Little's law the pool then holds on average clients x
// (OSL-1) TPOT / (TTFT + (OSL-1) TPOT), and counting every client would
// bound the per-sequence cost several times below what the row implies.
func seqsPerRank(r Row) float64 {
	if r.Concurrency < 1 {
		return 1
	}
	if r.Disaggregated() {
		d := disaggLayout(r)
		n := float64(r.Concurrency) / float64(max(d.DecodeWorkers, 1)*max(d.DecodeAttentionDP, 1))
		if decode := float64(max(r.OSL-1, 0)) * r.TPOTms; decode > 0 && r.TTFTms > 0 {
			n *= decode / (r.TTFTms + decode)
		}
		return max(1, n)
	}
	engine, _, _ := rowEngine(r) // "" for an unknown backend: no implied DP
	dp := impliedDP(r, engine, max(1, r.AttentionDP))
	return max(1, float64(r.Concurrency)/float64(dp))
}
