// Package k8s holds the tests of the Kubernetes manifests: they decode
// strictly into the API types, their shard arithmetic covers every seed
// exactly once for any completions count, and their commands, run as the
// pods would run them, merge to the unsharded sweep's summary.
package k8s

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	batchv1 "k8s.io/api/batch/v1"
	corev1 "k8s.io/api/core/v1"
	"sigs.k8s.io/yaml"

	"github.com/quorate/quorate/internal/quoratebin"
	"github.com/quorate/quorate/sweep"
)

// manifests are the files of this directory, decoded.
type manifests struct {
	sweep, merge *batchv1.Job
	pvc          *corev1.PersistentVolumeClaim
}

// decode reads one YAML document strictly into the type its kind names:
// unknown and duplicate fields are errors.
func decode(doc []byte) (any, error) {
	var head struct {
		APIVersion string `json:"apiVersion"`
		Kind       string `json:"kind"`
	}
	if err := yaml.Unmarshal(doc, &head); err != nil {
		return nil, err
	}
	var obj any
	switch head.APIVersion + " " + head.Kind {
	case "batch/v1 Job":
		obj = &batchv1.Job{}
	case "v1 PersistentVolumeClaim":
		obj = &corev1.PersistentVolumeClaim{}
	default:
		return nil, fmt.Errorf("apiVersion %q kind %q: not a kind these manifests use", head.APIVersion, head.Kind)
	}
	if err := yaml.UnmarshalStrict(doc, obj); err != nil {
		return nil, err
	}
	return obj, nil
}

func load(t *testing.T) manifests {
	t.Helper()
	files, err := filepath.Glob("*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no manifests: %v", err)
	}
	var m manifests
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		for i, doc := range regexp.MustCompile(`(?m)^---\s*$`).Split(string(b), -1) {
			if strings.TrimSpace(doc) == "" {
				continue
			}
			obj, err := decode([]byte(doc))
			if err != nil {
				t.Fatalf("%s document %d: %v", f, i+1, err)
			}
			switch o := obj.(type) {
			case *batchv1.Job:
				if o.Spec.CompletionMode != nil && *o.Spec.CompletionMode == batchv1.IndexedCompletion {
					m.sweep = o
				} else {
					m.merge = o
				}
			case *corev1.PersistentVolumeClaim:
				m.pvc = o
			}
		}
	}
	if m.sweep == nil || m.merge == nil || m.pvc == nil {
		t.Fatalf("want an Indexed sweep Job, a merge Job and the results claim; have sweep %v merge %v pvc %v", m.sweep != nil, m.merge != nil, m.pvc != nil)
	}
	return m
}

// TestManifestsStrict: every manifest decodes with no unknown field, and
// the objects fit together: the claim both Jobs mount, the image, a
// container that runs the image's entrypoint, resources, restart policy.
func TestManifestsStrict(t *testing.T) {
	m := load(t)
	// The strictness is real: a misspelt field is an error.
	bad := strings.Replace(mustRead(t, "sweep-job.yaml"), "completionMode:", "completionsMode:", 1)
	if _, err := decode([]byte(bad)); err == nil || !strings.Contains(err.Error(), "completionsMode") {
		t.Errorf("a misspelt field decodes: %v", err)
	}
	for _, job := range []*batchv1.Job{m.sweep, m.merge} {
		spec := job.Spec.Template.Spec
		if spec.RestartPolicy != corev1.RestartPolicyNever {
			t.Errorf("%s: restartPolicy %q, want Never (a Job pod that failed must not rerun in place)", job.Name, spec.RestartPolicy)
		}
		if len(spec.Containers) != 1 {
			t.Fatalf("%s: %d containers", job.Name, len(spec.Containers))
		}
		c := spec.Containers[0]
		if len(c.Command) != 0 {
			t.Errorf("%s: command %q overrides the image's quorate entrypoint (the image has no shell)", job.Name, c.Command)
		}
		if c.Image != m.sweep.Spec.Template.Spec.Containers[0].Image || c.Image == "" {
			t.Errorf("%s: image %q, the sweep runs %q", job.Name, c.Image, m.sweep.Spec.Template.Spec.Containers[0].Image)
		}
		if c.Resources.Requests.Cpu().IsZero() || c.Resources.Requests.Memory().IsZero() || c.Resources.Limits.Memory().Cmp(*c.Resources.Requests.Memory()) < 0 {
			t.Errorf("%s: resources %v: want CPU and memory requests, a memory limit at least the request", job.Name, c.Resources)
		}
		if len(spec.Volumes) != 1 || spec.Volumes[0].PersistentVolumeClaim == nil || spec.Volumes[0].PersistentVolumeClaim.ClaimName != m.pvc.Name {
			t.Errorf("%s: volumes %+v, want the claim %s", job.Name, spec.Volumes, m.pvc.Name)
		}
		if len(c.VolumeMounts) != 1 || c.VolumeMounts[0].Name != spec.Volumes[0].Name || c.VolumeMounts[0].MountPath != "/results" {
			t.Errorf("%s: mounts %+v, want the results volume at /results", job.Name, c.VolumeMounts)
		}
		for _, a := range c.Args {
			if p := pathIn(a, "/scenarios/"); p != "" {
				if _, err := os.Stat(filepath.Join("../../scenarios", strings.TrimPrefix(p, "/scenarios/"))); err != nil {
					t.Errorf("%s: %s is not in the scenario library the image carries: %v", job.Name, p, err)
				}
			}
		}
	}
	c := m.sweep.Spec.Template.Spec.Containers[0]
	cpu := c.Resources.Requests.Cpu().Value()
	if p := flagValue(c.Args, "--parallel"); p != strconv.FormatInt(cpu, 10) {
		t.Errorf("sweep: --parallel %s, but %d CPUs requested: one worker per CPU", p, cpu)
	}
	if *m.sweep.Spec.Parallelism > *m.sweep.Spec.Completions {
		t.Errorf("sweep: parallelism %d > completions %d", *m.sweep.Spec.Parallelism, *m.sweep.Spec.Completions)
	}
}

