package analysis

import (
	"math"
	"slices"
	"strings"

	"github.com/lodsim/lodsim/replay"
)

// Run is one simulation of one configuration at one level of detail, with
// what it cost to produce.
type Run struct {
	ID           string         // content identity of the run directory (see package rundir); "" until written
	Label        string         // configuration label, e.g. "tp4"
	LoD          string         // level of detail, e.g. "high" or "medium"
	WallNs       int64          // measured wall time of the simulation
	PeakRSSBytes int64          // peak resident memory of the process, 0 when unknown
	Config       *replay.Config // the fully resolved configuration, nil when unknown
	Provenance   Provenance
	Stats        *replay.Stats
	Results      []replay.RequestResult
	Summary      Summary
}

// Provenance records what was simulated and by which lodsim.
type Provenance struct {
	Version     string    `json:"version"`     // lodsim build
	Model       string    `json:"model"`       // architecture name
	GPU         string    `json:"gpu"`         // catalog name; "H200-SXM prefill + H100-SXM decode" for pools on different GPUs
	Engine      string    `json:"engine"`      // whose scheduling the config follows
	Parallelism string    `json:"parallelism"` // replicas x TP x PP
	Workload    string    `json:"workload"`    // the request source in one phrase
	Seed        uint64    `json:"seed"`
	Profile     ProfileID `json:"profile"` // where the costs came from
	// Pools is what each pool of a disaggregated cluster simulated,
	// prefill then decode: its GPU and its costs, which differ from GPU
	// and Profile when the pool has a GPU or profile of its own. Empty for
	// an aggregated cluster.
	Pools []PoolProvenance `json:"pools,omitempty"`
}

// PoolProvenance is what one pool of a disaggregated cluster simulated.
type PoolProvenance struct {
	Pool    string    `json:"pool"` // prefill or decode
	GPU     string    `json:"gpu"`  // catalog name
	Profile ProfileID `json:"profile"`
}

// Costs names where the run's costs came from in one phrase: the
// profile's name and digest, or for a disaggregated cluster each pool's
// ("prefill: h200_sxm-sglang on H200-SXM (sha256 ...); decode: ...").
func (p Provenance) Costs() string {
	if len(p.Pools) == 0 {
		return p.Profile.String()
	}
	s := make([]string, len(p.Pools))
	for i, q := range p.Pools {
		s[i] = q.Pool + ": " + q.Profile.Name + " on " + q.GPU
		if q.Profile.SHA256 != "" {
			s[i] += " (sha256 " + q.Profile.SHA256 + ")"
		}
	}
	return strings.Join(s, "; ")
}

// String is the profile's name, with its SHA-256 when it has one.
func (id ProfileID) String() string {
	if id.SHA256 == "" {
		return id.Name
	}
	return id.Name + " (sha256 " + id.SHA256 + ")"
}

// ProfileID identifies a cost model: a calibrated profile by name, GPU,
// generator and the SHA-256 of its encoding, or the roofline of a GPU.
type ProfileID struct {
	Name      string `json:"name"`
	GPU       string `json:"gpu"`
	Generator string `json:"generator,omitempty"`
	SHA256    string `json:"sha256,omitempty"`
}

// RunInfo is the part of a Run that is neither results nor stats; it is what
// a run directory's run.json holds, with the digest of every other file.
type RunInfo struct {
	ID           string            `json:"run_id"`
	Label        string            `json:"label"`
	LoD          string            `json:"lod"`
	WallNs       int64             `json:"wall_ns"`
	PeakRSSBytes int64             `json:"peak_rss_bytes"`
	Provenance   Provenance        `json:"provenance"`
	Files        map[string]string `json:"files,omitempty"` // file name -> SHA-256 of its bytes
}

// Info returns r's identity and costs.
func (r *Run) Info() RunInfo {
	return RunInfo{ID: r.ID, Label: r.Label, LoD: r.LoD, WallNs: r.WallNs, PeakRSSBytes: r.PeakRSSBytes, Provenance: r.Provenance}
}

// Name is "label-lod", the run's directory name, or the LoD alone when the
// label is empty.
func (r *Run) Name() string {
	if r.Label == "" {
		return r.LoD
	}
	return r.Label + "-" + r.LoD
}

// CDF is an empirical cumulative distribution: P[i] is the fraction of
// values <= X[i]. X is ascending. Long distributions are thinned to a fixed
// number of points spread evenly in probability, always keeping the minimum
// and the maximum.
type CDF struct {
	X []float64 `json:"x"`
	P []float64 `json:"p"`
}

