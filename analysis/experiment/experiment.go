package experiment

import (
	"bytes"
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"reflect"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/internal/yamlstrict"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// Experiment is one configuration, validated and resolved, ready to run
// any number of times.
type Experiment struct {
	cfg     *replay.Config
	model   lod.Model // derived from cfg.Model
	cost    cost.CostModel
	profile analysis.ProfileID
	// The cost models of a disaggregated cluster's pools on GPUs of their
	// own (cluster.disaggregated.*.gpu), else nil: the pool uses cost.
	prefillCost, decodeCost cost.CostModel
	prefillID, decodeID     analysis.ProfileID
}

// Option changes how New resolves a configuration.
type Option func(*Experiment)

// WithCost uses cm instead of the cost model hardware.gpu and
// hardware.profile name; id identifies it in the run's provenance.
func WithCost(cm cost.CostModel, id analysis.ProfileID) Option {
	return func(e *Experiment) { e.cost, e.profile = cm, id }
}

// New validates cfg (every problem at once), resolves its model and cost
// model and checks that its workload opens, so that a caller can learn of
// every input error before it creates any output. cfg is copied; later
// changes to it do not reach the experiment.
func New(cfg *replay.Config, opts ...Option) (*Experiment, error) {
	c := cfg.Clone()
	e := &Experiment{cfg: c}
	for _, o := range opts {
		o(e)
	}
	// Gather every problem (fields, GPU, profile, trace file) in one error.
	var errs []error
	verr := c.Validate()
	errs = append(errs, verr)
	if e.cost == nil {
		var err error
		e.cost, e.profile, err = costModel(c)
		errs = append(errs, err)
	} else if g, err := cost.LookupGPU(c.Hardware.GPU); err == nil && e.cost.GPU().Key != g.Key {
		// A cost model given in code must describe the configured GPU
		// too: its memory sizes the KV cache, its times the steps.
		errs = append(errs, fmt.Errorf("hardware.gpu: %s, but the cost model %s describes %s; expected the same GPU",
			g.Name, e.cost.Name(), e.cost.GPU().Name))
	}
	if verr == nil {
		errs = append(errs, e.resolvePools(c))
	}
	if verr == nil || c.Workload.Trace != "" {
		src, err := e.Open()
		if err == nil {
			src.Close()
		}
		errs = append(errs, unnamed(c, err))
	}
	if err := errors.Join(errs...); err != nil {
		return nil, nameErr(c, err)
	}
	var err error
	if e.model, err = c.ResolveModel(); err != nil {
		return nil, nameErr(c, err)
	}
	if err := e.checkSections(); err != nil {
		return nil, nameErr(c, err)
	}
	// State the request-length limit in the resolved configuration.
	c.Scheduler.MaxModelLen = c.MaxModelLenFor(e.model)
	return e, nil
}

// checkSections refuses a calibrated profile, the run's (unless both
// pools of a disaggregated cluster have their own) or a pool's, without a
// measured section the model needs (hwprofile.CheckSections):
// its MoE or MLA layers would be priced by the roofline unannounced. An
// explicit hardware.profile: roofline prices everything by the roofline.
func (e *Experiment) checkSections() error {
	m := e.model
	need := hwprofile.ModelNeeds{Model: m.Name, MoE: m.MoE(), Experts: m.ExpertKernel(), MLA: m.MLA()}
	run := e.cost
	if e.prefillCost != nil && e.decodeCost != nil {
		run = nil // both pools have their own: no layer is priced by the run's
	}
	var errs []error
	for _, c := range []struct {
		field string
		cm    cost.CostModel
	}{{"hardware.profile", run}, {"cluster.disaggregated.prefill", e.prefillCost}, {"cluster.disaggregated.decode", e.decodeCost}} {
		if p, ok := c.cm.(*cost.Profile); ok {
			if err := hwprofile.CheckSections(p, need); err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", c.field, err))
			}
		}
	}
	return errors.Join(errs...)
}

// resolvePools resolves the cost models of a disaggregated cluster's
// pools that do not run on the run's cost model (poolCostModel).
func (e *Experiment) resolvePools(c *replay.Config) error {
	var perr, derr error
	e.prefillCost, e.prefillID, perr = poolCostModel(c, replay.PoolPrefill)
	e.decodeCost, e.decodeID, derr = poolCostModel(c, replay.PoolDecode)
	return errors.Join(perr, derr)
}

