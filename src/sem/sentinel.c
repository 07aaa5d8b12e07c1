/* SPDX-License-Identifier: MIT */
/*
 * The sentinel: one lazily created thread per process that (1) owns the
 * kernel robust list on which this process links the death words of its
 * undo records and queue entries, and (2) watches the death words of
 * other processes on the sets where this process has sleepers.
 *
 * (1) Death words. glibc owns every thread's robust list (robust pthread
 * mutexes), so zipc never touches those. The sentinel is a thread of our
 * own: it calls set_robust_list once on a head in this file and then sleeps
 * for ever with every signal blocked. Each undo record and queue entry this
 * process owns holds the sentinel's tid in its death word and is linked on
 * that list. When the process dies -- exit, or SIGKILL at any instruction --
 * the kernel walks the list as the sentinel exits (exit_mm_release, before
 * the process becomes a zombie), sets FUTEX_OWNER_DIED in each word whose
 * tid is the sentinel's, and wakes one waiter if FUTEX_WAITERS was set.
 * Death is thus reported by the kernel itself, exactly, and at once. The
 * list's next pointers live in the shared nodes but are this process's own
 * addresses: only the owner ever writes them, the kernel reads them, and
 * a node is unlinked before it is freed. list_op_pending covers a death in
 * the middle of a link or unlink. Sets holding linked nodes are never
 * unmapped (the kernel would stop its walk at a fault).
 *
 * (2) Watching. A thread sleeping in semop must wake when a process whose
 * adjustments it may be waiting for dies. It cannot wait on those words
 * itself: futex_waitv(2) is restarted after an SA_RESTART handler, and
 * semop must fail with EINTR whatever SA_RESTART says, which only a
 * FUTEX_WAIT with a timeout gives (ERESTART_RESTARTBLOCK). So sleepers
 * register their set here, and the sentinel -- signals blocked, restarts
 * harmless -- sleeps in futex_waitv on a control word, each watched set's
 * record generation word (bumped when a record is made), and the death
 * words of the other processes' records there (with FUTEX_WAITERS set, so
 * the dying kernel wakes it). Whenever it wakes it locks each watched set
 * and reaps the dead (semset.c): their adjustments are applied and the
 * sleepers they unblock are completed and woken. More than 127 words, or a
 * record that can only be polled (an exec'd owner: see semset.c), make it
 * sleep with a timeout and look again.
 */
#include <errno.h>
#include <linux/futex.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "semint.h"

#ifndef SYS_futex_waitv
#define SYS_futex_waitv 449
#endif

#define WATCH_MAX 64

static pthread_mutex_t rl_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct robust_list_head rl_head;
static uint32_t sentinel_tid;  /* 0: none yet (or none possible) */
static int sentinel_failed;
static uint32_t ctl_word;      /* private futex: the watch table changed */
static pthread_once_t once = PTHREAD_ONCE_INIT;

struct watch {
	struct zipc_semset_map *m;
	int sleepers;
};
static struct watch watches[WATCH_MAX];

static void
fork_prepare(void)
{
	pthread_mutex_lock(&rl_mutex);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&rl_mutex);
}

/* The child has no sentinel and owns none of the parent's nodes. */
static void
fork_child(void)
{
	rl_head.list.next = &rl_head.list;
	rl_head.list_op_pending = NULL;
	sentinel_tid = 0;
	sentinel_failed = 0;
	memset(watches, 0, sizeof(watches));
	pthread_mutex_unlock(&rl_mutex);
}

