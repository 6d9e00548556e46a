// Package corolog reads the logs a real Corosync 3 cluster leaves behind
// and turns an incident into a scenario that replays it.
//
// Parse reads one file in any of the shapes these logs come in: corosync's
// own logfile (with or without `timestamp: hires`), a syslog file (the
// traditional "Dec  6" form or rsyslog's RFC 3339 one) and journalctl's
// short, short-precise and short-iso outputs, one host per file or many
// hosts in one journal. Lines of other programs are kept only for pmxcfs;
// journalctl's "-- Boot ... --" markers are skipped. Every corosync and
// pmxcfs message is classified into an Event (knet link up and down,
// memberships, quorum verdicts, token losses, retransmissions, starts and
// stops, config reloads); other messages are kept as they are.
//
// Import recognises the node behind each host's lines (its own link
// address, the host knet calls joined at start-up, the one node never
// named as a knet peer), aligns the nodes' clocks on the memberships every
// member logs, infers loss from Totem's retransmissions, and hands the
// result, as the records of the agents' flight recorder, to the journal
// importer (package scenarios/journal), which infers the link faults,
// crashes and restarts and writes the scenario. One mechanism thus turns
// both kinds of logs into scenarios, and the observed membership sequence
// is the same journal.Sequences in both.
//
// Every error about the input names file:line and wraps ErrInput.
package corolog
