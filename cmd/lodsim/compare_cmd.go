package main

import (
	"fmt"
	"path/filepath"
	"regexp"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/replay"
)

func init() {
	register(&cli.Command{
		Name:  "compare",
		Usage: "run each configuration at every level of detail and compare cost and accuracy",
		UsageText: `lodsim compare [-c config.yaml] [--sweep tp=1,2,4,8] [--lods high,medium] [--out DIR] [--slo-ttft 500ms --slo-tpot 50ms]

With no config it runs the embedded reference scenarios (TP1, TP2, TP4).
Writes compare.txt, compare.csv, compare.json, figures 1-3 and one run
directory per simulation (LABEL-LOD, with figures 4-5) into --out.`,
		Flags: append([]cli.Flag{
			&cli.StringFlag{Name: "sweep", Usage: "run every config once per value: `KEY=V1,V2,...` with KEY one of " + strings.Join(sweepKeys(), ", ")},
			&cli.StringFlag{Name: "lods", Value: "high,medium", Usage: "levels of detail, the reference first"},
			&cli.StringFlag{Name: "out", Value: "lodsim-out", Usage: "output `DIR`"},
		}, configFlags...),
		Action: compareAction,
	})
}

// sweepSetters change one configuration parameter per sweep key.
var sweepSetters = map[string]func(c *replay.Config, v string) error{
	"tp":                     intSetter(func(c *replay.Config) *int { return &c.Cluster.TensorParallel }),
	"pp":                     intSetter(func(c *replay.Config) *int { return &c.Cluster.PipelineParallel }),
	"replicas":               intSetter(func(c *replay.Config) *int { return &c.Cluster.Replicas }),
	"max_num_seqs":           intSetter(func(c *replay.Config) *int { return &c.Scheduler.MaxNumSeqs }),
	"max_num_batched_tokens": intSetter(func(c *replay.Config) *int { return &c.Scheduler.MaxNumBatchedTokens }),
	"gpu": func(c *replay.Config, v string) error {
		g, err := cost.LookupGPU(v)
		if err != nil {
			return err
		}
		// The name keeps its GPU (sweep values become names), and a
		// profile file belongs to the GPU it was calibrated on.
		c.Hardware.GPU, c.Hardware.Profile = g.Name, ""
		return nil
	},
	"rate": func(c *replay.Config, v string) error {
		if c.Workload.Synthetic == nil {
			return fmt.Errorf("config %s has no synthetic workload to set the rate of", c.Name)
		}
		r, err := strconv.ParseFloat(v, 64)
		if err != nil || !(r > 0) {
			return fmt.Errorf("value %q: expected a positive number of requests per second", v)
		}
		c.Workload.Synthetic.Rate = r
		return nil
	},
}

func intSetter(field func(c *replay.Config) *int) func(c *replay.Config, v string) error {
	return func(c *replay.Config, v string) error {
		n, err := strconv.Atoi(v)
		if err != nil || n <= 0 {
			return fmt.Errorf("value %q: expected a positive integer", v)
		}
		*field(c) = n
		return nil
	}
}

func sweepKeys() []string {
	return []string{"tp", "pp", "replicas", "max_num_seqs", "max_num_batched_tokens", "rate", "gpu"}
}

// parseSweep splits "tp=1,2,4" into its key and values.
func parseSweep(s string) (key string, values []string, err error) {
	key, list, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" || strings.TrimSpace(list) == "" {
		return "", nil, fmt.Errorf("--sweep %q: expected KEY=V1,V2,... with KEY one of %s", s, strings.Join(sweepKeys(), ", "))
	}
	if _, ok := sweepSetters[key]; !ok {
		return "", nil, fmt.Errorf("--sweep %q: unknown key %q, expected one of %s", s, key, strings.Join(sweepKeys(), ", "))
	}
	for _, v := range strings.Split(list, ",") {
		values = append(values, strings.TrimSpace(v))
	}
	return key, values, nil
}

// expandSweep returns one config per base config and value, named
// BASE-KEYVALUE with any KEYn suffix the base name already had removed
// (so the reference scenario "tp1" swept over tp=2 becomes "tp2").
func expandSweep(cfgs []*replay.Config, key string, values []string) ([]*replay.Config, error) {
	suffix := regexp.MustCompile(`(^|[-_])` + regexp.QuoteMeta(key) + `[0-9.]+$`)
	var out []*replay.Config
	for _, base := range cfgs {
		stem := suffix.ReplaceAllString(base.Name, "")
		for _, v := range values {
			c := base.Clone()
			if err := sweepSetters[key](c, v); err != nil {
				return nil, fmt.Errorf("--sweep %s: %w", key, err)
			}
			c.Name = key + v
			if stem != "" {
				c.Name = stem + "-" + c.Name
			}
			out = append(out, c)
		}
	}
	return out, nil
}

