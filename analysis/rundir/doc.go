// Package rundir reads and writes lodsim's output files and run
// directories, so that no command ever leaves a half-written or mixed
// output behind.
//
// Every output file is written to a temporary sibling and renamed into
// place when complete (CreateFile, WriteFile); device nodes and FIFOs are
// written through instead of replaced, symlinks are followed to their
// target, and a directory is refused. A run directory is committed as a
// unit: it is built in a temporary sibling directory and swapped with the
// old one in one step (Writer.Commit).
//
// A run directory holds:
//
//	run.json             run id, label, level of detail, wall time, peak RSS,
//	                     provenance, and the SHA-256 of every file below
//	config.resolved.yaml the fully resolved configuration
//	results.parquet      one row per request (see analysis.ResultColumns)
//	stats.json           replay.Stats: events by kind, ITL histogram, time series
//	summary.json         analysis.Summary
//	summary.txt          the same, for people, headed by the run id
//
// The run id is a digest of the resolved configuration, the level of detail
// and the results, so the same inputs give the same id. Read checks every
// listed file against run.json, so files of two different runs in one
// directory are refused rather than reported as one run.
//
// Temporaries are registered while they exist: RemoveTemporaries deletes
// them (a signal handler calls it) and Committed lists what was written.
package rundir
