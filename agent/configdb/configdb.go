// Package configdb keeps a node's engine.State in SQLite: the file
// config.db in the agent's data directory, the counterpart of pmxcfs's
// /var/lib/pve-cluster/config.db. It holds the Totem ring sequence number
// (corosync's ringid_<nodeid>), the replicated store's epoch and version
// counter, and one row per store entry (key, value, version, lock holder,
// ttl).
//
// # Durability
//
// The engine demands that Ready.Persist be durable before anything of the
// same batch is sent or any Result reported (engine.Ready). Persist
// therefore writes in one transaction and returns only after SQLite's
// COMMIT has returned, with the database in journal_mode=WAL and
// synchronous=FULL. In WAL mode a commit appends the changed pages and a
// commit frame to config.db-wal; with synchronous=FULL SQLite fsyncs the
// WAL file before COMMIT returns, so a committed transaction survives a
// crash or power loss (with NORMAL it would be synced only at the next
// checkpoint, and a power loss could roll back the last commits). A
// checkpoint copies WAL pages into config.db only after the WAL is synced
// and syncs config.db before the WAL is reused, so no state is ever lost
// in between. A transaction that did not commit is invisible after a
// crash: the WAL's commit frames and checksums decide what a reader sees,
// so a reopened database holds exactly the last committed State, whole.
// The files' names must be durable too: Open syncs the data directory once
// config.db and config.db-wal exist. SQLite removes the WAL file only when
// the last connection closes, and DB holds its one connection until Close,
// so no commit ever lands in a WAL file whose directory entry is not on
// disk.
//
// # Writing the difference
//
// DB remembers the State it last committed. Persist compares the new State
// with it and writes only what changed: the counters when they moved, and
// the entries added, changed or removed (both lists are sorted by key, so
// one merge pass finds them). A State equal to the one on disk costs no
// transaction and no fsync. Values are compared in full, not only by
// version: a sync may install a leader's entry under the same version.
//
// # Validation
//
// Open refuses, with the file's path in the error, a file that is not an
// SQLite database, one that belongs to another application (its
// application_id), a schema version this code does not know, a database
// that fails PRAGMA integrity_check, one written by another node id, and a
// state the store would reject (store.ValidateSnapshot). A node must never
// start from someone else's or a damaged state: it would rejoin with a
// ring sequence and a store that are not its own.
//
// # Migration
//
// Earlier versions of the agent kept the State in a JSON file,
// ringid_<nodeid>.json. When that file exists and config.db does not, Open
// imports it into the new database in the same transaction that creates
// the schema, and removes the JSON file only after that commit (then syncs
// the directory). A crash in between leaves both; the database wins, is
// marked as imported, and the leftover file is removed at the next Open.
package configdb

import (
	"bytes"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	_ "modernc.org/sqlite" // registers the "sqlite" driver

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/internal/fsx"
)

// FileName is the database's name in the data directory.
const FileName = "config.db"

// applicationID marks an SQLite file as a quorate configuration database
// ("QRTE" in the header's application_id field), so that Open refuses any
// other SQLite file placed under the name.
const applicationID = 0x51525445

// schemaVersion is the layout below, kept in PRAGMA user_version.
const schemaVersion = 1

// schema creates the tables. Keys are BLOBs: SQLite compares BLOBs with
// memcmp, which is Go's string order, so ORDER BY key gives the sorted
// order the store's snapshots require, whatever bytes a key holds.
const schema = `
CREATE TABLE meta (
	name  TEXT PRIMARY KEY,
	value INTEGER NOT NULL
) WITHOUT ROWID;
CREATE TABLE entries (
	key     BLOB PRIMARY KEY,
	value   BLOB NOT NULL,
	version INTEGER NOT NULL,
	holder  TEXT NOT NULL,
	ttl_ns  INTEGER NOT NULL
) WITHOUT ROWID;
`

// Names of the meta rows. Unsigned counters are stored as the int64 with
// the same bits (SQLite integers are signed 64-bit).
const (
	metaNodeID   = "node_id"
	metaRingSeq  = "ring_seq"
	metaEpochRep = "epoch_rep"
	metaEpochSeq = "epoch_seq"
	metaVersion  = "version"
	metaImported = "imported" // 1: created from ringid_<id>.json
)

// ErrCorrupt is wrapped by Open and Read when config.db exists but cannot
// be used: not a database, damaged, another application's, an unknown
// schema, or an invalid state.
var ErrCorrupt = errors.New("configdb: unusable configuration database")

// ErrForeign is wrapped by Open and Read when config.db belongs to another
// node id.
var ErrForeign = errors.New("configdb: configuration database of another node")

// Path returns config.db's path under dataDir.
func Path(dataDir string) string { return filepath.Join(dataDir, FileName) }

