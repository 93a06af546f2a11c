package main

import (
	"fmt"
	"os"
	"path/filepath"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/analysis/validation"
	"github.com/lodsim/lodsim/plots/report"
)

// benchFlags are shared by the commands that replay benchmark rows.
func benchFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "benchmarks", Aliases: []string{"b"}, Usage: "serving benchmark `FILE` (CSV, lodsim or aiconfigurator silicon layout)"},
		&cli.StringFlag{Name: "profile", Usage: "calibrated profile `FILE` (YAML) to use for its GPU instead of the shipped one"},
		&cli.IntFlag{Name: "requests-per-client", Value: validation.DefaultRequestsPerClient, Usage: "closed-loop requests each client sends (rows of InferenceMAX and of aiconfigurator's TensorRT-LLM aiperf runs send their client's own count)"},
		&cli.Uint64Flag{Name: "seed", Usage: "simulation seed"},
		&cli.BoolFlag{Name: "all-requests", Usage: "measure every request, without the warm-up and cool-down windows"},
		// --measurements names kernel tables (calibrate); here it is an
		// error that says which flag is meant.
		&cli.StringFlag{Name: "measurements", Aliases: []string{"m"}, Hidden: true},
	}
}

func validateCommand() *cli.Command {
	return &cli.Command{
		Name:      "validate",
		Usage:     "replay end-to-end serving benchmarks and report predicted vs measured TTFT and TPOT",
		UsageText: "lodsim validate --benchmarks FILE [--profile PROFILE.yaml] [--out DIR] [--cv group]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "out", Value: filepath.Join("lodsim-out", "validation"), Usage: "output `DIR` for validation.csv and validation.png"},
			&cli.StringFlag{Name: "cv", Usage: "`group`: leave-one-group-out cross-validation of the engine constants (minutes)"},
		}, benchFlags()...),
		Before: noArgs,
		Action: validateAction,
	}
}

// benchInputs reads the shared flags: simulation options, the base profile
// and the benchmark rows.
func benchInputs(ctx *cli.Context) (*validation.Inputs, error) {
	if ctx.IsSet("measurements") {
		return nil, usagef("%s: --measurements names kernel measurement tables (lodsim calibrate); serving benchmarks are --benchmarks FILE", ctx.Command.Name)
	}
	path, err := required(ctx, "benchmarks")
	if err != nil {
		return nil, err
	}
	opt := validation.Options{RequestsPerClient: ctx.Int("requests-per-client"), Seed: ctx.Uint64("seed"), All: ctx.Bool("all-requests")}
	in, err := validation.LoadInputs(path, ctx.String("profile"), opt)
	return in, inputErr(err)
}

func validateAction(ctx *cli.Context) error {
	in, err := benchInputs(ctx)
	if err != nil {
		return err
	}
	rows := in.Rows
	if ctx.IsSet("cv") {
		return inputErr(validation.WriteCrossValidation(ctx.App.Writer, ctx.String("cv"), rows, in.Options))
	}
	if err := rundir.CheckDir(ctx.String("out")); err != nil {
		return err
	}
	p := newProgress(ctx, "validate", "rows", int64(len(rows)))
	in.Options.Progress = p.Count()
	rep, err := validation.Validate(rows, in.Options)
	p.Done()
	if err != nil {
		return err
	}
	w := ctx.App.Writer
	if err := rep.WriteText(w, in.Layout); err != nil {
		return inputErr(err) // every row skipped
	}
	written, err := report.WriteValidation(ctx.String("out"), rep, "lodsim vs "+filepath.Base(ctx.String("benchmarks")))
	if err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwrote %v\n", written)
	return nil
}

func overheadsCommand() *cli.Command {
	return &cli.Command{
		Name:  "calibrate-overheads",
		Usage: "fit a profile's engine overheads to end-to-end serving benchmarks (least squares)",
		UsageText: "lodsim calibrate-overheads --benchmarks FILE --gpu h100_sxm [--profile BASE.yaml] [--split half --seed N] --out profile.yaml\n\n" +
			"--split half fits on a seeded half of the rows (stratified by model, GPU and TP) and reports the accuracy on the other half.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "gpu", Usage: "GPU whose shipped profile to start from (default: the --profile's, or the first row's)"},
			&cli.StringFlag{Name: "split", Value: "none", Usage: "none: fit on every row; half: fit on half, evaluate on the rest"},
			&cli.StringFlag{Name: "out", Usage: "profile `FILE` to write (YAML, the base profile with the fitted overheads; required)"},
			&cli.IntFlag{Name: "max-iter", Value: 25, Usage: "Levenberg-Marquardt iterations at most"},
		}, benchFlags()...),
		Before: noArgs,
		Action: overheadsAction,
	}
}

func overheadsAction(ctx *cli.Context) error {
	out, err := required(ctx, "out")
	if err != nil {
		return err
	}
	in, err := benchInputs(ctx)
	if err != nil {
		return err
	}
	base, err := in.BaseProfile(ctx.String("gpu"))
	if err != nil {
		return usageError{err}
	}
	split := ctx.String("split")
	if split != "none" && split != "half" {
		return usagef("--split: %q, expected none or half", split)
	}
	fo := validation.FitOptions{Sim: in.Options, MaxIter: ctx.Int("max-iter")}
	if !ctx.Bool("quiet") {
		fo.Log = os.Stderr
	}
	cal, err := validation.CalibrateOverheads(in.Rows, base, split == "half", ctx.Uint64("seed"), fo)
	if err != nil {
		return err
	}
	w := ctx.App.Writer
	if err := cal.WriteText(w); err != nil {
		return err
	}
	if err := rundir.WriteFile(out, cal.Profile.Write); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwrote %s\n", out)
	return nil
}
