/* SPDX-License-Identifier: MIT */
/*
 * One measurement: fork a peer, run ping-pong or a one-way stream over one
 * transport, reap the peer. The parent alone decides how long to run; it
 * tells the child where the end is through ctl->total (the number of
 * messages the child will receive), published before the last message is
 * sent, so every transport's own ordering carries it (zipc:bench-total).
 * A watchdog alarm in both processes bounds every wait, and the child
 * stays alive until the parent is done with it, so that SIGCHLD during a
 * measurement always means the child died and can end the wait at once.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

#include "measure.h"

/* Shared with the child; one line for what the parent writes. */
struct ctl {
	uint64_t total __attribute__((aligned(64)));
	uint64_t warm;
	uint64_t child_cpu_ns __attribute__((aligned(64)));
	int32_t child_err;
};

static struct ctl *ctl;

static void
on_alarm(int sig)
{
	(void)sig;
	bench_expired = 1;
}

static void
on_child(int sig)
{
	(void)sig;
	bench_expired = 1;
}

int
bench_measure_init(void)
{
	struct sigaction sa;

	ctl = bench_shm_map(sizeof(*ctl));
	if (!ctl)
		return -ENOMEM;
	/* No SA_RESTART: a blocked read, msgrcv or semop must return EINTR. */
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGALRM, &sa, NULL) < 0)
		return -errno;
	sa.sa_handler = on_child;
	sa.sa_flags = SA_NOCLDSTOP;
	if (sigaction(SIGCHLD, &sa, NULL) < 0)
		return -errno;
	/* A dead reader must give EPIPE, not kill us. */
	signal(SIGPIPE, SIG_IGN);
	return 0;
}

void
bench_measure_fini(void)
{
	bench_shm_unmap(ctl, sizeof(*ctl));
	ctl = NULL;
}

static uint64_t
cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) *
		       1000000000u +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) *
		       1000u;
}

int
bench_pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return 0;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	return sched_setaffinity(0, sizeof(set), &set) < 0 ? -errno : 0;
}

/* Seconds the watchdog allows one measurement, warm-up and teardown. */
static unsigned int
watchdog_s(const struct bench_params *p)
{
	return p->budget_ms / 1000 + 5;
}

/*
 * The child receives; on ping-pong it also answers every message. Its CPU
 * time is taken from just before the first measured message to the last.
 */
static int
child_loop(const struct bench_xport *x, void *link, int pingpong,
	   unsigned char *buf, size_t size)
{
	uint64_t count = 0, warm = ctl->warm, cpu0 = 0;
	int r;

	if (warm == 0)
		cpu0 = cpu_ns();
	for (;;) {
		r = bench_expired ? -EINTR : x->recv(link, buf, size);
		if (r)
			return r;
		count++;
		/* zipc:bench-total, reader side */
		if (count == bench_load_acq(&ctl->total)) {
			ctl->child_cpu_ns = cpu_ns() - cpu0;
			return x->send(link, buf, size);
		}
		if (pingpong || count == warm) {
			r = x->send(link, buf, size);
			if (r)
				return r;
		}
		if (count == warm)
			cpu0 = cpu_ns();
	}
}

