package scenarios

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"reflect"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"

	"github.com/go-viper/mapstructure/v2"
	"github.com/spf13/viper"
	"gopkg.in/yaml.v3"
)

// Load reads a scenario file and parses it (see Parse). A file that cannot
// be read gives the *fs.PathError from os.ReadFile; IsInputError is true for it.
func Load(path string) (*Scenario, error) {
	src, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return Parse(path, src)
}

// Parse loads a scenario from src; path names the file in positions and is
// kept in Scenario.Path. On success every default is filled in, faults are
// sorted by time, and the scenario is valid. Otherwise the error is an
// ErrorList with every problem found (up to about 20), each positioned.
func Parse(path string, src []byte) (*Scenario, error) { return ParseWith(path, src, nil) }

// ParseWith is Parse with the files the scenario refers to
// (cluster.corosync_conf) read by read instead of from the file system.
func ParseWith(path string, src []byte, read ReadFunc) (*Scenario, error) {
	c := &collector{file: path}
	root, ok := parseYAML(c, src)
	if !ok {
		return nil, c.err()
	}
	w := newWalker(c, len(src))
	w.walk(root, sTop, "", Position{}, 0)
	if w.fatal || root.Kind != yaml.MappingNode {
		return nil, c.err()
	}
	taint := taints(c.list)

	var raw rawScenario
	if !decodeViper(c, w, src, &raw, taint) {
		return nil, c.err()
	}
	taint = taints(c.list)

	b := &builder{w: w, c: c, taint: taint, read: read}
	s := b.build(&raw)
	if err := c.err(); err != nil {
		return nil, err
	}
	s.Path = path
	s.Source = bytes.Clone(src)
	s.positions = w.positions()
	sort.SliceStable(s.Faults, func(i, j int) bool { return s.Faults[i].At < s.Faults[j].At })
	return s, nil
}

// parseYAML decodes src into a node tree. Syntax errors, an empty file and a
// second document are reported; the root mapping's node is returned.
func parseYAML(c *collector, src []byte) (*yaml.Node, bool) {
	dec := yaml.NewDecoder(bytes.NewReader(src))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if err == io.EOF {
			c.add(Position{Line: 1, Col: 1}, "", "the file is empty; a scenario needs at least name, duration and cluster")
		} else if line, sec, ok := corosyncConfSection(src); ok {
			c.add(Position{Line: line, Col: 1}, "", "this is a corosync.conf (%q opens a section here), not a scenario: "+
				"a scenario names it under cluster.corosync_conf (docs/scenarios.md), e.g. name: rehearsal, duration: 60s, cluster: {corosync_conf: FILE}", sec+" {")
		} else if pos, msg, ok := locateSyntaxError(src); ok {
			c.add(pos, "", "invalid YAML: %s", msg)
		} else {
			addYAMLError(c, err)
		}
		return nil, false
	}
	var next yaml.Node
	switch err := dec.Decode(&next); {
	case err == io.EOF:
	case err != nil:
		addYAMLError(c, err)
		return nil, false
	default:
		c.add(Position{Line: next.Line, Col: next.Column}, "", "a scenario file holds one YAML document; found a second one")
		return nil, false
	}
	root := &doc
	if doc.Kind == yaml.DocumentNode && len(doc.Content) > 0 {
		root = doc.Content[0]
	}
	if root.Kind == yaml.ScalarNode && root.Tag == "!!null" {
		c.add(Position{Line: 1, Col: 1}, "", "the file is empty; a scenario needs at least name, duration and cluster")
		return nil, false
	}
	return root, true
}

var confSectionRE = sync.OnceValue(func() *regexp.Regexp {
	return regexp.MustCompile(`(?m)^(totem|nodelist|quorum|logging|system|resources|uidgid)[ \t]*\{`)
})

// corosyncConfSection reports the first line of src that opens a top-level
// corosync.conf section ("totem {"), which no YAML scenario has: a user who
// hands quorate run the corosync.conf itself is told what to write instead
// of a YAML syntax error.
func corosyncConfSection(src []byte) (line int, section string, ok bool) {
	m := confSectionRE().FindSubmatchIndex(src)
	if m == nil {
		return 0, "", false
	}
	return 1 + bytes.Count(src[:m[0]], []byte("\n")), string(src[m[2]:m[3]]), true
}

