package validation

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"strconv"
	"strings"
)

// Layout names a benchmark-file layout ReadBenchmarks understands.
type Layout string

const (
	// LayoutCanonical is lodsim's own layout, documented in BENCHMARKS.md:
	// model, gpu, backend, isl, osl, concurrency, tp, pp, ttft_ms, tpot_ms.
	LayoutCanonical Layout = "lodsim"
	// LayoutSilicon is the aiconfigurator silicon-comparison layout
	// (model_path, system, backend, isl, osl, batch_size, tp_size, pp_size,
	// silicon_ttft_ms, silicon_tpot_ms and more columns lodsim ignores).
	LayoutSilicon Layout = "aiconfigurator-silicon"
)

// Row is one end-to-end benchmark measurement: a closed-loop run of
// Concurrency clients sending requests of ISL prompt and OSL output tokens
// to one engine replica of TP x PP GPUs, and the mean TTFT and TPOT the
// benchmark tool reported.
type Row struct {
	File    string // the file the row came from
	Line    int    // its 1-based line in File
	ID      string // the file's row id, or "line N"
	Model   string // e.g. "Qwen/Qwen3-32B"
	GPU     string // catalog name or key, e.g. "h100_sxm"
	Backend string // serving engine, e.g. "sglang", "vllm"
	Version string // engine version, when the file says
	ISL     int    // prompt tokens per request
	OSL     int    // output tokens per request
	// Concurrency is the number of closed-loop clients (benchmark tools'
	// --max-concurrency; aiconfigurator's batch_size x attention_dp_size,
	// see siliconClients).
	Concurrency int
	TP, PP      int
	TTFTms      float64 // measured mean time to first token
	TPOTms      float64 // measured mean time per output token
	// Mode is "" for aggregated serving (one pool serves prefill and
	// decode) and "disagg" for separate prefill and decode pools.
	Mode string
	// GEMMQuant and MoEQuant are the weight formats the engine ran the
	// dense and expert GEMMs in (the silicon layout's gemm_quant_mode and
	// moe_quant_mode, e.g. "fp8", "fp8_block", "nvfp4"); empty means the
	// checkpoint's own.
	GEMMQuant, MoEQuant string
	// Precision is the file's precision column (the deployment's
	// quantization, e.g. "fp8", "fp4"); empty when it does not say.
	Precision string
	// AttentionDP, MoETP and MoEEP are the silicon layout's
	// attention_dp_size, moe_tp_size and moe_ep_size (0: not given).
	AttentionDP, MoETP, MoEEP int
	// Disagg is a disaggregated row's pools (disagg.go).
	Disagg DisaggLayout
	// Client is the benchmark client the row was measured with (see
	// Client); read from silicon_data_source.
	Client Client
	// InferenceMAX reports whether silicon_data_source marks the row as
	// InferenceMAX's (inferenceMAXKeys): only such rows take InferenceMAX's
	// launch layouts and recipes (launchLayout, disaggRecipeFor), so a
	// file of one's own keeps its rows as written.
	InferenceMAX bool
	// Repeats is the line of an earlier row of the file that this one
	// repeats (markRepeats), 0 if none: such a row is skipped.
	Repeats int
}

// Disaggregated reports whether the row measured separate prefill and
// decode pools.
func (r Row) Disaggregated() bool { return strings.EqualFold(r.Mode, "disagg") }

// Label names the row in tables and figures: its parallelism as tp= and
// pp=, or for a disaggregated row each pool's (DisaggLayout.String).
func (r Row) Label() string {
	if r.Disaggregated() {
		return fmt.Sprintf("%s %s isl=%d osl=%d c=%d %s", shortModel(r.Model), r.GPU, r.ISL, r.OSL, r.Concurrency, r.Disagg)
	}
	return fmt.Sprintf("%s %s isl=%d osl=%d c=%d tp=%d pp=%d", shortModel(r.Model), r.GPU, r.ISL, r.OSL, r.Concurrency, r.TP, r.PP)
}

// Parallelism is the row's parallelism group in per-engine tables: "TP  8",
// or a disaggregated row's pools ("p=1x8 d=1x8"), which have no one TP.
func (r Row) Parallelism() string {
	if r.Disaggregated() {
		return r.Disagg.String()
	}
	return fmt.Sprintf("TP %2d", r.TP)
}

// Group is the accuracy group of the row: model, GPU, engine, precision
// and mode (agg or disagg), the deployments a user would compare. TP is
// not part of it: a group spans the parallelism a deployment was tried
// at.
func (r Row) Group() string {
	return fmt.Sprintf("%s %s %s %s %s", shortModel(r.Model), r.GPU, strings.ToLower(r.Backend), r.PrecisionName(), r.ModeName())
}

