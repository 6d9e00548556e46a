package agent

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/internal/fsx"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// ConfigKey is where the cluster's corosync.conf lives in the replicated
// store, as /etc/pve/corosync.conf lives in pmxcfs (pmxcfs.md §2 step 6):
// every agent rewrites its own --config file from it when a delivered
// version carries a higher totem.config_version than the file.
const ConfigKey = "corosync.conf"

// LinkSpec is one --linkX option of create and add: the node's address on
// link Number and, optionally, the link's knet_link_priority.
type LinkSpec struct {
	Number   int
	Addr     string
	Priority int // -1: not given
}

// ParseLinkSpec reads "ADDR[,priority=N]" for link n, as pvecm reads its
// --linkX options.
func ParseLinkSpec(n int, s string) (LinkSpec, error) {
	l := LinkSpec{Number: n, Priority: -1}
	parts := strings.Split(s, ",")
	l.Addr = strings.TrimSpace(parts[0])
	if l.Addr == "" || strings.ContainsAny(l.Addr, " \t{}:") && !isIPv6(l.Addr) {
		return l, fmt.Errorf("--link%d %q: want ADDR[,priority=N]", n, s)
	}
	for _, p := range parts[1:] {
		k, v, ok := strings.Cut(strings.TrimSpace(p), "=")
		if !ok || k != "priority" {
			return l, fmt.Errorf("--link%d %q: unknown option %q (want priority=N)", n, s, p)
		}
		prio, err := strconv.Atoi(v)
		if err != nil || prio < 0 || prio > 255 {
			return l, fmt.Errorf("--link%d %q: priority must be 0..255", n, s)
		}
		l.Priority = prio
	}
	return l, nil
}

func isIPv6(s string) bool {
	a, err := netip.ParseAddr(s)
	return err == nil && a.Is6()
}

