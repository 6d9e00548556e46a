package corolog

import (
	"strconv"
	"strings"
	"time"
)

// Format is the shape of a log line's timestamp and prefix.
type Format int

// The formats Parse recognises.
const (
	FormatUnknown       Format = iota
	FormatLogfile              // corosync's logfile: "Dec 06 19:07:41 [812] host corosync notice  [TOTEM ] ..."
	FormatLogfileHires         // the same with `timestamp: hires`: "Dec 06 19:07:41.133 ..."
	FormatSyslog               // "Dec  6 19:07:41 host corosync[812]:   [TOTEM ] ..." (syslog and journalctl -o short)
	FormatSyslogPrecise        // "Dec 06 19:07:41.133456 host corosync[812]: ..." (journalctl -o short-precise)
	FormatISO                  // "2026-12-06T19:07:41+0000 host ..." (journalctl -o short-iso[-precise], rsyslog RFC 3339)
)

var formatNames = [...]string{"unknown", "corosync logfile", "corosync logfile (hires)", "syslog / journalctl -o short",
	"journalctl -o short-precise", "journalctl -o short-iso / RFC 3339 syslog"}

func (f Format) String() string {
	if int(f) < len(formatNames) {
		return formatNames[f]
	}
	return "format(" + strconv.Itoa(int(f)) + ")"
}

// Line is one parsed log line.
type Line struct {
	File string
	Num  int // 1-based line number in File
	// Time is the line's wall clock as written; a format without a year
	// takes the one Parse is given (and the next at a December-to-January
	// step), one without a zone the location Parse is given.
	Time   time.Time
	Format Format
	// Coarse is true when the timestamp counts whole seconds.
	Coarse bool
	Host   string // the hostname field; corosync writes its own into the logfile too
	Prog   string // "corosync" or "pmxcfs"
	PID    int
	Level  string // corosync's logfile only: notice, info, warning, ...
	Subsys string // corosync: TOTEM, KNET, QUORUM, MAIN, ...; pmxcfs: status, dcdb, main, ...
	Msg    string // the message after the subsystem tag, trimmed
}

var months = map[string]time.Month{"Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "May": 5, "Jun": 6,
	"Jul": 7, "Aug": 8, "Sep": 9, "Oct": 10, "Nov": 11, "Dec": 12}

// parseStamp reads the timestamp at the start of s and returns the rest.
// A timestamp without a year gets year; one without a zone gets loc.
func parseStamp(s string, year int, loc *time.Location) (t time.Time, rest string, precise bool, iso bool, ok bool) {
	if len(s) > 10 && s[4] == '-' && s[7] == '-' && s[10] == 'T' {
		end := strings.IndexByte(s, ' ')
		if end < 0 {
			return t, "", false, false, false
		}
		stamp := s[:end]
		// short-iso writes +0000, RFC 3339 +00:00 or Z.
		if n := len(stamp); n > 5 && (stamp[n-5] == '+' || stamp[n-5] == '-') && !strings.Contains(stamp[n-5:], ":") {
			stamp = stamp[:n-2] + ":" + stamp[n-2:]
		}
		v, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			return t, "", false, false, false
		}
		return v, s[end+1:], strings.Contains(stamp, "."), true, true
	}
	// "Dec 06 19:07:41[.frac] " or "Dec  6 19:07:41 "
	if len(s) < 16 || s[3] != ' ' || s[9] != ':' || s[12] != ':' {
		return t, "", false, false, false
	}
	mon, okm := months[s[:3]]
	if !okm {
		return t, "", false, false, false
	}
	day, err := strconv.Atoi(strings.TrimLeft(s[4:6], " "))
	if err != nil || day < 1 || day > 31 {
		return t, "", false, false, false
	}
	hh, e1 := strconv.Atoi(s[7:9])
	mm, e2 := strconv.Atoi(s[10:12])
	ss, e3 := strconv.Atoi(s[13:15])
	if e1 != nil || e2 != nil || e3 != nil || hh > 23 || mm > 59 || ss > 60 {
		return t, "", false, false, false
	}
	i, nanos := 15, 0
	if i < len(s) && s[i] == '.' {
		j := i + 1
		for j < len(s) && j-i-1 < 9 && s[j] >= '0' && s[j] <= '9' {
			j++
		}
		digits := s[i+1 : j]
		if digits == "" {
			return t, "", false, false, false
		}
		v, _ := strconv.Atoi(digits)
		for k := len(digits); k < 9; k++ {
			v *= 10
		}
		nanos, i, precise = v, j, true
	}
	if i >= len(s) || s[i] != ' ' {
		return t, "", false, false, false
	}
	return time.Date(year, mon, day, hh, mm, ss, nanos, loc), s[i+1:], precise, false, true
}

