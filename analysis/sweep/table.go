package sweep

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"reflect"
	"strconv"
	"strings"

	"github.com/parquet-go/parquet-go"
)

// Metrics are the columns every row has after the swept keys. Latencies
// are in milliseconds over completed requests; rates are per second of
// simulated time over the run's span (first arrival to last completion).
type Metrics struct {
	GPUName     string `parquet:"gpu_name"` // catalog name; each pool's ("H200-SXM prefill + H100-SXM decode") when they differ
	GPUs        int64  `parquet:"gpus"`     // replicas x tensor x pipeline parallel
	Requests    int64  `parquet:"requests"`
	Completed   int64  `parquet:"completed"`
	Unfinished  int64  `parquet:"unfinished"`
	Rejected    int64  `parquet:"rejected"`
	Preemptions int64  `parquet:"preemptions"`

	TTFTMeanMs float64 `parquet:"ttft_mean_ms"`
	TTFTP50Ms  float64 `parquet:"ttft_p50_ms"`
	TTFTP90Ms  float64 `parquet:"ttft_p90_ms"`
	TTFTP99Ms  float64 `parquet:"ttft_p99_ms"`
	TPOTMeanMs float64 `parquet:"tpot_mean_ms"`
	TPOTP50Ms  float64 `parquet:"tpot_p50_ms"`
	TPOTP90Ms  float64 `parquet:"tpot_p90_ms"`
	TPOTP99Ms  float64 `parquet:"tpot_p99_ms"`
	E2EMeanMs  float64 `parquet:"e2e_mean_ms"`
	E2EP50Ms   float64 `parquet:"e2e_p50_ms"`
	E2EP90Ms   float64 `parquet:"e2e_p90_ms"`
	E2EP99Ms   float64 `parquet:"e2e_p99_ms"`

	RequestsPerS           float64 `parquet:"requests_per_s"`
	OutputTokensPerS       float64 `parquet:"output_tokens_per_s"`
	RequestsPerSPerGPU     float64 `parquet:"requests_per_s_per_gpu"`
	OutputTokensPerSPerGPU float64 `parquet:"output_tokens_per_s_per_gpu"`

	// Goodput counts requests meeting every SLO bound; MeetsSLO is
	// GoodputFraction >= the sweep's attainment.
	GoodputPerS     float64 `parquet:"goodput_per_s"`
	GoodputFraction float64 `parquet:"goodput_fraction"`
	MeetsSLO        bool    `parquet:"meets_slo"`
	KVPeakUtil      float64 `parquet:"kv_peak_util"` // peak used / total KV blocks

	// Cost: the price table's USD per GPU-hour; the cluster's USD per hour;
	// GPU-hours and USD per million output tokens at the achieved output
	// rate (NaN with no output).
	USDPerGPUHour   float64 `parquet:"usd_per_gpu_hour"`
	USDPerHour      float64 `parquet:"usd_per_hour"`
	GPUHoursPerMTok float64 `parquet:"gpu_hours_per_mtok"`
	USDPerMTok      float64 `parquet:"usd_per_mtok"`

	Status  string `parquet:"status"` // ok, or failed (the simulation returned Error)
	Error   string `parquet:"error"`
	PointID string `parquet:"point_id"`
}

// Row is one point's line of the table.
type Row struct {
	Point  int      // plan index
	Values []string // one per swept key
	Metrics
}

// Kind is the column type of a swept key: int64 when every value is an
// integer, double when every value is a number, string otherwise.
type Kind string

// Column kinds.
const (
	KindInt    Kind = "int64"
	KindFloat  Kind = "double"
	KindString Kind = "string"
)

// Table is the result of a sweep: one row per point, in plan order.
type Table struct {
	Keys       []string
	Kinds      []Kind
	Rows       []Row
	Attainment float64 // the goodput fraction MeetsSLO required
}

var metricsType = reflect.TypeFor[Metrics]()

// ColumnName is the table column of a swept key: the key with dots
// replaced by underscores (Parquet paths use dots).
func ColumnName(key string) string { return strings.ReplaceAll(key, ".", "_") }

