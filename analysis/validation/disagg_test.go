package validation

import (
	"slices"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/replay"
)

// TestDisaggRowMapping: a disaggregated row of the silicon layout, whose
// batch_size and tp_size are blank, reads its pools from the prefill_* and
// decode_* columns (a blank worker count is one worker) and its clients
// from silicon_data_source, and maps onto cluster.disaggregated.
func TestDisaggRowMapping(t *testing.T) {
	csv := "id,silicon_data_source,backend,backend_version,model_path,system,precision,mode,isl,osl,batch_size,tp_size,pp_size," +
		"prefill_num_workers,prefill_tp_size,prefill_pp_size,decode_num_workers,decode_tp_size,decode_pp_size,silicon_ttft_ms,silicon_tpot_ms\n" +
		"r1,source_file=x.csv; silicon_concurrency=24; wip=False,sglang,0.5.1.post1,Qwen/Qwen3-32B,h100_sxm,bf16,disagg,1024,128,,,," +
		",2,1,3,4,1,500,20\n"
	rows, _, err := ReadBenchmarks(strings.NewReader(csv), "x.csv")
	if err != nil {
		t.Fatal(err)
	}
	r := rows[0]
	if !r.Disaggregated() || r.Concurrency != 24 || r.Disagg.PrefillTP != 2 || r.Disagg.PrefillWorkers != 0 || r.Disagg.DecodeWorkers != 3 || r.Disagg.DecodeTP != 4 {
		t.Fatalf("row read as %+v", r)
	}
	x, err := RowConfig(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := x.Config()
	d := c.Cluster.Disaggregated
	if d == nil || d.Prefill.Workers != 1 || d.Prefill.TensorParallel != 2 || d.Decode.Workers != 3 || d.Decode.TensorParallel != 4 {
		t.Fatalf("cluster %+v", c.Cluster)
	}
	if c.GPUs() != 14 || c.Workload.ClosedLoop.Clients != 24 {
		t.Errorf("%d GPUs, %d clients; expected 14 and 24", c.GPUs(), c.Workload.ClosedLoop.Clients)
	}
	// The rows carry no transfer setup and SGLang PD documents no default
	// one (BENCHMARKS.md "KV transfer setup of disaggregated rows").
	if d.Transfer != (replay.TransferConfig{}) {
		t.Errorf("transfer %+v, expected replay's defaults (setup_us 0)", d.Transfer)
	}
	// The row has no one TP: its label and per-engine group name the pools.
	if l, g := r.Label(), r.Parallelism(); l != "Qwen3-32B h100_sxm isl=1024 osl=128 c=24 p=1x2 d=3x4" || g != "p=1x2 d=3x4" {
		t.Errorf("label %q, group %q; expected each pool's workers x TP", l, g)
	}
	r.Disagg.DecodePP, r.Disagg.DecodeAttentionDP, r.Disagg.DecodeMoEEP = 2, 4, 8
	if l := r.Label(); !strings.HasSuffix(l, " p=1x2 d=3x4/pp2/dp4/ep8") {
		t.Errorf("label %q, expected the decode pool's PP, attention DP and EP after its TP", l)
	}
	r.Mode = ""
	if l, g := r.Label(), r.Parallelism(); !strings.HasSuffix(l, " tp=0 pp=1") || g != "TP  0" {
		t.Errorf("aggregated label %q, group %q", l, g)
	}
}

// TestDisaggDevGroup simulates every disaggregated row of the dev set
// (DeepSeek-R1 FP8 on H200, SGLang, TP8 pools, in their InferenceX
// recipes' worker counts): none may be skipped but a row repeating another
// (it counts once, markRepeats). Its accuracy is logged, not asserted
// (TestShippedConstantsAccuracy pins it).
func TestDisaggDevGroup(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates 64 rows")
	}
	rows, _, err := ReadBenchmarkFile("testdata/silicon_dev.csv")
	if err != nil {
		t.Fatal(err)
	}
	var dis []Row
	for _, r := range rows {
		if r.Disaggregated() {
			dis = append(dis, r)
		}
	}
	rep, err := Validate(dis, Options{})
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range rep.Predictions {
		if !p.Simulated() && p.Row.Repeats == 0 {
			t.Errorf("%s skipped: %s", p.Row.ID, p.Skipped)
		}
	}
	for _, g := range rep.TTFT.Groups {
		t.Logf("TTFT %s: %d rows, MAPE %.1f %%, median APE %.1f %%", g.Group, g.Count, g.MAPE, g.MedianAPE)
	}
	for _, g := range rep.TPOT.Groups {
		t.Logf("TPOT %s: %d rows, MAPE %.1f %%, median APE %.1f %%", g.Group, g.Count, g.MAPE, g.MedianAPE)
	}
}

