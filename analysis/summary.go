package analysis

import (
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/lodsim/lodsim/replay"
)

// SLO is a per-request service-level objective. A bound of 0 means no bound.
// A request meets the SLO when it completed and every set bound holds:
//
//	TTFT <= TTFTNs, TPOT <= TPOTNs, E2E <= E2ENs
//
// A completed single-token request has no TPOT and meets any TPOT bound.
type SLO struct {
	TTFTNs float64 `json:"ttft_ns"`
	TPOTNs float64 `json:"tpot_ns"`
	E2ENs  float64 `json:"e2e_ns"`
}

// IsZero reports whether the SLO sets no bound.
func (s SLO) IsZero() bool { return s.TTFTNs <= 0 && s.TPOTNs <= 0 && s.E2ENs <= 0 }

// Met reports whether r meets the SLO.
func (s SLO) Met(r *replay.RequestResult) bool {
	return r.Status == replay.Completed && s.ttftOK(r) && s.tpotOK(r) && s.e2eOK(r)
}

func (s SLO) ttftOK(r *replay.RequestResult) bool {
	return s.TTFTNs <= 0 || float64(r.TTFT()) <= s.TTFTNs
}

func (s SLO) tpotOK(r *replay.RequestResult) bool {
	if s.TPOTNs <= 0 {
		return true
	}
	t := r.TPOT()
	return t < 0 || t <= s.TPOTNs
}

func (s SLO) e2eOK(r *replay.RequestResult) bool {
	return s.E2ENs <= 0 || float64(r.E2E()) <= s.E2ENs
}

// String renders the set bounds, e.g. "TTFT<=500ms TPOT<=50ms", or "none".
func (s SLO) String() string {
	out := ""
	add := func(name string, ns float64) {
		if ns > 0 {
			if out != "" {
				out += " "
			}
			out += fmt.Sprintf("%s<=%gms", name, ns/1e6)
		}
	}
	add("TTFT", s.TTFTNs)
	add("TPOT", s.TPOTNs)
	add("E2E", s.E2ENs)
	if out == "" {
		return "none"
	}
	return out
}

// Dist summarises a distribution. Percentiles are nearest-rank (see the
// package doc). An empty distribution has Count 0 and every other field 0,
// so that JSON never carries NaN.
type Dist struct {
	Count int64   `json:"count"`
	Mean  float64 `json:"mean"`
	P50   float64 `json:"p50"`
	P90   float64 `json:"p90"`
	P95   float64 `json:"p95"`
	P99   float64 `json:"p99"`
	Max   float64 `json:"max"`
}

// Percentile returns the nearest-rank q-quantile of sorted, which must be
// sorted ascending and non-empty: sorted[ceil(q*n)-1], clamped to the ends.
func Percentile(sorted []float64, q float64) float64 {
	n := len(sorted)
	rank := int(math.Ceil(q * float64(n)))
	if rank < 1 {
		rank = 1
	}
	if rank > n {
		rank = n
	}
	return sorted[rank-1]
}

// distOf sorts v in place and summarises it, multiplying every statistic by
// scale (1e-6 turns ns into ms).
func distOf(v []float64, scale float64) Dist {
	if len(v) == 0 {
		return Dist{}
	}
	slices.Sort(v)
	var sum float64
	for _, x := range v {
		sum += x
	}
	return Dist{
		Count: int64(len(v)),
		Mean:  sum / float64(len(v)) * scale,
		P50:   Percentile(v, 0.50) * scale,
		P90:   Percentile(v, 0.90) * scale,
		P95:   Percentile(v, 0.95) * scale,
		P99:   Percentile(v, 0.99) * scale,
		Max:   v[len(v)-1] * scale,
	}
}

// histDist summarises a replay histogram of nanoseconds in milliseconds.
func histDist(h *replay.Histogram) Dist {
	if h == nil || h.Total == 0 {
		return Dist{}
	}
	return Dist{
		Count: int64(h.Total),
		Mean:  h.Mean() / 1e6,
		P50:   h.Quantile(0.50) / 1e6,
		P90:   h.Quantile(0.90) / 1e6,
		P95:   h.Quantile(0.95) / 1e6,
		P99:   h.Quantile(0.99) / 1e6,
		Max:   float64(h.Max) / 1e6,
	}
}

