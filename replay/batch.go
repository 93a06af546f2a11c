package replay

import "github.com/lodsim/lodsim/lod"

// batch is one step's work as it moves through the pipeline stages.
type batch struct {
	id     int32
	rep    *replica
	slots  []int32 // requests in the step
	ntok   []int32 // tokens each computes
	lb     lod.Batch
	cost   []lod.StageCost
	high   bool  // adaptive: the step runs at high LoD in a sampled window
	sentAt Time  // adaptive: when a high step left its last stage
	winPos int32 // adaptive: the step's position in its window
}

// add puts n tokens of request r (in slot) into the step.
func (b *batch) add(r *reqState, slot int32, n int32) {
	r.inflight = true
	b.slots = append(b.slots, slot)
	b.ntok = append(b.ntok, n)
	if r.isDecode() {
		b.lb.Draft = int(b.rep.grp.spec.draft)
		b.lb.Decodes++
		b.lb.DecodeCtx += int64(r.computed + 1)
	} else {
		b.lb.Chunks = append(b.lb.Chunks, lod.Chunk{Q: n, Prefix: r.computed})
	}
	if r.computed+n == r.numTokens() {
		b.lb.Sampled++
	}
}

// decodeOnly reports whether every request in b decodes one token.
func (b *batch) decodeOnly() bool { return len(b.lb.Chunks) == 0 }
