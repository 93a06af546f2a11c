package hwprofile

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// FuzzReadMeasurements: no measurement table, in any of the formats
// ReadMeasurements recognises by content (Parquet, Arrow file or stream,
// CSV), makes reading panic; an error names the file.
func FuzzReadMeasurements(f *testing.F) {
	for _, p := range []string{
		"data/aiconfigurator/h100_sxm/comm/nccl/2.23/nccl_perf.parquet",
		"data/vidur/network/h100_dgx/all_reduce.csv",
	} {
		data, err := os.ReadFile(p)
		if err != nil {
			f.Fatal(err)
		}
		if len(data) > 1<<14 {
			data = data[:bytes.LastIndexByte(data[:1<<14], '\n')+1]
		}
		f.Add(data)
	}
	f.Add([]byte(canonicalCSV))
	f.Add([]byte("op,gpu,m,n,k,latency_us\ngemm,h100_sxm,1,2,3,-4\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		path := filepath.Join(t.TempDir(), "fuzz.csv")
		if err := os.WriteFile(path, data, 0o644); err != nil {
			t.Fatal(err)
		}
		ms, err := ReadMeasurements(path)
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") && !strings.Contains(err.Error(), "hwprofile") {
				t.Fatalf("error %q names neither the file nor the package", err)
			}
			return
		}
		for _, m := range ms.Rows {
			if f, _, _ := m.validate(); f != "" {
				t.Fatalf("accepted an invalid row: %+v (field %s)", m, f)
			}
		}
	})
}

// FuzzLoadProfile: no profile YAML makes loading or a prediction panic.
func FuzzLoadProfile(f *testing.F) {
	data, err := os.ReadFile("profiles/a100_sxm.yaml")
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add([]byte("version: 1\ngpu: {name: x}\n"))
	f.Add([]byte("version: 1\ngemm: {m: [1, 2], n: [1], k: [1], ns: [1e30, .nan]}\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		p, err := LoadProfile(bytes.NewReader(data), "fuzz.yaml")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.yaml") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		s := AttnShape{Heads: 8, KVHeads: 1, HeadDim: 128}
		_ = p.GEMM(77, 5000, 3000)
		_ = p.ContextAttention(3, 700, 300, s)
		_ = p.GenerationAttention(50, 3000, s)
		_ = p.AllReduce(1e6, 4)
	})
}
