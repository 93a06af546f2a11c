package replay

import "github.com/lodsim/lodsim/lod"

// stepCost turns a formed step into per-stage costs the way the engine
// runs it: the planner's kernels and overheads, CUDA-graph padding
// (cudagraph.go) and the overlap scheduler (TensorRT-LLM's, vLLM's async
// scheduling). Both levels of detail and every step of a medium decode
// run go through plan, so they cost a step identically.
//
// The engine's per-step overhead (cost.Overheads: StepNs + PerSeqNs x
// sequences + PerPrefillTokenNs x prefill tokens) is CPU work: scheduling,
// input preparation, sampling bookkeeping, launch gaps. It is a fixed
// wall-clock cost on the first stage, paid once per step whatever the TP
// or PP degree. With the overlap scheduler the CPU work of step n+1 runs
// while the GPU computes step n, so a step pays only the part of its
// overhead that the GPU time of the step before does not cover:
//
//	overhead' = max(0, overhead - hide)
//
// where hide is that step's GPU time (kernels + collectives of the first
// stage), 0 after an idle GPU, and (pipeline parallelism) the step's own
// GPU time as a stand-in; overlap.go says what the replica passes.
type stepCost struct {
	planner *lod.Planner
	graphs  cudaGraphs
	overlap bool
	tp      int
}

// The hide argument of plan and its kin: no overlap, or the step's own GPU
// time (any other value is a GPU time in ns).
const (
	hideNone int64 = -1
	hideOwn  int64 = -2
)

// plan fills out with the cost of lb on each stage, padding lb first, and
// returns the step's GPU time (0 without overlap: nobody reads it).
func (c *stepCost) plan(lb *lod.Batch, out []lod.StageCost, hide int64) int64 {
	c.graphs.pad(lb)
	c.planner.Plan(lb, out)
	return c.overlapOverhead(out, hide)
}

// replan re-costs into out a decode step that differs from the one
// planned there only in its decodes' context (the next step of a medium
// decode run): the same costs as plan, doing only the work that changes.
func (c *stepCost) replan(lb *lod.Batch, out []lod.StageCost, hide int64) int64 {
	c.planner.Redecode(lb, out)
	return c.overlapOverhead(out, hide)
}

// replanGroup re-costs into out a step whose padding (lb.Graph) and
// gathered MoE tokens its data-parallel group has set (dpsync.go).
func (c *stepCost) replanGroup(lb *lod.Batch, out []lod.StageCost, hide int64) int64 {
	c.planner.Plan(lb, out)
	return c.overlapOverhead(out, hide)
}

// overlapOverhead hides the first stage's overhead behind hide ns of GPU
// time when the engine overlaps scheduling with the step before, and
// returns the step's own GPU time.
func (c *stepCost) overlapOverhead(out []lod.StageCost, hide int64) int64 {
	if hide == hideNone {
		return 0
	}
	s := &out[0]
	gpu := s.Compute() - s.Overhead + s.CollectiveNs(c.tp) + s.MoECommNs()
	if hide == hideOwn {
		hide = gpu
	}
	s.Overhead = max(0, s.Overhead-hide)
	return gpu
}

// newStepCost reads the engine's CUDA-graph sizes and overlap setting.
func newStepCost(c *Config, pl *lod.Planner) (stepCost, error) {
	sizes, err := c.graphSizes()
	if err != nil {
		return stepCost{}, err
	}
	o := c.Scheduler.OverlapScheduler
	return stepCost{planner: pl, graphs: cudaGraphs{sizes: sizes}, overlap: o != nil && *o, tp: pl.TP()}, nil
}
