package trace

import (
	"bytes"
	"embed"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
)

//go:embed data/azure2023/AzureLLMInferenceTrace_conv.csv data/azure2023/AzureLLMInferenceTrace_code.csv
//go:embed data/lengths/sharegpt.csv data/lengths/arxiv.csv
var embedded embed.FS

var embeddedTraces = map[string]string{
	"azure-conv-2023": "data/azure2023/AzureLLMInferenceTrace_conv.csv",
	"azure-code-2023": "data/azure2023/AzureLLMInferenceTrace_code.csv",
}

var embeddedLengths = map[string]string{
	"sharegpt": "data/lengths/sharegpt.csv",
	"arxiv":    "data/lengths/arxiv.csv",
}

// EmbeddedNames lists the traces compiled into the binary, sorted.
func EmbeddedNames() []string { return sortedKeys(embeddedTraces) }

// EmbeddedLengthNames lists the length distributions compiled into the
// binary, sorted.
func EmbeddedLengthNames() []string { return sortedKeys(embeddedLengths) }

// Embedded opens an embedded trace with default options: "azure-conv-2023"
// (19,366 requests over 3,502 s) or "azure-code-2023" (8,819 requests over
// 3,436 s), the Azure LLM inference traces 2023 (CC-BY-4.0; see
// data/azure2023/SOURCE.md).
func Embedded(name string) (Reader, error) { return OpenEmbedded(name, Options{}) }

// OpenEmbedded opens an embedded trace with opt.
func OpenEmbedded(name string, opt Options) (Reader, error) {
	path, ok := embeddedTraces[name]
	if !ok {
		return nil, fmt.Errorf("trace: embedded trace %q: expected one of %s", name, strings.Join(EmbeddedNames(), ", "))
	}
	data, err := embedded.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("trace: embedded trace %q: %w", name, err)
	}
	opt.Format = "csv"
	return NewCSVReader(bytes.NewReader(data), EmbeddedPrefix+name, opt)
}

var lengthCache sync.Map // name -> [2][]int32

// EmbeddedLengths returns the prompt and output token counts of an embedded
// length distribution: "sharegpt" (30,731 conversations, Llama-2 tokenizer,
// from microsoft/sarathi-serve, Apache-2.0) or "arxiv" (28,257 arXiv
// summarisation requests, from microsoft/vidur, MIT). The slices are shared:
// callers must not modify them.
func EmbeddedLengths(name string) (prompt, output []int32, err error) {
	if v, ok := lengthCache.Load(name); ok {
		p := v.([2][]int32)
		return p[0], p[1], nil
	}
	path, ok := embeddedLengths[name]
	if !ok {
		return nil, nil, fmt.Errorf("trace: embedded lengths %q: expected one of %s", name, strings.Join(EmbeddedLengthNames(), ", "))
	}
	data, err := embedded.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("trace: embedded lengths %q: %w", name, err)
	}
	if prompt, err = loadLengths(bytes.NewReader(data), EmbeddedPrefix+name, "num_prefill_tokens"); err != nil {
		return nil, nil, err
	}
	if output, err = loadLengths(bytes.NewReader(data), EmbeddedPrefix+name, "num_decode_tokens"); err != nil {
		return nil, nil, err
	}
	lengthCache.Store(name, [2][]int32{prompt, output})
	return prompt, output, nil
}

// LoadLengths reads one column of token counts from a CSV with a header,
// such as the Vidur/Sarathi length files (num_prefill_tokens,
// num_decode_tokens). Every value must be a positive integer.
func LoadLengths(r io.Reader, column string) ([]int32, error) {
	return loadLengths(r, "lengths", column)
}

func loadLengths(r io.Reader, name, column string) ([]int32, error) {
	d, err := newCSVDecoder(r, name, Options{Columns: "arrival=" + column + ",prompt=" + column + ",output=" + column})
	if err != nil {
		return nil, err
	}
	col := d.m.col[fPrompt]
	var out []int32
	for {
		rec, err := d.cr.Read()
		if err == io.EOF {
			break
		}
		d.row++
		if err != nil {
			return nil, fromTabular(err)
		}
		v, fe := parseTokensText(rec[col])
		if fe == nil && v == 0 {
			fe = badValue("0", "a positive token count")
		}
		if fe != nil {
			e := fe.at(d.row, d.line(col), column)
			e.File = name
			return nil, e
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, &Error{File: name, Column: column, Found: "no rows", Expected: "at least one length", Err: ErrEmpty}
	}
	return slices.Clip(out), nil
}
