package sweep

import (
	"fmt"
	"strconv"
	"strings"
)

// Shard is one of Count interleaved parts of a plan: it runs the points
// whose index is Index modulo Count, so every shard gets a similar mix of
// cheap and expensive points.
type Shard struct{ Index, Count int }

// Whole is the shard that runs every point.
var Whole = Shard{0, 1}

// Has reports whether point i belongs to s.
func (s Shard) Has(i int) bool { return i%s.Count == s.Index }

func (s Shard) String() string { return fmt.Sprintf("%d/%d", s.Index, s.Count) }

func (s Shard) valid() error {
	if s.Count < 1 || s.Index < 0 || s.Index >= s.Count {
		return fmt.Errorf("shard %d/%d: expected 0 <= i < n", s.Index, s.Count)
	}
	return nil
}

// ParseShard parses "i/n" with 0 <= i < n.
func ParseShard(v string) (Shard, error) {
	a, b, ok := strings.Cut(v, "/")
	i, err1 := strconv.Atoi(strings.TrimSpace(a))
	n, err2 := strconv.Atoi(strings.TrimSpace(b))
	if !ok || err1 != nil || err2 != nil {
		return Shard{}, fmt.Errorf("shard %q: expected i/n, e.g. 3/8", v)
	}
	s := Shard{i, n}
	return s, s.valid()
}

// ShardCountEnv is the variable the emitted Kubernetes manifest sets to the
// Job's completion count: Kubernetes sets JOB_COMPLETION_INDEX in each pod
// of an Indexed Job but not the count.
const ShardCountEnv = "LODSIM_SHARD_COUNT"

// ShardFromEnv derives the shard from a cluster scheduler's environment:
// a Slurm job array (SLURM_ARRAY_TASK_ID with SLURM_ARRAY_TASK_COUNT, or
// SLURM_ARRAY_TASK_MIN, _MAX and _STEP) or a Kubernetes Indexed Job
// (JOB_COMPLETION_INDEX with LODSIM_SHARD_COUNT). ok is false when neither
// is present; source names what was used.
func ShardFromEnv(getenv func(string) string) (s Shard, source string, ok bool, err error) {
	num := func(name string) (int, bool, error) {
		v := strings.TrimSpace(getenv(name))
		if v == "" {
			return 0, false, nil
		}
		n, err := strconv.Atoi(v)
		if err != nil {
			return 0, true, fmt.Errorf("%s=%q: expected an integer", name, v)
		}
		return n, true, nil
	}
	if id, set, err := num("SLURM_ARRAY_TASK_ID"); set || err != nil {
		if err != nil {
			return Shard{}, "", false, err
		}
		lo, _, err := num("SLURM_ARRAY_TASK_MIN") // 0 when unset
		if err != nil {
			return Shard{}, "", false, err
		}
		step, hasStep, err := num("SLURM_ARRAY_TASK_STEP")
		if err != nil {
			return Shard{}, "", false, err
		}
		if !hasStep || step < 1 {
			step = 1
		}
		if (id-lo)%step != 0 {
			return Shard{}, "", false, fmt.Errorf("SLURM_ARRAY_TASK_ID=%d is not on the array's step %d from %d", id, step, lo)
		}
		s.Index = (id - lo) / step
		count, hasCount, err := num("SLURM_ARRAY_TASK_COUNT")
		if err != nil {
			return Shard{}, "", false, err
		}
		hi, hasMax, err := num("SLURM_ARRAY_TASK_MAX")
		if err != nil {
			return Shard{}, "", false, err
		}
		switch {
		case hasCount:
			s.Count = count
			source = "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_COUNT"
		case hasMax:
			s.Count = (hi-lo)/step + 1
			source = "SLURM_ARRAY_TASK_ID/SLURM_ARRAY_TASK_MAX"
		default:
			return Shard{}, "", false, fmt.Errorf("SLURM_ARRAY_TASK_ID is set but neither SLURM_ARRAY_TASK_COUNT nor SLURM_ARRAY_TASK_MAX: expected a job array")
		}
		if err := s.valid(); err != nil {
			return Shard{}, "", false, fmt.Errorf("%s: %w", source, err)
		}
		return s, source, true, nil
	}
	if idx, set, err := num("JOB_COMPLETION_INDEX"); set || err != nil {
		if err != nil {
			return Shard{}, "", false, err
		}
		n, hasN, err := num(ShardCountEnv)
		if err != nil {
			return Shard{}, "", false, err
		}
		if !hasN {
			return Shard{}, "", false, fmt.Errorf("JOB_COMPLETION_INDEX is set but %s is not: set it to the Job's spec.completions (lodsim sweep --emit k8s does)", ShardCountEnv)
		}
		s = Shard{idx, n}
		source = "JOB_COMPLETION_INDEX/" + ShardCountEnv
		if err := s.valid(); err != nil {
			return Shard{}, "", false, fmt.Errorf("%s: %w", source, err)
		}
		return s, source, true, nil
	}
	return Whole, "", false, nil
}

// ResolveShard is the shard a run takes: flag (i/n, named flagName) when
// given, else the scheduler's environment (ShardFromEnv), else the whole
// plan. source says where it came from, as " (from ...)", or is "".
func ResolveShard(flag, flagName string, getenv func(string) string) (s Shard, source string, err error) {
	if flag != "" {
		s, err = ParseShard(flag)
		return s, " (from " + flagName + ")", err
	}
	s, source, _, err = ShardFromEnv(getenv)
	if source != "" {
		source = " (from " + source + ")"
	}
	return s, source, err
}
