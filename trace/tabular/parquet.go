package tabular

import (
	"encoding/binary"
	"fmt"
	"io"
	"strings"

	"github.com/parquet-go/parquet-go"
	"github.com/parquet-go/parquet-go/encoding/thrift"
	"github.com/parquet-go/parquet-go/format"
)

// OpenParquet opens a Parquet file of size bytes after checking that its
// footer, every column chunk and every page header's sizes lie inside the
// file and the limits, so that parquet-go allocates nothing a length field
// made up. opts are passed to parquet.OpenFile.
func OpenParquet(r io.ReaderAt, size int64, file string, lim Limits, opts ...parquet.FileOption) (f *parquet.File, err error) {
	lim = lim.withDefaults(size)
	bad := func(found string) error {
		return &Error{File: file, Found: found, Expected: "a Parquet file", Err: ErrCorrupt}
	}
	if size == 0 {
		return nil, &Error{File: file, Found: "an empty file", Expected: "a Parquet file", Err: ErrEmpty}
	}
	const tail = 8 // uint32 footer length + "PAR1"
	if size < 4+tail {
		return nil, bad(fmt.Sprintf("a %d-byte file", size))
	}
	var t [tail]byte
	if _, err := r.ReadAt(t[:], size-tail); err != nil {
		return nil, corrupt(file, "an unreadable Parquet footer", "a Parquet file", err)
	}
	flen := int64(binary.LittleEndian.Uint32(t[:4]))
	footerStart := size - tail - flen
	if string(t[4:]) == "PAR1" {
		if flen == 0 || footerStart < 4 {
			return nil, bad(fmt.Sprintf("a footer length of %d bytes in a %d-byte file", flen, size))
		}
		if flen > lim.MetadataBytes {
			return nil, &Error{File: file, Found: "a Parquet footer", Err: &LimitError{What: "Parquet footer", Found: flen, Limit: lim.MetadataBytes, Field: "MetadataBytes"}}
		}
	}
	defer func() {
		if p := recover(); p != nil {
			f, err = nil, corrupt(file, fmt.Sprint("unreadable metadata: ", p), "a Parquet file", nil)
		}
	}()
	f, err = parquet.OpenFile(r, size, opts...)
	if err != nil {
		return nil, corrupt(file, "unreadable Parquet metadata", "a Parquet file", err)
	}
	if err := checkParquetChunks(r, f.Metadata(), footerStart, file, lim); err != nil {
		return nil, err
	}
	return f, nil
}

// checkParquetChunks checks that every column chunk lies between the
// leading magic and the footer, and walks its page headers checking that
// each page lies inside the chunk and decodes to at most DecodedBytes.
func checkParquetChunks(r io.ReaderAt, md *format.FileMetaData, footerStart int64, file string, lim Limits) error {
	var hdr format.PageHeader
	var scratch []byte
	proto := &thrift.CompactProtocol{}
	for gi, g := range md.RowGroups {
		if g.NumRows < 0 {
			return &Error{File: file, Found: fmt.Sprintf("row group %d with %d rows", gi, g.NumRows), Expected: "a Parquet file", Err: ErrCorrupt}
		}
		for ci := range g.Columns {
			cm := &g.Columns[ci].MetaData
			name := strings.Join(cm.PathInSchema, ".")
			bad := func(found string) error {
				return &Error{File: file, Column: name, Found: fmt.Sprintf("row group %d: %s", gi, found), Expected: "a Parquet file", Err: ErrCorrupt}
			}
			start := cm.DataPageOffset
			if cm.DictionaryPageOffset > 0 && cm.DictionaryPageOffset < start {
				start = cm.DictionaryPageOffset
			}
			if start < 4 || cm.TotalCompressedSize < 0 || start > footerStart || cm.TotalCompressedSize > footerStart-start {
				return bad(fmt.Sprintf("a column chunk of %d bytes at offset %d, outside the %d bytes before the footer", cm.TotalCompressedSize, start, footerStart))
			}
			end := start + cm.TotalCompressedSize
			for pos := start; pos < end; {
				n, err := readPageHeader(r, proto, &hdr, &scratch, pos, end, lim)
				if err != nil {
					return bad(fmt.Sprintf("an unreadable page header at offset %d: %v", pos, err))
				}
				if hdr.CompressedPageSize < 0 || int64(hdr.CompressedPageSize) > end-pos-n {
					return bad(fmt.Sprintf("a page of %d bytes at offset %d in a chunk ending at %d", hdr.CompressedPageSize, pos, end))
				}
				if int64(hdr.UncompressedPageSize) > lim.DecodedBytes {
					return &Error{File: file, Column: name, Found: fmt.Sprintf("row group %d: a page", gi),
						Err: &LimitError{What: "decoded Parquet page", Found: int64(hdr.UncompressedPageSize), Limit: lim.DecodedBytes, Field: "DecodedBytes"}}
				}
				// Decoding sizes level and value buffers by the page's value
				// count, at least a byte a level and eight a value.
				if nv := pageValues(&hdr); nv*8 > lim.DecodedBytes {
					return &Error{File: file, Column: name, Found: fmt.Sprintf("row group %d: a page of %d values", gi, nv),
						Err: &LimitError{What: "decoded Parquet page", Found: nv * 8, Limit: lim.DecodedBytes, Field: "DecodedBytes"}}
				}
				pos += n + int64(hdr.CompressedPageSize)
			}
		}
	}
	return nil
}

// readPageHeader decodes the page header at pos and returns its size. It
// reads a small window first and a larger one only when the header (with
// its statistics) does not fit.
func readPageHeader(r io.ReaderAt, proto *thrift.CompactProtocol, hdr *format.PageHeader, scratch *[]byte, pos, end int64, lim Limits) (int64, error) {
	var err error
	for _, w := range []int64{4 << 10, lim.MetadataBytes} {
		w = min(w, end-pos)
		if int64(cap(*scratch)) < w {
			*scratch = make([]byte, w)
		}
		buf := (*scratch)[:w]
		if _, err = r.ReadAt(buf, pos); err != nil && err != io.EOF {
			return 0, err
		}
		br := proto.NewReaderFromBytes(buf)
		*hdr = format.PageHeader{}
		if err = thrift.NewDecoder(br).Decode(hdr); err == nil {
			if c, ok := br.(interface{ BytesRead() int }); ok {
				return int64(c.BytesRead()), nil
			}
			return 0, fmt.Errorf("cannot measure a page header")
		}
		if w == end-pos {
			break
		}
	}
	return 0, err
}

// pageValues is the value count a page header claims.
func pageValues(h *format.PageHeader) int64 {
	switch {
	case h.DataPageHeader.Valid:
		return int64(h.DataPageHeader.V.NumValues)
	case h.DataPageHeaderV2.Valid:
		return int64(h.DataPageHeaderV2.V.NumValues)
	case h.DictionaryPageHeader.Valid:
		return int64(h.DictionaryPageHeader.V.NumValues)
	}
	return 0
}
