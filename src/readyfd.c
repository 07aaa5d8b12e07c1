/* SPDX-License-Identifier: MIT */
/*
 * Readiness FIFOs (protocol in readyfd.h). Writers keep one O_RDWR fd per
 * FIFO per process in a small cache, so a flip costs one write or read.
 */
#include <fcntl.h>
#include <pthread.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "readyfd.h"
#include "store.h"

#define CACHE_SIZE 64

struct cached_fd {
	char path[512];
	dev_t dev;
	ino_t ino;
	int fd;
};

static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct cached_fd cache[CACHE_SIZE];
static unsigned cache_next;

int
zipc__readyfd_create(const char *fname, unsigned mode)
{
	char path[4096];
	int r = zipc__path(path, sizeof(path), fname);
	if (r < 0)
		return r;
	if (mkfifo(path, mode & 0777) < 0 && errno != EEXIST)
		return -errno;
	chmod(path, mode & 0777); /* past the umask */
	return 0;
}

void
zipc__readyfd_unlink(const char *fname)
{
	char path[4096];
	if (zipc__path(path, sizeof(path), fname) == 0)
		unlink(path);
}

static int
open_fifo(const char *fname)
{
	char path[4096];
	int r = zipc__path(path, sizeof(path), fname);
	if (r < 0)
		return r;
	/* O_RDWR on a FIFO never blocks and keeps it open both ways. */
	int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct stat st;
	if (fstat(fd, &st) < 0 || !S_ISFIFO(st.st_mode)) {
		close(fd);
		return -EBADMSG;
	}
	return fd;
}

/* The per-process writer fd for @fname; reopened if the FIFO was replaced
 * (a removed object's name reused). -errno if there is none. */
static int
writer_fd(const char *fname)
{
	char path[4096];
	struct stat st;
	int r = zipc__path(path, sizeof(path), fname);
	if (r < 0)
		return r;
	pthread_mutex_lock(&cache_mutex);
	for (unsigned i = 0; i < CACHE_SIZE; i++) {
		struct cached_fd *c = &cache[i];
		if (c->fd > 0 && strcmp(c->path, path) == 0) {
			if (stat(path, &st) == 0 && st.st_ino == c->ino &&
			    st.st_dev == c->dev) {
				pthread_mutex_unlock(&cache_mutex);
				return c->fd;
			}
			close(c->fd);
			c->fd = 0;
		}
	}
	int fd = open_fifo(fname);
	if (fd >= 0 && fstat(fd, &st) == 0 && strlen(path) < 512) {
		struct cached_fd *c = &cache[cache_next++ % CACHE_SIZE];
		if (c->fd > 0)
			close(c->fd);
		strcpy(c->path, path);
		c->dev = st.st_dev;
		c->ino = st.st_ino;
		c->fd = fd;
	}
	pthread_mutex_unlock(&cache_mutex);
	return fd;
}

int
zipc__readyfd_watch(struct zipc_readyfd *rf, const char *fname)
{
	int fd = open_fifo(fname);
	if (fd < 0)
		return fd;
	fetch_add_seq(&rf->rf_watchers, 1);
	return fd;
}

void
zipc__readyfd_unwatch(struct zipc_readyfd *rf, int fd)
{
	uint32_t w = ld_relaxed(&rf->rf_watchers);
	while (w && !cas_seq(&rf->rf_watchers, &w, w - 1))
		;
	close(fd);
}

static void
drain(int fd)
{
	char buf[64];
	while (read(fd, buf, sizeof(buf)) > 0)
		;
}

void
zipc__readyfd_sync(struct zipc_readyfd *rf, const char *fname, int cond)
{
	uint32_t armed = ld_relaxed(&rf->rf_armed);
	if (likely(!ld_relaxed(&rf->rf_watchers)) && !armed)
		return;
	if (!!cond == !!armed)
		return;
	int fd = writer_fd(fname);
	if (fd < 0)
		return;
	if (cond) {
		if (write(fd, "", 1) == 1)
			st_relaxed(&rf->rf_armed, 1);
	} else {
		drain(fd);
		st_relaxed(&rf->rf_armed, 0);
	}
}

void
zipc__readyfd_resync(struct zipc_readyfd *rf, const char *fname, int cond)
{
	int fd = writer_fd(fname);
	if (fd >= 0)
		drain(fd);
	st_relaxed(&rf->rf_armed, 0);
	zipc__readyfd_sync(rf, fname, cond);
}
