package main

import (
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/quorate/quorate/agent"
)

// newLoadCmd is `quorate load`: the agent's load generator, in the manner
// of corosync's cpgbench.
func newLoadCmd() *cobra.Command {
	var (
		spec    agent.LoadSpec
		show    bool
		measure time.Duration
	)
	c := adminCmd("load [--count N --size BYTES [--rate R] [--window W]] | --show",
		"Multicast test messages through the total order and show what arrived",
		`Make the agent multicast --count application messages of --size bytes
(28 to 1048575, including a 28-byte header) through Totem's total order, at
most --rate per second (0: as fast as the ring takes them) and with at most
--window of them not yet delivered back (0: no limit; 1 sends the next
message only when the last one came back). The agent keeps Totem's queue
short while it sends, as corosync's IPC does with CS_ERR_TRY_AGAIN. A new
run replaces the current one; --count 0 stops it.

--show prints what the agent counted: its own messages sent, the load
messages it delivered from every node, the sequence and agreed-order checks
(the digest is the same on every node that delivered the same messages in
the same order) and the latency from Multicast to delivery, of its own
messages and of the other nodes' (the latter only means something when the
nodes share one machine's clock).

--measure D reads the counters twice, D apart, and prints one line of
key=value pairs for that window: the load messages delivered here per
second (from every sender), this agent's own messages delivered back, and
their Multicast-to-delivery latency p50 and p99 in microseconds (the
figures of scripts/bench/side-by-side.sh, beside corosync's cpgbench).

Exit status: 0 on success, 1 when the agent cannot be reached, 2 when a
value is out of range.`,
		exactArgs(0), func(cmd *cobra.Command, socket string, _ []string) error {
			if cmd.Flags().Changed("measure") {
				if measure <= 0 || show || cmd.Flags().Changed("count") {
					return badInput(fmt.Errorf("load: --measure takes a positive duration and neither --show nor --count"))
				}
				return measureLoad(cmd.OutOrStdout(), socket, measure)
			}
			if show {
				resp, err := ask(socket, agent.Request{Cmd: agent.CmdStats})
				if err != nil {
					return err
				}
				printLoad(cmd.OutOrStdout(), resp.Stats.Load)
				return nil
			}
			if !cmd.Flags().Changed("count") {
				return badInput(fmt.Errorf("load: give --count N (0 stops the current run) or --show"))
			}
			if _, err := ask(socket, agent.Request{Cmd: agent.CmdLoad, Load: &spec}); err != nil {
				return err
			}
			if spec.Count == 0 {
				fmt.Fprintln(cmd.OutOrStdout(), "Load stopped.")
			} else {
				fmt.Fprintf(cmd.OutOrStdout(), "Load started: %d messages of %d bytes.\n", spec.Count, spec.Size)
			}
			return nil
		})
	f := c.Flags()
	f.IntVar(&spec.Count, "count", 0, "messages to multicast (0 stops the current run)")
	f.IntVar(&spec.Size, "size", 64, "bytes per message, including the 28-byte header")
	f.Float64Var(&spec.Rate, "rate", 0, "messages per second at most (0: as fast as the ring takes them)")
	f.IntVar(&spec.Window, "window", 0, "own messages sent and not yet delivered back, at most (0: no limit)")
	f.BoolVar(&show, "show", false, "print the load counters and latencies instead")
	f.DurationVar(&measure, "measure", 0, "print the delivery rate and latency over this window instead")
	return c
}

// measureLoad prints the load figures of the window of length d that
// starts now.
func measureLoad(w io.Writer, socket string, d time.Duration) error {
	first, err := ask(socket, agent.Request{Cmd: agent.CmdStats})
	if err != nil {
		return err
	}
	t0 := time.Now()
	time.Sleep(d)
	last, err := ask(socket, agent.Request{Cmd: agent.CmdStats})
	if err != nil {
		return err
	}
	secs := time.Since(t0).Seconds()
	a, b := first.Stats.Load, last.Stats.Load
	own := b.OwnLatency.Sub(a.OwnLatency)
	us := func(d time.Duration) string { return fmt.Sprintf("%.1f", float64(d)/float64(time.Microsecond)) }
	p50, p99 := "-", "-"
	if own.Count > 0 {
		p50, p99 = us(own.Quantile(0.5)), us(own.Quantile(0.99))
	}
	fmt.Fprintf(w, "window_s=%.3f delivered=%d msgs_per_s=%.0f own=%d lat_p50_us=%s lat_p99_us=%s gaps=%d reorders=%d\n",
		secs, b.Delivered-a.Delivered, float64(b.Delivered-a.Delivered)/secs, own.Count, p50, p99,
		b.Gaps-a.Gaps, b.Reorders-a.Reorders)
	return nil
}

// printLoad prints the load counters of one agent.
func printLoad(w io.Writer, li *agent.LoadInfo) {
	state := "idle"
	if li.Running {
		state = "running"
	}
	if s := li.Spec; s != nil {
		state += fmt.Sprintf(" (count %d, size %d B, rate %g/s, window %d; %d remaining)", s.Count, s.Size, s.Rate, s.Window, li.Remaining)
	}
	fmt.Fprintf(w, "Generator:      %s\n", state)
	fmt.Fprintf(w, "Sent:           %d (in flight %d, throttled %d times)\n", li.Sent, li.InFlight, li.Throttled)
	var by []string
	for _, name := range slices.Sorted(maps.Keys(li.BySender)) {
		by = append(by, fmt.Sprintf("%s %d", name, li.BySender[name]))
	}
	fmt.Fprintf(w, "Delivered:      %d (%s)\n", li.Delivered, strings.Join(by, ", "))
	fmt.Fprintf(w, "Order:          digest %s, gaps %d, reorders %d\n", li.Digest, li.Gaps, li.Reorders)
	fmt.Fprintf(w, "Own latency:    %s\n", latencyLine(li.OwnLatency))
	fmt.Fprintf(w, "Peer latency:   %s\n", latencyLine(li.PeerLatency))
	if li.Skewed > 0 {
		fmt.Fprintf(w, "Skewed:         %d peer messages from another clock, not timed\n", li.Skewed)
	}
}

func latencyLine(h agent.LatencyHistogram) string {
	if h.Count == 0 {
		return "no messages"
	}
	msf := func(d time.Duration) string { return fmt.Sprintf("%.3f ms", float64(d)/float64(time.Millisecond)) }
	return fmt.Sprintf("p50 %s, p99 %s, max %s, mean %s (%d messages)",
		msf(h.Quantile(0.5)), msf(h.Quantile(0.99)), msf(h.Max()), msf(h.Mean()), h.Count)
}
