package cost

import "testing"

// TestDomain: an unknown NVLink domain is an HGX node's 8; a known one is
// kept (GB200's NVL72 rack).
func TestDomain(t *testing.T) {
	if d := (GPU{}).Domain(); d != 8 {
		t.Errorf("unknown domain %d, want 8", d)
	}
	g, err := LookupGPU("GB200")
	if err != nil {
		t.Fatal(err)
	}
	if d := g.Domain(); d != 72 {
		t.Errorf("GB200 domain %d, want 72", d)
	}
}
