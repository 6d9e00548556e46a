package sim

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"

	"github.com/quorate/quorate/reports"
	"github.com/quorate/quorate/scenarios"
)

// Replay is the outcome of re-running a recorded trace.
type Replay struct {
	Result       *reports.Result
	RecordedHash string
	Match        bool
	// Divergence describes the first line that differs, when one does.
	Divergence string
	Lines      uint64
}

// ErrBadTrace marks a trace file that cannot be replayed (input error).
var ErrBadTrace = errors.New("sim: not a replayable trace")

type traceHeader struct {
	K        string `json:"k"`
	Format   int    `json:"format"`
	Scenario string `json:"scenario"`
	Seed     uint64 `json:"seed"`
	File     string `json:"file"`
	Source   string `json:"source"`
	Conf     string `json:"corosync_conf"`
}

type traceEnd struct {
	K      string `json:"k"`
	Lines  uint64 `json:"lines"`
	SHA256 string `json:"sha256"`
}

// ReplayFile re-runs the trace at path from the scenario and seed embedded
// in its header, and compares the new trace with the recorded one line by
// line. A replay that does not match is not an error; an unreadable trace is.
func ReplayFile(path string) (*Replay, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrBadTrace, err)
	}
	defer f.Close()
	return ReplayReader(path, f)
}

// ReplayReader is ReplayFile over an open trace; name is used in messages.
func ReplayReader(name string, rd io.Reader) (*Replay, error) {
	sc := bufio.NewScanner(rd)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	if !sc.Scan() {
		return nil, fmt.Errorf("%w: %s: empty file", ErrBadTrace, name)
	}
	var h traceHeader
	if err := json.Unmarshal(sc.Bytes(), &h); err != nil || h.K != "header" {
		return nil, fmt.Errorf("%w: %s:1: first line is not a trace header", ErrBadTrace, name)
	}
	if h.Format != TraceFormat {
		// The trace carries its scenario: say how to record it again.
		return nil, fmt.Errorf("%w: %s:1: trace format %d, this build reads format %d; its header holds the scenario (%s, the \"source\" key) and seed %d: record it again with quorate run FILE --seed %d --out DIR",
			ErrBadTrace, name, h.Format, TraceFormat, h.File, h.Seed, h.Seed)
	}
	// A corosync.conf the scenario named comes from the trace, not the disk.
	scen, err := scenarios.ParseWith(h.File, []byte(h.Source), func(string) ([]byte, error) { return []byte(h.Conf), nil })
	if err != nil {
		return nil, fmt.Errorf("%w: %s: embedded scenario: %w", ErrBadTrace, name, err)
	}
	rp := &Replay{}
	var line uint64 = 1
	pending := append(append([]byte(nil), sc.Bytes()...), '\n')
	// next returns the next recorded line and whether it is the end line.
	next := func() (b []byte, isEnd, ok bool) {
		if pending != nil {
			b, pending = pending, nil
		} else {
			if !sc.Scan() {
				return nil, false, false
			}
			line++
			b = append(sc.Bytes(), '\n')
		}
		return b, bytes.HasPrefix(b, []byte(`{"t":`)) && bytes.Contains(b, []byte(`,"k":"end",`)), true
	}
	var endLine []byte
	verify := func(got []byte) {
		rp.Lines++
		if rp.Divergence != "" {
			return
		}
		want, isEnd, ok := next()
		switch {
		case !ok:
			rp.Divergence = fmt.Sprintf("line %d: the recorded trace is cut short here", line+1)
		case isEnd:
			endLine = want
			rp.Divergence = fmt.Sprintf("line %d: the recorded trace ends here; the replay goes on with %s", line, bytes.TrimSpace(got))
		case !bytes.Equal(want, got):
			rp.Divergence = fmt.Sprintf("line %d differs:\n  recorded: %s\n  replayed: %s", line, bytes.TrimSpace(want), bytes.TrimSpace(got))
		}
	}
	res, err := Run(scen, Options{Seed: h.Seed, SeedSet: true, verify: verify})
	if err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadTrace, name, err)
	}
	rp.Result = res
	for endLine == nil {
		b, isEnd, ok := next()
		if !ok {
			break
		}
		if isEnd {
			endLine = b
		} else if rp.Divergence == "" {
			rp.Divergence = fmt.Sprintf("line %d: the replay ends here; the recorded trace goes on with %s", line, bytes.TrimSpace(b))
		}
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %s: %w", ErrBadTrace, name, err)
	}
	var end traceEnd
	if endLine == nil || json.Unmarshal(endLine, &end) != nil || end.K != "end" {
		return nil, fmt.Errorf("%w: %s: no end line with the recorded hash (truncated trace?)", ErrBadTrace, name)
	}
	rp.RecordedHash = end.SHA256
	rp.Match = end.SHA256 == res.TraceSHA256 && rp.Divergence == ""
	return rp, nil
}
