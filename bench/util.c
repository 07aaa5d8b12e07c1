/* SPDX-License-Identifier: MIT */
/*
 * Helpers shared by the transports: clocks, whole-message I/O on streams,
 * shared mappings, and the registry of kernel objects that must be removed
 * even when the benchmark is interrupted.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bench.h"
#include "store.h"

volatile sig_atomic_t bench_expired;
volatile sig_atomic_t bench_child_pid;

uint64_t
bench_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/*
 * A stream may split a message; loop until all of it moved. EINTR is not
 * retried: the only signal that interrupts us is the watchdog.
 */
int
bench_read_full(int fd, void *buf, size_t len)
{
	char *p = buf;

	while (len) {
		ssize_t n = read(fd, p, len);

		if (n < 0)
			return -errno;
		if (n == 0)
			return -EPIPE;	/* the peer is gone */
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

int
bench_write_full(int fd, const void *buf, size_t len)
{
	const char *p = buf;

	while (len) {
		ssize_t n = write(fd, p, len);

		if (n < 0)
			return -errno;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Shared between parent and child across fork; NULL on failure. */
void *
bench_shm_map(size_t len)
{
	void *p = mmap(NULL, len, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		return NULL;
	/* Fault every page in now so no measurement pays for it. */
	memset(p, 0, len);
	return p;
}

void
bench_shm_unmap(void *p, size_t len)
{
	if (p)
		munmap(p, len);
}

/* One integer from /proc, or @dflt when it cannot be read. */
long
bench_proc_long(const char *path, long dflt)
{
	FILE *f = fopen(path, "re");
	long v;

	if (!f)
		return dflt;
	if (fscanf(f, "%ld", &v) != 1)
		v = dflt;
	fclose(f);
	return v;
}

/*
 * The registry is read by a signal handler, so a slot is filled before it
 * is marked live and marked dead before it is reused. Removing an object
 * twice is harmless (EINVAL/ENOENT), which covers a signal arriving in
 * the middle of bench_obj_remove().
 */
#define BENCH_MAX_OBJS 16

struct bench_obj {
	volatile sig_atomic_t live;
	enum bench_obj_kind kind;
	int id;
	char path[128];
};

static struct bench_obj objs[BENCH_MAX_OBJS];
static pid_t obj_owner;

static void
obj_destroy(struct bench_obj *o)
{
	switch (o->kind) {
	case BENCH_OBJ_MSQ:
		msgctl(o->id, IPC_RMID, NULL);
		break;
	case BENCH_OBJ_SEM:
		semctl(o->id, 0, IPC_RMID);
		break;
	case BENCH_OBJ_MQ:
		mq_unlink(o->path);
		break;
	case BENCH_OBJ_FILE:
		unlink(o->path);
		break;
	case BENCH_OBJ_DIR:
		rmdir(o->path);
		break;
	}
}

/*
 * Newest first, so files go before the directory that holds them. The
 * measured child is killed and reaped first: it would die anyway (its
 * PR_SET_PDEATHSIG), but as a zombie of whoever adopts it.
 */
static void
obj_fatal_signal(int sig)
{
	pid_t child = bench_child_pid;
	int i;

	if (getpid() == obj_owner) {
		if (child > 0) {
			kill(child, SIGKILL);
			waitpid(child, NULL, 0);
		}
		for (i = BENCH_MAX_OBJS - 1; i >= 0; i--)
			if (objs[i].live)
				obj_destroy(&objs[i]);
		bench_store_remove();
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

void
bench_obj_init(void)
{
	static const int sigs[] = { SIGINT, SIGTERM, SIGHUP, SIGQUIT };
	struct sigaction sa;
	size_t i;

	obj_owner = getpid();
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = obj_fatal_signal;
	sigfillset(&sa.sa_mask);
	for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* Returns a handle for bench_obj_remove(), or -ENOSPC/-ENAMETOOLONG. */
int
bench_obj_track(enum bench_obj_kind kind, int id, const char *path)
{
	int i;

	if (path && strlen(path) >= sizeof(objs[0].path))
		return -ENAMETOOLONG;
	for (i = 0; i < BENCH_MAX_OBJS; i++) {
		if (objs[i].live)
			continue;
		objs[i].kind = kind;
		objs[i].id = id;
		snprintf(objs[i].path, sizeof(objs[i].path), "%s",
			 path ? path : "");
		__atomic_signal_fence(__ATOMIC_SEQ_CST);
		objs[i].live = 1;
		return i;
	}
	return -ENOSPC;
}

/* Remove the object now and forget it. Returns 0 or -errno. */
int
bench_obj_remove(int handle)
{
	struct bench_obj *o;
	int r = 0;

	if (handle < 0 || handle >= BENCH_MAX_OBJS || !objs[handle].live)
		return -EINVAL;
	o = &objs[handle];
	switch (o->kind) {
	case BENCH_OBJ_MSQ:
		r = msgctl(o->id, IPC_RMID, NULL);
		break;
	case BENCH_OBJ_SEM:
		r = semctl(o->id, 0, IPC_RMID);
		break;
	case BENCH_OBJ_MQ:
		r = mq_unlink(o->path);
		break;
	case BENCH_OBJ_FILE:
		r = unlink(o->path);
		break;
	case BENCH_OBJ_DIR:
		r = rmdir(o->path);
		break;
	}
	if (r < 0)
		r = -errno;
	o->live = 0;
	return r;
}