// Throughput is work done per second of simulated time over the run's span.
type Throughput struct {
	RequestsPerS     float64 `json:"requests_per_s"`      // completed requests
	OutputTokensPerS float64 `json:"output_tokens_per_s"` // output tokens of completed requests
	TotalTokensPerS  float64 `json:"total_tokens_per_s"`  // prompt + output tokens of completed requests
}

// Goodput counts the requests that met the SLO.
type Goodput struct {
	Met      int64   `json:"met"`      // requests that met every bound
	PerS     float64 `json:"per_s"`    // Met over the span
	Fraction float64 `json:"fraction"` // Met over all requests, whatever their status
	// Per-bound attainment: the fraction of all requests that completed
	// and met that bound alone (the completed fraction when it is unset).
	TTFTFraction float64 `json:"ttft_fraction"`
	TPOTFraction float64 `json:"tpot_fraction"`
	E2EFraction  float64 `json:"e2e_fraction"`
}

// SeriesStats summarises one quantity of the sampled time series; every
// sample weighs the same since samples are evenly spaced in simulated time.
// Unit and Scope say what the numbers count and over what: a cluster total
// (summed over replicas), the cluster pooled (a ratio of sums), or one
// replica.
type SeriesStats struct {
	Unit    string  `json:"unit"`
	Scope   string  `json:"scope"`
	Samples int64   `json:"samples"`
	Mean    float64 `json:"mean"`
	P50     float64 `json:"p50"`
	P99     float64 `json:"p99"`
	Max     float64 `json:"max"`
}

// Summary is what one run amounts to. Latency distributions are in
// milliseconds and cover completed requests only, so that runs which leave
// different requests unfinished are not compared on partial latencies;
// inter-token latency comes from the run's histogram (all generated tokens).
//
// The span runs from the first arrival to the last completion; throughput
// and goodput divide by it. With no completed request the span and every
// rate are 0.
type Summary struct {
	Requests   int64 `json:"requests"` // results of any status
	Completed  int64 `json:"completed"`
	Unfinished int64 `json:"unfinished"`
	Rejected   int64 `json:"rejected"`
	// RejectedFor counts the rejected requests by reason (results.parquet's
	// reason column: exceeds_max_model_len, exceeds_kv_capacity,
	// exceeds_token_budget).
	RejectedFor       map[string]int64 `json:"rejected_for,omitempty"`
	Preemptions       int64            `json:"preemptions"`        // preemption events, summed over requests
	PreemptedRequests int64            `json:"preempted_requests"` // requests preempted at least once

	TTFT     Dist `json:"ttft_ms"`
	TPOT     Dist `json:"tpot_ms"`
	ITL      Dist `json:"itl_ms"`
	E2E      Dist `json:"e2e_ms"`
	Queueing Dist `json:"queueing_ms"` // first scheduled minus arrival

	SpanS      float64    `json:"span_s"`
	Throughput Throughput `json:"throughput"`
	SLO        SLO        `json:"slo"`
	Goodput    Goodput    `json:"goodput"`

	// The time series, each with its unit and scope (see the Scope
	// constants): batch size is per replica step, running and waiting
	// are cluster totals, KV utilisation is pooled over the cluster, and
	// the peak is that of the fullest replica.
	BatchSize  SeriesStats `json:"batch_size"`   // mean sequences per step of one replica, per sample
	Running    SeriesStats `json:"running"`      // sequences in running queues, summed over replicas
	Waiting    SeriesStats `json:"waiting"`      // requests in waiting queues, summed over replicas
	KVUtil     SeriesStats `json:"kv_util"`      // used / total KV blocks of the whole cluster
	PeakKVUtil float64     `json:"peak_kv_util"` // used / total KV blocks of the fullest replica, at its fullest

	// The run's cost: events by kind, simulated time, and the wall time
	// of the simulation (set by whoever timed it; 0 when unknown).
	Events      []replay.EventCount `json:"events"`
	TotalEvents uint64              `json:"total_events"`
	SimulatedS  float64             `json:"simulated_s"`
	WallS       float64             `json:"wall_s"`
	// Adaptive is what an adaptive-LoD run ran at which level; nil else.
	Adaptive *replay.AdaptiveReport `json:"adaptive,omitempty"`

	// Disaggregated reports each pool and the KV transfers of a run on a
	// disaggregated cluster; nil otherwise.
	Disaggregated *DisaggSummary `json:"disaggregated,omitempty"`
}

