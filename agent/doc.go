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
// ever touches it. The loop waits on four sources:
//
//	in      datagrams from the transport's reader goroutines, funnelled
//	        through a buffered channel (a full channel drops the datagram
//	        and counts it, as a full socket buffer would)
//	timer   the engine's next deadline (Ready.Deadline)
//	admin   requests from the admin socket, each with its reply channel
//	qdevice events of the qdevice's stream to qnetd (connected, a frame,
//	        closed, a failed dial), each tagged with its dial's epoch
//
// and, after each input, performs the node's Ready batch in the order the
// engine demands:
//
//  1. Persist: the ring sequence number and the replicated store's state
//     are committed to config.db in the data directory (package configdb:
//     one SQLite transaction of the rows that changed, durable when it
//     returns) before anything of the batch is sent or any Result is
//     reported; a failed write stops the agent, as a node that cannot keep
//     its ring id or its store must not speak.
//  2. Outbox: the batch's datagrams go to the UDP transport (SendBatch,
//     one segmented write per run of equal-sized datagrams to a peer),
//     which never blocks.
//  3. Events: one slog line per event (link up/down, active link,
//     membership, quorum, Totem state changes), and for the kinds an
//     incident is rebuilt from (links, active link, membership) a
//     journal record; after the events, a quorum record when
//     votequorum's numbers changed.
//  4. Deliver: counted (votequorum and the store consume them inside the
//     engine); a delivered NODELIST_DEL bumps the config version the
//     status shows until the new corosync.conf arrives; application
//     messages go to the load checks.
//  5. Results: completions of the store operations this node submitted
//     for cfs commands, each answering the admin call that waits for it
//     (see The store below).
//  6. Arbiter: the qdevice's stream operations (see below).
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
// that sees a delivered copy asks the engine whether and when to take it
// (engine.Node.PlanInstall: a higher totem.config_version, after
// engine.RestartGrace when it removes running members), rewrites the file
// atomically and applies it with engine.Node.Apply: live, or by a restart
// in-process from its persisted state when the engine's Ready.Restart says
// the node's turn has come. What the change needs of the agent the engine
// asks in its Ready: new sockets (Rebind), the qdevice's stream and bundle
// (Device).
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
// # The store
//
// config.db holds engine.State: the ring sequence and the replicated
// configuration store (engine/store), one row per entry. Run opens it
// before the engine is built, so the node restarts with the ring sequence
// and the store it last committed; configdb refuses a damaged database or
// another node's, and imports the JSON state file of earlier versions
// (ringid_<nodeid>.json) once. The package doc of configdb gives the
// durability argument: WAL journal, synchronous=FULL, one transaction per
// Persist.
//
// The cfs admin commands use the store. A local get (the default, as
// pmxcfs reads) and ls answer inside the loop at once from the local
// replica: ls lists the State last persisted, which after every flush is
// that replica. put, rm and an ordered get are submitted to the engine,
// which refuses them at once without quorum (store.ErrReadOnly: "the
// cluster is not quorate: the configuration store is read-only") or
// returns an OpID. The loop keeps the waiting call under that OpID and
// answers it when the matching Result comes in a later Ready, after that
// Ready's Persist was committed: so a write is acknowledged only when this
// node has it on disk, and the store releases the Result only once every
// member of the configuration applied it. Calls still pending when the
// loop stops are answered with an error saying the outcome is unknown.
//
// # The qdevice
//
// With a quorum.device (model net) in corosync.conf, the engine's
// votequorum runs the qdevice client and asks for a stream to qnetd
// (Ready.Arbiter); the agent carries it over TCP with TLS 1.3 to `quorate
// qnetd` (package qnetd). The client bundle (the qnetd's CA, a client
// certificate naming the cluster, its key) is read at start from
// Options.QdeviceBundle, default <data-dir>/qdevice.pem; a missing or
// invalid bundle, or one for another cluster, is a configuration error.
// `quorate qdevice setup` on a running cluster (CmdQdeviceSetup, see
// qdevsetup.go) puts the bundle into the store (BundleKey) and the device
// into the distributed corosync.conf; each agent's engine restart for that
// configuration installs the bundle from the store and replaces the
// qdevice client, which the loop's select follows.
//
// A Dial starts a new epoch and a goroutine that connects (TCP, TLS with
// the qnetd's certificate checked against quorum.device.net.host, the
// hello) within a bounded time and then reads frames; everything it
// reports goes through a channel to the loop, tagged with its epoch, and
// the loop alone calls Node.ArbiterConnected, ArbiterReceive and
// ArbiterClosed. A Hangup or a new Dial closes the old stream and bumps
// the epoch, so an old stream's bytes are dropped, never handed to the
// engine as the new stream's. Writes go through a bounded queue to a
// writer goroutine; the loop never blocks on the network. A failed dial
// (refused, TLS, refused hello) is logged and counted but not reported to
// the engine: its connect timeout paces the redials, as qdevice's
// reconnect timer does, instead of a refused TCP connection making it
// redial at once. The admin socket's stats answer and the metrics show
// whether the stream is up, the frames each way, dial failures and
// reconnects.
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
// the answer, so status, expected votes, node removal and store operations
// are serialised with the protocol's own inputs. See Request for the
// commands. delnode, join-token, cfs put and rm and an ordered cfs get
// answer once their operation is committed in the store.
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
