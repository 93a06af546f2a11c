package main

import (
	"bytes"
	"compress/gzip"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// The hostile suite (testdata/hostile/*.yaml) runs command lines a careless
// or malicious user might type against inputs the test makes, each in a
// child process (the real main, signal handler included) with a time limit
// and a memory bound, so that a hang or runaway fails its case instead of
// the machine. Every case states its exit code and fragments of what the
// command must say; every case also must not panic, hit a fatal runtime
// error or leave a temporary file behind.
//
// A case file holds vars (text substituted as ${name} in every string of
// its cases) and cases; a case with each expands into one case per entry,
// whose keys are substituted the same way.

// hostileMemBytes bounds each child's data segment (RLIMIT_DATA: the Go
// heap and every other private writable mapping), and hostileRSSBytes its
// peak resident memory as the kernel reports it after exit.
const (
	hostileMemBytes = 2 << 30
	hostileRSSBytes = 1 << 30
	hostileTimeout  = 60 * time.Second
)

type hostileFile struct {
	Vars  map[string]string `yaml:"vars"`
	Cases []hostileCase     `yaml:"cases"`
}

type hostileCase struct {
	Name  string              `yaml:"name"`
	Each  []map[string]string `yaml:"each"`
	Files map[string]string   `yaml:"files"` // literal text files
	Make  []hostileMake       `yaml:"make"`  // generated or special files, in order
	Setup [][]string          `yaml:"setup"` // in-process commands that must succeed first
	Args  []string            `yaml:"args"`
	Exit  string              `yaml:"exit"`  // the exit code (a number, or a ${variable})
	Want  []string            `yaml:"want"`  // fragments of stdout + stderr
	Not   []string            `yaml:"not"`   // fragments that must not appear
	After []hostileCheck      `yaml:"after"` // the state of paths afterwards
	Limit string              `yaml:"limit"` // time limit, default hostileTimeout
	Skip  string              `yaml:"skip"`  // a reason to skip the case
	Stdin string              `yaml:"stdin"` // what the command reads on stdin
	Env   map[string]string   `yaml:"env"`   // extra environment
	// Interrupt sends Signal (INT or TERM) once a path matching When (a
	// glob in the case directory) exists.
	Interrupt *struct {
		When   string `yaml:"when"`
		Signal string `yaml:"signal"`
	} `yaml:"interrupt"`
	Slow bool   `yaml:"slow"` // skipped under -short
	Path string `yaml:"-"`    // the case file
	vars map[string]string
}

// hostileMake makes one input: exactly one of its makers is set.
type hostileMake struct {
	Path     string `yaml:"path"`
	Synth    string `yaml:"synth"`     // lodsim trace synth flags; the format follows the extension
	Repeat   string `yaml:"repeat"`    // Repeat x Times, written as is
	Times    int    `yaml:"times"`     //
	Gzip     string `yaml:"gzip"`      // this text (Times times, if set), gzipped
	Dir      bool   `yaml:"dir"`       // an empty directory
	FIFO     bool   `yaml:"fifo"`      // a named pipe
	Symlink  string `yaml:"symlink"`   // a symbolic link to this target
	Flip     string `yaml:"flip"`      // invert the byte at this offset of Path (negative: from the end)
	Truncate string `yaml:"truncate"`  // keep this many bytes of Path (negative: drop that many)
	Copy     string `yaml:"copy"`      // a copy of this file of the repository (relative to cmd/lodsim)
	Replace  string `yaml:"replace"`   // replace the first match of Replace in Path ...
	With     string `yaml:"with"`      // ... with With
	Chmod    string `yaml:"chmod"`     // octal mode for Path
	FromFile string `yaml:"from_file"` // a copy of this file of the case directory
}

type hostileCheck struct {
	Path   string `yaml:"path"`
	Exists *bool  `yaml:"exists"`
	Kind   string `yaml:"kind"` // file, dir, char (device), fifo, symlink
}

func loadHostile(t *testing.T) []hostileCase {
	t.Helper()
	files, err := filepath.Glob("testdata/hostile/*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no case files in testdata/hostile: %v", err)
	}
	var out []hostileCase
	seen := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		var hf hostileFile
		dec := yaml.NewDecoder(bytes.NewReader(data))
		dec.KnownFields(true)
		if err := dec.Decode(&hf); err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		for _, c := range hf.Cases {
			entries := c.Each
			if len(entries) == 0 {
				entries = []map[string]string{nil}
			}
			for _, e := range entries {
				vars := map[string]string{}
				for k, v := range hf.Vars {
					vars[k] = v
				}
				for k, v := range e {
					vars[k] = v
				}
				x := c
				x.Each, x.Path, x.vars = nil, f, vars
				x.Name = x.sub(c.Name)
				name := strings.TrimSuffix(filepath.Base(f), ".yaml") + "/" + x.Name
				if prev, dup := seen[name]; dup {
					t.Fatalf("%s: case %q defined twice (also %s)", f, name, prev)
				}
				seen[name] = f
				x.Name = name
				out = append(out, x)
			}
		}
	}
	return out
}

