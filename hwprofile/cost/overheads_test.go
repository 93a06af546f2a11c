package cost

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

// TestOverheadRanges: a profile's overheads must be finite and within
// [0, MaxOverheadNs]; 1e30 ns once gave negative first-token times and a
// negative overhead was silently used.
func TestOverheadRanges(t *testing.T) {
	const head = "version: 1\ngpu: {name: x, key: x, bf16_tflops: 1, mem_bw_bytes_per_s: 1, link_bw_bytes_per_s: 1, link_latency_ns: 1, memory_bytes: 85899345920}\n"
	for _, tc := range []struct{ over, want string }{
		{"step_ns: 1e30", "overheads.step_ns: found 1e+30, expected 0 to 1e+09 ns"},
		{"step_ns: -5", "overheads.step_ns: found -5"},
		{"per_seq_ns: .nan", "overheads.per_seq_ns: found NaN"},
		{"per_prefill_token_ns: .inf", "overheads.per_prefill_token_ns: found +Inf"},
		{"per_request_ns: -1", "overheads.per_request_ns: found -1"},
		{"memory_reserve_gb: 1000", "overheads.memory_reserve_gb: found 1000, expected 0 to 80.0 GiB"},
		{"memory_reserve_gb: -1", "overheads.memory_reserve_gb: found -1"},
	} {
		_, err := LoadProfile(bytes.NewReader([]byte(head+"overheads: {"+tc.over+"}\n")), "p.yaml")
		if err == nil || !strings.Contains(err.Error(), tc.want) || !strings.Contains(err.Error(), "p.yaml") {
			t.Errorf("%s: got %v, want an error containing %q", tc.over, err, tc.want)
		}
	}
	ok := Overheads{StepNs: 2e6, PerSeqNs: 1e4, PerPrefillTokenNs: 10, PerRequestNs: MaxOverheadNs, MemoryReserveGB: 2}
	if err := ok.Check("overheads", GPU{MemoryBytes: 80 << 30}); err != nil {
		t.Error(err)
	}
	if err := (Overheads{StepNs: math.Nextafter(MaxOverheadNs, math.Inf(1))}).Check("o", GPU{}); err == nil {
		t.Error("an overhead just above the bound passed")
	}
}