// TestDisaggRowExpertParallel: a disaggregated row's per-pool
// attention_dp_size, moe_ep_size and moe_tp_size map onto each pool's
// attention_data_parallel, expert_parallel and moe_tensor_parallel (a
// pool's workers times its attention DP are its replicas), and a
// moe_tp_size that disagrees with TP x attention DP / EP skips the row
// naming the pool's field.
func TestDisaggRowExpertParallel(t *testing.T) {
	rows, _, err := ReadBenchmarkFile("testdata/silicon_dev.csv")
	if err != nil {
		t.Fatal(err)
	}
	var r Row
	for _, x := range rows {
		if x.Disaggregated() && x.Disagg.PrefillMoEEP == 8 {
			r = x
			break
		}
	}
	if d := r.Disagg; d.PrefillMoETP != 1 || d.DecodeMoEEP != 8 || d.DecodeMoETP != 1 || d.PrefillTP != 8 {
		t.Fatalf("dev row %q read as %+v, expected TP8 EP8 MoE TP1 in both pools", r.ID, d)
	}
	r.Concurrency, r.Disagg.DecodeTP, r.Disagg.DecodeAttentionDP, r.Disagg.DecodeMoETP = 4, 1, 8, 0
	x, err := RowConfig(r, Options{RequestsPerClient: 1})
	if err != nil {
		t.Fatal(err)
	}
	d := x.Config().Cluster.Disaggregated
	if p := d.Prefill; p.Workers != 1 || p.TensorParallel != 8 || p.ExpertParallel != 8 || p.MoETensorParallel != 1 || p.AttentionDataParallel != 0 {
		t.Errorf("prefill pool %+v, expected 1 worker, TP8, EP8, MoE TP1", p)
	}
	if p := d.Decode; p.Workers != 8 || p.TensorParallel != 1 || p.ExpertParallel != 8 || p.AttentionDataParallel != 8 {
		t.Errorf("decode pool %+v, expected 8 workers of TP1 in attention DP8 with EP8", p)
	}
	r.Disagg.DecodeMoETP = 2
	if _, err := RowConfig(r, Options{RequestsPerClient: 1}); err == nil || !strings.Contains(err.Error(), "cluster.disaggregated.decode.moe_tensor_parallel: 2") {
		t.Errorf("moe_tp_size 2 at TP1 x DP8 / EP8: %v", err)
	}
}

