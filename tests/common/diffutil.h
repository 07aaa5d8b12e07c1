/* SPDX-License-Identifier: MIT */
/*
 * What the differential tests (tests/<part>/test_*_diff.c) share: one
 * random sequence of operations goes to the kernel and to zipc, and every
 * result and errno must agree. The first divergence is reported with the
 * number of the operation (tu_seed's ZIPC_TEST_SEED replays the sequence);
 * then the kernel objects the test made are removed -- unlike zipc's, they
 * outlive the test's private store -- and the program exits 1.
 */
#ifndef ZIPC_DIFFUTIL_H
#define ZIPC_DIFFUTIL_H

/*
 * How to report: *@op is the number of the operation running now, *@what
 * (if @what is not NULL) its name, and @cleanup (if not NULL) removes the
 * test's kernel objects before a divergence exits.
 */
void tu_diff_init(const long *op, const char *const *what,
		  void (*cleanup)(void));

/* How many operations to run: $ZIPC_DIFF_OPS if set, else @dflt. */
long tu_diff_ops(long dflt);

/* Report a divergence ("op N: <message>" on stderr), clean up, exit 1. */
void __attribute__((noreturn, format(printf, 1, 2)))
tu_diff_fail(const char *fmt, ...);

/*
 * One call made on both sides returned @kr (errno @ke) from the kernel and
 * @zr (errno @ze) from zipc. The results must be equal, and so must the
 * errnos when it failed; otherwise tu_diff_fail names @what. Returns 1 if
 * the call failed (alike on both sides), 0 if it succeeded.
 */
int tu_diff_same(long kr, int ke, long zr, int ze, const char *what);

#endif
