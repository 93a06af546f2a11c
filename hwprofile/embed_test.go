package hwprofile

import (
	"bytes"
	"flag"
	"os"
	"path/filepath"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

var update = flag.Bool("update", false, "rewrite the shipped profiles under profiles/ from data/aiconfigurator")

// shippedOptions are the options the shipped profiles are calibrated with.
var shippedOptions = CalibrateOptions{Seed: 1}

// TestEmbeddedProfilesRebuild calibrates each shipped profile again from the
// copied source tables and checks the result is byte-identical to the
// embedded file.
func TestEmbeddedProfilesRebuild(t *testing.T) {
	for _, key := range []string{"a100_sxm", "h100_sxm", "h200_sxm"} {
		t.Run(key, func(t *testing.T) {
			ms, err := ReadMeasurements(filepath.Join("data", "aiconfigurator", key))
			if err != nil {
				t.Fatal(err)
			}
			g, err := cost.LookupGPU(key)
			if err != nil {
				t.Fatal(err)
			}
			p, _, err := Calibrate(ms, g, shippedOptions)
			if err != nil {
				t.Fatal(err)
			}
			var buf bytes.Buffer
			if err := p.Write(&buf); err != nil {
				t.Fatal(err)
			}
			path := filepath.Join("profiles", key+".yaml")
			if *update {
				if err := os.WriteFile(path, buf.Bytes(), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(buf.Bytes(), want) {
				t.Fatalf("rebuilding %s from data/aiconfigurator/%s gives different bytes (%d vs %d); run go test ./hwprofile -run TestEmbeddedProfilesRebuild -update and review the diff",
					path, key, buf.Len(), len(want))
			}
			// Profiles are embedded in the binary: keep each small.
			if len(want) > 1500<<10 {
				t.Errorf("%s is %d bytes, expected at most 1.5 MiB", path, len(want))
			}
		})
	}
}
