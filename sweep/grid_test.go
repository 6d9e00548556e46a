package sweep

import (
	"fmt"
	"reflect"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

func TestParseVary(t *testing.T) {
	tests := []struct {
		in   string
		want Vary
		err  string
	}{
		{in: "cluster.totem.token=1000ms,3000ms", want: Vary{"cluster.totem.token", []string{"1000ms", "3000ms"}}},
		{in: "network.links[0].latency.value=1ms", want: Vary{"network.links[0].latency.value", []string{"1ms"}}},
		{in: "network.links[1].loss = 0, 0.01 ", want: Vary{"network.links[1].loss", []string{"0", "0.01"}}},
		{in: "network.links[0].latency={dist: constant, value: 1ms},{dist: uniform, min: 1ms, max: 2ms}",
			want: Vary{"network.links[0].latency", []string{"{dist: constant, value: 1ms}", "{dist: uniform, min: 1ms, max: 2ms}"}}},
		{in: `description="a, b",c`, want: Vary{"description", []string{`"a, b"`, "c"}}},
		{in: "faults[0].nodes=[a, b],[c]", want: Vary{"faults[0].nodes", []string{"[a, b]", "[c]"}}},
		{in: "cluster.totem.token", err: "want key=v1,v2"},
		{in: "=1s", err: "want key=v1,v2"},
		{in: "cluster..token=1s", err: "is not a scenario key path"},
		{in: "links[x].loss=1", err: "is not a scenario key path"},
		{in: "cluster.totem.token=1s,", err: "an empty value"},
		{in: "cluster.totem.token=", err: "an empty value"},
		{in: "cluster.totem.token=1s,2s,1s", err: `value "1s" is listed twice`},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			got, err := ParseVary(tt.in)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("ParseVary(%q) = %v, %v; want an error with %q", tt.in, got, err, tt.err)
				}
				return
			}
			if err != nil || !reflect.DeepEqual(got, tt.want) {
				t.Fatalf("ParseVary(%q) = %#v, %v; want %#v", tt.in, got, err, tt.want)
			}
		})
	}
}

func TestGrid(t *testing.T) {
	s := func(kv ...string) []Setting {
		var out []Setting
		for i := 0; i < len(kv); i += 2 {
			out = append(out, Setting{kv[i], kv[i+1]})
		}
		return out
	}
	tests := []struct {
		name   string
		varies []Vary
		want   [][]Setting
	}{
		{"none", nil, [][]Setting{nil}},
		{"one axis", []Vary{{"a", []string{"1", "2", "3"}}}, [][]Setting{s("a", "1"), s("a", "2"), s("a", "3")}},
		{"two axes, the last fastest", []Vary{{"a", []string{"1", "2"}}, {"b", []string{"x", "y", "z"}}}, [][]Setting{
			s("a", "1", "b", "x"), s("a", "1", "b", "y"), s("a", "1", "b", "z"),
			s("a", "2", "b", "x"), s("a", "2", "b", "y"), s("a", "2", "b", "z"),
		}},
		{"three axes", []Vary{{"a", []string{"1", "2"}}, {"b", []string{"x"}}, {"c", []string{"p", "q"}}}, [][]Setting{
			s("a", "1", "b", "x", "c", "p"), s("a", "1", "b", "x", "c", "q"),
			s("a", "2", "b", "x", "c", "p"), s("a", "2", "b", "x", "c", "q"),
		}},
	}
	for _, tt := range tests {
		if got := Grid(tt.varies); !reflect.DeepEqual(got, tt.want) {
			t.Errorf("%s: Grid = %v, want %v", tt.name, got, tt.want)
		}
	}
	if got := []string{pointName(0, 3), pointName(9, 12)}; !reflect.DeepEqual(got, []string{"p1", "p10"}) {
		t.Errorf("point names %v", got)
	}
	if got := pointName(1, 12); got != "p02" {
		t.Errorf("point 2 of 12 is %q, want p02 (names sort in grid order)", got)
	}
}

const applySrc = `# a comment that stays
name: x
duration: 10s
cluster:
  corosync_conf: conf/c.conf
  nodes:
    - {name: a}
    - {name: b, votes: 1}
  totem:
    token: 3000ms   # the default
network:
  links:
    - number: 0
      latency: {dist: constant, value: 0.1ms}
`

