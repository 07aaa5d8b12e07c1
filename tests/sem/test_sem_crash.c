/* SPDX-License-Identifier: MIT */
/*
 * Crash injection at every ZIPC_CRASH point of src/sem: a child arms the
 * point and runs the operation that passes it; it must die there (exit
 * status 86, asserted, so a point never reached fails). Then the set must
 * be consistent -- values equal to the operations that completed plus the
 * undo of the dead, no stuck lock, semncnt right -- and peers proceed.
 */
#include <errno.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include "internal.h"
#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

static const char *cur;

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s: %s:%d: %s\n", cur, __FILE__,     \
				__LINE__, #c);                                \
			exit(1);                                              \
		}                                                             \
	} while (0)

static int
op(int id, int num, int delta, int flg)
{
	struct sembuf b = {(unsigned short)num, (short)delta, (short)flg};
	return zipc_semop(id, &b, 1);
}

static int
mkset(int n, const unsigned short *vals)
{
	int id = zipc_semget(IPC_PRIVATE, n, 0600);
	CHECK(id >= 0);
	CHECK(zipc_semctl(id, 0, SETALL,
			  (union semun){.array = (unsigned short *)vals}) == 0);
	return id;
}

/* Run @fn in a child with @point armed; it must die there. */
static void
crash_child(const char *point, void (*fn)(int), int id)
{
	pid_t p = fork();
	if (p == 0) {
		zipc__crash_arm(point);
		fn(id);
		_exit(0);
	}
	int st = tu_wait(p, 20000);
	if (st != ZIPC_CRASH_EXIT) {
		fprintf(stderr, "%s: child status %d, want %d\n", point, st,
			ZIPC_CRASH_EXIT);
		exit(1);
	}
}

/* A peer that sleeps on @id until it gets (@num, @delta). */
static pid_t
sleeper(int id, int num, int delta)
{
	pid_t p = fork();
	if (p == 0) {
		struct sembuf b = {(unsigned short)num, (short)delta, 0};
		struct timespec t = {30, 0};
		int r = zipc_semtimedop(id, &b, 1, &t);
		_exit(r == 0 ? 0 : r < 0 && errno == EIDRM ? 43 : 1);
	}
	while (zipc_semctl(id, num, delta ? GETNCNT : GETZCNT) < 1)
		sched_yield();
	return p;
}

static void
do_take2_undo(int id)
{
	op(id, 0, -2, SEM_UNDO);
}

/* Two operations: a single one would take the lock-free fast path,
 * which is one CAS and has no crash point. */
static void
do_take2(int id)
{
	struct sembuf b[2] = {{0, -1, 0}, {0, -1, 0}};
	zipc_semop(id, b, 2);
}

static void
do_take1(int id)
{
	op(id, 0, -1, 0);
}

static void
do_give1(int id)
{
	op(id, 0, 1, 0);
}

static void
do_getval(int id)
{
	zipc_semctl(id, 0, GETVAL);
}

static void
do_setval0(int id)
{
	zipc_semctl(id, 0, SETVAL, (union semun){.val = 0});
}

static void
do_setall(int id)
{
	unsigned short v[2] = {4, 5};
	zipc_semctl(id, 0, SETALL, (union semun){.array = v});
}

static void
do_rmid(int id)
{
	zipc_semctl(id, 0, IPC_RMID);
}

static void
rm(int id)
{
	CHECK(zipc_semctl(id, 0, IPC_RMID) == 0);
}

static void
t_op_applied(void)
{
	unsigned short v[1] = {5};
	int id = mkset(1, v);
	crash_child("sem.op.applied", do_take2_undo, id);
	CHECK(zipc_semctl(id, 0, GETVAL) == 5); /* rolled back */
	CHECK(op(id, 0, -1, 0) == 0 && op(id, 0, 1, 0) == 0);
	rm(id);
}

static void
t_op_committed(void)
{
	unsigned short v[1] = {5};
	int id = mkset(1, v);
	crash_child("sem.op.committed", do_take2, id);
	CHECK(zipc_semctl(id, 0, GETVAL) == 3); /* completed */
	crash_child("sem.op.committed", do_take2_undo, id);
	CHECK(zipc_semctl(id, 0, GETVAL) == 3); /* completed, then undone */
	rm(id);
}

static void
t_enqueue(void)
{
	unsigned short v[1] = {0};
	int id = mkset(1, v);
	crash_child("sem.op.enqueue", do_take1, id);
	CHECK(zipc_semctl(id, 0, GETNCNT) == 0);
	pid_t s = sleeper(id, 0, -1);
	CHECK(zipc_semctl(id, 0, GETNCNT) == 1);
	CHECK(op(id, 0, 1, 0) == 0);
	CHECK(tu_wait(s, 20000) == 0);
	CHECK(zipc_semctl(id, 0, GETVAL) == 0);
	rm(id);
}

static void
t_update(const char *point)
{
	unsigned short v[1] = {0};
	int id = mkset(1, v);
	pid_t s = sleeper(id, 0, -1);
	crash_child(point, do_give1, id);
	/* The waker's +1 completed; the sleeper must get it either way. */
	CHECK(tu_wait(s, 20000) == 0);
	CHECK(zipc_semctl(id, 0, GETVAL) == 0);
	CHECK(zipc_semctl(id, 0, GETNCNT) == 0);
	rm(id);
}

static void
t_undo_linked(void)
{
	unsigned short v[1] = {3};
	int id = mkset(1, v);
	crash_child("sem.undo.linked", do_take2_undo, id);
	CHECK(zipc_semctl(id, 0, GETVAL) == 3);
	CHECK(op(id, 0, -3, SEM_UNDO | IPC_NOWAIT) == 0);
	CHECK(op(id, 0, 3, SEM_UNDO) == 0);
	rm(id);
}

