/* SPDX-License-Identifier: MIT */
/*
 * User-space references: a shared ring that waits by spinning briefly and
 * then sleeping on a futex (what zipc aims at), and the hardware floor,
 * one cache line bounced between the two processes.
 *
 * Ring protocol, per direction: the producer alone writes ring_head, the
 * consumer alone writes ring_tail; both count messages and wrap at 2^32.
 * A side that must sleep sets its waiter word, issues a full fence, then
 * re-checks the counter before FUTEX_WAIT; the other side publishes its
 * counter, issues a full fence, then reads the waiter word and wakes only
 * if it is set (zipc:bench-dekker). Either the sleeper sees the new
 * counter or the publisher sees the waiter, so no wake-up is lost, and
 * nobody pays for FUTEX_WAKE (~0.5 us) while nobody sleeps.
 */
#include <errno.h>
#include <linux/futex.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "bench.h"

/*
 * Spin for about one blocking wake-up's cost before sleeping: on these
 * VMs a cross-core wake-up costs ~40 us, and spinning as long as the
 * alternative costs is never worse than twice the best choice. The CPU
 * this burns is charged to the transport in the CPU columns.
 */
#define SPIN_NS		20000
#define SPIN_CHECK	64	/* spins between clock reads */

struct ring_dir {
	uint32_t ring_head __attribute__((aligned(64)));
	uint32_t ring_head_waiters __attribute__((aligned(64)));
	uint32_t ring_tail __attribute__((aligned(64)));
	uint32_t ring_tail_waiters __attribute__((aligned(64)));
};

struct ring_link {
	struct ring_dir *dir;	/* [2], then the slots */
	unsigned char *slots;
	size_t map_len;
	size_t size;
	int side;
	uint32_t head;		/* private copy of our send ring_head */
	uint32_t tail;		/* private copy of our receive ring_tail */
	/*
	 * The peer's counters as last read. Re-reading them only when the
	 * ring looks full or empty saves a cache-line transfer per message
	 * (the classic cached-index SPSC ring).
	 */
	uint32_t peer_tail;
	uint32_t peer_head;
};

static long
futex(uint32_t *uaddr, int op, uint32_t val)
{
	/* Shared futexes: the two processes have different mms. */
	return syscall(SYS_futex, uaddr, op, val, NULL, NULL, 0);
}

/*
 * Wait until *@word differs from @bad. Returns 0, or -EINTR when the
 * watchdog fired.
 */
static int
ring_wait(uint32_t *word, uint32_t *waiters, uint32_t bad)
{
	uint64_t deadline = 0;
	unsigned int n;

	for (n = 1;; n++) {
		if (bench_load_acq(word) != bad)
			return 0;
		bench_cpu_relax();
		if (n % SPIN_CHECK)
			continue;
		if (bench_expired)
			return -EINTR;
		if (!deadline)
			deadline = bench_now_ns() + SPIN_NS;
		else if (bench_now_ns() >= deadline)
			break;
	}
	for (;;) {
		/* zipc:bench-dekker, sleeper side */
		bench_store_rlx(waiters, 1);
		bench_fence();
		if (bench_load_acq(word) != bad)
			break;
		if (futex(word, FUTEX_WAIT, bad) < 0 && errno == EINTR &&
		    bench_expired)
			return -EINTR;
	}
	bench_store_rlx(waiters, 0);
	return 0;
}

/*
 * After publishing @word with release: wake its sleeper, if any. Only the
 * sleeper clears its waiter word. A publisher that cleared it (say with
 * an exchange) could be delayed past the sleeper's next wait and consume
 * the flag of that wait with a wake-up meant for the previous one; the
 * next publish would then see no waiter, and the sleeper would sleep
 * forever. That bug was seen here; the cost of the fix is a spare
 * FUTEX_WAKE in the short window before a woken sleeper clears the word.
 */
static void
ring_wake(uint32_t *word, uint32_t *waiters)
{
	/* zipc:bench-dekker, publisher side */
	bench_fence();
	if (bench_load_rlx(waiters))
		futex(word, FUTEX_WAKE, 1);
}

static void
ring_destroy(void *link)
{
	struct ring_link *l = link;

	bench_shm_unmap(l->dir, l->map_len);
	free(l);
}

static int
ring_open(size_t msg_size, void **linkp)
{
	struct ring_link *l = calloc(1, sizeof(*l));

	if (!l)
		return -ENOMEM;
	l->size = msg_size;
	l->map_len = 2 * sizeof(struct ring_dir) +
		     2 * BENCH_RING_SLOTS * msg_size;
	l->dir = bench_shm_map(l->map_len);
	if (!l->dir) {
		free(l);
		return -ENOMEM;
	}
	l->slots = (unsigned char *)(l->dir + 2);
	*linkp = l;
	return 0;
}

