package sweep

import (
	"strings"
	"testing"
)

// TestResolveShard: the flag wins over the environment, the environment
// over the whole plan, and the source says which was used.
func TestResolveShard(t *testing.T) {
	env := map[string]string{"JOB_COMPLETION_INDEX": "2", ShardCountEnv: "4"}
	getenv := func(k string) string { return env[k] }
	none := func(string) string { return "" }
	for _, c := range []struct {
		flag   string
		getenv func(string) string
		want   Shard
		source string
	}{
		{"1/3", getenv, Shard{1, 3}, " (from --shard)"},
		{"", getenv, Shard{2, 4}, " (from "},
		{"", none, Shard{0, 1}, ""},
	} {
		s, source, err := ResolveShard(c.flag, "--shard", c.getenv)
		if err != nil {
			t.Fatalf("%q: %v", c.flag, err)
		}
		if s != c.want || !strings.HasPrefix(source, c.source) || (c.source == "") != (source == "") {
			t.Errorf("%q: got %v%q, want %v%q", c.flag, s, source, c.want, c.source)
		}
	}
	if _, _, err := ResolveShard("3/2", "--shard", none); err == nil {
		t.Error("shard 3/2 accepted")
	}
}
