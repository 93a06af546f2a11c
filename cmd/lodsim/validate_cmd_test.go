package main

import (
	"bytes"
	"encoding/csv"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

const devSetPath = "../../analysis/validation/testdata/silicon_dev_qwen3-32b_h100_sglang.csv"

// smallBench writes a canonical benchmark file of three dev-set-like rows
// and one row of an unknown model.
func smallBench(t *testing.T) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), "bench.csv")
	data := "model,gpu,backend,isl,osl,concurrency,tp,pp,ttft_ms,tpot_ms\n" +
		"Qwen/Qwen3-32B,h100_sxm,sglang,1024,128,16,2,1,840.8,16.54\n" +
		"Qwen/Qwen3-32B,h100_sxm,sglang,1024,128,16,4,1,492.8,10.55\n" +
		"Qwen/Qwen3-32B,h100_sxm,sglang,1024,256,16,8,1,361.7,7.57\n" +
		"acme/nothing-1b,h100_sxm,vllm,1024,128,16,1,1,100,10\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func TestValidateCommand(t *testing.T) {
	bench := smallBench(t)
	dir := t.TempDir()
	out := runApp(t, "validate", "--benchmarks", bench, "--out", dir, "--requests-per-client", "4")
	for _, w := range []string{"4 rows (lodsim layout), 3 simulated, 1 skipped", "skipped: unknown model \"acme/nothing-1b\"", "TTFT accuracy", "Qwen3-32B h100_sxm sglang bf16 agg", "pooled", "overall"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	f, err := os.Open(filepath.Join(dir, "validation.csv"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	recs, err := csv.NewReader(f).ReadAll()
	if err != nil {
		t.Fatal(err)
	}
	if len(recs) != 5 || recs[4][len(recs[4])-1] == "" || recs[1][12] == "" {
		t.Fatalf("validation.csv: %v", recs)
	}
	for _, name := range []string{"validation.png", "validation_sglang.png"} {
		png, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) {
			t.Fatalf("%s: %v", name, err)
		}
	}
	groups, err := os.ReadFile(filepath.Join(dir, "groups.csv"))
	if err != nil || !strings.Contains(string(groups), "Qwen3-32B h100_sxm sglang bf16 agg,Qwen3-32B,h100_sxm,sglang,bf16,agg,3,0,") {
		t.Fatalf("groups.csv: %v\n%s", err, groups)
	}
}

// TestValidateAllSkipped: a file in which no row can be simulated (a
// disaggregated row, an unknown model) fails with the usage exit status
// and says why, instead of printing an empty accuracy; a bad --cv is a
// usage error too.
func TestValidateAllSkipped(t *testing.T) {
	p := filepath.Join(t.TempDir(), "skipped.csv")
	data := "model,gpu,backend,isl,osl,concurrency,tp,pp,ttft_ms,tpot_ms,mode\n" +
		"Qwen/Qwen3-32B,h100_sxm,sglang,1024,128,16,2,1,840.8,16.54,disagg\n" +
		"acme/nothing-1b,h100_sxm,vllm,1024,128,16,1,1,100,10,agg\n"
	if err := os.WriteFile(p, []byte(data), 0o644); err != nil {
		t.Fatal(err)
	}
	var stdout, stderr bytes.Buffer
	code := run([]string{"lodsim", "validate", "--benchmarks", p, "--out", t.TempDir()}, &stdout, &stderr)
	if code != exitUsage || !strings.Contains(stderr.String(), "every one of the 2 rows was skipped") || !strings.Contains(stdout.String(), "2 rows (lodsim layout), 0 simulated, 2 skipped") {
		t.Fatalf("exit %d, expected %d\nstdout:\n%s\nstderr:\n%s", code, exitUsage, stdout.String(), stderr.String())
	}
	stdout.Reset()
	stderr.Reset()
	if code := run([]string{"lodsim", "validate", "--benchmarks", p, "--cv", "row"}, &stdout, &stderr); code != exitUsage || !strings.Contains(stderr.String(), "--cv") {
		t.Fatalf("--cv row: exit %d, stderr %s", code, stderr.String())
	}
}

func TestCalibrateOverheadsCommand(t *testing.T) {
	dir := t.TempDir()
	prof := filepath.Join(dir, "profile.yaml")
	out := runApp(t, "calibrate-overheads", "--benchmarks", devSetPath, "--gpu", "h100_sxm", "--split", "half", "--seed", "1",
		"--requests-per-client", "3", "--max-iter", "2", "--out", prof)
	for _, w := range []string{"fitted 42 rows", "held-out half (42 rows, seed 1)", "TPOT accuracy", "wrote " + prof} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	f, err := os.Open(prof)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	p, err := cost.LoadProfile(f, prof)
	if err != nil {
		t.Fatal(err)
	}
	if p.GPU().Key != "h100_sxm" || p.Overhead == (cost.Overheads{}) {
		t.Fatalf("written profile %s with overheads %+v, expected fitted ones", p.GPU().Key, p.Overhead)
	}
	// The written profile feeds validate.
	runApp(t, "validate", "--benchmarks", smallBench(t), "--profile", prof, "--out", t.TempDir(), "--requests-per-client", "3")
}

// TestCalibrateBenchmarksAlias: `lodsim calibrate --benchmarks` is the
// same fit as calibrate-overheads, and the two inputs exclude each other.
func TestCalibrateBenchmarksAlias(t *testing.T) {
	prof := filepath.Join(t.TempDir(), "p.yaml")
	out := runApp(t, "calibrate", "--benchmarks", smallBench(t), "--gpu", "h100_sxm", "--requests-per-client", "3", "--max-iter", "1", "--out", prof)
	if !strings.Contains(out, "wrote "+prof) {
		t.Errorf("output:\n%s", out)
	}
	if _, err := os.Stat(prof); err != nil {
		t.Fatal(err)
	}
	app := newApp()
	app.Writer, app.ErrWriter = io.Discard, io.Discard
	err := app.Run([]string{"lodsim", "calibrate", "--benchmarks", "x.csv", "--measurements", "y", "--out", prof})
	if err == nil || !strings.Contains(err.Error(), "give one") {
		t.Errorf("both inputs accepted: %v", err)
	}
}
