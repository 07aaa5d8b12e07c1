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
/*
 * One engine, two kinds of name: POSIX-style queues by name (mq_open
 * rules) and XSI queues by key and id (msgget rules). Timeouts are
 * relative nanoseconds: < 0 waits forever, 0 never waits (-EAGAIN).
 * A handler that interrupts a sleep makes the call return -EINTR.
 */
typedef struct zipc_queue zipc_queue;

/* Limits of a new named queue (mq_attr's mq_maxmsg, mq_msgsize). */
struct zipc_queue_attr {
	int64_t maxmsg;
	int64_t msgsize;
	uint64_t resv[4]; /* zero */
};

/* Open or create named queue @name ("/name"; O_CREAT, O_EXCL, O_RDONLY,
 * O_WRONLY, O_RDWR, O_NONBLOCK). 0 and *@out, or -errno. */
int zipc_queue_open(const char *name, int oflag, mode_t mode,
		    const struct zipc_queue_attr *attr, zipc_queue **out);
/* Close a handle (any kind). 0 or -EBADF. */
int zipc_queue_close(zipc_queue *q);
/* Remove named queue @name; open handles keep it alive. 0 or -errno. */
int zipc_queue_unlink(const char *name);
/* Send @len bytes with priority @prio (XSI handles: message type, >= 1).
 * 0, -EAGAIN, -ETIMEDOUT, -EINTR, -EMSGSIZE, -EBADF, -EIDRM. */
int zipc_queue_send(zipc_queue *q, const void *buf, size_t len,
		    unsigned prio, int64_t timeout_ns);
/* Receive the oldest message of the highest priority. Returns its length
 * and *@prio, or -EAGAIN, -ETIMEDOUT, -EINTR, -EMSGSIZE, -EBADF, -EIDRM. */
ssize_t zipc_queue_receive(zipc_queue *q, void *buf, size_t len,
			   unsigned *prio, int64_t timeout_ns);

/* XSI queues. msgget: returns the id or -errno. */
int zipc_queue_get(int32_t key, int flags);
/* msgsnd/msgrcv with a timeout (IPC_NOWAIT still means "never wait"). */
int zipc_queue_msgsnd(int id, const void *msgp, size_t msgsz, int msgflg,
		      int64_t timeout_ns);
ssize_t zipc_queue_msgrcv(int id, void *msgp, size_t msgsz, long msgtyp,
			  int msgflg, int64_t timeout_ns);
struct msqid_ds;
/* msgctl: >= 0 as msgctl returns, or -errno. */
int zipc_queue_ctl(int id, int cmd, struct msqid_ds *buf);

/* A new handle on XSI queue @msqid, or on the queue behind POSIX-face
 * descriptor @mqd (for zipc_mq_fd). Close it with zipc_queue_close. */
int zipc_queue_from_msqid(int msqid, zipc_queue **out);
int zipc_queue_from_mqd(int mqd, zipc_queue **out);

#define ZIPC_MQ_READABLE 0 /* polls readable while a message waits */
#define ZIPC_MQ_WRITABLE 1 /* polls readable while there is room */
/* A readiness fd for epoll/poll/select (POLLIN while @cond holds), or
 * -errno. Senders and receivers pay for it only while it is open. */
int zipc_mq_fd(zipc_queue *q, int cond);
/* Close a readiness fd from zipc_mq_fd. */
void zipc_mq_fd_close(zipc_queue *q, int cond, int fd);
/* ZIPC-SECTION mq: end */

/* ---- Semaphores (zipc_semset_*, zipc_sema_*) --------------------------- */
/* ZIPC-SECTION sem: begin */
/* XSI semaphore sets: one operation, as struct sembuf (num, op, flags). */
struct zipc_semset_op {
	uint16_t num;	/* semaphore index */
	int16_t op;	/* > 0 add, < 0 take (may sleep), 0 wait for zero */
	int16_t flags;	/* IPC_NOWAIT, SEM_UNDO */
};

