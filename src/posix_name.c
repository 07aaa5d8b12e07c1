/* SPDX-License-Identifier: MIT */
/* POSIX object names -> files in the store's per-namespace directories. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "internal.h"
#include "posix_name.h"
#include "store.h"

static const char *const ns_dirs[] = {"zipc.posix-shm", "zipc.posix-mq",
				      "zipc.posix-sem"};

int
zipc__posix_fname(char *out, size_t len, enum zipc_posix_ns ns,
		  const char *name, int create)
{
	if (!name)
		return -EINVAL;
	while (*name == '/')
		name++;
	size_t n = strlen(name);
	if (n == 0 || memchr(name, '/', n))
		return -EINVAL;
	if (n > NAME_MAX)
		return -ENAMETOOLONG;
	if (strcmp(name, ".") == 0 || strcmp(name, "..") == 0)
		return -EINVAL;
	int w = snprintf(out, len, "%s/%s", ns_dirs[ns], name);
	if (w < 0 || (size_t)w >= len)
		return -ENAMETOOLONG;
	if (create) {
		char dir[4096];
		int r = zipc__path(dir, sizeof(dir), ns_dirs[ns]);
		if (r < 0)
			return r;
		if (mkdir(dir, 01777) == 0)
			chmod(dir, 01777); /* past the umask */
		else if (errno != EEXIST)
			return -errno;
	}
	return 0;
}
