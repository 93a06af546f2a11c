package experiment

import (
	"strings"
	"testing"
	"time"
)

// TestSynthChecksValues: every bad value is refused with the flag it came
// from, and a good one yields the requested requests.
func TestSynthChecksValues(t *testing.T) {
	good := Synth{Arrival: "poisson", Rate: 2, CV: 1, Prompt: "fixed:10", Output: "fixed:5", Count: 3, Seed: 1}
	for want, s := range map[string]Synth{
		"--prompt":                       {Arrival: "poisson", Rate: 2, Prompt: "fixed:x", Output: "fixed:5", Count: 3},
		"--output":                       {Arrival: "poisson", Rate: 2, Prompt: "fixed:10", Output: "nope", Count: 3},
		"--count":                        {Arrival: "poisson", Rate: 2, Prompt: "fixed:10", Output: "fixed:5", Count: -1},
		"--rate":                         {Arrival: "poisson", Rate: 0, Prompt: "fixed:10", Output: "fixed:5", Count: 3},
		"give --count N or --duration D": {Arrival: "poisson", Rate: 2, Prompt: "fixed:10", Output: "fixed:5"},
	} {
		if _, err := s.Reader(); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("%s: got %v", want, err)
		}
	}
	d := time.Minute
	good.Duration = &d
	r, err := good.Reader()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	n := 0
	for {
		if _, err := r.Next(); err != nil {
			break
		}
		n++
	}
	if n != 3 {
		t.Errorf("%d requests, want 3", n)
	}
}

// TestLoadRunChecksLoD: replay's --lod is high or medium.
func TestLoadRunChecksLoD(t *testing.T) {
	if _, _, err := LoadRun("", Overrides{LoD: "low"}); err == nil || !strings.Contains(err.Error(), `--lod "low"`) {
		t.Errorf("--lod low: %v", err)
	}
	e, cfgs, err := LoadRun("", Overrides{LoD: "medium"})
	if err != nil || len(cfgs) != 1 || e.LoD() != "medium" || e.DefaultRunDir() == "" {
		t.Errorf("default scenario at medium: %v, %d configs", err, len(cfgs))
	}
}