// Counts says how much Persist has written since Open.
type Counts struct {
	Commits uint64 // transactions committed (each one fsync of the WAL)
	Upserts uint64 // entry rows inserted or replaced
	Deletes uint64 // entry rows deleted
}

// DB is an open config.db. It is not safe for concurrent use: the agent's
// loop owns it.
type DB struct {
	db     *sql.DB
	path   string
	id     wire.NodeID
	disk   engine.State // what the last commit holds
	counts Counts
	// imported says the database was created from ringid_<id>.json.
	imported bool
}

// Open opens (or creates) config.db in dataDir for node id, importing a
// legacy ringid_<id>.json as described in the package doc, and returns it
// with the State it holds (State). log receives one line about a
// migration; nil discards it.
func Open(dataDir string, id wire.NodeID, log *slog.Logger) (*DB, error) {
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	path := Path(dataDir)
	legacy := legacyPath(dataDir, id)
	d, err := openFile(path, id)
	if err != nil {
		return nil, err
	}
	fail := func(err error) (*DB, error) {
		d.db.Close()
		return nil, err
	}
	empty, err := d.check()
	if err != nil {
		return fail(err)
	}
	// WAL is a property of the file (it stays set); synchronous is one of
	// the connection, which SetMaxOpenConns(1) keeps for the DB's life.
	var mode string
	if err := d.db.QueryRow("PRAGMA journal_mode=WAL").Scan(&mode); err != nil || mode != "wal" {
		return fail(fmt.Errorf("configdb: %s: cannot switch to WAL journal (got %q): %v", path, mode, err))
	}
	if _, err := d.db.Exec("PRAGMA synchronous=FULL"); err != nil {
		return fail(fmt.Errorf("configdb: %s: %w", path, err))
	}
	if empty {
		// A new database, or one whose creation never committed: import
		// the JSON state file if there is one.
		st, imported, err := readLegacy(legacy, id)
		if err != nil {
			return fail(err)
		}
		if err := d.create(st, imported); err != nil {
			return fail(err)
		}
		if imported {
			log.Info("imported the state file into the configuration database",
				"from", legacy, "to", path, "ring_seq", st.RingSeq, "store_version", st.Store.Version, "entries", len(st.Store.Entries))
		}
	} else if err := d.load(); err != nil {
		return fail(err)
	}
	if _, err := os.Stat(path + "-wal"); err != nil {
		return fail(fmt.Errorf("configdb: %s: no write-ahead log after opening: %w", path, err))
	}
	if err := fsx.SyncDir(dataDir); err != nil {
		return fail(err)
	}
	if err := d.removeLegacy(legacy, log); err != nil {
		return fail(err)
	}
	return d, nil
}

// Read returns the State config.db in dataDir holds for node id, without
// creating or changing anything: for inspection while an agent may be
// running. A missing database is a node's first start: the zero State.
func Read(dataDir string, id wire.NodeID) (engine.State, error) {
	path := Path(dataDir)
	if _, err := os.Stat(path); errors.Is(err, fs.ErrNotExist) {
		return engine.State{}, nil
	}
	d, err := openFile(path, id)
	if err != nil {
		return engine.State{}, err
	}
	defer d.db.Close()
	empty, err := d.check()
	if err != nil || empty {
		return engine.State{}, err
	}
	if err := d.load(); err != nil {
		return engine.State{}, err
	}
	return d.disk, nil
}

// openFile opens the SQLite handle on one connection.
func openFile(path string, id wire.NodeID) (*DB, error) {
	db, err := sql.Open("sqlite", path)
	if err != nil {
		return nil, fmt.Errorf("configdb: %s: %w", path, err)
	}
	// One connection: the pragmas above hold for every statement, and the
	// loop is the only user anyway.
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	if _, err := db.Exec("PRAGMA busy_timeout=5000"); err != nil {
		db.Close()
		return nil, fmt.Errorf("%w: %s: %w", ErrCorrupt, path, err)
	}
	return &DB{db: db, path: path, id: id}, nil
}

