package sweep_test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	kjson "sigs.k8s.io/json"
	"sigs.k8s.io/yaml"

	"github.com/lodsim/lodsim/analysis/sweep"
)

func origSpec(t *testing.T) *sweep.Spec {
	base, dir, err := sweep.ScenarioBase("reference-tp1")
	if err != nil {
		t.Fatal(err)
	}
	return &sweep.Spec{Base: base, Dir: dir, Grid: []sweep.Axis{{Key: "tp", Values: []string{"1", "2"}}}}
}

func cluster(t *testing.T) sweep.Cluster {
	spec, err := origSpec(t).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	return sweep.Cluster{Name: "Llama 70B sweep!", Shards: 8, Workers: 2, Points: 64, Lodsim: "/usr/local/bin/lodsim",
		Spec: "/etc/lodsim/sweep.yaml", Out: "/out", Image: "registry.example/lodsim:v1", SpecContent: spec, Claim: "sweep-results"}
}

// TestKubernetesManifest decodes the emitted manifest strictly into the
// Kubernetes API types (an unknown or misplaced field fails) and checks
// what makes it an Indexed Job of the sweep.
func TestKubernetesManifest(t *testing.T) {
	c := cluster(t)
	m, err := sweep.KubernetesJob(c)
	if err != nil {
		t.Fatal(err)
	}
	docs := strings.Split(m, "\n---\n")
	if len(docs) != 2 {
		t.Fatalf("%d YAML documents, want a ConfigMap and a Job", len(docs))
	}
	docs[0] += "\n" // the line break the separator took
	var cm corev1.ConfigMap
	if err := strictDecode(docs[0], &cm); err != nil {
		t.Fatalf("ConfigMap: %v\n%s", err, docs[0])
	}
	var job batchv1.Job
	if err := strictDecode(docs[1], &job); err != nil {
		t.Fatalf("Job: %v\n%s", err, docs[1])
	}
	if cm.Kind != "ConfigMap" || cm.APIVersion != "v1" || job.Kind != "Job" || job.APIVersion != "batch/v1" {
		t.Errorf("kinds %s/%s %s/%s", cm.APIVersion, cm.Kind, job.APIVersion, job.Kind)
	}
	if cm.Data["sweep.yaml"] != string(c.SpecContent) {
		t.Errorf("ConfigMap holds\n%q\nwant the spec\n%q", cm.Data["sweep.yaml"], c.SpecContent)
	}
	// The spec shipped in the ConfigMap parses back to the same plan.
	back, err := sweep.ParseSpec([]byte(cm.Data["sweep.yaml"]), "/etc/lodsim/sweep.yaml", nil)
	if err != nil {
		t.Fatal(err)
	}
	p, err := sweep.NewPlan(back)
	if err != nil || len(p.Points) != 2 {
		t.Fatalf("spec from the ConfigMap: %v", err)
	}
	orig, err := sweep.NewPlan(origSpec(t))
	if err != nil {
		t.Fatal(err)
	}
	for i := range orig.Points {
		if orig.Points[i].ID != p.Points[i].ID {
			t.Errorf("point %d: ID %s in the pod, %s locally: the merged table would differ", i, p.Points[i].ID, orig.Points[i].ID)
		}
	}
	sp := job.Spec
	if sp.CompletionMode == nil || *sp.CompletionMode != batchv1.IndexedCompletion {
		t.Errorf("completionMode %v, want Indexed", sp.CompletionMode)
	}
	if sp.Completions == nil || *sp.Completions != 8 || sp.Parallelism == nil || *sp.Parallelism != 8 {
		t.Errorf("completions %v parallelism %v, want 8", sp.Completions, sp.Parallelism)
	}
	if len(job.Name) == 0 || len(job.Name) > 52 || job.Name != "llama-70b-sweep" {
		t.Errorf("job name %q, want a DNS-1123 label", job.Name)
	}
	pod := sp.Template.Spec
	if pod.RestartPolicy != corev1.RestartPolicyNever {
		t.Errorf("restartPolicy %q: a Job needs Never or OnFailure", pod.RestartPolicy)
	}
	if len(pod.Containers) != 1 {
		t.Fatalf("%d containers", len(pod.Containers))
	}
	ct := pod.Containers[0]
	if ct.Image != c.Image || strings.Join(ct.Command, " ") != "/usr/local/bin/lodsim sweep --spec /etc/lodsim/sweep.yaml --out /out --workers 2" {
		t.Errorf("container %s %v", ct.Image, ct.Command)
	}
	count := ""
	for _, e := range ct.Env {
		if e.Name == sweep.ShardCountEnv {
			count = e.Value
		}
	}
	if count != "8" {
		t.Errorf("%s=%q, want the completion count 8", sweep.ShardCountEnv, count)
	}
	if cpu := ct.Resources.Requests.Cpu(); cpu.Value() != 2 {
		t.Errorf("cpu request %v, want the worker count", cpu)
	}
	mounts := map[string]string{}
	for _, vm := range ct.VolumeMounts {
		mounts[vm.Name] = vm.MountPath
	}
	vols := map[string]corev1.Volume{}
	for _, v := range pod.Volumes {
		vols[v.Name] = v
	}
	if mounts["spec"] != "/etc/lodsim" || vols["spec"].ConfigMap == nil || vols["spec"].ConfigMap.Name != cm.Name {
		t.Errorf("spec volume: mount %q, volume %+v, want the ConfigMap %s at /etc/lodsim", mounts["spec"], vols["spec"], cm.Name)
	}
	if mounts["out"] != "/out" || vols["out"].PersistentVolumeClaim == nil || vols["out"].PersistentVolumeClaim.ClaimName != "sweep-results" {
		t.Errorf("out volume: mount %q, volume %+v", mounts["out"], vols["out"])
	}

	// Strictness is what makes this a schema check: a misspelt field fails.
	for _, typo := range [][2]string{{"completionMode:", "completionmode:"}, {"parallelism:", "paralelism:"}, {"      restartPolicy", "  restartPolicy"}} {
		bad := strings.Replace(docs[1], typo[0], typo[1], 1)
		if err := strictDecode(bad, &batchv1.Job{}); err == nil {
			t.Errorf("%q for %q decoded without error", typo[1], typo[0])
		}
	}
	if _, err := sweep.KubernetesJob(sweep.Cluster{Shards: 0, Workers: 1, Lodsim: "x", Spec: "/a/b", Out: "/o"}); err == nil {
		t.Error("0 shards accepted")
	}
}

