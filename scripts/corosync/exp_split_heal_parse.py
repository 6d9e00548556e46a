#!/usr/bin/env python3
"""Figures of exp_split_heal.sh from its output directory.

For every repetition: when the partition healed and when the first node's
consensus timeout expired (ms after the cut), how many rings each node
installed from the cut on (the ring that ends the partition's GATHER
included), and when the last of them formed, in ms after the first
consensus timeout: the time the two groups took to become one ring again.
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
SUM = re.compile(r"rep=(\d+) cut=([\d.]+) heal=([\d.]+) .*wanted_ms=(\d+)")


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
        counts, last, timeouts = [], 0.0, []
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
                if "GATHER state from 0(consensus timeout)" in ln:
                    timeouts.append(at)
            counts.append(c)
        if not timeouts:
            print(f"rep{rep} no consensus timeout after the cut")
            continue
        first = min(timeouts)
        settle = (last - first) * 1000
        settles.append(settle)
        print(f"rep{rep} heal_ms={(heal - cut) * 1000:.0f} first_consensus_timeout_ms={(first - cut) * 1000:.0f} "
              f"rings_per_node={counts} settled_ms_after_first_timeout={settle:.0f}")
    if settles:
        print(f"SUMMARY n={len(settles)} settle_ms min={min(settles):.0f} median={statistics.median(settles):.0f} max={max(settles):.0f}")


if __name__ == "__main__":
    main(sys.argv[1])
