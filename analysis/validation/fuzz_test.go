package validation

import (
	"bytes"
	"os"
	"strings"
	"testing"
)

// FuzzReadBenchmarks: no benchmark table makes ReadBenchmarks panic, and
// every error names the file.
func FuzzReadBenchmarks(f *testing.F) {
	data, err := os.ReadFile("testdata/silicon_dev_qwen3-32b_h100_sglang.csv")
	if err != nil {
		f.Fatal(err)
	}
	if len(data) > 1<<13 {
		data = data[:bytes.LastIndexByte(data[:1<<13], '\n')+1]
	}
	f.Add(data)
	f.Add([]byte("\ufeffmodel,gpu,tp,isl,osl,concurrency,ttft_ms,tpot_ms\nm,h100_sxm,1,10,10,1,1,1\n"))
	f.Add([]byte("a,b\n\"x\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, _, err := ReadBenchmarks(bytes.NewReader(data), "fuzz.csv")
		if err != nil {
			if !strings.Contains(err.Error(), "fuzz.csv") {
				t.Fatalf("error %q does not name the file", err)
			}
			return
		}
		for _, r := range rows {
			if r.TP < 1 {
				t.Fatalf("accepted row %+v", r)
			}
		}
	})
}
