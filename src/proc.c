/* SPDX-License-Identifier: MIT */
/*
 * Liveness by (pid, start time), read from procfs. A zombie counts as dead:
 * it can no longer touch shared memory, and its parent may never reap it.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "proc.h"

/*
 * A thread-group leader that called pthread_exit shows as a zombie while
 * its other threads run: alive if /proc/PID/status counts more threads.
 */
static int
zombie_leader_of_live(const char *stat_path)
{
	char path[64], buf[2048];
	size_t n = strlen(stat_path);
	if (n < 5 || n - 4 >= sizeof(path) - 8)
		return 0;
	memcpy(path, stat_path, n - 4); /* ".../stat" -> ".../status" */
	strcpy(path + n - 4, "status");
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t r = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (r <= 0)
		return 0;
	buf[r] = 0;
	const char *t = strstr(buf, "\nThreads:");
	return t && strtol(t + 9, NULL, 10) > 1;
}

/*
 * Parse /proc/PID/stat: "pid (comm) S ppid ... starttime(22) ...". comm may
 * hold spaces and parentheses, so scan from the last ')'.
 */
static uint64_t
stat_start(const char *path)
{
	char buf[1024];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 0;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p || p[1] != ' ')
		return 0;
	p += 2;
	char state = *p;
	if (state == 'X' || state == 'x')
		return 0;
	if (state == 'Z' && !zombie_leader_of_live(path))
		return 0;
	/* p is at field 3; skip to field 22. */
	for (int field = 3; field < 22; field++) {
		p = strchr(p, ' ');
		if (!p)
			return 0;
		p++;
	}
	uint64_t start = strtoull(p, NULL, 10);
	return start ? start : 1; /* 0 means "gone"; a process at tick 0 */
}

uint64_t
zipc__proc_start(uint32_t pid)
{
	char path[64];
	if (pid == 0 || pid > (uint32_t)INT32_MAX)
		return 0;
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	return stat_start(path);
}

int
zipc__proc_alive(uint32_t pid, uint64_t start)
{
	if (pid == 0)
		return 0;
	uint64_t now = zipc__proc_start(pid);
	return now != 0 && now == start;
}

int
zipc__proc_rec_alive(const struct zipc_proc *rec)
{
	return zipc__proc_alive(ld_acquire(&rec->pr_pid),
				ld_acquire(&rec->pr_start));
}

/* Per-process and per-thread caches; fork invalidates both in the child. */
static struct zipc_proc self_cache;
static ZIPC_TLS uint32_t tid_cache;
static ZIPC_TLS uint64_t tid_start_cache;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void
after_fork_child(void)
{
	self_cache.pr_pid = 0;
	tid_cache = 0;
	tid_start_cache = 0;
}

static void
register_atfork(void)
{
	pthread_atfork(NULL, NULL, after_fork_child);
}

void
zipc__proc_self(struct zipc_proc *out)
{
	pthread_once(&atfork_once, register_atfork);
	if (!self_cache.pr_pid) {
		uint32_t pid = (uint32_t)getpid();
		self_cache.pr_start = zipc__proc_start(pid);
		self_cache.pr_pid = pid;
	}
	*out = self_cache;
}

uint32_t
zipc__tid(void)
{
	if (likely(tid_cache))
		return tid_cache;
	pthread_once(&atfork_once, register_atfork);
	tid_cache = (uint32_t)syscall(SYS_gettid);
	return tid_cache;
}

uint64_t
zipc__tid_start(void)
{
	if (likely(tid_start_cache && tid_cache))
		return tid_start_cache;
	tid_start_cache = zipc__proc_start(zipc__tid());
	return tid_start_cache;
}
