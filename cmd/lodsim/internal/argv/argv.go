// Package argv prepares the command line for urfave/cli: flags typed after
// a command's positional arguments are moved in front of them.
package argv

import (
	"slices"
	"strings"

	"github.com/urfave/cli/v2"
)

// Reorder moves the flags a command's user typed after its positional
// arguments in front of them (urfave/cli stops at the first positional
// argument), so `lodsim trace stats FILE --strict` means what it says. A
// "--" ends the flags as usual. globalBools are the
// app's own boolean flags, which may also follow the command.
func Reorder(app *cli.App, args []string, globalBools ...string) []string {
	i := 1
	for i < len(args) && strings.HasPrefix(args[i], "-") {
		i++ // global flags (all boolean)
	}
	var cmd *cli.Command
	for cmds := app.Commands; i < len(args); i++ {
		var next *cli.Command
		for _, c := range cmds {
			if c.HasName(args[i]) {
				next = c
			}
		}
		if next == nil {
			break
		}
		cmd, cmds = next, next.Subcommands
	}
	if cmd == nil || cmd.SkipFlagParsing {
		return args
	}
	takesValue := map[string]bool{}
	for _, f := range cmd.Flags {
		_, isBool := f.(*cli.BoolFlag)
		for _, n := range f.Names() {
			takesValue[n] = !isBool
		}
	}
	var global, flags, pos []string
	rest := args[i:]
	for k := 0; k < len(rest); k++ {
		a := rest[k]
		if a == "--" {
			pos = append(pos, rest[k:]...)
			break
		}
		name := strings.TrimLeft(a, "-")
		if !strings.HasPrefix(a, "-") || a == "-" || name == "" {
			pos = append(pos, a)
			continue
		}
		if slices.Contains(globalBools, name) {
			global = append(global, a) // the app's flag, typed after the command
			continue
		}
		flags = append(flags, a)
		if n, _, hasValue := strings.Cut(name, "="); !hasValue && takesValue[n] && k+1 < len(rest) {
			k++
			flags = append(flags, rest[k])
		}
	}
	out := append(append([]string{args[0]}, global...), args[1:i]...)
	return append(append(out, flags...), pos...)
}
