package corosyncconf

import (
	"errors"
	"reflect"
	"testing"
)

// FuzzParse feeds arbitrary bytes to ParseTree and Parse. Neither may panic;
// every error must be an ErrorList of positioned *Error; and what parses
// must survive a round trip: ParseTree(Format(tree)) gives the same tree,
// and Parse(Marshal(cfg)) gives the same typed values. The seed corpus is
// the valid fixtures plus testdata/fuzz/FuzzParse.
func FuzzParse(f *testing.F) {
	for _, src := range fixtures(f) {
		f.Add(src)
	}
	f.Fuzz(func(t *testing.T, src []byte) {
		tree, err := ParseTree("f.conf", src)
		checkErrorList(t, err)
		if err == nil {
			again, err := ParseTree("f.conf", tree.Format())
			if err != nil {
				t.Fatalf("Format output does not parse: %v\n%q", err, tree.Format())
			}
			if shape(again) != shape(tree) {
				t.Fatalf("Format changed the tree:\n%q\n%q", shape(tree), shape(again))
			}
		}
		c, err := Parse("f.conf", src)
		checkErrorList(t, err)
		if err != nil {
			return
		}
		_ = c.LinkNumbers()
		out := c.Marshal()
		again, err := Parse("f.conf", out)
		if err != nil {
			t.Fatalf("Marshal output does not parse: %v\n%s", err, out)
		}
		if a, b := typed(c), typed(again); !reflect.DeepEqual(a, b) {
			t.Fatalf("Marshal changed typed values:\n%+v\n%+v\n%s", a, b, out)
		}
	})
}

// checkErrorList requires a nil error or a non-empty ErrorList whose
// entries unwrap to one of the sentinels.
func checkErrorList(t *testing.T, err error) {
	t.Helper()
	if err == nil {
		return
	}
	var l ErrorList
	if !errors.As(err, &l) || len(l) == 0 {
		t.Fatalf("error %T %v is not a non-empty ErrorList", err, err)
	}
	for _, e := range l {
		if !errors.Is(e, ErrSyntax) && !errors.Is(e, ErrInvalid) || e.Line < 0 {
			t.Fatalf("bad error %#v", e)
		}
	}
}

// typed returns the typed part of a Config: no file name, lines,
// warnings or raw keys.
func typed(c *Config) Config {
	out := *c
	out.File, out.Warnings, out.tree, out.keys, out.sections = "", nil, nil, nil, nil
	out.Interfaces = append([]Interface(nil), c.Interfaces...)
	for i := range out.Interfaces {
		out.Interfaces[i].Line = 0
	}
	out.Nodes = append([]Node(nil), c.Nodes...)
	for i := range out.Nodes {
		out.Nodes[i].Line = 0
	}
	if c.Quorum.Device != nil {
		d := *c.Quorum.Device
		d.Line = 0
		out.Quorum.Device = &d
	}
	return out
}

// roundTrip parses src, writes it with Marshal, parses that and requires
// the same typed values.
func roundTrip(t *testing.T, name string, src []byte) *Config {
	t.Helper()
	c, err := Parse(name, src)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	out := c.Marshal()
	again, err := Parse(name, out)
	if err != nil {
		t.Fatalf("%s: Marshal output does not parse: %v\n%s", name, err, out)
	}
	if a, b := typed(c), typed(again); !reflect.DeepEqual(a, b) {
		t.Errorf("%s: round trip changed typed values:\n%+v\n%+v\n%s", name, a, b, out)
	}
	return again
}

// TestMarshalFixtures round-trips every valid fixture.
func TestMarshalFixtures(t *testing.T) {
	for name, src := range fixtures(t) {
		roundTrip(t, name, src)
	}
}
