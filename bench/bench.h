/* SPDX-License-Identifier: MIT */
/*
 * zipc-bench: IPC transports measured side by side between two processes.
 * A transport is a small vtable that moves fixed-size messages both ways
 * over one "link"; measure.c forks the peer and runs ping-pong and one-way
 * streams over it, so a transport only knows how to send and receive.
 */
#ifndef ZIPC_BENCH_H
#define ZIPC_BENCH_H

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

#define BENCH_MSG_SMALL	64
#define BENCH_MSG_LARGE	4096

/* The parent is side 0, the forked child side 1. */
#define BENCH_PARENT	0
#define BENCH_CHILD	1

/* Slots per direction of the shared-memory rings (t_sem.c, t_shm.c). */
#define BENCH_RING_SLOTS 64

enum bench_group {
	BENCH_GROUP_KERNEL,	/* every hand-off is a system call */
	BENCH_GROUP_USER,	/* user-space reference or hardware floor */
	BENCH_GROUP_ZIPC,	/* zipc's own objects */
};

/* Transport flags. */
#define BX_PINGPONG_ONLY 0x1u	/* no queue: strict alternation only */

/*
 * One transport. Side s sends into direction s and receives from direction
 * 1 - s, so a link is two one-way channels. Message boundaries are the
 * transport's business: recv returns exactly @len bytes sent by one send.
 *
 * open:    before fork, in the parent; create everything for messages of
 *          @msg_size bytes. Returns 0 and *@linkp, -EMSGSIZE when the
 *          transport cannot carry @msg_size (reported as "n/a"), or -errno.
 * attach:  after fork, in each process; drop what this side does not use.
 * send/recv: block until done. Return 0 or -errno; when bench_expired is
 *          set (the watchdog alarm), blocked or spinning calls must return
 *          -EINTR promptly.
 * destroy: in the parent after the child is reaped, even after a failure;
 *          remove every kernel object and free the link. The child only
 *          _exit()s.
 */
struct bench_xport {
	const char *name;	/* for --only and --baseline */
	const char *desc;	/* one line, for --list */
	const char *twin;	/* the kernel row doing the same job, or NULL:
				 * this row's ratios are against it */
	enum bench_group group;
	unsigned int flags;
	int (*open)(size_t msg_size, void **linkp);
	int (*attach)(void *link, int side);
	int (*send)(void *link, const void *buf, size_t len);
	int (*recv)(void *link, void *buf, size_t len);
	void (*destroy)(void *link);
};

/*
 * Every file of transports exports one NULL-terminated array named
 * bench_xports_<set>. To plug in another file, add one line here (and the
 * file to meson.build); rows are printed in this order.
 */
#define BENCH_XPORT_SETS(X)	\
	X(kernel)	/* t_kernel.c: pipe fifo unix xsi-msg posix-mq */ \
	X(sem)		/* t_sem.c: shm rings handed over by semaphores */ \
	X(shm)		/* t_shm.c: spin-then-futex ring, cache-line floor */ \
	X(zipc)		/* t_zipc.c: zipc's queues and semaphores */

#define BENCH_DECLARE_SET(set) \
	extern const struct bench_xport *const bench_xports_##set[];
BENCH_XPORT_SETS(BENCH_DECLARE_SET)
#undef BENCH_DECLARE_SET

/*
 * Set by the SIGALRM watchdog in either process; every wait loop checks it
 * so that a dead or hung peer costs a few seconds, never forever.
 */
extern volatile sig_atomic_t bench_expired;

/* The measured child, for the fatal-signal cleanup; 0 when none. */
extern volatile sig_atomic_t bench_child_pid;

/* Shared-memory ordering; the benchmark does not depend on src/atomic.h. */
#define bench_load_acq(p)	__atomic_load_n((p), __ATOMIC_ACQUIRE)
#define bench_load_rlx(p)	__atomic_load_n((p), __ATOMIC_RELAXED)
#define bench_store_rel(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define bench_store_rlx(p, v)	__atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define bench_fence()		__atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline void
bench_cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#else
	__asm__ __volatile__("" ::: "memory");
#endif
}

/* util.c */
uint64_t bench_now_ns(void);
int bench_read_full(int fd, void *buf, size_t len);
int bench_write_full(int fd, const void *buf, size_t len);
void *bench_shm_map(size_t len);
void bench_shm_unmap(void *p, size_t len);
long bench_proc_long(const char *path, long dflt);

/*
 * Kernel objects that outlive the process unless removed. Tracked so that
 * SIGINT/SIGTERM/SIGHUP in the parent still removes them; the child never
 * removes anything.
 */
enum bench_obj_kind {
	BENCH_OBJ_MSQ,		/* XSI message queue id */
	BENCH_OBJ_SEM,		/* XSI semaphore set id */
	BENCH_OBJ_MQ,		/* POSIX mq name */
	BENCH_OBJ_FILE,		/* path to unlink */
	BENCH_OBJ_DIR,		/* path to rmdir */
};

void bench_obj_init(void);
int bench_obj_track(enum bench_obj_kind kind, int id, const char *path);
int bench_obj_remove(int handle);

#endif /* ZIPC_BENCH_H */
