package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/agent"
	"github.com/quorate/quorate/engine/clusterlog"
)

// startMounted runs p's agent process with --mount dir.
func startMounted(t *testing.T, p *procAgent, dir string) {
	t.Helper()
	logf, err := os.OpenFile(p.logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		t.Fatal(err)
	}
	defer logf.Close()
	p.cmd = exec.Command(os.Args[0], "agent", "--config", p.conf, "--node", p.name,
		"--admin", p.admin, "--data-dir", p.data, "--log-level", "debug", "--mount", dir)
	p.cmd.Env = append(os.Environ(), beMain+"=1")
	p.cmd.Stdout, p.cmd.Stderr = logf, logf
	if err := p.cmd.Start(); err != nil {
		t.Fatal(err)
	}
}

// fuseMounts counts the lines of /proc/self/mounts for dir.
func fuseMounts(t *testing.T, dir string) int {
	t.Helper()
	b, err := os.ReadFile("/proc/self/mounts")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.SplitSeq(string(b), "\n") {
		if f := strings.Fields(line); len(f) > 1 && f[1] == dir {
			n++
		}
	}
	return n
}

// eventually polls f until it returns nil, failing with its last error
// after agentWait.
func eventually(t *testing.T, what string, f func() error) {
	t.Helper()
	deadline := time.Now().Add(agentWait)
	for {
		err := f()
		if err == nil {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %v: %v", what, agentWait, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestMount mounts the store of two of three agent processes: a file
// written through one mount is read through the other with pmxcfs's owner
// and modes; the virtual files and local describe the node; a new
// corosync.conf moved into place is applied by every agent; a node left
// alone gets EACCES; a killed agent leaves a stale mount that its restart
// recovers; a stopped agent unmounts.
func TestMount(t *testing.T) {
	if testing.Short() {
		t.Skip("socket test skipped under -short")
	}
	if _, err := os.Stat("/dev/fuse"); err != nil || os.Geteuid() != 0 {
		if os.Getenv("CI") == "true" {
			t.Fatalf("the mount test needs root and /dev/fuse under CI (euid %d, /dev/fuse: %v)", os.Geteuid(), err)
		}
		t.Skipf("the mount test needs root and /dev/fuse (euid %d, /dev/fuse: %v)", os.Geteuid(), err)
	}
	dir := t.TempDir()
	ps := newProcAgents(t, dir)
	alpha, bravo, charlie := ps[0], ps[1], ps[2]
	ma, mb := filepath.Join(dir, "pve-alpha"), filepath.Join(dir, "pve-bravo")
	t.Cleanup(func() {
		for _, p := range ps {
			p.kill(t, syscall.SIGTERM)
		}
		for _, m := range []string{ma, mb} {
			if fuseMounts(t, m) > 0 {
				t.Errorf("%s still mounted after the agents stopped", m)
				syscall.Unmount(m, syscall.MNT_DETACH)
			}
		}
		logProcAgents(t, ps)
	})
	startMounted(t, alpha, ma)
	startMounted(t, bravo, mb)
	charlie.start(t)
	for _, p := range ps {
		waitMembers(t, &p.runningAgent, 3)
	}

	// Write through alpha's mount, read through bravo's.
	vm := "nodes/alpha/qemu-server/100.conf"
	if err := os.MkdirAll(filepath.Join(ma, "nodes/alpha/qemu-server"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(ma, "priv"), 0o700); err != nil {
		t.Fatal(err)
	}
	want := "name: vm0\nmemory: 512\n"
	if err := os.WriteFile(filepath.Join(ma, vm), []byte(want), 0o640); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the file on bravo's mount", func() error {
		b, err := os.ReadFile(filepath.Join(mb, vm))
		if err == nil && string(b) != want {
			err = errors.New("content " + strconv.Quote(string(b)))
		}
		return err
	})
	gid := uint32(33)
	if g, err := user.LookupGroup("www-data"); err == nil {
		n, _ := strconv.Atoi(g.Gid)
		gid = uint32(n)
	}
	for _, c := range []struct {
		path string
		mode os.FileMode
	}{
		{vm, 0o640}, {"nodes/alpha", os.ModeDir | 0o755}, {"priv", os.ModeDir | 0o700},
	} {
		var fi os.FileInfo
		eventually(t, "stat "+c.path+" on bravo", func() (err error) { fi, err = os.Stat(filepath.Join(mb, c.path)); return })
		st := fi.Sys().(*syscall.Stat_t)
		if fi.Mode() != c.mode || st.Uid != 0 || st.Gid != gid {
			t.Errorf("%s on bravo: mode %v uid %d gid %d; want %v 0 %d", c.path, fi.Mode(), st.Uid, st.Gid, c.mode, gid)
		}
	}
	if err := os.Chmod(filepath.Join(ma, vm), 0o644); !errors.Is(err, syscall.EPERM) {
		t.Errorf("chmod: %v, want EPERM", err)
	}
	if err := os.WriteFile(filepath.Join(ma, "big"), make([]byte, 1<<20+1), 0o640); !errors.Is(err, syscall.EFBIG) {
		t.Errorf("a file over 1 MiB: %v, want EFBIG", err)
	}
	if l, err := os.Readlink(filepath.Join(mb, "local")); err != nil || l != "nodes/bravo" {
		t.Errorf("local on bravo: %q %v", l, err)
	}
	var members struct {
		Nodename string
		Cluster  struct {
			Name                    string
			Version, Nodes, Quorate int
		}
		Nodelist map[string]struct {
			ID, Online int
			IP         string
		}
	}
	b, err := os.ReadFile(filepath.Join(mb, ".members"))
	if err != nil || json.Unmarshal(b, &members) != nil {
		t.Fatalf(".members: %v\n%s", err, b)
	}
	if members.Nodename != "bravo" || members.Cluster.Name != "lab3" || members.Cluster.Quorate != 1 || members.Cluster.Nodes != 3 ||
		members.Nodelist["charlie"].Online != 1 || members.Nodelist["charlie"].IP != "127.0.0.3" {
		t.Errorf(".members:\n%s", b)
	}
	var vmlist struct {
		IDs map[string]struct{ Node, Type string } `json:"ids"`
	}
	if b, err := os.ReadFile(filepath.Join(mb, ".vmlist")); err != nil || json.Unmarshal(b, &vmlist) != nil || vmlist.IDs["100"].Node != "alpha" {
		t.Errorf(".vmlist: %v\n%s", err, b)
	}
	checkClusterLog(t, charlie.admin, alpha.admin, ma, mb)

	// The documented way to change corosync.conf: edit a copy, move it
	// into place; every agent applies it.
	old, err := os.ReadFile(filepath.Join(ma, "corosync.conf"))
	if err != nil {
		t.Fatal(err)
	}
	next := strings.Replace(string(old), "config_version: 3", "config_version: 4", 1)
	if next == string(old) {
		t.Fatalf("corosync.conf in the store has no config_version 3:\n%s", old)
	}
	if err := os.WriteFile(filepath.Join(ma, "corosync.conf.new"), []byte(next), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(ma, "corosync.conf.new"), filepath.Join(ma, "corosync.conf")); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(ma, "corosync.conf.new")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("corosync.conf.new after the rename: %v", err)
	}
	for _, p := range ps {
		eventually(t, p.name+" runs config_version 4", func() error {
			resp, err := askAs(p.admin, "status", agent.Request{Cmd: agent.CmdStatus})
			if err == nil && resp.Status.ConfigVersion != 4 {
				err = errors.New("config_version " + strconv.FormatUint(resp.Status.ConfigVersion, 10))
			}
			return err
		})
	}

	// Directories: an empty one moves in one step; a full one does not.
	if err := os.Mkdir(filepath.Join(ma, "nodes/alpha/lxc"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(ma, "nodes/alpha/lxc"), filepath.Join(ma, "nodes/alpha/lxc2")); err != nil {
		t.Fatal(err)
	}
	eventually(t, "the renamed directory on bravo", func() error {
		fi, err := os.Stat(filepath.Join(mb, "nodes/alpha/lxc2"))
		if err == nil && !fi.IsDir() {
			err = errors.New("not a directory")
		}
		return err
	})
	if _, err := os.Stat(filepath.Join(mb, "nodes/alpha/lxc")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the old name of the renamed directory on bravo: %v", err)
	}
	if err := os.Rename(filepath.Join(ma, "nodes/alpha/qemu-server"), filepath.Join(ma, "nodes/alpha/qs")); !errors.Is(err, syscall.ENOTEMPTY) {
		t.Errorf("rename of a non-empty directory: %v, want ENOTEMPTY", err)
	}
	if err := os.Rename(filepath.Join(ma, "none"), filepath.Join(ma, "other")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("rename of a missing file: %v, want ENOENT", err)
	}

	// A configuration that does not raise config_version is refused by
	// the checks of cfs put; the copy stays.
	if err := os.WriteFile(filepath.Join(ma, "corosync.conf.new"), []byte(next), 0o640); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(filepath.Join(ma, "corosync.conf.new"), filepath.Join(ma, "corosync.conf")); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("mv of a corosync.conf with the same config_version: %v, want EINVAL", err)
	}
	if _, err := os.Stat(filepath.Join(ma, "corosync.conf.new")); err != nil {
		t.Errorf("corosync.conf.new after a refused mv: %v", err)
	}
	if err := os.Rename(filepath.Join(ma, "corosync.conf"), filepath.Join(ma, "elsewhere")); !errors.Is(err, syscall.EINVAL) {
		t.Errorf("mv of corosync.conf away: %v, want EINVAL", err)
	}

	// kill -9 leaves alpha's mount stale.
	alpha.kill(t, syscall.SIGKILL)
	if _, err := os.Stat(ma); !errors.Is(err, syscall.ENOTCONN) {
		t.Errorf("alpha's mount after kill -9: %v, want ENOTCONN (a stale mount)", err)
	}
	// bravo alone (charlie stopped too) is not quorate: EACCES.
	charlie.kill(t, syscall.SIGTERM)
	eventually(t, "bravo not quorate", func() error {
		resp, err := askAs(bravo.admin, "status", agent.Request{Cmd: agent.CmdStatus})
		if err == nil && resp.Status.Quorum.Quorate {
			err = errors.New("still quorate")
		}
		return err
	})
	if err := os.WriteFile(filepath.Join(mb, vm), []byte("x"), 0o640); !errors.Is(err, syscall.EACCES) {
		t.Errorf("write on bravo alone: %v, want EACCES", err)
	}
	if err := os.Mkdir(filepath.Join(mb, "nodes/bravo"), 0o755); !errors.Is(err, syscall.EACCES) {
		t.Errorf("mkdir on bravo alone: %v, want EACCES", err)
	}
	if b, err := os.ReadFile(filepath.Join(mb, vm)); err != nil || string(b) != want {
		t.Errorf("read on bravo alone: %q %v; reads are local and keep working", b, err)
	}
	if fi, err := os.Stat(filepath.Join(mb, vm)); err != nil || fi.Mode() != 0o440 {
		t.Errorf("a file on bravo alone: %v %v, want mode 0440", fi.Mode(), err)
	}
	eventually(t, "bravo's .clusterlog has its loss of quorum", func() error {
		es, err := readClusterLog(mb)
		if err == nil && !slices.ContainsFunc(es, func(e clusterlog.Entry) bool {
			return e.Node == "bravo" && e.Tag == "quorum" && e.Pri == 2 && strings.HasPrefix(e.Msg, "node lost quorum")
		}) {
			err = fmt.Errorf("no entry: %+v", es)
		}
		return err
	})

	// alpha restarts on its stale mount point and recovers it.
	startMounted(t, alpha, ma)
	waitMembers(t, &alpha.runningAgent, 2)
	eventually(t, "the file through alpha's new mount", func() error {
		b, err := os.ReadFile(filepath.Join(ma, vm))
		if err == nil && string(b) != want {
			err = errors.New("content " + strconv.Quote(string(b)))
		}
		return err
	})
	if n := fuseMounts(t, ma); n != 1 {
		t.Errorf("%d mounts at %s after the restart, want 1", n, ma)
	}
	if err := os.WriteFile(filepath.Join(mb, "nodes/alpha/qemu-server/101.conf"), []byte("name: vm1\n"), 0o640); err != nil {
		t.Errorf("write on bravo quorate again: %v", err)
	}
	alpha.kill(t, syscall.SIGTERM)
	bravo.kill(t, syscall.SIGTERM)
	for _, m := range []string{ma, mb} {
		if n := fuseMounts(t, m); n != 0 {
			t.Errorf("%s: %d mounts after SIGTERM, want 0", m, n)
		}
	}
}

// readClusterLog parses the .clusterlog of the mount at dir.
func readClusterLog(dir string) ([]clusterlog.Entry, error) {
	b, err := os.ReadFile(filepath.Join(dir, ".clusterlog"))
	if err != nil {
		return nil, err
	}
	var cl struct{ Data []clusterlog.Entry }
	if err := json.Unmarshal(b, &cl); err != nil {
		return nil, fmt.Errorf("%w:\n%s", err, b)
	}
	return cl.Data, nil
}

// checkClusterLog adds an entry on charlie and, once alpha has it, one on
// alpha with quorate log, and finds both, in that order and with pmxcfs's
// fields, in the .clusterlog of both mounts, beside the agents'
// membership entry.
func checkClusterLog(t *testing.T, charlieSock, alphaSock string, mounts ...string) {
	t.Helper()
	if code, _, errOut := capture(t, "log", "--admin", charlieSock, "--tag", "vzdump", "--user", "root@pam", "--pid", "77", "backup", "job", "started"); code != 0 {
		t.Fatalf("log on charlie: exit %d %s", code, errOut)
	}
	// Once alpha has delivered charlie's entry, alpha's own comes after
	// it in the total order (before, the two could be ordered either way).
	eventually(t, "charlie's entry in alpha's log", func() error {
		_, out, _ := capture(t, "log", "--show", "--admin", alphaSock)
		if !strings.Contains(out, `"msg": "backup job started"`) {
			return errors.New(out)
		}
		return nil
	})
	if code, _, errOut := capture(t, "log", "--admin", alphaSock, "--priority", "4", "disk almost full"); code != 0 {
		t.Fatalf("log on alpha: exit %d %s", code, errOut)
	}
	if code, _, errOut := capture(t, "log", "--admin", alphaSock, "--priority", "9", "x"); code != exitBadInput || !strings.Contains(errOut, "--priority 9") {
		t.Errorf("log --priority 9: exit %d %s", code, errOut)
	}
	for _, m := range mounts {
		eventually(t, m+"/.clusterlog", func() error {
			es, err := readClusterLog(m)
			if err != nil {
				return err
			}
			iBackup := slices.IndexFunc(es, func(e clusterlog.Entry) bool {
				return e.Node == "charlie" && e.Tag == "vzdump" && e.User == "root@pam" && e.PID == 77 && e.Pri == 6 && e.Msg == "backup job started" && e.UID > 0 && e.Time > 0
			})
			iDisk := slices.IndexFunc(es, func(e clusterlog.Entry) bool {
				return e.Node == "alpha" && e.Tag == "cluster" && e.Pri == 4 && e.Msg == "disk almost full"
			})
			iMembers := slices.IndexFunc(es, func(e clusterlog.Entry) bool {
				return e.Node == "alpha" && strings.HasPrefix(e.Msg, "members: alpha bravo charlie (ring 1.")
			})
			// Newest first: alpha's entry, then charlie's, then the membership.
			if iBackup < 0 || iDisk < 0 || iMembers < 0 || !(iDisk < iBackup && iBackup < iMembers) {
				return fmt.Errorf("entries at %d, %d, %d in %+v", iDisk, iBackup, iMembers, es)
			}
			return nil
		})
	}
}
