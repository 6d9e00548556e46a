package agent

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/quorate/quorate/netmodel/udp"
)

// Benchmarks of real agents: three `quorate agent` processes (built once
// per test binary with go build), each a separate OS process so that
// kill -9 and RSS are real, talking over UDP with every packet sealed
// (AES-256-GCM). Throughput, latency, kill -9 and RSS run on loopback
// (127.0.1.N for link 0, 127.0.2.N for link 1); the switch failure runs
// the agents in network namespaces, one per node, with one bridge per link
// in a switch namespace, and takes bridge sw0 down as corosync's reference
// measurements do (docs/reference/corosync-results.md). Load comes from
// the agents' own generator (CmdLoad); the figures from their stats.
// Every figure is the median over b.N iterations, each on a fresh cluster.
// Skipped under -short. docs/benchmarks.md has the figures and the setup.

var (
	benchBuild    sync.Once
	benchBinDir   string
	benchBinPath  string
	benchBuildErr error
)

func TestMain(m *testing.M) {
	code := m.Run()
	if benchBinDir != "" {
		os.RemoveAll(benchBinDir)
	}
	os.Exit(code)
}

// quorateBinary builds cmd/quorate once and returns the binary's path.
func quorateBinary(b *testing.B) string {
	b.Helper()
	benchBuild.Do(func() {
		gobin, err := exec.LookPath("go")
		if err != nil {
			benchBuildErr = err
			return
		}
		if benchBinDir, err = os.MkdirTemp("", "quorate-bench"); err != nil {
			benchBuildErr = err
			return
		}
		benchBinPath = filepath.Join(benchBinDir, "quorate")
		out, err := exec.Command(gobin, "build", "-o", benchBinPath, "github.com/quorate/quorate/cmd/quorate").CombinedOutput()
		if err != nil {
			benchBuildErr = fmt.Errorf("go build: %v\n%s", err, out)
		}
	})
	if benchBuildErr != nil {
		b.Fatal(benchBuildErr)
	}
	return benchBinPath
}

// procAgent is one agent process.
type procAgent struct {
	name, admin, data, log string
	ns                     string // network namespace, "" for the host's
	cmd                    *exec.Cmd
	exited                 chan struct{}
}

// procCluster is three agent processes sharing one corosync.conf.
type procCluster struct {
	b      *testing.B
	conf   string
	text   string // the corosync.conf
	agents []*procAgent
}

// benchNet says where the nodes live: addr gives node i's address on a
// link, ns its network namespace ("" on the host).
type benchNet struct {
	addr func(i, link int) string
	ns   func(i int) string
	port int
}

// loopbackNet puts node i on 127.0.1.(i+1) and 127.0.2.(i+1), with ports
// free on every one of those addresses.
func loopbackNet(b *testing.B) benchNet {
	addr := func(i, link int) string { return fmt.Sprintf("127.0.%d.%d", link+1, i+1) }
	for range 50 {
		port, ok := 20000+int(time.Now().UnixNano()%20000), true
		for i := range testNodes {
			for link := range 2 {
				c, err := udpListen(addr(i, link), port+link)
				if err != nil {
					ok = false
					continue
				}
				c.Close()
			}
		}
		if ok {
			return benchNet{addr: addr, ns: func(int) string { return "" }, port: port}
		}
	}
	b.Fatal("no free UDP ports on 127.0.1.x / 127.0.2.x")
	return benchNet{}
}

