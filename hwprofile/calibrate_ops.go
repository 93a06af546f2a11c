package hwprofile

import (
	"fmt"
	"sort"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// heldOutFunc runs predict on every fold of n points of one PCG stream.
type heldOutFunc func(stream uint64, n int, predict func(train, test []int) (main, ring []FitPoint, err error)) (main, ring []FitPoint, err error)

// calibrateQuantized fits the sections of quantised GEMMs, latent attention
// and MoE, each measured on its own held-out split, and adds them to p.
func calibrateQuantized(p *cost.Profile, sel *selection, sample int, heldOut heldOutFunc, eval func(op, rng string, pts []FitPoint)) error {
	var qs []cost.Precision
	for q := range sel.qgemm {
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i] < qs[j] })
	for _, q := range qs {
		pts := sel.qgemm[q]
		fit, _, err := heldOut(subStream(cost.OpGEMM, q), len(pts), func(train, test []int) (out, _ []FitPoint, err error) {
			t, _, err := buildGEMMAt(pick(pts, train), q, sample)
			if err != nil {
				return nil, nil, err
			}
			tp := &cost.Profile{Device: p.Device, QuantGEMMs: []cost.GEMMTable{*t}}
			if err := tp.Compile(); err != nil {
				return nil, nil, fmt.Errorf("hwprofile: gemm %s: %w", q, err)
			}
			for _, i := range test {
				x := pts[i]
				out = append(out, FitPoint{x.t, tp.QuantGEMM(int(x.m), int(x.n), int(x.k), q)})
			}
			return out, nil, nil
		})
		if err != nil {
			return err
		}
		eval("gemm_"+q.String(), "", fit)
		t, sm, err := buildGEMMAt(pts, q, sample)
		if err != nil {
			return fmt.Errorf("hwprofile: gemm %s: %w", q, err)
		}
		p.Notes = append(p.Notes, sm.note(q))
		p.QuantGEMMs = append(p.QuantGEMMs, *t)
	}

	for _, a := range []struct {
		op     cost.Op
		pts    []mlaPt
		mods   []mlaModPt
		decode bool
		dst    **cost.MLATable
	}{{cost.OpContextMLA, sel.cmla, sel.cmlaMod, false, &p.CtxMLA}, {cost.OpGenerationMLA, sel.gmla, sel.gmlaMod, true, &p.GenMLA}} {
		var parts [][]modulePart
		if len(a.pts) == 0 && len(a.mods) > 0 {
			var notes []string
			var err error
			a.pts, parts, notes, err = deriveMLA(p, a.op, a.mods, a.decode)
			p.Notes = append(p.Notes, notes...)
			if err != nil {
				return err
			}
		}
		if len(a.pts) == 0 {
			continue
		}
		var order []int
		fit, _, err := heldOut(opStream(a.op), len(a.pts), func(train, test []int) (out, _ []FitPoint, err error) {
			order = append(order, test...)
			t, err := buildMLA(pick(a.pts, train), a.decode, sample)
			if err != nil {
				return nil, nil, fmt.Errorf("hwprofile: %s: %w", a.op, err)
			}
			tp := &cost.Profile{Device: p.Device}
			if a.decode {
				tp.GenMLA = t
			} else {
				tp.CtxMLA = t
			}
			if err := tp.Compile(); err != nil {
				return nil, nil, fmt.Errorf("hwprofile: %s: %w", a.op, err)
			}
			for _, i := range test {
				x := a.pts[i]
				s := cost.MLAShape{Heads: int(x.h), KVCache: cost.Precision(x.kv)}
				var pred float64
				if a.decode {
					pred = tp.GenerationMLA(int(x.b), int(x.s), s)
				} else {
					pred = tp.ContextMLA(int(x.b), int(x.s), 0, s)
				}
				out = append(out, FitPoint{x.t, pred})
			}
			return out, nil, nil
		})
		if err != nil {
			return err
		}
		eval(string(a.op), "", fit)
		if parts != nil {
			eval(string(a.op)+"_module", "", moduleFit(parts, order, fit))
		}
		if *a.dst, err = buildMLA(a.pts, a.decode, sample); err != nil {
			return fmt.Errorf("hwprofile: %s: %w", a.op, err)
		}
	}

	qs = qs[:0]
	for q := range sel.moe {
		qs = append(qs, q)
	}
	sort.Slice(qs, func(i, j int) bool { return qs[i] < qs[j] })
	for _, q := range qs {
		pts := sel.moe[q]
		fit, _, err := heldOut(subStream(cost.OpMoE, q), len(pts), func(train, test []int) (out, _ []FitPoint, err error) {
			t, err := buildMoE(pick(pts, train), q, sample)
			if err != nil {
				return nil, nil, err
			}
			tp := &cost.Profile{Device: p.Device, MoEs: []cost.MoETable{*t}}
			if err := tp.Compile(); err != nil {
				return nil, nil, fmt.Errorf("hwprofile: moe %s: %w", q, err)
			}
			for _, i := range test {
				x := pts[i]
				out = append(out, FitPoint{x.t, tp.MoE(x.shape(q))})
			}
			return out, nil, nil
		})
		if err != nil {
			return err
		}
		eval("moe_"+q.String(), "", fit)
		t, err := buildMoE(pts, q, sample)
		if err != nil {
			return err
		}
		p.MoEs = append(p.MoEs, *t)
	}
	return nil
}

