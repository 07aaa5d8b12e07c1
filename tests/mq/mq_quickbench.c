/* SPDX-License-Identifier: MIT */
/*
 * A quick private benchmark (not a test): 1->1 throughput of 64-byte
 * messages and blocking ping-pong, zipc beside the kernel's POSIX mq and
 * XSI msg, in one run. CPU time per message from getrusage (both sides).
 * The full comparison lives in bench/; this is for checking the engine.
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "zipc.h"
#include "zipc_compat.h"

static double
now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec * 1e-9;
}

static double
cpu_children(void)
{
	struct rusage ru;
	getrusage(RUSAGE_CHILDREN, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec * 1e-6 +
	       ru.ru_stime.tv_sec + ru.ru_stime.tv_usec * 1e-6;
}

enum kind { K_ZIPC, K_ZIPC_XSI, K_MQ, K_MSG };
static const char *kname[] = {"zipc-native", "zipc-msg", "kernel-mq",
			      "kernel-msg"};

struct ep {
	enum kind k;
	zipc_queue *zq;
	int id;
	mqd_t mq;
};

struct mbuf {
	long mtype;
	char t[4096];
};

static void
ep_send(struct ep *e, const void *b, size_t n)
{
	struct mbuf m;
	int r;
	switch (e->k) {
	case K_ZIPC:
		r = zipc_queue_send(e->zq, b, n, 0, -1);
		break;
	case K_ZIPC_XSI:
		m.mtype = 1;
		memcpy(m.t, b, n);
		r = zipc_msgsnd(e->id, &m, n, 0);
		break;
	case K_MQ:
		r = mq_send(e->mq, b, n, 0);
		break;
	default:
		m.mtype = 1;
		memcpy(m.t, b, n);
		r = msgsnd(e->id, &m, n, 0);
		break;
	}
	if (r < 0) {
		fprintf(stderr, "send %d %s\n", r, strerror(errno));
		exit(1);
	}
}

static void
ep_recv(struct ep *e, void *b, size_t n)
{
	struct mbuf m;
	long r;
	switch (e->k) {
	case K_ZIPC:
		r = zipc_queue_receive(e->zq, b, 4096, NULL, -1);
		break;
	case K_ZIPC_XSI:
		r = zipc_msgrcv(e->id, &m, n, 0, 0);
		memcpy(b, m.t, n);
		break;
	case K_MQ:
		r = mq_receive(e->mq, b, 4096, NULL);
		break;
	default:
		r = msgrcv(e->id, &m, n, 0, 0);
		memcpy(b, m.t, n);
		break;
	}
	if (r < 0) {
		fprintf(stderr, "recv %ld %s\n", r, strerror(errno));
		exit(1);
	}
}

static void
ep_open(struct ep *e, enum kind k, int i)
{
	char name[64];
	e->k = k;
	snprintf(name, sizeof(name), "/zipc-qb.%d.%d", getpid(), i);
	struct mq_attr a;
	memset(&a, 0, sizeof(a));
	a.mq_maxmsg = 10;
	a.mq_msgsize = 4096;
	struct zipc_queue_attr za = {10, 4096, {0}};
	switch (k) {
	case K_ZIPC:
		if (zipc_queue_open(name, O_RDWR | O_CREAT, 0600, &za,
				    &e->zq) < 0)
			exit(2);
		zipc_queue_unlink(name);
		break;
	case K_ZIPC_XSI:
		e->id = zipc_msgget(IPC_PRIVATE, 0600);
		break;
	case K_MQ:
		e->mq = mq_open(name, O_RDWR | O_CREAT, 0600, &a);
		if (e->mq < 0) {
			perror("mq_open");
			exit(2);
		}
		mq_unlink(name);
		break;
	default:
		e->id = msgget(IPC_PRIVATE, 0600);
		break;
	}
}

static void
ep_close(struct ep *e)
{
	if (e->k == K_ZIPC)
		zipc_queue_close(e->zq);
	else if (e->k == K_ZIPC_XSI)
		zipc_msgctl(e->id, IPC_RMID, NULL);
	else if (e->k == K_MQ)
		mq_close(e->mq);
	else
		msgctl(e->id, IPC_RMID, NULL);
}

static void
throughput(enum kind k, long n, size_t sz)
{
	struct ep e;
	char buf[4096] = {0};
	ep_open(&e, k, 0);
	double c0 = cpu_children(), t0 = now();
	pid_t p = fork();
	if (p == 0) {
		for (long i = 0; i < n; i++)
			ep_send(&e, buf, sz);
		_exit(0);
	}
	pid_t c = fork();
	if (c == 0) {
		for (long i = 0; i < n; i++)
			ep_recv(&e, buf, sz);
		_exit(0);
	}
	waitpid(p, NULL, 0);
	waitpid(c, NULL, 0);
	double t = now() - t0, cpu = cpu_children() - c0;
	printf("%-12s 1->1 %4zu B: %7.3f M msg/s, CPU %.3f us/msg\n",
	       kname[k], sz, n / t / 1e6, cpu / n * 1e6);
	ep_close(&e);
}

static int
cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void
pingpong(enum kind k, long n)
{
	struct ep a, b;
	char buf[4096] = {0};
	ep_open(&a, k, 1);
	ep_open(&b, k, 2);
	double *lat = calloc((size_t)n, sizeof(double));
	double c0 = cpu_children();
	pid_t p = fork();
	if (p == 0) {
		for (long i = 0; i < n; i++) {
			ep_recv(&a, buf, 64);
			ep_send(&b, buf, 64);
		}
		_exit(0);
	}
	double t0 = now();
	for (long i = 0; i < n; i++) {
		double s = now();
		ep_send(&a, buf, 64);
		ep_recv(&b, buf, 64);
		lat[i] = now() - s;
	}
	double t = now() - t0;
	waitpid(p, NULL, 0);
	struct rusage ru;
	getrusage(RUSAGE_SELF, &ru);
	double cpu = cpu_children() - c0;
	qsort(lat, (size_t)n, sizeof(double), cmpd);
	printf("%-12s ping-pong: p50 %.2f us p99 %.2f us (child CPU %.2f "
	       "us/round trip, wall %.2f)\n",
	       kname[k], lat[n / 2] * 1e6, lat[n * 99 / 100] * 1e6,
	       cpu / n * 1e6, t / n * 1e6);
	free(lat);
	ep_close(&a);
	ep_close(&b);
}

int
main(int argc, char **argv)
{
	long n = argc > 1 ? atol(argv[1]) : 1000000;
	char dir[] = "/dev/shm/zipc-qb.XXXXXX";
	if (!getenv("ZIPC_DIR")) {
		if (!mkdtemp(dir))
			return 1;
		setenv("ZIPC_DIR", dir, 1);
	}
	for (int k = 0; k < 4; k++)
		throughput((enum kind)k, k >= K_MQ ? n / 5 : n, 64);
	for (int k = 0; k < 4; k++)
		throughput((enum kind)k, k >= K_MQ ? n / 20 : n / 5, 4096);
	for (int k = 0; k < 4; k++)
		pingpong((enum kind)k, k >= K_MQ ? 20000 : 100000);
	char cmd[300];
	snprintf(cmd, sizeof(cmd), "rm -rf %s", getenv("ZIPC_DIR"));
	if (strcmp(getenv("ZIPC_DIR"), dir) == 0 && system(cmd)) {
	}
	return 0;
}
