/* SPDX-License-Identifier: MIT */
/*
 * What the fuzz targets share: the byte reader of the op interpreters, and
 * a private zipc store under /dev/shm (ZIPC_DIR), made on the first input
 * and removed with everything in it when the process that made it exits,
 * so inputs never meet the objects of another run and a run leaves
 * nothing behind.
 */
#ifndef ZIPC_FUZZUTIL_H
#define ZIPC_FUZZUTIL_H

#include <stddef.h>
#include <stdint.h>

/* The input bytes, read one at a time by an op interpreter. */
struct fuzz_input {
	const uint8_t *p;
	size_t n;
};

/* The next byte of @in, or 0 once it is used up (so every input runs). */
unsigned fuzz_take(struct fuzz_input *in);

/*
 * Make the store "/dev/shm/zipc-fuzz-@tag.XXXXXX" and point ZIPC_DIR at
 * it, once per process; later calls return the same directory. Aborts if
 * it cannot be made.
 */
const char *fuzz_store(const char *tag);

/* Remove @path and everything below it, never following a link. 0 or -1. */
int fuzz_rmtree(const char *path);

#endif
