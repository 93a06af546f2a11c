package hwprofile

import (
	"encoding/csv"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// TestCatalogMatchesSpecsCSV checks every catalog figure against
// data/hardware_specs.csv, the sourced table it was copied from.
func TestCatalogMatchesSpecsCSV(t *testing.T) {
	f, err := os.Open("data/hardware_specs.csv")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	num := func(rec []string, name string) float64 {
		v, err := strconv.ParseFloat(rec[col[name]], 64)
		if err != nil {
			t.Fatalf("%s: %s = %q is not a number", rec[0], name, rec[col[name]])
		}
		return v
	}
	// The CSV names some GPUs differently from the catalog.
	csvName := map[string]string{
		"H100-SXM": "H100-SXM5-80GB", "H100-PCIe": "H100-PCIe-80GB", "H200-SXM": "H200-SXM-141GB",
		"B200-SXM": "B200-SXM (HGX/DGX B200)",
	}
	rows := map[string][]string{}
	for _, r := range recs[1:] {
		rows[r[0]] = r
	}
	for _, name := range cost.GPUNames() {
		g, _ := cost.LookupGPU(name)
		if n, ok := csvName[name]; ok {
			name = n
		}
		r, ok := rows[name]
		if g.Name == "GB200" {
			continue // not in the CSV: TestCatalogMatchesSystemFiles checks it
		}
		if !ok {
			t.Errorf("%s: no row %q in hardware_specs.csv", g.Name, name)
			continue
		}
		if v := num(r, "bf16_dense_tflops"); v != g.BF16TFLOPS {
			t.Errorf("%s: BF16TFLOPS %v, CSV %v", g.Name, g.BF16TFLOPS, v)
		}
		if v := num(r, "memory_gb"); int64(v)<<30 != g.MemoryBytes {
			t.Errorf("%s: MemoryBytes %d, CSV %v GB", g.Name, g.MemoryBytes, v)
		}
		if v := num(r, "tdp_w"); v != g.TDPWatts {
			t.Errorf("%s: TDPWatts %v, CSV %v", g.Name, g.TDPWatts, v)
		}
		// B200's bandwidth is quoted as a range (7700-8000): the catalog
		// takes the lower end.
		bw := r[col["mem_bw_gb_s"]]
		if g.Name == "B200-SXM" {
			bw = "7700"
		}
		if v, err := strconv.ParseFloat(bw, 64); err != nil || math.Abs(v*1e9-g.MemBWBytes) > 1 {
			t.Errorf("%s: MemBWBytes %v, CSV %q GB/s", g.Name, g.MemBWBytes, bw)
		}
		// Link bandwidth per direction; MI300X has none quoted (n/a) and the
		// catalog assumes PCIe Gen5 x16 (64 GB/s).
		if lb := r[col["interconnect_bw_gb_s_per_gpu_per_dir"]]; g.Name != "MI300X" {
			v, err := strconv.ParseFloat(strings.Fields(lb + " x")[0], 64) // "64 (PCIe)"
			if err != nil || math.Abs(v*1e9-g.LinkBWBytes) > 1 {
				t.Errorf("%s: LinkBWBytes %v, CSV %q GB/s", g.Name, g.LinkBWBytes, lb)
			}
		}
	}
}

// TestCatalogMatchesSystemFiles checks the figures hardware_specs.csv does
// not carry (FP8 and FP4 peaks, and all of GB200) against the aiconfigurator
// system files copied under data/aiconfigurator/systems.
func TestCatalogMatchesSystemFiles(t *testing.T) {
	files, err := filepath.Glob("data/aiconfigurator/systems/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no system files: %v", err)
	}
	for _, path := range files {
		var sys struct {
			GPU struct {
				MemBW    float64 `yaml:"mem_bw"`
				MemBytes int64   `yaml:"mem_capacity"`
				BF16     float64 `yaml:"bfloat16_tc_flops"`
				FP8      float64 `yaml:"fp8_tc_flops"`
				FP4      float64 `yaml:"fp4_tc_flops"`
				Power    float64 `yaml:"power"`
			} `yaml:"gpu"`
			Node struct {
				PerNode int     `yaml:"num_gpus_per_node"`
				PerRack int     `yaml:"num_gpus_per_rack"`
				Intra   float64 `yaml:"intra_node_bw"`
				Inter   float64 `yaml:"inter_node_bw"`
			} `yaml:"node"`
		}
		data, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		if err := yaml.Unmarshal(data, &sys); err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		key := strings.TrimSuffix(filepath.Base(path), ".yaml")
		g, err := cost.LookupGPU(key)
		if err != nil {
			t.Errorf("%s: %v", path, err)
			continue
		}
		if g.FP8TFLOPS*1e12 != sys.GPU.FP8 || g.FP4TFLOPS*1e12 != sys.GPU.FP4 {
			t.Errorf("%s: FP8/FP4 %v/%v TFLOP/s, system file %v/%v", g.Name, g.FP8TFLOPS, g.FP4TFLOPS, sys.GPU.FP8/1e12, sys.GPU.FP4/1e12)
		}
		// GPUs sharing NVLink across nodes (GB200 NVL72) form a rack-wide
		// domain; elsewhere the domain is the node.
		domain := sys.Node.PerNode
		if sys.Node.PerRack > 0 && sys.Node.Inter == sys.Node.Intra {
			domain = sys.Node.PerRack
		}
		if g.LinkDomain != domain {
			t.Errorf("%s: LinkDomain %d, system file %d", g.Name, g.LinkDomain, domain)
		}
		if g.Name != "GB200" {
			continue
		}
		if g.BF16TFLOPS*1e12 != sys.GPU.BF16 || g.MemBWBytes != sys.GPU.MemBW || g.MemoryBytes != sys.GPU.MemBytes ||
			g.TDPWatts != sys.GPU.Power || g.LinkBWBytes != sys.Node.Intra {
			t.Errorf("GB200 %+v disagrees with %s: %+v %+v", g, path, sys.GPU, sys.Node)
		}
	}
}
