package report

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/analysis/validation"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/plots"
)

// Figure file names.
const (
	Fig1File        = "fig1_event_reduction.png"
	Fig2File        = "fig2_speedup.png"
	Fig3Prefix      = "fig3_accuracy_"
	Fig4File        = "fig4_latency_cdf.png"
	Fig5File        = "fig5_timeseries.png"
	Fig6File        = "fig6_calibration.png"
	LayoutsFile     = "layout_goodput.png"
	LayoutsTable    = "layout_goodput.md"
	accuracyDefault = "Predicted vs measured"
)

// Figure is one rendered image and the file it belongs in.
type Figure struct {
	Name  string // file name
	Title string // caption in reports
	PNG   []byte
}

// Extras turns figures into files of a run or compare directory.
func Extras(figs []Figure) []rundir.Extra {
	out := make([]rundir.Extra, len(figs))
	for i, f := range figs {
		out[i] = rundir.Extra{Name: f.Name, Data: f.PNG}
	}
	return out
}

func render(name, title string, draw func(w io.Writer) error) (Figure, error) {
	var buf bytes.Buffer
	if err := draw(&buf); err != nil {
		return Figure{}, fmt.Errorf("%s: %w", name, err)
	}
	return Figure{Name: name, Title: title, PNG: buf.Bytes()}, nil
}

// addFigure renders a figure onto figs, leaving it out when it has
// nothing to show (plots.ErrNoData); any other error is returned.
func addFigure(figs *[]Figure, name, title string, draw func(w io.Writer) error) error {
	f, err := render(name, title, draw)
	if errors.Is(err, plots.ErrNoData) {
		return nil
	}
	if err != nil {
		return err
	}
	*figs = append(*figs, f)
	return nil
}