// benchConfText is the benchmarks' corosync.conf: corosync's defaults but
// for the token when token > 0, two links, passive link mode.
func benchConfText(keyfile string, n benchNet, token time.Duration) string {
	var b strings.Builder
	fmt.Fprintf(&b, "totem {\n  version: 2\n  cluster_name: bench3\n  config_version: 1\n  transport: knet\n"+
		"  crypto_cipher: aes256\n  crypto_hash: sha256\n  keyfile: %s\n", keyfile)
	if token > 0 {
		fmt.Fprintf(&b, "  token: %d\n", token.Milliseconds())
	}
	fmt.Fprintf(&b, "  interface {\n    linknumber: 0\n    knet_link_priority: 20\n    mcastport: %d\n  }\n"+
		"  interface {\n    linknumber: 1\n    knet_link_priority: 10\n    mcastport: %d\n  }\n}\n\nnodelist {\n", n.port, n.port+1)
	for i, name := range testNodes {
		fmt.Fprintf(&b, "  node {\n    name: %s\n    nodeid: %d\n    quorum_votes: 1\n    ring0_addr: %s\n    ring1_addr: %s\n  }\n",
			name, i+1, n.addr(i, 0), n.addr(i, 1))
	}
	b.WriteString("}\n\nquorum {\n  provider: corosync_votequorum\n}\n")
	return b.String()
}

// startProcCluster writes the config and a fresh authkey, starts the three
// agents and waits until all are quorate with three members.
func startProcCluster(b *testing.B, n benchNet, token time.Duration) *procCluster {
	b.Helper()
	bin := quorateBinary(b)
	dir := b.TempDir()
	key := filepath.Join(dir, "authkey")
	if err := udp.GenerateKey(key, 0); err != nil {
		b.Fatal(err)
	}
	c := &procCluster{b: b, conf: filepath.Join(dir, "corosync.conf"), text: benchConfText(key, n, token)}
	if err := os.WriteFile(c.conf, []byte(c.text), 0o644); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		for _, a := range c.agents {
			a.stop()
		}
		if b.Failed() {
			for _, a := range c.agents {
				if out, err := os.ReadFile(a.log); err == nil {
					b.Logf("log of %s:\n%s", a.name, tail(string(out), 40))
				}
			}
		}
	})
	for i, name := range testNodes {
		a := &procAgent{name: name, admin: filepath.Join(dir, name, "admin.sock"), data: filepath.Join(dir, name, "data"),
			log: filepath.Join(dir, name+".log"), ns: n.ns(i), exited: make(chan struct{})}
		if err := os.MkdirAll(filepath.Dir(a.admin), 0o755); err != nil {
			b.Fatal(err)
		}
		args := []string{bin, "agent", "--config", c.conf, "--node", name, "--admin", a.admin, "--data-dir", a.data}
		if a.ns != "" {
			args = append([]string{"ip", "netns", "exec", a.ns}, args...)
		}
		logf, err := os.Create(a.log)
		if err != nil {
			b.Fatal(err)
		}
		a.cmd = exec.Command(args[0], args[1:]...)
		a.cmd.Stdout, a.cmd.Stderr = logf, logf
		if err := a.cmd.Start(); err != nil {
			b.Fatal(err)
		}
		logf.Close()
		go func() { a.cmd.Wait(); close(a.exited) }()
		c.agents = append(c.agents, a)
	}
	c.waitQuorate(3, c.agents...)
	return c
}

// stop ends an agent with SIGTERM (SIGKILL after 10 s) and waits for it.
func (a *procAgent) stop() {
	select {
	case <-a.exited:
		return
	default:
	}
	a.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-a.exited:
	case <-time.After(10 * time.Second):
		a.cmd.Process.Kill()
		<-a.exited
	}
}

// call sends one request to an agent, failing the benchmark on error.
func (c *procCluster) call(a *procAgent, req Request) *Response {
	c.b.Helper()
	resp, err := c.try(a, req)
	if err != nil {
		c.b.Fatalf("%s %s: %v", a.name, req.Cmd, err)
	}
	return resp
}

func (c *procCluster) try(a *procAgent, req Request) (*Response, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	resp, err := Call(ctx, a.admin, req)
	if err == nil && !resp.OK {
		err = errors.New(resp.Error)
	}
	return resp, err
}

