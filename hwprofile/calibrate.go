package hwprofile

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"slices"
	"sort"
	"strconv"
	"strings"

	"gonum.org/v1/gonum/optimize"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// ErrNoUsableRows is returned by Calibrate when no measurement of the GPU
// passes the selection.
var ErrNoUsableRows = errors.New("hwprofile: no usable measurements")

// CalibrateOptions tune Calibrate. The zero value is usable.
type CalibrateOptions struct {
	// Seed drives the held-out split.
	Seed uint64
	// HoldOut is the fraction of each operation's distinct points held out
	// to measure the fit (default 0.1; negative disables the check).
	HoldOut float64
	// Created dates the profile; empty takes the source data's commit date
	// (Measurements.SourceDate), never the wall clock.
	Created string
	// RingMinBytes and RingMaxBytes bound the message sizes the alpha-beta
	// link of each collective is fitted on (default 8 KiB to 64 MiB, the
	// sizes tensor-parallel inference exchanges). The interpolated tables use
	// every size.
	RingMinBytes, RingMaxBytes int64
	// Engine selects the serving engine whose kernel tables are used
	// ("vllm", "sglang" or "trtllm"; kernels differ between them). Tables
	// of no engine (NCCL collectives) are used whatever it is. Empty uses
	// every row when the tables hold one engine only, and is an error when
	// they hold several.
	Engine string
	// FitSample caps the points each roofline base is fitted on (see
	// fitRoofline); 0 fits on every point. The grids always hold every
	// point.
	FitSample int
}

func (o *CalibrateOptions) defaults() {
	if o.HoldOut == 0 {
		o.HoldOut = 0.1
	}
	if o.RingMinBytes == 0 {
		o.RingMinBytes = 8 << 10
	}
	if o.RingMaxBytes == 0 {
		o.RingMaxBytes = 64 << 20
	}
}

// FitPoint is one held-out measurement and the calibrated prediction, ns.
type FitPoint struct {
	Measured, Predicted float64
}

// OpFit is the held-out fit of one operation.
type OpFit struct {
	cost.FitSummary
	Points []FitPoint // in a deterministic order
}

// FitReport is what Calibrate measured about its own fit.
type FitReport struct {
	GPU     cost.GPU
	Seed    uint64
	HoldOut float64
	Ops     []OpFit
}

// WriteText says how many measurements from how many files (p's sources)
// were fitted and how the fit was held out, then writes p's fit table.
func (r *FitReport) WriteText(w io.Writer, p *cost.Profile, measurements int) error {
	fmt.Fprintf(w, "%s: %d measurements from %d files; held-out fit (seed %d, %.0f%% held out or %d-fold):\n\n",
		r.GPU.Name, measurements, len(p.Sources), r.Seed, 100*r.HoldOut, int(math.Round(1/r.HoldOut)))
	return cost.WriteFitTable(w, p.Fit)
}

// Op returns the fit of op, if present.
func (r *FitReport) Op(op string) (OpFit, bool) {
	for _, o := range r.Ops {
		if o.Op == op {
			return o, true
		}
	}
	return OpFit{}, false
}

// Selection rules, written into every profile.
var selectionNotes = []string{
	"rows of the profile's GPU only, and of its engine (collectives measured with NCCL serve every engine)",
	"16-bit floating point (bf16 or fp16; NCCL 'half'), except gemm and moe rows of a quantised precision, which form their own sections",
	"attention: KV cache in bf16/fp16, and fp8 in sections of its own; full attention (window 0), no prefix (context) rows; beam width 1",
	"mla: bf16 compute, KV cache bf16 or fp8; moe: balanced routing only",
	"generation attention: seq_len is the KV length (aiconfigurator isl + step)",
	"collectives: ranks within one node; message bytes = elements x element size",
	"custom_all_reduce: CUDA-graph kernels when measured, else all",
	"duplicate points (same op and shape) are merged by their median latency",
	"gemm: vLLM fp8_block rows collected before vLLM 0.25 are left out (timed without CUDA graphs, host launch gaps included; see eagerTimed)",
	"mla: vLLM kernel-table rows (context_mla, generation_mla) are left out for the same reason; vLLM's module rows stay",
	"gemm: a section's measured cells are smoothed (each the median of itself and its neighbours' estimates, cost.Grid.Denoise) or despiked (a cell over 10 % above its neighbours' median estimate brought to it, cost.Grid.Despike) when that predicts a held-out tenth of its own points better (smoothGEMM); the notes give each section's check",
}

type gemmPt struct {
	m, n, k int64
	t       float64
}

type attnPt struct {
	h, kv, hd, b, s int64
	t               float64
}

type commPt struct {
	n     int
	bytes int64
	t     float64
}

