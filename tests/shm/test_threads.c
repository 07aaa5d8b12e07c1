/* SPDX-License-Identifier: MIT */
/*
 * Threads over one process's mappings, for ThreadSanitizer: the lock's
 * mutual exclusion, events handing work between threads, and concurrent
 * shmat/shmdt/IPC_STAT on one segment. (TSan sees one process only; the
 * cross-process proofs are the multi-process and crash tests.)
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>

#include "atomic.h"
#include "lock.h"
#include "testutil.h"
#include "wait.h"
#include "zipc_compat.h"

enum { THREADS = 4, ITERS = 20000 };

static struct {
	struct zipc_lock lk;
	uint64_t counter;
	struct zipc_event ev;
	uint32_t turn;
} *sh;

static void *
locker(void *arg)
{
	(void)arg;
	for (int i = 0; i < ITERS; i++) {
		if (zipc__lock(&sh->lk) != 0)
			return (void *)1;
		st_relaxed(&sh->counter, ld_relaxed(&sh->counter) + 1);
		zipc__unlock(&sh->lk);
	}
	return NULL;
}

static void
test_lock_threads(void **state)
{
	(void)state;
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, locker, NULL);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	assert_int_equal(sh->counter, THREADS * ITERS);
}

/* Two threads take turns through an event: a lost wake-up hangs (and
 * the watchdog fails the test). */
static void *
ponger(void *arg)
{
	uint32_t me = (uint32_t)(uintptr_t)arg;
	for (int i = 0; i < 2000; i++) {
		for (;;) {
			uint32_t seq = zipc__event_prepare(&sh->ev);
			if (ld_acquire(&sh->turn) % 2 == me) {
				zipc__event_cancel(&sh->ev);
				break;
			}
			zipc__event_wait(&sh->ev, seq, NULL);
		}
		st_release(&sh->turn, ld_relaxed(&sh->turn) + 1);
		zipc__event_signal(&sh->ev, INT32_MAX);
	}
	return NULL;
}

static void
test_event_threads(void **state)
{
	(void)state;
	pthread_t a, b;
	pthread_create(&a, NULL, ponger, (void *)0);
	pthread_create(&b, NULL, ponger, (void *)1);
	pthread_join(a, NULL);
	pthread_join(b, NULL);
	assert_int_equal(sh->turn, 4000);
}

static int seg_id;

static void *
attacher(void *arg)
{
	(void)arg;
	for (int i = 0; i < 200; i++) {
		char *p = zipc_shmat(seg_id, NULL, 0);
		if (p == (void *)-1)
			return (void *)1;
		__atomic_fetch_add(&p[0], 1, __ATOMIC_RELAXED);
		struct shmid_ds ds;
		if (zipc_shmctl(seg_id, IPC_STAT, &ds) != 0 ||
		    ds.shm_nattch < 1)
			return (void *)2;
		if (zipc_shmdt(p) != 0)
			return (void *)3;
	}
	return NULL;
}

static void
test_shm_threads(void **state)
{
	(void)state;
	seg_id = zipc_shmget(IPC_PRIVATE, 4096, 0600);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		pthread_create(&t[i], NULL, attacher, NULL);
	for (int i = 0; i < THREADS; i++) {
		void *r;
		pthread_join(t[i], &r);
		assert_null(r);
	}
	struct shmid_ds ds;
	assert_int_equal(zipc_shmctl(seg_id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_nattch, 0);
	assert_int_equal(zipc_shmctl(seg_id, IPC_RMID, NULL), 0);
	assert_int_equal(tu_count_objects(), 0);
}

int
main(void)
{
	tu_setup(300);
	sh = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	zipc__lock_init(&sh->lk);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lock_threads),
		cmocka_unit_test(test_event_threads),
		cmocka_unit_test(test_shm_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
