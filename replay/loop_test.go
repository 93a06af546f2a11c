package replay

import (
	"testing"

	"github.com/lodsim/lodsim/hwprofile/cost"
	"github.com/lodsim/lodsim/trace"
)

// TestSteppingMatchesRun: driving a run event by event (Step) or in slices
// of simulated time (RunUntil) gives exactly the outputs of Run, at both
// levels of detail and with a stop time that cuts decode runs.
func TestSteppingMatchesRun(t *testing.T) {
	for _, l := range []string{"high", "medium"} {
		c := refConfig(2, 6, l)
		c.Workload.Synthetic.Duration = Duration(2e9)
		c.Simulation.MaxSimulationTime = Duration(2.5e9)
		m, _ := c.ResolveModel()
		g, _ := cost.LookupGPU(c.Hardware.GPU)
		run := func(drive func(s *Simulator)) (*Stats, []RequestResult) {
			var col Collect
			s, err := NewSimulator(Input{Config: c, Model: m, Cost: cost.NewRoofline(g), Workload: synthReader(t, c), Sink: &col, CheckInvariants: true})
			if err != nil {
				t.Fatal(err)
			}
			drive(s)
			st, err := s.Run() // finishes what the driver left
			if err != nil {
				t.Fatal(err)
			}
			return st, col.Results
		}
		refSt, refRs := run(func(*Simulator) {})
		var steps int
		stSt, stRs := run(func(s *Simulator) {
			for {
				more, err := s.Step()
				if err != nil {
					t.Fatal(err)
				}
				if !more {
					return
				}
				steps++
			}
		})
		if d := diffOutputs(refSt, stSt, refRs, stRs); d != "" {
			t.Errorf("%s: Step differs from Run: %s", l, d)
		}
		if uint64(steps) != refSt.TotalEvents {
			t.Errorf("%s: %d steps, Run processed %d events", l, steps, refSt.TotalEvents)
		}
		untilSt, untilRs := run(func(s *Simulator) {
			for at := Time(0); ; at += 37e6 {
				more, err := s.RunUntil(at)
				if err != nil {
					t.Fatal(err)
				}
				if s.Now() != at && more {
					t.Fatalf("%s: RunUntil(%d) left the clock at %d", l, at, s.Now())
				}
				if !more {
					return
				}
			}
		})
		if d := diffOutputs(refSt, untilSt, refRs, untilRs); d != "" {
			t.Errorf("%s: RunUntil differs from Run: %s", l, d)
		}
	}
}

// TestFinishEndsTheRunEarly: Finish after RunUntil reports what is in
// flight as unfinished at that time, once: a later Run or Finish records
// nothing more.
func TestFinishEndsTheRunEarly(t *testing.T) {
	c := tinyConfig("medium", 1)
	reqs := []trace.Request{
		{ID: 0, Arrival: 0, PromptTokens: 4, OutputTokens: 3},
		{ID: 1, Arrival: 0, PromptTokens: 4, OutputTokens: 100},
	}
	var col Collect
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: trace.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	if more, err := s.RunUntil(5 * tinyStep); !more || err != nil {
		t.Fatalf("RunUntil: more %v, err %v", more, err)
	}
	st, err := s.Finish()
	if err != nil {
		t.Fatal(err)
	}
	// As TestStopTimeReportsUnfinished with the stop time at 5 steps.
	m := byID(col.Results)
	if st.SimEnd != 5*tinyStep || m[0].Status != Completed || m[1].Status != Unfinished || m[1].OutputTokens != 5 {
		t.Fatalf("end %d, results %+v", st.SimEnd, col.Results)
	}
	if st2, err := s.Run(); err != nil || st2 != st || len(col.Results) != 2 {
		t.Fatalf("Run after Finish: %v, %d results", err, len(col.Results))
	}
}
