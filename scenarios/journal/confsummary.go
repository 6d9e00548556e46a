package journal

import (
	"strconv"

	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// ConfigOf summarises a corosync.conf as a start record carries it; name
// gives each node's name (the agent's own naming, or the importer's).
func ConfigOf(c *corosyncconf.Config, name func(*corosyncconf.Node) string) *Config {
	t := c.Totem
	jc := &Config{
		Format: FormatVersion, ConfigVersion: c.ConfigVersion, LinkMode: t.LinkMode,
		Token: Duration(t.Token), TokenCoefficient: Duration(t.TokenCoefficient),
		Consensus: Duration(t.Consensus), Join: Duration(t.Join), Merge: Duration(t.Merge),
		ExpectedVotes: int(c.Quorum.ExpectedVotes), TwoNode: c.Quorum.TwoNode, WaitForAll: c.Quorum.WaitForAll,
		LastManStanding: c.Quorum.LastManStanding, AutoTieBreaker: c.Quorum.AutoTieBreaker,
		Device: c.Quorum.Device != nil,
	}
	if d := c.Quorum.Device; d != nil {
		jc.DeviceAlgorithm = d.Net.Algorithm
	}
	for i := range c.Nodes {
		n := &c.Nodes[i]
		jn := ConfigNode{Name: name(n), ID: n.NodeID, Votes: int(n.QuorumVotes), Addrs: map[string]string{}}
		for _, l := range c.LinkNumbers() {
			if a := n.RingAddrs[l]; a != "" {
				jn.Addrs[strconv.Itoa(l)] = a
			}
		}
		jc.Nodes = append(jc.Nodes, jn)
	}
	for _, in := range c.Interfaces {
		jc.Links = append(jc.Links, ConfigLink{Number: in.LinkNumber, Priority: int(in.KnetLinkPriority),
			Port: in.MCastPort, PingInterval: Duration(in.KnetPingInterval),
			PingTimeout: Duration(in.KnetPingTimeout), PongCount: int(in.KnetPongCount)})
	}
	return jc
}
