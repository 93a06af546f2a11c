package rundir

import (
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"

	"github.com/lodsim/lodsim/analysis"
	"github.com/lodsim/lodsim/replay"
)

// File names of a run directory.
const (
	RunFile     = "run.json"
	ConfigFile  = "config.resolved.yaml"
	ResultsFile = "results.parquet"
	StatsFile   = "stats.json"
	SummaryJSON = "summary.json"
	SummaryText = "summary.txt"
)

// Extra is a file written into a run or compare directory beside its data
// (a figure); it is not part of the run's identity.
type Extra struct {
	Name string
	Data []byte
}

// Writer builds a run directory in a temporary sibling of its final path;
// Commit swaps it into place, Abort removes it.
type Writer struct {
	dir   string // final path, symlinks resolved
	tmp   string
	files map[string]string // name -> SHA-256
	done  bool
}

// Create starts a run directory at dir. dir must not exist, or be an
// empty directory, or a run directory (which Commit replaces); anything
// else is refused so that no unrelated file is ever replaced.
func Create(dir string) (*Writer, error) {
	target, mode, err := resolve(dir)
	if err != nil {
		return nil, err
	}
	if mode != 0 {
		if mode&os.ModeDir == 0 {
			return nil, refusef("%s exists and is not a directory; expected a directory for the run's files", dir)
		}
		ents, err := os.ReadDir(target)
		if err != nil {
			return nil, err
		}
		if len(ents) > 0 && !IsRun(target) {
			return nil, refusef("%s is a directory but not a lodsim run directory (no %s); choose a new or empty directory", dir, RunFile)
		}
	}
	parent := filepath.Dir(target)
	if err := os.MkdirAll(parent, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", parent, err)
	}
	tmp, err := makeTemp(func() (string, string, error) {
		p, err := os.MkdirTemp(parent, "."+filepath.Base(target)+".tmp*")
		return p, p, err
	})
	if err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	return &Writer{dir: target, tmp: tmp, files: map[string]string{}}, nil
}

// Dir is the directory the run will be committed to.
func (w *Writer) Dir() string { return w.dir }

// Staging is the hidden directory the run is written in before Commit
// swaps it into place; an interrupt removes it with everything in it, so
// scratch files of the run (a results sort's spill files) belong there.
func (w *Writer) Staging() string { return w.tmp }

// Results returns the results file for a streaming run; call Close on it
// before Commit.
func (w *Writer) Results() (io.WriteCloser, error) {
	f, err := os.Create(filepath.Join(w.tmp, ResultsFile))
	if err != nil {
		return nil, err
	}
	return &member{w: w, name: ResultsFile, f: f, h: sha256.New()}, nil
}

// member is a file of a run directory in the making, hashed as written.
type member struct {
	w    *Writer
	name string
	f    *os.File
	h    interface {
		io.Writer
		Sum([]byte) []byte
	}
}

func (m *member) Write(p []byte) (int, error) {
	m.h.Write(p)
	return m.f.Write(p)
}

func (m *member) Close() error {
	if err := m.f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", filepath.Join(m.w.dir, m.name), err)
	}
	m.w.files[m.name] = hex.EncodeToString(m.h.Sum(nil))
	return nil
}

func (w *Writer) write(name string, fill func(io.Writer) error) error {
	f, err := os.Create(filepath.Join(w.tmp, name))
	if err != nil {
		return err
	}
	m := &member{w: w, name: name, f: f, h: sha256.New()}
	bw := newBuffered(m)
	if err := fill(bw); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Join(w.dir, name), err)
	}
	if err := bw.Flush(); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", filepath.Join(w.dir, name), err)
	}
	return m.Close()
}

// Commit writes the files of run not yet written (results when run holds
// them and Results was not used; config, stats, summaries, run.json) and
// the extras, then swaps the directory into place. It sets run.ID.
func (w *Writer) Commit(run *analysis.Run, extras ...Extra) error {
	if w.done {
		return errors.New("rundir: commit after commit or abort")
	}
	if _, ok := w.files[ResultsFile]; !ok {
		if err := w.write(ResultsFile, func(f io.Writer) error { return analysis.WriteResults(f, run.Results) }); err != nil {
			return err
		}
	}
	if run.Config != nil {
		data, err := run.Config.Marshal()
		if err != nil {
			return err
		}
		if err := w.write(ConfigFile, func(f io.Writer) error { _, err := f.Write(data); return err }); err != nil {
			return err
		}
	}
	run.ID = runID(run, w.files)
	if run.Stats != nil {
		// Compact: indenting the large stats copies the encoding once more.
		if err := w.write(StatsFile, func(f io.Writer) error { return json.NewEncoder(f).Encode(run.Stats) }); err != nil {
			return err
		}
	}
	if err := w.write(SummaryJSON, func(f io.Writer) error { return encodeJSON(f, &run.Summary) }); err != nil {
		return err
	}
	if err := w.write(SummaryText, func(f io.Writer) error { return writeSummaryText(f, run) }); err != nil {
		return err
	}
	info := run.Info()
	info.Files = w.files
	if err := w.write(RunFile, func(f io.Writer) error { return encodeJSON(f, info) }); err != nil {
		return err
	}
	for _, x := range extras {
		if err := os.WriteFile(filepath.Join(w.tmp, x.Name), x.Data, 0o644); err != nil {
			return fmt.Errorf("write %s: %w", filepath.Join(w.dir, x.Name), err)
		}
	}
	if err := swapIn(w.tmp, w.dir); err != nil {
		return fmt.Errorf("commit %s: %w", w.dir, err)
	}
	w.done = true
	dropTemp(w.tmp)
	addCommitted(w.dir)
	return nil
}

