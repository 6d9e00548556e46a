package main

import (
	"context"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/quorate/quorate/qnetd"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// TestQdeviceCommands runs enroll, setup, status and remove against an
// in-process qnetd on 127.0.0.1.
func TestQdeviceCommands(t *testing.T) {
	dir := t.TempDir()
	qdir, admin := filepath.Join(dir, "qnetd"), filepath.Join(dir, "qnetd.sock")
	srv, err := qnetd.Listen(qnetd.Config{Listen: "127.0.0.1:0", DataDir: qdir, SANs: []string{"127.0.0.1"},
		AdminSocket: admin, Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Serve(ctx) }()
	defer func() { cancel(); <-done }()
	port := srv.Addr().(*net.TCPAddr).Port
	target := "127.0.0.1:" + strconv.Itoa(port)

	bundle := filepath.Join(dir, "lab3.pem")
	if code, out, errOut := capture(t, "qnetd", "enroll", "lab3", "--data-dir", qdir, "--out", bundle); code != 0 {
		t.Fatalf("enroll: exit %d\n%s%s", code, out, errOut)
	}
	if fi, err := os.Stat(bundle); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("bundle: %v %v", fi, err)
	}
	if code, _, errOut := capture(t, "qnetd", "enroll", "lab3", "--data-dir", qdir, "--out", bundle); code != 2 ||
		!strings.Contains(errOut, "already exists") {
		t.Errorf("enroll over an existing file: exit %d %s", code, errOut)
	}
	other := filepath.Join(dir, "other.pem")
	if code, _, _ := capture(t, "qnetd", "enroll", "other", "--data-dir", qdir, "--out", other); code != 0 {
		t.Fatal("enroll other")
	}

	conf := threeNodeConf(t, dir)
	orig, _ := os.ReadFile(conf)
	data := filepath.Join(dir, "data")
	setup := func(args ...string) (int, string, string) {
		return capture(t, append([]string{"qdevice", "setup"}, append(args, "--offline", "--config", conf, "--data-dir", data)...)...)
	}
	// Refusals leave the files alone.
	for _, c := range []struct {
		name string
		args []string
		code int
		want string
	}{
		{"another cluster's bundle", []string{target, "--bundle", other}, 2, `issued for cluster "other"`},
		{"no bundle", []string{target}, 2, "--bundle is required"},
		{"three nodes without --force", []string{target, "--bundle", bundle}, 2, "odd node count (3)"},
		{"ffsplit with three nodes", []string{target, "--bundle", bundle, "--algorithm", "ffsplit", "--force"}, 2, "even node count"},
		{"bad port", []string{"127.0.0.1:99999", "--bundle", bundle, "--force"}, 2, "not in 1-65535"},
		{"nothing listening", []string{"127.0.0.1:1", "--bundle", bundle, "--force"}, 1, "does not accept"},
		{"wrong host name", []string{"localhost:" + strconv.Itoa(port), "--bundle", bundle, "--force"}, 1, "localhost"},
	} {
		code, _, errOut := setup(c.args...)
		if code != c.code || !strings.Contains(errOut, c.want) {
			t.Errorf("%s: exit %d, %q; want %d with %q", c.name, code, errOut, c.code, c.want)
		}
		if now, _ := os.ReadFile(conf); string(now) != string(orig) {
			t.Fatalf("%s changed %s", c.name, conf)
		}
	}

	// Without --offline the change goes through the agent, which must run.
	if code, _, errOut := capture(t, "qdevice", "setup", target, "--bundle", bundle, "--admin", filepath.Join(dir, "none.sock")); code != exitFailed ||
		!strings.Contains(errOut, "cannot reach the agent") {
		t.Errorf("setup without an agent: exit %d %s", code, errOut)
	}

	code, out, errOut := setup(target, "--bundle", bundle, "--force")
	if code != 0 || !strings.Contains(out, "Restart the agent") {
		t.Fatalf("setup: exit %d\n%s%s", code, out, errOut)
	}
	c, err := corosyncconf.Load(conf)
	if err != nil {
		t.Fatal(err)
	}
	if d := c.Quorum.Device; d == nil || d.Net.Host != "127.0.0.1" || int(d.Net.Port) != port || d.Net.Algorithm != "lms" ||
		c.ConfigVersion != 4 {
		t.Fatalf("after setup: device %+v, config_version %d", c.Quorum.Device, c.ConfigVersion)
	}
	if fi, err := os.Stat(filepath.Join(data, "qdevice.pem")); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("installed bundle: %v %v", fi, err)
	}
	if code, _, errOut := setup(target, "--bundle", bundle); code != 2 || !strings.Contains(errOut, "already configured") {
		t.Errorf("second setup: exit %d %s", code, errOut)
	}

	// The probe did not join the arbiter; the status shows no cluster.
	code, out, _ = capture(t, "qnetd", "status", "--admin", admin)
	if code != 0 || !strings.Contains(out, "No clusters connected") {
		t.Errorf("qnetd status: exit %d\n%s", code, out)
	}
	if code, _, _ := capture(t, "qnetd", "status", "--admin", filepath.Join(dir, "none.sock")); code != exitFailed {
		t.Errorf("status without a daemon: exit %d", code)
	}

	code, out, errOut = capture(t, "qdevice", "remove", "--offline", "--config", conf, "--data-dir", data)
	if code != 0 {
		t.Fatalf("remove: exit %d\n%s%s", code, out, errOut)
	}
	if c, err = corosyncconf.Load(conf); err != nil || c.Quorum.Device != nil || c.ConfigVersion != 5 {
		t.Fatalf("after remove: %v, %+v", err, c)
	}
	if _, err := os.Stat(filepath.Join(data, "qdevice.pem")); !os.IsNotExist(err) {
		t.Errorf("bundle still installed: %v", err)
	}
	if code, _, errOut := capture(t, "qdevice", "remove", "--offline", "--config", conf, "--data-dir", data); code != 2 ||
		!strings.Contains(errOut, "no quorum device") {
		t.Errorf("second remove: exit %d %s", code, errOut)
	}
}
