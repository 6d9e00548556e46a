package lab

import (
	"fmt"
	"math"
	"slices"

	"github.com/google/nftables"
	"github.com/google/nftables/binaryutil"
	"github.com/google/nftables/expr"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// cuts is the lab's copy of the scenario's partitions, isolations and
// drops, with netmodel's semantics (netmodel/faults.go): a set of blocked
// (from, to, link) paths that Heal clears per link, and per-sender loss
// rates. The nftables rules of every node are rendered from it after each
// change, so that the rules are always exactly this state.
type cuts struct {
	n     int
	links []int
	cut   map[cutKey]bool     // lookups only
	loss  map[lossKey]float64 // sender, link -> drop probability
}

type cutKey struct{ from, to, link int }
type lossKey struct{ from, link int }

func newCuts(n int, links []int) *cuts {
	return &cuts{n: n, links: links, cut: map[cutKey]bool{}, loss: map[lossKey]float64{}}
}

func (c *cuts) linksOr(ls []int) []int {
	if len(ls) == 0 {
		return c.links
	}
	return ls
}

// partition cuts every pair of nodes in different groups, both ways.
func (c *cuts) partition(groups [][]int, links []int) {
	group := make([]int, c.n)
	for g, ids := range groups {
		for _, i := range ids {
			group[i] = g + 1
		}
	}
	for a := range c.n {
		for b := range c.n {
			if group[a] != 0 && group[b] != 0 && group[a] != group[b] {
				for _, l := range c.linksOr(links) {
					c.cut[cutKey{a, b, l}] = true
				}
			}
		}
	}
}

// isolate cuts node i from every other node, both ways.
func (c *cuts) isolate(i int, links []int) {
	for o := range c.n {
		if o != i {
			for _, l := range c.linksOr(links) {
				c.cut[cutKey{i, o, l}] = true
				c.cut[cutKey{o, i, l}] = true
			}
		}
	}
}

// drop cuts from -> to one way.
func (c *cuts) drop(from, to []int, links []int) {
	for _, f := range from {
		for _, t := range to {
			if f != t {
				for _, l := range c.linksOr(links) {
					c.cut[cutKey{f, t, l}] = true
				}
			}
		}
	}
}

// heal removes every cut on links.
func (c *cuts) heal(links []int) {
	for _, l := range c.linksOr(links) {
		for k := range c.cut {
			if k.link == l {
				delete(c.cut, k)
			}
		}
	}
}

// firewall owns one nftables table per node namespace: an input chain
// that drops what the cuts block (by source address, which names the
// sender and the link), and an output chain that drops a random share of
// what the node sends on a lossy link (numgen random).
type firewall struct {
	table string
	ns    []string
}

func tableName(id string) string { return "qlab_" + id }

// lossScale is the numgen modulus: loss is applied in parts per million.
const lossScale = 1_000_000

// render replaces the rules of every node with what c says.
func (fw *firewall) render(c *cuts) error {
	for i, ns := range fw.ns {
		if err := fw.renderNode(i, ns, c); err != nil {
			return fmt.Errorf("lab: nftables in %s: %w", ns, err)
		}
	}
	return nil
}

func (fw *firewall) renderNode(i int, ns string, c *cuts) error {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return err
	}
	defer h.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(h)))
	if err != nil {
		return err
	}
	defer conn.CloseLasting()
	t := &nftables.Table{Name: fw.table, Family: nftables.TableFamilyIPv4}
	// Adding an existing table is no error; deleting it then adding it
	// again in the same batch replaces every rule atomically.
	conn.AddTable(t)
	conn.DelTable(t)
	conn.AddTable(t)
	accept := nftables.ChainPolicyAccept
	in := conn.AddChain(&nftables.Chain{Name: "in", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookInput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	out := conn.AddChain(&nftables.Chain{Name: "out", Table: t, Type: nftables.ChainTypeFilter,
		Hooknum: nftables.ChainHookOutput, Priority: nftables.ChainPriorityFilter, Policy: &accept})
	var blocked []cutKey
	for k := range c.cut {
		if k.to == i {
			blocked = append(blocked, k)
		}
	}
	slices.SortFunc(blocked, func(a, b cutKey) int { return (a.from*8 + a.link) - (b.from*8 + b.link) })
	for _, k := range blocked {
		conn.AddRule(&nftables.Rule{Table: t, Chain: in, Exprs: []expr.Any{
			// ip saddr == the sender's address on the link
			&expr.Payload{DestRegister: 1, Base: expr.PayloadBaseNetworkHeader, Offset: 12, Len: 4},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: nodeAddr(k.from, k.link)},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	}
	for _, l := range c.links {
		p := c.loss[lossKey{i, l}]
		if p <= 0 {
			continue
		}
		below := uint32(math.Round(p * lossScale))
		conn.AddRule(&nftables.Rule{Table: t, Chain: out, Exprs: []expr.Any{
			// oifname == ethL
			&expr.Meta{Key: expr.MetaKeyOIFNAME, Register: 1},
			&expr.Cmp{Op: expr.CmpOpEq, Register: 1, Data: ifname(nicName(l))},
			// numgen random mod 1e6 < p*1e6
			// (nft compares registers bytewise, so the number goes to
			// network order first, as the nft tool does)
			&expr.Numgen{Register: 1, Modulus: lossScale, Type: unix.NFT_NG_RANDOM},
			&expr.Byteorder{SourceRegister: 1, DestRegister: 1, Op: expr.ByteorderHton, Len: 4, Size: 4},
			&expr.Cmp{Op: expr.CmpOpLt, Register: 1, Data: binaryutil.BigEndian.PutUint32(below)},
			&expr.Verdict{Kind: expr.VerdictDrop},
		}})
	}
	return conn.Flush()
}

// ifname is an interface name as nftables compares it: NUL-padded to
// IFNAMSIZ.
func ifname(n string) []byte {
	b := make([]byte, unix.IFNAMSIZ)
	copy(b, n)
	return b
}

// tables lists the nftables tables named for run id in namespace ns.
func tables(ns, id string) ([]string, error) {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return nil, err
	}
	defer h.Close()
	conn, err := nftables.New(nftables.WithNetNSFd(int(h)))
	if err != nil {
		return nil, err
	}
	ts, err := conn.ListTables()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, t := range ts {
		if t.Name == tableName(id) {
			out = append(out, t.Name)
		}
	}
	return out, nil
}