// DisaggSummary is the part of a Summary particular to a disaggregated
// cluster: each pool's layout and load, and the KV-cache transfers from
// prefill to decode workers (the volume over every lane, and the time of
// each completed request's transfer).
type DisaggSummary struct {
	Prefill       replay.PoolStats `json:"prefill"`
	Decode        replay.PoolStats `json:"decode"`
	KVLink        string           `json:"kv_link"`
	Transfers     int64            `json:"transfers"`
	TransferGB    float64          `json:"transfer_gb"`     // KV moved, 1e9 bytes
	Transfer      Dist             `json:"transfer_ms"`     // per completed request
	WaitedForRoom int64            `json:"waited_for_room"` // transfers that waited for decode blocks
	PeakPending   int64            `json:"peak_pending"`    // most prefilled requests waiting for decode room at once

	// Each pool's time series: KV use pooled over its workers, and the
	// finished prefills waiting for decode room.
	PrefillKVUtil  SeriesStats `json:"prefill_kv_util"`
	DecodeKVUtil   SeriesStats `json:"decode_kv_util"`
	WaitingForRoom SeriesStats `json:"waiting_for_room"`
}

// ExpertParallel reports whether either pool has an expert-parallel
// layout, so that the pool tables show EP, attention DP and MoE TP
// columns; clusters without one keep the plain table.
func (d *DisaggSummary) ExpertParallel() bool { return d.Prefill.HasEP() || d.Decode.HasEP() }

// OwnGPUs reports whether a pool runs on a GPU of its own
// (cluster.disaggregated.*.gpu other than hardware.gpu), so that the pool
// tables show a GPU column; pools on the cluster's GPU keep the plain
// table.
func (d *DisaggSummary) OwnGPUs() bool { return d.Prefill.GPU != "" || d.Decode.GPU != "" }

// poolGPU is a pool's GPU cell in the text table (followed by a tab): its
// own GPU, else hardware.gpu; nothing when no pool has its own.
func poolGPU(show bool, p replay.PoolStats) string {
	if !show {
		return ""
	}
	if p.GPU == "" {
		return "hardware.gpu\t"
	}
	return p.GPU + "\t"
}

// epColumns is the text table's expert-parallel cells (names), each
// followed by a tab, or nothing when no pool has expert parallelism.
func epColumns(show bool, names ...string) string {
	if !show {
		return ""
	}
	return strings.Join(names, "\t") + "\t"
}

// poolEP is a pool's expert-parallel cells in the text table: its EP,
// attention DP and MoE TP, "-" for a pool without them.
func poolEP(show bool, p replay.PoolStats) string {
	if !p.HasEP() {
		return epColumns(show, "-", "-", "-")
	}
	return epColumns(show, strconv.Itoa(p.EP), strconv.Itoa(p.AttentionDP), strconv.Itoa(p.MoETP))
}

// Summarize computes the summary of one run. st may be nil, in which case
// the inter-token latency and time-series statistics are empty.
func Summarize(results []replay.RequestResult, st *replay.Stats, slo SLO) Summary {
	z := NewSummarizer(slo)
	for i := range results {
		z.Record(&results[i])
	}
	return z.Summary(st)
}