/* A process takes with SEM_UNDO and dies; the crasher dies while applying
 * its adjustments; the next caller must finish them. */
static void
t_undo_apply(const char *point)
{
	unsigned short v[2] = {3, 3};
	int id = mkset(2, v);
	pid_t d = fork();
	if (d == 0) {
		struct sembuf b[2] = {{0, -2, SEM_UNDO}, {1, -1, SEM_UNDO}};
		_exit(zipc_semop(id, b, 2) == 0 ? 0 : 1);
	}
	CHECK(tu_wait(d, 20000) == 0);
	crash_child(point, do_getval, id);
	CHECK(zipc_semctl(id, 0, GETVAL) == 3);
	CHECK(zipc_semctl(id, 1, GETVAL) == 3);
	rm(id);
}

static void
t_setval(void)
{
	unsigned short v[1] = {3};
	int id = mkset(1, v);
	CHECK(op(id, 0, -1, SEM_UNDO) == 0); /* our adjustment: +1 */
	crash_child("sem.setval.cleared", do_setval0, id);
	CHECK(zipc_semctl(id, 0, GETVAL) == 2); /* rolled back */
	CHECK(zipc_semctl(id, 0, SETVAL, (union semun){.val = 1}) == 0);
	CHECK(zipc_semctl(id, 0, GETVAL) == 1);
	rm(id);
}

static void
t_setall(const char *point)
{
	unsigned short v[2] = {1, 1}, got[2];
	int id = mkset(2, v);
	pid_t s = sleeper(id, 1, -5);
	crash_child(point, do_setall, id);
	/* Rolled forward: SETALL happened, and the sleeper got its 5. */
	CHECK(zipc_semctl(id, 0, GETALL, (union semun){.array = got}) == 0);
	CHECK(tu_wait(s, 20000) == 0);
	CHECK(zipc_semctl(id, 0, GETALL, (union semun){.array = got}) == 0);
	CHECK(got[0] == 4 && got[1] == 0);
	rm(id);
}

static void
t_rmid(const char *point)
{
	unsigned short v[1] = {0};
	int id = mkset(1, v);
	pid_t s = sleeper(id, 0, -1);
	crash_child(point, do_rmid, id);
	/* Half-removed: removing again (if it is still there) finishes. */
	int r = zipc_semctl(id, 0, IPC_RMID);
	CHECK(r == 0 || errno == EINVAL);
	CHECK(tu_wait(s, 20000) == 43);
	CHECK(zipc_semctl(id, 0, GETVAL) == -1 && errno == EINVAL);
}

/* POSIX: a poster killed between its add and its wake-up. */
static zipc_sema_t *psem;

static void
do_post(int id)
{
	(void)id;
	zipc_sema_post(psem);
}

static void
do_wait(int id)
{
	(void)id;
	zipc_sema_wait(psem, -1);
}

static void
t_sema(void)
{
	psem = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(psem != MAP_FAILED);
	CHECK(zipc_sema_init(psem, 1, 0) == 0);
	pid_t w = fork();
	if (w == 0)
		_exit(zipc_sema_wait(psem, 20000000000LL) == 0 ? 0 : 1);
	cur = "sema.post.added";
	crash_child("sema.post.added", do_post, 0);
	CHECK(tu_wait(w, 20000) == 0);
	CHECK(zipc_sema_getvalue(psem) == 0);
	cur = "sema.wait.counted";
	crash_child("sema.wait.counted", do_wait, 0);
	CHECK(zipc_sema_post(psem) == 0);
	CHECK(zipc_sema_trywait(psem) == 0);
	CHECK(zipc_sema_trywait(psem) == -EAGAIN);
	CHECK(zipc_sema_destroy(psem) == 0);
}

int
main(void)
{
	tu_setup(170);
	static const char *const upd[] = {"sem.update.finishing",
					  "sem.update.committed"};
	static const char *const und[] = {"sem.undo.applying",
					  "sem.undo.freed"};
	static const char *const sa[] = {"sem.setall.marked",
					 "sem.setall.values"};
	static const char *const rmp[] = {"sem.rmid.unkeyed",
					  "sem.rmid.removed"};
	int n = 0;
	cur = "sem.op.applied";
	t_op_applied(), n++;
	cur = "sem.op.committed";
	t_op_committed(), n++;
	cur = "sem.op.enqueue";
	t_enqueue(), n++;
	for (int i = 0; i < 2; i++, n++)
		cur = upd[i], t_update(upd[i]);
	cur = "sem.undo.linked";
	t_undo_linked(), n++;
	for (int i = 0; i < 2; i++, n++)
		cur = und[i], t_undo_apply(und[i]);
	cur = "sem.setval.cleared";
	t_setval(), n++;
	for (int i = 0; i < 2; i++, n++)
		cur = sa[i], t_setall(sa[i]);
	for (int i = 0; i < 2; i++, n++)
		cur = rmp[i], t_rmid(rmp[i]);
	t_sema(), n += 2;
	/* IPC_INFO sweeps what an interrupted removal left in the registry. */
	struct seminfo si;
	CHECK(zipc_semctl(0, 0, SEM_INFO, (union semun){.buf = (void *)&si}) >= 0);
	CHECK(si.semusz == 0);
	printf("# %d crash points, each reached, set consistent, peers "
	       "proceeded\n",
	       n);
	CHECK(tu_count_objects() == 0);
	return 0;
}
