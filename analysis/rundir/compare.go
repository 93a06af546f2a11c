package rundir

import (
	"fmt"
	"io"
	"os"
	"path/filepath"

	"github.com/lodsim/lodsim/analysis"
)

// File names of a compare directory: the index (compare.json, written last,
// marks a complete comparison), its text and CSV tables, and one run
// directory per simulation named LABEL-LOD.
const (
	CompareJSON  = "compare.json"
	CompareText  = "compare.txt"
	CompareCSV   = "compare.csv"
	AccuracyJSON = "accuracy.json"
)

// IsCompare reports whether dir holds a compare.json.
func IsCompare(dir string) bool { return isFile(filepath.Join(dir, CompareJSON)) }

// IsAccuracy reports whether dir holds an accuracy.json.
func IsAccuracy(dir string) bool { return isFile(filepath.Join(dir, AccuracyJSON)) }

// RemoveIndex deletes a compare directory's index files, so that a
// comparison that fails half-way leaves no index describing the previous
// one beside a mix of old and new run directories.
func RemoveIndex(dir string) error {
	for _, name := range []string{CompareJSON, CompareText, CompareCSV} {
		if err := os.Remove(filepath.Join(dir, name)); err != nil && !os.IsNotExist(err) {
			return fmt.Errorf("remove stale %s: %w", filepath.Join(dir, name), err)
		}
	}
	return nil
}

// WriteIndex writes a comparison's tables and extras (figures) into dir,
// and its index compare.json last.
func WriteIndex(dir string, sw *analysis.Sweep, extras ...Extra) error {
	if err := WriteFile(filepath.Join(dir, CompareText), sw.WriteText); err != nil {
		return err
	}
	if err := WriteFile(filepath.Join(dir, CompareCSV), sw.WriteCSV); err != nil {
		return err
	}
	for _, x := range extras {
		if err := WriteFile(filepath.Join(dir, x.Name), func(w io.Writer) error { _, err := w.Write(x.Data); return err }); err != nil {
			return err
		}
	}
	return WriteFile(filepath.Join(dir, CompareJSON), func(w io.Writer) error { return encodeJSON(w, sw) })
}

// ReadIndex reads a compare directory's index.
func ReadIndex(dir string) (*analysis.Sweep, error) {
	var sw analysis.Sweep
	if err := ReadJSON(filepath.Join(dir, CompareJSON), &sw); err != nil {
		return nil, err
	}
	return &sw, nil
}

// RunDirs lists the run directory names of a sweep in order, each once.
func RunDirs(sw *analysis.Sweep) []string {
	var names []string
	seen := map[string]bool{}
	add := func(label, lod string) {
		n := FileSafe((&analysis.Run{Label: label, LoD: lod}).Name())
		if !seen[n] {
			seen[n] = true
			names = append(names, n)
		}
	}
	for _, c := range sw.Comparisons {
		add(c.Label, c.RefLoD)
		add(c.Label, c.LoD)
	}
	return names
}

// ReadRuns reads every run directory of the compare directory dir, checking
// that each holds the run its index names. A run directory the index
// names is required.
func ReadRuns(dir string, sw *analysis.Sweep, each func(name string, run *analysis.Run) error) error {
	for _, name := range RunDirs(sw) {
		sub := filepath.Join(dir, name)
		run, err := Read(sub)
		if err != nil {
			return err
		}
		if want := sw.Runs[name]; want != "" && run.ID != want {
			return fmt.Errorf("%s holds run %s, but %s expects run %s: the directory mixes runs of different comparisons; rerun the comparison",
				sub, run.ID, filepath.Join(dir, CompareJSON), want)
		}
		if err := each(name, run); err != nil {
			return err
		}
	}
	return nil
}

// FileSafe keeps letters, digits, '.', '-' and '_' of s so a label can name
// a file.
func FileSafe(s string) string {
	out := []rune(s)
	for i, r := range out {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '.' || r == '-' || r == '_') {
			out[i] = '_'
		}
	}
	return string(out)
}

// Accuracy is the accuracy.json a calibration or validation writes for
// the calibration figure and the report.
type Accuracy struct {
	Title string          `json:"title"`
	Unit  string          `json:"unit"`
	Pairs []analysis.Pair `json:"pairs"`
}

// ReadAccuracy reads dir/accuracy.json.
func ReadAccuracy(dir string) (*Accuracy, error) {
	var a Accuracy
	if err := ReadJSON(filepath.Join(dir, AccuracyJSON), &a); err != nil {
		return nil, err
	}
	return &a, nil
}

// CheckDir refuses an output directory path that exists (after symlinks)
// and is not a directory, before anything is written into it.
func CheckDir(dir string) error {
	_, mode, err := resolve(dir)
	if err != nil {
		return err
	}
	if mode != 0 && mode&os.ModeDir == 0 {
		return refusef("%s exists and is not a directory; expected a directory for the output files", dir)
	}
	return nil
}
