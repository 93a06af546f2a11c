package hwprofile

import (
	"bufio"
	"compress/gzip"
	"fmt"
	"io"

	"strconv"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// fp8KV is the kv_dtype cell of an FP8-KV attention row.
var fp8KV = map[string]string{"kv_dtype": "fp8"}

// compactColumns are the canonical-schema columns WriteCompact writes.
var compactColumns = []string{"op", "gpu", "engine", "quant", "kv_dtype", "kernel", "m", "n", "k", "batch", "seq_len",
	"heads", "kv_heads", "head_dim", "tokens", "hidden", "inter", "experts", "topk", "moe_tp", "moe_ep", "bytes", "gpus", "median_ns"}

// WriteCompact writes what Calibrate would use of ms for g and engine (see
// CalibrateOptions.Engine) as gzip-compressed CSV in the canonical schema
// of MEASUREMENTS.md: one row per distinct op and shape, holding the median
// latency rounded to digits significant digits (0 keeps every digit). It
// is the compact re-encoding the shipped profiles are rebuilt from: reading
// it back and calibrating gives the profile calibrating the full tables
// gives, but for the sources and the rounding of latencies.
func WriteCompact(w io.Writer, ms *Measurements, g cost.GPU, engine string, digits int) error {
	sel, err := selectRows(ms, g, engine)
	if err != nil {
		return err
	}
	if sel.total == 0 {
		return fmt.Errorf("%w for %s", ErrNoUsableRows, g.Name)
	}
	zw, err := gzip.NewWriterLevel(w, gzip.BestCompression)
	if err != nil {
		return err
	}
	bw := bufio.NewWriter(zw)
	col := make(map[string]int, len(compactColumns))
	for i, c := range compactColumns {
		col[c] = i
	}
	row := make([]string, len(compactColumns))
	lat := func(t float64) string {
		if digits > 0 {
			t = round(t, digits)
		}
		return strconv.FormatFloat(t, 'f', -1, 64)
	}
	emit := func(op cost.Op, eng string, kv map[string]int64, strs map[string]string, t float64) {
		for i := range row {
			row[i] = ""
		}
		row[col["op"]], row[col["gpu"]], row[col["engine"]] = string(op), g.Key, eng
		for c, v := range strs {
			row[col[c]] = v
		}
		for c, v := range kv {
			row[col[c]] = strconv.FormatInt(v, 10)
		}
		row[col["median_ns"]] = lat(t)
		for i, v := range row {
			if i > 0 {
				bw.WriteByte(',')
			}
			bw.WriteString(v)
		}
		bw.WriteByte('\n')
	}
	for i, c := range compactColumns {
		if i > 0 {
			bw.WriteByte(',')
		}
		bw.WriteString(c)
	}
	bw.WriteByte('\n')
	e := sel.engine
	for _, x := range sel.gemm {
		emit(cost.OpGEMM, e, map[string]int64{"m": x.m, "n": x.n, "k": x.k}, nil, x.t)
	}
	for _, q := range cost.Precisions() {
		for _, x := range sel.qgemm[q] {
			emit(cost.OpGEMM, e, map[string]int64{"m": x.m, "n": x.n, "k": x.k}, map[string]string{"quant": q.String()}, x.t)
		}
	}
	for _, a := range []struct {
		op  cost.Op
		pts []attnPt
		kv  map[string]string
	}{{cost.OpContextAttention, sel.ctx, nil}, {cost.OpGenerationAttention, sel.gen, nil},
		{cost.OpContextAttention, sel.ctx8, fp8KV}, {cost.OpGenerationAttention, sel.gen8, fp8KV}} {
		for _, x := range a.pts {
			emit(a.op, e, map[string]int64{"heads": x.h, "kv_heads": x.kv, "head_dim": x.hd, "batch": x.b, "seq_len": x.s}, a.kv, x.t)
		}
	}
	for _, a := range []struct {
		op  cost.Op
		pts []mlaPt
	}{{cost.OpContextMLA, sel.cmla}, {cost.OpGenerationMLA, sel.gmla}} {
		for _, x := range a.pts {
			emit(a.op, e, map[string]int64{"heads": x.h, "batch": x.b, "seq_len": x.s},
				map[string]string{"kv_dtype": cost.Precision(x.kv).String()}, x.t)
		}
	}
	for _, a := range []struct {
		op   cost.Op
		mods []mlaModPt
	}{{cost.OpContextMLAModule, sel.cmlaMod}, {cost.OpGenerationMLAModule, sel.gmlaMod}} {
		for _, x := range a.mods {
			emit(a.op, e, map[string]int64{"heads": x.h, "batch": x.b, "seq_len": x.s},
				map[string]string{"kv_dtype": cost.Precision(x.kv).String(), "quant": x.q.String()}, x.t)
		}
	}
	for _, q := range cost.Precisions() {
		for _, x := range sel.moe[q] {
			emit(cost.OpMoE, e, map[string]int64{"tokens": x.tokens, "hidden": x.hidden, "inter": x.inter, "experts": x.experts,
				"topk": x.topk, "moe_tp": x.tp, "moe_ep": x.ep}, map[string]string{"quant": q.String()}, x.t)
		}
	}
	for _, op := range []cost.Op{cost.OpAllReduce, cost.OpAllGather, cost.OpReduceScatter, cost.OpSend, cost.OpCustomAllReduce, cost.OpAllToAll} {
		eng, kernel := "", ""
		if op == cost.OpCustomAllReduce {
			// The selection kept the CUDA-graph kernels where there are any.
			eng, kernel = e, "custom_graph"
		}
		for _, x := range sel.comm[op] {
			emit(op, eng, map[string]int64{"bytes": x.bytes, "gpus": int64(x.n)}, map[string]string{"kernel": kernel}, x.t)
		}
	}
	for _, x := range sel.elem {
		emit(cost.OpElementwise, "", map[string]int64{"bytes": x.bytes}, nil, x.t)
	}
	if err := bw.Flush(); err != nil {
		return err
	}
	return zw.Close()
}
