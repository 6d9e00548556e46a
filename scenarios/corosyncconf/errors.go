package corosyncconf

import (
	"errors"
	"fmt"
	"sort"
	"strings"
)

// Sentinel errors. Every *Error unwraps to exactly one of them, so callers can
// tell a file corosync's parser rejects (ErrSyntax) from one it parses but
// refuses to run (ErrInvalid) with errors.Is, also through an ErrorList.
var (
	// ErrSyntax marks problems corosync's parser (exec/coroparse.c) reports
	// as "parser error: file:line: ...": the grammar of §1 and the values it
	// type-checks while reading (integers, ip_version, crypto names, ...).
	ErrSyntax = errors.New("corosyncconf: syntax error")
	// ErrInvalid marks a file that parses but that corosync, votequorum or
	// corosync-qdevice refuses at startup (exec/totemconfig.c,
	// exec/votequorum.c, qdevices/*.c), plus the few stricter checks this
	// package adds (see doc.go).
	ErrInvalid = errors.New("corosyncconf: invalid configuration")
)

// Error is one problem in a corosync.conf, or a warning about a value that
// corosync accepts but ignores or adjusts.
//
// Msg carries corosync's own wording where corosync has one, including its
// prefix ("parse error in config: ", "configuration error: "), so a
// message can be grepped for in corosync's sources and logs.
type Error struct {
	File   string // the name given to Parse, ParseTree or Load
	Line   int    // 1-based; 0 when the problem is not about one line
	Key    string // cmap-style key it concerns ("totem.token"); "" if none
	Msg    string
	Syntax bool // reported by corosync's parser; Error() then uses its format
}

// Error formats the problem the way corosync does for parser errors,
// "parser error: file:line: message", and as "file:line: message" (or
// "file: message" without a line) otherwise.
func (e *Error) Error() string {
	if e.Syntax {
		return fmt.Sprintf("parser error: %s:%d: %s", e.File, e.Line, e.Msg)
	}
	if e.Line > 0 {
		return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
	}
	return fmt.Sprintf("%s: %s", e.File, e.Msg)
}

// Unwrap returns ErrSyntax or ErrInvalid.
func (e *Error) Unwrap() error {
	if e.Syntax {
		return ErrSyntax
	}
	return ErrInvalid
}

// ErrorList is every problem found in one file, sorted by line (problems
// without a line first; equal lines keep the order they were found in).
// Parse, ParseTree and Load return one, never empty, when the file is bad.
type ErrorList []*Error

// Error prints the errors one per line.
func (l ErrorList) Error() string {
	parts := make([]string, len(l))
	for i, e := range l {
		parts[i] = e.Error()
	}
	return strings.Join(parts, "\n")
}

// Unwrap gives errors.Is and errors.As access to each *Error.
func (l ErrorList) Unwrap() []error {
	errs := make([]error, len(l))
	for i, e := range l {
		errs[i] = e
	}
	return errs
}

func sortErrors(l []*Error) {
	sort.SliceStable(l, func(i, j int) bool { return l[i].Line < l[j].Line })
}

// Prefixes corosync puts in front of its startup errors.
const (
	prefixTotem  = "parse error in config: "  // exec/totemconfig.c
	prefixQuorum = "configuration error: "    // exec/votequorum.c
	msgLongLine  = "Line too long"            // coroparse.c parse_section
	msgNoClose   = "Missing closing brace"    // coroparse.c parse_section
	msgUnexClose = "Unexpected closing brace" // coroparse.c parse_section
	msgEmptyKey  = "Key name can't be empty"  // coroparse.c parse_section
	msgBadLine   = "Line is not opening or closing section or key value"
	msgNoName    = "Missing section name before opening bracket '{'"
	msgAfterOpen = "Extra characters after opening bracket '{'"
	msgAtClose   = "Extra characters before or after closing bracket '}'"
	msgLongSect  = "Start of section makes total cmap path too long"
	msgLongKey   = "New key makes total cmap path too long"
)

// problems collects errors and warnings while a file is checked.
type problems struct {
	file     string
	errs     []*Error
	warnings []*Error
}

// syntax records a parser error (corosync's "parser error: file:line:").
func (p *problems) syntax(line int, key, msg string) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Msg: msg, Syntax: true})
}

// invalid records a startup error.
func (p *problems) invalid(line int, key, format string, args ...any) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Msg: sprintf(format, args...)})
}

// warn records something corosync accepts but ignores, adjusts or only logs.
func (p *problems) warn(line int, key, format string, args ...any) {
	p.warnings = append(p.warnings, &Error{File: p.file, Line: line, Key: key, Msg: sprintf(format, args...)})
}

// result returns the sorted errors as an ErrorList, or nil when there are none.
func (p *problems) result() error {
	if len(p.errs) == 0 {
		return nil
	}
	l := append(ErrorList(nil), p.errs...)
	sortErrors(l)
	return l
}

// sprintf formats only when there are arguments, so messages containing '%'
// (such as the token_warning one) can be passed through unchanged.
func sprintf(format string, args ...any) string {
	if len(args) == 0 {
		return format
	}
	return fmt.Sprintf(format, args...)
}

// fail records a startup error whose message is already complete.
func (p *problems) fail(line int, key, msg string) {
	p.errs = append(p.errs, &Error{File: p.file, Line: line, Key: key, Msg: msg})
}