// Calibrate fits a profile of g from the measurements of g in ms, and
// reports the fit on a seeded held-out split: each operation's model is
// built again without the held-out points and evaluated on them. The
// returned profile is built from all points.
func Calibrate(ms *Measurements, g cost.GPU, opt CalibrateOptions) (*cost.Profile, *FitReport, error) {
	opt.defaults()
	if opt.RingMinBytes >= opt.RingMaxBytes {
		return nil, nil, fmt.Errorf("hwprofile: ring fit range: found %d..%d bytes, expected min < max", opt.RingMinBytes, opt.RingMaxBytes)
	}
	sel, err := selectRows(ms, g, opt.Engine)
	if err != nil {
		return nil, nil, err
	}
	if sel.total == 0 {
		return nil, nil, fmt.Errorf("%w for %s (key %s): the tables hold GPUs %s", ErrNoUsableRows, g.Name, g.Key, strings.Join(ms.GPUs(), ", "))
	}
	if err := sel.enough(g); err != nil {
		return nil, nil, err
	}
	created := opt.Created
	if created == "" {
		created = ms.SourceDate
	}
	p := &cost.Profile{
		Version:      cost.ProfileVersion,
		Device:       cost.NewProfileGPU(g),
		Created:      created,
		Generator:    fmt.Sprintf("lodsim calibrate (profile format %d)", cost.ProfileVersion),
		SourceCommit: ms.SourceCommit,
		Selection:    selectionNotes,
		Engine:       sel.engine,
	}
	for _, s := range ms.Sources {
		if sel.used[s.Path] > 0 {
			s.Rows = sel.used[s.Path]
			p.Sources = append(p.Sources, s)
		}
	}
	rep := &FitReport{GPU: g, Seed: opt.Seed, HoldOut: opt.HoldOut}
	eval := func(op string, rng string, pts []FitPoint) {
		f := OpFit{FitSummary: summarize(op, pts), Points: pts}
		f.Range = rng
		rep.Ops = append(rep.Ops, f)
		p.Fit = append(p.Fit, f.FitSummary)
	}

	// heldOut runs predict on every fold of n points and gathers the
	// held-out predictions (main) and those of the alpha-beta form (ring).
	heldOut := func(stream uint64, n int, predict func(train, test []int) (main, ring []FitPoint, err error)) (main, ring []FitPoint, err error) {
		for _, f := range folds(n, opt, stream) {
			m, r, err := predict(f[0], f[1])
			if err != nil {
				return nil, nil, err
			}
			main, ring = append(main, m...), append(ring, r...)
		}
		return main, ring, nil
	}

	if len(sel.gemm) > 0 {
		pts, _, err := heldOut(opStream(cost.OpGEMM), len(sel.gemm), func(train, test []int) (out, _ []FitPoint, err error) {
			tp := &cost.Profile{Device: p.Device}
			if tp.GEMMs, _, err = buildGEMM(pick(sel.gemm, train), opt.FitSample); err != nil {
				return nil, nil, err
			}
			if err := tp.Compile(); err != nil {
				return nil, nil, fmt.Errorf("hwprofile: gemm: %w", err)
			}
			for _, i := range test {
				x := sel.gemm[i]
				out = append(out, FitPoint{x.t, tp.GEMM(int(x.m), int(x.n), int(x.k))})
			}
			return out, nil, nil
		})
		if err != nil {
			return nil, nil, err
		}
		eval(string(cost.OpGEMM), "", pts)
		var sm gemmSmoothing
		if p.GEMMs, sm, err = buildGEMM(sel.gemm, opt.FitSample); err != nil {
			return nil, nil, err
		}
		p.Notes = append(p.Notes, sm.note(cost.BF16))
	}
	for _, a := range []struct {
		op     cost.Op
		kv     cost.Precision
		pts    []attnPt
		decode bool
		dst    **cost.AttentionTable
	}{{cost.OpContextAttention, cost.BF16, sel.ctx, false, &p.Context}, {cost.OpGenerationAttention, cost.BF16, sel.gen, true, &p.Generation},
		{cost.OpContextAttention, cost.FP8, sel.ctx8, false, &p.ContextFP8KV}, {cost.OpGenerationAttention, cost.FP8, sel.gen8, true, &p.GenerationFP8KV}} {
		if len(a.pts) == 0 {
			continue
		}
		name, stream := string(a.op), opStream(a.op)
		if a.kv == cost.FP8 {
			name, stream = name+fp8KVSuffix, subStream(a.op, a.kv)
		}
		pts, _, err := heldOut(stream, len(a.pts), func(train, test []int) (out, _ []FitPoint, err error) {
			tp := &cost.Profile{Device: p.Device}
			tt, err := buildAttention(pick(a.pts, train), a.decode, opt.FitSample)
			if err != nil {
				return nil, nil, fmt.Errorf("hwprofile: %s: %w", name, err)
			}
			switch {
			case a.decode && a.kv == cost.FP8:
				tp.GenerationFP8KV = tt
			case a.decode:
				tp.Generation = tt
			case a.kv == cost.FP8:
				tp.ContextFP8KV = tt
			default:
				tp.Context = tt
			}
			if err := tp.Compile(); err != nil {
				return nil, nil, fmt.Errorf("hwprofile: %s: %w", name, err)
			}
			for _, i := range test {
				x := a.pts[i]
				s := cost.AttnShape{Heads: int(x.h), KVHeads: int(x.kv), HeadDim: int(x.hd), KVCache: a.kv}
				var pred float64
				if a.decode {
					pred = tp.GenerationAttention(int(x.b), int(x.s), s)
				} else {
					pred = tp.ContextAttention(int(x.b), int(x.s), 0, s)
				}
				out = append(out, FitPoint{x.t, pred})
			}
			return out, nil, nil
		})
		if err != nil {
			return nil, nil, err
		}
		eval(name, "", pts)
		if *a.dst, err = buildAttention(a.pts, a.decode, opt.FitSample); err != nil {
			return nil, nil, fmt.Errorf("hwprofile: %s: %w", name, err)
		}
	}
	for _, op := range []cost.Op{cost.OpAllReduce, cost.OpAllGather, cost.OpReduceScatter, cost.OpSend, cost.OpCustomAllReduce, cost.OpAllToAll} {
		pts := sel.comm[op]
		if len(pts) == 0 {
			continue
		}
		grid, ring, err := heldOut(opStream(op), len(pts), func(train, test []int) (grid, ring []FitPoint, err error) {
			tables, err := buildComm(op, pick(pts, train), opt)
			if err != nil {
				return nil, nil, err
			}
			tp := &cost.Profile{Device: p.Device, Comm: tables}
			if err := tp.Compile(); err != nil {
				return nil, nil, fmt.Errorf("hwprofile: %s: %w", op, err)
			}
			for _, i := range test {
				x := pts[i]
				t, _ := tp.Collective(op, float64(x.bytes), x.n)
				grid = append(grid, FitPoint{x.t, t})
				if x.bytes >= opt.RingMinBytes && x.bytes <= opt.RingMaxBytes {
					l, _ := tp.CommLink(op, x.n)
					ring = append(ring, FitPoint{x.t, cost.RingTime(op, l, float64(x.bytes), cost.CommN(op, x.n))})
				}
			}
			return grid, ring, nil
		})
		if err != nil {
			return nil, nil, err
		}
		eval(string(op), "", grid)
		eval(string(op)+"_ring", fmt.Sprintf("%d-%d bytes", opt.RingMinBytes, opt.RingMaxBytes), ring)
		all, err := buildComm(op, pts, opt)
		if err != nil {
			return nil, nil, err
		}
		p.Comm = append(p.Comm, all...)
	}
	if len(sel.elem) > 0 {
		fit := func(idx []int) cost.LinkFit {
			var xs, ts []float64
			for _, i := range idx {
				xs, ts = append(xs, float64(sel.elem[i].bytes)), append(ts, sel.elem[i].t)
			}
			return fitLink(cost.OpSend, xs, ts, 2)
		}
		pts, _, _ := heldOut(opStream(cost.OpElementwise), len(sel.elem), func(train, test []int) (out, _ []FitPoint, _ error) {
			l := fit(train)
			for _, i := range test {
				x := sel.elem[i]
				out = append(out, FitPoint{x.t, l.LatencyNs + float64(x.bytes)/l.BytesPerNs})
			}
			return out, nil, nil
		})
		eval(string(cost.OpElementwise), "", pts)
		all := make([]int, len(sel.elem))
		for i := range all {
			all[i] = i
		}
		l := fit(all)
		p.Element = &l
	}
	if err := calibrateQuantized(p, sel, opt.FitSample, heldOut, eval); err != nil {
		return nil, nil, err
	}
	p.Notes = append(p.Notes, ms.Notes...)
	p.Notes = append(p.Notes, sel.notes...)
	if err := p.Compile(); err != nil {
		return nil, nil, fmt.Errorf("hwprofile: calibrated profile: %w", err)
	}
	return p, rep, nil
}

