package configdb

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"strconv"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/internal/fsx"
)

// legacyVersion is the only format of the JSON state file there was.
const legacyVersion = 1

// legacyFile is the JSON state file earlier agents wrote: the ring
// sequence and the store's snapshot in store.AppendSnapshot's encoding
// (base64 in JSON).
type legacyFile struct {
	Version int         `json:"version"`
	NodeID  wire.NodeID `json:"node_id"`
	RingSeq uint64      `json:"ring_seq"`
	Store   []byte      `json:"store"`
}

// legacyPath is ringid_<id>.json under dataDir.
func legacyPath(dataDir string, id wire.NodeID) string {
	return filepath.Join(dataDir, "ringid_"+strconv.FormatUint(uint64(id), 10)+".json")
}

// readLegacy reads the JSON state file at path; ok is false when there is
// none. A file that does not decode, has another version or belongs to
// another node is an error: importing it would start the node from a
// state that is not its own.
func readLegacy(path string, id wire.NodeID) (st engine.State, ok bool, err error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return engine.State{}, false, nil
	}
	if err != nil {
		return engine.State{}, false, fmt.Errorf("configdb: read %s: %w", path, err)
	}
	var f legacyFile
	if err := json.Unmarshal(b, &f); err != nil {
		return engine.State{}, false, fmt.Errorf("%w: state file %s does not decode: %w", ErrCorrupt, path, err)
	}
	if f.Version != legacyVersion {
		return engine.State{}, false, fmt.Errorf("%w: state file %s has version %d, want %d", ErrCorrupt, path, f.Version, legacyVersion)
	}
	if f.NodeID != id {
		return engine.State{}, false, fmt.Errorf("%w: state file %s belongs to node %d, not %d", ErrForeign, path, f.NodeID, id)
	}
	st = engine.State{RingSeq: f.RingSeq}
	if len(f.Store) > 0 {
		if st.Store, err = store.DecodeSnapshot(f.Store); err != nil {
			return engine.State{}, false, fmt.Errorf("%w: state file %s: store snapshot: %w", ErrCorrupt, path, err)
		}
	}
	return st, true, nil
}

// removeLegacy deletes a JSON state file the database was imported from
// (left behind when a crash came between the import's commit and the
// removal). A JSON file next to a database that was not made from it is
// only reported: the database is the node's state, the file is not
// touched.
func (d *DB) removeLegacy(path string, log *slog.Logger) error {
	if _, err := os.Stat(path); err != nil {
		return nil
	}
	if !d.imported {
		log.Warn("ignoring a JSON state file next to the configuration database", "file", path, "db", d.path)
		return nil
	}
	if err := os.Remove(path); err != nil {
		return fmt.Errorf("configdb: remove imported state file: %w", err)
	}
	return fsx.SyncDir(filepath.Dir(path))
}
