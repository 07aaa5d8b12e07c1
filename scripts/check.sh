#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Build and run every test: once with -Werror, once with ASan+UBSan, the
# threaded ones with TSan, plus an
# install check and a leak check of /dev/shm and the kernel's IPC tables.
# Ends with "N passed, N failed, N skipped"; exits non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || exit 1

passed=0 failed=0 skipped=0
note() { printf '%s\n' "$*"; }
count_log() { # meson-logs/testlog.json -> counters
	local log=$1/meson-logs/testlog.json
	[ -f "$log" ] || { failed=$((failed + 1)); return; }
	local p f s
	p=$(grep -c '"result": "OK"' "$log")
	f=$(grep -cE '"result": "(FAIL|TIMEOUT|ERROR|UNEXPECTEDPASS)"' "$log")
	s=$(grep -c '"result": "SKIP"' "$log")
	passed=$((passed + p)) failed=$((failed + f)) skipped=$((skipped + s))
}
check() { # name, command...: one more pass or fail
	local name=$1
	shift
	if "$@"; then
		passed=$((passed + 1))
		note "ok - $name"
	else
		failed=$((failed + 1))
		note "not ok - $name"
	fi
}

ipc_objects() { ipcs -q -s -m 2>/dev/null | grep -c '^0x'; }
shm_leftovers() { ls /dev/shm 2>/dev/null | grep -c -i zipc; }
ipc_before=$(ipc_objects)
shm_before=$(shm_leftovers)

run_suite() { # builddir, meson setup options...
	local dir=$1
	shift
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" "$@" >/dev/null || return 1
	else
		meson setup "$dir" "$@" >/dev/null || return 1
	fi
	ninja -C "$dir" || return 1
	rm -f "$dir/meson-logs/testlog.json"
	meson test -C "$dir" --num-processes 2 --print-errorlogs
}

export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export ASAN_OPTIONS=abort_on_error=1:detect_leaks=1

note "== build with -Werror and run every test"
run_suite build-check -Dwerror=true -Dbuildtype=debugoptimized
count_log build-check

note "== build with ASan+UBSan and run every test"
run_suite build-asan -Dwerror=true -Db_sanitize=address,undefined \
	-Db_lundef=false -Dc_args=-fno-sanitize-recover=all
count_log build-asan

note "== build with ThreadSanitizer and run the threaded tests"
tsan_suite() {
	local dir=build-tsan
	if [ -d "$dir" ]; then
		meson setup --reconfigure "$dir" -Db_sanitize=thread >/dev/null
	else
		meson setup "$dir" -Db_sanitize=thread >/dev/null
	fi || return 1
	ninja -C "$dir" || return 1
	rm -f "$dir/meson-logs/testlog.json"
	TSAN_OPTIONS=halt_on_error=1 meson test -C "$dir" --suite threads \
		--num-processes 2 --print-errorlogs
}
tsan_suite
count_log build-tsan

note "== install"
destdir=$(mktemp -d)
installed() {
	meson install -C build-check --destdir "$destdir" >/dev/null &&
		for f in include/zipc.h include/zipc_compat.h bin/zipc \
			share/man/man7/zipc.7 share/man/man3/zipc_shm.3; do
			[ -e "$destdir/usr/local/$f" ] ||
				{ echo "missing $f" >&2; return 1; }
		done &&
		ls "$destdir"/usr/local/lib/*/libzipc.so.0 \
			"$destdir"/usr/local/lib/*/libzipc.a \
			"$destdir"/usr/local/lib/*/pkgconfig/zipc.pc >/dev/null
}
check "meson install --destdir puts headers, libraries, zipc.pc, CLI, man pages" installed
rm -rf "$destdir"

note "== nothing left behind"
check "no kernel IPC objects left by the tests" \
	test "$(ipc_objects)" -le "$ipc_before"
check "nothing left in /dev/shm by the tests" \
	test "$(shm_leftovers)" -le "$shm_before"

echo "$passed passed, $failed failed, $skipped skipped"
[ "$failed" -eq 0 ]
