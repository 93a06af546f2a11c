package main

import (
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
)

// repoRoot is where the examples' commands run from.
const repoRoot = "../.."

// TestExamples checks every config in examples/: it parses and validates,
// and every command in its comments ("# $ lodsim ...") runs as written
// (from the repository root, with examples/ and lodsim-out/ in a scratch
// directory) and makes what it promises.
func TestExamples(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every example's commands; skipped with -short")
	}
	configs, err := filepath.Glob(filepath.Join(repoRoot, "examples", "*.yaml"))
	if err != nil || len(configs) < 4 {
		t.Fatalf("examples: %d configs (%v), want at least 4", len(configs), err)
	}
	work := t.TempDir()
	if err := os.CopyFS(filepath.Join(work, "examples"), os.DirFS(filepath.Join(repoRoot, "examples"))); err != nil {
		t.Fatal(err)
	}
	for _, path := range configs {
		name := filepath.Base(path)
		t.Run(strings.TrimSuffix(name, ".yaml"), func(t *testing.T) {
			data, err := os.ReadFile(path)
			if err != nil {
				t.Fatal(err)
			}
			cfg, err := replay.ParseConfig(data)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			if err := cfg.Validate(); err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			cmds := exampleCommands(string(data))
			if len(cmds) == 0 {
				t.Fatalf("%s: no \"# $ lodsim ...\" command line", name)
			}
			for _, args := range cmds {
				out, err := runCLI(t, rebase(args, work)...)
				if err != nil {
					t.Fatalf("%s: lodsim %s: %v\n%s", name, strings.Join(args, " "), err, out)
				}
				checkExampleOutput(t, args, rebase(args, work))
			}
		})
	}
	// The shipped trace is the one its listed command makes.
	shipped, _ := os.ReadFile(filepath.Join(repoRoot, "examples", "requests.csv"))
	made, _ := os.ReadFile(filepath.Join(work, "examples", "requests.csv"))
	if len(shipped) == 0 || !bytes.Equal(shipped, made) {
		t.Error("examples/requests.csv differs from what its trace synth command makes")
	}
}

// exampleCommands returns the arguments of each "# $ lodsim ..." line.
func exampleCommands(config string) [][]string {
	var out [][]string
	for _, line := range strings.Split(config, "\n") {
		if rest, ok := strings.CutPrefix(line, "# $ lodsim "); ok {
			out = append(out, strings.Fields(rest))
		}
	}
	return out
}

// rebase points examples/ and lodsim-out/ arguments into work, and other
// relative paths that exist from the repository root at them there.
func rebase(args []string, work string) []string {
	out := make([]string, len(args))
	for i, a := range args {
		switch {
		case strings.HasPrefix(a, "examples/"), strings.HasPrefix(a, "lodsim-out/"):
			out[i] = filepath.Join(work, a)
		case !strings.HasPrefix(a, "-") && strings.Contains(a, "/") && exists(filepath.Join(repoRoot, a)):
			out[i] = filepath.Join(repoRoot, a)
		default:
			out[i] = a
		}
	}
	return out
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

// checkExampleOutput checks what a replay or compare command wrote.
func checkExampleOutput(t *testing.T, args, real []string) {
	t.Helper()
	out := ""
	for i := range args[:len(args)-1] {
		if args[i] == "--out" {
			out = real[i+1]
		}
	}
	switch args[0] {
	case "replay":
		f, err := os.Open(filepath.Join(out, "results.parquet"))
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		fi, _ := f.Stat()
		rs, err := analysis.ReadResults(f, fi.Size())
		if err != nil {
			t.Fatal(err)
		}
		done := 0
		for _, r := range rs {
			if r.Status == replay.Completed {
				done++
			}
		}
		if len(rs) == 0 || done != len(rs) {
			t.Errorf("%s: %d of %d requests completed, want all", out, done, len(rs))
		}
	case "compare":
		var sw analysis.Sweep
		b, err := os.ReadFile(filepath.Join(out, "compare.json"))
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(b, &sw); err != nil {
			t.Fatal(err)
		}
		if len(sw.Comparisons) != 4 || sw.Comparisons[3].Label != "sweep-tp8" {
			t.Errorf("%s: %d comparisons, want the 4 TP degrees", out, len(sw.Comparisons))
		}
	case "calibrate":
		if !exists(real[len(real)-1]) {
			t.Errorf("calibrate wrote no profile %s", real[len(real)-1])
		}
	}
}