// fixedColumns are the names of the columns every table has.
func fixedColumns() []string {
	out := []string{"point"}
	for i := range metricsType.NumField() {
		out = append(out, metricsType.Field(i).Tag.Get("parquet"))
	}
	return out
}

// checkColumns rejects keys whose columns collide with each other or with
// the fixed columns.
func checkColumns(keys []string) error {
	seen := map[string]string{}
	for _, c := range fixedColumns() {
		seen[c] = "a metric column"
	}
	for _, k := range keys {
		c := ColumnName(k)
		if other, ok := seen[c]; ok {
			return fmt.Errorf("key %q: column %q is already %s", k, c, other)
		}
		seen[c] = fmt.Sprintf("key %q", k)
	}
	return nil
}

// kindOf infers the column kind of a key from its values.
func kindOf(values []string) Kind {
	k := KindInt
	for _, v := range values {
		if _, err := strconv.ParseInt(v, 10, 64); err == nil {
			continue
		}
		if f, err := strconv.ParseFloat(v, 64); err == nil && !math.IsNaN(f) && !math.IsInf(f, 0) {
			k = KindFloat
			continue
		}
		return KindString
	}
	return k
}

// rowType is the Go struct a table with these key kinds reads and writes
// through: point, one field per key, then Metrics' fields.
func rowType(keys []string, kinds []Kind) reflect.Type {
	fields := []reflect.StructField{{Name: "Point", Type: reflect.TypeFor[int64](), Tag: `parquet:"point"`}}
	for i, k := range keys {
		t := reflect.TypeFor[string]()
		switch kinds[i] {
		case KindInt:
			t = reflect.TypeFor[int64]()
		case KindFloat:
			t = reflect.TypeFor[float64]()
		}
		fields = append(fields, reflect.StructField{Name: fmt.Sprintf("K%d", i), Type: t,
			Tag: reflect.StructTag(fmt.Sprintf(`parquet:"%s"`, ColumnName(k)))})
	}
	for i := range metricsType.NumField() {
		fields = append(fields, metricsType.Field(i))
	}
	return reflect.StructOf(fields)
}

// toStruct fills v (of rowType) from r.
func (t *Table) toStruct(r *Row, v reflect.Value) error {
	v.Field(0).SetInt(int64(r.Point))
	for i, s := range r.Values {
		f := v.Field(1 + i)
		switch t.Kinds[i] {
		case KindInt:
			n, err := strconv.ParseInt(s, 10, 64)
			if err != nil {
				return fmt.Errorf("point %d: %s=%q: expected an integer", r.Point, t.Keys[i], s)
			}
			f.SetInt(n)
		case KindFloat:
			x, err := strconv.ParseFloat(s, 64)
			if err != nil {
				return fmt.Errorf("point %d: %s=%q: expected a number", r.Point, t.Keys[i], s)
			}
			f.SetFloat(x)
		default:
			f.SetString(s)
		}
	}
	m := reflect.ValueOf(&r.Metrics).Elem()
	for i := range m.NumField() {
		v.Field(1 + len(t.Keys) + i).Set(m.Field(i))
	}
	return nil
}

// fromStruct is the inverse of toStruct.
func (t *Table) fromStruct(v reflect.Value) Row {
	r := Row{Point: int(v.Field(0).Int()), Values: make([]string, len(t.Keys))}
	for i := range t.Keys {
		f := v.Field(1 + i)
		switch t.Kinds[i] {
		case KindInt:
			r.Values[i] = strconv.FormatInt(f.Int(), 10)
		case KindFloat:
			r.Values[i] = strconv.FormatFloat(f.Float(), 'g', -1, 64)
		default:
			r.Values[i] = f.String()
		}
	}
	m := reflect.ValueOf(&r.Metrics).Elem()
	for i := range m.NumField() {
		m.Field(i).Set(v.Field(1 + len(t.Keys) + i))
	}
	return r
}

