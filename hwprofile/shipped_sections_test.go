package hwprofile

import (
	"cmp"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// sectionNames lists p's measured sections: gemm, gemm_<precision>,
// the attention and MLA sections, moe_<precision> and the collectives
// (elementwise where fitted), sorted.
func sectionNames(p *cost.Profile) []string {
	var out []string
	add := func(ok bool, name string) {
		if ok {
			out = append(out, name)
		}
	}
	add(p.GEMMs != nil, "gemm")
	for _, q := range p.QuantGEMMs {
		out = append(out, "gemm_"+q.Precision.String())
	}
	add(p.Context != nil, "context_attention")
	add(p.Generation != nil, "generation_attention")
	add(p.ContextFP8KV != nil, "context_attention_fp8_kv")
	add(p.GenerationFP8KV != nil, "generation_attention_fp8_kv")
	add(p.CtxMLA != nil, "context_mla")
	add(p.GenMLA != nil, "generation_mla")
	for _, m := range p.MoEs {
		out = append(out, "moe_"+m.Precision.String())
	}
	for _, c := range p.Comm {
		if !slices.Contains(out, string(c.Op)) {
			out = append(out, string(c.Op))
		}
	}
	add(p.Element != nil, "elementwise")
	sort.Strings(out)
	return out
}

// selectionSections counts the shapes a selection holds per section, named
// as sectionNames names them (the MLA module rows a derived MLA section
// comes from under context_mla_module and generation_mla_module).
func selectionSections(s *selection) map[string]int {
	c := map[string]int{"gemm": len(s.gemm), "context_attention": len(s.ctx), "generation_attention": len(s.gen),
		"context_attention_fp8_kv": len(s.ctx8), "generation_attention_fp8_kv": len(s.gen8),
		"context_mla": len(s.cmla), "generation_mla": len(s.gmla),
		"context_mla_module": len(s.cmlaMod), "generation_mla_module": len(s.gmlaMod), "elementwise": len(s.elem)}
	for q, v := range s.qgemm {
		c["gemm_"+q.String()] = len(v)
	}
	for q, v := range s.moe {
		c["moe_"+q.String()] = len(v)
	}
	for op, v := range s.comm {
		c[string(op)] = len(v)
	}
	for k, v := range c {
		if v == 0 {
			delete(c, k)
		}
	}
	return c
}

// shippedSections pins the measured sections of each shipped profile
// (sectionNames, space-separated). TestEmbeddedProfilesRebuild checks each
// rebuilt profile against it, so a section lost from a profile's sources
// fails there; TestShippedSectionsMatchData (-shared-fit) checks that the
// sources hold every row the full aiconfigurator tables give calibration,
// so that a section absent here is absent in the data too (absentSections
// says why where it matters).
var shippedSections = map[string]string{
	"a100_sxm/vllm":   "all_gather all_reduce all_to_all context_attention custom_all_reduce gemm generation_attention reduce_scatter",
	"h100_sxm/vllm":   "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 moe_fp8_block moe_int4_wo moe_mxfp4 reduce_scatter",
	"h200_sxm/vllm":   "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 moe_fp8_block moe_int4_wo moe_mxfp4 reduce_scatter",
	"h200_sxm/sglang": "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8_block moe_int4_wo moe_mxfp4 reduce_scatter",
	"h200_sxm/trtllm": "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 moe_fp8_block moe_mxfp4 reduce_scatter",
	"b200_sxm/vllm":   "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_nvfp4 generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 moe_fp8_block moe_int4_wo moe_mxfp4 moe_nvfp4 moe_w4a8_mxfp4 reduce_scatter",
	"b200_sxm/sglang": "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block gemm_nvfp4 generation_attention generation_attention_fp8_kv generation_mla reduce_scatter",
	"b200_sxm/trtllm": "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block gemm_nvfp4 generation_attention generation_attention_fp8_kv generation_mla moe_w4a8_mxfp4 reduce_scatter",
	"gb200/vllm":      "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_nvfp4 generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 moe_fp8_block moe_int4_wo moe_mxfp4 moe_nvfp4 moe_w4a8_mxfp4 reduce_scatter",
	"a100_sxm/sglang": "all_gather all_reduce all_to_all context_attention custom_all_reduce gemm generation_attention moe_bf16 moe_int4_wo reduce_scatter",
	"a100_sxm/trtllm": "all_gather all_reduce all_to_all context_attention context_mla custom_all_reduce gemm gemm_int4_wo gemm_int8_wo generation_attention generation_mla reduce_scatter",
	"h100_sxm/sglang": "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8_block moe_int4_wo moe_mxfp4 reduce_scatter",
	"h100_sxm/trtllm": "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 moe_fp8_block moe_mxfp4 reduce_scatter",
	"gb200/sglang":    "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block gemm_nvfp4 generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8_block moe_int4_wo moe_mxfp4 moe_nvfp4 moe_w4a8_mxfp4 reduce_scatter",
	"gb200/trtllm":    "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block gemm_nvfp4 generation_attention generation_attention_fp8_kv generation_mla moe_w4a8_mxfp4 reduce_scatter",
	"l40s/vllm":       "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 moe_fp8_block moe_int4_wo moe_mxfp4 reduce_scatter",
	"l40s/sglang":     "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_int4_wo moe_mxfp4 reduce_scatter",
	"l40s/trtllm":     "all_gather all_reduce all_to_all context_attention context_attention_fp8_kv context_mla custom_all_reduce gemm gemm_fp8 gemm_fp8_block generation_attention generation_attention_fp8_kv generation_mla moe_bf16 moe_fp8 reduce_scatter",
}

// checkSections reports where p's sections differ from shippedSections.
func checkSections(t *testing.T, key, engine string, p *cost.Profile) {
	t.Helper()
	want, ok := shippedSections[key+"/"+engine]
	if !ok {
		t.Errorf("%s/%s: not in shippedSections", key, engine)
		return
	}
	have := sectionNames(p)
	w := strings.Fields(want)
	for _, s := range w {
		if !slices.Contains(have, s) {
			t.Errorf("%s/%s: no %s section, which shippedSections lists", key, engine, s)
		}
	}
	for _, s := range have {
		if !slices.Contains(w, s) {
			t.Errorf("%s/%s: a %s section, which shippedSections does not list (add it)", key, engine, s)
		}
	}
}

// TestAbsentSectionsAreAbsent: each reason absentSections gives is for a
// shipped profile that lacks the section (MoE: BF16 experts; MLA: both).
func TestAbsentSectionsAreAbsent(t *testing.T) {
	for k := range absentSections {
		parts := strings.Split(k, "/")
		if len(parts) != 3 {
			t.Fatalf("absentSections key %q: expected gpu/engine/section", k)
		}
		secs, ok := shippedSections[parts[0]+"/"+parts[1]]
		if !ok {
			t.Errorf("absentSections %q: no such shipped profile", k)
			continue
		}
		missing := map[string]string{"moe": "moe_bf16", "mla": "context_mla"}[parts[2]]
		if missing == "" || slices.Contains(strings.Fields(secs), missing) {
			t.Errorf("absentSections %q: the shipped profile has %s (sections: %s)", k, cmp.Or(missing, parts[2]), secs)
		}
	}
}

// TestShippedSectionsMatchData selects, for each shipped profile, the rows
// calibration uses from its shipped sources and from the full
// aiconfigurator tables of its GPU under ../shared, and checks that every
// section holds the same number of shapes: a section (or part of one) the
// data provides but the shipped sources lack fails here (slow: -shared-fit).
func TestShippedSectionsMatchData(t *testing.T) {
	if !*sharedFit {
		t.Skip("slow: run with -shared-fit")
	}
	root, ok := sharedAIC()
	if !ok {
		t.Skip("../shared not present")
	}
	full := map[string]*Measurements{}
	for _, sp := range shippedProfiles {
		ms, g := shippedInputs(t, sp)
		var err error
		if full[sp.key] == nil {
			if full[sp.key], err = ReadMeasurements(filepath.Join(root, sp.key)); err != nil {
				t.Fatal(err)
			}
		}
		have, err := selectRows(ms, g, sp.engine)
		if err != nil {
			t.Fatal(err)
		}
		want, err := selectRows(full[sp.key], g, sp.engine)
		if err != nil {
			t.Fatal(err)
		}
		h, w := selectionSections(have), selectionSections(want)
		var names []string
		for k := range w {
			names = append(names, k)
		}
		for k := range h {
			if _, ok := w[k]; !ok {
				names = append(names, k)
			}
		}
		sort.Strings(names)
		for _, k := range names {
			if h[k] != w[k] {
				t.Errorf("%s/%s %s: the shipped sources give %d shapes, the full tables under %s %d", sp.key, sp.engine, k, h[k], root, w[k])
			}
		}
	}
}
