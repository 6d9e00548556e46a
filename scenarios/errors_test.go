package scenarios

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"testing"
)

// wantErr is one error a bad scenario must produce: at line:col (col 0 when
// the error has no column, as for YAML syntax errors), about field, with a
// message containing msg.
type wantErr struct {
	line, col int
	field     string
	msg       string
}

// findErr checks that err is an ErrorList holding an error like w.
func findErr(t *testing.T, file string, err error, w wantErr) {
	t.Helper()
	if err == nil {
		t.Fatalf("no error; want %d:%d %s: %s", w.line, w.col, w.field, w.msg)
	}
	if !IsInputError(err) {
		t.Errorf("IsInputError(%v) = false", err)
	}
	var list ErrorList
	if !errors.As(err, &list) {
		t.Fatalf("error is %T, not ErrorList: %v", err, err)
	}
	want := fmt.Sprintf("%s:%d:%d: ", file, w.line, w.col)
	if w.col == 0 {
		want = fmt.Sprintf("%s:%d: ", file, w.line)
	}
	if w.field != "" {
		want += w.field + ": "
	}
	for _, e := range list {
		if e.Pos.Line == w.line && e.Pos.Col == w.col && e.Field == w.field && strings.Contains(e.Msg, w.msg) {
			if !strings.HasPrefix(e.Error(), want) {
				t.Errorf("Error() = %q, want prefix %q", e.Error(), want)
			}
			return
		}
	}
	t.Errorf("no error %s…%s among:\n%v", want, w.msg, err)
}

func TestInvalidFixtures(t *testing.T) {
	tests := []struct {
		file string
		want wantErr
	}{
		// yaml.v3 said line 4, without a column; the { opens on line 5
		// and the '}' is missing where line 6 begins.
		{"syntax.yaml", wantErr{6, 5, "", "invalid YAML: ',' or '}' must be specified (a { mapping opened before this point is not closed: add the '}'"}},
		{"unknown_key.yaml", wantErr{2, 1, "duraton", `unknown key "duraton" (did you mean "duration"?)`}},
		{"fault_key.yaml", wantErr{8, 5, "faults[0].nodd", `unknown key "nodd" (did you mean "node"?)`}},
		{"link_key.yaml", wantErr{9, 7, "network.links[0].los", `unknown key "los" (did you mean "loss"?)`}},
		{"bad_duration.yaml", wantErr{10, 10, "faults[2].at", `"10x" is not a duration`}},
		{"bare_duration.yaml", wantErr{6, 12, "cluster.totem.token", "3000 has no unit: write 3000ms"}},
		{"fault_node.yaml", wantErr{6, 35, "faults[0].node", `unknown node "hp3" (nodes: hp1, hp2)`}},
		{"expect_node.yaml", wantErr{7, 28, "expect[1].nodes[1]", `unknown node "hp9"`}},
		{"unknown_action.yaml", wantErr{7, 13, "faults[0].action", `unknown action "reboot"`}},
		{"link_range.yaml", wantErr{8, 16, "network.links[1].number", "link 8 is out of range: knet links are numbered 0..7"}},
		{"packet_cost.yaml", wantErr{5, 16, "cluster.packet_cost", "200ms is out of range: 0 (no cost) up to 100ms per packet"}},
		{"host_wait.yaml", wantErr{6, 14, "network.host_wait", "0s is out of range: 1µs to 5ms (the mean wait of a datagram for its daemon; leave it out for the simulator's default)"}},
	}
	for _, tc := range tests {
		t.Run(tc.file, func(t *testing.T) {
			path := filepath.Join("testdata", "invalid", tc.file)
			_, err := Load(path)
			findErr(t, path, err, tc.want)
		})
	}
}

// TestInvalidFixturesCovered keeps the fixture directory and the table above
// in step: every file there must be invalid.
func TestInvalidFixturesCovered(t *testing.T) {
	files, _ := filepath.Glob(filepath.Join("testdata", "invalid", "*.yaml"))
	for _, f := range files {
		if _, err := Load(f); err == nil {
			t.Errorf("%s loads without error", f)
		}
	}
}

