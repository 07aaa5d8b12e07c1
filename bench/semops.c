/* SPDX-License-Identifier: MIT */
/*
 * zipc-bench-sem: semaphores side by side in one run -- the kernel's XSI
 * semop and zipc's, glibc's POSIX sem_t and zipc's:
 *   - uncontended take + give of one semaphore, ns per pair;
 *   - N processes contending for a mutex (a semaphore of value 1) around a
 *     shared counter that must end exact: ops/s and CPU time per op.
 * The two-process hand-off ping-pong is in zipc-bench (rows *-xsisem,
 * *-posixsem). Medians of --runs alternating runs; machines are noisy.
 * Usage: zipc-bench-sem [--quick] [--runs K] [--csv FILE]
 */
#include <errno.h>
#include <semaphore.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runopt.h"
#include "store.h"
#include "zipc_compat.h"

enum impl { KERNEL_XSI, ZIPC_XSI, GLIBC_POSIX, ZIPC_POSIX, NIMPL };
static const char *const impl_names[NIMPL] = {"kernel semop", "zipc semop",
					      "glibc sem_t", "zipc sem_t"};

struct shared {
	sem_t sem;
	unsigned long counter;
	int go;
};

static struct shared *sh;
static int xsi_id[NIMPL];

static int
take(enum impl i)
{
	struct sembuf op = {0, -1, 0};
	switch (i) {
	case KERNEL_XSI:
		return semop(xsi_id[i], &op, 1);
	case ZIPC_XSI:
		return zipc_semop(xsi_id[i], &op, 1);
	case GLIBC_POSIX:
		return sem_wait(&sh->sem);
	default:
		return zipc_sem_wait(&sh->sem);
	}
}

static int
give(enum impl i)
{
	struct sembuf op = {0, 1, 0};
	switch (i) {
	case KERNEL_XSI:
		return semop(xsi_id[i], &op, 1);
	case ZIPC_XSI:
		return zipc_semop(xsi_id[i], &op, 1);
	case GLIBC_POSIX:
		return sem_post(&sh->sem);
	default:
		return zipc_sem_post(&sh->sem);
	}
}

static int
setup(enum impl i)
{
	sh->counter = 0;
	switch (i) {
	case KERNEL_XSI:
	case ZIPC_XSI: {
		int id = i == KERNEL_XSI ? semget(IPC_PRIVATE, 1, 0600)
					 : zipc_semget(IPC_PRIVATE, 1, 0600);
		if (id < 0)
			return -1;
		xsi_id[i] = id;
		union semun {
			int val;
		} one = {1};
		return i == KERNEL_XSI ? semctl(id, 0, SETVAL, one)
				       : zipc_semctl(id, 0, SETVAL, one);
	}
	case GLIBC_POSIX:
		return sem_init(&sh->sem, 1, 1);
	default:
		return zipc_sem_init(&sh->sem, 1, 1);
	}
}

static void
teardown(enum impl i)
{
	if (i == KERNEL_XSI)
		semctl(xsi_id[i], 0, IPC_RMID);
	else if (i == ZIPC_XSI)
		zipc_semctl(xsi_id[i], 0, IPC_RMID);
	else if (i == GLIBC_POSIX)
		sem_destroy(&sh->sem);
	else
		zipc_sem_destroy(&sh->sem);
}

/* ns per take+give, uncontended. */
static double
uncontended(enum impl i, long n)
{
	if (setup(i) < 0)
		return -1;
	for (long k = 0; k < n / 10; k++) /* warm up */
		if (take(i) < 0 || give(i) < 0)
			return -1;
	double t0 = runopt_now_s();
	for (long k = 0; k < n; k++)
		if (take(i) < 0 || give(i) < 0)
			return -1;
	double dt = runopt_now_s() - t0;
	teardown(i);
	return dt / (double)n * 1e9;
}

