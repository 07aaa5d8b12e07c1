/* SPDX-License-Identifier: MIT */
/*
 * The fuzz targets' private store (fuzzutil.h). Only the process that made
 * it removes it at exit: a child that leaves through exit() runs the same
 * atexit handlers, and must not pull the store from under its parent.
 */
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzutil.h"

static char store[64];
static pid_t store_owner;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

unsigned
fuzz_take(struct fuzz_input *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

int
fuzz_rmtree(const char *path)
{
	return nftw(path, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
remove_store(void)
{
	if (getpid() == store_owner && fuzz_rmtree(store) < 0)
		fprintf(stderr, "fuzz: could not remove %s\n", store);
}

const char *
fuzz_store(const char *tag)
{
	if (store[0])
		return store;
	snprintf(store, sizeof(store), "/dev/shm/zipc-fuzz-%s.XXXXXX", tag);
	if (!mkdtemp(store))
		abort();
	setenv("ZIPC_DIR", store, 1);
	store_owner = getpid();
	atexit(remove_store);
	return store;
}
