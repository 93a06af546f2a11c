package main

import (
	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

func profileCommand() *cli.Command {
	return &cli.Command{
		Name:  "profile",
		Usage: "inspect calibrated GPU profiles",
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print what a profile contains: GPU, sources, fit quality, sections",
			UsageText: "lodsim profile show FILE | lodsim profile show --embedded h100_sxm [--engine sglang]",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "embedded", Usage: "show the shipped profile of `GPU` (name or key: H100-SXM or h100_sxm) instead of a file"},
				&cli.StringFlag{Name: "engine", Usage: "with --embedded, the profile calibrated from `ENGINE`'s kernels: vllm, sglang or trtllm (default: the GPU's default engine)"},
			},
			Action: profileShowAction,
		}},
	}
}

func profileShowAction(ctx *cli.Context) error {
	var p *cost.Profile
	var err error
	switch key := ctx.String("embedded"); {
	case key != "" && ctx.NArg() > 0:
		return usagef("profile show: give a FILE or --embedded, not both")
	case key == "" && ctx.IsSet("engine"):
		return usagef("profile show: --engine picks a shipped profile; give it with --embedded GPU")
	case key != "":
		if p, err = hwprofile.ShippedProfile(key, ctx.String("engine")); err != nil {
			return usagef("--embedded: %w", err)
		}
	case ctx.NArg() == 1:
		if p, err = experiment.LoadProfile(ctx.Args().First()); err != nil {
			return usagef("profile show: %w", err)
		}
	default:
		return usagef("profile show: found %d arguments, expected one profile FILE (or --embedded GPU; shipped: %v)", ctx.NArg(), hwprofile.EmbeddedKeys())
	}
	return p.Describe(ctx.App.Writer)
}
