package validation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"flag"
	"os"
	"reflect"
	"slices"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/analysis/experiment"
	"github.com/lodsim/lodsim/hwprofile"
	"github.com/lodsim/lodsim/replay"
)

var update = flag.Bool("update", false, "with LODSIM_REFIT=1: rewrite replay/engine_costs.json from the refit")

const shippedCosts = "../../replay/engine_costs.json"

// TestShippedEngineCosts: the shipped engine constants are what the
// documented command writes from the committed development set: the
// file names the command and the set's SHA-256, and is in the writer's
// canonical form. With LODSIM_REFIT=1 it refits every engine (minutes)
// and checks the refit reproduces the file byte for byte (the fit is
// deterministic); with -update as well it rewrites the file instead.
func TestShippedEngineCosts(t *testing.T) {
	data, err := os.ReadFile(shippedCosts)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("LODSIM_REFIT") != "" {
		f, err := FitShippedEngineCosts(wholeDevSet, EngineFitOptions{Log: os.Stderr, Sim: Options{Workers: 2}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(shippedCosts, got, 0o644); err != nil {
				t.Fatal(err)
			}
			data = got
		} else if !bytes.Equal(got, data) {
			t.Fatalf("refit differs from the shipped file:\n%s\nshipped:\n%s", got, data)
		}
	}
	var f replay.EngineCostFile
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatal(err)
	}
	if !*update && !reflect.DeepEqual(f, replay.ShippedEngineCosts()) {
		t.Errorf("the embedded constants are not %s", shippedCosts)
	}
	if f.Command != EngineCostsCommand {
		t.Errorf("shipped file made by %q, expected the documented %q", f.Command, EngineCostsCommand)
	}
	dev, err := os.ReadFile(wholeDevSet)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(dev)
	if f.DevSet != hex.EncodeToString(sum[:]) {
		t.Errorf("shipped file fitted to a set with SHA-256 %s, the committed %s is %x", f.DevSet, wholeDevSet, sum)
	}
	canon, err := f.Encode()
	if err != nil || !bytes.Equal(canon, data) {
		t.Errorf("shipped file is not in the writer's form (%v)", err)
	}
	for _, e := range replay.Engines {
		if !slices.ContainsFunc(f.Engines, func(c replay.EngineCosts) bool { return c.Engine == e }) {
			t.Errorf("no shipped constants for %s", e)
		}
	}
}

// TestEngineCostsOutOfTheBox: a run with scheduler.engine and no profile
// gets the engine's shipped kernel profile with the engine's shipped
// constants: the same results as passing that profile with
// replay.WithEngineCosts, and not those of the bare profile. vLLM 0.12.0
// runs without async scheduling, so its step costs add to the
// per-request one.
func TestEngineCostsOutOfTheBox(t *testing.T) {
	row := Row{ID: "r", Model: "meta-llama/Llama-3.1-70B", GPU: "h200_sxm", Backend: "vllm", Version: "0.12.0", ISL: 1024, OSL: 16,
		Concurrency: 2, TP: 4, PP: 1, TTFTms: 1, TPOTms: 1, GEMMQuant: "fp8"}
	zero := 0.0
	x, err := RowConfig(row, Options{Ramp: &zero, RequestsPerClient: 2})
	if err != nil {
		t.Fatal(err)
	}
	ec, ok := replay.LookupEngineCosts(replay.EngineVLLM)
	if !ok || ec.PerRequestNs <= 0 {
		t.Fatalf("shipped vLLM constants %+v: expected a per-request cost", ec)
	}
	ttft := func(opts ...experiment.Option) float64 {
		t.Helper()
		e, err := experiment.New(x.Config(), opts...)
		if err != nil {
			t.Fatal(err)
		}
		var col replay.Collect
		if _, _, err := e.Run(&col, nil); err != nil {
			t.Fatal(err)
		}
		var s float64
		for _, r := range col.Results {
			s += float64(r.TTFT())
		}
		return s / float64(len(col.Results))
	}
	bare, err := hwprofile.EmbeddedProfileFor("h200_sxm", "vllm")
	if err != nil {
		t.Fatal(err)
	}
	id := analysis.ProfileID{Name: "x", GPU: "H200-SXM"}
	cfg := x.Config()
	got, with, without := ttft(), ttft(experiment.WithCost(replay.WithEngineCosts(bare, cfg), id)), ttft(experiment.WithCost(bare, id))
	if got != with || got-without < ec.PerRequestNs {
		t.Errorf("mean TTFT %.0f ns out of the box, %.0f with the engine's constants, %.0f without (per request %.0f ns)", got, with, without, ec.PerRequestNs)
	}
}

