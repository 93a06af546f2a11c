package trace

import (
	"math"
	"strconv"
	"testing"
)

// TestDecimalArrivalsExact: decimal arrival cells become nanoseconds
// exactly, where float64 would drop the last digits of a Unix time in
// seconds, and round half away from zero at the nanosecond.
func TestDecimalArrivalsExact(t *testing.T) {
	for _, c := range []struct {
		in   string
		unit int64
		want int64
	}{
		{"1700000000.123456789", 1e9, 1700000000123456789},
		{"1700000000.1234567894", 1e9, 1700000000123456789},
		{"1700000000.1234567895", 1e9, 1700000000123456790},
		{"0.1", 1e9, 100000000},
		{"1.1", 1e9, 1100000000},
		{"5.", 1e9, 5000000000},
		{".25", 1e6, 250000},
		{"12.5", 1e3, 12500},
		{"7.5", 1, 8},
		{"7.49", 1, 7},
		{"+3.000000001", 1e9, 3000000001},
		{"9223372036.854775807", 1e9, math.MaxInt64},
	} {
		got, ferr := parseArrivalText(c.in, c.unit)
		if ferr != nil || got != c.want {
			t.Errorf("%q in %s: %d (%v), want %d", c.in, unitName(c.unit), got, ferr, c.want)
		}
	}
	// Through float64 the first case loses its nanoseconds: the exact
	// path is what makes it right.
	v, _ := strconv.ParseFloat("1700000000.123456789", 64)
	if ns, _ := scaleFloat(v, 1e9); ns == 1700000000123456789 {
		t.Fatal("float64 happens to be exact here; pick a value it is not")
	}
	for _, bad := range []string{"9223372036.854775808", "9223372037", "99999999999999999999.5"} {
		if _, ferr := parseArrivalText(bad, 1e9); ferr == nil {
			t.Errorf("%q s: accepted, want an overflow error", bad)
		}
	}
	// Exponents still parse through float64.
	if got, ferr := parseArrivalText("1.5e3", 1e6); ferr != nil || got != 1500000000 {
		t.Errorf("1.5e3 ms: %d (%v)", got, ferr)
	}
}
