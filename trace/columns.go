package trace

import (
	"fmt"
	"sort"
	"strings"
)

// field is one field of the canonical Request a file column can map to.
type field int

const (
	fArrival field = iota
	fPrompt
	fOutput
	fID
	fModel
	fSession
	fPriority
	fPrefix
	nFields
)

// fieldKeys are the keys of an Options.Columns mapping, in field order.
var fieldKeys = [nFields]string{"arrival", "prompt", "output", "id", "model", "session", "priority", "prefix"}

// layout is a known trace layout: the column names of each field (matched
// case-insensitively) and the unit of a numeric arrival column.
type layout struct {
	name string
	cols [nFields]string
	unit string
}

// layouts are tried in order; the first whose arrival, prompt and output
// columns are all present is used.
var layouts = []layout{
	{name: "canonical", unit: "ns", cols: [nFields]string{
		fArrival: "arrival_ns", fPrompt: "prompt_tokens", fOutput: "output_tokens", fID: "id",
		fModel: "model", fSession: "session", fPriority: "priority", fPrefix: "prefix_hashes"}},
	// Azure LLM inference traces 2023 and 2024 (TIMESTAMP is a calendar time).
	{name: "azure", unit: "s", cols: [nFields]string{
		fArrival: "TIMESTAMP", fPrompt: "ContextTokens", fOutput: "GeneratedTokens"}},
	// BurstGPT: Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type.
	{name: "burstgpt", unit: "s", cols: [nFields]string{
		fArrival: "Timestamp", fPrompt: "Request tokens", fOutput: "Response tokens", fModel: "Model"}},
	// Vidur / Splitwise request traces.
	{name: "vidur", unit: "s", cols: [nFields]string{
		fArrival: "arrived_at", fPrompt: "num_prefill_tokens", fOutput: "num_decode_tokens", fID: "request_id"}},
	// Mooncake (JSONL): timestamp in ms, hash_ids one per 512-token block.
	{name: "mooncake", unit: "ms", cols: [nFields]string{
		fArrival: "timestamp", fPrompt: "input_length", fOutput: "output_length", fPrefix: "hash_ids", fSession: "session_id"}},
}

// aliases are common column names for each field outside the known layouts
// (pandas, Polars and benchmark scripts), tried in order after the layouts;
// names match case-insensitively with spaces and hyphens read as
// underscores. An arrival alias carries its unit: arrival_time and
// timestamp are seconds, as in vLLM's and Vidur's tooling.
var aliases = [nFields][]struct{ name, unit string }{
	fArrival: {{"arrival_time", "s"}, {"arrival_timestamp", "s"}, {"arrival_time_s", "s"}, {"arrival_s", "s"},
		{"arrival_ms", "ms"}, {"arrival_time_ms", "ms"}, {"arrival_us", "us"}, {"arrival", "s"},
		{"timestamp", "s"}, {"timestamp_s", "s"}, {"timestamp_ms", "ms"}, {"time", "s"}, {"ts", "s"}},
	fPrompt: {{"input_tokens", ""}, {"num_input_tokens", ""}, {"num_prompt_tokens", ""}, {"prompt_len", ""},
		{"prompt_length", ""}, {"input_len", ""}, {"input_length", ""}, {"context_tokens", ""},
		{"request_tokens", ""}, {"prefill_tokens", ""}, {"num_prefill_tokens", ""}},
	fOutput: {{"output_tokens", ""}, {"num_output_tokens", ""}, {"completion_tokens", ""}, {"num_completion_tokens", ""},
		{"output_len", ""}, {"output_length", ""}, {"generated_tokens", ""}, {"response_tokens", ""},
		{"decode_tokens", ""}, {"num_decode_tokens", ""}},
	fID:      {{"request_id", ""}, {"req_id", ""}, {"id", ""}},
	fModel:   {{"model", ""}, {"model_name", ""}},
	fSession: {{"session_id", ""}, {"conversation_id", ""}, {"session", ""}},
	fPrefix:  {{"prefix_hashes", ""}, {"hash_ids", ""}, {"block_hashes", ""}},
}

