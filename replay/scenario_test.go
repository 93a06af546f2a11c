package replay

import (
	"bufio"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/lodsim/lodsim/trace/workload"
)

var update = flag.Bool("update", false, "rewrite the expected output of testdata/scheduler scenarios")

// TestSchedulerScenarios runs the text scenarios in testdata/scheduler.
// Each file has setting lines (`set key=value ...`: batching, budget,
// blocks, block_size, tp, pp, max_seqs, reserve, max_model_len, engine,
// capacity_policy, chunked, batch_wait_iters, batch_wait_ratio, replicas,
// adp (attention_data_parallel), adp_balance, adp_timeout,
// adp_batching_wait; requests go round robin over the replicas), request
// lines (`arrive id=N at=NS prompt=N output=N`) and state checks (`at
// t=NS`), then a line `----` and the expected result: for each check, the
// state of every replica at that time (waiting queue, running queue, the
// running requests in a step in flight, KV blocks held of capacity), then
// one line per request and a totals line. Both levels of detail must
// produce it. The tiny model with fixedCost makes every step 9002 ns at TP1
// (8002 ns when it samples no token). Run with -update to rewrite the
// expected part, then review the diff.
func TestSchedulerScenarios(t *testing.T) {
	files, _ := filepath.Glob("testdata/scheduler/*.txt")
	if len(files) == 0 {
		t.Fatal("no scenarios in testdata/scheduler")
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			input, want, _ := strings.Cut(string(data), "----\n")
			var got [2]string
			var sts [2]*Stats
			var res [2][]RequestResult
			for i, l := range []string{"high", "medium"} {
				c, reqs, checks, err := parseScenario(input, l)
				if err != nil {
					t.Fatalf("%s: %v", f, err)
				}
				var states string
				sts[i], res[i], states = runScenario(t, c, reqs, checks)
				got[i] = states + formatScenario(sts[i], res[i])
			}
			if d := diffOutputs(sts[0], sts[1], res[0], res[1]); d != "" {
				t.Fatalf("high and medium differ: %s", d)
			}
			if got[0] != got[1] {
				t.Fatalf("high and medium differ:\nhigh:\n%s\nmedium:\n%s", got[0], got[1])
			}
			if *update {
				if err := os.WriteFile(f, []byte(input+"----\n"+got[1]), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got[1] != want {
				t.Errorf("%s: got\n%s\nwant\n%s", f, got[1], want)
			}
		})
	}
}

// runScenario runs reqs, stopping at each check time to print every
// replica's state.
func runScenario(t *testing.T, c *Config, reqs []workload.Request, checks []Time) (*Stats, []RequestResult, string) {
	t.Helper()
	var col Collect
	s, err := NewSimulator(Input{Config: c, Model: c.Model, Cost: fixedCost{}, Workload: workload.NewSliceReader(reqs), Sink: &col, CheckInvariants: true})
	if err != nil {
		t.Fatal(err)
	}
	var b strings.Builder
	for _, at := range checks {
		if _, err := s.RunUntil(at); err != nil {
			t.Fatal(err)
		}
		for i := 0; i < s.Replicas(); i++ {
			r := s.Replica(i)
			fmt.Fprintf(&b, "at=%d replica=%d waiting=%v running=%v batch=%v kv=%d/%d\n",
				at, i, r.Waiting, r.Running, r.Batch, r.KVUsed, r.KVTotal)
		}
	}
	st, err := s.Run()
	if err != nil {
		t.Fatal(err)
	}
	return st, col.Results, b.String()
}

