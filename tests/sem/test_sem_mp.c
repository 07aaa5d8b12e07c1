/* SPDX-License-Identifier: MIT */
/*
 * Multi-process tests of XSI semaphore sets:
 *  - mutual exclusion: processes increment a plain shared counter under a
 *    semaphore (with SEM_UNDO, and without: the lock-free fast path); it
 *    must end exact;
 *  - a barrier built on wait-for-zero;
 *  - producer/consumer over a ring guarded by two semaphores;
 *  - EIDRM to sleepers on IPC_RMID, EINTR (even with SA_RESTART),
 *    semtimedop's EAGAIN;
 *  - wake order against the kernel: the same sleepers queued in the same
 *    order on a kernel set and a zipc set, the same changes applied, and
 *    after each change the same values, the same semncnt/semzcnt and, at
 *    the end, the same result for every sleeper.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "zipc_compat.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* The kernel set of the wake-order test, removed on any exit. */
static int kernel_set = -1;
static pid_t owner;

static void
cleanup(void)
{
	if (getpid() == owner && kernel_set >= 0)
		semctl(kernel_set, 0, IPC_RMID);
}

#define CHECK(c)                                                              \
	do {                                                                  \
		if (!(c)) {                                                   \
			fprintf(stderr, "%s:%d: %s\n", __FILE__, __LINE__,    \
				#c);                                          \
			exit(1);                                              \
		}                                                             \
	} while (0)

static void *
shared_page(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	CHECK(p != MAP_FAILED);
	return p;
}

static int
op1(int id, int num, int op, int flg)
{
	struct sembuf b = {(unsigned short)num, (short)op, (short)flg};
	return zipc_semop(id, &b, 1);
}

/* ---- mutual exclusion ------------------------------------------------- */

#define MX_PROCS 4
#define MX_ITERS 3000

static void
test_mutex(int flg)
{
	volatile long *counter = shared_page(4096);
	int id = zipc_semget(IPC_PRIVATE, 1, 0600);
	CHECK(id >= 0);
	CHECK(zipc_semctl(id, 0, SETVAL, (union semun){.val = 1}) == 0);
	pid_t pids[MX_PROCS];
	for (int p = 0; p < MX_PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			for (int i = 0; i < MX_ITERS; i++) {
				if (op1(id, 0, -1, flg) < 0)
					_exit(2);
				long v = *counter;
				if (i % 7 == 0)
					sched_yield();
				*counter = v + 1;
				if (op1(id, 0, 1, flg) < 0)
					_exit(3);
			}
			_exit(0);
		}
	}
	for (int p = 0; p < MX_PROCS; p++)
		CHECK(tu_wait(pids[p], 60000) == 0);
	CHECK(*counter == (long)MX_PROCS * MX_ITERS);
	CHECK(zipc_semctl(id, 0, GETVAL) == 1);
	CHECK(zipc_semctl(id, 0, IPC_RMID) == 0);
	printf("# mutex%s: %d processes x %d, counter exact\n",
	       flg ? " (SEM_UNDO)" : " (lock-free fast path)", MX_PROCS,
	       MX_ITERS);
}

/* ---- barrier on wait-for-zero --------------------------------------- */

#define BR_PROCS  4
#define BR_ROUNDS 50

static void
test_barrier(void)
{
	volatile int *arrived = shared_page(4096 * 2);
	int id = zipc_semget(IPC_PRIVATE, BR_ROUNDS, 0600);
	CHECK(id >= 0);
	unsigned short init[BR_ROUNDS];
	for (int i = 0; i < BR_ROUNDS; i++)
		init[i] = BR_PROCS;
	CHECK(zipc_semctl(id, 0, SETALL, (union semun){.array = init}) == 0);
	pid_t pids[BR_PROCS];
	for (int p = 0; p < BR_PROCS; p++) {
		pids[p] = fork();
		if (pids[p] == 0) {
			for (int r = 0; r < BR_ROUNDS; r++) {
				__atomic_fetch_add(&arrived[r], 1,
						   __ATOMIC_SEQ_CST);
				/* Arrive, then wait for everybody. */
				struct sembuf b[2] = {{(unsigned short)r, -1, 0},
						      {(unsigned short)r, 0, 0}};
				if (zipc_semop(id, &b[0], 1) < 0 ||
				    zipc_semop(id, &b[1], 1) < 0)
					_exit(2);
				if (__atomic_load_n(&arrived[r],
						    __ATOMIC_SEQ_CST) != BR_PROCS)
					_exit(4); /* passed too early */
			}
			_exit(0);
		}
	}
	for (int p = 0; p < BR_PROCS; p++)
		CHECK(tu_wait(pids[p], 60000) == 0);
	CHECK(zipc_semctl(id, 0, IPC_RMID) == 0);
	printf("# barrier: %d processes x %d rounds\n", BR_PROCS, BR_ROUNDS);
}