// selection holds the deduplicated points of each op, sorted by shape.
type selection struct {
	engine   string
	gemm     []gemmPt
	ctx, gen []attnPt
	// ctx8 and gen8 are the attention rows of an FP8 KV cache.
	ctx8, gen8 []attnPt
	comm       map[cost.Op][]commPt
	elem       []commPt
	// qgemm and moe are indexed by precision.
	qgemm      map[cost.Precision][]gemmPt
	cmla, gmla []mlaPt
	// cmlaMod and gmlaMod are the MLA module rows of a phase whose kernel
	// rows are missing (deriveMLA derives those from them).
	cmlaMod, gmlaMod []mlaModPt
	moe              map[cost.Precision][]moePt
	used             map[string]int
	total            int
	// notes say what the selection left out (dropThinFP8KV).
	notes []string
}

// MinFitShapes is the fewest measured shapes a kernel section is fitted
// from: its roofline base has three parameters (launch time, compute rate,
// bandwidth), so fewer points leave it undetermined and one point gave a
// profile predicting minutes per step. A collective or elementwise link
// (latency and bandwidth) needs two sizes.
const MinFitShapes = 4

// enough refuses a selection with a section too thin to fit, naming the
// op, the count and the minimum.
func (s *selection) enough(g cost.GPU) error {
	var bad []string
	check := func(op string, n, min int) {
		if n > 0 && n < min {
			bad = append(bad, fmt.Sprintf("%s: %d measured shape(s), expected at least %d", op, n, min))
		}
	}
	check(string(cost.OpGEMM), len(s.gemm), MinFitShapes)
	check(string(cost.OpContextAttention), len(s.ctx), MinFitShapes)
	check(string(cost.OpGenerationAttention), len(s.gen), MinFitShapes)
	check(string(cost.OpContextMLA), len(s.cmla), MinFitShapes)
	check(string(cost.OpGenerationMLA), len(s.gmla), MinFitShapes)
	check(string(cost.OpElementwise), len(s.elem), 2)
	for _, q := range sortedKeys(s.qgemm) {
		check(string(cost.OpGEMM)+" "+q.String(), len(s.qgemm[q]), MinFitShapes)
	}
	for _, q := range sortedKeys(s.moe) {
		check(string(cost.OpMoE)+" "+q.String(), len(s.moe[q]), MinFitShapes)
	}
	for _, op := range []cost.Op{cost.OpAllReduce, cost.OpAllGather, cost.OpReduceScatter, cost.OpSend, cost.OpCustomAllReduce, cost.OpAllToAll} {
		byN := map[int]int{}
		for _, x := range s.comm[op] {
			byN[x.n]++
		}
		for _, n := range sortedKeys(byN) {
			check(fmt.Sprintf("%s on %d GPUs", op, n), byN[n], 2)
		}
	}
	if len(bad) > 0 {
		return fmt.Errorf("hwprofile: too few measurements to calibrate %s: %s (add rows, or leave an op out entirely to use the roofline for it)",
			g.Name, strings.Join(bad, "; "))
	}
	return nil
}

