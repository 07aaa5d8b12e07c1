/* SPDX-License-Identifier: MIT */
/*
 * A self-contained SVG bar chart of the table: ping-pong p50 and 64 B
 * throughput per transport, each on a log axis because the transports
 * span three orders of magnitude. Hand-written SVG, no tools needed.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "measure.h"

#define SVG_W		960
#define LABEL_X		12	/* transport names */
#define BAR_X0		150	/* where the axis starts */
#define BAR_X1		860	/* where it ends; values print past it */
#define ROW_H		24
#define BAR_H		16
#define PANEL_HEAD	44	/* title above the rows */
#define PANEL_FOOT	34	/* axis labels below them */

static const char *const group_color[] = {
	[BENCH_GROUP_KERNEL] = "#c44e52",
	[BENCH_GROUP_USER] = "#4c72b0",
	[BENCH_GROUP_ZIPC] = "#55a868",
};

static const char *const group_name[] = {
	[BENCH_GROUP_KERNEL] = "kernel (system call per hand-off)",
	[BENCH_GROUP_USER] = "user space / hardware floor",
	[BENCH_GROUP_ZIPC] = "zipc",
};

static void
put_escaped(FILE *f, const char *s)
{
	for (; *s; s++) {
		if (*s == '&')
			fputs("&amp;", f);
		else if (*s == '<')
			fputs("&lt;", f);
		else if (*s == '>')
			fputs("&gt;", f);
		else
			fputc(*s, f);
	}
}

static double
metric(const struct bench_row *r, int which)
{
	return which ? r->rate[0] / 1e6 : r->p50_us;
}

/*
 * log10 without libm, so the benchmark links with libc alone: scale into
 * [1, 2), then ln m = 2 atanh((m - 1) / (m + 1)), whose series converges
 * fast there. Good to far better than a pixel.
 */
static double
log10_approx(double v)
{
	double ln = 0, z, z2, term;
	int k;

	while (v >= 2) {
		v /= 2;
		ln += 0.69314718055994531;
	}
	while (v < 1) {
		v *= 2;
		ln -= 0.69314718055994531;
	}
	z = (v - 1) / (v + 1);
	z2 = z * z;
	term = z;
	for (k = 1; k < 40; k += 2) {
		ln += 2 * term / k;
		term *= z2;
	}
	return ln / 2.30258509299404568;
}

/* The powers of ten just below and just above @v. */
static double
decade_floor(double v)
{
	double d = 1;

	while (d > v)
		d /= 10;
	while (d * 10 <= v)
		d *= 10;
	return d;
}

/* x of @v on the log axis from @lo to @hi. */
static double
xpos(double v, double lo, double hi)
{
	return BAR_X0 + (BAR_X1 - BAR_X0) * log10_approx(v / lo) /
				log10_approx(hi / lo);
}

