package workload

import (
	"io"
	"os/exec"
	"strings"
	"testing"
)

func TestClamp(t *testing.T) {
	l := LengthDist{Kind: "fixed", Mean: 10, Min: 4, Max: 8}
	for _, c := range []struct {
		v    float64
		want int32
	}{{-3, 4}, {0, 4}, {5.4, 5}, {5.5, 6}, {100, 8}, {1e300, 8}} {
		if got := l.Clamp(c.v); got != c.want {
			t.Errorf("Clamp(%v) = %d, want %d", c.v, got, c.want)
		}
	}
	if got := (LengthDist{}).Clamp(1e300); got != maxLength {
		t.Errorf("unbounded Clamp(1e300) = %d, want maxLength %d", got, maxLength)
	}
}

func TestSliceReader(t *testing.T) {
	s := NewSliceReader([]Request{{ID: 1}, {ID: 2}})
	got, err := ReadAll(s)
	if err != nil || len(got) != 2 || got[1].ID != 2 || s.Served() != 2 {
		t.Fatalf("ReadAll = %v, %v after %d served; want both requests", got, err, s.Served())
	}
	if _, err := s.Next(); err != io.EOF {
		t.Errorf("Next after the end = %v, want io.EOF", err)
	}
}

// The point of this package: the simulator core depends on it, so it
// must link no file readers.
func TestNoFileReaders(t *testing.T) {
	out, err := exec.Command("go", "list", "-deps", ".").Output()
	if err != nil {
		t.Fatalf("go list -deps: %v", err)
	}
	for _, dep := range strings.Fields(string(out)) {
		if strings.Contains(dep, "arrow") || strings.Contains(dep, "parquet") || dep == "encoding/csv" {
			t.Errorf("workload links %s", dep)
		}
	}
}
