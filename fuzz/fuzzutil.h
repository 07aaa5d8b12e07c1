/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: a private zipc store under /dev/shm
 * (ZIPC_DIR), made on the first input and removed with everything in it
 * when the process that made it exits, so inputs never meet the objects
 * of another run and a run leaves nothing behind.
 */
#ifndef ZIPC_FUZZUTIL_H
#define ZIPC_FUZZUTIL_H

/*
 * Make the store "/dev/shm/zipc-fuzz-@tag.XXXXXX" and point ZIPC_DIR at
 * it, once per process; later calls return the same directory. Aborts if
 * it cannot be made.
 */
const char *fuzz_store(const char *tag);

/* Remove @path and everything below it, never following a link. 0 or -1. */
int fuzz_rmtree(const char *path);

#endif
