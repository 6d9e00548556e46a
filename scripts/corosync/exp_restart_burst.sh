#!/bin/bash
# exp_restart_burst.sh [REPS] [OUTDIR]
#
# The fault schedule of the simulator's random crash scenario seed 795 (or
# FAULTS, below) on a real Corosync 3 cluster: four nodes on one knet link
# (link 0), token 1000 (N=5 for five nodes).
# Each repetition starts the four daemons, waits until every node is in one
# ring of four, waits 2 s more, then applies the eight faults (kill -9 and
# restart) at the scenario's offsets relative to its first fault, and
# records how long after the last restart every node is in one ring of four,
# and every ring each node formed on the way (from `timestamp: hires` logs,
# debug on so that the GATHER entries and consensus timeouts are visible).
#
# Environment: N (nodes, default 4), FAULTS (below), TOKEN (totem.token,
# default 1000), TOTEM_EXTRA (further totem keys of a random scenario) and
# JITTER_MS (a random extra wait before the first fault, below),
# LOSS_PER100K (random loss on every node's knet traffic, per 100,000
# packets, dropped at the receiver by an nftables input rule in each
# namespace, from the nodes' start) and LOSS_END_MS (the scenario offset of
# a `set_loss ... loss: 0` fault: the rule is removed then; without it the
# loss stays to the end of the repetition), CPG_RATE and CPG_SIZE (a CPG
# workload: every running node multicasts CPG_SIZE-byte agreed messages at
# CPG_RATE per second with cpgrate.c, restarted with its daemon, as the
# simulator's `workload: {kind: multicast}`), DELAY_MS and DELAY_JITTER_MS
# (a one-way delay on every hop, explib.sh), INITIAL_WAIT_S (default 60:
# how long the first ring of N may take) and SETTLE_WAIT_S (default 120:
# how long after the last kill or restart a repetition waits for one ring
# of N). With DELAY_MS and every time scaled by one factor (FAULTS, TOKEN,
# the timers in TOTEM_EXTRA, CPG_RATE divided), a schedule runs slowed
# down, the daemons' waits for the two vCPUs small beside a hop, as on
# separate hosts.
#
# It uses the shared reference harness (HARNESS, default
# /work/shared/corosync-harness, for net_up/write_confs/start_node/...),
# takes its lock (/tmp/corosync-harness.lock) for the whole run, keeps its
# runtime state in a fresh temporary directory and tears the namespaces and
# bridges down at the end. Per-repetition logs and one summary line per
# repetition go to OUTDIR (default: a temporary directory, printed); the
# figures are made by exp_restart_burst_parse.py from those logs.
set -u
REPS=${1:-5}
OUTDIR=${2:-$(mktemp -d /tmp/restart-burst.XXXXXX)}
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
# shellcheck source=explib.sh
. "$(dirname "$SELF")/explib.sh"
exp_locked "$SELF" "$REPS" "$OUTDIR"
exp_harness restart-burst
N=${N:-4}
mkdir -p "$OUTDIR"
trap 'exp_delay_off; pkill -f "$RUN.cpgrate"; stop_all $N; net_down; rm -rf "$RUN" "$RUN.cpgrate" "$RUN.nfq_delay"' EXIT
exp_delay_setup
INITIAL_WAIT_S=${INITIAL_WAIT_S:-60}
SETTLE_WAIT_S=${SETTLE_WAIT_S:-120}

# The schedule, "MS:kill|start:NODE ..." in ms after the scenario's start;
# by default that of random-crash-795 (testdata/regress). The faults are
# applied at these offsets from the first one.
FAULTS=${FAULTS:-"8640:kill:4 12405:kill:1 16836:kill:3 19321:start:4 20276:start:1 21375:kill:4 23108:start:3 26549:start:4"}
FIRST=${FAULTS%%:*}
# JITTER_MS: wait a further uniform 0..JITTER_MS ms before the first fault,
# so that the survivors' knet ping phases (one ping every 600 ms) and Totem
# timers fall at a different point of the schedule in every repetition;
# without it the repetitions sample nearly the same phases.
JITTER_MS=${JITTER_MS:-0}

loss_on() {   # loss_on I: drop LOSS_PER100K of every 100,000 knet packets into node I
  nsx "$1" nft -f - <<EOF
table inet rbloss {
  chain i {
    type filter hook input priority -10; policy accept;
    iifname "eth0" udp dport 5405 numgen random mod 100000 < $LOSS_PER100K counter drop
  }
}
EOF
}
loss_off() { nsx "$1" nft delete table inet rbloss 2>/dev/null; }
LOSS_PER100K=${LOSS_PER100K:-0}
CPG_RATE=${CPG_RATE:-}
CPG_SIZE=${CPG_SIZE:-512}
if [ -n "$CPG_RATE" ]; then
  gcc -O2 -o "$RUN.cpgrate" "$(dirname "$SELF")/cpgrate.c" -lcpg || exit 1
