package replay

import (
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"sort"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace"
)

// Input is everything one run needs. The core does no I/O: the caller opens
// the workload and the sink.
type Input struct {
	Config   *Config
	Model    lod.Model
	Cost     cost.CostModel
	Workload trace.Reader
	Sink     Sink
	// Progress, if set, is called every few hundred thousand events with
	// the current simulated time and the number of finished requests.
	Progress func(now Time, finished int64)
	// CheckInvariants runs the KV accounting check after every step
	// (tests; it costs O(requests) per step).
	CheckInvariants bool
}

// reqState is the per-request bookkeeping of a request that has arrived
// and not yet left. Slots are recycled through a free list.
type reqState struct {
	id         trace.RequestID
	arrival    Time
	firstSched Time
	firstToken Time
	lastToken  Time
	prompt     int32
	output     int32
	computed   int32 // tokens whose KV is computed
	generated  int32 // output tokens produced
	blocks     int32 // KV blocks held
	preempt    int16
	replica    int32
	inflight   bool // part of a batch in flight (pipeline parallelism)
	done       bool // produced its last token; leaving the running queue
}

func (r *reqState) numTokens() int32 { return r.prompt + r.generated }

// Simulator is one run in progress.
type Simulator struct {
	in       Input
	cfg      *Config
	high     bool
	planner  *lod.Planner
	tp, pp   int
	bs       int32 // block size
	maxLen   int32
	ringLink cost.Link
	ppLink   cost.Link
	shared   bool
	varSigma float64
	rng      *rand.Rand

	h      eventHeap
	now    Time
	stop   Time
	counts [numEventKinds]uint64

	reqs []reqState
	free []int32

	replicas []*replica
	stages   []*stage // all stages of all replicas
	links    []link
	rr       int

	src      trace.Reader
	reactive trace.Reactive
	next     trace.Request
	hasNext  bool
	pending  bool // source waits for a completion

	st       Stats
	finished int64
	err      error // first workload or sink failure; ends the run

	// time-series accumulators since the last sample
	sampSeqs, sampSteps, sampTokens, sampDone int64

	batchTable []*batch
	res        RequestResult // the record handed to the sink
	reject     Reason        // the reason record gives a rejected request
}

// Run simulates in to completion (or to max_simulation_time) and returns
// its statistics; every request's result goes to in.Sink.
func Run(in Input) (*Stats, error) {
	s, err := NewSimulator(in)
	if err != nil {
		return nil, err
	}
	return s.Run()
}

// NewSimulator validates the inputs and builds the cluster.
func NewSimulator(in Input) (*Simulator, error) {
	c := in.Config
	if c == nil || in.Cost == nil || in.Workload == nil || in.Sink == nil {
		return nil, errors.New("replay: Input needs Config, Cost, Workload and Sink")
	}
	if err := c.Validate(); err != nil {
		return nil, err
	}
	k := c.Cluster
	pl, err := lod.NewPlanner(in.Model, in.Cost, k.TensorParallel, k.PipelineParallel)
	if err != nil {
		return nil, err
	}
	s := &Simulator{
		in: in, cfg: c, high: c.Simulation.LoD == "high", planner: pl,
		tp: k.TensorParallel, pp: k.PipelineParallel,
		bs: int32(c.Scheduler.BlockSize), shared: k.Links.Topology == "shared",
		stop: Time(c.Simulation.MaxSimulationTime),
		src:  in.Workload,
		rng:  rand.New(rand.NewPCG(c.Simulation.Seed, 0x6c6f6473696d)), // "lodsim"
	}
	s.reactive, _ = in.Workload.(trace.Reactive)
	s.maxLen = int32(c.Scheduler.MaxModelLen)
	s.ringLink = in.Cost.RingLink(s.tp)
	s.ppLink = in.Cost.SendLink()
	if k.Links.BandwidthGBps > 0 || k.Links.LatencyUs > 0 {
		if k.Links.BandwidthGBps > 0 {
			s.ringLink.BytesPerNs, s.ppLink.BytesPerNs = k.Links.BandwidthGBps, k.Links.BandwidthGBps
		}
		if k.Links.LatencyUs > 0 {
			s.ringLink.LatencyNs, s.ppLink.LatencyNs = k.Links.LatencyUs*1e3, k.Links.LatencyUs*1e3
		}
		pl.SetLink(s.ringLink)
	}
	if !(s.ringLink.BytesPerNs > 0) || !(s.ppLink.BytesPerNs > 0) {
		return nil, fmt.Errorf("replay: link bandwidth of %s is not positive", in.Cost.Name())
	}
	if v := c.Simulation.Variability; v > 0 {
		s.varSigma = math.Sqrt(math.Log1p(v * v))
	}
	blocks, err := KVBlocks(c, in.Model, in.Cost.GPU(), in.Cost.Overheads().MemoryReserveGB)
	if err != nil {
		return nil, err
	}
	s.st.KVBlocks = blocks
	s.st.LoD = c.Simulation.LoD
	s.st.Seed = c.Simulation.Seed
	for i := 0; i < k.Replicas; i++ {
		s.replicas = append(s.replicas, s.newReplica(int32(i), int32(blocks)))
	}
	return s, nil
}

