package report

import (
	"fmt"
	"io"

	"github.com/lodsim/lodsim/analysis/rundir"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/hwprofile/cost"
)

// WriteCalibration writes what `lodsim calibrate` produces from a fitted
// profile: the profile to out (whole or not at all), its held-out fit
// report to w (measurements: the rows it was fitted from), and a
// predicted-vs-measured figure per operation in plotsDir (default: beside
// out), naming each file written.
func WriteCalibration(w io.Writer, gpu string, p *cost.Profile, rep *hwprofile.FitReport, measurements int, out, plotsDir string) error {
	if err := rundir.WriteFile(out, p.Write); err != nil {
		return err
	}
	if err := rep.WriteText(w, p, measurements); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nwrote %s\n", out)
	written, err := WriteFitFigures(gpu, rep.Ops, out, plotsDir)
	for _, f := range written {
		fmt.Fprintf(w, "wrote %s\n", f)
	}
	return err
}
