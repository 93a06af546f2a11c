package cost

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteFitTable prints fit rows as an aligned table: op, held-out count,
// MAPE, p90 and worst absolute percentage error.
func WriteFitTable(w io.Writer, fits []FitSummary) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "op\theld-out\tMAPE %\tp90 APE %\tworst APE %\trange\t")
	for _, f := range fits {
		rng := f.Range
		if rng == "" {
			rng = "all"
		}
		if f.Count == 0 {
			fmt.Fprintf(tw, "%s\t0\t-\t-\t-\t%s\t\n", f.Op, rng)
			continue
		}
		fmt.Fprintf(tw, "%s\t%d\t%.2f\t%.2f\t%.2f\t%s\t\n", f.Op, f.Count, f.MAPE, f.P90APE, f.WorstAPE, rng)
	}
	return tw.Flush()
}

// Describe prints what p contains: its GPU, provenance, selection rules,
// sources, held-out fit, overheads and the extent of each section.
func (p *Profile) Describe(w io.Writer) error {
	ew := &errWriter{w: w}
	g := p.gpu
	ew.printf("profile %s (format %d)\n", p.name, p.Version)
	ew.printf("gpu        %s (key %s): %.0f TFLOP/s bf16, %.0f GB/s HBM, %.0f GB/s link per direction\n",
		g.Name, g.Key, g.BF16TFLOPS, g.MemBWBytes/1e9, g.LinkBWBytes/1e9)
	if p.Engine != "" {
		ew.printf("engine     %s\n", p.Engine)
	}
	ew.printf("created    %s by %s\n", p.Created, p.Generator)
	if p.SourceCommit != "" {
		ew.printf("data       commit %s\n", p.SourceCommit)
	}
	if len(p.Selection) > 0 {
		ew.printf("\nselection:\n")
		for _, s := range p.Selection {
			ew.printf("  - %s\n", s)
		}
	}
	if len(p.Notes) > 0 {
		ew.printf("\nnotes:\n")
		for _, s := range p.Notes {
			ew.printf("  - %s\n", s)
		}
	}
	if len(p.Sources) > 0 {
		ew.printf("\nsources (%d):\n", len(p.Sources))
		for _, s := range p.Sources {
			ew.printf("  %s  %6d rows  %s  sha256 %.12s\n", s.Path, s.Rows, s.Layout, s.SHA256)
		}
	}
	if len(p.Fit) > 0 {
		ew.printf("\nheld-out fit:\n")
		if ew.err == nil {
			ew.err = WriteFitTable(w, p.Fit)
		}
	}
	o := p.Overhead
	ew.printf("\noverheads  step %.0f ns, per sequence %.0f ns, per prefill token %.1f ns, per request %.0f ns\n",
		o.StepNs, o.PerSeqNs, o.PerPrefillTokenNs, o.PerRequestNs)
	ew.printf("\nsections:\n")
	if t := p.GEMMs; t != nil {
		ew.printf("  gemm                  %d x %d x %d grid (m %d..%d, n %d..%d, k %d..%d); base launch %.0f ns, %.0f TFLOP/s, %.0f GB/s\n",
			len(t.M), len(t.N), len(t.K), t.M[0], t.M[len(t.M)-1], t.N[0], t.N[len(t.N)-1], t.K[0], t.K[len(t.K)-1],
			t.Base.LaunchNs, t.Base.FlopsPerNs/1e3, t.Base.BytesPerNs)
	} else {
		ew.printf("  gemm                  roofline\n")
	}
	for _, a := range []struct {
		name string
		t    *AttentionTable
	}{{"context_attention", p.Context}, {"generation_attention", p.Generation},
		{"context_attention_fp8_kv", p.ContextFP8KV}, {"generation_attention_fp8_kv", p.GenerationFP8KV}} {
		if a.t == nil {
			if !strings.HasSuffix(a.name, "_fp8_kv") { // an FP8 cache without them costs as BF16
				ew.printf("  %-21s roofline\n", a.name)
			}
			continue
		}
		cells := 0
		for _, s := range a.t.Slices {
			cells += len(s.LatencyNs)
		}
		ew.printf("  %-21s %d head shapes, %d cells; base launch %.0f ns, %.0f TFLOP/s, %.0f GB/s\n",
			a.name, len(a.t.Slices), cells, a.t.Base.LaunchNs, a.t.Base.FlopsPerNs/1e3, a.t.Base.BytesPerNs)
	}
	for _, t := range p.QuantGEMMs {
		ew.printf("  gemm %-16s %d x %d x %d grid; base launch %.0f ns, %.0f TFLOP/s, %.0f GB/s\n",
			t.Precision, len(t.M), len(t.N), len(t.K), t.Base.LaunchNs, t.Base.FlopsPerNs/1e3, t.Base.BytesPerNs)
	}
	for _, a := range []struct {
		name string
		t    *MLATable
	}{{"context_mla", p.CtxMLA}, {"generation_mla", p.GenMLA}} {
		if a.t == nil {
			continue
		}
		cells := 0
		for _, s := range a.t.Slices {
			cells += len(s.LatencyNs)
		}
		ew.printf("  %-21s %d head counts x KV precisions, %d cells; base launch %.0f ns, %.0f TFLOP/s, %.0f GB/s\n",
			a.name, len(a.t.Slices), cells, a.t.Base.LaunchNs, a.t.Base.FlopsPerNs/1e3, a.t.Base.BytesPerNs)
	}
	for _, t := range p.MoEs {
		pts := 0
		for _, s := range t.Slices {
			pts += len(s.Tokens)
		}
		ew.printf("  moe %-17s %d layer shapes, %d token points; base launch %.0f ns, %.0f TFLOP/s, %.0f GB/s\n",
			t.Precision, len(t.Slices), pts, t.Base.LaunchNs, t.Base.FlopsPerNs/1e3, t.Base.BytesPerNs)
	}
	if p.Element != nil {
		ew.printf("  elementwise           %.0f ns + bytes / %.0f GB/s\n", p.Element.LatencyNs, p.Element.BytesPerNs)
	} else {
		ew.printf("  elementwise           roofline\n")
	}
	for _, c := range p.Comm {
		ew.printf("  %-17s n=%-2d %d sizes (%d..%d bytes); link %.0f ns per hop, %.1f GB/s\n",
			c.Op, c.GPUs, len(c.Bytes), c.Bytes[0], c.Bytes[len(c.Bytes)-1], c.Link.LatencyNs, c.Link.BytesPerNs)
	}
	if len(p.Comm) == 0 {
		ew.printf("  collectives           roofline link %.0f ns, %.0f GB/s\n", g.LinkLatencyNs, g.LinkBWBytes/1e9)
	}
	return ew.err
}

type errWriter struct {
	w   io.Writer
	err error
}

func (e *errWriter) printf(format string, args ...any) {
	if e.err == nil {
		_, e.err = fmt.Fprintf(e.w, format, args...)
	}
}
