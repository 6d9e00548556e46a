#!/bin/sh
# lab-fidelity.sh runs every library scenario whose faults the lab supports
# through `quorate lab diff` (real agents in network namespaces against the
# simulator, same seed) and prints the markdown table of docs/fidelity.md's
# lab section. Needs root; takes about ten minutes (the scenarios run in
# wall-clock time, one after the other).
#
#   make build && sudo sh scripts/lab-fidelity.sh > out/lab-fidelity.md
#
# QUORATE (default bin/quorate) is the binary, OUT (default out/lab-fidelity)
# where each run's result.json, sim-result.json and journals go.
set -eu
QUORATE=${QUORATE:-bin/quorate}
OUT=${OUT:-out/lab-fidelity}
mkdir -p "$OUT"
for f in scenarios/library/*.yaml; do
	name=$(basename "$f" .yaml)
	rc=0
	"$QUORATE" lab diff "$f" --out "$OUT/$name" --format json >"$OUT/$name.diff.json" 2>"$OUT/$name.log" || rc=$?
	echo "$rc" >"$OUT/$name.rc"
done
python3 - "$OUT" <<'PY'
import json, os, sys
out = sys.argv[1]
print("| scenario | simulator | lab | membership sequences | link detect ms sim / lab | failover ms sim / lab | recover ms sim / lab | fault responses (first install ms) sim / lab | diff |")
print("|---|---|---|---|---|---|---|---|---|")
for f in sorted(os.listdir(out)):
    if not f.endswith(".rc"):
        continue
    name = f[:-3]
    rc = open(os.path.join(out, f)).read().strip()
    if rc == "2":
        why = open(os.path.join(out, name + ".log")).read().strip().splitlines()
        why = why[-1].replace("quorate: ", "") if why else "refused"
        why = why.split(": ", 1)[-1] if "scenarios/library" in why else why
        print(f"| {name} | - | not run: {why[:140]} | | | | | | |")
        continue
    d = json.load(open(os.path.join(out, name + ".diff.json")))
    lab = json.load(open(os.path.join(out, name, "result.json")))
    sim = json.load(open(os.path.join(out, name, "sim-result.json")))
    ok = lambda r: "ok" if r["ok"] else "FAILED: " + r.get("failure", "")[:100].replace("|", "/")
    fig = {x["name"]: x for x in d["figures"]}
    def pair(n):
        x = fig.get(n + " (mean)")
        return f'{x["sim"]:.0f} / {x["lab"]:.0f}' if x else "-"
    resp = []
    for s, l in zip(sim["fault_responses"] or [], lab["fault_responses"] or []):
        if s.get("ring_id") or l.get("ring_id"):
            resp.append(f'{s["fault"].split()[0]} {s.get("first_ms", 0):.0f} / {l.get("first_ms", 0):.0f}')
    same = "same" if not d.get("membership_diff") else "differ: " + d["membership_diff"][:80]
    print(f'| {name} | {ok(sim)} | {ok(lab)} | {same} | {pair("link detection ms")} | {pair("link failover ms")} | {pair("link recovery ms")} | {"; ".join(resp) or "-"} | {"agree" if d["agree"] else "disagree"} |')
PY
