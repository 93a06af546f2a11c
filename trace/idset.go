package trace

import "sort"

// idSet remembers the request ids of a file to find duplicates. Ids above
// every earlier id (the usual case: 0, 1, 2, ... or increasing with gaps)
// extend sorted runs of consecutive ids, O(1) each and one run per gap;
// any other id is looked up in the runs and kept in a hash set.
type idSet struct {
	on    bool
	runs  []idRun // ascending, disjoint
	other map[int64]struct{}
}

type idRun struct{ lo, hi int64 }

// add records id and reports whether it was new.
func (s *idSet) add(id int64) bool {
	n := len(s.runs)
	if n == 0 || id > s.runs[n-1].hi {
		if n > 0 && id == s.runs[n-1].hi+1 {
			s.runs[n-1].hi = id
		} else {
			s.runs = append(s.runs, idRun{id, id})
		}
		return true
	}
	i := sort.Search(n, func(i int) bool { return s.runs[i].hi >= id })
	if i < n && s.runs[i].lo <= id {
		return false
	}
	if _, dup := s.other[id]; dup {
		return false
	}
	if s.other == nil {
		s.other = make(map[int64]struct{})
	}
	s.other[id] = struct{}{}
	return true
}
