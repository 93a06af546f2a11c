package analysis

import (
	"encoding/csv"
	"fmt"
	"io"
	"math"
	"slices"
	"strconv"
	"text/tabwriter"
)

// Sweep is the comparison of the levels of detail for several
// configurations of the same workload (e.g. TP 1, 2, 4, 8), in the order
// they were run.
type Sweep struct {
	SLO         SLO          `json:"slo"` // the SLO every summary's goodput used
	Comparisons []Comparison `json:"comparisons"`
	// Runs maps each run directory of a compare directory to the id of
	// the run it must hold (see package rundir).
	Runs map[string]string `json:"runs,omitempty"`
}

// absolute are the reference run's figures the quick start prints per
// configuration, so a first run answers "how fast is it" and not only
// "how close are the levels of detail".
var absolute = []struct{ title, metric, format string }{
	{"TTFT p50 ms", "ttft_p50_ms", "%.1f"}, {"TTFT p99 ms", "ttft_p99_ms", "%.1f"},
	{"TPOT p50 ms", "tpot_p50_ms", "%.2f"}, {"TPOT p99 ms", "tpot_p99_ms", "%.2f"},
	{"E2E p50 ms", "e2e_p50_ms", "%.1f"}, {"E2E p99 ms", "e2e_p99_ms", "%.1f"},
	{"req/s", "requests_per_s", "%.2f"}, {"output tok/s", "output_tokens_per_s", "%.0f"},
}

// Repeated reports whether any comparison holds repeated wall times.
func (s *Sweep) Repeated() bool {
	for i := range s.Comparisons {
		if s.Comparisons[i].Walls != nil {
			return true
		}
	}
	return false
}

func medianNs(ns []int64) int64 {
	v := make([]float64, len(ns))
	for i, x := range ns {
		v[i] = float64(x)
	}
	return int64(SpreadOf(v).Median)
}

// SimulationWallNs is the wall time of every run of the sweep together:
// each comparison's other run and each configuration's reference once,
// every repetition counted.
func (s *Sweep) SimulationWallNs() int64 {
	var ns int64
	seen := map[string]bool{}
	for _, c := range s.Comparisons {
		oth, ref := []int64{c.WallNs}, []int64{c.RefWallNs}
		if c.Walls != nil {
			oth, ref = c.Walls.Ns, c.Walls.RefNs
		}
		for _, v := range oth {
			ns += v
		}
		if !seen[c.Label] {
			seen[c.Label] = true
			for _, v := range ref {
				ns += v
			}
		}
	}
	return ns
}

// WriteAbsolute writes one row per configuration with the absolute
// latencies and throughput of its reference run (the first comparison of
// each label).
func (s *Sweep) WriteAbsolute(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "config\tLoD\t")
	for _, a := range absolute {
		fmt.Fprintf(tw, "%s\t", a.title)
	}
	fmt.Fprintf(tw, "\n")
	seen := map[string]bool{}
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		if seen[c.Label] {
			continue
		}
		seen[c.Label] = true
		fmt.Fprintf(tw, "%s\t%s\t", c.Label, c.RefLoD)
		for _, a := range absolute {
			m, ok := c.Metric(a.metric)
			if !ok || math.IsNaN(m.Ref) {
				fmt.Fprintf(tw, "n/a\t")
				continue
			}
			fmt.Fprintf(tw, a.format+"\t", m.Ref)
		}
		fmt.Fprintf(tw, "\n")
	}
	return tw.Flush()
}

// headline are the relative errors the text table shows; the CSV and JSON
// carry every metric.
var headline = []struct{ title, metric string }{
	{"TTFT mean", "ttft_mean_ms"}, {"TTFT p50", "ttft_p50_ms"}, {"TTFT p99", "ttft_p99_ms"},
	{"TPOT mean", "tpot_mean_ms"}, {"TPOT p50", "tpot_p50_ms"}, {"TPOT p99", "tpot_p99_ms"},
	{"E2E mean", "e2e_mean_ms"}, {"E2E p50", "e2e_p50_ms"}, {"E2E p99", "e2e_p99_ms"},
}

