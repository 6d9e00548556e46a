package agent

import (
	"cmp"
	"context"
	cryptorand "crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"github.com/quorate/quorate/agent/configdb"
	"github.com/quorate/quorate/engine"
	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/internal/metricsrv"
	"github.com/quorate/quorate/netmodel/udp"
	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
)

// Options configures one agent. Only ConfigPath is required.
type Options struct {
	// ConfigPath is the corosync.conf to run (e.g. /etc/corosync/corosync.conf).
	ConfigPath string
	// NodeName selects the local node by nodelist name, nodeid or ring0
	// address; empty finds it as corosync does, from the host name and the
	// interface addresses.
	NodeName string
	// KeyFile overrides totem.keyfile (default /etc/corosync/authkey).
	KeyFile string
	// AdminSocket is the management socket; default DefaultAdminSocket.
	AdminSocket string
	// DataDir holds config.db, the persisted engine.State (ring sequence
	// and the replicated store, package configdb); default DefaultDataDir.
	DataDir string
	// MetricsAddr, when set, serves /metrics over HTTP there
	// (e.g. 127.0.0.1:9405).
	MetricsAddr string
	// Logger receives the agent's logs; nil logs text at level info to
	// stderr.
	Logger *slog.Logger
	// Delay, when set, delays every packet sent on a link by the returned
	// span (tests: the kernels there have no netem).
	Delay func(link wire.LinkNo) time.Duration
	// Deliveries, when set, is the delivery log (deliveries.go): a line
	// per delivered item of the total order and per load message sent,
	// for the simulator's ordering checkers in the lab.
	Deliveries string
	// Journal is the flight recorder's file (see recorder); default
	// <DataDir>/journal.jsonl.
	Journal string
	// JournalMax is the size at which the journal rotates to <Journal>.1;
	// 0 means DefaultJournalMax.
	JournalMax int64
	// Seed seeds the node's random stream; 0 draws it from crypto/rand.
	// Either way it is logged.
	Seed uint64
	// QdeviceBundle is the qnetd client bundle (CA, client certificate and
	// key) used when corosync.conf has a quorum.device; default
	// <DataDir>/qdevice.pem.
	QdeviceBundle string
	// JoinListen is the TCP address of the join listener `quorate add`
	// talks to: "" listens on link 0's address and port number (TCP; the
	// links use UDP), "off" disables joins through this agent.
	JoinListen string
}

