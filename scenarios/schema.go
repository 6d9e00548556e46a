package scenarios

import (
	"fmt"
	"sort"
	"strings"

	"gopkg.in/yaml.v3"
)

// shape is what a schema position holds.
type shape uint8

const (
	scalar       shape = iota + 1 // one value
	mapping                       // a map with a fixed or content-dependent key set
	list                          // a list of elem
	scalarOrList                  // one value or a list of them (auto_tie_breaker_node)
)

// schema describes one position of the scenario file. For mappings, keys are
// the allowed keys; dyn, when set, picks the allowed keys from the map's own
// content (a fault's action, a distribution's dist, an expectation's form)
// and names that choice for error messages.
type schema struct {
	shape shape
	keys  map[string]*schema
	dyn   func(m *yaml.Node) (keys map[string]*schema, what string)
	elem  *schema
}

var (
	sScalar     = &schema{shape: scalar}
	sNameList   = &schema{shape: list, elem: sScalar}
	sScalarList = &schema{shape: list, elem: sScalar}
)

func mapOf(keys map[string]*schema) *schema { return &schema{shape: mapping, keys: keys} }
func listOf(elem *schema) *schema           { return &schema{shape: list, elem: elem} }

// distParams are the parameters each latency-style distribution takes.
var distParams = map[string][]string{
	"constant":    {"value"},
	"uniform":     {"min", "max"},
	"normal":      {"mean", "stddev"},
	"lognormal":   {"median", "sigma"},
	"exponential": {"mean"},
	"pareto":      {"min", "alpha"},
}

// faultFields are the fields each fault action takes besides at and action.
var faultFields = map[string][]string{
	"crash":          {"node"},
	"restart":        {"node", "after"},
	"power_off":      {"nodes"},
	"cold_start":     {"nodes", "boot"},
	"partition":      {"groups", "links"},
	"isolate":        {"node", "links"},
	"drop":           {"from", "to", "links"},
	"heal":           {"links"},
	"switch_down":    {"switch"},
	"switch_up":      {"switch"},
	"link_down":      {"node", "link"},
	"link_up":        {"node", "link"},
	"set_latency":    {"link", "latency", "nodes"},
	"set_loss":       {"link", "loss", "nodes"},
	"set_expected":   {"node", "votes"},
	"delnode":        {"node", "on"},
	"edit_conf":      {"conf", "on"},
	"qnetd_down":     {},
	"qnetd_up":       {},
	"add_node":       {"node", "on", "bundle"},
	"qdevice_setup":  {"on", "algorithm", "force", "latency"},
	"qdevice_remove": {"on"},
	"separate":       {"node"},
}

// faultRequired are the fields an action cannot do without.
var faultRequired = map[string][]string{
	"crash":          {"node"},
	"restart":        {"node"},
	"partition":      {"groups"},
	"isolate":        {"node"},
	"drop":           {"from", "to"},
	"switch_down":    {"switch"},
	"switch_up":      {"switch"},
	"link_down":      {"node", "link"},
	"link_up":        {"node", "link"},
	"set_latency":    {"link", "latency"},
	"set_loss":       {"link", "loss"},
	"set_expected":   {"node", "votes"},
	"delnode":        {"node", "on"},
	"edit_conf":      {"conf", "on"},
	"add_node":       {"node", "on"},
	"qdevice_setup":  {"on"},
	"qdevice_remove": {"on"},
	"separate":       {"node"},
}

// expectForms lists the keys of each kind of expectation. The first key of
// each is the one that selects the form.
var expectForms = map[string][]string{
	"at":     timeFormKeys("at"),
	"by":     append(timeFormKeys("by"), "after", "after_fault"),
	"within": append(timeFormKeys("within"), "after", "after_fault"),
	"during": timeFormKeys("during"),
	"at_end": timeFormKeys("at_end"),
	"check":  {"check"},
	"metric": {"metric", "after", "before", "max", "min", "equals"},
	"fault":  {"fault", "refused", "reason"},
}

