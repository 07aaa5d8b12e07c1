/* SPDX-License-Identifier: MIT */
/*
 * Crash injection: a child dies (_exit at a named ZIPC_CRASH point, as a
 * SIGKILL there would leave things) inside every critical section of the
 * store, the registry and shared memory; then the parent checks that the
 * lock is not stuck, shm_nattch and the key table are right, and that
 * nothing is left behind once it removes what it made.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"
#include "zipc_compat.h"

#define KEY 0x6e6e

struct scenario {
	const char *point;
	int id;
	int op; /* what the child does */
};

enum { OP_GET, OP_ATTACH, OP_ATTACH_DETACH, OP_RMID, OP_LAST_DETACH };

static int
child(void *arg)
{
	struct scenario *s = arg;
	zipc__crash_arm(s->point);
	void *p;
	switch (s->op) {
	case OP_GET:
		zipc_shmget(KEY, 4096, IPC_CREAT | 0600);
		break;
	case OP_ATTACH:
		zipc_shmat(s->id, NULL, 0);
		break;
	case OP_ATTACH_DETACH:
		p = zipc_shmat(s->id, NULL, 0);
		zipc_shmdt(p);
		break;
	case OP_RMID:
		zipc_shmctl(s->id, IPC_RMID, NULL);
		break;
	case OP_LAST_DETACH:
		zipc__crash_arm(NULL);
		p = zipc_shmat(s->id, NULL, 0);
		zipc_shmctl(s->id, IPC_RMID, NULL);
		zipc__crash_arm(s->point);
		zipc_shmdt(p);
		break;
	}
	return 0; /* the point was never reached: the test fails */
}

static void
crash_in(struct scenario *s)
{
	pid_t pid = tu_fork(child, s);
	int st = tu_wait(pid, 20000);
	if (st != ZIPC_CRASH_EXIT)
		fail_msg("point %s: child status %d, want %d", s->point, st,
			 ZIPC_CRASH_EXIT);
}

static int
nattch(int id)
{
	struct shmid_ds ds;
	if (zipc_shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	return (int)ds.shm_nattch;
}

static void
assert_clean(void)
{
	struct shm_info si;
	assert_true(zipc_shmctl(0, SHM_INFO, (struct shmid_ds *)&si) >= 0);
	assert_int_equal(si.used_ids, 0);
	assert_int_equal(si.shm_tot, 0);
	assert_int_equal(tu_count_objects(), 0);
}

static void
test_crash_in_get(void **state)
{
	(void)state;
	static const char *const points[] = {
		"registry.get.creating", "store.create.before-ready",
		"store.create.linked", "registry.get.created"};
	for (size_t i = 0; i < ZIPC_ARRAY_SIZE(points); i++) {
		struct scenario s = {points[i], -1, OP_GET};
		crash_in(&s);
		/* The creator died before anyone learnt the id: rolled back,
		 * and the key works at once (the registry lock is free). */
		int id = zipc_shmget(KEY, 4096, IPC_CREAT | IPC_EXCL | 0600);
		assert_true(id >= 0);
		void *p = zipc_shmat(id, NULL, 0);
		assert_true(p != (void *)-1);
		assert_int_equal(nattch(id), 1);
		assert_int_equal(zipc_shmdt(p), 0);
		assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);
		assert_clean();
	}
}

static void
test_crash_in_attach_detach(void **state)
{
	(void)state;
	static const struct {
		const char *point;
		int op;
	} cases[] = {
		{"shm.attach.mapped", OP_ATTACH},
		{"shm.attach.counted", OP_ATTACH},
		{"shm.detach.unmapped", OP_ATTACH_DETACH},
	};
	for (size_t i = 0; i < ZIPC_ARRAY_SIZE(cases); i++) {
		int id = zipc_shmget(IPC_PRIVATE, 4096, 0600);
		void *mine = zipc_shmat(id, NULL, 0);
		struct scenario s = {cases[i].point, id, cases[i].op};
		crash_in(&s);
		/* The dead child's attachment is not counted, the lock it
		 * held is taken over, and others go on. */
		assert_int_equal(nattch(id), 1);
		void *p = zipc_shmat(id, NULL, 0);
		assert_int_equal(nattch(id), 2);
		assert_int_equal(zipc_shmdt(p), 0);
		assert_int_equal(zipc_shmdt(mine), 0);
		assert_int_equal(nattch(id), 0);
		assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);
		assert_clean();
	}
}

static void
test_crash_in_rmid(void **state)
{
	(void)state;
	/* Unattached: the removal completes; the key is forgotten. */
	int id = zipc_shmget(KEY, 4096, IPC_CREAT | 0600);
	struct scenario s = {"shm.rmid.marked", id, OP_RMID};
	crash_in(&s);
	assert_int_equal(zipc_shmget(KEY, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(nattch(id), -EINVAL);
	assert_clean();

	/* Attached: removed but held, as after a whole IPC_RMID. */
	id = zipc_shmget(KEY, 4096, IPC_CREAT | 0600);
	void *p = zipc_shmat(id, NULL, 0);
	s.id = id;
	crash_in(&s);
	assert_int_equal(zipc_shmget(KEY, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	struct shmid_ds ds;
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), 0);
	assert_true(ds.shm_perm.mode & SHM_DEST);
	assert_int_equal(ds.shm_perm.__key, 0);
	int other = zipc_shmget(KEY, 4096, IPC_CREAT | IPC_EXCL | 0600);
	assert_true(other >= 0 && other != id);
	assert_int_equal(zipc_shmctl(other, IPC_RMID, NULL), 0);
	assert_int_equal(zipc_shmdt(p), 0);
	assert_int_equal(nattch(id), -EINVAL);
	assert_clean();
}

static void
test_crash_in_destroy(void **state)
{
	(void)state;
	static const char *const points[] = {"store.remove.marked",
					     "shm.destroy.unlinked"};
	for (size_t i = 0; i < ZIPC_ARRAY_SIZE(points); i++) {
		int id = zipc_shmget(KEY, 4096, IPC_CREAT | 0600);
		struct scenario s = {points[i], id, OP_LAST_DETACH};
		crash_in(&s);
		/* Gone for everyone, and its slot comes back. */
		assert_int_equal(nattch(id), -EINVAL);
		assert_int_equal(zipc_shmget(KEY, 0, 0), -1);
		assert_int_equal(errno, ENOENT);
		assert_clean();
	}
}

int
main(void)
{
	tu_setup(120);
#ifndef ZIPC_CRASH_POINTS
	printf("1..0 # SKIP built without -Dcrash_points=true\n");
	return 0;
#endif
	/* Make the registry first, so the crash points inside the store
	 * are reached by the object being created, not by the registry. */
	zipc_shmctl(0, SHM_INFO, (struct shmid_ds *)&(struct shm_info){0});
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_crash_in_get),
		cmocka_unit_test(test_crash_in_attach_detach),
		cmocka_unit_test(test_crash_in_rmid),
		cmocka_unit_test(test_crash_in_destroy),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
