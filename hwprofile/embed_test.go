package hwprofile

import (
	"bytes"
	"compress/gzip"
	"flag"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

var (
	update       = flag.Bool("update", false, "rewrite the shipped profiles under profiles/ from data/aiconfigurator")
	writeCompact = flag.Bool("write-compact", false, "rewrite data/aiconfigurator/compact from the full tables under ../shared (slow)")
)

// shippedProfile is one embedded profile and the tables it is calibrated
// from.
type shippedProfile struct {
	key, engine string
	sources     []string // under data/aiconfigurator
	opt         CalibrateOptions
}

// compactDigits is the precision of the latencies in the compact tables.
const compactDigits = 5

// The shipped profiles. The A100, H100 and H200 vLLM profiles come from
// the aiconfigurator tables copied unchanged (H100 and H200 with the MoE
// rows of the vLLM tables, compact); the others from the compact
// re-encodings of the full tables (see WriteCompact), with the roofline
// bases fitted on at most 4096 points so that rebuilding them stays fast.
var shippedProfiles = []shippedProfile{
	{"a100_sxm", "vllm", []string{"a100_sxm"}, CalibrateOptions{Seed: 1}},
	{"h100_sxm", "vllm", []string{"h100_sxm", moeOnly("h100_sxm", "vllm"), mlaOnly("h100_sxm", "vllm")}, CalibrateOptions{Seed: 1}},
	{"h200_sxm", "vllm", []string{"h200_sxm", moeOnly("h200_sxm", "vllm"), mlaOnly("h200_sxm", "vllm")}, CalibrateOptions{Seed: 1}},
	compactProfile("h200_sxm", "sglang"),
	compactProfile("h200_sxm", "trtllm"),
	compactProfile("b200_sxm", "vllm"),
	compactProfile("b200_sxm", "sglang"),
	compactProfile("b200_sxm", "trtllm"),
	compactProfile("gb200", "vllm"),
	compactProfile("a100_sxm", "sglang"),
	compactProfile("a100_sxm", "trtllm"),
	compactProfile("h100_sxm", "sglang"),
	compactProfile("h100_sxm", "trtllm"),
	compactProfile("gb200", "sglang"),
	compactProfile("gb200", "trtllm"),
	compactProfile("l40s", "vllm"),
	compactProfile("l40s", "sglang"),
	compactProfile("l40s", "trtllm"),
}

func compactProfile(key, engine string) shippedProfile {
	return shippedProfile{key, engine, []string{"compact/" + key + "." + engine + ".csv.gz"},
		CalibrateOptions{Seed: 1, Engine: engine, FitSample: 4096}}
}

// moeOnly names the compact table of the MoE rows alone of key and engine.
func moeOnly(key, engine string) string { return "compact/" + key + "." + engine + "-moe.csv.gz" }

// mlaOnly names the compact table of the MLA module rows alone of key and
// engine.
func mlaOnly(key, engine string) string { return "compact/" + key + "." + engine + "-mla.csv.gz" }

func gzipBytes(t testing.TB, b []byte) []byte {
	var buf bytes.Buffer
	zw, err := gzip.NewWriterLevel(&buf, gzip.BestCompression)
	if err != nil {
		t.Fatal(err)
	}
	zw.Write(b)
	if err := zw.Close(); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// TestEmbeddedProfilesRebuild calibrates each shipped profile again from
// the shipped source tables and checks the result is byte-identical to the
// embedded file.
func TestEmbeddedProfilesRebuild(t *testing.T) {
	listed := map[string]bool{}
	for _, sp := range shippedProfiles {
		sp := sp
		file := sp.key + "." + sp.engine + ".yaml.gz"
		listed[file] = true
		t.Run(sp.key+"/"+sp.engine, func(t *testing.T) {
			t.Parallel()
			ms, g := shippedInputs(t, sp)
			p, _, err := Calibrate(ms, g, sp.opt)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := p.Write(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("profiles", file)
			if *update {
				if err := os.WriteFile(path, gzipBytes(t, buf.Bytes()), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			gz, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			want, err := gunzip(gz)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("rebuilding %s from data/aiconfigurator/%s gives different bytes (%d vs %d); run go test ./hwprofile -run TestEmbeddedProfilesRebuild -update and review the diff",
					path, strings.Join(sp.sources, ", "), buf.Len(), len(want))
			}
			// Profiles are embedded in the binary: keep each small.
			if len(gz) > 1<<20 {
				t.Errorf("%s is %d bytes, expected at most 1 MiB", path, len(gz))
			}
			checkSections(t, sp.key, sp.engine, p)
			if p.Engine != sp.engine {
				t.Errorf("%s: engine %q, expected %q", path, p.Engine, sp.engine)
			}
		})
	}
	ents, err := os.ReadDir("profiles")
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range ents {
		if !listed[e.Name()] {
			t.Errorf("profiles/%s is not built by shippedProfiles", e.Name())
		}
	}
}

// TestWriteCompact rewrites the compact tables from the full ones under
// ../shared with -write-compact; without it, it checks that each compact
// table still re-encodes the full tables where those are present (slow, so
// only with -shared-fit).
func TestWriteCompact(t *testing.T) {
	if !*writeCompact && !*sharedFit {
		t.Skip("slow: run with -write-compact or -shared-fit")
	}
	root, ok := sharedAIC()
	if !ok {
		t.Skip("../shared not present")
	}
	type compact struct{ key, engine, source string }
	byKey := map[string][]compact{}
	var keys []string
	for _, sp := range shippedProfiles {
		for _, src := range sp.sources {
			if filepath.Dir(src) != "compact" {
				continue
			}
			if byKey[sp.key] == nil {
				keys = append(keys, sp.key)
			}
			byKey[sp.key] = append(byKey[sp.key], compact{sp.key, sp.engine, src})
		}
	}
	for _, key := range keys {
		ms, err := ReadMeasurements(filepath.Join(root, key))
		if err != nil {
			t.Fatal(err)
		}
		g, _ := cost.LookupGPU(key)
		for _, c := range byKey[key] {
			use := ms
			for suffix, ops := range map[string][]cost.Op{"-moe.csv.gz": {cost.OpMoE},
				"-mla.csv.gz": {cost.OpContextMLAModule, cost.OpGenerationMLAModule}} {
				if !strings.HasSuffix(c.source, suffix) {
					continue
				}
				only := *ms
				only.Rows = nil
				for _, r := range ms.Rows {
					if slices.Contains(ops, r.Op) {
						only.Rows = append(only.Rows, r)
					}
				}
				use = &only
			}
			var buf bytes.Buffer
			if err := WriteCompact(&buf, use, g, c.engine, compactDigits); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("data", "aiconfigurator", c.source)
			if *writeCompact {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
				continue
			}
			have, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(have, buf.Bytes()) {
				t.Errorf("%s does not re-encode the full %s %s tables; rerun with -write-compact", path, key, c.engine)
			}
		}
	}
}

// shippedInputs reads a shipped profile's compact sources and its GPU.
func shippedInputs(t *testing.T, sp shippedProfile) (*Measurements, cost.GPU) {
	t.Helper()
	var paths []string
	for _, s := range sp.sources {
		paths = append(paths, filepath.Join("data", "aiconfigurator", s))
	}
	ms, err := ReadMeasurements(paths...)
	if err != nil {
		t.Fatal(err)
	}
	g, err := cost.LookupGPU(sp.key)
	if err != nil {
		t.Fatal(err)
	}
	return ms, g
}