func timeFormKeys(form string) []string {
	return []string{form, "node", "nodes", "peer", "link", "guest", "quorate", "members",
		"total_votes", "expected_votes", "quorum", "active_link", "link_up", "running", "config_version"}
}

// fieldShapes gives the shape of every fault, expect and distribution field.
var fieldShapes = map[string]*schema{
	"nodes": sNameList, "from": sNameList, "to": sNameList, "members": sNameList,
	"links": sScalarList, "during": sScalarList, "addrs": sScalarList,
	"groups": listOf(sNameList),
}

func shapeOf(key string) *schema {
	if key == "boot" || key == "latency" {
		return sDist
	}
	if key == "when" {
		return sTrigger
	}
	if s, ok := fieldShapes[key]; ok {
		return s
	}
	return sScalar
}

// keySet builds a schema key map from names, each with its field shape.
func keySet(names ...string) map[string]*schema {
	m := make(map[string]*schema, len(names))
	for _, n := range names {
		m[n] = shapeOf(n)
	}
	return m
}

// scalarKeys builds a key map whose values are all single values.
func scalarKeys(names ...string) map[string]*schema {
	m := make(map[string]*schema, len(names))
	for _, n := range names {
		m[n] = sScalar
	}
	return m
}

func union[T any](m map[string][]T, extra ...T) []T {
	var all []T
	all = append(all, extra...)
	for _, v := range m {
		all = append(all, v...)
	}
	return all
}

// discriminator returns the plain scalar value of key in mapping m, if any.
func discriminator(m *yaml.Node, key string) string {
	for _, p := range mapPairs(m) {
		if p.key.Value == key {
			if v := resolve(p.val); v != nil && v.Kind == yaml.ScalarNode {
				return v.Value
			}
		}
	}
	return ""
}

func hasKey(m *yaml.Node, key string) bool {
	for _, p := range mapPairs(m) {
		if p.key.Value == key {
			return true
		}
	}
	return false
}

var sDist = &schema{shape: mapping, dyn: func(m *yaml.Node) (map[string]*schema, string) {
	d := discriminator(m, "dist")
	if ps, ok := distParams[d]; ok {
		return scalarKeys(append([]string{"dist"}, ps...)...), "dist " + d
	}
	return scalarKeys(union(distParams, "dist")...), ""
}}

// sTrigger is a fault's when: (see Trigger).
var sTrigger = mapOf(scalarKeys("node", "totem", "quorum", "store", "qdevice", "delay", "probability", "before"))

var sFault = &schema{shape: mapping, dyn: func(m *yaml.Node) (map[string]*schema, string) {
	a := discriminator(m, "action")
	if fs, ok := faultFields[a]; ok {
		return keySet(append([]string{"at", "action", "when"}, fs...)...), "action " + a
	}
	return keySet(union(faultFields, "at", "action", "when")...), ""
}}

var sExpect = &schema{shape: mapping, dyn: func(m *yaml.Node) (map[string]*schema, string) {
	var forms []string
	for f := range expectForms {
		if hasKey(m, f) {
			forms = append(forms, f)
		}
	}
	if len(forms) == 1 {
		f := forms[0]
		what := f + " expectation"
		if f == "at" || f == "by" || f == "within" || f == "during" || f == "at_end" {
			what = "time (at/by/within/during/at_end) expectation"
		}
		return keySet(expectForms[f]...), what
	}
	return keySet(union(expectForms)...), ""
}}

var sNode = mapOf(keySet("name", "id", "votes", "boot_at"))

var sTotem = mapOf(keySet("token", "token_coefficient", "consensus", "join", "merge",
	"max_messages", "window_size", "token_retransmit", "hold",
	"token_retransmits_before_loss_const", "send_join", "miss_count_const",
	"seqno_unchanged_const", "fail_recv_const"))

var sDevice = mapOf(map[string]*schema{
	"algorithm": sScalar, "tie_breaker": sScalar, "votes": sScalar, "latency": sDist,
	"timeout": sScalar, "sync_timeout": sScalar, "master_wins": sScalar,
})