static void
init_once(void)
{
	rl_head.list.next = &rl_head.list;
	rl_head.futex_offset = (long)offsetof(struct zipc_sem_rnode, rn_word);
	rl_head.list_op_pending = NULL;
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static long
waitv(struct futex_waitv *v, unsigned n, const struct timespec *abs)
{
	return syscall(SYS_futex_waitv, v, n, 0, abs, CLOCK_MONOTONIC);
}

static void *
sentinel_main(void *arg)
{
	uint32_t *ready = arg;
	struct futex_waitv v[FUTEX_WAITV_MAX];
	struct zipc_semset_map *ms[WATCH_MAX];
	syscall(SYS_set_robust_list, &rl_head, sizeof(rl_head));
	st_release(ready, (uint32_t)syscall(SYS_gettid));
	syscall(SYS_futex, ready, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	long poll_ns = 0;
	for (;;) {
		uint32_t seq = ld_acquire(&ctl_word);
		int nm = 0;
		pthread_mutex_lock(&rl_mutex);
		for (int i = 0; i < WATCH_MAX; i++)
			if (watches[i].sleepers > 0)
				ms[nm++] = watches[i].m;
		pthread_mutex_unlock(&rl_mutex);
		v[0] = (struct futex_waitv){.val = seq,
					    .uaddr = (uintptr_t)&ctl_word,
					    .flags = FUTEX_32 |
						     FUTEX_PRIVATE_FLAG};
		unsigned n = 1;
		int poll = 0;
		for (int i = 0; i < nm; i++)
			n += (unsigned)zipc__semset_collect(
				ms[i], v + n, FUTEX_WAITV_MAX - (int)n, &poll);
		struct timespec abs, *t = NULL;
		if (poll) {
			/* Short at first (a dying owner is still visible in
			 * /proc for a moment), then relaxed for an exec'd
			 * owner that lives on. */
			poll_ns = poll_ns ? poll_ns * 2 : 20000;
			if (poll_ns > 100000000)
				poll_ns = 100000000;
			clock_gettime(CLOCK_MONOTONIC, &abs);
			abs.tv_nsec += poll_ns;
			abs.tv_sec += abs.tv_nsec / 1000000000;
			abs.tv_nsec %= 1000000000;
			t = &abs;
		} else {
			poll_ns = 0;
		}
		waitv(v, n, t);
	}
	return NULL;
}

int
zipc__sem_sentinel_failed(void)
{
	return ld_relaxed(&sentinel_failed);
}

uint32_t
zipc__sem_sentinel_tid(int create)
{
	uint32_t tid = ld_acquire(&sentinel_tid);
	if (likely(tid) || !create)
		return tid;
	pthread_once(&once, init_once);
	pthread_mutex_lock(&rl_mutex);
	if (!sentinel_tid && !sentinel_failed) {
		static uint32_t ready;
		pthread_attr_t at;
		pthread_t th;
		sigset_t all, old;
		st_relaxed(&ready, 0);
		sigfillset(&all);
		pthread_sigmask(SIG_SETMASK, &all, &old);
		pthread_attr_init(&at);
		pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
		pthread_attr_setstacksize(&at, 64 * 1024);
		int r = pthread_create(&th, &at, sentinel_main, &ready);
		pthread_attr_destroy(&at);
		pthread_sigmask(SIG_SETMASK, &old, NULL);
		if (r == 0) {
			while (!ld_acquire(&ready))
				syscall(SYS_futex, &ready, FUTEX_WAIT_PRIVATE,
					0, NULL, NULL, 0);
			st_release(&sentinel_tid, ld_relaxed(&ready));
		} else {
			sentinel_failed = 1;
		}
	}
	tid = sentinel_tid;
	pthread_mutex_unlock(&rl_mutex);
	return tid;
}

void
zipc__sem_rnode_link(struct zipc_sem_rnode *n)
{
	pthread_mutex_lock(&rl_mutex);
	rl_head.list_op_pending = (struct robust_list *)n;
	st_relaxed(&n->rn_next, (uint64_t)(uintptr_t)rl_head.list.next);
	__atomic_store_n(&rl_head.list.next, (struct robust_list *)n,
			 __ATOMIC_RELEASE);
	rl_head.list_op_pending = NULL;
	pthread_mutex_unlock(&rl_mutex);
}

void
zipc__sem_rnode_unlink(struct zipc_sem_rnode *n)
{
	pthread_mutex_lock(&rl_mutex);
	rl_head.list_op_pending = (struct robust_list *)n;
	struct robust_list *prev = &rl_head.list;
	/* The kernel stops at 2048 nodes; so do we. */
	for (int i = 0; i < 4096 && prev->next != &rl_head.list; i++) {
		if (prev->next == (struct robust_list *)n) {
			struct robust_list *next = (struct robust_list *)(
				uintptr_t)ld_relaxed(&n->rn_next);
			__atomic_store_n(&prev->next, next, __ATOMIC_RELEASE);
			break;
		}
		prev = prev->next;
	}
	rl_head.list_op_pending = NULL;
	pthread_mutex_unlock(&rl_mutex);
}

int
zipc__sem_watch(struct zipc_semset_map *m, int delta)
{
	int r = -ENOSPC, free_i = -1;
	pthread_mutex_lock(&rl_mutex);
	for (int i = 0; i < WATCH_MAX; i++) {
		if (watches[i].m == m) {
			watches[i].sleepers += delta;
			r = 0;
			break;
		}
		if (free_i < 0 && watches[i].sleepers <= 0)
			free_i = i;
	}
	if (r < 0 && delta > 0 && free_i >= 0) {
		watches[free_i].m = m;
		watches[free_i].sleepers = delta;
		r = 0;
	}
	pthread_mutex_unlock(&rl_mutex);
	fetch_add_seq(&ctl_word, 1);
	syscall(SYS_futex, &ctl_word, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
	return r;
}