// check validates the file's identity and integrity. It reports empty for
// a file without schema (new, or created by a start that crashed before
// its first commit).
func (d *DB) check() (empty bool, err error) {
	var appID, version, tables int64
	if err := d.db.QueryRow("PRAGMA application_id").Scan(&appID); err != nil {
		return false, fmt.Errorf("%w: %s is not an SQLite database: %w", ErrCorrupt, d.path, err)
	}
	if err := d.db.QueryRow("PRAGMA user_version").Scan(&version); err != nil {
		return false, fmt.Errorf("%w: %s: %w", ErrCorrupt, d.path, err)
	}
	if err := d.db.QueryRow("SELECT count(*) FROM sqlite_schema").Scan(&tables); err != nil {
		return false, fmt.Errorf("%w: %s is not an SQLite database: %w", ErrCorrupt, d.path, err)
	}
	switch {
	case appID == 0 && version == 0 && tables == 0:
		return true, nil
	case appID != applicationID:
		return false, fmt.Errorf("%w: %s is an SQLite database of another application (application_id %#x)", ErrCorrupt, d.path, appID)
	case version != schemaVersion:
		return false, fmt.Errorf("%w: %s has schema version %d, this quorate knows %d", ErrCorrupt, d.path, version, schemaVersion)
	}
	rows, err := d.db.Query("PRAGMA integrity_check")
	if err != nil {
		return false, fmt.Errorf("%w: %s: integrity check: %w", ErrCorrupt, d.path, err)
	}
	defer rows.Close()
	var problems []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			return false, fmt.Errorf("%w: %s: integrity check: %w", ErrCorrupt, d.path, err)
		}
		if s != "ok" && len(problems) < 3 {
			problems = append(problems, s)
		}
	}
	if err := rows.Err(); err != nil {
		return false, fmt.Errorf("%w: %s: integrity check: %w", ErrCorrupt, d.path, err)
	}
	if len(problems) > 0 {
		return false, fmt.Errorf("%w: %s fails the integrity check: %q", ErrCorrupt, d.path, problems)
	}
	return false, nil
}

// create writes the schema and st in one transaction.
func (d *DB) create(st engine.State, imported bool) error {
	if err := store.ValidateSnapshot(st.Store); err != nil {
		return fmt.Errorf("configdb: %s: state to import: %w", d.path, err)
	}
	tx, err := d.db.Begin()
	if err != nil {
		return fmt.Errorf("configdb: %s: %w", d.path, err)
	}
	defer tx.Rollback()
	stmts := []string{
		fmt.Sprintf("PRAGMA application_id=%d", applicationID),
		fmt.Sprintf("PRAGMA user_version=%d", schemaVersion),
		schema,
	}
	for _, s := range stmts {
		if _, err := tx.Exec(s); err != nil {
			return fmt.Errorf("configdb: %s: create schema: %w", d.path, err)
		}
	}
	imp := int64(0)
	if imported {
		imp = 1
	}
	for _, m := range []struct {
		name  string
		value int64
	}{{metaNodeID, int64(d.id)}, {metaImported, imp}} {
		if _, err := tx.Exec("INSERT INTO meta(name, value) VALUES(?, ?)", m.name, m.value); err != nil {
			return fmt.Errorf("configdb: %s: %w", d.path, err)
		}
	}
	var c Counts
	if err := writeDiff(tx, engine.State{}, st, &c, true); err != nil {
		return fmt.Errorf("configdb: %s: %w", d.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("configdb: %s: commit: %w", d.path, err)
	}
	d.disk, d.imported = st, imported
	return nil
}

// load reads the State and checks it belongs to this node and is valid.
func (d *DB) load() error {
	meta := map[string]int64{}
	rows, err := d.db.Query("SELECT name, value FROM meta")
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, d.path, err)
	}
	for rows.Next() {
		var name string
		var v int64
		if err := rows.Scan(&name, &v); err != nil {
			rows.Close()
			return fmt.Errorf("%w: %s: meta: %w", ErrCorrupt, d.path, err)
		}
		meta[name] = v
	}
	rows.Close()
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %s: meta: %w", ErrCorrupt, d.path, err)
	}
	owner, ok := meta[metaNodeID]
	if !ok {
		return fmt.Errorf("%w: %s has no node id", ErrCorrupt, d.path)
	}
	if wire.NodeID(owner) != d.id || owner <= 0 || owner > int64(^uint32(0)) {
		return fmt.Errorf("%w: %s belongs to node %d, not %d (a data directory copied from another node?)", ErrForeign, d.path, owner, d.id)
	}
	d.imported = meta[metaImported] == 1
	st := engine.State{RingSeq: uint64(meta[metaRingSeq])}
	st.Store.Epoch = store.RingRef{Rep: wire.NodeID(meta[metaEpochRep]), Seq: uint64(meta[metaEpochSeq])}
	st.Store.Version = uint64(meta[metaVersion])
	rows, err = d.db.Query("SELECT key, value, version, holder, ttl_ns FROM entries ORDER BY key")
	if err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, d.path, err)
	}
	defer rows.Close()
	for rows.Next() {
		var key, value []byte
		var version, ttl int64
		var holder string
		if err := rows.Scan(&key, &value, &version, &holder, &ttl); err != nil {
			return fmt.Errorf("%w: %s: entries: %w", ErrCorrupt, d.path, err)
		}
		if len(value) == 0 {
			value = nil
		}
		st.Store.Entries = append(st.Store.Entries, store.Record{Key: string(key),
			Entry: store.Entry{Value: value, Version: uint64(version), Holder: holder, TTL: time.Duration(ttl)}})
	}
	if err := rows.Err(); err != nil {
		return fmt.Errorf("%w: %s: entries: %w", ErrCorrupt, d.path, err)
	}
	if err := store.ValidateSnapshot(st.Store); err != nil {
		return fmt.Errorf("%w: %s: %w", ErrCorrupt, d.path, err)
	}
	d.disk = st
	return nil
}