// strictDecode decodes one YAML document into a Kubernetes API type the way
// the API server's strict field validation does: field names are case
// sensitive and unknown or duplicate fields are errors.
func strictDecode(doc string, v any) error {
	j, err := yaml.YAMLToJSON([]byte(doc))
	if err != nil {
		return err
	}
	strict, err := kjson.UnmarshalStrict(j, v)
	if err != nil {
		return err
	}
	if len(strict) > 0 {
		return fmt.Errorf("strict decoding: %v", strict)
	}
	return nil
}

// TestSlurmScript checks the emitted array script: its directives, and
// that bash parses it.
func TestSlurmScript(t *testing.T) {
	c := cluster(t)
	c.Out = "/scratch/my sweep"
	c.Spec = "/scratch/my sweep/sweep.yaml"
	c.SbatchOptions = []string{"--time=00:30:00"}
	s, err := sweep.SlurmScript(c)
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"#!/bin/bash\n", "#SBATCH --array=0-7\n", "#SBATCH --cpus-per-task=2\n",
		"#SBATCH --output=/scratch/my sweep/logs/%A_%a.out\n", "#SBATCH --time=00:30:00\n",
		"exec /usr/local/bin/lodsim sweep --spec '/scratch/my sweep/sweep.yaml' --out '/scratch/my sweep' --workers \"${SLURM_CPUS_PER_TASK:-2}\"\n"} {
		if !strings.Contains(s, want) {
			t.Errorf("script lacks %q:\n%s", want, s)
		}
	}
	// sbatch reads directives only before the first command.
	body := s[strings.Index(s, "set -euo"):]
	if strings.Contains(body, "#SBATCH") {
		t.Error("an #SBATCH directive after the first command is ignored by sbatch")
	}
	if bash, err := exec.LookPath("bash"); err == nil {
		path := filepath.Join(t.TempDir(), "s.sbatch")
		os.WriteFile(path, []byte(s), 0o755)
		if out, err := exec.Command(bash, "-n", path).CombinedOutput(); err != nil {
			t.Errorf("bash -n: %v\n%s", err, out)
		}
	}
	if _, err := sweep.SlurmScript(sweep.Cluster{Shards: 2, Workers: 1, Lodsim: "x", Spec: "s", Out: "o", SbatchOptions: []string{"a\nb"}}); err == nil {
		t.Error("a multi-line sbatch option accepted")
	}
}