func TestInvalidInline(t *testing.T) {
	const head = "name: x\nduration: 60s\ncluster:\n  nodes: [{name: a}, {name: b}]\n" // lines 1-4
	tests := []struct {
		name string
		src  string
		want wantErr
	}{
		{"empty file", "", wantErr{1, 1, "", "the file is empty"}},
		{"two documents", head + "---\nname: y\n", wantErr{5, 1, "", "one YAML document"}},
		{"duplicate key", head + "duration: 30s\n", wantErr{5, 1, "duration", `key "duration" is given twice (first at line 2)`}},
		{"not a map", "- a\n- b\n", wantErr{1, 1, "", "expected a map"}},
		{"a corosync.conf", "# Proxmox\nlogging {\n  debug: off\n}\ntotem {\n  version: 2\n}\n",
			wantErr{2, 1, "", `this is a corosync.conf ("logging {" opens a section here), not a scenario`}},
		{"an inline corosync.conf beside a syntax error", "name: x\nduration: 1s\ncluster:\n  corosync_conf: |\n    totem {\n    }\n  nodes: [a\n",
			wantErr{7, 10, "", "invalid YAML"}},
		{"name missing", "duration: 1s\ncluster: {nodes: [{name: a}]}\n", wantErr{1, 1, "name", "required"}},
		{"duration zero", "name: x\nduration: 0s\ncluster: {nodes: [{name: a}]}\n", wantErr{2, 11, "duration", "greater than 0"}},
		{"no nodes", "name: x\nduration: 1s\ncluster: {nodes: []}\n", wantErr{3, 18, "cluster.nodes", "at least one node"}},
		{"negative duration", head + "faults: [{at: -1s, action: heal}]\n", wantErr{5, 15, "faults[0].at", "negative"}},
		{"fault after end", head + "faults: [{at: 61s, action: heal}]\n", wantErr{5, 15, "faults[0].at", "after the end of the run"}},
		{"field of another action", head + "faults: [{at: 1s, action: heal, node: a}]\n",
			wantErr{5, 33, "faults[0].node", `"node" is not a field of action heal`}},
		{"missing required field", head + "faults: [{at: 1s, action: link_down, node: a}]\n",
			wantErr{5, 10, "faults[0].link", "required for action link_down"}},
		{"unknown link in fault", head + "faults: [{at: 1s, action: link_down, node: a, link: 2}]\n",
			wantErr{5, 53, "faults[0].link", "unknown link 2"}},
		{"partition overlap", head + "faults: [{at: 1s, action: partition, groups: [[a, b], [b]]}]\n",
			wantErr{5, 56, "faults[0].groups[1][0]", `node "b" is already in group 0`}},
		{"qnetd without device", head + "faults: [{at: 1s, action: qnetd_up}]\n",
			wantErr{5, 27, "faults[0].action", "needs a quorum device"}},
		{"duplicate node", "name: x\nduration: 1s\ncluster:\n  nodes: [{name: a}, {name: a}]\n",
			wantErr{4, 29, "cluster.nodes[1].name", `node "a" is listed twice`}},
		{"bad node name", "name: x\nduration: 1s\ncluster:\n  nodes: [{name: _a}]\n",
			wantErr{4, 18, "cluster.nodes[0].name", "not a valid node name"}},
		{"node id too large", "name: x\nduration: 1s\ncluster:\n  nodes: [{name: a, id: 65536}]\n",
			wantErr{4, 25, "cluster.nodes[0].id", "knet host ids are 16-bit"}},
		{"token below minimum", head + "  totem: {token: 10ms}\n", wantErr{5, 18, "cluster.totem.token", "minimum of 30ms"}},
		{"consensus below join", head + "  totem: {consensus: 40ms, join: 50ms}\n",
			wantErr{5, 22, "cluster.totem.consensus", "may not be less than join"}},
		{"window below max_messages", head + "  totem: {max_messages: 20, window_size: 10}\n",
			wantErr{5, 42, "cluster.totem.window_size", "less than max_messages"}},
		{"float for int", head + "  totem: {max_messages: 1.5}\n", wantErr{5, 25, "cluster.totem.max_messages", "not a whole number"}},
		{"corosync boolean", head + "  quorum: {two_node: 1}\n", wantErr{5, 22, "cluster.quorum.two_node", "write true or false"}},
		{"unknown distribution", head + "network: {links: [{latency: {dist: gauss, mean: 1ms}}]}\n",
			wantErr{5, 36, "network.links[0].latency.dist", `unknown distribution "gauss"`}},
		{"distribution parameter missing", head + "network: {links: [{latency: {dist: normal, mean: 1ms}}]}\n",
			wantErr{5, 29, "network.links[0].latency.stddev", "required for dist normal"}},
		{"distribution parameter of another dist", head + "network: {links: [{latency: {dist: constant, mean: 1ms}}]}\n",
			wantErr{5, 46, "network.links[0].latency.mean", `"mean" is not a field of dist constant`}},
		{"pareto min zero", head + "network: {links: [{latency: {dist: pareto, min: 0s, alpha: 2}}]}\n",
			wantErr{5, 49, "network.links[0].latency.min", "greater than 0"}},
		{"loss above one", head + "network: {links: [{loss: 2}]}\n", wantErr{5, 26, "network.links[0].loss", "probability"}},
		{"when unknown state", head + "faults: [{when: {node: a, totem: comit}, action: crash, node: b}]\n",
			wantErr{5, 34, "faults[0].when.totem", `unknown totem state or event "comit" (did you mean "commit"?) (known: gather, commit, recovery, operational, membership, token_lost, retransmit, consensus_timeout)`}},
		{"when two layers", head + "faults: [{when: {totem: commit, quorum: sync}, action: crash, node: b}]\n",
			wantErr{5, 17, "faults[0].when", "needs exactly one of totem, quorum, store, qdevice"}},
		{"when no layer", head + "faults: [{when: {node: a}, action: crash, node: b}]\n",
			wantErr{5, 17, "faults[0].when", "found: none"}},
		{"when unknown key", head + "faults: [{when: {totem: commit, dealy: 1s}, action: crash, node: b}]\n",
			wantErr{5, 33, "faults[0].when.dealy", `unknown key "dealy" (allowed here: before, delay, node, probability, qdevice, quorum, store, totem)`}},
		{"when unknown node", head + "faults: [{when: {node: c, store: transfer}, action: crash, node: b}]\n",
			wantErr{5, 24, "faults[0].when.node", `unknown node "c"`}},
		{"when qdevice without device", head + "faults: [{when: {qdevice: vote}, action: crash, node: b}]\n",
			wantErr{5, 27, "faults[0].when.qdevice", "needs a quorum device"}},
		{"when probability", head + "faults: [{when: {quorum: quorate, probability: 0}, action: crash, node: b}]\n",
			wantErr{5, 48, "faults[0].when.probability", "not a probability above 0"}},
		{"when before at", head + "faults: [{at: 5s, when: {quorum: quorate, before: 5s}, action: crash, node: b}]\n",
			wantErr{5, 51, "faults[0].when.before", "never be armed"}},
		{"after_fault on a trigger", head + "faults: [{when: {quorum: quorate}, action: crash, node: b}]\nexpect: [{by: 10s, node: a, quorate: true, after_fault: 0}]\n",
			wantErr{6, 57, "expect[0].after_fault", "fires on a protocol state"}},
		{"duplicate link", head + "network: {links: [{number: 1}, {number: 1}]}\n",
			wantErr{5, 41, "network.links[1].number", "listed twice"}},
		{"link priority", head + "network: {links: [{priority: 256}]}\n", wantErr{5, 30, "network.links[0].priority", "0..255"}},
		{"ping timeout below knet's timer", head + "network: {links: [{ping_timeout: 100ms}]}\n",
			wantErr{5, 34, "network.links[0].ping_timeout", "100ms is below knet's 200ms timer resolution"}},
		{"ping interval below knet's timer", head + "network: {links: [{loss: 0}, {ping_interval: 50ms}]}\n",
			wantErr{5, 46, "network.links[1].ping_interval", "50ms is below knet's 200ms timer resolution"}},
		{"bad rate", head + "workload: {rate: fast}\n", wantErr{5, 18, "workload.rate", "not a rate"}},
		{"mix does not sum to 1", head + "workload: {mix: {read: 0.5, write: 0.6}}\n", wantErr{5, 17, "workload.mix", "add up to 1"}},
		{"unknown client", head + "workload: {clients: [a, c]}\n", wantErr{5, 25, "workload.clients[1]", `unknown node "c"`}},
		{"two forms", head + "expect: [{at: 1s, by: 2s, node: a, quorate: true}]\n",
			wantErr{5, 10, "expect[0]", "exactly one of at, by, within, during, at_end, check, metric or fault"}},
		{"no state field", head + "expect: [{at: 1s, node: a}]\n", wantErr{5, 10, "expect[0]", "asserts nothing"}},
		{"active_link without peer", head + "expect: [{at: 1s, node: a, active_link: 0}]\n",
			wantErr{5, 10, "expect[0].peer", "required with active_link"}},
		{"link_up without link", head + "expect: [{at: 1s, node: a, peer: b, link_up: true}]\n",
			wantErr{5, 10, "expect[0].link", "required with link_up"}},
		{"during reversed", head + "expect: [{during: [5s, 1s], node: a, quorate: true}]\n",
			wantErr{5, 19, "expect[0].during", "ends before it starts"}},
		{"unknown check", head + "expect: [{check: linearisable}]\n",
			wantErr{5, 18, "expect[0].check", `did you mean "linearizable"?`}},
		{"unknown metric", head + "expect: [{metric: latency, max: 3}]\n",
			wantErr{5, 19, "expect[0].metric", "known: membership_changes, acked_writes_lost, ops, ops_ok"}},
		{"metric without bound", head + "expect: [{metric: ops}]\n", wantErr{5, 10, "expect[0]", "needs max, min or equals"}},
		{"state field in check", head + "expect: [{check: liveness, node: a}]\n",
			wantErr{5, 28, "expect[0].node", `"node" is not a field of check expectation`}},
		{"null scalar", head + "seed:\n", wantErr{5, 6, "seed", "has no value"}},
		{"list for scalar", head + "description: [a]\n", wantErr{5, 14, "description", "expected a single value"}},
		{"number for name", "name: 42\nduration: 1s\ncluster: {nodes: [{name: a}]}\n",
			wantErr{1, 7, "name", `put it in quotes ("42")`}},
		{"negative seed", head + "seed: -3\n", wantErr{5, 7, "seed", "negative"}},
		{"device with two_node", head + "  quorum: {two_node: true, device: {}}\n",
			wantErr{5, 22, "cluster.quorum.two_node", "cannot be configured at the same time"}},
		{"tie breaker node id", head + "  quorum: {device: {tie_breaker: 7}}\n",
			wantErr{5, 34, "cluster.quorum.device.tie_breaker", "no node has id 7"}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			findErr(t, "t.yaml", err, tc.want)
		})
	}
}

