package replay

import (
	"fmt"
	"math"
	"math/bits"

	"github.com/lodsim/lodsim/lod"
)

// adaptiveExecutor is the adaptive level of detail: medium everywhere,
// refined to high only where high could change the answer, in the style of
// SMARTS (Wunderlich et al., ISCA 2003): short windows of steps run at high
// LoD measure, per step class, the ratio of the stage time high produces to
// the one medium predicts, and every other step runs at medium with its
// class's learned ratio applied (mediumExecutor.computeNs).
//
// Where refinement can change nothing (no per-rank variability, no skewed
// expert loads, nothing across nodes; a shared bus alone is medium's fluid
// model, busfluid.go, which follows high's sharing) it never samples:
// every step runs at
// medium and the outputs are medium's, byte for byte, at medium's cost in
// events. A TP group across nodes with nothing else to refine differs
// from medium only at steps whose all-reduces take the ring (ringStage):
// only those are sampled and corrected.
//
// Otherwise:
//
//   - a step class is (pipeline stage, decode-only or not, ⌊log2 tokens⌋):
//     the steps whose residual (what the analytical corrections of
//     mediumcost.go miss: ring hops overlapping a straggler, a hand-off
//     sharing the bus with another stage's all-reduce) is alike;
//   - a step whose class has not converged opens a window of windowSteps
//     x PP consecutive steps of its replica at high, all of them on every
//     stage, so that the steps around it (and their transfers) are real;
//     a stage's step is measured only while every other stage runs a step
//     of the same window (SMARTS's warm-up): at the window's edges the
//     neighbours are medium steps, which put nothing on the links and
//     would hide the contention being measured;
//   - a class converges when it has minSamples measurements and the 95%
//     confidence half-width of its mean ratio is below a quarter of
//     simulation.error_budget: the ratio it applies is then known to well
//     within the budget;
//   - windows stop when high steps would exceed 1/highShare of the steps
//     (plus a start-up allowance), which bounds the cost whatever the
//     classes do: a rare class that never converges borrows its stage's
//     pooled ratio (or its kind's), which is the best estimate there is.
//
// Stats.Adaptive reports the windows, the steps and stage time at each
// level and every class's ratio.
type adaptiveExecutor struct {
	s       *Simulator
	hi      *highExecutor
	med     *mediumExecutor
	budget  float64        // simulation.error_budget
	startAt []Time         // by stage gid: when its current high step started
	window  []int32        // by replica: high steps left in its open window
	pools   []adaptivePool // by pool: aggregated, or prefill then decode
	rep     AdaptiveReport
}

// adaptivePool is what the adaptive level of detail learns of one pool:
// on a disaggregated cluster the prefill and decode pools differ in TP,
// PP and batches, so each has its own step classes.
type adaptivePool struct {
	refine bool // whether high can differ from medium in this pool
	// ringOnly: it can only at steps whose all-reduces take the ring
	// across nodes (ringStage): every other step runs at medium, exact.
	ringOnly bool
	pp       int        // the pool's pipeline stages
	winLen   int32      // steps of a window: windowSteps x PP
	stages   ratioTable // stage times (compute and collectives)
	hops     ratioTable // pipeline hand-offs, by sending stage
}

// poolOf is the adaptive state of g's pool: s.pools holds the aggregated
// pool, or the prefill pool then the decode pool.
func (a *adaptiveExecutor) poolOf(g *workerPool) *adaptivePool {
	if g.kind == PoolDecode {
		return &a.pools[1]
	}
	return &a.pools[0]
}

// DefaultErrorBudget is simulation.error_budget when unset.
const DefaultErrorBudget = 0.01

const (
	windowSteps = 4  // steps of a replica refined per window
	minSamples  = 8  // measurements before a class can converge
	highShare   = 50 // at most one step in highShare at high, ...
	highStartup = 32 // ... after this many
	tokenBucket = 24 // ⌊log2 tokens⌋ classes (up to 16M tokens a step)
)