var sQuorum = mapOf(map[string]*schema{
	"expected_votes": sScalar, "two_node": sScalar, "wait_for_all": sScalar,
	"last_man_standing": sScalar, "last_man_standing_window": sScalar,
	"auto_tie_breaker": sScalar, "auto_tie_breaker_node": {shape: scalarOrList, elem: sScalar},
	"device": sDevice,
})

var sCluster = mapOf(map[string]*schema{
	"name": sScalar, "corosync_conf": sScalar, "nodes": listOf(sNode),
	"new_nodes": listOf(mapOf(keySet("name", "id", "votes", "addrs"))),
	"totem":     sTotem, "quorum": sQuorum, "packet_cost": sScalar,
})

var sLink = mapOf(keySet("number", "switch", "priority", "latency", "loss", "duplicate",
	"reorder", "ping_interval", "ping_timeout", "pong_count"))

var sNetwork = mapOf(map[string]*schema{"link_mode": sScalar, "host_wait": sScalar, "links": listOf(sLink)})

var sWorkload = mapOf(map[string]*schema{
	"kind": sScalar, "size": sScalar, "clients": sNameList, "rate": sScalar, "keys": sScalar,
	"mix":       mapOf(keySet("read", "write", "cas")),
	"read_mode": sScalar, "timeout": sScalar,
	"guests": listOf(mapOf(keySet("name", "node", "onboot"))),
})

// sTop is the whole scenario file.
var sTop = mapOf(map[string]*schema{
	"name": sScalar, "description": sScalar, "seed": sScalar, "duration": sScalar,
	"cluster": sCluster, "network": sNetwork, "workload": sWorkload,
	"faults": listOf(sFault), "expect": listOf(sExpect),
})

// pair is one key: value of a mapping, after merge keys (<<) are expanded.
type pair struct{ key, val *yaml.Node }

// resolve follows aliases to the node they name (nil for a broken or
// self-referencing chain).
func resolve(n *yaml.Node) *yaml.Node {
	for i := 0; n != nil && n.Kind == yaml.AliasNode; i++ {
		if i > 32 {
			return nil
		}
		n = n.Alias
	}
	return n
}

// mapPairs lists the pairs of a mapping: its own keys first, then keys
// brought in by merge keys (<<) that it does not set itself (YAML merge
// rules: the first merged map to set a key wins). Each merged mapping is
// visited once, so a chain of merges cannot blow up exponentially.
func mapPairs(m *yaml.Node) []pair {
	seen := map[*yaml.Node]bool{}
	return mergePairs(m, seen, 0)
}

func mergePairs(m *yaml.Node, visited map[*yaml.Node]bool, depth int) []pair {
	m = resolve(m)
	if m == nil || m.Kind != yaml.MappingNode || depth > 8 || visited[m] {
		return nil
	}
	visited[m] = true
	var own, merged []pair
	for i := 0; i+1 < len(m.Content); i += 2 {
		k, v := m.Content[i], m.Content[i+1]
		if k.Kind == yaml.ScalarNode && k.Tag == "!!merge" {
			src := resolve(v)
			if src == nil {
				continue
			}
			if src.Kind == yaml.SequenceNode {
				for _, e := range src.Content {
					merged = append(merged, mergePairs(e, visited, depth+1)...)
				}
			} else {
				merged = append(merged, mergePairs(src, visited, depth+1)...)
			}
			continue
		}
		own = append(own, pair{k, v})
	}
	seen := map[string]bool{}
	for _, p := range own {
		seen[p.key.Value] = true
	}
	for _, p := range merged {
		if !seen[p.key.Value] {
			seen[p.key.Value] = true
			own = append(own, p)
		}
	}
	return own
}

func sortedKeys(m map[string]*schema) []string {
	ks := make([]string, 0, len(m))
	for k := range m {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "a map"
	case yaml.SequenceNode:
		return "a list"
	}
	return fmt.Sprintf("the value %q", n.Value)
}

// describeAllowed lists allowed keys for an error message.
func describeAllowed(keys map[string]*schema) string {
	return strings.Join(sortedKeys(keys), ", ")
}
