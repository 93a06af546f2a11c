package hwprofile

import (
	"cmp"
	"errors"
	"fmt"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// ErrMissingSection is wrapped by CheckSections' errors.
var ErrMissingSection = errors.New("missing profile section")

// ModelNeeds is what CheckSections asks of a profile for one model: a
// measured MoE section for its routed experts' precision, and the MLA
// sections.
type ModelNeeds struct {
	Model   string         // the model's name, for the error
	MoE     bool           // the model has MoE layers
	Experts cost.Precision // the precision its experts are priced at
	MLA     bool           // the model's attention is multi-head latent attention
}

// absentSections says why a shipped profile (GPU key / engine / section)
// lacks a section a model may need, where the reason is more than "the
// tables have no such rows" (MEASUREMENTS.md, *Sections of the shipped
// profiles*). TestShippedSectionsMatchData checks each is absent.
var absentSections = map[string]string{
	"a100_sxm/vllm/moe": "aiconfigurator's A100 vLLM 0.14.0 moe_perf table times power-law routing only " +
		"(power_law_1.01 and power_law_1.2), and lodsim's moe section is fitted to balanced routing",
	"a100_sxm/trtllm/moe": "aiconfigurator's A100 TensorRT-LLM 1.0.0 moe_perf table times power-law routing only " +
		"(power_law_1.01 and power_law_1.2), and lodsim's moe section is fitted to balanced routing",
	"a100_sxm/vllm/mla": "A100's vLLM 0.14.0 MLA tables were timed without CUDA graphs and are left out " +
		"(241 us and more a call, host launch gaps included), and there are no vLLM MLA module tables for A100",
	"a100_sxm/sglang/mla": "the A100 SGLang 0.5.10 collection has no MLA attention tables (only mla_bmm_perf, which lodsim does not use)",
	"b200_sxm/sglang/moe": "the B200 SGLang collection has no moe_perf table: its only MoE table, 0.5.16 dsv4_megamoe_module_perf, " +
		"times fused MegaMoE modules (all-to-all included), not the routed experts of one rank",
	"b200_sxm/trtllm/moe": "the B200 TensorRT-LLM 1.3.0rc23 moe_perf table holds only DeepSeek-V4's w4a8_mxfp4 shapes; " +
		"its reuse.yaml takes the other shapes from a 1.3.0rc20 collection that is not in the data",
	"gb200/trtllm/moe": "the GB200 TensorRT-LLM 1.3.0rc23 moe_perf table holds only DeepSeek-V4's w4a8_mxfp4 shapes; " +
		"its reuse.yaml takes the other shapes from a 1.3.0rc20 collection that is not in the data",
}

// CheckSections returns an error wrapping ErrMissingSection when p has no
// measured section for what need asks: MoE and MLA layers would otherwise
// be priced by the GPU's roofline without a word, a different model from
// the calibrated one of every other op. The error names the profile, its
// GPU and engine, each missing section with why a shipped profile lacks
// it, and the engines whose shipped profile of the GPU has them all.
func CheckSections(p *cost.Profile, need ModelNeeds) error {
	type gap struct {
		section, what string
		has           func(*cost.Profile) bool
	}
	var gaps []gap
	if need.MoE && !p.HasMoE(need.Experts) {
		gaps = append(gaps, gap{"moe", fmt.Sprintf("moe section for %s experts, which %s's MoE layers need", need.Experts, need.Model),
			func(q *cost.Profile) bool { return q.HasMoE(need.Experts) }})
	}
	if need.MLA && !p.HasMLA() {
		gaps = append(gaps, gap{"mla", fmt.Sprintf("context_mla and generation_mla sections, which %s's latent attention needs", need.Model),
			(*cost.Profile).HasMLA})
	}
	if len(gaps) == 0 {
		return nil
	}
	g := p.GPU()
	engine := cmp.Or(p.Engine, "unnamed")
	var parts []string
	for _, x := range gaps {
		why, ok := "", false
		if strings.HasPrefix(p.Name(), "profile:embedded:") {
			why, ok = absentSections[g.Key+"/"+p.Engine+"/"+x.section]
		}
		if !ok {
			why = "the tables it was calibrated from have no such rows"
			if x.section == "moe" {
				why = fmt.Sprintf("the tables it was calibrated from have no balanced-routing moe rows of %s experts", need.Experts)
			}
		}
		parts = append(parts, fmt.Sprintf("no %s (%s)", x.what, why))
	}
	var alt []string
	for _, e := range EmbeddedEngines(g.Key) {
		q, err := EmbeddedProfileFor(g.Key, e)
		if err != nil || e == p.Engine {
			continue
		}
		all := true
		for _, x := range gaps {
			all = all && x.has(q)
		}
		if all {
			alt = append(alt, e)
		}
	}
	use := "Use"
	if len(alt) > 0 {
		use = "Use scheduler.engine " + strings.Join(alt, " or ") + " (shipped with it),"
	}
	return fmt.Errorf("%w: %s (%s, %s kernels) has %s. %s a profile calibrated from such measurements (hardware.profile: FILE), or hardware.profile: roofline to price the whole run by the roofline",
		ErrMissingSection, strings.TrimPrefix(p.Name(), "profile:"), g.Name, engine, strings.Join(parts, "; and "), use)
}