// CompareFigures renders figures 1-3 of a sweep: one accuracy figure per
// comparison, named by label (and by LoD when several are compared, with
// then one per label overlaying every level: overlayFigures), and
// the sweep-wide accuracy figure when one LoD is compared over several
// configurations. A figure with nothing to show is left out.
func CompareFigures(sw *analysis.Sweep) ([]Figure, error) {
	figs, err := renderAll(sw, []spec[*analysis.Sweep]{
		{Fig1File, "Figure 1: events per level of detail", plots.EventReduction},
		{Fig2File, "Figure 2: simulation wall time and speed-up", plots.SpeedUp},
	})
	if err != nil {
		return nil, err
	}
	lods := map[string]bool{}
	for _, c := range sw.Comparisons {
		lods[c.LoD] = true
	}
	if len(sw.Comparisons) > 1 && len(lods) == 1 {
		err := addFigure(&figs, Fig3Prefix+"sweep.png", "Figure 3: relative error across the sweep",
			func(w io.Writer) error { return plots.SweepAccuracy(w, sw) })
		if err != nil {
			return nil, err
		}
	}
	if len(lods) > 1 {
		over, err := overlayFigures(sw)
		if err != nil {
			return nil, err
		}
		figs = append(figs, over...)
	}
	for i := range sw.Comparisons {
		c := &sw.Comparisons[i]
		name := c.Label
		if len(lods) > 1 {
			name += "_" + c.LoD
		}
		err := addFigure(&figs, Fig3Prefix+rundir.FileSafe(name)+".png", fmt.Sprintf("Figure 3: accuracy of %s vs %s, %s", c.LoD, c.RefLoD, c.Label),
			func(w io.Writer) error { return plots.Accuracy(w, c) })
		if err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// overlayFigures renders, for each configuration compared at several
// levels of detail, figure 3 with every level overlaid
// (fig3_accuracy_LABEL.png), in the order the configurations come.
func overlayFigures(sw *analysis.Sweep) ([]Figure, error) {
	var labels []string
	byLabel := map[string][]*analysis.Comparison{}
	for i := range sw.Comparisons {
		c := &sw.Comparisons[i]
		if byLabel[c.Label] == nil {
			labels = append(labels, c.Label)
		}
		byLabel[c.Label] = append(byLabel[c.Label], c)
	}
	var figs []Figure
	for _, l := range labels {
		cs := byLabel[l]
		if len(cs) < 2 {
			continue
		}
		err := addFigure(&figs, Fig3Prefix+rundir.FileSafe(l)+".png", fmt.Sprintf("Figure 3: accuracy of every level vs %s, %s", cs[0].RefLoD, l),
			func(w io.Writer) error { return plots.AccuracyOverlay(w, cs) })
		if err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// RunFigures renders figures 4 and 5 of a run; a run with no completed
// request or no samples simply has fewer figures.
func RunFigures(run *analysis.Run) ([]Figure, error) {
	return renderAll(run, []spec[*analysis.Run]{
		{Fig4File, "Figure 4: latency distributions", plots.LatencyCDF},
		{Fig5File, "Figure 5: cluster state over simulated time", plots.TimeSeries},
	})
}

// spec is one figure drawn from data of type T.
type spec[T any] struct {
	name, title string
	draw        func(io.Writer, T) error
}

// renderAll draws each spec from x, leaving out figures with no data.
func renderAll[T any](x T, specs []spec[T]) ([]Figure, error) {
	var figs []Figure
	for _, sp := range specs {
		if err := addFigure(&figs, sp.name, sp.title, func(w io.Writer) error { return sp.draw(w, x) }); err != nil {
			return nil, err
		}
	}
	return figs, nil
}

// AccuracyFigure renders figure 6 of an accuracy table.
func AccuracyFigure(acc *rundir.Accuracy) (Figure, analysis.AccuracyTable, error) {
	title := acc.Title
	if title == "" {
		title = accuracyDefault
	}
	tab := analysis.Accuracy(acc.Pairs)
	f, err := render(Fig6File, title, func(w io.Writer) error { return plots.Calibration(w, &tab, title, acc.Unit) })
	return f, tab, err
}

// notResults is the error for a directory of none of the known kinds.
func notResults(dir string) error {
	return fmt.Errorf("%s: found no %s, %s, %s or %s (expected a directory written by compare or replay, an accuracy table or a layout comparison)",
		dir, rundir.CompareJSON, rundir.RunFile, rundir.AccuracyJSON, rundir.LayoutsJSON)
}

// PlotInputs describes, for help texts, the directories Plot reads and the
// figures it draws from each.
const PlotInputs = `DIR is one of:
  a compare directory (compare.json): figures 1-3, and 4-5 for each run directory in it
  a run directory (run.json): figures 4-5
  an accuracy directory (accuracy.json: {"title", "unit", "pairs": [{label, group, measured, predicted}]}): figure 6
  a layout comparison directory (layouts.json: {"title", "layouts": [{label, dir}]}, each dir a sweep over
    rate_scale with its sweep.csv): layout_goodput.png (goodput, TTFT and TPOT p99 per layout) and layout_goodput.md`

// Plot redraws every figure the directory in has the data for into out
// (in when out is ""; run directories of a compare directory get theirs in
// out/NAME) and returns the paths written.
func Plot(in, out string) ([]string, error) {
	if out == "" {
		out = in
	}
	if err := rundir.CheckDir(out); err != nil {
		return nil, err
	}
	switch {
	case rundir.IsCompare(in):
		sw, err := rundir.ReadIndex(in)
		if err != nil {
			return nil, err
		}
		figs, err := CompareFigures(sw)
		if err != nil {
			return nil, err
		}
		written, err := writeFigures(out, figs)
		if err != nil {
			return nil, err
		}
		err = rundir.ReadRuns(in, sw, func(name string, run *analysis.Run) error {
			figs, err := RunFigures(run)
			if err != nil {
				return err
			}
			more, err := writeFigures(filepath.Join(out, name), figs)
			written = append(written, more...)
			return err
		})
		return written, err
	case rundir.IsRun(in):
		run, err := rundir.Read(in)
		if err != nil {
			return nil, err
		}
		figs, err := RunFigures(run)
		if err != nil {
			return nil, err
		}
		return writeFigures(out, figs)
	case rundir.IsLayouts(in):
		return plotLayouts(in, out)
	case rundir.IsAccuracy(in):
		acc, err := rundir.ReadAccuracy(in)
		if err != nil {
			return nil, err
		}
		f, _, err := AccuracyFigure(acc)
		if err != nil {
			return nil, err
		}
		return writeFigures(out, []Figure{f})
	}
	if _, err := os.Stat(in); err != nil {
		return nil, err
	}
	return nil, notResults(in)
}

// plotLayouts draws a layout comparison directory's figure and writes
// its table.
func plotLayouts(in, out string) ([]string, error) {
	c, err := rundir.ReadLayouts(in)
	if err != nil {
		return nil, err
	}
	f, err := render(LayoutsFile, c.Title, func(w io.Writer) error { return plots.LayoutGoodput(w, c) })
	if err != nil {
		return nil, err
	}
	written, err := writeFigures(out, []Figure{f})
	if err != nil {
		return nil, err
	}
	p := filepath.Join(out, LayoutsTable)
	if err := rundir.WriteFile(p, c.WriteMarkdown); err != nil {
		return nil, err
	}
	return append(written, p), nil
}

// writeFigures writes each figure into dir and returns their paths.
func writeFigures(dir string, figs []Figure) ([]string, error) {
	var paths []string
	for _, f := range figs {
		p := filepath.Join(dir, f.Name)
		if err := rundir.WriteFile(p, func(w io.Writer) error { _, err := w.Write(f.PNG); return err }); err != nil {
			return nil, err
		}
		paths = append(paths, p)
	}
	return paths, nil
}

// FitFigures renders one held-out predicted-vs-measured figure (figure 6)
// per fitted operation of a calibration, in microseconds, named
// STEM.OP.png.
func FitFigures(gpu string, ops []hwprofile.OpFit, stem string) ([]Figure, error) {
	var figs []Figure
	for _, op := range ops {
		if len(op.Points) == 0 {
			continue
		}
		pairs := make([]analysis.Pair, len(op.Points))
		for i, fp := range op.Points {
			pairs[i] = analysis.Pair{Group: "held-out " + op.Op, Measured: fp.Measured / 1e3, Predicted: fp.Predicted / 1e3}
		}
		t := analysis.Accuracy(pairs)
		title := fmt.Sprintf("%s on %s: held-out predicted vs measured", op.Op, gpu)
		f, err := render(stem+"."+op.Op+".png", title, func(w io.Writer) error { return plots.Calibration(w, &t, title, "us") })
		if err != nil {
			return nil, err
		}
		figs = append(figs, f)
	}
	return figs, nil
}

// WriteFitFigures writes FitFigures for the profile written to profile:
// into dir, or beside the profile when dir is "", named after it
// (profile.yaml gives profile.OP.png). It returns the paths written.
func WriteFitFigures(gpu string, ops []hwprofile.OpFit, profile, dir string) ([]string, error) {
	if dir == "" {
		dir = filepath.Dir(profile)
	}
	figs, err := FitFigures(gpu, ops, strings.TrimSuffix(filepath.Base(profile), filepath.Ext(profile)))
	if err != nil {
		return nil, err
	}
	return writeFigures(dir, figs)
}

// RunExtras are a run's figures as files of its run directory (for
// experiment.Comparison.RunFigures).
func RunExtras(run *analysis.Run) ([]rundir.Extra, error) {
	figs, err := RunFigures(run)
	return Extras(figs), err
}

// IndexExtras are a comparison's figures as files beside its index (for
// experiment.Comparison.IndexFigures).
func IndexExtras(sw *analysis.Sweep) ([]rundir.Extra, error) {
	figs, err := CompareFigures(sw)
	return Extras(figs), err
}

// WriteValidation writes a validation's table (validation.csv) and its
// figure (validation.png, titled title) into dir and returns their paths.
func WriteValidation(dir string, rep *validation.Report, title string) ([]string, error) {
	if err := rundir.CheckDir(dir); err != nil {
		return nil, err
	}
	csvPath, png := filepath.Join(dir, "validation.csv"), filepath.Join(dir, "validation.png")
	if err := rundir.WriteFile(csvPath, rep.WriteCSV); err != nil {
		return nil, err
	}
	groups := filepath.Join(dir, "groups.csv")
	if err := rundir.WriteFile(groups, rep.Groups.WriteCSV); err != nil {
		return []string{csvPath}, err
	}
	err := rundir.WriteFile(png, func(w io.Writer) error { return plots.Validation(w, &rep.TTFT, &rep.TPOT, title) })
	if err != nil {
		return []string{csvPath, groups}, err
	}
	written := []string{csvPath, groups, png}
	// One figure per engine, its rows coloured by TP.
	for _, e := range rep.ByEngine() {
		path := filepath.Join(dir, "validation_"+e.Engine+".png")
		err := rundir.WriteFile(path, func(w io.Writer) error { return plots.Validation(w, &e.TTFT, &e.TPOT, title+": "+e.Engine+", by TP") })
		if err != nil {
			return written, err
		}
		written = append(written, path)
	}
	return written, nil
}