// pools is what each pool of a disaggregated cluster simulates: its GPU
// and where its costs came from; nil for an aggregated cluster.
func (e *Experiment) pools() []analysis.PoolProvenance {
	if e.cfg.Cluster.Disaggregated == nil {
		return nil
	}
	pool := func(kind replay.PoolKind, cm cost.CostModel, id analysis.ProfileID) analysis.PoolProvenance {
		if cm == nil {
			cm, id = e.cost, e.profile
		}
		return analysis.PoolProvenance{Pool: kind.String(), GPU: cm.GPU().Name, Profile: id}
	}
	return []analysis.PoolProvenance{pool(replay.PoolPrefill, e.prefillCost, e.prefillID), pool(replay.PoolDecode, e.decodeCost, e.decodeID)}
}

// unnamed strips the config name Open puts in front of its errors.
func unnamed(c *replay.Config, err error) error {
	if err != nil && c.Name != "" {
		if u := errors.Unwrap(err); u != nil {
			return u
		}
	}
	return err
}

func nameErr(c *replay.Config, err error) error {
	if err == nil || c.Name == "" {
		return err
	}
	return fmt.Errorf("%s: %w", c.Name, err)
}

// Config returns a copy of the resolved configuration: defaults applied,
// overrides in place. It is what config.resolved.yaml holds.
func (e *Experiment) Config() *replay.Config { return e.cfg.Clone() }

// Name is the configuration's name.
func (e *Experiment) Name() string { return e.cfg.Name }

// LoD is the level of detail the experiment runs at.
func (e *Experiment) LoD() string { return string(e.cfg.Simulation.LoD) }

// SLO is the configuration's SLO in the form summaries use.
func (e *Experiment) SLO() analysis.SLO { return SLOOf(e.cfg) }

// SLOOf is c's slo section as an analysis.SLO.
func SLOOf(c *replay.Config) analysis.SLO {
	return analysis.SLO{TTFTNs: float64(c.SLO.TTFT), TPOTNs: float64(c.SLO.TPOT), E2ENs: float64(c.SLO.E2E)}
}

// WithLoD returns the same experiment at another level of detail.
func (e *Experiment) WithLoD(lodName string) (*Experiment, error) {
	if lodName == "" || replay.LoD(lodName) == e.cfg.Simulation.LoD {
		return e, nil
	}
	c := e.cfg.Clone()
	c.Simulation.LoD = replay.LoD(lodName)
	if err := c.Validate(); err != nil {
		return nil, nameErr(c, err)
	}
	d := *e
	d.cfg = c
	return &d, nil
}

// Open opens a fresh request source for the configuration's workload.
func (e *Experiment) Open() (trace.Reader, error) {
	c := e.cfg
	w := c.Workload
	var r trace.Reader
	var err error
	switch {
	case w.Trace != "":
		r, err = trace.Open(c.Path(w.Trace), trace.Options{Format: w.Format, Columns: w.Columns, TimeUnit: w.TimeUnit,
			Sort: w.Sort, DropFailed: w.DropFailed, KeepOffset: w.KeepOffset})
	case w.Embedded != "":
		r, err = trace.Embedded(w.Embedded)
	case w.Synthetic != nil:
		s := w.Synthetic
		r, err = trace.NewSynthetic(trace.Synthetic{Arrival: s.Arrival, Rate: s.Rate, CV: s.CV, Prompt: s.Prompt, Output: s.Output,
			Count: s.Count, Duration: int64(s.Duration), Seed: c.Simulation.Seed})
	case w.ClosedLoop != nil:
		s := w.ClosedLoop
		r, err = trace.NewClosedLoop(trace.ClosedLoop{Clients: s.Clients, Requests: s.Requests, Prompt: s.Prompt, Output: s.Output,
			ThinkNs: int64(s.ThinkTime), RampNs: int64(s.Ramp), Seed: c.Simulation.Seed})
	default:
		err = errors.New("no source configured")
	}
	if err != nil {
		return nil, nameErr(c, fmt.Errorf("workload: %w", err))
	}
	return r, nil
}

// ExpectedRequests is how many requests the workload will send when that is
// known before reading it (synthetic count, closed-loop requests), else 0.
func (e *Experiment) ExpectedRequests() int64 {
	w := e.cfg.Workload
	switch {
	case w.Synthetic != nil && w.Synthetic.Duration == 0:
		return w.Synthetic.Count
	case w.ClosedLoop != nil:
		return w.ClosedLoop.Requests
	}
	return 0
}

// Progress is called every few hundred thousand events with the simulated
// time and the number of finished requests.
type Progress func(now replay.Time, finished int64)

