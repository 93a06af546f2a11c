// Package tabular is the one reading layer under lodsim's file ingest: it
// recognises Parquet, Arrow IPC (file and stream), CSV and gzip by their
// first bytes, opens them with every length field checked before anything
// is allocated, and reports problems as an *Error with the file, row, line
// and column.
//
// The package decodes no values: trace and hwprofile keep their own column
// mappings and value rules and use tabular for the part that is the same
// for both, and dangerous in both: trusting sizes written in a file.
//
// Limits (see Limits) bound what any input can cost:
//
//   - Arrow: the blocks listed in a file's footer must lie inside the file,
//     a stream message's metadata is at most Limits.MetadataBytes, and the
//     buffers one record batch decodes to (after decompression) are at most
//     Limits.DecodedBytes, by default max(64 MiB, 64 × the file size), or
//     4 GiB when the size is unknown (a pipe).
//   - Parquet: the footer (at most Limits.MetadataBytes) and every column
//     chunk must lie inside the file, every page inside its chunk, and a
//     page's decoded size (and 8 bytes per value it claims) is at most
//     Limits.DecodedBytes.
//   - CSV and text lines: one record or line is at most Limits.RecordBytes
//     (8 MiB), so a file without newlines or with an unterminated quote fails
//     at that size instead of being read whole.
//   - gzip: a stream inflates to at most Limits.DecompressedBytes (16 GiB).
//
// Every limit error wraps ErrLimit and says which limit, the value found and
// the value allowed.
package tabular
