package hwprofile

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// gemmGrid is a GEMM residual grid over 8 values per axis whose cells
// follow a curved, stepped surface (a kernel switch at m = 64, a wave
// step at n = 512), plus a seeded normal scatter of sd noise per cell.
func gemmGrid(noise float64) (*cost.Grid, []bool) {
	ax := []int64{16, 32, 64, 128, 256, 512, 1024, 2048}
	g := cost.NewGrid(ax, ax, ax)
	rng := rand.New(rand.NewPCG(3, 5))
	known := make([]bool, len(g.R))
	for c := range g.R {
		m, n, k := ax[c/g.Strides[0]], ax[c%g.Strides[0]/g.Strides[1]], ax[c%g.Strides[1]]
		lk := math.Log(float64(k))
		r := 0.02 * (lk - 6) * (lk - 6)
		if m >= 64 {
			r += 0.3
		}
		if n >= 512 {
			r -= 0.2
		}
		g.R[c], known[c] = r+noise*rng.NormFloat64(), true
	}
	return g, known
}

// smoothGEMM smooths a grid whose cells scatter and leaves a quiet one as
// measured, deciding from the grid's own inner check.
func TestSmoothGEMM(t *testing.T) {
	g, known := gemmGrid(0.1)
	before := append([]float64(nil), g.R...)
	s, err := smoothGEMM(g, known)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Applied || s.Smoothed >= s.Plain || s.Checked != 51 {
		t.Errorf("scatter 0.1: %+v, expected smoothing applied with a lower inner MAPE on 51 of 512 cells", s)
	}
	if math.Abs(s.Scatter-0.1) > 0.02 { // PointScatter's sampling error on 512 cells
		t.Errorf("scatter 0.1: measured %.3f", s.Scatter)
	}
	moved := 0
	for c := range g.R {
		if g.R[c] != before[c] {
			moved++
		}
	}
	if moved == 0 {
		t.Error("smoothing applied but no cell moved")
	}
	if n := s.note(cost.FP8); !strings.Contains(n, "gemm fp8: measured cells smoothed") {
		t.Errorf("note %q", n)
	}

	g, known = gemmGrid(0)
	before = append([]float64(nil), g.R...)
	if s, err = smoothGEMM(g, known); err != nil {
		t.Fatal(err)
	}
	if s.Applied {
		t.Errorf("no scatter: %+v, expected the grid left as measured", s)
	}
	for c := range g.R {
		if g.R[c] != before[c] {
			t.Fatalf("no scatter: cell %d moved from %v to %v", c, before[c], g.R[c])
		}
	}
	if n := s.note(cost.BF16); !strings.Contains(n, "gemm bf16: measured cells not smoothed") {
		t.Errorf("note %q", n)
	}
}

// The shipped profiles record each GEMM section's check: the scattered
// SGLang tables are smoothed, the quiet TensorRT-LLM and vLLM H200 ones are
// left as measured (MEASUREMENTS.md, "GEMM tables with scatter").
func TestShippedGEMMSmoothing(t *testing.T) {
	for _, c := range []struct {
		key, engine string
		smoothed    []string
		kept        []string
	}{
		{"h200_sxm", "sglang", []string{"bf16", "fp8", "fp8_block"}, nil},
		{"b200_sxm", "sglang", []string{"bf16", "fp8", "fp8_block", "nvfp4"}, nil},
		{"h200_sxm", "trtllm", nil, []string{"bf16", "fp8", "fp8_block"}},
		{"h200_sxm", "vllm", nil, []string{"bf16", "fp8"}},
	} {
		p, err := EmbeddedProfileFor(c.key, c.engine)
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(p.Notes, "\n")
		for _, q := range c.smoothed {
			if !strings.Contains(notes, "gemm "+q+": measured cells smoothed") {
				t.Errorf("%s/%s: gemm %s not noted as smoothed; notes:\n%s", c.key, c.engine, q, notes)
			}
		}
		for _, q := range c.kept {
			if !strings.Contains(notes, "gemm "+q+": measured cells not smoothed") {
				t.Errorf("%s/%s: gemm %s not noted as kept; notes:\n%s", c.key, c.engine, q, notes)
			}
		}
	}
}
