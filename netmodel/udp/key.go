package udp

import (
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
)

// Key sizes, as knet accepts them (KNET_MIN_KEY_LEN, KNET_MAX_KEY_LEN) and
// as corosync-keygen writes them by default.
const (
	MinKeySize     = 128
	MaxKeySize     = 4096
	DefaultKeySize = 256
)

// Key errors. LoadKey and GenerateKey wrap them with the file name and the
// sizes; the wording follows corosync's (exec/totemconfig.c, corosync-keygen).
var (
	ErrKeyTooShort = errors.New("udp: key is too short")
	ErrKeyTooLong  = errors.New("udp: key is too long")
)

// ErrConfig is wrapped by every error that reports a bad Config or a bad
// argument to NewSealer.
var ErrConfig = errors.New("udp: invalid config")

// checkKeySize reports whether a key of n bytes is within knet's limits.
func checkKeySize(n int) error {
	switch {
	case n < MinKeySize:
		return fmt.Errorf("%w: %d bytes, minimum %d", ErrKeyTooShort, n, MinKeySize)
	case n > MaxKeySize:
		return fmt.Errorf("%w: %d bytes, maximum %d", ErrKeyTooLong, n, MaxKeySize)
	}
	return nil
}

// LoadKey reads the authkey at path (corosync's keyfile, by default
// /etc/corosync/authkey). The whole file is the key, 128 to 4096 bytes; a
// shorter file fails with ErrKeyTooShort ("Could only read %d bits of
// minimum %d bits from %s"), a longer one with ErrKeyTooLong. It reads at
// most MaxKeySize+1 bytes.
func LoadKey(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("udp: Could not open %s: %w", path, err)
	}
	defer f.Close()
	key, err := io.ReadAll(io.LimitReader(f, MaxKeySize+1))
	if err != nil {
		return nil, fmt.Errorf("udp: Could not read %s: %w", path, err)
	}
	switch {
	case len(key) < MinKeySize:
		return nil, fmt.Errorf("%w: Could only read %d bits of minimum %d bits from %s",
			ErrKeyTooShort, len(key)*8, MinKeySize*8, path)
	case len(key) > MaxKeySize:
		return nil, fmt.Errorf("%w: %s holds more than %d bytes", ErrKeyTooLong, path, MaxKeySize)
	}
	return key, nil
}

// GenerateKey writes size random bytes from crypto/rand to path with mode
// 0400, as corosync-keygen does; size 0 means DefaultKeySize. The key is
// written to a temporary file in the same directory, synced and renamed over
// path, so a reader never sees a partial key and an existing key is
// replaced whole.
func GenerateKey(path string, size int) (err error) {
	if size == 0 {
		size = DefaultKeySize
	}
	if err := checkKeySize(size); err != nil {
		return err
	}
	key := make([]byte, size)
	if _, err := rand.Read(key); err != nil {
		return fmt.Errorf("udp: draw key: %w", err)
	}
	dir, base := filepath.Split(path)
	if dir == "" {
		dir = "."
	}
	f, err := os.CreateTemp(dir, "."+base+".tmp*")
	if err != nil {
		return fmt.Errorf("udp: Could not create key file in %s: %w", dir, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(tmp)
		}
	}()
	if err := f.Chmod(0o400); err != nil {
		return fmt.Errorf("udp: chmod %s: %w", tmp, err)
	}
	if _, err := f.Write(key); err != nil {
		return fmt.Errorf("udp: write %s: %w", tmp, err)
	}
	if err := f.Sync(); err != nil {
		return fmt.Errorf("udp: sync %s: %w", tmp, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("udp: close %s: %w", tmp, err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return fmt.Errorf("udp: install key %s: %w", path, err)
	}
	return nil
}
