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
	"time"

	"github.com/quorate/quorate/agent"
)

// TestCreateJoinTokenAdd drives create, join-token and add through the CLI
// against an agent on loopback, with their exit codes.
func TestCreateJoinTokenAdd(t *testing.T) {
	if testing.Short() {
		t.Skip("socket test skipped under -short")
	}
	dir := t.TempDir()
	c, err := net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		t.Fatal(err)
	}
	port := strconv.Itoa(c.LocalAddr().(*net.UDPAddr).Port)
	c.Close()
	conf1, key1 := filepath.Join(dir, "n1", "corosync.conf"), filepath.Join(dir, "n1", "authkey")
	os.MkdirAll(filepath.Dir(conf1), 0o755)
	create := []string{"create", "lab", "--link0", "127.0.0.1", "--name", "n1", "--port", port, "--token", "1000",
		"--config", conf1, "--keyfile", key1}
	if code, out, errOut := capture(t, create...); code != 0 || !strings.Contains(out, "quorate agent --config "+conf1) {
		t.Fatalf("create: exit %d\n%s%s", code, out, errOut)
	}
	if code, _, errOut := capture(t, create...); code != 2 || !strings.Contains(errOut, "already exists") {
		t.Errorf("create again: exit %d %q", code, errOut)
	}
	if code, _, errOut := capture(t, "create", "lab", "--config", filepath.Join(dir, "x.conf")); code != 2 || !strings.Contains(errOut, "--link0") {
		t.Errorf("create without --link0: exit %d %q", code, errOut)
	}

	admin := filepath.Join(dir, "n1.sock")
	log := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- agent.Run(ctx, agent.Options{ConfigPath: conf1, NodeName: "n1", AdminSocket: admin,
			DataDir: filepath.Join(dir, "n1", "data"), Logger: slog.New(slog.NewTextHandler(log, nil))})
	}()
	defer func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("agent: %v", err)
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", log.String())
		}
	}()
	var token string
	for deadline := time.Now().Add(agentWait); token == ""; {
		code, out, errOut := capture(t, "join-token", "--ttl", "10m", "--admin", admin)
		if code == 0 {
			// The token alone on standard output, so that
			// TOKEN=$(quorate join-token) works; the expiry on stderr.
			token = strings.TrimSpace(out)
			if strings.ContainsAny(token, " \n") || !strings.HasPrefix(token, "qjt1.") {
				t.Fatalf("join-token: standard output %q is not one token", out)
			}
			if !strings.Contains(errOut, "quorate add --join-token") {
				t.Errorf("join-token: standard error %q does not say how to use it", errOut)
			}
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("join-token: exit %d %s", code, errOut)
		}
		time.Sleep(100 * time.Millisecond)
	}
	conf2 := filepath.Join(dir, "n2", "corosync.conf")
	add := []string{"add", "127.0.0.1:" + port, "--link0", "127.0.0.2", "--name", "n2", "--join-token", token,
		"--config", conf2, "--keyfile", filepath.Join(dir, "n2", "authkey")}
	if code, out, errOut := capture(t, add...); code != 0 || !strings.Contains(out, "as nodeid 2 (config_version 2)") {
		t.Fatalf("add: exit %d\n%s%s", code, out, errOut)
	}
	for _, tt := range []struct {
		args []string
		code int
		want string
	}{
		{append(add[:len(add)-4:len(add)-4], "--config", filepath.Join(dir, "n3.conf")), 1, "join token already used"},
		// n1 alone is inquorate now that n2 is in the nodelist.
		{[]string{"add", "127.0.0.1:" + port, "--link0", "127.0.0.3", "--name", "n3", "--keyfile", key1, "--config", filepath.Join(dir, "n3.conf")}, 1, "cluster not ready - no quorum?"},
		{[]string{"add", "127.0.0.1:" + port, "--link0", "127.0.0.3", "--join-token", "nonsense", "--config", filepath.Join(dir, "n3.conf")}, 2, "malformed join token"},
		{add, 2, "already exists"},
		{[]string{"add", "127.0.0.1:1", "--link0", "127.0.0.3", "--keyfile", key1, "--config", filepath.Join(dir, "n3.conf")}, 1, "cannot reach the join listener"},
	} {
		code, _, errOut := capture(t, tt.args...)
		if code != tt.code || !strings.Contains(errOut, tt.want) {
			t.Errorf("%v: exit %d, stderr %q; want %d and %q", tt.args, code, errOut, tt.code, tt.want)
		}
	}
}
