package replay

import (
	"go/ast"
	"go/parser"
	"go/token"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// maxFuncLines bounds the length of every function in the package's
// non-test files: a function that needs more does more than one thing.
const maxFuncLines = 60

// maxSimulatorMethods bounds the Simulator's methods: the run's phases and
// the glue between components. Anything else belongs to a component type
// in a file named after it (kvPool, scheduler, executors, router, ...).
const maxSimulatorMethods = 30

// TestPackageShape enforces the size limits above on replay's own code.
func TestPackageShape(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	var simMethods []string
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		file, err := parser.ParseFile(fset, f, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		for _, d := range file.Decls {
			fn, ok := d.(*ast.FuncDecl)
			if !ok {
				continue
			}
			lines := fset.Position(fn.End()).Line - fset.Position(fn.Pos()).Line + 1
			if lines >= maxFuncLines {
				t.Errorf("%s: %s is %d lines, expected under %d", fset.Position(fn.Pos()), fn.Name.Name, lines, maxFuncLines)
			}
			if receiverType(fn) == "Simulator" {
				simMethods = append(simMethods, fn.Name.Name)
			}
		}
	}
	if len(simMethods) > maxSimulatorMethods {
		sort.Strings(simMethods)
		t.Errorf("Simulator has %d methods, expected at most %d: %s", len(simMethods), maxSimulatorMethods, strings.Join(simMethods, ", "))
	}
	t.Logf("Simulator has %d methods", len(simMethods))
}

// receiverType is the name of fn's receiver type, "" for a function.
func receiverType(fn *ast.FuncDecl) string {
	if fn.Recv == nil || len(fn.Recv.List) == 0 {
		return ""
	}
	typ := fn.Recv.List[0].Type
	if star, ok := typ.(*ast.StarExpr); ok {
		typ = star.X
	}
	if id, ok := typ.(*ast.Ident); ok {
		return id.Name
	}
	return ""
}