func sortedKeys[K cmp.Ordered, V any](m map[K]V) []K {
	out := make([]K, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	slices.Sort(out)
	return out
}

type mlaPt struct {
	h, kv, b, s int64 // kv: the cache's cost.Precision
	t           float64
}

type moePt struct {
	hidden, inter, experts, topk, tp, ep, tokens int64
	t                                            float64
}

// Errors of the engine choice (CalibrateOptions.Engine).
var (
	ErrSeveralEngines = errors.New("hwprofile: several engines")
	ErrUnknownEngine  = errors.New("hwprofile: engine")
)

// pickEngine checks the engine choice against the engines of g's rows.
func pickEngine(ms *Measurements, g cost.GPU, engine string) (string, error) {
	seen := map[string]bool{}
	for i := range ms.Rows {
		if m := &ms.Rows[i]; m.Engine != "" && (m.GPU == "" || m.GPU == g.Key) {
			seen[m.Engine] = true
		}
	}
	var have []string
	for e := range seen {
		have = append(have, e)
	}
	sort.Strings(have)
	if engine == "" {
		if len(have) > 1 {
			return "", fmt.Errorf("%w: the %s tables hold the engines %s: choose one (kernels differ between engines)",
				ErrSeveralEngines, g.Name, strings.Join(have, ", "))
		}
		if len(have) == 1 {
			return have[0], nil
		}
		return "", nil
	}
	known := false
	for _, e := range Engines {
		known = known || e == engine
	}
	if !known {
		return "", fmt.Errorf("%w %q: expected one of %s", ErrUnknownEngine, engine, strings.Join(Engines, ", "))
	}
	if !seen[engine] {
		return "", fmt.Errorf("%w for %s with engine %s: the tables hold engines %s", ErrNoUsableRows, g.Name, engine, strings.Join(have, ", "))
	}
	return engine, nil
}

// eagerTimed reports a row timed without CUDA graphs: aiconfigurator's vLLM
// GEMM collector before vLLM 0.25 ran its fp8_block cases eagerly
// (collector/vllm/collect_gemm.py: use_cuda_graph=gemm_type !=
// "fp8_block"), so their latency is the host's launch of the activation
// quantization and GEMM kernels, not the kernels: the H200 vLLM 0.24.0
// table holds 57-60 us for every shape of m < 32 and 80-89 us up to
// m = 4096 (n x k 1024 x 3072 to 8192 x 8192), where its graph-timed FP8
// rows take 5-25 us and SGLang's and TensorRT-LLM's fp8_block rows
// 5-28 us. aiconfigurator's later collector refuses to publish eager
// timings and excludes these rows from reuse (its B200 A/B: 148.6 us eager
// against 12.3 us graph-timed at m, n, k = 1, 768, 7168). Serving engines
// replay decode steps as CUDA graphs, so such rows are left out and an
// fp8_block GEMM costs as the profile's FP8 grid (cost.Profile.QuantGEMM).
//
// The vLLM MLA kernel tables ({context,generation}_mla_perf; only A100's
// vLLM 0.14.0 collection has them) are left out for the same reason:
// aiconfigurator's collector (collector/vllm/collect_mla.py, every stored
// version) times vLLM's MLA impl.forward in a plain loop between CUDA
// events, 6 iterations, no CUDA graph. The A100 table holds 241 us or more
// for every shape (285 us at its 10th percentile of context rows, 318 us
// of generation rows, whatever the batch and length) where the A100
// TensorRT-LLM kernel table's fit gives a median 3.4x (context) and 4.4x
// (generation) less for the same shapes. vLLM's graph-timed MLA
// measurements are its module tables (OpContextMLAModule), which stay.
func eagerTimed(m *Measurement) bool {
	if !strings.EqualFold(m.Engine, "vllm") {
		return false
	}
	switch m.Op {
	case cost.OpGEMM:
		return m.Quant == cost.FP8Block && versionBefore(m.Version, 0, 25)
	case cost.OpContextMLA, cost.OpGenerationMLA:
		return true
	}
	return false
}

// versionBefore reports whether version v ("0.24.0", "v0.24.0rc1", "1")
// is below major.minor (a version of a major alone has minor 0); a blank
// or unreadable version ("main") counts as below.
func versionBefore(v string, major, minor int) bool {
	var a, b int
	if n, _ := fmt.Sscanf(strings.TrimLeft(strings.TrimSpace(v), "vV"), "%d.%d", &a, &b); n == 0 {
		return true
	}
	return a < major || (a == major && b < minor)
}

func selectRows(ms *Measurements, g cost.GPU, engine string) (*selection, error) {
	engine, err := pickEngine(ms, g, engine)
	if err != nil {
		return nil, err
	}
	s := &selection{engine: engine, comm: map[cost.Op][]commPt{}, used: map[string]int{},
		qgemm: map[cost.Precision][]gemmPt{}, moe: map[cost.Precision][]moePt{}}
	type key struct {
		op            cost.Op
		a, b, c, d, e int64
		f, g, h       int64
	}
	groups := map[key][]float64{}
	hasGraph := map[int]bool{}
	modUsed := map[cost.Op]map[string]int{cost.OpContextMLAModule: {}, cost.OpGenerationMLAModule: {}}
	mine := func(m *Measurement) bool {
		return (m.GPU == "" || m.GPU == g.Key) && (m.Engine == "" || m.Engine == engine)
	}
	for i := range ms.Rows {
		m := &ms.Rows[i]
		if m.Op == cost.OpCustomAllReduce && mine(m) && m.GPU == g.Key && strings.Contains(strings.ToLower(m.Kernel), "graph") {
			hasGraph[m.GPUs] = true
		}
	}
	for i := range ms.Rows {
		m := &ms.Rows[i]
		if !mine(m) || eagerTimed(m) {
			continue
		}
		quantGEMM := m.Op == cost.OpGEMM && m.Quant != cost.BF16
		if m.Dtype != "" && !isHalf(m.Dtype) && !quantGEMM {
			continue
		}
		var k key
		switch m.Op {
		case cost.OpGEMM:
			k = key{op: m.Op, a: m.M, b: m.N, c: m.K, f: int64(m.Quant)}
		case cost.OpContextAttention, cost.OpGenerationAttention:
			kv, ok := attnCache(m)
			if !ok || m.Window != 0 || m.Prefix != 0 {
				continue
			}
			k = key{op: m.Op, a: m.Heads, b: m.KVHeads, c: m.HeadDim, d: m.Batch, e: m.SeqLen, g: kv}
		case cost.OpContextMLA, cost.OpGenerationMLA:
			kv, ok := mlaCache(m)
			if !ok {
				continue
			}
			k = key{op: m.Op, a: m.Heads, b: int64(kv), c: m.Batch, d: m.SeqLen}
		case cost.OpContextMLAModule, cost.OpGenerationMLAModule:
			kv, ok := mlaCache(m)
			if !ok || m.Prefix != 0 {
				continue
			}
			k = key{op: m.Op, a: m.Heads, b: int64(kv), c: m.Batch, d: m.SeqLen, f: int64(m.Quant)}
			groups[k] = append(groups[k], m.LatencyNs())
			modUsed[m.Op][m.Source]++
			continue
		case cost.OpMoE:
			if m.Distribution != "" && m.Distribution != "balanced" {
				continue
			}
			k = key{op: m.Op, a: int64(m.Quant), b: m.Hidden, c: m.Inter, d: m.Experts, e: m.TopK, f: m.MoETP, g: m.MoEEP, h: m.Batch}
		case cost.OpAllReduce, cost.OpAllGather, cost.OpReduceScatter, cost.OpCustomAllReduce, cost.OpAllToAll:
			if m.GPUsPerNode != 0 && m.GPUsPerNode < m.GPUs {
				continue
			}
			if m.Op == cost.OpCustomAllReduce && hasGraph[m.GPUs] && !strings.Contains(strings.ToLower(m.Kernel), "graph") {
				continue
			}
			k = key{op: m.Op, a: int64(m.GPUs), b: m.Bytes}
		case cost.OpSend:
			if m.GPUsPerNode == 1 { // the two ranks are on different nodes
				continue
			}
			k = key{op: m.Op, a: 2, b: m.Bytes}
		case cost.OpElementwise:
			k = key{op: m.Op, a: m.Bytes}
		default:
			continue
		}
		groups[k] = append(groups[k], m.LatencyNs())
		s.used[m.Source]++
		s.total++
	}
	keys := make([]key, 0, len(groups))
	for k := range groups {
		keys = append(keys, k)
	}
	// Precision (f) sorts after the shape so that the BF16 gemm rows keep
	// the order they had before precisions were read.
	sort.Slice(keys, func(i, j int) bool {
		a, b := keys[i], keys[j]
		if a.op != b.op {
			return a.op < b.op
		}
		for _, d := range [][2]int64{{a.a, b.a}, {a.b, b.b}, {a.c, b.c}, {a.d, b.d}, {a.e, b.e}, {a.f, b.f}, {a.g, b.g}, {a.h, b.h}} {
			if d[0] != d[1] {
				return d[0] < d[1]
			}
		}
		return false
	})
	for _, k := range keys {
		t := cost.Median(groups[k])
		switch k.op {
		case cost.OpGEMM:
			if q := cost.Precision(k.f); q != cost.BF16 {
				s.qgemm[q] = append(s.qgemm[q], gemmPt{k.a, k.b, k.c, t})
			} else {
				s.gemm = append(s.gemm, gemmPt{k.a, k.b, k.c, t})
			}
		case cost.OpContextAttention:
			s.ctx8, s.ctx = addAttn(k.g == 1, s.ctx8, s.ctx, attnPt{k.a, k.b, k.c, k.d, k.e, t})
		case cost.OpGenerationAttention:
			s.gen8, s.gen = addAttn(k.g == 1, s.gen8, s.gen, attnPt{k.a, k.b, k.c, k.d, k.e, t})
		case cost.OpContextMLA:
			s.cmla = append(s.cmla, mlaPt{k.a, k.b, k.c, k.d, t})
		case cost.OpGenerationMLA:
			s.gmla = append(s.gmla, mlaPt{k.a, k.b, k.c, k.d, t})
		case cost.OpContextMLAModule:
			s.cmlaMod = append(s.cmlaMod, mlaModPt{mlaPt{k.a, k.b, k.c, k.d, t}, cost.Precision(k.f)})
		case cost.OpGenerationMLAModule:
			s.gmlaMod = append(s.gmlaMod, mlaModPt{mlaPt{k.a, k.b, k.c, k.d, t}, cost.Precision(k.f)})
		case cost.OpMoE:
			q := cost.Precision(k.a)
			s.moe[q] = append(s.moe[q], moePt{k.b, k.c, k.d, k.e, k.f, k.g, k.h, t})
		case cost.OpElementwise:
			s.elem = append(s.elem, commPt{1, k.a, t})
		default:
			s.comm[k.op] = append(s.comm[k.op], commPt{int(k.a), k.b, t})
		}
	}
	s.useModules(&s.cmlaMod, s.cmla, modUsed[cost.OpContextMLAModule])
	s.useModules(&s.gmlaMod, s.gmla, modUsed[cost.OpGenerationMLAModule])
	s.dropThinFP8KV()
	return s, nil
}

// dropThinFP8KV leaves out an FP8-KV attention section of fewer than
// MinFitShapes shapes, with a note: unlike a thin BF16 section, which
// stops calibration, it is an extra a table may carry a few rows of, and
// without it an FP8 cache costs as a BF16 one (lod.Planner). Its rows stay
// out of the compact re-encoding too (WriteCompact).
func (s *selection) dropThinFP8KV() {
	for _, a := range []struct {
		op  cost.Op
		pts *[]attnPt
	}{{cost.OpContextAttention, &s.ctx8}, {cost.OpGenerationAttention, &s.gen8}} {
		if n := len(*a.pts); n > 0 && n < MinFitShapes {
			s.notes = append(s.notes, fmt.Sprintf("%s%s: %d measured shape(s) left out, expected at least %d to fit; an FP8 KV cache costs as a BF16 one there",
				a.op, fp8KVSuffix, n, MinFitShapes))
			*a.pts = nil
		}
	}
}

// fp8KVSuffix names the FP8-KV attention sections in the fit report.
const fp8KVSuffix = "_fp8_kv"

// attnCache is an attention row's KV cache as selectRows keys it: 0 for a
// 16-bit cache (or none named), 1 for FP8; ok is false for any other.
func attnCache(m *Measurement) (kv int64, ok bool) {
	if m.KVDtype == "" || isHalf(m.KVDtype) {
		return 0, true
	}
	q, err := cost.ParsePrecision(m.KVDtype)
	return 1, err == nil && q == cost.FP8
}

// addAttn appends x to fp8 when it is an FP8-KV row, else to half.
func addAttn(isFP8 bool, fp8, half []attnPt, x attnPt) (_, _ []attnPt) {
	if isFP8 {
		return append(fp8, x), half
	}
	return fp8, append(half, x)
}

// mlaCache is the latent cache's precision of an MLA row: BF16 for a
// 16-bit (or unnamed) cache, FP8; ok is false for any other.
func mlaCache(m *Measurement) (kv cost.Precision, ok bool) {
	if m.KVDtype == "" || isHalf(m.KVDtype) {
		return cost.BF16, true
	}
	kv, err := cost.ParsePrecision(m.KVDtype)
	return kv, err == nil && kv == cost.FP8
}

// useModules keeps a phase's MLA module rows only where the phase has no
// kernel rows (an engine with both, TensorRT-LLM, is fitted on its
// kernels), counting the kept ones as used.
func (s *selection) useModules(mods *[]mlaModPt, kernels []mlaPt, used map[string]int) {
	if len(kernels) > 0 {
		*mods = nil
		return
	}
	for _, src := range sortedKeys(used) {
		s.used[src] += used[src]
		s.total += used[src]
	}
}

// opStream is the PCG stream of op's held-out split; subStream that of one
// precision of it (distinct from every opStream).
func opStream(op cost.Op) uint64 { return uint64(op.Index()) + 1 }

func subStream(op cost.Op, q cost.Precision) uint64 { return opStream(op)<<8 | uint64(q) + 1<<16 }

// minHeldOut is the number of held-out points below which the fit is
// measured by k-fold cross-validation instead of a single split.
const minHeldOut = 100

// folds returns the (train, held-out) index sets the fit of n points is
// measured on. A seeded permutation (PCG seeded by the options' seed and the
// op) orders the points; the first round(HoldOut x n) are held out. When
// that is fewer than minHeldOut points, the permutation is cut into
// round(1/HoldOut) folds instead and each fold is held out in turn, so every
// point is predicted once by a model that never saw it. Fewer than 10
// points, or HoldOut < 0, gives no check.
func folds(n int, opt CalibrateOptions, stream uint64) [][2][]int {
	if opt.HoldOut <= 0 || n < 10 {
		return nil
	}
	rng := rand.New(rand.NewPCG(opt.Seed, stream))
	perm := rng.Perm(n)
	nt := int(math.Round(opt.HoldOut * float64(n)))
	nt = max(1, min(nt, n-1))
	k := 1
	if nt < minHeldOut {
		k = max(2, int(math.Round(1/opt.HoldOut)))
	}
	var out [][2][]int
	for f := 0; f < k; f++ {
		var train, test []int
		for i, j := range perm {
			held := i < nt
			if k > 1 {
				held = i%k == f
			}
			if held {
				test = append(test, j)
			} else {
				train = append(train, j)
			}
		}
		sort.Ints(train)
		sort.Ints(test)
		out = append(out, [2][]int{train, test})
	}
	return out
}

func pick[T any](v []T, idx []int) []T {
	out := make([]T, len(idx))
	for i, j := range idx {
		out[i] = v[j]
	}
	return out
}

// summarize computes the error statistics of pts.
func summarize(op string, pts []FitPoint) cost.FitSummary {
	s := cost.FitSummary{Op: op, Count: len(pts)}
	if len(pts) == 0 {
		return s
	}
	ape := make([]float64, len(pts))
	for i, p := range pts {
		ape[i] = 100 * math.Abs(p.Predicted-p.Measured) / p.Measured
		s.MAPE += ape[i]
	}
	s.MAPE /= float64(len(pts))
	sort.Float64s(ape)
	s.P90APE = ape[int(math.Ceil(0.9*float64(len(ape))))-1]
	s.WorstAPE = ape[len(ape)-1]
	s.MAPE, s.P90APE, s.WorstAPE = round(s.MAPE, 4), round(s.P90APE, 4), round(s.WorstAPE, 4)
	return s
}

// round keeps sig significant digits, so that profiles stay small and
// rebuild byte-identically.
func round(x float64, sig int) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'g', sig, 64), 64)
	return v
}

