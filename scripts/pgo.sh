#!/bin/sh
# The profile the quorate binary is built with (profile-guided optimization,
# docs/benchmarks.md "The profile-guided build"): CPU profiles of the
# simulator's benchmark loads, merged into cmd/quorate/default.pgo, which
# `go build ./cmd/quorate` (and make build) applies by default.
#
# The loads are what the binary spends its time on: Totem under load at 5
# and at 128 nodes, the kv workload with its linearizability check, and a
# sweep of the heaviest library scenario (switch failures, membership
# changes). The benchmarks are built without a profile (-pgo=off), so the
# result does not depend on the profile it replaces. OUT (relative to the
# repository's root) writes the profile elsewhere.
set -eu
cd "$(dirname "$0")/.."
GO=${GO:-go}
OUT=${OUT:-cmd/quorate/default.pgo}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

prof() { # package, benchmark pattern, benchtime, name
	if ! (cd "$1" && "$GO" test -pgo=off -run '^$' -bench "$2" -benchtime "$3" -count 1 -cpu 1 \
		-timeout 30m -cpuprofile "$tmp/$4.prof" -o "$tmp/$4.test" .) >"$tmp/$4.txt" 2>&1; then
		cat "$tmp/$4.txt" >&2
		echo "pgo: $2 in $1 failed; $OUT is unchanged" >&2
		exit 1
	fi
	grep '^Benchmark' "$tmp/$4.txt"
}

prof sim '^BenchmarkTotem5Nodes$' 30x totem5
prof sim '^BenchmarkStoreLoad$/^2000/s$' 5x kv
prof sim '^BenchmarkTotem128Nodes$' 1x totem128
prof sweep '^BenchmarkSweepHeaviest$/^parallel=1$' 2x sweep

"$GO" tool pprof -proto "$tmp"/totem5.prof "$tmp"/kv.prof "$tmp"/totem128.prof "$tmp"/sweep.prof >"$tmp/merged.pgo"
mv "$tmp/merged.pgo" "$OUT"
echo "wrote $OUT ($(wc -c <"$OUT") bytes)"
