package validation

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"flag"
	"os"
	"testing"

	"github.com/lodsim/lodsim/replay"
)

var update = flag.Bool("update", false, "with LODSIM_REFIT=1: rewrite replay/engine_costs.json from the refit")

const shippedCosts = "../../replay/engine_costs.json"

// TestShippedEngineCosts: the shipped engine constants are what the
// documented command writes from the committed development set: the
// file names the command and the set's SHA-256, and is in the writer's
// canonical form. With LODSIM_REFIT=1 it refits every engine (minutes)
// and checks the refit reproduces the file byte for byte (the fit is
// deterministic); with -update as well it rewrites the file instead.
func TestShippedEngineCosts(t *testing.T) {
	data, err := os.ReadFile(shippedCosts)
	if err != nil {
		t.Fatal(err)
	}
	if os.Getenv("LODSIM_REFIT") != "" {
		f, err := FitShippedEngineCosts(wholeDevSet, EngineFitOptions{Log: os.Stderr, Sim: Options{Workers: 2}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := f.Encode()
		if err != nil {
			t.Fatal(err)
		}
		if *update {
			if err := os.WriteFile(shippedCosts, got, 0o644); err != nil {
				t.Fatal(err)
			}
			data = got
		} else if !bytes.Equal(got, data) {
			t.Fatalf("refit differs from the shipped file:\n%s\nshipped:\n%s", got, data)
		}
	}
	f := replay.ShippedEngineCosts()
	if f.Command != EngineCostsCommand {
		t.Errorf("shipped file made by %q, expected the documented %q", f.Command, EngineCostsCommand)
	}
	dev, err := os.ReadFile(wholeDevSet)
	if err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(dev)
	if f.DevSet != hex.EncodeToString(sum[:]) {
		t.Errorf("shipped file fitted to a set with SHA-256 %s, the committed %s is %x", f.DevSet, wholeDevSet, sum)
	}
	canon, err := f.Encode()
	if err != nil || !bytes.Equal(canon, data) {
		t.Errorf("shipped file is not in the writer's form (%v)", err)
	}
	for _, e := range replay.Engines {
		if _, ok := replay.LookupEngineCosts(e); !ok {
			t.Errorf("no shipped constants for %s", e)
		}
	}
}
