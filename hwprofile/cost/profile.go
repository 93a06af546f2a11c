package cost

import (
	"bytes"
	"fmt"
	"io"
	"math"
	"sort"

	"go.yaml.in/yaml/v3"
)

// ProfileVersion is the profile file format this package writes and reads.
const ProfileVersion = 1

// ProfileGPU is the profile's description of its accelerator: the catalog
// entry it was calibrated for, written out in full so that a profile of a
// GPU the catalog lacks still loads.
type ProfileGPU struct {
	Name          string  `yaml:"name"`
	Key           string  `yaml:"key"`
	BF16TFLOPS    float64 `yaml:"bf16_tflops"`
	MemoryBytes   int64   `yaml:"memory_bytes"`
	MemBWBytes    float64 `yaml:"mem_bw_bytes_per_s"`
	LinkBWBytes   float64 `yaml:"link_bw_bytes_per_s"`
	LinkLatencyNs float64 `yaml:"link_latency_ns"`
	TDPWatts      float64 `yaml:"tdp_watts"`
	FP8TFLOPS     float64 `yaml:"fp8_tflops,omitempty"`
	FP4TFLOPS     float64 `yaml:"fp4_tflops,omitempty"`
	LinkDomain    int     `yaml:"link_domain,omitempty"`
}

func NewProfileGPU(g GPU) ProfileGPU {
	return ProfileGPU{Name: g.Name, Key: g.Key, BF16TFLOPS: g.BF16TFLOPS, MemoryBytes: g.MemoryBytes,
		MemBWBytes: g.MemBWBytes, LinkBWBytes: g.LinkBWBytes, LinkLatencyNs: g.LinkLatencyNs, TDPWatts: g.TDPWatts,
		FP8TFLOPS: g.FP8TFLOPS, FP4TFLOPS: g.FP4TFLOPS, LinkDomain: g.LinkDomain}
}

func (p ProfileGPU) gpu() GPU {
	return GPU{Name: p.Name, Key: p.Key, BF16TFLOPS: p.BF16TFLOPS, MemoryBytes: p.MemoryBytes,
		MemBWBytes: p.MemBWBytes, LinkBWBytes: p.LinkBWBytes, LinkLatencyNs: p.LinkLatencyNs, TDPWatts: p.TDPWatts,
		FP8TFLOPS: p.FP8TFLOPS, FP4TFLOPS: p.FP4TFLOPS, LinkDomain: p.LinkDomain}
}

// FitSummary is the held-out fit quality of one operation, in percent
// absolute error |predicted - measured| / measured.
type FitSummary struct {
	Op       string  `yaml:"op"`
	Count    int     `yaml:"count"` // held-out points
	Range    string  `yaml:"range,omitempty"`
	MAPE     float64 `yaml:"mape_pct"`
	P90APE   float64 `yaml:"p90_ape_pct"`
	WorstAPE float64 `yaml:"worst_ape_pct"`
}

// LinkFit is a fitted latency-bandwidth pair: t = LatencyNs + S/BytesPerNs.
type LinkFit struct {
	LatencyNs  float64 `yaml:"latency_ns"`
	BytesPerNs float64 `yaml:"bytes_per_ns"`
}

// Link is the fitted pair as a Link.
func (l LinkFit) Link() Link { return Link{LatencyNs: l.LatencyNs, BytesPerNs: l.BytesPerNs} }

// GEMMTable is the GEMM section: the fitted base roofline and the measured
// latency on the full grid M x N x K (row-major, K fastest). Cells that were
// not measured hold values filled from their neighbours (see Grid.Fill); in
// a section whose measurements scatter, the measured cells hold the median
// of the measurement and its neighbours' estimates (Grid.Denoise; the
// profile's notes say which sections).
type GEMMTable struct {
	// Precision is the weights' precision (omitted for BF16); the roofline
	// work is QuantGEMMWork at it.
	Precision Precision  `yaml:"precision,omitempty"`
	Base      BaseParams `yaml:"base"`
	M         []int64    `yaml:"m,flow"`
	N         []int64    `yaml:"n,flow"`
	K         []int64    `yaml:"k,flow"`
	LatencyNs []float64  `yaml:"latency_ns,flow"`
}

// AttentionTable is an attention section: the fitted base roofline and one
// grid per measured head shape.
type AttentionTable struct {
	Base   BaseParams       `yaml:"base"`
	Slices []AttentionSlice `yaml:"shapes"`
}

