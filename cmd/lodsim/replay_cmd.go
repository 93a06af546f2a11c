package main

import (
	"fmt"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
)

func replayCommand() *cli.Command {
	return &cli.Command{
		Name:      "replay",
		Usage:     "simulate one configuration and write per-request results and a summary",
		UsageText: "lodsim replay [-c config.yaml | -c scenario:NAME] [--lod high|medium|adaptive] [--out DIR]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "lod", Usage: "level of detail: high, medium or adaptive (default: the config's)"},
			&cli.StringFlag{Name: "out", Usage: "output `DIR` (default ./lodsim-out/NAME-LOD)"},
		}, configFlags()...),
		Before: noArgs,
		Action: replayAction,
	}
}

func replayAction(ctx *cli.Context) error {
	started := time.Now()
	o, err := overrides(ctx)
	if err != nil {
		return err
	}
	o.LoD = ctx.String("lod")
	e, cfgs, err := experiment.LoadRun(ctx.String("config"), o)
	if err != nil {
		return inputErr(err)
	}
	out := ctx.String("out")
	if out == "" {
		out = e.DefaultRunDir()
	}
	w := ctx.App.Writer
	fmt.Fprint(w, experiment.Header(cfgs, ""))
	readNs := time.Since(started).Nanoseconds()
	p := newProgress(ctx, e.Name()+" "+e.LoD(), "requests", e.ExpectedRequests())
	run, t, err := e.WriteRun(out, p.Sim())
	p.Done()
	if err != nil {
		return err
	}
	st := run.Stats
	fmt.Fprintf(w, "%s at %s LoD: %d events in %v of simulation (%.1f M events/s), %.1f s simulated\n",
		run.Label, run.LoD, st.TotalEvents, time.Duration(t.WallNs).Round(time.Microsecond),
		float64(st.TotalEvents)/(float64(t.WallNs)/1e9)/1e6, float64(st.SimEnd)/1e9)
	fmt.Fprintf(w, "on %s, costs: %s\n", run.Provenance.GPU, run.Provenance.Costs())
	fmt.Fprintf(w, "wall %s in all: read %s, simulate %s, write %s\n", secs(time.Since(started).Nanoseconds()),
		secs(readNs+t.ReadNs), secs(t.SimulateNs), secs(t.RecordNs))
	if err := run.Summary.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "results in %s (run %s)\n", out, run.ID)
	return nil
}
