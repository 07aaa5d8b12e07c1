/* SPDX-License-Identifier: MIT */
/* Shared scaffolding of the differential tests; see diffutil.h. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "diffutil.h"

static const long *diff_op;
static const char *const *diff_what;
static void (*diff_cleanup)(void);

void
tu_diff_init(const long *op, const char *const *what, void (*cleanup)(void))
{
	diff_op = op;
	diff_what = what;
	diff_cleanup = cleanup;
}

long
tu_diff_ops(long dflt)
{
	const char *e = getenv("ZIPC_DIFF_OPS");
	return e ? atol(e) : dflt;
}

void
tu_diff_fail(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "op %ld", diff_op ? *diff_op : -1L);
	if (diff_what && *diff_what)
		fprintf(stderr, " (%s)", *diff_what);
	fprintf(stderr, ": ");
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\n");
	if (diff_cleanup)
		diff_cleanup();
	exit(1);
}

int
tu_diff_same(long kr, int ke, long zr, int ze, const char *what)
{
	if (kr != zr || (kr < 0 && ke != ze))
		tu_diff_fail("%s: kernel %ld/%s, zipc %ld/%s", what, kr,
			     kr < 0 ? strerror(ke) : "-", zr,
			     zr < 0 ? strerror(ze) : "-");
	return kr < 0;
}
