package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/plots/report"
)

func compareCommand() *cli.Command {
	return &cli.Command{
		Name:      "compare",
		Usage:     "run each configuration at every level of detail and compare cost and accuracy",
		UsageText: "lodsim compare [-c config.yaml] [--sweep tp=1,2,4,8] [--lods high,medium,adaptive] [--repeat N] [--out DIR] [--slo-ttft 500ms --slo-tpot 50ms]",
		Description: "With no config it runs the embedded reference scenarios (TP1, TP2, TP4), with --sweep the first of them.\n" +
			"Writes compare.txt, .csv and .json, figures 1-3 and one run directory per simulation (LABEL-LOD,\n" +
			"with figures 4-5) into --out.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "sweep", Usage: "run every config once per value: `KEY=V1,V2,...` with KEY one of " + strings.Join(experiment.SweepKeys(), ", ")},
			&cli.StringFlag{Name: "lods", Value: "high,medium", Usage: "levels of detail (high, medium, adaptive), the reference first"},
			&cli.StringFlag{Name: "out", Value: "lodsim-out", Usage: "output `DIR`"},
			&cli.IntFlag{Name: "repeat", Value: 3, Usage: "run each configuration `N` times at each LoD; figure 2 shows the median wall time and speed-up with their range"},
		}, configFlags()...),
		Before: noArgs,
		Action: compareAction,
	}
}

func compareAction(ctx *cli.Context) error {
	started := time.Now()
	o, err := overrides(ctx)
	if err != nil {
		return err
	}
	lods, err := experiment.ParseLoDs(ctx.String("lods"))
	if err != nil {
		return usageError{err}
	}
	if n := ctx.Int("repeat"); n < 1 || n > experiment.MaxRepeat { // the library takes 0 as once
		return usagef("--repeat %d: expected 1 to %d runs of each configuration", n, experiment.MaxRepeat)
	}
	cfgs, err := experiment.LoadCompare(ctx.String("config"), ctx.String("sweep"), o)
	if err != nil {
		return inputErr(fmt.Errorf("compare: %w", err))
	}
	w := ctx.App.Writer
	fmt.Fprint(w, experiment.Header(cfgs, strings.Join(lods, "/")))
	var last *experiment.Meter
	cmp := &experiment.Comparison{
		Configs: cfgs, LoDs: lods, Out: ctx.String("out"), Repeat: ctx.Int("repeat"),
		RunFigures: report.RunExtras, IndexFigures: report.IndexExtras,
		Progress: func(e *experiment.Experiment) experiment.Progress {
			last = newProgress(ctx, e.Name()+" "+e.LoD(), "requests", e.ExpectedRequests())
			return last.Sim()
		},
		Done: func(run *analysis.Run, _ string) {
			last.Done()
			fmt.Fprintf(ctx.App.ErrWriter, "%s at %s LoD: %d events, %v wall, %d/%d completed\n", run.Label, run.LoD,
				run.Stats.TotalEvents, time.Duration(run.WallNs).Round(time.Millisecond), run.Summary.Completed, run.Summary.Requests)
		},
	}
	sw, err := cmp.Run()
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	fmt.Fprintf(w, "absolute latencies and throughput of each configuration (%s LoD)\n", lods[0])
	if err := sw.WriteAbsolute(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\n%s vs %s\n", strings.Join(lods[1:], ", "), lods[0])
	if err := sw.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwall %s in all, %s of it simulating\ntables, figures and runs in %s\n", secs(time.Since(started).Nanoseconds()), secs(sw.SimulationWallNs()), cmp.Out)
	return nil
}