// sub substitutes ${name} with the case's variables, repeatedly, so that
// a variable may use another.
func (c *hostileCase) sub(s string) string {
	for range 4 {
		if !strings.Contains(s, "${") {
			break
		}
		for k, v := range c.vars {
			s = strings.ReplaceAll(s, "${"+k+"}", v)
		}
	}
	return s
}

func (c *hostileCase) subAll(v []string, dir string) []string {
	out := make([]string, len(v))
	for i, s := range v {
		out[i] = strings.ReplaceAll(c.sub(s), "$D", dir)
	}
	return out
}

// TestHostile runs every case of testdata/hostile.
func TestHostile(t *testing.T) {
	cases := loadHostile(t)
	if len(cases) < 100 {
		t.Errorf("%d hostile cases, expected at least 100", len(cases))
	}
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range cases {
		t.Run(c.Name, func(t *testing.T) {
			if c.Skip != "" {
				t.Skip(c.Skip)
			}
			if c.Slow && testing.Short() {
				t.Skip("slow case")
			}
			dir := t.TempDir()
			c.make(t, dir)
			c.run(t, exe, dir)
		})
	}
}

func (c *hostileCase) make(t *testing.T, dir string) {
	t.Helper()
	names := make([]string, 0, len(c.Files))
	for n := range c.Files {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		p := filepath.Join(dir, n)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(c.sub(c.Files[n])), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	// Files are made first, then setup runs, then files are changed (so
	// that a case can damage what setup wrote).
	c.makeFiles(t, dir, false)
	for _, s := range c.Setup {
		args := c.subAll(s, dir)
		if out, errOut, code := lodsimIn(dir, args...); code != 0 {
			t.Fatalf("setup %v: exit %d\n%s%s", args, code, out, errOut)
		}
	}
	c.makeFiles(t, dir, true)
}

// changes reports whether m changes an existing file rather than making one.
func (m hostileMake) changes() bool {
	return m.Flip != "" || m.Truncate != "" || m.Replace != "" || m.FromFile != "" || m.Chmod != ""
}

func (c *hostileCase) makeFiles(t *testing.T, dir string, changes bool) {
	t.Helper()
	for _, m := range c.Make {
		if m.changes() != changes {
			continue
		}
		p := filepath.Join(dir, c.sub(m.Path))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		var err error
		switch {
		case m.Synth != "":
			args := append([]string{"-q", "trace", "synth"}, strings.Fields(c.sub(m.Synth))...)
			if _, errOut, code := lodsim(append(args, p)...); code != 0 {
				t.Fatalf("make %s: trace synth exit %d: %s", m.Path, code, errOut)
			}
		case m.Repeat != "":
			err = os.WriteFile(p, bytes.Repeat([]byte(c.sub(m.Repeat)), m.Times), 0o644)
		case m.Gzip != "":
			var b bytes.Buffer
			zw := gzip.NewWriter(&b)
			zw.Write(bytes.Repeat([]byte(c.sub(m.Gzip)), max(m.Times, 1)))
			zw.Close()
			err = os.WriteFile(p, b.Bytes(), 0o644)
		case m.Dir:
			err = os.MkdirAll(p, 0o755)
		case m.FIFO:
			err = syscall.Mkfifo(p, 0o644)
		case m.Symlink != "":
			err = os.Symlink(strings.ReplaceAll(c.sub(m.Symlink), "$D", dir), p)
		case m.Flip != "" || m.Truncate != "" || m.Replace != "":
			var b []byte
			if b, err = os.ReadFile(p); err != nil {
				break
			}
			offset := func(v string) int {
				i, err := strconv.Atoi(c.sub(v))
				if err != nil {
					t.Fatalf("make %s: offset %q: %v", m.Path, v, err)
				}
				if i < 0 {
					i += len(b)
				}
				return i
			}
			if m.Flip != "" {
				b[offset(m.Flip)] ^= 0xff
			}
			if m.Truncate != "" {
				b = b[:offset(m.Truncate)]
			}
			if m.Replace != "" {
				if !bytes.Contains(b, []byte(c.sub(m.Replace))) {
					t.Fatalf("make %s: %q not found", m.Path, m.Replace)
				}
				b = bytes.Replace(b, []byte(c.sub(m.Replace)), []byte(c.sub(m.With)), 1)
			}
			err = os.WriteFile(p, b, 0o644)
		case m.Copy != "" || m.FromFile != "":
			src := m.Copy
			if m.FromFile != "" {
				src = filepath.Join(dir, c.sub(m.FromFile))
			}
			var b []byte
			if b, err = os.ReadFile(src); err == nil {
				err = os.WriteFile(p, b, 0o644)
			}
		case m.Chmod != "":
			var mode uint64
			if _, err = fmt.Sscanf(m.Chmod, "%o", &mode); err == nil {
				err = os.Chmod(p, os.FileMode(mode))
			}
		default:
			t.Fatalf("make %s: no maker set", m.Path)
		}
		if err != nil {
			t.Fatalf("make %s: %v", m.Path, err)
		}
	}
}

// lodsimIn is lodsim run with dir as the working directory.
func lodsimIn(dir string, args ...string) (string, string, int) {
	wd, err := os.Getwd()
	if err != nil {
		return "", err.Error(), -1
	}
	if err := os.Chdir(dir); err != nil {
		return "", err.Error(), -1
	}
	defer os.Chdir(wd)
	return lodsim(args...)
}

func (c *hostileCase) run(t *testing.T, exe, dir string) {
	t.Helper()
	limit := hostileTimeout
	if c.Limit != "" {
		d, err := time.ParseDuration(c.Limit)
		if err != nil {
			t.Fatalf("limit: %v", err)
		}
		limit = d
	}
	ctx, cancel := context.WithTimeout(context.Background(), limit)
	defer cancel()
	args := c.subAll(c.Args, dir)
	cmd := exec.CommandContext(ctx, exe)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "LODSIM_TEST_ARGS="+strings.Join(args, "\x1f"),
		fmt.Sprintf("LODSIM_TEST_MEM=%d", hostileMemBytes), "NO_COLOR=1")
	for k, v := range c.Env {
		cmd.Env = append(cmd.Env, k+"="+c.sub(v))
	}
	cmd.Stdin = strings.NewReader(c.sub(c.Stdin))
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	start := time.Now()
	err := cmd.Start()
	if err == nil && c.Interrupt != nil {
		sig := map[string]syscall.Signal{"INT": syscall.SIGINT, "TERM": syscall.SIGTERM}[c.sub(c.Interrupt.Signal)]
		if sig == 0 {
			t.Fatalf("interrupt: signal %q, expected INT or TERM", c.Interrupt.Signal)
		}
		for ctx.Err() == nil {
			if m, _ := filepath.Glob(filepath.Join(dir, c.sub(c.Interrupt.When))); len(m) > 0 {
				cmd.Process.Signal(sig)
				break
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	if err == nil {
		err = cmd.Wait()
	}
	wall := time.Since(start)
	text := out.String()
	if ctx.Err() != nil {
		t.Fatalf("lodsim %s: still running after %v (runaway); output so far:\n%s", strings.Join(args, " "), limit, clip(text))
	}
	code := cmd.ProcessState.ExitCode()
	if code < 0 {
		t.Fatalf("lodsim %s: killed (%v) after %v:\n%s", strings.Join(args, " "), err, wall, clip(text))
	}
	if ru, ok := cmd.ProcessState.SysUsage().(*syscall.Rusage); ok && ru.Maxrss*1024 > hostileRSSBytes {
		t.Errorf("peak RSS %d MiB, expected at most %d MiB", ru.Maxrss/1024, hostileRSSBytes>>20)
	}
	for _, bad := range []string{"panic:", "fatal error:", "goroutine ", "runtime error", "[recovered]"} {
		if strings.Contains(text, bad) {
			t.Fatalf("lodsim %s: crashed (%q):\n%s", strings.Join(args, " "), bad, clip(text))
		}
	}
	want, err := strconv.Atoi(c.sub(c.Exit))
	if err != nil {
		t.Fatalf("exit: %q is not a number", c.Exit)
	}
	if code != want {
		t.Errorf("lodsim %s: exit %d, want %d; output:\n%s", strings.Join(args, " "), code, want, clip(text))
	}
	for _, w := range c.subAll(c.Want, dir) {
		if !strings.Contains(text, w) {
			t.Errorf("lodsim %s: output lacks %q:\n%s", strings.Join(args, " "), w, clip(text))
		}
	}
	for _, w := range c.subAll(c.Not, dir) {
		if strings.Contains(text, w) {
			t.Errorf("lodsim %s: output has %q:\n%s", strings.Join(args, " "), w, clip(text))
		}
	}
	for _, a := range c.After {
		c.check(t, dir, a)
	}
	// No temporary output survives, whatever the outcome.
	filepath.WalkDir(dir, func(p string, d os.DirEntry, err error) error {
		if err == nil && strings.Contains(d.Name(), ".tmp") {
			t.Errorf("left a temporary behind: %s", p)
		}
		return nil
	})
}

func (c *hostileCase) check(t *testing.T, dir string, a hostileCheck) {
	t.Helper()
	p := strings.ReplaceAll(c.sub(a.Path), "$D", dir)
	if !filepath.IsAbs(p) {
		p = filepath.Join(dir, p)
	}
	fi, err := os.Lstat(p)
	if a.Exists != nil && *a.Exists != (err == nil) {
		t.Errorf("%s: exists %v, want %v", a.Path, err == nil, *a.Exists)
		return
	}
	if a.Kind == "" || err != nil {
		return
	}
	m := fi.Mode()
	kind := map[bool]string{true: "file"}[m.IsRegular()]
	switch {
	case m.IsDir():
		kind = "dir"
	case m&os.ModeCharDevice != 0:
		kind = "char"
	case m&os.ModeNamedPipe != 0:
		kind = "fifo"
	case m&os.ModeSymlink != 0:
		kind = "symlink"
	}
	if kind != a.Kind {
		t.Errorf("%s: a %s afterwards, want a %s", a.Path, kind, a.Kind)
	}
}

func clip(s string) string {
	if len(s) > 4000 {
		return s[:2000] + "\n...\n" + s[len(s)-2000:]
	}
	return s
}