/* N processes around a mutex: ops/s and CPU us per op; -1 on failure. */
static double
contended(enum impl i, int nproc, long per, double *cpu_us)
{
	if (setup(i) < 0)
		return -1;
	pid_t pids[16];
	__atomic_store_n(&sh->go, 0, __ATOMIC_RELEASE);
	for (int p = 0; p < nproc; p++) {
		pids[p] = fork();
		if (pids[p] < 0) {
			perror("zipc-bench-sem: fork");
			exit(1); /* the children die by their alarm */
		}
		if (pids[p] == 0) {
			alarm(60); /* a hang fails instead of stalling */
			while (!__atomic_load_n(&sh->go, __ATOMIC_ACQUIRE))
				;
			for (long k = 0; k < per; k++) {
				if (take(i) < 0)
					_exit(1);
				sh->counter++;
				if (give(i) < 0)
					_exit(1);
			}
			_exit(0);
		}
	}
	double dc, dt = runopt_start(&sh->go, pids, nproc, &dc);
	unsigned long want = (unsigned long)nproc * (unsigned long)per;
	teardown(i);
	if (dt < 0 || sh->counter != want) {
		fprintf(stderr, "zipc-bench-sem: %s: counter %lu, want %lu\n",
			impl_names[i], sh->counter, want);
		return -1;
	}
	*cpu_us = dc / (double)want * 1e6;
	return (double)want / dt;
}

int
main(int argc, char **argv)
{
	struct runopt opt;
	if (runopt_parse(&opt, "zipc-bench-sem", argc, argv) < 0)
		return 2;
	int quick = opt.quick, runs = opt.runs;
	const char *csv = opt.csv;
	bench_store_init();
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	long n = quick ? 300000 : 3000000;
	long per = quick ? 100000 : 1000000;
	static const int nprocs[] = {2, 4};
	double un[NIMPL][RUNOPT_RUNS_MAX], ops[NIMPL][2][RUNOPT_RUNS_MAX];
	double cpu[NIMPL][2][RUNOPT_RUNS_MAX];
	int failed = 0;
	for (int r = 0; r < runs; r++) {
		for (int i = 0; i < NIMPL; i++) { /* alternate the four */
			un[i][r] = uncontended((enum impl)i, n);
			for (int p = 0; p < 2; p++)
				ops[i][p][r] = contended((enum impl)i,
							 nprocs[p], per,
							 &cpu[i][p][r]);
		}
	}
	FILE *out = csv ? fopen(csv, "w") : NULL;
	if (out)
		fprintf(out, "impl,metric,value,unit\n");
	printf("semaphores, medians of %d alternating runs\n\n", runs);
	printf("%-13s | take+give ns | 2-proc mutex Mops/s | CPU us/op | "
	       "4-proc mutex Mops/s | CPU us/op\n",
	       "impl");
	printf("--------------+--------------+---------------------+-----------"
	       "+---------------------+----------\n");
	double med_un[NIMPL];
	for (int i = 0; i < NIMPL; i++) {
		double m[5];
		m[0] = med_un[i] = runopt_median(un[i], runs);
		for (int p = 0; p < 2; p++) {
			m[1 + 2 * p] = runopt_median(ops[i][p], runs);
			m[2 + 2 * p] = runopt_median(cpu[i][p], runs);
		}
		for (int k = 0; k < 5; k++)
			failed |= m[k] < 0;
		printf("%-13s | %12.1f | %19.3f | %9.3f | %19.3f | %8.3f\n",
		       impl_names[i], m[0], m[1] / 1e6, m[2], m[3] / 1e6, m[4]);
		if (out)
			fprintf(out,
				"%s,take_give,%.2f,ns\n%s,mutex2,%.0f,ops/s\n"
				"%s,mutex2_cpu,%.4f,us/op\n%s,mutex4,%.0f,ops/s\n"
				"%s,mutex4_cpu,%.4f,us/op\n",
				impl_names[i], m[0], impl_names[i], m[1],
				impl_names[i], m[2], impl_names[i], m[3],
				impl_names[i], m[4]);
	}
	printf("\nuncontended take+give: zipc semop is %.1fx faster than the "
	       "kernel's; zipc sem_t takes %.2fx glibc's time\n",
	       med_un[KERNEL_XSI] / med_un[ZIPC_XSI],
	       med_un[ZIPC_POSIX] / med_un[GLIBC_POSIX]);
	if (out)
		fclose(out);
	return failed;
}