// ratioTable holds the ratios of every step class of every stage, and
// their pooled form by stage and kind for classes not yet measured.
type ratioTable struct {
	classes []ratioStat // by stage, kind and bucket
	pooled  []ratioStat // by stage and kind
}

func newRatioTable(pp int) ratioTable {
	return ratioTable{classes: make([]ratioStat, pp*2*tokenBucket), pooled: make([]ratioStat, pp*2)}
}

func (t *ratioTable) add(idx int, lb *lod.Batch, hi, med float64) {
	if med <= 0 || hi <= 0 {
		return
	}
	k := classOf(lb)
	t.classes[idx*2*tokenBucket+k].add(hi, med)
	t.pooled[idx*2+k/tokenBucket].add(hi, med)
}

// converged reports whether class k of stage idx is known within budget.
func (t *ratioTable) converged(idx, k int, budget float64) bool {
	c := &t.classes[idx*2*tokenBucket+k]
	return c.n >= minSamples && c.halfWidth() <= budget/4
}

// factor is the learned ratio for step lb on stage idx: its class's once
// it has minSamples measurements, else its stage and kind's pooled
// ratio, else 1 (the analytical prediction alone).
func (t *ratioTable) factor(idx int, lb *lod.Batch) float64 {
	k := classOf(lb)
	if c := &t.classes[idx*2*tokenBucket+k]; c.n >= minSamples {
		return c.ratio()
	}
	if c := &t.pooled[idx*2+k/tokenBucket]; c.n >= minSamples {
		return c.ratio()
	}
	return 1
}

// ratioStat accumulates one class's high/medium stage-time ratios.
type ratioStat struct {
	n        int
	hi, med  float64 // summed stage times (the ratio estimator)
	mean, m2 float64 // of the per-step ratios (Welford), for the interval
}

func (r *ratioStat) add(hi, med float64) {
	r.n++
	r.hi += hi
	r.med += med
	x := hi / med
	d := x - r.mean
	r.mean += d / float64(r.n)
	r.m2 += d * (x - r.mean)
}

// halfWidth is the 95% confidence half-width of the mean ratio.
func (r *ratioStat) halfWidth() float64 {
	if r.n < 2 {
		return math.Inf(1)
	}
	return 1.96 * math.Sqrt(r.m2/float64(r.n-1)/float64(r.n))
}

func (r *ratioStat) ratio() float64 { return r.hi / r.med }

// newAdaptive wraps the high executor s.high with a medium one.
// It runs once the cluster's pools and replicas exist.
//
// On a disaggregated cluster the KV transfers between the pools stay at
// high LoD (they share their lanes with each other, which medium cannot
// see), in their exact compressed form (highExecutor.kvWhole).
func newAdaptive(s *Simulator) {
	c := s.cfg
	a := &adaptiveExecutor{s: s, hi: s.high, med: newMedium(s), budget: c.Simulation.ErrorBudget}
	for _, rp := range s.replicas {
		a.med.initReplica(rp) // made under the high executor alone
	}
	if a.budget == 0 {
		a.budget = DefaultErrorBudget
	}
	a.rep = AdaptiveReport{ErrorBudget: a.budget}
	for _, g := range s.pools {
		// A shared bus at PP1 carries only one ring at a time, which
		// mediumcost.go times exactly (TestMediumSharedBusEqualsHigh);
		// with PP > 1 other stages' rings and hand-offs contend, which
		// medium's fluid bus (busfluid.go) follows at the granularity of
		// one all-reduce: within 0.6% of high's mean latencies on
		// lod-shared-bus (TestMediumSharedBusPP), where the learned
		// ratios, which cannot see how the stages' rings overlap, were
		// 16% short on mean TTFT. With variability as well the pool is
		// refined and learns against medium without the fluid bus
		// (busModel). Hand-offs over the network queue behind each other when they
		// outlast a stage's step (topology.go); a TP group across nodes
		// differs only where it takes the ring (ringStage), unless
		// expert-parallel all-to-alls cross nodes too (medium's bound,
		// epnodes.go, is not exact). Skewed expert loads make a
		// straggler rank in every MoE layer.
		other := c.Simulation.Variability > 0 || c.Cluster.ExpertSkew > 0
		cross := anyCrossing(s, g)
		refine := other || cross
		a.pools = append(a.pools, adaptivePool{refine: refine, ringOnly: cross && !other && !handOffCrosses(s, g) && g.planner.EP() <= 1,
			pp: g.pp, winLen: int32(windowSteps * g.pp), stages: newRatioTable(g.pp), hops: newRatioTable(g.pp)})
		a.rep.Refined = a.rep.Refined || refine
	}
	a.window = make([]int32, len(s.replicas))
	a.startAt = make([]Time, len(s.stages))
	a.med.adapt = a
	a.hi.measured, a.hi.delivered = a.measured, a.delivered
	a.hi.kvWhole = true
	s.medium, s.adaptive, s.exec = a.med, a, a
	if s.in.Clock != nil {
		s.wall = &wallSplit{clock: s.in.Clock, last: s.in.Clock()}
	}
}

