/* SPDX-License-Identifier: MIT */
/*
 * zipc-bench main: options, the run schedule and the medians. The VM moves
 * its vCPUs between near and far placements every few hundred ms, so each
 * run visits every transport once per test, short measurements alternate,
 * and the table shows the median of the runs, never one long run.
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "measure.h"
#include "store.h"

#define BENCH_SETS_ENTRY(set) bench_xports_##set,
static const struct bench_xport *const *const xport_sets[] = {
	BENCH_XPORT_SETS(BENCH_SETS_ENTRY)
};
#undef BENCH_SETS_ENTRY

#define MAX_XPORTS 32
#define BENCH_MAX_RUNS 99

static const char *prog = "zipc-bench";

static const char *const test_names[BT_NTESTS] = {
	"pingpong 64B", "stream 64B", "stream 4KiB",
};

struct opts {
	int quick;
	unsigned int runs;
	unsigned int budget_ms;
	const char *only;
	const char *baseline;
	const char *csv, *svg, *png;
	int cpus[2];
};

static void
usage(FILE *f)
{
	fprintf(f, "usage: %s [--quick] [--runs K] [--time MS] "
		"[--only NAME[,NAME]]\n"
		"       [--baseline NAME] [--csv FILE] [--svg FILE] "
		"[--png FILE]\n"
		"       [--cpus A,B] [--list]\n"
		"Measures kernel and user-space IPC between two processes "
		"in one\nrun: 64 B ping-pong latency, 64 B and 4 KiB one-way "
		"throughput,\nCPU time of both processes. Medians of K "
		"alternating runs.\n", prog);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
usage_error(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, " (try --help)\n");
	exit(2);
}

static size_t
all_xports(const struct bench_xport **out)
{
	size_t i, n = 0;
	const struct bench_xport *const *s;

	for (i = 0; i < sizeof(xport_sets) / sizeof(xport_sets[0]); i++)
		for (s = xport_sets[i]; *s && n < MAX_XPORTS; s++)
			out[n++] = *s;
	return n;
}

static const struct bench_xport *
find_xport(const struct bench_xport **all, size_t n, const char *name,
	   size_t len)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strlen(all[i]->name) == len &&
		    !strncmp(all[i]->name, name, len))
			return all[i];
	return NULL;
}

/* Keep table order whatever order --only lists them in. */
static size_t
select_xports(const char *only, const struct bench_xport **all, size_t n,
	      const struct bench_xport **sel)
{
	int want[MAX_XPORTS] = { 0 };
	const char *p = only;
	size_t i, k = 0;

	while (only && *p) {
		size_t len = strcspn(p, ",");
		const struct bench_xport *x = find_xport(all, n, p, len);

		if (!x)
			usage_error("--only: no transport '%.*s'", (int)len,
				    p);
		for (i = 0; i < n; i++)
			if (all[i] == x)
				want[i] = 1;
		p += len + (p[len] == ',');
	}
	for (i = 0; i < n; i++)
		if (!only || want[i])
			sel[k++] = all[i];
	return k;
}

static unsigned long
parse_num(const char *opt, const char *s, unsigned long lo, unsigned long hi)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi || *s == '-')
		usage_error("%s: expected a number from %lu to %lu, not '%s'",
			    opt, lo, hi, s);
	return v;
}

