package hwprofile

import (
	"bytes"
	"errors"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/array"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	"github.com/apache/arrow/go/v17/arrow/memory"
	"github.com/parquet-go/parquet-go"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

func readOne(t *testing.T, paths ...string) *Measurements {
	t.Helper()
	ms, err := ReadMeasurements(paths...)
	if err != nil {
		t.Fatal(err)
	}
	return ms
}

func countOps(ms *Measurements) map[cost.Op]int {
	n := map[cost.Op]int{}
	for _, m := range ms.Rows {
		n[m.Op]++
	}
	return n
}

func TestReadAiconfiguratorGEMM(t *testing.T) {
	ms := readOne(t, "data/aiconfigurator/h100_sxm/gemm/vllm/0.24.0/gemm_perf.parquet")
	if len(ms.Rows) != 107188 {
		t.Errorf("read %d rows, expected the file's 107188", len(ms.Rows))
	}
	// First row of the file: VLLM 0.24.0, NVIDIA H100 80GB HBM3,
	// torch.nn.functional.linear, bfloat16, m=32768 n=65536 k=12288,
	// 60.32404242621528 ms.
	m := ms.Rows[0]
	// The engine and version come from the directories <engine>/<version>.
	want := Measurement{Op: cost.OpGEMM, GPU: "h100_sxm", Dtype: "bf16", Kernel: "torch.nn.functional.linear",
		Engine: "vllm", Version: "0.24.0", M: 32768, N: 65536, K: 12288, MeanNs: m.MeanNs, Source: "gemm_perf.parquet", Row: 1}
	// ms to ns is one multiplication: allow its last-bit rounding.
	if math.Abs(m.MeanNs-60.32404242621528e6) > 1e-12*m.MeanNs || m != want {
		t.Errorf("row 1 = %+v\nexpected %+v", m, want)
	}
	dt := map[cost.Precision]int{}
	for _, r := range ms.Rows {
		dt[r.Quant]++
	}
	if dt[cost.BF16] != 35742 || dt[cost.FP8] != 35742 || dt[cost.FP8Block] != 35704 {
		t.Errorf("quant modes %v, expected 35742 bf16, 35742 fp8, 35704 fp8_block", dt)
	}
	if len(ms.Sources) != 1 || len(ms.Sources[0].SHA256) != 64 || ms.Sources[0].Layout != "aiconfigurator gemm_perf" {
		t.Errorf("sources %+v", ms.Sources)
	}
}

func TestReadAiconfiguratorAttention(t *testing.T) {
	ms := readOne(t, "data/aiconfigurator/h100_sxm/attention")
	n := countOps(ms)
	if n[cost.OpContextAttention] != 50830 || n[cost.OpGenerationAttention] != 62166 {
		t.Fatalf("ops %v, expected 50830 context and 62166 generation rows", n)
	}
	// Row 1 of context_attention_perf: fa3, batch 4, isl 16384, 64 heads, 64
	// KV heads, head_dim 64, bf16 with an fp8 cache, 17.4667 ms.
	c := ms.Rows[0]
	if c.Op != cost.OpContextAttention || c.Batch != 4 || c.SeqLen != 16384 || c.Heads != 64 || c.KVHeads != 64 ||
		c.HeadDim != 64 || c.Dtype != "bf16" || c.KVDtype != "fp8" || c.Window != 0 || c.MeanNs != 17.46666081746419e6 {
		t.Errorf("context row 1 = %+v", c)
	}
	// Row 1 of generation_attention_perf: batch 32, isl 1, step 1 (a KV
	// length of 2), 64 heads, 1 KV head, head_dim 64, 0.011269 ms.
	var g Measurement
	for _, r := range ms.Rows {
		if r.Op == cost.OpGenerationAttention {
			g = r
			break
		}
	}
	if g.Batch != 32 || g.SeqLen != 2 || g.Heads != 64 || g.KVHeads != 1 || g.HeadDim != 64 || g.MeanNs != 0.01126933346192042e6 ||
		g.Source != "vllm/0.24.0/generation_attention_perf.parquet" || g.Row != 1 {
		t.Errorf("generation row 1 = %+v", g)
	}
	// The A100 tables predate the window_size column.
	a := readOne(t, "data/aiconfigurator/a100_sxm/attention/vllm/0.14.0/context_attention_perf.parquet")
	if len(a.Rows) != 5457 || a.Rows[0].GPU != "a100_sxm" {
		t.Errorf("a100 context: %d rows, GPU %q; expected 5457 rows of a100_sxm", len(a.Rows), a.Rows[0].GPU)
	}
}

func TestReadAiconfiguratorNCCL(t *testing.T) {
	// 2.23 has the older column order (nccl_dtype, num_gpus, message_size,
	// kernel_source, op_name, latency) and no device column: the GPU comes
	// from the directory. Row 1: half, 2 GPUs, 1024 elements, all_gather,
	// 0.00598 ms.
	old := readOne(t, "data/aiconfigurator/h100_sxm/comm/nccl/2.23/nccl_perf.parquet")
	m := old.Rows[0]
	if m.Op != cost.OpAllGather || m.GPUs != 2 || m.Bytes != 2048 || m.Dtype != "fp16" || m.GPU != "h100_sxm" || m.MeanNs != 0.005980000000000001e6 {
		t.Errorf("2.23 row 1 = %+v", m)
	}
	// 342 rows, 114 of them alltoall.
	if n := countOps(old); len(old.Rows) != 342 || n[cost.OpAllToAll] != 114 {
		t.Errorf("2.23: %d measurements (ops %v), expected 342 with 114 all_to_all", len(old.Rows), n)
	}
	// The newer layout: row 1 is all_gather, half, 2 GPUs, 256 elements.
	nw := readOne(t, "data/aiconfigurator/h100_sxm/comm/nccl/2.29.2/nccl_perf.parquet")
	m = nw.Rows[0]
	if m.Op != cost.OpAllGather || m.GPUs != 2 || m.Bytes != 512 || m.MeanNs != 0.00531e6 {
		t.Errorf("2.29.2 row 1 = %+v", m)
	}
	if n := countOps(nw); n[cost.OpAllReduce] != 126 || n[cost.OpReduceScatter] != 126 {
		t.Errorf("2.29.2 ops %v", n)
	}
	ca := readOne(t, "data/aiconfigurator/h100_sxm/comm/vllm/0.24.0/custom_allreduce_perf.parquet")
	m = ca.Rows[0]
	// Row 1: vLLM_custom_graph, bfloat16, 2 GPUs, 128 elements, 0.0042915 ms.
	if m.Op != cost.OpCustomAllReduce || m.Kernel != "vLLM_custom_graph" || m.Bytes != 256 || m.GPUs != 2 || m.MeanNs != 0.004291520118713379e6 {
		t.Errorf("custom all-reduce row 1 = %+v", m)
	}
}

func TestReadVidur(t *testing.T) {
	net := readOne(t, "data/vidur/network/h100_dgx/all_reduce.csv")
	// Line 2: 8 workers, 2048 bytes, devices_per_node 8, median 0.037 ms.
	m := net.Rows[0]
	if m.Op != cost.OpAllReduce || m.GPUs != 8 || m.GPUsPerNode != 8 || m.Bytes != 2048 || m.GPU != "h100_sxm" ||
		m.MedianNs != 0.037e6 || m.MeanNs != 0.03e6 || m.LatencyNs() != 0.037e6 {
		t.Errorf("all_reduce line 2 = %+v", m)
	}
	sr := readOne(t, "data/vidur/network/h100_dgx/send_recv.csv")
	if sr.Rows[0].Op != cost.OpSend || sr.Rows[0].Bytes != 2048 || sr.Rows[0].GPUsPerNode != 1 {
		t.Errorf("send_recv line 2 = %+v", sr.Rows[0])
	}
	mlp := readOne(t, "data/vidur/compute/h100/meta-llama/Llama-2-7b-hf/mlp.csv")
	n := countOps(mlp)
	if n[cost.OpGEMM] != 4*105 || n[cost.OpElementwise] != 4*105 {
		t.Errorf("mlp.csv ops %v, expected 4 GEMMs and 4 element-wise rows per line", n)
	}
	// Line 2: Llama-2-7B, 4096 tokens, TP 1: attn_pre_proj is a 4096 x
	// 4096 by 4096 x 12288 GEMM (QKV), median 0.584 ms; mlp_up_proj 4096 x
	// 4096 by 4096 x 22016 (gated), median 0.987 ms.
	var qkv, up Measurement
	for _, r := range mlp.Rows[:8] {
		switch r.Kernel {
		case "vidur:attn_pre_proj":
			qkv = r
		case "vidur:mlp_up_proj":
			up = r
		}
	}
	if qkv.M != 4096 || qkv.N != 12288 || qkv.K != 4096 || qkv.MedianNs != 0.584e6 {
		t.Errorf("attn_pre_proj = %+v", qkv)
	}
	if up.M != 4096 || up.N != 22016 || up.K != 4096 || up.MedianNs != 0.987e6 {
		t.Errorf("mlp_up_proj = %+v", up)
	}
}

func TestReadCommitDate(t *testing.T) {
	ms := readOne(t, "data/aiconfigurator/a100_sxm")
	if ms.SourceCommit != "095f58a51c4ca8e61b66ec108d86f223f8d559ce" || ms.SourceDate != "2026-08-21" {
		t.Errorf("commit %q date %q, expected data/aiconfigurator/COMMIT's", ms.SourceCommit, ms.SourceDate)
	}
	if len(ms.Sources) != 5 || ms.Sources[0].Path != "attention/vllm/0.14.0/context_attention_perf.parquet" {
		t.Errorf("sources %+v, expected 5 paths relative to the directory, in lexical order", ms.Sources)
	}
}

// canonicalCSV is a small table in the canonical schema, with one row of
// each shape family.
const canonicalCSV = `op,gpu,dtype,m,n,k,batch,seq_len,heads,kv_heads,head_dim,bytes,gpus,samples,mean_us,median_us,std_us
gemm,H100-SXM,bfloat16,128,4096,4096,,,,,,,,20,30.5,30.1,0.4
context_attention,h100_sxm,bf16,,,,2,1024,32,8,128,,,20,120,118,2
generation_attention,h100,bf16,,,,64,4096,32,8,128,,,20,80,79,1
all_reduce,h100_sxm,fp16,,,,,,,,,1048576,8,50,25,24.5,0.3
`

func wantCanonical(t *testing.T, ms *Measurements) {
	t.Helper()
	if len(ms.Rows) != 4 {
		t.Fatalf("%d rows, expected 4", len(ms.Rows))
	}
	g := ms.Rows[0]
	if g.Op != cost.OpGEMM || g.GPU != "h100_sxm" || g.Dtype != "bf16" || g.M != 128 || g.N != 4096 || g.K != 4096 ||
		g.Samples != 20 || g.MeanNs != 30500 || g.MedianNs != 30100 || g.StdNs != 400 {
		t.Errorf("gemm row = %+v", g)
	}
	c := ms.Rows[1]
	if c.Op != cost.OpContextAttention || c.Batch != 2 || c.SeqLen != 1024 || c.Heads != 32 || c.KVHeads != 8 || c.HeadDim != 128 {
		t.Errorf("context row = %+v", c)
	}
	if ms.Rows[2].GPU != "h100_sxm" {
		t.Errorf("gpu alias h100 read as %q, expected h100_sxm", ms.Rows[2].GPU)
	}
	a := ms.Rows[3]
	if a.Op != cost.OpAllReduce || a.Bytes != 1<<20 || a.GPUs != 8 || a.LatencyNs() != 24500 {
		t.Errorf("all_reduce row = %+v", a)
	}
}

func TestReadCanonicalCSV(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mine.csv")
	if err := os.WriteFile(p, []byte(canonicalCSV), 0o644); err != nil {
		t.Fatal(err)
	}
	ms := readOne(t, p)
	wantCanonical(t, ms)
	if ms.Sources[0].Layout != "lodsim canonical" {
		t.Errorf("layout %q", ms.Sources[0].Layout)
	}
}

// canonicalRecord builds the canonical table as an Arrow record.
func canonicalRecord(t *testing.T) arrow.Record {
	t.Helper()
	tbl, err := readCSV("x.csv", []byte(canonicalCSV))
	if err != nil {
		t.Fatal(err)
	}
	var fields []arrow.Field
	for _, c := range tbl.cols {
		typ := arrow.DataType(arrow.PrimitiveTypes.Float64)
		switch c.name {
		case "op", "gpu", "dtype":
			typ = arrow.BinaryTypes.String
		case "m", "n", "k", "batch", "seq_len", "heads", "kv_heads", "head_dim", "bytes", "gpus", "samples":
			typ = arrow.PrimitiveTypes.Int64
		}
		fields = append(fields, arrow.Field{Name: c.name, Type: typ, Nullable: true})
	}
	b := array.NewRecordBuilder(memory.NewGoAllocator(), arrow.NewSchema(fields, nil))
	for ci, c := range tbl.cols {
		for _, s := range c.str {
			switch fb := b.Field(ci).(type) {
			case *array.StringBuilder:
				fb.Append(s)
			case *array.Int64Builder:
				if s == "" {
					fb.AppendNull()
					continue
				}
				x, err := strconv.ParseInt(s, 10, 64)
				if err != nil {
					t.Fatal(err)
				}
				fb.Append(x)
			case *array.Float64Builder:
				x, err := strconv.ParseFloat(s, 64)
				if err != nil {
					t.Fatal(err)
				}
				fb.Append(x)
			}
		}
	}
	return b.NewRecord()
}

func TestReadCanonicalArrow(t *testing.T) {
	rec := canonicalRecord(t)
	dir := t.TempDir()
	f, err := os.Create(filepath.Join(dir, "mine.arrow"))
	if err != nil {
		t.Fatal(err)
	}
	fw, err := ipc.NewFileWriter(f, ipc.WithSchema(rec.Schema()))
	if err != nil {
		t.Fatal(err)
	}
	if err := fw.Write(rec); err != nil {
		t.Fatal(err)
	}
	if err := fw.Close(); err != nil {
		t.Fatal(err)
	}
	f.Close()
	file, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	var stream bytes.Buffer
	sw := ipc.NewWriter(&stream, ipc.WithSchema(rec.Schema()))
	if err := sw.Write(rec); err != nil {
		t.Fatal(err)
	}
	sw.Close()
	for name, data := range map[string][]byte{"mine.arrow": file, "mine.arrows": stream.Bytes()} {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, data, 0o644); err != nil {
			t.Fatal(err)
		}
		wantCanonical(t, readOne(t, p))
	}
}