// highEvent reports whether events of kind k belong to the high level of
// detail (ranks, links); the rest are medium's or shared.
func highEvent(k eventKind) bool {
	switch k {
	case evRankCompute, evLinkTransfer, evLinkRate, evLinkStale, evExpertCompute:
		return true
	}
	return false
}

// wallSplit splits an adaptive run's wall time between the levels of
// detail: the clock is read only where the level of consecutive events
// changes, and the time up to the next change goes to the level of the
// events in between (arrivals and samples count as medium, as in
// AdaptiveReport's events).
type wallSplit struct {
	clock func() int64
	last  int64
	lvl   int      // of the events since last: 0 medium, 1 high
	ns    [2]int64 // by level
}

// tick: an event of kind k is next.
func (w *wallSplit) tick(k eventKind) {
	l := 0
	if highEvent(k) {
		l = 1
	}
	if l != w.lvl {
		w.end()
		w.lvl = l
	}
}

// end gives the time since the last change to the current level.
func (w *wallSplit) end() {
	now := w.clock()
	w.ns[w.lvl] += now - w.last
	w.last = now
}

func (a *adaptiveExecutor) initReplica(rp *replica) {
	a.med.initReplica(rp)
	a.hi.initReplica(rp)
}

// startRun decides the level of detail of the newly formed step b: high
// inside a window, or opening one for an unconverged class; medium (and
// perhaps a decode run) otherwise.
func (a *adaptiveExecutor) startRun(rp *replica, b *batch, preempted bool) bool {
	p := a.poolOf(rp.grp)
	b.high = p.refine && a.sample(rp, p, b)
	if b.high {
		b.winPos = p.winLen - a.window[rp.id]
		a.window[rp.id]--
		a.rep.HighSteps++
		return false
	}
	return a.med.startRun(rp, b, preempted)
}

// sample reports whether the step b formed on rp, of pool p, runs at
// high.
func (a *adaptiveExecutor) sample(rp *replica, p *adaptivePool, b *batch) bool {
	if p.ringOnly && !a.ringStep(rp.grp, b) {
		return false
	}
	if a.window[rp.id] > 0 {
		return true
	}
	if a.rep.HighSteps >= highStartup+a.s.st.Steps/highShare {
		return false
	}
	k := classOf(&b.lb)
	for idx := 0; idx < p.pp; idx++ {
		if !p.stages.converged(idx, k, a.budget) || (idx < p.pp-1 && !p.hops.converged(idx, k, a.budget)) {
			a.window[rp.id] = p.winLen
			a.rep.Windows++
			return true
		}
	}
	return false
}

