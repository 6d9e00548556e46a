#!/usr/bin/env python3
"""Figures of exp_split_heal.sh from its output directory.

For every repetition: when the partition healed and when the first node's
consensus timeout expired (ms after the cut), how many rings each node
installed from the cut on (the ring that ends the partition's GATHER
included), and when the last of them formed, in ms after the first
consensus timeout: the time the two groups took to become one ring again
(a repetition that timed out reports its last ring, not a settle time).
Node 1's cycle: the longest run of its rings each formed within 700 ms of
the one before (a round takes 4-50 ms on the bridge, about 420 ms at 10 ms
a hop), and their median period; "paused" counts the log lines in which a
daemon says it was not scheduled (the machine's CPUs saturated).
The heal's own instant is only known to a few milliseconds on a loaded
machine (it is taken before nft runs), so the count starts at the cut.
Usage: exp_split_heal_parse.py OUTDIR
"""
import datetime
import os
import re
import statistics
import sys

TS = re.compile(r"^(\w{3} \d{2} \d{2}:\d{2}:\d{2}\.\d{3}) ")
SUM = re.compile(r"rep=(\d+) cut=([\d.]+) heal=([\d.]+) .*wanted_ms=(\d+)(?: settled=(\w+))?")


def main(out):
    year = datetime.date.today().year
    settles = []
    for line in open(os.path.join(out, "summary.txt")):
        m = SUM.search(line)
        if not m:
            continue
        rep, cut, heal = int(m.group(1)), float(m.group(2)), float(m.group(3))
        d = os.path.join(out, f"rep{rep}")
        if not os.path.isdir(d):
            continue
        settled = m.group(5) or "?"
        counts, last, timeouts, ring1, paused = [], 0.0, [], [], 0
        for n in range(1, 100):
            path = os.path.join(d, f"node{n}.log")
            if not os.path.exists(path):
                break
            c = 0
            for ln in open(path, errors="replace"):
                t = TS.match(ln)
                if not t:
                    continue
                at = datetime.datetime.strptime(f"{year} {t.group(1)}", "%Y %b %d %H:%M:%S.%f").timestamp()
                if at < cut:
                    continue
                if "A new membership" in ln:
                    c += 1
                    last = max(last, at)
                    if n == 1:
                        ring1.append(at)
                if "was not scheduled" in ln:
                    paused += 1
                if "GATHER state from 0(consensus timeout)" in ln:
                    timeouts.append(at)
            counts.append(c)
        if not timeouts:
            print(f"rep{rep} no consensus timeout after the cut")
            continue
        first = min(timeouts)
        settle = (last - first) * 1000
        if settled != "timeout":
            settles.append(settle)
        run, best, periods, best_periods = 0, 0, [], []
        for a, b in zip(ring1, ring1[1:]):
            if b - a < 0.7:
                run += 1
                periods.append(b - a)
                if run > best:
                    best, best_periods = run, list(periods)
            else:
                run, periods = 0, []
        period = f"{statistics.median(best_periods) * 1000:.0f}" if best_periods else "-"
        cycle = best + 1 if best else 0
        what = "settled_ms_after_first_timeout" if settled != "timeout" else "not_settled_last_ring_ms"
        print(f"rep{rep} heal_ms={(heal - cut) * 1000:.0f} first_consensus_timeout_ms={(first - cut) * 1000:.0f} "
              f"rings_per_node={counts} {what}={settle:.0f} node1_cycle_rings={cycle} "
              f"node1_cycle_period_ms={period} paused={paused}")
    if settles:
        print(f"SUMMARY n={len(settles)} settle_ms min={min(settles):.0f} median={statistics.median(settles):.0f} max={max(settles):.0f}")


if __name__ == "__main__":
    main(sys.argv[1])
