package replay

import (
	"os"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/trace/workload"
)

// TestADPQueueUnfinished stops trtllm_adp_queue.txt at 5000 ns, while
// request 2 waits in the attention-DP group's queue on no replica: Finish
// reports it unfinished beside the two running requests, at both levels of
// detail.
func TestADPQueueUnfinished(t *testing.T) {
	data, err := os.ReadFile("testdata/scheduler/trtllm_adp_queue.txt")
	if err != nil {
		t.Fatal(err)
	}
	input, _, _ := strings.Cut(string(data), "----\n")
	for _, l := range []string{"high", "medium"} {
		c, reqs, _, err := parseScenario(input, l)
		if err != nil {
			t.Fatal(err)
		}
		var col Collect
		s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
		if err != nil {
			t.Fatal(err)
		}
		if _, err := s.RunUntil(5000); err != nil {
			t.Fatal(err)
		}
		st, err := s.Finish()
		if err != nil {
			t.Fatal(err)
		}
		var got []workload.RequestID
		for _, r := range col.Results {
			if r.Status == Unfinished {
				got = append(got, r.ID)
			}
		}
		if st.Unfinished != 3 || len(got) != 3 || got[2] != 2 {
			t.Errorf("%s: %d unfinished %v, expected 3: 0 and 1 running, then 2 from the group's queue", l, st.Unfinished, got)
		}
	}
}
