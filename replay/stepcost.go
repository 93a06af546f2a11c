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
// overhead that the GPU time does not cover:
//
//	overhead' = max(0, overhead - (kernels + collectives of the first stage))
//
// taking the step's own GPU time as the stand-in for the previous step's.
// (Overlap also makes a finished request ride one more step before it
// leaves; lodsim does not model that.)
type stepCost struct {
	planner *lod.Planner
	graphs  cudaGraphs
	overlap bool
	tp      int
	// dpPadEager: a data-parallel group pads its eager steps to the
	// largest rank's tokens too (EngineDefaults.DPPadEager, dpsync.go).
	dpPadEager bool
}

// plan fills out with the cost of lb on each stage, padding lb first.
func (c *stepCost) plan(lb *lod.Batch, out []lod.StageCost) {
	c.graphs.pad(lb)
	c.planner.Plan(lb, out)
	c.overlapOverhead(out)
}

// replan re-costs into out a decode step that differs from the one
// planned there only in its decodes' context (the next step of a medium
// decode run): the same costs as plan, doing only the work that changes.
func (c *stepCost) replan(lb *lod.Batch, out []lod.StageCost) {
	c.planner.Redecode(lb, out)
	c.overlapOverhead(out)
}

// replanGroup re-costs into out a step whose padding (lb.Graph) and
// gathered MoE tokens its data-parallel group has set (dpsync.go).
func (c *stepCost) replanGroup(lb *lod.Batch, out []lod.StageCost) {
	c.planner.Plan(lb, out)
	c.overlapOverhead(out)
}

// overlapOverhead hides the first stage's overhead behind its GPU time
// when the engine overlaps scheduling with the previous step.
func (c *stepCost) overlapOverhead(out []lod.StageCost) {
	if c.overlap && out[0].Overhead > 0 {
		s := &out[0]
		gpu := s.Compute() - s.Overhead + s.CollectiveNs(c.tp) + s.MoECommNs()
		s.Overhead = max(0, s.Overhead-gpu)
	}
}

// newStepCost reads the engine's CUDA-graph sizes and overlap setting.
func newStepCost(c *Config, pl *lod.Planner) (stepCost, error) {
	sizes, err := c.graphSizes()
	if err != nil {
		return stepCost{}, err
	}
	pad, err := c.dpPadEager()
	if err != nil {
		return stepCost{}, err
	}
	o := c.Scheduler.OverlapScheduler
	return stepCost{planner: pl, graphs: cudaGraphs{sizes: sizes, seqs: graphsBySeqs(c.Scheduler.Engine)}, overlap: o != nil && *o, tp: pl.TP(),
		dpPadEager: pad && len(sizes) > 0}, nil
}
