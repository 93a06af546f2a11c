package validation

import (
	"strings"
	"testing"
)

// TestLaunchLayout: a silicon row that recorded InferenceMAX's --ep_size as
// a second TP factor is read as the deployment that ran on one node (TP
// GPUs, moe_tp_size TP/EP, moe_ep_size EP), and simulated as such; rows
// recorded as TensorRT-LLM lays them out, and rows whose id does not carry
// the launch, keep their fields.
func TestLaunchLayout(t *testing.T) {
	const header = "id,silicon_data_source,mode,model_path,system,backend,backend_version,isl,osl,batch_size,tp_size,attention_dp_size,moe_tp_size,moe_ep_size,silicon_ttft_ms,silicon_tpot_ms\n"
	type layout struct{ tp, dp, moeTP, moeEP, clients int }
	type cluster struct{ replicas, tp, ep, adp int } // replay.ClusterConfig
	for _, c := range []struct {
		name, line string
		want       layout
		sim        cluster // zero: skipped
		skip       string
	}{
		{"DeepSeek-R1 TP8 EP8 recorded as TP 64",
			"2026_04_06_deepseek_r1_h200_sxm_trtllm_fp8_agg_1024x1024_c32_tp8_ep8_922,source_file=2026-04-06.csv; wip=False,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1.1.0rc2.post2,1024,1024,32,64,1,8,8,671,19.3",
			layout{8, 1, 1, 8, 32}, cluster{1, 8, 8, 0}, ""},
		{"DeepSeek-R1 attention DP 8 EP8 recorded as attention DP 64",
			"2026_04_06_deepseek_r1_h200_sxm_trtllm_fp8_agg_1024x1024_c128_tp8_ep8_2012,source_file=2026-04-06.csv; wip=False,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1.1.0rc2.post2,1024,1024,2,1,64,8,8,3201,31.5",
			layout{1, 8, 1, 8, 128}, cluster{8, 1, 8, 8}, ""},
		{"gpt-oss TP4 EP4 recorded as TP 16",
			"2026_04_06_gpt_oss_120b_h200_sxm_trtllm_fp4_agg_8192x1024_c16_tp4_ep4_926,source_file=2026-04-06.csv; wip=False,agg,openai/gpt-oss-120b,h200_sxm,trtllm,gpt-oss-dev,8192,1024,16,16,1,4,4,253,8.3",
			layout{4, 1, 1, 4, 16}, cluster{1, 4, 4, 0}, ""},
		{"gpt-oss TP2 EP2 recorded as TP 4",
			"2026_04_06_gpt_oss_120b_h200_sxm_trtllm_fp4_agg_1024x1024_c16_tp2_ep2_900,source_file=2026-04-06.csv; wip=False,agg,openai/gpt-oss-120b,h200_sxm,trtllm,gpt-oss-dev,1024,1024,16,4,1,2,2,99,8.7",
			layout{2, 1, 1, 2, 16}, cluster{1, 2, 2, 0}, ""},
		{"recorded as TensorRT-LLM lays it out",
			"2026_03_25_deepseek_r1_h200_sxm_trtllm_fp8_agg_1024x1024_c32_tp8_0_ep8_0_1,source_file=2026-04-06.csv; wip=False,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1.1.0rc2.post2,1024,1024,32,8,1,1,8,671,19.3",
			layout{8, 1, 1, 8, 32}, cluster{1, 8, 8, 0}, ""},
		{"EP 1: TP8 with the experts tensor-parallel",
			"2026_04_06_deepseek_r1_h200_sxm_trtllm_fp8_agg_1024x1024_c16_tp8_ep1_7,source_file=2026-04-06.csv; wip=False,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1.1.0rc2.post2,1024,1024,16,8,1,8,1,380,20.4",
			layout{8, 1, 8, 1, 16}, cluster{1, 8, 0, 0}, ""},
		{"id without the launch: TP 64 stays and is skipped",
			"r64,source_file=2026-04-06.csv; wip=False,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1.1.0rc2.post2,1024,1024,32,64,1,8,8,671,19.3",
			layout{64, 1, 8, 8, 32}, cluster{}, "tensor parallel 64 spans more than one NVLink domain"},
		{"not InferenceMAX's: a file of one's own keeps TP 64",
			"x_tp8_ep8_1,my lab,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1.1.0rc2.post2,1024,1024,32,64,1,8,8,671,19.3",
			layout{64, 1, 8, 8, 32}, cluster{}, "tensor parallel 64 spans more than one NVLink domain"},
		{"not TensorRT-LLM: kept as recorded",
			"x_tp8_ep8_1,wip=False,agg,deepseek-ai/DeepSeek-R1,h200_sxm,sglang,0.5.1,1024,1024,32,64,1,8,8,671,19.3",
			layout{64, 1, 8, 8, 32}, cluster{}, "tensor parallel 64 spans more than one NVLink domain"},
		{"id and fields disagree: kept as recorded",
			"x_tp8_ep8_1,source_file=2026-04-06.csv; wip=False,agg,deepseek-ai/DeepSeek-R1,h200_sxm,trtllm,1.1.0rc2.post2,1024,1024,32,64,1,4,16,671,19.3",
			layout{64, 1, 4, 16, 32}, cluster{}, "tensor parallel 64 spans more than one NVLink domain"},
	} {
		rows, _, err := ReadBenchmarks(strings.NewReader(header+c.line+"\n"), "layout.csv")
		if err != nil {
			t.Fatalf("%s: %v", c.name, err)
		}
		r := rows[0]
		if got := (layout{r.TP, max(r.AttentionDP, 1), r.MoETP, r.MoEEP, r.Concurrency}); got != c.want {
			t.Errorf("%s: read tp/dp/moe_tp/moe_ep/clients %+v, expected %+v", c.name, got, c.want)
		}
		x, err := RowConfig(r, Options{})
		if c.skip != "" {
			if err == nil || !strings.Contains(err.Error(), c.skip) {
				t.Errorf("%s: %v, expected a skip saying %q", c.name, err, c.skip)
			}
			continue
		}
		if err != nil {
			t.Errorf("%s: %v, expected it simulated", c.name, err)
			continue
		}
		k := x.Config().Cluster
		if got := (cluster{k.Replicas, k.TensorParallel, k.ExpertParallel, k.AttentionDataParallel}); got != c.sim {
			t.Errorf("%s: cluster replicas/TP/EP/attention DP %+v, expected %+v", c.name, got, c.sim)
		}
	}
}

