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
	"github.com/lodsim/lodsim/cmd/lodsim/internal/argv"
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
	args = argv.Reorder(app, args, "quiet", "q")
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
