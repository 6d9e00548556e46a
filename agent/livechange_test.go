package agent

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
)

// joinCluster builds alpha, bravo and charlie on loopback as an operator
// does: create on alpha, add bravo and charlie (each started after its
// add). Link 0 is on 127.0.0.N, link 1 on 127.0.0.2N. It returns the
// running agents and the port of link 0.
func joinCluster(t *testing.T) ([]*joinAgent, int) {
	t.Helper()
	dir := t.TempDir()
	port := freePorts(t)
	var as []*joinAgent
	for _, name := range testNodes {
		d := filepath.Join(dir, name)
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
		as = append(as, &joinAgent{
			testAgent: testAgent{name: name, admin: filepath.Join(d, "admin.sock"), data: filepath.Join(d, "data"), log: &syncBuffer{}},
			conf:      filepath.Join(d, "corosync.conf"), key: filepath.Join(d, "authkey"),
		})
	}
	t.Cleanup(func() {
		for _, a := range as {
			stopJoinAgent(t, a)
		}
		if t.Failed() {
			for _, a := range as {
				t.Logf("log of %s:\n%s", a.name, a.log.String())
			}
		}
	})
	links := func(n int) []LinkSpec {
		return []LinkSpec{{Number: 0, Addr: fmt.Sprintf("127.0.0.%d", n), Priority: -1},
			{Number: 1, Addr: fmt.Sprintf("127.0.0.%d", 20+n), Priority: -1}}
	}
	if _, err := CreateCluster(CreateOptions{ClusterName: "lab", Links: links(1), NodeName: "alpha",
		ConfigPath: as[0].conf, KeyFile: as[0].key, Port: uint16(port), Token: 2 * time.Second}); err != nil {
		t.Fatal(err)
	}
	runJoinAgent(t, as[0])
	waitQuorate(t, 1, &as[0].testAgent)
	for i, a := range as[1:] {
		_, err := Add(context.Background(), AddOptions{Existing: fmt.Sprintf("127.0.0.1:%d", port), Name: a.name,
			Links: links(i + 2), KeyFile: as[0].key, ConfigPath: a.conf, Timeout: 20 * time.Second})
		if err != nil {
			t.Fatalf("add %s: %v", a.name, err)
		}
		a.key = as[0].key
		runJoinAgent(t, a)
		var running []*testAgent
		for _, r := range as[:i+2] {
			running = append(running, &r.testAgent)
		}
		waitQuorate(t, i+2, running...)
	}
	waitConfs(t, 3, "alpha,bravo,charlie", as...)
	return as, port
}

// journalRecords reads an agent's journal.
func journalRecords(t *testing.T, a *testAgent) []journal.Record {
	t.Helper()
	j, err := journal.ReadFile(filepath.Join(a.data, journalFile))
	if err != nil {
		t.Fatal(err)
	}
	out := make([]journal.Record, len(j.Entries))
	for i, e := range j.Entries {
		out[i] = e.Record
	}
	return out
}

