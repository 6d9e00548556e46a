package reports

import (
	"bytes"
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/quorum"
	"github.com/quorate/quorate/engine/wire"
)

// StatusView is everything `pvecm status` prints for one node: the
// "Cluster information" block pvecm reads from corosync.conf, and the
// votequorum status corosync-quorumtool prints (status-output.md §2). The
// same view feeds `corosync-quorumtool -s` and `pvecm nodes`, which print
// parts of it.
type StatusView struct {
	// ClusterName is totem.cluster_name; empty prints pvecm's default
	// "UNKOWN?" (sic).
	ClusterName string
	// ConfigVersion is totem.config_version.
	ConfigVersion uint64
	// Transport is totem.transport; empty prints the default "knet".
	Transport string
	// SecureAuth is totem.secauth; it prints as "on" or "off".
	SecureAuth bool
	// Date is the value of the "Date:" line, preformatted by the caller
	// (the simulator passes the simulated time, the real CLI the wall
	// clock); StatusDate formats a time as corosync-quorumtool does.
	Date string
	// Quorum is the node's votequorum status (quorum.Quorum.Status).
	Quorum quorum.Status
	// Names are the nodelist names, printed by `pvecm nodes` and
	// `corosync-quorumtool -s`.
	Names map[wire.NodeID]string
	// Addrs are the ring0 (first link) addresses, printed by `pvecm
	// status` (corosync-quorumtool -i).
	Addrs map[wire.NodeID]string
}

// QuorumProvider is the "Quorum provider:" value: the engine always runs
// votequorum.
const QuorumProvider = "corosync_votequorum"

// Defaults pvecm prints for a missing totem key (status-output.md §2.1).
const (
	statusDefaultClusterName = "UNKOWN?" // sic, as pvecm spells it
	statusDefaultTransport   = "knet"
)

// StatusDate formats t as ctime(3) does without its newline, e.g.
// "Tue Jun  3 09:41:07 2025": the "Date:" line of corosync-quorumtool.
func StatusDate(t time.Time) string {
	return t.Format("Mon Jan _2 15:04:05 2006")
}

// statusIDFormat is how a command prints node ids: decimal, or 0x%08x with -H.
type statusIDFormat bool

const (
	statusDecimal statusIDFormat = false
	statusHex     statusIDFormat = true
)

// statusNameSource is how a command fills the Name column: nodelist names, or
// first-link addresses with -i.
type statusNameSource bool

const (
	statusByName    statusNameSource = false
	statusByAddress statusNameSource = true
)

// WriteStatus prints `pvecm status` (pvecm's Cluster information block,
// then `corosync-quorumtool -siH`): hex node ids and the ring0 address of
// each member in the Name column (status-output.md §2, §3).
func WriteStatus(w io.Writer, v StatusView) error {
	var b bytes.Buffer
	writeStatusClusterInfo(&b, v)
	b.WriteByte('\n')
	writeStatusQuorumInfo(&b, v, statusHex)
	writeStatusMembership(&b, v, statusHex, statusByAddress)
	_, err := w.Write(b.Bytes())
	return err
}

// WriteQuorumTool prints `corosync-quorumtool -s`: the Quorum, Votequorum
// and Membership sections of `pvecm status` without the Cluster
// information block, with decimal node ids and nodelist names
// (status-output.md §1).
func WriteQuorumTool(w io.Writer, v StatusView) error {
	var b bytes.Buffer
	writeStatusQuorumInfo(&b, v, statusDecimal)
	writeStatusMembership(&b, v, statusDecimal, statusByName)
	_, err := w.Write(b.Bytes())
	return err
}

// WriteNodes prints `pvecm nodes` (`corosync-quorumtool -l`): an empty
// line, then the Membership information block with decimal node ids and
// nodelist names (status-output.md §5).
func WriteNodes(w io.Writer, v StatusView) error {
	var b bytes.Buffer
	writeStatusMembership(&b, v, statusDecimal, statusByName)
	_, err := w.Write(b.Bytes())
	return err
}

// statusTitle prints a section title underlined with dashes.
func statusTitle(b *bytes.Buffer, s string) {
	b.WriteString(s + "\n" + strings.Repeat("-", len(s)) + "\n")
}

// statusField prints one "label: value" line, the label (colon included) padded
// to 17 characters and followed by a space: pvecm's "%-17s %s" and
// corosync-quorumtool's literal 18-character labels.
func statusField(b *bytes.Buffer, label, value string) {
	fmt.Fprintf(b, "%-17s %s\n", label, value)
}

