package trace

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
)

// EmbeddedPrefix marks a path that names an embedded trace: Open
// ("embedded:azure-conv-2023", opt) is OpenEmbedded("azure-conv-2023", opt).
const EmbeddedPrefix = "embedded:"

// Open opens a trace file for streaming. The format comes from opt.Format,
// else from the extension (.csv, .parquet, .arrow/.feather/.arrows/.ipc,
// .jsonl/.ndjson; a trailing .gz is decompressed), else from the first
// bytes. The column mapping is detected from the header unless opt.Columns
// gives it. Arrivals are shifted so the first request arrives at 0 unless
// opt.KeepOffset is set; IDs come from an id column if there is one, else
// they are 0-based row indexes.
func Open(path string, opt Options) (Reader, error) {
	if name, ok := strings.CutPrefix(path, EmbeddedPrefix); ok {
		return OpenEmbedded(name, opt)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	r, err := openFile(f, path, opt)
	if err != nil {
		f.Close()
		return nil, err
	}
	return r, nil
}

func openFile(f *os.File, path string, opt Options) (Reader, error) {
	st, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	var head [8]byte
	n, _ := io.ReadFull(f, head[:])
	if _, err := f.Seek(0, io.SeekStart); err != nil {
		return nil, fmt.Errorf("trace: %w", err)
	}
	if n == 0 {
		return nil, &Error{File: path, Found: "an empty file", Expected: "a trace", Err: ErrEmpty}
	}
	if n >= 2 && head[0] == 0x1f && head[1] == 0x8b {
		zr, err := gzip.NewReader(bufio.NewReaderSize(f, 1<<16))
		if err != nil {
			return nil, &Error{File: path, Found: "a damaged gzip header", Expected: "a gzip-compressed CSV or JSONL trace", Err: err}
		}
		format := opt.Format
		if format == "" {
			format = formatFromExt(strings.TrimSuffix(strings.ToLower(path), ".gz"))
		}
		br := bufio.NewReaderSize(zr, 1<<16)
		if format == "" {
			format = sniffText(br)
		}
		closer := multiCloser{zr, f}
		switch format {
		case "csv":
			return newTextReader(br, path, opt, newCSVDecoderCloser(closer))
		case "jsonl":
			return newTextReader(br, path, opt, newJSONLDecoderCloser(closer))
		}
		return nil, &Error{File: path, Found: "gzip-compressed " + format, Expected: "gzip only around CSV or JSONL"}
	}
	format := opt.Format
	if format == "" {
		format = formatFromMagic(head[:n])
	}
	if format == "" {
		format = formatFromExt(strings.ToLower(path))
	}
	switch format {
	case "parquet":
		return newParquetReader(f, st.Size(), path, opt, f)
	case "arrow":
		return newArrowFileOrStream(f, path, opt, f)
	case "csv", "jsonl", "":
		br := bufio.NewReaderSize(f, 1<<16)
		if format == "" {
			format = sniffText(br)
		}
		if format == "jsonl" {
			return newTextReader(br, path, opt, newJSONLDecoderCloser(f))
		}
		return newTextReader(br, path, opt, newCSVDecoderCloser(f))
	}
	return nil, fmt.Errorf("trace: %s: format %q: expected csv, parquet, arrow or jsonl", path, format)
}

type multiCloser []io.Closer

func (m multiCloser) Close() error {
	var first error
	for _, c := range m {
		if err := c.Close(); err != nil && first == nil {
			first = err
		}
	}
	return first
}

// closingDecoder closes the file under a decoder.
type closingDecoder struct {
	decoder
	c io.Closer
}

func (d closingDecoder) close() error {
	err := d.decoder.close()
	if cerr := d.c.Close(); err == nil {
		err = cerr
	}
	return err
}

type textOpener func(r io.Reader, name string, opt Options) (decoder, error)

func newCSVDecoderCloser(c io.Closer) textOpener {
	return func(r io.Reader, name string, opt Options) (decoder, error) {
		d, err := newCSVDecoder(r, name, opt)
		if err != nil {
			return nil, err
		}
		return closingDecoder{d, c}, nil
	}
}

func newJSONLDecoderCloser(c io.Closer) textOpener {
	return func(r io.Reader, name string, opt Options) (decoder, error) {
		d, err := newJSONLDecoder(r, name, opt)
		if err != nil {
			return nil, err
		}
		return closingDecoder{d, c}, nil
	}
}

func newTextReader(r io.Reader, name string, opt Options, open textOpener) (Reader, error) {
	d, err := open(r, name, opt)
	if err != nil {
		return nil, err
	}
	return newFileReader(name, d, opt), nil
}

func formatFromExt(path string) string {
	switch filepath.Ext(path) {
	case ".csv", ".tsv", ".txt":
		return "csv"
	case ".parquet", ".pq":
		return "parquet"
	case ".arrow", ".feather", ".arrows", ".ipc":
		return "arrow"
	case ".jsonl", ".ndjson", ".json":
		return "jsonl"
	}
	return ""
}

// formatFromMagic recognises the binary formats by their first bytes.
func formatFromMagic(head []byte) string {
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return "parquet"
	case bytes.HasPrefix(head, []byte("ARROW1")):
		return "arrow"
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0xff, 0xff, 0xff, 0xff}):
		return "arrow" // IPC stream: continuation marker
	}
	return ""
}

// sniffText tells JSONL from CSV by the first non-blank byte.
func sniffText(br *bufio.Reader) string {
	head, _ := br.Peek(512)
	head = bytes.TrimLeft(head, " \t\r\n\ufeff")
	if len(head) > 0 && head[0] == '{' {
		return "jsonl"
	}
	return "csv"
}
