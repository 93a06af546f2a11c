package replay

import (
	"errors"
	"fmt"
	"math"
	"math/rand/v2"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/trace/workload"
)

// Input is everything one run needs. The core does no I/O: the caller opens
// the workload and the sink.
type Input struct {
	Config *Config
	Model  lod.Model
	Cost   cost.CostModel
	// PrefillCost and DecodeCost are the cost models of a disaggregated
	// cluster's pools; nil uses Cost. A pool on its own GPU
	// (cluster.disaggregated.*.gpu other than hardware.gpu) needs one
	// describing that GPU: its steps and KV capacity come from it.
	PrefillCost, DecodeCost cost.CostModel
	Workload                workload.Reader
	Sink                    Sink
	// Progress, if set, is called every few hundred thousand events with
	// the current simulated time and the number of finished requests.
	Progress func(now Time, finished int64)
	// CheckInvariants runs the KV accounting check after every step
	// (tests; it costs O(requests) per step).
	CheckInvariants bool
	// Clock, if set, is a monotonic wall clock in ns: an adaptive run
	// then splits its wall time by level of detail (AdaptiveReport
	// HighWallNs, MediumWallNs). The core reads no clock of its own.
	Clock func() int64
}

// Simulator is one run in progress: the event loop (loop.go) over a
// router, replicas and an executor for the configured level of detail.
type Simulator struct {
	in     Input
	cfg    *Config
	pools  []*workerPool // the aggregated pool, or prefill then decode
	disagg *disagg       // the prefill/decode machinery, nil when aggregated
	maxLen int32
	stop   Time

	h         eventHeap
	now       Time
	counts    [numEventKinds]uint64
	processed uint64
	started   bool
	over      bool // no event left, or the stop time passed
	ended     bool // Finish has reported the run

	reqs []reqState
	free []int32

	exec   executor
	high   *highExecutor   // the executor at high LoD, else nil
	medium *mediumExecutor // the executor at medium LoD, else nil
	// adaptive is the executor at adaptive LoD (with high and medium
	// both set: it runs each step on one of them), else nil.
	adaptive *adaptiveExecutor
	wall     *wallSplit // adaptive LoD with Input.Clock, else nil

	replicas []*replica // every pool's, numbered across the cluster
	kicks    []*replica // replicas whose scheduler runs once the current time's events are applied
	chains   uint64     // step chains begun (replica.chain)
	dpFire   []*dpGroup // lock-step groups with batches formed at the current time (dpsync.go)
	stages   []*stage   // all stages of all replicas
	src      source

	st       Stats
	finished int64
	err      error // first workload or sink failure; ends the run
	ts       timeSeries

	res    RequestResult // the record handed to the sink
	reject Reason        // the reason record gives a rejected request
	oneEnd [1]Time       // the end of a single step, for stepsDone
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
	s := &Simulator{
		in: in, cfg: c,
		maxLen: int32(c.MaxModelLenFor(in.Model)),
		stop:   Time(c.Simulation.MaxSimulationTime),
		src:    newSource(in.Workload),
	}
	s.newExecutor()
	if c.Cluster.Disaggregated != nil {
		if err := newDisagg(s); err != nil {
			return nil, err
		}
	} else {
		p, err := newPool(s, PoolAggregated, c, c.Router.Policy)
		if err != nil {
			return nil, err
		}
		s.pools = []*workerPool{p}
		p.addReplicas(s)
	}
	if c.Simulation.LoD == LoDAdaptive {
		newAdaptive(s) // over the high executor, once the replicas exist
	}
	s.st.KVBlocks = s.pools[0].blocks
	s.st.LoD = string(c.Simulation.LoD)
	s.st.Seed = c.Simulation.Seed
	return s, nil
}

// poolCost is pool kind's cost model: its own when given, else Cost.
func (in *Input) poolCost(kind PoolKind) cost.CostModel {
	cm := in.PrefillCost
	if kind == PoolDecode {
		cm = in.DecodeCost
	}
	if cm == nil || kind == PoolAggregated {
		return in.Cost
	}
	return cm
}

// links is the ring and pipeline link of the cost model, with the config's
// overrides applied (also to the planner's analytical collectives).
func links(cm cost.CostModel, o LinksConfig, pl *lod.Planner) (ring, pp cost.Link, err error) {
	ring, pp = cm.RingLink(pl.TP()), cm.SendLink()
	if o.BandwidthGBps > 0 || o.LatencyUs > 0 {
		if o.BandwidthGBps > 0 {
			ring.BytesPerNs, pp.BytesPerNs = o.BandwidthGBps, o.BandwidthGBps
		}
		if o.LatencyUs > 0 {
			ring.LatencyNs, pp.LatencyNs = o.LatencyUs*1e3, o.LatencyUs*1e3
		}
		pl.SetLink(ring)
	}
	if !(ring.BytesPerNs > 0) || !(pp.BytesPerNs > 0) {
		return ring, pp, fmt.Errorf("replay: link bandwidth of %s is not positive", cm.Name())
	}
	return ring, pp, nil
}

// newExecutor builds the executor of the configured level of detail: the
// one place the LoD is looked at.
func (s *Simulator) newExecutor() {
	c := s.cfg
	if c.Simulation.LoD != LoDMedium {
		e := &highExecutor{s: s, shared: c.Cluster.Links.Topology == TopologyShared,
			rng:  rand.New(rand.NewPCG(c.Simulation.Seed, 0x6c6f6473696d)), // "lodsim"
			load: newExpertLoad(c.Cluster.ExpertSkew, c.Simulation.Seed)}
		if v := c.Simulation.Variability; v > 0 {
			e.varSigma = math.Sqrt(math.Log1p(v * v))
		}
		s.high, s.exec = e, e
		return
	}
	s.medium = newMedium(s)
	s.exec = s.medium
}