// Summarizer computes a Summary from results as they stream in: it is a
// replay.Sink, so a run of any length can be summarised while its results
// go straight to a file. It keeps four latencies per completed request
// (32 bytes) in fixed-size chunks, so memory grows without copying.
type Summarizer struct {
	s                            Summary
	firstArrival, lastCompletion replay.Time
	outTok, totTok               int64
	ttftOK, tpotOK, e2eOK        int64
	ttft, tpot, e2e, queue       chunked
	xfer                         chunked // KV transfer times (disaggregated)
}

// NewSummarizer returns an empty Summarizer for the given SLO.
func NewSummarizer(slo SLO) *Summarizer {
	return &Summarizer{s: Summary{SLO: slo}, firstArrival: math.MaxInt64, lastCompletion: math.MinInt64}
}

// chunked is an append-only list of float64 in 64 Ki-value chunks.
type chunked struct {
	chunks [][]float64
	n      int
}

const chunkLen = 1 << 16

func (c *chunked) add(v float64) {
	if c.n%chunkLen == 0 {
		c.chunks = append(c.chunks, make([]float64, 0, chunkLen))
	}
	last := &c.chunks[len(c.chunks)-1]
	*last = append(*last, v)
	c.n++
}

// into appends every value to buf.
func (c *chunked) into(buf []float64) []float64 {
	for _, ch := range c.chunks {
		buf = append(buf, ch...)
	}
	return buf
}

// Record implements replay.Sink.
func (z *Summarizer) Record(r *replay.RequestResult) error {
	s := &z.s
	s.Requests++
	z.firstArrival = min(z.firstArrival, r.Arrival)
	s.Preemptions += int64(r.Preemptions)
	if r.Preemptions > 0 {
		s.PreemptedRequests++
	}
	switch r.Status {
	case replay.Completed:
		s.Completed++
	case replay.Unfinished:
		s.Unfinished++
	case replay.Rejected:
		s.Rejected++
		if s.RejectedFor == nil {
			s.RejectedFor = map[string]int64{}
		}
		s.RejectedFor[r.Reason.String()]++
	}
	if r.Status != replay.Completed {
		return nil
	}
	z.lastCompletion = max(z.lastCompletion, r.Completion)
	z.outTok += int64(r.OutputTokens)
	z.totTok += int64(r.OutputTokens) + int64(r.PromptTokens)
	slo := &s.SLO
	if slo.Met(r) {
		s.Goodput.Met++
	}
	if slo.ttftOK(r) {
		z.ttftOK++
	}
	if slo.tpotOK(r) {
		z.tpotOK++
	}
	if slo.e2eOK(r) {
		z.e2eOK++
	}
	if v := r.TTFT(); v >= 0 {
		z.ttft.add(float64(v))
	}
	if v := r.TPOT(); v >= 0 {
		z.tpot.add(v)
	}
	if v := r.E2E(); v >= 0 {
		z.e2e.add(float64(v))
	}
	if r.FirstScheduled >= 0 {
		z.queue.add(float64(r.FirstScheduled - r.Arrival))
	}
	if v := r.TransferNs(); v >= 0 {
		z.xfer.add(float64(v))
	}
	return nil
}

