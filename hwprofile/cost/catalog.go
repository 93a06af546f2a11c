package cost

import (
	"fmt"
	"sort"
	"strings"
)

// GPU holds the datasheet constants of one accelerator. Figures come from
// hwprofile/data/hardware_specs.csv (vendor datasheets as quoted there, see
// hwprofile/data/SOURCES.md) and the aiconfigurator system files copied
// under hwprofile/data/aiconfigurator/systems (FP8 and FP4 rates, GB200).
type GPU struct {
	Name          string  // canonical catalog name, e.g. "A100-80GB-SXM"
	Key           string  // aiconfigurator system key, e.g. "a100_sxm"
	BF16TFLOPS    float64 // peak dense BF16 tensor-core TFLOP/s
	MemoryBytes   int64   // HBM capacity
	MemBWBytes    float64 // HBM bandwidth, bytes/s
	LinkBWBytes   float64 // GPU-to-GPU bandwidth per direction, bytes/s (NVLink, or PCIe where no NVLink)
	LinkLatencyNs float64 // point-to-point latency of one hop
	TDPWatts      float64
	// FP8TFLOPS and FP4TFLOPS are the peak dense FP8 and FP4 tensor-core
	// TFLOP/s; 0 where the GPU has no such tensor cores (A100: no FP8;
	// Hopper and Ada: no FP4).
	FP8TFLOPS float64
	FP4TFLOPS float64
	// LinkDomain is how many GPUs reach each other at LinkBWBytes: 8 in an
	// HGX node (NVLink) or a PCIe server, 72 in a GB200 NVL72 rack. 0 means
	// unknown (treated as 8: see Domain).
	LinkDomain int
}

// Domain is how many GPUs reach each other at LinkBWBytes, LinkDomain with
// its unknown taken as an HGX node's 8.
func (g GPU) Domain() int {
	if g.LinkDomain == 0 {
		return 8
	}
	return g.LinkDomain
}

// PeakFLOPS is the peak dense tensor-core rate (FLOP/s) of work computed
// at precision p (see Precision.Compute). A rate the GPU lacks falls back to
// the next wider one it has: FP4 to FP8 to BF16, as the engines do when
// they run such weights through dequantising kernels.
func (g GPU) PeakFLOPS(p Precision) float64 {
	switch p.Compute() {
	case NVFP4:
		if g.FP4TFLOPS > 0 {
			return g.FP4TFLOPS * 1e12
		}
		fallthrough
	case FP8:
		if g.FP8TFLOPS > 0 {
			return g.FP8TFLOPS * 1e12
		}
	}
	return g.BF16TFLOPS * 1e12
}

const gib = 1 << 30

