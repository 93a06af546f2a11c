package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/analysis/sweep"
	"github.com/lodsim/lodsim/plots"
)

var bestFlags = []cli.Flag{
	&cli.BoolFlag{Name: "best", Usage: "print the cheapest configurations meeting the SLO and the Pareto frontiers"},
	&cli.IntFlag{Name: "top", Value: 10, Usage: "how many of the cheapest configurations --best prints"},
	&cli.StringFlag{Name: "main-key", Usage: "the swept key the metrics figure is drawn against (default: the first)"},
}

// sweepCommand is `lodsim sweep` and `lodsim sweep merge`.
func sweepCommand() *cli.Command {
	return &cli.Command{
		Name:  "sweep",
		Usage: "run a grid of configurations in parallel at one level of detail and tabulate latency, throughput and cost",
		UsageText: `lodsim sweep [--spec sweep.yaml] [-c config.yaml] --grid KEY=V1,V2,... [--point KEY=V,KEY=V] [--set KEY=V]
             [--slo-ttft 1s --slo-tpot 50ms] [-j N] [--shard i/n] [--out DIR] [--best]
lodsim sweep --emit slurm|k8s --shards N [...same spec flags] --out DIR
lodsim sweep merge DIR [--best]
KEY: a dotted config path (scheduler.max_num_seqs) or one of ` + strings.Join(sweep.KeyNames(), ", ") + `.
In a Slurm job array or a Kubernetes Indexed Job the shard comes from the environment (docs/sweep).`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "spec", Usage: "sweep spec `FILE` (YAML with a sweep: section)"},
			&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "base config `FILE`, or scenario:NAME"},
			&cli.GenericFlag{Name: "grid", Value: &repeated{}, Usage: "grid axis `KEY=V1,V2,...` (repeatable; the first varies slowest)"},
			&cli.GenericFlag{Name: "point", Value: &repeated{}, Usage: "explicit point `KEY=V,KEY=V` (repeatable)"},
			&cli.GenericFlag{Name: "set", Value: &repeated{}, Usage: "fixed override `KEY=V,...` for every point (repeatable)"},
			&cli.StringFlag{Name: "lod", Usage: "level of detail of every point (default medium)"},
			&cli.DurationFlag{Name: "slo-ttft", Usage: "TTFT bound, e.g. 1s (sets slo.ttft)"},
			&cli.DurationFlag{Name: "slo-tpot", Usage: "TPOT bound, e.g. 50ms (sets slo.tpot)"},
			&cli.DurationFlag{Name: "slo-e2e", Usage: "end-to-end bound (sets slo.e2e)"},
			&cli.Float64Flag{Name: "attainment", Usage: "fraction of requests that must meet the SLO (default 0.99)"},
			&cli.StringFlag{Name: "prices", Usage: "price table `FILE` (GPU: USD per GPU-hour) over the defaults"},
			&cli.IntFlag{Name: "workers", Aliases: []string{"j"}, Usage: "simulations in parallel (default: all cores)"},
			&cli.StringFlag{Name: "shard", Usage: "run every n-th point: `i/n` (default: from Slurm or Kubernetes, else all)"},
			&cli.StringFlag{Name: "out", Value: "lodsim-sweep", Usage: "sweep `DIR`"},
			&cli.StringFlag{Name: "emit", Usage: "write a cluster job instead of running: slurm or k8s"},
			&cli.IntFlag{Name: "shards", Value: 8, Usage: "--emit: array tasks / completions"},
			&cli.StringFlag{Name: "lodsim", Usage: "--emit: lodsim binary on the nodes (default: this one; k8s: lodsim)"},
			&cli.GenericFlag{Name: "sbatch-option", Value: &repeated{}, Usage: "--emit slurm: extra `#SBATCH` line, e.g. --time=1:00:00"},
			&cli.StringFlag{Name: "image", Value: "lodsim:latest", Usage: "--emit k8s: container image"},
			&cli.StringFlag{Name: "claim", Value: "lodsim-sweep", Usage: "--emit k8s: PersistentVolumeClaim mounted at /out"},
		}, bestFlags...),
		Action: sweepAction,
		Subcommands: []*cli.Command{{
			Name: "merge", Usage: "check every point of a sharded sweep is present once and write its table",
			ArgsUsage: "DIR", Flags: bestFlags, Action: mergeAction,
		}},
	}
}