// KVBlocks is the number of KV-cache blocks one replica holds, derived the
// way vLLM does it: each GPU offers memory x gpu_memory_utilization, minus
// its share of the weights and an activation reserve; what is left, divided
// by the bytes a token's KV takes on that GPU, in blocks of block_size.
// extraGB is the engine's further memory reserve per GPU
// (cost.Overheads.MemoryReserveGB).
func KVBlocks(c *Config, m lod.Model, g cost.GPU, extraGB float64) (int64, error) {
	if c.Scheduler.KVBlocks > 0 {
		return int64(c.Scheduler.KVBlocks), nil
	}
	k := c.Cluster
	gpus := int64(k.TensorParallel * k.PipelineParallel)
	weights := m.WeightBytes() / gpus
	reserve := int64(k.ActivationReserveGB * (1 << 30))
	if reserve == 0 {
		// Peak activations of a max_num_batched_tokens forward pass (the
		// MLP's intermediate dominates) plus FP32 logits for max_num_seqs,
		// plus CUDA context, graphs and NCCL buffers.
		t := int64(c.Scheduler.MaxNumBatchedTokens)
		act := t * int64(4*m.Hidden+2*m.Intermediate/k.TensorParallel) * int64(m.DTypeBytes)
		logits := int64(c.Scheduler.MaxNumSeqs) * int64(m.Vocab/k.TensorParallel) * 4
		reserve = act + logits + 1<<30
	}
	reserve += int64(extraGB * (1 << 30))
	avail := int64(float64(g.MemoryBytes)*k.GPUMemoryUtilization) - weights - reserve
	perBlock := m.KVBytesPerToken(k.TensorParallel, k.PipelineParallel) * int64(c.Scheduler.BlockSize)
	if avail < perBlock {
		return 0, fmt.Errorf("replay: %s does not fit on %d x %s: %.1f GiB of weights per GPU and %.1f GiB reserve leave %.2f GiB of %.0f GiB x %.2f for the KV cache; add GPUs (cluster.tensor_parallel/pipeline_parallel) or raise cluster.gpu_memory_utilization",
			m.Name, gpus, g.Name, float64(weights)/(1<<30), float64(reserve)/(1<<30), float64(avail)/(1<<30), float64(g.MemoryBytes)/(1<<30), k.GPUMemoryUtilization)
	}
	return avail / perBlock, nil
}

func (s *Simulator) blocksFor(tokens int32) int32 { return (tokens + s.bs - 1) / s.bs }

