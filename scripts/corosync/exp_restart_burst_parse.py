#!/usr/bin/env python3
"""Figures of exp_restart_burst.sh from its output directory.

For every repetition: the time from the last restart until every node is
in one ring of all four (the instant the last node logs the membership it
keeps to the end of the log), and every membership each node installed
after the first fault, as "+ms nI ring{members}" relative to the last
restart. Members are tracked from corosync's own "Members joined: ...
left: ..." lists, reset when a daemon starts. Then one summary line.
Usage: exp_restart_burst_parse.py OUTDIR
"""
import datetime
import glob
import os
import re
import statistics
import sys

TS = re.compile(r"^(\w{3} \d{2} \d{2}:\d{2}:\d{2}\.\d{3}) ")
MEMB = re.compile(r"A new membership \(([0-9a-f]+\.[0-9a-f]+)\) was formed\. Members(?: joined:((?: \d+)+))?(?: left:((?: \d+)+))?")
START = re.compile(r"Corosync Cluster Engine .* starting up")
IFACE = re.compile(r"entering GATHER state from 15\(interface change\)")


def epoch(stamp, year):
    t = datetime.datetime.strptime(f"{year} {stamp}", "%Y %b %d %H:%M:%S.%f")
    return t.timestamp()


def node_events(path, year):
    """[(epoch, ring, frozenset(members))] of one node's log, in order."""
    out, members = [], set()
    for line in open(path, errors="replace"):
        m = TS.match(line)
        if not m:
            continue
        if START.search(line):
            members = set()
            continue
        mm = MEMB.search(line)
        if not mm:
            continue
        joined = set(int(x) for x in (mm.group(2) or "").split())
        left = set(int(x) for x in (mm.group(3) or "").split())
        members = (members - left) | joined
        out.append((epoch(m.group(1), year), mm.group(1), frozenset(members)))
    return out


def totem_start(path, year, after):
    """When Totem of the daemon started at or after `after` began (its
    first GATHER, on the interface coming up): the instant the simulator's
    boot corresponds to."""
    for line in open(path, errors="replace"):
        m = TS.match(line)
        if m and IFACE.search(line):
            t = epoch(m.group(1), year)
            if t >= after - 0.001:
                return t
    return None


def main(outdir):
    year = datetime.datetime.now().year
    settles, from_totem = [], []
    for rep_dir in sorted(glob.glob(os.path.join(outdir, "rep*/")), key=lambda p: int(re.findall(r"\d+", os.path.basename(p.rstrip("/")))[0])):
        rep = os.path.basename(rep_dir.rstrip("/"))
        faults = [l.split() for l in open(os.path.join(outdir, rep + ".faults"))]
        first, last = float(faults[0][0]), float(faults[-1][0])
        nodes = sorted(glob.glob(os.path.join(rep_dir, "node*.log")))
        evs = {int(re.findall(r"\d+", os.path.basename(p))[0]): node_events(p, year) for p in nodes}
        finals = {n: e[-1] for n, e in evs.items() if e}
        all_ids = frozenset(evs)
        ok = len(finals) == len(evs) and len({f[1] for f in finals.values()}) == 1 and \
            all(f[2] == all_ids for f in finals.values())
        settle = max(f[0] for f in finals.values()) - last if ok else None
        # The last fault may be the end of the loss (LOSS_END_MS), which
        # names no node: Totem's start is that of the last node restarted.
        starts = [f for f in faults if f[1] == "start"]
        ts = None
        if starts:
            ts = totem_start(os.path.join(rep_dir, f"node{int(starts[-1][2])}.log"), year, float(starts[-1][0]))
        way = []
        for n, e in evs.items():
            for t, ring, mem in e:
                if t >= first - 0.001:
                    way.append((t, n, ring, mem))
        way.sort()
        rings = " ".join(f"{(t - last) * 1000:+.0f}:n{n}:{ring}{{{','.join(str(x) for x in sorted(mem))}}}" for t, n, ring, mem in way)
        after = sum(1 for t, *_ in way if t >= last)
        per_node = max(sum(1 for t, n2, *_ in way if t >= last and n2 == n) for n in evs)
        if ok:
            settles.append(settle * 1000)
            since_totem = (settle + last - ts) * 1000 if ts else float("nan")
            from_totem.append(since_totem)
            print(f"{rep} settle_ms={settle * 1000:.0f} totem_start_ms={(ts - last) * 1000:.0f} settle_from_totem_start_ms={since_totem:.0f} "
                  f"memberships_after_last_restart={after} most_on_one_node={per_node} rings: {rings}")
        else:
            print(f"{rep} settle_ms=NONE (no common ring of all nodes at the end) rings: {rings}")
    if settles:
        s = sorted(settles)
        print(f"SUMMARY settle_after_last_restart_ms n={len(s)} min={s[0]:.0f} median={statistics.median(s):.0f} max={s[-1]:.0f}")
        s = sorted(from_totem)
        print(f"SUMMARY settle_after_totem_start_ms n={len(s)} min={s[0]:.0f} median={statistics.median(s):.0f} max={s[-1]:.0f}")


if __name__ == "__main__":
    main(sys.argv[1])