// Summary returns the summary of the results recorded so far, with the
// run's statistics st (which may be nil).
func (z *Summarizer) Summary(st *replay.Stats) Summary {
	s := z.s
	if s.Completed > 0 && z.lastCompletion > z.firstArrival {
		s.SpanS = float64(z.lastCompletion-z.firstArrival) / 1e9
		s.Throughput = Throughput{
			RequestsPerS:     float64(s.Completed) / s.SpanS,
			OutputTokensPerS: float64(z.outTok) / s.SpanS,
			TotalTokensPerS:  float64(z.totTok) / s.SpanS,
		}
		s.Goodput.PerS = float64(s.Goodput.Met) / s.SpanS
	}
	if s.Requests > 0 {
		n := float64(s.Requests)
		s.Goodput.Fraction = float64(s.Goodput.Met) / n
		s.Goodput.TTFTFraction = float64(z.ttftOK) / n
		s.Goodput.TPOTFraction = float64(z.tpotOK) / n
		s.Goodput.E2EFraction = float64(z.e2eOK) / n
	}

	buf := make([]float64, 0, s.Completed)
	s.TTFT = distOf(z.ttft.into(buf[:0]), 1e-6)
	s.TPOT = distOf(z.tpot.into(buf[:0]), 1e-6)
	s.E2E = distOf(z.e2e.into(buf[:0]), 1e-6)
	s.Queueing = distOf(z.queue.into(buf[:0]), 1e-6)

	if st != nil {
		s.Events = st.Events
		s.TotalEvents = st.TotalEvents
		s.Adaptive = st.Adaptive
		s.SimulatedS = float64(st.SimEnd) / 1e9
		s.ITL = histDist(&st.ITL)
		s.PeakKVUtil = st.PeakKVUtil
		buf = slices.Grow(buf[:0], len(st.Samples))
		sample := func(f func(x *replay.Sample) float64) SeriesStats {
			buf = buf[:0]
			for i := range st.Samples {
				buf = append(buf, f(&st.Samples[i]))
			}
			return seriesStats(buf)
		}
		s.BatchSize = sample(func(x *replay.Sample) float64 { return x.BatchSize })
		s.Running = sample(func(x *replay.Sample) float64 { return float64(x.Running) })
		s.Waiting = sample(func(x *replay.Sample) float64 { return float64(x.Waiting) })
		s.KVUtil = sample(func(x *replay.Sample) float64 { return x.KVUtil })
		s.PeakKVUtil = max(s.PeakKVUtil, s.KVUtil.Max)
		if d := st.Disaggregated; d != nil {
			ds := &DisaggSummary{Prefill: d.Prefill, Decode: d.Decode, KVLink: d.KVLink,
				Transfers: d.Transfers, TransferGB: d.TransferBytes / 1e9, Transfer: distOf(z.xfer.into(buf[:0]), 1e-6),
				WaitedForRoom: d.WaitedForRoom, PeakPending: d.PeakPending}
			pool := func(f func(x *replay.PoolSample) float64, unit string) SeriesStats {
				buf = buf[:0]
				for i := range d.Samples {
					buf = append(buf, f(&d.Samples[i]))
				}
				v := seriesStats(buf)
				v.Unit, v.Scope = unit, ScopeClusterPooled
				return v
			}
			ds.PrefillKVUtil = pool(func(x *replay.PoolSample) float64 { return x.PrefillKVUtil }, "fraction of KV blocks")
			ds.DecodeKVUtil = pool(func(x *replay.PoolSample) float64 { return x.DecodeKVUtil }, "fraction of KV blocks")
			ds.WaitingForRoom = pool(func(x *replay.PoolSample) float64 { return float64(x.WaitingForRoom) }, "requests")
			ds.WaitingForRoom.Scope = ScopeClusterTotal
			s.Disaggregated = ds
		}
	}
	s.BatchSize.Unit, s.BatchSize.Scope = "sequences per step", ScopeReplica
	s.Running.Unit, s.Running.Scope = "sequences", ScopeClusterTotal
	s.Waiting.Unit, s.Waiting.Scope = "requests", ScopeClusterTotal
	s.KVUtil.Unit, s.KVUtil.Scope = "fraction of KV blocks", ScopeClusterPooled
	return s
}

// Scopes of the time-series statistics of a Summary.
const (
	// ScopeReplica: a quantity of one replica (its batch), averaged over
	// every replica's steps in a sample interval.
	ScopeReplica = "per replica"
	// ScopeClusterTotal: summed over every replica.
	ScopeClusterTotal = "cluster total"
	// ScopeClusterPooled: a ratio of cluster-wide sums (used blocks of all
	// replicas over their total blocks).
	ScopeClusterPooled = "cluster, pooled"
	// ScopeFullestReplica: the maximum over replicas.
	ScopeFullestReplica = "fullest replica"
)

func seriesStats(v []float64) SeriesStats {
	d := distOf(v, 1)
	return SeriesStats{Samples: d.Count, Mean: d.Mean, P50: d.P50, P99: d.P99, Max: d.Max}
}

// SeriesRow is one row of a summary's "over time" table.
type SeriesRow struct {
	Name  string
	Stats SeriesStats
}