// AttentionSlice is the latency of one head shape on the grid Batch x
// SeqLen (row-major, SeqLen fastest). SeqLen is the prefill length for
// context attention and the KV length for generation attention.
type AttentionSlice struct {
	Heads     int       `yaml:"heads"`
	KVHeads   int       `yaml:"kv_heads"`
	HeadDim   int       `yaml:"head_dim"`
	Batch     []int64   `yaml:"batch,flow"`
	SeqLen    []int64   `yaml:"seq_len,flow"`
	LatencyNs []float64 `yaml:"latency_ns,flow"`
}

// CommTable is one collective on one GPU count: the fitted alpha-beta link
// (see commHops for the form of each op) and the measured latency by
// message size in bytes.
type CommTable struct {
	Op        Op        `yaml:"op"`
	GPUs      int       `yaml:"gpus"`
	Link      LinkFit   `yaml:"link"`
	Bytes     []int64   `yaml:"bytes,flow"`
	LatencyNs []float64 `yaml:"latency_ns,flow"`
}

// Profile is a calibrated cost model of one GPU: versioned, self-describing
// (GPU, sources, dates, held-out fit errors) and serialised as YAML. It
// implements CostModel; operations without a section fall back to the
// catalog roofline of its GPU.
//
// A Profile is safe for concurrent use once loaded or calibrated; its
// methods do not allocate.
type Profile struct {
	Version      int        `yaml:"version"`
	Device       ProfileGPU `yaml:"gpu"`
	Created      string     `yaml:"created"`
	Generator    string     `yaml:"generator"`
	SourceCommit string     `yaml:"source_commit,omitempty"`
	Selection    []string   `yaml:"selection,omitempty"`
	// Engine is the serving engine whose kernels were measured ("" when
	// the tables did not say).
	Engine string `yaml:"engine,omitempty"`
	// StaticFP8Activations says the deployment runs FP8 checkpoints with
	// static activation scales (replay.StaticFP8Scales), so that a
	// TensorRT-LLM table's FP8 GEMMs cost StaticFP8ActivationNs less than
	// measured. Set per run, never read from or written to a file.
	StaticFP8Activations bool `yaml:"-"`
	// Notes are what reading the tables noticed (a reuse.yaml pointing at
	// a version that is not there, an incomplete table).
	Notes    []string     `yaml:"notes,omitempty"`
	Sources  []SourceFile `yaml:"sources"`
	Fit      []FitSummary `yaml:"fit"`
	Overhead Overheads    `yaml:"overheads"`
	// Elementwise is the fitted memory-bound kernel link; nil uses the
	// roofline.
	Element    *LinkFit        `yaml:"elementwise,omitempty"`
	GEMMs      *GEMMTable      `yaml:"gemm,omitempty"`
	Context    *AttentionTable `yaml:"context_attention,omitempty"`
	Generation *AttentionTable `yaml:"generation_attention,omitempty"`
	// ContextFP8KV and GenerationFP8KV are the attention sections of an
	// FP8 KV cache (the tables' kv_cache_dtype fp8 rows), nil where the
	// tables have none.
	ContextFP8KV    *AttentionTable `yaml:"context_attention_fp8_kv,omitempty"`
	GenerationFP8KV *AttentionTable `yaml:"generation_attention_fp8_kv,omitempty"`
	Comm            []CommTable     `yaml:"comm,omitempty"`
	// QuantGEMMs are the GEMM sections of quantised precisions, one each.
	QuantGEMMs []GEMMTable `yaml:"quant_gemm,omitempty"`
	CtxMLA     *MLATable   `yaml:"context_mla,omitempty"`
	GenMLA     *MLATable   `yaml:"generation_mla,omitempty"`
	// MoEs are the MoE sections, one per expert precision.
	MoEs []MoETable `yaml:"moe,omitempty"`

	name string
	gpu  GPU
	roof *Roofline
	gemm *gemmModel
	ctx  *attnModel
	gen  *attnModel
	ctx8 *attnModel // FP8 KV cache
	gen8 *attnModel
	comm map[Op]*commModel
	// qgemm is indexed by Precision (nil where not measured; BF16 is gemm).
	qgemm      []*gemmModel
	cmla, gmla *mlaModel
	moe        []*moeModel // by Precision
}

var _ CostModel = (*Profile)(nil)

// LoadProfile reads a profile; name labels errors and Name().
func LoadProfile(r io.Reader, name string) (*Profile, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	p := &Profile{}
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("%s: not a lodsim profile: %w", name, err)
	}
	if p.Version != ProfileVersion {
		return nil, fmt.Errorf("%s: version: found %d, expected %d", name, p.Version, ProfileVersion)
	}
	p.name = name
	if err := p.Compile(); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return p, nil
}

// Write serialises p as YAML. Writing the same profile twice gives the same
// bytes.
func (p *Profile) Write(w io.Writer) error {
	enc := yaml.NewEncoder(w)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return err
	}
	return enc.Close()
}

