package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/quorate/quorate/engine/links"
	"github.com/quorate/quorate/scenarios/corosyncconf"
)

// cluster.corosync_conf takes the nodelist, totem, quorum and links from a
// real corosync.conf (a Proxmox one works unchanged). The scenario's own
// keys win: a value comes from the file only where the scenario leaves the
// key out. The file's errors keep corosync's wording and the file's line.

// ReadFunc reads a file the scenario refers to. Replaying a trace passes
// one that returns the copy embedded in the trace.
type ReadFunc func(path string) ([]byte, error)

// ConfPath is where a scenario at path scenario reads its
// cluster.corosync_conf conf: relative to the scenario file's directory.
func ConfPath(scenario, conf string) string { return confPath(scenario, conf) }

// confPath resolves cluster.corosync_conf relative to the scenario file.
func confPath(scenario, conf string) string {
	if filepath.IsAbs(conf) {
		return conf
	}
	return filepath.Join(filepath.Dir(scenario), conf)
}

// loadConf reads and parses the corosync.conf; problems become errors at
// cluster.corosync_conf, each naming the conf file's line.
func (b *builder) loadConf() *corosyncconf.Config {
	const field = "cluster.corosync_conf"
	path := confPath(b.c.file, b.s.Cluster.CorosyncConf)
	var src []byte
	offset := 0 // added to the text's lines to name the scenario's
	if text := b.s.Cluster.CorosyncConf; strings.Contains(text, "\n") {
		// The whole file inline (a YAML block), as generated scenarios
		// carry it: errors name the scenario's lines.
		path, src, offset = b.c.file, []byte(text), b.w.valPos(field).Line
	} else {
		read := b.read
		if read == nil {
			read = os.ReadFile
		}
		var err error
		if src, err = read(path); err != nil {
			b.errf(field, "cannot read %s: %v", path, unwrapPath(err))
			return nil
		}
	}
	cfg, err := corosyncconf.Parse(path, src)
	if err == nil {
		// What the engine cannot honour is refused here, where the agent
		// refuses it too, never dropped at run time.
		err = cfg.Unsupported()
	}
	if err != nil {
		var list corosyncconf.ErrorList
		var one *corosyncconf.Error
		switch {
		case errors.As(err, &list):
			for _, e := range list {
				b.c.add(Position{File: e.File, Line: e.Line + offset}, field, "%s", e.Msg)
			}
		case errors.As(err, &one):
			b.c.add(Position{File: one.File, Line: one.Line + offset}, field, "%s", one.Msg)
		default:
			b.errf(field, "%v", err)
		}
		return nil
	}
	b.s.Cluster.CorosyncConfSource = src
	b.s.Cluster.Conf = cfg
	if b.s.Cluster.Name == "" {
		b.s.Cluster.Name = cfg.ClusterName
	}
	return cfg
}

func unwrapPath(err error) error {
	var pe *os.PathError
	if errors.As(err, &pe) {
		return pe.Err
	}
	return err
}

// confNodes fills the nodelist from the file when the scenario has none.
func (b *builder) confNodes(cfg *corosyncconf.Config) {
	cl := &b.s.Cluster
	for _, cn := range cfg.Nodes {
		name := cn.Name
		if name == "" {
			name = cn.RingAddrs[0]
		}
		if !nameRE().MatchString(name) {
			name = "node" + strconv.FormatUint(uint64(cn.NodeID), 10)
		}
		n := Node{Name: name, ID: cn.NodeID, Votes: int(cn.QuorumVotes),
			Pos: Position{File: cfg.File, Line: cn.Line}}
		cl.Nodes = append(cl.Nodes, n)
		b.names[name] = true
		b.ids[cn.NodeID] = name
	}
	b.refs = true
}

// confTotem takes the totem keys the scenario leaves out from the file.
func (b *builder) confTotem(cfg *corosyncconf.Config) {
	t := &b.s.Cluster.Totem
	ct := cfg.Totem
	dur := func(key string, dst *time.Duration, v time.Duration) {
		if !b.has("cluster.totem."+key) && cfg.Has("totem."+key) {
			*dst = v
		}
	}
	num := func(key string, dst *int, v uint32) {
		if !b.has("cluster.totem."+key) && cfg.Has("totem."+key) {
			*dst = int(v)
		}
	}
	dur("token", &t.Token, ct.Token)
	dur("token_coefficient", &t.TokenCoefficient, ct.TokenCoefficient)
	dur("consensus", &t.Consensus, ct.Consensus)
	dur("join", &t.Join, ct.Join)
	dur("merge", &t.Merge, ct.Merge)
	dur("token_retransmit", &t.TokenRetransmit, ct.TokenRetransmit)
	dur("hold", &t.Hold, ct.Hold)
	dur("send_join", &t.SendJoin, ct.SendJoin)
	num("max_messages", &t.MaxMessages, ct.MaxMessages)
	num("window_size", &t.WindowSize, ct.WindowSize)
	num("token_retransmits_before_loss_const", &t.TokenRetransmitsBeforeLossConst, ct.TokenRetransmitsBeforeLossConst)
	num("miss_count_const", &t.MissCountConst, ct.MissCountConst)
	num("seqno_unchanged_const", &t.SeqnoUnchangedConst, ct.SeqnoUnchangedConst)
	num("fail_recv_const", &t.FailRecvConst, ct.FailRecvConst)
}

