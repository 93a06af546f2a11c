package tabular

import (
	"errors"
	"fmt"
	"strings"
)

// Error is a problem at a place in a file: which file, row, line and column,
// what was found and what was expected. Zero fields are left out of the
// message.
type Error struct {
	File     string // file name as given by the caller
	Row      int64  // 1-based data row (the header is not a row); 0 when not in a row
	Line     int64  // 1-based line of a text file; 0 when unknown or not text
	Column   string // column name, or "" when the problem is not in a column
	Found    string // what was found
	Expected string // what was expected
	Err      error  // underlying cause
}

func (e *Error) Error() string {
	var b strings.Builder
	if e.File != "" {
		b.WriteString(e.File)
	} else {
		b.WriteString("<input>")
	}
	if e.Row > 0 {
		fmt.Fprintf(&b, ": row %d", e.Row)
		if e.Line > 0 {
			fmt.Fprintf(&b, " (line %d)", e.Line)
		}
	} else if e.Line > 0 {
		fmt.Fprintf(&b, ": line %d", e.Line)
	}
	if e.Column != "" {
		fmt.Fprintf(&b, ": column %q", e.Column)
	}
	if e.Found != "" {
		b.WriteString(": found ")
		b.WriteString(e.Found)
	}
	if e.Expected != "" {
		if e.Found != "" {
			b.WriteString(",")
		} else {
			b.WriteString(":")
		}
		b.WriteString(" expected ")
		b.WriteString(e.Expected)
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

func (e *Error) Unwrap() error { return e.Err }

// ErrCorrupt is wrapped by errors about damaged or truncated Parquet and
// Arrow data.
var ErrCorrupt = errors.New("corrupt or truncated file")

// ErrLimit is wrapped by every error for an input that exceeds a Limits
// bound.
var ErrLimit = errors.New("input exceeds a reading limit")

// ErrEmpty is wrapped by the error for an empty file.
var ErrEmpty = errors.New("empty input")

// LimitError reports a size claimed or met in a file above a limit.
type LimitError struct {
	What  string // what was measured, e.g. "record batch memory"
	Found int64  // the size claimed or reached, bytes
	Limit int64  // the bound, bytes
	Field string // the Limits field that sets the bound, e.g. DecodedBytes
}

func (e *LimitError) Error() string {
	if e.Found <= 0 {
		return fmt.Sprintf("%s exceeds the %s limit of %s", e.What, limitName(e.Field), bytesString(e.Limit))
	}
	return fmt.Sprintf("%s of %s exceeds the %s limit of %s", e.What, bytesString(e.Found), limitName(e.Field), bytesString(e.Limit))
}

func (e *LimitError) Unwrap() error { return ErrLimit }

// limitName writes a Limits field in the words a user sees:
// DecodedBytes -> decoded-bytes.
func limitName(field string) string {
	var b strings.Builder
	for i, r := range field {
		if r >= 'A' && r <= 'Z' {
			if i > 0 {
				b.WriteByte('-')
			}
			r += 'a' - 'A'
		}
		b.WriteRune(r)
	}
	return b.String()
}

// bytesString writes n bytes in the largest binary unit that keeps it
// readable.
func bytesString(n int64) string {
	switch {
	case n >= 1<<30:
		return fmt.Sprintf("%.1f GiB", float64(n)/(1<<30))
	case n >= 1<<20:
		return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20))
	case n >= 1<<10:
		return fmt.Sprintf("%.1f KiB", float64(n)/(1<<10))
	}
	return fmt.Sprintf("%d bytes", n)
}

// corrupt wraps a decoding failure of file as an *Error.
func corrupt(file, found, expected string, err error) *Error {
	if err != nil {
		var le *LimitError
		if errors.As(err, &le) {
			return &Error{File: file, Found: found, Expected: expected, Err: le}
		}
		err = fmt.Errorf("%w: %v", ErrCorrupt, err)
	} else {
		err = ErrCorrupt
	}
	return &Error{File: file, Found: found, Expected: expected, Err: err}
}
