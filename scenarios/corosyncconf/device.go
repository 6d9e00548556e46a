package corosyncconf

import (
	"strings"
	"time"
)

// buildDevice fills Quorum.Device when the file has a quorum.device section
// or key, and checks it as corosync-qdevice does when it starts
// (qdevices/qdevice-instance.c, qdevice-net-instance.c,
// qdevice-net-algo-ffsplit.c). The messages are corosync-qdevice's.
func (b *builder) buildDevice() {
	_, hasSection := b.w.sections["quorum.device"]
	if !hasSection && !b.hasPrefix("quorum.device.") {
		return
	}
	d := &Device{
		Timeout:     defaultDeviceTimeout,
		SyncTimeout: defaultDeviceSyncTimeout,
		Line:        b.line("quorum.device"),
		Net: DeviceNet{
			Port: defaultQnetdPort, TLS: "on", Algorithm: "ffsplit",
			TieBreaker:                    TieBreaker{Mode: TieBreakerLowest},
			KeepActivePartitionTieBreaker: true,
		},
	}
	b.c.Quorum.Device = d
	d.Model = b.str("quorum.device.model", "")
	d.VotesAuto = !b.c.Has("quorum.device.votes")
	d.Votes = b.u32("quorum.device.votes", 0, true)
	d.Timeout = b.msDur("quorum.device.timeout", defaultDeviceTimeout, true)
	d.SyncTimeout = b.msDur("quorum.device.sync_timeout", defaultDeviceSyncTimeout, true)
	d.MasterWins = b.num("quorum.device.master_wins", 0, true) != 0
	d.Heuristics = b.prefixed("quorum.device.heuristics.")

	switch m, ok := b.raw("quorum.device.model"); {
	case !ok:
		b.invalid(d.Line, "quorum.device.model", "Can't read quorum.device.model cmap key.")
		return
	case m != "net":
		b.invalid(b.line("quorum.device.model"), "quorum.device.model", "Configured device model %s is not supported.", m)
		return
	}
	if v, ok := b.raw("quorum.device.heuristics.mode"); ok {
		if _, isBool := parseQdeviceBool(v); !isBool && lower(v) != "sync" {
			b.invalid(b.line("quorum.device.heuristics.mode"), "quorum.device.heuristics.mode", "quorum.device.heuristics.mode value is not valid.")
		}
	}
	b.buildDeviceNet(d)
}

// hasPrefix reports whether the file sets any key under prefix.
func (b *builder) hasPrefix(prefix string) bool {
	for k := range b.c.keys {
		if strings.HasPrefix(k, prefix) {
			return true
		}
	}
	return false
}

// buildDeviceNet reads quorum.device.net in corosync-qdevice's order.
func (b *builder) buildDeviceNet(d *Device) {
	n := &d.Net
	const p = "quorum.device.net."
	bad := func(key, format string, args ...any) {
		b.invalid(b.line(p+key, "quorum.device.net", "quorum.device"), p+key, format, args...)
	}
	if v, ok := b.raw(p + "tls"); ok {
		on, isBool := parseQdeviceBool(v)
		switch {
		case isBool && on:
			n.TLS = "on"
		case isBool:
			n.TLS = "off"
		case lower(v) == "required":
			n.TLS = "required"
		default:
			bad("tls", "quorum.device.net.tls value is not valid.")
		}
	}
	if v, ok := b.raw(p + "host"); ok {
		n.Host = v
	} else {
		bad("host", "Qdevice net daemon address is not defined (quorum.device.net.host)")
	}
	if v, ok := b.raw(p + "port"); ok {
		port, ok := utilsStrtonum(v, 1, 65535)
		n.Port = uint16(port)
		if !ok {
			bad("port", "quorum.device.net.port must be in range 1-65535")
		}
	}
	if b.c.ClusterName == "" {
		bad("host", "Cluster name (totem.cluster_name) has to be defined.")
	}
	if v, ok := b.raw(p + "algorithm"); ok {
		n.Algorithm = v
		switch v {
		case "ffsplit", "2nodelms", "lms":
		case "test":
			bad("algorithm", "Test algorithm is not enabled. You can force enable it by passing -S net_test_algorithm_enabled=on to corosync-qdevice command")
		default:
			bad("algorithm", "Unknown decision algorithm %s", v)
		}
	}
	if v, ok := b.raw(p + "tie_breaker"); ok {
		switch v {
		case "lowest", "highest":
			n.TieBreaker = TieBreaker{Mode: TieBreakerMode(v)}
		default:
			id, ok := utilsStrtonum(v, 1, 1<<32-1)
			n.TieBreaker = TieBreaker{Mode: TieBreakerList, NodeIDs: []uint32{uint32(id)}}
			if !ok {
				bad("tie_breaker", "tie_breaker must be lowest|highest|valid_node_id")
			}
		}
	}
	if v, ok := b.raw(p + "connect_timeout"); ok {
		t, ok := utilsStrtonum(v, 1000, 120000)
		n.ConnectTimeout = time.Duration(t) * time.Millisecond
		if !ok {
			bad("connect_timeout", "connect_timeout must be valid number in range <1000,120000>")
		}
	}
	if v, ok := b.raw(p + "force_ip_version"); ok {
		f, ok := utilsStrtonum(v, 0, 6)
		n.ForceIPVersion = int(f)
		if !ok || f != 0 && f != 4 && f != 6 {
			bad("force_ip_version", "force_ip_version must be one of 0|4|6")
		}
	}
	if v, ok := b.raw(p + "keep_active_partition_tie_breaker"); ok {
		on, isBool := parseQdeviceBool(v)
		n.KeepActivePartitionTieBreaker = on
		if !isBool {
			bad("keep_active_partition_tie_breaker", "quorum.device.net.keep_active_partition_tie_breaker value is not valid.")
		}
	}
	if n.Algorithm == "ffsplit" && (d.VotesAuto || d.Votes != 1) {
		b.invalid(b.line("quorum.device.votes", "quorum.device"), "quorum.device.votes",
			"50:50 split algorithm works only if quorum.device.votes configuration key is set to 1!")
	}
}
