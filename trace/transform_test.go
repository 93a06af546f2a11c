package trace

import (
	"math"
	"strings"
	"testing"
)

func reqsAt(arrivals ...int64) []Request {
	out := make([]Request, len(arrivals))
	for i, a := range arrivals {
		out[i] = Request{ID: RequestID(i), Arrival: a, PromptTokens: 1, OutputTokens: int32(i % 3)}
	}
	return out
}

func arrivalsOf(reqs []Request) []int64 {
	out := make([]int64, len(reqs))
	for i, q := range reqs {
		out[i] = q.Arrival
	}
	return out
}

func equal64(a, b []int64) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestTransforms(t *testing.T) {
	base := reqsAt(0, 10, 20, 30, 40, 50)
	src := func() Reader { return NewSliceReader(base) }
	for _, tc := range []struct {
		name string
		r    Reader
		want []int64
	}{
		{"window", Window(src(), 10, 40), []int64{10, 20, 30}},
		{"window+shift", ShiftToZero(Window(src(), 15, 100)), []int64{0, 10, 20, 30}},
		{"scale faster", Scale(src(), 2), []int64{0, 5, 10, 15, 20, 25}},
		{"scale slower", Scale(src(), 0.5), []int64{0, 20, 40, 60, 80, 100}},
		{"head", Head(src(), 2), []int64{0, 10}},
		{"head 0", Head(src(), 0), []int64{}},
		{"drop failed", DropFailed(src()), []int64{10, 20, 40, 50}},
		{"composed", Head(Scale(Window(src(), 20, 60), 10), 2), []int64{2, 3}},
	} {
		got := collect(t)(tc.r, nil)
		if !equal64(arrivalsOf(got), tc.want) {
			t.Errorf("%s: arrivals %v, want %v", tc.name, arrivalsOf(got), tc.want)
		}
	}
	for name, r := range map[string]Reader{
		"window": Window(src(), 5, 5), "scale": Scale(src(), 0), "head": Head(src(), -1), "sample": Sample(src(), 1.5, 1),
	} {
		if _, err := ReadAll(r); err == nil {
			t.Errorf("%s: bad argument accepted", name)
		}
	}
}

func TestWindowStopsReading(t *testing.T) {
	src := NewSliceReader(reqsAt(0, 10, 20, 30, 40))
	collect(t)(Window(src, 0, 15), nil)
	if src.Served() != 3 {
		t.Errorf("window read %d requests from its source, want 3 (it stops at the first past the end)", src.Served())
	}
}

func TestSample(t *testing.T) {
	all := collect(t)(Embedded("azure-conv-2023"))
	a := collect(t)(Sample(NewSliceReader(all), 0.25, 7), nil)
	b := collect(t)(Sample(NewSliceReader(all), 0.25, 7), nil)
	requireEqual(t, a, b)
	// 19,366 Bernoulli(0.25) draws: sd ≈ 60 requests; allow 5 sd.
	if n := float64(len(a)); n < 0.25*19366-300 || n > 0.25*19366+300 {
		t.Errorf("kept %d of 19366 at 0.25", len(a))
	}
	c := collect(t)(Sample(NewSliceReader(all), 0.25, 8), nil)
	if len(c) == len(a) && c[0].ID == a[0].ID && c[len(c)-1].ID == a[len(a)-1].ID {
		t.Error("a different seed kept the same requests")
	}
	if got := collect(t)(Sample(NewSliceReader(all), 1, 1), nil); len(got) != len(all) {
		t.Errorf("fraction 1 kept %d of %d", len(got), len(all))
	}
}

func TestStats(t *testing.T) {
	r, _ := Embedded("azure-code-2023")
	s, err := ComputeStats(r)
	if err != nil {
		t.Fatal(err)
	}
	// Rows, span and sums as in TestEmbeddedAzure2023; the means are the
	// dataset's published 2,048 and 27.9.
	if s.Rows != 8819 || s.SpanNs != 3435948056000 || s.Prompt.Sum != 18059974 || s.Output.Sum != 245896 {
		t.Fatalf("stats = %+v", s)
	}
	if math.Round(s.Prompt.Mean) != 2048 || math.Round(s.Output.Mean*10) != 279 {
		t.Errorf("means %.1f, %.2f", s.Prompt.Mean, s.Output.Mean)
	}
	if s.Prompt.P99 != 7437 && s.Prompt.P99 != 7436 {
		t.Errorf("prompt p99 = %d, want the published 7,436 (nearest rank may give the next value)", s.Prompt.P99)
	}
	if want := 8818 / 3435.948056; math.Abs(s.MeanRate-want) > 1e-9 {
		t.Errorf("mean rate %v, want %v", s.MeanRate, want)
	}
	if s.PeakMinuteRate < s.MeanRate {
		t.Errorf("peak %v below mean %v", s.PeakMinuteRate, s.MeanRate)
	}

	small := []Request{{Arrival: 0, PromptTokens: 1}, {Arrival: 30e9, PromptTokens: 2}, {Arrival: 61e9, PromptTokens: 3, OutputTokens: 4, Model: "m"}}
	s, _ = ComputeStats(NewSliceReader(small))
	if s.PeakMinuteRate != 2.0/60 || s.PeakMinute != 0 || s.Failed != 2 || s.Prompt.P50 != 2 || s.Prompt.Max != 3 || s.Models["m"] != 1 {
		t.Errorf("small stats = %+v", s)
	}
	if !strings.Contains(s.String(), "model m") {
		t.Errorf("table:\n%s", s)
	}
}
