package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/rundir"
)

// TestMain lets a test run the real main (signal handler included) in a
// child process: LODSIM_TEST_ARGS holds its arguments, separated by \x1f.
func TestMain(m *testing.M) {
	if args := os.Getenv("LODSIM_TEST_ARGS"); args != "" {
		// LODSIM_TEST_MEM bounds the child's data segment (the hostile
		// suite): a runaway allocation fails there instead of exhausting
		// the machine.
		if n, err := strconv.ParseUint(os.Getenv("LODSIM_TEST_MEM"), 10, 64); err == nil && n > 0 {
			syscall.Setrlimit(syscall.RLIMIT_DATA, &syscall.Rlimit{Cur: n, Max: n})
		}
		os.Args = append([]string{"lodsim"}, strings.Split(args, "\x1f")...)
		main()
		return
	}
	os.Exit(m.Run())
}

// TestInterruptRemovesTemporaries interrupts a long streaming replay once
// its run directory is in the making: the process says so, removes the
// temporary directory, leaves no run behind and exits 130 (SIGINT) or 143
// (SIGTERM).
func TestInterruptRemovesTemporaries(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a 10 M request replay in a child process")
	}
	for _, c := range []struct {
		sig  syscall.Signal
		code int
	}{{syscall.SIGINT, 130}, {syscall.SIGTERM, 143}} {
		parent := t.TempDir()
		out := filepath.Join(parent, "run")
		cmd := exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), "LODSIM_TEST_ARGS="+strings.Join([]string{"--quiet", "replay", "-c", "scenario:stream-10m", "--out", out}, "\x1f"))
		var stderr strings.Builder
		cmd.Stderr = &stderr
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		deadline := time.Now().Add(60 * time.Second)
		for {
			if m, _ := filepath.Glob(filepath.Join(parent, ".run.tmp*")); len(m) > 0 {
				break
			}
			if time.Now().After(deadline) {
				cmd.Process.Kill()
				t.Fatalf("no temporary run directory appeared; stderr:\n%s", stderr.String())
			}
			time.Sleep(20 * time.Millisecond)
		}
		cmd.Process.Signal(c.sig)
		err := cmd.Wait()
		if code := cmd.ProcessState.ExitCode(); code != c.code {
			t.Errorf("%v: exit code %d (%v), want %d; stderr:\n%s", c.sig, code, err, c.code, stderr.String())
		}
		if !strings.Contains(stderr.String(), "interrupted") || !strings.Contains(stderr.String(), "removed 1 temporary output") {
			t.Errorf("%v: stderr does not say what was removed:\n%s", c.sig, stderr.String())
		}
		if ents, _ := os.ReadDir(parent); len(ents) != 0 {
			t.Errorf("%v: left %v behind", c.sig, ents)
		}
	}
}