// State returns the State the database holds: after Open, what the node
// persisted last; after Persist, its argument. Values are shared with the
// caller and must not be modified.
func (d *DB) State() engine.State { return d.disk }

// Counts returns what Persist has written since Open.
func (d *DB) Counts() Counts { return d.counts }

// Persist makes st durable: when Persist returns nil, a crash at any later
// moment leaves config.db holding st (see the package doc). It writes only
// the difference from the State last committed, in one transaction.
func (d *DB) Persist(st engine.State) error {
	if equal(d.disk, st) {
		return nil
	}
	tx, err := d.db.Begin()
	if err != nil {
		return fmt.Errorf("configdb: %s: %w", d.path, err)
	}
	defer tx.Rollback()
	c := d.counts
	if err := writeDiff(tx, d.disk, st, &c, false); err != nil {
		return fmt.Errorf("configdb: %s: %w", d.path, err)
	}
	if err := tx.Commit(); err != nil {
		return fmt.Errorf("configdb: %s: commit: %w", d.path, err)
	}
	c.Commits++
	d.counts, d.disk = c, st
	return nil
}

// Close checkpoints the WAL into config.db and closes the database.
func (d *DB) Close() error {
	_, cerr := d.db.Exec("PRAGMA wal_checkpoint(TRUNCATE)")
	if err := d.db.Close(); err != nil {
		return fmt.Errorf("configdb: %s: close: %w", d.path, err)
	}
	if cerr != nil {
		return fmt.Errorf("configdb: %s: checkpoint: %w", d.path, cerr)
	}
	return nil
}

// equal reports whether two States hold the same data.
func equal(a, b engine.State) bool {
	if a.RingSeq != b.RingSeq || a.Store.Epoch != b.Store.Epoch || a.Store.Version != b.Store.Version ||
		len(a.Store.Entries) != len(b.Store.Entries) {
		return false
	}
	for i := range a.Store.Entries {
		if !sameRecord(a.Store.Entries[i], b.Store.Entries[i]) {
			return false
		}
	}
	return true
}

func sameRecord(a, b store.Record) bool {
	return a.Key == b.Key && a.Version == b.Version && a.Holder == b.Holder && a.TTL == b.TTL && bytes.Equal(a.Value, b.Value)
}

// writeDiff writes, inside tx, what turns old into st: the counters that
// moved (all of them when all is set) and the entries that differ.
func writeDiff(tx *sql.Tx, old, st engine.State, c *Counts, all bool) error {
	set := func(name string, v int64) error {
		_, err := tx.Exec("INSERT INTO meta(name, value) VALUES(?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value", name, v)
		return err
	}
	for _, m := range []struct {
		name     string
		old, new int64
	}{
		{metaRingSeq, int64(old.RingSeq), int64(st.RingSeq)},
		{metaEpochRep, int64(old.Store.Epoch.Rep), int64(st.Store.Epoch.Rep)},
		{metaEpochSeq, int64(old.Store.Epoch.Seq), int64(st.Store.Epoch.Seq)},
		{metaVersion, int64(old.Store.Version), int64(st.Store.Version)},
	} {
		if all || m.old != m.new {
			if err := set(m.name, m.new); err != nil {
				return err
			}
		}
	}
	upsert := func(r store.Record) error {
		v := r.Value
		if v == nil {
			v = []byte{} // NOT NULL: an empty value is an empty BLOB
		}
		_, err := tx.Exec("INSERT OR REPLACE INTO entries(key, value, version, holder, ttl_ns) VALUES(?, ?, ?, ?, ?)",
			[]byte(r.Key), v, int64(r.Version), r.Holder, int64(r.TTL))
		c.Upserts++
		return err
	}
	del := func(key string) error {
		_, err := tx.Exec("DELETE FROM entries WHERE key = ?", []byte(key))
		c.Deletes++
		return err
	}
	// Merge the two key-sorted lists.
	a, b := old.Store.Entries, st.Store.Entries
	for len(a) > 0 || len(b) > 0 {
		var err error
		switch {
		case len(b) == 0 || (len(a) > 0 && a[0].Key < b[0].Key):
			err = del(a[0].Key)
			a = a[1:]
		case len(a) == 0 || b[0].Key < a[0].Key:
			err = upsert(b[0])
			b = b[1:]
		default:
			if !sameRecord(a[0], b[0]) {
				err = upsert(b[0])
			}
			a, b = a[1:], b[1:]
		}
		if err != nil {
			return err
		}
	}
	return nil
}
