package tabular

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"fmt"
	"io"

	"github.com/apache/arrow/go/v17/arrow"
	"github.com/apache/arrow/go/v17/arrow/ipc"
	flatbuffers "github.com/google/flatbuffers/go"
)

// ArrowReader reads the record batches of an Arrow IPC file or stream with
// every size in the file checked before it is allocated.
type ArrowReader struct {
	file   string
	alloc  *limitAllocator
	fr     *ipc.FileReader
	sr     *ipc.Reader
	schema *arrow.Schema
	nrec   int // file: record batches in the footer
	batch  int // batches returned so far
	rows   int64
	rec    arrow.Record
	guard  *streamGuard // stream: the guard under Arrow's reader
}

type readAtSeeker interface {
	io.Reader
	io.ReaderAt
	io.Seeker
}

// OpenArrow opens an Arrow IPC file (through its footer, when r is an
// io.ReaderAt and io.Seeker) or stream (anything else, including a file
// read from a pipe). size is r's length in bytes, or <= 0 when unknown.
// file names the input in errors.
func OpenArrow(r io.Reader, size int64, file string, lim Limits) (ar *ArrowReader, err error) {
	ar = &ArrowReader{file: file}
	if ras, ok := r.(readAtSeeker); ok && size <= 0 {
		if end, err := ras.Seek(0, io.SeekEnd); err == nil {
			size = end
		}
	}
	lim = lim.withDefaults(size)
	ar.alloc = newLimitAllocator(lim.DecodedBytes)
	defer func() {
		if p := recover(); p != nil {
			ar, err = nil, ar.panicErr(p, "an unreadable Arrow schema", "an Arrow IPC file or stream")
		}
	}()
	if ras, ok := r.(readAtSeeker); ok && size > 0 {
		var magic [6]byte
		n, _ := ras.ReadAt(magic[:], 0)
		if string(magic[:n]) == "ARROW1" {
			if err := checkArrowFooter(ras, size, file, lim); err != nil {
				return nil, err
			}
			fr, err := ipc.NewFileReader(ras, ipc.WithAllocator(ar.alloc))
			if err != nil {
				return nil, corrupt(file, "an unreadable Arrow file footer", "an Arrow IPC file", err)
			}
			ar.fr, ar.nrec, ar.schema = fr, fr.NumRecords(), fr.Schema()
			return ar, nil
		}
		if _, err := ras.Seek(0, io.SeekStart); err != nil {
			return nil, &Error{File: file, Err: err}
		}
	}
	br := bufio.NewReaderSize(r, 1<<16)
	head, _ := br.Peek(8)
	if len(head) == 0 {
		return nil, &Error{File: file, Found: "an empty file", Expected: "an Arrow IPC file or stream", Err: ErrEmpty}
	}
	left := size
	if bytes.HasPrefix(head, []byte("ARROW1")) {
		// A file holds a stream after its 8-byte magic and padding.
		br.Discard(8)
		left -= 8
	}
	g := &streamGuard{r: br, left: left, lim: lim}
	sr, err := ipc.NewReader(g, ipc.WithAllocator(ar.alloc))
	if err != nil {
		return nil, ar.wrap(err, g, "an unreadable Arrow stream schema", "an Arrow IPC file or stream")
	}
	ar.sr, ar.schema, ar.guard = sr, sr.Schema(), g
	return ar, nil
}

// panicErr turns a recovered panic into an *Error, preferring the limit the
// allocator refused.
func (ar *ArrowReader) panicErr(p any, found, expected string) *Error {
	if le := ar.alloc.exceeded(); le != nil {
		return &Error{File: ar.file, Row: ar.rows + 1, Found: found, Expected: expected, Err: le}
	}
	return corrupt(ar.file, found, expected, fmt.Errorf("%v", p))
}

