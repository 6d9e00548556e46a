// Package agent is the real driver of the engine: what `quorate agent` runs
// on every cluster node in place of corosync. It reads an unchanged
// corosync.conf, finds the local node in its nodelist, binds one UDP socket
// per link (netmodel/udp: ringX_addr, port mcastport or 5405+X, every packet
// sealed with the authkey), and drives one engine.Node on the monotonic
// clock. The simulator (package sim) drives the same engine on a virtual
// clock; both put the same bytes on the wire (style guide §1).
//
// # The loop
//
// Run starts exactly one goroutine that owns the engine.Node; nothing else
// ever touches it. The loop waits on three sources:
//
//	in      datagrams from the transport's reader goroutines, funnelled
//	        through a buffered channel (a full channel drops the datagram
//	        and counts it, as a full socket buffer would)
//	timer   the engine's next deadline (Ready.Deadline)
//	admin   requests from the admin socket, each with its reply channel
//
// and, after each input, performs the node's Ready batch in the order the
// engine demands:
//
//  1. Persist: the ring sequence number and the replicated store's
//     snapshot are written to the data directory (temporary file, fsync,
//     rename, fsync of the directory) before anything of the batch is
//     sent; a failed write stops the agent, as a node that cannot keep its
//     ring id must not speak.
//  2. Outbox: each datagram goes to the UDP transport, which never blocks.
//  3. Events: one slog line per event (link up/down, active link,
//     membership, quorum, Totem state changes).
//  4. Deliver: counted (votequorum and the store consume them inside the
//     engine); a delivered NODELIST_DEL bumps the config version the
//     status shows; application messages go to the load checks. The agent issues no store operations yet, so
//     Ready.Results stays empty.
//  5. Arbiter: the qdevice's stream operations. The qnetd client is not
//     implemented yet: with a quorum.device the agent logs that once and
//     ignores the operations, so the device never votes.
//
// Then the loop acknowledges the batch (Node.Ack), publishes the metrics
// snapshot and re-arms its timer for the new deadline, converted from
// engine.Instant (nanoseconds since the agent started, read with
// time.Since on the monotonic clock).
//
// # Randomness
//
// The node's random stream (incarnation, Totem jitter) is a PCG generator
// seeded from crypto/rand unless Options.Seed is set; the seed is logged at
// start so that a run can be replayed in the simulator's terms.
//
// # Admin socket
//
// The admin socket (default /run/quorate/admin.sock, mode 0600) speaks one
// JSON Request and one JSON Response per connection; Call is the client.
// Each connection's goroutine hands its request to the loop and waits for
// the answer, so status, expected votes and node removal are serialised
// with the protocol's own inputs. See Request for the commands.
//
// # Load generator
//
// CmdLoad makes the loop multicast test messages of its own
// (engine.ServiceApp) after each input, within a window, a rate and a bound
// on Totem's pending-send queue; every agent checks and times the load
// messages it delivers and reports them in the stats (load.go).
//
// # Metrics
//
// With Options.MetricsAddr the agent serves /metrics from a private
// Prometheus registry: membership, ring sequence, the votequorum numbers,
// per-peer link state, and the transport's, link layer's and Totem's
// counters. The loop publishes a snapshot after each Ready; a scrape reads
// the latest snapshot and never waits for the loop.
package agent
