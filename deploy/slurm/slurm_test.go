// Package slurm holds the test of the Slurm job-array recipe
// (sweep.sbatch, merge.sbatch, submit.sh): a real one-node Slurm cluster
// on localhost runs a 4-task array sweep and its dependent merge.
package slurm

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/internal/quoratebin"
)

// scenario is a library scenario that passes on every seed and runs in a
// fraction of a second.
const scenario = "../../scenarios/library/qdevice-two-node.yaml"

// TestSlurmArraySweepMerge submits a 4-task array sweep and its merge
// (afterok on the array) to a one-node slurmctld + slurmd with munge,
// all started here with their configuration in a temporary directory, and
// checks that the merged summary.txt equals the unsharded sweep's byte
// for byte.
func TestSlurmArraySweepMerge(t *testing.T) {
	if os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatal("the Slurm test needs root (slurmd runs jobs as their user, munged and slurmctld as root); CI runs as root")
		}
		t.Skip("skipping the Slurm end-to-end test: it needs root to run slurmctld, slurmd and munged")
	}
	needTools(t)
	dir := t.TempDir()
	if err := os.Chmod(dir, 0o755); err != nil { // munge's socket must be reachable
		t.Fatal(err)
	}
	c := startCluster(t, dir)
	bin := quoratebin.Build(t, dir, quoratebin.Commit(t), false)
	scen, err := filepath.Abs(scenario)
	if err != nil {
		t.Fatal(err)
	}
	const seeds = "1-10"

	// The unsharded sweep, run directly.
	whole := exec.Command(bin, "sweep", scen, "--seeds", seeds, "--parallel", "1", "--out", filepath.Join(dir, "whole"))
	if out, err := whole.CombinedOutput(); err != nil {
		t.Fatalf("unsharded sweep: %v\n%s", err, out)
	}

	// The recipe of docs/ops.md: submit.sh N SCENARIO SEEDS OUT.
	out := filepath.Join(dir, "results")
	submit := exec.Command("sh", "submit.sh", "4", scen, seeds, out, "--cpus-per-task=1")
	submit.Env = append(c.env(), "QUORATE="+bin)
	b, err := submit.CombinedOutput()
	if err != nil {
		t.Fatalf("submit.sh: %v\n%s\n%s", err, b, c.logs())
	}
	m := regexp.MustCompile(`sweep array job (\d+) \(4 tasks\), merge job (\d+)`).FindStringSubmatch(string(b))
	if m == nil {
		t.Fatalf("submit.sh printed %q, want the two job ids", b)
	}
	array, merge := m[1], m[2]
	mergeJob := c.waitJob(t, merge, 5*time.Minute, out)
	if mergeJob["JobState"] != "COMPLETED" {
		t.Fatalf("merge job %s: %s\n%s\n%s", merge, mergeJob["JobState"], jobOutputs(out), c.logs())
	}
	if !strings.Contains(mergeJob["Dependency"], "(null)") && mergeJob["Dependency"] != "" {
		t.Errorf("merge job still has dependency %q", mergeJob["Dependency"])
	}

	// Every array task ran its shard and finished before the merge began.
	mergeStart := parseTime(t, mergeJob["StartTime"])
	t.Logf("merge job: submitted %s, started %s, ended %s", mergeJob["SubmitTime"], mergeJob["StartTime"], mergeJob["EndTime"])
	for i := 1; i <= 4; i++ {
		task := c.job(t, fmt.Sprintf("%s_%d", array, i))
		if task["JobState"] != "COMPLETED" || task["ExitCode"] != "0:0" {
			t.Errorf("array task %d: state %s exit %s", i, task["JobState"], task["ExitCode"])
		}
		t.Logf("array task %d: started %s, ended %s", i, task["StartTime"], task["EndTime"])
		if end := parseTime(t, task["EndTime"]); end.After(mergeStart) {
			t.Errorf("array task %d ended at %v, after the merge started at %v: afterok did not hold it", i, end, mergeStart)
		}
		var sw struct {
			Shard  struct{ Index, Count int }
			Timing []struct {
				Seeds        int     `json:"seeds"`
				SeedsPerHour float64 `json:"seeds_per_hour"`
			}
		}
		raw, err := os.ReadFile(filepath.Join(out, fmt.Sprintf("shard-%d", i), "sweep.json"))
		if err == nil {
			err = json.Unmarshal(raw, &sw)
		}
		if err != nil || sw.Shard.Index != i || sw.Shard.Count != 4 || len(sw.Timing) != 1 || sw.Timing[0].SeedsPerHour <= 0 {
			t.Errorf("shard-%d/sweep.json: %v, shard %+v, timing %+v", i, err, sw.Shard, sw.Timing)
		}
	}

	want, err := os.ReadFile(filepath.Join(dir, "whole", "summary.txt"))
	if err != nil {
		t.Fatal(err)
	}
	got, err := os.ReadFile(filepath.Join(out, "merged", "summary.txt"))
	if err != nil {
		t.Fatalf("the merge wrote no summary: %v\n%s", err, jobOutputs(out))
	}
	if !bytes.Equal(got, want) {
		t.Errorf("merged summary.txt differs from the unsharded sweep's:\n%s\nunsharded:\n%s", got, want)
	}
	if !bytes.Contains(want, []byte("OK: all 10 runs passed")) {
		t.Errorf("the unsharded summary is not of 10 passing runs:\n%s", want)
	}
	mergeLog := jobOutputs(filepath.Join(out, "quorate-merge-"+merge+".out"))
	for _, s := range []string{"shard 1/4: 3 seeds", "shard 4/4: 2 seeds", "4 shards: 10 seeds", "OK: all 10 runs passed"} {
		if !strings.Contains(mergeLog, s) {
			t.Errorf("the merge job's output lacks %q:\n%s", s, mergeLog)
		}
	}
}

