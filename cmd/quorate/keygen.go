package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/netmodel/udp"
)

// newKeygenCmd is `quorate keygen`, corosync-keygen's job.
func newKeygenCmd() *cobra.Command {
	var (
		path  string
		size  int
		force bool
	)
	c := &cobra.Command{
		Use:   "keygen [-k FILE] [--size BYTES] [--force]",
		Short: "Write a new cluster authkey (corosync-keygen)",
		Long: `Write --size random bytes (default 256, allowed 128 to 4096) from the OS's
random source to -k FILE (default /etc/corosync/authkey) with mode 0400, as
corosync-keygen does. Copy the same file to every node. An existing file is
replaced only with --force.

Exit status: 0 when written, 1 when writing failed, 2 for bad input or an
existing file without --force.`,
		Args: exactArgs(0),
		RunE: func(cmd *cobra.Command, args []string) error {
			if size < udp.MinKeySize || size > udp.MaxKeySize {
				return badInput(fmt.Errorf("keygen: --size %d: a key has %d to %d bytes", size, udp.MinKeySize, udp.MaxKeySize))
			}
			if _, err := os.Lstat(path); err == nil && !force {
				return badInput(fmt.Errorf("keygen: %s already exists; use --force to replace it", path))
			} else if err != nil && !errors.Is(err, fs.ErrNotExist) {
				return &exitError{Code: exitFailed, Err: fmt.Errorf("keygen: %w", err)}
			}
			w := cmd.OutOrStdout()
			fmt.Fprintf(w, "Gathering %d bits for key from the OS random source.\n", size*8)
			if err := udp.GenerateKey(path, size); err != nil {
				return &exitError{Code: exitFailed, Err: fmt.Errorf("keygen: %w", err)}
			}
			fmt.Fprintf(w, "Writing quorate key to %s.\n", path)
			return nil
		},
	}
	f := c.Flags()
	f.StringVarP(&path, "keyfile", "k", "/etc/corosync/authkey", "the authkey file to write")
	f.IntVarP(&size, "size", "s", udp.DefaultKeySize, "key size in bytes")
	f.BoolVar(&force, "force", false, "replace an existing key file")
	return c
}
