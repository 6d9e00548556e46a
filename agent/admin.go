package agent

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// adminTimeout bounds one admin connection: reading the request, waiting
// for the loop and writing the answer.
const adminTimeout = 10 * time.Second

// ErrUnreachable is wrapped by Call when nothing answers at the socket: the
// agent is not running, or runs with another --admin path.
var ErrUnreachable = errors.New("agent: cannot reach the agent")

// adminServer accepts connections on the admin socket and hands each
// request to the loop.
type adminServer struct {
	path  string
	ln    *net.UnixListener
	calls chan<- call
	done  <-chan struct{} // closed when the loop has returned
	log   *slog.Logger
	wg    sync.WaitGroup
}

// listenAdmin creates the socket's directory and binds the socket with
// mode 0600. The socket is bound under a temporary name, restricted, then
// renamed into place, so it is never reachable with looser permissions. A
// stale socket left by a crashed agent is replaced; a live one is an error.
func listenAdmin(path string) (*net.UnixListener, error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("agent: admin socket directory: %w", err)
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode()&fs.ModeSocket == 0 {
			return nil, fmt.Errorf("agent: admin socket %s exists and is not a socket", path)
		}
		if c, err := net.DialTimeout("unix", path, time.Second); err == nil {
			c.Close()
			return nil, fmt.Errorf("agent: another agent is listening on %s", path)
		}
	}
	tmp := filepath.Join(dir, "."+filepath.Base(path)+"."+strconv.Itoa(os.Getpid()))
	os.Remove(tmp)
	ln, err := net.ListenUnix("unix", &net.UnixAddr{Name: tmp, Net: "unix"})
	if err != nil {
		return nil, fmt.Errorf("agent: admin socket: %w", err)
	}
	ln.SetUnlinkOnClose(false)
	fail := func(err error) (*net.UnixListener, error) {
		ln.Close()
		os.Remove(tmp)
		return nil, err
	}
	if err := os.Chmod(tmp, 0o600); err != nil {
		return fail(fmt.Errorf("agent: admin socket: %w", err))
	}
	if err := os.Rename(tmp, path); err != nil {
		return fail(fmt.Errorf("agent: admin socket: %w", err))
	}
	return ln, nil
}

// serve accepts connections until the listener is closed.
func (s *adminServer) serve(ctx context.Context) {
	for {
		conn, err := s.ln.AcceptUnix()
		if err != nil {
			if !errors.Is(err, net.ErrClosed) {
				s.log.Error("admin socket accept failed; management commands are unavailable", "err", err)
			}
			return
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, conn)
		}()
	}
}

// close stops accepting, waits for the connections in progress and
// removes the socket file.
func (s *adminServer) close() {
	s.ln.Close()
	s.wg.Wait()
	os.Remove(s.path)
}

// handle answers one connection: one request, one response.
func (s *adminServer) handle(ctx context.Context, conn *net.UnixConn) {
	defer conn.Close()
	conn.SetDeadline(time.Now().Add(adminTimeout))
	var req Request
	var resp Response
	if err := json.NewDecoder(conn).Decode(&req); err != nil {
		resp = Response{Error: "bad request: " + err.Error(), BadRequest: true}
	} else if req.Cmd == CmdWatch {
		s.serveWatch(ctx, conn)
		return
	} else {
		resp = s.ask(ctx, req)
	}
	if err := json.NewEncoder(conn).Encode(resp); err != nil {
		s.log.Debug("admin reply not delivered", "cmd", req.Cmd, "err", err)
	}
}

// ask hands req to the loop and waits for its answer.
func (s *adminServer) ask(ctx context.Context, req Request) Response {
	return s.askWith(ctx, call{req: req, reply: make(chan Response, 1)})
}

// askWith hands c to the loop and waits for its answer.
func (s *adminServer) askWith(ctx context.Context, c call) Response {
	timeout := time.NewTimer(adminTimeout)
	defer timeout.Stop()
	select {
	case s.calls <- c:
	case <-ctx.Done():
		return Response{Error: "the agent is stopping"}
	case <-s.done:
		return Response{Error: "the agent is stopping"}
	case <-timeout.C:
		return Response{Error: "the agent's loop did not take the request in time"}
	}
	select {
	case resp := <-c.reply:
		return resp
	case <-ctx.Done():
	case <-s.done:
	case <-timeout.C:
		return Response{Error: "the agent's loop did not answer in time"}
	}
	select {
	case resp := <-c.reply: // answered just before it stopped
		return resp
	default:
		return Response{Error: "the agent is stopping"}
	}
}

// Call sends one request to the agent listening at socket and returns its
// response. When nothing listens there the error wraps ErrUnreachable;
// a response with OK false is returned as it is, with a nil error.
func Call(ctx context.Context, socket string, req Request) (*Response, error) {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return nil, fmt.Errorf("%w at %s: %w", ErrUnreachable, socket, err)
	}
	defer conn.Close()
	deadline := time.Now().Add(adminTimeout + 5*time.Second)
	if d, ok := ctx.Deadline(); ok && d.Before(deadline) {
		deadline = d
	}
	conn.SetDeadline(deadline)
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return nil, fmt.Errorf("agent: send %s request to %s: %w", req.Cmd, socket, err)
	}
	var resp Response
	if err := json.NewDecoder(conn).Decode(&resp); err != nil {
		return nil, fmt.Errorf("agent: read %s response from %s: %w", req.Cmd, socket, err)
	}
	return &resp, nil
}