type canonicalParquetRow struct {
	Op       string  `parquet:"op"`
	GPU      string  `parquet:"gpu"`
	M        int64   `parquet:"m,optional"`
	N        int64   `parquet:"n,optional"`
	K        int64   `parquet:"k,optional"`
	MedianMs float64 `parquet:"median_ms"`
}

func TestReadCanonicalParquet(t *testing.T) {
	p := filepath.Join(t.TempDir(), "mine.parquet")
	rows := []canonicalParquetRow{{"gemm", "a100_sxm", 64, 1024, 1024, 0.012}, {"gemm", "a100_sxm", 128, 1024, 1024, 0.015}}
	if err := parquet.WriteFile(p, rows); err != nil {
		t.Fatal(err)
	}
	ms := readOne(t, p)
	if len(ms.Rows) != 2 || ms.Rows[1].M != 128 || ms.Rows[1].MedianNs != 15000 || ms.Rows[1].GPU != "a100_sxm" {
		t.Errorf("rows %+v", ms.Rows)
	}
}

func TestReadBadTables(t *testing.T) {
	dir := t.TempDir()
	cases := []struct {
		name, data string
		want       []string
	}{
		{"unknown_column.csv", "op,m,n,k,median_us,colour\ngemm,1,2,3,4,blue\n",
			[]string{"unknown_column.csv", `unknown column(s) "colour"`, "lodsim canonical"}},
		{"no_layout.csv", "a,b\n1,2\n", []string{"no_layout.csv", "match no known measurement layout"}},
		{"negative.csv", "op,m,n,k,median_us\ngemm,16,16,16,5\ngemm,16,16,16,-3\n",
			[]string{"negative.csv", "line 3", `"median_us"`, "found -3", "expected zero or more"}},
		{"zero_m.csv", "op,m,n,k,median_us\ngemm,0,16,16,5\n", []string{"line 2", `"m"`, "found 0", "positive integer"}},
		{"text.csv", "op,m,n,k,median_us\ngemm,16,sixteen,16,5\n", []string{"line 2", `"n"`, `found "sixteen", expected a number`}},
		{"fraction.csv", "op,m,n,k,median_us\ngemm,16.5,16,16,5\n", []string{"line 2", `"m"`, "expected an integer"}},
		{"no_latency.csv", "op,m,n,k,median_us\ngemm,16,16,16,\n", []string{"line 2", "no latency"}},
		{"bad_op.csv", "op,m,n,k,median_us\nmatmul,16,16,16,5\n", []string{"line 2", `"op"`, `found "matmul"`, "gemm"}},
		{"two_units.csv", "op,m,n,k,median_us,median_ms\ngemm,16,16,16,5,0.005\n", []string{"line 2", "second median latency column"}},
		{"gqa.csv", "op,batch,seq_len,heads,kv_heads,head_dim,median_us\ncontext_attention,1,128,32,5,128,10\n",
			[]string{"line 2", `"kv_heads"`, "found 5", "divisor of heads"}},
		{"one_gpu.csv", "op,bytes,gpus,median_us\nall_reduce,1024,1,10\n", []string{"line 2", `"gpus"`, "found 1", "2 or more"}},
		{"ragged.csv", "op,m,n,k,median_us\ngemm,1,2\n", []string{"ragged.csv", "wrong number of fields"}},
		{"aic_negative.csv", "m,n,k,gemm_dtype,latency\n16,16,16,bfloat16,-1\n", []string{"line 2", `"latency"`, "found -1e+06"}},
		{"aic_elems.csv", "op_name,nccl_dtype,num_gpus,message_size,latency\nall_reduce,half,2,-4,0.1\n",
			[]string{"line 2", `"message_size"`, "found -4", "element count"}},
		{"aic_dtype.csv", "op_name,nccl_dtype,num_gpus,message_size,latency\nall_reduce,quarter,2,4,0.1\n",
			[]string{"line 2", `"nccl_dtype"`, `found "quarter"`}},
		{"vidur_coll.csv", ",time_stats.all_reduce.median,num_workers,size,collective\n0,0.1,2,1024,broadcast\n",
			[]string{"line 2", `"collective"`, `found "broadcast"`}},
		{"aic_quant.csv", "m,n,k,gemm_dtype,latency\n16,16,16,fp8,0.01\n16,16,16,int3_magic,0.01\n",
			[]string{"line 3", `"gemm_dtype"`, `unknown quant mode "int3_magic"`, "nvfp4"}},
		{"aic_moe_quant.csv", "moe_dtype,num_tokens,hidden_size,inter_size,topk,num_experts,moe_tp_size,moe_ep_size,latency\nfp9,1,4096,1024,8,128,1,1,0.1\n",
			[]string{"line 2", `"moe_dtype"`, `unknown quant mode "fp9"`}},
		{"aic_moe_topk.csv", "moe_dtype,num_tokens,hidden_size,inter_size,topk,num_experts,moe_tp_size,moe_ep_size,latency\nbfloat16,1,4096,1024,16,8,1,1,0.1\n",
			[]string{"line 2", `"topk"`, "found 16", "at most num_experts (8)"}},
		{"canon_quant.csv", "op,quant,m,n,k,median_us\ngemm,fp5,16,16,16,5\n", []string{"line 2", `"quant"`, `unknown quant mode "fp5"`}},
		{"canon_engine.csv", "op,engine,m,n,k,median_us\ngemm,tgi,16,16,16,5\n", []string{"line 2", `"engine"`, `found "tgi"`}},
	}
	for _, c := range cases {
		p := filepath.Join(dir, c.name)
		if err := os.WriteFile(p, []byte(c.data), 0o644); err != nil {
			t.Fatal(err)
		}
		_, err := ReadMeasurements(p)
		if err == nil {
			t.Errorf("%s: read without error", c.name)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s: error %q lacks %q", c.name, err, w)
			}
		}
	}
	// A Parquet file that is cut short.
	data, err := os.ReadFile("data/aiconfigurator/a100_sxm/comm/nccl/2.27.3/nccl_perf.parquet")
	if err != nil {
		t.Fatal(err)
	}
	p := filepath.Join(dir, "cut.parquet")
	if err := os.WriteFile(p, data[:len(data)/2], 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := ReadMeasurements(p); err == nil || !strings.Contains(err.Error(), "cut.parquet") {
		t.Errorf("truncated parquet: %v, expected an error naming the file", err)
	}
	empty := t.TempDir()
	if _, err := ReadMeasurements(empty); !errors.Is(err, ErrNoMeasurements) {
		t.Errorf("empty directory: %v, expected ErrNoMeasurements", err)
	}
}