// cdfPoints is how many points a CDF keeps at most: enough for a smooth
// curve at figure resolution, few enough to embed in JSON.
const cdfPoints = 512

// NewCDF builds the CDF of sorted (ascending) values, thinned to at most
// maxPoints points (all of them when maxPoints <= 0).
func NewCDF(sorted []float64, maxPoints int) CDF {
	n := len(sorted)
	if n == 0 {
		return CDF{}
	}
	if maxPoints <= 0 || n <= maxPoints {
		c := CDF{X: make([]float64, n), P: make([]float64, n)}
		copy(c.X, sorted)
		for i := range c.P {
			c.P[i] = float64(i+1) / float64(n)
		}
		return c
	}
	c := CDF{X: make([]float64, 0, maxPoints), P: make([]float64, 0, maxPoints)}
	c.X = append(c.X, sorted[0])
	c.P = append(c.P, 1/float64(n))
	for k := 1; k < maxPoints; k++ {
		// Nearest rank of probability k/(maxPoints-1).
		rank := int(math.Ceil(float64(k) / float64(maxPoints-1) * float64(n)))
		rank = min(max(rank, 1), n)
		if float64(rank)/float64(n) <= c.P[len(c.P)-1] {
			continue
		}
		c.X = append(c.X, sorted[rank-1])
		c.P = append(c.P, float64(rank)/float64(n))
	}
	return c
}

// LatencyCDFs are the latency distributions of one run's completed
// requests, in milliseconds.
type LatencyCDFs struct {
	TTFT CDF `json:"ttft_ms"`
	TPOT CDF `json:"tpot_ms"`
	E2E  CDF `json:"e2e_ms"`
}

// Latencies computes the TTFT, TPOT and E2E CDFs (ms) of the completed
// requests in results.
func Latencies(results []replay.RequestResult) LatencyCDFs {
	buf := make([]float64, 0, len(results))
	cdf := func(f func(r *replay.RequestResult) float64) CDF {
		buf = buf[:0]
		for i := range results {
			r := &results[i]
			if r.Status != replay.Completed {
				continue
			}
			if v := f(r); v >= 0 {
				buf = append(buf, v/1e6)
			}
		}
		slices.Sort(buf)
		return NewCDF(buf, cdfPoints)
	}
	return LatencyCDFs{
		TTFT: cdf(func(r *replay.RequestResult) float64 { return float64(r.TTFT()) }),
		TPOT: cdf(func(r *replay.RequestResult) float64 { return r.TPOT() }),
		E2E:  cdf(func(r *replay.RequestResult) float64 { return float64(r.E2E()) }),
	}
}

// TimeSeries is a run's sampled cluster state over simulated time, ready to
// draw. All slices have one entry per sample.
type TimeSeries struct {
	TimeS            []float64 `json:"time_s"`              // sample time
	OutputTokensPerS []float64 `json:"output_tokens_per_s"` // tokens produced since the previous sample, per second
	RequestsPerS     []float64 `json:"requests_per_s"`      // completions since the previous sample, per second
	Waiting          []float64 `json:"waiting"`             // queue length
	Running          []float64 `json:"running"`             // sequences in running queues
	BatchSize        []float64 `json:"batch_size"`          // mean sequences per step
	KVUtil           []float64 `json:"kv_util"`             // used / total KV blocks
}

// Len is the number of samples.
func (t TimeSeries) Len() int { return len(t.TimeS) }

// Series extracts the time series of st. Rates divide by the time since the
// previous sample (since 0 for the first).
func Series(st *replay.Stats) TimeSeries {
	if st == nil {
		return TimeSeries{}
	}
	n := len(st.Samples)
	ts := TimeSeries{
		TimeS: make([]float64, n), OutputTokensPerS: make([]float64, n), RequestsPerS: make([]float64, n),
		Waiting: make([]float64, n), Running: make([]float64, n), BatchSize: make([]float64, n), KVUtil: make([]float64, n),
	}
	var prev replay.Time
	for i, s := range st.Samples {
		ts.TimeS[i] = float64(s.T) / 1e9
		if dt := float64(s.T-prev) / 1e9; dt > 0 {
			ts.OutputTokensPerS[i] = float64(s.OutputTokens) / dt
			ts.RequestsPerS[i] = float64(s.Completed) / dt
		}
		prev = s.T
		ts.Waiting[i] = float64(s.Waiting)
		ts.Running[i] = float64(s.Running)
		ts.BatchSize[i] = s.BatchSize
		ts.KVUtil[i] = s.KVUtil
	}
	return ts
}
