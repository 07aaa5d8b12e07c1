/* SPDX-License-Identifier: MIT */
/*
 * The command line, clocks and medians of zipc-bench-queue and
 * zipc-bench-sem (runopt.h). Machines are noisy: each figure is the median
 * of K runs taken alternately with the other implementations, so a slow
 * moment hurts one run of each rather than every run of one.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>

#include "runopt.h"

int
runopt_parse(struct runopt *o, const char *prog, int argc, char **argv)
{
	o->quick = 0;
	o->runs = 3;
	o->csv = NULL;
	for (int a = 1; a < argc; a++) {
		if (strcmp(argv[a], "--quick") == 0)
			o->quick = 1;
		else if (strcmp(argv[a], "--runs") == 0 && a + 1 < argc)
			o->runs = atoi(argv[++a]);
		else if (strcmp(argv[a], "--csv") == 0 && a + 1 < argc)
			o->csv = argv[++a];
		else {
			fprintf(stderr,
				"usage: %s [--quick] [--runs K] [--csv FILE]\n",
				prog);
			return -1;
		}
	}
	if (o->runs < 1 || o->runs > RUNOPT_RUNS_MAX)
		o->runs = 3;
	return 0;
}

double
runopt_now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

double
runopt_cpu_s(int who)
{
	struct rusage ru;
	getrusage(who, &ru);
	return (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec * 1e-6 +
	       (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec * 1e-6;
}

double
runopt_start(volatile int *go, const pid_t *pids, int n, double *cpu)
{
	double c0 = runopt_cpu_s(RUSAGE_CHILDREN), t0 = runopt_now_s();
	__atomic_store_n(go, 1, __ATOMIC_RELEASE);
	int bad = 0;
	for (int k = 0; k < n; k++) {
		int st;
		waitpid(pids[k], &st, 0);
		bad |= !WIFEXITED(st) || WEXITSTATUS(st) != 0;
	}
	double dt = runopt_now_s() - t0;
	*cpu = runopt_cpu_s(RUSAGE_CHILDREN) - c0;
	return bad ? -1 : dt;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

double
runopt_median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return v[n / 2];
}
