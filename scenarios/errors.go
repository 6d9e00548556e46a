package scenarios

import (
	"errors"
	"fmt"
	"io/fs"
	"sort"
	"strings"
)

// maxErrors is how many errors Parse reports before it gives up; one typo can
// cascade, and a wall of messages hides the first, most useful one.
const maxErrors = 20

// Error is one problem in a scenario file: where it is, which field (a path
// such as "faults[2].at" or "cluster.nodes[0].name"; empty when the problem
// is not about one field) and what is wrong.
type Error struct {
	Pos   Position
	Field string
	Msg   string
}

// Error formats the problem as "file:line:col: field: message".
func (e *Error) Error() string {
	var b strings.Builder
	b.WriteString(e.Pos.String())
	b.WriteString(": ")
	if e.Field != "" {
		b.WriteString(e.Field)
		b.WriteString(": ")
	}
	b.WriteString(e.Msg)
	return b.String()
}

// ErrorList is every problem found in one scenario file, sorted by position.
// Parse returns one (never empty) when the file is not a valid scenario.
type ErrorList []*Error

// Error prints the errors one per line, in file order.
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

// sortErrors orders errors by line, then column; errors without a line come
// first, and equal positions keep the order they were found in.
func sortErrors(l ErrorList) {
	sort.SliceStable(l, func(i, j int) bool {
		a, b := l[i].Pos, l[j].Pos
		if a.Line != b.Line {
			return a.Line < b.Line
		}
		return a.Col < b.Col
	})
}

// IsInputError reports whether err is the user's fault: a malformed or
// invalid scenario (*Error, ErrorList) or a scenario file that cannot be read.
// The command line maps these to exit code 2.
func IsInputError(err error) bool {
	if err == nil {
		return false
	}
	var e *Error
	var l ErrorList
	var pe *fs.PathError
	return errors.As(err, &e) || errors.As(err, &l) || errors.As(err, &pe)
}

// collector gathers errors while a file is checked. It keeps at most
// maxErrors of them; err() sorts them and notes how many were left out.
type collector struct {
	file    string
	list    ErrorList
	dropped int
	seen    map[string]bool // field+message, so a cascade reports once
}

func (c *collector) add(pos Position, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	key := fmt.Sprintf("%d:%d:%s:%s", pos.Line, pos.Col, field, msg)
	if c.seen == nil {
		c.seen = map[string]bool{}
	}
	if c.seen[key] {
		return
	}
	c.seen[key] = true
	if pos.File == "" {
		pos.File = c.file
	}
	if len(c.list) >= maxErrors {
		c.dropped++
		return
	}
	c.list = append(c.list, &Error{Pos: pos, Field: field, Msg: msg})
}

func (c *collector) full() bool { return len(c.list) >= maxErrors }

func (c *collector) err() error {
	if len(c.list) == 0 {
		return nil
	}
	l := append(ErrorList(nil), c.list...)
	sortErrors(l)
	// Errors in a file the scenario includes (its corosync.conf) come
	// first: the scenario's own errors may follow from them.
	sort.SliceStable(l, func(i, j int) bool {
		return l[i].Pos.File != c.file && l[j].Pos.File == c.file
	})
	if c.dropped > 0 {
		l = append(l, &Error{
			Pos: l[len(l)-1].Pos,
			Msg: fmt.Sprintf("too many errors; %d more not shown", c.dropped),
		})
	}
	return l
}

// suggest returns ` (did you mean "x"?)` when one of the allowed words is
// close to the unknown one (a third of its letters changed at most, or the
// unknown word is a prefix of it), else "".
func suggest(word string, allowed []string) string {
	best, bestD := "", max(1, len(word)/3)+1
	for _, a := range allowed {
		if d := editDistance(strings.ToLower(word), a); d < bestD {
			best, bestD = a, d
		}
	}
	if best == "" && len(word) >= 4 {
		for _, a := range allowed {
			if strings.HasPrefix(a, word) {
				return fmt.Sprintf(" (did you mean %q?)", a)
			}
		}
	}
	if best == "" {
		return ""
	}
	return fmt.Sprintf(" (did you mean %q?)", best)
}

// editDistance is the Levenshtein distance between two short words.
func editDistance(a, b string) int {
	if len(a) > 64 || len(b) > 64 {
		return 99
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}
