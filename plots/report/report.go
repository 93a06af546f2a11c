package report

import (
	"encoding/base64"
	"fmt"
	"html/template"
	"io"
	"math"
	"os"
	"path/filepath"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/rundir"
)

// File is the page's default name inside the directory it reports on.
const File = "report.html"

// htmlFigure is a figure ready to inline as a data URL.
type htmlFigure struct {
	Title string
	URL   template.URL
}

func inline(figs []Figure) []htmlFigure {
	out := make([]htmlFigure, len(figs))
	for i, f := range figs {
		out[i] = htmlFigure{Title: f.Title, URL: template.URL("data:image/png;base64," + base64.StdEncoding.EncodeToString(f.PNG))}
	}
	return out
}

type reportRun struct {
	Name    string
	Info    analysis.RunInfo
	Summary *analysis.Summary
	Events  uint64
	SimEndS float64
	Figures []htmlFigure
}

type reportAccuracy struct {
	Title   string
	Unit    string
	Table   analysis.AccuracyTable
	Figures []htmlFigure
}

// Report is one HTML page: the tables and figures of a compare, run or
// accuracy directory.
type Report struct {
	Title    string
	Sweep    *analysis.Sweep
	Headline []string // titles of the headline metrics
	Metrics  []string // their names
	Figures  []htmlFigure
	Runs     []reportRun
	Accuracy *reportAccuracy
}

// WriteFile builds the page of the directory in and writes it to out
// (in/report.html when out is ""); it returns the path written.
//
// A problem reading in wraps rundir.ErrInput; a failure writing out does
// not.
func WriteFile(in, out string) (string, error) {
	if out == "" {
		out = filepath.Join(in, File)
	}
	rep, err := Build(in)
	if err != nil {
		return "", rundir.Input(err)
	}
	return out, rundir.WriteFile(out, rep.Write)
}

// Write writes the page.
func (r *Report) Write(w io.Writer) error { return reportTemplate.Execute(w, r) }

func newReportRun(run *analysis.Run) (reportRun, error) {
	figs, err := RunFigures(run)
	if err != nil {
		return reportRun{}, err
	}
	rr := reportRun{Name: run.Name(), Info: run.Info(), Summary: &run.Summary, Figures: inline(figs)}
	if run.Stats != nil {
		rr.Events = run.Stats.TotalEvents
		rr.SimEndS = float64(run.Stats.SimEnd) / 1e9
	}
	return rr, nil
}

// Build gathers the tables and renders the figures of dir; figures are
// drawn afresh from the data rather than read from PNG files, so the page
// always matches the tables.
func Build(dir string) (*Report, error) {
	rep := &Report{}
	rep.Headline, rep.Metrics = analysis.Headline()
	switch {
	case rundir.IsCompare(dir):
		sw, err := rundir.ReadIndex(dir)
		if err != nil {
			return nil, err
		}
		rep.Title = "lodsim comparison of levels of detail"
		rep.Sweep = sw
		figs, err := CompareFigures(sw)
		if err != nil {
			return nil, err
		}
		rep.Figures = inline(figs)
		err = rundir.ReadRuns(dir, sw, func(_ string, run *analysis.Run) error {
			rr, err := newReportRun(run)
			rep.Runs = append(rep.Runs, rr)
			return err
		})
		if err != nil {
			return nil, err
		}
	case rundir.IsRun(dir):
		run, err := rundir.Read(dir)
		if err != nil {
			return nil, err
		}
		rr, err := newReportRun(run)
		if err != nil {
			return nil, err
		}
		rep.Title = "lodsim run " + rr.Name
		rep.Runs = []reportRun{rr}
	case rundir.IsAccuracy(dir):
		acc, err := rundir.ReadAccuracy(dir)
		if err != nil {
			return nil, err
		}
		f, tab, err := AccuracyFigure(acc)
		if err != nil {
			return nil, err
		}
		rep.Title = "lodsim accuracy: " + f.Title
		rep.Accuracy = &reportAccuracy{Title: f.Title, Unit: acc.Unit, Table: tab, Figures: inline([]Figure{f})}
	default:
		if _, err := os.Stat(dir); err != nil {
			return nil, err
		}
		return nil, notResults(dir)
	}
	return rep, nil
}

