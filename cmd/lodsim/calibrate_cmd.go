package main

import (
	"errors"
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/validation"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/plots/report"
)

func calibrateCommand() *cli.Command {
	return &cli.Command{
		Name:      "calibrate",
		Usage:     "fit a GPU cost profile from kernel and collective measurements",
		UsageText: "lodsim calibrate --measurements DIR_OR_FILE [--measurements ...] --gpu h100_sxm [--engine sglang] --out profile.yaml [--plots DIR]",
		Description: "Reads measurement tables (aiconfigurator kernel tables, Vidur profiles or the canonical\n" +
			"schema of hwprofile/MEASUREMENTS.md; Parquet, Arrow or CSV), fits a cost model per operation,\n" +
			"prints the held-out fit and writes the profile and one predicted-vs-measured plot per operation.",
		Flags: []cli.Flag{
			&cli.StringSliceFlag{Name: "measurements", Aliases: []string{"m"}, Usage: "kernel measurement `DIR_OR_FILE` (repeatable)"},
			&cli.StringFlag{Name: "benchmarks", Aliases: []string{"b"}, Usage: "instead of kernels, fit the engine overheads to end-to-end benchmark `FILE` (as calibrate-overheads)"},
			&cli.StringFlag{Name: "gpu", Usage: "GPU `NAME` or key from the catalog, e.g. h100_sxm"},
			&cli.StringFlag{Name: "engine", Usage: "serving engine `NAME` whose kernel tables to fit: vllm, sglang or trtllm (needed when the tables hold several)"},
			&cli.StringFlag{Name: "split", Value: "none", Usage: "with --benchmarks: none fits on every row; half fits on half and evaluates on the rest"},
			&cli.IntFlag{Name: "max-iter", Value: 25, Usage: "with --benchmarks: Levenberg-Marquardt iterations at most"},
			&cli.StringFlag{Name: "profile", Usage: "with --benchmarks: base profile `FILE` instead of the GPU's shipped one"},
			&cli.IntFlag{Name: "requests-per-client", Value: validation.DefaultRequestsPerClient, Usage: "with --benchmarks: closed-loop requests each client sends (rows of InferenceMAX and of aiconfigurator's TensorRT-LLM aiperf runs send their client's own count)"},
			&cli.BoolFlag{Name: "all-requests", Usage: "with --benchmarks: measure every request, without warm-up and cool-down windows"},
			&cli.StringFlag{Name: "out", Usage: "profile `FILE` to write (YAML; required)"},
			&cli.StringFlag{Name: "plots", Usage: "`DIR` for the predicted-vs-measured PNGs (default: beside --out)"},
			&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed of the held-out split"},
			&cli.Float64Flag{Name: "holdout", Value: 0.1, Usage: "fraction of each operation's points held out to measure the fit"},
			&cli.StringFlag{Name: "created", Usage: "date to stamp the profile with (default: the source data's COMMIT date)"},
		},
		Before: noArgs,
		Action: calibrateAction,
	}
}

func calibrateAction(ctx *cli.Context) error {
	switch {
	case ctx.IsSet("benchmarks") && ctx.IsSet("measurements"):
		return usagef("--measurements and --benchmarks: give one, kernel measurements or end-to-end benchmarks")
	case ctx.IsSet("benchmarks"):
		return overheadsAction(ctx)
	case !ctx.IsSet("measurements"):
		return usagef("--measurements (kernel tables) or --benchmarks (serving benchmarks) is required")
	case ctx.String("gpu") == "":
		return usagef("--gpu is required with --measurements")
	}
	out, err := required(ctx, "out")
	if err != nil {
		return err
	}
	g, err := cost.LookupGPU(ctx.String("gpu"))
	if err != nil {
		return usagef("--gpu: %w", err)
	}
	holdout := ctx.Float64("holdout")
	if !(holdout > 0 && holdout < 1) {
		return usagef("--holdout: %v, expected a fraction between 0 and 1", holdout)
	}
	ms, err := hwprofile.ReadMeasurements(ctx.StringSlice("measurements")...)
	if err != nil {
		return inputErr(fmt.Errorf("--measurements: %w", err))
	}
	p, rep, err := hwprofile.Calibrate(ms, g, hwprofile.CalibrateOptions{
		Seed: ctx.Uint64("seed"), HoldOut: holdout, Created: ctx.String("created"), Engine: ctx.String("engine")})
	if errors.Is(err, hwprofile.ErrSeveralEngines) || errors.Is(err, hwprofile.ErrUnknownEngine) {
		return usagef("--engine: %w", err)
	} else if err != nil {
		return inputErr(err) // the tables cannot be fitted as they are
	}
	return report.WriteCalibration(ctx.App.Writer, g.Name, p, rep, len(ms.Rows), out, ctx.String("plots"))
}