// Stratum is the finer division Split deals rows by: model, GPU and TP.
func (r Row) Stratum() string { return fmt.Sprintf("%s %s tp%d", shortModel(r.Model), r.GPU, r.TP) }

// PrecisionName is the row's precision column, else its gemm_quant_mode,
// else "bf16" (an unquantized checkpoint served as is).
func (r Row) PrecisionName() string {
	switch {
	case r.Precision != "":
		return strings.ToLower(r.Precision)
	case r.GEMMQuant != "":
		return strings.ToLower(r.GEMMQuant)
	}
	return "bf16"
}

// ModeName is "agg" or "disagg".
func (r Row) ModeName() string {
	if r.Disaggregated() {
		return "disagg"
	}
	return "agg"
}

func shortModel(m string) string {
	if i := strings.LastIndexByte(m, '/'); i >= 0 {
		return m[i+1:]
	}
	return m
}

// column describes one field of a layout: the header names it may have,
// whether it must be present, and where its value goes.
type column struct {
	names    []string
	required bool
	set      func(r *Row, v string) error
	// aggOnly columns are required of aggregated rows only: a
	// disaggregated row leaves them blank and has prefill_*/decode_*
	// columns instead.
	aggOnly bool
}

func intField(dst func(*Row) *int, min int) func(*Row, string) error {
	return func(r *Row, v string) error {
		n, err := strconv.Atoi(strings.TrimSpace(v))
		if err != nil {
			// Some tools write integers as floats ("16.0").
			f, ferr := strconv.ParseFloat(strings.TrimSpace(v), 64)
			if ferr != nil || f != math.Trunc(f) || math.Abs(f) > 1<<31 {
				return fmt.Errorf("found %q, expected an integer", v)
			}
			n = int(f)
		}
		if n < min {
			return fmt.Errorf("found %d, expected an integer >= %d", n, min)
		}
		*dst(r) = n
		return nil
	}
}

func timeField(dst func(*Row) *float64) func(*Row, string) error {
	return func(r *Row, v string) error {
		f, err := strconv.ParseFloat(strings.TrimSpace(v), 64)
		if err != nil || math.IsNaN(f) || math.IsInf(f, 0) || !(f > 0) {
			return fmt.Errorf("found %q, expected a positive number of milliseconds", v)
		}
		*dst(r) = f
		return nil
	}
}

func stringField(dst func(*Row) *string, required bool) func(*Row, string) error {
	return func(r *Row, v string) error {
		v = strings.TrimSpace(v)
		if v == "" && required {
			return errors.New("found an empty value, expected a name")
		}
		*dst(r) = v
		return nil
	}
}

