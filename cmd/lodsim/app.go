package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"strings"
	"sync/atomic"
	"syscall"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/analysis/rundir"
)

// Exit codes (README "Exit codes").
const (
	exitOK      = 0
	exitFailure = 1 // the command failed while running
	exitUsage   = 2 // bad command line or bad input, found before any work
)

// usageError marks an error in the command line or the inputs it names.
type usageError struct{ err error }

func (e usageError) Error() string { return e.err.Error() }
func (e usageError) Unwrap() error { return e.err }

func usagef(format string, args ...any) error { return usageError{fmt.Errorf(format, args...)} }

// inputErr marks err (if any) as an input error.
func inputErr(err error) error {
	if err == nil {
		return nil
	}
	return usageError{err}
}

// newApp lists every command explicitly, in the order help shows them.
func newApp() *cli.App {
	app := &cli.App{
		Name:                 "lodsim",
		Usage:                "replay LLM-serving traces through a simulated cluster at high and medium level of detail",
		Version:              experiment.Version().String(),
		EnableBashCompletion: true,
		Flags:                []cli.Flag{&cli.BoolFlag{Name: "quiet", Aliases: []string{"q"}, Usage: "no progress on stderr"}},
		Commands: []*cli.Command{
			replayCommand(), compareCommand(), scenariosCommand(),
			traceCommand(), calibrateCommand(), overheadsCommand(), validateCommand(),
			sweepCommand(), profileCommand(), plotCommand(), reportCommand(), completionCommand(),
		},
		// help TOPIC and an unknown subcommand land here: run reports them.
		CommandNotFound: func(ctx *cli.Context, name string) { notFound = name },
	}
	cli.VersionPrinter = func(ctx *cli.Context) { fmt.Fprint(ctx.App.Writer, experiment.Version().Long()) }
	var walk func(cmds []*cli.Command)
	walk = func(cmds []*cli.Command) {
		for _, c := range cmds {
			c.OnUsageError = onUsageError
			walk(c.Subcommands)
		}
	}
	app.OnUsageError = onUsageError
	walk(app.Commands)
	return app
}

func onUsageError(ctx *cli.Context, err error, _ bool) error {
	return usagef("%v (see lodsim %s --help)", err, ctx.Command.FullName())
}

// notFound is the unknown command name app.Run met, if any.
var notFound string

// run runs the command line args and returns the process's exit code.
func run(args []string, stdout, stderr io.Writer) int {
	app := newApp()
	app.Writer, app.ErrWriter = stdout, stderr
	args = reorderArgs(app, args)
	if len(args) > 1 && !strings.HasPrefix(args[1], "-") && app.Command(args[1]) == nil && args[1] != "help" && args[1] != "h" {
		fmt.Fprintf(stderr, "lodsim: unknown command %q; lodsim --help lists the commands\n", args[1])
		return exitUsage
	}
	notFound = ""
	err := app.Run(args)
	if err == nil && notFound != "" {
		err = usagef("unknown command %q; lodsim --help lists the commands", notFound)
	}
	if s := signalled.Load(); s != 0 {
		return interrupted(syscall.Signal(s), stderr)
	}
	if err == nil {
		return exitOK
	}
	fmt.Fprintln(stderr, "lodsim:", err)
	if errors.As(err, new(usageError)) || errors.Is(err, rundir.ErrRefused) || errors.Is(err, rundir.ErrInput) {
		return exitUsage
	}
	return exitFailure
}

// reorderArgs moves the flags a command's user typed after its positional
// arguments in front of them (urfave/cli stops at the first positional
// argument), so `lodsim trace stats FILE --strict` means what it says. A
// "--" ends the flags as usual.
func reorderArgs(app *cli.App, args []string) []string {
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
		if name == "quiet" || name == "q" {
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

// stopsGracefully is set by a command that stops by itself on SIGINT and
// SIGTERM (sweep checkpoints what completed); run then exits 128 + signal.
var stopsGracefully, signalled atomic.Int32

// stopOnSignal makes SIGINT and SIGTERM remove the temporaries of the
// outputs in progress, say what was kept, and exit with 128 + the signal.
func stopOnSignal(stderr io.Writer) {
	sigs := make(chan os.Signal, 1)
	signal.Notify(sigs, syscall.SIGINT, syscall.SIGTERM)
	go func() {
		s := <-sigs
		if signalled.Store(int32(s.(syscall.Signal))); stopsGracefully.Load() == 0 {
			os.Exit(interrupted(s.(syscall.Signal), stderr))
		}
	}()
}

func interrupted(s syscall.Signal, stderr io.Writer) int {
	fmt.Fprintf(stderr, "\nlodsim: %s\n", rundir.Interrupted(s))
	return 128 + int(s)
}
