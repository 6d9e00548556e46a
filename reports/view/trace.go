package view

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
)

// Event is one trace.jsonl line of a kind the reports use. Times are in
// simulated milliseconds; the integer nanoseconds of the trace are
// converted once here.
type Event struct {
	TMs    float64
	Kind   string
	Node   string
	Peer   string
	Link   int
	Active int
	Action string // fault
	Detail string
	Nodes  string // membership: the members, comma separated
	Op     string // kv: read | read_local | write | cas
	OpID   uint64 // kv, kv_done, kv_timeout; 0: none (refused or local)
	OK     bool   // kv_done
	// Refused is set on a kv call refused at once (no quorum).
	Refused string
}

// Trace is the part of a trace.jsonl the reports draw.
type Trace struct {
	Events []Event
	EndMs  float64 // the end line's time, or the last event's
	Nodes  []string
}

// used lists the kinds kept; packet-level lines (send, recv, drop,
// deliver, totem) are most of a trace and are skipped before decoding.
var used = map[string]bool{
	"header": true, "boot": true, "down": true, "membership": true, "quorum": true,
	"link_up": true, "link_down": true, "active_link": true, "fault": true,
	"kv": true, "kv_done": true, "kv_timeout": true, "end": true,
}

type traceLine struct {
	T       *int64  `json:"t"`
	K       string  `json:"k"`
	Node    string  `json:"node"`
	Peer    any     `json:"peer"` // a name, or a number for an unknown peer
	Link    int     `json:"link"`
	Active  int     `json:"active"`
	Action  string  `json:"action"`
	Detail  string  `json:"detail"`
	Nodes   string  `json:"nodes"`
	Op      string  `json:"op"`
	OpID    uint64  `json:"op_id"`
	OK      bool    `json:"ok"`
	Refused string  `json:"refused"`
	Format  float64 `json:"format"`
}

// ReadTrace reads a trace.jsonl. name is the file's name for errors,
// which say file:line.
func ReadTrace(r io.Reader, name string) (*Trace, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<16), 64<<20)
	tr := &Trace{}
	seen := map[string]bool{}
	line := 0
	for sc.Scan() {
		line++
		b := sc.Bytes()
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		if k := kindOf(b); k != "" && !used[k] {
			continue
		}
		var l traceLine
		if err := json.Unmarshal(b, &l); err != nil {
			return nil, fmt.Errorf("%s:%d: not a trace line: %v", name, line, err)
		}
		if l.T == nil || l.K == "" {
			return nil, fmt.Errorf("%s:%d: a trace line needs \"t\" and \"k\"", name, line)
		}
		if line == 1 && l.K != "header" {
			return nil, fmt.Errorf("%s:1: a trace starts with a header line, not %q", name, l.K)
		}
		t := float64(*l.T) / 1e6
		if !used[l.K] {
			continue
		}
		switch l.K {
		case "header":
			continue
		case "end":
			tr.EndMs = t
			continue
		}
		e := Event{TMs: t, Kind: l.K, Node: l.Node, Link: l.Link, Active: l.Active, Action: l.Action,
			Detail: l.Detail, Nodes: l.Nodes, Op: l.Op, OpID: l.OpID, OK: l.OK, Refused: l.Refused}
		if s, ok := l.Peer.(string); ok {
			e.Peer = s
		} else if l.Peer != nil {
			e.Peer = fmt.Sprint(l.Peer)
		}
		if e.Node != "" && !seen[e.Node] && (l.K == "boot" || l.K == "down" || l.K == "membership" || l.K == "quorum") {
			seen[e.Node] = true
			tr.Nodes = append(tr.Nodes, e.Node)
		}
		tr.Events = append(tr.Events, e)
		if t > tr.EndMs {
			tr.EndMs = t
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s:%d: %w", name, line+1, err)
	}
	if line == 0 {
		return nil, fmt.Errorf("%s: empty trace", name)
	}
	return tr, nil
}

// kindOf finds the "k" of a line without decoding it: every trace line
// starts {"t":N,"k":"...". It returns "" when the line does not look so,
// and the line is then decoded in full (and rejected if it is bad).
func kindOf(b []byte) string {
	i := bytes.Index(b, []byte(`,"k":"`))
	if i < 0 || i > 32 {
		return ""
	}
	rest := b[i+6:]
	j := bytes.IndexByte(rest, '"')
	if j < 0 {
		return ""
	}
	return string(rest[:j])
}
