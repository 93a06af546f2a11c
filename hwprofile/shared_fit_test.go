package hwprofile

import (
	"flag"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

var sharedFit = flag.Bool("shared-fit", false, "calibrate every engine of the H200 and B200 tables under ../shared and check the held-out targets (slow: minutes)")

// sharedAIC finds the full aiconfigurator copy on the project's machines:
// ../shared beside the repository (a worktree sits one level deeper).
func sharedAIC() (string, bool) {
	for _, up := range []string{"../..", "../../.."} {
		d := filepath.Join(up, "shared", "data", "profiles", "aiconfigurator", "data")
		if _, err := os.Stat(d); err == nil {
			return d, true
		}
	}
	return "", false
}

// fitTargets are issue 10's held-out MAPE targets, percent, by fit row.
func fitTarget(op string) (float64, bool) {
	switch {
	case op == "gemm" || op == "gemm_fp8" || op == "gemm_fp8_block":
		return 5, true
	case op == "gemm_nvfp4" || op == "gemm_mxfp4":
		return 8, true
	case op == "context_attention" || op == "generation_attention" || op == "context_mla" || op == "generation_mla",
		op == "context_mla_module" || op == "generation_mla_module":
		return 8, true
	case strings.HasPrefix(op, "moe_"):
		return 10, true
	case op == "all_reduce" || op == "all_gather" || op == "reduce_scatter" || op == "all_to_all" || op == "custom_all_reduce":
		return 8, true
	}
	return 0, false
}

// TestSharedFitTargets calibrates each engine of the full H200 and B200
// tables and prints the held-out MAPE of every op (go test ./hwprofile -run
// TestSharedFitTargets -shared-fit -v). It needs the project's shared data.
func TestSharedFitTargets(t *testing.T) {
	if !*sharedFit {
		t.Skip("slow: run with -shared-fit")
	}
	root, ok := sharedAIC()
	if !ok {
		t.Skip("../shared not present")
	}
	var b strings.Builder
	fmt.Fprintf(&b, "%-9s %-7s %-22s %8s %8s %s\n", "gpu", "engine", "op", "held-out", "MAPE %", "target")
	for _, key := range []string{"h200_sxm", "b200_sxm"} {
		ms, err := ReadMeasurements(filepath.Join(root, key))
		if err != nil {
			t.Fatal(err)
		}
		g, _ := cost.LookupGPU(key)
		for _, e := range Engines {
			_, rep, err := Calibrate(ms, g, CalibrateOptions{Seed: 1, Engine: e})
			if err != nil {
				t.Errorf("%s %s: %v", key, e, err)
				continue
			}
			for _, f := range rep.Ops {
				lim, ok := fitTarget(f.Op)
				mark := ""
				if ok {
					mark = fmt.Sprintf("< %.0f", lim)
					if f.MAPE >= lim {
						mark += "  MISSED"
					}
				}
				fmt.Fprintf(&b, "%-9s %-7s %-22s %8d %8.2f %s\n", key, e, f.Op, f.Count, f.MAPE, mark)
			}
		}
	}
	t.Log("\n" + b.String())
}

// TestSharedGEMMCrossEngine measures the floor MEASUREMENTS.md gives the
// SGLang BF16 GEMM sections ("GEMM tables with scatter"): SGLang's,
// vLLM's and TensorRT-LLM's BF16 rows time the same cuBLAS kernel, so each
// SGLang point is predicted from the geometric mean of the other two
// tables' times for the same shape, scaled by the median ratio in its
// time band (a quarter decade), and the share of points over 15 % above
// both is counted. The 5 % target is out of reach of a table that two
// independent timings of every shape do not predict to 5 % (go test
// ./hwprofile -run TestSharedGEMMCrossEngine -shared-fit -v).
func TestSharedGEMMCrossEngine(t *testing.T) {
	if !*sharedFit {
		t.Skip("slow: run with -shared-fit")
	}
	root, ok := sharedAIC()
	if !ok {
		t.Skip("../shared not present")
	}
	type shape struct{ m, n, k int64 }
	for _, key := range []string{"h200_sxm", "b200_sxm"} {
		ms, err := ReadMeasurements(filepath.Join(root, key, "gemm"))
		if err != nil {
			t.Fatal(err)
		}
		by := map[string]map[shape]float64{}
		for i := range ms.Rows {
			m := &ms.Rows[i]
			if m.Op != cost.OpGEMM || m.Quant != cost.BF16 || m.GPU != key {
				continue
			}
			if by[m.Engine] == nil {
				by[m.Engine] = map[shape]float64{}
			}
			by[m.Engine][shape{m.M, m.N, m.K}] = m.LatencyNs()
		}
		band := func(x float64) int { return int(math.Floor(4 * math.Log10(x))) }
		type pair struct{ sg, ref float64 }
		var pairs []pair
		ratios := map[int][]float64{}
		spikes := 0
		for s, sg := range by["sglang"] {
			vl, ok1 := by["vllm"][s]
			tr, ok2 := by["trtllm"][s]
			if !ok1 || !ok2 {
				continue
			}
			ref := math.Sqrt(vl * tr)
			pairs = append(pairs, pair{sg, ref})
			ratios[band(ref)] = append(ratios[band(ref)], math.Log(sg/ref))
			if sg > 1.15*vl && sg > 1.15*tr {
				spikes++
			}
		}
		if len(pairs) < 1000 {
			t.Fatalf("%s: %d shapes in all three BF16 tables, expected thousands", key, len(pairs))
		}
		med := map[int]float64{}
		for b, r := range ratios {
			med[b] = cost.Median(r)
		}
		sum := 0.0
		for _, p := range pairs {
			sum += math.Abs(p.ref*math.Exp(med[band(p.ref)])-p.sg) / p.sg
		}
		floor := 100 * sum / float64(len(pairs))
		t.Logf("%s: SGLang BF16 from vLLM's and TensorRT-LLM's same shapes: MAPE %.2f %% on %d shapes; %.1f %% over 15 %% above both",
			key, floor, len(pairs), 100*float64(spikes)/float64(len(pairs)))
		if floor < 5 {
			t.Errorf("%s: SGLang BF16 predicted to %.2f %% from the other tables' same shapes; MEASUREMENTS.md's floor argument (over 5 %%) no longer holds", key, floor)
		}
	}
}
