package main

import (
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/trace"
)

// durationValue is the one duration syntax of every flag, the same as the
// config's: a Go duration ("60s", "500ms", "1m30s") or a number of seconds.
type durationValue struct{ d time.Duration }

func (v *durationValue) Set(s string) (err error) { v.d, err = experiment.ParseDuration(s); return err }

func (v *durationValue) String() string {
	if v == nil || v.d == 0 {
		return ""
	}
	return v.d.String()
}

func durationFlag(name, usage string) cli.Flag {
	return &cli.GenericFlag{Name: name, Value: &durationValue{}, Usage: usage + " (e.g. 500ms, 60s, or seconds)"}
}

// positiveDuration is a duration flag's value, nil when not given; zero or
// negative is a usage error.
func positiveDuration(ctx *cli.Context, name string) (*time.Duration, error) {
	if !ctx.IsSet(name) {
		return nil, nil
	}
	d := ctx.Generic(name).(*durationValue).d
	if d <= 0 {
		return nil, usagef("--%s %v: expected a positive duration", name, d)
	}
	return &d, nil
}

// configFlags are shared by the commands that run simulations; --trace
// takes the same reader flags as the trace commands.
func configFlags() []cli.Flag {
	return append([]cli.Flag{
		&cli.StringFlag{Name: "config", Aliases: []string{"c"}, Usage: "config `FILE` (YAML), or scenario:NAME for an embedded one (lodsim scenarios)"},
		&cli.StringFlag{Name: "trace", Usage: "replay this trace `FILE` (or embedded:NAME) instead of the config's workload"},
		&cli.Uint64Flag{Name: "seed", Usage: "override simulation.seed"},
		&cli.Float64Flag{Name: "variability", Usage: "override simulation.variability: CV of per-rank operation times (high draws it, medium takes its expectation; 0 = off)"},
		&cli.StringFlag{Name: "topology", Usage: "override cluster.links.topology: nvlink or shared"},
		durationFlag("slo-ttft", "TTFT bound for goodput"),
		durationFlag("slo-tpot", "TPOT bound for goodput"),
		durationFlag("slo-e2e", "end-to-end bound for goodput"),
	}, traceInputFlags()...)
}

// overrides reads the override flags of configFlags.
func overrides(ctx *cli.Context) (experiment.Overrides, error) {
	o := experiment.Overrides{Trace: ctx.String("trace"), TraceOptions: traceOptions(ctx), Topology: ctx.String("topology"),
		Seed: optional(ctx, "seed", ctx.Uint64), Variability: optional(ctx, "variability", ctx.Float64)}
	if v := o.Variability; v != nil && !(*v >= 0 && *v <= 10) {
		return o, usagef("--variability %v: expected a coefficient of variation in [0, 10]", *v)
	}
	var err error
	for _, b := range []struct {
		name string
		dst  **time.Duration
	}{{"slo-ttft", &o.SLOTTFT}, {"slo-tpot", &o.SLOTPOT}, {"slo-e2e", &o.SLOE2E}} {
		if *b.dst, err = positiveDuration(ctx, b.name); err != nil {
			return o, err
		}
	}
	return o, nil
}

func traceInputFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "format", Usage: "input format: csv, parquet, arrow or jsonl (default: detect)"},
		&cli.StringFlag{Name: "columns", Usage: "column mapping, e.g. arrival=ts,prompt=in,output=out,model=m,unit=ms"},
		&cli.StringFlag{Name: "time-unit", Usage: "unit of a numeric arrival column: s, ms, us or ns"},
		&cli.BoolFlag{Name: "sort", Usage: "sort out-of-order arrivals (holds the trace in memory)"},
		&cli.BoolFlag{Name: "drop-failed", Usage: "drop requests with zero output tokens"},
		&cli.BoolFlag{Name: "keep-offset", Usage: "keep arrival times as found instead of starting at 0"},
	}
}

func traceOptions(c *cli.Context) trace.Options {
	return trace.Options{Format: c.String("format"), Columns: c.String("columns"), TimeUnit: c.String("time-unit"),
		Sort: c.Bool("sort"), DropFailed: c.Bool("drop-failed"), KeepOffset: c.Bool("keep-offset")}
}

// optional is a flag's value, nil when the flag was not given.
func optional[T any](ctx *cli.Context, name string, get func(string) T) *T {
	if !ctx.IsSet(name) {
		return nil
	}
	v := get(name)
	return &v
}

// noArgs rejects positional arguments for commands that take none.
func noArgs(ctx *cli.Context) error {
	if ctx.Args().Len() > 0 {
		return usagef("%s: unexpected argument %q (see lodsim %s --help)", ctx.Command.FullName(), ctx.Args().First(), ctx.Command.FullName())
	}
	return nil
}

// required returns the value of a required string flag.
func required(ctx *cli.Context, name string) (string, error) {
	v := ctx.String(name)
	if v == "" {
		return "", usagef("%s: --%s is required", ctx.Command.FullName(), name)
	}
	return v, nil
}

// repeated is a flag value that keeps each occurrence whole (urfave's
// slice flags would split KEY=V1,V2 at the commas).
type repeated []string

func (r *repeated) Set(v string) error { *r = append(*r, v); return nil }
func (r *repeated) String() string     { return strings.Join(*r, " ") }

// take returns a repeated flag's values and empties it: urfave/cli v2 keeps
// a GenericFlag's value across runs of the app.
func take(ctx *cli.Context, name string) []string {
	r := ctx.Generic(name).(*repeated)
	v := *r
	*r = nil
	return v
}
