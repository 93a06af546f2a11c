package cost

import (
	"os/exec"
	"strings"
	"testing"
)

// TestImportsNoTableReaders keeps the package free of file readers: the
// simulator imports it, and must not link Arrow, Parquet or CSV code.
func TestImportsNoTableReaders(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Skipf("go list unavailable: %v", err)
	}
	for _, p := range strings.Fields(string(out)) {
		if strings.Contains(p, "arrow") || strings.Contains(p, "parquet") || p == "encoding/csv" {
			t.Errorf("package cost depends on %s", p)
		}
	}
}