// TestReadAiconfiguratorSideFiles reads a table directory laid out as
// aiconfigurator's: collection_meta.yaml names the engine and version
// (over the directory names), and a reuse.yaml pointing at a version that is
// not there becomes a note.
func TestReadAiconfiguratorSideFiles(t *testing.T) {
	root := t.TempDir()
	dir := filepath.Join(root, "b200_sxm", "moe", "trtllm", "1.3.0rc23-folder")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	write := func(name, data string) {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("moe_perf.csv", "moe_dtype,num_tokens,hidden_size,inter_size,topk,num_experts,moe_tp_size,moe_ep_size,distribution,latency\n"+
		"w4a8_mxfp4_mxfp8,1,4096,2048,6,256,2,32,balanced,0.0184\n")
	write("collection_meta.yaml", "schema_version: 1\nruntime:\n  framework: trtllm\n  version: 1.3.0rc23\ntables:\n  moe_perf:\n    status: partial\n")
	write("reuse.yaml", "schema_version: 1\nreuse:\n- table: moe_perf\n  from_version: 1.3.0rc20\n  reason: older shapes\n")
	ms, err := ReadMeasurements(filepath.Join(root, "b200_sxm"))
	if err != nil {
		t.Fatal(err)
	}
	m := ms.Rows[0]
	if m.Op != cost.OpMoE || m.Engine != "trtllm" || m.Version != "1.3.0rc23" || m.Quant != cost.W4A8MXFP4 || m.GPU != "b200_sxm" ||
		m.Batch != 1 || m.Hidden != 4096 || m.Inter != 2048 || m.TopK != 6 || m.Experts != 256 || m.MoETP != 2 || m.MoEEP != 32 ||
		m.Distribution != "balanced" {
		t.Errorf("moe row = %+v", m)
	}
	notes := strings.Join(ms.Notes, "\n")
	if !strings.Contains(notes, "reuses version 1.3.0rc20, which is not in the tables read") || !strings.Contains(notes, `calls the table "partial"`) {
		t.Errorf("notes %q, expected the missing reuse source and the partial table", notes)
	}
	write("collection_meta.yaml", "schema_version: 7\n")
	if _, err := ReadMeasurements(filepath.Join(root, "b200_sxm")); err == nil || !strings.Contains(err.Error(), "collection_meta.yaml: schema_version: found 7") {
		t.Errorf("bad schema version: %v", err)
	}
	write("collection_meta.yaml", "schema_version: 1\nruntime:\n  framework: tgi\n")
	if _, err := ReadMeasurements(filepath.Join(root, "b200_sxm")); err == nil || !strings.Contains(err.Error(), `runtime.framework: found "tgi"`) {
		t.Errorf("unknown framework: %v", err)
	}
}

// TestReadCompactTable reads a shipped compact table back: every op the
// calibration uses, engine-specific rows labelled with the engine and the
// NCCL rows with none.
func TestReadCompactTable(t *testing.T) {
	ms := readOne(t, "data/aiconfigurator/compact/b200_sxm.sglang.csv.gz")
	n := countOps(ms)
	if n[cost.OpContextMLA] == 0 || n[cost.OpGenerationMLA] == 0 || n[cost.OpAllToAll] == 0 || n[cost.OpGEMM] < 100000 {
		t.Fatalf("ops %v: expected MLA, all-to-all and the GEMMs of four precisions", n)
	}
	for _, r := range ms.Rows {
		if r.Op == cost.OpGEMM && r.Engine != "sglang" || r.Op == cost.OpAllToAll && r.Engine != "" {
			t.Fatalf("row %d: engine %q for %s", r.Row, r.Engine, r.Op)
		}
	}
	if len(ms.Sources) != 1 || ms.Sources[0].Layout != "lodsim canonical" {
		t.Errorf("sources %+v", ms.Sources)
	}
}

// TestReadSmoothQuantAndMLANames reads what the older trtllm tables hold:
// SmoothQuant ("sq") GEMM rows, which lodsim has no precision for, are
// skipped with a note naming the file and the count (not an error), and the
// MLA tables' op names context_mla/generation_mla read like
// mla_context/mla_generation.
func TestReadSmoothQuantAndMLANames(t *testing.T) {
	dir := t.TempDir()
	write := func(name, data string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	gemm := write("gemm_perf.csv", "m,n,k,gemm_dtype,latency\n16,16,16,float16,0.01\n16,16,16,sq,0.01\n32,16,16,SQ,0.01\n32,16,16,fp8,0.01\n")
	ms := readOne(t, gemm)
	if len(ms.Rows) != 2 || ms.Rows[0].Quant != cost.BF16 || ms.Rows[1].Quant != cost.FP8 || ms.Rows[1].Row != 4 {
		t.Errorf("rows %+v, expected the bf16 and fp8 rows (file rows 1 and 4)", ms.Rows)
	}
	if notes := strings.Join(ms.Notes, "\n"); !strings.Contains(notes, `gemm_perf.csv: 2 rows of quant mode "sq" skipped`) {
		t.Errorf("notes %q, expected the 2 skipped SmoothQuant rows", notes)
	}
	const mlaHead = "op_name,mla_dtype,kv_cache_dtype,num_heads,batch_size,isl,step,latency\n"
	mla := write("mla_perf.csv", mlaHead+"context_mla,bfloat16,bfloat16,16,1,128,0,0.05\ngeneration_mla,bfloat16,fp8,16,4,128,3,0.02\n")
	ms = readOne(t, mla)
	if len(ms.Rows) != 2 || ms.Rows[0].Op != cost.OpContextMLA || ms.Rows[1].Op != cost.OpGenerationMLA || ms.Rows[1].SeqLen != 131 {
		t.Errorf("mla rows %+v, expected a context row and a generation row at KV length 131", ms.Rows)
	}
	bad := write("mla_bad.csv", mlaHead+"mla_prefill,bfloat16,bfloat16,16,1,128,0,0.05\n")
	if _, err := ReadMeasurements(bad); err == nil || !strings.Contains(err.Error(), `found "mla_prefill"`) {
		t.Errorf("unknown MLA op: %v, expected an error naming it", err)
	}
}

// TestReadMegaMoEUnused reads a DeepSeek-V4/Kimi MegaMoE module table (two
// rows of B200 sglang 0.5.16's dsv4_megamoe_module_perf, as CSV): it is
// recognised, gives no MoE rows, and a note says why.
func TestReadMegaMoEUnused(t *testing.T) {
	p := filepath.Join(t.TempDir(), "dsv4_megamoe_module_perf.csv")
	csv := "framework,op_name,kernel_source,phase,moe_dtype,kernel_dtype,num_tokens,global_num_tokens,hidden_size," +
		"inter_size,topk,num_experts,moe_tp_size,moe_ep_size,distribution,latency\n" +
		"SGLang,dsv4_megamoe_module,deepgemm_megamoe,context,w4a8_mxfp4_mxfp8,fp8_fp4,1024,8192,3584,3072,16,896,1,8,balanced,0.746501\n" +
		"SGLang,dsv4_megamoe_module,deepgemm_megamoe,generation,w4a8_mxfp4_mxfp8,fp8_fp4,1,8,3584,3072,16,896,1,8,balanced,0.107125\n"
	if err := os.WriteFile(p, []byte(csv), 0o644); err != nil {
		t.Fatal(err)
	}
	// Alone it gives no rows: the error says why.
	if _, err := ReadMeasurements(p); !errors.Is(err, ErrNoMeasurements) || !strings.Contains(err.Error(), "2 rows not used: fused MegaMoE") {
		t.Errorf("MegaMoE table alone: %v, expected no measurements with the reason", err)
	}
	// Beside a table lodsim uses, it is recognised, gives no rows and a note
	// says why.
	ms := readOne(t, p, "data/aiconfigurator/h100_sxm/gemm/vllm/0.24.0/gemm_perf.parquet")
	if countOps(ms)[cost.OpMoE] != 0 || len(ms.Sources) != 2 || ms.Sources[0].Layout != "aiconfigurator dsv4_megamoe_module_perf (not used)" ||
		ms.Sources[0].Rows != 0 {
		t.Fatalf("ops %v, sources %+v: expected the MegaMoE table recognised with no rows", countOps(ms), ms.Sources)
	}
	if len(ms.Notes) != 1 || !strings.Contains(ms.Notes[0], "dsv4_megamoe_module_perf.csv: 2 rows not used: fused MegaMoE") ||
		!strings.Contains(ms.Notes[0], "all-to-all") {
		t.Errorf("notes %q: expected one saying why the MegaMoE rows are not used", ms.Notes)
	}
}
