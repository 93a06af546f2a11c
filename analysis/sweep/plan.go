package sweep

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/replay"
	"github.com/lodsim/lodsim/trace"
)

// idVersion changes whenever the meaning of a row changes (its columns or
// how they are computed), so that stale partitions are not resumed.
const idVersion = "lodsim-sweep/1"

// Point is one configuration of a sweep.
type Point struct {
	Index int    // position in the plan: grid points first, then explicit ones
	ID    string // hash of everything the point's row depends on
	// Values holds the point's value of each Plan.Keys entry: the one it
	// was given, or the resolved configuration's for keys it left alone.
	Values []string
	Config *replay.Config // resolved and validated
	// RateScale multiplies a trace's arrival rate (1: as recorded); a
	// synthetic workload's rate is scaled in Config instead.
	RateScale float64
	GPU       string  // catalog name of the point's GPU, each pool's when a disaggregated cluster's differ (replay.Config.GPULabel)
	GPUs      int     // replicas x tensor x pipeline parallel
	Price     float64 // USD per GPU-hour
}

// Plan is an expanded sweep.
type Plan struct {
	Keys       []string // swept keys in column order
	Kinds      []Kind   // column type of each key, from all its values
	Points     []Point
	Attainment float64
}

// NewPlan expands s into its points, resolving and validating each
// configuration. It reports up to ten problems at once, each naming the
// point and key.
func NewPlan(s *Spec) (*Plan, error) {
	_, root, err := s.baseTree()
	if err != nil {
		return nil, err
	}
	remove(root, "sweep")
	lodName := s.LoD
	if lodName == "" {
		lodName = "medium"
	}
	fixed := append([]Assignment{{"lod", lodName}}, s.Set...)
	for _, a := range fixed {
		if err := apply(root, a); err != nil {
			return nil, fmt.Errorf("set %s=%s: %w", a.Key, a.Value, err)
		}
	}
	prices, err := DefaultPrices().With(s.Prices)
	if err != nil {
		return nil, err
	}
	p := &Plan{Attainment: s.Attainment}
	if p.Attainment == 0 {
		p.Attainment = DefaultAttainment
	}
	if !(p.Attainment > 0 && p.Attainment <= 1) {
		return nil, fmt.Errorf("attainment %v: expected a fraction in (0, 1]", s.Attainment)
	}
	keyIndex := map[string]int{}
	addKey := func(k string) error {
		if err := checkKey(k); err != nil {
			return err
		}
		if _, ok := keyIndex[k]; !ok {
			keyIndex[k] = len(p.Keys)
			p.Keys = append(p.Keys, k)
		}
		return nil
	}
	total := 1
	for _, a := range s.Grid {
		if _, dup := keyIndex[a.Key]; dup {
			return nil, fmt.Errorf("grid: key %q given twice", a.Key)
		}
		if err := addKey(a.Key); err != nil {
			return nil, fmt.Errorf("grid: %w", err)
		}
		if len(a.Values) == 0 {
			return nil, fmt.Errorf("grid: key %q has no values", a.Key)
		}
		total *= len(a.Values)
		if total > 10_000_000 {
			return nil, fmt.Errorf("grid: more than 10,000,000 points: split the sweep")
		}
	}
	if len(s.Grid) == 0 {
		total = 0
	}
	for i, pt := range s.Points {
		seen := map[string]bool{}
		for _, a := range pt {
			if seen[a.Key] {
				return nil, fmt.Errorf("points[%d]: key %q given twice", i, a.Key)
			}
			seen[a.Key] = true
			if err := addKey(a.Key); err != nil {
				return nil, fmt.Errorf("points[%d]: %w", i, err)
			}
		}
	}
	if total+len(s.Points) == 0 {
		return nil, fmt.Errorf("nothing to sweep: expected a grid axis or an explicit point")
	}
	if err := checkColumns(p.Keys); err != nil {
		return nil, err
	}

	var errs []string
	nerr := 0
	byID := map[string]int{}
	checked := map[string]bool{}
	p.Points = make([]Point, 0, total+len(s.Points))
	assign := make([]Assignment, len(s.Grid))
	for i := 0; i < total+len(s.Points); i++ {
		if i < total {
			// Mixed radix, the first axis slowest.
			r := i
			for k := len(s.Grid) - 1; k >= 0; k-- {
				a := s.Grid[k]
				assign[k] = Assignment{a.Key, a.Values[r%len(a.Values)]}
				r /= len(a.Values)
			}
		} else {
			assign = s.Points[i-total]
		}
		// Only field names can be unknown, and grid points share theirs:
		// decode strictly the first point of each set of keys.
		sig := describeKeys(assign)
		pt, err := resolve(root, s.Dir, p, assign, prices, !checked[sig])
		checked[sig] = err == nil
		if err != nil {
			nerr++
			if len(errs) < 10 {
				errs = append(errs, fmt.Sprintf("point %d (%s): %v", i, describe(assign), err))
			}
			continue
		}
		pt.Index = i
		if j, dup := byID[pt.ID]; dup {
			return nil, fmt.Errorf("point %d (%s) is the same configuration as point %d (%s)", i, describe(assign), j, describeValues(p.Keys, p.Points[j].Values))
		}
		byID[pt.ID] = i
		p.Points = append(p.Points, pt)
	}
	if nerr > 0 {
		more := ""
		if nerr > len(errs) {
			more = fmt.Sprintf("\n  ... and %d more", nerr-len(errs))
		}
		return nil, fmt.Errorf("%d of %d points are invalid:\n  %s%s", nerr, total+len(s.Points), strings.Join(errs, "\n  "), more)
	}
	p.setKinds()
	return p, nil
}

