/* SPDX-License-Identifier: MIT */
/*
 * Threads of one process on one queue (also run under TSan, suite
 * 'threads'): a POSIX-face queue with priorities through the locked path,
 * and an XSI queue through the ring (src/mq/ring.c) with typed receives
 * and long messages switching it to the list and back. Every value sent
 * is received exactly once (the sums agree).
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <cmocka.h>

#include "mqcheck.h"
#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"



#define T_PER 20000

/*
 * Two @producer and two @consumer threads (argument 0 or 1); the
 * producers send 0 .. 2 * T_PER - 1 between them, so the consumers' sums
 * (@sum) must add up to exactly that.
 */
static void
run_pairs(void *(*producer)(void *), void *(*consumer)(void *), long *sum)
{
	pthread_t p[2], c[2];
	for (intptr_t i = 0; i < 2; i++) {
		pthread_create(&c[i], NULL, consumer, (void *)i);
		pthread_create(&p[i], NULL, producer, (void *)i);
	}
	for (int i = 0; i < 2; i++) {
		void *r1, *r2;
		pthread_join(p[i], &r1);
		pthread_join(c[i], &r2);
		assert_null(r1);
		assert_null(r2);
	}
	long n = 2L * T_PER;
	assert_int_equal(sum[0] + sum[1], n * (n - 1) / 2);
}

static zipc_queue *tq;
static long t_sum[2];

static void *
t_producer(void *arg)
{
	long base = (long)(intptr_t)arg * T_PER;
	for (long i = 0; i < T_PER; i++) {
		long v = base + i;
		if (zipc_queue_send(tq, &v, sizeof(v), (unsigned)(i % 3), -1))
			return (void *)1;
	}
	return NULL;
}

static void *
t_consumer(void *arg)
{
	long sum = 0, v;
	for (long i = 0; i < T_PER; i++) {
		if (zipc_queue_receive(tq, &v, sizeof(v), NULL, -1) !=
		    sizeof(v))
			return (void *)1;
		sum += v;
	}
	t_sum[(intptr_t)arg] = sum;
	return NULL;
}

static void
test_threads(void **state)
{
	(void)state;
	struct zipc_queue_attr a = {4, sizeof(long), {0}};
	assert_int_equal(zipc_queue_open("/thr", O_RDWR | O_CREAT, 0600, &a,
					 &tq),
			 0);
	run_pairs(t_producer, t_consumer, t_sum);
	zipc_queue_close(tq);
	assert_int_equal(zipc_queue_unlink("/thr"), 0);
}

/* Threads through the ring: two senders, two receivers, 64-byte messages
 * (one in 64 longer, through the list), every value taken exactly once. */
static int tx_id;
static long tx_sum[2];

struct txmsg {
	long t;
	long v[16];
};

static void *
tx_sender(void *arg)
{
	long base = (long)(intptr_t)arg * T_PER;
	for (long i = 0; i < T_PER; i++) {
		struct txmsg m = {1 + (i & 1), {base + i}};
		size_t len = i % 64 == 63 ? sizeof(m.v) : 64;
		if (zipc_msgsnd(tx_id, &m, len, 0) < 0)
			return (void *)1;
	}
	return NULL;
}

static void *
tx_receiver(void *arg)
{
	long sum = 0;
	for (long i = 0; i < T_PER; i++) {
		struct txmsg m;
		/* One receive in eight by one receiver is typed: the lowest
		 * type <= 2 (every message qualifies, so it never waits for
		 * a type another receiver took), from the ring's head or,
		 * behind it, from the list. */
		long typ = (intptr_t)arg && i % 8 == 0 ? -2 : 0;
		ssize_t n = zipc_msgrcv(tx_id, &m, sizeof(m.v), typ, 0);
		if (n != 64 && n != (ssize_t)sizeof(m.v))
			return (void *)1;
		sum += m.v[0];
	}
	tx_sum[(intptr_t)arg] = sum;
	return NULL;
}

static void
test_ring_threads(void **state)
{
	(void)state;
	tx_id = zipc_msgget(IPC_PRIVATE, 0600);
	run_pairs(tx_sender, tx_receiver, tx_sum);
	assert_int_equal(xsi_check(tx_id), 0);
	assert_int_equal(zipc_msgctl(tx_id, IPC_RMID, NULL), 0);
}

static void
test_no_leftovers(void **state)
{
	(void)state;
	assert_int_equal(tu_count_objects(), 0);
}

int
main(void)
{
	tu_setup(200);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_ring_threads),
		cmocka_unit_test(test_no_leftovers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
