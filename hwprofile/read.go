package hwprofile

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/lodsim/lodsim/hwprofile/cost"
)

// ErrNoMeasurements is returned when the paths given hold no measurement
// tables.
var ErrNoMeasurements = errors.New("hwprofile: no measurement tables found")

// tableExts are the file names ReadMeasurements picks up in a directory.
var tableExts = []string{".parquet", ".arrow", ".arrows", ".feather", ".ipc", ".csv", ".csv.gz"}

// ReadMeasurements reads measurement tables from files and directories. A
// directory is walked in lexical order and every .parquet, .arrow, .arrows,
// .feather, .ipc and .csv file in it is read; a file is read whatever its
// name. The format is recognised by content (Parquet, Arrow IPC file or
// stream, else CSV) and the layout by the columns: the aiconfigurator
// kernel tables, the Vidur profiles, or the canonical schema of
// MEASUREMENTS.md. A table with a column no layout knows, a missing column
// or an impossible value is an error naming the file, row and column.
//
// Source paths are recorded relative to the directory argument that found
// them (a file argument is recorded by its base name).
func ReadMeasurements(paths ...string) (*Measurements, error) {
	ms := &Measurements{}
	for _, p := range paths {
		st, err := os.Stat(p)
		if err != nil {
			return nil, fmt.Errorf("hwprofile: %w", err)
		}
		if !st.IsDir() {
			if err := ms.readFile(p, filepath.Base(p)); err != nil {
				return nil, err
			}
			ms.findCommit(filepath.Dir(p))
			continue
		}
		var files []string
		err = filepath.WalkDir(p, func(path string, d fs.DirEntry, err error) error {
			if err != nil {
				return err
			}
			if d.IsDir() && path != p && strings.HasPrefix(d.Name(), ".") {
				return filepath.SkipDir
			}
			if d.Type().IsRegular() && !strings.HasPrefix(d.Name(), ".") {
				name := strings.ToLower(d.Name())
				for _, e := range tableExts {
					if strings.HasSuffix(name, e) {
						files = append(files, path)
					}
				}
			}
			return nil
		})
		if err != nil {
			return nil, fmt.Errorf("hwprofile: %w", err)
		}
		for _, f := range files {
			rel, err := filepath.Rel(p, f)
			if err != nil {
				rel = filepath.Base(f)
			}
			if err := ms.readFile(f, filepath.ToSlash(rel)); err != nil {
				return nil, err
			}
		}
		ms.findCommit(p)
	}
	if len(ms.Rows) == 0 {
		if len(ms.Notes) > 0 {
			// Tables were read but none gave rows: say why.
			return nil, fmt.Errorf("%w in %s (%s)", ErrNoMeasurements, strings.Join(paths, ", "), strings.Join(ms.Notes, "; "))
		}
		return nil, fmt.Errorf("%w in %s", ErrNoMeasurements, strings.Join(paths, ", "))
	}
	return ms, nil
}

// findCommit looks for a COMMIT file in dir and up to four directories above
// it, and records the first one found.
func (ms *Measurements) findCommit(dir string) {
	if ms.SourceCommit != "" {
		return
	}
	d, err := filepath.Abs(dir)
	if err != nil {
		return
	}
	for i := 0; i < 5; i++ {
		if b, err := os.ReadFile(filepath.Join(d, "COMMIT")); err == nil {
			f := strings.Fields(string(b))
			if len(f) >= 2 {
				ms.SourceCommit, ms.SourceDate = f[0], f[1]
			}
			return
		}
		up := filepath.Dir(d)
		if up == d {
			return
		}
		d = up
	}
}

func (ms *Measurements) readFile(path, rel string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("hwprofile: %w", err)
	}
	if strings.HasSuffix(strings.ToLower(path), ".gz") {
		zr, err := gzip.NewReader(bytes.NewReader(data))
		if err != nil {
			return fmt.Errorf("hwprofile: %s: %w", path, err)
		}
		if data, err = io.ReadAll(zr); err != nil {
			return fmt.Errorf("hwprofile: %s: %w", path, err)
		}
	}
	t, err := readTable(path, data)
	if err != nil {
		return err
	}
	l, err := detectLayout(t)
	if err != nil {
		return err
	}
	dir, err := ms.tableDir(filepath.Dir(path))
	if err != nil {
		return err
	}
	table := strings.TrimSuffix(filepath.Base(path), filepath.Ext(path))
	if st, ok := dir.status[table]; ok && st != "complete" {
		ms.Notes = append(ms.Notes, fmt.Sprintf("%s: collection_meta.yaml calls the table %q", rel, st))
	}
	ctx := readContext{path: path, rel: rel, pathGPU: gpuFromPath(path), skipped: map[string]int{}}
	before := len(ms.Rows)
	for i := 0; i < t.numRows && l.read != nil; i++ {
		n := len(ms.Rows)
		if err := l.read(t, i, &ctx, &ms.Rows); err != nil {
			return err
		}
		for j := n; j < len(ms.Rows); j++ {
			m := &ms.Rows[j]
			m.Source, m.Row = rel, i+1
			if m.GPU == "" {
				m.GPU = ctx.pathGPU
			}
			if m.Engine == "" {
				m.Engine, m.Version = dir.engine, dir.version
			}
			if f, found, want := m.validate(); f != "" {
				return t.errAt(i, l.column(f), "found %v, expected %s", found, want)
			}
		}
	}
	if l.unused != "" {
		ms.Notes = append(ms.Notes, fmt.Sprintf("%s: %d rows not used: %s", rel, t.numRows, l.unused))
	}
	for _, q := range sortedKeys(ctx.skipped) {
		if a, ok := strings.CutPrefix(q, "architecture "); ok {
			ms.Notes = append(ms.Notes, fmt.Sprintf("%s: %d rows of architecture %q skipped (MLA module rows are read for %s's dimensions only)",
				rel, ctx.skipped[q], a, mlaModuleArch))
			continue
		}
		ms.Notes = append(ms.Notes, fmt.Sprintf("%s: %d rows of quant mode %q skipped (no lodsim precision for it)", rel, ctx.skipped[q], q))
	}
	sum := sha256.Sum256(data)
	ms.Sources = append(ms.Sources, cost.SourceFile{Path: rel, SHA256: hex.EncodeToString(sum[:]),
		Layout: l.name, Rows: len(ms.Rows) - before, Engine: dir.engine, Version: dir.version})
	return nil
}