// Run executes the event loop. The loop reads as its phases: pull the
// first request, then pop and dispatch events until none are left or the
// stop time passes, then report what is still in flight.
func (s *Simulator) Run() (*Stats, error) {
	s.pull()
	if s.err != nil {
		return nil, s.err
	}
	s.h.push(0, evSample, 0, 0, 0)
	var processed uint64
	for s.h.Len() > 0 {
		ev := s.h.pop()
		if s.stop > 0 && ev.t > s.stop {
			s.now = s.stop
			break
		}
		s.now = ev.t
		s.counts[ev.kind]++
		switch ev.kind {
		case evArrival:
			s.onArrival()
		case evSample:
			s.onSample()
		case evRankCompute:
			s.advance(s.stages[ev.a], int(ev.b))
		case evLinkTransfer:
			s.onLinkDeliver(int(ev.a), ev.ver)
		case evLinkRate:
			s.onLinkRate(int(ev.a), ev.ver)
		case evStageCompute:
			s.onStageCompute(s.stages[ev.a])
		case evStageCollective:
			s.stageDone(s.stages[ev.a])
		case evPPTransfer:
			s.onPPArrive(int(ev.a), int(ev.b))
		case evDecodeRun:
			s.onRunEnd(s.replicas[ev.a], ev.ver)
		}
		if s.err != nil {
			return nil, s.err
		}
		if processed++; s.in.Progress != nil && processed&0x3ffff == 0 {
			s.in.Progress(s.now, s.finished)
		}
	}
	s.finish()
	if s.err != nil {
		return nil, s.err
	}
	return &s.st, nil
}

// pull fetches the next request from the source and schedules its arrival.
func (s *Simulator) pull() {
	if s.hasNext || s.err != nil {
		return
	}
	r, err := s.src.Next()
	switch {
	case err == nil:
	case err == io.EOF:
		return
	case errors.Is(err, trace.ErrPending):
		s.pending = true
		return
	default:
		s.err = fmt.Errorf("replay: workload: %w", err)
		return
	}
	s.pending = false
	s.next, s.hasNext = r, true
	// The request becomes schedulable after the engine's per-request
	// overhead (tokenisation, admission); a reactive source may answer
	// late, and nothing is scheduled in the past.
	t := r.Arrival + Time(s.in.Cost.Overheads().PerRequestNs)
	if t < s.now {
		t = s.now
	}
	s.h.push(t, evArrival, 0, 0, 0)
}

func (s *Simulator) allocReq() int32 {
	if n := len(s.free); n > 0 {
		slot := s.free[n-1]
		s.free = s.free[:n-1]
		return slot
	}
	s.reqs = append(s.reqs, reqState{})
	return int32(len(s.reqs) - 1)
}

func (s *Simulator) onArrival() {
	r := s.next
	s.hasNext = false
	s.st.Arrived++
	if n := s.st.Arrived - s.finished; n > s.st.PeakInFlight {
		s.st.PeakInFlight = n
	}
	slot := s.allocReq()
	rs := &s.reqs[slot]
	out := r.OutputTokens
	if out < 1 {
		out = 1 // the prefill itself yields one token
	}
	prompt := r.PromptTokens
	if prompt < 1 {
		prompt = 1
	}
	*rs = reqState{id: r.ID, arrival: r.Arrival, firstSched: -1, firstToken: -1, lastToken: -1, prompt: prompt, output: out}
	rep := s.route(rs)
	rs.replica = rep.id
	reason := NotRejected
	switch {
	case s.maxLen > 0 && prompt+out > s.maxLen:
		reason = TooLongForModel
	case s.blocksFor(prompt+out) > rep.totalBlocks:
		reason = TooLongForKV
	}
	if reason != NotRejected {
		s.reject = reason
		s.record(slot, Rejected, -1)
		s.reject = NotRejected
		s.pull()
		return
	}
	rep.waiting.pushBack(slot)
	rep.waitingTokens += int64(prompt)
	s.pull()
	s.kick(rep)
}

// route picks a replica by the configured policy; ties go to the lowest id.
func (s *Simulator) route(r *reqState) *replica {
	reps := s.replicas
	switch s.cfg.Router.Policy {
	case "least_outstanding":
		best := reps[0]
		for _, rp := range reps[1:] {
			if rp.outstanding() < best.outstanding() {
				best = rp
			}
		}
		return best
	case "least_kv":
		best, bestLoad := reps[0], s.kvLoad(reps[0])
		for _, rp := range reps[1:] {
			if l := s.kvLoad(rp); l < bestLoad {
				best, bestLoad = rp, l
			}
		}
		return best
	}
	rp := reps[s.rr%len(reps)]
	s.rr++
	return rp
}

