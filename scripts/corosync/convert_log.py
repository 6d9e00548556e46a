#!/usr/bin/env python3
"""convert_log.py FORMAT YEAR NODE.log... > OUT

Rewrites corosync logfiles written with `timestamp: hires`
("Dec 06 19:07:41.133 [812] vm corosync notice  [TOTEM ] ...") in the
shapes the same messages take elsewhere, for the importer's fixtures:

  short          journalctl -o short:          "Dec 06 19:07:41 node1 corosync[812]:   [TOTEM ] ..."
  short-precise  journalctl -o short-precise:  "Dec 06 19:07:41.133000 node1 corosync[812]: ..."
  short-iso      journalctl -o short-iso:      "2026-12-06T19:07:41+0000 node1 corosync[812]: ..."
  syslog         rsyslog's traditional file:   "Dec  6 19:07:41 node1 corosync[812]: ..."
  logfile        corosync's logfile without timestamp: hires: "Dec 06 19:07:41 [812] node1 corosync ..."

Corosync hands syslog its message with the subsystem tag padded as in
its logfile, after three spaces ("   [KNET  ] link: ..."). The host is
the file's base name (node1.log -> node1), as on a Proxmox cluster where
node names are host names. Several files are merged by time, as one
journal of several hosts (journalctl's header line included); the
timestamps are taken as UTC. The hires logfile has milliseconds, so the
microseconds of short-precise end in 000.
"""
import datetime
import os
import re
import sys

LINE = re.compile(r'^(\w{3}) (\d\d) (\d\d:\d\d:\d\d)\.(\d{3}) \[(\d+)\] (\S+) (\S+) (\S+)\s+(\[.*)$')
MONTHS = {m: i + 1 for i, m in enumerate("Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec".split())}


def main():
    fmt, year, files = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
    out = []
    for f in files:
        host = os.path.splitext(os.path.basename(f))[0]
        for n, raw in enumerate(open(f, encoding="utf-8")):
            m = LINE.match(raw.rstrip("\n"))
            if not m:
                continue
            mon, day, hms, ms, pid, _, prog, level, msg = m.groups()
            h, mi, s = (int(x) for x in hms.split(":"))
            t = datetime.datetime(year, MONTHS[mon], int(day), h, mi, s, int(ms) * 1000)
            out.append((t, f, n, host, pid, prog, level, msg))
    out.sort(key=lambda r: (r[0], r[1], r[2]))
    if fmt in ("short", "short-precise", "short-iso") and out:
        first, last = out[0][0], out[-1][0]
        print("-- Journal begins at %s UTC, ends at %s UTC. --" % (
            first.strftime("%a %Y-%m-%d %H:%M:%S"), last.strftime("%a %Y-%m-%d %H:%M:%S")))
    for t, _, _, host, pid, prog, level, msg in out:
        if fmt == "short":
            stamp = t.strftime("%b %d %H:%M:%S")
        elif fmt == "short-precise":
            stamp = t.strftime("%b %d %H:%M:%S.%f")
        elif fmt == "short-iso":
            stamp = t.strftime("%Y-%m-%dT%H:%M:%S+0000")
        elif fmt == "syslog":
            stamp = "%s %2d %s" % (t.strftime("%b"), t.day, t.strftime("%H:%M:%S"))
        elif fmt == "logfile":
            print("%s [%s] %s %s %-7s %s" % (t.strftime("%b %d %H:%M:%S"), pid, host, prog, level, msg))
            continue
        else:
            sys.exit("convert_log.py: unknown format " + fmt)
        print("%s %s %s[%s]:   %s" % (stamp, host, prog, pid, msg))


main()