func (x moePt) shape(q cost.Precision) cost.MoEShape {
	return cost.MoEShape{Tokens: int(x.tokens), Hidden: int(x.hidden), Inter: int(x.inter), Experts: int(x.experts),
		TopK: int(x.topk), TP: int(x.tp), EP: int(x.ep), Quant: q, Balanced: true}
}

// buildMLA builds an MLA section: a base roofline over all points and a
// (batch, sequence) grid per head count and KV precision. pts are sorted by
// (heads, kv, batch, seq).
func buildMLA(pts []mlaPt, decode bool, sample int) (*cost.MLATable, error) {
	fl, by, ts := make([]float64, len(pts)), make([]float64, len(pts)), make([]float64, len(pts))
	for i, x := range pts {
		fl[i], by[i] = cost.MLAWork(decode, float64(x.b), float64(x.s), cost.MLAShape{Heads: int(x.h), KVCache: cost.Precision(x.kv)})
		ts[i] = x.t
	}
	base, err := fitRoofline(fl, by, ts, sample)
	if err != nil {
		return nil, err
	}
	t := &cost.MLATable{Base: base}
	for lo := 0; lo < len(pts); {
		hi := lo
		for hi < len(pts) && pts[hi].h == pts[lo].h && pts[hi].kv == pts[lo].kv {
			hi++
		}
		run := pts[lo:hi]
		sl := cost.MLASlice{Heads: int(run[0].h), KVCache: cost.Precision(run[0].kv)}
		sh := cost.MLAShape{Heads: sl.Heads, KVCache: sl.KVCache}
		sl.Batch, sl.SeqLen, sl.LatencyNs, err = batchSeqTable(len(run), func(j int) (int64, int64, float64) {
			return run[j].b, run[j].s, run[j].t
		}, func(b, s int64) float64 {
			f, by := cost.MLAWork(decode, float64(b), float64(s), sh)
			return base.Time(f, by)
		})
		if err != nil {
			return nil, err
		}
		t.Slices = append(t.Slices, sl)
		lo = hi
	}
	return t, nil
}

// buildMoE builds the MoE section of precision q: a base roofline over all
// points and a token grid per layer shape. pts are sorted by shape, then
// tokens.
func buildMoE(pts []moePt, q cost.Precision, sample int) (*cost.MoETable, error) {
	fl, by, ts := make([]float64, len(pts)), make([]float64, len(pts)), make([]float64, len(pts))
	for i, x := range pts {
		fl[i], by[i] = cost.MoEWork(x.shape(q))
		ts[i] = x.t
	}
	base, err := fitRoofline(fl, by, ts, sample)
	if err != nil {
		return nil, fmt.Errorf("hwprofile: moe %s: %w", q, err)
	}
	t := &cost.MoETable{Precision: q, Base: base}
	same := func(a, b moePt) bool {
		return a.hidden == b.hidden && a.inter == b.inter && a.experts == b.experts && a.topk == b.topk && a.tp == b.tp && a.ep == b.ep
	}
	for lo := 0; lo < len(pts); {
		hi := lo
		for hi < len(pts) && same(pts[hi], pts[lo]) {
			hi++
		}
		x0 := pts[lo]
		sl := cost.MoESlice{Hidden: int(x0.hidden), Inter: int(x0.inter), Experts: int(x0.experts), TopK: int(x0.topk), TP: int(x0.tp), EP: int(x0.ep)}
		for j := lo; j < hi; j++ {
			sl.Tokens = append(sl.Tokens, pts[j].tokens)
			// One value per token count: pts are deduplicated by shape.
			sl.LatencyNs = append(sl.LatencyNs, round(pts[j].t, tableDigits))
		}
		t.Slices = append(t.Slices, sl)
		lo = hi
	}
	return t, nil
}
