#!/bin/bash
# switch_debug.sh N TOKEN|default REPS OUTDIR
#  The reference's switch failure (exp_switch.sh: `ip link set sw0 down` for
#  HOLD s, then up) with corosync's and knet's debug logging on, so that the
#  logs say how knet learned that link 0 was down: a heartbeat timeout
#  ("link: host: J link: 0 is down" alone) or an error on the link's socket
#  (knet's "Received ICMP error ..." / transport lines before it). Kernel
#  neighbour states of node 1 are sampled around the failure. JITTER_S (a
#  number of seconds, default 0) adds a random wait in [0, JITTER_S) before
#  each failure, so that the repetitions fall at arbitrary points of knet's
#  ping cycle. Run it under
#  `flock /tmp/corosync-harness.lock` with RUN set to a directory of yours;
#  logs go to OUTDIR.
set -u
. /work/shared/corosync-harness/lib.sh
N=${1:-3}; TOK=${2:-default}; REPS=${3:-2}; OUT=${4:-/tmp/switch-debug}; HOLD=${HOLD:-6}
tokarg=""; [ "$TOK" != default ] && tokarg=$TOK
mkdir -p "$OUT"
stop_all "$N"; net_down; rm -rf "$RUN"; net_up "$N"; write_confs "$N" "$tokarg"
for ((i = 1; i <= N; i++)); do sed -i 's/debug: off/debug: on/' "$RUN/n$i/corosync.conf"; done
for ((i = 1; i <= N; i++)); do start_node "$i"; done
for k in $(seq 1 300); do ok=1; for ((i = 1; i <= N; i++)); do is_quorate "$i" || ok=0; done; [ $ok = 1 ] && break; sleep 0.1; done
sleep 3
for ((r = 1; r <= REPS; r++)); do
  sleep "$(awk -v j="${JITTER_S:-0}" 'BEGIN { srand(); printf "%.3f", rand() * j }')"
  { echo "rep $r before"; nsx 1 ip neigh show dev eth0; } >> "$OUT/neigh.txt"
  echo "rep $r down $(now)" >> "$OUT/times.txt"
  ip link set "$BR0" down
  for k in 1 2 3 4 5 6; do sleep 0.5; { echo "rep $r +$((k * 500))ms"; nsx 1 ip neigh show dev eth0; } >> "$OUT/neigh.txt"; done
  sleep $((HOLD - 3))
  echo "rep $r up $(now)" >> "$OUT/times.txt"
  ip link set "$BR0" up
  sleep 8
done
stop_all "$N"
for ((i = 1; i <= N; i++)); do cp "$RUN/n$i/corosync.log" "$OUT/n$i.log"; done
net_down
