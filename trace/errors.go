package trace

import (
	"encoding/csv"
	"errors"
	"fmt"

	"github.com/lodsim/lodsim/trace/tabular"
)

// Error describes bad input: which file, row and column, what was found and
// what was expected. Readers return *Error for every decoding problem.
type Error struct {
	File     string // file name as given to Open, or the embedded trace name
	Row      int64  // 1-based data row (the header is not a row); 0 when the problem is not in a row
	Line     int64  // 1-based line in a text file, when it differs usefully from Row; 0 otherwise
	Column   string // column name in the file, or "" when the problem is not in a column
	Found    string // what was found, quoted or summarised
	Expected string // what was expected
	Err      error  // underlying cause, if any

	skippable bool // a value problem; the reader can go on to the next row
	missing   bool // the value was empty or null
}

func (e *Error) Error() string {
	te := tabular.Error{File: e.File, Row: e.Row, Line: e.Line, Column: e.Column, Found: e.Found, Expected: e.Expected, Err: e.Err}
	return "trace: " + te.Error()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrOutOfOrder is wrapped by the *Error returned when an arrival is earlier
// than the one before it and Options.Sort is not set.
var ErrOutOfOrder = errors.New("arrivals out of order (pass --sort, or set workload.sort in the config, to sort them)")

// ErrDuplicateID is wrapped by the *Error returned for a request id seen
// before in the same file: per-request results are keyed by id, and vLLM
// refuses a request whose id is already in use.
var ErrDuplicateID = errors.New("duplicate request id")

// ErrSpan is wrapped by the *Error returned for an arrival outside
// [0, Options.MaxSpan] after shifting (see Options.MaxSpan).
var ErrSpan = errors.New("arrival outside the trace span limit")

// ErrLimit is wrapped by every error for an input beyond a reading limit
// (tabular.Limits): a record batch, page, line or decompressed stream too
// large.
var ErrLimit = tabular.ErrLimit

// errCorrupt is wrapped by errors about damaged Parquet or Arrow data.
var errCorrupt = tabular.ErrCorrupt

// fromTabular turns the reading layer's *tabular.Error into an *Error; a
// row with the wrong number of fields is skippable.
func fromTabular(err error) error {
	var te *tabular.Error
	if !errors.As(err, &te) {
		return err
	}
	e := &Error{File: te.File, Row: te.Row, Line: te.Line, Column: te.Column, Found: te.Found, Expected: te.Expected, Err: te.Err}
	switch {
	case errors.Is(te.Err, tabular.ErrEmpty):
		e.Err = ErrEmpty
	case errors.Is(te.Err, csv.ErrFieldCount):
		e.Err = nil
		e.skippable = true
	}
	return e
}

// ErrEmpty is wrapped by the *Error returned for a file with no data rows.
var ErrEmpty = errors.New("no requests")

// fieldError is what value parsers return; the reader adds file, row and
// column to make an *Error.
type fieldError struct {
	found, expected string
}

// at makes a row-level *Error from a value problem.
func (fe *fieldError) at(row, line int64, column string) *Error {
	return &Error{Row: row, Line: line, Column: column, Found: fe.found, Expected: fe.expected,
		skippable: true, missing: fe == errMissing}
}

func (e *fieldError) Error() string { return "found " + e.found + ", expected " + e.expected }

func badValue(found, expected string) *fieldError {
	return &fieldError{found: found, expected: expected}
}

// quote shortens long inputs so an error message stays readable.
func quote(s string) string {
	const max = 64
	if len(s) > max {
		return fmt.Sprintf("%q… (%d bytes)", s[:max], len(s))
	}
	return fmt.Sprintf("%q", s)
}
