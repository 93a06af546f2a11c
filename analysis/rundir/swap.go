package rundir

import (
	"bufio"
	"io"
	"os"
	"path/filepath"
)

// exchangeFn is exchange, replaced in tests to exercise the fallback.
var exchangeFn = exchange

func newBuffered(w io.Writer) *bufio.Writer { return bufio.NewWriterSize(w, 1<<20) }

// swapIn moves the finished directory tmp to dir. When dir exists the two
// are exchanged in one step where the system can (exchange), so that dir
// always names a complete run; the old one is then removed.
func swapIn(tmp, dir string) error {
	if _, err := os.Lstat(dir); os.IsNotExist(err) {
		return os.Rename(tmp, dir)
	}
	if err := exchangeFn(tmp, dir); err == nil {
		return os.RemoveAll(tmp) // now the old run
	}
	// No atomic exchange: move the old run aside first. A crash between
	// the two renames leaves no run at dir, never a mixed one.
	old, err := makeTemp(func() (string, string, error) {
		old, err := os.MkdirTemp(filepath.Dir(dir), "."+filepath.Base(dir)+".old*")
		if err == nil {
			os.Remove(old)
		}
		return old, old, err
	})
	if err != nil {
		return err
	}
	defer dropTemp(old)
	if err := os.Rename(dir, old); err != nil {
		return err
	}
	if err := os.Rename(tmp, dir); err != nil {
		os.Rename(old, dir)
		return err
	}
	return os.RemoveAll(old)
}