// Run starts the agent and blocks until ctx is done, a peer removes this
// node from the nodelist (both return nil), or the agent fails. Errors
// about the input (corosync.conf, local node, authkey) wrap ErrConfig and
// come before any socket is bound.
func Run(ctx context.Context, opt Options) error {
	log := opt.Logger
	if log == nil {
		log = slog.New(slog.NewTextHandler(os.Stderr, nil))
	}
	opt.AdminSocket = cmp.Or(opt.AdminSocket, DefaultAdminSocket)
	opt.DataDir = cmp.Or(opt.DataDir, DefaultDataDir)

	conf, err := loadConfig(opt.ConfigPath)
	if err != nil {
		return err
	}
	raw, err := os.ReadFile(opt.ConfigPath)
	if err != nil {
		return badConfig(err)
	}
	for _, w := range conf.Warnings {
		log.Warn("corosync.conf: " + w.Error())
	}
	self, err := localNode(conf, opt.NodeName)
	if err != nil {
		return err
	}
	ecfg, err := engineConfig(conf, self)
	if err != nil {
		return err
	}
	key, keySource, err := keyFor(conf, opt.KeyFile)
	if err != nil {
		return err
	}
	tcfg, err := transportConfig(ctx, conf, self, key)
	if err != nil {
		return err
	}
	delays := newLinkDelays()
	if opt.Delay == nil {
		// Set at run time through the admin socket (CmdDelay).
		opt.Delay = delays.delay
	}
	tcfg.Delay = opt.Delay
	qdev, err := loadQdevice(ctx, conf, wire.NodeID(self.NodeID), nodeName(self), opt.QdeviceBundle, opt.DataDir, log)
	if err != nil {
		return err
	}
	if qdev != nil {
		defer qdev.cancel()
	}
	if conf.Quorum.Provider == "" {
		log.Warn("corosync.conf has no quorum provider: corosync would be always quorate; quorate runs votequorum regardless")
	}
	if !encrypted(conf) {
		log.Warn("corosync.conf turns encryption off (no secauth, crypto_cipher and crypto_hash none), but quorate seals every packet with the authkey anyway", "key", keySource)
	}

	cl := newCluster(conf, self, tcfg)
	cl.raw = raw
	id := cl.selfID
	if err := prepareDataDir(opt.DataDir); err != nil {
		return err
	}
	release, err := lockDataDir(opt.DataDir)
	if err != nil {
		return err
	}
	defer release()
	db, err := configdb.Open(opt.DataDir, id, log)
	switch {
	case errors.Is(err, configdb.ErrCorrupt), errors.Is(err, configdb.ErrForeign):
		// A damaged or foreign config.db does not mend by restarting:
		// bad input, so systemd does not restart the agent in a loop.
		return badConfig(fmt.Errorf("agent: %w", err))
	case err != nil:
		return fmt.Errorf("agent: %w", err)
	}
	defer func() {
		if err := db.Close(); err != nil {
			log.Error("closing the configuration database failed", "node", cl.name, "err", err)
		}
	}()
	persisted := db.State()
	seed := opt.Seed
	if seed == 0 {
		if seed, err = osSeed(); err != nil {
			return err
		}
	}
	start := time.Now()
	rnd := rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15))
	node, err := engine.New(ecfg, 0, persisted, rnd)
	if err != nil {
		return badConfig(fmt.Errorf("%s: %w", conf.File, err))
	}
	opt.Journal = cmp.Or(opt.Journal, filepath.Join(opt.DataDir, journalFile))
	rec, err := openRecorder(opt.Journal, opt.JournalMax,
		journal.Record{Cluster: conf.ClusterName, Node: cl.name, NodeID: uint32(id)}, start, log)
	if err != nil {
		return err
	}
	defer rec.close()
	l := &loop{
		log: log, node: node, start: start, cl: cl, rec: rec,
		in: make(chan inbound, inboxLen), calls: make(chan call),
		tasks: make(chan func()), stopped: make(chan struct{}),
		persist: db.Persist, disk: persisted,
		qdev: qdev, join: &joinStats{}, delays: delays,
	}
	if opt.Deliveries != "" {
		if l.dlog, err = openDeliveryLog(opt.Deliveries, log); err != nil {
			return err
		}
		defer l.dlog.close()
	}
	tcfg.Unreachable = l.unreachable
	// The names as at start, for the transport's readers (the loop's
	// nodelist changes under them).
	names := maps.Clone(cl.names)
	l.rejects = newRejectLog(log, cl.name, func(id wire.NodeID) string {
		if n := names[id]; n != "" {
			return n
		}
		return strconv.FormatUint(uint64(id), 10)
	})
	tcfg.Rejected = l.rejects.rejected
	tr, err := udp.Listen(tcfg, l.receive)
	switch {
	case errors.Is(err, udp.ErrConfig), errors.Is(err, udp.ErrKeyTooShort), errors.Is(err, udp.ErrKeyTooLong):
		return badConfig(fmt.Errorf("%s: %w", conf.File, err))
	case err != nil:
		return fmt.Errorf("agent: %w", err)
	}
	cur, curCfg := tr, tcfg
	defer func() { cur.Close() }()
	l.tr = tr
	l.cc = &confSync{path: opt.ConfigPath, key: key, rnd: rnd, dataDir: opt.DataDir, bundle: opt.QdeviceBundle, tcfg: tcfg,
		relisten: func(cfg udp.Config) (transport, error) {
			// A nodelist change: new sockets for the new peer set. The
			// loop sends nothing meanwhile; packets in flight are lost,
			// which the protocols recover from.
			cfg.Delay = opt.Delay
			cfg.Unreachable = l.unreachable
			cfg.Rejected = l.rejects.rejected
			cur.Close()
			nt, err := udp.Listen(cfg, l.receive)
			if err != nil {
				// Back to the old links rather than none.
				old, oerr := udp.Listen(curCfg, l.receive)
				if oerr != nil {
					return nil, errors.Join(err, oerr)
				}
				cur = old
				l.tr = old
				return nil, err
			}
			log.Info("links rebound for the new nodelist", "node", l.cl.name, "peers", len(cfg.Peers))
			cur, curCfg = nt, cfg
			return nt, nil
		}}

	var js *joinServer
	if opt.JoinListen != "off" {
		addr := opt.JoinListen
		if addr == "" {
			addr = tcfg.Local[0].String()
		}
		jl, err := net.Listen("tcp", addr)
		if err != nil {
			return fmt.Errorf("agent: join listener on %s (set --join-listen, or off): %w", addr, err)
		}
		js = &joinServer{ln: jl, l: l, key: key, log: log, stats: l.join}
		defer js.close()
	}

	ln, err := listenAdmin(opt.AdminSocket)
	if err != nil {
		return err
	}
	done := make(chan struct{})
	admin := &adminServer{path: opt.AdminSocket, ln: ln, calls: l.calls, done: done, log: log}
	defer admin.close()

	if opt.MetricsAddr != "" {
		m, reg := newMetrics(cl)
		m.join = l.join
		m.rejects = l.rejects
		l.metrics = m
		stop, err := metricsrv.Serve(opt.MetricsAddr, reg, log)
		if err != nil {
			return err
		}
		defer stop()
	}

	log.Info("agent started", "node", cl.name, "nodeid", uint32(id), "cluster", conf.ClusterName,
		"config", conf.File, "config_version", conf.ConfigVersion, "seed", fmt.Sprintf("%#016x", seed),
		"ring_seq", persisted.RingSeq, "store_version", persisted.Store.Version, "links", localAddrs(tr), "key", keySource,
		"admin", opt.AdminSocket, "data_dir", opt.DataDir, "journal", opt.Journal, "metrics", opt.MetricsAddr)
	if qdev != nil {
		log.Info("qdevice enabled", "node", cl.name, "qnetd", qdev.addr, "bundle", qdev.bundle.Path,
			"algorithm", conf.Quorum.Device.Net.Algorithm, "votes", conf.Quorum.Device.Votes)
	}
	rec.write(journal.Record{Kind: journal.KindStart, Config: journalConfig(conf, cl),
		Reason: fmt.Sprintf("config %s, seed %#016x, ring_seq %d", conf.File, seed, persisted.RingSeq)})
	go admin.serve(ctx)
	go releaseIdleMemory(ctx)
	if js != nil {
		log.Info("join listener ready", "node", cl.name, "addr", js.ln.Addr().String())
		go js.serve(ctx)
	}
	err = l.run(ctx)
	close(done)
	if err != nil {
		rec.write(journal.Record{Kind: journal.KindStop, Reason: err.Error()})
		log.Error("agent stopped", "node", cl.name, "err", err)
		return err
	}
	stop := journal.Record{Kind: journal.KindStop, Reason: "signal"}
	if l.killedBy != 0 {
		stop.Reason = journal.StopRemoved + " by " + cl.nameOf(l.killedBy)
		stop.Peer, stop.PeerID = cl.nameOf(l.killedBy), uint32(l.killedBy)
	}
	rec.write(stop)
	log.Info("agent stopped", "node", cl.name)
	return nil
}

// osSeed draws a seed from the OS.
func osSeed() (uint64, error) {
	var b [8]byte
	if _, err := cryptorand.Read(b[:]); err != nil {
		return 0, fmt.Errorf("agent: draw seed: %w", err)
	}
	return binary.LittleEndian.Uint64(b[:]) | 1, nil
}

// localAddrs lists the bound address of every link, for the start line.
func localAddrs(tr *udp.Transport) []string {
	var out []string
	for n := range wire.MaxLinks {
		if a := tr.LocalAddr(wire.LinkNo(n)); a.IsValid() {
			out = append(out, fmt.Sprintf("%d=%s", n, a))
		}
	}
	return out
}

// encrypted reports whether corosync would encrypt with conf: "secauth: on"
// or a crypto_cipher or crypto_hash other than none (corosync 3 reads the
// latter two; secauth is the older spelling of aes256 + sha256).
func encrypted(conf *corosyncconf.Config) bool {
	t := conf.Totem
	return t.SecAuth || (t.CryptoCipher != "" && t.CryptoCipher != "none") || (t.CryptoHash != "" && t.CryptoHash != "none")
}
