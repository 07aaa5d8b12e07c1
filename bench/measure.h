/* SPDX-License-Identifier: MIT */
/*
 * The driver's side of zipc-bench: what one measurement takes and gives
 * back, and the output formats. Transports need only bench.h.
 */
#ifndef ZIPC_BENCH_MEASURE_H
#define ZIPC_BENCH_MEASURE_H

#include <stdio.h>

#include "bench.h"

enum bench_test {
	BT_PINGPONG,		/* 64 B round trips */
	BT_THRU_SMALL,		/* 64 B one way */
	BT_THRU_LARGE,		/* 4 KiB one way */
	BT_NTESTS,
};

struct bench_params {
	unsigned int budget_ms;	/* per measurement, after warm-up */
	uint64_t max_rt;	/* ping-pong round trips at most */
	uint64_t warm_rt;	/* ping-pong round trips before measuring */
	uint64_t warm_msgs;	/* stream messages before measuring, >= 1 */
	int cpu[2];		/* pin parent and child, -1: don't */
	uint32_t *samples;	/* max_rt round-trip times, ns */
};

struct bench_result {
	int err;		/* 0, -EMSGSIZE (n/a), or the failure */
	uint64_t n;		/* round trips or messages measured */
	size_t size;		/* message size */
	uint64_t cpu_ns;	/* both processes, over the n */
	double p50_us;		/* ping-pong */
	double p99_us;
	double rate;		/* stream: messages per second */
};

/* measure.c */
int bench_measure_init(void);
void bench_measure_fini(void);
int bench_pin(int cpu);
int bench_measure(const struct bench_xport *x, enum bench_test test,
		  const struct bench_params *p, struct bench_result *res);

enum bench_cell { CELL_OK, CELL_NA, CELL_ERR };

/*
 * One row of the final table: medians over the runs of each metric, or
 * NAN where the transport could not run the test (state says why).
 */
struct bench_row {
	const struct bench_xport *x;
	enum bench_cell state[BT_NTESTS];
	double p50_us, p99_us, rt_cpu_us;	/* ping-pong */
	double rate[2], mbps[2], cpu_us[2];	/* [0] 64 B, [1] 4 KiB */
};

/* report.c */
void bench_print_table(FILE *f, const struct bench_row *rows, size_t nrows,
		       const struct bench_row *base);
int bench_write_csv(const char *path, const struct bench_row *rows,
		    size_t nrows, unsigned int runs);
int bench_have_gnuplot(void);
int bench_write_png(const char *path, const struct bench_row *rows,
		    size_t nrows);

/* svg.c */
int bench_write_svg(const char *path, const struct bench_row *rows,
		    size_t nrows, const char *subtitle);

#endif /* ZIPC_BENCH_MEASURE_H */
