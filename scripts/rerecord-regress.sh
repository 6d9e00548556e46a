#!/bin/bash
# rerecord-regress.sh [DIR]
#
# Re-records every recorded trace (*.jsonl) of a regression directory
# (default testdata/regress) after a deliberate change of what the
# simulator traces: each trace's header holds its scenario's text, file name
# and seed, so the scenario is run again on that seed and its new trace
# replaces the old one. Run it only when the change of every trace is the
# point (say why in the commit); `quorate regress DIR` must pass afterwards.
set -euo pipefail
DIR=${1:-testdata/regress}
if ! compgen -G "$DIR/*.jsonl" >/dev/null; then
  echo "rerecord-regress.sh: no recorded traces (*.jsonl) in $DIR" >&2
  exit 2
fi
Q=${QUORATE:-$(mktemp -d)/quorate}
[ -x "$Q" ] || go build -o "$Q" ./cmd/quorate
# Each case runs in a directory of its own: a relative QUORATE (bin/quorate)
# must still name the binary there.
Q=$(realpath "$Q")
for tr in "$DIR"/*.jsonl; do
  tmp=$(mktemp -d)
  python3 - "$tr" "$tmp" <<'PY'
import json, os, re, sys
h = json.loads(open(sys.argv[1]).readline())
open(os.path.join(sys.argv[2], h["file"]), "w").write(h["source"])
open(os.path.join(sys.argv[2], "seed"), "w").write(str(h["seed"]))
open(os.path.join(sys.argv[2], "file"), "w").write(h["file"])
if h.get("corosync_conf"):
    # The scenario names its corosync.conf by a path relative to itself.
    m = re.search(r"^\s*corosync_conf:\s*(\S+)", h["source"], re.M)
    conf = os.path.join(sys.argv[2], m.group(1).strip("'\""))
    os.makedirs(os.path.dirname(conf), exist_ok=True)
    open(conf, "w").write(h["corosync_conf"])
PY
  file=$(cat "$tmp/file"); seed=$(cat "$tmp/seed")
  (cd "$tmp" && "$Q" run "$file" --seed "$seed" --out out >/dev/null 2>"$tmp/stderr") || true
  [ -s "$tmp/out/trace.jsonl" ] || { echo "$tr: no trace written:" >&2; cat "$tmp/stderr" >&2; exit 1; }
  cp "$tmp/out/trace.jsonl" "$tr"
  rm -rf "$tmp"
  echo "re-recorded $tr"
done