// Timing splits the wall time of a run. Reading a trace file and recording
// results happen inside the simulation loop (requests stream in and out),
// so they are timed where they happen and taken out of Simulate.
type Timing struct {
	WallNs     int64 // the whole simulation loop: Read + Record + Simulate
	ReadNs     int64 // reading the workload, for a trace file
	RecordNs   int64 // handing results to the sink (writing them, for a streaming sink)
	SimulateNs int64 // the rest: the simulation proper
}

// Run simulates the experiment into sink and returns its statistics and
// where the wall time went.
func (e *Experiment) Run(sink replay.Sink, progress Progress) (*replay.Stats, Timing, error) {
	src, err := e.Open()
	if err != nil {
		return nil, Timing{}, err
	}
	defer src.Close()
	return e.RunFrom(src, sink, progress)
}

// RunFrom is Run with a request source the caller opened (with Open) and
// may inspect afterwards.
func (e *Experiment) RunFrom(src trace.Reader, sink replay.Sink, progress Progress) (*replay.Stats, Timing, error) {
	var t Timing
	if _, reactive := src.(trace.Reactive); !reactive && e.cfg.Workload.Trace != "" {
		src = &timedReader{Reader: src, ns: &t.ReadNs}
	}
	start := time.Now()
	clock := func() int64 { return time.Since(start).Nanoseconds() }
	in := replay.Input{Config: e.cfg, Model: e.model, Cost: e.cost, PrefillCost: e.prefillCost, DecodeCost: e.decodeCost, Workload: src, Sink: timedSink{sink, &t.RecordNs}, Progress: progress, Clock: clock}
	st, err := replay.Run(in)
	t.WallNs = time.Since(start).Nanoseconds()
	t.SimulateNs = max(t.WallNs-t.ReadNs-t.RecordNs, 0)
	if err != nil {
		return nil, Timing{}, fmt.Errorf("%s %s: %w", e.cfg.Name, e.cfg.Simulation.LoD, err)
	}
	return st, t, nil
}

// timedReader adds the time spent in Next to *ns.
type timedReader struct {
	trace.Reader
	ns *int64
}

// Unwrap lets trace.ProblemsOf see the reader underneath.
func (r *timedReader) Unwrap() trace.Reader { return r.Reader }

func (r *timedReader) Next() (trace.Request, error) {
	start := time.Now()
	req, err := r.Reader.Next()
	*r.ns += time.Since(start).Nanoseconds()
	return req, err
}

// timedSink adds the time spent in Record to *ns.
type timedSink struct {
	replay.Sink
	ns *int64
}

func (s timedSink) Record(r *replay.RequestResult) error {
	start := time.Now()
	err := s.Sink.Record(r)
	*s.ns += time.Since(start).Nanoseconds()
	return err
}

// Collect runs the experiment keeping every result in memory and returns
// the run with its summary against the configuration's SLO.
func (e *Experiment) Collect(progress Progress) (*analysis.Run, error) {
	var col replay.Collect
	st, t, err := e.Run(&col, progress)
	if err != nil {
		return nil, err
	}
	run := e.NewRun(st, t.WallNs)
	run.Results = col.Results
	run.Summary = analysis.Summarize(run.Results, st, e.SLO())
	run.Summary.WallS = float64(t.WallNs) / 1e9
	return run, nil
}

// NewRun is the analysis.Run of one execution of e, without results or
// summary (a streaming caller fills in the summary).
func (e *Experiment) NewRun(st *replay.Stats, wallNs int64) *analysis.Run {
	return &analysis.Run{Label: e.cfg.Name, LoD: e.LoD(), WallNs: wallNs, PeakRSSBytes: PeakRSS(),
		Stats: st, Config: e.Config(), Provenance: e.Provenance()}
}

// Provenance describes what e simulates, for run directories and headers.
func (e *Experiment) Provenance() analysis.Provenance {
	c := e.cfg
	p := analysis.Provenance{
		Version:     Version().String(),
		Model:       e.model.Name,
		GPU:         e.cost.GPU().Name,
		Engine:      Engine(c),
		Parallelism: c.Layout(),
		Workload:    Workload(c),
		Seed:        c.Simulation.Seed,
		Profile:     e.profile,
		Pools:       e.pools(),
	}
	if p.Pools != nil {
		p.GPU = c.GPULabel() // each pool's when they differ, as sweep tables name it
	}
	return p
}

