package replay

import "fmt"

// kvPool is one replica's paged KV cache: capacity, free blocks and the
// blocks each of the replica's requests holds (reqState.blocks). Every
// change of a block count goes through its methods: growTo (allocate a
// new request's blocks, or grow a running one's) and release (completion
// or preemption). Between steps it keeps, and check verifies from scratch:
//
//	free + Σ blocks held by running requests = total, with 0 <= free
//	a running request not in flight holds blocksFor(computed) blocks
//	a waiting request holds no block (on a decode replica: those of
//	its transferred KV, blocksFor(computed))
//	blocks held for transfers between pools (disagg.check) count as used
//
// A request in flight holds the blocks of the tokens its step computes;
// inside a medium decode run, blocks are settled lazily at the run's end
// (extra says how many more the steps so far hold).
type kvPool struct {
	free, total int32
	blockSize   int32
}

func newKVPool(blocks, blockSize int32) kvPool {
	return kvPool{free: blocks, total: blocks, blockSize: blockSize}
}

// blocksFor is the number of blocks tokens tokens of KV take.
func (p *kvPool) blocksFor(tokens int32) int32 { return (tokens + p.blockSize - 1) / p.blockSize }

// used is the number of blocks held.
func (p *kvPool) used() int32 { return p.total - p.free }

// util is the fraction of blocks held.
func (p *kvPool) util() float64 { return float64(p.total-p.free) / float64(p.total) }

// need is how many more blocks r needs to hold the KV of tokens tokens.
func (p *kvPool) need(r *reqState, tokens int32) int32 { return p.blocksFor(tokens) - r.blocks }

// fits reports whether n more blocks are free.
func (p *kvPool) fits(n int32) bool { return n <= p.free }

// growTo gives r the blocks for the KV of tokens tokens: a newly admitted
// request's first blocks, a running request's next ones.
func (p *kvPool) growTo(r *reqState, tokens int32) {
	n := p.need(r, tokens)
	p.free -= n
	r.blocks += n
}

// release takes back every block r holds: it completed, or was preempted
// and will recompute its KV.
func (p *kvPool) release(r *reqState) {
	p.free += r.blocks
	r.blocks = 0
}

// handOff keeps r's blocks held for its KV transfer (srcBlocks), out of
// the running requests' count: its prefill finished.
func (p *kvPool) handOff(r *reqState) {
	r.srcBlocks, r.blocks = r.blocks, 0
}

// releaseHandedOff takes back the blocks of r's finished transfer.
func (p *kvPool) releaseHandedOff(r *reqState) {
	p.free += r.srcBlocks
	r.srcBlocks = 0
}

// check recounts the pool's blocks from the requests of replica id
// (running in admission order, waiting in queue order, and held, the
// blocks of requests between prefill and decode pools) and returns the
// first broken invariant.
func (p *kvPool) check(id int32, reqs []reqState, running []int32, waiting *deque, held int64) error {
	for _, slot := range running {
		r := &reqs[slot]
		held += int64(r.blocks)
		if r.inflight {
			continue
		}
		if want := p.blocksFor(r.computed); r.blocks != want {
			return fmt.Errorf("replay: invariant: replica %d request %d holds %d blocks for %d tokens, expected %d", id, r.id, r.blocks, r.computed, want)
		}
	}
	for i := 0; i < waiting.n; i++ {
		// None, or on a decode replica the transferred KV's.
		r := &reqs[waiting.at(i)]
		if want := p.blocksFor(r.computed); r.blocks != want {
			return fmt.Errorf("replay: invariant: replica %d waiting request holds %d blocks, expected %d", id, r.blocks, want)
		}
		held += int64(r.blocks)
	}
	if held+int64(p.free) != int64(p.total) {
		return fmt.Errorf("replay: invariant: replica %d used %d + free %d != capacity %d", id, held, p.free, p.total)
	}
	if p.free < 0 {
		return fmt.Errorf("replay: invariant: replica %d has %d free blocks", id, p.free)
	}
	return nil
}