// Headline lists the metric names the text table and the accuracy figure
// show the relative error of, with short titles.
func Headline() (titles, metrics []string) {
	for _, h := range headline {
		titles = append(titles, h.title)
		metrics = append(metrics, h.metric)
	}
	return titles, metrics
}

func pct(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return "n/a"
	}
	return fmt.Sprintf("%+.2f%%", 100*v)
}

func factor(v float64) string {
	if v == 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.1fx", v)
}

// Duration formats a wall time with three significant figures in the unit
// that suits it: 850us, 12.3ms, 4.56s.
func Duration(ns int64) string {
	switch {
	case ns < 1e6:
		return fmt.Sprintf("%.0fus", float64(ns)/1e3)
	case ns < 1e9:
		return fmt.Sprintf("%.1fms", float64(ns)/1e6)
	}
	return fmt.Sprintf("%.2fs", float64(ns)/1e9)
}

func mib(b int64) string {
	if b <= 0 {
		return "n/a"
	}
	return fmt.Sprintf("%.0fMiB", float64(b)/(1<<20))
}

// WriteText writes three aligned tables: cost (events, wall time, memory),
// relative error of the headline metrics, and per-request paired
// differences.
func (s *Sweep) WriteText(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintf(tw, "config\tLoDs\tevents ref\tevents\treduction\twall ref\twall\tspeed-up\tpeak RSS ref\tpeak RSS\tcompleted ref\tcompleted\t\n")
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		fmt.Fprintf(tw, "%s\t%s/%s\t%d\t%d\t%s\t%s\t%s\t%s\t%s\t%s\t%d\t%d\t\n", c.Label, c.RefLoD, c.LoD,
			c.RefEvents, c.Events, factor(c.Reduction), Duration(c.RefWallNs), Duration(c.WallNs), factor(c.SpeedUp),
			mib(c.RefPeakRSSBytes), mib(c.PeakRSSBytes), c.RefCompleted, c.Completed)
	}
	if s.Repeated() {
		fmt.Fprintf(tw, "\t\n")
		fmt.Fprintf(tw, "repeated runs\trepetitions\twall ref median\twall median\tspeed-up median\tmin\tmax\t\n")
		for i := range s.Comparisons {
			c := &s.Comparisons[i]
			if c.Walls == nil {
				continue
			}
			su := c.SpeedUpSpread()
			fmt.Fprintf(tw, "%s %s vs %s\t%d\t%s\t%s\t%s\t%s\t%s\t\n", c.Label, c.LoD, c.RefLoD, su.N,
				Duration(medianNs(c.Walls.RefNs)), Duration(medianNs(c.Walls.Ns)), factor(su.Median), factor(su.Min), factor(su.Max))
		}
	}
	fmt.Fprintf(tw, "\t\n")
	fmt.Fprintf(tw, "relative difference\t")
	for _, h := range headline {
		fmt.Fprintf(tw, "%s\t", h.title)
	}
	fmt.Fprintf(tw, "\n")
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		fmt.Fprintf(tw, "%s %s vs %s\t", c.Label, c.LoD, c.RefLoD)
		for _, h := range headline {
			m, ok := c.Metric(h.metric)
			if !ok {
				m.RelErr = math.NaN()
			}
			fmt.Fprintf(tw, "%s\t", pct(m.RelErr))
		}
		fmt.Fprintf(tw, "\n")
	}
	fmt.Fprintf(tw, "\t\n")
	fmt.Fprintf(tw, "per-request |diff| (ms)\tmatched\tboth done\tonly ref\tonly other\tTTFT mean\tTTFT p99\tTTFT max\tTPOT mean\tTPOT p99\tTPOT max\tE2E mean\tE2E p99\tE2E max\t\n")
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		p := &c.Paired
		fmt.Fprintf(tw, "%s %s vs %s\t%d\t%d\t%d\t%d\t", c.Label, c.LoD, c.RefLoD, p.Matched, p.BothCompleted, p.OnlyRef, p.OnlyOther)
		for _, d := range []PairedDiff{p.TTFT, p.TPOT, p.E2E} {
			fmt.Fprintf(tw, "%.3f\t%.3f\t%.3f\t", d.MeanAbs, d.P99Abs, d.MaxAbs)
		}
		fmt.Fprintf(tw, "\n")
	}
	return tw.Flush()
}

