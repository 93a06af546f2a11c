package analysis

import (
	"bytes"
	"math"
	"strings"
	"testing"
)

func TestAccuracyHandComputed(t *testing.T) {
	pairs := []Pair{
		{"g1", "gemm", 100, 110},       // 10%
		{"g2", "gemm", 100, 80},        // 20%
		{"g3", "gemm", 200, 200},       // 0%
		{"a1", "attn", 50, 60},         // 20%
		{"a2", "attn", 0, 5},           // skipped: measured 0
		{"a3", "attn", 10, 10.5},       // 5%
		{"a4", "attn", 10, math.NaN()}, // skipped
	}
	tab := Accuracy(pairs)
	if len(tab.Groups) != 2 || tab.Groups[0].Group != "attn" || tab.Groups[1].Group != "gemm" {
		t.Fatalf("groups = %+v", tab.Groups)
	}
	gemm, _ := tab.Group("gemm")
	// APEs {0, 10, 20}: MAPE 10, median x[2] = 10, p90 x[3] = 20.
	if gemm.Count != 3 || !near(gemm.MAPE, 10) || !near(gemm.MedianAPE, 10) || !near(gemm.P90APE, 20) || !near(gemm.Worst, 20) || gemm.WorstLabel != "g2" {
		t.Errorf("gemm = %+v", gemm)
	}
	attn, _ := tab.Group("attn")
	// APEs {5, 20}: MAPE 12.5, median x[1] = 5.
	if attn.Count != 2 || attn.Skipped != 2 || !near(attn.MAPE, 12.5) || !near(attn.MedianAPE, 5) || !near(attn.Worst, 20) || attn.WorstLabel != "a1" {
		t.Errorf("attn = %+v", attn)
	}
	// Overall APEs {0, 5, 10, 20, 20}: MAPE 11, median x[3] = 10, p90 x[5] = 20.
	o := tab.Overall
	if o.Count != 5 || o.Skipped != 2 || !near(o.MAPE, 11) || !near(o.MedianAPE, 10) || !near(o.P90APE, 20) || o.WorstLabel != "g2" {
		t.Errorf("overall = %+v", o)
	}
	if _, ok := tab.Group("nope"); ok {
		t.Error("found a group that does not exist")
	}
	var txt, csvb bytes.Buffer
	tab.WriteText(&txt)
	tab.WriteCSV(&csvb)
	if !strings.Contains(txt.String(), "12.50") || !strings.Contains(txt.String(), "overall") {
		t.Errorf("text:\n%s", txt.String())
	}
	if want := "gemm,3,0,10,10,20,20,g2\n"; !strings.Contains(csvb.String(), want) {
		t.Errorf("csv lacks %q:\n%s", want, csvb.String())
	}
}

// TestAccuracyAddSkipped: skipped pairs added afterwards count in their
// group and overall, and a group with only skipped pairs gets its row in
// name order.
func TestAccuracyAddSkipped(t *testing.T) {
	tab := Accuracy([]Pair{{"a", "a", 10, 11}, {"c", "c", 10, 9}})
	tab.AddSkipped("c", 2)
	tab.AddSkipped("b", 3)
	tab.AddSkipped("a", 0)
	var got []string
	for _, r := range tab.Groups {
		got = append(got, r.Group)
	}
	if strings.Join(got, ",") != "a,b,c" {
		t.Fatalf("groups %v, expected a,b,c", got)
	}
	b, _ := tab.Group("b")
	c, _ := tab.Group("c")
	a, _ := tab.Group("a")
	if b.Skipped != 3 || b.Count != 0 || c.Skipped != 2 || c.Count != 1 || a.Skipped != 0 || tab.Overall.Skipped != 5 || tab.Overall.Count != 2 {
		t.Errorf("a %+v, b %+v, c %+v, overall %+v", a, b, c, tab.Overall)
	}
}