func checkAxis(field string, a []int64) error {
	if len(a) == 0 {
		return fmt.Errorf("%s: found an empty list, expected at least one value", field)
	}
	for i, v := range a {
		if v <= 0 {
			return fmt.Errorf("%s[%d]: found %d, expected a positive value", field, i, v)
		}
		if i > 0 && v <= a[i-1] {
			return fmt.Errorf("%s[%d]: found %d after %d, expected strictly ascending values", field, i, v, a[i-1])
		}
	}
	return nil
}

func checkTimes(field string, t []float64, want int) error {
	if len(t) != want {
		return fmt.Errorf("%s: found %d values, expected %d (the product of the axis lengths)", field, len(t), want)
	}
	for i, v := range t {
		if !(v > 0) || math.IsInf(v, 0) {
			return fmt.Errorf("%s[%d]: found %v, expected a positive finite time", field, i, v)
		}
	}
	return nil
}

// Check reports the first parameter of b that is not positive and finite,
// naming it under field.
func (b BaseParams) Check(field string) error {
	for _, f := range []struct {
		n string
		v float64
	}{{"launch_ns", b.LaunchNs}, {"flops_per_ns", b.FlopsPerNs}, {"bytes_per_ns", b.BytesPerNs}} {
		if !(f.v > 0) || math.IsInf(f.v, 0) {
			return fmt.Errorf("%s.%s: found %v, expected a positive finite number", field, f.n, f.v)
		}
	}
	return nil
}

// MaxOverheadNs bounds each engine overhead of a profile: a second per
// step, sequence, prefill token or request is far beyond any engine
// (measured ones are microseconds to milliseconds), and keeps the step
// times they add up to well inside int64 nanoseconds.
const MaxOverheadNs = 1e9

// Check reports the first overhead of o outside [0, MaxOverheadNs] (or
// not finite), and a memory reserve outside [0, g's memory], naming it
// under field.
func (o Overheads) Check(field string, g GPU) error {
	for _, f := range []struct {
		n string
		v float64
	}{{"step_ns", o.StepNs}, {"per_seq_ns", o.PerSeqNs}, {"per_prefill_token_ns", o.PerPrefillTokenNs}, {"per_request_ns", o.PerRequestNs}} {
		if !(f.v >= 0 && f.v <= MaxOverheadNs) {
			return fmt.Errorf("%s.%s: found %v, expected 0 to %g ns", field, f.n, f.v, MaxOverheadNs)
		}
	}
	if mem := float64(g.MemoryBytes) / (1 << 30); !(o.MemoryReserveGB >= 0 && (o.MemoryReserveGB <= mem || mem == 0)) {
		return fmt.Errorf("%s.memory_reserve_gb: found %v, expected 0 to %.1f GiB (the GPU's memory)", field, o.MemoryReserveGB, mem)
	}
	return nil
}

func checkLink(field string, l LinkFit) error {
	if !(l.LatencyNs > 0) || math.IsInf(l.LatencyNs, 0) {
		return fmt.Errorf("%s.latency_ns: found %v, expected a positive finite number", field, l.LatencyNs)
	}
	if !(l.BytesPerNs > 0) || math.IsInf(l.BytesPerNs, 0) {
		return fmt.Errorf("%s.bytes_per_ns: found %v, expected a positive finite number", field, l.BytesPerNs)
	}
	return nil
}