func specFromFlags(ctx *cli.Context) (*sweep.Spec, error) {
	o := sweep.Overrides{SpecFile: ctx.String("spec"), Config: ctx.String("config"), Grid: take(ctx, "grid"),
		Points: take(ctx, "point"), Set: take(ctx, "set"), TTFT: ctx.Duration("slo-ttft"),
		TPOT: ctx.Duration("slo-tpot"), E2E: ctx.Duration("slo-e2e"), LoD: ctx.String("lod"), Attainment: ctx.Float64("attainment"),
		PricesFile: ctx.String("prices")}
	return o.Spec()
}

func sweepAction(ctx *cli.Context) error {
	if ctx.Args().Len() > 0 {
		return usagef("sweep: unexpected argument %q (subcommand: merge)", ctx.Args().First())
	}
	sbatch := take(ctx, "sbatch-option")
	spec, err := specFromFlags(ctx)
	if err != nil {
		return inputErr(fmt.Errorf("sweep: %w", err))
	}
	plan, err := sweep.NewPlan(spec)
	if err != nil {
		return inputErr(fmt.Errorf("sweep: %w", err)) // the spec or a point's config
	}
	out := ctx.String("out")
	if e := ctx.String("emit"); e != "" {
		return emitJob(ctx, e, spec, len(plan.Points), out, sbatch)
	}
	shard, source, err := sweep.ResolveShard(ctx.String("shard"), "--shard", os.Getenv)
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	w := ctx.App.ErrWriter
	pw := w
	if ctx.Bool("quiet") {
		pw = io.Discard
	}
	progress := sweep.ProgressPrinter(pw, experiment.IsTerminal(w))
	// Slurm and Kubernetes send SIGTERM before killing a preempted task:
	// stop, and checkpoint what completed.
	stopsGracefully.Store(1)
	sigCtx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	o, err := sweep.Execute(sigCtx, plan, out, sweep.Options{Workers: ctx.Int("workers"), Shard: shard, Progress: progress})
	if err != nil {
		return fmt.Errorf("sweep: %w", err)
	}
	fmt.Fprintf(w, "shard %s%s: %d points, %d resumed, %d ran, %d failed; %s\n", o.Shard, source, o.Points, o.Skipped, o.Ran, o.Failed, o.Partition)
	if shard.Count > 1 {
		fmt.Fprintf(ctx.App.Writer, "shard %s done; when every shard is: lodsim sweep merge %s\n", shard, out)
		return nil
	}
	return writeSweep(ctx, out)
}

func mergeAction(ctx *cli.Context) error {
	if ctx.Args().Len() != 1 {
		return fmt.Errorf("sweep merge: expected one sweep directory, got %d arguments", ctx.Args().Len())
	}
	return writeSweep(ctx, ctx.Args().First())
}

// writeSweep merges dir and writes the table, best.txt and the figures.
func writeSweep(ctx *cli.Context, dir string) error {
	t, err := sweep.Merge(dir)
	if err != nil {
		return err
	}
	if err := sweep.WriteTable(dir, t, ctx.Int("top")); err != nil {
		return err
	}
	if err := plots.WriteSweepFigures(dir, t, ctx.String("main-key"), ctx.App.ErrWriter); err != nil {
		return err
	}
	if ctx.Bool("best") {
		if err := t.WriteBest(ctx.App.Writer, ctx.Int("top")); err != nil {
			return err
		}
	}
	fmt.Fprintf(ctx.App.Writer, "%d points: %s, %s, best.txt and figures in %s\n", len(t.Rows), sweep.TableFile, sweep.CSVFile, dir)
	return nil
}

// emitJob writes the self-contained spec and a Slurm array script or a
// Kubernetes Indexed Job manifest into out.
func emitJob(ctx *cli.Context, kind string, spec *sweep.Spec, points int, out string, sbatch []string) error {
	c := sweep.Cluster{Name: "lodsim-sweep", Shards: ctx.Int("shards"), Workers: max(ctx.Int("workers"), 1), Points: points,
		Lodsim: ctx.String("lodsim"), SbatchOptions: sbatch, Image: ctx.String("image"), Claim: ctx.String("claim")}
	path, err := sweep.WriteJob(kind, spec, c, out)
	if err != nil {
		return fmt.Errorf("sweep --emit: %w", err)
	}
	fmt.Fprintf(ctx.App.Writer, "%d points in %d shards: %s (spec: sweep.yaml beside it)\n", points, c.Shards, path)
	return nil
}
