package corolog

import (
	"slices"
	"testing"
	"time"
)

// TestParseLine: real lines in every shape, and what they report.
func TestParseLine(t *testing.T) {
	at := func(mo time.Month, d, h, m, s, ns int) time.Time {
		return time.Date(2026, mo, d, h, m, s, ns, time.UTC)
	}
	for _, tt := range []struct {
		line   string
		format Format
		time   time.Time
		host   string
		prog   string
		subsys string
		kind   Kind
		check  func(Event) bool
	}{
		{"Dec 06 19:07:41.133 [13354] vm corosync notice  [MAIN  ] Corosync Cluster Engine 3.1.7 starting up",
			FormatLogfileHires, at(12, 6, 19, 7, 41, 133e6), "vm", "corosync", "MAIN", KindStart, nil},
		{"Dec 06 19:07:41 [13354] pve1 corosync info    [TOTEM ] Configured link number 0: local addr: 10.99.0.1, port=5405",
			FormatLogfile, at(12, 6, 19, 7, 41, 0), "pve1", "corosync", "TOTEM", KindLocalAddr,
			func(e Event) bool { return e.Link == 0 && e.Addr == "10.99.0.1" }},
		{"Dec  6 19:07:50 pve2 corosync[1662]:   [KNET  ] link: host: 3 link: 1 is down",
			FormatSyslog, at(12, 6, 19, 7, 50, 0), "pve2", "corosync", "KNET", KindLinkDown,
			func(e Event) bool { return e.Host == 3 && e.Link == 1 && e.PID == 1662 }},
		{"Dec 06 19:07:57.649000 pve2 corosync[1662]:   [KNET  ] rx: host: 2 link: 0 is up",
			FormatSyslogPrecise, at(12, 6, 19, 7, 57, 649e6), "pve2", "corosync", "KNET", KindLinkUp,
			func(e Event) bool { return e.Host == 2 && e.Link == 0 }},
		{"2026-12-06T20:07:57+0100 pve2 corosync[1662]:   [KNET  ] host: host: 2 has no active links",
			FormatISO, at(12, 6, 19, 7, 57, 0), "pve2", "corosync", "KNET", KindNoLinks, func(e Event) bool { return e.Host == 2 }},
		{"2026-12-06T19:07:54.533412+00:00 pve1 corosync[812]:   [TOTEM ] A new membership (1.d) was formed. Members left: 2 3",
			FormatISO, at(12, 6, 19, 7, 54, 533412000), "pve1", "corosync", "TOTEM", KindRing,
			func(e Event) bool { return e.Ring == "1.d" && slices.Equal(e.Left, []uint32{2, 3}) && e.Joined == nil }},
		{"Dec 06 19:07:43.745 [13354] vm corosync notice  [TOTEM ] A new membership (1.9) was formed. Members joined: 2 3",
			FormatLogfileHires, at(12, 6, 19, 7, 43, 745e6), "vm", "corosync", "TOTEM", KindRing,
			func(e Event) bool { return e.Ring == "1.9" && slices.Equal(e.Joined, []uint32{2, 3}) }},
		{"Jun 04 08:00:00 pve1 corosync[812]:   [TOTEM ] A new membership (1.2f) was formed. Members joined: 3 left: 2",
			FormatSyslog, at(6, 4, 8, 0, 0, 0), "pve1", "corosync", "TOTEM", KindRing,
			func(e Event) bool {
				return e.Ring == "1.2f" && slices.Equal(e.Joined, []uint32{3}) && slices.Equal(e.Left, []uint32{2})
			}},
		{"Jun 04 08:00:00 pve1 corosync[812]:   [TOTEM ] A new membership (3.30) was formed. Members",
			FormatSyslog, at(6, 4, 8, 0, 0, 0), "pve1", "corosync", "TOTEM", KindRing, func(e Event) bool { return e.Ring == "3.30" }},
		{"Dec 06 19:07:43.745 [13354] vm corosync notice  [QUORUM] Members[3]: 1 2 3",
			FormatLogfileHires, at(12, 6, 19, 7, 43, 745e6), "vm", "corosync", "QUORUM", KindMembers,
			func(e Event) bool { return slices.Equal(e.IDs, []uint32{1, 2, 3}) }},
		{"Dec 06 19:07:43.745 [13354] vm corosync notice  [QUORUM] Sync members[3]: 1 2 3",
			FormatLogfileHires, at(12, 6, 19, 7, 43, 745e6), "vm", "corosync", "QUORUM", KindOther, nil},
		{"Dec 06 19:07:54 pve1 corosync[812]:   [QUORUM] This node is within the non-primary component and will NOT provide any services.",
			FormatSyslog, at(12, 6, 19, 7, 54, 0), "pve1", "corosync", "QUORUM", KindQuorate, func(e Event) bool { return !e.Quorate }},
		{"Dec 06 19:07:58 pve1 corosync[812]:   [QUORUM] This node is within the primary component and will provide service.",
			FormatSyslog, at(12, 6, 19, 7, 58, 0), "pve1", "corosync", "QUORUM", KindQuorate, func(e Event) bool { return e.Quorate }},
		{"Dec 06 19:07:49.233 [13354] vm corosync notice  [TOTEM ] Token has not been received in 2737 ms ",
			FormatLogfileHires, at(12, 6, 19, 7, 49, 233e6), "vm", "corosync", "TOTEM", KindTokenWarning, func(e Event) bool { return e.Millis == 2737 }},
		{"Dec 06 19:07:50.145 [13354] vm corosync notice  [TOTEM ] A processor failed, forming new configuration: token timed out (3650ms), waiting 4380ms for consensus.",
			FormatLogfileHires, at(12, 6, 19, 7, 50, 145e6), "vm", "corosync", "TOTEM", KindTokenLost, nil},
		{"Mar 01 12:00:01 pve3 corosync[812]:   [TOTEM ] Retransmit List: 1a 1b 2f",
			FormatSyslog, at(3, 1, 12, 0, 1, 0), "pve3", "corosync", "TOTEM", KindRetransmit,
			func(e Event) bool { return slices.Equal(e.Seqs, []uint64{0x1a, 0x1b, 0x2f}) }},
		{"Mar 01 12:00:09 pve3 corosync[812]:   [TOTEM ] FAILED TO RECEIVE",
			FormatSyslog, at(3, 1, 12, 0, 9, 0), "pve3", "corosync", "TOTEM", KindFailedToReceive, nil},
		{"Dec 06 19:08:01.365 [13354] vm corosync notice  [MAIN  ] Node was shut down by a signal",
			FormatLogfileHires, at(12, 6, 19, 8, 1, 365e6), "vm", "corosync", "MAIN", KindShutdown, nil},
		{"Dec 06 19:08:02.421 [13354] vm corosync notice  [MAIN  ] Corosync Cluster Engine exiting normally",
			FormatLogfileHires, at(12, 6, 19, 8, 2, 421e6), "vm", "corosync", "MAIN", KindExit, nil},
		{"Dec 06 19:07:41.553 [13354] vm corosync info    [KNET  ] link: Resetting MTU for link 0 because host 1 joined",
			FormatLogfileHires, at(12, 6, 19, 7, 41, 553e6), "vm", "corosync", "KNET", KindHostJoined, func(e Event) bool { return e.Host == 1 }},
		{"Dec 06 10:00:00 pve1 corosync[812]:   [CFG   ] Config reload requested by node 1",
			FormatSyslog, at(12, 6, 10, 0, 0, 0), "pve1", "corosync", "CFG", KindConfigReload, nil},
		{"Dec 06 10:00:00 pve1 pmxcfs[977]: [status] notice: node lost quorum",
			FormatSyslog, at(12, 6, 10, 0, 0, 0), "pve1", "pmxcfs", "status", KindPmxQuorum, func(e Event) bool { return !e.Quorate && e.Level == "notice" }},
		{"Dec 06 10:00:03 pve1 pmxcfs[977]: [status] notice: node has quorum",
			FormatSyslog, at(12, 6, 10, 0, 3, 0), "pve1", "pmxcfs", "status", KindPmxQuorum, func(e Event) bool { return e.Quorate }},
		{"Dec 06 10:00:03 pve1 pmxcfs[977]: [dcdb] notice: members: 1/977, 2/1021, 3/988",
			FormatSyslog, at(12, 6, 10, 0, 3, 0), "pve1", "pmxcfs", "dcdb", KindPmxMembers,
			func(e Event) bool { return slices.Equal(e.IDs, []uint32{1, 2, 3}) }},
	} {
		l, keep, ok := parseLine(tt.line, 2026, time.UTC)
		if !ok || !keep {
			t.Errorf("%q: ok %v keep %v", tt.line, ok, keep)
			continue
		}
		e := Classify(l)
		if l.Format != tt.format || !l.Time.Equal(tt.time) || l.Host != tt.host || l.Prog != tt.prog || l.Subsys != tt.subsys || e.Kind != tt.kind {
			t.Errorf("%q:\n got %v %v host %q prog %q subsys %q kind %v\nwant %v %v host %q prog %q subsys %q kind %v",
				tt.line, l.Format, l.Time, l.Host, l.Prog, l.Subsys, e.Kind, tt.format, tt.time, tt.host, tt.prog, tt.subsys, tt.kind)
			continue
		}
		if tt.check != nil && !tt.check(e) {
			t.Errorf("%q: fields %+v", tt.line, e)
		}
	}
}

