package links

import "github.com/quorate/quorate/engine/wire"

// peerIndex finds a peer's position in Layer.peers by node id. Every frame
// sent or received looks one up, so at 128 nodes a map lookup per frame
// was about 5% of a loaded run. Node ids are usually small (1 to the
// cluster size, as pvecm numbers them), so the index is a table with one
// slot per id when the largest id is at most denseSlack beyond the peer
// count; corosync allows any 32-bit id, and a nodelist with large ids
// falls back to a map. Both give the same answers (TestPeerIndex).
type peerIndex struct {
	dense  []int32 // dense[id] is 1 + the peer's position; 0: no such peer
	sparse map[wire.NodeID]int32
}

// denseSlack is how far the largest node id may exceed the peer count for
// the table form: 1,024 ids cost 4 KiB per layer.
const denseSlack = 1024

// rebuild indexes peers, which are in Layer.peers order.
func (x *peerIndex) rebuild(peers []peer) {
	var top wire.NodeID
	for i := range peers {
		top = max(top, peers[i].id)
	}
	if int64(top) <= int64(len(peers))+denseSlack {
		x.sparse = nil
		if cap(x.dense) > int(top) {
			x.dense = x.dense[:top+1]
			clear(x.dense)
		} else {
			x.dense = make([]int32, top+1)
		}
		for i := range peers {
			x.dense[peers[i].id] = int32(i + 1)
		}
		return
	}
	x.dense = nil
	x.sparse = make(map[wire.NodeID]int32, len(peers))
	for i := range peers {
		x.sparse[peers[i].id] = int32(i)
	}
}

// get returns the position of peer id.
func (x *peerIndex) get(id wire.NodeID) (int, bool) {
	if x.sparse == nil {
		if uint64(id) < uint64(len(x.dense)) {
			if v := x.dense[id]; v != 0 {
				return int(v - 1), true
			}
		}
		return 0, false
	}
	i, ok := x.sparse[id]
	return int(i), ok
}

// linkSlots maps a link number to its position in Config.Links, which is
// also its position in every peer's links (newPeer builds them in that
// order, and Reconfigure rebuilds them all with the configuration): -1 for
// a link number not configured. It spares a received data frame the read
// of the peer's link array (a cache miss per frame at 128 nodes) only to
// learn that the link exists.
type linkSlots [wire.MaxLinks]int8

func makeLinkSlots(links []LinkConfig) linkSlots {
	var s linkSlots
	for i := range s {
		s[i] = -1
	}
	for j, lc := range links {
		s[lc.Number] = int8(j)
	}
	return s
}

// at returns the position of link n, or -1.
func (s *linkSlots) at(n wire.LinkNo) int {
	if int(n) >= len(s) {
		return -1
	}
	return int(s[n])
}