func (ar *ArrowReader) wrap(err error, g *streamGuard, found, expected string) *Error {
	if le := ar.alloc.exceeded(); le != nil {
		err = le
	} else if g != nil && g.err != nil {
		err = g.err
	}
	e := corrupt(ar.file, found, expected, err)
	if ar.batch > 0 || ar.rows > 0 {
		e.Row = ar.rows + 1
	}
	return e
}

// Schema is the file's schema.
func (ar *ArrowReader) Schema() *arrow.Schema { return ar.schema }

// Next returns the next record batch, or io.EOF after the last. The batch
// is valid until the next call to Next or Close.
func (ar *ArrowReader) Next() (rec arrow.Record, err error) {
	if ar.rec != nil {
		ar.rows += ar.rec.NumRows()
		ar.rec.Release()
		ar.rec = nil
	}
	found := fmt.Sprintf("unreadable record batch %d", ar.batch)
	defer func() {
		if p := recover(); p != nil {
			rec, err = nil, ar.panicErr(p, found, "Arrow IPC record batches")
			if ar.rows > 0 || ar.batch > 0 {
				err.(*Error).Row = ar.rows + 1
			}
		}
	}()
	switch {
	case ar.fr != nil:
		if ar.batch >= ar.nrec {
			return nil, io.EOF
		}
		r, err := ar.fr.Record(ar.batch)
		ar.batch++
		if err != nil {
			return nil, ar.wrap(err, nil, found, "Arrow IPC record batches")
		}
		r.Retain()
		ar.rec = r
	case ar.sr != nil:
		if !ar.sr.Next() {
			err := ar.sr.Err()
			if err != nil && err != io.EOF {
				return nil, ar.wrap(err, ar.guard, found, "Arrow IPC record batches")
			}
			if le := ar.alloc.exceeded(); le != nil {
				return nil, &Error{File: ar.file, Row: ar.rows + 1, Found: found, Err: le}
			}
			return nil, io.EOF
		}
		ar.batch++
		ar.rec = ar.sr.Record()
		ar.rec.Retain()
	default:
		return nil, io.EOF
	}
	return ar.rec, nil
}

// Close releases the reader's buffers. It does not close the input.
func (ar *ArrowReader) Close() error {
	if ar.rec != nil {
		ar.rec.Release()
		ar.rec = nil
	}
	var err error
	if ar.fr != nil {
		err = ar.fr.Close()
		ar.fr = nil
	}
	if ar.sr != nil {
		ar.sr.Release()
		ar.sr = nil
	}
	return err
}

// arrowBlockSize is the size of the flatbuffers Block struct: offset int64,
// metaDataLength int32 (padded to 8), bodyLength int64.
const arrowBlockSize = 24

