package main

import (
	"embed"
	"fmt"
	"text/tabwriter"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
)

func scenariosCommand() *cli.Command {
	return &cli.Command{
		Name:   "scenarios",
		Usage:  "list the embedded scenarios (run one with -c scenario:NAME)",
		Before: noArgs,
		Action: func(ctx *cli.Context) error {
			list, err := experiment.Scenarios()
			if err != nil {
				return err
			}
			tw := tabwriter.NewWriter(ctx.App.Writer, 0, 0, 2, ' ', 0)
			for _, s := range list {
				fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
			}
			return tw.Flush()
		},
	}
}

// The bash and zsh hooks ask the binary for candidates (urfave/cli's
// --generate-bash-completion); fish gets a script generated from the
// command tree.
//
//go:embed completion
var completionScripts embed.FS

func completionCommand() *cli.Command {
	return &cli.Command{
		Name:      "completion",
		Usage:     "print a shell completion script: bash, zsh or fish",
		UsageText: "source <(lodsim completion bash)   # or add it to ~/.bashrc; zsh and fish alike",
		Action: func(ctx *cli.Context) error {
			shell := ctx.Args().First()
			if ctx.NArg() != 1 {
				return usagef("completion: expected one shell: bash, zsh or fish")
			}
			if shell == "fish" {
				s, err := ctx.App.ToFishCompletion()
				if err != nil {
					return err
				}
				_, err = fmt.Fprint(ctx.App.Writer, s)
				return err
			}
			s, err := completionScripts.ReadFile("completion/lodsim." + shell)
			if err != nil {
				return usagef("completion: unknown shell %q, expected bash, zsh or fish", shell)
			}
			_, err = ctx.App.Writer.Write(s)
			return err
		},
	}
}
