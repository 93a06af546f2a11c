package sweep

import (
	"context"
	"fmt"
	"math"
	"os"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// Runner simulates one point and summarises it against the SLO of the
// point's configuration. It is called from several goroutines at once, one
// point each, and must be deterministic: the same point gives the same
// summary. A returned error is recorded in the point's row (a
// configuration that does not fit its GPUs is a result, not a failure of
// the sweep), unless ctx was cancelled.
type Runner func(ctx context.Context, p *Point) (analysis.Summary, error)

// Simulate is the default Runner: one replay.Run of the point's
// configuration at its level of detail, results streamed into an
// analysis.Summarizer.
func Simulate(ctx context.Context, p *Point) (analysis.Summary, error) {
	c := p.Config
	m, err := c.ResolveModel()
	if err != nil {
		return analysis.Summary{}, err
	}
	cm, err := costModel(c)
	if err != nil {
		return analysis.Summary{}, err
	}
	src, err := openWorkload(c)
	if err != nil {
		return analysis.Summary{}, fmt.Errorf("workload: %w", err)
	}
	if p.RateScale != 1 {
		src = trace.Scale(src, p.RateScale)
	}
	src = &cancellable{Reader: src, ctx: ctx}
	defer src.Close()
	slo := analysis.SLO{TTFTNs: float64(c.SLO.TTFT), TPOTNs: float64(c.SLO.TPOT), E2ENs: float64(c.SLO.E2E)}
	z := analysis.NewSummarizer(slo)
	st, err := replay.Run(replay.Input{Config: c, Model: m, Cost: cm, Workload: src, Sink: z})
	if err != nil {
		return analysis.Summary{}, err
	}
	return z.Summary(st), nil
}

// cancellable stops a run when its context is cancelled: the simulator
// pulls requests as it goes, so the next pull fails.
type cancellable struct {
	trace.Reader
	ctx context.Context
}

func (c *cancellable) Next() (trace.Request, error) {
	if err := c.ctx.Err(); err != nil {
		return trace.Request{}, err
	}
	return c.Reader.Next()
}

// openWorkload opens the request source a config names.
//
// TODO(lead): switch to analysis/experiment. This and costModel are copies
// of cmd/lodsim/sim.go's openWorkload and costModel, the config-to-run
// wiring that has no library home yet.
func openWorkload(c *replay.Config) (trace.Reader, error) {
	w := c.Workload
	switch {
	case w.Trace != "":
		return trace.Open(c.Path(w.Trace), trace.Options{Format: w.Format, Columns: w.Columns, TimeUnit: w.TimeUnit,
			Sort: w.Sort, DropFailed: w.DropFailed, KeepOffset: w.KeepOffset})
	case w.Embedded != "":
		return trace.Embedded(w.Embedded)
	case w.Synthetic != nil:
		s := w.Synthetic
		return trace.NewSynthetic(trace.Synthetic{Arrival: s.Arrival, Rate: s.Rate, CV: s.CV, Prompt: s.Prompt, Output: s.Output,
			Count: s.Count, Duration: int64(s.Duration), Seed: c.Simulation.Seed})
	case w.ClosedLoop != nil:
		s := w.ClosedLoop
		return trace.NewClosedLoop(trace.ClosedLoop{Clients: s.Clients, Requests: s.Requests, Prompt: s.Prompt, Output: s.Output,
			ThinkNs: int64(s.ThinkTime), Seed: c.Simulation.Seed})
	}
	return nil, fmt.Errorf("workload: no source configured")
}

// costModel resolves hardware.gpu and hardware.profile to a cost model.
//
// TODO(lead): switch to analysis/experiment (see openWorkload).
func costModel(c *replay.Config) (cost.CostModel, error) {
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		return nil, fmt.Errorf("hardware.gpu: %w", err)
	}
	switch p := c.Hardware.Profile; p {
	case "":
		return hwprofile.DefaultCostModel(g), nil
	case "roofline":
		return cost.NewRoofline(g), nil
	default:
		path := c.Path(p)
		f, err := os.Open(path)
		if err != nil {
			return nil, fmt.Errorf("hardware.profile: %w", err)
		}
		defer f.Close()
		prof, err := cost.LoadProfile(f, path)
		if err != nil {
			return nil, fmt.Errorf("hardware.profile: %w", err)
		}
		return prof, nil
	}
}

// rowOf turns a point's summary (or its error) into its table row.
func rowOf(p *Point, s *analysis.Summary, runErr error, attainment float64) Row {
	r := Row{Point: p.Index, Values: p.Values}
	m := &r.Metrics
	m.GPUName, m.GPUs, m.PointID = p.GPU, int64(p.GPUs), p.ID
	m.USDPerGPUHour = p.Price
	m.USDPerHour = p.Price * float64(p.GPUs)
	if runErr != nil {
		m.Status, m.Error = "failed", runErr.Error()
		m.GPUHoursPerMTok, m.USDPerMTok = math.NaN(), math.NaN()
		return r
	}
	m.Status = "ok"
	m.Requests, m.Completed, m.Unfinished, m.Rejected, m.Preemptions = s.Requests, s.Completed, s.Unfinished, s.Rejected, s.Preemptions
	m.TTFTMeanMs, m.TTFTP50Ms, m.TTFTP90Ms, m.TTFTP99Ms = s.TTFT.Mean, s.TTFT.P50, s.TTFT.P90, s.TTFT.P99
	m.TPOTMeanMs, m.TPOTP50Ms, m.TPOTP90Ms, m.TPOTP99Ms = s.TPOT.Mean, s.TPOT.P50, s.TPOT.P90, s.TPOT.P99
	m.E2EMeanMs, m.E2EP50Ms, m.E2EP90Ms, m.E2EP99Ms = s.E2E.Mean, s.E2E.P50, s.E2E.P90, s.E2E.P99
	gpus := float64(p.GPUs)
	m.RequestsPerS, m.OutputTokensPerS = s.Throughput.RequestsPerS, s.Throughput.OutputTokensPerS
	m.RequestsPerSPerGPU, m.OutputTokensPerSPerGPU = m.RequestsPerS/gpus, m.OutputTokensPerS/gpus
	m.GoodputPerS, m.GoodputFraction = s.Goodput.PerS, s.Goodput.Fraction
	m.MeetsSLO = s.Requests > 0 && s.Goodput.Fraction >= attainment
	m.KVPeakUtil = s.PeakKVUtil
	m.GPUHoursPerMTok, m.USDPerMTok = math.NaN(), math.NaN()
	if m.OutputTokensPerS > 0 {
		mtokPerHour := m.OutputTokensPerS * 3600 / 1e6
		m.GPUHoursPerMTok = gpus / mtokPerHour
		m.USDPerMTok = m.USDPerHour / mtokPerHour
	}
	return r
}
