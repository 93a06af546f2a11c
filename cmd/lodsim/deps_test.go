package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// importRules are the architecture's one-way data flow (BRIEF, issue 9): a
// package under from may not import a package under to directly. They
// are about direct imports: plots draws analysis data, and analysis holds
// replay's types, so plots reaches replay through analysis by design.
var importRules = []struct{ from, to string }{
	{"replay", "cmd"},
	{"lod", "replay"},
	{"hwprofile", "replay"},
	{"hwprofile", "lod"},
	{"trace", "replay"},
	{"analysis", "plots"},
	{"plots", "replay"},
}

// linkRules: the simulator core links no table readers, directly or not.
var linkRules = []struct{ from, to string }{
	{"lod", "github.com/apache/arrow"},
	{"lod", "github.com/parquet-go"},
	{"lod", "encoding/csv"},
	{"replay", "github.com/apache/arrow"},
	{"replay", "github.com/parquet-go"},
	{"replay", "encoding/csv"},
}

const module = "github.com/lodsim/lodsim/"

func under(pkg, dir string) bool {
	p := strings.TrimPrefix(pkg, module)
	return p != pkg && (p == dir || strings.HasPrefix(p, dir+"/"))
}

func TestDependencyRules(t *testing.T) {
	out, err := exec.Command("go", "list", "-f", "{{.ImportPath}}|{{join .Imports \" \"}}|{{join .Deps \" \"}}", module+"...").Output()
	if err != nil {
		t.Fatalf("go list: %v", err)
	}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		parts := strings.SplitN(line, "|", 3)
		if len(parts) != 3 {
			t.Fatalf("go list line %q", line)
		}
		pkg, imports, deps := parts[0], strings.Fields(parts[1]), strings.Fields(parts[2])
		for _, r := range importRules {
			if !under(pkg, r.from) {
				continue
			}
			for _, imp := range imports {
				if under(imp, r.to) {
					t.Errorf("%s imports %s: %s must not import %s", pkg, imp, r.from, r.to)
				}
			}
		}
		for _, r := range linkRules {
			if !under(pkg, r.from) {
				continue
			}
			for _, d := range deps {
				if d == r.to || strings.HasPrefix(d, r.to+"/") {
					t.Errorf("%s depends on %s: %s must not link table readers", pkg, d, r.from)
					break
				}
			}
		}
	}
}

// TestCommandStaysThin: the CLI keeps flags, files, progress and printing
// (issue 9: under 1,200 lines); everything else belongs in a library.
func TestCommandStaysThin(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	lines := 0
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines += bytes.Count(b, []byte("\n"))
	}
	if lines >= 1200 {
		t.Errorf("cmd/lodsim has %d lines of non-test Go; keep it under 1200 by moving logic into library packages", lines)
	}
}