// Compile validates the sections and builds the interpolation models. LoadProfile
// calls it; a profile assembled in code (as calibration does) must call it
// before use.
func (p *Profile) Compile() error {
	p.gpu = p.Device.gpu()
	if p.gpu.Name == "" {
		return fmt.Errorf("gpu.name: found an empty name, expected the GPU's catalog name")
	}
	if !(p.gpu.BF16TFLOPS > 0 && p.gpu.MemBWBytes > 0 && p.gpu.LinkBWBytes > 0) {
		return fmt.Errorf("gpu: bf16_tflops, mem_bw_bytes_per_s and link_bw_bytes_per_s must be positive, found %v, %v, %v",
			p.gpu.BF16TFLOPS, p.gpu.MemBWBytes, p.gpu.LinkBWBytes)
	}
	if p.gpu.LinkLatencyNs <= 0 {
		return fmt.Errorf("gpu.link_latency_ns: found %v, expected a positive latency", p.gpu.LinkLatencyNs)
	}
	if err := p.Overhead.Check("overheads", p.gpu); err != nil {
		return err
	}
	if p.name == "" {
		p.name = p.gpu.Key
	}
	p.roof = NewRoofline(p.gpu)
	p.roof.Overhead = p.Overhead
	if p.Element != nil {
		if err := checkLink("elementwise", *p.Element); err != nil {
			return err
		}
	}
	var err error
	if p.gemm, err = compileGEMM("gemm", p.GEMMs, BF16); err != nil {
		return err
	}
	p.qgemm = nil
	for i := range p.QuantGEMMs {
		t := &p.QuantGEMMs[i]
		f := fmt.Sprintf("quant_gemm[%d]", i)
		if t.Precision == BF16 || t.Precision >= numPrecisions {
			return fmt.Errorf("%s.precision: found %s, expected a quantised precision (BF16 is the gemm section)", f, t.Precision)
		}
		if p.qgemm == nil {
			p.qgemm = make([]*gemmModel, numPrecisions)
		}
		if p.qgemm[t.Precision] != nil {
			return fmt.Errorf("%s: found a second %s table, expected one", f, t.Precision)
		}
		if p.qgemm[t.Precision], err = compileGEMM(f, t, t.Precision); err != nil {
			return err
		}
	}
	if p.cmla, err = compileMLA("context_mla", p.CtxMLA, false); err != nil {
		return err
	}
	if p.gmla, err = compileMLA("generation_mla", p.GenMLA, true); err != nil {
		return err
	}
	p.moe = nil
	for i := range p.MoEs {
		t := &p.MoEs[i]
		f := fmt.Sprintf("moe[%d]", i)
		if t.Precision >= numPrecisions {
			return fmt.Errorf("%s.precision: found %d, expected a known precision", f, t.Precision)
		}
		if p.moe == nil {
			p.moe = make([]*moeModel, numPrecisions)
		}
		if p.moe[t.Precision] != nil {
			return fmt.Errorf("%s: found a second %s table, expected one", f, t.Precision)
		}
		if p.moe[t.Precision], err = compileMoE(f, t); err != nil {
			return err
		}
	}
	if p.ctx, err = compileAttention("context_attention", p.Context, false); err != nil {
		return err
	}
	if p.gen, err = compileAttention("generation_attention", p.Generation, true); err != nil {
		return err
	}
	if p.ctx8, err = compileAttention("context_attention_fp8_kv", p.ContextFP8KV, false); err != nil {
		return err
	}
	if p.gen8, err = compileAttention("generation_attention_fp8_kv", p.GenerationFP8KV, true); err != nil {
		return err
	}
	p.comm = map[Op]*commModel{}
	seen := map[[2]int]bool{}
	for i, ct := range p.Comm {
		f := fmt.Sprintf("comm[%d]", i)
		switch ct.Op {
		case OpAllReduce, OpAllGather, OpReduceScatter, OpCustomAllReduce, OpSend, OpAllToAll:
		default:
			return fmt.Errorf("%s.op: found %q, expected all_reduce, all_gather, reduce_scatter, custom_all_reduce, all_to_all or send", f, ct.Op)
		}
		if ct.GPUs < 2 {
			return fmt.Errorf("%s.gpus: found %d, expected 2 or more", f, ct.GPUs)
		}
		if err := checkLink(f+".link", ct.Link); err != nil {
			return err
		}
		if err := checkAxis(f+".bytes", ct.Bytes); err != nil {
			return err
		}
		if err := checkTimes(f+".latency_ns", ct.LatencyNs, len(ct.Bytes)); err != nil {
			return err
		}
		key := [2]int{ct.Op.Index(), ct.GPUs}
		if seen[key] {
			return fmt.Errorf("%s: found a second %s table for %d GPUs, expected one", f, ct.Op, ct.GPUs)
		}
		seen[key] = true
		g := NewGrid(ct.Bytes)
		for j, b := range ct.Bytes {
			g.R[j] = math.Log(ct.LatencyNs[j] / RingTime(ct.Op, ct.Link.Link(), float64(b), CommN(ct.Op, ct.GPUs)))
		}
		cm := p.comm[ct.Op]
		if cm == nil {
			cm = &commModel{op: ct.Op}
			p.comm[ct.Op] = cm
		}
		cm.gpus = append(cm.gpus, ct.GPUs)
		cm.links = append(cm.links, ct.Link.Link())
		cm.grids = append(cm.grids, g)
	}
	for _, cm := range p.comm {
		sort.Sort(byGPUs{cm})
	}
	return nil
}

// CommN is the ring size of op on gpus GPUs: 2 for send, else gpus.
func CommN(op Op, gpus int) float64 {
	if op == OpSend {
		return 2
	}
	return float64(gpus)
}

type byGPUs struct{ c *commModel }