// TestLaunchLayoutRowsSimulated: in the development file, no DeepSeek-R1
// or gpt-oss-120b TensorRT-LLM row is skipped for spanning more than one
// NVLink domain (41 rows were, as TP 16, TP 64 and attention DP 64), and
// each row that was recorded with its launch's EP as a TP factor reads as
// one of the launch's single-node layouts.
func TestLaunchLayoutRowsSimulated(t *testing.T) {
	rows, _, err := ReadBenchmarkFile(wholeDevSet)
	if err != nil {
		t.Fatal(err)
	}
	relaid := 0
	for _, r := range rows {
		if r.Disaggregated() || !strings.EqualFold(r.Backend, "trtllm") || !strings.Contains(r.ID, "_ep") {
			continue
		}
		if r.TP*max(r.AttentionDP, 1) > 8 {
			t.Errorf("line %d (%s): tp %d x attention dp %d, expected at most one 8-GPU H200 node", r.Line, r.ID, r.TP, r.AttentionDP)
			continue
		}
		if r.MoEEP > 1 && strings.HasPrefix(r.ID, "2026_04_06_") {
			relaid++
			if r.MoETP != 1 {
				t.Errorf("line %d (%s): moe_tp %d, expected 1 (EP = TP)", r.Line, r.ID, r.MoETP)
			}
		}
	}
	// 15 + 6 DeepSeek-R1 tp8_ep8, 6 + 14 + 15 gpt-oss tp8_ep8, tp4_ep4, tp2_ep2.
	if relaid != 56 {
		t.Errorf("%d rows read with their launch's layout, expected 56", relaid)
	}
	if testing.Short() {
		t.Skip("simulates the 41 rows that were skipped")
	}
	var pick []Row
	for _, r := range rows {
		if !r.Disaggregated() && strings.HasPrefix(r.ID, "2026_04_06_") && (strings.Contains(r.ID, "_tp8_ep8_") || strings.Contains(r.ID, "_tp4_ep4_")) {
			pick = append(pick, r)
		}
	}
	if len(pick) != 41 {
		t.Fatalf("%d rows, expected the 41 that spanned nodes as recorded", len(pick))
	}
	rep, err := Validate(pick, Options{RequestsPerClient: 1})
	if err != nil {
		t.Fatal(err)
	}
	// Re-laid out, some rows are the very runs of source_file 2026-03-25
	// (markRepeats): those count once, under their first line.
	repeats := 0
	for _, p := range rep.Predictions {
		if p.Row.Repeats > 0 && strings.HasPrefix(p.Skipped, "repeats line") {
			repeats++
			continue
		}
		if !p.Simulated() || !(p.Metrics.TTFTms > 0) || !(p.Metrics.TPOTms > 0) {
			t.Errorf("line %d (%s): skipped %q, TTFT %v TPOT %v, expected a prediction", p.Row.Line, p.Row.ID, p.Skipped, p.Metrics.TTFTms, p.Metrics.TPOTms)
		}
	}
	if repeats != 13 {
		t.Errorf("%d of the rows repeat a correctly recorded run, expected 13", repeats)
	}
}