// TestRampFromUnloadedRequest: by default a row's clients start spread
// over one unloaded request's end-to-end time (vLLM's shipped
// client_ramp), and Options.Ramp 0 starts them together.
func TestRampFromUnloadedRequest(t *testing.T) {
	row := Row{ID: "r", Model: "meta-llama/Llama-3.1-70B", GPU: "h200_sxm", Backend: "vllm", ISL: 1024, OSL: 64,
		Concurrency: 8, TP: 4, PP: 1, TTFTms: 1, TPOTms: 1, GEMMQuant: "fp8"}
	ec, _ := replay.LookupEngineCosts(replay.EngineVLLM)
	x, err := RowConfig(row, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ramp := x.Config().Workload.ClosedLoop.Ramp
	// One request alone: a 1024-token prefill and 63 decode steps of a
	// 70B model on 4 H200s take tens of milliseconds at least, a second
	// at most.
	if ec.ClientRamp > 0 && (ramp < replay.Duration(20e6) || ramp > replay.Duration(1e9)) {
		t.Errorf("ramp %v ns, expected about one unloaded request's end-to-end time", int64(ramp))
	}
	zero := 0.0
	if x, _ := RowConfig(row, Options{Ramp: &zero}); x.Config().Workload.ClosedLoop.Ramp != 0 {
		t.Error("Ramp 0: the clients are still spread")
	}
}

// TestShippedConstantsAccuracy pins the accuracy of the shipped engine
// constants on the whole development set, group by group (TTFT and TPOT
// MAPE in percent, as measured when they were fitted, rounded up to 0.1):
// a change that makes any group worse fails here; one that makes a group
// better should lower its pin. The targets (every group under 20
// and 10 percent) are not met; the figures here are the honest state.
func TestShippedConstantsAccuracy(t *testing.T) {
	if testing.Short() {
		t.Skip("simulates the whole development set (a minute)")
	}
	rows, _, err := ReadBenchmarkFile(wholeDevSet)
	if err != nil {
		t.Fatal(err)
	}
	rep, err := Validate(rows, Options{})
	if err != nil {
		t.Fatal(err)
	}
	// Refit at stop 21 (replay/engine_costs.json) with the group-balanced,
	// robust, bounded objective (objective.go), after the eager vLLM
	// fp8_block GEMM rows were left out and TensorRT-LLM attention-DP
	// balancing came in. Worse than stop 20's pins where the bounds took
	// TensorRT-LLM's per-request cost from 143 to 50 ms (under 58 ms, the
	// smallest measured TTFT): that serves Llama-3.1-70B and gpt-oss-120b and
	// leave-one-group-out (pooled TTFT 83.0 -> 46.7 %), not DeepSeek-R1
	// or Qwen3-32B, whose TTFTs it had stood in for.
	//
	// Refit at stop 23 with the disaggregated rows in SGLang's fit (the
	// issue's "fitted jointly on all dev groups of that engine"): SGLang's
	// per-request cost goes to its bound (243 ms, the smallest SGLang TTFT),
	// standing in for the disaggregated rows' low-concurrency TTFT, so the
	// Qwen3-32B SGLang group's TTFT pin loosens (14.6 -> 18.8) while the
	// disaggregated group's tightens (36.0 / 19.9 -> 28.4 / 16.4) and the
	// SGLang leave-one-group-out fold no longer fits across engines. vLLM's
	// constants moved with main since stop 22's refit (per-seq 98 -> 109 us):
	// Llama-3.1-70B B200 vLLM TPOT 9.6 -> 10.3, TTFT 18.3 -> 16.1.
	//
	// Refit at stop 24, after MTP speculative decoding (DeepSeek-R1 TensorRT-LLM
	// rows), the MoE TP-1-only mapping, MiniMax's q/k norm all-reduce, the
	// despiked GEMM sections, the per-step MLA kv_b_proj and the routed
	// experts' HBM floor: SGLang gains a 68 us step and 15 ns per prefill
	// token (per-seq 29 -> 24 us), TensorRT-LLM's per-request cost 57.9 ->
	// 55.9 ms (its bound), vLLM's per-seq 109 -> 82 us. Llama-3.1-70B B200
	// vLLM TPOT 10.2 -> 9.3, H200 vLLM TTFT 19.9 -> 20.5, Qwen3-32B TRT-LLM
	// TTFT 34.9 -> 33.2, SGLang Qwen3-32B TPOT 5.6 -> 5.9.
	pinned := map[string][2]float64{
		"DeepSeek-R1 h200_sxm trtllm fp8 agg":       {50.2, 14.5}, // 51.3 / 23.9 before the 1.1.0rc2.post2 rows ran their MTP recipe (recipes.go mtpRecipes, replay/speculative.go: 3 drafts, 1 with attention DP, at aiconfigurator's published acceptance [0.85, 0.3, 0]): TPOT bias +19.0 -> +3.8 %. 57.2 / 23.7 before TensorRT-LLM's attention-DP request assignment (replay/adpassign.go), the per-rank max_batch_size C / DP on attention-DP rows and the group-wide balancing release (adpbalance.go): attention-DP TTFT 0.25-0.38x -> 0.45-0.73x of measured; TPOT +0.1 from the cap. 58.1 / 23.5 before the launch recipe's padded CUDA graphs (launchRecipes). The 1.1.0rc2.post2 rows are MTP runs (BENCHMARKS.md): TTFT bias -51 % (-65 % before the attention-DP changes): 0.2-0.9 s more per request than the kernels explain. 55.2 / 21.1 before the 21 tp8_ep8 rows recorded as TP 64 came in (launchlayout.go); 13 of them repeat measured EP8 rows and count once (markRepeats)
		"DeepSeek-R1 h200_sxm sglang fp8 disagg":    {26.0, 15.8}, // 26.2 / 16.3 before the MTP entries' decode pools speculated (disaggRecipe.mtpSteps: 2 drafts at aiconfigurator's nextn_accept_rates on the 8192/1024 rows at 2 and 512 clients; TPOT at 512 clients 40.8 -> 25.5 ms, 28.1 measured; at 2, 9.0 -> 5.1, 7.5 measured). 25.8 / 16.5 before the routed experts' floor at the HBM's read of the experts hit (lod hbmReadNs): the TP8 decode steps of 80-160 sequences 0.2-2 ms longer (TPOT 26.5 -> 28.4 ms at 512 clients, 33.7 measured), the closed loop's prefill a little less loaded. 28.4 / 16.3 before the 8192/1024 rows at 256 and 512 clients ran bs128-1p1d-dep's attention-DP decode (the dump records the prefill's EP in both pools, dumpEPMatches) and the MTP entries' layouts (2 and 512 clients): TTFT at 256 clients 63 -> 37 s (30-39 measured), TPOT +0.2 as two of the three rows are MTP runs (BENCHMARKS.md "The group mixes STP and MTP runs"). 36.0 / 20.8 before the H200 SGLang GEMM sections were smoothed (hwprofile smoothGEMM); 46.9 / 21.0 with the aiperf default client (fixed lengths, steady-state window), no decode reserve and the engine's prefill budget (BENCHMARKS.md "The disaggregated rows' client"); 56.8 / 69.8 as 1P+1D: the rows leave their recipes' 1-9 decode workers blank (recipes.go disaggRecipes); 9 repeated rows count once (markRepeats)
		"Llama-3.1-70B b200_sxm trtllm fp8 agg":     {12.3, 6.7},  // 13.59 / 6.35 before its FP8 and BF16 GEMM sections were despiked (hwprofile smoothGEMM: the inner checks prefer it by 0.01-0.03 points; cells over 10 % above their neighbours' median estimate brought to it); 13.7 / 6.5 before B200 TensorRT-LLM FP8 GEMM smoothing (hwprofile smoothGEMM); 14.2 / 6.9 before the TensorRT-LLM FP8-KV attention sections (hwprofile)
		"Llama-3.1-70B b200_sxm vllm fp4 agg":       {16.6, 9.4},  // 16.4 / 9.7 before B200 vLLM's FP8-KV attention sections (prefill measured 0-11 % above BF16-KV); benchmark_serving client and async scheduling (its recipe), on constants fitted without either
		"Llama-3.1-70B h200_sxm trtllm fp8 agg":     {9.8, 5.0},   // 10.4 / 4.6 before the TensorRT-LLM FP8-KV attention sections (hwprofile): XQA decode over an FP8 cache measures 0.55-0.95x of BF16 over half the context; TPOT bias +1.5 -> -3.0 %
		"Llama-3.1-70B h200_sxm vllm fp8 agg":       {20.5, 5.4},  // the same; TPOT 8.4 with the FP8 KV cache costed as a BF16 one of half the context (hwprofile FP8-KV attention sections)
		"MiniMax-M2.5 h200_sxm vllm fp8 agg":        {14.9, 11.7}, // 15.2 / 13.8 before its q/k norm over all heads was costed (one TP all-reduce a layer, lod.Model.QKNormAllHeads); the same (async scheduling: vLLM >= 0.14 default); 33 of 84 rows repeat others and count once (markRepeats); 33.5 / 57.1 (TPOT bias +69 %) with the eager-timed vLLM fp8_block GEMM rows (hwprofile eagerTimed)
		"Qwen3-235B-A22B-FP8 h200_sxm vllm fp8 agg": {27.8, 23.4}, // 31.8 / 25.3 before vLLM 0.12's data-parallel ranks padded eager steps to the largest rank's tokens (EngineDefaults.DPPadEager); 16.8 / 29.2 on 32 rows before the 19 vLLM data-parallel rows ran (dpsync.go; those alone 58.9 / 44.8: TTFTs of 1.4-4.1 s and decode steps ~2x the kernels' time); TPOT -38 % bias: vLLM 0.12's decode step is about 3x its weight reads
		"Qwen3-32B h100_sxm sglang bf16 agg":        {18.8, 6.0},  // 18.78 / 5.58 before the despiked SGLang GEMM sections (hwprofile smoothGEMM; held-out BF16 GEMM 4.98 -> 4.78 %); 14.1 / 5.5 before the H100 SGLang GEMM sections were smoothed (hwprofile smoothGEMM; held-out BF16 GEMM 5.15 -> 4.98 %): TTFT 1.5 % lower on a TTFT already 10 % low (bias -10.0 -> -11.3 %), TPOT bias +2.2 -> +1.7 %
		"Qwen3-32B h100_sxm trtllm fp8 agg":         {33.3, 10.0}, // 34.1 / 9.0 before the TensorRT-LLM FP8-KV attention sections (hwprofile; measured FP8-KV decode faster than BF16 over half the context, TPOT bias -4.5 -> -7.3 %); 80.1 / 11.3 before aiconfigurator's generated budget (bs + ISL + 1500, recipes.go) and aiperf's phase (ClientAIPerfRun); 128 clients at 0.62x the TTFT (median), 1024-token prompts 1.45x
		"gpt-oss-120b h200_sxm trtllm fp4 agg":      {18.2, 9.6},  // 21.0 / 10.7 before the MoE TP 2-8 layers were costed as their measured EP layout (moeModel.equivalentEP: the MXFP4 table holds MoE TP 1 only). 23.4 / 9.1 before its launch recipe (launchRecipes): the script's 16-bit KV cache (dtype auto) raises the decode attention, on a TPOT already predicted 15-35 % high at TP1-2 and 32-64 clients (22.9 / 9.1 with an FP8 cache). MXFP4 MoE tables cover MoE TP 1 only; the EP 1 rows run MoE TP 2-8. 28.1 / 11.6 before the tp2_ep2 rows ran on 2 GPUs (not 4) and the tp4_ep4 and tp8_ep8 rows came in (launchlayout.go)
	}
	seen := 0
	for _, g := range rep.Groups.Groups {
		if g.Simulated() == 0 {
			continue
		}
		seen++
		pin, ok := pinned[g.Group]
		if !ok {
			t.Errorf("group %s (TTFT MAPE %.1f%%, TPOT %.1f%%) has no pinned accuracy", g.Group, g.TTFT.MAPE, g.TPOT.MAPE)
			continue
		}
		if g.TTFT.MAPE > pin[0] || g.TPOT.MAPE > pin[1] {
			t.Errorf("%s: TTFT MAPE %.2f%%, TPOT %.2f%%; pinned at %.1f%% and %.1f%%", g.Group, g.TTFT.MAPE, g.TPOT.MAPE, pin[0], pin[1])
		}
	}
	if seen != len(pinned) {
		t.Errorf("%d groups simulated, %d pinned", seen, len(pinned))
	}
	t.Logf("pooled: TTFT MAPE %.2f%%, TPOT MAPE %.2f%% over %d rows", rep.Groups.Pooled.TTFT.MAPE, rep.Groups.Pooled.TPOT.MAPE, rep.Groups.Pooled.Simulated())
}
