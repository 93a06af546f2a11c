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

// TestADPBalanceRelease: when a rank of an attention-DP group runs its
// prompts because every rank has one, the other ranks run theirs at their
// next step, as the engine's ranks do in the same step, even when by then
// the first rank's prompt has left its queue and its last step admitted
// none (a replica in a longer step would otherwise miss the release and
// wait for the timeout). A rank that used the release is held again.
func TestADPBalanceRelease(t *testing.T) {
	c, _, _, err := parseScenario("set engine=trtllm chunked=0 budget=64 replicas=3 adp=3 adp_balance=1 adp_timeout=1000\n", "high")
	if err != nil {
		t.Fatal(err)
	}
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
	if err != nil {
		t.Fatal(err)
	}
	reps := s.replicas
	for _, rp := range reps {
		rp.running = []int32{0} // a decode on every rank
		rp.waiting.pushBack(0)  // and a prompt
	}
	rank := func(i int) *trtllmScheduler { return reps[i].sched.(*trtllmScheduler) }
	if rank(0).balanceHolds() {
		t.Fatal("rank 0 held with a prompt on every rank")
	}
	reps[0].waiting.popFront() // rank 0 ran its prompt; its next step admits none
	rank(0).adp.admitted = false
	for i := 1; i < 3; i++ {
		if rank(i).balanceHolds() {
			t.Errorf("rank %d held after rank 0 ran the group's prompts", i)
		}
		reps[i].waiting.popFront()
	}
	reps[1].waiting.pushBack(0)
	if !rank(1).balanceHolds() {
		t.Error("rank 1 ran a new prompt on a release it had used")
	}
}