// checkArrowFooter reads the footer of an Arrow IPC file of size bytes and
// checks that every dictionary and record batch block it lists lies inside
// the file before the footer, so that no length in it can make the reader
// allocate more than the file holds.
func checkArrowFooter(r io.ReaderAt, size int64, file string, lim Limits) (err error) {
	const tail = 10 // int32 footer length + "ARROW1"
	bad := func(found string) error {
		return &Error{File: file, Found: found, Expected: "an Arrow IPC file whose footer lists blocks inside the file", Err: ErrCorrupt}
	}
	if size < 8+tail {
		return bad(fmt.Sprintf("a %d-byte file", size))
	}
	var t [tail]byte
	if _, err := r.ReadAt(t[:], size-tail); err != nil {
		return corrupt(file, "an unreadable Arrow file footer", "an Arrow IPC file", err)
	}
	if string(t[4:]) != "ARROW1" {
		return bad("no ARROW1 magic at the end")
	}
	flen := int64(int32(binary.LittleEndian.Uint32(t[:4])))
	footerStart := size - tail - flen
	if flen <= 0 || footerStart < 8 {
		return bad(fmt.Sprintf("a footer length of %d bytes in a %d-byte file", flen, size))
	}
	if flen > lim.MetadataBytes {
		return &Error{File: file, Found: "an Arrow file footer", Err: &LimitError{What: "Arrow file footer", Found: flen, Limit: lim.MetadataBytes, Field: "MetadataBytes"}}
	}
	buf := make([]byte, flen)
	if _, err := r.ReadAt(buf, footerStart); err != nil {
		return corrupt(file, "an unreadable Arrow file footer", "an Arrow IPC file", err)
	}
	defer func() {
		if p := recover(); p != nil {
			err = bad(fmt.Sprint("an undecodable footer: ", p))
		}
	}()
	if err := checkFooterSchema(buf); err != nil {
		return &Error{File: file, Found: "an Arrow file footer", Expected: "a readable schema", Err: err}
	}
	tab := flatbuffers.Table{Bytes: buf, Pos: flatbuffers.GetUOffsetT(buf)}
	// Footer fields: version (vtable slot 4), schema (6), dictionaries (8),
	// recordBatches (10).
	for _, slot := range []flatbuffers.VOffsetT{8, 10} {
		o := flatbuffers.UOffsetT(tab.Offset(slot))
		if o == 0 {
			continue
		}
		vec := int64(tab.Vector(o))
		n := int64(tab.VectorLen(o))
		if vec < 0 || n < 0 || vec+n*arrowBlockSize > int64(len(buf)) {
			return bad(fmt.Sprintf("a block list of %d entries in a %d-byte footer", n, flen))
		}
		for i := int64(0); i < n; i++ {
			b := buf[vec+i*arrowBlockSize:]
			off := int64(binary.LittleEndian.Uint64(b))
			meta := int64(int32(binary.LittleEndian.Uint32(b[8:])))
			body := int64(binary.LittleEndian.Uint64(b[16:]))
			if off < 8 || meta <= 0 || body < 0 || off > footerStart || meta > footerStart-off || body > footerStart-off-meta {
				return bad(fmt.Sprintf("a block at offset %d with %d bytes of metadata and %d of body, beyond the %d bytes before the footer", off, meta, body, footerStart))
			}
			if err := checkBlockMessage(r, off, meta, file, lim); err != nil {
				return err
			}
		}
	}
	return nil
}

// checkBlockMessage reads the metadata of the block at off (meta bytes,
// with its continuation and length prefix) and checks its vectors.
func checkBlockMessage(r io.ReaderAt, off, meta int64, file string, lim Limits) error {
	if meta > lim.MetadataBytes {
		return &Error{File: file, Found: "an Arrow block", Err: &LimitError{What: "Arrow message metadata", Found: meta, Limit: lim.MetadataBytes, Field: "MetadataBytes"}}
	}
	buf := make([]byte, meta)
	if _, err := r.ReadAt(buf, off); err != nil {
		return corrupt(file, "an unreadable Arrow block", "an Arrow IPC file", err)
	}
	switch {
	case len(buf) >= 8 && binary.LittleEndian.Uint32(buf) == 0xffffffff:
		buf = buf[8:]
	case len(buf) >= 4:
		buf = buf[4:]
	}
	if err := checkMessage(buf); err != nil {
		return &Error{File: file, Found: fmt.Sprintf("an Arrow block at offset %d", off), Expected: "readable message metadata", Err: err}
	}
	return nil
}

// streamGuard passes an Arrow IPC stream through, reading each message's
// length prefix and metadata first and refusing a length beyond the limits
// or beyond what is left of the input, before Arrow allocates for it.
type streamGuard struct {
	r    io.Reader
	left int64 // bytes left in the input; < 0 when unknown
	lim  Limits
	pend []byte // prefix and metadata of the current message, not yet passed on
	body int64  // body bytes of the current message not yet passed on
	eos  bool   // past the end-of-stream marker: pass the rest through
	err  error
}