// TestShardArithmetic: for any completions count N, the pods with
// completion index 0..N-1, their args expanded as the kubelet expands
// them, run shards that cover every seed exactly once and write to
// distinct directories. The manifest's own N is its completions.
func TestShardArithmetic(t *testing.T) {
	m := load(t)
	c := m.sweep.Spec.Template.Spec.Containers[0]
	shardArg, base := flagValue(c.Args, "--shard"), flagValue(c.Args, "--shard-base")
	_, n, ok := strings.Cut(shardArg, "/")
	if !ok || n != strconv.Itoa(int(*m.sweep.Spec.Completions)) {
		t.Fatalf("--shard %q: its N is not the Job's completions %d", shardArg, *m.sweep.Spec.Completions)
	}
	baseN, err := strconv.Atoi(base)
	if err != nil {
		t.Fatalf("--shard-base %q: %v", base, err)
	}
	manifestSeeds, err := sweep.ParseSeeds(flagValue(c.Args, "--seeds"))
	if err != nil {
		t.Fatal(err)
	}
	rnd := rand.New(rand.NewPCG(1, 2))
	lists := [][]uint64{manifestSeeds, {7}, {}}
	for range 40 {
		lists = append(lists, randomSeeds(rnd))
	}
	counts := []int{1, 2, 3, 7, 8, 16, 33, 64, 100, 1000}
	for range 20 {
		counts = append(counts, 1+rnd.IntN(300))
	}
	for _, list := range lists {
		for _, count := range counts {
			seen := map[uint64]int{}
			outs := map[string]bool{}
			for index := range count {
				env := map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(index)}
				args := expandArgs(t, c, env)
				sh, err := sweep.ParseShardFrom(strings.Replace(flagValue(args, "--shard"), "/"+n, "/"+strconv.Itoa(count), 1), baseN)
				if err != nil {
					t.Fatalf("completions %d, index %d: %v", count, index, err)
				}
				if sh.Index != index+1 || sh.Count != count {
					t.Fatalf("completions %d, index %d: shard %v, want %d/%d", count, index, sh, index+1, count)
				}
				for _, s := range sh.Seeds(list) {
					seen[s]++
				}
				outs[flagValue(args, "--out")] = true
			}
			if len(outs) != count {
				t.Fatalf("completions %d: %d distinct --out directories", count, len(outs))
			}
			if len(seen) != len(list) {
				t.Fatalf("completions %d over %d seeds: %d seeds covered", count, len(list), len(seen))
			}
			for _, s := range list {
				if seen[s] != 1 {
					t.Fatalf("completions %d: seed %d run %d times", count, s, seen[s])
				}
			}
		}
	}
}

// randomSeeds is a seed list of ranges and single seeds, as --seeds reads.
func randomSeeds(rnd *rand.Rand) []uint64 {
	var parts []string
	next := rnd.Uint64N(1000)
	for range 1 + rnd.IntN(5) {
		if rnd.IntN(2) == 0 {
			parts = append(parts, strconv.FormatUint(next, 10))
			next += 1 + rnd.Uint64N(50)
			continue
		}
		end := next + rnd.Uint64N(500)
		parts = append(parts, fmt.Sprintf("%d-%d", next, end))
		next = end + 1 + rnd.Uint64N(50)
	}
	seeds, err := sweep.ParseSeeds(strings.Join(parts, ","))
	if err != nil {
		panic(err)
	}
	return seeds
}

