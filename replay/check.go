package replay

// CheckKV verifies the KV accounting of every replica from scratch (see
// kvPool for the invariants). Replicas inside a decode run are skipped:
// their blocks are settled lazily at the run's end.
func (s *Simulator) CheckKV() error {
	for _, rp := range s.replicas {
		if rp.run.active {
			continue
		}
		if err := rp.kv.check(rp.id, s.reqs, rp.running, &rp.waiting); err != nil {
			return err
		}
	}
	return nil
}
