/* SPDX-License-Identifier: MIT */
/*
 * Readiness file descriptors: how an object that lives in shared memory
 * shows up in epoll/poll/select beside sockets, across unrelated processes.
 *
 * Each readiness condition of an object ("a message waits", "there is
 * room", "a wait would succeed") may have a FIFO in the store. A watcher
 * opens it (O_RDWR | O_NONBLOCK, so it never blocks and never sees EOF) and
 * polls it for POLLIN. The FIFO holds one byte exactly while the condition
 * holds and somebody watches:
 *
 *   rf_watchers  number of open watcher fds (a watcher that dies without
 *                closing leaves it high: that only costs needless writes)
 *   rf_armed     1 while the FIFO holds its byte
 *
 * zipc__readyfd_sync(rf, cond) is called by the object's code, **under the
 * object's lock**, after every change that may flip the condition. With no
 * watchers it reads one shared word and returns: no system call. With
 * watchers it writes the byte when the condition became true and drains it
 * when it became false. Because every flip happens under the lock, the
 * byte and the condition cannot disagree once the lock is released. After a
 * dead lock holder, the kind's repair calls zipc__readyfd_resync().
 */
#ifndef ZIPC_READYFD_H
#define ZIPC_READYFD_H

#include <stdint.h>

/* Shared layout: 8 bytes, inside the object's own struct. */
struct zipc_readyfd {
	uint32_t rf_watchers;
	uint32_t rf_armed;
};

/* Make the FIFO @fname (store-relative) for a new object; mode as file. */
int zipc__readyfd_create(const char *fname, unsigned mode);
/* Remove it with its object. */
void zipc__readyfd_unlink(const char *fname);

/* Open a watcher fd on FIFO @fname (O_CLOEXEC, non-blocking, read side)
 * and count it. Returns the fd or -errno. The caller then calls
 * zipc__readyfd_sync under the lock so a true condition shows at once. */
int zipc__readyfd_watch(struct zipc_readyfd *rf, const char *fname);
/* Close watcher @fd and uncount it. */
void zipc__readyfd_unwatch(struct zipc_readyfd *rf, int fd);

/* Under the object's lock: make the FIFO's byte agree with @cond.
 * @fname names the FIFO (opened for writing once per process, cached). */
void zipc__readyfd_sync(struct zipc_readyfd *rf, const char *fname,
			int cond);
/* Repair: drain whatever is in the FIFO, clear rf_armed, then sync. */
void zipc__readyfd_resync(struct zipc_readyfd *rf, const char *fname,
			  int cond);

#endif
