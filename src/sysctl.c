/* SPDX-License-Identifier: MIT */
/* Reading one number from a /proc/sys file. */
#include <fcntl.h>
#include <stdlib.h>
#include <unistd.h>

#include "internal.h"
#include "sysctl.h"

uint64_t
zipc__sysctl_u64(const char *path, uint64_t dflt)
{
	char buf[64];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return dflt;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return dflt;
	buf[n] = 0;
	char *end;
	unsigned long long v = strtoull(buf, &end, 10);
	return end == buf ? dflt : (uint64_t)v;
}
