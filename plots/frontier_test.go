package plots

import (
	"errors"
	"fmt"
	"testing"

	"github.com/lodsim/lodsim/analysis/sweep"
)

// sweepTable is a 3 GPU x 4 TP sweep whose latency falls and throughput per
// GPU rises in known ways; the slowest GPU at TP1 misses the SLO.
func sweepTable() *sweep.Table {
	t := &sweep.Table{Keys: []string{"tp", "gpu"}, Kinds: []sweep.Kind{sweep.KindInt, sweep.KindString}}
	for i, tp := range []int{1, 2, 4, 8} {
		for j, gpu := range []string{"a100", "h100", "h200"} {
			r := sweep.Row{Point: len(t.Rows), Values: []string{fmt.Sprint(tp), gpu}}
			speed := float64(j + 1)
			r.Status, r.Completed, r.GPUs = "ok", 100, int64(tp)
			r.TTFTP99Ms = 400 / float64(tp) / speed
			r.TPOTP99Ms = 40 / float64(tp) / speed
			r.OutputTokensPerSPerGPU = 1000 / float64(tp) * (1 + 0.1*speed)
			r.GoodputFraction = 1
			r.MeetsSLO = !(i == 0 && j == 0)
			r.USDPerMTok = float64(tp) * speed
			t.Rows = append(t.Rows, r)
		}
	}
	return t
}

func TestFrontierFigure(t *testing.T) {
	tab := sweepTable()
	f, err := frontierFigure([]sweep.FrontierPlot{tab.FrontierPlot(sweep.TTFTP99), tab.FrontierPlot(sweep.TPOTP99)})
	// Three series: meets SLO, misses SLO, the frontier.
	checkFigure(t, "frontier", f, err, 3)
	if _, err := frontierFigure([]sweep.FrontierPlot{{Latency: "TTFT p99"}}); !errors.Is(err, ErrNoData) {
		t.Errorf("empty frontier: %v, want ErrNoData", err)
	}
}

func TestSweepMetricsFigure(t *testing.T) {
	kps, err := sweepTable().KeyPlots("tp")
	if err != nil {
		t.Fatal(err)
	}
	f, err := sweepMetricsFigure(kps)
	// One line per GPU (the second key).
	checkFigure(t, "sweep_metrics", f, err, 3)
	if _, err := sweepMetricsFigure(nil); !errors.Is(err, ErrNoData) {
		t.Errorf("no metrics: %v, want ErrNoData", err)
	}
}