// needTools installs slurm-wlm and munge with the project's script when
// they are missing.
func needTools(t *testing.T) {
	tools := []string{"slurmctld", "slurmd", "sbatch", "scontrol", "sinfo", "munged"}
	missing := func() []string {
		var m []string
		for _, tool := range tools {
			if _, err := exec.LookPath(tool); err != nil {
				m = append(m, tool)
			}
		}
		return m
	}
	if len(missing()) > 0 {
		if out, err := exec.Command("sh", "../../scripts/setup-slurm.sh").CombinedOutput(); err != nil {
			t.Fatalf("scripts/setup-slurm.sh: %v\n%s", err, out)
		}
	}
	if m := missing(); len(m) > 0 {
		t.Fatalf("%s not installed after scripts/setup-slurm.sh (needs Debian's slurm-wlm and munge)", strings.Join(m, ", "))
	}
}

type cluster struct {
	dir, conf string
}

// startCluster starts munged, slurmctld and slurmd on localhost on free
// ports, with every file under dir, and stops them when the test ends.
func startCluster(t *testing.T, dir string) *cluster {
	c := &cluster{dir: dir, conf: filepath.Join(dir, "slurm.conf")}
	key := make([]byte, 1024)
	f, err := os.Open("/dev/urandom")
	if err != nil {
		t.Fatal(err)
	}
	_, err = f.Read(key)
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "munge.key"), key, 0o400); err != nil {
		t.Fatal(err)
	}
	sock := filepath.Join(dir, "munge.sock")
	daemon(t, dir, "munged", "munged", "-F", "-f", "--socket="+sock, "--key-file="+filepath.Join(dir, "munge.key"),
		"--log-file="+filepath.Join(dir, "munged.log"), "--pid-file="+filepath.Join(dir, "munged.pid"),
		"--seed-file="+filepath.Join(dir, "munged.seed"))
	waitFor(t, 30*time.Second, func() string { return "munged's socket\n" + c.logs() }, func() bool { _, err := os.Stat(sock); return err == nil })

	host, err := os.Hostname()
	if err != nil {
		t.Fatal(err)
	}
	host, _, _ = strings.Cut(host, ".")
	for _, d := range []string{"state", "spool"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	conf := fmt.Sprintf(`ClusterName=quoratetest
SlurmctldHost=%[1]s(127.0.0.1)
SlurmctldPort=%[2]d
SlurmdPort=%[3]d
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=%[4]s
StateSaveLocation=%[5]s/state
SlurmdSpoolDir=%[5]s/spool
SlurmctldPidFile=%[5]s/slurmctld.pid
SlurmdPidFile=%[5]s/slurmd.pid
SlurmctldLogFile=%[5]s/slurmctld.log
SlurmdLogFile=%[5]s/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
SchedulerType=sched/builtin
MpiDefault=none
ReturnToService=2
MinJobAge=3600
NodeName=%[1]s NodeAddr=127.0.0.1 CPUs=%[6]d RealMemory=%[7]d State=UNKNOWN
PartitionName=quorate Nodes=ALL Default=YES MaxTime=INFINITE State=UP
`, host, freePort(t), freePort(t), sock, dir, runtime.NumCPU(), memoryMB(t)*8/10)
	if err := os.WriteFile(c.conf, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	daemon(t, dir, "slurmctld", "slurmctld", "-D", "-i", "-f", c.conf)
	daemon(t, dir, "slurmd", "slurmd", "-D", "-f", c.conf, "-N", host)
	// Runs before the daemons stop: a failed test leaves no job running.
	t.Cleanup(func() {
		cmd := exec.Command("scancel", "--user=root")
		cmd.Env = c.env()
		_ = cmd.Run()
	})
	waitFor(t, 60*time.Second, func() string { return "the node to be idle in sinfo\n" + c.logs() }, func() bool {
		cmd := exec.Command("sinfo", "-h", "-o", "%T")
		cmd.Env = c.env()
		out, _ := cmd.Output()
		return strings.TrimSpace(string(out)) == "idle"
	})
	return c
}

// daemon starts a foreground daemon, stopped (and waited for) at cleanup.
func daemon(t *testing.T, dir, name string, argv ...string) {
	t.Helper()
	logf, err := os.Create(filepath.Join(dir, name+".out"))
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = append(os.Environ(), "SLURM_CONF="+filepath.Join(dir, "slurm.conf"))
	if err := cmd.Start(); err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(os.Interrupt)
		done := make(chan struct{})
		go func() { _ = cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(15 * time.Second):
			_ = cmd.Process.Kill()
			<-done
		}
		logf.Close()
	})
}