/* Get or create the set for @key (semget flags). Returns its id. */
int zipc_semset_get(int32_t key, int nsems, int flags);

/* Apply @ops atomically (semop). @timeout_ns < 0 waits for ever; on
 * timeout -EAGAIN, as semtimedop. 0 or -errno (-EIDRM, -EINTR, ...). */
int zipc_semset_op(int id, const struct zipc_semset_op *ops, size_t nops,
		   int64_t timeout_ns);

/* semctl's GETVAL/SETVAL/GETALL/SETALL/GETPID/GETNCNT/GETZCNT: the value
 * (or 0) or -errno. SETVAL/SETALL clear the undo adjustments, as Linux. */
int zipc_semset_getval(int id, int num);
int zipc_semset_setval(int id, int num, int value);
int zipc_semset_getall(int id, uint16_t *values);
int zipc_semset_setall(int id, const uint16_t *values);
int zipc_semset_getpid(int id, int num);
int zipc_semset_getncnt(int id, int num);
int zipc_semset_getzcnt(int id, int num);

/* What zipc_semset_stat reports (semid_ds in fixed-width fields). */
struct zipc_semset_info {
	int32_t key;
	uint32_t uid, gid, cuid, cgid;
	uint32_t mode;
	uint32_t nsems;
	uint32_t resv0;
	int64_t otime, ctime;
	uint64_t resv[4];
};

/* Status of set @id (read permission needed). 0 or -errno. */
int zipc_semset_stat(int id, struct zipc_semset_info *out);

/* Remove set @id; sleepers fail with -EIDRM. 0 or -errno. */
int zipc_semset_remove(int id);

/* A file descriptor that polls readable while semaphore @num of set @id
 * is positive (a decrement by one would succeed); for poll/epoll/select.
 * Free for everyone else while nobody watches. Returns the fd or -errno;
 * release it with zipc_semset_fd_close. */
int zipc_semset_fd(int id, int num);
int zipc_semset_fd_close(int id, int num, int fd);

/* POSIX semaphores. A zipc_sema_t is the size of a sem_t (32 bytes) and
 * may live in any shared mapping when initialised with @pshared set. */
typedef union zipc_sema_t {
	char size[32];
	long align;
} zipc_sema_t;

/* sem_init / sem_destroy: 0 or -EINVAL. */
int zipc_sema_init(zipc_sema_t *sem, int pshared, unsigned value);
int zipc_sema_destroy(zipc_sema_t *sem);

/* sem_open (oflag O_CREAT, O_EXCL; @mode and @value used with O_CREAT):
 * 0 and *@out, or -errno. The same name opened twice gives one address. */
int zipc_sema_open(const char *name, int oflag, mode_t mode, unsigned value,
		   zipc_sema_t **out);
/* sem_close; sem_unlink (the name goes now, the semaphore when closed). */
int zipc_sema_close(zipc_sema_t *sem);
int zipc_sema_unlink(const char *name);

/* Take one. @timeout_ns < 0: wait for ever; 0: try (-EAGAIN); > 0: at
 * most that long on CLOCK_MONOTONIC (-ETIMEDOUT). -EINTR after a signal
 * handler. Returns 0 when taken. */
int zipc_sema_wait(zipc_sema_t *sem, int64_t timeout_ns);
/* Try to take one: 0 or -EAGAIN. */
int zipc_sema_trywait(zipc_sema_t *sem);
/* Give one back: 0, or -EOVERFLOW at SEM_VALUE_MAX. Async-signal-safe. */
int zipc_sema_post(zipc_sema_t *sem);
/* The current count, or -EINVAL. */
int zipc_sema_getvalue(zipc_sema_t *sem);
/* For a named semaphore: an fd that polls readable while the count is
 * positive (-EINVAL for unnamed ones); zipc_sema_fd_close releases it. */
int zipc_sema_fd(zipc_sema_t *sem);
int zipc_sema_fd_close(zipc_sema_t *sem, int fd);
/* ZIPC-SECTION sem: end */

#ifdef __cplusplus
}
#endif

#endif
