package replay

// router picks the replica of a pool for each request it routes by the
// configured policy; ties go to the lowest replica id. On a disaggregated
// cluster each pool has its own: the prefill pool's routes arrivals, the
// decode pool's routes finished prefills, where least_kv is the KV-aware
// choice (it counts the blocks of transfers waiting for room). Both route
// once every event at the current ns is applied (onArrival,
// disagg.routeFinished): a step that ended, or a KV transfer that landed,
// on the very ns has ended for the router, whatever the push order.
type router struct {
	policy RoutingPolicy
	rr     int // next replica of round robin
}

func (ro *router) route(s *Simulator, reps []*replica) *replica {
	switch ro.policy {
	case LeastOutstanding:
		best := reps[0]
		for _, rp := range reps[1:] {
			if rp.outstanding() < best.outstanding() {
				best = rp
			}
		}
		return best
	case LeastKV:
		best, bestLoad := reps[0], s.kvLoad(reps[0])
		for _, rp := range reps[1:] {
			if l := s.kvLoad(rp); l < bestLoad {
				best, bestLoad = rp, l
			}
		}
		return best
	}
	rp := reps[ro.rr%len(reps)]
	ro.rr++
	return rp
}

// kvLoad is the router's view of KV pressure: blocks held plus blocks the
// waiting prompts and the transfers waiting for room will need, over
// capacity.
func (s *Simulator) kvLoad(rp *replica) float64 {
	used := s.kvHeld(rp) + rp.waitingTokens/int64(rp.kv.blockSize) + rp.pendingBlocks
	return float64(used) / float64(rp.kv.total)
}
