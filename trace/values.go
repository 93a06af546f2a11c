package trace

import (
	"fmt"
	"math"
	"strconv"
	"strings"
)

// unitNs returns the number of nanoseconds in one unit of a numeric arrival
// column.
func unitNs(unit string) (int64, error) {
	switch unit {
	case "s", "sec", "seconds":
		return 1e9, nil
	case "ms", "milliseconds":
		return 1e6, nil
	case "us", "µs", "microseconds":
		return 1e3, nil
	case "ns", "nanoseconds":
		return 1, nil
	}
	return 0, fmt.Errorf("time unit %q: expected s, ms, us or ns", unit)
}

func unitName(ns int64) string {
	switch ns {
	case 1e9:
		return "seconds"
	case 1e6:
		return "milliseconds"
	case 1e3:
		return "microseconds"
	}
	return "nanoseconds"
}

var errMissing = &fieldError{found: "an empty value", expected: "a value (the column is required)"}

// scaleInt converts v units of unit ns to ns, failing on overflow.
func scaleInt(v, unit int64) (int64, bool) {
	if unit == 1 {
		return v, true
	}
	if v > math.MaxInt64/unit || v < math.MinInt64/unit {
		return 0, false
	}
	return v * unit, true
}

// scaleFloat converts v units to ns, rounding to the nearest nanosecond.
func scaleFloat(v float64, unit int64) (int64, bool) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return 0, false
	}
	ns := math.Round(v * float64(unit))
	// 2^63 is exactly representable; anything at or beyond it overflows.
	if ns >= 9.223372036854775807e18 || ns < -9.223372036854775807e18 {
		return 0, false
	}
	return int64(ns), true
}

// scaleDecimal converts a plain decimal s ([+-]digits[.digits], no
// exponent) of unit ns to ns exactly, rounding half away from zero at the
// nanosecond like scaleFloat: through float64 a Unix time in seconds such as
// 1700000000.123456789 would lose its last digits (float64 holds about 16).
// exact is false when s is not a plain decimal (the caller falls back to
// ParseFloat); ok is false when the value overflows int64 nanoseconds.
func scaleDecimal(s string, unit int64) (ns int64, ok, exact bool) {
	neg := false
	switch {
	case strings.HasPrefix(s, "-"):
		neg, s = true, s[1:]
	case strings.HasPrefix(s, "+"):
		s = s[1:]
	}
	ip, fp, _ := strings.Cut(s, ".")
	if ip == "" && fp == "" || !allDigits(ip) || !allDigits(fp) {
		return 0, false, false
	}
	whole := int64(0)
	for i := 0; i < len(ip); i++ {
		d := int64(ip[i] - '0')
		if whole > (math.MaxInt64-d)/10 {
			return 0, false, true
		}
		whole = whole*10 + d
	}
	ns, ok = scaleInt(whole, unit)
	if !ok {
		return 0, false, true
	}
	// The fraction in units of unit ns: digits beyond the nanosecond only
	// round.
	frac, scale := int64(0), unit
	for i := 0; i < len(fp) && scale > 1; i++ {
		scale /= 10
		frac += int64(fp[i]-'0') * scale
	}
	if digits := len(fp); digits > 0 && scale == 1 {
		if k := ndigits(unit); digits > k && fp[k] >= '5' {
			frac++
		}
	}
	if ns > math.MaxInt64-frac {
		return 0, false, true
	}
	ns += frac
	if neg {
		ns = -ns
	}
	return ns, true, true
}

func allDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return true
}

// ndigits is the number of decimal digits of a power of ten's exponent:
// 1e9 -> 9.
func ndigits(unit int64) int {
	n := 0
	for ; unit > 1; unit /= 10 {
		n++
	}
	return n
}