// parseLine reads one line. ok is false for a line that is no log line
// of a known shape; keep is false for a well-formed line of a program
// other than corosync and pmxcfs.
func parseLine(s string, year int, loc *time.Location) (l Line, keep, ok bool) {
	t, rest, precise, iso, ok := parseStamp(s, year, loc)
	if !ok {
		return l, false, false
	}
	l.Time, l.Coarse = t, !precise
	if strings.HasPrefix(rest, "[") {
		// corosync's logfile: "[PID] HOST corosync LEVEL [SUBSYS] MSG"
		end := strings.IndexByte(rest, ']')
		if end < 0 {
			return l, false, false
		}
		pid, err := strconv.Atoi(rest[1:end])
		if err != nil {
			return l, false, false
		}
		f := strings.Fields(rest[end+1:])
		if len(f) < 3 {
			return l, false, false
		}
		l.PID, l.Host, l.Prog, l.Level = pid, f[0], f[1], f[2]
		l.Format = FormatLogfile
		if precise {
			l.Format = FormatLogfileHires
		}
		if l.Prog != "corosync" {
			return l, false, false
		}
		// The message starts after the level word.
		msg := rest[end+1:]
		for _, w := range f[:3] {
			msg = strings.TrimLeft(msg, " ")
			msg = msg[len(w):]
		}
		l.Subsys, l.Msg = subsys(msg)
		return l, true, true
	}
	// syslog: "HOST PROG[PID]: MSG" (or "HOST PROG: MSG")
	sp := strings.IndexByte(rest, ' ')
	if sp <= 0 {
		return l, false, false
	}
	l.Host = rest[:sp]
	rest = rest[sp+1:]
	colon := strings.Index(rest, ": ")
	if colon <= 0 {
		if !strings.HasSuffix(rest, ":") {
			return l, false, false
		}
		colon = len(rest) - 1
	}
	tag, msg := rest[:colon], ""
	if colon+2 <= len(rest) {
		msg = rest[colon+2:]
	}
	if strings.ContainsAny(tag, " \t") {
		return l, false, false
	}
	if b := strings.IndexByte(tag, '['); b >= 0 && strings.HasSuffix(tag, "]") {
		pid, err := strconv.Atoi(tag[b+1 : len(tag)-1])
		if err != nil {
			return l, false, false
		}
		l.PID, tag = pid, tag[:b]
	}
	l.Prog = tag
	switch {
	case iso:
		l.Format = FormatISO
	case precise:
		l.Format = FormatSyslogPrecise
	default:
		l.Format = FormatSyslog
	}
	switch l.Prog {
	case "corosync":
		l.Subsys, l.Msg = subsys(msg)
	case "pmxcfs":
		// "[status] notice: node lost quorum"
		l.Subsys, l.Msg = subsys(msg)
		if i := strings.Index(l.Msg, ": "); i > 0 && !strings.Contains(l.Msg[:i], " ") {
			l.Level, l.Msg = l.Msg[:i], l.Msg[i+2:]
		}
	default:
		return l, false, true
	}
	return l, true, true
}

// subsys splits "  [KNET  ] link: ..." into "KNET" and "link: ...".
func subsys(msg string) (string, string) {
	m := strings.TrimLeft(msg, " ")
	if strings.HasPrefix(m, "[") {
		if end := strings.IndexByte(m, ']'); end > 0 {
			return strings.TrimSpace(m[1:end]), strings.TrimSpace(m[end+1:])
		}
	}
	return "", strings.TrimSpace(m)
}
