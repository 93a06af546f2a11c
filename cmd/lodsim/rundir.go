package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
)

// A run directory holds everything one simulation produced:
//
//	run.json         label, level of detail, wall time, peak RSS
//	results.parquet  one row per request (see analysis.ResultColumns)
//	stats.json       replay.Stats: events by kind, ITL histogram, time series
//	summary.json     analysis.Summary
//	summary.txt      the same, for people
//
// A compare directory holds compare.txt/.csv/.json, the figures, and one run
// directory per simulation named LABEL-LOD.
const (
	runFile     = "run.json"
	resultsFile = "results.parquet"
	statsFile   = "stats.json"
	summaryJSON = "summary.json"
	summaryText = "summary.txt"
	compareJSON = "compare.json"
	compareText = "compare.txt"
	compareCSV  = "compare.csv"
	accuracyJS  = "accuracy.json"
)

func writeJSON(path string, v any) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		enc := json.NewEncoder(w)
		enc.SetIndent("", "  ")
		return enc.Encode(v)
	})
}

// writeCompactJSON is writeJSON without indentation, for the large
// stats.json: indenting copies the whole encoding once more.
func writeCompactJSON(path string, v any) error {
	return writeFileAtomic(path, func(w io.Writer) error {
		return json.NewEncoder(w).Encode(v)
	})
}

// writeRunDir writes run into dir, each file atomically.
func writeRunDir(dir string, run *analysis.Run) error {
	if err := writeFileAtomic(filepath.Join(dir, resultsFile), func(w io.Writer) error {
		return analysis.WriteResults(w, run.Results)
	}); err != nil {
		return err
	}
	return writeRunMeta(dir, run)
}

// writeRunMeta writes every file of a run directory but the results, which
// a streaming run has already written.
func writeRunMeta(dir string, run *analysis.Run) error {
	if err := writeJSON(filepath.Join(dir, runFile), run.Info()); err != nil {
		return err
	}
	if run.Stats != nil {
		if err := writeCompactJSON(filepath.Join(dir, statsFile), run.Stats); err != nil {
			return err
		}
	}
	if err := writeJSON(filepath.Join(dir, summaryJSON), &run.Summary); err != nil {
		return err
	}
	return writeFileAtomic(filepath.Join(dir, summaryText), func(w io.Writer) error {
		fmt.Fprintf(w, "%s at %s LoD: %.3f s wall", run.Label, run.LoD, float64(run.WallNs)/1e9)
		if run.Stats != nil {
			fmt.Fprintf(w, ", %d events, %.3f s simulated", run.Stats.TotalEvents, float64(run.Stats.SimEnd)/1e9)
		}
		fmt.Fprintf(w, "\n\n")
		return run.Summary.WriteText(w)
	})
}

// readJSON decodes path into v, rejecting unknown fields so that a file of
// the wrong kind is caught; errors name the file.
func readJSON(path string, v any) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	dec := json.NewDecoder(f)
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return fmt.Errorf("%s: byte %d: %w", path, se.Offset, err)
		}
		return fmt.Errorf("%s: %w", path, err)
	}
	return nil
}

// readRunDir reads a run directory written by writeRunDir. stats.json is
// optional; every other file must be there.
func readRunDir(dir string) (*analysis.Run, error) {
	var info analysis.RunInfo
	if err := readJSON(filepath.Join(dir, runFile), &info); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	run := &analysis.Run{Label: info.Label, LoD: info.LoD, WallNs: info.WallNs, PeakRSSBytes: info.PeakRSSBytes}
	if err := readJSON(filepath.Join(dir, summaryJSON), &run.Summary); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	statsPath := filepath.Join(dir, statsFile)
	if _, err := os.Stat(statsPath); err == nil {
		run.Stats = &replay.Stats{}
		if err := readJSON(statsPath, run.Stats); err != nil {
			return nil, fmt.Errorf("read run: %w", err)
		}
	}
	path := filepath.Join(dir, resultsFile)
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	run.Results, err = analysis.ReadResults(f, fi.Size())
	if err != nil {
		return nil, fmt.Errorf("read run: %s: %w", path, err)
	}
	return run, nil
}

// isRunDir and isCompareDir tell directory kinds apart by their index file.
func isRunDir(dir string) bool     { return fileExists(filepath.Join(dir, runFile)) }
func isCompareDir(dir string) bool { return fileExists(filepath.Join(dir, compareJSON)) }

func fileExists(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}