static void __attribute__((noreturn))
child_main(const struct bench_xport *x, void *link, int pingpong,
	   size_t size, const struct bench_params *p, pid_t parent,
	   int done_fd)
{
	unsigned char *buf, c;
	int r;

	/* Die with the parent rather than wait forever on a dead link. */
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	alarm(watchdog_s(p));
	r = bench_pin(p->cpu[BENCH_CHILD]);
	buf = calloc(1, size);
	if (!r && !buf)
		r = -ENOMEM;
	if (!r)
		r = x->attach(link, BENCH_CHILD);
	if (!r)
		r = child_loop(x, link, pingpong, buf, size);
	ctl->child_err = r;
	/* Wait for EOF: the parent has finished with the link. */
	if (!r && read(done_fd, &c, 1) < 0)
		r = -errno;
	_exit(r ? 1 : 0);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* Nearest-rank percentile of sorted @v. */
static double
percentile(const uint32_t *v, uint64_t n, double pct)
{
	uint64_t k = (uint64_t)(pct / 100.0 * (double)n + 0.999999);

	if (k == 0)
		k = 1;
	return v[k > n ? n - 1 : k - 1];
}

static int
parent_pingpong(const struct bench_xport *x, void *link,
		const struct bench_params *p, unsigned char *buf,
		struct bench_result *res)
{
	uint64_t start, t0, t1, cpu0, budget = p->budget_ms * 1000000ull;
	uint64_t i, n = 0;
	int r;

	for (i = 0; i < p->warm_rt; i++) {
		r = x->send(link, buf, BENCH_MSG_SMALL);
		if (!r)
			r = x->recv(link, buf, BENCH_MSG_SMALL);
		if (r)
			return r;
	}
	cpu0 = cpu_ns();
	start = t1 = bench_now_ns();
	while (n < p->max_rt && t1 - start < budget) {
		if (bench_expired)
			return -EINTR;
		t0 = bench_now_ns();
		r = x->send(link, buf, BENCH_MSG_SMALL);
		if (!r)
			r = x->recv(link, buf, BENCH_MSG_SMALL);
		if (r)
			return r;
		t1 = bench_now_ns();
		p->samples[n++] = t1 - t0 > UINT32_MAX ? UINT32_MAX
						       : (uint32_t)(t1 - t0);
	}
	/* zipc:bench-total, writer side: before the last send. */
	bench_store_rel(&ctl->total, p->warm_rt + n + 1);
	r = x->send(link, buf, BENCH_MSG_SMALL);
	if (!r)
		r = x->recv(link, buf, BENCH_MSG_SMALL);
	if (r)
		return r;
	res->cpu_ns = cpu_ns() - cpu0;
	res->n = n;
	if (n == 0)
		return -ENODATA;
	qsort(p->samples, n, sizeof(p->samples[0]), cmp_u32);
	res->p50_us = percentile(p->samples, n, 50) / 1000.0;
	res->p99_us = percentile(p->samples, n, 99) / 1000.0;
	return 0;
}

/*
 * Warm up, wait for the child's ack so both start measuring together,
 * stream until the budget is spent, then wait for the child's ack of the
 * last message: the clock covers every message delivered, not just sent.
 */
static int
parent_stream(const struct bench_xport *x, void *link,
	      const struct bench_params *p, unsigned char *buf, size_t size,
	      struct bench_result *res)
{
	uint64_t t0, t1, cpu0, budget = p->budget_ms * 1000000ull;
	uint64_t i, n = 0;
	int r;

	for (i = 0; i < p->warm_msgs; i++) {
		r = x->send(link, buf, size);
		if (r)
			return r;
	}
	r = x->recv(link, buf, size);
	if (r)
		return r;
	cpu0 = cpu_ns();
	t0 = bench_now_ns();
	for (;;) {
		r = bench_expired ? -EINTR : x->send(link, buf, size);
		if (r)
			return r;
		/* Read the clock rarely; it costs as much as a fast send. */
		if (++n % 32 == 0 && bench_now_ns() - t0 >= budget)
			break;
	}
	bench_store_rel(&ctl->total, p->warm_msgs + n + 1);
	r = x->send(link, buf, size);
	if (!r)
		r = x->recv(link, buf, size);
	if (r)
		return r;
	t1 = bench_now_ns();
	res->cpu_ns = cpu_ns() - cpu0;
	res->n = n + 1;
	res->rate = (double)res->n * 1e9 / (double)(t1 - t0);
	return 0;
}

/* Reap @pid; if the watchdog fires first, kill it. */
static int
reap(pid_t pid, int kill_first)
{
	int status;

	if (kill_first)
		kill(pid, SIGKILL);
	while (waitpid(pid, &status, 0) < 0) {
		if (errno != EINTR)
			return -errno;
		kill(pid, SIGKILL);
	}
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
		return 0;
	return -ECHILD;
}

int
bench_measure(const struct bench_xport *x, enum bench_test test,
	      const struct bench_params *p, struct bench_result *res)
{
	size_t size = test == BT_THRU_LARGE ? BENCH_MSG_LARGE : BENCH_MSG_SMALL;
	int pingpong = test == BT_PINGPONG;
	unsigned char *buf;
	void *link = NULL;
	pid_t pid, self = getpid();
	int r, rc, done[2];

	memset(res, 0, sizeof(*res));
	if (!pingpong && (x->flags & BX_PINGPONG_ONLY))
		return res->err = -EMSGSIZE;
	buf = calloc(1, size);
	if (!buf)
		return res->err = -ENOMEM;
	memset(buf, 0x5a, size);
	r = x->open(size, &link);
	if (r) {
		free(buf);
		return res->err = r;
	}
	if (pipe2(done, O_CLOEXEC) < 0) {
		r = -errno;
		x->destroy(link);
		free(buf);
		return res->err = r;
	}
	ctl->total = UINT64_MAX;
	ctl->warm = pingpong ? p->warm_rt : p->warm_msgs;
	ctl->child_cpu_ns = 0;
	ctl->child_err = 0;
	bench_expired = 0;

	pid = fork();
	if (pid == 0) {
		close(done[1]);
		child_main(x, link, pingpong, size, p, self, done[0]);
	}
	close(done[0]);
	bench_child_pid = pid > 0 ? pid : 0;
	if (pid < 0) {
		r = -errno;
		close(done[1]);
		x->destroy(link);
		free(buf);
		return res->err = r;
	}

	alarm(watchdog_s(p));
	r = x->attach(link, BENCH_PARENT);
	if (!r && pingpong)
		r = parent_pingpong(x, link, p, buf, res);
	else if (!r)
		r = parent_stream(x, link, p, buf, size, res);
	close(done[1]);
	rc = reap(pid, r != 0);
	bench_child_pid = 0;
	alarm(0);
	if (!r && rc)
		r = ctl->child_err ? ctl->child_err : rc;
	if (r == -EINTR && bench_expired)
		r = -ETIMEDOUT;
	x->destroy(link);
	free(buf);
	if (r)
		return res->err = r;
	res->cpu_ns += ctl->child_cpu_ns;
	res->size = size;
	return 0;
}
