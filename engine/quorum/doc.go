// Package quorum implements corosync's vote quorum (votequorum) and the
// quorum device (corosync-qdevice with model net, and the corosync-qnetd
// arbiter) as deterministic state machines. The reference is
// docs/reference/quorum.md; comments cite its sections (§) and the
// corosync functions each rule mirrors.
//
// Nothing here reads a clock, opens a socket, starts a goroutine or draws
// randomness. Time comes in as `now wire.Instant`; everything a machine
// wants done comes out of Ready as values, in order.
//
// # The pure rules
//
// The arithmetic is available without any state machine, for tests, linters
// and reports:
//
//   - InitialExpected: a node's starting votes and expected votes from the
//     nodelist, quorum.expected_votes and a quorum device's default N−1
//     votes (votequorum_readconfig, votequorum_read_nodelist_configuration; §1.1).
//   - CalculateQuorum: max(⌊highest/2⌋+1, ⌊total/2⌋+1), never decreasing
//     unless allowed, 1 for two_node with at most two voters (calculate_quorum; §1.2).
//   - AreWeQuorate: the wait_for_all gate, the vote count, auto_tie_breaker
//     lowest/highest/list, master_wins, wait_for_all re-armed on loss
//     (are_we_quorate, check_auto_tie_breaker, check_qdevice_master; §1.4, §2.2, §2.4).
//   - LMSTimerShouldStart: when last_man_standing's window starts
//     (votequorum_sync_init; §2.3).
//   - CheckSetExpected: whether `pvecm expected N` is accepted
//     (message_handler_req_lib_votequorum_setexpected; §2.6).
//
// # Driving a Quorum
//
// A Quorum is one node's votequorum. It sits above Totem and depends on no
// Totem type: the driver (the engine root) feeds it Totem's output and
// multicasts what it emits.
//
//	q, err := quorum.New(cfg, now)       // bad config is an error (votequorum_exec_init_fn)
//	for {
//		rd := q.Ready()
//		for _, m := range rd.Multicast { totem.Multicast(now, frame(m)) } // agreed order
//		for _, op := range rd.Arbiter { stream(op) }                     // only with a qdevice
//		for _, e := range rd.Events { trace(e) }
//		q.Ack()
//		// then, as things happen:
//		q.Configuration(now, ring, members) // every REGULAR configuration (transitional ones are not needed)
//		q.Deliver(now, sender, payload)     // every delivered votequorum message, own ones included
//		q.Advance(now)                      // when now reaches rd.Deadline
//	}
//
// Configuration runs votequorum's sync (votequorum_sync_init,
// votequorum_sync_process, votequorum_sync_activate; §3): departed members
// become DEAD, every member re-announces its NODEINFO (and the device's),
// and once this node's qdevice polled with the new ring id (or
// quorum.device.sync_timeout passed) it multicasts a SYNC_BARRIER. When
// every member's barrier is delivered, sync ends with a final
// recalculation, reported as EventSync. Quorum transitions are reported
// as EventQuorate / EventInquorate, during sync only at its end, as
// corosync reports them.
//
// Deliver handles NODEINFO (message_handler_req_exec_votequorum_nodeinfo),
// RECONFIGURE (message_handler_req_exec_votequorum_reconfigure),
// QDEVICE_REG and QDEVICE_RECONFIGURE (…_qdevice_reg, …_qdevice_reconfigure),
// the barrier, and NODELIST_DEL. After each, recalculate_quorum grows
// expected votes to the votes present, recomputes Quorum (allowing a
// decrease only in the cases of §1.3) and re-evaluates quorate. Input that
// does not decode, comes from a non-member or claims another node's
// identity is dropped, counted in Stats and reported as EventDropped; it is
// never an error and never a panic.
//
// Advance fires the last_man_standing window
// (votequorum_last_man_standing_timer_fn), the qdevice poll timeout
// (qdevice_timer_fn) and the qdevice client's timers.
//
// Messages are this package's own compact binary encoding (AppendMessage,
// DecodeMessage): a kind byte and big-endian fields. Totem carries other
// services' messages too, so the driver should frame votequorum's (a
// service byte, say) and hand Deliver the payload as AppendMessage made it.
//
// The administrative calls act on this node and, like corosync's, reach the
// others through a multicast: SetExpected (pvecm expected N), SetVotes
// (corosync-quorumtool -v), CancelWaitForAll (quorum.cancel_wait_for_all),
// RemoveNode (pvecm delnode, §2.7) and Reload (corosync-cfgtool -R,
// votequorum_refresh_config; §2.8). They return ErrInvalidParam and
// friends for what corosync refuses. Status returns what
// `corosync-quorumtool -s` prints: Expected votes, Highest expected, Total
// votes, Quorum, the Flags words in corosync's order, and one row per member
// with its votes and Qdevice column (A/NA, V/NV, MW/NMW, NR).
//
// # The quorum device
//
// With Config.Device set, the Quorum also runs that node's qdevice daemon
// (qdevice-net-*.c): it registers the device with votequorum (a QDEVICE_REG
// round trip), opens a stream to the arbiter, reports the configured
// nodelist, each new membership and each quorum change, sends heartbeats
// (echo requests every 0.8 × quorum.device.timeout), and polls votequorum
// every 0.5 × timeout with its cast-vote decision
// (qdevice-net-cast-vote-timer.c, message_handler_req_lib_votequorum_qdevice_poll).
// The poll sets this node's QDEVICE_ALIVE and QDEVICE_CAST_VOTE flags; Total
// votes include the device's votes only while this node's own device casts.
// On a lost connection or a missing echo reply the algorithm decides: ffsplit
// votes NACK at once, lms keeps its vote only when quorate with wait_for_all.
//
// The stream is the driver's: a reliable ordered byte stream such as TCP,
// with whatever latency it likes. Ready.Arbiter lists what the device wants
// done on it, in order: Dial (open a new stream, forgetting the old one),
// one message Payload to write, or Hangup. The driver answers with
// ArbiterConnected, one ArbiterReceive per message, and ArbiterClosed if the
// peer closes. A silently dead arbiter needs nothing: the device notices the
// missing echo replies. StopDevice and StartDevice kill and restart the
// daemon (its node then shows NA after the timeout).
//
// # Driving an Arbiter
//
// An Arbiter is one corosync-qnetd serving one cluster, with the ffsplit
// and lms algorithms and the lowest, highest and nodeid tie-breakers
// (qnetd-algo-ffsplit.c, qnetd-algo-lms.c, qnetd-algo-utils.c):
//
//	a := quorum.NewArbiter()
//	a.Connect(now, node)          // a node's Dial reached the arbiter
//	a.Receive(now, node, payload) // one message from that node's stream
//	a.Disconnect(now, node)       // that stream closed
//	a.Advance(now)                // at rd.Deadline: dead-peer detection, lms retries
//	rd := a.Ready()               // rd.Out: messages to write, streams to Close
//	a.Ack()
//
// ffsplit waits for a stable membership, ranks partitions (majority, then
// for an exact half: connected clients, the previously quorate partition,
// the tie-breaker), NACKs the losers and ACKs the winners only once every
// NACK was acknowledged. lms ACKs a lone partition, NACKs a newcomer while
// another partition holds the vote, and otherwise prefers the best score,
// then the largest partition, then the tie-breaker. A client silent for 1.5
// heartbeats is dropped (qnetd-client-dpd-timer.c). An arbiter that fails
// silently is simply no longer driven; a restarted one is a NewArbiter.
//
// # Simplifications
//
// allow_downscale and expected_votes_tracking are not implemented (Proxmox
// never sets them), although a received LEAVING flag is honoured as
// corosync does. Heuristics are off (every partition's score is its number
// of connected clients), TLS and cluster names are not modelled (an Arbiter
// serves one cluster), the heartbeat does not switch to the longer sync
// interval during sync, qdevice waits the mean of its random reconnect
// delay, and the lms nodeid tie-breaker grants the named node's partition
// rather than reproducing qnetd's comparison with the asking client.
package quorum