// TestLiveConfigChanges installs, on a cluster built with create and add,
// a corosync.conf that adds link 2, then one that moves every ring0_addr:
// each is applied live as corosync 3 applies it, within 5 s every agent
// shows the new links up to every peer, and the journals record no
// membership change and no agent inquorate.
func TestLiveConfigChanges(t *testing.T) {
	skipShort(t)
	as, port := joinCluster(t)
	alpha := &as[0].testAgent
	marks := make([]int, len(as))
	for i, a := range as {
		marks[i] = len(journalRecords(t, &a.testAgent))
	}
	version := uint64(3)
	install := func(what string, edit func(string) string) {
		t.Helper()
		cur := mustCall(t, alpha, Request{Cmd: CmdCfsGet, Path: ConfigKey}).Entry.Value
		version++
		next := edit(string(cur))
		next = regexp.MustCompile(`config_version: \d+`).ReplaceAllString(next, fmt.Sprintf("config_version: %d", version))
		mustCall(t, alpha, Request{Cmd: CmdCfsPut, Path: ConfigKey, Value: []byte(next)})
		t.Logf("%s: installed config_version %d", what, version)
	}
	linksUp := func(what string, want []int, deadline time.Duration) {
		t.Helper()
		start := time.Now()
		for _, a := range as {
			waitFor(t, fmt.Sprintf("%s: %s shows links %v up to every peer", what, a.name, want), func() (bool, string) {
				li := mustCall(t, &a.testAgent, Request{Cmd: CmdLinks}).Links
				if len(li.Peers) != 2 {
					return false, fmt.Sprintf("%+v", li)
				}
				for _, p := range li.Peers {
					up := map[int]bool{}
					for _, l := range p.Links {
						if l.Up {
							up[l.Link] = true
						}
					}
					for _, n := range want {
						if !up[n] {
							return false, fmt.Sprintf("%+v", p)
						}
					}
				}
				return true, ""
			})
		}
		took := time.Since(start)
		t.Logf("%s: links %v up on every agent after %v", what, want, took.Round(time.Millisecond))
		if took > deadline {
			t.Errorf("%s: took %v, more than %v", what, took, deadline)
		}
		for _, a := range as {
			if v := mustCall(t, &a.testAgent, Request{Cmd: CmdStatus}).Status.ConfigVersion; v != version {
				t.Errorf("%s: %s shows config_version %d, want %d", what, a.name, v, version)
			}
		}
	}
	install("add link 2", func(s string) string {
		s = strings.Replace(s, "  interface {", fmt.Sprintf("  interface {\n    linknumber: 2\n    mcastport: %d\n  }\n  interface {", port+2), 1)
		return regexp.MustCompile(`( *)ring1_addr: 127\.0\.0\.2(\d)\n`).ReplaceAllString(s, "${0}${1}ring2_addr: 127.0.0.4${2}\n")
	})
	linksUp("add link 2", []int{0, 1, 2}, 5*time.Second)

	install("move ring0_addr", func(s string) string {
		return regexp.MustCompile(`ring0_addr: 127\.0\.0\.(\d)\n`).ReplaceAllString(s, "ring0_addr: 127.0.0.6${1}\n")
	})
	linksUp("move ring0_addr", []int{0, 1, 2}, 5*time.Second)
	// Give a late membership change or quorum loss the time to show.
	time.Sleep(2 * time.Second)

	for _, a := range as {
		li := mustCall(t, &a.testAgent, Request{Cmd: CmdLinks}).Links
		for _, p := range li.Peers {
			for _, l := range p.Links {
				if l.Link == 0 && (!strings.HasPrefix(l.Local, "127.0.0.6") || !strings.HasPrefix(l.Remote, "127.0.0.6")) {
					t.Errorf("%s: link 0 to %s is %s -> %s, want the moved addresses", a.name, p.Name, l.Local, l.Remote)
				}
			}
		}
	}

	// Bad texts are refused at once, naming the line, and change nothing.
	cur := string(mustCall(t, alpha, Request{Cmd: CmdCfsGet, Path: ConfigKey}).Entry.Value)
	for _, tt := range []struct{ name, text, want string }{
		{"does not parse", strings.Replace(cur, "quorum {", "quorum {{", 1), "corosync.conf:"},
		{"same config_version", strings.Replace(cur, "token: 2000", "token: 3000", 1), "must raise config_version above 5"},
		{"udpu", regexp.MustCompile(`config_version: \d+`).ReplaceAllString(strings.Replace(cur, "totem {", "totem {\n  transport: udpu", 1), "config_version: 9"), "only valid for the Knet transport"},
	} {
		resp, err := ask(alpha, Request{Cmd: CmdCfsPut, Path: ConfigKey, Value: []byte(tt.text)})
		if err != nil || resp.OK || !resp.BadRequest || !strings.Contains(resp.Error, tt.want) {
			t.Errorf("cfs put of a corosync.conf that %s: %+v %v, want a bad request saying %q", tt.name, resp, err, tt.want)
		}
	}
	if resp, err := ask(alpha, Request{Cmd: CmdCfsRm, Path: ConfigKey}); err != nil || resp.OK || !resp.BadRequest {
		t.Errorf("cfs rm corosync.conf: %+v %v", resp, err)
	}
	for _, a := range as {
		if v := mustCall(t, &a.testAgent, Request{Cmd: CmdStatus}).Status.ConfigVersion; v != version {
			t.Errorf("%s: config_version %d after refused puts, want %d", a.name, v, version)
		}
	}

	// Every node kept the versions it replaced; rolling back to 4 (the
	// old ring0 addresses) is one more live change, as version 6.
	for _, a := range as {
		h := mustCall(t, &a.testAgent, Request{Cmd: CmdConfHistory}).History
		var vs []uint64
		for _, v := range h {
			vs = append(vs, v.ConfigVersion)
		}
		if len(vs) < 3 || vs[len(vs)-3] != 3 || vs[len(vs)-2] != 4 || vs[len(vs)-1] != 5 || !h[len(h)-1].Current {
			t.Errorf("%s: history %v, want ... 3 4 5 (current)", a.name, vs)
		}
	}
	if resp, err := ask(alpha, Request{Cmd: CmdConfRollback, Version: 99}); err != nil || resp.OK || !resp.BadRequest {
		t.Errorf("rollback to a version not kept: %+v %v", resp, err)
	}
	if rb := mustCall(t, alpha, Request{Cmd: CmdConfRollback, Version: 4}); rb.ConfigVersion != 6 {
		t.Errorf("rollback to 4 wrote config_version %d, want 6", rb.ConfigVersion)
	}
	version = 6
	linksUp("rollback to 4", []int{0, 1, 2}, 5*time.Second)
	waitFor(t, "link 0 back on 127.0.0.N everywhere", func() (bool, string) {
		for _, a := range as {
			for _, p := range mustCall(t, &a.testAgent, Request{Cmd: CmdLinks}).Links.Peers {
				for _, l := range p.Links {
					if l.Link == 0 && (strings.HasPrefix(l.Local, "127.0.0.6") || !l.Up) {
						return false, fmt.Sprintf("%s: %+v", a.name, l)
					}
				}
			}
		}
		return true, ""
	})
	time.Sleep(time.Second)
	for i, a := range as {
		recs := journalRecords(t, &a.testAgent)[marks[i]:]
		memberships, inquorate := disruptions(recs)
		t.Logf("%s: %d journal records during the changes, %d membership changes, %d inquorate", a.name, len(recs), memberships, inquorate)
		if memberships != 0 || inquorate != 0 {
			t.Errorf("%s: %d membership changes and %d inquorate records during live changes", a.name, memberships, inquorate)
		}
		if len(recs) == 0 {
			t.Errorf("%s: the journal recorded nothing during the changes (link events expected)", a.name)
		}
	}

	// A change corosync reads only at start (link_mode) restarts the
	// engines one at a time: the others keep quorum throughout.
	for i, a := range as {
		marks[i] = len(journalRecords(t, &a.testAgent))
	}
	install("link_mode active", func(s string) string {
		s = regexp.MustCompile(`\n *link_mode: *\w+`).ReplaceAllString(s, "")
		return strings.Replace(s, "totem {", "totem {\n  link_mode: active", 1)
	})
	for _, a := range as {
		waitFor(t, a.name+" restarted its engine for link_mode", func() (bool, string) {
			return strings.Contains(a.log.String(), "engine restarted in-process"), ""
		})
	}
	waitQuorate(t, 3, alpha, &as[1].testAgent, &as[2].testAgent)
	for _, a := range as {
		if li := mustCall(t, &a.testAgent, Request{Cmd: CmdLinks}).Links; li.LinkMode != "active" {
			t.Errorf("%s: link mode %q after the restart, want active", a.name, li.LinkMode)
		}
	}
	type span struct {
		node     string
		from, to time.Time
	}
	var spans []span
	for i, a := range as {
		var open *time.Time
		for _, r := range journalRecords(t, &a.testAgent)[marks[i]:] {
			if r.Kind != journal.KindQuorum || r.Quorate == nil {
				continue
			}
			switch {
			case !*r.Quorate && open == nil:
				at := r.Time
				open = &at
			case *r.Quorate && open != nil:
				spans = append(spans, span{a.name, *open, r.Time})
				open = nil
			}
		}
		if open != nil {
			t.Errorf("%s: still inquorate at the end", a.name)
		}
	}
	for _, sp := range spans {
		t.Logf("rolling restart: %s inquorate from %s for %v", sp.node, sp.from.Format("15:04:05.000"), sp.to.Sub(sp.from).Round(time.Millisecond))
	}
	if len(spans) != len(as) {
		t.Errorf("%d inquorate spans, want one per restarted node: %v", len(spans), spans)
	}
	for i := range spans {
		for j := range spans {
			if i < j && spans[i].node != spans[j].node && spans[i].from.Before(spans[j].to) && spans[j].from.Before(spans[i].to) {
				t.Errorf("%s and %s inquorate at the same time: %v and %v", spans[i].node, spans[j].node, spans[i], spans[j])
			}
		}
	}
}

