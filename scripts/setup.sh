#!/bin/sh
# setup.sh installs what the tests need beyond Go: iproute2 for the
# network-namespace tests of the real-socket agent, Debian's chromium
# for the test that renders `quorate report` in a real headless browser,
# umoci and runc to unpack and run the container image of `make image`,
# fuse3 (fusermount3) for the FUSE mount of the store (quorate mount),
# and (setup-slurm.sh) slurm-wlm and munge for the Slurm job-array test.
# It installs only what is missing, and only as root on a Debian-like
# system; elsewhere it says what is missing and leaves the tests that need
# it to skip.
set -eu

sh "$(dirname "$0")/setup-slurm.sh"

missing=""
command -v ip >/dev/null 2>&1 || missing="$missing iproute2"
command -v chromium >/dev/null 2>&1 || missing="$missing chromium"
fc-list 2>/dev/null | grep -qi dejavu || missing="$missing fonts-dejavu-core"
command -v umoci >/dev/null 2>&1 || missing="$missing umoci"
command -v runc >/dev/null 2>&1 || missing="$missing runc"
command -v fusermount3 >/dev/null 2>&1 || missing="$missing fuse3"

if [ -z "$missing" ]; then
	exit 0
fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null 2>&1; then
	echo "setup: not installing$missing (needs root and apt-get); the tests that need them skip" >&2
	exit 0
fi
echo "setup: installing$missing" >&2
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
# shellcheck disable=SC2086
apt-get install -y -qq --no-install-recommends $missing >/dev/null
