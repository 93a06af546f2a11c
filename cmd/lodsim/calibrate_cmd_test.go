package main

import (
	"fmt"
	"image/png"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// pngNonBlank decodes a PNG and counts the distinct colours of a sample of
// its pixels: a drawn plot has axes, glyphs, a line and text.
func pngNonBlank(t *testing.T, path string) {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	b := img.Bounds()
	if b.Dx() < 200 || b.Dy() < 200 {
		t.Errorf("%s is %dx%d, expected a full-size plot", path, b.Dx(), b.Dy())
	}
	colours := map[[4]uint32]bool{}
	for y := b.Min.Y; y < b.Max.Y; y += 3 {
		for x := b.Min.X; x < b.Max.X; x += 3 {
			r, g, bl, a := img.At(x, y).RGBA()
			colours[[4]uint32{r, g, bl, a}] = true
		}
	}
	if len(colours) < 4 {
		t.Errorf("%s has %d colours, expected a drawn plot", path, len(colours))
	}
}

func TestCalibrateCommand(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "h100.yaml")
	stdout, err := runLodsim(t, "calibrate",
		"--measurements", "../../hwprofile/data/vidur/network/h100_dgx/all_reduce.csv",
		"--measurements", "../../hwprofile/data/vidur/compute/h100/meta-llama/Llama-2-7b-hf/mlp.csv",
		"--gpu", "h100", "--out", out, "--plots", filepath.Join(dir, "plots"))
	if err != nil {
		t.Fatalf("%v\n%s", err, stdout)
	}
	for _, w := range []string{"H100-SXM", "MAPE %", "gemm", "all_reduce_ring", "wrote " + out} {
		if !strings.Contains(stdout, w) {
			t.Errorf("output lacks %q:\n%s", w, stdout)
		}
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	p, err := cost.LoadProfile(f, out)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if p.GPU().Key != "h100_sxm" || p.GEMMs == nil || len(p.Comm) == 0 || p.Created != "2024-11-19" {
		t.Errorf("profile: gpu %s, gemm %v, %d comm tables, created %q; expected h100_sxm with GEMM and all-reduce tables dated by vidur's COMMIT",
			p.GPU().Key, p.GEMMs != nil, len(p.Comm), p.Created)
	}
	for _, op := range []string{"gemm", "all_reduce", "all_reduce_ring", "elementwise"} {
		pngNonBlank(t, filepath.Join(dir, "plots", "h100."+op+".png"))
	}
	// No temporary files are left behind.
	ents, _ := os.ReadDir(dir)
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left %s behind", e.Name())
		}
	}

	show, err := runLodsim(t, "profile", "show", out)
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"H100-SXM (key h100_sxm)", "all_reduce.csv", "held-out fit:", "gemm  ", "all_reduce        n=8", "context_attention     roofline"} {
		if !strings.Contains(show, w) {
			t.Errorf("profile show lacks %q:\n%s", w, show)
		}
	}
}

