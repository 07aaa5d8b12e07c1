#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The main job: build an optimised zipc and run `zipc bench --quick`, zipc
# beside the kernel's IPC, to a table (stdout), CSV and an SVG picture;
# then zipc-bench-queue (1->1 and 2->2 queue throughput) and zipc-bench-sem
# (semaphores beside the kernel's and glibc's).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh bench
dir=build-release
if [ -d "$dir" ]; then
	meson setup --reconfigure "$dir" -Dbuildtype=release -Dcrash_points=false -Dtests=false >/dev/null
else
	meson setup "$dir" -Dbuildtype=release -Dcrash_points=false -Dtests=false >/dev/null
fi
ninja -C "$dir" >/dev/null
mkdir -p results
if [ -x "$dir/tools/zipc" ] && "$dir/tools/zipc" bench --help >/dev/null 2>&1; then
	"$dir/tools/zipc" bench --quick --csv results/bench.csv --svg results/bench.svg "$@"
else
	"$dir/bench/zipc-bench" --quick --csv results/bench.csv --svg results/bench.svg "$@"
fi
echo
"$dir/bench/zipc-bench-queue" --quick --csv results/bench-queue.csv
echo
"$dir/bench/zipc-bench-sem" --quick --csv results/bench-sem.csv
echo "wrote results/bench.csv, results/bench.svg, results/bench-queue.csv and results/bench-sem.csv"
