// Package lab runs a scenario on real agents: the testbed half of
// Quorate, beside the simulator.
//
// Run builds, per run id, one network namespace per node and a fabric
// namespace with one Linux bridge per switch (netlink), writes a
// corosync.conf from the scenario's cluster with addresses that exist only
// inside those namespaces, and starts a `quorate agent` per node in its
// namespace (and a qnetd on a host of its own when the scenario has a
// quorum device). It then carries out the scenario's faults in wall-clock
// time by real mechanisms:
//
//   - switch_down/up: the switch's bridge down/up; link_down/up: the
//     node's port on that bridge.
//   - partition, isolate, drop, heal: nftables rules per node namespace,
//     rendered from the same cut semantics as netmodel's (cuts); set_loss
//     and a link's loss: nftables numgen random drops.
//   - set_latency and link latency: the agents' own transport delay,
//     set through the admin socket.
//   - crash and power_off: SIGKILL; restart and cold_start: the agent
//     started again (cold-start delays drawn from the simulator's stream).
//   - set_expected, delnode: the operator commands against the admin
//     socket; qnetd_down/up: the qnetd host's network and process.
//
// The kv workload runs through the agents' store with the simulator's
// client semantics; the multicast workload through the agents' load
// generator. When the scenario's duration is over, the lab reads every
// agent's end state from its admin socket, stops the agents, and feeds the
// journals and delivery logs, merged with the instants of its own actions,
// to sim.Recording: the simulator's observer, checkers and expectations
// judge the run and fill the same reports.Result, and the run directory
// gets the same result.json and a trace.jsonl that `quorate report` draws.
//
// Compare puts a lab run beside a simulated run of the same scenario and
// seed. Everything Run creates carries the run id and is removed when it
// returns, whatever the outcome, and when its context is cancelled.
package lab