// TestDisaggRecipeLayout: a DeepSeek-R1 / H200 / SGLang disaggregated row
// with blank worker counts runs as the first InferenceX entry whose
// conc-list holds its concurrency (recipes.go disaggRecipes): 9 decode
// workers for 16 clients at 1024/1024, 6 at 8192/1024 (bs8-1p6d listed
// before bs16-1p3d) and at 2 (only bs8-1p6d's MTP twin lists 2),
// attention data parallelism over both pools' 8 GPUs for the EP8 "dep"
// entry and over the decode pool's for bs128-1p1d-dep (whose decode EP
// the dump records as the prefill's, dumpEPMatches); a layout no entry
// lists, a row that names its workers, or one whose source is not
// InferenceMAX's (a file of one's own), keeps its own layout.
func TestDisaggRecipeLayout(t *testing.T) {
	rows, _, err := ReadBenchmarkFile("testdata/silicon_dev.csv")
	if err != nil {
		t.Fatal(err)
	}
	find := func(isl, conc, ep int) Row {
		for _, r := range rows {
			if r.Disaggregated() && r.ISL == isl && r.Concurrency == conc && max(r.Disagg.DecodeMoEEP, 1) == ep {
				return r
			}
		}
		t.Fatalf("no dev row at isl %d, %d clients, EP%d", isl, conc, ep)
		return Row{}
	}
	pools := func(r Row) (p, d replay.PoolConfig) {
		t.Helper()
		x, err := RowConfig(r, Options{RequestsPerClient: 1})
		if err != nil {
			t.Fatal(err)
		}
		c := x.Config().Cluster.Disaggregated
		return c.Prefill, c.Decode
	}
	for _, c := range []struct {
		isl, conc, ep      int
		pWorkers, dWorkers int
	}{{1024, 16, 1, 1, 9}, {1024, 512, 1, 1, 6}, {8192, 16, 1, 1, 6}, {8192, 64, 1, 2, 3}, {8192, 2, 1, 1, 6}} {
		p, d := pools(find(c.isl, c.conc, c.ep))
		if p.Workers != c.pWorkers || d.Workers != c.dWorkers || p.TensorParallel != 8 || d.TensorParallel != 8 || d.AttentionDataParallel != 0 {
			t.Errorf("isl %d, %d clients: prefill %+v, decode %+v; expected %d and %d workers of TP8", c.isl, c.conc, p, d, c.pWorkers, c.dWorkers)
		}
	}
	r := find(1024, 512, 8)
	p, d := pools(r)
	if p.Workers != 8 || p.TensorParallel != 1 || p.AttentionDataParallel != 8 || p.ExpertParallel != 8 {
		t.Errorf("dep prefill pool %+v, expected one worker of attention DP8 (8 replicas of TP1) with EP8", p)
	}
	if d.Workers != 48 || d.TensorParallel != 1 || d.AttentionDataParallel != 8 || d.ExpertParallel != 8 {
		t.Errorf("dep decode pool %+v, expected 6 workers of attention DP8 (48 replicas of TP1) with EP8", d)
	}
	// The recipe's max-running-requests 512 over 8 attention ranks, and its
	// mem-fraction-static; bs8-1p6d's decode runs at most 16.
	if d.MaxNumSeqs != 64 || d.GPUMemoryUtilization != 0.82 || p.MaxNumSeqs != 64 || p.GPUMemoryUtilization != 0.75 {
		t.Errorf("dep pools' limits: prefill %d seqs at %v, decode %d at %v; expected 64 at 0.75 and 64 at 0.82",
			p.MaxNumSeqs, p.GPUMemoryUtilization, d.MaxNumSeqs, d.GPUMemoryUtilization)
	}
	if _, d := pools(find(8192, 16, 1)); d.MaxNumSeqs != 16 {
		t.Errorf("bs8-1p6d decode pool runs %d sequences, expected 16", d.MaxNumSeqs)
	}
	// 8192/1024 at 256 and 512 clients: recorded decode EP 1 (the dump
	// writes the prefill's ep in both pools), run as bs128-1p1d-dep and its
	// MTP twin (the only entries listing 512): one TP8 EP1 prefill worker
	// and one decode worker of attention DP8 with EP8, max-running-requests
	// 256 and 192 over its 8 ranks.
	for _, c := range []struct{ conc, seqs int }{{256, 32}, {512, 24}} {
		p, d := pools(find(8192, c.conc, 1))
		if p.Workers != 1 || p.TensorParallel != 8 || p.ExpertParallel > 1 || p.AttentionDataParallel != 0 {
			t.Errorf("8192/1024 at %d clients: prefill %+v, expected one TP8 worker without EP", c.conc, p)
		}
		if d.Workers != 8 || d.TensorParallel != 1 || d.AttentionDataParallel != 8 || d.ExpertParallel != 8 || d.MaxNumSeqs != c.seqs {
			t.Errorf("8192/1024 at %d clients: decode %+v, expected one worker of attention DP8 (8 replicas of TP1) with EP8 and %d sequences a rank",
				c.conc, d, c.seqs)
		}
	}
	// A decode EP recorded apart from the prefill's is the pool's own: EP8
	// at 8192/1024 and 256 clients is the entry's; EP1 behind an EP8
	// prefill at 1024/1024 is no entry's, and the row keeps its 1P+1D.
	r = find(8192, 256, 1)
	r.Disagg.DecodeMoEEP = 8
	if _, d := pools(r); d.Workers != 8 || d.AttentionDataParallel != 8 {
		t.Errorf("8192/1024 at 256 clients recorded with decode EP8: decode %+v, expected bs128-1p1d-dep's", d)
	}
	r = find(1024, 512, 8)
	r.Disagg.DecodeMoEEP = 1
	if rc := disaggRecipeFor(r); rc != nil {
		t.Errorf("1024/1024 EP8 prefill with a decode recorded EP1 ran as %s, expected no entry", rc.name)
	}
	// Each prefill pool's token budget a step: the smaller of its
	// max-prefill-tokens and chunked-prefill-size (over its dp-size with
	// dp-attn: 65536 against 262144 / 8); decode pools keep the engine's,
	// and so does a row no entry lists.
	for _, c := range []struct {
		isl, conc, ep, budget int
	}{{1024, 16, 1, 163840}, {1024, 512, 1, 163840}, {1024, 512, 8, 32768}, {8192, 4, 1, 32768}, {8192, 64, 1, 32768}, {8192, 256, 1, 163840}} {
		x, err := RowConfig(find(c.isl, c.conc, c.ep), Options{RequestsPerClient: 1})
		if err != nil {
			t.Fatal(err)
		}
		cfg := x.Config()
		engine := cfg.Scheduler.MaxNumBatchedTokens // SGLang's default, 8192 on an H200
		want := c.budget
		if want == 0 {
			want = engine
		}
		p, d := cfg.Cluster.Disaggregated.Prefill, cfg.Cluster.Disaggregated.Decode
		if p.MaxNumBatchedTokens != want || d.MaxNumBatchedTokens != engine {
			t.Errorf("isl %d, %d clients, EP%d: prefill budget %d, decode %d; expected %d and the engine's %d", c.isl, c.conc, c.ep, p.MaxNumBatchedTokens, d.MaxNumBatchedTokens, want, engine)
		}
	}
	pr, err := Predict(find(1024, 16, 1), Options{RequestsPerClient: 1, All: true})
	if err != nil || pr.Skipped != "" {
		t.Fatalf("predict: %v %s", err, pr.Skipped)
	}
	if l := pr.Row.Label(); !strings.HasSuffix(l, " p=1x8 d=9x8") {
		t.Errorf("prediction labelled %q, expected the recipe's pools", l)
	}
	r = find(1024, 16, 1)
	r.Disagg.DecodeWorkers = 2
	if _, d := pools(r); d.Workers != 2 {
		t.Errorf("a row naming 2 decode workers ran %d", d.Workers)
	}
	r = find(1024, 16, 1)
	r.InferenceMAX = false
	if p, d := pools(r); p.Workers != 1 || d.Workers != 1 {
		t.Errorf("a row not from InferenceMAX ran %d prefill and %d decode workers, expected its own 1 and 1", p.Workers, d.Workers)
	}
}

