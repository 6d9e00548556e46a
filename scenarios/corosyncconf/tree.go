package corosyncconf

import (
	"bytes"
	"strings"
)

// Item is one "key: value" line of a section.
type Item struct {
	Key   string // text before the first ':', trimmed
	Value string // text after it, trimmed; may be empty
	Line  int
}

// Section is one "name {" ... "}" block, or the whole file (the root, whose
// Name is "" and Line 0). Items and Sections are each in file order; compare
// their Line fields to interleave them.
type Section struct {
	Name     string
	Line     int // line of "name {"
	End      int // line of the closing "}"
	Items    []Item
	Sections []*Section
}

// Limits of corosync's reader (exec/coroparse.c): lines are read with fgets
// into char[512], and cmap key names are at most ICMAP_KEYNAME_MAXLEN (255)
// bytes long.
const (
	maxLineLen = 510 // bytes per line, not counting the '\n'
	maxKeyLen  = 255
)

// ParseTree reads corosync.conf text into its section tree, applying only the
// grammar of corosync's parse_section (exec/coroparse.c): what makes a line
// a comment, a section opening, a key/value item or a closing brace, and how
// names and values are trimmed. It does not know which sections and keys
// exist; Parse does that. name is used in error messages, which have
// corosync's form "parser error: name:line: message". Like corosync it stops
// at the first grammar error, so the ErrorList it returns has one entry.
func ParseTree(name string, src []byte) (*Section, error) {
	root := &Section{}
	stack := []*Section{root}
	paths := []string{""}
	line := 0
	fail := func(msg string) (*Section, error) {
		return nil, ErrorList{{File: name, Line: line, Msg: msg, Syntax: true}}
	}
	for len(src) > 0 {
		raw, rest, newline := cutLine(src)
		src = rest
		line++
		text, ok := fgetsLine(raw, newline)
		if !ok {
			return fail(msgLongLine)
		}
		text = trimRight(text)
		if isBlankOrComment(text) {
			continue
		}
		top := stack[len(stack)-1]
		path := paths[len(paths)-1]
		switch {
		case strings.IndexByte(text, '{') >= 0:
			head, tail := splitAt(text, '{')
			sect := cTrim(head, true)
			if sect == "" {
				return fail(msgNoName)
			}
			if cTrim(tail, false) != "" {
				return fail(msgAfterOpen)
			}
			if len(path)+len(sect)+1 >= maxKeyLen {
				return fail(msgLongSect)
			}
			s := &Section{Name: sect, Line: line}
			top.Sections = append(top.Sections, s)
			stack = append(stack, s)
			paths = append(paths, joinPath(path, sect))
		case strings.IndexByte(text, ':') >= 0:
			head, tail := splitAt(text, ':')
			key := cTrim(head, true)
			if key == "" {
				return fail(msgEmptyKey)
			}
			if len(path)+len(key)+1 >= maxKeyLen {
				return fail(msgLongKey)
			}
			top.Items = append(top.Items, Item{Key: key, Value: cTrim(tail, false), Line: line})
		case strings.IndexByte(text, '}') >= 0:
			if cTrim(text, false) != "}" {
				return fail(msgAtClose)
			}
			if len(stack) == 1 {
				return fail(msgUnexClose)
			}
			top.End = line
			stack = stack[:len(stack)-1]
			paths = paths[:len(paths)-1]
		default:
			return fail(msgBadLine)
		}
	}
	if len(stack) > 1 {
		return fail(msgNoClose)
	}
	return root, nil
}

// cutLine splits off the first line of src (without its '\n').
func cutLine(src []byte) (line, rest []byte, newline bool) {
	if i := bytes.IndexByte(src, '\n'); i >= 0 {
		return src[:i], src[i+1:], true
	}
	return src, nil, false
}

// fgetsLine returns the text corosync sees for one physical line, or false
// when corosync reports "Line too long". fgets stops after 511 bytes, and
// corosync then finds no '\n' at the end of what it read. A NUL byte makes
// strlen stop early: at the start of a line the line reads as empty;
// elsewhere the missing '\n' is again reported as too long, unless the line
// is the last one and has no '\n' (fgets then hit end of file).
// newline is true when the line was terminated by '\n', i.e. when feof
// would still be false after reading it.
func fgetsLine(raw []byte, newline bool) (string, bool) {
	if len(raw) > maxLineLen {
		return "", false
	}
	if i := bytes.IndexByte(raw, 0); i >= 0 {
		if i > 0 && newline {
			return "", false
		}
		raw = raw[:i]
	}
	if n := len(raw); n > 0 && raw[n-1] == '\r' {
		raw = raw[:n-1]
	}
	return string(raw), true
}

