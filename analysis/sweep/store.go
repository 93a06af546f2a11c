package sweep

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
)

// Files of a sweep directory.
const (
	PlanFile    = "plan.json"
	PartsDir    = "parts"
	TableFile   = "sweep.parquet"
	CSVFile     = "sweep.csv"
	BestFile    = "best.txt"
	metaPlan    = "lodsim.sweep.plan"  // partition metadata: the plan's hash
	metaShard   = "lodsim.sweep.shard" // partition metadata: i/n
	planVersion = 1
)

// planFile is plan.json: what merge needs to check a sweep without
// re-resolving its configurations.
type planFile struct {
	Version    int         `json:"version"`
	Keys       []string    `json:"keys"`
	Kinds      []Kind      `json:"kinds"`
	Attainment float64     `json:"attainment"`
	Points     []planPoint `json:"points"`
}

type planPoint struct {
	Index  int      `json:"index"`
	ID     string   `json:"id"`
	Values []string `json:"values"`
}

func (p *Plan) file() *planFile {
	f := &planFile{Version: planVersion, Keys: p.Keys, Kinds: p.Kinds, Attainment: p.Attainment}
	f.Points = make([]planPoint, len(p.Points))
	for i := range p.Points {
		pt := &p.Points[i]
		f.Points[i] = planPoint{pt.Index, pt.ID, pt.Values}
	}
	return f
}

func encodePlan(f *planFile) ([]byte, string, error) {
	var buf bytes.Buffer
	if err := json.NewEncoder(&buf).Encode(f); err != nil {
		return nil, "", err
	}
	sum := sha256.Sum256(buf.Bytes())
	return buf.Bytes(), hex.EncodeToString(sum[:16]), nil
}

// PartitionName is the file a shard writes under parts/.
func PartitionName(s Shard) string {
	return fmt.Sprintf("part-%04d-of-%04d.parquet", s.Index, s.Count)
}

// writePlan writes dir/plan.json, or checks that the one there is the same
// plan (every shard of a cluster job writes it).
func writePlan(dir string, p *Plan) (hash string, err error) {
	data, hash, err := encodePlan(p.file())
	if err != nil {
		return "", err
	}
	path := filepath.Join(dir, PlanFile)
	old, err := os.ReadFile(path)
	switch {
	case err == nil:
		if !bytes.Equal(old, data) {
			return "", fmt.Errorf("%s holds a different sweep (its plan differs from this one): use another output directory, or remove it to start over", dir)
		}
		return hash, nil
	case !os.IsNotExist(err):
		return "", err
	}
	return hash, WriteFileAtomic(path, func(w io.Writer) error { _, err := w.Write(data); return err })
}

// readPlan reads dir/plan.json.
func readPlan(dir string) (*planFile, string, error) {
	path := filepath.Join(dir, PlanFile)
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, "", fmt.Errorf("%w (is %s a sweep directory?)", err, dir)
	}
	var f planFile
	if err := json.Unmarshal(data, &f); err != nil {
		return nil, "", fmt.Errorf("%s: %w", path, err)
	}
	if f.Version != planVersion {
		return nil, "", fmt.Errorf("%s: version %d, expected %d", path, f.Version, planVersion)
	}
	if len(f.Kinds) != len(f.Keys) {
		return nil, "", fmt.Errorf("%s: %d keys but %d kinds", path, len(f.Keys), len(f.Kinds))
	}
	for i, p := range f.Points {
		if p.Index != i || len(p.Values) != len(f.Keys) {
			return nil, "", fmt.Errorf("%s: point %d: expected index %d and %d values", path, i, i, len(f.Keys))
		}
	}
	sum := sha256.Sum256(data)
	return &f, hex.EncodeToString(sum[:16]), nil
}

