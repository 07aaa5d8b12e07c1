/* SPDX-License-Identifier: MIT */
/*
 * Text outputs: the human table, the CSV lines and the optional gnuplot
 * PNG. Cells a transport cannot run say "n/a"; failed ones say "err".
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "measure.h"

/* Three significant digits or so; the noise is larger than that. */
static void
fmt_num(char *buf, size_t len, double v)
{
	if (v >= 100 || v == 0)
		snprintf(buf, len, "%.0f", v);
	else if (v >= 10)
		snprintf(buf, len, "%.1f", v);
	else if (v >= 1)
		snprintf(buf, len, "%.2f", v);
	else
		snprintf(buf, len, "%.3f", v);
}

static void
fmt_cell(char *buf, size_t len, enum bench_cell state, double v)
{
	if (state == CELL_ERR && isnan(v))
		snprintf(buf, len, "err");
	else if (isnan(v))
		snprintf(buf, len, "n/a");
	else
		fmt_num(buf, len, v);
}

/* Ratio of two cells, "better than the baseline" when above 1. */
static void
fmt_ratio(char *buf, size_t len, double num, double den)
{
	double r = num / den;

	if (isnan(r) || isinf(r) || den == 0) {
		snprintf(buf, len, "-");
		return;
	}
	fmt_num(buf, len - 1, r);
	strcat(buf, "x");
}

