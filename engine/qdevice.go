package engine

// QdeviceBundleKey is where the replicated store keeps the cluster's qnetd
// client bundle, as pmxcfs keeps secrets under /etc/pve/priv: every node
// needs it to connect to qnetd, and a node that was down during the
// device's setup finds it there when it comes back. The setup writes it
// before the configuration that names the device, so every member has it
// when the configuration is delivered.
const QdeviceBundleKey = "priv/qdevice.pem"

// DeviceChange is a Ready's request to start or stop the node's qdevice
// daemon (corosync-qdevice), decided by a configuration reload that added
// or removed quorum.device (pvecm qdevice setup / remove on corosync 3:
// live, no restart). The engine's own qdevice model has already registered
// or unregistered with votequorum; the driver provides what it cannot: the
// stream to qnetd that Ready.Arbiter then operates.
type DeviceChange struct {
	// Start is true when the configuration now names a quorum device: the
	// driver installs Bundle (when set) as the node's client bundle and
	// prepares the stream to the device's qnetd before it performs
	// Ready.Arbiter. False: the device was removed; the driver closes the
	// stream and drops the bundle it installed.
	Start bool
	// ConfigVersion is the configuration's that added or removed it.
	ConfigVersion uint64
	// Bundle is the cluster's client bundle as the store holds it
	// (QdeviceBundleKey) when Start, nil when the store has none (the
	// driver uses its own; the simulator's arbiter needs none).
	Bundle []byte
}

// noteDeviceChange records the DeviceChange a reload from a configuration
// with (had) or without a device to cfg makes; a later change before the
// driver's Ack replaces it (the driver acts on the final state).
func (n *Node) noteDeviceChange(had bool, cfg Config) {
	has := cfg.Quorum.Device != nil
	if had == has {
		return
	}
	dc := &DeviceChange{Start: has, ConfigVersion: cfg.ConfigVersion}
	if e, ok := n.st.ReadLocal(QdeviceBundleKey); ok && has {
		dc.Bundle = e.Value
	}
	n.device = dc
}

// QdeviceBundle returns the client bundle the store holds, for a driver
// that starts the node's engine with a configuration naming a device.
func (n *Node) QdeviceBundle() ([]byte, bool) {
	e, ok := n.st.ReadLocal(QdeviceBundleKey)
	return e.Value, ok
}
