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
			UsageText: "lodsim profile show FILE | lodsim profile show --embedded h100_sxm",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "embedded", Usage: "show the shipped profile of `GPU` (name or key: H100-SXM or h100_sxm) instead of a file"},
			},
			Action: profileShowAction,
		}},
	}
}

// loadProfile reads a profile file; errors name the flag it came from.
func loadProfile(flag, path string) (*cost.Profile, error) {
	p, err := experiment.LoadProfile(path)
	if err != nil {
		return nil, usagef("%s: %w", flag, err)
	}
	return p, nil
}

// embeddedProfile is the shipped profile of a GPU given by name or key.
func embeddedProfile(flag, name string) (*cost.Profile, error) {
	p, err := experiment.ShippedProfile(name)
	if err != nil {
		return nil, usagef("%s: %w", flag, err)
	}
	return p, nil
}

func profileShowAction(ctx *cli.Context) error {
	var p *cost.Profile
	var err error
	switch key := ctx.String("embedded"); {
	case key != "" && ctx.NArg() > 0:
		return usagef("profile show: give a FILE or --embedded, not both")
	case key != "":
		p, err = embeddedProfile("--embedded", key)
	case ctx.NArg() == 1:
		p, err = loadProfile("profile show", ctx.Args().First())
	default:
		return usagef("profile show: found %d arguments, expected one profile FILE (or --embedded GPU; shipped: %v)", ctx.NArg(), hwprofile.EmbeddedKeys())
	}
	if err != nil {
		return err
	}
	return p.Describe(ctx.App.Writer)
}
