/* SPDX-License-Identifier: MIT */
/*
 * The benchmarks' private zipc store: a directory of its own under
 * /dev/shm, removed with its contents (the registry, object files, the
 * POSIX namespace directories) when the run ends.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

static char store_dir[64]; /* "/dev/shm/zipc-bench.XXXXXX" */
static pid_t store_owner;

/* Remove @dir and what it holds, two levels deep (the store's shape). */
static void
remove_tree(const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char path[600];

	while (d && (e = readdir(d))) {
		if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
			continue;
		int n = snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
		if (n < 0 || (size_t)n >= sizeof(path))
			continue;
		if (unlink(path) < 0 && depth > 0)
			remove_tree(path, depth - 1);
	}
	if (d)
		closedir(d);
	rmdir(dir);
}

void
bench_store_remove(void)
{
	if (store_dir[0] && getpid() == store_owner) {
		remove_tree(store_dir, 1);
		store_dir[0] = 0;
	}
}

int
bench_store_init(void)
{
	const char *env = getenv("ZIPC_DIR");

	if (env && *env)
		return 0;
	snprintf(store_dir, sizeof(store_dir), "/dev/shm/zipc-bench.XXXXXX");
	if (!mkdtemp(store_dir)) {
		store_dir[0] = 0;
		return -1;
	}
	store_owner = getpid();
	setenv("ZIPC_DIR", store_dir, 1);
	atexit(bench_store_remove);
	return 0;
}
