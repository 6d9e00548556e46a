#!/bin/bash
# loss_debug.sh N PERMILLE SECONDS OUTDIR
#  One run of the reference's random-loss experiment (one knet link, every
#  knet packet dropped at its receiver with probability PERMILLE/1000) with
#  corosync's debug logging on, so that the totem states, retransmissions and
#  the service synchronisation's steps are in the logs. Run it under
#  `flock /tmp/corosync-harness.lock` with RUN set to a directory of yours;
#  the logs are copied to OUTDIR/nI.log. DEBUG=0 keeps the harness's
#  logging (no debug lines).
set -u
. /work/shared/corosync-harness/lib.sh
N=${1:-5}; P=${2:-50}; SECS=${3:-60}; OUT=${4:-/tmp/loss-debug}
mkdir -p "$OUT"
stop_all "$N"; net_down; rm -rf "$RUN"; net_up "$N"; write_confs "$N" "" 1
for ((i = 1; i <= N; i++)); do
  [ "${DEBUG:-1}" = 1 ] && sed -i "s/debug: off/debug: on/" "$RUN/n$i/corosync.conf"
  nsx "$i" nft -f - <<NFT
table inet csloss {
  chain i {
    type filter hook input priority -10; policy accept;
    iifname "eth0" udp dport 5405 counter
    iifname "eth0" udp dport 5405 numgen random mod 1000 < $P counter drop
  }
}
NFT
done
sleep 0.5
for ((i = 1; i <= N; i++)); do start_node "$i"; done
sleep "$SECS"
for ((i = 1; i <= N; i++)); do nsx "$i" corosync-quorumtool -s > "$OUT/n$i.quorum" 2>&1; done
stop_all "$N"
for ((i = 1; i <= N; i++)); do cp "$RUN/n$i/corosync.log" "$OUT/n$i.log"; done
net_down