// poll calls cond every interval until it holds and returns when it first
// held; it fails the benchmark after waitTimeout.
func (c *procCluster) poll(what string, interval time.Duration, cond func() (bool, string)) time.Time {
	c.b.Helper()
	deadline := time.Now().Add(waitTimeout)
	for {
		ok, state := cond()
		if ok {
			return time.Now()
		}
		if time.Now().After(deadline) {
			c.b.Fatalf("timed out after %v waiting until %s; last state: %s", waitTimeout, what, state)
		}
		time.Sleep(interval)
	}
}

// quorateWith reports whether agent a is quorate with exactly n members
// and done with votequorum's sync.
func (c *procCluster) quorateWith(a *procAgent, n int) (bool, string) {
	resp, err := c.try(a, Request{Cmd: CmdStatus})
	if err != nil {
		return false, err.Error()
	}
	q := resp.Status.Quorum
	return q.Quorate && len(q.Members) == n && !q.Syncing, q.String()
}

func (c *procCluster) waitQuorate(n int, as ...*procAgent) time.Time {
	c.b.Helper()
	var last time.Time
	for _, a := range as {
		last = c.poll(fmt.Sprintf("%s is quorate with %d members", a.name, n), 10*time.Millisecond,
			func() (bool, string) { return c.quorateWith(a, n) })
	}
	return last
}

// stats reads every agent's counters.
func (c *procCluster) stats() []*StatsInfo {
	out := make([]*StatsInfo, len(c.agents))
	for i, a := range c.agents {
		out[i] = c.call(a, Request{Cmd: CmdStats}).Stats
	}
	return out
}

// load starts the same run on every agent.
func (c *procCluster) load(spec LoadSpec) {
	for _, a := range c.agents {
		c.call(a, Request{Cmd: CmdLoad, Load: &spec})
	}
}

// drainAndCheck stops the load, waits until every agent has delivered
// the same number of load messages with none in flight, and checks that
// they delivered them in the same order with no gaps or reorders.
func (c *procCluster) drainAndCheck() {
	c.b.Helper()
	c.load(LoadSpec{Count: 0})
	var infos []*LoadInfo
	c.poll("every agent delivered the same load messages", 20*time.Millisecond, func() (bool, string) {
		infos = infos[:0]
		var sent uint64
		for _, s := range c.stats() {
			infos = append(infos, s.Load)
			sent += s.Load.Sent
		}
		var state []string
		ok := true
		for i, li := range infos {
			ok = ok && li.Delivered == sent && li.InFlight == 0
			state = append(state, fmt.Sprintf("%s %d/%d", c.agents[i].name, li.Delivered, sent))
		}
		return ok, strings.Join(state, ", ")
	})
	for i, li := range infos {
		if li.Digest != infos[0].Digest || li.Gaps != 0 || li.Reorders != 0 {
			c.b.Fatalf("%s: digest %s (alpha %s), gaps %d, reorders %d: not the same agreed order",
				c.agents[i].name, li.Digest, infos[0].Digest, li.Gaps, li.Reorders)
		}
	}
}

// rssMiB returns the agents' largest VmRSS in MiB.
func (c *procCluster) rssMiB() float64 {
	c.b.Helper()
	var worst float64
	for _, a := range c.agents {
		kb, err := vmRSS(a.cmd.Process.Pid)
		if err != nil {
			c.b.Fatalf("%s: %v", a.name, err)
		}
		worst = max(worst, float64(kb)/1024)
	}
	return worst
}

// vmRSS reads VmRSS (kB) from /proc/PID/status, checking that the process
// is the agent itself (ip netns exec execs it in its own place).
func vmRSS(pid int) (int, error) {
	comm, err := os.ReadFile(fmt.Sprintf("/proc/%d/comm", pid))
	if err != nil {
		return 0, err
	}
	if strings.TrimSpace(string(comm)) != "quorate" {
		return 0, fmt.Errorf("pid %d is %q, not the agent", pid, strings.TrimSpace(string(comm)))
	}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if rest, ok := strings.CutPrefix(sc.Text(), "VmRSS:"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(rest), " kB"))
		}
	}
	return 0, fmt.Errorf("pid %d: no VmRSS", pid)
}