// OverTime lists the time-series statistics in the order reports show
// them; each carries its unit and scope.
func (s *Summary) OverTime() []SeriesRow {
	return []SeriesRow{{"batch size", s.BatchSize}, {"running", s.Running}, {"waiting", s.Waiting}, {"KV util", s.KVUtil}}
}

// Metric is one named scalar of a summary.
type Metric struct {
	Name  string  `json:"name"` // snake_case with the unit as suffix, e.g. ttft_p99_ms
	Value float64 `json:"value"`
}

// Metrics flattens the summary into named scalars in a fixed order; it is
// the list comparisons report the relative error of.
func (s *Summary) Metrics() []Metric {
	out := make([]Metric, 0, 64)
	add := func(name string, v float64) { out = append(out, Metric{name, v}) }
	dist := func(prefix string, d Dist) {
		add(prefix+"_mean_ms", d.Mean)
		add(prefix+"_p50_ms", d.P50)
		add(prefix+"_p90_ms", d.P90)
		add(prefix+"_p95_ms", d.P95)
		add(prefix+"_p99_ms", d.P99)
		add(prefix+"_max_ms", d.Max)
	}
	dist("ttft", s.TTFT)
	dist("tpot", s.TPOT)
	dist("itl", s.ITL)
	dist("e2e", s.E2E)
	dist("queueing", s.Queueing)
	add("requests_per_s", s.Throughput.RequestsPerS)
	add("output_tokens_per_s", s.Throughput.OutputTokensPerS)
	add("total_tokens_per_s", s.Throughput.TotalTokensPerS)
	add("goodput_per_s", s.Goodput.PerS)
	add("goodput_fraction", s.Goodput.Fraction)
	add("completed", float64(s.Completed))
	add("unfinished", float64(s.Unfinished))
	add("rejected", float64(s.Rejected))
	add("preemptions", float64(s.Preemptions))
	add("span_s", s.SpanS)
	add("batch_size_mean", s.BatchSize.Mean)
	add("batch_size_max", s.BatchSize.Max)
	add("waiting_mean", s.Waiting.Mean)
	add("kv_util_mean", s.KVUtil.Mean)
	add("kv_util_peak", s.PeakKVUtil)
	return out
}

// rejectionText says what each rejection reason means in config terms.
var rejectionText = map[string]string{
	"exceeds_max_model_len": "prompt + output above scheduler.max_model_len (default: the model's context length)",
	"exceeds_kv_capacity":   "more KV blocks than a replica holds",
	"exceeds_token_budget":  "prompt above max_num_batched_tokens with chunked prefill off",
}

// rejectedLine says why requests were rejected, reason by reason.
func (s *Summary) rejectedLine() string {
	keys := make([]string, 0, len(s.RejectedFor))
	for k := range s.RejectedFor {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%d %s", s.RejectedFor[k], k)
		if t := rejectionText[k]; t != "" {
			parts[i] += " (" + t + ")"
		}
	}
	return "rejected: " + strings.Join(parts, ", ")
}