// TestJobsRunAndMerge runs the merge Job's pod and then, while it waits,
// the sweep Job's pods, as Kubernetes would when both are applied at once:
// the image's binary with each container's args, $(VAR) expanded for
// every completion index, /scenarios and /results mapped to local
// directories; with a cheaper scenario and fewer seeds than the
// manifest's. The merged summary.txt must equal the unsharded sweep's.
func TestJobsRunAndMerge(t *testing.T) {
	m := load(t)
	dir := t.TempDir()
	bin := quoratebin.Build(t, dir, quoratebin.Commit(t), false)
	scenarios, err := filepath.Abs("../../scenarios")
	if err != nil {
		t.Fatal(err)
	}
	results := filepath.Join(dir, "results")
	const scenario, seeds, completions = "/scenarios/library/qdevice-two-node.yaml", "1-10", 3
	local := func(a string) string {
		a = strings.ReplaceAll(a, "/scenarios/", scenarios+"/")
		return strings.ReplaceAll(a, "/results", results)
	}

	// The merge Job is applied with the sweep Job: it starts first and
	// waits for the shards.
	mc := m.merge.Spec.Template.Spec.Containers[0]
	if flagValue(mc.Args, "--wait") == "" {
		t.Fatalf("the merge Job's args %q lack --wait: it would fail when it starts before the shards end", mc.Args)
	}
	var margs []string
	for _, a := range expandArgs(t, mc, nil) {
		margs = append(margs, local(a))
	}
	var merged bytes.Buffer
	mergePod := exec.Command(bin, margs...)
	mergePod.Stdout, mergePod.Stderr = &merged, &merged
	if err := mergePod.Start(); err != nil {
		t.Fatal(err)
	}
	defer mergePod.Process.Kill()

	c := m.sweep.Spec.Template.Spec.Containers[0]
	n := strings.SplitN(flagValue(c.Args, "--shard"), "/", 2)[1]
	for index := range completions {
		args := expandArgs(t, c, map[string]string{"JOB_COMPLETION_INDEX": strconv.Itoa(index)})
		args = slices.Clone(args)
		for i, a := range args {
			switch {
			case strings.HasPrefix(a, "/scenarios/"):
				a = scenario
			case strings.HasPrefix(a, "--seeds="):
				a = "--seeds=" + seeds
			case strings.HasPrefix(a, "--shard="):
				a = strings.Replace(a, "/"+n, "/"+strconv.Itoa(completions), 1)
			}
			args[i] = local(a)
		}
		if out, err := exec.Command(bin, args...).CombinedOutput(); err != nil {
			t.Fatalf("pod %d: quorate %s: %v\n%s", index, strings.Join(args, " "), err, out)
		}
	}
	if err := mergePod.Wait(); err != nil {
		t.Fatalf("merge pod: quorate %s: %v\n%s", strings.Join(margs, " "), err, merged.String())
	}
	if !strings.Contains(merged.String(), "merge: waiting until") {
		t.Errorf("the merge pod did not wait for the shards (it started first):\n%s", merged.String())
	}
	for i := 1; i <= completions; i++ {
		if want := fmt.Sprintf("shard %d/%d:", i, completions); !strings.Contains(merged.String(), want) {
			t.Errorf("the merge log lacks %q:\n%s", want, merged.String())
		}
	}
	whole := exec.Command(bin, "sweep", local(scenario), "--seeds", seeds, "--out", filepath.Join(dir, "whole"))
	if out, err := whole.CombinedOutput(); err != nil {
		t.Fatalf("unsharded sweep: %v\n%s", err, out)
	}
	want := mustRead(t, filepath.Join(dir, "whole", "summary.txt"))
	got := mustRead(t, filepath.Join(results, "merged", "summary.txt"))
	if got != want {
		t.Errorf("merged summary.txt:\n%s\nunsharded:\n%s", got, want)
	}
	if !strings.Contains(want, "OK: all 10 runs passed") {
		t.Errorf("the unsharded summary is not of 10 passing runs:\n%s", want)
	}
}

// expandArgs expands $(VAR) in a container's args as the kubelet does:
// VAR must be one of the container's env entries ($$ escapes a $); an
// entry from the completion-index annotation takes env's value.
func expandArgs(t *testing.T, c corev1.Container, env map[string]string) []string {
	t.Helper()
	vals := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom == nil:
			vals[e.Name] = e.Value
		case e.ValueFrom.FieldRef != nil && e.ValueFrom.FieldRef.FieldPath == "metadata.annotations['"+batchv1.JobCompletionIndexAnnotation+"']":
			v, ok := env[e.Name]
			if !ok {
				t.Fatalf("no value given for %s", e.Name)
			}
			vals[e.Name] = v
		default:
			t.Fatalf("env %s: a source this test does not model", e.Name)
		}
	}
	var out []string
	for _, a := range c.Args {
		out = append(out, varRef.ReplaceAllStringFunc(a, func(m string) string {
			if m == "$$" {
				return "$"
			}
			name := m[2 : len(m)-1]
			v, ok := vals[name]
			if !ok {
				t.Fatalf("arg %q refers to $(%s), which is not in the container's env: Kubernetes would leave it unexpanded", a, name)
			}
			return v
		}))
	}
	return out
}

var varRef = regexp.MustCompile(`\$\$|\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// flagValue is the value of --name=value or --name value in args.
func flagValue(args []string, name string) string {
	for i, a := range args {
		if v, ok := strings.CutPrefix(a, name+"="); ok {
			return v
		}
		if a == name && i+1 < len(args) {
			return args[i+1]
		}
	}
	return ""
}

// pathIn is the path in arg that starts with prefix, or "".
func pathIn(arg, prefix string) string {
	if i := strings.Index(arg, prefix); i >= 0 {
		return arg[i:]
	}
	return ""
}

func mustRead(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
