/* SPDX-License-Identifier: MIT */
/*
 * What zipc-bench-queue and zipc-bench-sem share: their command line
 * ([--quick] [--runs K] [--csv FILE]), the clocks they read, how they
 * start and reap their child processes, and the median of K alternating
 * runs that each of their figures is.
 */
#ifndef BENCH_RUNOPT_H
#define BENCH_RUNOPT_H

#include <sys/types.h>

#define RUNOPT_RUNS_MAX 15 /* runs kept per figure */

struct runopt {
	int quick;	 /* --quick: a tenth of the work */
	int runs;	 /* --runs K, 1..RUNOPT_RUNS_MAX (else 3) */
	const char *csv; /* --csv FILE, or NULL */
};

/*
 * Parse the command line of @prog into @o. Returns 0, or -1 after printing
 * the usage line for anything else (the caller exits 2).
 */
int runopt_parse(struct runopt *o, const char *prog, int argc, char **argv);
/* CLOCK_MONOTONIC in seconds. */
double runopt_now_s(void);
/* User + system CPU seconds of getrusage(@who). */
double runopt_cpu_s(int who);
/*
 * Fire the start gun *@go that the @n forked children @pids spin on, then
 * reap them all. Returns the wall seconds from the shot to the last exit
 * and sets *@cpu to the CPU seconds the children used; returns -1 (*@cpu
 * still set) if any of them did not exit 0.
 */
double runopt_start(volatile int *go, const pid_t *pids, int n, double *cpu);
/* The median of @v[0..@n) (sorts @v in place). */
double runopt_median(double *v, int n);

#endif