// TestExitCodes: 0 success, 1 a failure while running, 2 a usage or input
// error, with a message naming the flag or field in user terms.
func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	cfg := writeSmallConfig(t)
	unsorted := filepath.Join(dir, "unsorted.csv")
	os.WriteFile(unsorted, []byte("arrived_at,num_prefill_tokens,num_decode_tokens\n0.0,100,10\n0.2,50,4\n0.1,80,5\n"), 0o644)
	skipped := filepath.Join(t.TempDir(), "bench.csv")
	os.WriteFile(skipped, []byte("model,gpu,backend,isl,osl,concurrency,tp,pp,ttft_ms,tpot_ms\nacme/nothing-1b,h100_sxm,vllm,1024,128,16,1,1,100,10\n"), 0o644)
	file := filepath.Join(dir, "file")
	os.WriteFile(file, []byte("x"), 0o644)
	for _, c := range []struct {
		args []string
		code int
		want string
	}{
		{[]string{"scenarios"}, 0, ""},
		{[]string{"frobnicate"}, 2, `unknown command "frobnicate"`},
		{[]string{"replay", "--frobnicate"}, 2, "flag provided but not defined: -frobnicate"},
		{[]string{"replay", "-c", cfg, "extra"}, 2, `unexpected argument "extra"`},
		{[]string{"replay", "-c", cfg, "--slo-ttft", "-5ms"}, 2, "--slo-ttft -5ms: expected a positive duration"},
		{[]string{"replay", "-c", cfg, "--slo-tpot", "soon"}, 2, `"soon": expected a duration`},
		{[]string{"replay", "-c", cfg, "--lod", "fast"}, 2, `--lod "fast"`},
		{[]string{"replay", "-c", cfg, "--out", file}, 2, "exists and is not a directory"},
		{[]string{"replay", "-c", cfg, "--out", dir}, 2, "not a lodsim run directory"},
		{[]string{"compare", "-c", cfg, "--out", file}, 2, "exists and is not a directory"},
		{[]string{"validate", "--benchmarks", devSetPath, "--out", file}, 2, "exists and is not a directory"},
		{[]string{"replay", "-c", filepath.Join(dir, "none.yaml")}, 2, "none.yaml"},
		// Out of order is found while running: a runtime failure, in flag terms.
		{[]string{"replay", "-c", cfg, "--trace", unsorted, "--out", filepath.Join(dir, "r")}, 1, "pass --sort"},
		{[]string{"trace", "convert", "embedded:azure-code-2023", filepath.Join(dir, "x.csv"), "--head", "-5"}, 2, "--head -5: expected a number of requests >= 0"},
		{[]string{"trace", "synth", filepath.Join(dir, "s.csv"), "--count", "-5"}, 2, "--count -5: expected a positive number of requests"},
		{[]string{"trace", "synth", filepath.Join(dir, "s.csv")}, 2, "give --count N or --duration D"},
		{[]string{"trace", "convert", "embedded:azure-code-2023", dir + "/"}, 2, ""},
		{[]string{"validate", "--measurements", "x.csv"}, 2, "serving benchmarks are --benchmarks FILE"},
		{[]string{"plot"}, 2, "--in is required"},
		{[]string{"validate", "--benchmarks", skipped, "--out", filepath.Join(dir, "v")}, 2, "every one of the 1 rows was skipped"},
		{[]string{"completion", "tcsh"}, 2, `unknown shell "tcsh"`},
	} {
		_, stderr, code := lodsim(c.args...)
		if code != c.code || !strings.Contains(stderr, c.want) {
			t.Errorf("lodsim %s: exit %d, want %d with %q; stderr: %s", strings.Join(c.args, " "), code, c.code, c.want, stderr)
		}
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 2 {
		t.Errorf("failed commands left files behind: %v", ents)
	}
}

// TestFlagsAfterArguments: flags typed after the positional arguments are
// understood.
func TestFlagsAfterArguments(t *testing.T) {
	out := filepath.Join(t.TempDir(), "head.csv")
	text := runApp(t, "trace", "convert", "embedded:azure-code-2023", out, "--head", "3", "--scale=2", "--quiet")
	if !strings.Contains(text, "wrote 3 requests") {
		t.Errorf("--head after OUT ignored: %s", text)
	}
	bad := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(bad, []byte("arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,-1,1\n"), 0o644)
	if _, stderr, code := lodsim("trace", "stats", bad, "--strict"); code == 0 {
		t.Errorf("--strict after FILE ignored: %s", stderr)
	}
	if _, _, code := lodsim("trace", "stats", "--", "--strict"); code == 0 {
		t.Error("after --, --strict is a file name")
	}
}

// TestOutputsWriteThroughSpecialFiles: an --out naming a device node is
// written through and stays a device; a directory is refused by name.
func TestOutputsWriteThroughSpecialFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	runApp(t, "replay", "-c", writeSmallConfig(t), "--out", dir)
	if _, stderr, code := lodsim("report", "--in", dir, "--out", "/dev/null"); code != 0 {
		t.Fatalf("report --out /dev/null: %s", stderr)
	}
	if fi, err := os.Stat("/dev/null"); err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		t.Fatal("/dev/null was replaced")
	}
	if _, stderr, code := lodsim("report", "--in", dir, "--out", dir); code != 2 || !strings.Contains(stderr, "is a directory, expected a file name") {
		t.Errorf("report --out DIR: exit %d, %s", code, stderr)
	}
	// A symlink is followed: the target is rewritten, the link stays.
	target := filepath.Join(t.TempDir(), "page.html")
	link := filepath.Join(t.TempDir(), "link.html")
	os.Symlink(target, link)
	runApp(t, "report", "--in", dir, "--out", link)
	if fi, err := os.Lstat(link); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Error("the symlink was replaced")
	}
	if b, _ := os.ReadFile(target); !strings.Contains(string(b), "<!DOCTYPE html>") {
		t.Error("the link's target was not written")
	}
}