var (
	yamlLineRE    = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^yaml: (?:line (\d+): )?`) })
	typeErrLineRE = sync.OnceValue(func() *regexp.Regexp { return regexp.MustCompile(`^line (\d+): `) })
)

// addYAMLError reports a yaml.v3 error (a syntax error, a broken alias) at
// the line yaml names; yaml gives no column for these.
func addYAMLError(c *collector, err error) {
	var te *yaml.TypeError
	if errors.As(err, &te) {
		for _, m := range te.Errors {
			addYAMLMessage(c, m)
		}
		return
	}
	addYAMLMessage(c, err.Error())
}

func addYAMLMessage(c *collector, msg string) {
	if rest, ok := strings.CutPrefix(msg, "yaml: unmarshal errors:\n"); ok {
		for _, m := range strings.Split(rest, "\n") {
			if m = strings.TrimSpace(m); m != "" {
				addYAMLMessage(c, m)
			}
		}
		return
	}
	line := 1
	if m := yamlLineRE().FindStringSubmatch(msg); m != nil {
		if m[1] != "" {
			line, _ = strconv.Atoi(m[1])
		}
		msg = msg[len(m[0]):]
	} else if m := typeErrLineRE().FindStringSubmatch(msg); m != nil {
		line, _ = strconv.Atoi(m[1])
		msg = msg[len(m[0]):]
	}
	c.add(Position{Line: line}, "", "invalid YAML: %s", msg)
}

// decodeViper hands the file to viper and decodes it into raw through
// mapstructure with the loader's hooks. Decode errors are mapped back to the
// positions of the fields they name. It reports false when nothing usable
// was decoded.
func decodeViper(c *collector, w *walker, src []byte, raw *rawScenario, taint []string) bool {
	v := viper.New()
	v.SetConfigType("yaml")
	if err := v.ReadConfig(bytes.NewReader(src)); err != nil {
		addYAMLMessage(c, strings.TrimPrefix(err.Error(), "While parsing config: "))
		return false
	}
	err := v.Unmarshal(raw, func(dc *mapstructure.DecoderConfig) {
		dc.DecodeHook = decodeHook
		dc.WeaklyTypedInput = false
		dc.ErrorUnused = true
		dc.ZeroFields = false
	})
	if err == nil {
		return true
	}
	var leaves []*mapstructure.DecodeError
	collectDecodeErrors(err, &leaves)
	if len(leaves) == 0 {
		c.add(Position{Line: 1, Col: 1}, "", "%v", err)
		return false
	}
	for _, de := range leaves {
		field := de.Name()
		if tainted(taint, field) {
			continue
		}
		if u := de.Unwrap(); u != nil && strings.HasPrefix(u.Error(), "has invalid keys") && len(taint) > 0 {
			// The walk has reported these keys already, with positions.
			continue
		}
		c.add(w.valPos(field), field, "%s", decodeMessage(de.Unwrap()))
	}
	return true
}

// collectDecodeErrors finds the innermost mapstructure.DecodeErrors in the
// tree that errors.Join and fmt.Errorf("%w") build.
func collectDecodeErrors(err error, out *[]*mapstructure.DecodeError) {
	if de, ok := err.(*mapstructure.DecodeError); ok {
		var inner []*mapstructure.DecodeError
		collectDecodeErrors(de.Unwrap(), &inner)
		if len(inner) == 0 {
			*out = append(*out, de)
		}
		*out = append(*out, inner...)
		return
	}
	switch u := err.(type) {
	case interface{ Unwrap() []error }:
		for _, e := range u.Unwrap() {
			collectDecodeErrors(e, out)
		}
	case interface{ Unwrap() error }:
		if e := u.Unwrap(); e != nil {
			collectDecodeErrors(e, out)
		}
	}
}

// decodeMessage rewords mapstructure's errors for scenario authors.
func decodeMessage(err error) string {
	var ute *mapstructure.UnconvertibleTypeError
	var pe *mapstructure.ParseError
	switch {
	case errors.As(err, &ute):
		return fmt.Sprintf("expected %s, got %s", typeWord(ute.Expected.Type()), valueWord(ute.Value))
	case errors.As(err, &pe):
		return fmt.Sprintf("%v: %v", valueWord(pe.Value), pe.Err)
	case err == nil:
		return "cannot be decoded"
	}
	msg := err.Error()
	if strings.HasPrefix(msg, "has invalid keys: ") {
		return "unknown key(s): " + strings.TrimPrefix(msg, "has invalid keys: ")
	}
	return msg
}

func typeWord(t reflect.Type) string {
	switch t.Kind() {
	case reflect.Bool:
		return "true or false"
	case reflect.String:
		return "text"
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64,
		reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		return "a whole number"
	case reflect.Float32, reflect.Float64:
		return "a number"
	case reflect.Slice, reflect.Array:
		return "a list"
	case reflect.Map, reflect.Struct:
		return "a map"
	case reflect.Ptr:
		return typeWord(t.Elem())
	}
	return t.String()
}

func valueWord(v any) string {
	switch x := v.(type) {
	case string:
		return strconv.Quote(x)
	case []any:
		return "a list"
	case map[string]any:
		return "a map"
	case nil:
		return "nothing"
	}
	return fmt.Sprint(v)
}

// taints lists the paths (cut back to their list element) that already have
// an error; later phases stay quiet about them so that one mistake is not
// reported again as its consequences.
func taints(l ErrorList) []string {
	var t []string
	for _, e := range l {
		f := e.Field
		if i := strings.LastIndex(f, "]"); i >= 0 {
			f = f[:i+1]
		}
		t = append(t, f)
	}
	return t
}

func tainted(taint []string, field string) bool {
	for _, t := range taint {
		if t == "" {
			continue
		}
		if field == t || strings.HasPrefix(field, t+".") || strings.HasPrefix(field, t+"[") {
			return true
		}
	}
	return false
}