func (b byGPUs) Len() int           { return len(b.c.gpus) }
func (b byGPUs) Less(i, j int) bool { return b.c.gpus[i] < b.c.gpus[j] }
func (b byGPUs) Swap(i, j int) {
	c := b.c
	c.gpus[i], c.gpus[j] = c.gpus[j], c.gpus[i]
	c.links[i], c.links[j] = c.links[j], c.links[i]
	c.grids[i], c.grids[j] = c.grids[j], c.grids[i]
}

// compileGEMM builds the interpolation model of a GEMM section; a nil
// section gives a nil model.
func compileGEMM(field string, t *GEMMTable, q Precision) (*gemmModel, error) {
	if t == nil {
		return nil, nil
	}
	if err := t.Base.Check(field + ".base"); err != nil {
		return nil, err
	}
	for _, a := range []struct {
		f string
		v []int64
	}{{field + ".m", t.M}, {field + ".n", t.N}, {field + ".k", t.K}} {
		if err := checkAxis(a.f, a.v); err != nil {
			return nil, err
		}
	}
	if err := checkTimes(field+".latency_ns", t.LatencyNs, len(t.M)*len(t.N)*len(t.K)); err != nil {
		return nil, err
	}
	gm := &gemmModel{prec: q, base: t.Base, grid: NewGrid(t.M, t.N, t.K)}
	c := 0
	for _, m := range t.M {
		for _, n := range t.N {
			for _, k := range t.K {
				f, b := gm.work(float64(m), float64(n), float64(k))
				gm.grid.R[c] = math.Log(t.LatencyNs[c] / t.Base.Time(f, b))
				c++
			}
		}
	}
	return gm, nil
}

// batchSeqGrid checks one (batch x sequence) slice of a section named f
// and returns its residual grid against baseAt.
func batchSeqGrid(f string, batch, seq []int64, lat []float64, baseAt func(b, s float64) float64) (*Grid, error) {
	if err := checkAxis(f+".batch", batch); err != nil {
		return nil, err
	}
	if err := checkAxis(f+".seq_len", seq); err != nil {
		return nil, err
	}
	if err := checkTimes(f+".latency_ns", lat, len(batch)*len(seq)); err != nil {
		return nil, err
	}
	g := NewGrid(batch, seq)
	c := 0
	for _, b := range batch {
		for _, s := range seq {
			g.R[c] = math.Log(lat[c] / baseAt(float64(b), float64(s)))
			c++
		}
	}
	return g, nil
}

func compileAttention(field string, t *AttentionTable, decode bool) (*attnModel, error) {
	if t == nil {
		return nil, nil
	}
	if err := t.Base.Check(field + ".base"); err != nil {
		return nil, err
	}
	if len(t.Slices) == 0 {
		return nil, fmt.Errorf("%s.shapes: found none, expected at least one head shape", field)
	}
	a := &attnModel{decode: decode, base: t.Base, index: map[shapeKey]int{}}
	for i, s := range t.Slices {
		f := fmt.Sprintf("%s.shapes[%d]", field, i)
		if s.Heads <= 0 || s.KVHeads <= 0 || s.HeadDim <= 0 {
			return nil, fmt.Errorf("%s: found heads %d, kv_heads %d, head_dim %d, expected positive values", f, s.Heads, s.KVHeads, s.HeadDim)
		}
		key := shapeKey{int32(s.Heads), int32(s.KVHeads), int32(s.HeadDim)}
		if _, dup := a.index[key]; dup {
			return nil, fmt.Errorf("%s: found a second table for heads %d, kv_heads %d, head_dim %d, expected one", f, s.Heads, s.KVHeads, s.HeadDim)
		}
		h, kv, hd := float64(s.Heads), float64(s.KVHeads), float64(s.HeadDim)
		g, err := batchSeqGrid(f, s.Batch, s.SeqLen, s.LatencyNs, func(b, sl float64) float64 {
			if decode {
				return t.Base.Time(GenerationWork(b, sl, h, kv, hd))
			}
			return t.Base.Time(ContextWork(b, sl, 0, h, kv, hd))
		})
		if err != nil {
			return nil, err
		}
		a.index[key] = len(a.slices)
		a.slices = append(a.slices, attnSlice{heads: s.Heads, kv: s.KVHeads, hd: s.HeadDim,
			lh: math.Log(h), lkv: math.Log(kv), lhd: math.Log(hd), grid: g})
	}
	return a, nil
}

// Name implements CostModel.
func (p *Profile) Name() string { return "profile:" + p.name }

// GPU implements CostModel.
func (p *Profile) GPU() GPU { return p.gpu }

// GEMM implements CostModel: the measured grid interpolated in log space,
// the fitted roofline scaled by the edge efficiency outside it.
func (p *Profile) GEMM(m, n, k int) float64 {
	if p.gemm == nil {
		return p.roof.GEMM(m, n, k)
	}
	return p.gemm.Time(pos(m), pos(n), pos(k))
}

