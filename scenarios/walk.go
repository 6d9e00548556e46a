package scenarios

import (
	"fmt"
	"strings"

	"gopkg.in/yaml.v3"
)

// entry is what the index knows about one path of the file.
type entry struct {
	key Position // the key's position; zero for list elements and the root
	val Position // the value's position
}

// walker checks the yaml.Node tree against the schema and records the
// position of every path it visits, in the path syntax mapstructure uses
// for its errors ("faults[2].at", "cluster.nodes[0].name").
type walker struct {
	c      *collector
	index  map[string]entry
	budget int  // nodes left to visit; aliases can make a small file huge
	fatal  bool // the tree is too odd to hand to viper
}

func newWalker(c *collector, srcLen int) *walker {
	return &walker{c: c, index: map[string]entry{}, budget: 20000 + 20*srcLen}
}

func (w *walker) pos(n *yaml.Node) Position {
	return Position{File: w.c.file, Line: n.Line, Col: n.Column}
}

// has reports whether the file gives path (even as null).
func (w *walker) has(path string) bool {
	_, ok := w.index[path]
	return ok
}

// valPos is the position of path's value, or of its nearest ancestor that
// the file has (for "required" errors the map that lacks the key).
func (w *walker) valPos(path string) Position {
	for {
		if e, ok := w.index[path]; ok {
			return e.val
		}
		if path == "" {
			return Position{File: w.c.file, Line: 1, Col: 1}
		}
		path = parentPath(path)
	}
}

// parentPath strips the last ".key" or "[i]" from a path.
func parentPath(path string) string {
	i := strings.LastIndexAny(path, ".[")
	if i < 0 {
		return ""
	}
	return path[:i]
}

// errorf reports a problem with one value of the tree.
func (w *walker) errorf(n *yaml.Node, path, format string, args ...any) {
	w.c.add(w.pos(n), path, format, args...)
}

func (w *walker) walk(n *yaml.Node, s *schema, path string, keyPos Position, depth int) {
	if w.c.full() || w.fatal {
		return
	}
	w.budget--
	if w.budget < 0 || depth > 40 {
		w.errorf(n, path, "the document is too large or too deeply nested once aliases are expanded")
		w.fatal = true
		return
	}
	orig := n
	n = resolve(n)
	if n == nil {
		w.errorf(orig, path, "alias refers to itself")
		w.fatal = true
		return
	}
	null := n.Kind == yaml.ScalarNode && n.Tag == "!!null"
	w.index[path] = entry{key: keyPos, val: w.pos(orig)}
	if null {
		if s.shape == scalar || s.shape == scalarOrList {
			w.errorf(orig, path, "has no value")
		}
		// An empty map or list section is the same as {} or [].
		return
	}
	switch s.shape {
	case scalar:
		if n.Kind != yaml.ScalarNode {
			w.errorf(orig, path, "expected a single value, got %s", kindName(n))
		}
	case scalarOrList:
		switch n.Kind {
		case yaml.ScalarNode:
		case yaml.SequenceNode:
			w.walkList(n, s, path, depth)
		default:
			w.errorf(orig, path, "expected a value or a list, got %s", kindName(n))
		}
	case list:
		if n.Kind != yaml.SequenceNode {
			w.errorf(orig, path, "expected a list, got %s", kindName(n))
			return
		}
		w.walkList(n, s, path, depth)
	case mapping:
		if n.Kind != yaml.MappingNode {
			w.errorf(orig, path, "expected a map of key: value, got %s", kindName(n))
			return
		}
		w.walkMap(n, s, path, depth)
	}
}

func (w *walker) walkList(n *yaml.Node, s *schema, path string, depth int) {
	for i, e := range n.Content {
		w.walk(e, s.elem, fmt.Sprintf("%s[%d]", path, i), Position{}, depth+1)
	}
}

func (w *walker) walkMap(n *yaml.Node, s *schema, path string, depth int) {
	keys, what := s.keys, ""
	if s.dyn != nil {
		keys, what = s.dyn(n)
	}
	first := map[string]*yaml.Node{}
	for _, p := range mapPairs(n) {
		k := resolve(p.key)
		if k == nil || k.Kind != yaml.ScalarNode {
			w.errorf(p.key, path, "map keys must be plain names")
			w.fatal = true
			continue
		}
		child := joinPath(path, k.Value)
		if f, dup := first[k.Value]; dup {
			// yaml.v3 checks this only when decoding into Go maps (as
			// viper does); report it here, with a position.
			w.errorf(p.key, child, "key %q is given twice (first at line %d)", k.Value, f.Line)
			w.fatal = true
			continue
		}
		first[k.Value] = k
		sub, ok := keys[k.Value]
		if !ok {
			w.unknownKey(k, child, keys, s, what)
			continue
		}
		w.walk(p.val, sub, child, w.pos(k), depth+1)
	}
}

// unknownKey reports a key the schema does not allow. Typos get a
// suggestion; a key that belongs to another action or form says so.
func (w *walker) unknownKey(k *yaml.Node, path string, keys map[string]*schema, s *schema, what string) {
	name := k.Value
	if s.dyn != nil && what != "" {
		all, _ := s.dyn(nil)
		if _, ok := all[name]; ok {
			w.errorf(k, path, "%q is not a field of %s (it takes: %s)", name, what, describeAllowed(keys))
			return
		}
	}
	allowed := sortedKeys(keys)
	if hint := suggest(name, allowed); hint != "" {
		w.errorf(k, path, "unknown key %q%s", name, hint)
		return
	}
	w.errorf(k, path, "unknown key %q (allowed here: %s)", name, strings.Join(allowed, ", "))
}

// positions copies the index for Scenario.PosOf.
func (w *walker) positions() map[string]Position {
	m := make(map[string]Position, len(w.index))
	for p, e := range w.index {
		m[p] = e.val
	}
	return m
}
