package main

import (
	"fmt"
	"io"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/validation"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

func init() {
	register(&cli.Command{
		Name:  "calibrate-overheads",
		Usage: "fit a profile's engine overheads to end-to-end serving benchmarks (least squares)",
		UsageText: "lodsim calibrate-overheads --benchmarks FILE --gpu h100_sxm [--profile BASE.yaml] [--split half --seed N] --out profile.yaml\n\n" +
			"--split half fits on a seeded half of the rows (stratified by model, GPU and TP) and reports the accuracy on the other half.",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "benchmarks", Aliases: []string{"b"}, Required: true, Usage: "benchmark `FILE` (CSV, lodsim or aiconfigurator silicon layout)"},
			&cli.StringFlag{Name: "gpu", Usage: "GPU whose shipped profile to start from (default: the --profile's, or the first row's)"},
			&cli.StringFlag{Name: "split", Value: "none", Usage: "none: fit on every row; half: fit on half, evaluate on the rest"},
			&cli.StringFlag{Name: "out", Required: true, Usage: "profile `FILE` to write (YAML, the base profile with the fitted overheads)"},
			&cli.IntFlag{Name: "max-iter", Value: 25, Usage: "Levenberg-Marquardt iterations at most"},
		}, benchFlags...),
		Action: overheadsAction,
	})
}

func overheadsAction(ctx *cli.Context) error {
	opt, base, err := benchOptions(ctx)
	if err != nil {
		return err
	}
	rows, _, err := validation.ReadBenchmarkFile(ctx.String("benchmarks"))
	if err != nil {
		return err
	}
	if base == nil {
		name := ctx.String("gpu")
		if name == "" {
			name = rows[0].GPU
		}
		g, err := cost.LookupGPU(name)
		if err != nil {
			return fmt.Errorf("--gpu: %w", err)
		}
		if base, err = hwprofile.EmbeddedProfile(g.Key); err != nil {
			return fmt.Errorf("--gpu: %w; pass a base profile with --profile", err)
		}
	}
	fitRows, evalRows := rows, []validation.Row(nil)
	switch ctx.String("split") {
	case "none", "":
	case "half":
		fitRows, evalRows = validation.Split(rows, ctx.Uint64("seed"))
	default:
		return fmt.Errorf("--split: %q, expected none or half", ctx.String("split"))
	}
	w := ctx.App.Writer
	if w == nil {
		w = os.Stdout
	}
	fo := validation.FitOptions{Sim: opt, MaxIter: ctx.Int("max-iter"), Log: os.Stderr}
	o, rep, err := validation.FitOverheads(fitRows, base, fo)
	if err != nil {
		return err
	}
	if err := rep.WriteText(w); err != nil {
		return err
	}
	if len(evalRows) > 0 {
		eo := opt
		eo.Profiles = map[string]*cost.Profile{base.GPU().Key: base}
		eo.Overheads = &o
		ev, err := validation.Validate(evalRows, eo)
		if err != nil {
			return err
		}
		fmt.Fprintf(w, "\nheld-out half (%d rows, seed %d):\n\nTTFT accuracy\n", len(evalRows), ctx.Uint64("seed"))
		ev.TTFT.WriteText(w)
		fmt.Fprintf(w, "\nTPOT accuracy\n")
		ev.TPOT.WriteText(w)
	}
	out := *base
	out.Overhead = o
	if err := writeFileAtomic(ctx.String("out"), func(f io.Writer) error { return out.Write(f) }); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwrote %s\n", ctx.String("out"))
	return nil
}