// confQuorum takes the quorum keys the scenario leaves out from the file.
func (b *builder) confQuorum(cfg *corosyncconf.Config) {
	q := &b.s.Cluster.Quorum
	cq := cfg.Quorum
	set := func(key string) bool { return !b.has("cluster.quorum."+key) && cfg.Has("quorum."+key) }
	if set("expected_votes") {
		q.ExpectedVotes = int(cq.ExpectedVotes)
	}
	if set("two_node") {
		q.TwoNode = cq.TwoNode
	}
	if set("wait_for_all") {
		q.WaitForAll, q.WaitForAllSet = cq.WaitForAll, true
	}
	if set("last_man_standing") {
		q.LastManStanding = cq.LastManStanding
	}
	if set("last_man_standing_window") {
		q.LastManStandingWindow = cq.LastManStandingWindow
	}
	if set("auto_tie_breaker") {
		q.AutoTieBreaker = cq.AutoTieBreaker
	}
	if set("auto_tie_breaker_node") {
		switch cq.AutoTieBreakerNode.Mode {
		case corosyncconf.TieBreakerList:
			q.AutoTieBreakerNode = "list"
			q.AutoTieBreakerNodeList = append([]uint32(nil), cq.AutoTieBreakerNode.NodeIDs...)
		default:
			q.AutoTieBreakerNode = string(cq.AutoTieBreakerNode.Mode)
		}
	}
	if q.Device == nil && cq.Device != nil && !b.has("cluster.quorum.device") {
		d := &Device{Algorithm: cq.Device.Net.Algorithm, TieBreaker: cq.Device.Net.TieBreaker.String(),
			Latency: constant(2 * time.Millisecond), Timeout: cq.Device.Timeout, SyncTimeout: cq.Device.SyncTimeout,
			MasterWins: cq.Device.MasterWins}
		if !cq.Device.VotesAuto {
			d.Votes = int(cq.Device.Votes)
		}
		if d.Algorithm != "ffsplit" && d.Algorithm != "lms" {
			b.c.add(Position{File: cfg.File, Line: cfg.Line("quorum.device.net.algorithm")}, "cluster.corosync_conf",
				"qdevice algorithm %q is not simulated (ffsplit and lms are)", d.Algorithm)
		}
		q.Device = d
	}
}

// confLinks builds the network's links from the file's interfaces (or the
// ringX_addr keys of the nodelist) when the scenario lists none; network
// has made b.links and b.switches empty.
func (b *builder) confLinks(cfg *corosyncconf.Config) {
	n := &b.s.Network
	for _, num := range cfg.LinkNumbers() {
		l := Link{Number: num, Switch: "link" + strconv.Itoa(num), Priority: 1, PongCount: 2,
			Latency: constant(100 * time.Microsecond), Pos: b.w.valPos("cluster.corosync_conf")}
		confLink(&l, cfg)
		b.pingTimers("", l)
		n.Links = append(n.Links, l)
		b.links[num], b.switches[l.Switch] = true, true
	}
}

// pingTimers refuses a knet heartbeat timer of link l set below knet's
// timer resolution (links.TimerRes), which the link layer would refuse
// when the node starts. The error names the key that set it: the
// scenario's (path p, the link's place under network.links; "" for a
// link taken from the file) or the corosync.conf's.
func (b *builder) pingTimers(p string, l Link) {
	for _, k := range []struct {
		key, conf string
		v         time.Duration
	}{{"ping_interval", "knet_ping_interval", l.PingInterval}, {"ping_timeout", "knet_ping_timeout", l.PingTimeout}} {
		if k.v == 0 || k.v >= links.TimerRes {
			continue
		}
		if p != "" && b.has(p+"."+k.key) {
			b.errf(p+"."+k.key, "%v is below knet's %v timer resolution: the link's heartbeat could not start (leave it out to derive it from the token)", k.v, links.TimerRes)
			continue
		}
		if b.conf != nil {
			b.c.add(Position{File: b.conf.File, Line: b.conf.Line(fmt.Sprintf("totem.interface.%d.%s", l.Number, k.conf))}, "cluster.corosync_conf",
				"%s: %d is below knet's %v timer resolution: link %d's heartbeat could not start (leave it out to derive it from the token)",
				k.conf, k.v.Milliseconds(), links.TimerRes, l.Number)
		}
	}
}

// confLink sets what the file's interface of l's number says of it: its
// knet priority and timers. A link the scenario lists takes them too, so
// that a network section that only adds latency or loss rehearses the
// file's link choice and knet timeouts; the scenario's own keys are
// applied after, and win.
func confLink(l *Link, cfg *corosyncconf.Config) {
	in := cfg.Interface(l.Number)
	if in == nil {
		return
	}
	l.Priority = int(in.KnetLinkPriority)
	l.PingInterval, l.PingTimeout = in.KnetPingInterval, in.KnetPingTimeout
	if in.KnetPongCount > 0 {
		l.PongCount = int(in.KnetPongCount)
	}
}