// TestDisaggRowClient: an InferenceMAX disaggregated row runs srt-slurm's
// sa-bench client (benchmark_serving: 10 requests per client, all sent at
// once, lengths uniform over [0.8 x, 1 x] the row's), and an SGLang
// decode pool keeps SGLang's pre-allocation reserve of 512 tokens a
// request; a row of one's own keeps the default client and the reserve.
func TestDisaggRowClient(t *testing.T) {
	rows, _, err := ReadBenchmarkFile("testdata/silicon_dev.csv")
	if err != nil {
		t.Fatal(err)
	}
	var r Row
	for _, x := range rows {
		if x.Disaggregated() && x.ISL == 8192 && x.Concurrency == 4 {
			r = x
			break
		}
	}
	if r.Client != ClientBenchServing {
		t.Fatalf("dev row %q: client %q, expected %q", r.ID, r.Client, ClientBenchServing)
	}
	x, err := RowConfig(r, Options{})
	if err != nil {
		t.Fatal(err)
	}
	c := x.Config()
	cl := c.Workload.ClosedLoop
	if cl.Requests != 40 || cl.Ramp != 0 || cl.Prompt.Kind != "empirical" || cl.Prompt.Values[0] != 6553 || cl.Output.Values[0] != 819 {
		t.Errorf("workload %d requests, ramp %v, prompts %s from %v, outputs from %v; expected 40, 0, 6553..8192 and 819..1024",
			cl.Requests, cl.Ramp, cl.Prompt.Kind, cl.Prompt.Values[:1], cl.Output.Values[:1])
	}
	if n := c.ForPool(replay.PoolDecode).Scheduler.DecodeReservedTokens; n == nil || *n != 512 {
		t.Errorf("decode pool reserves %v tokens a request, expected SGLang's 512", n)
	}
	r.InferenceMAX, r.Client = false, ClientAIPerf
	if x, err = RowConfig(r, Options{RequestsPerClient: 3}); err != nil {
		t.Fatal(err)
	}
	c = x.Config()
	if cl := c.Workload.ClosedLoop; cl.Requests != 12 || cl.Prompt.Kind != "fixed" {
		t.Errorf("default client: %d requests, prompts %s; expected 12, fixed", cl.Requests, cl.Prompt.Kind)
	}
	if n := c.ForPool(replay.PoolDecode).Scheduler.DecodeReservedTokens; n == nil || *n != 512 {
		t.Errorf("a row of one's own: decode pool reserves %v tokens a request, expected SGLang's 512", n)
	}
}