// nameRE is what a node or cluster name may look like: a host name label
// sequence, as Proxmox requires of both.
var nameRE = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9.-]*[A-Za-z0-9])?$`)

// CreateOptions is `quorate create`.
type CreateOptions struct {
	ClusterName string
	Links       []LinkSpec // at least link 0
	NodeID      uint32     // default 1
	NodeName    string     // default: the host name
	Votes       uint32     // default 1
	ConfigPath  string     // the corosync.conf to write
	KeyFile     string     // the authkey to write; named by totem.keyfile
	Port        uint16     // mcastport of link 0 (link X uses Port+X); 0: corosync's 5405
	Token       time.Duration
}

// ErrExists is wrapped when create or add would overwrite a file.
var ErrExists = errors.New("agent: file exists")

// CreateCluster writes a one-node corosync.conf in the layout Proxmox's
// pvecm create writes (totem with cluster_name, config_version 1, one
// interface per link, secauth on and the keyfile; the nodelist with this
// node; votequorum) and a fresh authkey, as `quorate keygen` writes it. An
// existing config or key is never overwritten (ErrExists). It returns the
// config text.
func CreateCluster(opt CreateOptions) ([]byte, error) {
	if !nameRE.MatchString(opt.ClusterName) || len(opt.ClusterName) > 15 {
		return nil, badConfig(fmt.Errorf("cluster name %q: use 1 to 15 letters, digits, '-' or '.'", opt.ClusterName))
	}
	if opt.NodeName == "" {
		h, err := os.Hostname()
		if err != nil {
			return nil, fmt.Errorf("agent: host name: %w", err)
		}
		opt.NodeName, _, _ = strings.Cut(h, ".")
	}
	if !nameRE.MatchString(opt.NodeName) {
		return nil, badConfig(fmt.Errorf("node name %q: use letters, digits, '-' or '.'", opt.NodeName))
	}
	if err := checkLinkSpecs(opt.Links); err != nil {
		return nil, err
	}
	opt.NodeID = max(opt.NodeID, 1)
	opt.Votes = max(opt.Votes, 1)
	if opt.ConfigPath == "" || opt.KeyFile == "" {
		return nil, badConfig(errors.New("the config and key file paths are required"))
	}
	for _, p := range []string{opt.ConfigPath, opt.KeyFile} {
		if _, err := os.Lstat(p); err == nil {
			return nil, badConfig(fmt.Errorf("%w: %s already exists; a node belongs to one cluster (remove it first)", ErrExists, p))
		}
	}
	keyAbs, err := filepath.Abs(opt.KeyFile)
	if err != nil {
		return nil, err
	}
	var b strings.Builder
	b.WriteString("logging {\n  debug: off\n  to_syslog: yes\n}\n\nnodelist {\n")
	writeNode(&b, corosyncconf.Node{Name: opt.NodeName, NodeID: opt.NodeID, QuorumVotes: opt.Votes}, opt.Links)
	b.WriteString("}\n\nquorum {\n  provider: corosync_votequorum\n}\n\ntotem {\n")
	fmt.Fprintf(&b, "  cluster_name: %s\n  config_version: 1\n", opt.ClusterName)
	for _, l := range sortedLinks(opt.Links) {
		b.WriteString("  interface {\n")
		if l.Priority >= 0 {
			fmt.Fprintf(&b, "    knet_link_priority: %d\n", l.Priority)
		}
		fmt.Fprintf(&b, "    linknumber: %d\n", l.Number)
		if opt.Port != 0 {
			fmt.Fprintf(&b, "    mcastport: %d\n", int(opt.Port)+l.Number)
		}
		b.WriteString("  }\n")
	}
	fmt.Fprintf(&b, "  ip_version: ipv4-6\n  keyfile: %s\n  link_mode: passive\n  secauth: on\n", keyAbs)
	if opt.Token > 0 {
		fmt.Fprintf(&b, "  token: %d\n", opt.Token.Milliseconds())
	}
	b.WriteString("  version: 2\n}\n")
	text := []byte(b.String())
	if _, err := corosyncconf.Parse(opt.ConfigPath, text); err != nil {
		return nil, badConfig(err)
	}
	if err := os.MkdirAll(filepath.Dir(keyAbs), 0o755); err != nil {
		return nil, err
	}
	if err := udp.GenerateKey(keyAbs, 0); err != nil {
		return nil, err
	}
	if err := fsx.WriteFileAtomic(opt.ConfigPath, text, 0o644); err != nil {
		return nil, err
	}
	return text, nil
}

// checkLinkSpecs requires link 0, distinct link numbers and addresses.
func checkLinkSpecs(links []LinkSpec) error {
	seen := map[int]bool{}
	for _, l := range links {
		if l.Number < 0 || l.Number >= corosyncconf.MaxLinks || seen[l.Number] {
			return badConfig(fmt.Errorf("--link%d: link numbers run from 0 to %d, each once", l.Number, corosyncconf.MaxLinks-1))
		}
		seen[l.Number] = true
	}
	if !seen[0] {
		return badConfig(errors.New("--link0 ADDR is required"))
	}
	return nil
}

func sortedLinks(links []LinkSpec) []LinkSpec {
	out := slices.Clone(links)
	slices.SortFunc(out, func(a, b LinkSpec) int { return a.Number - b.Number })
	return out
}

// writeNode writes one nodelist.node section with its ringX_addr keys.
func writeNode(b *strings.Builder, n corosyncconf.Node, links []LinkSpec) {
	fmt.Fprintf(b, "  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: %d\n", n.Name, n.NodeID, n.QuorumVotes)
	for _, l := range sortedLinks(links) {
		fmt.Fprintf(b, "    ring%d_addr: %s\n", l.Number, l.Addr)
	}
	b.WriteString("  }\n")
}

// editConf is corosyncconf.Edit: the one edit of a cluster corosync.conf
// that bumps config_version.
func editConf(name string, old []byte, edit func(c *corosyncconf.Config) error) ([]byte, error) {
	return corosyncconf.Edit(name, old, edit)
}

// addNode adds a node to c as pvecm add does (corosyncconf.Config.AddNode,
// which the simulator's add_node runs too). A zero NodeID takes the lowest
// free id; bundle says the add carries the qdevice client bundle to the
// new node.
func addNode(c *corosyncconf.Config, name string, id uint32, votes uint32, links []LinkSpec, bundle bool) (uint32, error) {
	addrs := make([]corosyncconf.LinkAddr, 0, len(links))
	for _, l := range links {
		addrs = append(addrs, corosyncconf.LinkAddr{Link: l.Number, Addr: l.Addr})
	}
	return c.AddNode(name, id, votes, addrs, bundle)
}
