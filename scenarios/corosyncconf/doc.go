// Package corosyncconf reads corosync.conf the way corosync 3 does, so that a
// scenario (cluster.corosync_conf: ./corosync.conf) and the real agent
// (quorate agent --config /etc/corosync/corosync.conf) can take the
// nodelist, totem, quorum and link settings from an unchanged Proxmox file,
// and refuse exactly the files corosync refuses, with corosync's messages.
//
// # Two levels
//
// ParseTree is the grammar alone (exec/coroparse.c, parse_section): lines
// of at most 510 bytes, whole-line '#' comments, "name {" openings, "key:
// value" items split at the first ':', "}" closings, and corosync's
// trimming rules (space, tab and the byte 0xA0 are blanks; a trailing ':'
// after a section name is dropped). It returns a Section tree with line
// numbers and knows nothing about which sections or keys exist. Its errors
// read "parser error: file:line: message", as corosync prints them, and it
// stops at the first one, as corosync does. Section.Format writes a tree
// back in Proxmox's layout.
//
// Parse builds on the tree in two steps. The first replays corosync's parser
// callback: it type-checks the keys corosync checks while reading (integer
// ranges such as u8 for quorum.two_node and knet_link_priority, u64 for
// totem.config_version, ip_version, crypto and compression names,
// ip_dscp, the system enums), names keys as corosync stores them in cmap
// (the k-th node section is nodelist.node.<k-1>, an interface section is
// stored under totem.interface.<linknumber>, logger_subsys under its
// subsys) and applies icmap's key-name rules. These problems are also
// "parser error:" messages, but every one of them is reported, not just the
// first. The second step fills the typed Config and runs the startup checks
// of exec/totemconfig.c (totem_config_read, totem_config_validate,
// totem_volatile_config_validate), exec/votequorum.c
// (votequorum_readconfig) and corosync-qdevice, reporting each with its
// line as "file:line: message" in corosync's words, e.g.
// "parse error in config: The token timeout parameter (10 ms) may not be
// less than (30 ms)." or "configuration error: two_node and quorum device
// cannot be configured at the same time!". Config.Line, Has and Get map
// cmap-style keys ("totem.token", "nodelist.node.2.ring1_addr") to lines and
// raw values so callers can point at the file in their own errors, and
// Config.Marshal writes a Config back as corosync.conf in Proxmox's layout
// (Parse(Marshal(c)) gives the same typed values).
//
// # What is reproduced
//
//   - Timers: a configured 0 means "default" for token, join, consensus,
//     merge, hold, token_retransmit, downcheck and the other timers corosync
//     reads with allow_zero off; token_coefficient, token_warning, send_join
//     keep 0. The minimum checks (30 ms, hold 14 ms, consensus >= join,
//     token_warning <= 100) use the effective token (token plus
//     token_coefficient per node with a link-0 address beyond two) and the
//     derived token_retransmit, hold and consensus, with corosync's float
//     arithmetic. The typed Totem keeps the derived fields zero when unset;
//     the engine derives them.
//   - Links: a link exists when a node has ringX_addr or an interface
//     section stores something for it (an interface section holding only
//     linknumber is invisible, as in corosync). With several links every
//     node needs a name; every node needs an address on every link; literal
//     addresses of one link share an IP family and must suit ip_version.
//     Host names are kept as written; resolving them is the caller's job.
//   - Legacy corosync 2 files, as Proxmox documented them: ringnumber,
//     rrp_mode and bindnetaddr are accepted and ignored (with a warning).
//     Without linknumber every interface section is link 0, and corosync
//     merges repeated sections (later keys win), so a corosync 2 "ringnumber:
//     1" section is not link 1; link 1 then exists through ring1_addr.
//   - Nodes: knet needs an explicit nodeid, non-zero and below 65536, unique;
//     udp/udpu derive it from an IPv4 ring0_addr like generate_nodeid.
//   - Crypto as corosync 3.1 (built with ENABLE_UNENCRYPTED, as Proxmox
//     ships it): "secauth: on" is aes256 + sha256, any other secauth value is
//     off, crypto_cipher / crypto_hash override, a cipher needs a hash, and
//     crypto needs knet.
//   - Quorum: without provider there is no quorum provider (always quorate)
//     and quorum keys are ignored with a warning; corosync_votequorum gets
//     votequorum's startup checks and adjustments (two_node implies
//     wait_for_all unless set; two_node is dropped with auto_tie_breaker;
//     auto_tie_breaker is dropped in an odd cluster without wait_for_all or
//     with an invalid auto_tie_breaker_node; device votes default to node
//     votes - 1). The quorum integer flags are integers, as in corosync:
//     "two_node: yes" is an error, "two_node: 2" is on. A quorum device is
//     checked as corosync-qdevice checks it (model net, net.host, tls,
//     algorithm, tie_breaker, ffsplit needing votes: 1, cluster_name).
//   - Unknown keys: corosync stores unknown keys in cmap and never reads
//     them, so they load everywhere; unknown keys in totem, interface,
//     nodelist, node and quorum get a warning, logging and system are kept
//     loosely without one.
//
// # Stricter than corosync
//
// A few things corosync accepts but that can only be mistakes are errors
// here: a second nodelist section (corosync merges its nodes into the first
// by position), two interface sections that both set the same linknumber,
// a linknumber above 7 in an interface section corosync would ignore, a
// node without any address, two nodes with the same name, the
// corosync_ykd provider (not implemented by the engine). Host names are not
// resolved, so address checks apply to literal addresses only, and a
// udp/udpu node with a host name as ring0_addr needs an explicit nodeid.
//
// # Use
//
//	cfg, err := corosyncconf.Load("/etc/corosync/corosync.conf")
//	if err != nil { ... }            // ErrorList: each *Error has File, Line, Msg
//	for _, w := range cfg.Warnings { log(w) }
//	me, err := cfg.LocalNode(hostname, localAddrs)
//	for _, l := range cfg.LinkNumbers() { addr := cfg.Addr(peer.NodeID, l) ... }
//
// Parse never panics, whatever the input (FuzzParse checks this).
package corosyncconf