func ftoa(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return ""
	}
	return strconv.FormatFloat(v, 'g', -1, 64)
}

// WriteCSV writes one row per comparison: costs, events by kind, paired
// differences, and the reference value, other value and relative error of
// every summary metric (columns ref_M, other_M and rel_err_M for metric M,
// completed counts included). An undefined relative error is an empty cell.
func (s *Sweep) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	// Event kinds and metric names: the union over comparisons, in first-seen
	// order for metrics (fixed by Summary.Metrics) and sorted for kinds.
	var kinds []string
	seenKind := map[string]bool{}
	var metrics []string
	seenMetric := map[string]bool{}
	for i := range s.Comparisons {
		for _, e := range s.Comparisons[i].EventsByKind {
			if !seenKind[e.Kind] {
				seenKind[e.Kind] = true
				kinds = append(kinds, e.Kind)
			}
		}
		for _, m := range s.Comparisons[i].Metrics {
			if !seenMetric[m.Name] {
				seenMetric[m.Name] = true
				metrics = append(metrics, m.Name)
			}
		}
	}
	slices.Sort(kinds)

	header := []string{"label", "ref_lod", "lod", "ref_events", "events", "event_reduction",
		"ref_wall_ns", "wall_ns", "speed_up", "ref_peak_rss_bytes", "peak_rss_bytes",
		"repetitions", "speed_up_median", "speed_up_min", "speed_up_max"}
	for _, k := range kinds {
		header = append(header, "ref_events_"+k, "events_"+k)
	}
	header = append(header, "paired_matched", "paired_both_completed", "paired_only_ref", "paired_only_other")
	for _, m := range []string{"ttft", "tpot", "e2e"} {
		for _, f := range []string{"mean", "mean_abs", "p50_abs", "p99_abs", "max_abs"} {
			header = append(header, "paired_"+m+"_"+f+"_ms")
		}
	}
	for _, m := range metrics {
		header = append(header, "ref_"+m, "other_"+m, "rel_err_"+m)
	}
	if err := cw.Write(header); err != nil {
		return err
	}
	i64 := func(v int64) string { return strconv.FormatInt(v, 10) }
	u64 := func(v uint64) string { return strconv.FormatUint(v, 10) }
	for i := range s.Comparisons {
		c := &s.Comparisons[i]
		row := []string{c.Label, c.RefLoD, c.LoD, u64(c.RefEvents), u64(c.Events), ftoa(c.Reduction),
			i64(c.RefWallNs), i64(c.WallNs), ftoa(c.SpeedUp), i64(c.RefPeakRSSBytes), i64(c.PeakRSSBytes)}
		su := c.SpeedUpSpread()
		row = append(row, strconv.Itoa(su.N), ftoa(su.Median), ftoa(su.Min), ftoa(su.Max))
		for _, k := range kinds {
			var ref, other uint64
			for _, e := range c.EventsByKind {
				if e.Kind == k {
					ref, other = e.Ref, e.Other
				}
			}
			row = append(row, u64(ref), u64(other))
		}
		p := &c.Paired
		row = append(row, i64(p.Matched), i64(p.BothCompleted), i64(p.OnlyRef), i64(p.OnlyOther))
		for _, d := range []PairedDiff{p.TTFT, p.TPOT, p.E2E} {
			row = append(row, ftoa(d.Mean), ftoa(d.MeanAbs), ftoa(d.P50Abs), ftoa(d.P99Abs), ftoa(d.MaxAbs))
		}
		for _, name := range metrics {
			m, ok := c.Metric(name)
			if !ok {
				row = append(row, "", "", "")
				continue
			}
			row = append(row, ftoa(m.Ref), ftoa(m.Other), ftoa(m.RelErr))
		}
		if err := cw.Write(row); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
