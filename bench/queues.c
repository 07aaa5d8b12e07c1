/* SPDX-License-Identifier: MIT */
/*
 * zipc-bench-queue: message queue throughput side by side in one run --
 * the kernel's XSI msg and POSIX mq beside zipc's two faces -- for 1->1
 * and 2->2 (two senders and two receivers on one queue), 64 B and 4 KiB
 * messages: messages/s and CPU time per message (all processes). Queue
 * limits are the system's defaults for both (msgmnb, mq msg_max), so the
 * kernel and zipc hold the same number of messages. Ping-pong latency is
 * in zipc-bench. Medians of --runs alternating runs.
 * Usage: zipc-bench-queue [--quick] [--runs K] [--csv FILE]
 */
#include <errno.h>
#include <fcntl.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "runopt.h"
#include "store.h"
#include "zipc_compat.h"

enum impl { K_MSG, Z_MSG, K_MQ, Z_MQ, NIMPL };
static const char *const names[NIMPL] = {"kernel msg", "zipc msg",
					 "kernel mq", "zipc mq"};

struct q {
	enum impl impl;
	int id;	    /* XSI */
	mqd_t mq;   /* POSIX */
	char name[64];
};

static volatile int *go;

static int
q_make(struct q *q, enum impl i, size_t size)
{
	struct mq_attr attr = {.mq_maxmsg = 10, .mq_msgsize = (long)size};
	q->impl = i;
	snprintf(q->name, sizeof(q->name), "/zipc-bq.%d", (int)getpid());
	switch (i) {
	case K_MSG:
		return (q->id = msgget(IPC_PRIVATE, 0600)) < 0 ? -1 : 0;
	case Z_MSG:
		return (q->id = zipc_msgget(IPC_PRIVATE, 0600)) < 0 ? -1 : 0;
	case K_MQ:
		mq_unlink(q->name);
		q->mq = mq_open(q->name, O_RDWR | O_CREAT | O_EXCL, 0600, &attr);
		return q->mq == (mqd_t)-1 ? -1 : 0;
	default:
		zipc_mq_unlink(q->name);
		q->mq = zipc_mq_open(q->name, O_RDWR | O_CREAT | O_EXCL, 0600,
				     &attr);
		return q->mq == (mqd_t)-1 ? -1 : 0;
	}
}

static void
q_remove(struct q *q)
{
	switch (q->impl) {
	case K_MSG:
		msgctl(q->id, IPC_RMID, NULL);
		break;
	case Z_MSG:
		zipc_msgctl(q->id, IPC_RMID, NULL);
		break;
	case K_MQ:
		mq_close(q->mq);
		mq_unlink(q->name);
		break;
	default:
		zipc_mq_close(q->mq);
		zipc_mq_unlink(q->name);
	}
}

static int
q_send(struct q *q, char *buf, size_t size)
{
	switch (q->impl) {
	case K_MSG:
		return msgsnd(q->id, buf, size, 0);
	case Z_MSG:
		return zipc_msgsnd(q->id, buf, size, 0);
	case K_MQ:
		return mq_send(q->mq, buf + sizeof(long), size, 0);
	default:
		return zipc_mq_send(q->mq, buf + sizeof(long), size, 0);
	}
}

static int
q_recv(struct q *q, char *buf, size_t size)
{
	switch (q->impl) {
	case K_MSG:
		return (int)msgrcv(q->id, buf, size, 0, 0);
	case Z_MSG:
		return (int)zipc_msgrcv(q->id, buf, size, 0, 0);
	case K_MQ:
		return (int)mq_receive(q->mq, buf + sizeof(long), size, NULL);
	default:
		return (int)zipc_mq_receive(q->mq, buf + sizeof(long), size,
					    NULL);
	}
}

/* @pairs senders and @pairs receivers; messages/s, CPU us/msg in *cpu. */
static double
run(enum impl i, int pairs, size_t size, long per, double *cpu)
{
	struct q q;
	if (q_make(&q, i, size) < 0) {
		fprintf(stderr, "zipc-bench-queue: %s: %s\n", names[i],
			strerror(errno));
		return -1;
	}
	*go = 0;
	pid_t pids[8];
	int n = 0;
	for (int role = 0; role < 2; role++) {
		for (int p = 0; p < pairs; p++) {
			pid_t pid = fork();
			if (pid < 0) {
				perror("zipc-bench-queue: fork");
				exit(1); /* the children die by their alarm */
			}
			if (pid == 0) {
				static char buf[8192 + sizeof(long)];
				alarm(120); /* a hang fails, never stalls */
				*(long *)buf = 1;
				while (!__atomic_load_n(go, __ATOMIC_ACQUIRE))
					;
				for (long k = 0; k < per; k++)
					if ((role ? q_recv(&q, buf, size)
						  : q_send(&q, buf, size)) < 0)
						_exit(1);
				_exit(0);
			}
			pids[n++] = pid;
		}
	}
	double cpu_s, dt = runopt_start(go, pids, n, &cpu_s);
	double msgs = (double)per * pairs;
	*cpu = cpu_s / msgs * 1e6;
	q_remove(&q);
	return dt < 0 ? -1 : msgs / dt;
}

int
main(int argc, char **argv)
{
	struct runopt opt;
	if (runopt_parse(&opt, "zipc-bench-queue", argc, argv) < 0)
		return 2;
	int quick = opt.quick, runs = opt.runs;
	const char *csv = opt.csv;
	bench_store_init();
	go = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (go == MAP_FAILED) {
		perror("zipc-bench-queue: mmap");
		return 1;
	}
	static const size_t sizes[] = {64, 4096};
	static const int pairs[] = {1, 2};
	FILE *out = csv ? fopen(csv, "w") : NULL;
	if (out)
		fprintf(out, "impl,pairs,size,msgs_per_s,cpu_us_per_msg\n");
	printf("message queues, medians of %d alternating runs\n\n", runs);
	printf("%-11s | %-9s | %10s | %10s | ratio to kernel (same face)\n",
	       "queue", "topology", "M msg/s", "CPU us/msg");
	printf("------------+-----------+------------+------------+-----------"
	       "-----------------\n");
	int failed = 0;
	for (int s = 0; s < 2; s++) {
		for (int p = 0; p < 2; p++) {
			long per = (quick ? 100000 : 1000000) /
				   (sizes[s] > 64 ? 4 : 1) / pairs[p];
			double rate[NIMPL][RUNOPT_RUNS_MAX];
			double cpu[NIMPL][RUNOPT_RUNS_MAX];
			for (int r = 0; r < runs; r++)
				for (int i = 0; i < NIMPL; i++)
					rate[i][r] = run((enum impl)i,
							 pairs[p], sizes[s],
							 per, &cpu[i][r]);
			double med[NIMPL];
			for (int i = 0; i < NIMPL; i++) {
				med[i] = runopt_median(rate[i], runs);
				double mcpu = runopt_median(cpu[i], runs);
				failed |= med[i] < 0;
				char topo[16];
				snprintf(topo, sizeof(topo), "%d->%d %s",
					 pairs[p], pairs[p],
					 sizes[s] == 64 ? "64B" : "4K");
				printf("%-11s | %-9s | %10.3f | %10.3f |",
				       names[i], topo, med[i] / 1e6, mcpu);
				if (i % 2)
					printf(" %.2fx", med[i] / med[i - 1]);
				printf("\n");
				if (out)
					fprintf(out, "%s,%d,%zu,%.0f,%.4f\n",
						names[i], pairs[p], sizes[s],
						med[i], mcpu);
			}
		}
	}
	if (out)
		fclose(out);
	return failed;
}