func TestErrorListFormat(t *testing.T) {
	src := "name: x\nduration: 60s\ncluster:\n  nodes: [{name: a}]\n" +
		"faults:\n  - {at: 2s, action: crash, node: z}\n  - {at: 1s, action: crash, node: y}\n"
	_, err := Parse("f.yaml", []byte(src))
	want := "f.yaml:6:35: faults[0].node: unknown node \"z\" (nodes: a)\n" +
		"f.yaml:7:35: faults[1].node: unknown node \"y\" (nodes: a)"
	if err == nil || err.Error() != want {
		t.Errorf("got\n%v\nwant\n%s", err, want)
	}
	var e *Error
	if !errors.As(err, &e) || e.Field != "faults[0].node" {
		t.Errorf("errors.As(*Error) = %v", e)
	}
}

func TestTooManyErrors(t *testing.T) {
	var b strings.Builder
	b.WriteString("name: x\nduration: 60s\ncluster:\n  nodes: [{name: a}]\nfaults:\n")
	for i := 0; i < 30; i++ {
		fmt.Fprintf(&b, "  - {at: 1s, action: crash, node: n%d}\n", i)
	}
	_, err := Parse("m.yaml", []byte(b.String()))
	var list ErrorList
	if !errors.As(err, &list) || len(list) != maxErrors+1 {
		t.Fatalf("got %d errors, want %d + a note: %v", len(list), maxErrors, err)
	}
	if last := list[len(list)-1]; !strings.Contains(last.Msg, "10 more not shown") {
		t.Errorf("last error %q", last.Msg)
	}
}