// QuantGEMM implements CostModel: the measured grid of precision q where
// the profile has one; for FP8Block without one, the FP8 grid (the same
// pair of kernels, an activation quantization and an FP8 tensor-core GEMM
// reading the same bytes but for the 1/16384 of block scales: in SGLang's
// H100 and H200 tables, which have both, fp8_block over FP8 has a median
// of 0.97-1.00 for m < 64 and 0.88-0.96 above; on B200 it is 1.8 at
// small m, which this fallback does not know);
// otherwise the BF16 grid scaled by the roofline's
// ratio of q to BF16 (its peak rate and bytes), so that a precision without
// measurements stays consistent with the calibrated BF16 kernels. A
// TensorRT-LLM table's FP8 GEMMs run without the dynamic activation
// quantization its measurements include (StaticFP8ActivationNs).
func (p *Profile) QuantGEMM(m, n, k int, q Precision) float64 {
	if q == BF16 {
		return p.GEMM(m, n, k)
	}
	if int(q) < len(p.qgemm) && p.qgemm[q] != nil {
		t := p.qgemm[q].Time(pos(m), pos(n), pos(k))
		if q == FP8 {
			if d := p.StaticFP8ActivationNs(); d > 0 {
				t = math.Max(t-d, p.gemm.base.LaunchNs)
			}
		}
		return t
	}
	if q == FP8Block && int(FP8) < len(p.qgemm) && p.qgemm[FP8] != nil {
		// Block scales are per token group, computed on the fly: no
		// StaticFP8ActivationNs.
		return p.qgemm[FP8].Time(pos(m), pos(n), pos(k))
	}
	return p.GEMM(m, n, k) * p.roof.QuantGEMM(m, n, k, q) / p.roof.GEMM(m, n, k)
}

// StaticFP8ActivationNs is what a per-tensor FP8 GEMM of a TensorRT-LLM
// kernel table (Engine "trtllm") costs less, when StaticFP8Activations is
// set, than in the table: the fitted fixed cost of the table's FP8 GEMMs
// above that of its BF16 GEMMs (H100 and H200: 14.0-14.2 against 3.3-3.5
// us; B200: 16.1 against 2.8 us), which the FP8 kernel itself, reading half
// the weight bytes, does not explain: the measured call quantizes its BF16
// activations first, computing their scale on the fly. A deployment whose
// FP8 checkpoint carries static activation scales does not pay that (see
// replay.StaticFP8Scales for where lodsim assumes so). Other engines'
// tables keep their FP8 cost: vLLM and SGLang quantize an unquantized
// checkpoint's activations dynamically. 0 where the rule does not apply.
func (p *Profile) StaticFP8ActivationNs() float64 {
	if !p.StaticFP8Activations || p.Engine != "trtllm" || p.gemm == nil || int(FP8) >= len(p.qgemm) || p.qgemm[FP8] == nil {
		return 0
	}
	return math.Max(p.qgemm[FP8].base.LaunchNs-p.gemm.base.LaunchNs, 0)
}

// ContextMLA implements CostModel: the measured grid of the nearest head
// count and the shape's KV precision, else the roofline.
func (p *Profile) ContextMLA(batch, q, prefix int, s MLAShape) float64 {
	if p.cmla == nil {
		return p.roof.ContextMLA(batch, q, prefix, s)
	}
	return p.cmla.context(pos(batch), pos(q), math.Max(float64(prefix), 0), s)
}

// GenerationMLA implements CostModel, as ContextMLA.
func (p *Profile) GenerationMLA(batch, ctx int, s MLAShape) float64 {
	if p.gmla == nil {
		return p.roof.GenerationMLA(batch, ctx, s)
	}
	return p.gmla.generation(pos(batch), pos(ctx), s)
}

// MoE implements CostModel: the measured token grid of the nearest
// measured layer shape of the same precision where the profile has one;
// otherwise the roofline.
func (p *Profile) MoE(s MoEShape) float64 {
	if m := p.moeModel(s.Quant); m != nil {
		return m.time(s)
	}
	return p.roof.MoE(s)
}

// ContextAttention implements CostModel: the FP8-KV section for an FP8
// cache where the profile has one, else the BF16-KV one. See
// attnModel.context for how a prefix is handled.
func (p *Profile) ContextAttention(batch, q, prefix int, s AttnShape) float64 {
	a := p.ctx
	if s.KVCache == FP8 && p.ctx8 != nil {
		a = p.ctx8
	}
	if a == nil {
		return p.roof.ContextAttention(batch, q, prefix, s)
	}
	pre := float64(prefix)
	if pre < 0 {
		pre = 0
	}
	return a.context(pos(batch), pos(q), pre, s.Heads, s.KVHeads, s.HeadDim)
}

