package tabular

// Limits bound what reading one file may cost. A zero field takes its
// default; see the package documentation for what each bounds.
type Limits struct {
	// DecodedBytes bounds the buffers an Arrow reader holds for one record
	// batch, after decompression, and the decoded size of one Parquet page.
	// Default: DefaultDecodedBytes(size).
	DecodedBytes int64
	// MetadataBytes bounds one Arrow IPC message header or Parquet footer.
	// Default 64 MiB.
	MetadataBytes int64
	// RecordBytes bounds one CSV record or one text line. Default 8 MiB.
	RecordBytes int64
	// DecompressedBytes bounds what a gzip stream inflates to. Default
	// 16 GiB.
	DecompressedBytes int64
}

// Default limits.
const (
	DefaultMetadataBytes     = 64 << 20
	DefaultRecordBytes       = 8 << 20
	DefaultDecompressedBytes = 16 << 30
	// unknownSizeDecodedBytes is the bound when the input's size is
	// unknown (a pipe).
	unknownSizeDecodedBytes = 4 << 30
)

// DefaultDecodedBytes is the default DecodedBytes for a file of size bytes
// (size <= 0: unknown): max(64 MiB, 64 × size), or 4 GiB for an unknown
// size. Uncompressed buffers never exceed the file; 64× leaves room for
// LZ4 and ZSTD record batches.
func DefaultDecodedBytes(size int64) int64 {
	if size <= 0 {
		return unknownSizeDecodedBytes
	}
	const floor = 64 << 20
	if size > (1<<62)/64 {
		return 1 << 62
	}
	return max(floor, 64*size)
}

// withDefaults fills zero fields for a file of size bytes.
func (l Limits) withDefaults(size int64) Limits {
	if l.DecodedBytes <= 0 {
		l.DecodedBytes = DefaultDecodedBytes(size)
	}
	if l.MetadataBytes <= 0 {
		l.MetadataBytes = DefaultMetadataBytes
	}
	if l.RecordBytes <= 0 {
		l.RecordBytes = DefaultRecordBytes
	}
	if l.DecompressedBytes <= 0 {
		l.DecompressedBytes = DefaultDecompressedBytes
	}
	return l
}
