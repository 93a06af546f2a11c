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

// TestADPQueueSampledWaiting: a request in an attention-DP group's queue
// (both ranks at max_seqs 1, from 2000 ns until rank 1 finishes after
// 1 ms) is waiting in the time series: the sample at 1 ms counts 2
// running and 1 waiting, at both levels of detail.
func TestADPQueueSampledWaiting(t *testing.T) {
	const in = "set engine=trtllm chunked=0 budget=64 replicas=2 adp=2 max_seqs=1\n" +
		"arrive id=0 at=0 prompt=8 output=400\narrive id=1 at=1000 prompt=8 output=300\narrive id=2 at=2000 prompt=8 output=2\n"
	for _, l := range []string{"high", "medium"} {
		c, reqs, _, err := parseScenario(in, l)
		if err != nil {
			t.Fatal(err)
		}
		c.Simulation.SampleInterval = MinSampleInterval
		st, err := Run(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(reqs), Sink: &Collect{}, CheckInvariants: true})
		if err != nil {
			t.Fatal(err)
		}
		if len(st.Samples) < 2 || st.Samples[1].T != 1_000_000 {
			t.Fatalf("%s: samples %+v, want one at 1 ms", l, st.Samples)
		}
		if sm := st.Samples[1]; sm.Running != 2 || sm.Waiting != 1 {
			t.Errorf("%s: sample at 1 ms: %d running, %d waiting, want 2 and 1 (request 2 in the group's queue)", l, sm.Running, sm.Waiting)
		}
	}
}

// TestADPQueueDisaggPrefillWorker: on a disaggregated cluster whose
// TensorRT-LLM prefill pool is one attention-DP2 group at max_seqs 1, a
// third prompt arriving while both ranks prefill waits in the group's
// queue; stopped then, it is reported unfinished with PrefillWorker -1
// (a stage it did not reach), the two running ones on workers 0 and 1.
func TestADPQueueDisaggPrefillWorker(t *testing.T) {
	for _, l := range []string{"high", "medium"} {
		c := &Config{
			Simulation: SimulationConfig{LoD: LoD(l), Seed: 1, MaxSimulationTime: 3000},
			Model:      tinyMoE,
			Hardware:   HardwareConfig{GPU: "A100-80GB-SXM"},
			Cluster: ClusterConfig{Disaggregated: &DisaggConfig{
				Prefill: PoolConfig{Workers: 2, AttentionDataParallel: 2, MaxNumSeqs: 1}, Decode: PoolConfig{Workers: 1},
				Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: 10, LatencyUs: 1}}},
			Scheduler: SchedulerConfig{KVBlocks: 1000, BlockSize: 4, Engine: EngineTRTLLM},
			Workload:  WorkloadConfig{Embedded: "test"},
		}
		c.ApplyDefaults()
		reqs := []workload.Request{{ID: 0, Arrival: 0, PromptTokens: 100, OutputTokens: 4},
			{ID: 1, Arrival: 1000, PromptTokens: 100, OutputTokens: 4}, {ID: 2, Arrival: 2000, PromptTokens: 100, OutputTokens: 4}}
		st, rs := runDisagg(t, c, fixedCost{}, reqs)
		workers := map[workload.RequestID]int32{}
		for _, r := range rs {
			if r.Status == Unfinished {
				workers[r.ID] = r.PrefillWorker
			}
		}
		if st.Unfinished != 3 || workers[0] != 0 || workers[1] != 1 || workers[2] != -1 {
			t.Errorf("%s: %d unfinished, prefill workers %v, want 0 and 1 running, 2 queued on none (-1)", l, st.Unfinished, workers)
		}
	}
}