// record emits a request's result and frees its slot.
func (s *Simulator) record(slot int32, st Status, completion Time) {
	r := &s.reqs[slot]
	// One reused record: a fresh one per request would escape to the heap
	// through the Sink interface.
	res := &s.res
	*res = RequestResult{
		ID: r.id, Arrival: r.arrival, FirstScheduled: r.firstSched, FirstToken: r.firstToken,
		Completion: completion, PromptTokens: r.prompt, OutputTokens: r.generated,
		Replica: r.replica, Preemptions: r.preempt, Status: st, Reason: s.reject,
	}
	switch st {
	case Completed:
		s.st.Completed++
	case Unfinished:
		s.st.Unfinished++
	case Rejected:
		s.st.Rejected++
	}
	s.finished++
	if err := s.in.Sink.Record(res); err != nil && s.err == nil {
		s.err = fmt.Errorf("replay: recording request %d: %w", r.id, err)
	}
	if s.reactive != nil && st != Unfinished {
		s.reactive.Completed(r.id, s.now)
		if s.pending {
			s.pull()
		}
	}
	s.free = append(s.free, slot)
}

func (s *Simulator) onSample() {
	var running, waiting int32
	var used, total int64
	for _, rp := range s.replicas {
		u := int64(rp.totalBlocks - rp.freeBlocks)
		if rp.run.active {
			s.countRunSteps(rp)
			u += s.runExtraBlocks(rp)
		}
		running += int32(len(rp.running))
		waiting += int32(rp.waiting.n)
		used += u
		total += int64(rp.totalBlocks)
	}
	sm := Sample{T: s.now, Running: running, Waiting: waiting, OutputTokens: s.sampTokens, Completed: s.sampDone}
	if total > 0 {
		sm.KVUtil = float64(used) / float64(total)
	}
	if s.sampSteps > 0 {
		sm.BatchSize = float64(s.sampSeqs) / float64(s.sampSteps)
	}
	s.st.Samples = append(s.st.Samples, sm)
	s.sampSeqs, s.sampSteps, s.sampTokens, s.sampDone = 0, 0, 0, 0
	// Keep sampling only while something else can still happen.
	if s.h.Len() > 0 || s.hasNext {
		s.h.push(s.now+Time(s.cfg.Simulation.SampleInterval), evSample, 0, 0, 0)
	}
}

// finish settles runs cut by the stop time and reports what is in flight.
func (s *Simulator) finish() {
	for _, rp := range s.replicas {
		if rp.run.active {
			// The step in progress at the stop time has its blocks, as
			// in the step-by-step path.
			used := int64(rp.totalBlocks-rp.freeBlocks) + s.runExtraBlocks(rp)
			if f := float64(used) / float64(rp.totalBlocks); f > s.st.PeakKVUtil {
				s.st.PeakKVUtil = f
			}
			s.settleRun(rp, s.now, false)
		}
	}
	s.st.SimEnd = s.now
	// Unfinished requests in a deterministic order: replica, then running
	// in admission order, then waiting in queue order.
	for _, rp := range s.replicas {
		for _, slot := range rp.running {
			s.record(slot, Unfinished, -1)
		}
		rp.running = rp.running[:0]
		for rp.waiting.n > 0 {
			s.record(rp.waiting.popFront(), Unfinished, -1)
		}
	}
	names := make([]int, 0, numEventKinds)
	for k := range s.counts {
		names = append(names, k)
	}
	sort.Slice(names, func(i, j int) bool { return eventKindNames[names[i]] < eventKindNames[names[j]] })
	s.st.Events = s.st.Events[:0]
	s.st.TotalEvents = 0
	for _, k := range names {
		if s.counts[k] == 0 {
			continue
		}
		s.st.Events = append(s.st.Events, EventCount{Kind: eventKindNames[k], Count: s.counts[k]})
		s.st.TotalEvents += s.counts[k]
	}
}

// varFactor draws a lognormal factor with mean 1 for one operation on one
// rank at the high level of detail.
func (s *Simulator) vary(d int64) int64 {
	if s.varSigma == 0 {
		return d
	}
	return s.varyDraw(d)
}

func (s *Simulator) varyDraw(d int64) int64 {
	if d == 0 {
		return 0
	}
	f := math.Exp(s.varSigma*s.rng.NormFloat64() - s.varSigma*s.varSigma/2)
	v := int64(float64(d)*f + 0.5)
	if v < 1 {
		v = 1
	}
	return v
}
