package main

import (
	"fmt"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/plots/report"
)

func plotCommand() *cli.Command {
	return &cli.Command{
		Name:      "plot",
		Usage:     "redraw figures from saved results, without simulating",
		UsageText: "lodsim plot --in DIR [--out DIR]\n\n" + report.PlotInputs,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Usage: "`DIR` written by compare or replay"},
			&cli.StringFlag{Name: "out", Usage: "write figures into `DIR` (default: --in)"},
		},
		Before: noArgs,
		Action: plotAction,
	}
}

func plotAction(ctx *cli.Context) error {
	in, err := required(ctx, "in")
	if err != nil {
		return err
	}
	written, err := report.Plot(in, ctx.String("out"))
	if err != nil {
		return inputErr(fmt.Errorf("plot: %w", err))
	}
	for _, p := range written {
		fmt.Fprintln(ctx.App.Writer, p)
	}
	return nil
}

func reportCommand() *cli.Command {
	return &cli.Command{
		Name:  "report",
		Usage: "write one self-contained HTML page (tables and figures) from saved results",
		UsageText: `lodsim report --in DIR [--out FILE]

DIR is a compare directory, a run directory or an accuracy directory (see
lodsim plot). The page embeds every figure and needs no network.`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Usage: "`DIR` written by compare or replay"},
			&cli.StringFlag{Name: "out", Usage: "output `FILE` (default DIR/report.html)"},
		},
		Before: noArgs,
		Action: reportAction,
	}
}

func reportAction(ctx *cli.Context) error {
	in, err := required(ctx, "in")
	if err != nil {
		return err
	}
	out, err := report.WriteFile(in, ctx.String("out"))
	if err != nil {
		return fmt.Errorf("report: %w", err) // exit 2 for rundir.ErrInput, 1 for a failed write
	}
	fmt.Fprintln(ctx.App.Writer, out)
	return nil
}