// ringStep reports whether step b takes the ring across nodes on some
// stage of a replica of pool g.
func (a *adaptiveExecutor) ringStep(g *workerPool, b *batch) bool {
	for i := range b.cost {
		if ringStage(a.s, g, &b.cost[i]) {
			return true
		}
	}
	return false
}

// classOf is lb's class within a stage: decode-only or not, and
// ⌊log2 tokens⌋.
func classOf(lb *lod.Batch) int {
	kind := 0
	if len(lb.Chunks) > 0 {
		kind = 1
	}
	return kind*tokenBucket + min(bits.Len(uint(lb.Tokens())), tokenBucket-1)
}

func (a *adaptiveExecutor) start(st *stage, b *batch) {
	if b.high {
		a.startAt[st.gid] = a.s.now
		a.hi.start(st, b)
		return
	}
	a.med.start(st, b)
}

func (a *adaptiveExecutor) forward(st *stage, b *batch) {
	if b.high {
		b.sentAt = a.s.now
		a.hi.forward(st, b)
		return
	}
	a.med.forward(st, b)
}

// measured: stage st finished a step at high; its time against medium's
// analytical prediction is one sample of the step's class.
func (a *adaptiveExecutor) measured(st *stage) {
	b := st.cur
	c := &b.cost[st.idx]
	hi := float64(a.s.now - a.startAt[st.gid])
	med := float64(a.med.analyticComputeNs(c, st.rep.grp) + a.med.collectiveNs(c, st))
	a.rep.HighStageNs += int64(hi)
	if p := a.poolOf(st.rep.grp); p.warm(st.idx, b) && (!p.ringOnly || ringStage(a.s, st.rep.grp, c)) {
		p.stages.add(st.idx, &b.lb, hi, med)
	}
}

// warm reports whether b's step on stage idx ran while every other stage
// ran a step of its window: the step at window position p on stage idx
// runs beside position p+idx-j on stage j.
func (p *adaptivePool) warm(idx int, b *batch) bool {
	w := b.winPos
	return w >= int32(p.pp-1-idx) && w <= p.winLen-1-int32(idx)
}

// delivered: b's activations reached stage next at high; the hand-off's
// time against medium's analytical hop is one sample of its class.
func (a *adaptiveExecutor) delivered(next int32, b *batch) {
	st := a.s.stages[next]
	from := st.idx - 1
	hi := float64(a.s.now - b.sentAt)
	med := float64(lod.HopNs(a.med.hopLink(a.s.stages[next-1]), b.cost[from].PPBytes))
	if p := a.poolOf(st.rep.grp); p.warm(from, b) {
		p.hops.add(from, &b.lb, hi, med)
	}
}

// factor is the learned correction of stage idx's time for step lb, of
// stage cost c, on a replica of pool g.
func (a *adaptiveExecutor) factor(g *workerPool, idx int, lb *lod.Batch, c *lod.StageCost) float64 {
	p := a.poolOf(g)
	if !p.refine || (p.ringOnly && !ringStage(a.s, g, c)) {
		return 1
	}
	return p.stages.factor(idx, lb)
}

// hopNs is medium's hand-off time hop from stage idx of a replica of pool
// g, corrected.
func (a *adaptiveExecutor) hopNs(g *workerPool, idx int, lb *lod.Batch, hop int64) int64 {
	p := a.poolOf(g)
	if !p.refine {
		return hop
	}
	if f := p.hops.factor(idx, lb); f != 1 {
		return int64(float64(hop)*f + 0.5)
	}
	return hop
}