// setKinds infers each key's column type and writes numeric values in one
// canonical form, so a table read back from Parquet prints as written.
func (p *Plan) setKinds() {
	p.Kinds = make([]Kind, len(p.Keys))
	vals := make([]string, len(p.Points))
	for k := range p.Keys {
		for i := range p.Points {
			vals[i] = p.Points[i].Values[k]
		}
		p.Kinds[k] = kindOf(vals)
		for i := range p.Points {
			v := &p.Points[i].Values[k]
			switch p.Kinds[k] {
			case KindInt:
				n, _ := strconv.ParseInt(*v, 10, 64)
				*v = strconv.FormatInt(n, 10)
			case KindFloat:
				x, _ := strconv.ParseFloat(*v, 64)
				*v = strconv.FormatFloat(x, 'g', -1, 64)
			}
		}
	}
}

// apply sets one key in the configuration tree. rate_scale is not a
// configuration path and is handled by resolve.
func apply(root *yaml.Node, a Assignment) error {
	path := configPath(a.Key)
	if strings.HasPrefix(path, "workload.synthetic.") {
		if w := lookup(root, "workload"); w == nil || lookup(w, "synthetic") == nil {
			return fmt.Errorf("the base workload is not synthetic; use %s to scale a trace's arrival rate", RateScaleKey)
		}
	}
	return setPath(root, path, a.Value)
}

// decode turns a configuration tree into a Config with defaults applied,
// as replay.ParseConfig does. With strict, unknown fields are errors (via
// ParseConfig); without, the tree is decoded directly, which is several
// times faster and safe once a tree with the same keys passed strictly.
func decode(root *yaml.Node, strict bool) (*replay.Config, error) {
	if strict {
		data, err := yaml.Marshal(&yaml.Node{Kind: yaml.DocumentNode, Content: []*yaml.Node{root}})
		if err != nil {
			return nil, err
		}
		return replay.ParseConfig(data)
	}
	return replay.DecodeConfigNode(root)
}

