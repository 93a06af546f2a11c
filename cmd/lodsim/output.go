package main

import (
	"time"

	"github.com/urfave/cli/v2"

	"github.com/lodsim/lodsim/analysis/experiment"
)

// newProgress reports a long command's advance on stderr (see
// experiment.Meter); --quiet turns it off.
func newProgress(ctx *cli.Context, label, unit string, total int64) *experiment.Meter {
	if ctx.Bool("quiet") {
		return nil
	}
	return experiment.NewMeter(ctx.App.ErrWriter, label, unit, total)
}

// secs formats nanoseconds as seconds for the wall-time split.
func secs(ns int64) string { return time.Duration(ns).Round(time.Millisecond).String() }
