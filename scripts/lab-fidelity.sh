#!/bin/sh
# lab-fidelity.sh runs every library scenario whose faults the lab supports
# through `quorate lab diff` (real agents in network namespaces against the
# simulator, same seed), and the lab's smoke scenario three times beside the
# Corosync reference, and prints the markdown tables of docs/fidelity.md's
# lab section. Needs root; takes about twenty minutes (the scenarios run in
# wall-clock time, one after the other).
#
#   make build && sudo sh scripts/lab-fidelity.sh > out/lab-fidelity.md
#
# QUORATE (default bin/quorate) is the binary, OUT (default out/lab-fidelity)
# where each run's result.json, sim-result.json and journals go; RUNS=0
# prints the tables of an earlier OUT again.
set -eu
QUORATE=${QUORATE:-bin/quorate}
OUT=${OUT:-out/lab-fidelity}
mkdir -p "$OUT"
# RUNS=0 prints the tables from an earlier OUT without running anything.
if [ "${RUNS:-1}" = 1 ]; then
for f in scenarios/library/*.yaml; do
	name=$(basename "$f" .yaml)
	rc=0
	"$QUORATE" lab diff "$f" --out "$OUT/$name" --format json >"$OUT/$name.diff.json" 2>"$OUT/$name.log" || rc=$?
	echo "$rc" >"$OUT/$name.rc"
done
# The smoke scenario mirrors the Corosync reference's (b) and (c) with N=3
# and token 1000: three runs of it, each through lab diff.
for seed in 7 8 9; do
	rc=0
	"$QUORATE" lab diff lab/testdata/switch-crash-kv.yaml --seed "$seed" --out "$OUT/smoke-$seed" --format json \
		>"$OUT/smoke-$seed.diff.json" 2>"$OUT/smoke-$seed.log" || rc=$?
	echo "$rc" >"$OUT/smoke-$seed.src"
done
fi
python3 - "$OUT" <<'PY'
import json, os, statistics, sys
out = sys.argv[1]
# Corosync 3.1.7 / knet 1.25, N=3, token 1000: shared corosync-harness results.md (b), (c).
ref = {"link 0 down after sw0 down (slowest pair)": "909 / 929 / 2342",
       "link 0 up after sw0 up (slowest pair)": "1735 / 1737 / 2134",
       "crash: survivors' new ring (slowest)": "3516 / 3521 / 3632",
       "restart: all 3 in one ring (slowest)": "1992 / 2290 / 2461 (about 250 of it knet and crypto start-up)"}
def figures(r):
    faults = [e for e in r["timeline"] if e["event"].startswith("fault:")]
    t = {e["event"][6:]: e["t_ms"] for e in faults}
    def link_delay(event, after):
        worst = 0
        for p in r["links"]:
            for c in p["changes"] or []:
                if c["event"] == event and c["link"] == 0 and c["t_ms"] >= after:
                    worst = max(worst, c["t_ms"] - after)
                    break
        return worst
    f = {}
    f["link 0 down after sw0 down (slowest pair)"] = link_delay("link_down", t["switch_down"])
    f["link 0 up after sw0 up (slowest pair)"] = link_delay("link_up", t["switch_up"])
    f["crash: survivors' new ring (slowest)"] = next((g["last_ms"] - t["crash"] for g in r["rings"] if g["first_ms"] > t["crash"] and len(g["members"]) == 2), float("nan"))
    f["restart: all 3 in one ring (slowest)"] = next((g["last_ms"] - t["restart"] for g in r["rings"] if g["first_ms"] > t["restart"] and len(g["members"]) == 3), float("nan"))
    return f
sims, labs = [], []
for seed in (7, 8, 9):
    d = os.path.join(out, "smoke-%d" % seed)
    try:
        labs.append(figures(json.load(open(os.path.join(d, "result.json")))))
        sims.append(figures(json.load(open(os.path.join(d, "sim-result.json")))))
    except (OSError, KeyError, StopIteration):
        pass
def mmm(xs):
    xs = sorted(xs)
    return "%.0f / %.0f / %.0f" % (xs[0], statistics.median(xs), xs[-1]) if xs else "-"
print("| situation (N=3, token 1000) | Corosync 3 min / median / max ms | simulator | lab |")
print("|---|---|---|---|")
for k in ref:
    print("| %s | %s | %s | %s |" % (k, ref[k], mmm([f[k] for f in sims]), mmm([f[k] for f in labs])))
print()
PY
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