// TestApply edits the YAML tree: existing values are replaced, missing map
// keys are added for the loader to judge, and paths that cannot exist are
// errors that say where the path breaks.
func TestApply(t *testing.T) {
	tests := []struct {
		name string
		set  []Setting
		want map[string]any // path in the result -> value
		err  string
	}{
		{name: "scalar", set: []Setting{{"cluster.totem.token", "1000ms"}},
			want: map[string]any{"cluster.totem.token": "1000ms", "duration": "10s"}},
		{name: "in a list entry", set: []Setting{{"network.links[0].latency.value", "5ms"}},
			want: map[string]any{"network.links[0].latency.value": "5ms", "network.links[0].latency.dist": "constant"}},
		{name: "a flow map value", set: []Setting{{"network.links[0].latency", "{dist: uniform, min: 1ms, max: 2ms}"}},
			want: map[string]any{"network.links[0].latency.min": "1ms", "network.links[0].latency.max": "2ms"}},
		{name: "a list entry itself", set: []Setting{{"cluster.nodes[1]", "{name: z}"}},
			want: map[string]any{"cluster.nodes[1].name": "z"}},
		{name: "typed values", set: []Setting{{"cluster.nodes[1].votes", "3"}, {"network.links[0].loss", "0.5"}},
			want: map[string]any{"cluster.nodes[1].votes": 3, "network.links[0].loss": 0.5}},
		{name: "a missing key is added", set: []Setting{{"cluster.quorum.two_node", "true"}},
			want: map[string]any{"cluster.quorum.two_node": true}},
		{name: "two settings", set: []Setting{{"duration", "1m"}, {"cluster.nodes[0].name", "q"}},
			want: map[string]any{"duration": "1m", "cluster.nodes[0].name": "q"}},
		{name: "a node count grows the list", set: []Setting{{"cluster.nodes", "4"}},
			want: map[string]any{"cluster.nodes[0].name": "a", "cluster.nodes[1].votes": 1,
				"cluster.nodes[2].name": "node1", "cluster.nodes[3].name": "node2"}},
		{name: "a node count shrinks the list", set: []Setting{{"cluster.nodes", "1"}},
			want: map[string]any{"cluster.nodes": []any{map[string]any{"name": "a"}}}},
		{name: "a node count of 0", set: []Setting{{"cluster.nodes", "0"}},
			err: "cluster.nodes=0: a node count must be 1..1024"},
		{name: "index out of range", set: []Setting{{"network.links[3].loss", "0.1"}},
			err: "network.links has 1 entries, so there is no network.links[3]"},
		{name: "missing list", set: []Setting{{"faults[0].at", "1s"}},
			err: "the scenario has no faults, so it has no faults[0]"},
		{name: "through a scalar", set: []Setting{{"duration.x", "1s"}},
			err: `duration is the value "10s", not a map with key "x"`},
		{name: "index on a map", set: []Setting{{"cluster.totem[0]", "1s"}},
			err: "cluster.totem is a map, not a list"},
		{name: "bad YAML value", set: []Setting{{"duration", "{a: "}},
			err: "duration={a: : the value is not valid YAML"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out, err := Apply([]byte(applySrc), tt.set, nil)
			if tt.err != "" {
				if err == nil || !strings.Contains(err.Error(), tt.err) {
					t.Fatalf("Apply = %v; want an error with %q", err, tt.err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			var tree any
			if err := yaml.Unmarshal(out, &tree); err != nil {
				t.Fatalf("the result is not YAML: %v\n%s", err, out)
			}
			for path, want := range tt.want {
				if got := dig(t, tree, path); !reflect.DeepEqual(got, want) {
					t.Errorf("%s = %#v, want %#v\n%s", path, got, want, out)
				}
			}
			if !strings.Contains(string(out), "# a comment that stays") || !strings.Contains(string(out), "# written by quorate sweep: "+tt.set[0].String()) {
				t.Errorf("comments lost or no note of the settings:\n%s", out)
			}
		})
	}
	// A node count continues the file's naming and skips names in use.
	out, err := Apply([]byte("name: x\ncluster:\n  nodes: [{name: hp1}, {name: hp3}]\n"), []Setting{{"cluster.nodes", "4"}}, nil)
	var tree any
	if err == nil {
		err = yaml.Unmarshal(out, &tree)
	}
	if err != nil {
		t.Fatal(err)
	}
	for i, want := range []string{"hp1", "hp3", "hp2", "hp4"} {
		if got := dig(t, tree, fmt.Sprintf("cluster.nodes[%d].name", i)); got != want {
			t.Errorf("node %d is %v, want %s\n%s", i, got, want, out)
		}
	}
	// A relative corosync_conf is rewritten for the directory the point is
	// written to; an absolute one is left alone.
	out, err = Apply([]byte(applySrc), []Setting{{"duration", "1m"}}, func(c string) string { return "../../" + c })
	if err != nil || !strings.Contains(string(out), "corosync_conf: ../../conf/c.conf") {
		t.Errorf("conf not relocated: %v\n%s", err, out)
	}
}

// dig follows a key path (as --vary writes it) through decoded YAML.
func dig(t *testing.T, v any, path string) any {
	t.Helper()
	for _, st := range parsePath(path) {
		m, ok := v.(map[string]any)
		if !ok {
			t.Fatalf("%s: not a map at %s", path, st.key)
		}
		v = m[st.key]
		for _, i := range st.indexes {
			l, ok := v.([]any)
			if !ok || i >= len(l) {
				t.Fatalf("%s: no [%d] at %s", path, i, st.key)
			}
			v = l[i]
		}
	}
	return v
}
