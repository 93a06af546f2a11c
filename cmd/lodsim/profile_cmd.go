package main

import (
	"fmt"
	"os"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

func init() {
	register(&cli.Command{
		Name:  "profile",
		Usage: "inspect calibrated GPU profiles",
		Subcommands: []*cli.Command{{
			Name:      "show",
			Usage:     "print what a profile contains: GPU, sources, fit quality, sections",
			UsageText: "lodsim profile show FILE | lodsim profile show --embedded h100_sxm",
			Flags: []cli.Flag{
				&cli.StringFlag{Name: "embedded", Usage: "show the shipped profile of GPU `KEY` instead of a file"},
			},
			Action: profileShowAction,
		}},
	})
}

func profileShowAction(ctx *cli.Context) error {
	var p *cost.Profile
	var err error
	switch key := ctx.String("embedded"); {
	case key != "" && ctx.NArg() > 0:
		return fmt.Errorf("profile show: give a FILE or --embedded, not both")
	case key != "":
		p, err = hwprofile.EmbeddedProfile(key)
	case ctx.NArg() == 1:
		path := ctx.Args().First()
		f, ferr := os.Open(path)
		if ferr != nil {
			return fmt.Errorf("profile show: %w", ferr)
		}
		defer f.Close()
		p, err = cost.LoadProfile(f, path)
	default:
		return fmt.Errorf("profile show: found %d arguments, expected one profile FILE (or --embedded KEY; shipped: %v)", ctx.NArg(), hwprofile.EmbeddedKeys())
	}
	if err != nil {
		return err
	}
	w := ctx.App.Writer
	if w == nil {
		w = os.Stdout
	}
	return p.Describe(w)
}