// medians collects one value per iteration of each metric and reports
// their medians.
type medians map[string][]float64

func (m medians) add(unit string, v float64) { m[unit] = append(m[unit], v) }

func (m medians) report(b *testing.B) {
	for unit, vs := range m {
		slices.Sort(vs)
		b.ReportMetric(vs[len(vs)/2], unit)
	}
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

// BenchmarkAgentLoad: all three agents multicast for 5 s, either as fast
// as Totem takes them (flood; each agent keeps at most loadBacklog
// frames in Totem's queue) or one message in flight each (ping, as
// cpgbench's ping mode); ping1 is alpha alone with one message in flight,
// cpgbench's ping mode exactly; msgs/s is the load messages delivered per second
// at each node (from all three senders, averaged over the nodes), p50/p99
// the latency from Multicast to delivery at the sender (own) and at the
// other two nodes (peer). rss_MiB is the largest agent's VmRSS at the end
// of the window, rss_idle_MiB before the load.
func BenchmarkAgentLoad(b *testing.B) {
	if testing.Short() {
		b.Skip("agent processes: skipped under -short")
	}
	const window = 5 * time.Second
	for _, mode := range []struct {
		name    string
		window  int
		senders int
	}{{"flood", 0, 3}, {"ping", 1, 3}, {"ping1", 1, 1}} {
		for _, size := range []struct {
			name string
			n    int
		}{{"64B", 64}, {"1KiB", 1024}} {
			b.Run(mode.name+"/"+size.name, func(b *testing.B) {
				m := medians{}
				for range b.N {
					c := startProcCluster(b, loopbackNet(b), 0)
					time.Sleep(time.Second)
					m.add("rss_idle_MiB", c.rssMiB())
					for _, a := range c.agents[:mode.senders] {
						c.call(a, Request{Cmd: CmdLoad, Load: &LoadSpec{Count: 1 << 30, Size: size.n, Window: mode.window}})
					}
					time.Sleep(time.Second) // warm-up
					s0 := c.stats()
					start := time.Now()
					time.Sleep(window)
					s1 := c.stats()
					took := time.Since(start)
					m.add("rss_MiB", c.rssMiB())
					c.drainAndCheck()
					var delivered uint64
					var own, peer LatencyHistogram
					for i := range s1 {
						delivered += s1[i].Load.Delivered - s0[i].Load.Delivered
						own = own.Merge(s1[i].Load.OwnLatency.Sub(s0[i].Load.OwnLatency))
						peer = peer.Merge(s1[i].Load.PeerLatency.Sub(s0[i].Load.PeerLatency))
					}
					rate := float64(delivered) / float64(len(s1)) / took.Seconds()
					m.add("msgs/s", rate)
					m.add("MB/s", rate*float64(size.n)/1e6)
					m.add("p50_ms", ms(own.Quantile(0.5)))
					m.add("p99_ms", ms(own.Quantile(0.99)))
					m.add("peer_p50_ms", ms(peer.Quantile(0.5)))
					m.add("peer_p99_ms", ms(peer.Quantile(0.99)))
					for _, a := range c.agents {
						a.stop()
					}
				}
				m.report(b)
			})
		}
	}
}

// benchTokens are the token settings the protocol-timing benchmarks run
// with: corosync's default and token 1000 (0 leaves the config's token).
var benchTokens = []struct {
	name  string
	token time.Duration
}{{"token=default", 0}, {"token=1000", time.Second}}

// BenchmarkAgentKill9: kill -9 of charlie on an idle ring; kill9_ms is the
// time until both survivors are quorate with two members (votequorum's
// sync done), link_down_ms until both report no active link to charlie.
func BenchmarkAgentKill9(b *testing.B) {
	if testing.Short() {
		b.Skip("agent processes: skipped under -short")
	}
	for _, tok := range benchTokens {
		b.Run(tok.name, func(b *testing.B) {
			m := medians{}
			for range b.N {
				c := startProcCluster(b, loopbackNet(b), tok.token)
				time.Sleep(2 * time.Second)
				m.add("rss_idle_MiB", c.rssMiB())
				alpha, bravo, charlie := c.agents[0], c.agents[1], c.agents[2]
				start := time.Now()
				if err := charlie.cmd.Process.Signal(syscall.SIGKILL); err != nil {
					b.Fatal(err)
				}
				var linkDown, quorate time.Duration
				c.poll("the survivors see charlie gone and are quorate again", 5*time.Millisecond, func() (bool, string) {
					if linkDown == 0 && c.activeTo(charlie, -1, alpha, bravo) {
						linkDown = time.Since(start)
					}
					ok := true
					var state string
					for _, a := range []*procAgent{alpha, bravo} {
						q, s := c.quorateWith(a, 2)
						ok, state = ok && q, state+a.name+": "+s+"; "
					}
					if ok {
						quorate = time.Since(start)
					}
					return ok && linkDown > 0, state
				})
				m.add("kill9_ms", ms(quorate))
				m.add("link_down_ms", ms(linkDown))
				for _, a := range c.agents {
					a.stop()
				}
			}
			m.report(b)
		})
	}
}

// activeTo reports whether every agent of from shows link `link` active
// towards peer (-1: no active link).
func (c *procCluster) activeTo(peer *procAgent, link int, from ...*procAgent) bool {
	for _, a := range from {
		resp, err := c.try(a, Request{Cmd: CmdLinks})
		if err != nil {
			return false
		}
		for _, p := range resp.Links.Peers {
			if p.Name == peer.name && p.Active != link {
				return false
			}
		}
	}
	return true
}

// allActive reports whether every agent uses link towards every peer.
func (c *procCluster) allActive(link int) bool {
	for _, a := range c.agents {
		for _, p := range c.agents {
			if p != a && !c.activeTo(p, link, a) {
				return false
			}
		}
	}
	return true
}

// netLab is the network namespaces of a switch-failure run: one per node
// (interfaces l0 on 10.201.0.N/24 and l1 on 10.201.1.N/24) and a switch
// namespace holding the bridges sw0 and sw1 that join them.
type netLab struct {
	b     *testing.B
	sw    string
	nodes []string
}

// ipCmd runs ip with args.
func ipCmd(args ...string) error {
	out, err := exec.Command("ip", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %v: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// newNetLab builds the namespaces, or skips the benchmark when this
// machine does not allow them (not root, no ip, no veth or bridge).
func newNetLab(b *testing.B) *netLab {
	b.Helper()
	if os.Geteuid() != 0 {
		b.Skip("network namespaces need root")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		b.Skip("network namespaces need iproute2's ip")
	}
	prefix := fmt.Sprintf("qbench%d", os.Getpid())
	lab := &netLab{b: b, sw: prefix + "sw"}
	for i := range testNodes {
		lab.nodes = append(lab.nodes, fmt.Sprintf("%sn%d", prefix, i+1))
	}
	b.Cleanup(lab.close)
	steps := [][]string{{"netns", "add", lab.sw}}
	for _, br := range []string{"sw0", "sw1"} {
		steps = append(steps, []string{"-n", lab.sw, "link", "add", br, "type", "bridge"},
			[]string{"-n", lab.sw, "link", "set", br, "up"})
	}
	for i, ns := range lab.nodes {
		steps = append(steps, []string{"netns", "add", ns}, []string{"-n", ns, "link", "set", "lo", "up"})
		for link := range 2 {
			port := fmt.Sprintf("n%dl%d", i+1, link)
			dev := fmt.Sprintf("l%d", link)
			steps = append(steps,
				[]string{"-n", lab.sw, "link", "add", port, "type", "veth", "peer", "name", dev, "netns", ns},
				[]string{"-n", lab.sw, "link", "set", port, "master", fmt.Sprintf("sw%d", link), "up"},
				[]string{"-n", ns, "addr", "add", fmt.Sprintf("10.201.%d.%d/24", link, i+1), "dev", dev},
				[]string{"-n", ns, "link", "set", dev, "up"})
		}
	}
	for _, s := range steps {
		if err := ipCmd(s...); err != nil {
			b.Skipf("cannot build the network namespaces: %v", err)
		}
	}
	return lab
}

func (lab *netLab) net() benchNet {
	return benchNet{
		addr: func(i, link int) string { return fmt.Sprintf("10.201.%d.%d", link, i+1) },
		ns:   func(i int) string { return lab.nodes[i] },
		port: 5405,
	}
}

// setSwitch takes a bridge down or up: the switch failure.
func (lab *netLab) setSwitch(br string, up bool) {
	lab.b.Helper()
	state := "down"
	if up {
		state = "up"
	}
	if err := ipCmd("-n", lab.sw, "link", "set", br, state); err != nil {
		lab.b.Fatal(err)
	}
}

func (lab *netLab) close() {
	for _, ns := range append([]string{lab.sw}, lab.nodes...) {
		ipCmd("netns", "del", ns)
	}
}

// BenchmarkAgentSwitchFailure: the three agents in network namespaces,
// each multicasting 200 messages of 64 B per second; 10 s after every
// link is up (when knet's pong timeout backoff has come down), bridge sw0 (all
// of link 0) goes down. failover_ms is the time until every agent uses
// link 1 towards every peer; stall_ms the longest Multicast-to-delivery
// latency of any message across the cut (the time traffic stood still);
// rings the membership changes the cut caused at alpha; restore_ms the
// time after sw0 comes back until every agent uses link 0 again.
func BenchmarkAgentSwitchFailure(b *testing.B) {
	if testing.Short() {
		b.Skip("agent processes: skipped under -short")
	}
	for _, tok := range benchTokens {
		b.Run(tok.name, func(b *testing.B) {
			m := medians{}
			for range b.N {
				lab := newNetLab(b)
				c := startProcCluster(b, lab.net(), tok.token)
				c.poll("every agent uses link 0", 20*time.Millisecond, func() (bool, string) { return c.allActive(0), "" })
				// knet starts a link's pong timeout at ten times the ping
				// timeout and lowers it by one step a second: cut the
				// switch once that is over, in steady state.
				time.Sleep(10 * time.Second)
				c.load(LoadSpec{Count: 1 << 30, Size: 64, Rate: 200})
				time.Sleep(time.Second)
				s0 := c.stats()
				start := time.Now()
				lab.setSwitch("sw0", false)
				switched := c.poll("every agent uses link 1", 5*time.Millisecond, func() (bool, string) { return c.allActive(1), "" })
				m.add("failover_ms", ms(switched.Sub(start)))
				time.Sleep(3 * time.Second)
				c.waitQuorate(3, c.agents...)
				s1 := c.stats()
				var stall time.Duration
				for i := range s1 {
					stall = max(stall, s1[i].Load.OwnLatency.Sub(s0[i].Load.OwnLatency).Max(),
						s1[i].Load.PeerLatency.Sub(s0[i].Load.PeerLatency).Max())
				}
				m.add("stall_ms", ms(stall))
				m.add("rings", float64(s1[0].Deliveries["regular"]-s0[0].Deliveries["regular"]))
				start = time.Now()
				lab.setSwitch("sw0", true)
				back := c.poll("every agent uses link 0 again", 5*time.Millisecond, func() (bool, string) { return c.allActive(0), "" })
				m.add("restore_ms", ms(back.Sub(start)))
				c.drainAndCheck()
				for _, a := range c.agents {
					a.stop()
				}
				lab.close()
			}
			m.report(b)
		})
	}
}

// udpListen binds a UDP socket on addr:port.
func udpListen(addr string, port int) (*net.UDPConn, error) {
	return net.ListenUDP("udp4", &net.UDPAddr{IP: net.ParseIP(addr), Port: port})
}

// tail returns the last n lines of s.
func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}
