/* SPDX-License-Identifier: MIT */
/*
 * zipc — System V and POSIX IPC in user space, over shared memory and
 * futexes. This is the native API: every function returns a non-negative
 * value on success and -errno on failure, and never touches errno. The
 * libc-compatible faces (-1 and errno, libc's types) are in zipc_compat.h.
 * Nothing outside these two headers is supported.
 *
 * Native names use nouns of their own so they never clash with the
 * compat face: zipc_segment_* (shared memory), zipc_queue_* (message
 * queues), zipc_semset_* (XSI semaphore sets), zipc_sema_* (POSIX
 * semaphores). Objects live as files in $ZIPC_DIR (default /dev/shm).
 */
#ifndef ZIPC_H
#define ZIPC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>
#include <time.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZIPC_VERSION_MAJOR 0
#define ZIPC_VERSION_MINOR 1
#define ZIPC_VERSION_PATCH 0

/* The library's version, "MAJOR.MINOR.PATCH". */
const char *zipc_version(void);

/* ---- Shared memory: XSI segments by key and id ------------------------ */

/* Get or create the segment for @key (shmget flags). Returns its id. */
int zipc_segment_get(int32_t key, uint64_t size, int flags);

/* Attach segment @id (shmat flags) at @addr or anywhere; 0 and *@out. */
int zipc_segment_attach(int id, const void *addr, int flags, void **out);

/* Detach the segment attached at @addr. 0, or -EINVAL. */
int zipc_segment_detach(const void *addr);

/* What zipc_segment_stat reports (shmid_ds in fixed-width fields). */
struct zipc_segment_info {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode;	    /* low 9 bits, SHM_DEST, SHM_LOCKED */
	uint64_t size;	    /* shm_segsz */
	uint32_t cpid, lpid;
	uint64_t nattch;
	int64_t atime, dtime, ctime;
	uint64_t resv[4];
};

/* Status of segment @id (read permission needed). 0 or -errno. */
int zipc_segment_stat(int id, struct zipc_segment_info *out);

/* Remove segment @id; it lives on until its last detach. 0 or -errno. */
int zipc_segment_remove(int id);

/* POSIX shared memory object @name (shm_open rules). Returns an fd. */
int zipc_segment_open(const char *name, int oflag, mode_t mode);

/* Remove POSIX shared memory object @name. 0 or -errno. */
int zipc_segment_unlink(const char *name);

/* ---- Message queues (zipc_queue_*, zipc_mq_fd) ------------------------ */
/* ZIPC-SECTION mq: begin */
/* ZIPC-SECTION mq: end */

/* ---- Semaphores (zipc_semset_*, zipc_sema_*) --------------------------- */
/* ZIPC-SECTION sem: begin */
/* ZIPC-SECTION sem: end */

#ifdef __cplusplus
}
#endif

#endif
