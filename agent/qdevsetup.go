package agent

import (
	"bytes"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/store"
	"github.com/quorate/quorate/internal/fsx"
	"github.com/quorate/quorate/qnetd"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// BundleKey is where the replicated store keeps the cluster's qdevice
// client bundle (engine.QdeviceBundleKey): the engine hands it to the
// agent in Ready.Device when a reload adds the device.
const BundleKey = engine.QdeviceBundleKey

// `quorate qdevice setup` and `remove` on a running cluster are one
// cluster-wide change, as pvecm qdevice setup is: the bundle goes into the
// store, then the quorum.device section into the cluster's corosync.conf
// (config_version + 1). Every agent then writes the new file and reloads
// it, and the engine takes the device live as corosync 3 does (no
// membership change): its qdevice registers with votequorum, and its
// Ready.Device hands the agent the bundle from the store to install in
// the data directory and asks it to start the stream to qnetd
// (deviceChange). The removal stops the stream and drops the bundle.

// qdeviceSetup is the admin request CmdQdeviceSetup: it answers once the
// cluster's corosync.conf carries the device.
func (l *loop) qdeviceSetup(req Request, reply func(Response)) (Response, bool) {
	b, err := qnetd.ParseBundle("the bundle", req.Bundle, time.Now())
	if err != nil {
		return Response{Error: err.Error(), BadRequest: true}, false
	}
	if b.Cluster != l.cl.conf.ClusterName {
		return Response{Error: fmt.Sprintf("the bundle is issued for cluster %q, not %q", b.Cluster, l.cl.conf.ClusterName),
			BadRequest: true}, false
	}
	edit := func(src []byte) ([]byte, error) {
		return corosyncconf.AddDevice(src, req.Host, req.Port, req.Algorithm, req.Force)
	}
	if resp, bad := l.precheckEdit(edit); bad {
		return resp, false
	}
	id, err := l.node.Put(l.now(), BundleKey, req.Bundle)
	if err != nil {
		return Response{Error: storeErrWords(err)}, false
	}
	l.pending[id] = func(r store.Result) {
		if r.Err != nil {
			reply(Response{Error: "the bundle was not stored: " + storeErrWords(r.Err)})
			return
		}
		l.editConfig(edit, func(out []byte, err error) {
			if err != nil {
				reply(Response{Error: err.Error()})
				return
			}
			l.log.Info("quorum device added to the cluster configuration", "node", l.cl.name,
				"qnetd", req.Host, "port", req.Port)
			reply(Response{OK: true, ConfigVersion: configVersionOf(out)})
		})
	}
	return Response{}, true
}

// qdeviceRemove is the admin request CmdQdeviceRemove: the device leaves
// the cluster's corosync.conf, then its bundle leaves the store.
func (l *loop) qdeviceRemove(reply func(Response)) (Response, bool) {
	edit := corosyncconf.RemoveDevice
	if resp, bad := l.precheckEdit(edit); bad {
		return resp, false
	}
	l.editConfig(edit, func(out []byte, err error) {
		if err != nil {
			reply(Response{Error: err.Error()})
			return
		}
		l.log.Info("quorum device removed from the cluster configuration", "node", l.cl.name)
		resp := Response{OK: true, ConfigVersion: configVersionOf(out)}
		id, err := l.node.Delete(l.now(), BundleKey)
		if err != nil {
			// The configuration no longer names a device; a stale bundle
			// in the store is harmless.
			reply(resp)
			return
		}
		l.pending[id] = func(store.Result) { reply(resp) }
	})
	return Response{}, true
}

// precheckEdit runs edit on the cluster's corosync.conf as the store holds
// it, so that a change that cannot apply (a device already configured, or
// none to remove) is refused as bad input before anything is written.
func (l *loop) precheckEdit(edit func([]byte) ([]byte, error)) (Response, bool) {
	if l.cc == nil {
		return Response{Error: "the agent does not distribute its configuration"}, true
	}
	e, ok := l.node.ReadLocal(ConfigKey)
	if !ok {
		return Response{}, false // editConfig says why
	}
	if _, err := edit(bytes.Clone(e.Value)); err != nil {
		return Response{Error: err.Error(), BadRequest: true}, true
	}
	return Response{}, false
}

// configVersionOf reads totem.config_version of a corosync.conf text that
// editConfig validated.
func configVersionOf(b []byte) uint64 {
	c, err := corosyncconf.Parse(ConfigKey, b)
	if err != nil {
		return 0
	}
	return c.ConfigVersion
}

// qdeviceFor prepares the qdevice of configuration c: nil without a
// device (a bundle installed from the store is removed then), else a
// client whose bundle is the data directory's, first written from bundle
// (the store's copy, which the engine hands over) when that differs.
func (l *loop) qdeviceFor(c *corosyncconf.Config, bundle []byte) (*qdevice, error) {
	cs := l.cc
	if c.Quorum.Device == nil {
		l.dropInstalledBundle()
		return nil, nil
	}
	if bundle != nil && cs.bundle == "" {
		local := filepath.Join(cs.dataDir, BundleFile)
		if cur, err := os.ReadFile(local); err != nil || !bytes.Equal(cur, bundle) {
			if err := fsx.WriteFileAtomic(local, bundle, 0o600); err != nil {
				return nil, fmt.Errorf("install the qdevice bundle from the store: %w", err)
			}
			l.log.Info("installed the qdevice bundle from the store", "node", l.cl.name, "bundle", local)
		}
	}
	return loadQdevice(l.ctx, c, l.cl.selfID, l.cl.name, cs.bundle, cs.dataDir, l.log)
}

// dropInstalledBundle removes the bundle installed from the store once the
// device is gone (one given with --qdevice-bundle is the operator's).
func (l *loop) dropInstalledBundle() {
	cs := l.cc
	if cs.bundle != "" {
		return
	}
	local := filepath.Join(cs.dataDir, BundleFile)
	if err := os.Remove(local); err == nil {
		l.log.Info("quorum device gone: removed its bundle", "node", l.cl.name, "bundle", local)
	} else if !errors.Is(err, fs.ErrNotExist) {
		l.log.Warn("cannot remove the qdevice bundle", "node", l.cl.name, "err", err)
	}
}

// deviceChange performs the engine's Ready.Device: a live reload added
// the quorum device (its client registered with votequorum; the stream to
// qnetd it is about to dial needs the bundle and the address of the
// configuration now installed) or removed it (the stream closes).
func (l *loop) deviceChange(dc engine.DeviceChange) {
	log := l.log.With("node", l.cl.name, "config_version", dc.ConfigVersion)
	if l.qdev != nil {
		l.qdev.close()
		l.qdev = nil
	}
	if !dc.Start {
		l.dropInstalledBundle()
		log.Info("quorum device removed live: corosync-qdevice stopped")
		return
	}
	qd, err := l.qdeviceFor(l.cl.conf, dc.Bundle)
	if err != nil {
		log.Error("the quorum device of the new configuration cannot be used; the node does not vote for it", "err", err)
		return
	}
	l.qdev = qd
	log.Info("quorum device added live: corosync-qdevice started", "qnetd", qd.addr)
}