// writeStatusClusterInfo prints pvecm's block from the totem section (§2.1).
func writeStatusClusterInfo(b *bytes.Buffer, v StatusView) {
	statusTitle(b, "Cluster information")
	statusField(b, "Name:", cmp.Or(v.ClusterName, statusDefaultClusterName))
	statusField(b, "Config Version:", fmt.Sprint(v.ConfigVersion))
	statusField(b, "Transport:", cmp.Or(v.Transport, statusDefaultTransport))
	statusField(b, "Secure auth:", statusOnOff(v.SecureAuth))
}

// writeStatusQuorumInfo prints the Quorum information and Votequorum
// information sections (§2.2, §2.3).
func writeStatusQuorumInfo(b *bytes.Buffer, v StatusView, ids statusIDFormat) {
	st := v.Quorum
	statusTitle(b, "Quorum information")
	statusField(b, "Date:", v.Date)
	statusField(b, "Quorum provider:", QuorumProvider)
	statusField(b, "Nodes:", fmt.Sprint(len(st.Members)))
	nodeID := fmt.Sprint(uint32(st.Self))
	if ids == statusHex {
		nodeID = fmt.Sprintf("0x%08x", uint32(st.Self))
	}
	statusField(b, "Node ID:", nodeID)
	statusField(b, "Ring ID:", st.Ring.String())
	statusField(b, "Quorate:", statusYesNo(st.Quorate))

	b.WriteByte('\n')
	statusTitle(b, "Votequorum information")
	statusField(b, "Expected votes:", fmt.Sprint(st.ExpectedVotes))
	statusField(b, "Highest expected:", fmt.Sprint(st.HighestExpected))
	statusField(b, "Total votes:", fmt.Sprint(st.TotalVotes))
	statusField(b, "Quorum:", st.QuorumLine())
	statusField(b, "Flags:", st.FlagsLine())
}

// writeStatusMembership prints the Membership information section, preceded by
// an empty line (§2.4): every column but the last right-aligned in 10
// characters and followed by a space, hex ids as 0x%08x, rows ascending by
// node id, then the quorum device's row when the Qdevice column is shown.
func writeStatusMembership(b *bytes.Buffer, v StatusView, ids statusIDFormat, names statusNameSource) {
	st := v.Quorum
	b.WriteByte('\n')
	statusTitle(b, "Membership information")
	b.WriteString(statusPad("Nodeid") + statusPad("Votes"))
	if st.ShowQdevice {
		b.WriteString(statusPad("Qdevice"))
	}
	b.WriteString("Name\n")

	rows := slices.Clone(st.Nodes)
	slices.SortStableFunc(rows, func(x, y quorum.NodeStatus) int { return cmp.Compare(x.ID, y.ID) })
	for _, n := range rows {
		b.WriteString(statusID(n.ID, ids) + statusPad(fmt.Sprint(n.Votes)))
		if st.ShowQdevice {
			b.WriteString(statusPad(n.Qdevice()))
		}
		b.WriteString(v.rowName(n.ID, names))
		if n.ID == st.Self {
			b.WriteString(" (local)")
		}
		b.WriteByte('\n')
	}

	if st.ShowQdevice {
		// The device's row: id 0, its votes only if it votes for this
		// node, an empty Qdevice column, its name, and the configured
		// votes when they are not counted.
		b.WriteString(statusID(0, ids) + statusPad(fmt.Sprint(st.Device.RowVotes())))
		b.WriteString(strings.Repeat(" ", 11) + st.Device.Name)
		if !st.Device.Voting {
			fmt.Fprintf(b, " (votes %d)", st.Device.Votes)
		}
		b.WriteByte('\n')
	}
}

// rowName returns the Name column for id: the nodelist name or the first
// address as the command asks, falling back to the other (corosync falls
// back from a missing nodelist name to the node's address), else empty.
func (v StatusView) rowName(id wire.NodeID, src statusNameSource) string {
	first, second := v.Names, v.Addrs
	if src == statusByAddress {
		first, second = v.Addrs, v.Names
	}
	if s := first[id]; s != "" {
		return s
	}
	return second[id]
}

// statusPad right-aligns s in 10 characters and appends a space
// (corosync-quorumtool's print_string_padded; longer values are not cut).
func statusPad(s string) string {
	return fmt.Sprintf("%10s ", s)
}

// statusID prints a node id column: "%10u " or "0x%08x ".
func statusID(id wire.NodeID, ids statusIDFormat) string {
	if ids == statusHex {
		return fmt.Sprintf("0x%08x ", uint32(id))
	}
	return statusPad(fmt.Sprint(uint32(id)))
}

// statusYesNo prints a boolean as corosync-quorumtool's "Quorate:" does.
func statusYesNo(b bool) string {
	if b {
		return "Yes"
	}
	return "No"
}

// statusOnOff prints a boolean as corosync.conf spells it.
func statusOnOff(b bool) string {
	if b {
		return "on"
	}
	return "off"
}
