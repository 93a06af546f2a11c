package hwprofile

import (
	"errors"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestCheckSections: a shipped profile without the MoE section of a
// model's expert precision, or without MLA, is an error naming the
// profile, GPU, engine, section, why the data lacks it and the engines
// shipped with it; a profile with both passes, and a model needing
// neither passes anywhere.
func TestCheckSections(t *testing.T) {
	moe := ModelNeeds{Model: "Qwen3-30B-A3B", MoE: true, Experts: cost.BF16}
	mla := ModelNeeds{Model: "DeepSeek-V3", MoE: true, Experts: cost.FP8Block, MLA: true}
	for _, c := range []struct {
		key, engine string
		need        ModelNeeds
		want        []string // "" for no error
	}{
		{"b200_sxm", "sglang", moe, []string{"missing profile section: embedded:b200_sxm/sglang", "B200-SXM", "sglang kernels", "no moe section for bf16 experts",
			"Qwen3-30B-A3B", "dsv4_megamoe_module_perf", "scheduler.engine vllm (shipped with it)", "hardware.profile: roofline"}},
		{"b200_sxm", "trtllm", moe, []string{"embedded:b200_sxm/trtllm", "no moe section for bf16", "reuse.yaml", "scheduler.engine vllm"}},
		{"a100_sxm", "vllm", moe, []string{"embedded:a100_sxm", "A100", "vllm kernels", "power-law routing", "scheduler.engine sglang"}},
		{"a100_sxm", "sglang", mla, []string{"a100_sxm/sglang", "no moe section for fp8_block experts", "no balanced-routing moe rows of fp8_block",
			"; and no context_mla and generation_mla", "DeepSeek-V3", "mla_bmm_perf", "Use a profile calibrated"}},
		{"a100_sxm", "sglang", ModelNeeds{Model: "DeepSeek-V3", MLA: true}, []string{"mla_bmm_perf", "scheduler.engine trtllm (shipped with it), a profile"}},
		{"a100_sxm", "vllm", ModelNeeds{Model: "DeepSeek-V3", MLA: true}, []string{"without CUDA graphs", "scheduler.engine trtllm"}},
		// L40S SGLang measured no FP8 experts: the generic reason.
		{"l40s", "sglang", ModelNeeds{Model: "Qwen3-30B-A3B-FP8", MoE: true, Experts: cost.FP8}, []string{"no balanced-routing moe rows of fp8 experts", "scheduler.engine trtllm or vllm"}},
		{"h200_sxm", "vllm", mla, nil},
		{"h200_sxm", "sglang", moe, nil},
		{"b200_sxm", "sglang", ModelNeeds{Model: "Llama-3.1-70B"}, nil},
	} {
		p, err := EmbeddedProfileFor(c.key, c.engine)
		if err != nil {
			t.Fatal(err)
		}
		err = CheckSections(p, c.need)
		if c.want == nil {
			if err != nil {
				t.Errorf("%s %s %s: %v, want no error", c.key, c.engine, c.need.Model, err)
			}
			continue
		}
		if !errors.Is(err, ErrMissingSection) {
			t.Errorf("%s %s %s: %v, want ErrMissingSection", c.key, c.engine, c.need.Model, err)
			continue
		}
		for _, w := range c.want {
			if !strings.Contains(err.Error(), w) {
				t.Errorf("%s %s: %q does not say %q", c.key, c.engine, err, w)
			}
		}
	}
}
