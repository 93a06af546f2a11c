//go:build !linux

package rundir

import "errors"

// exchange is not available: swapIn falls back to two renames.
func exchange(a, b string) error { return errors.New("rundir: no atomic exchange on this system") }