func layoutColumns(l Layout) []column {
	model := func(r *Row) *string { return &r.Model }
	gpu := func(r *Row) *string { return &r.GPU }
	backend := func(r *Row) *string { return &r.Backend }
	version := func(r *Row) *string { return &r.Version }
	id := func(r *Row) *string { return &r.ID }
	isl := func(r *Row) *int { return &r.ISL }
	osl := func(r *Row) *int { return &r.OSL }
	conc := func(r *Row) *int { return &r.Concurrency }
	tp := func(r *Row) *int { return &r.TP }
	pp := func(r *Row) *int { return &r.PP }
	ttft := func(r *Row) *float64 { return &r.TTFTms }
	tpot := func(r *Row) *float64 { return &r.TPOTms }
	if l == LayoutSilicon {
		// mode comes first: it decides whether the aggOnly columns may be
		// blank.
		return append([]column{
			{names: []string{"mode"}, set: modeField},
			{names: []string{"id"}, set: stringField(id, false)},
			{names: []string{"model_path"}, required: true, set: stringField(model, true)},
			{names: []string{"system"}, required: true, set: stringField(gpu, true)},
			{names: []string{"backend"}, required: true, set: stringField(backend, true)},
			{names: []string{"backend_version"}, set: stringField(version, false)},
			{names: []string{"gemm_quant_mode"}, set: stringField(func(r *Row) *string { return &r.GEMMQuant }, false)},
			{names: []string{"moe_quant_mode"}, set: stringField(func(r *Row) *string { return &r.MoEQuant }, false)},
			{names: []string{"isl"}, required: true, set: intField(isl, 1)},
			{names: []string{"osl"}, required: true, set: intField(osl, 1)},
			{names: []string{"batch_size"}, required: true, set: intField(conc, 1), aggOnly: true},
			{names: []string{"tp_size"}, required: true, set: intField(tp, 1), aggOnly: true},
			{names: []string{"pp_size"}, set: intField(pp, 1)},
			{names: []string{"precision"}, set: stringField(func(r *Row) *string { return &r.Precision }, false)},
			{names: []string{"attention_dp_size"}, set: intField(func(r *Row) *int { return &r.AttentionDP }, 0)},
			{names: []string{"moe_tp_size"}, set: intField(func(r *Row) *int { return &r.MoETP }, 0)},
			{names: []string{"moe_ep_size"}, set: intField(func(r *Row) *int { return &r.MoEEP }, 0)},
			{names: []string{"silicon_ttft_ms"}, required: true, set: timeField(ttft)},
			{names: []string{"silicon_tpot_ms"}, required: true, set: timeField(tpot)},
		}, disaggColumns()...)
	}
	return []column{
		{names: []string{"id"}, set: stringField(id, false)},
		{names: []string{"model"}, required: true, set: stringField(model, true)},
		{names: []string{"gpu"}, required: true, set: stringField(gpu, true)},
		{names: []string{"backend"}, required: true, set: stringField(backend, true)},
		{names: []string{"backend_version"}, set: stringField(version, false)},
		{names: []string{"isl"}, required: true, set: intField(isl, 1)},
		{names: []string{"osl"}, required: true, set: intField(osl, 1)},
		{names: []string{"concurrency"}, required: true, set: intField(conc, 1)},
		{names: []string{"tp"}, required: true, set: intField(tp, 1)},
		{names: []string{"pp"}, set: intField(pp, 1)},
		{names: []string{"ttft_ms"}, required: true, set: timeField(ttft)},
		{names: []string{"tpot_ms"}, required: true, set: timeField(tpot)},
		{names: []string{"mode"}, set: modeField},
		{names: []string{"gemm_quant_mode"}, set: stringField(func(r *Row) *string { return &r.GEMMQuant }, false)},
		{names: []string{"moe_quant_mode"}, set: stringField(func(r *Row) *string { return &r.MoEQuant }, false)},
		{names: []string{"precision"}, set: stringField(func(r *Row) *string { return &r.Precision }, false)},
		{names: []string{"attention_dp_size"}, set: intField(func(r *Row) *int { return &r.AttentionDP }, 0)},
		{names: []string{"moe_tp_size"}, set: intField(func(r *Row) *int { return &r.MoETP }, 0)},
		{names: []string{"moe_ep_size"}, set: intField(func(r *Row) *int { return &r.MoEEP }, 0)},
	}
}

// modeField reads the silicon layout's mode column: agg or disagg.
func modeField(r *Row, v string) error {
	switch m := strings.ToLower(strings.TrimSpace(v)); m {
	case "", "agg":
		r.Mode = "" // empty means aggregated
		return nil
	case "disagg":
		r.Mode = m
		return nil
	}
	return fmt.Errorf("found %q, expected agg or disagg", v)
}

// DetectLayout names the layout of a header row: the silicon layout when it
// has silicon_ttft_ms, else the canonical one when it has ttft_ms.
func DetectLayout(header []string) (Layout, error) {
	has := map[string]bool{}
	for _, h := range header {
		has[strings.ToLower(strings.TrimSpace(h))] = true
	}
	switch {
	case has["silicon_ttft_ms"]:
		return LayoutSilicon, nil
	case has["ttft_ms"]:
		return LayoutCanonical, nil
	}
	return "", fmt.Errorf("header: found neither ttft_ms (lodsim layout) nor silicon_ttft_ms (aiconfigurator layout), expected one of them; columns are %s",
		strings.Join(header, ", "))
}