/* ---- producer / consumer --------------------------------------------- */

#define PC_SLOTS 8
#define PC_ITEMS 20000

static void
test_prodcons(void)
{
	long *ring = shared_page(4096);
	int id = zipc_semget(IPC_PRIVATE, 2, 0600); /* 0 free, 1 full */
	CHECK(id >= 0);
	CHECK(zipc_semctl(id, 0, SETVAL, (union semun){.val = PC_SLOTS}) ==
	      0);
	pid_t prod = fork();
	if (prod == 0) {
		for (long i = 0; i < PC_ITEMS; i++) {
			if (op1(id, 0, -1, 0) < 0)
				_exit(2);
			ring[i % PC_SLOTS] = i * 3 + 1;
			if (op1(id, 1, 1, 0) < 0)
				_exit(3);
		}
		_exit(0);
	}
	pid_t cons = fork();
	if (cons == 0) {
		for (long i = 0; i < PC_ITEMS; i++) {
			if (op1(id, 1, -1, 0) < 0)
				_exit(2);
			if (ring[i % PC_SLOTS] != i * 3 + 1)
				_exit(5);
			if (op1(id, 0, 1, 0) < 0)
				_exit(3);
		}
		_exit(0);
	}
	CHECK(tu_wait(prod, 60000) == 0);
	CHECK(tu_wait(cons, 60000) == 0);
	CHECK(zipc_semctl(id, 0, GETVAL) == PC_SLOTS);
	CHECK(zipc_semctl(id, 1, GETVAL) == 0);
	CHECK(zipc_semctl(id, 0, IPC_RMID) == 0);
	printf("# producer/consumer: %d items through %d slots\n", PC_ITEMS,
	       PC_SLOTS);
}

/* ---- EIDRM, EINTR, EAGAIN ------------------------------------------- */

static void
on_usr1(int sig)
{
	(void)sig;
}

static void
wait_ncnt(int id, int num, int n)
{
	while (zipc_semctl(id, num, GETNCNT) < n)
		sched_yield();
}

static void
test_errors(void)
{
	int id = zipc_semget(IPC_PRIVATE, 1, 0600);
	CHECK(id >= 0);
	pid_t c = fork();
	if (c == 0)
		_exit(op1(id, 0, -1, 0) < 0 && errno == EIDRM ? 0 : 1);
	wait_ncnt(id, 0, 1);
	CHECK(zipc_semctl(id, 0, IPC_RMID) == 0);
	CHECK(tu_wait(c, 10000) == 0);

	id = zipc_semget(IPC_PRIVATE, 1, 0600);
	CHECK(id >= 0);
	c = fork();
	if (c == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_RESTART; /* semop is never restarted */
		sigaction(SIGUSR1, &sa, NULL);
		_exit(op1(id, 0, -1, 0) < 0 && errno == EINTR ? 0 : 1);
	}
	wait_ncnt(id, 0, 1);
	kill(c, SIGUSR1);
	CHECK(tu_wait(c, 10000) == 0);
	CHECK(zipc_semctl(id, 0, GETNCNT) == 0);

	struct sembuf b = {0, -1, 0};
	struct timespec t = {0, 20000000};
	CHECK(zipc_semtimedop(id, &b, 1, &t) == -1 && errno == EAGAIN);
	CHECK(zipc_semctl(id, 0, GETNCNT) == 0);
	CHECK(zipc_semctl(id, 0, IPC_RMID) == 0);
	printf("# EIDRM, EINTR with SA_RESTART, semtimedop EAGAIN\n");
}

