package client

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"path/filepath"
	"testing"
	"time"

	"github.com/quorate/quorate/agent"
)

// fakeAgent answers every connection on a unix socket with answer(request):
// the lines it returns, written one by one.
func fakeAgent(t *testing.T, answer func(agent.Request) []any) string {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "fake.sock")
	ln, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				var req agent.Request
				if err := json.NewDecoder(bufio.NewReader(c)).Decode(&req); err != nil {
					return
				}
				enc := json.NewEncoder(c)
				for _, line := range answer(req) {
					enc.Encode(line)
				}
			}()
		}
	}()
	return sock
}

// TestErrors: each refusal code of the agent becomes the client's error.
func TestErrors(t *testing.T) {
	for _, tt := range []struct {
		resp agent.Response
		want error
	}{
		{agent.Response{Code: agent.CodeReadOnly, Error: "not quorate"}, ErrNotQuorate},
		{agent.Response{Code: agent.CodeConflict}, ErrConflict},
		{agent.Response{Code: agent.CodeNotFound}, ErrNotFound},
		{agent.Response{Code: agent.CodeLocked}, ErrLocked},
		{agent.Response{Code: agent.CodeIndeterminate}, ErrIndeterminate},
		{agent.Response{Code: agent.CodeStopped}, ErrIndeterminate},
		{agent.Response{Code: agent.CodeAborted}, ErrAborted},
		{agent.Response{BadRequest: true, Error: "bad path"}, ErrBadRequest},
	} {
		sock := fakeAgent(t, func(agent.Request) []any { return []any{tt.resp} })
		_, err := New(sock).Put(context.Background(), "a/b", []byte("v"))
		if !errors.Is(err, tt.want) {
			t.Errorf("%+v: %v, want %v", tt.resp, err, tt.want)
		}
	}
	sock := fakeAgent(t, func(agent.Request) []any { return []any{agent.Response{Error: "something else"}} })
	if _, err := New(sock).Put(context.Background(), "a", nil); err == nil || errors.Is(err, ErrNotQuorate) {
		t.Errorf("an uncoded refusal: %v", err)
	}
	if _, err := New(filepath.Join(t.TempDir(), "none")).Status(context.Background()); !errors.Is(err, ErrUnreachable) {
		t.Errorf("no agent: %v, want ErrUnreachable", err)
	}
}

// TestRequests: the calls send the requests the agent expects.
func TestRequests(t *testing.T) {
	got := make(chan agent.Request, 1)
	sock := fakeAgent(t, func(r agent.Request) []any {
		got <- r
		return []any{agent.Response{OK: true, Entry: &agent.StoreEntry{Path: r.Path, Version: 7}}}
	})
	c := New(sock)
	ctx := context.Background()
	if v, err := c.CompareAndSet(ctx, "k", 0, nil); err != nil || v != 7 {
		t.Fatalf("CompareAndSet: %d %v", v, err)
	}
	if r := <-got; r.Cmd != agent.CmdCfsPut || r.IfVersion == nil || *r.IfVersion != 0 || r.Value == nil {
		t.Errorf("CompareAndSet sent %+v", r)
	}
	if _, err := c.Lock(ctx, "priv/lock/x", "me", 1500*time.Millisecond); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.Cmd != agent.CmdCfsLock || r.Holder != "me" || r.TTL != 2 {
		t.Errorf("Lock sent %+v (the ttl rounds up to whole seconds)", r)
	}
	if _, err := c.GetOrdered(ctx, "k"); err != nil {
		t.Fatal(err)
	}
	if r := <-got; r.Cmd != agent.CmdCfsGet || !r.Ordered {
		t.Errorf("GetOrdered sent %+v", r)
	}
}

// TestWatch: the stream's events in order, and its overflow as ErrOverflow.
func TestWatch(t *testing.T) {
	sock := fakeAgent(t, func(r agent.Request) []any {
		if r.Cmd != agent.CmdWatch {
			return []any{agent.Response{Error: "not a watch"}}
		}
		return []any{
			agent.Response{OK: true},
			Event{Type: EventState, Ring: "1.4", Quorate: true, Members: []string{"a", "b"}},
			Event{Type: EventLink, Link: &LinkChange{Peer: "b", Link: 0, Up: false}},
			Event{Type: agent.WatchOverflow},
		}
	})
	w, err := New(sock).Watch(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	if e, err := w.Next(); err != nil || e.Type != EventState || e.Ring != "1.4" || !e.Quorate || len(e.Members) != 2 {
		t.Fatalf("first: %+v %v", e, err)
	}
	if e, err := w.Next(); err != nil || e.Type != EventLink || e.Link == nil || e.Link.Peer != "b" || e.Link.Up {
		t.Fatalf("second: %+v %v", e, err)
	}
	if _, err := w.Next(); !errors.Is(err, ErrOverflow) {
		t.Fatalf("overflow: %v", err)
	}
	refused := fakeAgent(t, func(agent.Request) []any { return []any{agent.Response{Error: "no"}} })
	if _, err := New(refused).Watch(context.Background()); err == nil {
		t.Errorf("a refused watch returned no error")
	}
}
