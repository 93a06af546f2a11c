package main

import (
	"fmt"
	"io"
	"math"
	"strconv"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/trace"
)

func init() {
	register(&cli.Command{
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
					&cli.Float64Flag{Name: "duration", Usage: "seconds of arrivals"},
					&cli.StringFlag{Name: "prompt", Value: "sharegpt", Usage: "prompt lengths: fixed:N, normal:MEAN,STD, lognormal:MEAN,STD, sharegpt or arxiv"},
					&cli.StringFlag{Name: "output", Value: "sharegpt", Usage: "output lengths, as --prompt"},
					&cli.Uint64Flag{Name: "seed", Value: 1},
				},
				Action: traceSynth,
			},
		},
	})
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

func traceTransformFlags() []cli.Flag {
	return []cli.Flag{
		&cli.StringFlag{Name: "window", Usage: "keep arrivals in START:END seconds after the first request (either may be empty)"},
		&cli.Float64Flag{Name: "scale", Value: 1, Usage: "arrival rate factor: 2 replays twice as fast"},
		&cli.Int64Flag{Name: "head", Value: -1, Usage: "keep the first N requests"},
		&cli.Float64Flag{Name: "sample", Value: 1, Usage: "keep each request with this probability"},
		&cli.Uint64Flag{Name: "seed", Value: 1, Usage: "seed for --sample"},
		&cli.StringFlag{Name: "model", Usage: "keep only requests for this model"},
	}
}

func traceOptions(c *cli.Context) trace.Options {
	return trace.Options{
		Format:     c.String("format"),
		Columns:    c.String("columns"),
		TimeUnit:   c.String("time-unit"),
		Sort:       c.Bool("sort"),
		DropFailed: c.Bool("drop-failed"),
		KeepOffset: c.Bool("keep-offset"),
	}
}

func traceStats(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("trace stats: expected one FILE, got %d arguments", c.NArg())
	}
	opt := traceOptions(c)
	opt.SkipInvalid = !c.Bool("strict")
	r, err := trace.Open(c.Args().First(), opt)
	if err != nil {
		return err
	}
	defer r.Close()
	s, err := trace.ComputeStats(r)
	if err != nil {
		return err
	}
	fmt.Fprint(c.App.Writer, s.String())
	return nil
}

func traceConvert(c *cli.Context) error {
	if c.NArg() != 2 {
		return fmt.Errorf("trace convert: expected IN and OUT, got %d arguments", c.NArg())
	}
	in, out := c.Args().Get(0), c.Args().Get(1)
	format, err := trace.FormatForPath(out)
	if err != nil {
		return err
	}
	r, err := trace.Open(in, traceOptions(c))
	if err != nil {
		return err
	}
	defer r.Close()
	if r, err = applyTransforms(c, r); err != nil {
		return err
	}
	a, err := createAtomic(out)
	if err != nil {
		return err
	}
	n, err := trace.Write(a, r, format)
	if err != nil {
		a.Abort()
		return fmt.Errorf("trace convert %s: %w", in, err)
	}
	if err := a.Commit(); err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %d requests to %s\n", n, out)
	return nil
}

// applyTransforms wraps r in the transforms the flags ask for: model, then
// window (and a shift back to 0), then scale, sample and head.
func applyTransforms(c *cli.Context, r trace.Reader) (trace.Reader, error) {
	if m := c.String("model"); m != "" {
		r = trace.FilterModel(r, m)
	}
	if w := c.String("window"); w != "" {
		start, end, err := parseWindow(w)
		if err != nil {
			return nil, err
		}
		r = trace.Window(r, start, end)
		if !c.Bool("keep-offset") {
			r = trace.ShiftToZero(r)
		}
	}
	if f := c.Float64("scale"); f != 1 {
		r = trace.Scale(r, f)
	}
	if f := c.Float64("sample"); f != 1 {
		r = trace.Sample(r, f, c.Uint64("seed"))
	}
	if n := c.Int64("head"); n >= 0 {
		r = trace.Head(r, n)
	}
	return r, nil
}

