#!/bin/bash
# exp_kill9.sh N TOKEN|default REPS OUTDIR
#  The reference's node crash (exp_start_crash.sh (b)) with more
#  repetitions and at arbitrary points of knet's ping cycle: after all N
#  daemons are quorate, each repetition waits 2 s plus a uniform random
#  part of JITTER_S seconds (default 1.5, a little more than one ping
#  period with the default token), sends SIGKILL to one node (victims
#  rotate over nodes 2..N), and records
#    - knet_no_active_links_ms: until the last survivor logs
#      "host: V has no active links" (the figure the simulator's
#      "no active links to the victim (last survivor)" row compares with);
#    - new_membership_ms: until the last survivor logs a new membership
#      with V in "Members left";
#    - membership_events: how many new memberships the survivors logged
#      in between (more than one per survivor means the crash re-formed
#      the ring more than once);
#  then restarts the victim and waits until every node logs Members[N].
#  Lines go to OUTDIR/kill9.txt, the last repetition's logs to OUTDIR.
#  It takes the harness's lock (/tmp/corosync-harness.lock) itself, so
#  that it never runs beside another experiment on the same namespaces;
#  set RUN to a directory of yours. It tears the namespaces down at the end.
set -u
if [ $# -lt 4 ] || [ "$1" = -h ] || [ "$1" = --help ]; then
	echo "usage: exp_kill9.sh N TOKEN|default REPS OUTDIR   (root; JITTER_S, RUN)" >&2
	exit 2
fi
if [ "${EXP_KILL9_LOCKED:-}" != 1 ]; then
	export EXP_KILL9_LOCKED=1
	exec flock /tmp/corosync-harness.lock "$(cd "$(dirname "$0")" && pwd)/$(basename "$0")" "$@"
fi
. /work/shared/corosync-harness/lib.sh
N=$1; TOK=$2; REPS=$3; OUT=$4
JITTER_S=${JITTER_S:-1.5}
tokarg=""; [ "$TOK" != default ] && tokarg=$TOK
mkdir -p "$OUT"; : > "$OUT/kill9.txt"
log() { echo "$*" | tee -a "$OUT/kill9.txt"; }
stop_all "$N"; net_down; rm -rf "$RUN"; net_up "$N"; write_confs "$N" "$tokarg"
for ((i = 1; i <= N; i++)); do start_node "$i"; done
for k in $(seq 1 300); do ok=1; for ((i = 1; i <= N; i++)); do is_quorate "$i" || ok=0; done; [ $ok = 1 ] && break; sleep 0.1; done
[ "$ok" = 1 ] || { log "cluster never quorate"; stop_all "$N"; net_down; exit 1; }
log "# exp_kill9 N=$N token=$TOK reps=$REPS jitter_s=$JITTER_S $(date -u +%FT%TZ)"
for ((r = 1; r <= REPS; r++)); do
  v=$(((r % (N - 1)) + 2))
  sleep "$(awk -v j="$JITTER_S" -v s="$RANDOM" 'BEGIN { srand(s); printf "%.3f", 2 + rand() * j }')"
  t0=$(now); kill_node "$v" KILL
  for k in $(seq 1 400); do
    done_=1
    for ((i = 1; i <= N; i++)); do
      [ "$i" = "$v" ] && continue
      [ -n "$(logts_first "$RUN/n$i/corosync.log" "Members\[$((N - 1))\]" "$t0")" ] || { done_=0; break; }
    done
    [ $done_ = 1 ] && break; sleep 0.1
  done
  mx=0; kmx=0; nm=0
  for ((i = 1; i <= N; i++)); do
    [ "$i" = "$v" ] && continue
    t=$(logts_first "$RUN/n$i/corosync.log" "A new membership .*Members left: .*\\b$v\\b" "$t0")
    ms=$(ms_since "$t0" "${t:-0}"); [ -z "$t" ] && ms=99999; [ "$ms" -gt "$mx" ] && mx=$ms
    tk=$(logts_first "$RUN/n$i/corosync.log" "host: $v has no active links" "$t0")
    kms=$(ms_since "$t0" "${tk:-0}"); [ -z "$tk" ] && kms=99999; [ "$kms" -gt "$kmx" ] && kmx=$kms
    nm=$((nm + $(logts_lines "$RUN/n$i/corosync.log" 'A new membership' "$t0" | wc -l)))
  done
  log "rep=$r victim=node$v knet_no_active_links_ms=$kmx new_membership_ms=$mx membership_events=$nm"
  sleep 1
  t1=$(now); start_node "$v"
  for k in $(seq 1 400); do
    done_=1
    for ((i = 1; i <= N; i++)); do
      [ -n "$(logts_first "$RUN/n$i/corosync.log" "Members\[$N\]" "$t1")" ] || { done_=0; break; }
    done
    [ $done_ = 1 ] && break; sleep 0.1
  done
done
log "SUMMARY knet_no_active_links_ms $(awk -F'knet_no_active_links_ms=' '/^rep=/{split($2,a," "); print a[1]}' "$OUT/kill9.txt" | stats)"
log "SUMMARY new_membership_ms $(awk -F'new_membership_ms=' '/^rep=/{split($2,a," "); print a[1]}' "$OUT/kill9.txt" | stats)"
stop_all "$N"
for ((i = 1; i <= N; i++)); do cp "$RUN/n$i/corosync.log" "$OUT/n$i.log"; done
net_down