static void
parse_opts(int argc, char **argv, struct opts *o,
	   const struct bench_xport **all, size_t nall)
{
	static const struct option lo[] = {
		{ "quick", no_argument, NULL, 'q' },
		{ "runs", required_argument, NULL, 'r' },
		{ "time", required_argument, NULL, 't' },
		{ "only", required_argument, NULL, 'o' },
		{ "baseline", required_argument, NULL, 'b' },
		{ "csv", required_argument, NULL, 'c' },
		{ "svg", required_argument, NULL, 's' },
		{ "png", required_argument, NULL, 'p' },
		{ "cpus", required_argument, NULL, 'C' },
		{ "list", no_argument, NULL, 'l' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	size_t i;
	int c;

	memset(o, 0, sizeof(*o));
	o->baseline = "xsi-msg";
	o->cpus[0] = o->cpus[1] = -2;	/* -2: choose, -1: don't pin */
	opterr = 0;
	while ((c = getopt_long(argc, argv, "qr:t:o:b:hl", lo, NULL)) != -1) {
		switch (c) {
		case 'q': o->quick = 1; break;
		case 'r':
			o->runs = (unsigned int)parse_num("--runs", optarg, 1,
							  BENCH_MAX_RUNS);
			break;
		case 't':
			o->budget_ms = (unsigned int)parse_num("--time", optarg,
							       1, 60000);
			break;
		case 'o': o->only = optarg; break;
		case 'b': o->baseline = optarg; break;
		case 'c': o->csv = optarg; break;
		case 's': o->svg = optarg; break;
		case 'p': o->png = optarg; break;
		case 'C':
			if (sscanf(optarg, "%d,%d", &o->cpus[0],
				   &o->cpus[1]) != 2 || o->cpus[0] < 0 ||
			    o->cpus[1] < 0 || o->cpus[0] >= CPU_SETSIZE ||
			    o->cpus[1] >= CPU_SETSIZE)
				usage_error("--cpus: expected A,B");
			break;
		case 'l':
			for (i = 0; i < nall; i++)
				printf("%-14s %s\n", all[i]->name,
				       all[i]->desc);
			exit(0);
		case 'h': usage(stdout); exit(0);
		default:
			usage_error("unknown or incomplete option '%s'",
				    argv[optind - 1]);
		}
	}
	if (optind < argc)
		usage_error("unexpected argument '%s'", argv[optind]);
	if (!find_xport(all, nall, o->baseline, strlen(o->baseline)))
		usage_error("--baseline: no transport '%s'", o->baseline);
	if (!o->runs)
		o->runs = o->quick ? 3 : 5;
	if (!o->budget_ms)
		o->budget_ms = o->quick ? 120 : 800;
}

/* The first two CPUs we may run on, unless --cpus chose. */
static void
choose_cpus(int cpus[2])
{
	cpu_set_t set;
	int i, k = 0;

	if (cpus[0] >= 0)
		return;
	cpus[0] = cpus[1] = -1;
	if (sched_getaffinity(0, sizeof(set), &set) < 0 || CPU_COUNT(&set) < 2)
		return;
	for (i = 0; i < CPU_SETSIZE && k < 2; i++)
		if (CPU_ISSET(i, &set))
			cpus[k++] = i;
}

static void
cpu_model(char *buf, size_t len)
{
	FILE *f = fopen("/proc/cpuinfo", "re");
	char line[256], *p;

	snprintf(buf, len, "unknown CPU");
	while (f && fgets(line, sizeof(line), f)) {
		if (strncmp(line, "model name", 10) || !(p = strchr(line, ':')))
			continue;
		p += 1 + strspn(p + 1, " \t");
		p[strcspn(p, "\n")] = 0;
		snprintf(buf, len, "%s", p);
		break;
	}
	if (f)
		fclose(f);
}

/* What one clock read costs: it is inside every ping-pong sample. */
static double
clock_cost_ns(void)
{
	uint64_t t0 = bench_now_ns(), t1;
	int i;

	for (i = 0; i < 100000; i++)
		bench_now_ns();
	t1 = bench_now_ns();
	return (double)(t1 - t0) / 100001.0;
}

static void
print_machine(const struct opts *o, size_t nx)
{
	struct utsname u;
	char model[128];

	cpu_model(model, sizeof(model));
	uname(&u);
	printf("zipc-bench: %zu transports, %u runs alternating, %u ms per "
	       "measurement%s\n", nx, o->runs, o->budget_ms,
	       o->quick ? " (--quick)" : "");
	printf("machine: %s, %ld CPUs online, %s %s %s\n", model,
	       sysconf(_SC_NPROCESSORS_ONLN), u.sysname, u.release,
	       u.machine);
	if (o->cpus[0] >= 0)
		printf("pinned: parent CPU %d, child CPU %d; ", o->cpus[0],
		       o->cpus[1]);
	else
		printf("not pinned (fewer than 2 CPUs); ");
	printf("clock_gettime %.0f ns (inside each round trip)\n\n",
	       clock_cost_ns());
	fflush(stdout);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Median of the non-NaN values; NaN if there are none. */
static double
median(double *v, unsigned int n)
{
	unsigned int i, k = 0;

	for (i = 0; i < n; i++)
		if (!isnan(v[i]))
			v[k++] = v[i];
	if (!k)
		return NAN;
	qsort(v, k, sizeof(*v), cmp_double);
	return k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
}

/* Fold the runs of transport @x (results[run][test]) into @row. */
static void
make_row(struct bench_row *row, const struct bench_xport *x,
	 struct bench_result (*res)[BT_NTESTS], unsigned int runs)
{
	double v[4][BENCH_MAX_RUNS];
	unsigned int r;
	int t, k;

	memset(row, 0, sizeof(*row));
	row->x = x;
	for (t = 0; t < BT_NTESTS; t++) {
		row->state[t] = CELL_NA;
		for (r = 0; r < runs; r++) {
			struct bench_result *e = &res[r][t];
			int ok = !e->err && e->n;

			if (e->err && e->err != -EMSGSIZE)
				row->state[t] = CELL_ERR;
			else if (ok && row->state[t] == CELL_NA)
				row->state[t] = CELL_OK;
			v[0][r] = ok ? e->p50_us : NAN;
			v[1][r] = ok ? e->p99_us : NAN;
			v[2][r] = ok ? (double)e->cpu_ns / 1000.0 /
					       (double)e->n : NAN;
			v[3][r] = ok ? e->rate : NAN;
		}
		if (t == BT_PINGPONG) {
			row->p50_us = median(v[0], runs);
			row->p99_us = median(v[1], runs);
			row->rt_cpu_us = median(v[2], runs);
			continue;
		}
		k = t == BT_THRU_LARGE;
		row->rate[k] = median(v[3], runs);
		row->mbps[k] = row->rate[k] *
			       (k ? BENCH_MSG_LARGE : BENCH_MSG_SMALL) / 1e6;
		row->cpu_us[k] = median(v[2], runs);
	}
}

static const char *
err_text(int err)
{
	return err == -ETIMEDOUT ? "the peer died or hung"
				 : strerror(-err);
}

int
main(int argc, char **argv)
{
	const struct bench_xport *all[MAX_XPORTS], *sel[MAX_XPORTS];
	struct bench_result (*res)[BENCH_MAX_RUNS][BT_NTESTS];
	struct bench_row rows[MAX_XPORTS];
	const struct bench_row *base = NULL;
	struct bench_params p;
	struct opts o;
	size_t nall, nx, i;
	unsigned int run;
	int r, t, failed = 0, tty = isatty(2);
	uint64_t t_start = bench_now_ns();

	if (argv[0] && strrchr(argv[0], '/'))
		prog = strrchr(argv[0], '/') + 1;
	nall = all_xports(all);
	parse_opts(argc, argv, &o, all, nall);
	nx = select_xports(o.only, all, nall, sel);
	if (o.png && !bench_have_gnuplot()) {
		fprintf(stderr, "%s: --png needs gnuplot, which is not "
			"installed (apt-get install gnuplot-nox); use --svg\n",
			prog);
		return 1;
	}

	memset(&p, 0, sizeof(p));
	p.budget_ms = o.budget_ms;
	p.max_rt = o.quick ? 200000 : 2000000;
	p.warm_rt = 200;
	p.warm_msgs = 2000;
	p.samples = malloc(p.max_rt * sizeof(*p.samples));
	res = calloc(nx, sizeof(*res));
	if (!p.samples || !res) {
		fprintf(stderr, "%s: out of memory\n", prog);
		return 1;
	}
	choose_cpus(o.cpus);
	p.cpu[0] = o.cpus[0];
	p.cpu[1] = o.cpus[1];
	bench_obj_init();
	bench_store_init();
	r = bench_measure_init();
	if (!r)
		r = bench_pin(p.cpu[BENCH_PARENT]);
	if (r) {
		fprintf(stderr, "%s: setup failed: %s\n", prog, strerror(-r));
		return 1;
	}
	print_machine(&o, nx);

	/* Alternate: every transport once per test, then the next run. */
	for (run = 0; run < o.runs; run++) {
		for (t = 0; t < BT_NTESTS; t++) {
			for (i = 0; i < nx; i++) {
				struct bench_result *e = &res[i][run][t];

				if (tty)
					fprintf(stderr, "\r\033[K"
						"run %u/%u %s %s", run + 1,
						o.runs, test_names[t],
						sel[i]->name);
				bench_measure(sel[i], (enum bench_test)t, &p,
					      e);
				if (e->err && e->err != -EMSGSIZE) {
					fprintf(stderr, "%s%s: %s %s: %s\n",
						tty ? "\r\033[K" : "", prog,
						sel[i]->name, test_names[t],
						err_text(e->err));
					failed = 1;
				}
			}
		}
	}
	if (tty)
		fprintf(stderr, "\r\033[K");

	for (i = 0; i < nx; i++) {
		make_row(&rows[i], sel[i], res[i], o.runs);
		if (!strcmp(sel[i]->name, o.baseline))
			base = &rows[i];
	}
	bench_print_table(stdout, rows, nx, base);
	if (!base)
		printf("(baseline %s was not run: no ratios)\n", o.baseline);
	printf("total %.1f s\n", (double)(bench_now_ns() - t_start) / 1e9);
	fflush(stdout);

	if (o.csv && bench_write_csv(o.csv, rows, nx, o.runs) < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, o.csv, strerror(errno));
		failed = 1;
	}
	if (o.svg) {
		char sub[160];

		snprintf(sub, sizeof(sub), "medians of %u alternating runs, "
			 "%u ms each; baseline %s", o.runs, o.budget_ms,
			 o.baseline);
		if (bench_write_svg(o.svg, rows, nx, sub) < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, o.svg,
				strerror(errno));
			failed = 1;
		}
	}
	if (o.png && bench_write_png(o.png, rows, nx) < 0) {
		fprintf(stderr, "%s: %s: gnuplot failed\n", prog, o.png);
		failed = 1;
	}
	bench_measure_fini();
	free(res);
	free(p.samples);
	return failed;
}