const tableDigits = 5

func uniq(v []int64) []int64 {
	sort.Slice(v, func(i, j int) bool { return v[i] < v[j] })
	out := v[:0]
	for i, x := range v {
		if i == 0 || x != v[i-1] {
			out = append(out, x)
		}
	}
	return out
}

func indexOf(axis []int64, v int64) int {
	return sort.Search(len(axis), func(i int) bool { return axis[i] >= v })
}

// fitRoofline fits BaseParams to (flops, bytes, t) by least squares in log
// time, with gonum's Nelder-Mead over the logs of the three parameters.
//
// With sample > 0 and more points than that, the fit uses every
// ceil(n/sample)-th point (the points are sorted by shape, so the stride
// spans the grid): the base is only the smooth shape the measured grid is
// stored relative to, and the stride makes large sections fast to fit.
func fitRoofline(fl, by, t []float64, sample int) (cost.BaseParams, error) {
	if len(t) == 0 {
		return cost.BaseParams{}, fmt.Errorf("no points to fit")
	}
	if sample > 0 && len(t) > sample {
		step := (len(t) + sample - 1) / sample
		var sf, sb, st []float64
		for i := 0; i < len(t); i += step {
			sf, sb, st = append(sf, fl[i]), append(sb, by[i]), append(st, t[i])
		}
		fl, by, t = sf, sb, st
	}
	minT, maxF, maxB := math.Inf(1), 0.0, 0.0
	for i := range t {
		minT = math.Min(minT, t[i])
		maxF = math.Max(maxF, fl[i]/t[i])
		maxB = math.Max(maxB, by[i]/t[i])
	}
	if maxF == 0 {
		maxF = 1
	}
	obj := func(x []float64) float64 {
		b := cost.BaseParams{LaunchNs: math.Exp(x[0]), FlopsPerNs: math.Exp(x[1]), BytesPerNs: math.Exp(x[2])}
		s := 0.0
		for i := range t {
			d := math.Log(b.Time(fl[i], by[i]) / t[i])
			s += d * d
		}
		return s / float64(len(t))
	}
	x0 := []float64{math.Log(minT / 2), math.Log(maxF), math.Log(maxB)}
	res, err := optimize.Minimize(optimize.Problem{Func: obj}, x0,
		&optimize.Settings{FuncEvaluations: 4000, Concurrent: 1,
			Converger: &optimize.FunctionConverge{Absolute: 1e-9, Iterations: 200}},
		&optimize.NelderMead{})
	x := x0
	if err == nil || res != nil {
		x = res.X
	}
	b := cost.BaseParams{LaunchNs: round(math.Exp(x[0]), 6), FlopsPerNs: round(math.Exp(x[1]), 6), BytesPerNs: round(math.Exp(x[2]), 6)}
	if err := b.Check("base"); err != nil {
		return cost.BaseParams{}, err
	}
	return b, nil
}