func (g *streamGuard) Read(p []byte) (int, error) {
	if g.err != nil {
		return 0, g.err
	}
	if len(g.pend) == 0 && g.body == 0 && !g.eos {
		if err := g.frame(); err != nil {
			if err != io.EOF && err != io.ErrUnexpectedEOF {
				g.err = err
			}
			return 0, err
		}
	}
	if len(g.pend) > 0 {
		n := copy(p, g.pend)
		g.pend = g.pend[n:]
		return n, nil
	}
	if !g.eos && int64(len(p)) > g.body {
		p = p[:g.body]
	}
	n, err := g.r.Read(p)
	if !g.eos {
		g.body -= int64(n)
	}
	if g.left >= 0 {
		g.left -= int64(n)
	}
	return n, err
}

// frame reads the next message's prefix and metadata into pend and checks
// its lengths.
func (g *streamGuard) frame() error {
	var pre [8]byte
	if _, err := io.ReadFull(g.r, pre[:4]); err != nil {
		return err
	}
	np := 4
	mlen := int64(int32(binary.LittleEndian.Uint32(pre[:4])))
	if binary.LittleEndian.Uint32(pre[:4]) == 0xffffffff {
		if _, err := io.ReadFull(g.r, pre[4:8]); err != nil {
			return err
		}
		np = 8
		mlen = int64(int32(binary.LittleEndian.Uint32(pre[4:8])))
	}
	g.consume(int64(np))
	if mlen == 0 {
		// End of stream: Arrow stops here.
		g.eos = true
		g.pend = append(g.pend[:0], pre[:np]...)
		return nil
	}
	if mlen < 0 {
		return fmt.Errorf("%w: a message length of %d bytes", ErrCorrupt, mlen)
	}
	if mlen > g.lim.MetadataBytes {
		return &LimitError{What: "Arrow message metadata", Found: mlen, Limit: g.lim.MetadataBytes, Field: "MetadataBytes"}
	}
	if g.left >= 0 && mlen > g.left {
		return fmt.Errorf("%w: a message of %d bytes of metadata with %d bytes left in the file", ErrCorrupt, mlen, g.left)
	}
	buf := make([]byte, np+int(mlen))
	copy(buf, pre[:np])
	if _, err := io.ReadFull(g.r, buf[np:]); err != nil {
		if err == io.EOF {
			err = io.ErrUnexpectedEOF
		}
		return err
	}
	g.consume(mlen)
	body, err := messageBodyLength(buf[np:])
	if err != nil {
		return err
	}
	if err := checkMessage(buf[np:]); err != nil {
		return err
	}
	if body < 0 || (g.left >= 0 && body > g.left) {
		return fmt.Errorf("%w: a message body of %d bytes with %d bytes left in the file", ErrCorrupt, body, g.left)
	}
	if body > g.lim.DecodedBytes {
		return &LimitError{What: "Arrow message body", Found: body, Limit: g.lim.DecodedBytes, Field: "DecodedBytes"}
	}
	g.pend, g.body = buf, body
	return nil
}

func (g *streamGuard) consume(n int64) {
	if g.left >= 0 {
		g.left -= n
	}
}

// messageBodyLength reads bodyLength from a flatbuffers Message: version
// (vtable slot 4), header_type (6), header (8), bodyLength (10).
func messageBodyLength(meta []byte) (n int64, err error) {
	defer func() {
		if p := recover(); p != nil {
			n, err = 0, fmt.Errorf("%w: undecodable message metadata: %v", ErrCorrupt, p)
		}
	}()
	if len(meta) < 8 {
		return 0, fmt.Errorf("%w: %d bytes of message metadata", ErrCorrupt, len(meta))
	}
	t := flatbuffers.Table{Bytes: meta, Pos: flatbuffers.GetUOffsetT(meta)}
	if o := t.Offset(10); o != 0 {
		return t.GetInt64(t.Pos + flatbuffers.UOffsetT(o)), nil
	}
	return 0, nil
}