func parseLoDs(s string) ([]string, error) {
	var lods []string
	seen := map[string]bool{}
	for _, l := range strings.Split(s, ",") {
		l = strings.TrimSpace(l)
		if l == "" || seen[l] {
			return nil, fmt.Errorf("--lods %q: expected distinct levels of detail, e.g. high,medium", s)
		}
		seen[l] = true
		lods = append(lods, l)
	}
	if len(lods) < 2 {
		return nil, fmt.Errorf("--lods %q: need a reference and at least one other level of detail", s)
	}
	return lods, nil
}

func compareAction(ctx *cli.Context) error {
	if ctx.Args().Len() > 0 {
		return fmt.Errorf("compare: unexpected argument %q (use -c FILE)", ctx.Args().First())
	}
	cfgs, err := configsFromFlags(ctx)
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	if s := ctx.String("sweep"); s != "" {
		key, values, err := parseSweep(s)
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		if cfgs, err = expandSweep(cfgs, key, values); err != nil {
			return fmt.Errorf("compare: %w", err)
		}
	}
	lods, err := parseLoDs(ctx.String("lods"))
	if err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	seen := map[string]bool{}
	for _, c := range cfgs {
		if seen[c.Name] {
			return fmt.Errorf("compare: two configurations are named %q; give each a distinct name", c.Name)
		}
		seen[c.Name] = true
	}
	out := ctx.String("out")
	// The sweep reports the first configuration's SLO; each configuration
	// is summarised against its own (the flags override all of them).
	sw := &analysis.Sweep{SLO: sloFromFlags(ctx, cfgs[0])}
	for _, cfg := range cfgs {
		cs, err := compareConfig(ctx, cfg, lods, sloFromFlags(ctx, cfg), out)
		if err != nil {
			return fmt.Errorf("compare: %w", err)
		}
		sw.Comparisons = append(sw.Comparisons, cs...)
	}
	if err := writeCompareDir(out, sw); err != nil {
		return fmt.Errorf("compare: %w", err)
	}
	w := stdout(ctx)
	if err := sw.WriteText(w); err != nil {
		return err
	}
	fmt.Fprintf(w, "\ntables, figures and runs in %s\n", out)
	return nil
}

// compareConfig runs cfg at each level of detail, writes each run's
// directory, and compares the others with the reference lods[0]. The
// reference runs last: peak RSS is a high-water mark of the process, so
// running the cheaper levels first keeps their figure their own.
func compareConfig(ctx *cli.Context, cfg *replay.Config, lods []string, slo analysis.SLO, out string) ([]analysis.Comparison, error) {
	runs := make([]*analysis.Run, len(lods))
	for k := range lods {
		i := (k + 1) % len(lods)
		run, err := runSim(cfg, lods[i])
		if err != nil {
			return nil, err
		}
		run.Summary = analysis.Summarize(run.Results, run.Stats, slo)
		run.Summary.WallS = float64(run.WallNs) / 1e9
		dir := filepath.Join(out, fileSafe(run.Name()))
		if err := writeRunDir(dir, run); err != nil {
			return nil, err
		}
		figs, err := runFigures(run)
		if err != nil {
			return nil, err
		}
		if _, err := writeFigures(dir, figs); err != nil {
			return nil, err
		}
		fmt.Fprintf(stderr(ctx), "%s at %s LoD: %d events, %v wall, %d/%d completed\n", cfg.Name, lods[i],
			run.Stats.TotalEvents, time.Duration(run.WallNs).Round(time.Millisecond), run.Summary.Completed, run.Summary.Requests)
		runs[i] = run
		debug.FreeOSMemory() // return the last run's garbage before the next one
	}
	var cs []analysis.Comparison
	for _, other := range runs[1:] {
		cs = append(cs, analysis.Compare(runs[0], other))
	}
	return cs, nil
}

// writeCompareDir writes the sweep's tables and figures 1-3 into dir.
func writeCompareDir(dir string, sw *analysis.Sweep) error {
	if err := writeFileAtomic(filepath.Join(dir, compareText), sw.WriteText); err != nil {
		return err
	}
	if err := writeFileAtomic(filepath.Join(dir, compareCSV), sw.WriteCSV); err != nil {
		return err
	}
	if err := writeJSON(filepath.Join(dir, compareJSON), sw); err != nil {
		return err
	}
	figs, err := compareFigures(sw)
	if err != nil {
		return err
	}
	_, err = writeFigures(dir, figs)
	return err
}
