package main

import (
	"encoding/csv"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/validation"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/plots"
)

// benchFlags are shared by the commands that replay benchmark rows.
var benchFlags = []cli.Flag{
	&cli.StringFlag{Name: "profile", Usage: "calibrated profile `FILE` (YAML) to use for its GPU instead of the shipped one"},
	&cli.IntFlag{Name: "requests-per-client", Value: validation.DefaultRequestsPerClient, Usage: "closed-loop requests each client sends"},
	&cli.Uint64Flag{Name: "seed", Usage: "simulation seed"},
	&cli.BoolFlag{Name: "all-requests", Usage: "measure every request, without the warm-up and cool-down windows"},
}

func init() {
	register(&cli.Command{
		Name:      "validate",
		Usage:     "replay end-to-end serving benchmarks and report predicted vs measured TTFT and TPOT",
		UsageText: "lodsim validate --measurements FILE [--profile PROFILE.yaml] [--out DIR]",
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "measurements", Aliases: []string{"m"}, Required: true, Usage: "benchmark `FILE` (CSV, lodsim or aiconfigurator silicon layout)"},
			&cli.StringFlag{Name: "out", Value: filepath.Join("lodsim-out", "validation"), Usage: "output `DIR` for validation.csv and validation.png"},
		}, benchFlags...),
		Action: validateAction,
	})
}

// benchOptions turns the shared flags into simulation options.
func benchOptions(ctx *cli.Context) (validation.Options, *cost.Profile, error) {
	opt := validation.Options{RequestsPerClient: ctx.Int("requests-per-client"), Seed: ctx.Uint64("seed"), All: ctx.Bool("all-requests")}
	if opt.RequestsPerClient < 1 {
		return opt, nil, fmt.Errorf("--requests-per-client: %d, expected >= 1", opt.RequestsPerClient)
	}
	path := ctx.String("profile")
	if path == "" {
		return opt, nil, nil
	}
	f, err := os.Open(path)
	if err != nil {
		return opt, nil, fmt.Errorf("--profile: %w", err)
	}
	defer f.Close()
	p, err := cost.LoadProfile(f, path)
	if err != nil {
		return opt, nil, fmt.Errorf("--profile: %w", err)
	}
	opt.Profiles = map[string]*cost.Profile{p.GPU().Key: p}
	return opt, p, nil
}

func validateAction(ctx *cli.Context) error {
	opt, _, err := benchOptions(ctx)
	if err != nil {
		return err
	}
	rows, layout, err := validation.ReadBenchmarkFile(ctx.String("measurements"))
	if err != nil {
		return err
	}
	rep, err := validation.Validate(rows, opt)
	if err != nil {
		return err
	}
	w := ctx.App.Writer
	if w == nil {
		w = os.Stdout
	}
	fmt.Fprintf(w, "%d rows (%s layout), %d simulated, %d skipped\n\n", len(rows), layout, len(rows)-len(rep.Skipped()), len(rep.Skipped()))
	writeValidationRows(w, rep)
	fmt.Fprintf(w, "\nTTFT accuracy\n")
	if err := rep.TTFT.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nTPOT accuracy\n")
	if err := rep.TPOT.WriteText(w); err != nil {
		return err
	}
	out := ctx.String("out")
	csvPath := filepath.Join(out, "validation.csv")
	if err := writeFileAtomic(csvPath, func(f io.Writer) error { return writeValidationCSV(f, rep) }); err != nil {
		return err
	}
	written := []string{csvPath}
	if rep.TTFT.Overall.Count > 0 {
		png := filepath.Join(out, "validation.png")
		if err := writeFileAtomic(png, func(f io.Writer) error {
			return plots.Validation(f, &rep.TTFT, &rep.TPOT, "lodsim vs "+filepath.Base(ctx.String("measurements")))
		}); err != nil {
			return err
		}
		written = append(written, png)
	}
	fmt.Fprintf(w, "\nwrote %v\n", written)
	return nil
}

func writeValidationRows(w io.Writer, rep *validation.Report) {
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

// writeValidationCSV writes one row per benchmark row; skipped rows have
// empty predictions and their reason.
func writeValidationCSV(w io.Writer, rep *validation.Report) error {
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