static int
ring_attach(void *link, int side)
{
	struct ring_link *l = link;

	l->side = side;
	return 0;
}

static unsigned char *
ring_slot(struct ring_link *l, int d, uint32_t i)
{
	return l->slots +
	       ((size_t)d * BENCH_RING_SLOTS + i % BENCH_RING_SLOTS) * l->size;
}

static int
ring_send(void *link, const void *buf, size_t len)
{
	struct ring_link *l = link;
	struct ring_dir *rd = &l->dir[l->side];
	uint32_t h = l->head;
	int r;

	/* Full when the consumer is a whole ring behind. */
	if (h - l->peer_tail >= BENCH_RING_SLOTS) {
		r = ring_wait(&rd->ring_tail, &rd->ring_tail_waiters,
			      h - BENCH_RING_SLOTS);
		if (r)
			return r;
		l->peer_tail = bench_load_acq(&rd->ring_tail);
	}
	memcpy(ring_slot(l, l->side, h), buf, len);
	/*
	 * Publish the slot before the head: a consumer that sees the new
	 * head (bench_load_acq in ring_recv) also sees the bytes.
	 */
	bench_store_rel(&rd->ring_head, h + 1);
	l->head = h + 1;
	ring_wake(&rd->ring_head, &rd->ring_head_waiters);
	return 0;
}

static int
ring_recv(void *link, void *buf, size_t len)
{
	struct ring_link *l = link;
	int d = 1 - l->side;
	struct ring_dir *rd = &l->dir[d];
	uint32_t t = l->tail;
	int r;

	if (l->peer_head == t) {
		r = ring_wait(&rd->ring_head, &rd->ring_head_waiters, t);
		if (r)
			return r;
		l->peer_head = bench_load_acq(&rd->ring_head);
	}
	memcpy(buf, ring_slot(l, d, t), len);
	/*
	 * Release the slot only after copying out: a producer that sees the
	 * new tail (bench_load_acq in ring_send) may overwrite it.
	 */
	bench_store_rel(&rd->ring_tail, t + 1);
	l->tail = t + 1;
	ring_wake(&rd->ring_tail, &rd->ring_tail_waiters);
	return 0;
}

/*
 * The floor: one 64-byte-aligned counter, bumped by whoever's turn it is
 * and awaited by spinning. It carries no payload and cannot queue, so it
 * only runs ping-pong; any real hand-off costs at least this.
 */
struct line_link {
	uint32_t *ctr;		/* alone on its cache line */
	uint32_t seen;		/* the last value this side saw or wrote */
};

static void
line_destroy(void *link)
{
	struct line_link *l = link;

	bench_shm_unmap(l->ctr, 64);
	free(l);
}

static int
line_open(size_t msg_size, void **linkp)
{
	struct line_link *l = calloc(1, sizeof(*l));

	(void)msg_size;
	if (!l)
		return -ENOMEM;
	/* A fresh mapping is page-aligned, hence line-aligned. */
	l->ctr = bench_shm_map(64);
	if (!l->ctr) {
		free(l);
		return -ENOMEM;
	}
	*linkp = l;
	return 0;
}

static int
line_attach(void *link, int side)
{
	(void)link;
	(void)side;
	return 0;
}

/*
 * Only the side whose turn it is writes, so a plain release store will
 * do; a locked increment would add its own cost to the floor.
 */
static int
line_send(void *link, const void *buf, size_t len)
{
	struct line_link *l = link;

	(void)buf;
	(void)len;
	bench_store_rel(l->ctr, ++l->seen);
	return 0;
}

static int
line_recv(void *link, void *buf, size_t len)
{
	struct line_link *l = link;
	uint32_t v;

	(void)buf;
	(void)len;
	while ((v = bench_load_acq(l->ctr)) == l->seen) {
		if (bench_expired)
			return -EINTR;
		bench_cpu_relax();
	}
	l->seen = v;
	return 0;
}

static const struct bench_xport xport_shm_futex = {
	.name = "shm-futex",
	.desc = "shared ring, spin ~20 us then FUTEX_WAIT, wake only waiters",
	.group = BENCH_GROUP_USER,
	.open = ring_open,
	.attach = ring_attach,
	.send = ring_send,
	.recv = ring_recv,
	.destroy = ring_destroy,
};

static const struct bench_xport xport_cacheline = {
	.name = "cacheline",
	.desc = "one 64-byte line bounced by spinning (hardware floor)",
	.group = BENCH_GROUP_USER,
	.flags = BX_PINGPONG_ONLY,
	.open = line_open,
	.attach = line_attach,
	.send = line_send,
	.recv = line_recv,
	.destroy = line_destroy,
};

const struct bench_xport *const bench_xports_shm[] = {
	&xport_shm_futex, &xport_cacheline, NULL,
};
