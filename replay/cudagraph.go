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
//
// With speculative decoding a decode step runs 1 + lb.Draft tokens per
// sequence, and the engines key their graphs differently: vLLM captures
// them by tokens (num_tokens of a "uniform decode" batch, max_query_len 1
// + num_spec_tokens: docs/design/cuda_graphs.md), so a step of B
// sequences replays the smallest size holding B x (1 + Draft) tokens;
// TensorRT-LLM (cuda_graph_config batch_sizes, the draft tokens per
// request fixed at capture) and SGLang (cuda_graph_bs, each with
// num_tokens_per_bs = speculative_num_draft_tokens, cuda_graph_runner.py)
// capture them by sequences, so it replays the smallest size holding B
// sequences, of 1 + Draft tokens each (seqs). Without speculation the two
// agree.
type cudaGraphs struct {
	sizes []int32
	seqs  bool // sizes count sequences (TensorRT-LLM, SGLang), not tokens (vLLM)
}

// graphsBySeqs reports whether engine e captures its speculative decode
// graphs by sequences rather than tokens (cudaGraphs.seqs).
func graphsBySeqs(e Engine) bool { return e == EngineTRTLLM || e == EngineSGLang }

// pad sets lb.Graph to the tokens of the captured size lb's step
// replays, or 0.
func (g *cudaGraphs) pad(lb *lod.Batch) {
	lb.Graph = 0
	if len(lb.Chunks) > 0 || lb.Decodes == 0 {
		return
	}
	if g.seqs {
		lb.Graph = g.size(lb.Decodes) * (1 + lb.Draft)
		return
	}
	lb.Graph = g.size(lb.Decodes * (1 + lb.Draft))
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
