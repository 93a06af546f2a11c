package trace

import (
	"errors"
	"fmt"
	"github.com/lodsim/lodsim/trace/workload"
	"io"
	"math"
	"sort"
	"strconv"

	"github.com/lodsim/lodsim/trace/tabular"
)

// Options control how Open reads a trace file.
type Options struct {
	// Format is csv, parquet, arrow or jsonl; "" detects it from the
	// extension and the first bytes.
	Format string
	// Columns maps file columns to fields, e.g.
	// "arrival=ts,prompt=in,output=out,model=m,unit=ms" (see ParseColumns).
	// Fields left out are detected from the header.
	Columns string
	// TimeUnit is the unit of a numeric arrival column: s, ms, us or ns.
	// "" takes it from the detected layout, else from a suffix of the column
	// name (_ms), else seconds. Calendar timestamps and Parquet/Arrow
	// timestamp columns carry their own unit.
	TimeUnit string
	// Sort (option "sort") sorts out-of-order arrivals (stably, so ties
	// keep file order) instead of failing at the first one. Sorting holds
	// the whole trace in memory.
	Sort bool
	// DropFailed (option "drop-failed") drops requests with zero output
	// tokens (BurstGPT marks failed requests that way). Without it they are
	// kept and counted in Problems.ZeroOutput.
	DropFailed bool
	// KeepOffset (option "keep-offset") keeps arrival times as found
	// instead of shifting the first request to 0. The arrivals must then
	// lie in [0, MaxSpan] themselves, which rules out calendar timestamps
	// (Unix time) and keeps a simulation from starting in 1970.
	KeepOffset bool
	// SkipInvalid (option "skip-invalid") skips rows with missing or invalid
	// values, out-of-order rows and duplicate ids, counting them (see
	// Problems) instead of failing. Structural damage (a truncated file)
	// still fails.
	SkipInvalid bool
	// MaxSpan (option "max-span") bounds every arrival after shifting, in
	// nanoseconds: a row arriving later than MaxSpan after the first (or
	// after 0 with KeepOffset) is an error. 0 means DefaultMaxSpan;
	// NoSpanLimit turns the check off, for a conversion that keeps Unix
	// timestamps.
	MaxSpan int64
	// Limits bound what reading the file may cost (record batch memory,
	// line length, decompressed size); zero fields take tabular's
	// defaults.
	Limits tabular.Limits
}

// DefaultMaxSpan is the default Options.MaxSpan: 366 days, longer than any
// published serving trace (BurstGPT spans about 61 days) and short enough
// that one corrupt far-future timestamp, a millisecond column read as
// seconds or a calendar trace under keep-offset fails at once instead of
// making a simulation run through centuries of idle time.
const DefaultMaxSpan = 366 * 24 * 3600 * int64(1e9)

// NoSpanLimit as Options.MaxSpan accepts any arrival that fits in int64
// nanoseconds.
const NoSpanLimit = math.MaxInt64

// MaxRequestTokens bounds prompt + output tokens of one request (see
// workload.MaxRequestTokens).
const MaxRequestTokens = workload.MaxRequestTokens

func (o Options) maxSpan() int64 {
	if o.MaxSpan > 0 {
		return o.MaxSpan
	}
	return DefaultMaxSpan
}

// decoder is one file format's row decoder. decode fills req from the next
// row, or returns io.EOF. Value problems come back as *Error with Row and
// Column set and skippable true; anything else ends the stream.
type decoder interface {
	decode(req *Request) error
	// hasID reports whether the file has an id column; otherwise IDs are
	// 0-based row indexes.
	hasID() bool
	// colName is the file column mapped to f, for errors.
	colName(f field) string
	close() error
}

// Problems counts what a reader skipped under Options.SkipInvalid.
type Problems struct {
	Rows       int64            // rows skipped in total
	Missing    int64            // rows skipped for an empty or null required value
	Invalid    int64            // rows skipped for a value that did not parse or was out of range
	OutOfOrder int64            // rows skipped for arriving before the row before them
	Duplicate  int64            // rows skipped for repeating an earlier row's id
	ZeroOutput int64            // rows kept with 0 output tokens (not skipped; not counted in Rows)
	ByColumn   map[string]int64 // rows skipped per file column
	First      error            // the first problem, as an *Error
}

