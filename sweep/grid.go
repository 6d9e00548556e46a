package sweep

import (
	"bytes"
	"fmt"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/quorate/quorate/scenarios"
)

// Vary is one --vary flag: a scenario key (a path such as
// "cluster.totem.token" or "network.links[0].latency.value") and the YAML
// values it takes, one grid axis each.
type Vary struct {
	Key    string   `json:"key"`
	Values []string `json:"values"`
}

// Flag prints the vary as it is written on the command line.
func (v Vary) Flag() string { return "--vary " + v.Key + "=" + strings.Join(v.Values, ",") }

// Setting is one key set to one value at a grid point.
type Setting struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// String prints key=value.
func (s Setting) String() string { return s.Key + "=" + s.Value }

var keyRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*(\.[A-Za-z_][A-Za-z0-9_]*(\[[0-9]+\])*)*$`)

// ParseVary reads "key=v1,v2,...". Values are YAML, so a value may be a flow
// map or list: commas inside {}, [] or quotes do not split values
// ("--vary network.links[0].latency={dist: constant, value: 1ms},{dist:
// uniform, min: 1ms, max: 3ms}").
func ParseVary(s string) (Vary, error) {
	key, vals, ok := strings.Cut(s, "=")
	key = strings.TrimSpace(key)
	if !ok || key == "" {
		return Vary{}, fmt.Errorf("--vary %q: want key=v1,v2,... (e.g. cluster.totem.token=1000ms,3000ms)", s)
	}
	if !keyRE.MatchString(key) {
		return Vary{}, fmt.Errorf("--vary %q: %q is not a scenario key path (keys joined by '.', list entries as [N], e.g. network.links[0].loss)", s, key)
	}
	v := Vary{Key: key}
	seen := map[string]bool{}
	for _, val := range splitValues(vals) {
		val = strings.TrimSpace(val)
		if val == "" {
			return Vary{}, fmt.Errorf("--vary %q: an empty value (a stray comma?)", s)
		}
		if seen[val] {
			return Vary{}, fmt.Errorf("--vary %q: value %q is listed twice", s, val)
		}
		seen[val] = true
		v.Values = append(v.Values, val)
	}
	return v, nil
}

// splitValues splits at the commas that are not inside brackets or quotes.
func splitValues(s string) []string {
	var out []string
	depth, start := 0, 0
	var quote byte
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case quote != 0:
			if c == quote {
				quote = 0
			}
		case c == '"' || c == '\'':
			quote = c
		case c == '{' || c == '[':
			depth++
		case c == '}' || c == ']':
			depth--
		case c == ',' && depth == 0:
			out = append(out, s[start:i])
			start = i + 1
		}
	}
	return append(out, s[start:])
}

// Grid is the cartesian product of the varies: every combination of one
// value per key, the first --vary outermost and the last varying fastest.
// No varies give one point with no settings.
func Grid(varies []Vary) [][]Setting {
	points := [][]Setting{nil}
	for _, v := range varies {
		var next [][]Setting
		for _, p := range points {
			for _, val := range v.Values {
				q := append(append([]Setting(nil), p...), Setting{Key: v.Key, Value: val})
				next = append(next, q)
			}
		}
		points = next
	}
	return points
}

// Apply sets each setting in the scenario source src and returns the new
// YAML. The tree is edited, not the text: src is parsed with yaml.v3, each
// value replaces the node at its key path (a missing map key is added, for
// the loader to judge), and the tree is marshalled again. conf, when not
// empty, replaces a relative cluster.corosync_conf so that the file still
// resolves from the directory the new YAML is written to.
func Apply(src []byte, settings []Setting, conf func(string) string) ([]byte, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(src, &doc); err != nil {
		return nil, fmt.Errorf("the scenario is not valid YAML: %w", err)
	}
	if doc.Kind != yaml.DocumentNode || len(doc.Content) != 1 || doc.Content[0].Kind != yaml.MappingNode {
		return nil, fmt.Errorf("the scenario is not a YAML map")
	}
	root := doc.Content[0]
	for _, s := range settings {
		var val yaml.Node
		if err := yaml.Unmarshal([]byte(s.Value), &val); err != nil {
			return nil, fmt.Errorf("%s: the value is not valid YAML: %v", s, err)
		}
		if len(val.Content) != 1 {
			return nil, fmt.Errorf("%s: the value is empty", s)
		}
		if s.Key == "cluster.nodes" && val.Content[0].Tag == "!!int" {
			list, err := nodeList(root, val.Content[0].Value)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", s, err)
			}
			val.Content[0] = list
		}
		if err := setPath(root, s.Key, val.Content[0]); err != nil {
			return nil, fmt.Errorf("%s: %w", s, err)
		}
	}
	if conf != nil {
		if n := lookup(root, "cluster", "corosync_conf"); n != nil && n.Kind == yaml.ScalarNode && n.Value != "" && !filepath.IsAbs(n.Value) {
			n.Value = conf(n.Value)
		}
	}
	if len(settings) > 0 {
		var what []string
		for _, s := range settings {
			what = append(what, s.String())
		}
		note := "# written by quorate sweep: " + strings.Join(what, ", ")
		if root.HeadComment != "" {
			note += "\n\n" + root.HeadComment
		}
		root.HeadComment = note
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	if err := enc.Encode(&doc); err != nil {
		return nil, fmt.Errorf("writing the varied scenario: %w", err)
	}
	if err := enc.Close(); err != nil {
		return nil, fmt.Errorf("writing the varied scenario: %w", err)
	}
	return b.Bytes(), nil
}

// maxNodes bounds --vary cluster.nodes=N; the loader has its own limits.
const maxNodes = 1024

// nodeList is the node list that --vary cluster.nodes=N stands for: the
// scenario's first N nodes as written, then nodes named after the first
// node's stem, numbered on and skipping names in use ("hp1, hp2, hp3"
// grows with hp4, hp5; the stem is "node" when the first name does not end
// in a number), so that a node count is one grid axis.
func nodeList(root *yaml.Node, count string) (*yaml.Node, error) {
	n, err := strconv.Atoi(count)
	if err != nil || n < 1 || n > maxNodes {
		return nil, fmt.Errorf("a node count must be 1..%d", maxNodes)
	}
	list := &yaml.Node{Kind: yaml.SequenceNode, Tag: "!!seq", Style: yaml.FlowStyle}
	stem, used := "node", map[string]bool{}
	if old := lookup(root, "cluster", "nodes"); old != nil && old.Kind == yaml.SequenceNode {
		for i, e := range old.Content {
			if i < n {
				list.Content = append(list.Content, e)
			}
			if name := lookup(e, "name"); name != nil && name.Kind == yaml.ScalarNode {
				if t := strings.TrimRight(name.Value, "0123456789"); i == 0 && t != "" && t != name.Value {
					stem = t
				}
				used[name.Value] = true
			}
		}
	}
	for i := 1; len(list.Content) < n; i++ {
		name := stem + strconv.Itoa(i)
		if used[name] {
			continue
		}
		used[name] = true
		list.Content = append(list.Content, &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map", Style: yaml.FlowStyle, Content: []*yaml.Node{
			{Kind: yaml.ScalarNode, Tag: "!!str", Value: "name"}, {Kind: yaml.ScalarNode, Tag: "!!str", Value: name}}})
	}
	return list, nil
}

// lookup finds the value of a chain of map keys, or nil.
func lookup(n *yaml.Node, keys ...string) *yaml.Node {
	for _, k := range keys {
		if n.Kind != yaml.MappingNode {
			return nil
		}
		var next *yaml.Node
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == k {
				next = n.Content[i+1]
			}
		}
		if next == nil {
			return nil
		}
		n = next
	}
	return n
}

// step is one element of a key path: a map key, then list indexes.
type step struct {
	key     string
	indexes []int
}

func parsePath(path string) []step {
	var steps []step
	for _, part := range strings.Split(path, ".") {
		name, rest, _ := strings.Cut(part, "[")
		st := step{key: name}
		for rest != "" {
			num, after, _ := strings.Cut(rest, "]")
			i, _ := strconv.Atoi(num)
			st.indexes = append(st.indexes, i)
			rest = strings.TrimPrefix(after, "[")
		}
		steps = append(steps, st)
	}
	return steps
}

// setPath replaces the node at path under the map root with val.
func setPath(root *yaml.Node, path string, val *yaml.Node) error {
	steps := parsePath(path)
	n := root
	where := ""
	for si, st := range steps {
		last := si == len(steps)-1
		if n.Kind == yaml.AliasNode {
			return fmt.Errorf("%s is a YAML alias (*%s); --vary cannot set keys through an alias", orTop(where), n.Value)
		}
		if n.Kind != yaml.MappingNode {
			return fmt.Errorf("%s is %s, not a map with key %q", orTop(where), kindWord(n), st.key)
		}
		if where != "" {
			where += "."
		}
		where += st.key
		idx := -1
		for i := 0; i+1 < len(n.Content); i += 2 {
			if n.Content[i].Value == st.key {
				idx = i + 1
			}
		}
		if idx < 0 {
			// A key the file leaves out: add it and let the loader judge
			// it (it rejects keys the format does not have).
			if len(st.indexes) > 0 {
				return fmt.Errorf("the scenario has no %s, so it has no %s%s", where, where, indexText(st.indexes))
			}
			child := &yaml.Node{Kind: yaml.MappingNode, Tag: "!!map"}
			if last {
				child = val
			}
			n.Content = append(n.Content, &yaml.Node{Kind: yaml.ScalarNode, Tag: "!!str", Value: st.key}, child)
			n = child
			continue
		}
		if len(st.indexes) == 0 && last {
			n.Content[idx] = val
			return nil
		}
		parent, slot := n, idx
		for k, i := range st.indexes {
			list := parent.Content[slot]
			if list.Kind != yaml.SequenceNode {
				return fmt.Errorf("%s is %s, not a list", where, kindWord(list))
			}
			if i >= len(list.Content) {
				return fmt.Errorf("%s has %d entries, so there is no %s[%d]", where, len(list.Content), where, i)
			}
			where += fmt.Sprintf("[%d]", i)
			parent, slot = list, i
			if last && k == len(st.indexes)-1 {
				list.Content[i] = val
				return nil
			}
		}
		n = parent.Content[slot]
	}
	return nil
}

func orTop(where string) string {
	if where == "" {
		return "the top level"
	}
	return where
}

func indexText(idx []int) string {
	var b strings.Builder
	for _, i := range idx {
		fmt.Fprintf(&b, "[%d]", i)
	}
	return b.String()
}

func kindWord(n *yaml.Node) string {
	switch n.Kind {
	case yaml.SequenceNode:
		return "a list"
	case yaml.MappingNode:
		return "a map"
	case yaml.AliasNode:
		return "an alias"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// Point is one grid point: the scenario with its settings applied.
type Point struct {
	Name     string    `json:"name"`               // "base" without --vary, else p1, p2, ...
	Settings []Setting `json:"settings,omitempty"` // empty for "base"
	// File is the scenario file that runs the point: the swept file for
	// "base"; with --out DIR the written DIR/points/<name>.yaml; else
	// <stem>.vary.yaml beside the swept file, a name only, never written.
	File string `json:"file"`

	sc *scenarios.Scenario
}

// Scenario is the loaded scenario of the point.
func (p *Point) Scenario() *scenarios.Scenario { return p.sc }

// pointName names the i-th (0-based) of n grid points p1, p2, ... padded
// so that the names sort in grid order.
func pointName(i, n int) string {
	return fmt.Sprintf("p%0*d", len(strconv.Itoa(n)), i+1)
}
