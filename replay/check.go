package replay

import "fmt"

// CheckKV verifies the KV accounting of every replica from scratch (see
// kvPool for the invariants). Replicas inside a decode run are skipped:
// their blocks are settled lazily at the run's end.
func (s *Simulator) CheckKV() error {
	for _, rp := range s.replicas {
		if rp.run.active {
			continue
		}
		var held int64
		if s.disagg != nil {
			var err error
			if held, err = s.disagg.check(rp); err != nil {
				return err
			}
		}
		if err := rp.kv.check(rp.id, s.reqs, rp.running, &rp.waiting, held); err != nil {
			return err
		}
		if err := rp.checkWaitingTokens(s.reqs); err != nil {
			return err
		}
	}
	return nil
}

// checkWaitingTokens recounts the waiting queue's tokens still to compute
// (the router's load and TensorRT-LLM's batch waiting read the running
// total, waitingTokens).
func (rp *replica) checkWaitingTokens(reqs []reqState) error {
	var sum int64
	for i := 0; i < rp.waiting.n; i++ {
		r := &reqs[rp.waiting.at(i)]
		sum += int64(r.numTokens() - r.computed)
	}
	if sum != rp.waitingTokens {
		return fmt.Errorf("replay: invariant: replica %d: waiting requests have %d tokens to compute, the running total says %d", rp.id, sum, rp.waitingTokens)
	}
	return nil
}