// normName is the form column names are matched in.
func normName(s string) string {
	s = strings.ToLower(strings.TrimSpace(s))
	return strings.NewReplacer(" ", "_", "-", "_").Replace(s)
}

// mapping says which file column feeds each field.
type mapping struct {
	layout string
	col    [nFields]int    // column index, -1 when absent
	name   [nFields]string // column name as written in the file
	unit   int64           // ns per unit of a numeric arrival
}

func (m *mapping) has(f field) bool { return m.col[f] >= 0 }

// ColumnSpec is a parsed Options.Columns mapping.
type ColumnSpec struct {
	Names [nFields]string // file column per field; "" = detect
	Unit  string          // time unit of a numeric arrival column; "" = detect
}

// ParseColumns parses a column mapping such as
//
//	arrival=ts,prompt=input,output=output,unit=ms
//
// Keys are arrival, prompt, output, id, model, session, priority, prefix and
// unit. Fields left out are detected from the header.
func ParseColumns(spec string) (ColumnSpec, error) {
	var cs ColumnSpec
	spec = strings.TrimSpace(spec)
	if spec == "" {
		return cs, nil
	}
	var errs []string
	for _, part := range strings.Split(spec, ",") {
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" || v == "" {
			errs = append(errs, fmt.Sprintf("%q: expected key=column", part))
			continue
		}
		if k == "unit" {
			if _, err := unitNs(v); err != nil {
				errs = append(errs, err.Error())
			}
			cs.Unit = v
			continue
		}
		found := false
		for f, key := range fieldKeys {
			if k == key || (k == "hashes" && field(f) == fPrefix) || (k == "input" && field(f) == fPrompt) {
				if cs.Names[f] != "" {
					errs = append(errs, fmt.Sprintf("%q given twice", key))
				}
				cs.Names[f] = v
				found = true
			}
		}
		if !found {
			errs = append(errs, fmt.Sprintf("key %q: expected one of %s, unit", k, strings.Join(fieldKeys[:], ", ")))
		}
	}
	if len(errs) > 0 {
		return ColumnSpec{}, fmt.Errorf("trace: columns %q: %s", spec, strings.Join(errs, "; "))
	}
	return cs, nil
}

// String formats the spec so that ParseColumns reads it back.
func (cs ColumnSpec) String() string {
	var parts []string
	for f, n := range cs.Names {
		if n != "" {
			parts = append(parts, fieldKeys[f]+"="+n)
		}
	}
	if cs.Unit != "" {
		parts = append(parts, "unit="+cs.Unit)
	}
	return strings.Join(parts, ",")
}