// WriteParquet writes the table, with metadata key/value pairs (sorted by
// key in the file), zstd-compressed.
func (t *Table) WriteParquet(w io.Writer, meta map[string]string) error {
	typ := rowType(t.Keys, t.Kinds)
	opts := []parquet.WriterOption{parquet.SchemaOf(reflect.New(typ).Interface()),
		parquet.Compression(&parquet.Zstd), parquet.CreatedBy("lodsim", "", "")}
	for _, k := range sortedKeys(meta) {
		opts = append(opts, parquet.KeyValueMetadata(k, meta[k]))
	}
	pw := parquet.NewWriter(w, opts...)
	v := reflect.New(typ)
	for i := range t.Rows {
		if err := t.toStruct(&t.Rows[i], v.Elem()); err != nil {
			return err
		}
		if err := pw.Write(v.Interface()); err != nil {
			return fmt.Errorf("write parquet: %w", err)
		}
	}
	if err := pw.Close(); err != nil {
		return fmt.Errorf("write parquet: %w", err)
	}
	return nil
}

// ReadParquet reads a table with the given keys and kinds (from the plan)
// and returns its rows and metadata. A file whose columns differ is an
// error naming the first difference.
func ReadParquet(r io.ReaderAt, size int64, name string, keys []string, kinds []Kind) (*Table, map[string]string, error) {
	f, err := parquet.OpenFile(r, size)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", name, err)
	}
	t := &Table{Keys: keys, Kinds: kinds}
	typ := rowType(keys, kinds)
	want := parquet.SchemaOf(reflect.New(typ).Interface())
	got := f.Schema()
	if len(got.Fields()) != len(want.Fields()) {
		return nil, nil, fmt.Errorf("%s: %d columns, expected %d (a partition of another sweep?)", name, len(got.Fields()), len(want.Fields()))
	}
	for i, wf := range want.Fields() {
		gf := got.Fields()[i]
		if gf.Name() != wf.Name() || gf.Type().Kind() != wf.Type().Kind() {
			return nil, nil, fmt.Errorf("%s: column %d is %s (%v), expected %s (%v)", name, i, gf.Name(), gf.Type().Kind(), wf.Name(), wf.Type().Kind())
		}
	}
	meta := map[string]string{}
	for _, kv := range f.Metadata().KeyValueMetadata {
		meta[kv.Key] = kv.Value
	}
	pr := parquet.NewReader(f)
	defer pr.Close()
	v := reflect.New(typ)
	for {
		v.Elem().SetZero()
		err := pr.Read(v.Interface())
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, nil, fmt.Errorf("%s: row %d: %w", name, len(t.Rows), err)
		}
		t.Rows = append(t.Rows, t.fromStruct(v.Elem()))
	}
	return t, meta, nil
}

// WriteCSV writes the table with a header line; a NaN is an empty cell.
func (t *Table) WriteCSV(w io.Writer) error {
	cw := csv.NewWriter(w)
	header := []string{"point"}
	for _, k := range t.Keys {
		header = append(header, ColumnName(k))
	}
	header = append(header, fixedColumns()[1:]...)
	if err := cw.Write(header); err != nil {
		return err
	}
	rec := make([]string, 0, len(header))
	for i := range t.Rows {
		r := &t.Rows[i]
		rec = append(rec[:0], strconv.Itoa(r.Point))
		rec = append(rec, r.Values...)
		m := reflect.ValueOf(&r.Metrics).Elem()
		for j := range m.NumField() {
			switch f := m.Field(j); f.Kind() {
			case reflect.Float64:
				x := f.Float()
				if math.IsNaN(x) || math.IsInf(x, 0) {
					rec = append(rec, "")
				} else {
					rec = append(rec, strconv.FormatFloat(x, 'g', -1, 64))
				}
			case reflect.Int64:
				rec = append(rec, strconv.FormatInt(f.Int(), 10))
			case reflect.Bool:
				rec = append(rec, strconv.FormatBool(f.Bool()))
			default:
				rec = append(rec, f.String())
			}
		}
		if err := cw.Write(rec); err != nil {
			return err
		}
	}
	cw.Flush()
	return cw.Error()
}
