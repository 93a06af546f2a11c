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

// pad sets lb.Graph to the tokens of the captured size lb's step
// replays, or 0. With speculative decoding a captured size holds that
// many sequences of 1 + lb.Draft tokens each (TensorRT-LLM captures its
// graphs by batch size, the draft tokens per request fixed).
func (g *cudaGraphs) pad(lb *lod.Batch) {
	lb.Graph = 0
	if len(lb.Chunks) > 0 || lb.Decodes == 0 {
		return
	}
	lb.Graph = g.size(lb.Decodes) * (1 + lb.Draft)
}

// size is the smallest captured size that holds n tokens, 0 when none
// does.
func (g *cudaGraphs) size(n int) int {
	k := len(g.sizes)
	if k == 0 || n <= 0 || int32(n) > g.sizes[k-1] {
		return 0
	}
	lo, hi := 0, k-1 // the first size >= n lies in [lo, hi]
	for lo < hi {
		mid := (lo + hi) / 2
		if g.sizes[mid] >= int32(n) {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return int(g.sizes[lo])
}