// isBlank reports the characters corosync treats as blanks: space, tab and
// the Latin-1 no-break space 0xA0 (a single byte, as in the C code).
func isBlank(c byte) bool { return c == ' ' || c == '\t' || c == 0xA0 }

// trimRight drops trailing blanks.
func trimRight(s string) string {
	for len(s) > 0 && isBlank(s[len(s)-1]) {
		s = s[:len(s)-1]
	}
	return s
}

// isBlankOrComment reports a line that is empty or whose first non-blank
// character is '#'. A '#' anywhere else is ordinary text.
func isBlankOrComment(s string) bool {
	for i := 0; i < len(s); i++ {
		if !isBlank(s[i]) {
			return s[i] == '#'
		}
	}
	return true
}

// splitAt reproduces how corosync cuts a line at the first c: the head runs
// up to, but not including, the last blank after c (or up to c itself when
// no blank follows), and the tail starts at the first non-blank after c. So
// the head keeps c when blanks follow it, which cTrim(head, true) then drops.
func splitAt(s string, c byte) (head, tail string) {
	i := strings.IndexByte(s, c)
	j := i + 1
	for j < len(s) && isBlank(s[j]) {
		j++
	}
	return s[:j-1], s[j:]
}

// cTrim is corosync's remove_whitespace: it drops leading blanks, then
// trailing blanks (and, with colonBrace, trailing ':' and '{'), but never
// the first remaining character, so ":" and "{" survive on their own.
func cTrim(s string, colonBrace bool) string {
	i := 0
	for i < len(s) && isBlank(s[i]) {
		i++
	}
	s = s[i:]
	end := len(s) - 1
	for end > 0 && (isBlank(s[end]) || colonBrace && (s[end] == ':' || s[end] == '{')) {
		end--
	}
	return s[:end+1]
}

// joinPath appends a name to a dotted cmap path.
func joinPath(path, name string) string {
	if path == "" {
		return name
	}
	return path + "." + name
}

// Format writes the tree back as corosync.conf text in Proxmox's layout:
// two-space indentation and a blank line after every top-level section.
// Items and subsections are written in line order (items first when lines
// are unknown). ParseTree(Format(s)) gives back the same names, keys and
// values; Format does not check that they are writable (a value containing
// '{' or a newline cannot be).
func (s *Section) Format() []byte {
	var b bytes.Buffer
	s.writeBody(&b, 0)
	return b.Bytes()
}

func (s *Section) writeBody(b *bytes.Buffer, depth int) {
	indent := strings.Repeat("  ", depth)
	i, j := 0, 0
	for i < len(s.Items) || j < len(s.Sections) {
		if j == len(s.Sections) || (i < len(s.Items) && s.Items[i].Line <= s.Sections[j].Line) {
			it := s.Items[i]
			switch {
			case it.Key == ":": // only "': value'" reads back as key ":"
				writeLine(b, indent, ": "+it.Value, ": "+it.Value)
			case it.Value == "":
				writeLine(b, indent, it.Key+":", it.Key+":")
			default:
				writeLine(b, indent, it.Key+": "+it.Value, it.Key+":"+it.Value)
			}
			i++
			continue
		}
		sub := s.Sections[j]
		writeLine(b, indent, sub.Name+" {", sub.Name+"{")
		sub.writeBody(b, depth+1)
		b.WriteString(indent + "}\n")
		if depth == 0 {
			b.WriteByte('\n')
		}
		j++
	}
}

// writeLine writes the first form of a line that fits corosync's 510-byte
// limit: indented, then unindented, then the compact form (no blank after
// ':' or before '{'), which is never longer than the line it was read from.
// A line ending in '\r' gets a second '\r', because the reader drops one.
func writeLine(b *bytes.Buffer, indent, text, compact string) {
	extra := 0
	if strings.HasSuffix(text, "\r") {
		extra = 1
	}
	line := indent + text
	switch {
	case len(line)+extra <= maxLineLen:
	case len(text)+extra <= maxLineLen:
		line = text
	default:
		line = compact
	}
	b.WriteString(line)
	if extra == 1 {
		b.WriteByte('\r')
	}
	b.WriteByte('\n')
}