// TestParseLineOthers: lines of other programs are well-formed but not
// kept; lines of no known shape are not lines.
func TestParseLineOthers(t *testing.T) {
	for _, s := range []string{
		"Dec 06 10:00:00 pve1 systemd[1]: Starting corosync.service - Corosync Cluster Engine...",
		"Dec  6 10:00:00 pve1 kernel: [  12.345] e1000e: eth0 NIC Link is Down",
		"2026-12-06T10:00:00+0000 pve1 pvestatd[1234]: status update time (5.1 seconds)",
	} {
		if _, keep, ok := parseLine(s, 2026, time.UTC); !ok || keep {
			t.Errorf("%q: ok %v keep %v; want a line not kept", s, ok, keep)
		}
	}
	for _, s := range []string{
		"", "hello world", "Dec 32 10:00:00 pve1 corosync[1]: x", "Foo 06 10:00:00 pve1 corosync[1]: x",
		"Dec 06 25:00:00 pve1 corosync[1]: x", "2026-13-06T10:00:00+0000 pve1 corosync[1]: x",
		"Dec 06 10:00:00 [x] vm corosync notice  [MAIN  ] y", "Dec 06 10:00:00.",
		`{"time":"2026-12-06T10:00:00Z","kind":"start"}`,
	} {
		if _, _, ok := parseLine(s, 2026, time.UTC); ok {
			t.Errorf("%q: parsed as a log line", s)
		}
	}
}

// TestParseYear: a log without years steps into the next at New Year.
func TestParseYear(t *testing.T) {
	lg, err := Parse("syslog", []byte("Dec 31 23:59:59 pve1 corosync[1]:   [TOTEM ] FAILED TO RECEIVE\n"+
		"Jan  1 00:00:01 pve1 corosync[1]:   [TOTEM ] FAILED TO RECEIVE\n"), Options{Year: 2026})
	if err != nil {
		t.Fatal(err)
	}
	if got := lg.Events[1].Time.Sub(lg.Events[0].Time); got != 2*time.Second {
		t.Errorf("New Year: %v between the lines, want 2s (%v, %v)", got, lg.Events[0].Time, lg.Events[1].Time)
	}
}