// fillTable turns measured points on a grid into the stored latency table:
// residuals against base where measured, logGrid.fill elsewhere.
func fillTable(g *cost.Grid, known []bool, baseAt func(c int) float64) ([]float64, error) {
	return fillTableWith(g.Fill, g, known, baseAt)
}

// fillTableWith is fillTable completing the grid with fill.
func fillTableWith(fill func([]bool) error, g *cost.Grid, known []bool, baseAt func(c int) float64) ([]float64, error) {
	if err := fill(known); err != nil {
		return nil, err
	}
	out := make([]float64, len(g.R))
	for c := range out {
		out[c] = round(baseAt(c)*math.Exp(g.R[c]), tableDigits)
	}
	return out, nil
}

func buildGEMM(pts []gemmPt, sample int) (*cost.GEMMTable, gemmSmoothing, error) {
	return buildGEMMAt(pts, cost.BF16, sample)
}

// buildGEMMAt builds the GEMM section of precision q, smoothing its
// measured cells where its own inner check says so (smoothGEMM).
func buildGEMMAt(pts []gemmPt, q cost.Precision, sample int) (*cost.GEMMTable, gemmSmoothing, error) {
	var ms, ns, ks []int64
	fl, by, ts := make([]float64, len(pts)), make([]float64, len(pts)), make([]float64, len(pts))
	for i, x := range pts {
		ms, ns, ks = append(ms, x.m), append(ns, x.n), append(ks, x.k)
		fl[i], by[i] = cost.QuantGEMMWork(float64(x.m), float64(x.n), float64(x.k), q)
		ts[i] = x.t
	}
	base, err := fitRoofline(fl, by, ts, sample)
	if err != nil {
		return nil, gemmSmoothing{}, fmt.Errorf("hwprofile: gemm: %w", err)
	}
	t := &cost.GEMMTable{Precision: q, Base: base, M: uniq(ms), N: uniq(ns), K: uniq(ks)}
	g := cost.NewGrid(t.M, t.N, t.K)
	known := make([]bool, len(g.R))
	for i, x := range pts {
		c := indexOf(t.M, x.m)*g.Strides[0] + indexOf(t.N, x.n)*g.Strides[1] + indexOf(t.K, x.k)
		g.R[c] = math.Log(x.t / base.Time(fl[i], by[i]))
		known[c] = true
	}
	sm, err := smoothGEMM(g, known)
	if err != nil {
		return nil, sm, fmt.Errorf("hwprofile: gemm: %w", err)
	}
	// The median fill: GEMM grids have holes next to measured points whose
	// kernel choice scatters them (m = 512 at 65 us beside m = 513 at 30
	// us for 4096^2 on one table), and the median of the axes' estimates
	// outvotes such a neighbour where the mean spreads its error.
	t.LatencyNs, err = fillTableWith(g.FillMedian, g, known, func(c int) float64 {
		f, b := cost.QuantGEMMWork(float64(t.M[c/g.Strides[0]]), float64(t.N[c%g.Strides[0]/g.Strides[1]]), float64(t.K[c%g.Strides[1]]), q)
		return base.Time(f, b)
	})
	if err != nil {
		return nil, gemmSmoothing{}, fmt.Errorf("hwprofile: gemm: %w", err)
	}
	return t, sm, nil
}