var reportFuncs = template.FuncMap{
	"f": func(prec int, v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "n/a"
		}
		return fmt.Sprintf("%.*f", prec, v)
	},
	"pct": func(v float64) string {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			return "n/a"
		}
		return fmt.Sprintf("%+.2f%%", 100*v)
	},
	"factor": func(v float64) string {
		if v == 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.1f×", v)
	},
	"secs":   analysis.Duration,
	"nsSecs": func(ns int64) float64 { return float64(ns) / 1e9 },
	"mib": func(b int64) string {
		if b <= 0 {
			return "n/a"
		}
		return fmt.Sprintf("%.0f MiB", float64(b)/(1<<20))
	},
	"relerr": func(c analysis.Comparison, name string) float64 {
		m, ok := c.Metric(name)
		if !ok {
			return math.NaN()
		}
		return m.RelErr
	},
	"dists": func(s *analysis.Summary) []namedDist {
		return []namedDist{{"TTFT", s.TTFT}, {"TPOT", s.TPOT}, {"ITL", s.ITL}, {"E2E", s.E2E}, {"queueing", s.Queueing}}
	},
	"series": func(s *analysis.Summary) []namedSeries {
		return []namedSeries{{"batch size", s.BatchSize}, {"running", s.Running}, {"waiting", s.Waiting}, {"KV utilisation", s.KVUtil}}
	},
	"rows": func(t analysis.AccuracyTable) []analysis.AccuracyRow {
		return append(append([]analysis.AccuracyRow(nil), t.Groups...), t.Overall)
	},
}

type namedDist struct {
	Name string
	D    analysis.Dist
}

type namedSeries struct {
	Name string
	S    analysis.SeriesStats
}

