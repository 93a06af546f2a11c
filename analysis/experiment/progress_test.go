package experiment

import (
	"strings"
	"testing"
	"time"
)

func TestMeterLines(t *testing.T) {
	var buf strings.Builder
	now := time.Unix(0, 0)
	m := &Meter{w: &buf, label: "x", unit: "requests", total: 100, every: PlainEvery, now: func() time.Time { return now }}
	m.start, m.last = now, now
	m.Update(10, 0) // too soon: nothing
	now = now.Add(6 * time.Second)
	m.Update(30, 2e9)
	if got := buf.String(); got != "x: 30/100 requests (30%), 2.0 s simulated, 5 requests/s, ETA 14s\n" {
		t.Errorf("plain progress line %q", got)
	}
	var nilMeter *Meter
	nilMeter.Update(1, 0)
	nilMeter.Done()
	if nilMeter.Sim() != nil || nilMeter.Count() != nil {
		t.Error("a nil Meter returns callbacks")
	}
}