/* Columns are padded by characters, and "µ" is two bytes. */
static size_t
width(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static void
put_cell(FILE *f, const char *s, size_t w, int left, int last)
{
	size_t pad = w > width(s) ? w - width(s) : 0;

	if (left)
		fprintf(f, "%s%*s", s, (int)pad, "");
	else
		fprintf(f, "%*s%s", (int)pad, "", s);
	fputs(last ? "\n" : " | ", f);
}

#define NCOLS 10

/* The row a row's ratios are against: its kernel twin if it has one and
 * it ran, else the baseline. */
static const struct bench_row *
reference(const struct bench_row *r, const struct bench_row *rows,
	  size_t nrows, const struct bench_row *base)
{
	if (r->x->twin)
		for (size_t i = 0; i < nrows; i++)
			if (strcmp(rows[i].x->name, r->x->twin) == 0)
				return &rows[i];
	return base;
}

void
bench_print_table(FILE *f, const struct bench_row *rows, size_t nrows,
		  const struct bench_row *base)
{
	char hdr_p50[48], hdr_thr[48], cell[NCOLS][32];
	const char *hdr[NCOLS] = {
		"transport", "pingpong p50 µs", "p99 µs", "CPU µs/rt",
		"64B Mmsg/s", "4KiB Mmsg/s", "CPU µs/msg", hdr_p50, hdr_thr,
		"vs",
	};
	size_t w[NCOLS], i, c;

	snprintf(hdr_p50, sizeof(hdr_p50), "p50 ratio");
	snprintf(hdr_thr, sizeof(hdr_thr), "64B ratio");
	for (c = 0; c < NCOLS; c++)
		w[c] = width(hdr[c]) > 7 ? width(hdr[c]) : 7;
	for (i = 0; i < nrows; i++)
		if (strlen(rows[i].x->name) > w[0])
			w[0] = strlen(rows[i].x->name);

	for (c = 0; c < NCOLS; c++)
		put_cell(f, hdr[c], w[c], c == 0, c == NCOLS - 1);
	for (c = 0; c < NCOLS; c++) {
		for (i = 0; i < w[c] + (c ? 2 : 1); i++)
			fputc('-', f);
		fputc(c == NCOLS - 1 ? '\n' : '+', f);
	}
	for (i = 0; i < nrows; i++) {
		const struct bench_row *r = &rows[i];
		const enum bench_cell *s = r->state;

		snprintf(cell[0], sizeof(cell[0]), "%s", r->x->name);
		fmt_cell(cell[1], 32, s[BT_PINGPONG], r->p50_us);
		fmt_cell(cell[2], 32, s[BT_PINGPONG], r->p99_us);
		fmt_cell(cell[3], 32, s[BT_PINGPONG], r->rt_cpu_us);
		fmt_cell(cell[4], 32, s[BT_THRU_SMALL], r->rate[0] / 1e6);
		fmt_cell(cell[5], 32, s[BT_THRU_LARGE], r->rate[1] / 1e6);
		fmt_cell(cell[6], 32, s[BT_THRU_SMALL], r->cpu_us[0]);
		const struct bench_row *ref = reference(r, rows, nrows, base);
		fmt_ratio(cell[7], 32, ref ? ref->p50_us : NAN, r->p50_us);
		fmt_ratio(cell[8], 32, r->rate[0], ref ? ref->rate[0] : NAN);
		snprintf(cell[9], sizeof(cell[9]), "%s", ref ? ref->x->name : "-");
		for (c = 0; c < NCOLS; c++)
			put_cell(f, cell[c], w[c], c == 0, c == NCOLS - 1);
	}
	fprintf(f, "\nCPU = user+system time of both processes; CPU µs/msg is "
		"for 64 B. Ratios:\nhow many times better than the row named "
		"in \"vs\" -- a zipc row's kernel twin doing the same job,\n"
		"else the baseline (its p50 / this p50, this rate / its "
		"rate).\n");
}

/* One line per (transport, metric): transport,metric,value,unit. */
int
bench_write_csv(const char *path, const struct bench_row *rows,
		size_t nrows, unsigned int runs)
{
	FILE *f = fopen(path, "we");
	size_t i;
	int m, e;

	if (!f)
		return -1;
	fprintf(f, "transport,metric,value,unit,runs\n");
	for (i = 0; i < nrows; i++) {
		const struct bench_row *r = &rows[i];
		const struct {
			const char *name, *unit;
			enum bench_test t;
			double v;
		} mt[] = {
			{ "pingpong_p50", "us", BT_PINGPONG, r->p50_us },
			{ "pingpong_p99", "us", BT_PINGPONG, r->p99_us },
			{ "pingpong_cpu", "us/rt", BT_PINGPONG, r->rt_cpu_us },
			{ "stream64_rate", "msg/s", BT_THRU_SMALL, r->rate[0] },
			{ "stream64_bw", "MB/s", BT_THRU_SMALL, r->mbps[0] },
			{ "stream64_cpu", "us/msg", BT_THRU_SMALL,
			  r->cpu_us[0] },
			{ "stream4k_rate", "msg/s", BT_THRU_LARGE, r->rate[1] },
			{ "stream4k_bw", "MB/s", BT_THRU_LARGE, r->mbps[1] },
			{ "stream4k_cpu", "us/msg", BT_THRU_LARGE,
			  r->cpu_us[1] },
		};

		for (m = 0; m < (int)(sizeof(mt) / sizeof(mt[0])); m++) {
			fprintf(f, "%s,%s,", r->x->name, mt[m].name);
			if (!isnan(mt[m].v))
				fprintf(f, "%.6g", mt[m].v);
			else
				fputs(r->state[mt[m].t] == CELL_ERR ? "err"
								    : "na", f);
			fprintf(f, ",%s,%u\n", mt[m].unit, runs);
		}
	}
	e = ferror(f);
	if (fclose(f) || e)
		return -1;
	return 0;
}

int
bench_have_gnuplot(void)
{
	const char *path = getenv("PATH");
	char buf[4096];

	while (path && *path) {
		size_t len = strcspn(path, ":");

		snprintf(buf, sizeof(buf), "%.*s/gnuplot", (int)len, path);
		if (len && access(buf, X_OK) == 0)
			return 1;
		path += len + (path[len] == ':');
	}
	return 0;
}

static void
gnuplot_script(FILE *f, const char *out, const struct bench_row *rows,
	       size_t nrows)
{
	size_t i;

	fprintf(f, "set terminal pngcairo size 1000,760 font 'sans,10'\n"
		"set output '%s'\n"
		"$d << EOD\n", out);
	for (i = 0; i < nrows; i++)
		fprintf(f, "\"%s\" %g %g\n", rows[i].x->name, rows[i].p50_us,
			rows[i].rate[0] / 1e6);
	fprintf(f, "EOD\n"
		"set multiplot layout 2,1 title 'zipc-bench (log scales)'\n"
		"set style fill solid 0.8 border -1\n"
		"set boxwidth 0.6\n"
		"set logscale y\n"
		"set grid ytics mytics\n"
		"set xtics rotate by -25 nomirror\n"
		"set ylabel 'ping-pong p50, us (lower is better)'\n"
		"plot $d using 0:2:xtic(1) with boxes lc rgb '#4c72b0' "
		"notitle\n"
		"set ylabel '64 B one-way, M msg/s (higher is better)'\n"
		"plot $d using 0:3:xtic(1) with boxes lc rgb '#55a868' "
		"notitle\n"
		"unset multiplot\n");
}

/*
 * Feed a script to gnuplot on a pipe and give it 30 s; a hung gnuplot is
 * killed rather than waited for.
 */
int
bench_write_png(const char *path, const struct bench_row *rows,
		size_t nrows)
{
	struct timespec tick = { 0, 10 * 1000 * 1000 };
	int fds[2], status, i;
	pid_t pid;
	FILE *f;

	if (strchr(path, '\''))
		return -1;
	if (pipe2(fds, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		dup2(fds[0], 0);
		execlp("gnuplot", "gnuplot", (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	f = fdopen(fds[1], "w");
	if (f) {
		gnuplot_script(f, path, rows, nrows);
		fclose(f);
	} else {
		close(fds[1]);
	}
	for (i = 0; i < 3000; i++) {
		pid_t w = waitpid(pid, &status, WNOHANG);

		if (w == pid)
			return WIFEXITED(status) && !WEXITSTATUS(status) &&
				       f ? 0 : -1;
		if (w < 0 && errno != EINTR)
			return -1;
		nanosleep(&tick, NULL);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	return -1;
}
