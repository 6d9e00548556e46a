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
//     status shows until the new corosync.conf arrives.
//  5. Arbiter: the qdevice's stream operations. The qnetd client is not
//     implemented yet: with a quorum.device the agent logs that once and
//     ignores the operations, so the device never votes.
//
// Then the loop acknowledges the batch (Node.Ack) and publishes the
// metrics snapshot. Only then does it act on Ready.Results, the completions
// of its own store operations (their continuations may issue new ones),
// and on the cluster configuration (below); when either gave the node work
// it performs the next batch at once. Finally it re-arms its timer for the
// new deadline, converted from engine.Instant (nanoseconds since the agent
// started, read with time.Since on the monotonic clock).
//
// # Cluster configuration
//
// The cluster's corosync.conf lives in the replicated store under
// ConfigKey, as /etc/pve/corosync.conf lives in pmxcfs. The lowest member
// of a quorate ring seeds it from its file when the store has none. Every
// change goes through editConfig (the loop) or editClusterConfig (other
// goroutines): a function from the current text to the new one, applied as
// a compare-and-set on the version read and redone on the newer text when
// a concurrent change won, so that no change is lost. add and delnode use
// it; so can any command that must change the file cluster-wide. An agent
// that sees a delivered copy with a higher totem.config_version than its
// file rewrites the file atomically and applies it with engine.Node.Reload;
// a change Reload refuses with engine.ErrRestartRequired makes it restart
// the engine in-process from its persisted state after restartDelay. New
// peers get new UDP sockets (the transport is rebound).
//
// # Joining
//
// The join listener (TCP, by default on link 0's address and port) serves
// `quorate add`: a nonce exchange, then one sealed request and one sealed
// reply, keyed by HKDF from the cluster authkey or a single-use join token
// (see join.go for the protocol, token.go for the tokens). The member checks
// the new node's name, id and addresses, adds it through the configuration
// path above and returns the new corosync.conf and the authkey.
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
// with the protocol's own inputs. See Request for the commands. delnode and
// join-token answer once their change is committed in the store.
//
// # Metrics
//
// With Options.MetricsAddr the agent serves /metrics from a private
// Prometheus registry: membership, ring sequence, the votequorum numbers,
// per-peer link state, and the transport's, link layer's and Totem's
// counters. The loop publishes a snapshot after each Ready; a scrape reads
// the latest snapshot and never waits for the loop.
package agent
