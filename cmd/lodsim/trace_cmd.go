package main

import (
	"fmt"
	"io"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/trace"
)

func traceCommand() *cli.Command {
	return &cli.Command{
		Name:  "trace",
		Usage: "inspect, convert and generate request traces",
		Subcommands: []*cli.Command{
			{
				Name:      "stats",
				Usage:     "summarise a trace: rows, span, arrival rates, token percentiles, bad rows",
				ArgsUsage: "FILE|embedded:NAME",
				Flags:     append(traceInputFlags(), &cli.BoolFlag{Name: "strict", Usage: "stop at the first bad row instead of counting it"}),
				Action:    traceStats,
			},
			{
				Name:      "convert",
				Usage:     "convert a trace; the output format follows OUT's extension (.parquet, .arrow/.feather, .arrows, .csv, .jsonl)",
				ArgsUsage: "IN|embedded:NAME OUT",
				Flags:     append(traceInputFlags(), traceTransformFlags()...),
				Action:    traceConvert,
			},
			{
				Name:      "synth",
				Usage:     "generate an open-loop synthetic trace",
				ArgsUsage: "OUT",
				Flags: []cli.Flag{
					&cli.StringFlag{Name: "arrival", Value: "poisson", Usage: "poisson or gamma"},
					&cli.Float64Flag{Name: "rate", Value: 1, Usage: "requests per second"},
					&cli.Float64Flag{Name: "cv", Value: 1, Usage: "gamma: coefficient of variation of the gaps (>1 is bursty)"},
					&cli.Int64Flag{Name: "count", Usage: "number of requests"},
					durationFlag("duration", "span of arrivals"),
					&cli.StringFlag{Name: "prompt", Value: "sharegpt", Usage: "prompt lengths: fixed:N, normal:MEAN,STD, lognormal:MEAN,STD, sharegpt or arxiv"},
					&cli.StringFlag{Name: "output", Value: "sharegpt", Usage: "output lengths, as --prompt"},
					&cli.Uint64Flag{Name: "seed", Value: 1},
				},
				Action: traceSynth,
			},
		},
	}
}

func traceTransformFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "window", Usage: "keep arrivals in START:END seconds after the first request (either may be empty)"},
		&cli.Float64Flag{Name: "scale", Value: 1, Usage: "arrival rate factor: 2 replays twice as fast"},
		&cli.Int64Flag{Name: "head", Usage: "keep the first N requests"},
		&cli.Float64Flag{Name: "sample", Value: 1, Usage: "keep each request with this probability"},
		&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed for --sample"},
		&cli.StringFlag{Name: "model", Usage: "keep only requests for this model"},
	}
}

func traceStats(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("trace stats: expected one FILE, got %d arguments", c.NArg())
	}
	opt := traceOptions(c)
	opt.SkipInvalid = !c.Bool("strict")
	r, err := trace.Open(c.Args().First(), opt)
	if err != nil {
		return inputErr(err)
	}
	defer r.Close()
	p := newProgress(c, "trace stats", "requests", 0)
	s, err := trace.ComputeStats(experiment.Counted(r, p.count()))
	p.done()
	if err != nil {
		return err
	}
	fmt.Fprint(c.App.Writer, s.String())
	return nil
}

func traceConvert(c *cli.Context) error {
	if c.NArg() != 2 {
		return usagef("trace convert: expected IN and OUT, got %d arguments", c.NArg())
	}
	in, out := c.Args().Get(0), c.Args().Get(1)
	format, err := trace.FormatForPath(out)
	if err != nil {
		return usageError{err}
	}
	r, err := trace.Open(in, traceOptions(c))
	if err != nil {
		return inputErr(err)
	}
	defer r.Close()
	tf := experiment.Transforms{Model: c.String("model"), Window: c.String("window"), KeepOffset: c.Bool("keep-offset"), Seed: c.Uint64("seed"),
		Head: optional(c, "head", c.Int64), Scale: optional(c, "scale", c.Float64), Sample: optional(c, "sample", c.Float64)}
	if r, err = tf.Apply(r); err != nil {
		return usageError{err}
	}
	if err := writeTrace(c, r, out, format, 0); err != nil {
		return fmt.Errorf("trace convert %s: %w", in, err)
	}
	return nil
}

func traceSynth(c *cli.Context) error {
	if c.NArg() != 1 {
		return usagef("trace synth: expected OUT, got %d arguments", c.NArg())
	}
	out := c.Args().First()
	format, err := trace.FormatForPath(out)
	if err != nil {
		return usageError{err}
	}
	prompt, err := experiment.ParseLengthDist(c.String("prompt"), true)
	if err != nil {
		return usagef("--prompt: %w", err)
	}
	output, err := experiment.ParseLengthDist(c.String("output"), false)
	if err != nil {
		return usagef("--output: %w", err)
	}
	count := c.Int64("count")
	dur, err := positiveDuration(c, "duration")
	if err != nil {
		return err
	}
	switch {
	case count < 0:
		return usagef("--count %d: expected a positive number of requests", count)
	case count == 0 && dur == nil:
		return usagef("trace synth: give --count N or --duration D (or both)")
	case !(c.Float64("rate") > 0):
		return usagef("--rate %v: expected a positive number of requests per second", c.Float64("rate"))
	}
	syn := trace.Synthetic{Arrival: c.String("arrival"), Rate: c.Float64("rate"), CV: c.Float64("cv"),
		Prompt: prompt, Output: output, Count: count, Seed: c.Uint64("seed")}
	if dur != nil {
		syn.Duration = int64(*dur)
	}
	r, err := trace.NewSynthetic(syn)
	if err != nil {
		return usageError{err}
	}
	return writeTrace(c, r, out, format, count)
}

// writeTrace writes r to out in format, atomically (through special
// files), with progress, and says how many requests it wrote.
func writeTrace(c *cli.Context, r trace.Reader, out string, format string, total int64) error {
	var n int64
	p := newProgress(c, c.Command.FullName(), "requests", total)
	err := rundir.WriteFile(out, func(w io.Writer) error {
		var err error
		n, err = trace.Write(w, experiment.Counted(r, p.count()), format)
		return err
	})
	p.done()
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %d requests to %s\n", n, out)
	return nil
}