// parseWindow reads START:END in seconds; an empty side is unbounded.
func parseWindow(s string) (int64, int64, error) {
	a, b, ok := strings.Cut(s, ":")
	if !ok {
		return 0, 0, fmt.Errorf("--window %q: expected START:END in seconds", s)
	}
	start, end := int64(0), int64(math.MaxInt64)
	for _, p := range []struct {
		text string
		dst  *int64
	}{{a, &start}, {b, &end}} {
		if strings.TrimSpace(p.text) == "" {
			continue
		}
		v, err := strconv.ParseFloat(strings.TrimSpace(p.text), 64)
		if err != nil || math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > 9e9 {
			return 0, 0, fmt.Errorf("--window %q: %q is not a number of seconds >= 0", s, p.text)
		}
		*p.dst = int64(math.Round(v * 1e9))
	}
	if end <= start {
		return 0, 0, fmt.Errorf("--window %q: expected START < END", s)
	}
	return start, end, nil
}

func traceSynth(c *cli.Context) error {
	if c.NArg() != 1 {
		return fmt.Errorf("trace synth: expected OUT, got %d arguments", c.NArg())
	}
	out := c.Args().First()
	format, err := trace.FormatForPath(out)
	if err != nil {
		return err
	}
	prompt, err := parseLengthSpec(c.String("prompt"), true)
	if err != nil {
		return fmt.Errorf("--prompt: %w", err)
	}
	output, err := parseLengthSpec(c.String("output"), false)
	if err != nil {
		return fmt.Errorf("--output: %w", err)
	}
	r, err := trace.NewSynthetic(trace.Synthetic{
		Arrival: c.String("arrival"), Rate: c.Float64("rate"), CV: c.Float64("cv"),
		Prompt: prompt, Output: output, Count: c.Int64("count"),
		Duration: int64(math.Round(c.Float64("duration") * 1e9)), Seed: c.Uint64("seed"),
	})
	if err != nil {
		return err
	}
	var n int64
	err = writeFileAtomic(out, func(w io.Writer) error {
		var err error
		n, err = trace.Write(w, r, format)
		return err
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(c.App.Writer, "wrote %d requests to %s\n", n, out)
	return nil
}

// parseLengthSpec reads fixed:N, normal:MEAN,STD, lognormal:MEAN,STD or the
// name of an embedded length distribution (its prompt or output column).
func parseLengthSpec(s string, prompt bool) (trace.LengthDist, error) {
	kind, args, _ := strings.Cut(s, ":")
	nums := func(want int) ([]float64, error) {
		parts := strings.Split(args, ",")
		if args == "" || len(parts) != want {
			return nil, fmt.Errorf("%q: expected %s:%s", s, kind, map[int]string{1: "N", 2: "MEAN,STD"}[want])
		}
		out := make([]float64, want)
		for i, p := range parts {
			v, err := strconv.ParseFloat(strings.TrimSpace(p), 64)
			if err != nil {
				return nil, fmt.Errorf("%q: %q is not a number", s, p)
			}
			out[i] = v
		}
		return out, nil
	}
	switch kind {
	case "fixed":
		v, err := nums(1)
		if err != nil {
			return trace.LengthDist{}, err
		}
		return trace.LengthDist{Kind: "fixed", Mean: v[0]}, nil
	case "normal", "lognormal":
		v, err := nums(2)
		if err != nil {
			return trace.LengthDist{}, err
		}
		return trace.LengthDist{Kind: kind, Mean: v[0], Std: v[1]}, nil
	}
	p, o, err := trace.EmbeddedLengths(s)
	if err != nil {
		return trace.LengthDist{}, fmt.Errorf("%q: expected fixed:N, normal:MEAN,STD, lognormal:MEAN,STD or one of %s", s, strings.Join(trace.EmbeddedLengthNames(), ", "))
	}
	if prompt {
		return trace.LengthDist{Kind: "empirical", Values: p}, nil
	}
	return trace.LengthDist{Kind: "empirical", Values: o}, nil
}
