/* SPDX-License-Identifier: MIT */
/*
 * The two kernel limits on POSIX queues that live outside any one queue:
 * /proc/sys/fs/mqueue/queues_max (ENOSPC) and RLIMIT_MSGQUEUE (EMFILE).
 * The protocol -- an accounting link per queue, liveness from flock(2) --
 * is explained in mq_limits.c.
 */
#ifndef ZIPC_MQ_LIMITS_H
#define ZIPC_MQ_LIMITS_H

#include <stdint.h>

/* Bytes the kernel charges to RLIMIT_MSGQUEUE for a queue of @maxmsg
 * messages of @msgsize bytes (mqueue_get_inode's mq_bytes). */
uint64_t zipc__mqlim_bytes(uint64_t maxmsg, uint64_t msgsize);

/*
 * Before creating a queue whose attributes or size already fail, report
 * what the kernel would, in its order: -ENOSPC if the
 * namespace already holds queues_max queues (and the caller lacks
 * CAP_SYS_RESOURCE), else @attr_err if it is non-zero (the attributes'
 * EINVAL comes after the count), else -EMFILE if @bytes more would take
 * the caller's real uid over its RLIMIT_MSGQUEUE soft limit, else 0.
 */
int zipc__mqlim_precheck(int attr_err, uint64_t bytes);

/* Name of a charge's accounting link (for zipc__mqlim_cancel). */
struct zipc_mqlim_charge {
	char c_ent[80];
};

/*
 * From the store's init callback of a new queue, whose file is open as
 * @fd (still under its temporary name) and stamped @stamp: hold the queue
 * (flock LOCK_SH on @fd), then, under the namespace's accounting lock,
 * check both limits again and link the accounting entry. 0, -ENOSPC,
 * -EMFILE, or -errno; on success @c names the entry.
 */
int zipc__mqlim_charge(int fd, uint64_t stamp, uint64_t bytes,
		       struct zipc_mqlim_charge *c);

/* Undo a charge whose queue was never published (creation failed). */
void zipc__mqlim_cancel(const struct zipc_mqlim_charge *c);

/*
 * An opener of an existing queue, open as @fd: hold it (flock LOCK_SH),
 * then check it was not destroyed between the open and the lock. 0, or
 * -ENOENT (gone: the caller retries as if it had not found the name).
 */
int zipc__mqlim_hold(int fd);

/* 1 if the queue open as @fd has lost its name (unlinked), so its last
 * close may destroy it and should reap; else 0. */
int zipc__mqlim_unnamed(int fd);

/* Release the charges of every queue that is gone: unlinked, and open
 * nowhere. */
void zipc__mqlim_reap(void);

#endif