var reportTemplate = template.Must(template.New("report").Funcs(reportFuncs).Parse(`<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>{{.Title}}</title>
<style>
body { font-family: -apple-system, "Segoe UI", Helvetica, Arial, sans-serif; margin: 2em auto; max-width: 1650px; padding: 0 1em; color: #222; }
h1 { font-size: 1.6em; } h2 { font-size: 1.3em; margin-top: 2em; border-bottom: 1px solid #ccc; } h3 { font-size: 1.1em; }
table { border-collapse: collapse; margin: 0.8em 0; font-variant-numeric: tabular-nums; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.6em; text-align: right; }
th { background: #f3f3f3; } td:first-child, th:first-child { text-align: left; }
figure { margin: 1em 0; } figure img { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { color: #555; font-size: 0.9em; }
details { margin: 0.5em 0; } summary { cursor: pointer; }
.note { color: #555; font-size: 0.9em; }
</style>
</head>
<body>
<h1>{{.Title}}</h1>
{{with .Sweep}}
<p class="note">SLO for goodput: {{.SLO}}. Ratios are reference over other; relative differences are (other − reference) / reference.</p>
<h2>Cost</h2>
<table>
<tr><th>configuration</th><th>LoDs</th><th>events (ref)</th><th>events</th><th>reduction</th><th>wall (ref)</th><th>wall</th><th>speed-up</th><th>peak RSS (ref)</th><th>peak RSS</th><th>completed (ref)</th><th>completed</th></tr>
{{range .Comparisons}}<tr><td>{{.Label}}</td><td>{{.RefLoD}} / {{.LoD}}</td><td>{{.RefEvents}}</td><td>{{.Events}}</td><td>{{factor .Reduction}}</td><td>{{secs .RefWallNs}}</td><td>{{secs .WallNs}}</td><td>{{factor .SpeedUp}}</td><td>{{mib .RefPeakRSSBytes}}</td><td>{{mib .PeakRSSBytes}}</td><td>{{.RefCompleted}}</td><td>{{.Completed}}</td></tr>
{{end}}</table>
<h2>Accuracy</h2>
<table>
<tr><th>relative difference</th>{{range $.Headline}}<th>{{.}}</th>{{end}}</tr>
{{range $c := .Comparisons}}<tr><td>{{$c.Label}}: {{$c.LoD}} vs {{$c.RefLoD}}</td>{{range $.Metrics}}<td>{{pct (relerr $c .)}}</td>{{end}}</tr>
{{end}}</table>
<h3>Per-request differences (matched by request id, ms)</h3>
<table>
<tr><th>configuration</th><th>matched</th><th>both completed</th><th>only ref</th><th>only other</th><th>TTFT mean |Δ|</th><th>TTFT p99 |Δ|</th><th>TTFT max |Δ|</th><th>TPOT mean |Δ|</th><th>TPOT p99 |Δ|</th><th>TPOT max |Δ|</th><th>E2E mean |Δ|</th><th>E2E p99 |Δ|</th><th>E2E max |Δ|</th></tr>
{{range .Comparisons}}<tr><td>{{.Label}}: {{.LoD}} vs {{.RefLoD}}</td>{{with .Paired}}<td>{{.Matched}}</td><td>{{.BothCompleted}}</td><td>{{.OnlyRef}}</td><td>{{.OnlyOther}}</td><td>{{f 3 .TTFT.MeanAbs}}</td><td>{{f 3 .TTFT.P99Abs}}</td><td>{{f 3 .TTFT.MaxAbs}}</td><td>{{f 3 .TPOT.MeanAbs}}</td><td>{{f 3 .TPOT.P99Abs}}</td><td>{{f 3 .TPOT.MaxAbs}}</td><td>{{f 3 .E2E.MeanAbs}}</td><td>{{f 3 .E2E.P99Abs}}</td><td>{{f 3 .E2E.MaxAbs}}</td>{{end}}</tr>
{{end}}</table>
{{range .Comparisons}}
<details><summary>{{.Label}}: every metric and events by kind</summary>
<table><tr><th>metric</th><th>{{.RefLoD}}</th><th>{{.LoD}}</th><th>relative difference</th></tr>
{{range .Metrics}}<tr><td>{{.Name}}</td><td>{{f 4 .Ref}}</td><td>{{f 4 .Other}}</td><td>{{pct .RelErr}}</td></tr>
{{end}}</table>
<table><tr><th>event kind</th><th>{{.RefLoD}}</th><th>{{.LoD}}</th></tr>
{{range .EventsByKind}}<tr><td>{{.Kind}}</td><td>{{.Ref}}</td><td>{{.Other}}</td></tr>
{{end}}</table>
</details>
{{end}}
{{end}}
{{range .Figures}}<figure><img src="{{.URL}}" alt="{{.Title}}"><figcaption>{{.Title}}</figcaption></figure>
{{end}}
{{range .Runs}}
<h2>Run {{.Name}}</h2>
<p class="note">{{.Info.Label}} at {{.Info.LoD}} level of detail: {{secs .Info.WallNs}} wall{{if .Events}}, {{.Events}} events, {{f 3 .SimEndS}} s simulated{{end}}; peak RSS {{mib .Info.PeakRSSBytes}}.</p>
<p class="note">Run {{.Info.ID}}{{with .Info.Provenance}}: {{.Model}} on {{.GPU}}, {{.Parallelism}}; {{.Engine}}; workload: {{.Workload}}; seed {{.Seed}}; costs: {{.Costs}}; {{.Version}}{{end}}.</p>
{{with .Summary}}
<table>
<tr><th>requests</th><th>completed</th><th>unfinished</th><th>rejected</th><th>preemptions</th><th>preempted requests</th></tr>
<tr><td>{{.Requests}}</td><td>{{.Completed}}</td><td>{{.Unfinished}}</td><td>{{.Rejected}}</td><td>{{.Preemptions}}</td><td>{{.PreemptedRequests}}</td></tr>
</table>
<table>
<tr><th>latency (ms)</th><th>count</th><th>mean</th><th>p50</th><th>p90</th><th>p95</th><th>p99</th><th>max</th></tr>
{{range dists .}}<tr><td>{{.Name}}</td><td>{{.D.Count}}</td><td>{{f 3 .D.Mean}}</td><td>{{f 3 .D.P50}}</td><td>{{f 3 .D.P90}}</td><td>{{f 3 .D.P95}}</td><td>{{f 3 .D.P99}}</td><td>{{f 3 .D.Max}}</td></tr>
{{end}}</table>
<table>
<tr><th>span (s)</th><th>requests/s</th><th>output tokens/s</th><th>total tokens/s</th><th>SLO</th><th>goodput (req/s)</th><th>met SLO</th><th>TTFT ok</th><th>TPOT ok</th><th>E2E ok</th></tr>
<tr><td>{{f 3 .SpanS}}</td><td>{{f 3 .Throughput.RequestsPerS}}</td><td>{{f 1 .Throughput.OutputTokensPerS}}</td><td>{{f 1 .Throughput.TotalTokensPerS}}</td><td>{{.SLO}}</td><td>{{f 3 .Goodput.PerS}}</td><td>{{pct .Goodput.Fraction}}</td><td>{{pct .Goodput.TTFTFraction}}</td><td>{{pct .Goodput.TPOTFraction}}</td><td>{{pct .Goodput.E2EFraction}}</td></tr>
</table>
<table>
<tr><th>over time</th><th>samples</th><th>mean</th><th>p50</th><th>p99</th><th>max</th></tr>
{{range series .}}<tr><td>{{.Name}}</td><td>{{.S.Samples}}</td><td>{{f 3 .S.Mean}}</td><td>{{f 3 .S.P50}}</td><td>{{f 3 .S.P99}}</td><td>{{f 3 .S.Max}}</td></tr>
{{end}}<tr><td>peak KV utilisation</td><td colspan="5">{{f 4 .PeakKVUtil}}</td></tr>
</table>
{{with .Adaptive}}
<table>
<tr><th>adaptive LoD (error budget {{.ErrorBudget}})</th><th>windows at high</th><th>steps at high</th><th>steps at medium</th><th>events at high</th><th>events at medium</th><th>stage time at high (s)</th></tr>
<tr><td>{{if .Refined}}refined where high can differ{{else}}nothing to refine: every step at medium{{end}}</td><td>{{.Windows}}</td><td>{{.HighSteps}}</td><td>{{.MediumSteps}}</td><td>{{.HighEvents}}</td><td>{{.MediumEvents}}</td><td>{{f 3 (nsSecs .HighStageNs)}}</td></tr>
</table>
{{with .Classes}}<details><summary>learned corrections (high / medium time by step class)</summary>
<table><tr><th>pool</th><th>part</th><th>stage</th><th>kind</th><th>min tokens</th><th>samples</th><th>ratio</th><th>95% half-width</th><th>converged</th></tr>
{{range .}}<tr><td>{{.Pool}}</td><td>{{.Part}}</td><td>{{.Stage}}</td><td>{{.Kind}}</td><td>{{.MinTokens}}</td><td>{{.Samples}}</td><td>{{f 4 .Ratio}}</td><td>{{f 4 .HalfWidth}}</td><td>{{.Converged}}</td></tr>
{{end}}</table></details>{{end}}
{{end}}
{{with .Disaggregated}}
<table>
{{$ep := .ExpertParallel}}{{$gpu := .OwnGPUs}}<tr><th>pool</th>{{if $gpu}}<th>GPU</th>{{end}}<th>workers</th><th>TP</th><th>PP</th>{{if $ep}}<th>EP</th><th>attention DP</th><th>MoE TP</th>{{end}}<th>KV blocks per worker</th><th>steps</th><th>mean KV utilisation</th><th>peak KV utilisation</th></tr>
<tr><td>prefill</td>{{if $gpu}}<td>{{or .Prefill.GPU "hardware.gpu"}}</td>{{end}}<td>{{.Prefill.Workers}}</td><td>{{.Prefill.TP}}</td><td>{{.Prefill.PP}}</td>{{if $ep}}{{template "ep" .Prefill}}{{end}}<td>{{.Prefill.KVBlocks}}</td><td>{{.Prefill.Steps}}</td><td>{{f 4 .PrefillKVUtil.Mean}}</td><td>{{f 4 .Prefill.PeakKVUtil}}</td></tr>
<tr><td>decode</td>{{if $gpu}}<td>{{or .Decode.GPU "hardware.gpu"}}</td>{{end}}<td>{{.Decode.Workers}}</td><td>{{.Decode.TP}}</td><td>{{.Decode.PP}}</td>{{if $ep}}{{template "ep" .Decode}}{{end}}<td>{{.Decode.KVBlocks}}</td><td>{{.Decode.Steps}}</td><td>{{f 4 .DecodeKVUtil.Mean}}</td><td>{{f 4 .Decode.PeakKVUtil}}</td></tr>
</table>
<table>
<tr><th>KV transfers ({{.KVLink}})</th><th>count</th><th>GB</th><th>mean (ms)</th><th>p99 (ms)</th><th>waited for decode room</th><th>most waiting at once</th></tr>
<tr><td></td><td>{{.Transfers}}</td><td>{{f 3 .TransferGB}}</td><td>{{f 3 .Transfer.Mean}}</td><td>{{f 3 .Transfer.P99}}</td><td>{{.WaitedForRoom}}</td><td>{{.PeakPending}}</td></tr>
</table>
{{end}}
{{end}}
{{range .Figures}}<figure><img src="{{.URL}}" alt="{{.Title}}"><figcaption>{{.Title}}</figcaption></figure>
{{end}}
{{end}}
{{with .Accuracy}}
<h2>{{.Title}}</h2>
<table>
<tr><th>group</th><th>count</th><th>skipped</th><th>MAPE</th><th>median APE</th><th>p90 APE</th><th>worst APE</th><th>worst</th></tr>
{{range rows .Table}}<tr><td>{{.Group}}</td><td>{{.Count}}</td><td>{{.Skipped}}</td><td>{{f 2 .MAPE}}%</td><td>{{f 2 .MedianAPE}}%</td><td>{{f 2 .P90APE}}%</td><td>{{f 2 .Worst}}%</td><td>{{.WorstLabel}}</td></tr>
{{end}}</table>
{{range .Figures}}<figure><img src="{{.URL}}" alt="{{.Title}}"><figcaption>{{.Title}}</figcaption></figure>
{{end}}
{{end}}
</body>
</html>
{{define "ep"}}{{if .HasEP}}<td>{{.EP}}</td><td>{{.AttentionDP}}</td><td>{{.MoETP}}</td>{{else}}<td>-</td><td>-</td><td>-</td>{{end}}{{end}}`))