// gpuFromPath finds the GPU a file belongs to from the directory names
// above it, nearest first ("…/h100_sxm/gemm/…", "…/compute/a100/…").
func gpuFromPath(path string) string {
	abs, err := filepath.Abs(path)
	if err != nil {
		abs = path
	}
	parts := strings.Split(filepath.ToSlash(filepath.Dir(abs)), "/")
	for i := len(parts) - 1; i >= 0; i-- {
		if k := gpuKeyFromLabel(parts[i]); k != "" && !strings.Contains(parts[i], " ") {
			if _, err := cost.LookupGPU(k); err == nil {
				return k
			}
		}
	}
	return ""
}

type readContext struct {
	path, rel, pathGPU string
	// skipped counts the rows a layout passed over by the quant mode that
	// made it skip them (see skipSmoothQuant); each becomes a note.
	skipped map[string]int
}

// layout maps one known table layout to measurements.
type layout struct {
	name     string
	required []string
	optional []string
	// prefixes are column-name prefixes the layout owns (Vidur's
	// time_stats.*), checked by read.
	prefixes []string
	// fields maps Measurement field names used in validation messages to
	// the layout's column names.
	fields map[string]string
	// anyOther accepts columns beyond required ones (layouts recognised
	// but not used); read is nil for them.
	anyOther bool
	// unused says why a recognised layout's rows are not used; the read
	// notes it with the file and its row count.
	unused string
	read   func(t *table, i int, c *readContext, out *[]Measurement) error
}

func (l *layout) column(field string) string {
	if c, ok := l.fields[field]; ok {
		return c
	}
	return field
}

func (l *layout) matches(t *table) bool {
	for _, r := range l.required {
		if !t.has(r) {
			return false
		}
	}
	return true
}

func (l *layout) unknown(t *table) []string {
	known := map[string]bool{}
	for _, c := range l.required {
		known[c] = true
	}
	for _, c := range l.optional {
		known[c] = true
	}
	var out []string
	for _, c := range t.names() {
		if known[c] {
			continue
		}
		owned := false
		for _, p := range l.prefixes {
			owned = owned || strings.HasPrefix(c, p)
		}
		if !owned {
			out = append(out, c)
		}
	}
	return out
}

// detectLayout picks the layout whose required columns the table has, and
// rejects columns it does not know.
func detectLayout(t *table) (*layout, error) {
	var best *layout
	for _, l := range layouts {
		if l.matches(t) && (best == nil || len(l.required) > len(best.required)) {
			best = l
		}
	}
	if best == nil {
		names := make([]string, len(layouts))
		for i, l := range layouts {
			names[i] = fmt.Sprintf("%s (%s)", l.name, strings.Join(l.required, ", "))
		}
		return nil, fmt.Errorf("%s: columns [%s] match no known measurement layout; expected the columns of one of: %s",
			t.file, strings.Join(t.names(), ", "), strings.Join(names, "; "))
	}
	if u := best.unknown(t); len(u) > 0 && !best.anyOther {
		return nil, fmt.Errorf("%s: looks like the %s layout but has unknown column(s) %s; expected only %s",
			t.file, best.name, quoteList(u), quoteList(append(append([]string(nil), best.required...), best.optional...)))
	}
	return best, nil
}

func quoteList(s []string) string {
	q := make([]string, len(s))
	for i, x := range s {
		q[i] = fmt.Sprintf("%q", x)
	}
	sort.Strings(q)
	return strings.Join(q, ", ")
}

var layouts []*layout

func init() {
	layouts = []*layout{
		aicGEMM, aicAttention, aicNCCL, aicCustomAllReduce, aicMLA, aicMLAModule, aicMoE,
		vidurCompute, vidurNetwork, canonicalLayout,
	}
	layouts = append(layouts, aicUnused...)
}
