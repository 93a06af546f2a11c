package cost

import (
	"bytes"
	"compress/gzip"
	"io"
	"os"
	"strings"
	"testing"
)

// FuzzLoadProfile: no profile YAML makes loading or a prediction panic.
func FuzzLoadProfile(f *testing.F) {
	// A real shipped profile seeds the corpus.
	gz, err := os.Open("../profiles/a100_sxm.vllm.yaml.gz")
	if err != nil {
		f.Fatal(err)
	}
	defer gz.Close()
	zr, err := gzip.NewReader(gz)
	if err != nil {
		f.Fatal(err)
	}
	data, err := io.ReadAll(zr)
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
