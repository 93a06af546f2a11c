package replay

import (
	"math/rand/v2"
	"testing"

	"github.com/lodsim/lodsim/trace/workload"
)

// reserveSim builds a 1P+1D simulator of the tiny model under SGLang's
// decode pre-allocation reserve of reserve tokens, on a decode worker of
// blocks blocks of blockSize tokens, without running it: tests set its
// decode replica's queues by hand.
func reserveSim(t *testing.T, reserve, blocks, blockSize, maxSeqs int) *Simulator {
	t.Helper()
	c := &Config{Simulation: SimulationConfig{LoD: LoDHigh, Seed: 1}, Model: tinyModel, Hardware: HardwareConfig{GPU: "A100-80GB-SXM"},
		Cluster: ClusterConfig{Disaggregated: &DisaggConfig{Prefill: PoolConfig{Workers: 1},
			Decode:   PoolConfig{Workers: 1, KVBlocks: blocks, MaxNumSeqs: maxSeqs},
			Transfer: TransferConfig{Link: KVLinkNetwork, BandwidthGBps: 10, LatencyUs: 1}}},
		Scheduler: SchedulerConfig{BlockSize: blockSize, Engine: EngineSGLang, DecodeReservedTokens: &reserve, KVBlocks: 100000},
		Workload:  WorkloadConfig{Embedded: "test"}}
	c.ApplyDefaults()
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(nil), Sink: &Collect{}})
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// sglangAllocatableRef is the rule as sglangAllocatable computed it before
// sglangRoom (every call scanning the running and waiting requests): the
// reference of TestSGLangRoomMatchesRescan.
func sglangAllocatableRef(s *Simulator, rp *replica, r *reqState, free int64) int64 {
	res := int64(rp.kv.blocksFor(int32(*rp.grp.sched.DecodeReservedTokens)))
	var retractable, single int64
	for _, slot := range rp.running {
		retractable += int64(s.reqs[slot].numTokens())
	}
	for _, slot := range rp.running {
		q := &s.reqs[slot]
		single = max(single, int64(q.prompt)+int64(min(q.output, sglangClipMaxNewTokens))-retractable)
	}
	alloc := free - max(res*int64(len(rp.running)+len(rp.inbound)), int64(rp.kv.blocksFor(int32(max(single, 0)))))
	for i := 0; i < rp.waiting.n; i++ {
		q := &s.reqs[rp.waiting.at(i)]
		alloc -= int64(rp.kv.blocksFor(q.numTokens())) + res
	}
	whole := int64(r.prompt) + int64(min(r.output, sglangClipMaxNewTokens)) - retractable
	return min(alloc-res, alloc-int64(rp.kv.blocksFor(int32(max(whole, 0))))+int64(rp.kv.need(r, r.computed)))
}

// TestSGLangRoomMatchesRescan is the differential test of sglangRoom: on
// random decode replicas (0 to 40 running requests, some past the 4,096
// clipped output, 0 to 8 preempted ones, block sizes 1 to 64, reserves 1
// to 2,048 tokens) one reading followed by a pass of up to 12 transfers,
// each joining the transfers in progress, gives what rescanning the
// replica for every transfer gave, for every free-block count drawn.
func TestSGLangRoomMatchesRescan(t *testing.T) {
	checked := 0
	for seed := uint64(1); seed <= 200; seed++ {
		rng := rand.New(rand.NewPCG(seed, 11))
		s := reserveSim(t, 1+rng.IntN(2048), 100000, []int{1, 2, 16, 64}[rng.IntN(4)], 1000)
		rp := s.disagg.decode.replicas[0]
		add := func(prompt, output, generated int) int32 {
			slot := s.allocReq()
			r := &s.reqs[slot]
			*r = reqState{prompt: int32(prompt), output: int32(output), generated: int32(generated), xferStart: -1, xferEnd: -1}
			r.computed = r.prompt + r.generated - min(r.generated, 1)
			return slot
		}
		for i := rng.IntN(41); i > 0; i-- {
			out := 1 + rng.IntN(6000)
			rp.running = append(rp.running, add(1+rng.IntN(8000), out, rng.IntN(out)))
		}
		for i := rng.IntN(9); i > 0; i-- {
			out := 1 + rng.IntN(6000)
			rp.waiting.pushBack(add(1+rng.IntN(8000), out, rng.IntN(out)))
		}
		room := s.disagg.readRoom(rp)
		for k := rng.IntN(13); k >= 0; k-- {
			slot := add(1+rng.IntN(8000), 1+rng.IntN(6000), 0)
			r := &s.reqs[slot]
			r.computed = r.prompt
			free := rng.Int64N(200000)
			if got, want := room.sglangAllocatable(rp, r, free), sglangAllocatableRef(s, rp, r, free); got != want {
				t.Fatalf("seed %d, %d running, %d waiting, %d in transfer: %d blocks allocatable, rescan %d",
					seed, len(rp.running), rp.waiting.n, len(rp.inbound), got, want)
			}
			checked++
			rp.inbound = append(rp.inbound, slot)
		}
	}
	if checked < 1000 {
		t.Errorf("%d transfers checked, want at least 1000", checked)
	}
}

// TestSGLangRoomOneScanAPass: a decode worker under SGLang's reserve with
// 30 running requests and 20 finished prefills waiting for room starts all
// 20 transfers in one startTransfers pass when room opens, reading its
// running and waiting requests once (d.roomScans), not once a transfer:
// the pass is O(running + waiting + transfers).
func TestSGLangRoomOneScanAPass(t *testing.T) {
	s := reserveSim(t, 16, 100000, 4, 1000)
	d := s.disagg
	rp := d.decode.replicas[0]
	for i := 0; i < 30; i++ {
		slot := s.allocReq()
		s.reqs[slot] = reqState{prompt: 40, output: 50, generated: 10, computed: 49, xferStart: -1, xferEnd: -1}
		rp.running = append(rp.running, slot)
	}
	for i := 0; i < 20; i++ {
		slot := s.allocReq()
		s.reqs[slot] = reqState{prompt: 40, output: 50, computed: 40, xferStart: -1, xferEnd: -1}
		rp.pending.pushBack(slot)
		rp.pendingBlocks += int64(rp.kv.blocksFor(40))
	}
	d.startTransfers(rp)
	if len(rp.inbound) != 20 || rp.pending.n != 0 || d.roomScans != 1 {
		t.Errorf("%d transfers started, %d left pending, %d scans of the replica; want 20, 0 and 1", len(rp.inbound), rp.pending.n, d.roomScans)
	}
}