func attnWork(decode bool, b, s, h, kv, hd float64) (float64, float64) {
	if decode {
		return cost.GenerationWork(b, s, h, kv, hd)
	}
	return cost.ContextWork(b, s, 0, h, kv, hd)
}

func buildAttention(pts []attnPt, decode bool, sample int) (*cost.AttentionTable, error) {
	fl, by, ts := make([]float64, len(pts)), make([]float64, len(pts)), make([]float64, len(pts))
	for i, x := range pts {
		fl[i], by[i] = attnWork(decode, float64(x.b), float64(x.s), float64(x.h), float64(x.kv), float64(x.hd))
		ts[i] = x.t
	}
	base, err := fitRoofline(fl, by, ts, sample)
	if err != nil {
		return nil, err
	}
	t := &cost.AttentionTable{Base: base}
	// pts are sorted by (h, kv, hd, b, s): each run of one shape is a slice.
	for lo := 0; lo < len(pts); {
		hi := lo
		for hi < len(pts) && pts[hi].h == pts[lo].h && pts[hi].kv == pts[lo].kv && pts[hi].hd == pts[lo].hd {
			hi++
		}
		run := pts[lo:hi]
		sl := cost.AttentionSlice{Heads: int(run[0].h), KVHeads: int(run[0].kv), HeadDim: int(run[0].hd)}
		h, kv, hd := float64(sl.Heads), float64(sl.KVHeads), float64(sl.HeadDim)
		sl.Batch, sl.SeqLen, sl.LatencyNs, err = batchSeqTable(len(run), func(j int) (int64, int64, float64) {
			return run[j].b, run[j].s, run[j].t
		}, func(b, s int64) float64 {
			f, by := attnWork(decode, float64(b), float64(s), h, kv, hd)
			return base.Time(f, by)
		})
		if err != nil {
			return nil, err
		}
		t.Slices = append(t.Slices, sl)
		lo = hi
	}
	return t, nil
}

