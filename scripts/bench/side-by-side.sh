#!/bin/bash
# side-by-side.sh: agreed-message throughput, latency and memory of
# Corosync 3 and of quorate agents, measured in one invocation on the same
# three network namespaces, bridges, corosync.conf files and authkey.
#
#   scripts/bench/side-by-side.sh            (as root; make bench runs it)
#
# Environment: QUORATE (the quorate binary, default bin/quorate), HARNESS
# (default /work/shared/corosync-harness: net_up/net_down, write_confs,
# start_node, stop_all), DUR (measured seconds per case, default 5), WARM
# (seconds of load before the window, default 2), REPS (repetitions,
# default 3: Corosync and quorate alternate), OUT (a file that gets
# the raw lines and the table as well), PROFILE (a file: node 1's agent
# writes a CPU profile of its run there, for go tool pprof).
#
# It installs Debian's corosync and libcpg-dev if they are missing, builds
# cpgload.c (this directory: a CPG client that floods agreed messages and
# measures a window), takes the harness's lock (/tmp/corosync-harness.lock)
# for the whole run, brings up csn1..csn3 on the bridges sw0/sw1 (link 0 on
# 10.99.0.0/24, link 1 on 10.99.1.0/24; knet, passive, aes256 + sha256),
# then runs every case on Corosync, stops it, starts three quorate agents
# in the same namespaces with the same corosync.conf files and runs every
# case again. Cases: 64 B and 1 KiB messages, 1 sender (node 1) and 3
# senders (every node), each a WARM s warm-up and a DUR s window. Reported:
# the messages delivered per second at node 1 (from every sender; every
# node delivers the same), node 1's own messages' latency from the
# multicast call to their delivery back (p50, p99), and the largest RSS
# of the three daemons after the floods. It tears everything down at the
# end, also when interrupted.
set -u
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
LOCK=/tmp/corosync-harness.lock
if [ "${SIDE_BY_SIDE_LOCKED:-}" != 1 ]; then
	if [ "$(id -u)" != 0 ]; then
		echo "side-by-side: needs root (network namespaces, corosync); skipped" >&2
		exit 0
	fi
	export SIDE_BY_SIDE_LOCKED=1
	exec flock "$LOCK" "$SELF" "$@"
fi
QUORATE=${QUORATE:-$ROOT/bin/quorate}
HARNESS=${HARNESS:-/work/shared/corosync-harness}
DUR=${DUR:-5}
WARM=${WARM:-2}
REPS=${REPS:-3}
OUT=${OUT:-/dev/null}
N=3
[ -x "$QUORATE" ] || { echo "side-by-side: no quorate binary at $QUORATE (make build)" >&2; exit 2; }

missing=""
command -v corosync >/dev/null 2>&1 || missing="$missing corosync"
[ -f /usr/include/corosync/cpg.h ] || missing="$missing libcpg-dev"
command -v cc >/dev/null 2>&1 || missing="$missing gcc libc6-dev"
if [ -n "$missing" ]; then
	echo "side-by-side: installing$missing" >&2
	export DEBIAN_FRONTEND=noninteractive
	apt-get -o DPkg::Lock::Timeout=900 update -qq
	# shellcheck disable=SC2086
	apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null || exit 1
fi

