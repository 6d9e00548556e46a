package fsx

import (
	"os"
	"path/filepath"
	"testing"
)

func TestWriteFileAtomic(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "corosync.conf")
	for _, tt := range []struct {
		data string
		mode os.FileMode
	}{{"first\n", 0o644}, {"second, longer\n", 0o600}} {
		if err := WriteFileAtomic(path, []byte(tt.data), tt.mode); err != nil {
			t.Fatal(err)
		}
		got, err := os.ReadFile(path)
		if err != nil || string(got) != tt.data {
			t.Fatalf("read back %q, %v; want %q", got, err, tt.data)
		}
		if fi, _ := os.Stat(path); fi.Mode().Perm() != tt.mode {
			t.Errorf("mode %v, want %v", fi.Mode().Perm(), tt.mode)
		}
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 {
		t.Errorf("temporary files left: %v", ents)
	}
	if err := WriteFileAtomic(filepath.Join(dir, "missing", "x"), nil, 0o644); err == nil {
		t.Error("write into a missing directory succeeded")
	}
	if err := SyncDir(filepath.Join(dir, "missing")); err == nil {
		t.Error("sync of a missing directory succeeded")
	}
}