// TestRecipePoolPerRank: with DP attention SGLang gives each rank
// max_running_requests // dp_size requests and chunked_prefill_size //
// dp_size tokens (floor division, server_args.py and the scheduler), the
// budget capped by max-prefill-tokens; without, the recipe's values.
func TestRecipePoolPerRank(t *testing.T) {
	for _, c := range []struct {
		name         string
		pool         recipePool
		dp           int
		seqs, budget int
	}{
		{"no DP", recipePool{maxRunning: 256, memFraction: 0.82, maxPrefillTokens: 163840, chunkedPrefill: 163840}, 1, 256, 163840},
		{"dep8", recipePool{maxRunning: 512, memFraction: 0.75, maxPrefillTokens: 65536, chunkedPrefill: 262144}, 8, 64, 32768},
		{"floor", recipePool{maxRunning: 100, memFraction: 0.8, maxPrefillTokens: 65536, chunkedPrefill: 10004}, 8, 12, 1250},
		{"at least one", recipePool{maxRunning: 4, memFraction: 0.8}, 8, 1, 0},
	} {
		var pc replay.PoolConfig
		c.pool.apply(&pc, c.dp)
		if pc.MaxNumSeqs != c.seqs || pc.MaxNumBatchedTokens != c.budget || pc.GPUMemoryUtilization != c.pool.memFraction {
			t.Errorf("%s: max_num_seqs %d, budget %d, memory %v; want %d, %d, %v",
				c.name, pc.MaxNumSeqs, pc.MaxNumBatchedTokens, pc.GPUMemoryUtilization, c.seqs, c.budget, c.pool.memFraction)
		}
	}
}

// TestDisaggMTPDecodeSpeculates: the rows that only an MTP entry lists
// (8192/1024 at 2 and 512 clients) run their decode pool with SGLang's
// EAGLE/MTP settings of the recipe (speculative-num-steps 2, topk 1: 2
// drafts a step) at aiconfigurator's nextn_accept_rates; rows of an STP
// entry (8192/1024 at 16 and 256 clients) do not speculate.
func TestDisaggMTPDecodeSpeculates(t *testing.T) {
	rows, _, err := ReadBenchmarkFile("testdata/silicon_dev.csv")
	if err != nil {
		t.Fatal(err)
	}
	var poolSpec func(conc int, kind replay.PoolKind) *replay.SpeculativeConfig
	decodeSpec := func(conc int) *replay.SpeculativeConfig {
		t.Helper()
		return poolSpec(conc, replay.PoolDecode)
	}
	poolSpec = func(conc int, kind replay.PoolKind) *replay.SpeculativeConfig {
		t.Helper()
		for _, r := range rows {
			if !r.Disaggregated() || r.ISL != 8192 || r.Concurrency != conc {
				continue
			}
			x, err := RowConfig(r, Options{RequestsPerClient: 1})
			if err != nil {
				t.Fatal(err)
			}
			return x.Config().ForPool(kind).Scheduler.Speculative
		}
		t.Fatalf("no dev row at 8192/1024, %d clients", conc)
		return nil
	}
	for _, conc := range []int{2, 512} {
		sp := decodeSpec(conc)
		if sp == nil || sp.Method != "mtp" || sp.DraftTokens != 2 || !slices.Equal(sp.AcceptanceRates, []float64{0.85, 0.3}) {
			t.Errorf("8192/1024 at %d clients (an MTP entry): decode pool speculates %+v, expected mtp with 2 drafts at [0.85 0.3]", conc, sp)
		}
		// The prefill pool runs no decode step: no drafts, no draft
		// module in its memory (replay Config.ForPool).
		if sp := poolSpec(conc, replay.PoolPrefill); sp != nil {
			t.Errorf("8192/1024 at %d clients: prefill pool speculates %+v, expected none", conc, sp)
		}
	}
	for _, conc := range []int{16, 256} {
		if sp := decodeSpec(conc); sp != nil {
			t.Errorf("8192/1024 at %d clients (an STP entry): decode pool speculates %+v, expected none", conc, sp)
		}
	}
}
