package sweep

import (
	"math"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
)

// randomTable has n rows with random latencies, throughputs and costs,
// some failed and some missing the SLO; ties are likely (values are
// drawn from a few levels).
func randomTable(seed uint64, n int) *Table {
	rng := rand.New(rand.NewPCG(seed, 1))
	t := &Table{Keys: []string{"k"}, Kinds: []Kind{KindInt}, Attainment: 0.99}
	for i := range n {
		r := Row{Point: i, Values: []string{string(rune('0' + i%10))}}
		r.Status, r.Completed = "ok", 10
		if rng.IntN(10) == 0 {
			r.Status, r.Completed = "failed", 0
		}
		r.TTFTP99Ms = float64(1 + rng.IntN(8))
		r.TPOTP99Ms = float64(1 + rng.IntN(8))
		r.OutputTokensPerSPerGPU = float64(1 + rng.IntN(8))
		r.MeetsSLO = r.Status == "ok" && rng.IntN(3) > 0
		r.GPUs = int64(1 + rng.IntN(4))
		r.USDPerMTok = float64(1 + rng.IntN(5))
		t.Rows = append(t.Rows, r)
	}
	return t
}

// TestFrontierIsPareto checks the frontier against its definition, by
// brute force: a row is on it iff no other row is at least as good on both
// axes and better on one, and of equal rows the first in the plan stands.
func TestFrontierIsPareto(t *testing.T) {
	for seed := range uint64(200) {
		tab := randomTable(seed, 30)
		for _, lat := range []Latency{TTFTP99, TPOTP99} {
			var want []int
			for i := range tab.Rows {
				a := &tab.Rows[i]
				if a.Status != "ok" {
					continue
				}
				onIt := true
				for j := range tab.Rows {
					b := &tab.Rows[j]
					if i == j || b.Status != "ok" {
						continue
					}
					la, lb, ta, tb := lat.Value(a), lat.Value(b), a.OutputTokensPerSPerGPU, b.OutputTokensPerSPerGPU
					dominates := lb <= la && tb >= ta && (lb < la || tb > ta)
					if dominates || (lb == la && tb == ta && j < i) {
						onIt = false
					}
				}
				if onIt {
					want = append(want, i)
				}
			}
			var got []int
			for _, r := range tab.Frontier(lat) {
				got = append(got, r.Point)
			}
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Fatalf("seed %d %s: frontier %v, want %v", seed, lat.Name, got, want)
			}
		}
	}
}

func TestCheapest(t *testing.T) {
	tab := randomTable(7, 50)
	ch := tab.Cheapest()
	if len(ch) == 0 {
		t.Fatal("no row meets the SLO")
	}
	n := 0
	for i := range tab.Rows {
		if tab.Rows[i].MeetsSLO {
			n++
		}
	}
	if len(ch) != n {
		t.Errorf("%d cheapest rows, want every one of the %d meeting the SLO", len(ch), n)
	}
	for k := 1; k < len(ch); k++ {
		a, b := ch[k-1], ch[k]
		if a.USDPerMTok > b.USDPerMTok || (a.USDPerMTok == b.USDPerMTok && (a.GPUs > b.GPUs || (a.GPUs == b.GPUs && a.Point > b.Point))) {
			t.Fatalf("rank %d (point %d) before rank %d (point %d) is out of order", k, a.Point, k+1, b.Point)
		}
	}
	var sb strings.Builder
	if err := tab.WriteBest(&sb, 3); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(sb.String(), "meet the SLO (goodput fraction >= 0.99)") || strings.Count(sb.String(), "\nPareto frontier") != 2 {
		t.Errorf("best report:\n%s", sb.String())
	}
}

func TestKeyPlotsTakeTheBest(t *testing.T) {
	tab := &Table{Keys: []string{"tp", "gpu", "replicas"}}
	add := func(tp, gpu, rep string, ttft, tput float64) {
		r := Row{Point: len(tab.Rows), Values: []string{tp, gpu, rep}}
		r.Status, r.Completed, r.TTFTP99Ms, r.OutputTokensPerSPerGPU, r.USDPerMTok = "ok", 1, ttft, tput, math.NaN()
		tab.Rows = append(tab.Rows, r)
	}
	add("1", "h100", "1", 50, 100)
	add("1", "h100", "2", 30, 80) // lower latency, lower throughput
	add("2", "h100", "1", 20, 60)
	add("1", "h200", "1", 40, 120)
	kps, err := tab.KeyPlots("")
	if err != nil {
		t.Fatal(err)
	}
	ttft, tput := kps[0], kps[2]
	if ttft.Key != "tp" || ttft.Group != "gpu" || strings.Join(ttft.Ticks, ",") != "1,2" || len(ttft.Groups) != 2 {
		t.Fatalf("plot %+v", ttft)
	}
	h100 := ttft.Groups[0]
	if h100.Name != "gpu=h100" || h100.Y[0] != 30 || h100.Y[1] != 20 {
		t.Errorf("TTFT of h100: %v, want the minimum over replicas, 30 then 20", h100.Y)
	}
	if tput.Groups[0].Y[0] != 100 || !math.IsNaN(tput.Groups[1].Y[1]) {
		t.Errorf("throughput: %v %v, want the maximum 100, and NaN where h200 has no TP2", tput.Groups[0].Y, tput.Groups[1].Y)
	}
	// Cost counts only rows meeting the SLO.
	tab.Rows[0].USDPerMTok, tab.Rows[1].USDPerMTok = 1, 5
	tab.Rows[1].MeetsSLO = true
	kps, _ = tab.KeyPlots("")
	if cost := kps[4]; !cost.Metric.SLOOnly || cost.Groups[0].Y[0] != 5 {
		t.Errorf("cost of h100 at tp 1: %v, want 5 (the cheaper point misses the SLO)", cost.Groups[0].Y)
	}
	if _, err := tab.KeyPlots("pp"); err == nil {
		t.Error("an unswept main key accepted")
	}
}
