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
//     membership, quorum, Totem state changes), and for the kinds an
//     incident is rebuilt from (links, active link, membership) a
//     journal record; after the events, a quorum record when
//     votequorum's numbers changed.
//  4. Deliver: counted (votequorum and the store consume them inside the
//     engine); a delivered NODELIST_DEL bumps the config version the
//     status shows. The agent issues no store operations yet, so
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
// # Flight recorder
//
// The journal (Options.Journal, default <DataDir>/journal.jsonl) is one
// JSON record per line in the format of package scenarios/journal, which
// also reads it back and turns the journals of a cluster into a scenario
// (quorate trace import). The agent writes a start record with a summary
// of corosync.conf before the loop runs and a stop record when it ends;
// every record carries the wall clock, which merges the nodes' journals,
// and the engine's monotonic instant, which orders one run's records
// exactly. Each record is one write(2) with O_APPEND and no fsync: a
// killed agent loses at most the line being written, and the loop never
// waits for a disk flush (see recorder). The file rotates to .1 at
// Options.JournalMax.
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
// # Metrics
//
// With Options.MetricsAddr the agent serves /metrics from a private
// Prometheus registry: membership, ring sequence, the votequorum numbers,
// per-peer link state, and the transport's, link layer's and Totem's
// counters. The loop publishes a snapshot after each Ready; a scrape reads
// the latest snapshot and never waits for the loop.
package agent
