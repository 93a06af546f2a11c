package trace

import (
	"errors"
	"io"
	"math"
	"testing"
)

func drawAll(t *testing.T, spec Synthetic) []Request {
	t.Helper()
	return collect(t)(NewSynthetic(spec))
}

// meanCV returns the mean and coefficient of variation of xs.
func meanCV(xs []float64) (float64, float64) {
	var s, s2 float64
	for _, x := range xs {
		s += x
	}
	m := s / float64(len(xs))
	for _, x := range xs {
		s2 += (x - m) * (x - m)
	}
	return m, math.Sqrt(s2/float64(len(xs)-1)) / m
}

func gaps(reqs []Request) []float64 {
	g := make([]float64, len(reqs)-1)
	for i := 1; i < len(reqs); i++ {
		g[i-1] = float64(reqs[i].Arrival-reqs[i-1].Arrival) / 1e9
	}
	return g
}

func TestSyntheticGamma(t *testing.T) {
	for _, cv := range []float64{0.5, 1, 3} {
		reqs := drawAll(t, Synthetic{Arrival: "gamma", Rate: 10, CV: cv, Count: 40000, Seed: 7,
			Prompt: LengthDist{Mean: 100}, Output: LengthDist{Mean: 10}})
		m, gotCV := meanCV(gaps(reqs))
		// 40,000 gaps: the standard error of the mean gap is cv/sqrt(n) ≈ 1.5%
		// of it at cv=3; 6% leaves room for the heavier tail of the CV estimate.
		if math.Abs(m-0.1)/0.1 > 0.06 || math.Abs(gotCV-cv)/cv > 0.06 {
			t.Errorf("cv %v: mean gap %.4f s (want 0.1), cv %.3f", cv, m, gotCV)
		}
	}
	if _, err := NewSynthetic(Synthetic{Arrival: "gamma", Rate: 1, Count: 1, Prompt: LengthDist{Mean: 1}, Output: LengthDist{Mean: 1}}); err == nil {
		t.Error("gamma without cv accepted")
	}
}

func TestLengthDists(t *testing.T) {
	prompt, _, err := EmbeddedLengths("sharegpt")
	if err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name     string
		d        LengthDist
		mean, sd float64
	}{
		{"lognormal", LengthDist{Kind: "lognormal", Mean: 800, Std: 400}, 800, 400},
		{"normal", LengthDist{Kind: "normal", Mean: 800, Std: 100}, 800, 100},
		{"empirical", LengthDist{Kind: "empirical", Values: prompt}, empiricalMean(prompt), 0},
	} {
		reqs := drawAll(t, Synthetic{Rate: 1, Count: 50000, Seed: 3, Prompt: tc.d, Output: LengthDist{Mean: 1}})
		xs := make([]float64, len(reqs))
		for i, q := range reqs {
			xs[i] = float64(q.PromptTokens)
		}
		m, cv := meanCV(xs)
		// 50,000 draws: the standard error is under 0.5% of the mean for
		// these spreads; 3% also absorbs rounding to whole tokens.
		if math.Abs(m-tc.mean)/tc.mean > 0.03 {
			t.Errorf("%s: mean %.1f, want %.1f", tc.name, m, tc.mean)
		}
		if tc.sd > 0 && math.Abs(cv*m-tc.sd)/tc.sd > 0.05 {
			t.Errorf("%s: std %.1f, want %.1f", tc.name, cv*m, tc.sd)
		}
	}
	clamped := drawAll(t, Synthetic{Rate: 1, Count: 2000, Seed: 1, Prompt: LengthDist{Kind: "lognormal", Mean: 100, Std: 300, Min: 20, Max: 150}, Output: LengthDist{Mean: 1}})
	for _, q := range clamped {
		if q.PromptTokens < 20 || q.PromptTokens > 150 {
			t.Fatalf("prompt %d outside [20, 150]", q.PromptTokens)
		}
	}
	for _, bad := range []LengthDist{{Kind: "empirical"}, {Kind: "lognormal", Mean: 0}, {Kind: "zipf", Mean: 1}, {Mean: 5, Min: 10, Max: 5}} {
		if _, err := NewSynthetic(Synthetic{Rate: 1, Count: 1, Prompt: bad, Output: LengthDist{Mean: 1}}); err == nil {
			t.Errorf("%+v accepted", bad)
		}
	}
}

func empiricalMean(v []int32) float64 {
	var s float64
	for _, x := range v {
		s += float64(x)
	}
	return s / float64(len(v))
}

func TestSyntheticDeterministic(t *testing.T) {
	spec := Synthetic{Arrival: "gamma", CV: 2, Rate: 5, Count: 1000, Seed: 42,
		Prompt: LengthDist{Kind: "lognormal", Mean: 500, Std: 200}, Output: LengthDist{Kind: "normal", Mean: 50, Std: 10}}
	a, b := drawAll(t, spec), drawAll(t, spec)
	requireEqual(t, a, b)
	spec.Seed++
	if c := drawAll(t, spec); c[10].Arrival == a[10].Arrival {
		t.Error("a different seed gave the same requests")
	}
}