// GenerationAttention implements CostModel, choosing its section as
// ContextAttention does.
func (p *Profile) GenerationAttention(batch, ctx int, s AttnShape) float64 {
	a := p.gen
	if s.KVCache == FP8 && p.gen8 != nil {
		a = p.gen8
	}
	if a == nil {
		return p.roof.GenerationAttention(batch, ctx, s)
	}
	return a.generation(pos(batch), pos(ctx), s.Heads, s.KVHeads, s.HeadDim)
}

// MeasuresKVCache says whether the profile's decode attention was measured
// with a KV cache of precision kv: always for BF16, for FP8 when it has an
// FP8-KV generation section. Where it was not, a caller costing a
// narrower cache scales the context by the element ratio itself (the
// cache's bytes bound decode attention; lod.Planner does so).
func (p *Profile) MeasuresKVCache(kv Precision) bool {
	return kv == BF16 || (kv == FP8 && p.gen8 != nil)
}

// HasMoE reports whether the profile has a measured MoE section for
// experts of precision q (MoE prices any other by the GPU's roofline).
func (p *Profile) HasMoE(q Precision) bool { return p.moeModel(q) != nil }

// HasMLA reports whether the profile has both measured MLA sections
// (ContextMLA and GenerationMLA price a missing one by the roofline).
func (p *Profile) HasMLA() bool { return p.cmla != nil && p.gmla != nil }

// Elementwise implements CostModel.
func (p *Profile) Elementwise(bytes float64) float64 {
	if p.Element == nil {
		return p.roof.Elementwise(bytes)
	}
	if !(bytes > 0) {
		bytes = 0
	}
	return p.Element.LatencyNs + bytes/p.Element.BytesPerNs
}

// RingLink implements CostModel: the alpha-beta link fitted to NCCL
// all-reduce on n GPUs (see CalibrateOptions.RingMinBytes for the size
// range). A GPU count that was not measured takes the nearest measured one
// in log scale; without all-reduce measurements it is the roofline's
// datasheet link.
func (p *Profile) RingLink(n int) Link {
	c := p.comm[OpAllReduce]
	if c == nil {
		return p.roof.RingLink(n)
	}
	return c.links[c.nearest(n)]
}

// CommLink is the fitted alpha-beta link of op on the measured GPU count
// nearest n in log scale; ok is false when the profile has no op section.
func (p *Profile) CommLink(op Op, n int) (l Link, ok bool) {
	c := p.comm[op]
	if c == nil {
		return Link{}, false
	}
	return c.links[c.nearest(n)], true
}

// Overheads implements CostModel: the profile's overheads section.
func (p *Profile) Overheads() Overheads { return p.Overhead }

// Collective is the time of a collective (all_reduce, all_gather,
// reduce_scatter, custom_all_reduce) of bytes over n GPUs, interpolated on
// the measured sizes and extrapolated with the fitted alpha-beta form; send
// ignores n. It is 0 for n < 2 (no communication) and for a section the
// profile lacks ok is false.
func (p *Profile) Collective(op Op, bytes float64, n int) (t float64, ok bool) {
	c := p.comm[op]
	if c == nil {
		return 0, false
	}
	if op != OpSend && n < 2 {
		return 0, true
	}
	if !(bytes >= 1) {
		bytes = 1
	}
	return c.Time(bytes, n), true
}

// CustomAllReduceMaxBytes is the largest message the serving engines send
// through their custom all-reduce instead of NCCL: vLLM's
// CustomAllreduce max_size (8 MiB, distributed/device_communicators/
// custom_all_reduce.py), which SGLang reuses; TensorRT-LLM's AUTO strategy
// likewise keeps its one-shot/two-shot kernels to small messages and hands
// large ones to NCCL.
const CustomAllReduceMaxBytes = 8 << 20

// CustomAllReduceMaxGPUs is the largest tensor-parallel group a custom
// all-reduce serves: every rank writes into every other rank's buffer
// over NVLink peer access, which the engines enable for up to 8 GPUs of
// one NVLink domain.
const CustomAllReduceMaxGPUs = 8

// TPAllReduce is the time of a tensor-parallel all-reduce of bytes over n
// GPUs as the serving engines run it: the profile's custom_all_reduce
// grid (the engine's one-shot/two-shot kernel) when it has one, n is 2 to
// CustomAllReduceMaxGPUs inside one NVLink domain and the message is at
// most CustomAllReduceMaxBytes; otherwise NCCL (AllReduce). 0 for n < 2.
func (p *Profile) TPAllReduce(bytes float64, n int) float64 {
	if p.customAllReduce(bytes, n) {
		t, _ := p.Collective(OpCustomAllReduce, bytes, n)
		return t
	}
	return p.AllReduce(bytes, n)
}

