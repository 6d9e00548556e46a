package agent

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"time"

	"github.com/quorate/quorate/engine/wire"
	"github.com/quorate/quorate/scenarios/corosyncconf"
	"github.com/quorate/quorate/scenarios/journal"
)

// DefaultJournalMax is the size at which the journal is rotated to
// <path>.1 (replacing an older .1): two files of at most this size are
// kept. A record is a few hundred bytes, so this holds some 50 000 events.
const DefaultJournalMax = 16 << 20

// journalFile name inside the data directory when Options.Journal is empty.
const journalFile = "journal.jsonl"

// recorder is the agent's flight recorder: one JSON record per line
// (package scenarios/journal defines the format), appended for the events
// an operator reconstructs an incident from: start, link up and down,
// active link, membership, quorum, stop.
//
// Each record goes out in one write(2) on a file opened with O_APPEND, so
// a kill -9 loses at most the record being written, and a reader finds at
// most one torn line, at the end or just before the next start record.
// Nothing is fsynced: the page cache survives the death of the process,
// which is what the recorder is for, and only a crash of the whole
// machine loses the last records; a sync per record would put a disk
// flush on the loop's path for every link flap, when the loop must answer
// the token within milliseconds. A write that fails is logged once and
// the agent runs on: the recorder reports on the cluster and must never
// take it down.
type recorder struct {
	path  string
	max   int64
	f     *os.File
	size  int64
	base  journal.Record // cluster, node, node_id
	log   *slog.Logger
	start time.Time // the loop's monotonic origin
	wrote bool      // a write failure has been logged
	last  *quorumSnap
}

// quorumSnap is what a quorum record reports; a record is written when it
// changes.
type quorumSnap struct {
	quorate                   bool
	total, expected, quorumAt int
}

// openRecorder opens (creating) the journal at path for appending. A file
// left by a killed agent may end in the middle of a record: the record
// written next starts on a new line, so that only the fragment is lost.
func openRecorder(path string, max int64, base journal.Record, start time.Time, log *slog.Logger) (*recorder, error) {
	r := &recorder{path: path, max: max, base: base, start: start, log: log}
	if r.max <= 0 {
		r.max = DefaultJournalMax
	}
	if err := r.open(); err != nil {
		return nil, err
	}
	if r.size > 0 {
		last := make([]byte, 1)
		if rf, err := os.Open(path); err == nil {
			_, err = rf.ReadAt(last, r.size-1)
			rf.Close()
			if err == nil && last[0] != '\n' {
				if _, err := r.f.Write([]byte("\n")); err == nil {
					r.size++
				}
			}
		}
	}
	return r, nil
}

func (r *recorder) open() error {
	f, err := os.OpenFile(r.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
	if err != nil {
		return fmt.Errorf("agent: journal: %w", err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("agent: journal: %w", err)
	}
	r.f, r.size = f, st.Size()
	return nil
}

// rotate moves the journal to <path>.1 and starts a new file.
func (r *recorder) rotate() error {
	r.f.Close()
	r.f = nil
	if err := os.Rename(r.path, r.path+".1"); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return err
	}
	return r.open()
}

// write appends rec, stamped with the wall clock and the monotonic
// instant, as one line in one write.
func (r *recorder) write(rec journal.Record) {
	if r == nil {
		return
	}
	now := time.Now()
	rec.Time = now
	rec.Mono = int64(now.Sub(r.start))
	rec.Cluster, rec.Node, rec.NodeID = r.base.Cluster, r.base.Node, r.base.NodeID
	b, err := json.Marshal(rec)
	if err == nil {
		b = append(b, '\n')
		if r.f == nil || (r.size > 0 && r.size+int64(len(b)) > r.max) {
			err = r.rotate()
		}
	}
	if err == nil {
		var n int
		n, err = r.f.Write(b)
		r.size += int64(n)
		if err == nil && n < len(b) {
			err = io.ErrShortWrite
		}
	}
	if err != nil && !r.wrote {
		r.wrote = true
		r.log.Error("journal write failed; the agent runs on without its flight recorder until a write succeeds",
			"journal", r.path, "err", err)
	} else if err == nil {
		r.wrote = false
	}
}

// close closes the file.
func (r *recorder) close() {
	if r != nil && r.f != nil {
		r.f.Close()
	}
}

// event records one engine event of the kinds the journal keeps.
func (r *recorder) event(cl *cluster, e wire.Event) {
	if r == nil {
		return
	}
	rec := journal.Record{}
	if e.Peer != 0 {
		rec.Peer, rec.PeerID = cl.nameOf(e.Peer), uint32(e.Peer)
	}
	switch e.Kind {
	case wire.EventLinkUp, wire.EventLinkDown:
		rec.Kind = journal.KindLinkDown
		if e.Kind == wire.EventLinkUp {
			rec.Kind = journal.KindLinkUp
		}
		l := int(e.Link)
		rec.Link = &l
	case wire.EventActiveLink:
		rec.Kind = journal.KindActiveLink
		a := int(e.Active)
		if e.Active == wire.NoLink {
			a = -1
		}
		rec.Active = &a
	case wire.EventMembership:
		rec.Kind = journal.KindMembership
		rec.Peer, rec.PeerID = "", 0
		if !e.Ring.IsZero() {
			rec.Ring = e.Ring.String()
		}
		for _, id := range e.Nodes {
			rec.Members = append(rec.Members, cl.nameOf(id))
		}
	default:
		return
	}
	r.write(rec)
}

// quorum records votequorum's numbers when they changed since the last
// record.
func (r *recorder) quorum(quorate bool, total, expected, quorumAt int) {
	if r == nil {
		return
	}
	s := quorumSnap{quorate, total, expected, quorumAt}
	if r.last != nil && *r.last == s {
		return
	}
	r.last = &s
	r.write(journal.Record{Kind: journal.KindQuorum, Quorate: &s.quorate, TotalVotes: &s.total,
		ExpectedVotes: &s.expected, Quorum: &s.quorumAt})
}

// journalConfig summarises the corosync.conf for the start record.
func journalConfig(c *corosyncconf.Config, cl *cluster) *journal.Config {
	return journal.ConfigOf(c, func(n *corosyncconf.Node) string { return cl.nameOf(wire.NodeID(n.NodeID)) })
}
