package tabular

import (
	"bufio"
	"compress/gzip"
	"io"
)

// Gunzip returns a reader of r's gzip-decompressed bytes that fails with a
// *LimitError after Limits.DecompressedBytes. Closing it does not close r.
func Gunzip(r io.Reader, lim Limits) (io.ReadCloser, error) {
	lim = lim.withDefaults(0)
	zr, err := gzip.NewReader(bufio.NewReaderSize(r, 1<<16))
	if err != nil {
		return nil, err
	}
	return &inflateLimit{zr: zr, left: lim.DecompressedBytes, limit: lim.DecompressedBytes}, nil
}

type inflateLimit struct {
	zr          *gzip.Reader
	left, limit int64
	err         error
}

func (z *inflateLimit) Read(p []byte) (int, error) {
	if z.err != nil {
		return 0, z.err
	}
	if z.left <= 0 {
		var one [1]byte
		if n, err := z.zr.Read(one[:]); n == 0 {
			return 0, err
		}
		z.err = &LimitError{What: "decompressed gzip data", Limit: z.limit, Field: "DecompressedBytes"}
		return 0, z.err
	}
	if int64(len(p)) > z.left {
		p = p[:z.left]
	}
	n, err := z.zr.Read(p)
	z.left -= int64(n)
	return n, err
}

func (z *inflateLimit) Close() error { return z.zr.Close() }
