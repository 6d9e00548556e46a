// Package netmodel is the simulated network between the nodes of a run: its
// topology (nodes, links, switches), its fault state (switches and NICs down,
// partitions, one-way drops) and its randomness (latency, loss,
// duplication). It also defines Transport, the one-node view of the network
// that the simulated and the real (netmodel/udp) transports share.
//
// # The topology
//
// Every node has one NIC per link. Link N of every node plugs into one
// switch, named by the link's LinkSpec.Switch ("link<N>" by default).
// Several links may name the same switch, as two VLANs on one physical
// switch would; a switch failure (SwitchDown) takes down every link that runs
// through it, for every node. A NIC failure (NICDown) takes down one node's
// port on one link and nothing else. Partitions, isolates and drops are
// cuts: directed (from, to) pairs blocked on chosen links. Heal removes cuts;
// it does not repair switches or NICs.
//
// # Driving it
//
// The model is pure: it never reads a clock, never starts a goroutine, never
// schedules anything, and draws only from sources its caller gave it. The
// sim kernel drives it like this:
//
//	m, err := netmodel.New(topo, streams) // streams derives sources from the seed
//	...
//	// a node's Ready batch has datagram d, at virtual time now:
//	arr, n, v := m.Route(now, d)
//	if v != netmodel.Delivered { trace drop with v.String(); continue }
//	for _, a := range arr[:n] { schedule arrival of d at a.At }
//	...
//	// when an arrival fires:
//	if v := m.PathVerdict(d.From, d.To, d.Link); v != netmodel.Delivered {
//		trace drop with v.String() // the path broke while d was in flight
//	} else {
//		deliver d to node d.To
//	}
//	...
//	// a fault action at its instant:
//	err = m.SwitchDown("sw0")
//
// A fault applies to every packet routed after it, and through the second
// PathVerdict check also to packets in flight. SetLatency and SetLoss do not
// touch packets already routed.
//
// # Randomness and determinism
//
// Each directed pair of nodes on each link has its own random stream,
// labelled "link/<from>-<to>/<link>" (see PairLabel) and obtained lazily from
// the StreamFunc on that pair's first packet. The simulator derives each
// stream by hashing the scenario seed with the label (style guide §4.2).
// Per-pair streams make a run robust to unrelated change: adding a node, a
// link, or traffic between two other nodes never shifts the draws between 1
// and 2 on link 0, so a scenario tweak does not reshuffle every latency in
// the run, and a failing seed stays comparable to its neighbour. A stream is
// also never shared between directions, so 1->2 and 2->1 are independent.
//
// Within Route the draws come in a fixed order (see Route) and are never
// decided by map iteration: all per-node and per-pair state lives in slices
// indexed by node position. Latency samples are gonum distuv draws with Src
// set to the pair's source, converted to integer nanoseconds at once.
//
// # Ordering
//
// Packets on one (from, to, link) are not reordered unless the link has
// Reorder: each arrival is clamped to be no earlier than the previous
// arrival on that pair. The kernel must break equal times by insertion
// order for this to be FIFO. Duplicates take part in the clamp too.
package netmodel
