package hwprofile

import (
	"math"
	"testing"
)

// TestAllReduceLinkMatchesGrid checks that a ring of 2(n-1) hops over
// AllReduceLink(n, s) takes the grid-interpolated all-reduce time, so that
// the simulator's ring transfers (high LoD) and its alpha-beta collective
// (medium LoD) both follow the measurements.
func TestAllReduceLinkMatchesGrid(t *testing.T) {
	p, err := EmbeddedProfile("h100_sxm")
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []int{2, 4, 8} {
		for s := 1024.0; s <= 1<<28; s *= 4 {
			l := p.AllReduceLink(n, s)
			ring := 2 * float64(n-1) * l.TransferNs(s/float64(n))
			want := p.AllReduce(s, n)
			// Floating-point reassociation only.
			if math.Abs(ring-want) > 1e-9*want {
				t.Errorf("n=%d s=%.0f: ring over AllReduceLink %.1f ns, grid all-reduce %.1f ns", n, s, ring, want)
			}
			if !(l.LatencyNs >= 0) || !(l.BytesPerNs > 0) {
				t.Errorf("n=%d s=%.0f: link %+v", n, s, l)
			}
		}
	}
}