// resolveMapping matches a header against the explicit spec and the known
// layouts. The returned error lists what was found and what was expected.
func resolveMapping(file string, header []string, opt Options) (mapping, error) {
	cs, err := ParseColumns(opt.Columns)
	if err != nil {
		return mapping{}, err
	}
	m := mapping{}
	for f := range m.col {
		m.col[f] = -1
	}
	index := make(map[string]int, len(header))
	norm := make(map[string]int, len(header))
	for i, h := range header {
		key := strings.ToLower(strings.TrimSpace(h))
		if _, dup := index[key]; !dup {
			index[key] = i
		}
		if _, dup := norm[normName(h)]; !dup {
			norm[normName(h)] = i
		}
	}
	lookup := func(name string) int {
		if name == "" {
			return -1
		}
		if i, ok := index[strings.ToLower(strings.TrimSpace(name))]; ok {
			return i
		}
		return -1
	}
	var missing []string
	for f, n := range cs.Names {
		if n == "" {
			continue
		}
		i := lookup(n)
		if i < 0 {
			missing = append(missing, fmt.Sprintf("%s=%q", fieldKeys[f], n))
			continue
		}
		m.col[f], m.name[f] = i, header[i]
	}
	if len(missing) > 0 {
		return m, &Error{File: file, Found: "columns " + listNames(header),
			Expected: "the columns named in the mapping: " + strings.Join(missing, ", ") + " not found"}
	}
	// The first layout whose required columns are all present fills the
	// fields the spec left out.
	arrivalLayout := ""
	for _, l := range layouts {
		ok := true
		for f := fArrival; f <= fOutput; f++ {
			if m.col[f] < 0 && lookup(l.cols[f]) < 0 {
				ok = false
			}
		}
		if !ok {
			continue
		}
		m.layout = l.name
		for f, n := range l.cols {
			if m.col[f] >= 0 || cs.Names[f] != "" {
				continue
			}
			if i := lookup(n); i >= 0 {
				m.col[f], m.name[f] = i, header[i]
				if field(f) == fArrival {
					arrivalLayout = l.unit
				}
			}
		}
		break
	}
	if m.layout == "" {
		m.layout = "custom"
	}
	// Optional fields the layout lacks may still be there under another
	// layout's name (a Mooncake-style file with a model column).
	for f := fID; f < nFields; f++ {
		if m.col[f] >= 0 || cs.Names[f] != "" {
			continue
		}
		for _, l := range layouts {
			if i := lookup(l.cols[f]); i >= 0 {
				m.col[f], m.name[f] = i, header[i]
				break
			}
		}
	}
	// Fields still unmapped: common names outside the known layouts.
	taken := map[int]bool{}
	for f := range m.col {
		if m.col[f] >= 0 {
			taken[m.col[f]] = true
		}
	}
	for f := field(0); f < nFields; f++ {
		if m.col[f] >= 0 || cs.Names[f] != "" {
			continue
		}
		for _, a := range aliases[f] {
			if i, ok := norm[a.name]; ok && !taken[i] {
				m.col[f], m.name[f] = i, header[i]
				taken[i] = true
				if f == fArrival {
					arrivalLayout = a.unit
				}
				if f <= fOutput && m.layout == "custom" {
					m.layout = "common names"
				}
				break
			}
		}
	}
	if m.col[fArrival] < 0 || m.col[fPrompt] < 0 || m.col[fOutput] < 0 {
		var need []string
		for f := fArrival; f <= fOutput; f++ {
			if m.col[f] < 0 {
				need = append(need, fieldKeys[f])
			}
		}
		return m, &Error{File: file, Found: "columns " + listNames(header),
			Expected: "columns for " + strings.Join(need, ", ") + ": " + layoutHelp()}
	}
	unit := opt.TimeUnit
	if unit == "" {
		unit = cs.Unit
	}
	if unit == "" {
		unit = arrivalLayout
	}
	if unit == "" {
		unit = unitFromName(m.name[fArrival])
	}
	if m.unit, err = unitNs(unit); err != nil {
		return m, &Error{File: file, Column: m.name[fArrival], Err: err}
	}
	return m, nil
}

// unitFromName reads a unit suffix such as _ms from a column name; seconds
// when there is none.
func unitFromName(name string) string {
	n := strings.ToLower(name)
	for _, u := range []string{"ns", "us", "ms", "s"} {
		if strings.HasSuffix(n, "_"+u) || strings.HasSuffix(n, "("+u+")") {
			return u
		}
	}
	return "s"
}

func listNames(header []string) string {
	if len(header) == 0 {
		return "none"
	}
	q := make([]string, len(header))
	for i, h := range header {
		q[i] = quote(h)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

func layoutHelp() string {
	var b strings.Builder
	for i, l := range layouts {
		if i > 0 {
			b.WriteString("; ")
		}
		fmt.Fprintf(&b, "%s (%s, %s, %s)", l.name, l.cols[fArrival], l.cols[fPrompt], l.cols[fOutput])
	}
	b.WriteString("; or common names such as arrival_time/timestamp (seconds), input_tokens/prompt_len, output_tokens/completion_tokens")
	b.WriteString("; or the columns option arrival=...,prompt=...,output=...")
	return b.String()
}

// sortedKeys returns m's keys in order, for a deterministic header.
func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
