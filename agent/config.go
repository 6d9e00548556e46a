package agent

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// ErrConfig is wrapped by every error Run returns for bad input: an
// unreadable or invalid corosync.conf, a local node that cannot be found, a
// missing or malformed authkey, an unsupported setting. `quorate agent`
// exits 2 for these and 1 for everything else.
var ErrConfig = errors.New("agent: bad configuration")

// configError marks err as bad input while printing it unchanged, so a
// corosync.conf problem still reads "file:line: message".
type configError struct{ err error }

func (e *configError) Error() string   { return e.err.Error() }
func (e *configError) Unwrap() []error { return []error{ErrConfig, e.err} }

func badConfig(err error) error { return &configError{err: err} }

// confError builds a corosyncconf-style error about a key of the file, so
// that the agent's own refusals name file:line like the parser's.
func confError(c *corosyncconf.Config, key, format string, args ...any) error {
	return badConfig(&corosyncconf.Error{File: c.File, Line: c.Line(key), Key: key, Msg: fmt.Sprintf(format, args...)})
}

// loadConfig reads corosync.conf as corosync 3 does at startup.
func loadConfig(path string) (*corosyncconf.Config, error) {
	c, err := corosyncconf.Load(path)
	if err != nil {
		return nil, badConfig(err)
	}
	if err := c.Unsupported(); err != nil {
		return nil, badConfig(err)
	}
	return c, nil
}

// localNode finds this host's nodelist entry: the one named name when given
// (by name, then as corosync matches a host name), else corosync's
// find_local_node from the host name and the interface addresses.
func localNode(c *corosyncconf.Config, name string) (*corosyncconf.Node, error) {
	if name != "" {
		if n := c.NodeByName(name); n != nil {
			return n, nil
		}
		if id, err := strconv.ParseUint(name, 10, 32); err == nil {
			if n := c.Node(uint32(id)); n != nil {
				return n, nil
			}
		}
		if n, err := c.LocalNode(name, nil); err == nil {
			return n, nil
		}
		return nil, badConfig(fmt.Errorf("%s: no node named %q in the nodelist", c.File, name))
	}
	host, err := os.Hostname()
	if err != nil {
		return nil, fmt.Errorf("agent: host name: %w", err)
	}
	var addrs []netip.Addr
	if ifas, err := net.InterfaceAddrs(); err == nil {
		for _, a := range ifas {
			if p, err := netip.ParsePrefix(a.String()); err == nil {
				addrs = append(addrs, p.Addr().Unmap())
			}
		}
	}
	n, err := c.LocalNode(host, addrs)
	if err != nil {
		return nil, badConfig(fmt.Errorf("%w (host name %q; pass --node NAME)", err, host))
	}
	return n, nil
}

// engineConfig builds the engine configuration of node self from the file
// through the one mapping the simulator uses as well.
func engineConfig(c *corosyncconf.Config, self *corosyncconf.Node) (engine.Config, error) {
	cfg, err := c.EngineConfig(self.NodeID)
	if err != nil {
		return engine.Config{}, badConfig(err)
	}
	return cfg, nil
}

// keyFor returns the authkey: --keyfile when given, else totem.key inline,
// else totem.keyfile (default /etc/corosync/authkey).
func keyFor(c *corosyncconf.Config, override string) (key []byte, source string, err error) {
	switch {
	case override != "":
		source = override
	case c.Totem.Key != "":
		return []byte(c.Totem.Key), "totem.key", nil
	default:
		source = c.Totem.KeyFile
		if source == "" {
			source = "/etc/corosync/authkey"
		}
	}
	key, err = udp.LoadKey(source)
	if err != nil {
		return nil, source, badConfig(err)
	}
	return key, source, nil
}

// transportConfig gives the UDP transport its sockets (the local node's
// address per link) and the peers' addresses, resolving host names once at
// start as corosync does.
func transportConfig(ctx context.Context, c *corosyncconf.Config, self *corosyncconf.Node, key []byte) (udp.Config, error) {
	cfg := udp.Config{Self: wire.NodeID(self.NodeID), Key: key}
	for i, n := range c.Nodes {
		var addrs [wire.MaxLinks]netip.AddrPort
		for _, l := range c.LinkNumbers() {
			host := n.RingAddrs[l]
			if host == "" {
				continue
			}
			ip, err := resolve(ctx, host, c.Totem.IPVersion)
			if err != nil {
				key := fmt.Sprintf("nodelist.node.%d.ring%d_addr", i, l)
				return udp.Config{}, confError(c, key, "cannot resolve ring%d_addr %q of node %d: %v", l, host, n.NodeID, err)
			}
			addrs[l] = netip.AddrPortFrom(ip, c.Interface(l).MCastPort)
		}
		if n.NodeID == self.NodeID {
			cfg.Local = addrs
			continue
		}
		cfg.Peers = append(cfg.Peers, udp.Peer{ID: wire.NodeID(n.NodeID), Addrs: addrs})
	}
	return cfg, nil
}

// resolve turns a ringX_addr into an IP address: a literal as it is, a
// host name through the resolver, preferring the family totem.ip_version
// prefers (ipv6-4 by default) and refusing the one it excludes.
func resolve(ctx context.Context, host, ipVersion string) (netip.Addr, error) {
	if a, err := netip.ParseAddr(host); err == nil {
		return a.Unmap(), nil
	}
	ips, err := net.DefaultResolver.LookupNetIP(ctx, "ip", host)
	if err != nil {
		return netip.Addr{}, err
	}
	var v4, v6 []netip.Addr
	for _, ip := range ips {
		if ip = ip.Unmap(); ip.Is4() {
			v4 = append(v4, ip)
		} else {
			v6 = append(v6, ip)
		}
	}
	var order [][]netip.Addr
	switch ipVersion {
	case "ipv4":
		order = [][]netip.Addr{v4}
	case "ipv6":
		order = [][]netip.Addr{v6}
	case "ipv4-6":
		order = [][]netip.Addr{v4, v6}
	default: // ipv6-4
		order = [][]netip.Addr{v6, v4}
	}
	for _, list := range order {
		if len(list) > 0 {
			return list[0], nil
		}
	}
	return netip.Addr{}, fmt.Errorf("no %s address", ipVersion)
}

// nodeName is what status output calls a node: its nodelist name, else
// its ring0 address.
func nodeName(n *corosyncconf.Node) string {
	if n.Name != "" {
		return n.Name
	}
	return n.RingAddrs[0]
}
