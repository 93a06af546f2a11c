package main

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/plots"
)

// Figure file names.
const (
	fig1File        = "fig1_event_reduction.png"
	fig2File        = "fig2_speedup.png"
	fig3Prefix      = "fig3_accuracy_"
	fig4File        = "fig4_latency_cdf.png"
	fig5File        = "fig5_timeseries.png"
	fig6File        = "fig6_calibration.png"
	accuracyDefault = "Predicted vs measured"
)

func init() {
	register(&cli.Command{
		Name:  "plot",
		Usage: "redraw figures from saved results, without simulating",
		UsageText: `lodsim plot --in DIR [--out DIR]

DIR is one of:
  a compare directory (compare.json): figures 1-3, and 4-5 for each run directory in it
  a run directory (run.json): figures 4-5
  an accuracy directory (accuracy.json: {"title", "unit", "pairs": [{label, group, measured, predicted}]}): figure 6`,
		Flags: []cli.Flag{
			&cli.StringFlag{Name: "in", Usage: "`DIR` written by compare or replay", Required: true},
			&cli.StringFlag{Name: "out", Usage: "write figures into `DIR` (default: --in)"},
		},
		Action: plotAction,
	})
}

func plotAction(ctx *cli.Context) error {
	in := ctx.String("in")
	out := ctx.String("out")
	if out == "" {
		out = in
	}
	written, err := plotDir(in, out)
	if err != nil {
		return fmt.Errorf("plot: %w", err)
	}
	w := stdout(ctx)
	for _, p := range written {
		fmt.Fprintln(w, p)
	}
	return nil
}

func stdout(ctx *cli.Context) io.Writer {
	if ctx.App.Writer != nil {
		return ctx.App.Writer
	}
	return os.Stdout
}

func stderr(ctx *cli.Context) io.Writer {
	if ctx.App.ErrWriter != nil {
		return ctx.App.ErrWriter
	}
	return os.Stderr
}

// figure is one rendered image and the file it belongs in.
type figure struct {
	Name  string // file name
	Title string // caption in reports
	PNG   []byte
}

func render(name, title string, draw func(w io.Writer) error) (figure, error) {
	var buf bytes.Buffer
	if err := draw(&buf); err != nil {
		return figure{}, fmt.Errorf("%s: %w", name, err)
	}
	return figure{Name: name, Title: title, PNG: buf.Bytes()}, nil
}

// fileSafe keeps letters, digits, '.', '-' and '_' of s so a label can name
// a file.
func fileSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_' {
			return r
		}
		return '_'
	}, s)
}

