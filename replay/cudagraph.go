package replay

import "github.com/lodsim/lodsim/lod"

// cudaGraphs are the decode batch sizes an engine captures as CUDA graphs
// (Config.graphSizes), ascending. A decode-only step of at most the
// largest size replays the graph of the next size up, so its layers,
// all-reduces and pipeline hand-offs cost that many tokens (lod.Batch.Graph);
// its KV blocks, tokens and sampling stay those of its real sequences. A
// larger decode step, and any step with a prefill chunk, runs eagerly at
// its own size. (vLLM also replays piecewise graphs for small mixed
// batches; lodsim pads only decode-only steps.)
type cudaGraphs struct{ sizes []int32 }

// pad sets lb.Graph to the captured size lb's step replays, or 0.
func (g *cudaGraphs) pad(lb *lod.Batch) {
	lb.Graph = 0
	n := len(g.sizes)
	if n == 0 || len(lb.Chunks) > 0 || lb.Decodes == 0 || int32(lb.Decodes) > g.sizes[n-1] {
		return
	}
	lo, hi := 0, n-1 // the first size >= Decodes lies in [lo, hi]
	for lo < hi {
		mid := (lo + hi) / 2
		if g.sizes[mid] >= int32(lb.Decodes) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	lb.Graph = int(g.sizes[lo])
}