func (c *cluster) env() []string { return append(os.Environ(), "SLURM_CONF="+c.conf) }

// logs is the daemons' logs, for failure messages.
func (c *cluster) logs() string {
	var b strings.Builder
	for _, f := range []string{"munged.out", "slurmctld.out", "slurmctld.log", "slurmd.out", "slurmd.log"} {
		data, _ := os.ReadFile(filepath.Join(c.dir, f))
		fmt.Fprintf(&b, "--- %s\n%s", f, tail(string(data), 30))
	}
	return b.String()
}

// job is `scontrol show job ID` as key=value pairs.
func (c *cluster) job(t *testing.T, id string) map[string]string {
	t.Helper()
	cmd := exec.Command("scontrol", "show", "job", "-o", id)
	cmd.Env = c.env()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("scontrol show job %s: %v\n%s", id, err, out)
	}
	kv := map[string]string{}
	for _, f := range strings.Fields(string(out)) {
		if k, v, ok := strings.Cut(f, "="); ok {
			kv[k] = v
		}
	}
	return kv
}

// waitJob waits until the job has ended.
func (c *cluster) waitJob(t *testing.T, id string, limit time.Duration, out string) map[string]string {
	t.Helper()
	var kv map[string]string
	deadline := time.Now().Add(limit)
	for {
		kv = c.job(t, id)
		switch kv["JobState"] {
		case "COMPLETED", "FAILED", "CANCELLED", "TIMEOUT", "NODE_FAIL", "OUT_OF_MEMORY":
			return kv
		}
		if time.Now().After(deadline) {
			t.Fatalf("job %s still %s (%s) after %v\n%s\n%s", id, kv["JobState"], kv["Reason"], limit, jobOutputs(out), c.logs())
		}
		time.Sleep(500 * time.Millisecond)
	}
}

// jobOutputs is the content of the jobs' output files in dir (or of one file).
func jobOutputs(path string) string {
	files := []string{path}
	if st, err := os.Stat(path); err == nil && st.IsDir() {
		files, _ = filepath.Glob(filepath.Join(path, "quorate-*.out"))
	}
	var b strings.Builder
	for _, f := range files {
		data, _ := os.ReadFile(f)
		fmt.Fprintf(&b, "--- %s\n%s", filepath.Base(f), data)
	}
	return b.String()
}

func parseTime(t *testing.T, s string) time.Time {
	t.Helper()
	tm, err := time.ParseInLocation("2006-01-02T15:04:05", s, time.Local)
	if err != nil {
		t.Fatalf("slurm time %q: %v", s, err)
	}
	return tm
}

func freePort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// memoryMB is the machine's memory: slurmd drains a node configured with
// more than it has.
func memoryMB(t *testing.T) int {
	f, err := os.Open("/proc/meminfo")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if fs := strings.Fields(sc.Text()); len(fs) >= 2 && fs[0] == "MemTotal:" {
			kb, err := strconv.Atoi(fs[1])
			if err == nil {
				return kb / 1024
			}
		}
	}
	t.Fatal("no MemTotal in /proc/meminfo")
	return 0
}

func waitFor(t *testing.T, limit time.Duration, what func() string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(limit)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", limit, what())
		}
		time.Sleep(200 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}
