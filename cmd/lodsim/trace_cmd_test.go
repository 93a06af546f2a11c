package main

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/trace"
)

func TestTraceStatsEmbedded(t *testing.T) {
	out, err := runTrace(t, "stats", "embedded:azure-code-2023")
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"rows", "8819", "3435.948 s", "prompt tokens", "18059974", "skipped rows"} {
		if !strings.Contains(out, want) {
			t.Errorf("stats output lacks %q:\n%s", want, out)
		}
	}
}

func TestTraceStatsBadRows(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.csv")
	os.WriteFile(path, []byte("arrived_at,num_prefill_tokens,num_decode_tokens\n0,1,1\n1,-1,1\n2,2,2\n"), 0o644)
	out, err := runTrace(t, "stats", path)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "1 (missing 0, invalid 1") {
		t.Errorf("bad row not counted:\n%s", out)
	}
	if _, err := runTrace(t, "stats", "--strict", path); err == nil || !strings.Contains(err.Error(), "row 2") {
		t.Errorf("--strict: err = %v, want the bad row", err)
	}
}

func TestTraceConvert(t *testing.T) {
	dir := t.TempDir()
	pq := filepath.Join(dir, "code.parquet")
	out, err := runTrace(t, "convert", "embedded:azure-code-2023", pq)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(out, "wrote 8819 requests") {
		t.Errorf("output %q", out)
	}
	// Window 200-400 s (the code trace is bursty: nothing arrives between
	// about 57 and 177 s), twice as fast, first 50: the arrivals start at 0
	// and stay under 100 s.
	arrows := filepath.Join(dir, "part.arrows")
	if _, err := runTrace(t, "convert", "--window", "200:400", "--scale", "2", "--head", "50", pq, arrows); err != nil {
		t.Fatal(err)
	}
	reqs, err := trace.ReadAll(mustOpenTrace(t, arrows))
	if err != nil {
		t.Fatal(err)
	}
	if len(reqs) != 50 || reqs[0].Arrival != 0 || reqs[49].Arrival >= 100e9 {
		t.Errorf("%d requests, arrivals %d..%d", len(reqs), reqs[0].Arrival, reqs[len(reqs)-1].Arrival)
	}

	burst := filepath.Join(dir, "burst.csv")
	os.WriteFile(burst, []byte("Timestamp,Model,Request tokens,Response tokens,Total tokens,Log Type\n1,A,5,0,5,x\n2,B,6,3,9,x\n3,A,7,4,11,x\n"), 0o644)
	jl := filepath.Join(dir, "a.jsonl")
	if _, err := runTrace(t, "convert", "--drop-failed", "--model", "A", burst, jl); err != nil {
		t.Fatal(err)
	}
	reqs, _ = trace.ReadAll(mustOpenTrace(t, jl))
	if len(reqs) != 1 || reqs[0].ID != 2 || reqs[0].Model != "A" {
		t.Errorf("filtered = %+v", reqs)
	}

	for _, bad := range [][]string{
		{"convert", pq, filepath.Join(dir, "x.txt")},
		{"convert", "--window", "5", pq, filepath.Join(dir, "x.csv")},
		{"convert", "--window", "5:1", pq, filepath.Join(dir, "x.csv")},
		{"convert", filepath.Join(dir, "missing.csv"), filepath.Join(dir, "x.csv")},
		{"convert", pq},
	} {
		if _, err := runTrace(t, bad...); err == nil {
			t.Errorf("%v: no error", bad)
		}
	}
	// A failed conversion leaves no output behind.
	if _, err := os.Stat(filepath.Join(dir, "x.csv")); !os.IsNotExist(err) {
		t.Errorf("failed convert left x.csv: %v", err)
	}
}

func TestTraceSynth(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a.csv"), filepath.Join(dir, "b.csv")
	for _, p := range []string{a, b} {
		if _, err := runTrace(t, "synth", "--arrival", "gamma", "--cv", "2", "--rate", "5", "--count", "200",
			"--prompt", "lognormal:800,300", "--output", "sharegpt", "--seed", "3", p); err != nil {
			t.Fatal(err)
		}
	}
	da, _ := os.ReadFile(a)
	db, _ := os.ReadFile(b)
	if !bytes.Equal(da, db) {
		t.Error("same seed, different files")
	}
	reqs, err := trace.ReadAll(mustOpenTrace(t, a))
	if err != nil || len(reqs) != 200 {
		t.Fatalf("%d requests, %v", len(reqs), err)
	}
	for _, bad := range []string{"fixed", "normal:1", "zipf:1", "lognormal:a,b"} {
		if _, err := runTrace(t, "synth", "--count", "5", "--prompt", bad, filepath.Join(dir, "c.csv")); err == nil {
			t.Errorf("--prompt %s accepted", bad)
		}
	}
}

func mustOpenTrace(t *testing.T, path string) trace.Reader {
	t.Helper()
	r, err := trace.Open(path, trace.Options{})
	if err != nil {
		t.Fatal(err)
	}
	return r
}
