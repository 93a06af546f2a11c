package tabular

import (
	"bufio"
	"io"
)

// LineReader reads a text file line by line, no line longer than
// Limits.RecordBytes.
type LineReader struct {
	br    *bufio.Reader
	buf   []byte
	line  int64
	limit int64
}

// NewLines returns a LineReader over r.
func NewLines(r io.Reader, lim Limits) *LineReader {
	lim = lim.withDefaults(0)
	return &LineReader{br: bufio.NewReaderSize(r, 1<<16), limit: lim.RecordBytes}
}

// Line is the 1-based number of the line Next last returned.
func (l *LineReader) Line() int64 { return l.line }

// Next returns the next line without its newline, valid until the next
// call, or io.EOF after the last. A line longer than the limit is a
// *LimitError.
func (l *LineReader) Next() ([]byte, error) {
	l.buf = l.buf[:0]
	for {
		chunk, err := l.br.ReadSlice('\n')
		l.buf = append(l.buf, chunk...)
		if int64(len(l.buf)) > l.limit+1 {
			l.line++
			return nil, &LimitError{What: "one line", Limit: l.limit, Field: "RecordBytes"}
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF && len(l.buf) > 0 {
			break
		}
		if err != nil {
			return nil, err
		}
		break
	}
	l.line++
	n := len(l.buf)
	if n > 0 && l.buf[n-1] == '\n' {
		n--
	}
	return l.buf[:n], nil
}
