package configdb

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/engine/wire"
)

// sample is a State with a plain entry, an empty value, a key that is not
// UTF-8 and a lock.
func sample() engine.State {
	return engine.State{RingSeq: 44, Store: store.Snapshot{
		Epoch: store.RingRef{Rep: 1, Seq: 40}, Version: 4,
		Entries: []store.Record{
			{Key: "nodes/alpha/qemu-server/100.conf", Entry: store.Entry{Value: []byte("memory: 2048\n"), Version: 1}},
			{Key: "nodes/empty", Entry: store.Entry{Version: 3}},
			{Key: "priv/lock/ha", Entry: store.Entry{Version: 2, Holder: "alpha", TTL: 120 * time.Second}},
			{Key: "raw/\xff\x00", Entry: store.Entry{Value: []byte{0, 1, 2}, Version: 4}},
		}}}
}

func mustOpen(t *testing.T, dir string, id wire.NodeID) *DB {
	t.Helper()
	d, err := Open(dir, id, nil)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// sameState compares States, an empty value equal to a nil one.
func sameState(a, b engine.State) bool { return equal(a, b) }

// TestRoundTrip: a new database holds the zero State; what Persist wrote
// is what a reopen and Read find, byte for byte.
func TestRoundTrip(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, 1)
	if !reflect.DeepEqual(d.State(), engine.State{}) {
		t.Fatalf("new database: %+v", d.State())
	}
	st := sample()
	if err := d.Persist(st); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = mustOpen(t, dir, 1)
	defer d.Close()
	if !sameState(d.State(), st) {
		t.Fatalf("reopened: %+v\nwant %+v", d.State(), st)
	}
	got, err := Read(dir, 1)
	if err != nil || !sameState(got, st) {
		t.Fatalf("Read: %+v %v", got, err)
	}
	if got, err := Read(t.TempDir(), 1); err != nil || !reflect.DeepEqual(got, engine.State{}) {
		t.Errorf("Read of a missing database: %+v %v", got, err)
	}
}

// TestDiffWrites: Persist writes only the rows that changed, and nothing
// at all (no commit) for the State already on disk.
func TestDiffWrites(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, 2)
	defer d.Close()
	big := engine.State{RingSeq: 4, Store: store.Snapshot{Version: 100}}
	for i := range 100 {
		big.Store.Entries = append(big.Store.Entries, store.Record{Key: fmt.Sprintf("k%03d", i),
			Entry: store.Entry{Value: []byte{byte(i)}, Version: uint64(i + 1)}})
	}
	if err := d.Persist(big); err != nil {
		t.Fatal(err)
	}
	step := func(name string, st engine.State, want Counts) {
		t.Helper()
		before := d.Counts()
		if err := d.Persist(st); err != nil {
			t.Fatal(err)
		}
		c := d.Counts()
		got := Counts{c.Commits - before.Commits, c.Upserts - before.Upserts, c.Deletes - before.Deletes}
		if got != want {
			t.Errorf("%s: wrote %+v, want %+v", name, got, want)
		}
		if r, err := Read(dir, 2); err != nil || !sameState(r, st) {
			t.Errorf("%s: database holds %+v (%v)", name, r.RingSeq, err)
		}
	}
	step("same state", big, Counts{})
	seq := big
	seq.RingSeq = 8
	step("ring seq only", seq, Counts{Commits: 1})

	next := seq
	next.Store.Version = 101
	next.Store.Entries = append([]store.Record(nil), seq.Store.Entries...)
	next.Store.Entries[50].Value, next.Store.Entries[50].Version = []byte("changed"), 101
	step("one entry changed", next, Counts{Commits: 1, Upserts: 1})

	del := next
	del.Store.Version = 102
	del.Store.Entries = append(append([]store.Record(nil), next.Store.Entries[:10]...), next.Store.Entries[11:]...)
	del.Store.Entries = append(del.Store.Entries, store.Record{Key: "z", Entry: store.Entry{Value: []byte("new"), Version: 102}})
	step("one removed, one added", del, Counts{Commits: 1, Upserts: 1, Deletes: 1})

	// Same version, other value: a leader's snapshot may do that.
	same := del
	same.Store.Entries = append([]store.Record(nil), del.Store.Entries...)
	same.Store.Entries[0].Value = []byte("other")
	step("value changed under the same version", same, Counts{Commits: 1, Upserts: 1})

	step("emptied", engine.State{RingSeq: 9}, Counts{Commits: 1, Deletes: 100})
}