func TestReportRefusesMixedRunDirectory(t *testing.T) {
	a, b := filepath.Join(t.TempDir(), "a"), filepath.Join(t.TempDir(), "b")
	cfg := writeSmallConfig(t)
	runApp(t, "replay", "-c", cfg, "--out", a)
	runApp(t, "replay", "-c", cfg, "--out", b, "--variability", "0.5")
	data, _ := os.ReadFile(filepath.Join(b, rundir.ResultsFile))
	os.WriteFile(filepath.Join(a, rundir.ResultsFile), data, 0o644)
	for _, cmd := range []string{"report", "plot"} {
		if _, stderr, code := lodsim(cmd, "--in", a); code != 2 || !strings.Contains(stderr, "mixes files of different runs") {
			t.Errorf("%s of a mixed run: exit %d, %s", cmd, code, stderr)
		}
	}
}

func TestVersionScenariosCompletion(t *testing.T) {
	out := runApp(t, "--version")
	for _, w := range []string{"lodsim ", "module ", "revision ", "committed ", "built with go"} {
		if !strings.Contains(out, w) {
			t.Errorf("--version lacks %q:\n%s", w, out)
		}
	}
	out = runApp(t, "scenarios")
	for _, w := range []string{"reference-tp1 ", "stream-10m ", "Llama-3-8B on 1 x A100-80GB-SXM TP1 PP1", "embedded trace azure-conv-2023"} {
		if !strings.Contains(out, w) {
			t.Errorf("scenarios lacks %q:\n%s", w, out)
		}
	}
	if n := strings.Count(out, "\n"); n < 8 {
		t.Errorf("%d scenarios listed, expected every embedded one", n)
	}
	for shell, want := range map[string]string{"bash": "complete -o bashdefault", "zsh": "#compdef lodsim", "fish": "complete -c lodsim"} {
		if out := runApp(t, "completion", shell); !strings.Contains(out, want) {
			t.Errorf("completion %s lacks %q", shell, want)
		}
	}
	// urfave/cli reads the word being completed from os.Args.
	defer func(a []string) { os.Args = a }(os.Args)
	os.Args = []string{"lodsim", "--generate-bash-completion"}
	if out := runApp(t, "--generate-bash-completion"); !strings.Contains(out, "replay") || !strings.Contains(out, "scenarios") {
		t.Errorf("bash candidates: %q", out)
	}
}

// TestOneSyntaxAndSpelling: durations as in configs, GPU names in either
// spelling, --benchmarks meaning serving benchmarks everywhere.
func TestOneSyntaxAndSpelling(t *testing.T) {
	out := filepath.Join(t.TempDir(), "s.csv")
	if text := runApp(t, "trace", "synth", out, "--duration", "60s", "--rate", "2", "--seed", "3"); !strings.Contains(text, "wrote 1") {
		t.Errorf("--duration 60s: %s", text)
	}
	runApp(t, "trace", "synth", out, "--duration", "1.5", "--rate", "2")
	a := runApp(t, "profile", "show", "--embedded", "H100-SXM")
	b := runApp(t, "profile", "show", "--embedded", "h100_sxm")
	if a != b || !strings.Contains(a, "H100") {
		t.Error("GPU spellings show different profiles")
	}
}

func TestProgressQuiet(t *testing.T) {
	if p := newProgress(newQuietContext(t), "x", "requests", 0); p != nil {
		t.Error("--quiet still reports progress")
	}
}

func newQuietContext(t *testing.T) *cli.Context {
	t.Helper()
	var got *cli.Context
	app := &cli.App{Flags: []cli.Flag{&cli.BoolFlag{Name: "quiet"}}, Action: func(c *cli.Context) error { got = c; return nil }}
	if err := app.Run([]string{"x", "--quiet"}); err != nil {
		t.Fatal(err)
	}
	return got
}
