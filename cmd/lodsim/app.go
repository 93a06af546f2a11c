package main

import (
	"sort"

	"github.com/urfave/cli/v2"
)

// commands is filled by each command file's init, so that adding a command
// touches only its own file.
var commands []*cli.Command

func register(c *cli.Command) { commands = append(commands, c) }

func newApp() *cli.App {
	cmds := append([]*cli.Command(nil), commands...)
	sort.Slice(cmds, func(i, j int) bool { return cmds[i].Name < cmds[j].Name })
	return &cli.App{
		Name:     "lodsim",
		Usage:    "replay LLM-serving traces through a simulated cluster at high and medium level of detail",
		Commands: cmds,
	}
}
