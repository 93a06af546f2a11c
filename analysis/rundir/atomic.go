package rundir

import (
	"bufio"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
)

// ErrRefused is wrapped by the errors of outputs lodsim will not write: a
// directory given as a file, a file or a foreign directory given as a run
// directory.
var ErrRefused = errors.New("refused output")

// refusef is an error wrapping ErrRefused without repeating its text.
func refusef(format string, args ...any) error { return refused{fmt.Errorf(format, args...)} }

type refused struct{ error }

func (refused) Is(target error) bool { return target == ErrRefused }
func (r refused) Unwrap() error      { return r.error }

// ErrInput is wrapped by errors in what a command reads (a missing or
// foreign run directory, a corrupt results file), as opposed to failures
// while it writes: the CLI exits 2 for the first and 1 for the second.
var ErrInput = errors.New("input error")

// Input marks err (if any) as an input error without changing its text.
func Input(err error) error {
	if err == nil {
		return nil
	}
	return inputError{err}
}

type inputError struct{ error }

func (inputError) Is(target error) bool { return target == ErrInput }
func (e inputError) Unwrap() error      { return e.error }

// registry tracks temporaries that exist and outputs already committed.
var registry struct {
	sync.Mutex
	temps     map[string]bool
	committed []string
}

// makeTemp creates a temporary with mk and registers it under one lock:
// an interrupt (RemoveTemporaries) between creating and registering would
// otherwise leave it behind.
func makeTemp[T any](mk func() (T, string, error)) (T, error) {
	registry.Lock()
	defer registry.Unlock()
	v, p, err := mk()
	if err != nil {
		return v, err
	}
	if registry.temps == nil {
		registry.temps = map[string]bool{}
	}
	registry.temps[p] = true
	return v, nil
}

func dropTemp(p string) {
	registry.Lock()
	defer registry.Unlock()
	delete(registry.temps, p)
}

func addCommitted(p string) {
	registry.Lock()
	defer registry.Unlock()
	registry.committed = append(registry.committed, p)
}

// RemoveTemporaries deletes every temporary file and directory in progress
// and returns their paths, sorted. Outputs written afterwards by a still
// running command are not affected; call it on the way out.
func RemoveTemporaries() []string {
	registry.Lock()
	defer registry.Unlock()
	var out []string
	for p := range registry.temps {
		os.RemoveAll(p)
		out = append(out, p)
	}
	registry.temps = nil
	slices.Sort(out)
	return out
}

// Committed lists the outputs committed so far, in order.
func Committed() []string {
	registry.Lock()
	defer registry.Unlock()
	return slices.Clone(registry.committed)
}

// File is an output file in progress. It appears under its final name only
// when Commit succeeds; Abort (or a failed Commit) leaves no trace. Writes
// are buffered and hashed.
type File struct {
	f       *os.File
	w       *bufio.Writer
	h       hash.Hash
	path    string // final name
	through bool   // writing straight into a device node or FIFO
	done    bool
}

// CreateFile starts writing path. A regular file (or none) is replaced
// atomically through a temporary sibling; a symlink is followed and its
// target replaced; a device node, FIFO or socket is written through, so
// that --out /dev/null or a named pipe works and is never replaced; a
// directory is refused.
func CreateFile(path string) (*File, error) {
	target, mode, err := resolve(path)
	if err != nil {
		return nil, err
	}
	switch {
	case mode&os.ModeDir != 0:
		return nil, refusef("%s is a directory, expected a file name", path)
	case mode&(os.ModeDevice|os.ModeCharDevice|os.ModeNamedPipe|os.ModeSocket) != 0:
		f, err := os.OpenFile(target, os.O_WRONLY, 0)
		if err != nil {
			return nil, fmt.Errorf("open %s: %w", path, err)
		}
		return newFile(f, path, true), nil
	}
	dir := filepath.Dir(target)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := makeTemp(func() (*os.File, string, error) {
		f, err := os.CreateTemp(dir, "."+filepath.Base(target)+".tmp*")
		if err != nil {
			return nil, "", err
		}
		return f, f.Name(), nil
	})
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", path, err)
	}
	a := newFile(f, target, false)
	return a, nil
}

func newFile(f *os.File, path string, through bool) *File {
	h := sha256.New()
	return &File{f: f, w: bufio.NewWriterSize(io.MultiWriter(f, h), 1<<20), h: h, path: path, through: through}
}

// resolve follows symlinks at path (a dangling link resolves to the name
// it points at) and returns the final path and its mode (0 when absent).
func resolve(path string) (string, os.FileMode, error) {
	for range 40 {
		fi, err := os.Lstat(path)
		if errors.Is(err, os.ErrNotExist) {
			return path, 0, nil
		}
		if err != nil {
			return "", 0, err
		}
		if fi.Mode()&os.ModeSymlink == 0 {
			return path, fi.Mode(), nil
		}
		dest, err := os.Readlink(path)
		if err != nil {
			return "", 0, err
		}
		if !filepath.IsAbs(dest) {
			dest = filepath.Join(filepath.Dir(path), dest)
		}
		path = dest
	}
	return "", 0, fmt.Errorf("%s: too many levels of symbolic links", path)
}

func (a *File) Write(p []byte) (int, error) { return a.w.Write(p) }

// Digest is the SHA-256 of the bytes written so far (call after Commit for
// the whole file).
func (a *File) Digest() string { return hex.EncodeToString(a.h.Sum(nil)) }

// Commit flushes, syncs and renames the file into place.
func (a *File) Commit() error {
	if a.done {
		return nil
	}
	a.done = true
	err := a.w.Flush()
	if a.through {
		if cerr := a.f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", a.path, err)
		}
		return nil
	}
	if err == nil {
		err = a.f.Sync()
	}
	if cerr := a.f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(a.f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(a.f.Name(), a.path)
	}
	dropTemp(a.f.Name())
	if err != nil {
		os.Remove(a.f.Name())
		return fmt.Errorf("write %s: %w", a.path, err)
	}
	addCommitted(a.path)
	return nil
}

// Abort discards the file; it is a no-op after Commit.
func (a *File) Abort() {
	if a.done {
		return
	}
	a.done = true
	a.f.Close()
	if !a.through {
		os.Remove(a.f.Name())
		dropTemp(a.f.Name())
	}
}

// WriteFile writes path through fill, atomically (see CreateFile).
func WriteFile(path string, fill func(w io.Writer) error) error {
	_, err := writeFile(path, fill)
	return err
}

func writeFile(path string, fill func(w io.Writer) error) (string, error) {
	a, err := CreateFile(path)
	if err != nil {
		return "", err
	}
	if err := fill(a); err != nil {
		a.Abort()
		return "", fmt.Errorf("write %s: %w", path, err)
	}
	if err := a.Commit(); err != nil {
		return "", err
	}
	return a.Digest(), nil
}

// Interrupted removes the temporaries of the outputs in progress
// (RemoveTemporaries) and says, in one line for a command stopped by sig,
// how many it removed and which completed outputs it kept.
func Interrupted(sig os.Signal) string {
	removed := RemoveTemporaries()
	kept := "nothing was written"
	if c := Committed(); len(c) > 0 {
		kept = "kept the completed outputs: " + strings.Join(c, ", ")
	}
	return fmt.Sprintf("interrupted (%v): removed %d temporary output(s); %s", sig, len(removed), kept)
}
