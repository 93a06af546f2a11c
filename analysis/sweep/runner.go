package sweep

import (
	"context"
	"fmt"
	"math"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/trace"
)

// Runner simulates one point and summarises it against the SLO of the
// point's configuration. It is called from several goroutines at once, one
// point each, and must be deterministic: the same point gives the same
// summary. A returned error is recorded in the point's row (a
// configuration that does not fit its GPUs is a result, not a failure of
// the sweep), unless ctx was cancelled.
type Runner func(ctx context.Context, p *Point) (analysis.Summary, error)

// Simulate is the default Runner: the point's configuration built by the
// library entry point (analysis/experiment), run at its level of detail
// with results streamed into an analysis.Summarizer.
func Simulate(ctx context.Context, p *Point) (analysis.Summary, error) {
	e, err := experiment.New(p.Config)
	if err != nil {
		return analysis.Summary{}, err
	}
	src, err := e.Open()
	if err != nil {
		return analysis.Summary{}, fmt.Errorf("workload: %w", err)
	}
	if p.RateScale != 1 {
		src = trace.Scale(src, p.RateScale)
	}
	src = cancellable(ctx, src)
	defer src.Close()
	z := analysis.NewSummarizer(e.SLO())
	st, _, err := e.RunFrom(src, z, nil)
	if err != nil {
		return analysis.Summary{}, err
	}
	return z.Summary(st), nil
}

// cancellable stops a run when ctx is cancelled: the simulator pulls
// requests as it goes, so the next pull fails. A reactive source (closed
// loop) stays reactive.
func cancellable(ctx context.Context, r trace.Reader) trace.Reader {
	c := &cancelReader{Reader: r, ctx: ctx}
	if re, ok := r.(trace.Reactive); ok {
		return cancelReactive{c, re}
	}
	return c
}

type cancelReader struct {
	trace.Reader
	ctx context.Context
}

func (c *cancelReader) Next() (trace.Request, error) {
	if err := c.ctx.Err(); err != nil {
		return trace.Request{}, err
	}
	return c.Reader.Next()
}

type cancelReactive struct {
	*cancelReader
	re trace.Reactive
}

func (c cancelReactive) Completed(id trace.RequestID, at int64) { c.re.Completed(id, at) }

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