// completeAll drives a closed loop like a simulator: each request takes
// service(id) ns; completions are reported in time order.
func runClosedLoop(t *testing.T, spec ClosedLoop, service func(RequestID) int64) ([]Request, *ClosedLoopSource) {
	t.Helper()
	src, err := NewClosedLoop(spec)
	if err != nil {
		t.Fatal(err)
	}
	type done struct {
		id RequestID
		at int64
	}
	var inflight []done
	var out []Request
	for {
		q, err := src.Next()
		if err == nil {
			out = append(out, q)
			inflight = append(inflight, done{q.ID, q.Arrival + service(q.ID)})
			continue
		}
		if err == io.EOF {
			for _, d := range inflight {
				src.Completed(d.id, d.at)
			}
			break
		}
		if !errors.Is(err, ErrPending) {
			t.Fatal(err)
		}
		if len(inflight) == 0 {
			t.Fatal("ErrPending with nothing in flight")
		}
		// Complete the earliest finisher (ties by id).
		k := 0
		for i, d := range inflight {
			if d.at < inflight[k].at || (d.at == inflight[k].at && d.id < inflight[k].id) {
				k = i
			}
		}
		d := inflight[k]
		inflight = append(inflight[:k], inflight[k+1:]...)
		src.Completed(d.id, d.at)
	}
	return out, src
}

func TestClosedLoop(t *testing.T) {
	spec := ClosedLoop{Clients: 4, Requests: 10, ThinkNs: 5, Seed: 9, Prompt: LengthDist{Mean: 100}, Output: LengthDist{Mean: 10}}
	reqs, src := runClosedLoop(t, spec, func(id RequestID) int64 { return 100 + int64(id)*10 })
	if len(reqs) != 10 {
		t.Fatalf("%d requests, want 10", len(reqs))
	}
	for i := 0; i < 4; i++ {
		if reqs[i].ID != RequestID(i) || reqs[i].Arrival != 0 {
			t.Fatalf("request %d = %+v, want id %d at 0", i, reqs[i], i)
		}
	}
	// Client 0's request 0 ends at 100, so request 4 arrives at 100+5.
	if reqs[4].Arrival != 105 || reqs[4].Session != "client-0" {
		t.Errorf("request 4 = %+v, want client 0 at 105", reqs[4])
	}
	if src.MaxOutstanding() != 4 || src.Issued() != 10 {
		t.Errorf("max outstanding %d, issued %d", src.MaxOutstanding(), src.Issued())
	}
	for i := 1; i < len(reqs); i++ {
		if reqs[i].Arrival < reqs[i-1].Arrival {
			t.Fatalf("arrivals out of order at %d", i)
		}
	}
	src.Completed(999, 0)
	if src.UnknownCompletions() != 1 {
		t.Error("unknown completion not counted")
	}

	// Same completions, same requests.
	again, _ := runClosedLoop(t, spec, func(id RequestID) int64 { return 100 + int64(id)*10 })
	requireEqual(t, again, reqs)

	// More clients than requests: only Requests are ever sent.
	few, src := runClosedLoop(t, ClosedLoop{Clients: 8, Requests: 3, Prompt: LengthDist{Mean: 1}, Output: LengthDist{Mean: 1}}, func(RequestID) int64 { return 1 })
	if len(few) != 3 || src.MaxOutstanding() != 3 {
		t.Errorf("%d requests, max outstanding %d", len(few), src.MaxOutstanding())
	}
	if _, err := NewClosedLoop(ClosedLoop{Clients: 0, Requests: 1, Prompt: LengthDist{Mean: 1}, Output: LengthDist{Mean: 1}}); err == nil {
		t.Error("zero clients accepted")
	}
}

func TestClosedLoopConcurrencyBound(t *testing.T) {
	spec := ClosedLoop{Clients: 16, Requests: 5000, ThinkNs: 1000, Seed: 1, Prompt: LengthDist{Kind: "lognormal", Mean: 500, Std: 300}, Output: LengthDist{Mean: 50}}
	src, _ := NewClosedLoop(spec)
	var _ Reactive = src
	reqs, src := runClosedLoop(t, spec, func(id RequestID) int64 { return int64(id%7+1) * 1e6 })
	if int64(len(reqs)) != spec.Requests || src.MaxOutstanding() != spec.Clients || src.Outstanding() != 0 {
		t.Errorf("%d requests, max outstanding %d, outstanding at end %d", len(reqs), src.MaxOutstanding(), src.Outstanding())
	}
}

func TestEmpiricalSource(t *testing.T) {
	_, out, _ := EmbeddedLengths("arxiv")
	a := drawAll(t, Synthetic{Rate: 1, Count: 100, Seed: 5, Prompt: LengthDist{Mean: 1}, Output: LengthDist{Kind: "empirical", Source: "arxiv:output"}})
	b := drawAll(t, Synthetic{Rate: 1, Count: 100, Seed: 5, Prompt: LengthDist{Mean: 1}, Output: LengthDist{Kind: "empirical", Values: out}})
	requireEqual(t, a, b)
	for _, src := range []string{"arxiv", "nope:prompt", "arxiv:total"} {
		if _, err := NewSynthetic(Synthetic{Rate: 1, Count: 1, Prompt: LengthDist{Mean: 1}, Output: LengthDist{Kind: "empirical", Source: src}}); err == nil {
			t.Errorf("source %q accepted", src)
		}
		if _, err := NewClosedLoop(ClosedLoop{Clients: 1, Requests: 1, Prompt: LengthDist{Kind: "empirical", Source: src}, Output: LengthDist{Mean: 1}}); err == nil {
			t.Errorf("closed loop: source %q accepted", src)
		}
	}
}
