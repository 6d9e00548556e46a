#!/bin/bash
# exp_split_heal.sh REPS OUTDIR
#
# Two groups of a healthy Corosync 3 cluster fail each other, and the
# partition heals while they form their rings: does Corosync merge them, or
# re-form the two rings again and again? N nodes (default 7) on one knet
# link, token TOKEN (default 1000) with token_coefficient 0, consensus
# CONSENSUS (default 1200), knet pings every second with a timeout of 8 s
# (so that knet keeps the links up through the partition: only Totem sees
# it), and every node multicasting CPG_RATE (default 50) agreed CPG_SIZE
# (default 256) byte messages a second with cpgrate.c. Each repetition
# waits for one ring of N, cuts the bridge between the groups G1 (default
# "1 7") and the rest with one nftables bridge rule (both directions, one
# atomic change), and removes it HEAL_MS after the cut (a list, used in
# turn: the offsets around the consensus timeout, token + consensus after
# the cut, where the simulator's rings cycle). It records the rings every
# node installed after the heal and how long until every node logs one
# ring of N (timeout after SETTLE_S, default 60 s).
#
# DELAY_MS (default 0) adds a one-way delay to every packet a node sends
# out of its link (explib.sh, exp_delay_on): with 10 ms the daemons' waits
# for the two vCPUs are small beside a hop, as on separate hosts, while
# their timers stay as configured (docs/fidelity.md, "Ten milliseconds a
# hop"). PING_INTERVAL and PING_TIMEOUT (default 1000 and 8000) set knet's
# heartbeat, TOTEM_EXTRA ("key: value;key: value") further totem keys.
# Scaling every timer with the delay instead (token 10000, pings every
# 10 s with a timeout of 80 s) did not keep the links up: knet declared
# them down 8 to 22 s into the partition.
#
# The simulator's counterpart: docs/fidelity.md ("Two rings that fail each
# other"). It uses the shared reference harness (HARNESS, default
# /work/shared/corosync-harness), takes its lock for the whole run and
# tears everything down at the end.
set -u
if [ $# -ne 2 ]; then echo "usage: $0 REPS OUTDIR" >&2; exit 2; fi
REPS=$1 OUTDIR=$2
SELF="$(cd "$(dirname "$0")" && pwd)/$(basename "$0")"
# shellcheck source=explib.sh
. "$(dirname "$SELF")/explib.sh"
exp_locked "$SELF" "$REPS" "$OUTDIR"
exp_harness split-heal
N=${N:-7}
G1=${G1:-"1 7"}
TOKEN=${TOKEN:-1000}
CONSENSUS=${CONSENSUS:-1200}
HEAL_MS=${HEAL_MS:-"2160 2170 2180 2185 2190 2195 2200 2205"}
CPG_RATE=${CPG_RATE:-50}
CPG_SIZE=${CPG_SIZE:-256}
SETTLE_S=${SETTLE_S:-60}
PING_INTERVAL=${PING_INTERVAL:-1000}
PING_TIMEOUT=${PING_TIMEOUT:-8000}
TOTEM_EXTRA=${TOTEM_EXTRA:-}
mkdir -p "$OUTDIR"
cut_off() { nft delete table bridge splitheal 2>/dev/null; true; }
trap 'exp_delay_off; cut_off; pkill -f "$RUN.cpgrate"; stop_all $N; net_down; rm -rf "$RUN" "$RUN.cpgrate" "$RUN.nfq_delay"' EXIT
gcc -O2 -o "$RUN.cpgrate" "$(dirname "$SELF")/cpgrate.c" -lcpg || exit 1
exp_delay_setup

in_g1() { local g; for g in $G1; do [ "$g" = "$1" ] && return 0; done; return 1; }
ports1="" ports2=""
for ((i=1;i<=N;i++)); do if in_g1 $i; then ports1="$ports1, \"${NSP}${i}l0\""; else ports2="$ports2, \"${NSP}${i}l0\""; fi; done
ports1=${ports1#, } ports2=${ports2#, }

set -- $HEAL_MS
for ((r=1;r<=REPS;r++)); do
  heal=${1:-2180}; shift; set -- "$@" "$heal"
  exp_delay_off; stop_all $N; net_down; cut_off; rm -rf "${RUN:?}"/*
  net_up $N; write_confs $N "$TOKEN" 1; exp_delay_on
  extra=$(printf '%s' "$TOTEM_EXTRA" | tr ';' '\n' | sed -e 's/^ *//' -e '/^$/d' -e 's/^/  /' | sed ':a;N;$!ba;s/\n/\\n/g')
  for ((i=1;i<=N;i++)); do
    sed -i -e 's/^  debug: off/  debug: on/' \
      -e "s/^  token: .*/&\n  token_coefficient: 0\n  consensus: $CONSENSUS${extra:+\\n$extra}/" \
      -e "s/^    knet_link_priority: .*/&\n    knet_ping_interval: $PING_INTERVAL\n    knet_ping_timeout: $PING_TIMEOUT/" "$RUN/n$i/corosync.conf"
  done
  tb=$(now)
  for ((i=1;i<=N;i++)); do
    start_node $i
    nsx $i "$RUN.cpgrate" "$CPG_RATE" "$CPG_SIZE" > "$RUN/cpgrate.$i.log" 2>&1 &
  done
  if ! wait_ring_of $N "$tb" $(( 60 + ${DELAY_MS:-0} * 6 )); then echo "rep=$r no initial ring of $N" | tee -a "$OUTDIR/summary.txt"; continue; fi
  sleep "2.$((RANDOM % 1000))"
  # The cut, one sleep and the heal run in one shell at the highest
  # real-time priority: corosync's threads run real-time too, and with
  # many nodes on two CPUs an ordinary shell woke from its sleep seconds
  # late. HEAL_LEAD_MS (default 4) is what starting nft takes; the cut's
  # and the heal's real instants are recorded (each taken just before its
  # nft, so a ring of N that forms while nft is still exiting counts).
  wait_s=$(awk -v h="$heal" -v l="${HEAL_LEAD_MS:-4}" 'BEGIN{printf "%.3f", (h-l)/1000}')
  cat > "$RUN/cut.nft" <<NFT
table bridge splitheal {
  chain f {
    type filter hook forward priority 0; policy accept;
    iifname { $ports1 } oifname { $ports2 } drop
    iifname { $ports2 } oifname { $ports1 } drop
  }
}
NFT
  # The watchdog (explib.sh) ends a repetition whose daemons storm and
  # starve this shell: SETTLE_S after the heal and 30 s more.
  wd=$(exp_watchdog $(( SETTLE_S + 35 )))
  chrt -f 99 sh -c 'date +%s.%N > "$0/t_cut"; nft -f "$0/cut.nft"; sleep "$1"; date +%s.%N > "$0/t_heal"; nft delete table bridge splitheal' "$RUN" "$wait_s"
  t0=$(cat "$RUN/t_cut") th=$(cat "$RUN/t_heal")

  if wait_ring_of $N "$th" "$SETTLE_S"; then st=ok; else st=timeout; fi
  sleep 5
  mkdir -p "$OUTDIR/rep$r"
  for ((i=1;i<=N;i++)); do cp "$RUN/n$i/corosync.log" "$OUTDIR/rep$r/node$i.log"; done
  exp_delay_off
  for ((i=1;i<=N;i++)); do [ -f "$RUN/nfq.$i.log" ] && cp "$RUN/nfq.$i.log" "$OUTDIR/rep$r/nfq$i.log"; done
  pkill -f "$RUN.cpgrate" 2>/dev/null
  exp_watchdog_stop "$wd"
  echo "rep=$r cut=$t0 heal=$th heal_after_ms=$(ms_since "$t0" "$th") wanted_ms=$heal settled=$st" | tee -a "$OUTDIR/summary.txt"
done
echo "logs in $OUTDIR"