// Warnings returns one line per kept-but-suspicious kind of row, for a
// caller to print: rows with 0 output tokens (a server generates at least
// one token; BurstGPT marks failed requests so).
func (p Problems) Warnings() []string {
	var w []string
	if p.ZeroOutput > 0 {
		w = append(w, fmt.Sprintf("%d requests have 0 output tokens (failed requests in BurstGPT); they are kept and finish at their first token; the drop-failed option drops them", p.ZeroOutput))
	}
	return w
}

func (p *Problems) add(e *Error, kind *int64) {
	p.Rows++
	*kind++
	if p.ByColumn == nil {
		p.ByColumn = map[string]int64{}
	}
	p.ByColumn[e.Column]++
	if p.First == nil {
		p.First = e
	}
}

// fileReader turns a decoder into a Reader: it assigns row-index IDs, checks
// or sorts arrival order, drops failed rows and shifts arrivals to zero.
type fileReader struct {
	name string
	dec  decoder
	opt  Options
	ids  bool

	row      int64 // data rows decoded so far
	prev     int64 // raw arrival of the previous row
	havePrev bool
	base     int64
	returned int64
	problems Problems

	scratch Request
	seen    idSet // ids seen so far, when the file has an id column

	sorted []Request // Options.Sort: the whole trace, sorted
	pos    int
	err    error // sticky
}

func newFileReader(name string, dec decoder, opt Options) *fileReader {
	r := &fileReader{name: name, dec: dec, opt: opt, ids: dec.hasID()}
	r.seen.on = r.ids
	return r
}

// Problems reports the rows skipped so far under Options.SkipInvalid.
func (r *fileReader) Problems() Problems { return r.problems }

// raw returns the next decoded, order-checked row before shifting.
func (r *fileReader) raw() (Request, error) {
	for {
		// decode writes into a field: a local whose address reaches an
		// interface method would escape, costing an allocation per row.
		r.scratch = Request{}
		err := r.dec.decode(&r.scratch)
		req := r.scratch
		if err == io.EOF {
			if r.row == 0 {
				return req, &Error{File: r.name, Found: "no data rows", Expected: "at least one request", Err: ErrEmpty}
			}
			return req, io.EOF
		}
		r.row++
		if err != nil {
			var e *Error
			if errors.As(err, &e) {
				e.File = r.name
				if r.opt.SkipInvalid && e.skippable {
					if e.missing {
						r.problems.add(e, &r.problems.Missing)
					} else {
						r.problems.add(e, &r.problems.Invalid)
					}
					continue
				}
			}
			return req, err
		}
		if !r.ids {
			req.ID = RequestID(r.row - 1)
		}
		if !r.opt.Sort && r.havePrev && req.Arrival < r.prev {
			e := &Error{File: r.name, Row: r.row, Column: r.arrivalColumn(),
				Found:    "arrival " + strconv.FormatInt(req.Arrival, 10) + " ns before the previous row's " + strconv.FormatInt(r.prev, 10) + " ns",
				Expected: "non-decreasing arrivals", Err: ErrOutOfOrder}
			if r.opt.SkipInvalid {
				r.problems.add(e, &r.problems.OutOfOrder)
				continue
			}
			return req, e
		}
		if int64(req.PromptTokens)+int64(req.OutputTokens) > MaxRequestTokens {
			e := &Error{File: r.name, Row: r.row, Column: r.dec.colName(fOutput),
				Found:    fmt.Sprintf("%d prompt + %d output tokens", req.PromptTokens, req.OutputTokens),
				Expected: fmt.Sprintf("at most %d tokens per request", MaxRequestTokens), skippable: true}
			if r.opt.SkipInvalid {
				r.problems.add(e, &r.problems.Invalid)
				continue
			}
			return req, e
		}
		if r.seen.on && !r.seen.add(int64(req.ID)) {
			e := &Error{File: r.name, Row: r.row, Column: r.dec.colName(fID),
				Found: "id " + strconv.FormatInt(int64(req.ID), 10) + ", used by an earlier row", Expected: "a unique request id", Err: ErrDuplicateID}
			if r.opt.SkipInvalid {
				r.problems.add(e, &r.problems.Duplicate)
				continue
			}
			return req, e
		}
		r.prev, r.havePrev = req.Arrival, true
		if req.OutputTokens == 0 {
			if r.opt.DropFailed {
				continue
			}
			r.problems.ZeroOutput++
		}
		return req, nil
	}
}

func (r *fileReader) arrivalColumn() string { return r.dec.colName(fArrival) }

