package udp

import (
	"bytes"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func TestGenerateAndLoadKey(t *testing.T) {
	dir := t.TempDir()
	for _, size := range []int{0, MinKeySize, 1000, MaxKeySize} {
		path := filepath.Join(dir, "authkey")
		if err := GenerateKey(path, size); err != nil {
			t.Fatalf("GenerateKey(%d): %v", size, err)
		}
		fi, err := os.Stat(path)
		if err != nil {
			t.Fatal(err)
		}
		if mode := fi.Mode().Perm(); mode != 0o400 {
			t.Errorf("mode %v, want 0400", mode)
		}
		key, err := LoadKey(path)
		if err != nil {
			t.Fatalf("LoadKey: %v", err)
		}
		want := size
		if size == 0 {
			want = DefaultKeySize
		}
		if len(key) != want {
			t.Errorf("size %d: loaded %d bytes, want %d", size, len(key), want)
		}
		if bytes.Count(key, []byte{0}) == len(key) {
			t.Error("key is all zeros")
		}
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(entries) != 1 {
		t.Errorf("directory holds %d entries, want only authkey (temporary files left?)", len(entries))
	}
}

func TestGenerateKeyDiffers(t *testing.T) {
	dir := t.TempDir()
	a, b := filepath.Join(dir, "a"), filepath.Join(dir, "b")
	if err := GenerateKey(a, 0); err != nil {
		t.Fatal(err)
	}
	if err := GenerateKey(b, 0); err != nil {
		t.Fatal(err)
	}
	ka, _ := LoadKey(a)
	kb, _ := LoadKey(b)
	if bytes.Equal(ka, kb) {
		t.Error("two generated keys are equal")
	}
}

func TestGenerateKeyErrors(t *testing.T) {
	dir := t.TempDir()
	for _, tc := range []struct {
		size int
		want error
	}{
		{MinKeySize - 1, ErrKeyTooShort},
		{-1, ErrKeyTooShort},
		{MaxKeySize + 1, ErrKeyTooLong},
	} {
		if err := GenerateKey(filepath.Join(dir, "k"), tc.size); !errors.Is(err, tc.want) {
			t.Errorf("size %d: %v, want %v", tc.size, err, tc.want)
		}
	}
	err := GenerateKey(filepath.Join(dir, "missing", "k"), 0)
	if err == nil || !strings.Contains(err.Error(), "Could not create key file") {
		t.Errorf("missing directory: %v", err)
	}
}

func TestLoadKeyErrors(t *testing.T) {
	dir := t.TempDir()
	write := func(name string, n int) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, bytes.Repeat([]byte{7}, n), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	missing := filepath.Join(dir, "nope")
	_, err := LoadKey(missing)
	if err == nil || !strings.Contains(err.Error(), "Could not open "+missing) || !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("missing file: %v", err)
	}
	short := write("short", 10)
	_, err = LoadKey(short)
	if !errors.Is(err, ErrKeyTooShort) || !strings.Contains(err.Error(), "Could only read 80 bits of minimum 1024 bits from "+short) {
		t.Errorf("short key: %v", err)
	}
	if _, err := LoadKey(write("long", MaxKeySize+1)); !errors.Is(err, ErrKeyTooLong) ||
		!strings.Contains(err.Error(), "key is too long") {
		t.Errorf("long key: %v", err)
	}
	for _, n := range []int{MinKeySize, MaxKeySize} {
		if k, err := LoadKey(write("ok", n)); err != nil || len(k) != n {
			t.Errorf("key of %d bytes: %d bytes, %v", n, len(k), err)
		}
	}
}