// Abort removes the directory in the making; it is a no-op after Commit.
func (w *Writer) Abort() {
	if w.done {
		return
	}
	w.done = true
	os.RemoveAll(w.tmp)
	dropTemp(w.tmp)
}

// Write writes a run held in memory to dir as a unit.
func Write(dir string, run *analysis.Run, extras ...Extra) error {
	w, err := Create(dir)
	if err != nil {
		return err
	}
	if err := w.Commit(run, extras...); err != nil {
		w.Abort()
		return err
	}
	return nil
}

// runID digests what makes a run what it is: its label, level of detail,
// resolved configuration and results (not its wall time).
func runID(run *analysis.Run, files map[string]string) string {
	h := sha256.New()
	fmt.Fprintf(h, "lodsim run\x00%s\x00%s\x00%s\x00%s", run.Label, run.LoD, files[ConfigFile], files[ResultsFile])
	return hex.EncodeToString(h.Sum(nil))[:16]
}

func writeSummaryText(w io.Writer, run *analysis.Run) error {
	fmt.Fprintf(w, "run %s\n%s at %s LoD: %.3f s wall", run.ID, run.Label, run.LoD, float64(run.WallNs)/1e9)
	if run.Stats != nil {
		fmt.Fprintf(w, ", %d events, %.3f s simulated", run.Stats.TotalEvents, float64(run.Stats.SimEnd)/1e9)
	}
	fmt.Fprintf(w, "\n\n")
	return run.Summary.WriteText(w)
}

func encodeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

// IsRun reports whether dir holds a run.json.
func IsRun(dir string) bool { return isFile(filepath.Join(dir, RunFile)) }

func isFile(p string) bool {
	fi, err := os.Stat(p)
	return err == nil && fi.Mode().IsRegular()
}

// ReadJSON decodes path into v, rejecting unknown fields so that a file of
// the wrong kind is caught; errors name the file.
func ReadJSON(path string, v any) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	return decodeJSON(path, data, v)
}

func decodeJSON(path string, data []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(data))
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

// Read reads a run directory, checking that every file listed in run.json
// is there with the content it had when the run was committed.
func Read(dir string) (*analysis.Run, error) {
	var info analysis.RunInfo
	if err := ReadJSON(filepath.Join(dir, RunFile), &info); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if info.ID == "" || info.Files == nil {
		return nil, fmt.Errorf("read run: %s has no run id: written by an older lodsim; rerun the command to rewrite it", filepath.Join(dir, RunFile))
	}
	for _, need := range []string{ResultsFile, SummaryJSON} {
		if _, ok := info.Files[need]; !ok {
			return nil, fmt.Errorf("read run: %s does not list %s", filepath.Join(dir, RunFile), need)
		}
	}
	data := map[string][]byte{}
	names := make([]string, 0, len(info.Files))
	for name := range info.Files {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		p := filepath.Join(dir, name)
		b, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("read run %s: %w", info.ID, err)
		}
		if sum := sha256.Sum256(b); hex.EncodeToString(sum[:]) != info.Files[name] {
			return nil, fmt.Errorf("read run %s: %s does not belong to this run (its content differs from the digest in %s): the directory mixes files of different runs; rerun to rewrite it",
				info.ID, p, RunFile)
		}
		data[name] = b
	}
	run := &analysis.Run{ID: info.ID, Label: info.Label, LoD: info.LoD, WallNs: info.WallNs, PeakRSSBytes: info.PeakRSSBytes, Provenance: info.Provenance}
	if err := decodeJSON(filepath.Join(dir, SummaryJSON), data[SummaryJSON], &run.Summary); err != nil {
		return nil, fmt.Errorf("read run: %w", err)
	}
	if b, ok := data[StatsFile]; ok {
		run.Stats = &replay.Stats{}
		if err := decodeJSON(filepath.Join(dir, StatsFile), b, run.Stats); err != nil {
			return nil, fmt.Errorf("read run: %w", err)
		}
	}
	if b, ok := data[ConfigFile]; ok {
		c, err := replay.ParseConfig(b)
		if err != nil {
			return nil, fmt.Errorf("read run: %s: %w", filepath.Join(dir, ConfigFile), err)
		}
		run.Config = c
	}
	var err error
	b := data[ResultsFile]
	if run.Results, err = analysis.ReadResults(bytes.NewReader(b), int64(len(b))); err != nil {
		return nil, fmt.Errorf("read run: %s: %w", filepath.Join(dir, ResultsFile), err)
	}
	return run, nil
}
