package trace

import (
	"bufio"
	"bytes"
	"fmt"
	"github.com/lodsim/lodsim/trace/workload"
	"io"
	"os"
	"path/filepath"
	"strings"

	"github.com/lodsim/lodsim/trace/tabular"
)

// EmbeddedPrefix marks a path that names an embedded trace: Open
// ("embedded:azure-conv-2023", opt) is OpenEmbedded("azure-conv-2023", opt).
const EmbeddedPrefix = workload.EmbeddedPrefix

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
	if st.IsDir() {
		return nil, &Error{File: path, Found: "a directory", Expected: "a trace file (CSV, Parquet, Arrow IPC or JSONL)"}
	}
	switch opt.Format {
	case "", "csv", "parquet", "arrow", "jsonl":
	default:
		return nil, &Error{File: path, Found: fmt.Sprintf("format %q", opt.Format), Expected: "format csv, parquet, arrow or jsonl (or none, to detect it)"}
	}
	// A pipe, FIFO or device cannot seek: sniff through a buffer and read
	// it as a stream.
	regular := st.Mode().IsRegular()
	var src io.Reader = f
	var head []byte
	if regular {
		var h [tabular.HeadBytes]byte
		n, _ := io.ReadFull(f, h[:])
		if _, err := f.Seek(0, io.SeekStart); err != nil {
			return nil, fmt.Errorf("trace: %w", err)
		}
		head = h[:n]
	} else {
		br := bufio.NewReaderSize(f, 1<<16)
		head, _ = br.Peek(tabular.HeadBytes)
		src = br
	}
	if len(head) == 0 {
		return nil, &Error{File: path, Found: "an empty file", Expected: "a trace", Err: ErrEmpty}
	}
	sniffed := tabular.Sniff(head)
	if sniffed == tabular.Gzip {
		zr, err := tabular.Gunzip(src, opt.Limits)
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
		zr.Close()
		return nil, &Error{File: path, Found: "gzip-compressed " + format, Expected: "gzip only around CSV or JSONL"}
	}
	format := opt.Format
	if format == "" {
		format = formatFromMagic(head)
	}
	if format == "" {
		format = formatFromExt(strings.ToLower(path))
	}
	switch format {
	case "parquet":
		if !regular {
			return nil, &Error{File: path, Found: "Parquet in " + fileKind(st.Mode()), Expected: "a regular file (Parquet keeps its index at the end, so it needs random access)"}
		}
		return newParquetReader(f, st.Size(), path, opt, f)
	case "arrow":
		size := int64(-1)
		if regular {
			size = st.Size()
		}
		return newArrowFileOrStream(src, size, path, opt, f)
	}
	br, ok := src.(*bufio.Reader)
	if !ok {
		br = bufio.NewReaderSize(src, 1<<16)
	}
	if format == "" {
		format = sniffText(br)
	}
	if format == "jsonl" {
		return newTextReader(br, path, opt, newJSONLDecoderCloser(f))
	}
	return newTextReader(br, path, opt, newCSVDecoderCloser(f))
}

// fileKind names a non-regular file's type for messages.
func fileKind(m os.FileMode) string {
	switch {
	case m&os.ModeNamedPipe != 0:
		return "a named pipe (FIFO)"
	case m&os.ModeCharDevice != 0:
		return "a character device"
	case m&os.ModeDevice != 0:
		return "a device"
	case m&os.ModeSocket != 0:
		return "a socket"
	}
	return "a non-regular file"
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
	switch tabular.Sniff(head) {
	case tabular.Parquet:
		return "parquet"
	case tabular.ArrowFile, tabular.ArrowStream:
		return "arrow"
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
