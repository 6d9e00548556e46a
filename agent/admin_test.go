package agent

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine/wire"
)

// TestAdminSocket checks the socket's life cycle and protocol with a stub
// in place of the loop: mode 0600 in a created directory, one JSON request
// and response per connection, a garbled request answered as a bad
// request, a live socket not stolen by a second agent, a stale one
// replaced, and ErrUnreachable when nothing listens.
func TestAdminSocket(t *testing.T) {
	skipShort(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitTimeout)
	defer cancel()
	path := filepath.Join(t.TempDir(), "run", "quorate", "admin.sock")

	if _, err := Call(ctx, path, Request{Cmd: CmdStatus}); !errors.Is(err, ErrUnreachable) {
		t.Fatalf("no agent: %v, want ErrUnreachable", err)
	}
	ln, err := listenAdmin(path)
	if err != nil {
		t.Fatal(err)
	}
	fi, err := os.Lstat(path)
	if err != nil || fi.Mode()&fs.ModeSocket == 0 || fi.Mode().Perm() != 0o600 {
		t.Fatalf("socket %v mode %v; want a socket with mode 0600", err, fi.Mode())
	}
	calls, done := make(chan call), make(chan struct{})
	s := &adminServer{path: path, ln: ln, calls: calls, done: done, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	go s.serve(ctx)
	go func() { // the stub loop: echo the command as the ring
		for {
			select {
			case c := <-calls:
				c.reply <- Response{OK: true, Members: &MembersInfo{Ring: c.req.Cmd + " " + c.req.Node}}
			case <-done:
				return
			}
		}
	}()

	resp, err := Call(ctx, path, Request{Cmd: CmdMembers, Node: "x"})
	if err != nil || !resp.OK || resp.Members.Ring != "members x" {
		t.Fatalf("members: %+v %v", resp, err)
	}
	conn, err := net.Dial("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetDeadline(time.Now().Add(waitTimeout))
	io.WriteString(conn, "this is not json\n")
	var bad Response
	if err := json.NewDecoder(conn).Decode(&bad); err != nil || bad.OK || !bad.BadRequest {
		t.Errorf("garbled request: %+v %v", bad, err)
	}
	conn.Close()

	if _, err := listenAdmin(path); err == nil || !strings.Contains(err.Error(), "another agent") {
		t.Errorf("second agent on a live socket: %v", err)
	}
	close(done)
	if resp, err := Call(ctx, path, Request{Cmd: CmdStatus}); err != nil || resp.OK || !strings.Contains(resp.Error, "stopping") {
		t.Errorf("after the loop stopped: %+v %v", resp, err)
	}
	s.close()
	if _, err := os.Lstat(path); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("socket left behind after close: %v", err)
	}

	// A stale socket (a crashed agent's) is replaced; a regular file is not.
	stale, err := net.ListenUnix("unix", &net.UnixAddr{Name: path, Net: "unix"})
	if err != nil {
		t.Fatal(err)
	}
	stale.SetUnlinkOnClose(false)
	stale.Close()
	ln, err = listenAdmin(path)
	if err != nil {
		t.Fatalf("stale socket: %v", err)
	}
	ln.Close()
	os.Remove(path)
	if err := os.WriteFile(path, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := listenAdmin(path); err == nil || !strings.Contains(err.Error(), "not a socket") {
		t.Errorf("regular file at the socket path: %v", err)
	}
}

// TestEventLevels: what an operator must notice is a warning, protocol
// chatter is debug.
func TestEventLevels(t *testing.T) {
	for _, tt := range []struct {
		kind wire.EventKind
		sub  string // the layer's own kind: the level follows it, never Detail
		want slog.Level
	}{
		{wire.EventLinkUp, "", slog.LevelInfo},
		{wire.EventLinkDown, "", slog.LevelWarn},
		{wire.EventTotem, "token_lost", slog.LevelWarn},
		{wire.EventTotem, "retransmit_list", slog.LevelDebug},
		{wire.EventTotem, "state", slog.LevelInfo},
		{wire.EventQuorum, "inquorate", slog.LevelWarn},
		{wire.EventQuorum, "quorate", slog.LevelInfo},
		{wire.EventQuorumInfo, "qdevice_lost", slog.LevelWarn},
		{wire.EventQuorumInfo, "dropped", slog.LevelDebug},
	} {
		if got, _ := eventLevel(wire.Event{Kind: tt.kind, Sub: tt.sub, Detail: "inquorate token_lost (prose is not read)"}); got != tt.want {
			t.Errorf("%v %q: level %v, want %v", tt.kind, tt.sub, got, tt.want)
		}
	}
	if r := (wire.RingRef{Rep: 1, Seq: 0x1c}).String(); r != "1.1c" {
		t.Errorf("ring id %q, want 1.1c", r)
	}
}
