package replay

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
	}
	return nil
}
