package journal

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
)

// ErrInput is wrapped by every error about the journals themselves (not a
// journal, a corrupt line, mixed clusters): the command exits 2 for them.
var ErrInput = errors.New("journal: bad input")

// Error is a problem at a place in a journal.
type Error struct {
	File string
	Line int // 1-based; 0 for the whole file
	Msg  string
}

func (e *Error) Error() string {
	if e.Line == 0 {
		return e.File + ": " + e.Msg
	}
	return fmt.Sprintf("%s:%d: %s", e.File, e.Line, e.Msg)
}

// Unwrap makes every *Error an ErrInput.
func (e *Error) Unwrap() error { return ErrInput }

func errAt(file string, line int, format string, args ...any) error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Entry is a record with the place it was read from.
type Entry struct {
	Record
	File string
	Line int
}

// Journal is one file's records, in file order.
type Journal struct {
	File    string
	Entries []Entry
	// Torn counts the lines skipped as torn: the line a killed agent was
	// writing, left without its end.
	Torn int
}

// ReadFile reads one journal file. See Parse.
func ReadFile(path string) (*Journal, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	return Parse(path, b)
}

// Parse reads the records of one journal file, named file in errors.
//
// A line that is not a record is tolerated in the two places where a
// killed agent leaves one: at the end of the file, and just before a start
// record (the agent started again and appended after the fragment). Any
// other bad line, a file whose lines are not records at all, or records of
// two different nodes in one file are errors at file:line.
func Parse(file string, src []byte) (*Journal, error) {
	j := &Journal{File: file}
	lines := bytes.Split(src, []byte("\n"))
	if n := len(lines); n > 0 && len(lines[n-1]) == 0 {
		lines = lines[:n-1]
	}
	var torn []int // line numbers of bad lines waiting for a start record
	var first error
	for i, line := range lines {
		n := i + 1
		rec, err := parseLine(line)
		if err != nil {
			if first == nil && len(j.Entries) == 0 && len(torn) == 0 {
				first = errAt(file, n, "not a quorate journal: %v", err)
			}
			torn = append(torn, n)
			continue
		}
		if len(torn) > 0 {
			if rec.Kind != KindStart || len(torn) > 1 {
				if len(j.Entries) == 0 && first != nil {
					return nil, first
				}
				return nil, errAt(file, torn[0], "corrupt line in the middle of the journal (only the last line, or the line before an agent start, may be torn)")
			}
			j.Torn++
			torn = nil
		}
		if len(j.Entries) > 0 {
			if p := j.Entries[0]; rec.Node != p.Node || rec.NodeID != p.NodeID {
				return nil, errAt(file, n, "record of node %s (%d) in the journal of node %s (%d) at line %d",
					rec.Node, rec.NodeID, p.Node, p.NodeID, p.Line)
			}
		}
		j.Entries = append(j.Entries, Entry{Record: rec, File: file, Line: n})
	}
	switch {
	case len(j.Entries) == 0 && first != nil:
		return nil, first
	case len(j.Entries) == 0:
		return nil, errAt(file, 0, "empty journal: no records")
	case len(torn) > 1:
		return nil, errAt(file, torn[0], "corrupt line in the middle of the journal (only the last line, or the line before an agent start, may be torn)")
	}
	j.Torn += len(torn)
	return j, nil
}

// parseLine decodes and checks one record.
func parseLine(line []byte) (Record, error) {
	var r Record
	if err := json.Unmarshal(line, &r); err != nil {
		return r, fmt.Errorf("not a JSON record: %v", err)
	}
	switch {
	case !r.Kind.valid():
		return r, fmt.Errorf("unknown record kind %q", r.Kind)
	case r.Time.IsZero():
		return r, errors.New("record without a time")
	case r.Node == "" || r.NodeID == 0:
		return r, errors.New("record without node and node_id")
	case (r.Kind == KindStart || r.Kind == KindConfig) && r.Config == nil:
		return r, fmt.Errorf("%s record without config", r.Kind)
	case (r.Kind == KindStart || r.Kind == KindConfig) && r.Config.Format != FormatVersion:
		return r, fmt.Errorf("journal format %d, this build reads %d", r.Config.Format, FormatVersion)
	case (r.Kind == KindLinkUp || r.Kind == KindLinkDown) && (r.Peer == "" || r.Link == nil):
		return r, fmt.Errorf("%s record without peer and link", r.Kind)
	case r.Kind == KindActiveLink && (r.Peer == "" || r.Active == nil):
		return r, errors.New("active_link record without peer and active")
	case r.Kind == KindMembership && len(r.Members) == 0:
		return r, errors.New("membership record without members")
	case r.Kind == KindQuorum && r.Quorate == nil:
		return r, errors.New("quorum record without quorate")
	}
	return r, nil
}
