package sweep

import (
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// Cluster describes a cluster job that runs a sweep as an array of shards.
// Every shard runs `lodsim sweep --spec Spec --out Out`; the shard index
// and count come from the scheduler's environment (see ShardFromEnv).
type Cluster struct {
	Name    string // job name; Kubernetes names are made DNS-1123 safe
	Shards  int    // array tasks / completions
	Workers int    // cores (simulations in parallel) per shard
	Points  int    // points in the plan, for the comment
	Lodsim  string // the lodsim binary (Slurm: an absolute path on the nodes)
	Spec    string // the self-contained spec file, as the job sees it
	Out     string // the sweep directory, as the job sees it
	// Slurm only: extra #SBATCH lines, e.g. "--partition=cpu", "--time=1:00:00".
	SbatchOptions []string
	// Kubernetes only: the container image holding lodsim at Lodsim, the
	// spec file's content (shipped in a ConfigMap mounted at the directory
	// of Spec) and the PersistentVolumeClaim mounted at Out.
	Image       string
	SpecContent []byte
	Claim       string
}

func (c *Cluster) check() error {
	var errs []string
	if c.Shards < 1 {
		errs = append(errs, fmt.Sprintf("shards %d: expected >= 1", c.Shards))
	}
	if c.Workers < 1 {
		errs = append(errs, fmt.Sprintf("workers %d: expected >= 1", c.Workers))
	}
	for _, f := range []struct{ name, v string }{{"lodsim binary", c.Lodsim}, {"spec", c.Spec}, {"out", c.Out}} {
		if f.v == "" {
			errs = append(errs, f.name+": missing")
		}
	}
	if len(errs) > 0 {
		return fmt.Errorf("emit: %s", strings.Join(errs, "; "))
	}
	return nil
}

// shellQuote quotes s for a POSIX shell.
func shellQuote(s string) string {
	if s != "" && regexp.MustCompile(`^[A-Za-z0-9_./:=@%+-]+$`).MatchString(s) {
		return s
	}
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// SlurmScript is an sbatch script running the sweep as a job array of
// c.Shards tasks, logs under Out/logs (which must exist before sbatch).
func SlurmScript(c Cluster) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	name := c.Name
	if name == "" {
		name = "lodsim-sweep"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "#!/bin/bash\n")
	fmt.Fprintf(&b, "# lodsim sweep: %d points in %d shards, one per array task.\n", c.Points, c.Shards)
	fmt.Fprintf(&b, "# Submit with: sbatch %s\n", shellQuote(c.Out+"/sweep.sbatch"))
	fmt.Fprintf(&b, "# When every task is done: %s sweep merge %s\n", shellQuote(c.Lodsim), shellQuote(c.Out))
	fmt.Fprintf(&b, "# A task that was preempted or failed resumes where it stopped when resubmitted.\n")
	fmt.Fprintf(&b, "#SBATCH --job-name=%s\n", name)
	fmt.Fprintf(&b, "#SBATCH --array=0-%d\n", c.Shards-1)
	fmt.Fprintf(&b, "#SBATCH --ntasks=1\n")
	fmt.Fprintf(&b, "#SBATCH --cpus-per-task=%d\n", c.Workers)
	fmt.Fprintf(&b, "#SBATCH --output=%s/logs/%%A_%%a.out\n", c.Out)
	for _, o := range c.SbatchOptions {
		if strings.ContainsAny(o, "\n") {
			return "", fmt.Errorf("emit: sbatch option %q: expected one line", o)
		}
		fmt.Fprintf(&b, "#SBATCH %s\n", o)
	}
	fmt.Fprintf(&b, "set -euo pipefail\n")
	fmt.Fprintf(&b, "# The shard comes from SLURM_ARRAY_TASK_ID and SLURM_ARRAY_TASK_COUNT.\n")
	fmt.Fprintf(&b, "exec %s sweep --spec %s --out %s --workers \"${SLURM_CPUS_PER_TASK:-%d}\"\n",
		shellQuote(c.Lodsim), shellQuote(c.Spec), shellQuote(c.Out), c.Workers)
	return b.String(), nil
}

var dnsUnsafe = regexp.MustCompile(`[^a-z0-9-]+`)

// k8sName makes s a DNS-1123 label of at most maxLen characters.
func k8sName(s string, maxLen int) string {
	s = strings.Trim(dnsUnsafe.ReplaceAllString(strings.ToLower(s), "-"), "-")
	if len(s) > maxLen {
		s = strings.Trim(s[:maxLen], "-")
	}
	if s == "" {
		s = "lodsim-sweep"
	}
	return s
}

// KubernetesJob is a manifest of two objects: a ConfigMap with the spec and
// an Indexed Job of c.Shards completions that mounts it. Kubernetes sets
// JOB_COMPLETION_INDEX in each pod; the manifest sets LODSIM_SHARD_COUNT to
// the completion count.
func KubernetesJob(c Cluster) (string, error) {
	if err := c.check(); err != nil {
		return "", err
	}
	if c.Image == "" || c.Claim == "" || len(c.SpecContent) == 0 {
		return "", fmt.Errorf("emit: kubernetes needs an image, a volume claim and the spec content")
	}
	// The Job controller labels pods with the Job name plus a suffix; 52
	// characters leaves room for it.
	name := k8sName(c.Name, 52)
	specDir, specFile := c.Spec[:strings.LastIndex(c.Spec, "/")+1], c.Spec[strings.LastIndex(c.Spec, "/")+1:]
	if specDir == "" || specFile == "" {
		return "", fmt.Errorf("emit: spec path %q: expected an absolute file path inside the pod", c.Spec)
	}
	q := strconv.Quote
	var b strings.Builder
	fmt.Fprintf(&b, "# lodsim sweep: %d points in %d shards, one per completion index.\n", c.Points, c.Shards)
	fmt.Fprintf(&b, "# Apply with: kubectl apply -f sweep-job.yaml; when the Job completes, run\n")
	fmt.Fprintf(&b, "# `lodsim sweep merge %s` where the volume claim %s is mounted.\n", c.Out, c.Claim)
	fmt.Fprintf(&b, "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: %s-spec\ndata:\n  %s: |\n", name, specFile)
	for _, line := range strings.Split(strings.TrimRight(string(c.SpecContent), "\n"), "\n") {
		if line == "" {
			b.WriteString("\n")
			continue
		}
		fmt.Fprintf(&b, "    %s\n", line)
	}
	fmt.Fprintf(&b, `---
apiVersion: batch/v1
kind: Job
metadata:
  name: %[1]s
spec:
  completionMode: Indexed
  completions: %[2]d
  parallelism: %[2]d
  backoffLimitPerIndex: 3
  maxFailedIndexes: %[2]d
  template:
    metadata:
      labels:
        app.kubernetes.io/name: lodsim-sweep
    spec:
      restartPolicy: Never
      containers:
        - name: lodsim
          image: %[3]s
          command: [%[4]s, "sweep", "--spec", %[5]s, "--out", %[6]s, "--workers", "%[7]d"]
          env:
            - name: %[8]s
              value: "%[2]d"
          resources:
            requests:
              cpu: "%[7]d"
            limits:
              cpu: "%[7]d"
          volumeMounts:
            - name: spec
              mountPath: %[9]s
              readOnly: true
            - name: out
              mountPath: %[6]s
      volumes:
        - name: spec
          configMap:
            name: %[1]s-spec
        - name: out
          persistentVolumeClaim:
            claimName: %[10]s
`, name, c.Shards, q(c.Image), q(c.Lodsim), q(c.Spec), q(c.Out), c.Workers, ShardCountEnv, q(strings.TrimSuffix(specDir, "/")), q(c.Claim))
	return b.String(), nil
}

// WriteJob writes into dir the self-contained spec (sweep.yaml) and the job
// of the given kind: sweep.sbatch (slurm; with the logs/ directory sbatch
// needs) or sweep-job.yaml (k8s, whose pods see the spec at
// /etc/lodsim/sweep.yaml and the volume claim at /out). c's Spec, Out and
// SpecContent are filled in here; an empty c.Lodsim is "lodsim" on
// Kubernetes and the running binary (os.Executable) on Slurm, whose nodes
// share the file system. It returns the job file's path.
func WriteJob(kind string, s *Spec, c Cluster, dir string) (string, error) {
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", err
	}
	data, err := s.Marshal()
	if err != nil {
		return "", fmt.Errorf("emit: %w", err)
	}
	var job, name string
	switch kind {
	case "slurm":
		if c.Lodsim == "" {
			if c.Lodsim, err = os.Executable(); err != nil {
				return "", err
			}
		}
		c.Spec, c.Out, name = filepath.Join(abs, "sweep.yaml"), abs, "sweep.sbatch"
		if job, err = SlurmScript(c); err == nil {
			err = os.MkdirAll(filepath.Join(abs, "logs"), 0o755)
		}
	case "k8s":
		if c.Lodsim == "" {
			c.Lodsim = "lodsim"
		}
		c.Spec, c.Out, c.SpecContent, name = "/etc/lodsim/sweep.yaml", "/out", data, "sweep-job.yaml"
		job, err = KubernetesJob(c)
	default:
		return "", fmt.Errorf("emit %q: expected slurm or k8s", kind)
	}
	if err != nil {
		return "", err
	}
	for _, f := range []struct{ name, body string }{{"sweep.yaml", string(data)}, {name, job}} {
		if err := WriteFileAtomic(filepath.Join(abs, f.name), func(w io.Writer) error { _, err := io.WriteString(w, f.body); return err }); err != nil {
			return "", err
		}
	}
	return filepath.Join(abs, name), nil
}