RUN=$(mktemp -d /tmp/side-by-side.XXXXXX)
export RUN
# shellcheck source=/dev/null
. "$HARNESS/lib.sh"
QPIDS=()
cleanup() {
	for p in "${QPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${QPIDS[@]}"; do wait "$p" 2>/dev/null; done
	stop_all $N
	net_down
	rm -rf "$RUN"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

cc -O2 -o "$RUN/cpgload" "$ROOT/scripts/bench/cpgload.c" -lcpg || exit 1
say() { echo "$*" | tee -a "$OUT" >&2; }
# field KEY FILE: the value of KEY=... in the file's line.
field() { sed -n "s/.*[[:space:]]$1=\([^[:space:]]*\).*/\1/p; s/^$1=\([^[:space:]]*\).*/\1/p" "$2" | head -1; }
rss_max() { local m=0 r p; for p in "$@"; do r=$(ps -o rss= -p "$p" 2>/dev/null | tr -d ' '); [ -n "$r" ] && [ "$r" -gt "$m" ] && m=$r; done; echo "$m"; }

CASES="64:1 1024:1 64:3 1024:3"
declare -A RES

net_down
net_up $N
write_confs $N
say "# side-by-side $(date -u +%FT%TZ), $(nproc) CPUs, load $(cut -d' ' -f1-3 /proc/loadavg), window ${DUR}s after ${WARM}s, $REPS repetitions"
say "# $(corosync -v | head -1); $("$QUORATE" --version)"

corosync_phase() {   # corosync_phase REP: start Corosync, run every case, stop it
	local rep=$1 c size senders start pids i s p ok k
	for ((i=1;i<=N;i++)); do start_node $i; done
	for k in $(seq 1 600); do ok=1; for ((i=1;i<=N;i++)); do is_quorate $i || ok=0; done; [ $ok = 1 ] && break; sleep 0.1; done
	[ $ok = 1 ] || { say "corosync did not become quorate"; exit 1; }
	sleep 2
	CPIDS=()
	for ((i=1;i<=N;i++)); do CPIDS+=("$(cat "$RUN/n$i/pid")"); done
	RES[corosync,rss_idle]+=" $(rss_max "${CPIDS[@]}")"
	for c in $CASES; do
		size=${c%%:*} senders=${c##*:}
		start=$(awk -v n="$(now)" 'BEGIN{printf "%.3f", n+2}')
		pids=()
		for ((i=1;i<=N;i++)); do
			s=""; [ "$i" -le "$senders" ] && s=-s
			nsx $i "$RUN/cpgload" -n $N -a "$start" -w "$WARM" -d "$DUR" -z "$size" $s > "$RUN/c-$c-$i.out" 2>&1 &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done
		for ((i=1;i<=N;i++)); do say "rep=$rep corosync size=$size senders=$senders node=$i $(cat "$RUN/c-$c-$i.out")"; done
		record corosync "$c" "$RUN/c-$c-1.out"
		sleep 1
	done
	RES[corosync,rss]+=" $(rss_max "${CPIDS[@]}")"
	stop_all $N
}

quorate_phase() {   # quorate_phase REP: start the agents in the same namespaces, run every case, stop them
	local rep=$1 c size senders pids i p ok k prof
	QPIDS=()
	for ((i=1;i<=N;i++)); do
		prof=()
		[ "$i" = 1 ] && [ "$rep" = 1 ] && [ -n "${PROFILE:-}" ] && prof=(--cpu-profile "$PROFILE")
		# Not through nsx: a backgrounded shell function is a subshell,
		# and $! must be the agent (ip netns exec execs it).
		ip netns exec "$NSP$i" "$QUORATE" agent --config "$RUN/n$i/corosync.conf" --node "node$i" --admin "$RUN/q$i.sock" \
			--data-dir "$RUN/q$rep-$i" --join-listen off "${prof[@]}" > "$RUN/q$i.log" 2>&1 &
		QPIDS+=($!)
	done
	for k in $(seq 1 600); do ok=1; for ((i=1;i<=N;i++)); do "$QUORATE" status --admin "$RUN/q$i.sock" >/dev/null 2>&1 || ok=0; done; [ $ok = 1 ] && break; sleep 0.1; done
	[ $ok = 1 ] || { say "the quorate agents did not become quorate"; tail -20 "$RUN"/q*.log >&2; exit 1; }
	sleep 2
	# `quorate agent` runs the daemon binary quorate-agent when it is
	# installed beside quorate from the same build: say which ran.
	[ "$rep" = 1 ] && say "# the agents' executable: $(readlink "/proc/${QPIDS[0]}/exe")"
	RES[quorate,rss_idle]+=" $(rss_max "${QPIDS[@]}")"
	for c in $CASES; do
		size=${c%%:*} senders=${c##*:}
		for ((i=1;i<=senders;i++)); do "$QUORATE" load --count 1000000000 --size "$size" --admin "$RUN/q$i.sock" >/dev/null; done
		sleep "$WARM"
		pids=()
		for ((i=1;i<=N;i++)); do
			"$QUORATE" load --measure "${DUR}s" --admin "$RUN/q$i.sock" > "$RUN/q-$c-$i.out" 2>&1 &
			pids+=($!)
		done
		for p in "${pids[@]}"; do wait "$p"; done
		for ((i=1;i<=senders;i++)); do "$QUORATE" load --count 0 --admin "$RUN/q$i.sock" >/dev/null; done
		for ((i=1;i<=N;i++)); do say "rep=$rep quorate size=$size senders=$senders node=$i $(cat "$RUN/q-$c-$i.out")"; done
		record quorate "$c" "$RUN/q-$c-1.out"
		sleep 2
	done
	RES[quorate,rss]+=" $(rss_max "${QPIDS[@]}")"
	for p in "${QPIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${QPIDS[@]}"; do wait "$p" 2>/dev/null; done
	QPIDS=()
}

# record SYSTEM CASE FILE: node 1's figures of one repetition.
record() {
	RES[$1,$2,rate]+=" $(field msgs_per_s "$3")"
	RES[$1,$2,p50]+=" $(field lat_p50_us "$3")"
	RES[$1,$2,p99]+=" $(field lat_p99_us "$3")"
}

# Corosync and quorate alternate, so that a change of the machine's load
# during the run falls on both.
for ((rep=1;rep<=REPS;rep++)); do
	corosync_phase $rep
	quorate_phase $rep
done

# --- the table ----------------------------------------------------------
# med LIST: the median of numbers; span LIST: "median (min-max)".
med() { echo "$@" | tr ' ' '\n' | grep -v '^-*$' | sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print "-"; exit} print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2 }'; }
span() { echo "$@" | tr ' ' '\n' | grep -v '^-*$' | sort -g | awk '{a[NR]=$1} END{ if (NR==0) {print "-"; exit} m=(NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2; if (NR==1) printf "%.0f", m; else printf "%.0f (%.0f-%.0f)", m, a[1], a[NR] }'; }
ms() { awk -v u="$1" 'BEGIN{ if (u == "-" || u == "") print "-"; else printf "%.2f", u/1000 }'; }
mib() { awk -v k="$1" 'BEGIN{ if (k == "-" || k == "") print "-"; else printf "%.1f", k/1024 }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN{ if (b+0 == 0 || a == "-") print "-"; else printf "%.2fx", a/b }'; }
{
	echo
	echo "Median of $REPS repetitions (min-max); latency: node 1's own messages, multicast call to delivery back."
	echo
	echo "| case | Corosync msgs/s | quorate msgs/s | quorate / Corosync (medians) | Corosync p50 / p99 (ms) | quorate p50 / p99 (ms) |"
	echo "|---|---|---|---|---|---|"
	for c in $CASES; do
		size=${c%%:*} senders=${c##*:}
		label="$size B, $senders sender"; [ "$senders" != 1 ] && label="${label}s"
		cr=${RES[corosync,$c,rate]} qr=${RES[quorate,$c,rate]}
		echo "| $label | $(span $cr) | $(span $qr) | $(ratio "$(med $qr)" "$(med $cr)") | $(ms "$(med ${RES[corosync,$c,p50]})") / $(ms "$(med ${RES[corosync,$c,p99]})") | $(ms "$(med ${RES[quorate,$c,p50]})") / $(ms "$(med ${RES[quorate,$c,p99]})") |"
	done
	echo "| RSS of the largest daemon, idle / after the floods (MiB) | $(mib "$(med ${RES[corosync,rss_idle]})") / $(mib "$(med ${RES[corosync,rss]})") | $(mib "$(med ${RES[quorate,rss_idle]})") / $(mib "$(med ${RES[quorate,rss]})") | $(ratio "$(med ${RES[quorate,rss]})" "$(med ${RES[corosync,rss]})") after the floods | | |"
} | tee -a "$OUT"