// TestOpenRefuses: garbage, another application's database, another
// node's database, an unknown schema and an invalid state are refused with
// the path in the error.
func TestOpenRefuses(t *testing.T) {
	tests := []struct {
		name    string
		prepare func(t *testing.T, dir string)
		is      error
		want    string
	}{
		{"garbage", func(t *testing.T, dir string) {
			writeFile(t, Path(dir), bytes.Repeat([]byte("not a database "), 300))
		}, ErrCorrupt, "not an SQLite database"},
		{"truncated header", func(t *testing.T, dir string) {
			d := mustOpen(t, dir, 1)
			d.Persist(sample())
			d.Close()
			b, _ := os.ReadFile(Path(dir))
			writeFile(t, Path(dir), append([]byte("SQLite format 3\x00"), bytes.Repeat([]byte{0xff}, len(b)-16)...))
		}, ErrCorrupt, ""},
		{"other application", func(t *testing.T, dir string) {
			execSQL(t, dir, "PRAGMA application_id=7", "CREATE TABLE t(x)")
		}, ErrCorrupt, "another application"},
		{"future schema", func(t *testing.T, dir string) {
			d := mustOpen(t, dir, 1)
			d.Close()
			execSQL(t, dir, "PRAGMA user_version=9")
		}, ErrCorrupt, "schema version 9"},
		{"other node", func(t *testing.T, dir string) {
			d := mustOpen(t, dir, 2)
			d.Persist(sample())
			d.Close()
		}, ErrForeign, "belongs to node 2, not 1"},
		{"invalid state", func(t *testing.T, dir string) {
			d := mustOpen(t, dir, 1)
			d.Persist(sample())
			d.Close()
			execSQL(t, dir, "UPDATE meta SET value = 1 WHERE name = 'version'")
		}, ErrCorrupt, "entry version out of range"},
		{"damaged page", func(t *testing.T, dir string) {
			d := mustOpen(t, dir, 1)
			st := sample()
			for i := range 200 {
				st.Store.Entries = append(st.Store.Entries, store.Record{Key: fmt.Sprintf("z%04d", i),
					Entry: store.Entry{Value: bytes.Repeat([]byte{'v'}, 100), Version: 4}})
			}
			d.Persist(st)
			d.Close()
			b, _ := os.ReadFile(Path(dir))
			pageSize := 4096
			for i := 2 * pageSize; i < len(b) && i < 3*pageSize; i++ {
				b[i] = 0x5a
			}
			writeFile(t, Path(dir), b)
		}, ErrCorrupt, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := t.TempDir()
			tt.prepare(t, dir)
			d, err := Open(dir, 1, nil)
			if err == nil {
				d.Close()
				t.Fatal("opened")
			}
			if !errors.Is(err, tt.is) || !strings.Contains(err.Error(), tt.want) || !strings.Contains(err.Error(), Path(dir)) {
				t.Errorf("error %q; want %v with %q and the path", err, tt.is, tt.want)
			}
			if _, rerr := Read(dir, 1); !errors.Is(rerr, tt.is) {
				t.Errorf("Read: %v, want %v", rerr, tt.is)
			}
		})
	}
}

