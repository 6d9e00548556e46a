#!/bin/sh
# setup-slurm.sh installs what the Slurm end-to-end test of deploy/slurm
# needs: Debian's slurm-wlm (slurmctld, slurmd and the client commands) and
# munge. The test starts its own munged and one-node cluster with its
# configuration in a temporary directory; the packages' services are not
# used. Only as root on a Debian-like system; elsewhere it says what is
# missing, and the test skips (outside CI) or fails (CI=true).
set -eu

missing=""
command -v slurmctld >/dev/null 2>&1 || missing="$missing slurm-wlm"
command -v munged >/dev/null 2>&1 || missing="$missing munge"
if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "setup-slurm: not installing$missing (needs root and apt-get)" >&2
	exit 0
fi
echo "setup-slurm: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get -o DPkg::Lock::Timeout=900 install -y -qq --no-install-recommends $missing >/dev/null
# The packages start their own munge and slurm services where an init
# system runs; the test needs none of them.
