#!/bin/sh
# loaded.sh CMD [ARGS...]: run CMD while one busy loop per CPU keeps every
# core busy, then stop the loops (also when CMD fails or is interrupted).
# `make test-loaded` runs the test suite this way: CI must pass on a busy
# machine, not only on an idle one. The loops run at the niceness this
# script runs at, so they compete with the tests as equals.
set -u
n=${HOGS:-$(getconf _NPROCESSORS_ONLN 2>/dev/null || echo 2)}
pids=""
stop() {
	for p in $pids; do kill "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	pids=""
}
trap 'stop; exit 130' INT TERM
trap stop EXIT
i=0
while [ "$i" -lt "$n" ]; do
	sh -c 'while :; do :; done' &
	pids="$pids $!"
	i=$((i + 1))
done
echo "loaded.sh: $n busy loops (pids$pids) while: $*" >&2
start=$(date +%s)
"$@"
rc=$?
echo "loaded.sh: $* exited $rc after $(( $(date +%s) - start ))s under $n busy loops" >&2
exit $rc
