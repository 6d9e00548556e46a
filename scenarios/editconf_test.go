package scenarios

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestEditConfLoad: edit_conf's inline corosync.conf is parsed at load
// time; its errors name the scenario's line, and a text the engine cannot
// honour, a renamed cluster, a changed nodelist or a scenario without
// cluster.corosync_conf are refused.
func TestEditConfLoad(t *testing.T) {
	dir := t.TempDir()
	conf, err := os.ReadFile("library/conf/one-link.conf")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "c.conf"), conf, 0o644); err != nil {
		t.Fatal(err)
	}
	text := func(edit func(string) string) string {
		body := edit(string(conf))
		var b strings.Builder
		for _, l := range strings.Split(strings.TrimRight(body, "\n"), "\n") {
			b.WriteString("      " + l + "\n")
		}
		return b.String()
	}
	scenario := func(cluster, body string) string {
		return "name: e\nduration: 30s\ncluster:\n" + cluster + "faults:\n  - at: 10s\n    action: edit_conf\n    on: pve1\n    conf: |\n" + body
	}
	withConf := "  corosync_conf: c.conf\n"
	same := func(s string) string { return strings.Replace(s, "config_version: 3", "config_version: 4", 1) }
	tests := []struct {
		name, src string
		line      int // 0: any line
		msg       string
	}{
		{"bad token", scenario(withConf, text(func(s string) string { return strings.Replace(same(s), "token: 1000", "token: abc", 1) })),
			9 + 38, "token"}, // the "conf: |" line plus the line in the text
		{"udpu", scenario(withConf, text(func(s string) string {
			return strings.Replace(same(s), "version: 2\n", "version: 2\n  transport: udpu\n  crypto_cipher: none\n  crypto_hash: none\n", 1)
		})), 0, "udpu"},
		{"renamed", scenario(withConf, text(func(s string) string { return strings.Replace(same(s), "cluster_name: lab", "cluster_name: other", 1) })),
			0, "renames the cluster"},
		{"nodelist", scenario(withConf, text(func(s string) string { return strings.Replace(same(s), "nodeid: 3", "nodeid: 4", 1) })),
			0, "changes the nodelist"},
		{"no corosync_conf", scenario("  nodes: [{name: pve1}, {name: pve2}]\n", text(same)), 0, "needs cluster.corosync_conf"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			path := filepath.Join(dir, "s.yaml")
			if err := os.WriteFile(path, []byte(tt.src), 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := Load(path)
			var list ErrorList
			if !errors.As(err, &list) {
				t.Fatalf("Load: %v, want an ErrorList", err)
			}
			for _, e := range list {
				if strings.Contains(e.Msg, tt.msg) && (tt.line == 0 || e.Pos.Line == tt.line) && e.Pos.File == path {
					return
				}
			}
			t.Fatalf("no error at %s:%d saying %q among:\n%v", path, tt.line, tt.msg, err)
		})
	}
	// The good edit loads, parsed.
	path := filepath.Join(dir, "ok.yaml")
	if err := os.WriteFile(path, []byte(scenario(withConf, text(same))), 0o644); err != nil {
		t.Fatal(err)
	}
	sc, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	if f := sc.Faults[0]; f.Conf == nil || f.Conf.ConfigVersion != 4 || f.On != "pve1" {
		t.Fatalf("fault: %+v", f)
	}
}
