package validation

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"strconv"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// WriteRows writes one line per row: measured and predicted TTFT and TPOT
// with their absolute percentage errors, or why the row was skipped.
func (rep *Report) WriteRows(w io.Writer) {
	fmt.Fprintf(w, "%-6s %-52s %10s %10s %7s %9s %9s %7s\n", "line", "row", "TTFT ms", "predicted", "APE %", "TPOT ms", "predicted", "APE %")
	for _, p := range rep.Predictions {
		r := p.Row
		if !p.Simulated() {
			fmt.Fprintf(w, "%-6d %-52s skipped: %s\n", r.Line, r.Label(), p.Skipped)
			continue
		}
		fmt.Fprintf(w, "%-6d %-52s %10.1f %10.1f %7.1f %9.2f %9.2f %7.1f\n", r.Line, r.Label(),
			r.TTFTms, p.Metrics.TTFTms, ape(p.Metrics.TTFTms, r.TTFTms), r.TPOTms, p.Metrics.TPOTms, ape(p.Metrics.TPOTms, r.TPOTms))
	}
}

func ape(pred, meas float64) float64 {
	d := (pred - meas) / meas * 100
	if d < 0 {
		return -d
	}
	return d
}

// WriteCSV writes one row per benchmark row; skipped rows have empty
// predictions and their reason.
func (rep *Report) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	cw.Write([]string{"file", "line", "id", "model", "gpu", "backend", "isl", "osl", "concurrency", "tp", "pp",
		"measured_ttft_ms", "predicted_ttft_ms", "ttft_ape_pct", "measured_tpot_ms", "predicted_tpot_ms", "tpot_ape_pct",
		"measured_requests", "skipped"})
	f := func(v float64) string { return strconv.FormatFloat(v, 'g', 8, 64) }
	for _, p := range rep.Predictions {
		r := p.Row
		rec := []string{r.File, strconv.Itoa(r.Line), r.ID, r.Model, r.GPU, r.Backend, strconv.Itoa(r.ISL), strconv.Itoa(r.OSL),
			strconv.Itoa(r.Concurrency), strconv.Itoa(r.TP), strconv.Itoa(r.PP), f(r.TTFTms), "", "", f(r.TPOTms), "", "", "", p.Skipped}
		if p.Simulated() {
			rec[12], rec[13] = f(p.Metrics.TTFTms), f(ape(p.Metrics.TTFTms, r.TTFTms))
			rec[15], rec[16] = f(p.Metrics.TPOTms), f(ape(p.Metrics.TPOTms, r.TPOTms))
			rec[17] = strconv.Itoa(p.Metrics.Measured)
		}
		cw.Write(rec)
	}
	cw.Flush()
	return cw.Error()
}

// Calibration is a fit of a profile's engine overheads and, when part of
// the rows were held out, its accuracy on them.
type Calibration struct {
	Profile *cost.Profile // the base profile with the fitted overheads
	Fit     FitReport
	HeldOut *Report // nil without a held-out half
	Seed    uint64
}

// CalibrateOverheads fits base's overheads to rows (FitOverheads). With
// holdOut it fits on a seeded half of the rows (Split) and validates the
// result on the other half.
func CalibrateOverheads(rows []Row, base *cost.Profile, holdOut bool, seed uint64, opt FitOptions) (*Calibration, error) {
	fitRows, evalRows := rows, []Row(nil)
	if holdOut {
		fitRows, evalRows = Split(rows, seed)
	}
	o, rep, err := FitOverheads(fitRows, base, opt)
	if err != nil {
		return nil, err
	}
	prof := *base
	prof.Overhead = o
	c := &Calibration{Profile: &prof, Fit: rep, Seed: seed}
	if len(evalRows) > 0 {
		eo := opt.Sim
		eo.Profiles = map[string]*cost.Profile{base.GPU().Key: base}
		eo.Overheads = &o
		if c.HeldOut, err = Validate(evalRows, eo); err != nil {
			return nil, err
		}
	}
	return c, nil
}

// WriteText writes the fit and the held-out accuracy.
func (c *Calibration) WriteText(w io.Writer) error {
	if err := c.Fit.WriteText(w); err != nil {
		return err
	}
	if c.HeldOut == nil {
		return nil
	}
	fmt.Fprintf(w, "\nheld-out half (%d rows, seed %d):\n\nTTFT accuracy\n", len(c.HeldOut.Predictions), c.Seed)
	if err := c.HeldOut.TTFT.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTPOT accuracy\n")
	return c.HeldOut.TPOT.WriteText(w)
}

// WriteAccuracy writes the group table (Groups) and the TTFT and TPOT
// accuracy tables, each under its heading.
func (rep *Report) WriteAccuracy(w io.Writer) error {
	fmt.Fprintf(w, "\naccuracy per group (model, GPU, engine, precision, mode); bias = median signed error, > 0 predicts too high\n")
	if err := rep.Groups.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTTFT accuracy\n")
	if err := rep.TTFT.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTPOT accuracy\n")
	return rep.TPOT.WriteText(w)
}

// ErrAllSkipped is WriteText's error when no row was simulated.
var ErrAllSkipped = errors.New("nothing to validate")

// WriteText writes what validate prints: a summary line, every row
// (predicted or why it was skipped) and, when any row was simulated, the
// accuracy tables (WriteAccuracy). With every row skipped it returns
// ErrAllSkipped, naming the count, so the command can fail.
func (rep *Report) WriteText(w io.Writer, layout Layout) error {
	n, skipped := len(rep.Predictions), len(rep.Skipped())
	fmt.Fprintf(w, "%d rows (%s layout), %d simulated, %d skipped\n\n", n, layout, n-skipped, skipped)
	rep.WriteRows(w)
	if skipped == n {
		return fmt.Errorf("validate: every one of the %d rows was skipped (reasons above); %w", n, ErrAllSkipped)
	}
	return rep.WriteAccuracy(w)
}
