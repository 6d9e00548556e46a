package corosyncconf

import (
	"errors"
	"strings"
	"testing"
)

// TestParseTreeErrors checks each grammar error of coroparse.c's
// parse_section: message, line, and corosync's "parser error:" format.
func TestParseTreeErrors(t *testing.T) {
	long := strings.Repeat("x", 505) // "  k: " + 505 = 510 bytes
	tests := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"line too long", "a {\n  k: " + long + "x\n}\n", 2, msgLongLine},
		{"510 bytes fit", "a {\n  k: " + long + "\n}\n}\n", 4, msgUnexClose},
		{"511 bytes", strings.Repeat("k", 511) + "\n", 1, msgLongLine},
		{"511 bytes at eof", strings.Repeat("k", 511), 1, msgLongLine},
		{"missing closing brace", "totem {\n  version: 2\n", 2, msgNoClose},
		{"missing closing brace nested", "a {\n b {\n }\n\n", 4, msgNoClose},
		{"unexpected closing brace", "a {\n}\n}\n", 3, msgUnexClose},
		{"extra characters after {", "totem { version: 2\n}\n", 1, msgAfterOpen},
		{"extra characters after { no blank", "totem {x\n}\n", 1, msgAfterOpen},
		{"extra characters at }", "a {\n} x\n", 2, msgAtClose},
		{"comment after }", "a {\n} # end\n", 2, msgAtClose},
		{"missing section name", "{\n}\n", 1, msgNoName},
		{"missing section name blanks", "  \t{\n}\n", 1, msgNoName},
		{"empty key", "a {\n:value\n}\n", 2, msgEmptyKey},
		{"empty key blank", "a {\n  \t:value\n}\n", 2, msgEmptyKey},
		{"not a line", "a {\n  version 2\n}\n", 2, msgBadLine},
		{"placeholder", "nodelist {\n  [...] # other nodes\n}\n", 2, msgBadLine},
		{"NUL mid line", "a {\nk\x00: v\n}\n", 2, msgLongLine},
		{"section path too long", "a {\n" + strings.Repeat("b", 253) + " {\n}\n}\n", 2, msgLongSect},
		{"key path too long", strings.Repeat("b", 254) + ": 1\n", 1, msgLongKey},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ParseTree("c.conf", []byte(tt.src))
			var l ErrorList
			if !errors.As(err, &l) || len(l) != 1 {
				t.Fatalf("error = %v, want one error", err)
			}
			want := "parser error: c.conf:" + itoa(tt.line) + ": " + tt.msg
			if l[0].Error() != want || l[0].Line != tt.line || !errors.Is(err, ErrSyntax) {
				t.Errorf("error = %q (line %d), want %q", l[0].Error(), l[0].Line, want)
			}
		})
	}
}

// TestParseTreeShapes checks how lines become sections and items.
func TestParseTreeShapes(t *testing.T) {
	tests := []struct {
		name, src, want string
	}{
		{"colon after section name", "totem: {\n}\n", "totem{}"},
		{"colons and brace trimmed", "totem :: {\n}\n", "totem{}"},
		{"ipv6 value keeps colons", "n {\nring0_addr: fd00::1\n}\n", "n{ring0_addr=fd00::1}"},
		{"split at first colon", "a {\nk:: v\n}\n", "a{k=: v}"},
		{"hash inside value", "a {\nk: v # not a comment\n}\n", "a{k=v # not a comment}"},
		{"indented comment", "   # c {\n\t#x: y\n", ""},
		{"empty value", "a {\nk:\n}\n", "a{k=}"},
		{"crlf", "a {\r\nk: v\r\n}\r\n", "a{k=v}"},
		{"nbsp byte is blank", "a\xa0{\xa0\nk\xa0:\xa0v\xa0\n}\n", "a{k=v}"},
		{"lone colon key", "a {\n: v\n}\n", "a{:=v}"},
		{"lone colon section", ": {\n}\n", ":{}"},
		{"brace wins over colon", "a: b {\n}\n", "a: b{}"},
		{"510 bytes", "k:" + strings.Repeat("v", 508) + "\n", "k=" + strings.Repeat("v", 508)},
		{"NUL starts line", "\x00garbage\na {\n}\n", "a{}"},
		{"NUL on unterminated last line", "a {\n}\nb {\n}\x00 x", "a{} b{}"},
		{"nested", "a {\n x: 1\n b {\n  y: 2\n }\n z: 3\n}\n", "a{x=1 z=3 b{y=2}}"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			root, err := ParseTree("c.conf", []byte(tt.src))
			if err != nil {
				t.Fatal(err)
			}
			if got := shape(root); got != tt.want {
				t.Errorf("tree = %q, want %q", got, tt.want)
			}
		})
	}
}

// shape prints a tree compactly: name{k=v ... sub{...}}.
func shape(s *Section) string {
	var parts []string
	for _, it := range s.Items {
		parts = append(parts, it.Key+"="+it.Value)
	}
	for _, sub := range s.Sections {
		parts = append(parts, sub.Name+"{"+shape(sub)+"}")
	}
	return strings.Join(parts, " ")
}

// TestParseTreeLines checks that items and sections carry their lines.
func TestParseTreeLines(t *testing.T) {
	root, err := ParseTree("c.conf", []byte("# c\ntotem {\n  version: 2\n\n  interface {\n    linknumber: 1\n  }\n}\n"))
	if err != nil {
		t.Fatal(err)
	}
	totem := root.Sections[0]
	iface := totem.Sections[0]
	got := []int{totem.Line, totem.Items[0].Line, iface.Line, iface.Items[0].Line, iface.End, totem.End}
	want := []int{2, 3, 5, 6, 7, 8}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("lines = %v, want %v", got, want)
		}
	}
}

// TestFormatRoundTrip checks that Format writes a tree ParseTree reads back
// unchanged, for every valid fixture.
func TestFormatRoundTrip(t *testing.T) {
	for name, src := range fixtures(t) {
		root, err := ParseTree(name, src)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		again, err := ParseTree(name, root.Format())
		if err != nil {
			t.Fatalf("%s: re-parse: %v\n%s", name, err, root.Format())
		}
		if shape(again) != shape(root) {
			t.Errorf("%s: round trip changed the tree:\n%s\n%s", name, shape(root), shape(again))
		}
	}
}