// TestStaleConfigVersionStops: corosync's config_version check. alpha and
// bravo run config_version 3; charlie starts with a stale corosync.conf
// (version 2): on its first join it hears 3 and its agent stops with
// corosync's words, naming the file to replace. alpha and bravo go on.
func TestStaleConfigVersionStops(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		conf, net, nodes := startMemCluster(t, 7, nil)
		alpha, bravo, charlie := nodes[0], nodes[1], nodes[2]
		if err := stopMem(net, charlie); err != nil {
			t.Fatal(err)
		}
		eventually(t, "alpha quorate with 2", quorateWith(alpha, 2, 3))
		stale, err := corosyncconf.Parse("stale.conf", []byte(strings.Replace(confText("/nonexistent", 25405), "config_version: 3", "config_version: 2", 1)))
		if err != nil || stale.ConfigVersion != 2 || conf.ConfigVersion != 3 {
			t.Fatalf("stale conf: %v %d", err, stale.ConfigVersion)
		}
		startMem(t, stale, net, charlie, 9, nil)
		err = <-charlie.done
		if err == nil || !strings.Contains(err.Error(), "Received config version (3) is different than my config version (2)! Exiting") {
			t.Fatalf("charlie's loop: %v, want corosync's config_version exit", err)
		}
		net.mu.Lock()
		delete(net.up, 3)
		net.mu.Unlock()
		for _, n := range []*memNode{alpha, bravo} {
			eventually(t, n.name+" still quorate", quorateWith(n, 2, 3))
		}
		for _, n := range []*memNode{alpha, bravo} {
			if err := stopMem(net, n); err != nil {
				t.Error(err)
			}
		}
	})
}

// disruptions counts the membership changes and the inquorate verdicts in
// a node's journal records: a live change must have neither.
func disruptions(recs []journal.Record) (memberships, inquorate int) {
	for _, r := range recs {
		switch {
		case r.Kind == journal.KindMembership:
			memberships++
		case r.Kind == journal.KindQuorum && r.Quorate != nil && !*r.Quorate:
			inquorate++
		}
	}
	return memberships, inquorate
}
