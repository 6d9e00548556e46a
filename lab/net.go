package lab

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// nsDir is where named network namespaces are bind-mounted (iproute2's
// convention, so `ip netns` sees the lab's namespaces too).
const nsDir = "/var/run/netns"

// Prefix starts the name of every namespace the lab creates; the run id
// follows it, so that a leftover is recognisable and one run's teardown
// never touches another's.
const Prefix = "qlab-"

// fabric is one run's network: a namespace per node, a fabric namespace
// holding one bridge per switch, and a veth pair per node and link with
// the node's end (ethL) inside the node's namespace and the switch's end
// (nIlL) enslaved to the bridge. Nothing is created in the caller's
// namespace, so the root namespace never sees the lab's addresses.
type fabric struct {
	id       string
	fabNS    string
	nodeNS   []string
	switches []string // switch names, in order of first use by a link
	links    []int    // link numbers
	swOf     map[int]int
	handles  []*netlink.Handle // [0] fabric, [1+i] node i, then the qnetd host's
	created  []string          // namespaces created, for teardown
	// qnetd adds the quorum device's host: a namespace of its own
	// (qnetdNS) on a bridge of its own, which every node reaches through
	// a third interface (qeth). The cluster's faults never touch it, as in
	// the simulator, where the arbiter is reached over its own streams.
	qnetd   bool
	qnetdNS string
}

// qnetdBridge, qnetdPort and qnetdNIC name the quorum device's network.
const (
	qnetdBridge = "swq"
	qnetdPort   = "qd"
	qnetdNIC    = "qeth"
	qnetdSubnet = 100
)

// QnetdAddr is the quorum device host's address in the lab.
var QnetdAddr = net.IPv4(10, 77, qnetdSubnet, 254).To4()

// nsName is the namespace of node i ("" for the fabric).
func nsName(id string, i int) string {
	if i < 0 {
		return Prefix + id + "-fab"
	}
	return fmt.Sprintf("%s%s-n%d", Prefix, id, i+1)
}

// bridgeName is switch k's bridge in the fabric namespace.
func bridgeName(k int) string { return fmt.Sprintf("sw%d", k) }

// portName is node i's port on link l in the fabric namespace.
func portName(i, l int) string { return fmt.Sprintf("n%dl%d", i+1, l) }

// nicName is node i's interface on link l inside its namespace.
func nicName(l int) string { return fmt.Sprintf("eth%d", l) }

// nodeAddr is node i's address on link l: 10.77.l.(i+1), inside the lab's
// namespaces only.
func nodeAddr(i, l int) net.IP { return net.IPv4(10, 77, byte(l), byte(i+1)).To4() }

// newNamespace creates a named namespace without leaving the calling
// thread in it.
func newNamespace(name string) (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return 0, err
	}
	defer orig.Close()
	h, err := netns.NewNamed(name)
	if serr := netns.Set(orig); serr != nil {
		// The thread is stuck in the new namespace: it stays locked
		// and dies with the panic.
		panic(fmt.Sprintf("lab: cannot return to the original namespace: %v", serr))
	}
	return h, err
}

// build creates the namespaces, bridges and veth pairs of nodes×links.
func (f *fabric) build(nodes int) error {
	names := append([]string{nsName(f.id, -1)}, nil...)
	for i := range nodes {
		names = append(names, nsName(f.id, i))
	}
	f.fabNS = names[0]
	f.nodeNS = names[1 : 1+nodes]
	if f.qnetd {
		f.qnetdNS = Prefix + f.id + "-q"
		names = append(names, f.qnetdNS)
	}
	var hs []netns.NsHandle
	defer func() {
		for _, h := range hs {
			h.Close()
		}
	}()
	for _, n := range names {
		h, err := newNamespace(n)
		if err != nil {
			return fmt.Errorf("lab: creating namespace %s: %w", n, err)
		}
		f.created = append(f.created, n)
		hs = append(hs, h)
		nh, err := netlink.NewHandleAt(h)
		if err != nil {
			return fmt.Errorf("lab: netlink in %s: %w", n, err)
		}
		f.handles = append(f.handles, nh)
		lo, err := nh.LinkByName("lo")
		if err == nil {
			err = nh.LinkSetUp(lo)
		}
		if err != nil {
			return fmt.Errorf("lab: lo up in %s: %w", n, err)
		}
	}
	fab := f.handles[0]
	for k := range f.switches {
		br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: bridgeName(k)}}
		if err := fab.LinkAdd(br); err != nil {
			return fmt.Errorf("lab: bridge %s (switch %s): %w", br.Name, f.switches[k], err)
		}
		if err := fab.LinkSetUp(br); err != nil {
			return fmt.Errorf("lab: bridge %s up: %w", br.Name, err)
		}
	}
	for i := range nodes {
		nh := f.handles[1+i]
		for _, l := range f.links {
			ve := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: portName(i, l)}, PeerName: nicName(l),
				PeerNamespace: netlink.NsFd(int(hs[1+i]))}
			if err := fab.LinkAdd(ve); err != nil {
				return fmt.Errorf("lab: veth %s: %w", ve.Name, err)
			}
			port, err := fab.LinkByName(ve.Name)
			if err != nil {
				return err
			}
			br, err := fab.LinkByName(bridgeName(f.swOf[l]))
			if err != nil {
				return err
			}
			if err := fab.LinkSetMaster(port, br); err != nil {
				return fmt.Errorf("lab: %s into %s: %w", ve.Name, br.Attrs().Name, err)
			}
			if err := fab.LinkSetUp(port); err != nil {
				return err
			}
			nic, err := nh.LinkByName(nicName(l))
			if err != nil {
				return fmt.Errorf("lab: %s in %s: %w", nicName(l), f.nodeNS[i], err)
			}
			addr := &netlink.Addr{IPNet: &net.IPNet{IP: nodeAddr(i, l), Mask: net.CIDRMask(24, 32)}}
			if err := nh.AddrAdd(nic, addr); err != nil {
				return fmt.Errorf("lab: address %s on %s: %w", addr, f.nodeNS[i], err)
			}
			if err := nh.LinkSetUp(nic); err != nil {
				return err
			}
		}
	}
	if f.qnetd {
		return f.buildQnetd(nodes, hs)
	}
	return nil
}

