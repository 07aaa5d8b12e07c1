/* SPDX-License-Identifier: MIT */
/*
 * N producers x M consumers on one queue, for each face: every message
 * carries (producer, sequence, length) and a checksum of its bytes; the
 * consumers tick each one off in a shared table, and at the end every
 * message must have been received exactly once and intact. Sizes vary up
 * to the limit, XSI consumers use typed selections, and the queue is
 * small so producers block on a full queue and consumers on an empty one.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <unistd.h>

#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"

#define P    3
#define C    3
#define PER  20000
#define MAXB 4096 /* one message in 16 is up to this long */

struct hdr {
	uint32_t prod, seq, len, sum;
};

static uint8_t (*seen)[PER]; /* shared: [producer][seq] receive count */
static int xsi_id;
static uint32_t *bad;

static uint32_t
body_byte(uint32_t p, uint32_t s, uint32_t i)
{
	return (p * 131u + s * 7u + i * 13u) & 0xff;
}

static size_t
make(char *buf, uint32_t p, uint32_t s)
{
	/* Mostly short, now and then long: XSI queues then hold messages
	 * of one slot and of many, and typed receives leave holes, so long
	 * messages are placed both as one extent and as chains. */
	uint32_t mod = s % 16 == 0 ? MAXB - 16 : 496;
	struct hdr h = {p, s, (p * 7919u + s * 104729u) % mod, 0};
	for (uint32_t i = 0; i < h.len; i++) {
		buf[sizeof(h) + i] = (char)body_byte(p, s, i);
		h.sum = h.sum * 31 + (uint8_t)buf[sizeof(h) + i];
	}
	memcpy(buf, &h, sizeof(h));
	return sizeof(h) + h.len;
}

static void
check(const char *buf, size_t n)
{
	struct hdr h;
	uint32_t sum = 0;
	memcpy(&h, buf, sizeof(h));
	if (n < sizeof(h) || h.prod >= P || h.seq >= PER ||
	    n != sizeof(h) + h.len) {
		__atomic_fetch_add(bad, 1, __ATOMIC_RELAXED);
		return;
	}
	for (uint32_t i = 0; i < h.len; i++)
		sum = sum * 31 + (uint8_t)buf[sizeof(h) + i];
	if (sum != h.sum)
		__atomic_fetch_add(bad, 1, __ATOMIC_RELAXED);
	__atomic_fetch_add(&seen[h.prod][h.seq], 1, __ATOMIC_RELAXED);
}

/* ---- native (POSIX-style) face ----------------------------------------- */

static int
posix_producer(void *arg)
{
	uint32_t p = (uint32_t)(uintptr_t)arg;
	zipc_queue *q;
	char buf[MAXB];
	if (zipc_queue_open("/mp", O_WRONLY, 0, NULL, &q) < 0)
		return 2;
	for (uint32_t s = 0; s < PER; s++) {
		size_t n = make(buf, p, s);
		if (zipc_queue_send(q, buf, n, s % 4, -1) < 0)
			return 3;
	}
	zipc_queue_close(q);
	return 0;
}

static int
posix_consumer(void *arg)
{
	(void)arg;
	zipc_queue *q;
	char buf[MAXB];
	if (zipc_queue_open("/mp", O_RDONLY, 0, NULL, &q) < 0)
		return 2;
	for (;;) {
		ssize_t n = zipc_queue_receive(q, buf, sizeof(buf), NULL, -1);
		if (n < 0)
			return 3;
		if (n == 1)
			break; /* stop token */
		check(buf, (size_t)n);
	}
	zipc_queue_close(q);
	return 0;
}

/* ---- XSI face ------------------------------------------------------------- */

struct mb {
	long mtype;
	char t[MAXB];
};

static int
xsi_producer(void *arg)
{
	uint32_t p = (uint32_t)(uintptr_t)arg;
	struct mb m;
	for (uint32_t s = 0; s < PER; s++) {
		size_t n = make(m.t, p, s);
		m.mtype = 1 + (long)(s % 3);
		if (zipc_msgsnd(xsi_id, &m, n, 0) < 0)
			return 3;
	}
	return 0;
}

static int
xsi_consumer(void *arg)
{
	int c = (int)(uintptr_t)arg;
	/* 0: anything; 1: lowest type <= 4; 2: anything but type 2. */
	long typ = c == 0 ? 0 : c == 1 ? -4 : 2;
	int flg = c == 2 ? MSG_EXCEPT : 0;
	struct mb m;
	for (;;) {
		ssize_t n = zipc_msgrcv(xsi_id, &m, sizeof(m.t), typ, flg);
		if (n < 0)
			return 3;
		if (m.mtype == 4)
			break; /* stop token */
		check(m.t, (size_t)n);
	}
	return 0;
}

static int
run(int xsi)
{
	pid_t prod[P], cons[C];
	memset(seen, 0, sizeof(uint8_t) * P * PER);
	*bad = 0;
	zipc_queue *q = NULL;
	if (xsi) {
		xsi_id = zipc_msgget(IPC_PRIVATE, 0600);
		if (xsi_id < 0)
			return 1;
	} else {
		struct zipc_queue_attr a = {8, MAXB, {0}};
		if (zipc_queue_open("/mp", O_RDWR | O_CREAT | O_EXCL, 0600, &a,
				    &q) < 0)
			return 1;
	}
	for (int c = 0; c < C; c++)
		cons[c] = tu_fork(xsi ? xsi_consumer : posix_consumer,
				  (void *)(uintptr_t)c);
	for (int p = 0; p < P; p++)
		prod[p] = tu_fork(xsi ? xsi_producer : posix_producer,
				  (void *)(uintptr_t)p);
	int fail = 0;
	for (int p = 0; p < P; p++)
		if (tu_wait(prod[p], 120000) != 0)
			fail = 1;
	for (int c = 0; c < C; c++) {
		if (xsi) {
			struct mb m = {4, {0}};
			zipc_msgsnd(xsi_id, &m, 1, 0);
		} else {
			zipc_queue_send(q, "S", 1, 0, -1);
		}
	}
	for (int c = 0; c < C; c++)
		if (tu_wait(cons[c], 120000) != 0)
			fail = 1;
	long missing = 0, dup = 0;
	for (int p = 0; p < P; p++)
		for (int s = 0; s < PER; s++) {
			if (seen[p][s] == 0)
				missing++;
			else if (seen[p][s] > 1)
				dup++;
		}
	printf("%s: %d producers x %d consumers, %d messages: %ld missing, "
	       "%ld duplicated, %u corrupt%s\n",
	       xsi ? "XSI" : "native", P, C, P * PER, missing, dup, *bad,
	       fail ? ", a process failed" : "");
	if (xsi) {
		zipc_msgctl(xsi_id, IPC_RMID, NULL);
	} else {
		zipc_queue_close(q);
		zipc_queue_unlink("/mp");
	}
	return fail || missing || dup || *bad;
}

int
main(void)
{
	tu_setup(250);
	void *sh = mmap(NULL, sizeof(uint8_t) * P * PER + 64,
			PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1,
			0);
	if (sh == MAP_FAILED)
		return 1;
	seen = sh;
	bad = (uint32_t *)((char *)sh + sizeof(uint8_t) * P * PER);
	int r = run(0) | run(1);
	if (tu_count_objects() != 0) {
		fprintf(stderr, "objects left: %d\n", tu_count_objects());
		r = 1;
	}
	return r;
}
