package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/wire"
)

// stateVersion is the format of the state file.
const stateVersion = 1

// stateFile is the on-disk form of engine.State. corosync keeps the ring
// sequence in <state_dir>/ringid_<nodeid>; the agent keeps it with the
// replicated store's snapshot in one JSON file, the snapshot in the store's
// own validated encoding (store.AppendSnapshot), so both change together
// in one rename.
type stateFile struct {
	Version int         `json:"version"`
	NodeID  wire.NodeID `json:"node_id"`
	RingSeq uint64      `json:"ring_seq"`
	Store   []byte      `json:"store"` // store.AppendSnapshot; base64 in JSON
}

// StatePath returns the file in which the agent of node id keeps its
// engine.State under dataDir: ringid_<nodeid>.json.
func StatePath(dataDir string, id wire.NodeID) string {
	return filepath.Join(dataDir, "ringid_"+strconv.FormatUint(uint64(id), 10)+".json")
}

// ReadState reads the engine.State the agent of node id persisted under
// dataDir. A missing file is a node's first start and gives the zero State
// with no error.
func ReadState(dataDir string, id wire.NodeID) (engine.State, error) {
	path := StatePath(dataDir, id)
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return engine.State{}, nil
	}
	if err != nil {
		return engine.State{}, fmt.Errorf("agent: read state: %w", err)
	}
	var f stateFile
	if err := json.Unmarshal(b, &f); err != nil {
		return engine.State{}, fmt.Errorf("agent: state file %s is corrupt: %w", path, err)
	}
	if f.Version != stateVersion {
		return engine.State{}, fmt.Errorf("agent: state file %s has version %d, want %d", path, f.Version, stateVersion)
	}
	if f.NodeID != id {
		return engine.State{}, fmt.Errorf("agent: state file %s belongs to node %d, not %d", path, f.NodeID, id)
	}
	st := engine.State{RingSeq: f.RingSeq}
	if len(f.Store) > 0 {
		if st.Store, err = store.DecodeSnapshot(f.Store); err != nil {
			return engine.State{}, fmt.Errorf("agent: state file %s: store snapshot: %w", path, err)
		}
	}
	return st, nil
}

// writeState stores st durably before the caller acts on it: it writes a
// temporary file in dataDir, syncs it, renames it over the state file and
// syncs the directory, so that after a crash the file holds either the old
// or the new state, whole.
func writeState(dataDir string, id wire.NodeID, st engine.State) (err error) {
	b, err := json.Marshal(stateFile{Version: stateVersion, NodeID: id, RingSeq: st.RingSeq,
		Store: store.AppendSnapshot(nil, st.Store)})
	if err != nil {
		return fmt.Errorf("agent: encode state: %w", err)
	}
	path := StatePath(dataDir, id)
	f, err := os.CreateTemp(dataDir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("agent: write state: %w", err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if _, err := f.Write(append(b, '\n')); err != nil {
		return fmt.Errorf("agent: write state %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("agent: sync state %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("agent: close state %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("agent: install state %s: %w", path, err)
	}
	return syncDir(dataDir)
}

// syncDir makes a rename in dir durable.
func syncDir(dir string) error {
	d, err := os.Open(dir)
	if err != nil {
		return fmt.Errorf("agent: open data dir: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("agent: sync data dir %s: %w", dir, err)
	}
	return nil
}

// prepareDataDir creates the data directory (mode 0700) and checks that it
// is writable, so that the first Persist does not fail later.
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
