#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what building and testing zipc needs on Debian 12, if missing.
#   scripts/deps.sh          what `make check` needs
#   scripts/deps.sh bench    that, plus the benchmark's peers (Boost, iceoryx, ZeroMQ)
set -euo pipefail
need=()
have_pkg() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q 'ok installed'; }
want() { for p in "$@"; do have_pkg "$p" || need+=("$p"); done; }

command -v meson >/dev/null || need+=(meson)
command -v ninja >/dev/null || need+=(ninja-build)
command -v scdoc >/dev/null || need+=(scdoc)
command -v pkg-config >/dev/null || need+=(pkgconf)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
[ -e /usr/include/cmocka.h ] || need+=(libcmocka-dev)
ls /usr/lib/*/libasan.so.8 >/dev/null 2>&1 || need+=(libasan8)
ls /usr/lib/*/libubsan.so.1 >/dev/null 2>&1 || need+=(libubsan1)
ls /usr/lib/*/libtsan.so.2 >/dev/null 2>&1 || need+=(libtsan2)
# the CLI's tables; capabilities and seccomp for the tests; real programs
# run by the tests (stress-ng, CPython's test suite, sysv_ipc); the bridge
want libsmartcols-dev libcap-dev libseccomp-dev stress-ng \
	libpython3.11-testsuite python3-sysv-ipc nats-server libnats-dev
if [ "${1:-}" = bench ]; then
	want libboost-dev iceoryx libiceoryx-binding-c-dev libzmq3-dev
fi

if [ ${#need[@]} -gt 0 ]; then
	echo "deps: installing ${need[*]}" >&2
	if [ "$(id -u)" -ne 0 ]; then
		echo "deps: run as root (or install: ${need[*]})" >&2
		exit 1
	fi
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
