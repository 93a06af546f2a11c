package validation

import (
	"errors"
	"fmt"
	"runtime"
	"slices"
	"strings"
	"sync"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/lod"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// DefaultRequestsPerClient is how many requests each closed-loop client
// sends when Options leave it unset: enough that several turnovers of the
// whole population fall inside the steady-state window (see Measure).
const DefaultRequestsPerClient = 6

// Options control how rows are turned into simulations.
type Options struct {
	// LoD is the level of detail; "" is medium, which is exact for these
	// workloads without variability and fast.
	LoD string
	// RequestsPerClient sets the workload length: Concurrency x
	// RequestsPerClient requests per row; 0 is DefaultRequestsPerClient.
	// Rows measured with ClientBenchServing keep that client's
	// BenchServingRounds, and rows of ClientAIPerfRun AIPerfRounds.
	RequestsPerClient int
	// Seed seeds every row's simulation.
	Seed uint64
	// Profiles overrides the shipped calibrated profile of a GPU, by
	// catalog key ("h100_sxm"). Rows of a GPU with neither are skipped.
	Profiles map[string]*cost.Profile
	// Overheads, when set, replaces the engine overheads of every profile.
	// Unset, a shipped profile takes the shipped constants of the row's
	// engine (replay.LookupEngineCosts) and a profile from Profiles keeps
	// its own.
	Overheads *cost.Overheads
	// Ramp spreads the clients' first requests over Ramp x the end-to-end
	// time of one request alone (the closed loop's ramp; 0 starts every
	// client at once, and with fixed lengths they stay in lock-step
	// waves). Unset, the row's engine's shipped ClientRamp (1 when it has
	// none). Rows measured with ClientBenchServing start every client at
	// once whatever it says (--request-rate inf).
	Ramp *float64
	// All measures every completed request instead of the steady-state
	// window (see Measure); rows measured with ClientBenchServing always
	// do.
	All bool
	// Workers simulates this many rows at once; 0 is GOMAXPROCS. Results
	// do not depend on it.
	Workers int
	// Progress, when set, is called after each row with the number of
	// rows done so far, from one goroutine at a time.
	Progress func(done int64)
}

func (o *Options) requests(c int) int64 {
	k := o.RequestsPerClient
	if k <= 0 {
		k = DefaultRequestsPerClient
	}
	return int64(c) * int64(k)
}

// Prediction is one row's simulated outcome.
type Prediction struct {
	Row Row
	// Skipped says why the row was not simulated (unknown model, no
	// calibrated profile for the GPU, the model does not fit, ...); empty
	// when it was.
	Skipped string
	Metrics Metrics // predicted figures (Metrics.TTFTms, Metrics.TPOTms)
	Config  *replay.Config
}

// Simulated reports whether the row has predictions.
func (p *Prediction) Simulated() bool { return p.Skipped == "" }

// errSkip marks a reason to skip a row rather than fail the whole run.
type errSkip struct{ reason string }

func (e *errSkip) Error() string { return e.reason }

func skipf(format string, args ...any) error { return &errSkip{fmt.Sprintf(format, args...)} }

// RowConfig builds the simulation of a row: one replica of the row's model
// (its weights in the row's GEMM and MoE formats when the checkpoint is
// unquantized) on TP x PP GPUs of the row's type, the scheduler and memory
// defaults of the row's engine and version (scheduler.engine and
// engine_version, applied by replay), and a closed-loop workload of Concurrency
// clients sending fixed ISL/OSL requests with no think time, as benchmark
// tools do with --max-concurrency, ready to run with the row's cost model.
// Problems that make the row unusable (unknown model or GPU, no profile)
// come back as a skip reason.
func RowConfig(row Row, opt Options) (*experiment.Experiment, error) {
	x, _, err := rowConfig(row, opt)
	return x, err
}

// RespreadAbove is the ratio of a row's loaded end-to-end time (the
// measured window's mean) to one request's alone above which its clients
// are spread again over the loaded cycle (see clientSpread).
const RespreadAbove = 1.25

// clientSpread is how a row's clients were spread: over Factor x the
// unloaded end-to-end time UnloadedNs (Options.Ramp). Clients that keep
// sending back to back stay spread over their own cycle, which under load
// is the loaded end-to-end time, not the unloaded one: a ramp of the
// unloaded time then starts them all within a fraction of a cycle, and
// they run as the bunched waves the ramp was meant to break up. So where
// the loaded time exceeds RespreadAbove x the unloaded one, Predict runs
// the row again with the clients spread over Factor x the loaded time.
type clientSpread struct {
	Factor     float64
	UnloadedNs int64
	cost       *cost.Profile
	id         analysis.ProfileID
}

// respread is the row's experiment with its clients spread over Factor x
// loadedNs, or nil when the loaded cycle is close enough to the unloaded
// one (or the clients were not spread).
func (c clientSpread) respread(cfg *replay.Config, loadedNs float64) (*experiment.Experiment, error) {
	if c.Factor <= 0 || c.UnloadedNs <= 0 || cfg.Workload.ClosedLoop == nil || !(loadedNs > RespreadAbove*float64(c.UnloadedNs)) {
		return nil, nil
	}
	one := *cfg
	cl := *cfg.Workload.ClosedLoop
	cl.Ramp = replay.Duration(c.Factor * loadedNs)
	one.Workload.ClosedLoop = &cl
	x, err := experiment.New(&one, experiment.WithCost(c.cost, c.id))
	if err != nil {
		return nil, skipf("%v", err)
	}
	return x, nil
}

// rowConfig is RowConfig with how the clients were spread.
func rowConfig(row Row, opt Options) (*experiment.Experiment, clientSpread, error) {
	var spread clientSpread
	if row.Disaggregated() {
		x, err := disaggRowConfig(row, opt)
		return x, spread, err
	}
	r, err := resolveRow(row, opt)
	if err != nil {
		return nil, spread, err
	}
	m, engine, version, g, cp := r.model, r.engine, r.version, r.gpu, r.profile
	dom := g.Domain()
	if row.TP > dom {
		return nil, spread, skipf("tensor parallel %d spans more than one NVLink domain of %d %s GPUs: %s", row.TP, dom, g.Name, oneNodeOnly)
	}
	dp := max(row.AttentionDP, 1)
	if m.Experts > 0 {
		dp = impliedDP(row, engine, dp)
		if err := moeWorld(row, dp); err != nil {
			return nil, spread, err
		}
	}
	if row.TP*dp > dom {
		return nil, spread, skipf("attention data parallel %d x tensor parallel %d spans more than one NVLink domain of %d %s GPUs: %s", dp, row.TP, dom, g.Name, oneNodeOnly)
	}
	lodName := opt.LoD
	if lodName == "" {
		lodName = "medium"
	}
	cfg := &replay.Config{
		Name:       row.ID,
		Simulation: replay.SimulationConfig{LoD: replay.LoD(lodName), Seed: opt.Seed},
		Model:      m,
		Hardware:   replay.HardwareConfig{GPU: g.Name},
		// Attention data parallelism: dp replicas of TP attention share
		// the MoE layers, whose experts spread over moe_ep_size ranks
		// (replay/expertparallel.go); the clients spread over the replicas.
		Cluster: replay.ClusterConfig{Replicas: dp, TensorParallel: row.TP, PipelineParallel: max(row.PP, 1),
			AttentionDataParallel: attentionDP(dp), ExpertParallel: expertParallel(row.MoEEP)},
		Scheduler: replay.SchedulerConfig{Engine: engine, EngineVersion: version},
		Workload: replay.WorkloadConfig{ClosedLoop: &replay.ClosedLoopConfig{
			Clients:  row.Concurrency,
			Requests: row.Client.requests(row.Concurrency, opt),
			Prompt:   row.Client.lengths(row.ISL),
			Output:   row.Client.lengths(row.OSL),
		}},
	}
	if dp > 1 && engine == replay.EngineVLLM {
		// vLLM's API server balances requests over its data-parallel
		// engines by their queues (DPLBAsyncMPClient: the engine with the
		// least waiting x 4 + running), not in turn.
		cfg.Router.Policy = replay.LeastOutstanding
	}
	cfg.ApplyDefaults()
	if sc := &cfg.Scheduler; !*sc.ChunkedPrefill {
		// Without context chunking a prompt runs whole, so a deployment
		// benchmarked at this ISL and concurrency had a token budget that
		// holds one prompt beside a decode of every other client; the
		// engine default (TRT-LLM's max_num_tokens 8192) would starve
		// prefills behind the decodes, which the measured TTFT rules out.
		sc.MaxNumBatchedTokens = max(sc.MaxNumBatchedTokens, row.ISL+row.Concurrency)
	}
	applyRecipes(row, &cfg.Scheduler)
	applyLaunchRecipe(row, cfg, &m)
	if err := cfg.Validate(); err != nil {
		return nil, spread, skipf("%v", err)
	}
	blocks, err := replay.KVBlocks(cfg, m, g, cp.Overhead.MemoryReserveGB)
	if err != nil {
		return nil, spread, skipf("does not fit: %v", err)
	}
	if need := int64(row.ISL+row.OSL+cfg.Scheduler.BlockSize-1) / int64(cfg.Scheduler.BlockSize); need > blocks {
		return nil, spread, skipf("KV cache of %d tokens per replica cannot hold one request of %d tokens", blocks*int64(cfg.Scheduler.BlockSize), row.ISL+row.OSL)
	}
	id := analysis.ProfileID{Name: cp.Name(), GPU: g.Name, Generator: cp.Generator}
	ramp := 1.0
	if ec, ok := replay.LookupEngineCosts(engine); ok {
		ramp = ec.ClientRamp
	}
	if opt.Ramp != nil {
		ramp = *opt.Ramp
	}
	if row.Client == ClientBenchServing {
		ramp = 0 // --request-rate inf: every client sends at once
	}
	if ramp > 0 && row.Concurrency > 1 {
		e2e, err := unloadedE2E(cfg, &cp, id)
		if err != nil {
			return nil, spread, err
		}
		cfg.Workload.ClosedLoop.Ramp = replay.Duration(ramp * float64(e2e))
		spread = clientSpread{Factor: ramp, UnloadedNs: e2e, cost: &cp, id: id}
	}
	x, err := experiment.New(cfg, experiment.WithCost(&cp, id))
	if err != nil {
		return nil, spread, skipf("%v", err)
	}
	return x, spread, nil
}

// impliedDP is the attention data parallelism a row ran. A vLLM row whose
// moe_tp_size x moe_ep_size is a multiple k > 1 of tp_size, with
// attention_dp_size blank or 1, ran --data-parallel-size k: vLLM spreads
// each MoE layer over the data_parallel_size x tensor_parallel_size ranks
// (FusedMoEParallelConfig: tensor-parallel experts across all of them
// unless --enable-expert-parallel), so the file's moe_* columns name the
// whole world while tp_size names one data-parallel rank (Qwen3-235B
// tp_size 1, moe_tp_size 2: two ranks of TP1 attention sharing experts
// split in two). Other engines' rows state attention_dp_size; theirs, and
// a world that tp_size does not divide, are left to moeWorld.
func impliedDP(row Row, engine replay.Engine, dp int) int {
	world := row.MoETP * row.MoEEP
	if engine != replay.EngineVLLM || dp > 1 || row.TP < 1 || row.MoETP <= 0 || row.MoEEP <= 0 || world <= row.TP || world%row.TP != 0 {
		return dp
	}
	return world / row.TP
}

// oneNodeOnly is why a row wider than one NVLink domain is skipped rather
// than run on replay's cluster.nodes: the files name no network, and every
// such row of the dev set was a one-node launch that recorded its
// --ep_size as a second TP factor (launchLayout reads those whose id names
// the launch, on InferenceMAX TensorRT-LLM rows); simulating the recorded width across nodes would predict a
// deployment that did not run.
const oneNodeOnly = "the row names no network between nodes and validate runs one node (a width of TP x EP recorded for a one-node launch is read as the launch only on an InferenceMAX TensorRT-LLM row whose id names it, as _tp8_ep8_)"

// moeWorld checks that an MoE model's expert layers span the GPUs its
// attention does. A row whose moe_tp_size x moe_ep_size differs from
// tp_size x attention_dp_size (after impliedDP) ran a layout the file does
// not say, so the row is skipped rather than simulated as the plain TP
// deployment it was not.
func moeWorld(row Row, dp int) error {
	if row.MoETP <= 0 || row.MoEEP <= 0 {
		return nil
	}
	if moe, attn := row.MoETP*row.MoEEP, row.TP*dp; moe != attn {
		return skipf("moe_tp_size %d x moe_ep_size %d = %d GPUs but tp_size %d x attention_dp_size %d = %d: expected the MoE layers to span the attention's GPUs (lodsim infers the data parallelism of vLLM rows only)",
			row.MoETP, row.MoEEP, moe, row.TP, dp, attn)
	}
	return nil
}

// unloadedE2E is the end-to-end time of one request of cfg's lengths alone
// on the replica: the length of one client's cycle at low load.
func unloadedE2E(cfg *replay.Config, cp *cost.Profile, id analysis.ProfileID) (int64, error) {
	one := *cfg
	cl := *cfg.Workload.ClosedLoop
	cl.Clients, cl.Requests, cl.Ramp = 1, 1, 0
	one.Workload.ClosedLoop = &cl
	x, err := experiment.New(&one, experiment.WithCost(cp, id))
	if err != nil {
		return 0, skipf("%v", err)
	}
	r, err := x.Open()
	if err != nil {
		return 0, err
	}
	var col replay.Collect
	if _, _, err := x.RunFrom(r.(*trace.ClosedLoopSource), &col, nil); err != nil {
		return 0, err
	}
	if len(col.Results) != 1 || col.Results[0].Status != replay.Completed {
		return 0, skipf("one request alone does not complete")
	}
	return int64(col.Results[0].E2E()), nil
}

// Predict simulates one row. A row lodsim cannot simulate comes back with
// Skipped set and a nil error; the error is for failures of the simulator
// itself.
func Predict(row Row, opt Options) (Prediction, error) {
	p := Prediction{Row: row}
	if row.Repeats > 0 {
		p.Skipped = fmt.Sprintf("repeats line %d (the same deployment, workload and measured TTFT and TPOT under another id): one run counts once", row.Repeats)
		return p, nil
	}
	if row.Disaggregated() {
		// Labelled with the pools it ran as (its recipe's, recipes.go).
		p.Row.Disagg = disaggLayout(row)
	}
	e, spread, err := rowConfig(row, opt)
	var sk *errSkip
	if errors.As(err, &sk) {
		p.Skipped = sk.reason
		return p, nil
	}
	if err != nil {
		return p, err
	}
	p.Config = e.Config()
	all := opt.All || row.Client.measuresAll()
	p.Metrics, err = simulate(row, e, all)
	if err == nil {
		// Clients spread over one unloaded request bunch up when a loaded
		// cycle is much longer: spread them over the loaded one.
		var again *experiment.Experiment
		if again, err = spread.respread(p.Config, p.Metrics.E2Ems*1e6); again != nil {
			p.Config = again.Config()
			p.Metrics, err = simulate(row, again, all)
		}
	}
	if errors.As(err, &sk) {
		p.Skipped = sk.reason
		return p, nil
	}
	return p, err
}

// simulate runs a row's closed-loop simulation and measures it.
func simulate(row Row, e *experiment.Experiment, all bool) (Metrics, error) {
	r, err := e.Open()
	if err != nil {
		return Metrics{}, fmt.Errorf("%s: line %d: %w", row.File, row.Line, err)
	}
	src := r.(*trace.ClosedLoopSource)
	var col replay.Collect
	if _, _, err := e.RunFrom(src, &col, nil); err != nil {
		return Metrics{}, fmt.Errorf("%s: line %d: %w", row.File, row.Line, err)
	}
	if src.MaxOutstanding() > row.Concurrency {
		panic(fmt.Sprintf("validation: %d requests in flight with %d clients", src.MaxOutstanding(), row.Concurrency))
	}
	var rejected int
	for i := range col.Results {
		if col.Results[i].Status == replay.Rejected {
			rejected++
		}
	}
	if rejected > 0 {
		return Metrics{}, skipf("%d of %d requests rejected: the KV cache cannot hold one request", rejected, len(col.Results))
	}
	mt, err := Measure(col.Results, row.Concurrency, all)
	if err != nil {
		return mt, fmt.Errorf("%s: line %d: %w", row.File, row.Line, err)
	}
	return mt, nil
}

// PredictAll simulates every row, opt.Workers at a time; the result is in
// row order and does not depend on the number of workers.
func PredictAll(rows []Row, opt Options) ([]Prediction, error) {
	out := make([]Prediction, len(rows))
	errs := make([]error, len(rows))
	w := opt.Workers
	if w <= 0 {
		w = runtime.GOMAXPROCS(0)
	}
	var mu sync.Mutex
	var done int64
	experiment.Parallel(len(rows), w, func(i int) {
		out[i], errs[i] = Predict(rows[i], opt)
		if opt.Progress != nil {
			mu.Lock()
			done++
			opt.Progress(done)
			mu.Unlock()
		}
	})
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return out, nil
}

// Report is the validation of a set of rows: every row's prediction (or
// why it was skipped) and the accuracy of TTFT and TPOT, grouped by model,
// GPU and TP.
type Report struct {
	Predictions []Prediction
	TTFT        analysis.AccuracyTable
	TPOT        analysis.AccuracyTable
	// Groups is the accuracy per (model, GPU, engine, precision, mode),
	// skipped rows counted.
	Groups GroupTable
}

// Skipped lists the skipped rows.
func (r *Report) Skipped() []Prediction {
	var out []Prediction
	for _, p := range r.Predictions {
		if !p.Simulated() {
			out = append(out, p)
		}
	}
	return out
}

// Validate predicts every row and tabulates the accuracy of the simulated
// ones; skipped rows stay in Predictions with their reason.
func Validate(rows []Row, opt Options) (*Report, error) {
	preds, err := PredictAll(rows, opt)
	if err != nil {
		return nil, err
	}
	return NewReport(preds), nil
}

// NewReport tabulates predictions.
func NewReport(preds []Prediction) *Report {
	rep := &Report{Predictions: preds}
	var ttft, tpot []analysis.Pair
	for _, p := range preds {
		if !p.Simulated() {
			continue
		}
		l, g := p.Row.Label(), p.Row.Group()
		ttft = append(ttft, analysis.Pair{Label: l, Group: g, Measured: p.Row.TTFTms, Predicted: p.Metrics.TTFTms})
		tpot = append(tpot, analysis.Pair{Label: l, Group: g, Measured: p.Row.TPOTms, Predicted: p.Metrics.TPOTms})
	}
	rep.TTFT = analysis.Accuracy(ttft)
	rep.TPOT = analysis.Accuracy(tpot)
	rep.Groups = Groups(preds)
	// The metric tables count the skipped rows too, as the group table
	// does: a group whose rows were not simulated still shows how many.
	for _, g := range rep.Groups.Groups {
		rep.TTFT.AddSkipped(g.Group, int64(g.Skipped))
		rep.TPOT.AddSkipped(g.Group, int64(g.Skipped))
	}
	return rep
}

// rowPrecision puts an unquantized checkpoint's weights in the formats the
// row's engine ran them in (gemm_quant_mode for the dense layers,
// moe_quant_mode for the experts), as an engine quantizing at load time
// does. A quantized checkpoint keeps its own formats (its config knows
// which layers stay in 16 bits). Either way the KV cache follows the
// engine (engineKVCache).
func rowPrecision(m lod.Model, row Row) (lod.Model, error) {
	if m.Weights != lod.Unquantized || m.ExpertWeights != lod.Unquantized || m.AttentionWeights != lod.Unquantized {
		return engineKVCache(m, row), nil
	}
	if row.GEMMQuant != "" {
		p, err := lod.ParsePrecision(row.GEMMQuant)
		if err != nil {
			return m, fmt.Errorf("gemm_quant_mode: %w", err)
		}
		m = m.WithPrecision(p, lod.Unquantized)
		if strings.EqualFold(row.Backend, loadTimeFP8KVEngine) && p != lod.BF16 && p != lod.FP16 {
			m.KVCache = lod.FP8
		}
	}
	if row.MoEQuant != "" && m.Experts > 0 {
		p, err := lod.ParsePrecision(row.MoEQuant)
		if err != nil {
			return m, fmt.Errorf("moe_quant_mode: %w", err)
		}
		m.ExpertWeights = p
	}
	return engineKVCache(m, row), nil
}

// engineKVCache sets the KV cache format a row's engine ran: TensorRT-LLM
// deployments with quantized weights, whether quantized at load time or a
// quantized checkpoint (DeepSeek-R1's block-scaled FP8), run an FP8 KV cache
// (kv_cache_config.dtype fp8, as aiconfigurator generates them). With a
// 16-bit cache guaranteed_no_evict admits half as many requests and
// predicted TTFTs came out 10x too high (Llama-3.1-70B at TP1/TP2,
// BENCHMARKS.md); DeepSeek-R1 at 128 clients of 9K tokens on TP8 did not
// fit in memory at all. Other engines, and a cache format the checkpoint
// sets, keep the model's own.
func engineKVCache(m lod.Model, row Row) lod.Model {
	if !strings.EqualFold(row.Backend, "trtllm") || m.KVCache != lod.Unquantized {
		return m
	}
	switch m.Weights {
	case lod.Unquantized, lod.BF16, lod.FP16:
	default:
		m.KVCache = lod.FP8
	}
	return m
}

// loadTimeFP8KVEngine is the engine besides TensorRT-LLM (engineKVCache)
// whose rows quantized to FP8 or FP4 at load time (an unquantized
// checkpoint with gemm_quant_mode fp8/nvfp4) run an FP8 KV cache (--kv-
// cache-dtype fp8): the Llama-3.1-70B / H200 FP8 row at TP1, 32 clients of
// 8192 + 1024 tokens, measured a 3.1 s TTFT, which needs all 295k tokens in
// the cache at once, while a 16-bit cache holds about 150k beside 70 GB of
// weights (35 s predicted with it, clients queueing for blocks). A
// quantized vLLM checkpoint keeps the cache format it sets, and the dev set
// has no SGLang row quantized at load time, so SGLang keeps the model's
// dtype.
const loadTimeFP8KVEngine = "vllm"

// rowEngine is the replay engine and version a row's backend names. A
// version that is not a release number (a development build such as
// "gpt-oss-dev") takes the engine's newest known defaults; a blank one too.
func rowEngine(row Row) (replay.Engine, string, error) {
	e := replay.Engine(strings.ToLower(strings.TrimSpace(row.Backend)))
	if !slices.Contains(replay.Engines, e) {
		return "", "", fmt.Errorf("backend %q: lodsim models %v", row.Backend, replay.Engines)
	}
	v := strings.TrimSpace(row.Version)
	if v != "" && (v[0] < '0' || v[0] > '9') {
		v = ""
	}
	return e, v, nil
}

// attentionDP and expertParallel are a row's settings as the config takes
// them: 1 (no parallelism of the kind) is left unset.
func attentionDP(dp int) int {
	if dp > 1 {
		return dp
	}
	return 0
}

func expertParallel(ep int) int {
	if ep > 1 {
		return ep
	}
	return 0
}

// resolvedRow is what every row, aggregated or disaggregated, resolves to
// before its cluster is laid out: the model in the row's formats, the
// engine, the GPU, and the cost profile with the overheads it runs with.
type resolvedRow struct {
	model   lod.Model
	engine  replay.Engine
	version string
	gpu     cost.GPU
	profile cost.Profile
}

// resolveRow looks up row's model, engine and GPU and picks its profile:
// the kernels of the row's own engine where lodsim ships them, with that
// engine's shipped constants as overheads (as replay does for
// scheduler.engine), unless opt names a profile or overheads. Problems come
// back as skip reasons.
func resolveRow(row Row, opt Options) (resolvedRow, error) {
	var r resolvedRow
	m, err := lod.LookupModel(row.Model)
	if err != nil {
		return r, skipf("unknown model %q: lodsim has no architecture for it (built in: %v)", row.Model, lod.ModelNames())
	}
	if m, err = rowPrecision(m, row); err != nil {
		return r, skipf("%v", err)
	}
	engine, version, err := rowEngine(row)
	if err != nil {
		return r, skipf("%v", err)
	}
	g, err := cost.LookupGPU(row.GPU)
	if err != nil {
		return r, skipf("unknown GPU %q: not in the hardware catalog", row.GPU)
	}
	prof := opt.Profiles[g.Key]
	if prof == nil {
		// The kernels of the row's own engine where lodsim ships them
		// (aiconfigurator measured each engine's kernels), else the GPU's
		// default engine's.
		if prof, err = hwprofile.EmbeddedProfileFor(g.Key, string(engine)); err != nil {
			prof, err = hwprofile.EmbeddedProfile(g.Key)
		}
		if err != nil {
			return r, skipf("no calibrated profile for GPU %s (%s): lodsim ships %v; pass one with --profile", g.Name, g.Key, hwprofile.EmbeddedKeys())
		}
	}
	cp := *prof // the tables are shared and read-only; the overheads are ours
	switch {
	case opt.Overheads != nil:
		cp.Overhead = *opt.Overheads
	case opt.Profiles[g.Key] == nil:
		// A shipped profile has no overheads: the engine's shipped
		// constants supply them, as replay does for scheduler.engine.
		if ec, ok := replay.LookupEngineCosts(engine); ok {
			cp.Overhead = ec.Overheads(cp.Overhead.MemoryReserveGB)
		}
	}
	cp.StaticFP8Activations = replay.StaticFP8Scales(engine, version)
	r.model, r.engine, r.version, r.gpu, r.profile = m, engine, version, g, cp
	return r, nil
}
