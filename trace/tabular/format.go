package tabular

import "bytes"

// Format is a file format tabular recognises.
type Format int

const (
	Unknown     Format = iota
	CSV                // delimited text with a header row
	Parquet            // Apache Parquet
	ArrowFile          // Arrow IPC file (Feather v2)
	ArrowStream        // Arrow IPC stream
	Gzip               // gzip around a text format
)

func (f Format) String() string {
	switch f {
	case CSV:
		return "csv"
	case Parquet:
		return "parquet"
	case ArrowFile:
		return "arrow"
	case ArrowStream:
		return "arrow stream"
	case Gzip:
		return "gzip"
	}
	return "unknown"
}

// HeadBytes is how many leading bytes Sniff needs.
const HeadBytes = 8

// Sniff recognises a binary format by its first bytes: the Parquet magic
// PAR1, the Arrow file magic ARROW1, an Arrow stream's continuation marker
// 0xFFFFFFFF, or the gzip magic. Anything else is Unknown (text, probably).
func Sniff(head []byte) Format {
	switch {
	case bytes.HasPrefix(head, []byte("PAR1")):
		return Parquet
	case bytes.HasPrefix(head, []byte("ARROW1")):
		return ArrowFile
	case len(head) >= 4 && bytes.Equal(head[:4], []byte{0xff, 0xff, 0xff, 0xff}):
		return ArrowStream
	case len(head) >= 2 && head[0] == 0x1f && head[1] == 0x8b:
		return Gzip
	}
	return Unknown
}