// Next implements Reader.
func (r *fileReader) Next() (Request, error) {
	if r.err != nil {
		return Request{}, r.err
	}
	var req Request
	var err error
	if r.opt.Sort {
		if r.sorted == nil {
			if err = r.sortAll(); err != nil {
				r.err = err
				return Request{}, err
			}
		}
		if r.pos >= len(r.sorted) {
			r.err = io.EOF
			return Request{}, io.EOF
		}
		req = r.sorted[r.pos]
		r.sorted[r.pos] = Request{}
		r.pos++
	} else if req, err = r.raw(); err != nil {
		r.err = err
		return Request{}, err
	}
	if r.returned == 0 && !r.opt.KeepOffset {
		r.base = req.Arrival
	}
	at, err := r.shift(req.Arrival)
	if err != nil {
		r.err = err
		return Request{}, err
	}
	r.returned++
	req.Arrival = at
	return req, nil
}

// shift returns arrival relative to the base, checking that it lies in
// [0, MaxSpan]: one far-future row, timestamps centuries apart or Unix time
// under keep-offset would otherwise make a simulation run through idle
// years.
func (r *fileReader) shift(arrival int64) (int64, error) {
	at, ok := subInt64(arrival, r.base)
	span := r.opt.maxSpan()
	if ok && at >= 0 && at <= span {
		return at, nil
	}
	e := &Error{File: r.name, Column: r.arrivalColumn(), Err: ErrSpan}
	if !r.opt.Sort {
		e.Row = r.row
	}
	switch {
	case r.opt.KeepOffset && ok && at < 0:
		e.Found = fmt.Sprintf("arrival %d ns, before 0", arrival)
		e.Expected = "arrivals at or after 0 with the keep-offset option"
	case r.opt.KeepOffset:
		e.Found = fmt.Sprintf("arrival %d ns (%s after 0)", arrival, spanString(at, ok))
		e.Expected = fmt.Sprintf("arrivals within the max-span of %s of 0 with the keep-offset option (calendar timestamps are Unix time: drop keep-offset)", spanString(span, true))
	default:
		e.Found = fmt.Sprintf("arrival %d ns, %s after the first request's %d ns", arrival, spanString(at, ok), r.base)
		e.Expected = fmt.Sprintf("arrivals within the max-span of %s of the first request (is the time unit %s right?)", spanString(span, true), unitName(r.unit()))
	}
	return 0, e
}

func (r *fileReader) unit() int64 {
	if u, ok := r.dec.(interface{ arrivalUnit() int64 }); ok {
		return u.arrivalUnit()
	}
	return 1
}

// subInt64 returns a-b and whether it did not overflow.
func subInt64(a, b int64) (int64, bool) {
	d := a - b
	return d, (b >= 0) == (d <= a)
}

// spanString writes a duration in ns in the largest unit that fits.
func spanString(ns int64, ok bool) string {
	if !ok {
		return "more than 292 years"
	}
	switch {
	case ns >= 2*86400e9:
		return fmt.Sprintf("%.4g days", float64(ns)/86400e9)
	case ns >= 3600e9:
		return fmt.Sprintf("%.4g h", float64(ns)/3600e9)
	}
	return fmt.Sprintf("%.4g s", float64(ns)/1e9)
}

func (r *fileReader) sortAll() error {
	all := make([]Request, 0, 1024)
	for {
		req, err := r.raw()
		if err == io.EOF {
			break
		}
		if err != nil {
			return err
		}
		all = append(all, req)
	}
	sort.SliceStable(all, func(i, j int) bool { return all[i].Arrival < all[j].Arrival })
	r.sorted = all
	return nil
}

// Close implements Reader.
func (r *fileReader) Close() error {
	r.sorted = nil
	return r.dec.close()
}

// interner returns one string per distinct byte sequence, so that a column of
// repeated model or session names allocates each name once.
type interner struct {
	m map[string]string
}

func (in *interner) get(b []byte) string {
	if len(b) == 0 {
		return ""
	}
	if s, ok := in.m[string(b)]; ok {
		return s
	}
	if in.m == nil || len(in.m) >= 1<<16 {
		// High-cardinality columns (session ids) would grow without bound.
		in.m = make(map[string]string, 64)
	}
	s := string(b)
	in.m[s] = s
	return s
}

func (in *interner) str(s string) string {
	if len(s) == 0 {
		return ""
	}
	if v, ok := in.m[s]; ok {
		return v
	}
	if in.m == nil || len(in.m) >= 1<<16 {
		in.m = make(map[string]string, 64)
	}
	s = string([]byte(s)) // detach from a reused buffer
	in.m[s] = s
	return s
}