// TestMigration: a JSON state file is imported once into a new database
// and removed; a leftover of an interrupted import is removed; a JSON file
// next to a database not made from it is left alone; a bad JSON file
// stops the start.
func TestMigration(t *testing.T) {
	st := sample()
	dir := t.TempDir()
	writeLegacy(t, dir, 3, st)
	d := mustOpen(t, dir, 3)
	if !sameState(d.State(), st) {
		t.Fatalf("imported %+v\nwant %+v", d.State(), st)
	}
	if _, err := os.Stat(legacyPath(dir, 3)); !os.IsNotExist(err) {
		t.Errorf("state file still there after the import: %v", err)
	}
	next := st
	next.RingSeq = 48
	if err := d.Persist(next); err != nil {
		t.Fatal(err)
	}
	d.Close()

	// A crash between the import's commit and the removal.
	writeLegacy(t, dir, 3, st)
	d = mustOpen(t, dir, 3)
	if d.State().RingSeq != 48 {
		t.Errorf("the leftover state file was imported again: ring seq %d", d.State().RingSeq)
	}
	d.Close()
	if _, err := os.Stat(legacyPath(dir, 3)); !os.IsNotExist(err) {
		t.Errorf("leftover state file not removed: %v", err)
	}

	// A database made without import keeps its state; the file stays.
	other := t.TempDir()
	mustOpen(t, other, 3).Close()
	writeLegacy(t, other, 3, st)
	d = mustOpen(t, other, 3)
	if d.State().RingSeq != 0 {
		t.Errorf("state file imported over an existing database: %+v", d.State())
	}
	d.Close()
	if _, err := os.Stat(legacyPath(other, 3)); err != nil {
		t.Errorf("unrelated state file removed: %v", err)
	}

	for _, tt := range []struct {
		name string
		body string
		is   error
	}{
		{"not json", "{", ErrCorrupt},
		{"other node", `{"version":1,"node_id":4,"ring_seq":3}`, ErrForeign},
		{"other version", `{"version":2,"node_id":3}`, ErrCorrupt},
	} {
		dir := t.TempDir()
		writeFile(t, legacyPath(dir, 3), []byte(tt.body))
		if d, err := Open(dir, 3, nil); !errors.Is(err, tt.is) || !strings.Contains(err.Error(), legacyPath(dir, 3)) {
			if d != nil {
				d.Close()
			}
			t.Errorf("%s: %v, want %v naming the file", tt.name, err, tt.is)
		}
	}
}

// TestDurableSettings: the database runs in WAL mode with synchronous=FULL
// and its WAL file exists from Open on (the package doc's durability
// argument rests on all three).
func TestDurableSettings(t *testing.T) {
	dir := t.TempDir()
	d := mustOpen(t, dir, 1)
	d.Close()
	d = mustOpen(t, dir, 1) // the WAL file was removed at Close
	defer d.Close()
	if _, err := os.Stat(Path(dir) + "-wal"); err != nil {
		t.Errorf("no WAL file after Open: %v", err)
	}
	var mode string
	var sync int
	if err := d.db.QueryRow("PRAGMA journal_mode").Scan(&mode); err != nil || mode != "wal" {
		t.Errorf("journal_mode %q %v", mode, err)
	}
	if err := d.db.QueryRow("PRAGMA synchronous").Scan(&sync); err != nil || sync != 2 {
		t.Errorf("synchronous %d %v, want 2 (FULL)", sync, err)
	}
}

func writeFile(t *testing.T, path string, b []byte) {
	t.Helper()
	os.Remove(path + "-wal")
	os.Remove(path + "-shm")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatal(err)
	}
}

func writeLegacy(t *testing.T, dir string, id wire.NodeID, st engine.State) {
	t.Helper()
	b, err := json.Marshal(legacyFile{Version: legacyVersion, NodeID: id, RingSeq: st.RingSeq, Store: store.AppendSnapshot(nil, st.Store)})
	if err != nil {
		t.Fatal(err)
	}
	writeFile(t, legacyPath(dir, id), b)
}

// execSQL changes config.db behind the package's back.
func execSQL(t *testing.T, dir string, stmts ...string) {
	t.Helper()
	db, err := sql.Open("sqlite", filepath.Join(dir, FileName))
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	for _, s := range stmts {
		if _, err := db.Exec(s); err != nil {
			t.Fatalf("%s: %v", s, err)
		}
	}
}
