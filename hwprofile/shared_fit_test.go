package hwprofile

import (
	"flag"
	"fmt"
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