func TestIsInputError(t *testing.T) {
	_, readErr := os.ReadFile(filepath.Join("testdata", "missing.yaml"))
	tests := []struct {
		err  error
		want bool
	}{
		{nil, false},
		{errors.New("engine exploded"), false},
		{&Error{Msg: "bad"}, true},
		{ErrorList{{Msg: "bad"}}, true},
		{fmt.Errorf("loading: %w", ErrorList{{Msg: "bad"}}), true},
		{readErr, true},
	}
	for _, tc := range tests {
		if got := IsInputError(tc.err); got != tc.want {
			t.Errorf("IsInputError(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

// FuzzParse feeds arbitrary bytes to Parse. It must never panic; a failure
// must be an ErrorList of positioned errors for the named file; a success
// must satisfy the invariants Parse promises.
func FuzzParse(f *testing.F) {
	for _, dir := range []string{"valid", "invalid"} {
		files, _ := filepath.Glob(filepath.Join("testdata", dir, "*.yaml"))
		for _, file := range files {
			if src, err := os.ReadFile(file); err == nil {
				f.Add(src)
			}
		}
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		s, err := Parse("fuzz.yaml", src)
		if err != nil {
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("error is %T, not a non-empty ErrorList: %v", err, err)
			}
			if !IsInputError(err) {
				t.Fatalf("IsInputError false for %v", err)
			}
			for _, e := range list {
				if e.Msg == "" || e.Pos.File != "fuzz.yaml" {
					t.Fatalf("bad error %#v", e)
				}
			}
			_ = err.Error()
			return
		}
		if s == nil {
			t.Fatal("nil scenario without error")
		}
		if s.Name == "" || s.Duration <= 0 {
			t.Fatalf("invalid scenario accepted: name %q duration %v", s.Name, s.Duration)
		}
		if len(s.Cluster.Nodes) == 0 && s.Cluster.CorosyncConf == "" {
			t.Fatal("scenario without nodes accepted")
		}
		if !sort.SliceIsSorted(s.Faults, func(i, j int) bool { return s.Faults[i].At < s.Faults[j].At }) {
			t.Fatal("faults not sorted")
		}
		if len(s.Network.Links) == 0 {
			t.Fatal("no links")
		}
		for _, e := range s.Expect {
			if e.Text == "" {
				t.Fatal("expectation without text")
			}
		}
	})
}

// TestLineDeletions removes each line of the full example in turn: the result
// must load or fail with positioned errors, never panic or fail otherwise.
func TestLineDeletions(t *testing.T) {
	src, err := os.ReadFile(filepath.Join("testdata", "valid", "full.yaml"))
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(string(src), "\n")
	for i := range lines {
		mutated := strings.Join(append(append([]string{}, lines[:i]...), lines[i+1:]...), "\n")
		_, err := Parse(filepath.Join("testdata", "valid", "cut.yaml"), []byte(mutated))
		var list ErrorList
		if err != nil && !errors.As(err, &list) {
			t.Errorf("without line %d: error %T %v", i+1, err, err)
		}
		if err != nil && strings.TrimSpace(lines[i]) != "" && !strings.HasPrefix(strings.TrimSpace(lines[i]), "#") {
			continue
		}
		if err != nil {
			t.Errorf("removing blank/comment line %d broke the file: %v", i+1, err)
		}
	}
}