// compareFigures renders figures 1-3 of a sweep: one accuracy figure per
// comparison, named by label (and by LoD when several are compared).
//
// A figure with nothing to show (no events recorded, no completed request)
// is left out rather than failing the command.
func compareFigures(sw *analysis.Sweep) ([]figure, error) {
	var figs []figure
	for _, spec := range []struct {
		name, title string
		draw        func(io.Writer, *analysis.Sweep) error
	}{
		{fig1File, "Figure 1: events per level of detail", plots.EventReduction},
		{fig2File, "Figure 2: simulation wall time and speed-up", plots.SpeedUp},
	} {
		f, err := render(spec.name, spec.title, func(w io.Writer) error { return spec.draw(w, sw) })
		if isNoData(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	lods := map[string]bool{}
	for _, c := range sw.Comparisons {
		lods[c.LoD] = true
	}
	if len(sw.Comparisons) > 1 && len(lods) == 1 {
		f, err := render(fig3Prefix+"sweep.png", "Figure 3: relative error across the sweep",
			func(w io.Writer) error { return plots.SweepAccuracy(w, sw) })
		if err != nil && !isNoData(err) {
			return nil, err
		}
		if err == nil {
			figs = append(figs, f)
		}
	}
	for i := range sw.Comparisons {
		c := &sw.Comparisons[i]
		name := c.Label
		if len(lods) > 1 {
			name += "_" + c.LoD
		}
		f, err := render(fig3Prefix+fileSafe(name)+".png", fmt.Sprintf("Figure 3: accuracy of %s vs %s, %s", c.LoD, c.RefLoD, c.Label),
			func(w io.Writer) error { return plots.Accuracy(w, c) })
		if isNoData(err) {
			continue
		}
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// runFigures renders figures 4 and 5 of a run; a run with no completed
// request or no samples simply has fewer figures.
func runFigures(run *analysis.Run) ([]figure, error) {
	var figs []figure
	for _, spec := range []struct {
		name, title string
		draw        func(io.Writer, *analysis.Run) error
	}{
		{fig4File, "Figure 4: latency distributions", plots.LatencyCDF},
		{fig5File, "Figure 5: cluster state over simulated time", plots.TimeSeries},
	} {
		f, err := render(spec.name, spec.title, func(w io.Writer) error { return spec.draw(w, run) })
		if err != nil {
			if isNoData(err) {
				continue
			}
			return nil, err
		}
		figs = append(figs, f)
	}
	return figs, nil
}

func isNoData(err error) bool { return err != nil && errors.Is(err, plots.ErrNoData) }

// writeFigures writes each figure into dir and returns their paths.
func writeFigures(dir string, figs []figure) ([]string, error) {
	var paths []string
	for _, f := range figs {
		p := filepath.Join(dir, f.Name)
		if err := writeFileAtomic(p, func(w io.Writer) error { _, err := w.Write(f.PNG); return err }); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// accuracyInput is the accuracy.json a calibration or validation writes for
// figure 6 and the report.
type accuracyInput struct {
	Title string          `json:"title"`
	Unit  string          `json:"unit"`
	Pairs []analysis.Pair `json:"pairs"`
}

func readAccuracy(dir string) (*accuracyInput, analysis.AccuracyTable, error) {
	var in accuracyInput
	if err := readJSON(filepath.Join(dir, accuracyJS), &in); err != nil {
		return nil, analysis.AccuracyTable{}, err
	}
	if in.Title == "" {
		in.Title = accuracyDefault
	}
	return &in, analysis.Accuracy(in.Pairs), nil
}

func readSweep(dir string) (*analysis.Sweep, error) {
	var sw analysis.Sweep
	if err := readJSON(filepath.Join(dir, compareJSON), &sw); err != nil {
		return nil, err
	}
	return &sw, nil
}

// plotDir redraws every figure the directory in has the data for, into out
// (run directories of a compare directory get theirs in out/NAME).
func plotDir(in, out string) ([]string, error) {
	switch {
	case isCompareDir(in):
		sw, err := readSweep(in)
		if err != nil {
			return nil, err
		}
		figs, err := compareFigures(sw)
		if err != nil {
			return nil, err
		}
		written, err := writeFigures(out, figs)
		if err != nil {
			return nil, err
		}
		for _, name := range sweepRunDirs(sw) {
			if !isRunDir(filepath.Join(in, name)) {
				continue
			}
			more, err := plotDir(filepath.Join(in, name), filepath.Join(out, name))
			if err != nil {
				return nil, err
			}
			written = append(written, more...)
		}
		return written, nil
	case isRunDir(in):
		run, err := readRunDir(in)
		if err != nil {
			return nil, err
		}
		figs, err := runFigures(run)
		if err != nil {
			return nil, err
		}
		return writeFigures(out, figs)
	case fileExists(filepath.Join(in, accuracyJS)):
		acc, tab, err := readAccuracy(in)
		if err != nil {
			return nil, err
		}
		f, err := render(fig6File, acc.Title, func(w io.Writer) error { return plots.Calibration(w, &tab, acc.Title, acc.Unit) })
		if err != nil {
			return nil, err
		}
		return writeFigures(out, []figure{f})
	}
	return nil, fmt.Errorf("%s: found no %s, %s or %s (expected a directory written by compare or replay, or an accuracy table)",
		in, compareJSON, runFile, accuracyJS)
}

// sweepRunDirs lists the run directory names of a sweep in order, each
// once.
func sweepRunDirs(sw *analysis.Sweep) []string {
	var names []string
	seen := map[string]bool{}
	add := func(label, lod string) {
		n := fileSafe((&analysis.Run{Label: label, LoD: lod}).Name())
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, c := range sw.Comparisons {
		add(c.Label, c.RefLoD)
		add(c.Label, c.LoD)
	}
	return names
}