static int
panel(FILE *f, int y, const struct bench_row *rows, size_t nrows, int which)
{
	static const char *const title[] = {
		"64 B ping-pong round trip, median (µs, log scale): shorter "
		"is better",
		"64 B one-way throughput (million messages/s, log scale): "
		"longer is better",
	};
	static const char *const unit[] = { " µs", " M/s" };
	double lo = 1e300, hi = 0, v, d;
	int rows_y = y + PANEL_HEAD, bottom, ry;
	size_t i;

	for (i = 0; i < nrows; i++) {
		v = metric(&rows[i], which);
		if (isnan(v) || v <= 0)
			continue;
		lo = v < lo ? v : lo;
		hi = v > hi ? v : hi;
	}
	if (hi == 0)
		lo = 1, hi = 10;
	lo = decade_floor(lo);
	d = decade_floor(hi);
	hi = d < hi * 0.999 ? d * 10 : d;
	if (hi <= lo)
		hi = lo * 10;
	bottom = rows_y + (int)nrows * ROW_H;

	fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"h\">%s</text>\n",
		LABEL_X, y + 24, title[which]);
	/* One gridline per decade. */
	for (d = lo; d <= hi * 1.001; d *= 10) {
		double x = xpos(d, lo, hi);

		fprintf(f, "<line x1=\"%.1f\" y1=\"%d\" x2=\"%.1f\" y2=\"%d\" "
			"class=\"g\"/>\n", x, rows_y - 4, x, bottom);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"a\">%g</text>\n",
			x, bottom + 16, d);
	}
	for (i = 0; i < nrows; i++) {
		const struct bench_row *r = &rows[i];

		ry = rows_y + (int)i * ROW_H;
		v = metric(r, which);
		fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"l\">", LABEL_X,
			ry + BAR_H - 3);
		put_escaped(f, r->x->name);
		fputs("</text>\n", f);
		if (isnan(v) || v <= 0) {
			fprintf(f, "<text x=\"%d\" y=\"%d\" class=\"v\">%s"
				"</text>\n", BAR_X0 + 4, ry + BAR_H - 3,
				r->state[which ? BT_THRU_SMALL : BT_PINGPONG] ==
						CELL_ERR ? "failed" : "n/a");
			continue;
		}
		fprintf(f, "<rect x=\"%d\" y=\"%d\" width=\"%.1f\" "
			"height=\"%d\" fill=\"%s\"/>\n", BAR_X0, ry,
			xpos(v, lo, hi) - BAR_X0, BAR_H,
			group_color[r->x->group]);
		fprintf(f, "<text x=\"%.1f\" y=\"%d\" class=\"v\">%.3g%s"
			"</text>\n", xpos(v, lo, hi) + 4, ry + BAR_H - 3, v,
			unit[which]);
	}
	return bottom + PANEL_FOOT;
}

/* Returns 0, or -1 with errno set. */
int
bench_write_svg(const char *path, const struct bench_row *rows,
		size_t nrows, const char *subtitle)
{
	int used[3] = { 0 }, h, y, e, g, lx;
	size_t i;
	FILE *f;

	h = 70 + 2 * (PANEL_HEAD + (int)nrows * ROW_H + PANEL_FOOT) + 10;
	f = fopen(path, "we");
	if (!f)
		return -1;
	fprintf(f, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
		"<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"%d\" "
		"height=\"%d\" viewBox=\"0 0 %d %d\" "
		"font-family=\"sans-serif\">\n<style>\n"
		".t{font-size:18px;font-weight:bold}"
		".s{font-size:12px;fill:#555}"
		"\n.h{font-size:14px;font-weight:bold}.l{font-size:12px}"
		"\n.v{font-size:11px;fill:#222}.a{font-size:10px;fill:#555;"
		"text-anchor:middle}\n.g{stroke:#ddd;stroke-width:1}\n"
		"</style>\n<rect width=\"100%%\" height=\"100%%\" "
		"fill=\"#fff\"/>"
		"\n<text x=\"%d\" y=\"24\" class=\"t\">zipc-bench: IPC between "
		"two processes</text>\n<text x=\"%d\" y=\"42\" class=\"s\">",
		SVG_W, h, SVG_W, h, LABEL_X, LABEL_X);
	put_escaped(f, subtitle);
	fputs("</text>\n", f);

	/* Legend: only the groups present. */
	for (i = 0; i < nrows; i++)
		used[rows[i].x->group] = 1;
	for (g = 0, lx = LABEL_X; g < 3; g++) {
		if (!used[g])
			continue;
		fprintf(f, "<rect x=\"%d\" y=\"52\" width=\"12\" height=\"12\" "
			"fill=\"%s\"/><text x=\"%d\" y=\"62\" class=\"l\">%s"
			"</text>\n", lx, group_color[g], lx + 16,
			group_name[g]);
		lx += 24 + 7 * (int)strlen(group_name[g]);
	}

	y = panel(f, 70, rows, nrows, 0);
	panel(f, y, rows, nrows, 1);
	fputs("</svg>\n", f);
	e = ferror(f);
	if (fclose(f) || e)
		return -1;
	return 0;
}
