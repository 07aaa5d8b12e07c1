#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install what building and testing zipc needs on Debian 12, if missing.
set -euo pipefail
need=()
command -v meson >/dev/null || need+=(meson)
command -v ninja >/dev/null || need+=(ninja-build)
command -v scdoc >/dev/null || need+=(scdoc)
command -v pkg-config >/dev/null || need+=(pkgconf)
command -v gnuplot >/dev/null || need+=(gnuplot-nox)
[ -e /usr/include/cmocka.h ] || need+=(libcmocka-dev)
[ -e /usr/lib/x86_64-linux-gnu/libasan.so.8 ] || \
	ls /usr/lib/*/libasan.so.8 >/dev/null 2>&1 || need+=(libasan8)
[ -e /usr/lib/x86_64-linux-gnu/libubsan.so.1 ] || \
	ls /usr/lib/*/libubsan.so.1 >/dev/null 2>&1 || need+=(libubsan1)
ls /usr/lib/*/libtsan.so.2 >/dev/null 2>&1 || need+=(libtsan2)
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
