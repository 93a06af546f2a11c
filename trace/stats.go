package trace

import (
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"
)

// TokenStats summarises one token column. Percentiles are nearest-rank: the
// smallest value with at least p of the rows at or below it.
type TokenStats struct {
	Mean          float64
	P50, P90, P99 int32
	Min, Max      int32
	Sum           int64
	Zero          int64 // rows with 0 tokens
}

// Stats summarises a trace.
type Stats struct {
	Rows           int64
	FirstNs        int64 // arrival of the first request, as the reader gives it
	LastNs         int64
	SpanNs         int64   // LastNs - FirstNs
	MeanRate       float64 // requests per second over the span (Rows-1 gaps over SpanNs); 0 for one row
	PeakMinuteRate float64 // requests per second in the busiest minute (count / 60)
	PeakMinute     int64   // start of that minute, ns after FirstNs
	Prompt, Output TokenStats
	Failed         int64            // rows with zero output tokens
	WithPrefix     int64            // rows with prefix hashes
	WithSession    int64            // rows with a session id
	Models         map[string]int64 // rows per model name ("" when absent); at most MaxStatsModels names, the rest under "(other)"
	Problems       Problems         // rows the reader skipped (Options.SkipInvalid)
}

// MaxStatsModels caps the number of distinct model names Stats counts.
const MaxStatsModels = 64

// ComputeStats reads r to the end (it does not close r) and summarises it.
// It holds the token counts in memory (8 bytes a row) for the percentiles.
func ComputeStats(r Reader) (Stats, error) {
	var s Stats
	s.Models = map[string]int64{}
	var prompts, outputs []int32
	var minute, minuteCount int64 = -1, 0
	endMinute := func() {
		if minuteCount > 0 && float64(minuteCount)/60 > s.PeakMinuteRate {
			s.PeakMinuteRate = float64(minuteCount) / 60
			s.PeakMinute = minute * 60e9
		}
	}
	for {
		q, err := r.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			return s, err
		}
		if s.Rows == 0 {
			s.FirstNs = q.Arrival
		}
		s.Rows++
		s.LastNs = q.Arrival
		if m := (q.Arrival - s.FirstNs) / 60e9; m != minute {
			endMinute()
			minute, minuteCount = m, 0
		}
		minuteCount++
		prompts = append(prompts, q.PromptTokens)
		outputs = append(outputs, q.OutputTokens)
		if q.OutputTokens == 0 {
			s.Failed++
		}
		if len(q.PrefixHashes) > 0 {
			s.WithPrefix++
		}
		if q.Session != "" {
			s.WithSession++
		}
		if _, ok := s.Models[q.Model]; ok || len(s.Models) < MaxStatsModels {
			s.Models[q.Model]++
		} else {
			s.Models["(other)"]++
		}
	}
	endMinute()
	s.SpanNs = s.LastNs - s.FirstNs
	if s.SpanNs > 0 {
		s.MeanRate = float64(s.Rows-1) / (float64(s.SpanNs) / 1e9)
	}
	s.Prompt = tokenStats(prompts)
	s.Output = tokenStats(outputs)
	if p, ok := ProblemsOf(r); ok {
		s.Problems = p
	}
	return s, nil
}

func tokenStats(v []int32) TokenStats {
	var t TokenStats
	if len(v) == 0 {
		return t
	}
	slices.Sort(v)
	for _, x := range v {
		t.Sum += int64(x)
		if x == 0 {
			t.Zero++
		}
	}
	rank := func(p float64) int32 {
		i := int(float64(len(v))*p+0.9999999) - 1
		return v[max(0, min(i, len(v)-1))]
	}
	t.Mean = float64(t.Sum) / float64(len(v))
	t.P50, t.P90, t.P99 = rank(0.50), rank(0.90), rank(0.99)
	t.Min, t.Max = v[0], v[len(v)-1]
	return t
}

// String formats s as an aligned table.
func (s Stats) String() string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	fmt.Fprintf(w, "rows\t%d\n", s.Rows)
	fmt.Fprintf(w, "span\t%.3f s\n", float64(s.SpanNs)/1e9)
	fmt.Fprintf(w, "mean rate\t%.3f req/s\n", s.MeanRate)
	fmt.Fprintf(w, "peak rate\t%.3f req/s (minute starting at %.0f s)\n", s.PeakMinuteRate, float64(s.PeakMinute)/1e9)
	fmt.Fprintf(w, "\tmean\tp50\tp90\tp99\tmin\tmax\tsum\tzero\n")
	for _, t := range []struct {
		name string
		t    TokenStats
	}{{"prompt tokens", s.Prompt}, {"output tokens", s.Output}} {
		fmt.Fprintf(w, "%s\t%.1f\t%d\t%d\t%d\t%d\t%d\t%d\t%d\n", t.name, t.t.Mean, t.t.P50, t.t.P90, t.t.P99, t.t.Min, t.t.Max, t.t.Sum, t.t.Zero)
	}
	fmt.Fprintf(w, "failed (0 output)\t%d\n", s.Failed)
	fmt.Fprintf(w, "with prefix hashes\t%d\n", s.WithPrefix)
	fmt.Fprintf(w, "with session\t%d\n", s.WithSession)
	if len(s.Models) > 1 || (len(s.Models) == 1 && s.Models[""] == 0) {
		names := make([]string, 0, len(s.Models))
		for m := range s.Models {
			names = append(names, m)
		}
		sort.Strings(names)
		for _, m := range names {
			name := m
			if name == "" {
				name = "(none)"
			}
			fmt.Fprintf(w, "model %s\t%d\n", name, s.Models[m])
		}
	}
	p := s.Problems
	fmt.Fprintf(w, "skipped rows\t%d (missing %d, invalid %d, out of order %d)\n", p.Rows, p.Missing, p.Invalid, p.OutOfOrder)
	cols := make([]string, 0, len(p.ByColumn))
	for c := range p.ByColumn {
		cols = append(cols, c)
	}
	sort.Strings(cols)
	for _, c := range cols {
		fmt.Fprintf(w, "  skipped for %q\t%d\n", c, p.ByColumn[c])
	}
	if p.First != nil {
		fmt.Fprintf(w, "first problem\t%v\n", p.First)
	}
	for _, warn := range p.Warnings() {
		fmt.Fprintf(w, "warning\t%s\n", warn)
	}
	w.Flush()
	return b.String()
}
