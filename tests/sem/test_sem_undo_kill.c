/* SPDX-License-Identifier: MIT */
/*
 * SEM_UNDO survives SIGKILL: a child takes a mutex semaphore with SEM_UNDO
 * and is killed while holding it; the parent, blocked on the semaphore (or
 * arriving after the death), must get it every time. Half the rounds the
 * child waits until the parent sleeps (GETNCNT == 1) so the death must wake
 * a sleeper; the others race. Some rounds end with exit() or _exit()
 * instead. Prints how long the kernel-to-waiter path took (kill to wake).
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"
#include "zipc_compat.h"

#define ROUNDS_DEFAULT 1000

static int64_t
now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int
cmp64(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return x < y ? -1 : x > y;
}

int
main(void)
{
	tu_setup(170);
	tu_seed(0x4b111ull);
	long rounds = ROUNDS_DEFAULT;
	if (getenv("ZIPC_KILL_ROUNDS"))
		rounds = atol(getenv("ZIPC_KILL_ROUNDS"));
	int64_t *shared = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	int64_t *lat = calloc((size_t)rounds * 2 + 16, sizeof(*lat));
	long nlat = 0, kills = 0;
	int id = zipc_semget(IPC_PRIVATE, 1, 0600);
	if (id < 0 || shared == MAP_FAILED || !lat) {
		perror("setup");
		return 1;
	}
	union {
		int val;
	} arg = {1};
	if (zipc_semctl(id, 0, SETVAL, arg) < 0)
		return 1;
	long r;
	for (r = 0; kills < rounds; r++) {
		int mode = (int)tu_rand_below(9); /* 0..6 kill, 7 exit, 8 _exit */
		int wait_sleeper = tu_rand_below(2);
		struct tu_gate g;
		tu_gate_init(&g);
		__atomic_store_n(&shared[0], 0, __ATOMIC_SEQ_CST);
		pid_t pid = fork();
		if (pid == 0) {
			struct sembuf take = {0, -1, SEM_UNDO};
			if (zipc_semop(id, &take, 1) < 0)
				_exit(2);
			tu_gate_open(&g);
			if (wait_sleeper)
				while (zipc_semctl(id, 0, GETNCNT) < 1)
					sched_yield();
			__atomic_store_n(&shared[0], now_ns(),
					 __ATOMIC_SEQ_CST);
			if (mode == 7)
				exit(0);
			if (mode == 8)
				_exit(0);
			kill(getpid(), SIGKILL);
			_exit(3);
		}
		if (tu_gate_wait(&g, 10000) < 0) {
			fprintf(stderr, "round %ld: child never took\n", r);
			return 1;
		}
		struct sembuf take = {0, -1, 0};
		struct timespec limit = {20, 0};
		if (zipc_semtimedop(id, &take, 1, &limit) < 0) {
			fprintf(stderr,
				"round %ld: waiter did not get the semaphore "
				"back (%s)\n",
				r, strerror(errno));
			return 1;
		}
		int64_t woke = now_ns();
		int64_t t0 = __atomic_load_n(&shared[0], __ATOMIC_SEQ_CST);
		if (wait_sleeper && t0 && mode < 7)
			lat[nlat++] = woke - t0;
		if (zipc_semctl(id, 0, GETVAL) != 0) {
			fprintf(stderr, "round %ld: value %d, want 0\n", r,
				zipc_semctl(id, 0, GETVAL));
			return 1;
		}
		struct sembuf give = {0, 1, 0};
		if (zipc_semop(id, &give, 1) < 0)
			return 1;
		int st = tu_wait(pid, 10000);
		int want = mode < 7 ? 128 + SIGKILL : 0;
		if (st != want) {
			fprintf(stderr, "round %ld: child status %d\n", r, st);
			return 1;
		}
		if (mode < 7)
			kills++;
		close(g.fd[0]);
		close(g.fd[1]);
	}
	if (zipc_semctl(id, 0, GETVAL) != 1 ||
	    zipc_semctl(id, 0, GETNCNT) != 0)
		return 1;
	if (zipc_semctl(id, 0, IPC_RMID) < 0)
		return 1;
	qsort(lat, (size_t)nlat, sizeof(*lat), cmp64);
	if (nlat)
		printf("# %ld rounds, %ld SIGKILLed holders; death-to-wake "
		       "of a sleeping waiter over %ld: median %.1f us, p99 "
		       "%.1f us, max %.1f us\n",
		       r, kills, nlat, lat[nlat / 2] / 1e3,
		       lat[nlat * 99 / 100] / 1e3, lat[nlat - 1] / 1e3);
	free(lat);
	if (tu_count_objects() != 0) {
		fprintf(stderr, "objects left: %d\n", tu_count_objects());
		return 1;
	}
	return 0;
}
