#!/bin/sh
# swarm-guided.sh: run the plain swarm and the guided swarm (quorate swarm
# --guided) over the same seeds and families, and print the coverage
# cells each reached (docs/reliability.md, "Guided swarm").
#
#   QUORATE=bin/quorate SEEDS=1-45 PARALLEL=2 OUT=out/guided sh scripts/swarm-guided.sh
#
# FAMILIES (a comma list) narrows the families; ROUND sets --round.
set -eu
QUORATE=${QUORATE:-bin/quorate}
SEEDS=${SEEDS:-1-45}
PARALLEL=${PARALLEL:-2}
OUT=${OUT:-out/swarm-guided}
FAMILIES=${FAMILIES:-}
ROUND=${ROUND:-5}
fam=""
[ -n "$FAMILIES" ] && fam="--family $FAMILIES"
mkdir -p "$OUT"
for mode in plain guided; do
	extra=""
	[ "$mode" = guided ] && extra="--guided --round $ROUND"
	start=$(date +%s)
	# shellcheck disable=SC2086 # fam and extra are lists of words
	"$QUORATE" swarm $fam $extra --seeds "$SEEDS" --parallel "$PARALLEL" --out "$OUT/$mode" \
		>"$OUT/$mode.txt" 2>"$OUT/$mode.progress" || [ $? -eq 1 ]
	echo "$mode: $(($(date +%s) - start)) s of wall time" >&2
done
python3 - "$OUT/plain/sweep.json" "$OUT/guided/sweep.json" <<'PY'
import json, sys
def load(p):
    s = json.load(open(p))
    cells = {(c["fault"], c["totem"], c["quorum"], c["store"]) for c in s.get("coverage", []) if c["count"] > 0}
    return s, cells
(p, pc), (g, gc) = load(sys.argv[1]), load(sys.argv[2])
kinds = {c[0] for c in pc}
print("| swarm | runs | failed | wall s | cells reached | of them in the plain swarm's fault kinds |")
print("|---|---|---|---|---|---|")
for name, s, c in (("plain", p, pc), ("guided", g, gc)):
    failed = sum(1 for r in s["runs"] if not r["ok"])
    print(f"| {name} | {len(s['runs'])} | {failed} | {s['wall_s']:.0f} | {len(c)} | {len({x for x in c if x[0] in kinds})} |")
print(f"\nreached by both: {len(pc & gc)}; by the plain swarm only: {len(pc - gc)}; by the guided swarm only: {len(gc - pc)}")
for x in sorted(pc - gc):
    print("  plain only:", " ".join(x))
PY
