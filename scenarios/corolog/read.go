package corolog

import (
	"bytes"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/quorate/quorate/scenarios/journal"
)

// ErrInput is wrapped by every error about the logs or the configuration
// given with them: the command exits 2 for them. It is the journal
// importer's, since both readers feed the same import.
var ErrInput = journal.ErrInput

// Error is a problem at a place in a log (file and 1-based line, 0 for
// the whole file); every *Error is an ErrInput.
type Error = journal.Error

func errAt(file string, line int, format string, args ...any) error {
	return &Error{File: file, Line: line, Msg: fmt.Sprintf(format, args...)}
}

// Log is the corosync and pmxcfs lines of one file, classified, in file
// order.
type Log struct {
	File   string
	Events []Event
	// Formats counts the lines of each shape; a file normally has one.
	Formats map[Format]int
	// Skipped counts lines of no known shape (continuations, other
	// programs' multi-line output) in the middle of the file.
	Skipped int
}

// Options says how to read timestamps that lack a year or a zone.
type Options struct {
	// Year is given to timestamps without one (syslog, journalctl -o
	// short, corosync's logfile); the year steps on at a
	// December-to-January step in one file.
	Year int
	// Location is the zone of timestamps without one; nil is UTC.
	Location *time.Location
}

// ReadFile reads one log file. See Parse.
func ReadFile(path string, o Options) (*Log, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInput, err)
	}
	return Parse(path, b, o)
}

// Parse reads the corosync and pmxcfs lines of one file, in any of the
// formats of Format, and classifies them. A file without one corosync or
// pmxcfs line is not a Corosync log: an error at its first line.
func Parse(file string, data []byte, o Options) (*Log, error) {
	loc := o.Location
	if loc == nil {
		loc = time.UTC
	}
	year := o.Year
	if year == 0 {
		year = 1970
	}
	lg := &Log{File: file, Formats: map[Format]int{}}
	var prev time.Time
	firstText := 0
	for i, raw := range bytes.Split(data, []byte("\n")) {
		s := strings.TrimRight(string(raw), "\r")
		if strings.TrimSpace(s) == "" {
			continue
		}
		if firstText == 0 {
			firstText = i + 1
		}
		if strings.HasPrefix(s, "-- ") {
			continue // journalctl: "-- Boot 1a2b... --", "-- No entries --"
		}
		l, keep, ok := parseLine(s, year, loc)
		if !ok {
			lg.Skipped++
			continue
		}
		if l.Format != FormatISO && !prev.IsZero() && prev.Sub(l.Time) > 180*24*time.Hour {
			// December to January: a new year.
			year++
			l.Time = l.Time.AddDate(1, 0, 0)
		}
		prev = l.Time
		lg.Formats[l.Format]++
		if !keep {
			continue
		}
		l.File, l.Num = file, i+1
		lg.Events = append(lg.Events, Classify(l))
	}
	if len(lg.Events) == 0 {
		if firstText == 0 {
			return nil, errAt(file, 0, "empty: not a Corosync log")
		}
		return nil, errAt(file, firstText, "not a Corosync log: no line of corosync or pmxcfs in the shape of corosync's logfile, "+
			"syslog or journalctl -o short/short-precise/short-iso (supply /var/log/corosync/corosync.log, or the output of "+
			"journalctl -u corosync -u pve-cluster -o short-precise)")
	}
	return lg, nil
}
