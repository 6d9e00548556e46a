// Package qnetd is quorate's quorum device arbiter daemon (what
// corosync-qnetd is to corosync-qdevice) and the client side of its
// transport, which the agent's qdevice uses.
//
// # The daemon
//
// One goroutine (the loop) owns one quorum.Arbiter per cluster name: the
// engine's deterministic ffsplit/lms arbiter, driven here by the monotonic
// clock as agent drives engine.Node. Each TCP connection has a reader
// goroutine, which runs the TLS 1.3 handshake and the hello and then feeds
// frames into the loop through a channel, and a writer goroutine draining a
// bounded queue the loop fills without blocking. A cluster's arbiter is
// created when its first node connects and dropped with its last.
//
// # The stream
//
// Frames are a 4-byte big-endian length and at most MaxFrame bytes. The
// first frame each way is a hello: the client names its cluster and node
// (the cluster must be its certificate's CommonName), the daemon answers
// OK or a reason and closes. Every later frame is one quorum.DevMsg. A
// frame that is empty, too long or cut short closes that connection and is
// counted (bad_frames); the daemon itself never stops for a client's bytes.
// A node that connects again replaces its old connection, as the arbiter's
// Connect does: what the old one still carries is dropped.
//
// # Certificates
//
// Init creates, in the data directory, an ECDSA P-256 CA and a server
// certificate for the names the nodes dial (quorum.device.net.host). Enroll
// issues a cluster's client bundle from that CA; LoadBundle checks one
// (signed by its CA, within its validity, naming a cluster, key matching)
// with errors that name the file. Dial is the client's connection: TCP,
// TLS with the server name checked against the configured host, hello.
package qnetd