// parseArrivalText parses an arrival cell: an integer or decimal number of
// unit (ns per unit), or a calendar timestamp (see parseTimestamp), which
// gives Unix nanoseconds.
func parseArrivalText(s string, unit int64) (int64, *fieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errMissing
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		if ns, ok := scaleInt(v, unit); ok {
			return ns, nil
		}
		return 0, badValue(quote(s), fmt.Sprintf("an arrival time in %s that fits in int64 nanoseconds", unitName(unit)))
	}
	if ns, ok, exact := scaleDecimal(s, unit); exact {
		if ok {
			return ns, nil
		}
		return 0, badValue(quote(s), fmt.Sprintf("an arrival time in %s that fits in int64 nanoseconds", unitName(unit)))
	}
	if looksNumeric(s) {
		v, err := strconv.ParseFloat(s, 64)
		if err == nil || isRangeErr(err) {
			if ns, ok := scaleFloat(v, unit); ok && err == nil {
				return ns, nil
			}
			return 0, badValue(quote(s), fmt.Sprintf("a finite arrival time in %s that fits in int64 nanoseconds", unitName(unit)))
		}
	}
	if ns, ok := parseTimestamp(s); ok {
		return ns, nil
	}
	return 0, badValue(quote(s), fmt.Sprintf("a number of %s or a timestamp like 2023-11-16 18:17:03.9799600 or 2024-05-10 00:00:00+00:00", unitName(unit)))
}

func isRangeErr(err error) bool {
	ne, ok := err.(*strconv.NumError)
	return ok && ne.Err == strconv.ErrRange
}

// looksNumeric reports whether s could be meant as a number (including NaN
// and Inf spellings), so that it is rejected as a bad number rather than as a
// bad timestamp.
func looksNumeric(s string) bool {
	if s == "" {
		return false
	}
	switch strings.ToLower(strings.TrimLeft(s, "+-")) {
	case "nan", "inf", "infinity":
		return true
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c == '.' || c == 'e' || c == 'E' || c == '+' || c == '-') {
			return false
		}
	}
	// A date like 2023-11-16 is all digits and dashes; let the timestamp
	// parser have it.
	return !(len(s) >= 10 && s[4] == '-' && s[7] == '-')
}

const tokensExpected = "a non-negative integer token count below 2^31"

// parseTokensText parses a token count: a non-negative integer, or a decimal
// with no fractional part (pandas writes 12.0 when a column had nulls).
func parseTokensText(s string) (int32, *fieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errMissing
	}
	if v, err := strconv.ParseInt(s, 10, 64); err == nil {
		return tokensFromInt(v, s)
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, badValue(quote(s), tokensExpected)
	}
	return tokensFromFloat(v, s)
}

func tokensFromInt(v int64, s string) (int32, *fieldError) {
	if v < 0 || v > math.MaxInt32 {
		if s == "" {
			s = strconv.FormatInt(v, 10)
		} else {
			s = quote(s)
		}
		return 0, badValue(s, tokensExpected)
	}
	return int32(v), nil
}

func tokensFromFloat(v float64, s string) (int32, *fieldError) {
	if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 || v > math.MaxInt32 || v != math.Trunc(v) {
		if s == "" {
			s = strconv.FormatFloat(v, 'g', -1, 64)
		} else {
			s = quote(s)
		}
		return 0, badValue(s, tokensExpected)
	}
	return int32(v), nil
}

func parsePriorityText(s string) (int32, *fieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, nil
	}
	v, err := strconv.ParseInt(s, 10, 32)
	if err != nil {
		return 0, badValue(quote(s), "an integer priority (int32)")
	}
	return int32(v), nil
}

func parseIDText(s string) (RequestID, *fieldError) {
	s = strings.TrimSpace(s)
	if s == "" {
		return 0, errMissing
	}
	v, err := strconv.ParseInt(s, 10, 64)
	if err != nil {
		return 0, badValue(quote(s), "an integer request id (int64)")
	}
	return RequestID(v), nil
}

// parseHashesText parses prefix block hashes written as unsigned decimal
// integers separated by spaces, commas or semicolons, optionally in brackets
// ("[1, 2, 3]" or "1 2 3"). An empty cell is an empty list.
func parseHashesText(s string, buf []uint64) ([]uint64, *fieldError) {
	s = strings.TrimSpace(s)
	s = strings.TrimPrefix(s, "[")
	s = strings.TrimSuffix(s, "]")
	out := buf[:0]
	for s != "" {
		i := strings.IndexAny(s, " ,;\t")
		tok := s
		if i >= 0 {
			tok, s = s[:i], s[i+1:]
		} else {
			s = ""
		}
		if tok == "" {
			continue
		}
		v, err := strconv.ParseUint(tok, 10, 64)
		if err != nil {
			return nil, badValue(quote(tok), "prefix block hashes as unsigned 64-bit integers separated by spaces")
		}
		out = append(out, v)
	}
	if len(out) == 0 {
		return nil, nil
	}
	return out, nil
}

