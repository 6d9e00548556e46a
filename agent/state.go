package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
)

// prepareDataDir creates the data directory (mode 0700) and checks that it
// is writable, so that the first Persist does not fail later. The State
// itself lives in config.db there (package configdb).
func prepareDataDir(dir string) error {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("agent: data dir: %w", err)
	}
	f, err := os.CreateTemp(dir, ".probe*")
	if err != nil {
		return fmt.Errorf("agent: data dir %s is not writable: %w", dir, err)
	}
	name := f.Name()
	f.Close()
	return os.Remove(name)
}

// lockFile is the file in the data directory an agent holds an exclusive
// flock on while it runs.
const lockFile = "agent.lock"

// lockDataDir takes the data directory for this agent: two agents on one
// config.db would each believe its store is theirs and persist over each
// other. The lock is an flock on DIR/agent.lock, which the kernel drops
// when the process ends however it ends, so a kill -9 leaves no stale
// lock; the file holds the owner's pid for the error message. A directory
// held by another agent is bad input (exit 2).
func lockDataDir(dir string) (release func(), err error) {
	path := filepath.Join(dir, lockFile)
	f, err := os.OpenFile(path, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("agent: data dir lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		owner, _ := os.ReadFile(path)
		f.Close()
		if errors.Is(err, syscall.EWOULDBLOCK) {
			return nil, badConfig(fmt.Errorf("data dir %s is in use by another agent (pid %s holds %s): give every agent its own --data-dir",
				dir, strings.TrimSpace(string(owner)), lockFile))
		}
		return nil, fmt.Errorf("agent: data dir lock %s: %w", path, err)
	}
	if err := f.Truncate(0); err == nil {
		f.WriteAt([]byte(strconv.Itoa(os.Getpid())+"\n"), 0)
	}
	return func() { f.Close() }, nil
}
