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

// spiked adds 0.4 (49 %) to a seeded tenth of g's cells, the one-sided
// timing spikes of SGLang's tables, and returns the cells it moved.
func spiked(g *cost.Grid) map[int]bool {
	rng := rand.New(rand.NewPCG(7, 11))
	out := map[int]bool{}
	for c := range g.R {
		if rng.Float64() < 0.1 {
			g.R[c] += 0.4
			out[c] = true
		}
	}
	return out
}

// smoothGEMM smooths a grid whose cells scatter symmetrically
// (cost.Grid.Denoise), despikes one whose cells carry one-sided spikes
// (cost.Grid.Despike), and leaves a quiet one as measured, deciding from
// the grid's own inner check.
func TestSmoothGEMM(t *testing.T) {
	g, known := gemmGrid(0.1)
	before := append([]float64(nil), g.R...)
	s, err := smoothGEMM(g, known)
	if err != nil {
		t.Fatal(err)
	}
	if !s.Applied() || math.Min(s.Smoothed, s.Despiked) >= s.Plain || s.Checked != 51 {
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
	if n := s.note(cost.FP8); !strings.Contains(n, "gemm fp8: measured cells despiked") && !strings.Contains(n, "gemm fp8: measured cells smoothed") {
		t.Errorf("note %q", n)
	}

	// One-sided spikes on the quiet surface: despiking wins the check and
	// takes most of the spikes' excess out, moving few clean cells (those
	// with two estimates only, one across a step and one through a spike).
	g, known = gemmGrid(0)
	clean := append([]float64(nil), g.R...)
	spikes := spiked(g)
	if s, err = smoothGEMM(g, known); err != nil {
		t.Fatal(err)
	}
	if s.Method != gemmDespiked || s.Despiked >= s.Smoothed || s.Despiked >= s.Plain {
		t.Errorf("spikes: %+v, expected despiking with the lowest inner MAPE", s)
	}
	var excess float64
	movedClean := 0
	for c := range g.R {
		if spikes[c] {
			excess += g.R[c] - clean[c]
		} else if g.R[c] != clean[c] {
			movedClean++
		}
	}
	if left := excess / (0.4 * float64(len(spikes))); left > 0.3 {
		t.Errorf("spikes: %.0f %% of the spikes' excess left, expected under 30 %%", 100*left)
	}
	if movedClean > len(g.R)/50 {
		t.Errorf("spikes: %d clean cells moved, expected at most 2 %% of %d", movedClean, len(g.R))
	}
	if n := s.note(cost.BF16); !strings.Contains(n, "gemm bf16: measured cells despiked (cost.Grid.Despike, above 0.10)") {
		t.Errorf("note %q", n)
	}

	g, known = gemmGrid(0)
	before = append([]float64(nil), g.R...)
	if s, err = smoothGEMM(g, known); err != nil {
		t.Fatal(err)
	}
	if s.Applied() {
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

// The shipped profiles record each GEMM section's check: the SGLang
// tables, whose scatter is one-sided spikes, are despiked; the quiet vLLM
// H200 and TensorRT-LLM H200 FP8 ones are left as measured
// (MEASUREMENTS.md, "GEMM tables with scatter").
func TestShippedGEMMSmoothing(t *testing.T) {
	for _, c := range []struct {
		key, engine string
		despiked    []string
		kept        []string
	}{
		{"h200_sxm", "sglang", []string{"bf16", "fp8", "fp8_block"}, nil},
		{"b200_sxm", "sglang", []string{"bf16", "fp8", "fp8_block", "nvfp4"}, nil},
		{"h200_sxm", "trtllm", nil, []string{"fp8", "fp8_block"}},
		{"h200_sxm", "vllm", nil, []string{"bf16", "fp8"}},
	} {
		p, err := EmbeddedProfileFor(c.key, c.engine)
		if err != nil {
			t.Fatal(err)
		}
		notes := strings.Join(p.Notes, "\n")
		for _, q := range c.despiked {
			if !strings.Contains(notes, "gemm "+q+": measured cells despiked") {
				t.Errorf("%s/%s: gemm %s not noted as despiked; notes:\n%s", c.key, c.engine, q, notes)
			}
		}
		for _, q := range c.kept {
			if !strings.Contains(notes, "gemm "+q+": measured cells not smoothed") {
				t.Errorf("%s/%s: gemm %s not noted as kept; notes:\n%s", c.key, c.engine, q, notes)
			}
		}
	}
}
