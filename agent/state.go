package agent

import (
	"fmt"
	"os"
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