// veth adds a veth pair from the fabric's bridge br to nic with addr in
// the namespace of handle nh (namespace fd nsFd).
func (f *fabric) veth(port, br string, nh *netlink.Handle, nsFd int, nic string, addr net.IP) error {
	fab := f.handles[0]
	ve := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: port}, PeerName: nic, PeerNamespace: netlink.NsFd(nsFd)}
	if err := fab.LinkAdd(ve); err != nil {
		return fmt.Errorf("lab: veth %s: %w", port, err)
	}
	pl, err := fab.LinkByName(port)
	if err != nil {
		return err
	}
	bl, err := fab.LinkByName(br)
	if err != nil {
		return err
	}
	if err := fab.LinkSetMaster(pl, bl); err != nil {
		return fmt.Errorf("lab: %s into %s: %w", port, br, err)
	}
	if err := fab.LinkSetUp(pl); err != nil {
		return err
	}
	nl, err := nh.LinkByName(nic)
	if err != nil {
		return err
	}
	if err := nh.AddrAdd(nl, &netlink.Addr{IPNet: &net.IPNet{IP: addr, Mask: net.CIDRMask(24, 32)}}); err != nil {
		return fmt.Errorf("lab: address %s on %s: %w", addr, nic, err)
	}
	return nh.LinkSetUp(nl)
}

// buildQnetd wires the quorum device's host to every node.
func (f *fabric) buildQnetd(nodes int, hs []netns.NsHandle) error {
	fab := f.handles[0]
	br := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: qnetdBridge}}
	if err := fab.LinkAdd(br); err != nil {
		return fmt.Errorf("lab: bridge %s: %w", qnetdBridge, err)
	}
	if err := fab.LinkSetUp(br); err != nil {
		return err
	}
	for i := range nodes {
		if err := f.veth(fmt.Sprintf("n%dq", i+1), qnetdBridge, f.handles[1+i], int(hs[1+i]), qnetdNIC,
			net.IPv4(10, 77, qnetdSubnet, byte(i+1)).To4()); err != nil {
			return err
		}
	}
	q := 1 + nodes
	return f.veth(qnetdPort, qnetdBridge, f.handles[q], int(hs[q]), "eth0", QnetdAddr)
}

// setLink sets a link of the fabric namespace (a bridge or a port) up or
// down.
func (f *fabric) setLink(name string, up bool) error {
	fab := f.handles[0]
	l, err := fab.LinkByName(name)
	if err != nil {
		return fmt.Errorf("lab: %s: %w", name, err)
	}
	if up {
		err = fab.LinkSetUp(l)
	} else {
		err = fab.LinkSetDown(l)
	}
	if err != nil {
		return fmt.Errorf("lab: %s up=%t: %w", name, up, err)
	}
	return nil
}

// switchSet brings switch name's bridge down or up.
func (f *fabric) switchSet(name string, up bool) error {
	for k, s := range f.switches {
		if s == name {
			return f.setLink(bridgeName(k), up)
		}
	}
	return fmt.Errorf("lab: no switch %q", name)
}

// nicSet brings node i's port on link l down or up: the cable is pulled
// at the switch, so both ends see the carrier go.
func (f *fabric) nicSet(i, l int, up bool) error { return f.setLink(portName(i, l), up) }

// teardown deletes every namespace the run created; the bridges, veth
// pairs and nftables tables inside go with them.
func (f *fabric) teardown() error {
	for _, h := range f.handles {
		h.Close()
	}
	f.handles = nil
	var errs []error
	for _, n := range f.created {
		if err := netns.DeleteNamed(n); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("lab: deleting namespace %s: %w", n, err))
		}
	}
	f.created = nil
	return errors.Join(errs...)
}

// Leftovers lists the namespaces of run id (every run when id is "") that
// still exist: what a teardown must leave empty.
func Leftovers(id string) []string {
	ents, _ := os.ReadDir(nsDir)
	var out []string
	for _, e := range ents {
		if strings.HasPrefix(e.Name(), Prefix+id) {
			out = append(out, filepath.Join(nsDir, e.Name()))
		}
	}
	return out
}

// startIn starts cmd with its network namespace set to ns: the child
// inherits the namespace of the thread that forks it.
func startIn(ns string, cmd *exec.Cmd) error {
	h, err := netns.GetFromName(ns)
	if err != nil {
		return fmt.Errorf("lab: namespace %s: %w", ns, err)
	}
	defer h.Close()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(h); err != nil {
		return fmt.Errorf("lab: entering %s: %w", ns, err)
	}
	err = cmd.Start()
	if serr := netns.Set(orig); serr != nil {
		panic(fmt.Sprintf("lab: cannot return to the original namespace: %v", serr))
	}
	return err
}
