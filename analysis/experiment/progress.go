package experiment

import (
	"fmt"
	"strings"
	"time"

	"github.com/lodsim/lodsim/replay"
)

// ProgressLine describes a long job's advance in one line: units done (of
// total, with the share, when known), simulated time (when simNs > 0), the
// rate over elapsed and, with a total, the time left at that rate.
func ProgressLine(label, unit string, done, total, simNs int64, elapsed time.Duration) string {
	line := fmt.Sprintf("%s: %d %s", label, done, unit)
	if total > 0 {
		line = fmt.Sprintf("%s: %d/%d %s (%.0f%%)", label, done, total, unit, 100*float64(done)/float64(total))
	}
	if simNs > 0 {
		line += fmt.Sprintf(", %.1f s simulated", float64(simNs)/1e9)
	}
	if el := elapsed.Seconds(); el > 0 {
		rate := float64(done) / el
		line += fmt.Sprintf(", %.0f %s/s", rate, unit)
		if total > 0 && rate > 0 && done < total {
			line += fmt.Sprintf(", ETA %v", time.Duration(float64(total-done)/rate*1e9).Round(time.Second))
		}
	}
	return line
}

// Header says what is about to be simulated: the lodsim version, then per
// configuration its model, GPU, parallelism, engine, workload and level of
// detail (lods, when not "", replaces the configured one).
func Header(cfgs []*replay.Config, lods string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s\n", Version())
	for _, c := range cfgs {
		d := Describe(c)
		if lods != "" {
			d = strings.TrimSuffix(d, string(c.Simulation.LoD)+" LoD") + lods + " LoD"
		}
		fmt.Fprintf(&b, "%s: %s\n", c.Name, d)
	}
	return b.String() + "\n"
}
