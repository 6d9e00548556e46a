#!/bin/bash
# record_incidents.sh OUTDIR [INCIDENT...]
#
# Records real Corosync 3 incidents for the importer's fixtures
# (quorate trace import --corosync-conf): each incident starts a small
# cluster of real corosync daemons in network namespaces with the shared
# reference harness (HARNESS, default /work/shared/corosync-harness, whose
# lib.sh gives net_up, write_confs, start_node, kill_node, stop_all), does
# one thing to it and keeps every node's logfile (timestamp: hires) and
# corosync.conf in OUTDIR/INCIDENT/.
#
# Incidents (default: all):
#   switch-1link   3 nodes, one link: the link's switch goes down for 8 s
#   switch-2link   3 nodes, two links: link0's switch goes down for 8 s
#   partition      5 nodes, two links: {1,2} cut from {3,4,5} on both links for 8 s
#   crash-restart  3 nodes, two links: node3 killed (SIGKILL), started 6 s later;
#                  node2 stopped (SIGTERM), started 6 s later
#   loss           3 nodes, one link, CPG traffic (the harness's cpgbench): 10% of
#                  the knet packets dropped at every receiver for 10 s
#
# The harness is shared: every incident runs under
# flock /tmp/corosync-harness.lock, with RUN in a directory of our own,
# and tears the namespaces down before the lock is released. Needs root,
# corosync, nftables and iproute2, and for the loss incident gcc and
# libcpg-dev (apt-get install corosync nftables gcc libcpg-dev).
set -u
HARNESS=${HARNESS:-/work/shared/corosync-harness}
LOCK=/tmp/corosync-harness.lock

if [ "${1:-}" = --one ]; then
  # Runs one incident; called by the outer script under the lock.
  name=$2 out=$3
  RUN=$(mktemp -d /tmp/quorate-incident.XXXXXX)
  export RUN
  . "$HARNESS/lib.sh"
  N=3
  trap 'stop_all $N; net_down; rm -rf "$RUN"' EXIT
  wait_all() {  # wait_all N : until every node is quorate (at most 30 s)
    local k i ok
    for k in $(seq 1 300); do ok=1; for ((i=1;i<=$1;i++)); do is_quorate $i || ok=0; done
      [ $ok = 1 ] && return 0; sleep 0.1; done
    echo "record_incidents: $name: cluster not quorate after 30 s" >&2
  }
  cut() {  # cut I "PEERS": node I drops all traffic from and to PEERS on both links
    local i=$1 set="" p
    for p in $2; do set="$set,10.99.0.$p,10.99.1.$p"; done; set=${set#,}
    nsx "$i" nft -f - <<NFT
table inet qincident {
  chain i { type filter hook input priority 0; ip saddr { $set } drop; }
  chain o { type filter hook output priority 0; ip daddr { $set } drop; }
}
NFT
  }
  heal() { nsx "$1" nft delete table inet qincident 2>/dev/null; true; }
  loss_on() {  # loss_on I PERMILLE: drop knet packets at node I's receiver
    nsx "$1" nft -f - <<NFT
table inet qincident {
  chain i { type filter hook input priority 0; iifname "eth0" udp dport 5405 numgen random mod 1000 < $2 drop; }
}
NFT
  }
  links=2
  case $name in switch-1link|loss) links=1 ;; partition) N=5 ;; esac
  stop_all $N; net_down; net_up $N; write_confs $N "" $links
  for ((i=1;i<=N;i++)); do start_node $i; done
  wait_all $N; sleep 3
  case $name in
    switch-1link|switch-2link)
      ip link set sw0 down; sleep 8; ip link set sw0 up ;;
    partition)
      for i in 1 2; do cut $i "3 4 5"; done; for i in 3 4 5; do cut $i "1 2"; done
      sleep 8
      for ((i=1;i<=N;i++)); do heal $i; done ;;
    crash-restart)
      kill_node 3 KILL; sleep 6; start_node 3; wait_all $N; sleep 3
      kill_node 2 TERM; sleep 6; start_node 2 ;;
    loss)
      # Totem retransmits only messages: the harness's cpgbench keeps a
      # message of every node in flight (ping mode) while 10% of the
      # knet packets are lost at every receiver.
      gcc -O2 -o "$RUN/cpgbench" "$HARNESS/cpgbench.c" -lcpg || exit 1
      start=$(( $(date +%s) + 2 ))
      benches=""
      for ((i=1;i<=N;i++)); do
        nsx $i "$RUN/cpgbench" -n $N -t $start -s -d 16 -w 2 -m ping > "$RUN/n$i/cpgbench.out" 2>&1 &
        benches="$benches $!"
      done
      sleep 4
      for ((i=1;i<=N;i++)); do loss_on $i 100; done
      sleep 10
      for ((i=1;i<=N;i++)); do heal $i; done
      wait $benches ;;
    *) echo "record_incidents: unknown incident $name" >&2; exit 2 ;;
  esac
  # Long enough for the nodes to find each other again (a node of the
  # losing side can call itself quorate before it has merged).
  sleep 8; wait_all $N; sleep 3
  stop_all $N
  mkdir -p "$out/$name"
  for ((i=1;i<=N;i++)); do
    cp "$RUN/n$i/corosync.log" "$out/$name/node$i.log"
    # The configuration without the run directory's paths.
    sed -e "s#$RUN/n$i/corosync.log#/var/log/corosync/corosync.log#; s#$RUN/n$i/state#/var/lib/corosync#; s#$RUN#/etc/corosync#g" \
      "$RUN/n$i/corosync.conf" > "$out/$name/corosync.conf"
  done
  exit 0
fi

out=${1:?usage: record_incidents.sh OUTDIR [INCIDENT...]}
shift
[ $# -gt 0 ] || set -- switch-1link switch-2link partition crash-restart loss
mkdir -p "$out"; out=$(cd "$out" && pwd)
for name in "$@"; do
  echo "record_incidents: $name" >&2
  flock "$LOCK" "$0" --one "$name" "$out" || exit 1
done