// resolve builds one point from the base tree and its assignments; strict
// is decode's.
func resolve(base *yaml.Node, dir string, p *Plan, assign []Assignment, prices Prices, strict bool) (Point, error) {
	root := clone(base)
	scale := 1.0
	for _, a := range assign {
		if a.Key == RateScaleKey {
			v, err := strconv.ParseFloat(a.Value, 64)
			if err != nil || !(v > 0) || math.IsInf(v, 0) {
				return Point{}, fmt.Errorf("%s=%q: expected a positive factor", a.Key, a.Value)
			}
			scale = v
			continue
		}
		if err := apply(root, a); err != nil {
			return Point{}, fmt.Errorf("%s=%s: %w", a.Key, a.Value, err)
		}
	}
	c, err := decode(root, strict)
	if err != nil {
		return Point{}, err
	}
	c.Dir = dir
	if err := c.LoadModelConfig(os.ReadFile); err != nil {
		return Point{}, err
	}
	if scale != 1 {
		switch w := &c.Workload; {
		case w.Synthetic != nil:
			w.Synthetic.Rate *= scale
			scale = 1
		case w.ClosedLoop != nil:
			return Point{}, fmt.Errorf("%s: a closed-loop workload has no arrival rate to scale (sweep workload.closed_loop.clients)", RateScaleKey)
		}
	}
	if err := c.Validate(); err != nil {
		return Point{}, err
	}
	g, err := cost.LookupGPU(c.Hardware.GPU)
	if err != nil {
		return Point{}, fmt.Errorf("hardware.gpu: %w", err)
	}
	price, err := prices.Of(g.Name)
	if err != nil {
		return Point{}, err
	}
	if price, err = poolPrice(c, prices, price); err != nil {
		return Point{}, err
	}
	// The ID hashes the configuration's JSON form (Dir left out: the files
	// it names are hashed by their absolute paths instead), which is much
	// cheaper than YAML and as complete.
	canon := *c
	canon.Dir = ""
	resolved, err := json.Marshal(&canon)
	if err != nil {
		return Point{}, err
	}
	pt := Point{Config: c, RateScale: scale, GPU: c.GPULabel(), Price: price,
		GPUs: c.GPUs()}
	h := sha256.New()
	fmt.Fprintf(h, "%s\nrate_scale=%s\nprice=%s\nattainment=%s\ntrace=%s\nprofile=%s\n", idVersion,
		strconv.FormatFloat(scale, 'g', -1, 64), strconv.FormatFloat(price, 'g', -1, 64),
		strconv.FormatFloat(p.Attainment, 'g', -1, 64), absPath(c, c.Workload.Trace), absPath(c, c.Hardware.Profile))
	if c.Cluster.Disaggregated != nil {
		// A pool's profile file, like hardware.profile, by its absolute path.
		fmt.Fprintf(h, "prefill_profile=%s\ndecode_profile=%s\n", absPath(c, c.Cluster.Disaggregated.Prefill.Profile), absPath(c, c.Cluster.Disaggregated.Decode.Profile))
	}
	h.Write(resolved)
	pt.ID = hex.EncodeToString(h.Sum(nil)[:16])

	pt.Values = make([]string, len(p.Keys))
	var tree *yaml.Node
	for k, key := range p.Keys {
		found := false
		for _, a := range assign {
			if a.Key == key {
				pt.Values[k], found = a.Value, true
			}
		}
		switch {
		case found:
		case key == RateScaleKey:
			pt.Values[k] = "1"
		default:
			if tree == nil {
				y, err := c.Marshal()
				if err != nil {
					return Point{}, err
				}
				var d yaml.Node
				if err := yaml.Unmarshal(y, &d); err != nil {
					return Point{}, err
				}
				tree = d.Content[0]
			}
			pt.Values[k], _ = scalarAt(tree, configPath(key))
		}
	}
	return pt, nil
}

// absPath is where a file the configuration names resolves, absolute, so
// that IDs do not depend on the directory a sweep was started from; ""
// and embedded or built-in names stay as they are.
func absPath(c *replay.Config, p string) string {
	q := c.Path(p)
	if q == "" || q == "roofline" || strings.HasPrefix(q, trace.EmbeddedPrefix) {
		return q
	}
	if a, err := filepath.Abs(q); err == nil {
		return a
	}
	return q
}

func describeKeys(assign []Assignment) string {
	var b strings.Builder
	for _, a := range assign {
		b.WriteString(a.Key)
		b.WriteByte(0)
	}
	return b.String()
}

func describe(assign []Assignment) string {
	parts := make([]string, len(assign))
	for i, a := range assign {
		parts[i] = a.Key + "=" + a.Value
	}
	return strings.Join(parts, " ")
}

func describeValues(keys, values []string) string {
	parts := make([]string, len(keys))
	for i := range keys {
		parts[i] = keys[i] + "=" + values[i]
	}
	return strings.Join(parts, " ")
}

// Shard returns the indices of the points shard s runs.
func (p *Plan) Shard(s Shard) []int {
	var out []int
	for i := range p.Points {
		if s.Has(i) {
			out = append(out, i)
		}
	}
	return out
}

// poolPrice is the price per GPU-hour of c's GPUs: clusterPrice, or for a
// disaggregated cluster whose pools run on GPUs of their own
// (cluster.disaggregated.*.gpu), the mean over its GPUs of each pool's
// GPU's price, so that the price times the GPU count is what the cluster
// costs.
func poolPrice(c *replay.Config, prices Prices, clusterPrice float64) (float64, error) {
	d := c.Cluster.Disaggregated
	if d == nil {
		return clusterPrice, nil
	}
	var usd, gpus float64
	for _, k := range []replay.PoolKind{replay.PoolPrefill, replay.PoolDecode} {
		q := d.Pool(k)
		price := clusterPrice
		if name, own := c.PoolGPU(k); own {
			v, err := prices.Of(name)
			if err != nil {
				return 0, fmt.Errorf("cluster.disaggregated.%s.gpu: %w", k, err)
			}
			price = v
		}
		n := float64(q.Workers * max(q.TensorParallel, 1) * max(q.PipelineParallel, 1))
		usd, gpus = usd+price*n, gpus+n
	}
	return usd / gpus, nil
}
