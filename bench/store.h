/* SPDX-License-Identifier: MIT */
/* A private zipc object store for one benchmark run. */
#ifndef BENCH_STORE_H
#define BENCH_STORE_H

/*
 * Unless $ZIPC_DIR is set, make /dev/shm/zipc-bench.XXXXXX, point ZIPC_DIR
 * at it and remove it with everything in it at exit, so a run leaves
 * nothing in /dev/shm. 0, or -1 (then zipc uses its default store).
 */
int bench_store_init(void);
/* Remove the private store now (also called from fatal-signal paths). */
void bench_store_remove(void);

#endif
