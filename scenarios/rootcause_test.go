package scenarios

import (
	"errors"
	"strings"
	"testing"
)

// TestSyntaxErrorsLineAndColumn: a YAML syntax error names the line and
// the column of the problem and says what to fix. yaml.v3 alone gave a
// line without a column, for an unclosed bracket the line where its
// context began.
func TestSyntaxErrorsLineAndColumn(t *testing.T) {
	const head = "name: x\nduration: 10s\ncluster:\n" // lines 1-3
	for _, tc := range []struct {
		name, src string
		line, col int
		hint      string
	}{
		{"unclosed list", head + "  nodes: [{name: a}, {name: b}\nfaults: []\n", 5, 1, "add the ']'"},
		{"unclosed mapping", head + "  nodes: [{name: a}]\nfaults:\n  - {at: 1s, action: crash, node: a\n", 6, 5, "add the '}'"},
		{"tab", head + "  nodes:\n\t- name: a\n", 5, 1, "replace the tab"},
		{"indentation", head + "  nodes:\n    - name: a\n   - name: b\n", 6, 4, "indentation"},
		{"unclosed quote", "name: \"x\nduration: 10s\n", 1, 7, "closing quote"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Parse("t.yaml", []byte(tc.src))
			var list ErrorList
			if !errors.As(err, &list) || len(list) == 0 {
				t.Fatalf("want a syntax error, got %v", err)
			}
			e := list[0]
			if e.Pos.Line != tc.line || e.Pos.Col != tc.col || !strings.Contains(e.Msg, tc.hint) {
				t.Fatalf("%v; want t.yaml:%d:%d and a hint %q", e, tc.line, tc.col, tc.hint)
			}
		})
	}
}

// TestCorosyncConfErrorFirst: a corosync.conf that does not load is the
// root cause; the expectations that name its links are not reported as
// errors of their own (they used to come first: "expect[1].active_link:
// unknown link 1").
func TestCorosyncConfErrorFirst(t *testing.T) {
	conf := `totem {
  version: 2
  cluster_name: c
}
nodelist {
  node {
    name: a
    nodeid: 1
    ring0_addr: 10.0.0.1
    ring1_addr: 10.1.0.1
  }
  node {
    name: b
    nodeid: 2
    ring0_addr: 10.0.0.2
  }
}
quorum {
  provider: corosync_votequorum
}
`
	src := `name: x
duration: 10s
cluster:
  corosync_conf: c.conf
faults:
  - {at: 5s, action: link_down, node: a, link: 1}
expect:
  - {at: 8s, node: a, peer: b, active_link: 1}
`
	read := func(string) ([]byte, error) { return []byte(conf), nil }
	_, err := ParseWith("s.yaml", []byte(src), read)
	var list ErrorList
	if !errors.As(err, &list) || len(list) == 0 {
		t.Fatalf("want errors, got %v", err)
	}
	if list[0].Field != "cluster.corosync_conf" {
		t.Fatalf("first error %v; want the corosync.conf's", list[0])
	}
	for _, e := range list {
		if strings.Contains(e.Msg, "unknown link") {
			t.Errorf("a cascade error after the corosync.conf's: %v", e)
		}
	}
}
