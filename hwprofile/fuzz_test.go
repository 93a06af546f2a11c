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
