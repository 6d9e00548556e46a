// Package udp is the real transport behind netmodel.Transport: what knet is
// to corosync 3, reduced to what the engine needs. Each configured link
// (corosync's ringX_addr, port 5405+X) is one UDP socket; every packet is
// sealed with AES-256-GCM under a key derived from the cluster's authkey;
// every received packet must come from the configured address of a known
// peer on that link, authenticate, and not be a replay before the engine
// sees it. Link liveness, link selection and fragmentation stay in the
// engine (engine/links); this package only moves sealed datagrams.
//
// # How the agent uses it
//
// The agent has one loop goroutine that owns the engine.Node (style guide
// §1). The transport's reader goroutines call the receive callback, so the
// agent funnels them into its loop with a buffered channel:
//
//	key, err := udp.LoadKey("/etc/corosync/authkey")
//	in := make(chan inbound, 1024) // inbound{link, from, payload}
//	tr, err := udp.Listen(udp.Config{Self: 1, Local: local, Peers: peers, Key: key},
//		func(link wire.LinkNo, from wire.NodeID, b []byte) {
//			select {
//			case in <- inbound{link, from, b}:
//			default: // the loop is behind: lose it, as a full socket buffer would
//			}
//		})
//	defer tr.Close()
//	for {
//		select {
//		case m := <-in:
//			n.Step(now(), m.link, m.from, m.payload)
//		case <-deadline.C:
//			n.Advance(now())
//		}
//		rd := n.Ready()
//		tr.SendBatch(rd.Outbox) // writes or queues; loss is silent and counted
//		n.Ack(rd)
//	}
//
// Send seals and writes the datagram itself when its link's queue is empty
// and no delay applies, as corosync's single thread does: a packet then
// costs no hand-off between goroutines. Otherwise it queues the datagram on
// its link (a bounded queue; a full queue drops) and returns; one writer
// goroutine per link seals and writes in queue order. A mutex per link
// covers both, so the engine's send order (and the counters' order) is
// kept on each link. Config.Delay adds a per-packet delay in that writer:
// the test kernels have no netem, so real-mode tests and the agent delay
// traffic here instead.
//
// SendBatch sends a whole Ready batch as Send would, but writes each run of
// equal-sized datagrams to one peer on one link with one segmented write
// (UDP_SEGMENT): a Totem node that holds the token sends the same message
// sizes to every other member, so a visit of the token costs a system call
// per peer instead of one per packet. The receive callback may hand its
// payloads back with Recycle, so that a flood allocates few buffers.
//
// # Wire format
//
// A packet is a 24-byte clear header followed by the GCM sealing of the
// engine's frame (wire.AppendFrame's bytes) and the 16-byte tag; Overhead is
// 40 bytes:
//
//	0   2  magic "QU" (0x51 0x55)
//	2   1  version 1
//	3   1  link number
//	4   4  sender node id
//	8   4  destination node id
//	12  4  epoch (random per process start; the nonce salt)
//	16  8  counter (per sender and link; nanoseconds at start, +1 per packet)
//	24  n  ciphertext
//	24+n 16 GCM tag
//
// The GCM nonce is epoch || counter (header bytes 12..24) and the whole
// header is the additional data. The sender, the destination and the link are
// therefore authenticated: a packet cannot be moved to another link or
// another receiver, or credited to another sender, without failing the tag.
// The counter reveals the sender's start time; nothing else is in the clear
// that the source address does not already say.
//
// # Keys
//
// The authkey (LoadKey: 128 to 4096 bytes, as knet; GenerateKey writes one
// like corosync-keygen) never encrypts anything itself. HKDF-SHA256 with a
// fixed salt extracts a pseudorandom key from it, and HKDF-Expand derives one
// AES-256 key per (sender, link) with the versioned info string
// "quorate netmodel/udp v1 aes-256-gcm sender-link key" followed by the
// sender id and the link number. One key per counter keeps GCM's nonces
// unique without any coordination; Sealer's documentation gives the
// reasoning. Any node holding the authkey can derive every key: like knet,
// the key proves membership of the cluster, not the identity of a node; the
// address check (below) and the engine's own checks stand for identity.
//
// # Checks on receive
//
// Each reader runs the checks below on every packet, cheapest first, and
// stops at the first that fails; the packet is then dropped, counted under
// that Reason in Stats.Rejected, and never parsed further:
//
//  1. the source address is the configured address of a peer on this link
//     (knet's block_unlisted_ips): RejectUnknownSource;
//  2. size: at most MaxPacket (RejectOversized), at least Overhead
//     (RejectBadSize);
//  3. magic, version and link number in range: RejectBadHeader;
//  4. the header's link is this socket's link (RejectWrongLink), its sender
//     the node at the source address (RejectSenderMismatch), its
//     destination this node (RejectWrongDest);
//  5. the replay window of (sender, link) has not seen the counter, and the
//     epoch is current or newer: RejectReplayed;
//  6. the GCM tag verifies: RejectAuth.
//
// Only a packet that passes all six moves the replay window and reaches the
// callback (Stats.Received).
//
// # Replay protection
//
// Per (peer, link) the receiver keeps a sliding window over the counter (at
// least 961 and up to WindowSize = 1024 counters wide) plus the peer's
// current epoch. A restarted peer draws a new random epoch and starts its
// counters at its wall clock, above every counter it used before; the
// receiver adopts the new epoch, and resets the window to it, only when a
// packet with a higher counter authenticates. An attacker without the key
// can neither forge a new epoch nor move a window. The windows are not
// persisted; replay.go spells out what that and the reliance on wall clocks
// leave open.
//
// # Counters
//
// Stats counts what was sent (Sent), failed in the socket (SendErrors),
// dropped before the socket by reason (Dropped: no_route, oversized,
// filtered, queue_full, closed), received (Received), rejected by reason
// (Rejected, as above) and failed to read (ReadErrors). The agent logs them
// and exposes them with its link status.
package udp