fi
start_one() {  # start_one I: the daemon, and its CPG sender when CPG_RATE is set
  start_node "$1"
  if [ -n "$CPG_RATE" ]; then
    nsx "$1" "$RUN.cpgrate" "$CPG_RATE" "$CPG_SIZE" > "$RUN/cpgrate.$1.log" 2>&1 &
  fi
}
LOSS_END_MS=${LOSS_END_MS:-}
if [ -n "$LOSS_END_MS" ]; then FAULTS="$FAULTS $LOSS_END_MS:lossoff:all"; fi
# A repetition lasts at most its schedule plus the settle wait (120 s) and
# 30 s more: then the watchdog (explib.sh) kills the daemons, should they
# storm and starve this shell.
LAST=$(for f in $FAULTS; do echo "${f%%:*}"; done | sort -n | tail -1)
LIMIT_S=$(( (LAST - FIRST) / 1000 + SETTLE_WAIT_S + 30 ))


for ((r=1;r<=REPS;r++)); do
  exp_delay_off; stop_all $N; net_down; rm -rf "${RUN:?}"/*
  net_up $N; write_confs $N "${TOKEN:-1000}" 1; exp_delay_on
  for ((i=1;i<=N;i++)); do
    sed -i 's/^  debug: off/  debug: on/' "$RUN/n$i/corosync.conf"
    # TOTEM_EXTRA: further totem keys, "key: value;key: value" (a random
    # scenario's timers: token_coefficient, consensus, join, ...).
    if [ -n "${TOTEM_EXTRA:-}" ]; then
      extra=$(printf '%s' "$TOTEM_EXTRA" | tr ';' '\n' | sed 's/^ */  /')
      awk -v x="$extra" '{print} /^  token:/{print x}' "$RUN/n$i/corosync.conf" > "$RUN/n$i/c.tmp" && mv "$RUN/n$i/c.tmp" "$RUN/n$i/corosync.conf"
    fi
  done
  sleep 0.5
  if [ "$LOSS_PER100K" -gt 0 ]; then for ((i=1;i<=N;i++)); do loss_on $i; done; fi
  tb=$(now)
  for ((i=1;i<=N;i++)); do start_one $i; done
  if ! wait_ring_of $N "$tb" "$INITIAL_WAIT_S"; then echo "rep=$r no initial ring of $N" | tee -a "$OUTDIR/summary.txt"; continue; fi
  sleep 2
  if [ "$JITTER_MS" -gt 0 ]; then
    jit=$((RANDOM % (JITTER_MS + 1)))
    sleep "$(awk -v j="$jit" 'BEGIN{printf "%.3f", j/1000}')"
    echo "rep=$r jitter_ms=$jit" >> "$OUTDIR/summary.txt"
  fi
  t0=$(now)
  wd=$(exp_watchdog "$LIMIT_S")
  for f in $FAULTS; do
    at=${f%%:*}; rest=${f#*:}; act=${rest%%:*}; node=${rest#*:}
    due=$(awk -v a="$t0" -v o="$at" -v f="$FIRST" 'BEGIN{printf "%.6f", a+(o-f)/1000}')
    while :; do
      left=$(awk -v d="$due" -v n="$(now)" 'BEGIN{printf "%.6f", d-n}')
      awk -v l="$left" 'BEGIN{exit !(l>0)}' || break
      sleep "$(awk -v l="$left" 'BEGIN{print (l>0.05)?l-0.02:0.005}')"
    done
    tf=$(now)
    case $act in
      kill) kill_node "$node" KILL ;;
      start) start_one "$node" ;;
      lossoff) for ((i=1;i<=N;i++)); do loss_off $i; done ;;
    esac
    echo "$tf $act $node" >> "$OUTDIR/rep$r.faults"
    tlast=$tf
    # The end of the loss changes no membership: the wait below starts
    # from the last kill or restart.
    [ "$act" = lossoff ] || tnode=$tf
  done
  # Settled: every node logs a membership of all N after the last kill or
  # restart. SETTLE_WAIT_S (120 s) is far above anything Corosync needs on
  # the bridge; a timeout is reported.
  if wait_ring_of $N "$tnode" "$SETTLE_WAIT_S"; then st=ok; else st=timeout; fi
  sleep 10  # a later change would show up in the logs
  mkdir -p "$OUTDIR/rep$r"
  for ((i=1;i<=N;i++)); do cp "$RUN/n$i/corosync.log" "$OUTDIR/rep$r/node$i.log"; done
  pkill -f "$RUN.cpgrate" 2>/dev/null
  exp_watchdog_stop "$wd"
  echo "rep=$r t0=$t0 last_restart=$tlast wait=$st" | tee -a "$OUTDIR/summary.txt"
done
echo "logs in $OUTDIR"
