// Package journal is the format of the agent's flight recorder and the
// importer that turns the journals of a real cluster into a scenario.
//
// The agent (package agent) writes one Record per line: its start with a
// summary of corosync.conf, link up and down per peer and link, active
// link changes, memberships, votequorum's numbers, its stop. The format is
// defined here rather than in the agent because the importer, which sits
// beside the scenario loader below the simulator and the agent, must read
// it; the agent only writes it.
//
// Parse reads one file and tolerates what a kill -9 leaves: a torn last
// line, or a torn line just before the record of the next start. Import
// merges several files by wall-clock time and writes a scenario whose
// cluster is the journals' and whose faults reproduce what they recorded
// (see Import for the rules), checked by the scenario loader before it is
// returned, and the observed Sequences of member sets, which a test
// compares with the simulator's timeline. Every error about the input is
// an *Error naming file:line and wraps ErrInput.
package journal
