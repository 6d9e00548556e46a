package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/client"
)

// newWatchCmd is `quorate watch`: the agent's event stream for scripts.
func newWatchCmd() *cobra.Command {
	var count int
	c := adminCmd("watch", "Print the agent's membership, quorum, link and store events as JSON lines",
		`Print the local agent's watch stream, one JSON object per line, until
SIGINT/SIGTERM (or --count events): first a snapshot ("type":"state"), then
every change as it happens: "membership" (a new ring and its members),
"quorum" (this node's quorum or votes), "link" (a link to a peer up or
down) and "store" (an entry written or removed, its path and version).
Every line carries the node, the ring id, quorate and config_version.

  quorate watch | while read -r ev; do ...; done

This is the stream the Go package github.com/quorate/quorate/client reads
(Client.Watch); docs/ops.md §16 has a complete service built on it.

Exit status: 0 after a signal or --count events; 1 when the agent cannot be
reached or the stream ends (the agent stopped, or this reader fell behind);
2 for bad flags.`,
		exactArgs(0), func(cmd *cobra.Command, socket string, _ []string) error {
			if count < 0 {
				return badInput(fmt.Errorf("watch: --count %d: want 0 (no limit) or more", count))
			}
			ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
			defer stop()
			w, err := client.New(socket).Watch(ctx)
			if errors.Is(err, client.ErrUnreachable) {
				return &exitError{Code: exitFailed, Err: fmt.Errorf("cannot reach the agent at %s: is `quorate agent` running? (%v)", socket, innermost(err))}
			}
			if err != nil {
				return &exitError{Code: exitFailed, Err: err}
			}
			defer w.Close()
			enc := json.NewEncoder(cmd.OutOrStdout())
			for n := 0; count == 0 || n < count; n++ {
				e, err := w.Next()
				if err != nil {
					if ctx.Err() != nil {
						return nil
					}
					return &exitError{Code: exitFailed, Err: fmt.Errorf("watch: %w", err)}
				}
				if err := enc.Encode(e); err != nil {
					return &exitError{Code: exitFailed, Err: err}
				}
			}
			return nil
		})
	c.Flags().IntVar(&count, "count", 0, "stop after this many events (0: until a signal)")
	return c
}
