package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// configFlags are shared by the commands that run simulations; --trace
// takes the same reader flags as the trace commands.
var configFlags = append([]cli.Flag{
	&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "config `FILE` (YAML), or scenario:NAME for an embedded one"},
	&cli.StringFlag{Name: "trace", Usage: "replay this trace `FILE` (or embedded:NAME) instead of the config's workload"},
	&cli.Uint64Flag{Name: "seed", Usage: "override simulation.seed"},
	&cli.Float64Flag{Name: "variability", Usage: "override simulation.variability: CV of per-rank operation times at high LoD (0 = off)"},
	&cli.StringFlag{Name: "topology", Usage: "override cluster.links.topology: nvlink or shared"},
	&cli.DurationFlag{Name: "slo-ttft", Usage: "TTFT bound for goodput, e.g. 500ms"},
	&cli.DurationFlag{Name: "slo-tpot", Usage: "TPOT bound for goodput, e.g. 50ms"},
	&cli.DurationFlag{Name: "slo-e2e", Usage: "end-to-end bound for goodput"},
}, traceInputFlags()...)

// configsFromFlags loads the configs a command's flags name and applies
// the overrides.
func configsFromFlags(ctx *cli.Context) ([]*replay.Config, error) {
	cfgs, err := loadConfigs(ctx.String("config"))
	if err != nil {
		return nil, err
	}
	for _, c := range cfgs {
		if p := ctx.String("trace"); p != "" {
			// A path on the command line is relative to the working
			// directory, not to the config file.
			if !strings.HasPrefix(p, trace.EmbeddedPrefix) {
				abs, err := filepath.Abs(p)
				if err != nil {
					return nil, err
				}
				p = abs
			}
			o := traceOptions(ctx)
			c.Workload = replay.WorkloadConfig{Trace: p, Format: o.Format, Columns: o.Columns, TimeUnit: o.TimeUnit,
				Sort: o.Sort, DropFailed: o.DropFailed, KeepOffset: o.KeepOffset}
		}
		if ctx.IsSet("seed") {
			c.Simulation.Seed = ctx.Uint64("seed")
		}
		if ctx.IsSet("variability") {
			c.Simulation.Variability = ctx.Float64("variability")
		}
		if ctx.IsSet("topology") {
			c.Cluster.Links.Topology = replay.Topology(ctx.String("topology"))
		}
	}
	return cfgs, nil
}

// sloFromFlags is the SLO of the command line, each bound falling back to
// the config's slo section (cfg may be nil).
func sloFromFlags(ctx *cli.Context, cfg *replay.Config) analysis.SLO {
	var slo analysis.SLO
	if cfg != nil {
		slo = analysis.SLO{TTFTNs: float64(cfg.SLO.TTFT), TPOTNs: float64(cfg.SLO.TPOT), E2ENs: float64(cfg.SLO.E2E)}
	}
	if ctx.IsSet("slo-ttft") {
		slo.TTFTNs = float64(ctx.Duration("slo-ttft"))
	}
	if ctx.IsSet("slo-tpot") {
		slo.TPOTNs = float64(ctx.Duration("slo-tpot"))
	}
	if ctx.IsSet("slo-e2e") {
		slo.E2ENs = float64(ctx.Duration("slo-e2e"))
	}
	return slo
}

func init() {
	register(&cli.Command{
		Name:      "replay",
		Usage:     "simulate one configuration and write per-request results and a summary",
		UsageText: "lodsim replay [-c config.yaml | -c scenario:NAME] [--lod high|medium] [--out DIR]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "lod", Usage: "level of detail: high or medium (default: the config's)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (default ./lodsim-out/NAME-LOD)"},
		}, configFlags...),
		Action: replayAction,
	})
}

func replayAction(ctx *cli.Context) error {
	if ctx.Args().Len() > 0 {
		return fmt.Errorf("replay: unexpected argument %q (use -c FILE)", ctx.Args().First())
	}
	path := ctx.String("config")
	if path == "" {
		path = "scenario:" + replay.DefaultScenarios[len(replay.DefaultScenarios)-1]
	}
	if err := ctx.Set("config", path); err != nil {
		return err
	}
	cfgs, err := configsFromFlags(ctx)
	if err != nil {
		return err
	}
	cfg := cfgs[0]
	lodName := ctx.String("lod")
	if lodName == "" {
		lodName = string(cfg.Simulation.LoD)
	}
	out := ctx.String("out")
	if out == "" {
		out = filepath.Join("lodsim-out", cfg.Name+"-"+lodName)
	}
	// Results stream to results.parquet as requests finish and into a
	// streaming summary, so memory follows the requests in flight plus 32
	// bytes of latencies per request, whatever the trace length.
	f, err := createAtomic(filepath.Join(out, resultsFile))
	if err != nil {
		return err
	}
	defer f.Abort()
	rw := analysis.NewResultWriter(f)
	sum := analysis.NewSummarizer(sloFromFlags(ctx, cfg))
	st, wall, err := simulate(cfg, lodName, teeSink{rw, sum})
	if err != nil {
		return err
	}
	if err := rw.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(out, resultsFile), err)
	}
	run := &analysis.Run{Label: cfg.Name, LoD: lodName, WallNs: wall, PeakRSSBytes: peakRSS(), Stats: st}
	run.Summary = sum.Summary(st)
	run.Summary.WallS = float64(wall) / 1e9
	if err := writeRunMeta(out, run); err != nil {
		return err
	}
	if err := f.Commit(); err != nil {
		return err
	}
	w := ctx.App.Writer
	if w == nil {
		w = os.Stdout
	}
	fmt.Fprintf(w, "%s at %s LoD: %d events in %v wall (%.1f M events/s), %.1f s simulated\n",
		cfg.Name, lodName, run.Stats.TotalEvents, time.Duration(run.WallNs).Round(time.Microsecond),
		float64(run.Stats.TotalEvents)/(float64(run.WallNs)/1e9)/1e6, float64(run.Stats.SimEnd)/1e9)
	if err := run.Summary.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "results in %s\n", out)
	return nil
}

// teeSink records each result into both sinks.
type teeSink struct{ a, b replay.Sink }

func (t teeSink) Record(r *replay.RequestResult) error {
	if err := t.a.Record(r); err != nil {
		return err
	}
	return t.b.Record(r)
}