/* ---- wake order against the kernel ----------------------------------- */

#define WO_SEMS	 3
#define WO_SLEEP 5

struct face {
	int id;
	int (*semop_fn)(int, struct sembuf *, size_t);
	int (*semctl_fn)(int, int, int, ...);
};

static int
queued_once(const struct face *f)
{
	int n = 0;
	for (int s = 0; s < WO_SEMS; s++)
		n += f->semctl_fn(f->id, s, GETNCNT) +
		     f->semctl_fn(f->id, s, GETZCNT);
	return n;
}

/* The number of sleepers, read until two reads agree (the sum is not read
 * atomically, and a completion may move a sleeper between semaphores). */
static int
queued(const struct face *f)
{
	int a = queued_once(f), b;
	while ((b = queued_once(f)) != a)
		a = b;
	return a;
}

static pid_t
sleeper(const struct face *f, struct sembuf *ops, int n)
{
	pid_t p = fork();
	if (p == 0) {
		int r = f->semop_fn(f->id, ops, (size_t)n);
		_exit(r == 0 ? 0 : errno);
	}
	return p;
}

static void
test_wake_order(void)
{
	struct face k = {-1, semop, semctl}, z = {-1, zipc_semop, zipc_semctl};
	long steps = 0;
	for (int round = 0; round < 40; round++) {
		k.id = kernel_set = semget(IPC_PRIVATE, WO_SEMS, 0600);
		z.id = zipc_semget(IPC_PRIVATE, WO_SEMS, 0600);
		CHECK(k.id >= 0 && z.id >= 0);
		pid_t kp[WO_SLEEP], zp[WO_SLEEP];
		int ns = 1 + (int)tu_rand_below(WO_SLEEP);
		for (int i = 0; i < ns; i++) {
			struct sembuf ops[3];
			int n = 1 + (int)tu_rand_below(tu_rand_below(2) ? 1 : 3);
			for (int j = 0; j < n; j++) {
				ops[j].sem_num =
					(unsigned short)tu_rand_below(WO_SEMS);
				ops[j].sem_op = (short)(tu_rand_below(3) ? -(int)(1 + tu_rand_below(2)) : 0);
				if (j > 0 && tu_rand_below(3) == 0)
					ops[j].sem_op = 1;
				ops[j].sem_flg = tu_rand_below(8) ? 0 : IPC_NOWAIT;
			}
			ops[0].sem_flg = 0;
			/* Make sure it blocks now: the first op must wait. */
			if (ops[0].sem_op == 0) {
				int s = ops[0].sem_num;
				union semun a = {.val = 1};
				if (semctl(k.id, s, GETVAL) == 0) {
					semctl(k.id, s, SETVAL, a);
					zipc_semctl(z.id, s, SETVAL, a);
				}
			}
			if (getenv("WO_DEBUG")) {
				fprintf(stderr, "r%d s%d:", round, i);
				for (int j = 0; j < n; j++)
					fprintf(stderr, " {%d,%d,%d}", ops[j].sem_num, ops[j].sem_op, ops[j].sem_flg);
				fprintf(stderr, "\n");
			}
			int before = queued(&k);
			kp[i] = sleeper(&k, ops, n);
			while (queued(&k) != before + 1) {
				int st;
				if (waitpid(kp[i], &st, WNOHANG) == kp[i]) {
					kp[i] = -WEXITSTATUS(st) - 1;
					break;
				}
				sched_yield();
			}
			int zb = queued(&z);
			zp[i] = sleeper(&z, ops, n);
			while (kp[i] >= 0 && queued(&z) != zb + 1) {
				int st;
				if (waitpid(zp[i], &st, WNOHANG) == zp[i]) {
					zp[i] = -WEXITSTATUS(st) - 1;
					break;
				}
				sched_yield();
			}
			if (kp[i] < 0 && zp[i] >= 0) {
				int st = tu_wait(zp[i], 5000);
				zp[i] = -st - 1;
			}
			if ((kp[i] < 0) != (zp[i] < 0)) {
				fprintf(stderr, "round %d sleeper %d: kernel "
					"%d zipc %d; ops", round, i, kp[i],
					zp[i]);
				for (int j = 0; j < n; j++)
					fprintf(stderr, " {%d,%d,%d}",
						ops[j].sem_num, ops[j].sem_op,
						ops[j].sem_flg);
				fprintf(stderr, "\n");
				for (int q = 0; q < WO_SEMS; q++)
					fprintf(stderr, "sem %d: k %d n%d z%d; z %d n%d z%d\n", q,
						semctl(k.id, q, GETVAL), semctl(k.id, q, GETNCNT), semctl(k.id, q, GETZCNT),
						zipc_semctl(z.id, q, GETVAL), zipc_semctl(z.id, q, GETNCNT), zipc_semctl(z.id, q, GETZCNT));
				semctl(k.id, 0, IPC_RMID);
				exit(1);
			}
		}
		for (int step = 0; step < 6; step++, steps++) {
			unsigned short kv[WO_SEMS], zv[WO_SEMS];
			if (tu_rand_below(4) == 0) {
				int s = (int)tu_rand_below(WO_SEMS);
				union semun a = {.val = (int)tu_rand_below(3)};
				CHECK(semctl(k.id, s, SETVAL, a) == 0);
				CHECK(zipc_semctl(z.id, s, SETVAL, a) == 0);
			} else {
				struct sembuf b = {
					(unsigned short)tu_rand_below(WO_SEMS),
					(short)(1 + tu_rand_below(2)),
					IPC_NOWAIT};
				if (tu_rand_below(4) == 0)
					b.sem_op = -1;
				int kr = semop(k.id, &b, 1), ke = errno;
				int zr = zipc_semop(z.id, &b, 1), ze = errno;
				CHECK(kr == zr && (kr == 0 || ke == ze));
			}
			union semun ka = {.array = kv}, za = {.array = zv};
			CHECK(semctl(k.id, 0, GETALL, ka) == 0);
			CHECK(zipc_semctl(z.id, 0, GETALL, za) == 0);
			for (int s = 0; s < WO_SEMS; s++) {
				if (kv[s] != zv[s] ||
				    semctl(k.id, s, GETNCNT) !=
					    zipc_semctl(z.id, s, GETNCNT) ||
				    semctl(k.id, s, GETZCNT) !=
					    zipc_semctl(z.id, s, GETZCNT)) {
					fprintf(stderr,
						"round %d step %d sem %d: "
						"kernel %u n%d z%d, zipc %u "
						"n%d z%d\n",
						round, step, s, kv[s],
						semctl(k.id, s, GETNCNT),
						semctl(k.id, s, GETZCNT), zv[s],
						zipc_semctl(z.id, s, GETNCNT),
						zipc_semctl(z.id, s, GETZCNT));
					semctl(k.id, 0, IPC_RMID);
					exit(1);
				}
			}
		}
		CHECK(semctl(k.id, 0, IPC_RMID) == 0);
		kernel_set = -1;
		CHECK(zipc_semctl(z.id, 0, IPC_RMID) == 0);
		for (int i = 0; i < ns; i++) {
			int ks = kp[i] < 0 ? -kp[i] - 1 : tu_wait(kp[i], 10000);
			int zs = zp[i] < 0 ? -zp[i] - 1 : tu_wait(zp[i], 10000);
			if (ks != zs) {
				fprintf(stderr,
					"round %d sleeper %d: kernel %d zipc "
					"%d\n",
					round, i, ks, zs);
				exit(1);
			}
		}
	}
	printf("# wake order: 40 rounds, %ld changes, same as the kernel\n",
	       steps);
}

int
main(void)
{
	tu_setup(170);
	tu_seed(0x3e3a0ull);
	owner = getpid();
	atexit(cleanup);
	test_mutex(SEM_UNDO);
	test_mutex(0);
	test_barrier();
	test_prodcons();
	test_errors();
	test_wake_order();
	CHECK(tu_count_objects() == 0);
	return 0;
}