// parseTimestamp parses a calendar timestamp into Unix nanoseconds without
// allocating:
//
//	YYYY-MM-DD[ T]hh:mm:ss[.fraction][Z|±hh:mm|±hhmm|±hh]  (ISO 8601 allows , for .)
//
// A naive timestamp (no offset, as in the Azure 2023 trace) is taken as UTC.
// Fractions longer than nanoseconds are truncated.
func parseTimestamp(s string) (int64, bool) {
	if len(s) < 19 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T') || s[13] != ':' || s[16] != ':' {
		return 0, false
	}
	year, ok1 := digits(s[0:4])
	month, ok2 := digits(s[5:7])
	day, ok3 := digits(s[8:10])
	hour, ok4 := digits(s[11:13])
	minute, ok5 := digits(s[14:16])
	sec, ok6 := digits(s[17:19])
	if !(ok1 && ok2 && ok3 && ok4 && ok5 && ok6) {
		return 0, false
	}
	// int64 nanoseconds since 1970 cover 1677-09-21 to 2262-04-11.
	if year < 1678 || year > 2261 || month < 1 || month > 12 || day < 1 || day > daysIn(year, month) ||
		hour > 23 || minute > 59 || sec > 59 {
		return 0, false
	}
	rest := s[19:]
	var frac int64
	if len(rest) > 0 && (rest[0] == '.' || rest[0] == ',') {
		rest = rest[1:]
		n := 0
		scale := int64(1e8)
		for n < len(rest) && rest[n] >= '0' && rest[n] <= '9' {
			if scale > 0 {
				frac += int64(rest[n]-'0') * scale
				scale /= 10
			}
			n++
		}
		if n == 0 {
			return 0, false
		}
		rest = rest[n:]
	}
	var offset int64 // seconds east of UTC
	switch {
	case rest == "" || rest == "Z":
	case rest[0] == '+' || rest[0] == '-':
		var hh, mm int64
		var ok bool
		switch len(rest) {
		case 6: // +hh:mm
			if rest[3] != ':' {
				return 0, false
			}
			hh, ok = digits(rest[1:3])
			if m, ok2 := digits(rest[4:6]); ok && ok2 {
				mm = m
			} else {
				ok = false
			}
		case 5: // +hhmm
			hh, ok = digits(rest[1:3])
			if m, ok2 := digits(rest[3:5]); ok && ok2 {
				mm = m
			} else {
				ok = false
			}
		case 3: // +hh
			hh, ok = digits(rest[1:3])
		}
		if !ok || hh > 23 || mm > 59 {
			return 0, false
		}
		offset = hh*3600 + mm*60
		if rest[0] == '-' {
			offset = -offset
		}
	default:
		return 0, false
	}
	secs := daysFromCivil(year, month, day)*86400 + hour*3600 + minute*60 + sec - offset
	// Within the accepted years only the extreme days can overflow.
	if secs > math.MaxInt64/int64(1e9)-1 || secs < math.MinInt64/int64(1e9)+1 {
		return 0, false
	}
	return secs*1e9 + frac, true
}

func digits(s string) (int64, bool) {
	var v int64
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < '0' || c > '9' {
			return 0, false
		}
		v = v*10 + int64(c-'0')
	}
	return v, true
}

func daysIn(year, month int64) int64 {
	switch month {
	case 2:
		if year%4 == 0 && (year%100 != 0 || year%400 == 0) {
			return 29
		}
		return 28
	case 4, 6, 9, 11:
		return 30
	}
	return 31
}

// daysFromCivil returns the days since 1970-01-01 of a proleptic Gregorian
// date (H. Hinnant, "chrono-Compatible Low-Level Date Algorithms").
func daysFromCivil(y, m, d int64) int64 {
	if m <= 2 {
		y--
	}
	era := y
	if era < 0 {
		era -= 399
	}
	era /= 400
	yoe := y - era*400
	mp := m + 9
	if m > 2 {
		mp = m - 3
	}
	doy := (153*mp+2)/5 + d - 1
	doe := yoe*365 + yoe/4 - yoe/100 + doy
	return era*146097 + doe - 719468
}
