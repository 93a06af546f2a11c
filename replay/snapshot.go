package replay

import "github.com/lodsim/lodsim/trace/workload"

// ReplicaState is what a replica holds at a moment of the run, as seen
// between events (after Step or RunUntil). Both levels of detail give the
// same state at the same time without variability or contention.
type ReplicaState struct {
	Waiting []workload.RequestID // waiting queue, front first
	Running []workload.RequestID // running queue, in admission order
	Batch   []workload.RequestID // running requests in a step in flight
	// KVUsed of KVTotal blocks are held, counting those of the steps in
	// flight.
	KVUsed, KVTotal int64
}

// Replicas is the number of replicas.
func (s *Simulator) Replicas() int { return len(s.replicas) }

// Replica returns replica i's state now.
func (s *Simulator) Replica(i int) ReplicaState {
	rp := s.replicas[i]
	st := ReplicaState{KVUsed: s.kvHeld(rp), KVTotal: int64(rp.kv.total)}
	for j := 0; j < rp.waiting.n; j++ {
		st.Waiting = append(st.Waiting, s.reqs[rp.waiting.at(j)].id)
	}
	for _, slot := range rp.running {
		r := &s.reqs[slot]
		st.Running = append(st.Running, r.id)
		if r.inflight {
			st.Batch = append(st.Batch, r.id)
		}
	}
	return st
}
