#!/bin/sh
# submit.sh N SCENARIO SEEDS OUT [sbatch options...]: submits an N-task
# array sweep (sweep.sbatch) and its merge (merge.sbatch) that starts once
# every task has succeeded, and prints both job ids. QUORATE and VARY pass
# through to the jobs; the sbatch options (e.g. --partition=long) go to
# both submissions.
set -eu

if [ $# -lt 4 ]; then
	echo "usage: submit.sh N SCENARIO SEEDS OUT [sbatch options...]" >&2
	exit 2
fi
n=$1 scenario=$2 seeds=$3 out=$4
shift 4
case $n in
'' | *[!0-9]* | 0)
	echo "submit.sh: N must be a whole number of array tasks, not '$n'" >&2
	exit 2
	;;
esac
here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$out"
out=$(cd "$out" && pwd)
case $scenario in
/*) ;;
*) scenario=$(pwd)/$scenario ;;
esac

export SCENARIO="$scenario" SEEDS="$seeds" OUT="$out"
array=$(sbatch --parsable --array="1-$n" --output="$out/quorate-sweep-%A_%a.out" "$@" "$here/sweep.sbatch")
array=${array%%;*}
merge=$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes --output="$out/quorate-merge-%j.out" "$@" "$here/merge.sbatch")
merge=${merge%%;*}
echo "sweep array job $array ($n tasks), merge job $merge; results in $out/merged"