// WriteText writes the summary as an aligned plain-text report.
func (s *Summary) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "requests\tcompleted\tunfinished\trejected\tpreemptions\tpreempted\t\n")
	fmt.Fprintf(tw, "%d\t%d\t%d\t%d\t%d\t%d\t\n\n", s.Requests, s.Completed, s.Unfinished, s.Rejected, s.Preemptions, s.PreemptedRequests)
	if len(s.RejectedFor) > 0 {
		fmt.Fprintf(tw, "%s\n\n", s.rejectedLine())
	}
	fmt.Fprintf(tw, "latency (ms, per completed request)\tcount\tmean\tp50\tp90\tp95\tp99\tmax\t\n")
	for _, row := range []struct {
		name string
		d    Dist
	}{{"TTFT", s.TTFT}, {"TPOT", s.TPOT}, {"ITL", s.ITL}, {"E2E", s.E2E}, {"queueing", s.Queueing}} {
		d := row.d
		fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t%.3f\t\n", row.name, d.Count, d.Mean, d.P50, d.P90, d.P95, d.P99, d.Max)
	}
	fmt.Fprintf(tw, "\t\n")
	fmt.Fprintf(tw, "cluster throughput\tspan (s)\treq/s\toutput tok/s\ttotal tok/s\t\n")
	fmt.Fprintf(tw, "completed requests\t%.3f\t%.3f\t%.1f\t%.1f\t\n\n", s.SpanS, s.Throughput.RequestsPerS, s.Throughput.OutputTokensPerS, s.Throughput.TotalTokensPerS)
	fmt.Fprintf(tw, "SLO\tmet\tgoodput req/s\tfraction\tTTFT ok\tTPOT ok\tE2E ok\t\n")
	fmt.Fprintf(tw, "%s\t%d\t%.3f\t%.4f\t%.4f\t%.4f\t%.4f\t\n\n", s.SLO, s.Goodput.Met, s.Goodput.PerS, s.Goodput.Fraction,
		s.Goodput.TTFTFraction, s.Goodput.TPOTFraction, s.Goodput.E2EFraction)
	// Scope and unit are text columns; tabwriter right-aligns them too,
	// which keeps the numbers under their headings.
	fmt.Fprintf(tw, "over time\tscope\tunit\tsamples\tmean\tp50\tp99\tmax\t\n")
	for _, row := range s.OverTime() {
		v := row.Stats
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t\n", row.Name, v.Scope, v.Unit, v.Samples, v.Mean, v.P50, v.P99, v.Max)
	}
	fmt.Fprintf(tw, "peak KV util\t%s\t%s\t\t\t\t\t%.4f\t\n", ScopeFullestReplica, s.KVUtil.Unit, s.PeakKVUtil)
	if d := s.Disaggregated; d != nil {
		fmt.Fprintf(tw, "\t\n")
		ep := d.ExpertParallel()
		gpu := d.OwnGPUs()
		fmt.Fprintf(tw, "pool\t%sworkers\tTP\tPP\t%sKV blocks/worker\tsteps\tpeak KV util\t\n", epColumns(gpu, "GPU"), epColumns(ep, "EP", "attn DP", "MoE TP"))
		for _, p := range []struct {
			name string
			s    replay.PoolStats
		}{{"prefill", d.Prefill}, {"decode", d.Decode}} {
			fmt.Fprintf(tw, "%s\t%s%d\t%d\t%d\t%s%d\t%d\t%.4f\t\n", p.name, poolGPU(gpu, p.s), p.s.Workers, p.s.TP, p.s.PP, poolEP(ep, p.s), p.s.KVBlocks, p.s.Steps, p.s.PeakKVUtil)
		}
		fmt.Fprintf(tw, "KV transfers (%s)\tcount\tGB\tmean ms\tp99 ms\twaited for room\tpeak waiting\t\n", d.KVLink)
		fmt.Fprintf(tw, "\t%d\t%.3f\t%.3f\t%.3f\t%d\t%d\t\n", d.Transfers, d.TransferGB, d.Transfer.Mean, d.Transfer.P99, d.WaitedForRoom, d.PeakPending)
		fmt.Fprintf(tw, "pools over time\tscope\tunit\tsamples\tmean\tp50\tp99\tmax\t\n")
		for _, row := range []struct {
			name string
			v    SeriesStats
		}{{"prefill KV util", d.PrefillKVUtil}, {"decode KV util", d.DecodeKVUtil}, {"waiting for decode room", d.WaitingForRoom}} {
			v := row.v
			fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%.3f\t%.3f\t%.3f\t%.3f\t\n", row.name, v.Scope, v.Unit, v.Samples, v.Mean, v.P50, v.P99, v.Max)
		}
	}
	if s.TotalEvents > 0 {
		fmt.Fprintf(tw, "\t\n")
		fmt.Fprintf(tw, "events\t%d\tsimulated (s)\t%.3f\twall (s)\t%.3f\t\n", s.TotalEvents, s.SimulatedS, s.WallS)
		for _, e := range s.Events {
			fmt.Fprintf(tw, "%s\t%d\t\n", e.Kind, e.Count)
		}
	}
	if a := s.Adaptive; a != nil {
		writeAdaptive(tw, a)
	}
	return tw.Flush()
}

