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
  local k=$1 since=$2 tmo=$3 i j ok
  for ((j=0;j<tmo*10;j++)); do
    ok=1
    for ((i=1;i<=N;i++)); do
      [ -n "$(logts_first "$RUN/n$i/corosync.log" "QUORUM.*Members\[$k\]" "$since")" ] || { ok=0; break; }
    done
    [ $ok = 1 ] && return 0
    sleep 0.1
  done
  return 1
}