func parseScenario(input, lodName string) (*Config, []workload.Request, []Time, error) {
	c := tinyConfig(lodName, 1)
	var reqs []workload.Request
	var checks []Time
	sc := bufio.NewScanner(strings.NewReader(input))
	line := 0
	for sc.Scan() {
		line++
		fields := strings.Fields(sc.Text())
		if len(fields) == 0 || strings.HasPrefix(fields[0], "#") {
			continue
		}
		kv := map[string]string{}
		for _, f := range fields[1:] {
			k, v, ok := strings.Cut(f, "=")
			if !ok {
				return nil, nil, nil, fmt.Errorf("line %d: %q is not key=value", line, f)
			}
			kv[k] = v
		}
		num := func(k string) (int64, error) {
			v, err := strconv.ParseInt(kv[k], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("line %d: %s=%q: expected an integer", line, k, kv[k])
			}
			return v, nil
		}
		switch fields[0] {
		case "set":
			for k, v := range kv {
				var err error
				n, perr := strconv.ParseFloat(v, 64)
				switch k {
				case "batching":
					c.Scheduler.Batching = Batching(v)
				case "budget":
					c.Scheduler.MaxNumBatchedTokens, err = int(n), perr
				case "blocks":
					c.Scheduler.KVBlocks, err = int(n), perr
				case "block_size":
					c.Scheduler.BlockSize, err = int(n), perr
				case "max_seqs":
					c.Scheduler.MaxNumSeqs, err = int(n), perr
				case "tp":
					c.Cluster.TensorParallel, err = int(n), perr
				case "pp":
					c.Cluster.PipelineParallel, err = int(n), perr
				case "reserve":
					c.Scheduler.AdmissionReserve, err = n, perr
				case "max_model_len":
					c.Scheduler.MaxModelLen, err = int(n), perr
				case "engine":
					c.Scheduler.Engine = Engine(v)
				case "capacity_policy":
					c.Scheduler.CapacityPolicy = CapacityPolicy(v)
				case "batch_wait_iters":
					c.Scheduler.BatchWaitTimeoutIters, err = int(n), perr
				case "batch_wait_ratio":
					c.Scheduler.BatchWaitMaxTokensRatio, err = n, perr
				case "replicas":
					c.Cluster.Replicas, err = int(n), perr
				case "adp":
					c.Cluster.AttentionDataParallel, err = int(n), perr
				case "adp_balance":
					c.Scheduler.AttentionDPBalance, err = n != 0, perr
				case "adp_timeout":
					c.Scheduler.AttentionDPTimeoutIters, err = int(n), perr
				case "adp_batching_wait":
					c.Scheduler.AttentionDPBatchingWaitIters, err = int(n), perr
				case "chunked":
					on := n != 0
					c.Scheduler.ChunkedPrefill, err = &on, perr
				default:
					err = fmt.Errorf("unknown setting")
				}
				if err != nil {
					return nil, nil, nil, fmt.Errorf("line %d: set %s=%s: %v", line, k, v, err)
				}
			}
		case "arrive":
			var r workload.Request
			id, err := num("id")
			if err != nil {
				return nil, nil, nil, err
			}
			at, err := num("at")
			if err != nil {
				return nil, nil, nil, err
			}
			p, err := num("prompt")
			if err != nil {
				return nil, nil, nil, err
			}
			o, err := num("output")
			if err != nil {
				return nil, nil, nil, err
			}
			r.ID, r.Arrival, r.PromptTokens, r.OutputTokens = workload.RequestID(id), at, int32(p), int32(o)
			reqs = append(reqs, r)
		case "at":
			at, err := num("t")
			if err != nil {
				return nil, nil, nil, err
			}
			if n := len(checks); n > 0 && Time(at) < checks[n-1] {
				return nil, nil, nil, fmt.Errorf("line %d: at t=%d before the previous check", line, at)
			}
			checks = append(checks, Time(at))
		default:
			return nil, nil, nil, fmt.Errorf("line %d: unknown directive %q (set, arrive, at)", line, fields[0])
		}
	}
	return c, reqs, checks, nil
}

func formatScenario(st *Stats, rs []RequestResult) string {
	var b strings.Builder
	for _, r := range rs {
		fmt.Fprintf(&b, "id=%d status=%s scheduled=%d first=%d done=%d tokens=%d preempted=%d",
			r.ID, r.Status, r.FirstScheduled, r.FirstToken, r.Completion, r.OutputTokens, r.Preemptions)
		if r.Reason != NotRejected {
			fmt.Fprintf(&b, " reason=%s", r.Reason)
		}
		b.WriteByte('\n')
	}
	fmt.Fprintf(&b, "steps=%d preemptions=%d completed=%d rejected=%d peak_kv=%.3f\n",
		st.Steps, st.Preemptions, st.Completed, st.Rejected, st.PeakKVUtil)
	return b.String()
}