// Spread summarises repeated measurements of one quantity (wall times of
// repeated runs): the nearest-rank median and the range. Wall time varies
// from run to run with the machine's load, so one run's figure misleads.
type Spread struct {
	N      int     `json:"n"`
	Median float64 `json:"median"`
	Min    float64 `json:"min"`
	Max    float64 `json:"max"`
}

// SpreadOf summarises v (not modified); an empty v gives N 0.
func SpreadOf(v []float64) Spread {
	if len(v) == 0 {
		return Spread{}
	}
	s := slices.Clone(v)
	slices.Sort(s)
	return Spread{N: len(s), Median: Percentile(s, 0.5), Min: s[0], Max: s[len(s)-1]}
}

// WallTimes are the wall times of repeated runs of one configuration at a
// reference level of detail and another, in nanoseconds, one per
// repetition; repetition i of both levels ran back to back, so their ratio
// is one speed-up measurement.
type WallTimes struct {
	Label  string  `json:"label"`
	RefLoD string  `json:"ref_lod"`
	LoD    string  `json:"lod"`
	RefNs  []int64 `json:"ref_wall_ns"`
	Ns     []int64 `json:"wall_ns"`
}

// RefSeconds is the spread of the reference level's wall times, in seconds.
func (w *WallTimes) RefSeconds() Spread { return SpreadOf(seconds(w.RefNs)) }

// Seconds is the spread of the other level's wall times, in seconds.
func (w *WallTimes) Seconds() Spread { return SpreadOf(seconds(w.Ns)) }

// SpeedUp is the spread of the per-repetition speed-ups RefNs[i] / Ns[i]
// over the repetitions both levels have with a positive time.
func (w *WallTimes) SpeedUp() Spread {
	var r []float64
	for i := range min(len(w.RefNs), len(w.Ns)) {
		if w.RefNs[i] > 0 && w.Ns[i] > 0 {
			r = append(r, float64(w.RefNs[i])/float64(w.Ns[i]))
		}
	}
	return SpreadOf(r)
}

func seconds(ns []int64) []float64 {
	out := make([]float64, len(ns))
	for i, v := range ns {
		out[i] = float64(v) / 1e9
	}
	return out
}

// writeAdaptive reports which parts of an adaptive run ran at high LoD.
func writeAdaptive(w io.Writer, a *replay.AdaptiveReport) {
	fmt.Fprintf(w, "\t\n")
	if !a.Refined {
		fmt.Fprintf(w, "adaptive LoD\tnothing to refine (no variability, no contended link): every step at medium\t\n")
		return
	}
	converged := 0
	for _, c := range a.Classes {
		if c.Converged {
			converged++
		}
	}
	steps := a.HighSteps + a.MediumSteps
	fmt.Fprintf(w, "adaptive LoD\twindows\tsteps at high\tof steps\tevents at high\tof events\tstage time at high (s)\tclasses converged\t\n")
	fmt.Fprintf(w, "error budget %g\t%d\t%d\t%.2f%%\t%d\t%.2f%%\t%.3f\t%d of %d\t\n", a.ErrorBudget, a.Windows, a.HighSteps,
		100*ratioOr0(float64(a.HighSteps), float64(steps)), a.HighEvents, 100*ratioOr0(float64(a.HighEvents), float64(a.HighEvents+a.MediumEvents)),
		float64(a.HighStageNs)/1e9, converged, len(a.Classes))
	if wall := a.HighWallNs + a.MediumWallNs; wall > 0 {
		fmt.Fprintf(w, "adaptive wall time\tat high (s)\t%.3f\tat medium (s)\t%.3f\tat high\t%.1f%%\t\n", float64(a.HighWallNs)/1e9,
			float64(a.MediumWallNs)/1e9, 100*float64(a.HighWallNs)/float64(wall))
	}
}

func ratioOr0(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}