// ResultsProvenance is what results.parquet records of the run in its
// created_by and key-value metadata: the lodsim build, what was simulated,
// the seed, the cost model's identity and the SHA-256 of the resolved
// configuration (config.resolved.yaml beside it holds the same bytes).
func (e *Experiment) ResultsProvenance() (analysis.ResultsProvenance, error) {
	p := e.Provenance()
	v := Version()
	cfg, err := e.Config().Marshal()
	if err != nil {
		return analysis.ResultsProvenance{}, err
	}
	sum := sha256.Sum256(cfg)
	build := v.Revision
	if v.Modified && build != "" {
		build += "-dirty"
	}
	md := map[string]string{
		"lodsim_version": p.Version,
		"config_sha256":  hex.EncodeToString(sum[:]),
		"model":          p.Model,
		"gpu":            p.GPU,
		"engine":         p.Engine,
		"parallelism":    p.Parallelism,
		"workload":       p.Workload,
		"lod":            e.LoD(),
		"seed":           strconv.FormatUint(p.Seed, 10),
		"profile":        p.Profile.Name,
	}
	if p.Profile.SHA256 != "" {
		md["profile_sha256"] = p.Profile.SHA256
	}
	for _, q := range p.Pools {
		md[q.Pool+"_gpu"], md[q.Pool+"_profile"] = q.GPU, q.Profile.Name
		if q.Profile.SHA256 != "" {
			md[q.Pool+"_profile_sha256"] = q.Profile.SHA256
		}
	}
	return analysis.ResultsProvenance{Version: v.Module, Build: build, Metadata: md}, nil
}

// Engine names the serving engine whose scheduling the configuration
// follows.
func Engine(c *replay.Config) string {
	if c.Scheduler.Batching == "prefill_first" {
		return "SGLang-style (prefill-first batching)"
	}
	return "vLLM V1-style (mixed batching)"
}

// Workload describes the configuration's request source in one phrase.
func Workload(c *replay.Config) string {
	w := c.Workload
	switch {
	case w.Trace != "":
		return "trace " + w.Trace
	case w.Embedded != "":
		return "embedded trace " + w.Embedded
	case w.Synthetic != nil:
		s := w.Synthetic
		var n []string
		if s.Count > 0 {
			n = append(n, fmt.Sprintf("%d requests", s.Count))
		}
		if s.Duration > 0 {
			n = append(n, fmt.Sprintf("%v", time.Duration(s.Duration)))
		}
		return fmt.Sprintf("%s arrivals at %g req/s (%s), prompt %s, output %s", cmp.Or(s.Arrival, "poisson"), s.Rate, strings.Join(n, ", "), lengths(s.Prompt), lengths(s.Output))
	case w.ClosedLoop != nil:
		s := w.ClosedLoop
		return fmt.Sprintf("closed loop: %d clients, %d requests, prompt %s, output %s", s.Clients, s.Requests, lengths(s.Prompt), lengths(s.Output))
	}
	return "none"
}

// costModel resolves hardware.gpu and hardware.profile to a cost model and
// its identity.
func costModel(c *replay.Config) (cost.CostModel, analysis.ProfileID, error) {
	return resolveCost(c, costSource{gpu: c.Hardware.GPU, profile: c.Hardware.Profile, gpuField: "hardware.gpu", profileField: "hardware.profile"})
}

// costSource is a GPU and a profile to resolve to a cost model, with the
// config fields that name them (for errors).
type costSource struct {
	gpu, profile           string
	gpuField, profileField string
}

// resolveCost resolves s as costModel resolves hardware.gpu and
// hardware.profile: the shipped profile of the GPU for c's engine, with
// the engine's CPU costs, when the profile is unset; the GPU's roofline
// for "roofline"; else the profile file, which must be calibrated on the
// GPU.
func resolveCost(c *replay.Config, s costSource) (cost.CostModel, analysis.ProfileID, error) {
	g, err := cost.LookupGPU(s.gpu)
	if err != nil {
		return nil, analysis.ProfileID{}, fmt.Errorf("%s: %w", s.gpuField, err)
	}
	switch p := s.profile; p {
	case "":
		cm := hwprofile.DefaultCostModel(g)
		if e := c.Scheduler.Engine; e != "" {
			// The kernels of the configured engine where shipped, with
			// the engine's fitted CPU costs (replay.EngineCosts).
			if p, err := hwprofile.EngineCostModel(g, string(e)); err == nil {
				cm = p
			}
		}
		if prof, ok := cm.(*cost.Profile); ok {
			prof = replay.WithEngineCosts(prof, c)
			return prof, ProfileIdentity(prof), nil
		}
		return cm, analysis.ProfileID{Name: "roofline", GPU: g.Name}, nil
	case "roofline":
		return cost.NewRoofline(g), analysis.ProfileID{Name: "roofline", GPU: g.Name}, nil
	default:
		path := c.Path(p)
		prof, err := LoadProfile(path)
		if err != nil {
			return nil, analysis.ProfileID{}, fmt.Errorf("%s: %w", s.profileField, err)
		}
		if pg := prof.GPU(); pg.Key != g.Key {
			return nil, analysis.ProfileID{}, fmt.Errorf("%s: %s was calibrated on %s, but %s is %s; use a profile of the same GPU", s.profileField, path, pg.Name, s.gpuField, g.Name)
		}
		return prof, ProfileIdentity(prof), nil
	}
}

