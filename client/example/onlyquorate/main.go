// Command onlyquorate runs a command only while this node is quorate, the
// way a service that must never run in a minority partition (a database
// primary, a holder of a shared disk) is guarded. It starts the command
// when the node has quorum; stops it (SIGTERM, then SIGKILL after --grace)
// as soon as the node loses quorum or the agent's stream ends; and starts
// it again when quorum comes back. It exits when it gets SIGINT or
// SIGTERM, stopping the command first.
//
//	onlyquorate [--admin SOCKET] [--grace 5s] -- COMMAND [ARG...]
package main

import (
	"context"
	"flag"
	"fmt"
	"log"
	"os"
	"os/exec"
	"os/signal"
	"syscall"
	"time"

	"github.com/quorate/quorate/client"
)

func main() {
	admin := flag.String("admin", client.DefaultSocket, "the agent's admin socket")
	grace := flag.Duration("grace", 5*time.Second, "time from SIGTERM to SIGKILL")
	flag.Parse()
	if flag.NArg() == 0 {
		fmt.Fprintln(os.Stderr, "usage: onlyquorate [--admin SOCKET] [--grace D] -- COMMAND [ARG...]")
		os.Exit(2)
	}
	log.SetFlags(log.LstdFlags | log.Lmicroseconds)
	log.SetPrefix("onlyquorate: ")
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()

	s := &service{argv: flag.Args(), grace: *grace}
	c := client.New(*admin)
	for {
		watch(ctx, c, s)
		if ctx.Err() != nil {
			break
		}
		// The stream ended: this node's quorum is unknown, so the command
		// must not run. Watch again after a pause.
		s.stop("the agent's stream ended")
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
	s.stop("exiting")
}

// watch follows one watch stream and starts or stops the service on every
// event, until the stream ends.
func watch(ctx context.Context, c *client.Client, s *service) {
	w, err := c.Watch(ctx)
	if err != nil {
		log.Printf("watch: %v", err)
		return
	}
	defer w.Close()
	for {
		e, err := w.Next()
		if err != nil {
			if ctx.Err() == nil {
				log.Printf("watch: %v", err)
			}
			return
		}
		// Every event carries the node's quorum: act on each, not only
		// on the "quorum" ones, so a missed event cannot leave it wrong.
		switch {
		case e.Quorate && !s.running():
			s.start(fmt.Sprintf("%s is quorate (ring %s, members %v)", e.Node, e.Ring, e.Members))
		case !e.Quorate && s.running():
			s.stop(fmt.Sprintf("%s lost quorum (ring %s, members %v)", e.Node, e.Ring, e.Members))
		}
	}
}

// service is the guarded command: running while cmd is set.
type service struct {
	argv  []string
	grace time.Duration
	cmd   *exec.Cmd
	done  chan struct{} // closed when cmd has exited
}

// running reports whether the command runs; one that exited on its own
// is started again at the next event while the node is quorate.
func (s *service) running() bool {
	if s.cmd == nil {
		return false
	}
	select {
	case <-s.done:
		s.cmd = nil
		return false
	default:
		return true
	}
}

func (s *service) start(why string) {
	cmd := exec.Command(s.argv[0], s.argv[1:]...)
	cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
	if err := cmd.Start(); err != nil {
		log.Printf("%s: cannot start %s: %v", why, s.argv[0], err)
		return
	}
	s.cmd, s.done = cmd, make(chan struct{})
	go func(done chan struct{}) {
		err := cmd.Wait()
		log.Printf("pid %d exited: %v", cmd.Process.Pid, err)
		close(done)
	}(s.done)
	log.Printf("%s: started pid %d", why, cmd.Process.Pid)
}

func (s *service) stop(why string) {
	if !s.running() {
		return
	}
	pid := s.cmd.Process.Pid
	s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(s.grace):
		s.cmd.Process.Kill()
		<-s.done
	}
	log.Printf("%s: stopped pid %d", why, pid)
	s.cmd = nil
}
