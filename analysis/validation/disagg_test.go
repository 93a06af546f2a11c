package validation

import (
	"strings"
	"testing"
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
}

// TestDisaggDevGroup simulates every disaggregated row of the dev set
// (DeepSeek-R1 FP8 on H200, SGLang, 1P+1D at TP8): none may be skipped. Its
// accuracy is logged, not asserted: see docs/disagg (the decode step of
// DeepSeek-R1 is costed about three times too slow on the aggregated rows
// too).
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
		if !p.Simulated() {
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