// batchSeqTable builds the stored (batch x sequence) latency table of one
// slice from its n measured points (point j is batch, sequence, latency):
// the residuals of the points against baseAt, the rest filled by
// fillTable.
func batchSeqTable(n int, point func(j int) (b, s int64, t float64), baseAt func(b, s int64) float64) (batch, seq []int64, lat []float64, err error) {
	for j := 0; j < n; j++ {
		b, s, _ := point(j)
		batch, seq = append(batch, b), append(seq, s)
	}
	batch, seq = uniq(batch), uniq(seq)
	g := cost.NewGrid(batch, seq)
	known := make([]bool, len(g.R))
	for j := 0; j < n; j++ {
		b, s, t := point(j)
		c := indexOf(batch, b)*g.Strides[0] + indexOf(seq, s)
		g.R[c] = math.Log(t / baseAt(b, s))
		known[c] = true
	}
	lat, err = fillTable(g, known, func(c int) float64 { return baseAt(batch[c/g.Strides[0]], seq[c%g.Strides[0]]) })
	return batch, seq, lat, err
}

// fitLink fits the alpha-beta form hops x (alpha + share x S / B) of op on n
// GPUs by least squares in relative error, (pred - t) / t, which has a
// closed form in (alpha, 1/B). A non-positive solution falls back to the
// best one-parameter fit with the other at a small positive value.
func fitLink(op cost.Op, s, t []float64, n float64) cost.LinkFit {
	hops, share := cost.CommHops(op, n)
	var a11, a12, a22, b1, b2 float64
	for i := range t {
		x1, x2 := hops/t[i], hops*share*s[i]/t[i]
		a11 += x1 * x1
		a12 += x1 * x2
		a22 += x2 * x2
		b1 += x1
		b2 += x2
	}
	det := a11*a22 - a12*a12
	alpha, beta := 0.0, 0.0
	if det > 0 {
		alpha = (b1*a22 - b2*a12) / det
		beta = (a11*b2 - a12*b1) / det
	}
	switch {
	case alpha > 0 && beta > 0:
	case a22 > 0 && (alpha <= 0 || det <= 0) && b2 > 0:
		alpha, beta = 1e-3, b2/a22 // bandwidth-only
	default:
		alpha, beta = b1/a11, 1e-12 // latency-only
	}
	return cost.LinkFit{LatencyNs: round(alpha, 6), BytesPerNs: round(1/beta, 6)}
}

func buildComm(op cost.Op, pts []commPt, opt CalibrateOptions) ([]cost.CommTable, error) {
	byN := map[int][]commPt{}
	var ns []int
	for _, x := range pts {
		if _, ok := byN[x.n]; !ok {
			ns = append(ns, x.n)
		}
		byN[x.n] = append(byN[x.n], x)
	}
	sort.Ints(ns)
	var out []cost.CommTable
	for _, n := range ns {
		run := byN[n]
		var s, t, sAll, tAll []float64
		for _, x := range run {
			sAll, tAll = append(sAll, float64(x.bytes)), append(tAll, x.t)
			if x.bytes >= opt.RingMinBytes && x.bytes <= opt.RingMaxBytes {
				s, t = append(s, float64(x.bytes)), append(t, x.t)
			}
		}
		if len(t) < 2 {
			s, t = sAll, tAll
		}
		fn := cost.CommN(op, n)
		l := fitLink(op, s, t, fn)
		ct := cost.CommTable{Op: op, GPUs: n, Link: l}
		for _, x := range run {
			ct.Bytes = append(ct.Bytes, x.bytes)
		}
		ct.Bytes = uniq(ct.Bytes)
		g := cost.NewGrid(ct.Bytes)
		known := make([]bool, len(g.R))
		for _, x := range run {
			c := indexOf(ct.Bytes, x.bytes)
			g.R[c] = math.Log(x.t / cost.RingTime(op, l.Link(), float64(x.bytes), fn))
			known[c] = true
		}
		var err error
		ct.LatencyNs, err = fillTable(g, known, func(c int) float64 {
			return cost.RingTime(op, l.Link(), float64(ct.Bytes[c]), fn)
		})
		if err != nil {
			return nil, fmt.Errorf("hwprofile: %s on %d GPUs: %w", op, n, err)
		}
		out = append(out, ct)
	}
	return out, nil
}