// WriteFileAtomic writes path through a temporary file in the same
// directory that is renamed into place only when write succeeds, so a
// failed or preempted run never leaves a half-written file.
func WriteFileAtomic(path string, write func(w io.Writer) error) error {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return err
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	err = write(bw)
	if err == nil {
		err = bw.Flush()
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Chmod(f.Name(), 0o644)
	}
	if err == nil {
		err = os.Rename(f.Name(), path)
	}
	if err != nil {
		os.Remove(f.Name())
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}

// partition is one parsed parts/ file.
type partition struct {
	name  string
	shard Shard
	plan  string
	rows  []Row
}

func readPartition(path string, keys []string, kinds []Kind) (*partition, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	t, meta, err := ReadParquet(f, fi.Size(), path, keys, kinds)
	if err != nil {
		return nil, err
	}
	s, err := ParseShard(meta[metaShard])
	if err != nil {
		return nil, fmt.Errorf("%s: metadata %s: %w", path, metaShard, err)
	}
	return &partition{name: filepath.Base(path), shard: s, plan: meta[metaPlan], rows: t.Rows}, nil
}

// Merge reads a sweep directory's plan and partitions and returns the
// table, after checking that every point of the plan is present exactly
// once, with its plan ID. A missing point is reported with the shard it
// belongs to; a duplicate with both files.
func Merge(dir string) (*Table, error) {
	pf, hash, err := readPlan(dir)
	if err != nil {
		return nil, err
	}
	names, err := filepath.Glob(filepath.Join(dir, PartsDir, "part-*.parquet"))
	if err != nil {
		return nil, err
	}
	slices.Sort(names)
	t := &Table{Keys: pf.Keys, Kinds: pf.Kinds, Rows: make([]Row, len(pf.Points)), Attainment: pf.Attainment}
	from := make([]string, len(pf.Points)) // partition each point came from
	var problems []string
	counts := map[int]bool{}
	present := map[Shard]bool{}
	for _, path := range names {
		part, err := readPartition(path, pf.Keys, pf.Kinds)
		if err != nil {
			return nil, err
		}
		if part.plan != hash {
			return nil, fmt.Errorf("%s belongs to a different sweep (plan %s, expected %s)", path, part.plan, hash)
		}
		counts[part.shard.Count] = true
		present[part.shard] = true
		for _, r := range part.rows {
			switch {
			case r.Point < 0 || r.Point >= len(pf.Points):
				problems = append(problems, fmt.Sprintf("%s: point %d is not in the plan (0..%d)", part.name, r.Point, len(pf.Points)-1))
			case r.PointID != pf.Points[r.Point].ID:
				problems = append(problems, fmt.Sprintf("%s: point %d has ID %s, the plan %s (stale result)", part.name, r.Point, r.PointID, pf.Points[r.Point].ID))
			case from[r.Point] != "":
				problems = append(problems, fmt.Sprintf("point %d (%s) is present twice: in %s and %s", r.Point,
					describeValues(pf.Keys, pf.Points[r.Point].Values), from[r.Point], part.name))
			default:
				from[r.Point] = part.name
				t.Rows[r.Point] = r
			}
		}
	}
	var missing []int
	for i, f := range from {
		if f == "" {
			missing = append(missing, i)
		}
	}
	if len(missing) > 0 {
		problems = append(problems, missingReport(pf, missing, counts, present))
	}
	if len(problems) > 0 {
		return nil, fmt.Errorf("merge %s: %d problems:\n  %s", dir, len(problems), strings.Join(problems, "\n  "))
	}
	return t, nil
}

// missingReport names the missing points and, when the partitions agree on
// a shard count, the shards that wrote nothing or left points out.
func missingReport(pf *planFile, missing []int, counts map[int]bool, present map[Shard]bool) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%d of %d points are missing", len(missing), len(pf.Points))
	if len(counts) == 1 {
		var n int
		for n = range counts {
		}
		var absent, partial []string
		seen := map[int]bool{}
		for _, i := range missing {
			s := i % n
			if seen[s] {
				continue
			}
			seen[s] = true
			if present[Shard{s, n}] {
				partial = append(partial, strconv.Itoa(s))
			} else {
				absent = append(absent, strconv.Itoa(s))
			}
		}
		if len(absent) > 0 {
			fmt.Fprintf(&b, "; shards with no partition (of %d): %s", n, strings.Join(absent, ", "))
		}
		if len(partial) > 0 {
			fmt.Fprintf(&b, "; incomplete shards (re-run them to resume): %s", strings.Join(partial, ", "))
		}
	} else if len(counts) == 0 {
		b.WriteString("; no partitions under " + PartsDir + "/")
	} else {
		b.WriteString("; the partitions were written with different shard counts")
	}
	b.WriteString(": points ")
	for k, i := range missing {
		if k == 20 {
			fmt.Fprintf(&b, " ... and %d more", len(missing)-20)
			break
		}
		if k > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%d (%s)", i, describeValues(pf.Keys, pf.Points[i].Values))
	}
	return b.String()
}

// WriteTable writes dir/sweep.parquet, dir/sweep.csv and dir/best.txt
// (WriteBest with top rows).
func WriteTable(dir string, t *Table, top int) error {
	if err := WriteFileAtomic(filepath.Join(dir, TableFile), func(w io.Writer) error { return t.WriteParquet(w, nil) }); err != nil {
		return err
	}
	if err := WriteFileAtomic(filepath.Join(dir, CSVFile), t.WriteCSV); err != nil {
		return err
	}
	return WriteFileAtomic(filepath.Join(dir, BestFile), func(w io.Writer) error { return t.WriteBest(w, top) })
}
