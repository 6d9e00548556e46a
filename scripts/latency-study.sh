#!/bin/sh
# The latency study of docs/latency-study.md: four sweeps of
# scenarios/studies/latency-study.yaml over nodes x base latency, one per
# network model, into $OUT/{jitter,loss,tail,tail-loss}/sweep.json, then the
# tables of the document. A sweep whose runs fail a check exits 1; that is
# a finding of the study, not an error of the script.
set -eu
Q=${QUORATE:-bin/quorate}
OUT=${OUT:-out/latency-study}
SEEDS=${SEEDS:-1-3}
PARALLEL=${PARALLEL:-2}
FILE=scenarios/studies/latency-study.yaml
NODES=3,5,7,9,12,16
MS="0.5 1 2 5 10 20 50"

sweep() { # name, then --vary flags
	name=$1
	shift
	rc=0
	"$Q" sweep "$FILE" --seeds "$SEEDS" --parallel "$PARALLEL" --vary cluster.nodes=$NODES "$@" \
		--out "$OUT/$name" >"$OUT/$name.txt" || rc=$?
	[ $rc -le 1 ] || exit $rc
}

mkdir -p "$OUT"
# jitter: +/-10% uniform around the base latency, no loss.
uniform=""
for ms in $MS; do
	lo=$(awk "BEGIN{print $ms*0.9}")
	hi=$(awk "BEGIN{print $ms*1.1}")
	uniform="$uniform${uniform:+,}{dist: uniform, min: ${lo}ms, max: ${hi}ms}"
done
sweep jitter --vary "network.links[0].latency=$uniform" --vary network.links[0].loss=0
# loss: the same jitter and 1% loss per packet.
sweep loss --vary "network.links[0].latency=$uniform" --vary network.links[0].loss=0.01
# tail: Pareto(min = base, alpha 3), no loss.
pareto=""
for ms in $MS; do pareto="$pareto${pareto:+,}${ms}ms"; done
sweep tail --vary "network.links[0].latency.min=$pareto" --vary network.links[0].loss=0
# tail-loss: the same tail and 0.1% loss per packet.
sweep tail-loss --vary "network.links[0].latency.min=$pareto" --vary network.links[0].loss=0.001
go run ./scripts/latencytable "$OUT/jitter/sweep.json" "$OUT/loss/sweep.json" "$OUT/tail/sweep.json" "$OUT/tail-loss/sweep.json" >"$OUT/tables.md"
echo "latency study: $OUT/tables.md"