// poolCostModel resolves the cost model of pool kind of a disaggregated
// cluster when it is not hardware.gpu's with hardware.profile: a pool on
// a GPU of its own (cluster.disaggregated.<kind>.gpu other than
// hardware.gpu) or with a profile of its own (<kind>.profile). The pool's
// profile, else the shipped profile of its GPU for the run's engine with
// the engine's CPU costs, else its roofline (replay.Config.PoolProfile).
// A calibrated profile file in hardware.profile describes hardware.gpu
// only, so a pool on another GPU needs a profile of its own then. nil
// (the pool uses the run's cost model) otherwise.
func poolCostModel(c *replay.Config, kind replay.PoolKind) (cost.CostModel, analysis.ProfileID, error) {
	if c.Cluster.Disaggregated == nil {
		return nil, analysis.ProfileID{}, nil
	}
	name, own := c.PoolGPU(kind)
	field := "cluster.disaggregated." + kind.String()
	q := c.Cluster.Disaggregated.Prefill
	if kind == replay.PoolDecode {
		q = c.Cluster.Disaggregated.Decode
	}
	if !own && q.Profile == "" {
		return nil, analysis.ProfileID{}, nil
	}
	if p := c.Hardware.Profile; own && q.Profile == "" && p != "" && p != "roofline" {
		return nil, analysis.ProfileID{}, fmt.Errorf("%s.gpu: %s, but hardware.profile %s describes hardware.gpu (%s); give %s.profile, a profile calibrated on %s, or leave hardware.profile unset (shipped profiles) or roofline",
			field, name, p, c.Hardware.GPU, field, name)
	}
	s := costSource{gpu: name, profile: c.PoolProfile(kind), gpuField: "hardware.gpu", profileField: "hardware.profile"}
	if own {
		s.gpuField = field + ".gpu"
	}
	if q.Profile != "" {
		s.profileField = field + ".profile"
	}
	return resolveCost(c, s)
}

// LoadProfile reads a calibrated profile file. Beyond cost.LoadProfile's
// checks, a fraction in an integer field (truncated by the decoder) or a
// non-finite number is an error naming its field path.
func LoadProfile(path string) (*cost.Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	p, err := cost.LoadProfile(bytes.NewReader(data), path)
	if err != nil {
		return nil, err
	}
	var root yaml.Node
	if yaml.Unmarshal(data, &root) == nil {
		if s := yamlstrict.Walk(&root, reflect.TypeOf(cost.Profile{})); len(s.Problems) > 0 {
			return nil, fmt.Errorf("%s: %s", path, strings.Join(s.Problems, "; "))
		}
	}
	return p, nil
}

// ShippedProfile is the profile lodsim ships for a GPU, named in either
// spelling (H100-SXM or h100_sxm).
func ShippedProfile(gpu string) (*cost.Profile, error) {
	return hwprofile.ShippedProfile(gpu, "")
}

// ProfileIdentity names a calibrated profile: its name, GPU, the engine
// its overheads were fitted to and the SHA-256 of its encoding, which
// changes with any number in it.
func ProfileIdentity(p *cost.Profile) analysis.ProfileID {
	h := newHash()
	if err := p.Write(h); err != nil {
		panic("experiment: encode profile: " + err.Error())
	}
	return analysis.ProfileID{Name: p.Name(), GPU: p.GPU().Name, Generator: p.Generator, SHA256: h.hex()}
}

// PeakRSS is the process's peak resident set size in bytes (0 where the
// system does not report it).
func PeakRSS() int64 {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	if runtime.GOOS == "darwin" {
		return ru.Maxrss // bytes
	}
	return ru.Maxrss * 1024 // Linux reports kilobytes
}

// lengths writes a token-length distribution as the trace synth flags do.
func lengths(d trace.LengthDist) string {
	switch d.Kind {
	case "fixed":
		return fmt.Sprintf("%g", d.Mean)
	case "normal", "lognormal":
		return fmt.Sprintf("%s(%g, %g)", d.Kind, d.Mean, d.Std)
	case "empirical":
		if d.Source != "" {
			return d.Source
		}
	}
	return d.Kind
}
