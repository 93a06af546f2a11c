package hwprofile

import (
	"fmt"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// mlaModPt is one MLA module shape (cost.MLAModule) with the projections'
// weights at q.
type mlaModPt struct {
	mlaPt
	q cost.Precision
}

// minAttentionShare is the smallest share of a module row's time that
// may be left for the attention kernel once lodsim's own costs of the
// projections are taken out. A smaller residual says the projections'
// estimate took (nearly) the whole row, so the difference is no
// measurement of attention: the row is dropped and counted in a note.
const minAttentionShare = 0.02

// modulePart is one module row behind a derived MLA point: its measured
// time and what lodsim charges outside the attention kernel (PartsNs).
type modulePart struct{ t, parts float64 }

// deriveMLA turns module rows into latent-attention kernel rows: each row
// less cost.DeepSeekV3MLAModule.PartsNs under p's BF16 GEMM and
// elementwise fits (so that adding those parts back, as lod does, gives
// the module time). Only rows with BF16 projections are used: on H200
// vLLM the fp8_block GEMM section costs the projections above the whole
// fp8_block module (203 against 136 us at batch 1), so it does not
// describe the module's FP8 linears, and the kernel the rows are turned
// into does not depend on the projections' precision. Rows below
// minAttentionShare are left out too. The notes say how many of each.
func deriveMLA(p *cost.Profile, op cost.Op, mods []mlaModPt, decode bool) (pts []mlaPt, parts [][]modulePart, notes []string, err error) {
	if p.GEMMs == nil {
		return nil, nil, nil, fmt.Errorf("hwprofile: %s: MLA module rows need a BF16 gemm section to take the projections out", op)
	}
	tp := &cost.Profile{Device: p.Device, GEMMs: p.GEMMs, QuantGEMMs: p.QuantGEMMs, Element: p.Element}
	if err := tp.Compile(); err != nil {
		return nil, nil, nil, fmt.Errorf("hwprofile: %s: %w", op, err)
	}
	quant, small := map[cost.Precision]int{}, 0
	for lo := 0; lo < len(mods); {
		hi := lo
		for hi < len(mods) && mods[hi].mlaPt.sameShape(mods[lo].mlaPt) {
			hi++
		}
		x := mods[lo].mlaPt
		var rows []modulePart
		var attn []float64
		for _, m := range mods[lo:hi] {
			if m.q != cost.BF16 {
				quant[m.q]++
				continue
			}
			pa := cost.DeepSeekV3MLAModule.PartsNs(tp, decode, int(x.b), int(x.s), int(x.h), m.q)
			if m.t-pa < minAttentionShare*m.t {
				small++
				continue
			}
			rows, attn = append(rows, modulePart{m.t, pa}), append(attn, m.t-pa)
		}
		if len(attn) > 0 {
			x.t = cost.Median(attn)
			pts, parts = append(pts, x), append(parts, rows)
		}
		lo = hi
	}
	notes = append(notes, fmt.Sprintf("%s: %d points derived from %d MLA module rows (module time less lodsim's projection costs, cost.MLAModule.PartsNs; see MEASUREMENTS.md)",
		op, len(pts), len(mods)))
	for _, q := range sortedKeys(quant) {
		notes = append(notes, fmt.Sprintf("%s: %d module rows with %s projections left out (only BF16 projections are taken out; see MEASUREMENTS.md)", op, quant[q], q))
	}
	if small > 0 {
		notes = append(notes, fmt.Sprintf("%s: %d module rows left out: the projections' estimate leaves under %.0f%% of the row to attention",
			op, small, 100*minAttentionShare))
	}
	if len(pts) < MinFitShapes {
		return nil, nil, notes, fmt.Errorf("hwprofile: %s: %d MLA module shapes usable, expected at least %d", op, len(pts), MinFitShapes)
	}
	return pts, parts, notes, nil
}

func (a mlaPt) sameShape(b mlaPt) bool { return a.h == b.h && a.kv == b.kv && a.b == b.b && a.s == b.s }

// moduleFit is the held-out fit of the module rows behind pts: each row's
// parts plus the held-out prediction of its derived point (fit holds
// those in the order of test indices, as heldOut returns them).
func moduleFit(parts [][]modulePart, order []int, fit []FitPoint) []FitPoint {
	var out []FitPoint
	for j, i := range order {
		for _, r := range parts[i] {
			out = append(out, FitPoint{r.t, r.parts + fit[j].Predicted})
		}
	}
	return out
}