// ReadBenchmarks reads benchmark rows from r; name labels errors and the
// rows' File. The layout is detected from the header. Every bad cell is
// reported at once, each naming file, line and column.
func ReadBenchmarks(r io.Reader, name string) ([]Row, Layout, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	cr.ReuseRecord = false
	header, err := cr.Read()
	if err == io.EOF {
		return nil, "", fmt.Errorf("%s: empty file, expected a CSV header", name)
	}
	if err != nil {
		return nil, "", fmt.Errorf("%s: %w", name, err)
	}
	if len(header) > 0 {
		header[0] = strings.TrimPrefix(header[0], "\ufeff")
	}
	layout, err := DetectLayout(header)
	if err != nil {
		return nil, "", fmt.Errorf("%s: line 1: %w", name, err)
	}
	idx := map[string]int{}
	for i, h := range header {
		idx[strings.ToLower(strings.TrimSpace(h))] = i
	}
	cols := layoutColumns(layout)
	pos := make([]int, len(cols))
	var errs []string
	for i, c := range cols {
		pos[i] = -1
		for _, n := range c.names {
			if j, ok := idx[n]; ok {
				pos[i] = j
				break
			}
		}
		if pos[i] < 0 && c.required {
			errs = append(errs, fmt.Sprintf("%s: line 1: column %s missing, expected it in the %s layout", name, c.names[0], layout))
		}
	}
	if len(errs) > 0 {
		return nil, layout, errors.New(strings.Join(errs, "\n"))
	}
	var rows []Row
	for {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Sprintf("%s: %v", name, err))
			if len(errs) >= 50 {
				break
			}
			continue
		}
		line, _ := cr.FieldPos(0)
		if len(rec) == 1 && strings.TrimSpace(rec[0]) == "" {
			continue
		}
		row := Row{File: name, Line: line, PP: 1}
		for i, c := range cols {
			if pos[i] < 0 {
				continue
			}
			if pos[i] >= len(rec) {
				if c.required {
					errs = append(errs, fmt.Sprintf("%s: line %d: column %s missing: the row has %d fields, the header %d", name, line, c.names[0], len(rec), len(header)))
				}
				continue
			}
			v := rec[pos[i]]
			if strings.TrimSpace(v) == "" && (!c.required || c.aggOnly && row.Disaggregated()) {
				continue
			}
			if err := c.set(&row, v); err != nil {
				errs = append(errs, fmt.Sprintf("%s: line %d: column %s: %v", name, line, c.names[0], err))
			}
		}
		if row.ID == "" {
			row.ID = fmt.Sprintf("line %d", line)
		}
		if layout == LayoutSilicon {
			siliconClients(&row)
			launchLayout(&row)
		}
		rows = append(rows, row)
	}
	if len(errs) > 0 {
		return nil, layout, errors.New(strings.Join(errs, "\n"))
	}
	if len(rows) == 0 {
		return nil, layout, fmt.Errorf("%s: no rows after the header, expected at least one measurement", name)
	}
	markRepeats(rows)
	return rows, layout, nil
}

// markRepeats sets Repeats on each row that repeats an earlier one: the
// same deployment, workload, client and measured TTFT and TPOT under
// another id (a run exported into two source files, as the dev set's
// DeepSeek-R1 TensorRT-LLM rows of 2026-03-25 and, re-laid out by
// launchLayout, of 2026-04-06). Such a row is skipped, so that one
// measured run counts once in the accuracy tables and the fit.
func markRepeats(rows []Row) {
	first := make(map[Row]int, len(rows))
	for i := range rows {
		k := rows[i]
		k.File, k.Line, k.ID, k.Repeats = "", 0, "", 0
		if at, ok := first[k]; ok {
			rows[i].Repeats = at
			continue
		}
		first[k] = rows[i].Line
	}
}

// siliconClients turns the silicon layout's batch_size into the number of
// closed-loop clients. With attention data parallelism batch_size is per
// attention-DP rank: the benchmark ran batch_size x attention_dp_size
// clients (each row's silicon_concurrency says so, e.g. DeepSeek-R1
// TRT-LLM batch_size 32 at attention_dp_size 8: 256 clients), and lodsim
// spreads them over the ranks.
func siliconClients(r *Row) {
	if !r.Disaggregated() && r.AttentionDP > 1 {
		r.Concurrency *= r.AttentionDP
	}
}

// ReadBenchmarkFile opens path and reads it with ReadBenchmarks.
func ReadBenchmarkFile(path string) ([]Row, Layout, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, "", err
	}
	defer f.Close()
	return ReadBenchmarks(f, path)
}

// CanonicalHeader is the header WriteBenchmarks writes.
var CanonicalHeader = []string{"id", "model", "gpu", "backend", "backend_version", "isl", "osl", "concurrency", "tp", "pp", "ttft_ms", "tpot_ms", "mode", "gemm_quant_mode", "moe_quant_mode", "precision", "attention_dp_size", "moe_tp_size", "moe_ep_size"}

// WriteBenchmarks writes rows in the canonical layout.
func WriteBenchmarks(w io.Writer, rows []Row) error {
	cw := csv.NewWriter(w)
	cw.Write(CanonicalHeader)
	for _, r := range rows {
		cw.Write([]string{r.ID, r.Model, r.GPU, r.Backend, r.Version, strconv.Itoa(r.ISL), strconv.Itoa(r.OSL),
			strconv.Itoa(r.Concurrency), strconv.Itoa(r.TP), strconv.Itoa(r.PP),
			strconv.FormatFloat(r.TTFTms, 'g', -1, 64), strconv.FormatFloat(r.TPOTms, 'g', -1, 64), r.Mode, r.GEMMQuant, r.MoEQuant,
			r.Precision, strconv.Itoa(r.AttentionDP), strconv.Itoa(r.MoETP), strconv.Itoa(r.MoEEP)})
	}
	cw.Flush()
	return cw.Error()
}