// customAllReduce reports whether an all-reduce of bytes over n GPUs runs
// on the custom kernel (see TPAllReduce).
func (p *Profile) customAllReduce(bytes float64, n int) bool {
	return p.comm[OpCustomAllReduce] != nil && n >= 2 && n <= CustomAllReduceMaxGPUs &&
		n <= p.gpu.Domain() && bytes <= CustomAllReduceMaxBytes
}

// AllReduceLink implements CostModel: the fitted ring link's latency, with
// the per-hop bandwidth that makes 2(n-1) hops of s/n bytes take the
// grid-interpolated tensor-parallel all-reduce time (TPAllReduce: the
// engine's custom all-reduce for small messages, NCCL otherwise). Where
// that time is below the ring's latency alone (tiny messages), the hops
// are pure latency.
func (p *Profile) AllReduceLink(n int, s float64) Link {
	l := p.RingLink(n)
	if n < 2 || !(s > 0) {
		return l
	}
	if _, ok := p.Collective(OpAllReduce, s, n); !ok && !p.customAllReduce(s, n) {
		return l
	}
	t := p.TPAllReduce(s, n)
	hops := 2 * float64(n-1)
	beta := t/hops - l.LatencyNs
	if beta <= 0 {
		return Link{LatencyNs: t / hops, BytesPerNs: math.Inf(1)}
	}
	return Link{LatencyNs: l.LatencyNs, BytesPerNs: s / float64(n) / beta}
}

// AllReduce is the NCCL all-reduce time of bytes over n GPUs from the
// measured grid (0 for n < 2); without measurements, the ring form over
// RingLink.
func (p *Profile) AllReduce(bytes float64, n int) float64 {
	if t, ok := p.Collective(OpAllReduce, bytes, n); ok {
		return t
	}
	if n < 2 {
		return 0
	}
	return RingTime(OpAllReduce, p.RingLink(n), bytes, float64(n))
}

// AllGather implements CostModel: the NCCL all-gather time of a
// bytes-sized output over n GPUs.
func (p *Profile) AllGather(bytes float64, n int) float64 {
	return p.collectiveOrRing(OpAllGather, bytes, n)
}

// ReduceScatter implements CostModel: the NCCL reduce-scatter time of a
// bytes-sized input over n GPUs.
func (p *Profile) ReduceScatter(bytes float64, n int) float64 {
	return p.collectiveOrRing(OpReduceScatter, bytes, n)
}

// AllToAll implements CostModel: the NCCL all-to-all time when each of n
// GPUs sends bytes, from the measured grid, else the alpha-beta form over
// RingLink.
func (p *Profile) AllToAll(bytes float64, n int) float64 {
	return p.collectiveOrRing(OpAllToAll, bytes, n)
}

// AllToAllLink implements CostModel: the fitted all-to-all link's latency,
// with the bandwidth that makes n-1 transfers of s/n bytes take
// AllToAll(s, n).
func (p *Profile) AllToAllLink(n int, s float64) Link {
	l, ok := p.CommLink(OpAllToAll, n)
	if !ok {
		l = p.RingLink(n)
	}
	if n < 2 || !(s > 0) {
		return l
	}
	hops := float64(n - 1)
	beta := p.AllToAll(s, n)/hops - l.LatencyNs
	if beta <= 0 {
		return Link{LatencyNs: p.AllToAll(s, n) / hops, BytesPerNs: math.Inf(1)}
	}
	return Link{LatencyNs: l.LatencyNs, BytesPerNs: s / float64(n) / beta}
}

// Send is the point-to-point time of bytes from one GPU to another.
func (p *Profile) Send(bytes float64) float64 { return p.collectiveOrRing(OpSend, bytes, 2) }

// SendLink is the fitted point-to-point link, or the all-gather link on 2
// GPUs, or the datasheet link.
func (p *Profile) SendLink() Link {
	for _, op := range []Op{OpSend, OpAllGather} {
		if c := p.comm[op]; c != nil {
			return c.links[c.nearest(2)]
		}
	}
	return p.roof.RingLink(2)
}

func (p *Profile) collectiveOrRing(op Op, bytes float64, n int) float64 {
	if t, ok := p.Collective(op, bytes, n); ok {
		return t
	}
	if op != OpSend && n < 2 {
		return 0
	}
	if op == OpSend {
		return RingTime(OpSend, p.SendLink(), math.Max(bytes, 1), 2)
	}
	return RingTime(op, p.RingLink(n), math.Max(bytes, 1), float64(n))
}