func TestCalibrateCommandErrors(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.csv")
	if err := os.WriteFile(bad, []byte("op,m,n,k,median_us\ngemm,1,2,3,-4\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "p.yaml")
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--measurements", bad, "--gpu", "h100", "--out", out}, "bad.csv: line 2"},
		{[]string{"--measurements", bad, "--gpu", "tpu9", "--out", out}, "--gpu"},
		{[]string{"--measurements", "../../hwprofile/data/vidur/network/h100_dgx/all_reduce.csv", "--gpu", "a100", "--out", out}, "no usable measurements"},
	} {
		_, err := runLodsim(t, append([]string{"calibrate"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("calibrate %v: %v, expected an error containing %q", c.args, err, c.want)
		}
	}
	if _, err := os.Stat(out); !os.IsNotExist(err) {
		t.Errorf("a failed calibration wrote %s", out)
	}
}

func TestProfileShowEmbedded(t *testing.T) {
	out, err := runLodsim(t, "profile", "show", "--embedded", "h100_sxm")
	if err != nil {
		t.Fatal(err)
	}
	for _, w := range []string{"embedded:h100_sxm", "gemm/vllm/0.24.0/gemm_perf.parquet", "generation_attention", "74 x 22 x 22 grid"} {
		if !strings.Contains(out, w) {
			t.Errorf("output lacks %q:\n%s", w, out)
		}
	}
	if _, err := runLodsim(t, "profile", "show"); err == nil || !strings.Contains(err.Error(), "h100_sxm") {
		t.Errorf("profile show without a file: %v, expected an error listing the shipped profiles", err)
	}
	if _, err := runLodsim(t, "profile", "show", "no/such.yaml"); err == nil || !strings.Contains(err.Error(), "no/such.yaml") {
		t.Errorf("profile show of a missing file: %v", err)
	}
}

// TestProfileShowEngine: --engine picks a shipped profile's engine (in any
// spelling engines go by); an unknown engine, a GPU without a profile for
// it, and --engine without --embedded are usage errors naming what is
// wrong.
func TestProfileShowEngine(t *testing.T) {
	for _, engine := range []string{"sglang", "TensorRT-LLM"} {
		out, err := runLodsim(t, "profile", "show", "--embedded", "H200-SXM", "--engine", engine)
		want := map[string]string{"sglang": "sglang", "TensorRT-LLM": "trtllm"}[engine]
		if err != nil || !strings.Contains(out, "embedded:h200_sxm/"+want) || !strings.Contains(out, "h200_sxm."+want+".csv.gz") {
			t.Errorf("--engine %s: %v\n%s", engine, err, out)
		}
	}
	for _, c := range []struct {
		args []string
		want string
	}{
		{[]string{"--embedded", "h100_sxm", "--engine", "foo"}, `unknown engine "foo": expected one of sglang, trtllm, vllm`},
		{[]string{"--embedded", "MI300X", "--engine", "sglang"}, "no shipped sglang profile for MI300X (mi300x)"},
		{[]string{"--engine", "vllm"}, "--engine picks a shipped profile; give it with --embedded GPU"},
	} {
		out, err := runLodsim(t, append([]string{"profile", "show"}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("profile show %v: %v, expected an error containing %q\n%s", c.args, err, c.want, out)
		}
	}
}

// TestCalibrateEngine: tables of two engines need --engine; with it the
// profile is fitted to that engine's kernels only.
func TestCalibrateEngine(t *testing.T) {
	dir := t.TempDir()
	csv := filepath.Join(dir, "two.csv")
	var b strings.Builder
	b.WriteString("op,engine,gpu,m,n,k,median_us\n")
	for _, e := range []struct {
		name  string
		scale float64
	}{{"vllm", 1}, {"sglang", 2}} {
		for m := 1; m <= 4096; m *= 2 {
			for _, n := range []int{1024, 4096} {
				fmt.Fprintf(&b, "gemm,%s,h200,%d,%d,4096,%g\n", e.name, m, n, e.scale*(5+float64(m*n)*4096*2/700e6))
			}
		}
	}
	if err := os.WriteFile(csv, []byte(b.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(dir, "p.yaml")
	for _, c := range []struct {
		args []string
		want string
	}{
		{nil, "--engine: hwprofile: several engines: the H200-SXM tables hold the engines sglang, vllm: choose one"},
		{[]string{"--engine", "tgi"}, `--engine: hwprofile: engine "tgi": expected one of sglang, trtllm, vllm`},
		{[]string{"--engine", "trtllm"}, "with engine trtllm: the tables hold engines sglang, vllm"},
	} {
		_, err := runLodsim(t, append([]string{"calibrate", "--measurements", csv, "--gpu", "h200", "--out", out}, c.args...)...)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("calibrate %v: %v, expected an error containing %q", c.args, err, c.want)
		}
	}
	fit := map[string]float64{}
	for _, e := range []string{"vllm", "sglang"} {
		if _, err := runLodsim(t, "calibrate", "--measurements", csv, "--gpu", "h200", "--engine", e, "--out", out); err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(out)
		if err != nil {
			t.Fatal(err)
		}
		p, err := cost.LoadProfile(f, out)
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		if p.Engine != e {
			t.Errorf("--engine %s: profile of engine %q", e, p.Engine)
		}
		fit[e] = p.GEMM(256, 4096, 4096)
	}
	if r := fit["sglang"] / fit["vllm"]; math.Abs(r-2) > 0.01 {
		t.Errorf("sglang's GEMMs take %.3f x vllm's in the fitted profiles, want 2 as measured", r)
	}
}