// AdaptiveReport is what an adaptive run ran at which level of detail.
type AdaptiveReport struct {
	ErrorBudget float64 `json:"error_budget"`
	// Refined is false when nothing could differ from medium (no
	// variability, no skew, nothing across nodes): every step ran at
	// medium.
	Refined bool `json:"refined"`
	// Windows of consecutive steps of a replica run at high.
	Windows uint64 `json:"windows"`
	// HighSteps and MediumSteps are batch steps formed at each level (a
	// medium decode run counts each of its steps).
	HighSteps   uint64 `json:"high_steps"`
	MediumSteps uint64 `json:"medium_steps"`
	// HighStageNs is the simulated time stages spent on steps at high.
	HighStageNs int64 `json:"high_stage_ns"`
	// HighEvents and MediumEvents split the run's events by the level of
	// detail that processed them (arrivals and samples count as medium).
	HighEvents   uint64 `json:"high_events"`
	MediumEvents uint64 `json:"medium_events"`
	// HighWallNs and MediumWallNs split the run's wall time by the level
	// of its events, with Input.Clock (else 0). Wall time varies from
	// run to run: they stay out of the JSON outputs, which are
	// deterministic, and appear in the text summary only.
	HighWallNs   int64 `json:"-"`
	MediumWallNs int64 `json:"-"`
	// Classes are the step classes measured at high, by stage and class.
	Classes []AdaptiveClass `json:"classes,omitempty"`
}

// AdaptiveClass is one step class's learned correction.
type AdaptiveClass struct {
	Pool      string  `json:"pool"` // aggregated, prefill or decode
	Part      string  `json:"part"` // stage (its compute and collectives) or hop (its hand-off to the next)
	Stage     int     `json:"stage"`
	Kind      string  `json:"kind"`       // decode or mixed
	MinTokens int     `json:"min_tokens"` // the class holds steps of [MinTokens, 2 MinTokens) tokens
	Samples   int     `json:"samples"`
	Ratio     float64 `json:"ratio"`      // high / medium stage time, applied at medium
	HalfWidth float64 `json:"half_width"` // 95% confidence half-width of the mean ratio
	Converged bool    `json:"converged"`
}

// String is one line per class, for logs.
func (c AdaptiveClass) String() string {
	return fmt.Sprintf("%s %s %d %s >=%d tokens: %d samples, ratio %.4f ±%.4f", c.Pool, c.Part, c.Stage, c.Kind, c.MinTokens, c.Samples, c.Ratio, c.HalfWidth)
}

// report fills Stats.Adaptive at the end of the run.
func (a *adaptiveExecutor) report() {
	s := a.s
	r := a.rep
	r.MediumSteps = s.st.Steps - min(s.st.Steps, r.HighSteps)
	for k, n := range s.counts {
		if highEvent(eventKind(k)) {
			r.HighEvents += n
		} else {
			r.MediumEvents += n
		}
	}
	if w := s.wall; w != nil {
		w.end()
		r.HighWallNs, r.MediumWallNs = w.ns[1], w.ns[0]
	}
	for i := range a.pools {
		p := &a.pools[i]
		pool := a.s.pools[i].kind.String()
		r.Classes = p.stages.report(r.Classes, pool, "stage", a.budget)
		r.Classes = p.hops.report(r.Classes, pool, "hop", a.budget)
	}
	s.st.Adaptive = &r
}

// report appends the measured classes of t, of the given part.
func (t *ratioTable) report(out []AdaptiveClass, pool, part string, budget float64) []AdaptiveClass {
	for i := range t.classes {
		c := &t.classes[i]
		if c.n == 0 {
			continue
		}
		idx, k := i/(2*tokenBucket), i%(2*tokenBucket)
		kind := "decode"
		if k >= tokenBucket {
			kind = "mixed"
		}
		minTok := 0
		if b := k % tokenBucket; b > 0 {
			minTok = 1 << (b - 1)
		}
		hw := c.halfWidth()
		if math.IsInf(hw, 0) {
			hw = -1
		}
		out = append(out, AdaptiveClass{Pool: pool, Part: part, Stage: idx, Kind: kind, MinTokens: minTok, Samples: c.n,
			Ratio: c.ratio(), HalfWidth: hw, Converged: c.n >= minSamples && c.halfWidth() <= budget/4})
	}
	return out
}
