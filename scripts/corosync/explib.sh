# explib.sh: what the experiment scripts in this directory share. Source it
# first thing (after `set -u`); it defines:
#
#   exp_locked SELF ARGS...   re-executes SELF with ARGS under the reference
#                             harness's lock (/tmp/corosync-harness.lock)
#                             unless this process already holds it: the
#                             harness's namespaces and bridges are one set
#                             for the whole machine.
#   exp_harness PREFIX        a fresh RUN directory /tmp/PREFIX-run.XXXXXX
#                             (exported) and the harness's lib.sh sourced
#                             (HARNESS, default /work/shared/corosync-harness).
#   wait_ring_of K SINCE S    waits up to S seconds until every node 1..N has
#                             logged "Members[K]" after SINCE (epoch seconds).
#                             The S seconds are the wall clock's, not a count
#                             of polls: a poll of a starved shell can take
#                             seconds.
#   exp_watchdog S            starts a real-time watchdog that kills every
#                             corosync daemon (SIGKILL) after S seconds and
#                             prints its pid; exp_watchdog_stop PID stops it.
#   exp_delay_setup           with DELAY_MS set (whole milliseconds, default
#                             0: none), builds the harness's nfq_delay;
#                             exp_delay_on then holds every packet each node
#                             1..N sends out of eth0 (not its own loopback)
#                             DELAY_MS plus a uniform 0..DELAY_JITTER_MS
#                             (default 0) in user space, through NFQUEUE (the
#                             kernel has no netem); exp_delay_off stops it.
#                             nfq_delay releases on a 1 ms poll and adds
#                             about 0.7 ms of its own, so a hop takes
#                             DELAY_MS + 0.7 to 1.7 ms.
#
# Why the watchdog: the daemons run real-time (SCHED_RR 99). When their
# membership storms (JOINs exchanged as fast as they can be sent, rings
# re-formed without end) they keep both vCPUs busy, an ordinary shell gets
# only the kernel's leftover 5% for non-real-time work, and a repetition
# meant to time out after two minutes ran for more than ten. The watchdog
# sleeps at real-time priority itself, so it runs when it wakes and ends
# the repetition; the logs stay for the parse scripts, which report the
# repetition as not settled.

exp_locked() {
  if [ "${EXP_HARNESS_LOCKED:-}" != 1 ]; then
    export EXP_HARNESS_LOCKED=1
    exec flock /tmp/corosync-harness.lock "$@"
  fi
}

exp_harness() {
  RUN=$(mktemp -d "/tmp/$1-run.XXXXXX")
  export RUN
  # shellcheck source=/dev/null
  . "${HARNESS:-/work/shared/corosync-harness}/lib.sh"
}

wait_ring_of() {
  local k=$1 since=$2 tmo=$3 i ok end
  end=$(( $(date +%s) + tmo ))
  while :; do
    ok=1
    for ((i=1;i<=N;i++)); do
      [ -n "$(logts_first "$RUN/n$i/corosync.log" "QUORUM.*Members\[$k\]" "$since")" ] || { ok=0; break; }
    done
    [ $ok = 1 ] && return 0
    [ "$(date +%s)" -ge "$end" ] && return 1
    sleep 0.1
  done
}

exp_watchdog() {
  chrt -f 99 sh -c 'sleep "$0" && pkill -KILL -x corosync' "$1" > /dev/null 2>&1 &
  echo $!
}

exp_watchdog_stop() {
  pkill -P "$1" 2> /dev/null
  kill "$1" 2> /dev/null
  true
}

EXP_QPIDS=()
exp_delay_setup() {
  DELAY_MS=${DELAY_MS:-0}
  DELAY_JITTER_MS=${DELAY_JITTER_MS:-0}
  [ "$DELAY_MS" = 0 ] && return 0
  case $DELAY_MS$DELAY_JITTER_MS in *[!0-9]*) echo "DELAY_MS=$DELAY_MS DELAY_JITTER_MS=$DELAY_JITTER_MS: whole milliseconds" >&2; exit 2;; esac
  if ! command -v iptables-legacy > /dev/null || [ ! -f /usr/include/libnetfilter_queue/libnetfilter_queue.h ]; then
    echo "DELAY_MS needs iptables-legacy and libnetfilter_queue (apt-get install iptables libnetfilter-queue-dev)" >&2
    exit 2
  fi
  gcc -O2 -o "$RUN.nfq_delay" "${HARNESS:-/work/shared/corosync-harness}/nfq_delay.c" -lnetfilter_queue || exit 1
}

exp_delay_on() {
  local i
  [ "${DELAY_MS:-0}" = 0 ] && return 0
  for ((i=1;i<=N;i++)); do
    ip netns exec "$NSP$i" chrt -f 99 "$RUN.nfq_delay" 0 "$DELAY_MS" "$DELAY_JITTER_MS" 2>> "$RUN/nfq.$i.log" &
    EXP_QPIDS+=($!)
    nsx "$i" iptables-legacy -A OUTPUT -o eth0 -j NFQUEUE --queue-num 0 --queue-bypass
  done
}

exp_delay_off() {
  local p
  for p in "${EXP_QPIDS[@]}"; do kill -TERM "$p" 2> /dev/null; wait "$p" 2> /dev/null; done
  EXP_QPIDS=()
}