var catalog = []GPU{
	{Name: "A100-40GB-SXM", Key: "a100_sxm_40gb", BF16TFLOPS: 312, MemoryBytes: 40 * gib, MemBWBytes: 1555e9, LinkBWBytes: 300e9, LinkLatencyNs: 10000, TDPWatts: 400, LinkDomain: 8},
	{Name: "A100-80GB-SXM", Key: "a100_sxm", BF16TFLOPS: 312, MemoryBytes: 80 * gib, MemBWBytes: 2039e9, LinkBWBytes: 300e9, LinkLatencyNs: 10000, TDPWatts: 400, LinkDomain: 8},
	{Name: "H100-SXM", Key: "h100_sxm", BF16TFLOPS: 989, MemoryBytes: 80 * gib, MemBWBytes: 3350e9, LinkBWBytes: 450e9, LinkLatencyNs: 10000, TDPWatts: 700, FP8TFLOPS: 1978, LinkDomain: 8},
	{Name: "H100-PCIe", Key: "h100_pcie", BF16TFLOPS: 756, MemoryBytes: 80 * gib, MemBWBytes: 2000e9, LinkBWBytes: 64e9, LinkLatencyNs: 10000, TDPWatts: 350, FP8TFLOPS: 1513, LinkDomain: 8},
	{Name: "H200-SXM", Key: "h200_sxm", BF16TFLOPS: 989, MemoryBytes: 141 * gib, MemBWBytes: 4800e9, LinkBWBytes: 450e9, LinkLatencyNs: 10000, TDPWatts: 700, FP8TFLOPS: 1978, LinkDomain: 8},
	{Name: "L40S", Key: "l40s", BF16TFLOPS: 362.05, MemoryBytes: 48 * gib, MemBWBytes: 864e9, LinkBWBytes: 32e9, LinkLatencyNs: 10000, TDPWatts: 350, FP8TFLOPS: 733, LinkDomain: 8},
	{Name: "B200-SXM", Key: "b200_sxm", BF16TFLOPS: 2250, MemoryBytes: 180 * gib, MemBWBytes: 7700e9, LinkBWBytes: 900e9, LinkLatencyNs: 10000, TDPWatts: 1000, FP8TFLOPS: 4500, FP4TFLOPS: 9000, LinkDomain: 8},
	// GB200 is not in hardware_specs.csv: every figure is from the
	// aiconfigurator system file systems/gb200.yaml (memory as nvidia-smi
	// reports it, 189471 MiB); NVLink 5 spans the 72 GPUs of an NVL72 rack.
	{Name: "GB200", Key: "gb200", BF16TFLOPS: 2500, MemoryBytes: 198674743296, MemBWBytes: 8000e9, LinkBWBytes: 900e9, LinkLatencyNs: 10000, TDPWatts: 1200, FP8TFLOPS: 5000, FP4TFLOPS: 10000, LinkDomain: 72},
	{Name: "MI300X", Key: "mi300x", BF16TFLOPS: 1307.4, MemoryBytes: 192 * gib, MemBWBytes: 5300e9, LinkBWBytes: 64e9, LinkLatencyNs: 10000, TDPWatts: 750, LinkDomain: 8},
}

var aliases = map[string]string{
	"a100":           "A100-80GB-SXM",
	"a100-80gb":      "A100-80GB-SXM",
	"a100-80gb-sxm":  "A100-80GB-SXM",
	"a100_sxm":       "A100-80GB-SXM",
	"a100-sxm":       "A100-80GB-SXM",
	"a100-40gb":      "A100-40GB-SXM",
	"a100-40gb-sxm":  "A100-40GB-SXM",
	"a100_sxm_40gb":  "A100-40GB-SXM",
	"h100":           "H100-SXM",
	"h100-sxm":       "H100-SXM",
	"h100_sxm":       "H100-SXM",
	"h100-sxm5-80gb": "H100-SXM",
	"h100-pcie":      "H100-PCIe",
	"h100_pcie":      "H100-PCIe",
	"h100-pcie-80gb": "H100-PCIe",
	"h200":           "H200-SXM",
	"h200-sxm":       "H200-SXM",
	"h200_sxm":       "H200-SXM",
	"h200-sxm-141gb": "H200-SXM",
	"l40s":           "L40S",
	"b200":           "B200-SXM",
	"b200-sxm":       "B200-SXM",
	"b200_sxm":       "B200-SXM",
	"gb200":          "GB200",
	"gb200-nvl72":    "GB200",
	"gb200_nvl72":    "GB200",
	"mi300x":         "MI300X",
}

// LookupGPU finds a GPU by catalog name, aiconfigurator key or a common
// alias, ignoring case.
func LookupGPU(name string) (GPU, error) {
	n := strings.ToLower(strings.TrimSpace(name))
	if canon, ok := aliases[n]; ok {
		n = strings.ToLower(canon)
	}
	for _, g := range catalog {
		if strings.ToLower(g.Name) == n {
			return g, nil
		}
	}
	return GPU{}, fmt.Errorf("cost: unknown GPU %q: expected one of %s", name, strings.Join(GPUNames(), ", "))
}

// GPUNames lists the catalog's canonical names, sorted.
func GPUNames() []string {
	out := make([]string, len(catalog))
	for i, g := range catalog {
		out[i] = g.Name
	}
	sort.Strings(out)
	return out
}
