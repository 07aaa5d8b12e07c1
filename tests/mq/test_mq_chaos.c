/* SPDX-License-Identifier: MIT */
/*
 * Real deaths at any instruction, not only at the named crash points: two
 * senders and two receivers on one queue while the parent SIGKILLs one of
 * them after a random number of its operations and starts another in its
 * place, 200 times; once on an XSI queue -- short messages through the
 * ring, one in eight long (through the list), one receive in eight typed
 * (behind the head it closes the ring) -- and once on a POSIX queue, one
 * message in eight long and one in five of a higher priority (another
 * priority closes the ring). Then, for each:
 *   - no message was received twice (each value has a bit in shared
 *     memory that its receiver sets; a second setter is a duplicate);
 *   - the queue is consistent (xsi_check) and the survivors finish;
 *   - every message still queued is received, and no value is received
 *     that was never sent.
 *   - at most one message per SIGKILL is missing: the one a killed sender
 *     was sending (never committed) or a killed receiver had taken
 *     (delivered to a process that died).
 * Pacing is by operation counts, never by time.
 */
#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/msg.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fcntl.h>

#include "mqcheck.h"
#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"

#define KILLS 200
#define MAXV (1u << 18) /* values the senders may hand out */

struct shared {
	uint32_t next_value;	    /* senders take values from here */
	uint32_t ops[4];	    /* per worker slot: operations done */
	uint32_t stop;		    /* the survivors finish */
	uint32_t dups, bogus;	    /* what must stay 0 */
	uint64_t got[MAXV / 64];    /* a bit per value received */
};

struct msg {
	long t;
	uint32_t v[64];
};

static struct shared *sh;
static int qid;		     /* the XSI queue, or -1 */
static const char *QNAME = "/chaos"; /* the POSIX one */
static zipc_queue *posix_q;	     /* this process's handle on it */

static int
posix_handle(void)
{
	return posix_q || zipc_queue_open(QNAME, O_RDWR | O_NONBLOCK, 0, NULL,
					  &posix_q) == 0;
}

/* One send or receive, not waiting, on the queue under test. 0 or the
 * value received; -EAGAIN (full or empty), else -errno. */
static int64_t
op_send(uint32_t v, int long_one)
{
	struct msg m = {1 + (v & 1), {v}};
	size_t len = long_one ? sizeof(m.v) : 16;
	if (qid >= 0)
		return zipc_msgsnd(qid, &m, len, IPC_NOWAIT) < 0
			       ? (errno == EAGAIN ? -EAGAIN : -errno)
			       : 0;
	if (!posix_handle())
		return -EIO;
	return zipc_queue_send(posix_q, m.v, len, v % 5 == 0, 0);
}

static int64_t
op_recv(int typed)
{
	struct msg m;
	if (qid >= 0) {
		ssize_t n = zipc_msgrcv(qid, &m, sizeof(m.v), typed ? 2 : 0,
					IPC_NOWAIT);
		if (n < 0)
			return errno == ENOMSG ? -EAGAIN : -errno;
		return m.v[0];
	}
	if (!posix_handle())
		return -EIO;
	ssize_t n = zipc_queue_receive(posix_q, m.v, sizeof(m.v), NULL, 0);
	return n < 0 ? n : m.v[0];
}


static void
mark(uint32_t v)
{
	if (v >= MAXV) {
		__atomic_fetch_add(&sh->bogus, 1, __ATOMIC_RELAXED);
		return;
	}
	uint64_t bit = (uint64_t)1 << (v % 64);
	if (__atomic_fetch_or(&sh->got[v / 64], bit, __ATOMIC_RELAXED) & bit)
		__atomic_fetch_add(&sh->dups, 1, __ATOMIC_RELAXED);
}

static int
sender(void *arg)
{
	int slot = (int)(intptr_t)arg;
	for (uint32_t i = 0;; i++) {
		if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
			return 0;
		uint32_t v = __atomic_fetch_add(&sh->next_value, 1,
						__ATOMIC_RELAXED);
		if (v >= MAXV)
			return 0;
		/* A full queue waits; not sleeping keeps a stopping run
		 * moving. */
		int64_t r;
		while ((r = op_send(v, i % 8 == 7)) < 0) {
			if (r != -EAGAIN)
				return 1;
			if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
				return 0;
			sched_yield();
		}
		__atomic_fetch_add(&sh->ops[slot], 1, __ATOMIC_RELAXED);
	}
}

static int
receiver(void *arg)
{
	int slot = (int)(intptr_t)arg;
	for (uint32_t i = 0;; i++) {
		int64_t v = op_recv(i % 8 == 3);
		if (v < 0) {
			if (v != -EAGAIN)
				return 1;
			if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
				return 0;
			sched_yield();
			continue;
		}
		mark((uint32_t)v);
		__atomic_fetch_add(&sh->ops[slot], 1, __ATOMIC_RELAXED);
	}
}

static pid_t
start(int slot)
{
	return tu_fork(slot < 2 ? sender : receiver, (void *)(intptr_t)slot);
}

/* The chaos on the queue under test; 0 if every check held. */
static int
chaos(const char *face)
{
	memset(sh, 0, sizeof(*sh));
	pid_t pid[4];
	for (int s = 0; s < 4; s++)
		pid[s] = start(s);
	for (int k = 0; k < KILLS; k++) {
		int s = (int)tu_rand_below(4);
		uint32_t from = __atomic_load_n(&sh->ops[s], __ATOMIC_RELAXED);
		uint32_t want = 1 + (uint32_t)tu_rand_below(300);
		/* Until the victim did that many operations (or, if it is
		 * stuck behind the others, a while passed). */
		for (uint32_t spins = 0;
		     __atomic_load_n(&sh->ops[s], __ATOMIC_RELAXED) - from <
			     want &&
		     spins < 20000;
		     spins++)
			sched_yield();
		kill(pid[s], SIGKILL);
		tu_wait(pid[s], 10000); /* reap it */
		pid[s] = start(s);
	}
	/* The survivors finish; then everything left is received here. */
	__atomic_store_n(&sh->stop, 1, __ATOMIC_RELEASE);
	int bad = 0;
	for (int s = 0; s < 4; s++) {
		int st = tu_wait(pid[s], 15000);
		if (st != 0) {
			fprintf(stderr, "%s: worker %d ended with %d\n", face, s,
				st);
			bad = 1;
		}
	}
	if (qid >= 0 && xsi_check(qid) != 0) {
		fprintf(stderr, "%s: queue inconsistent\n", face);
		bad = 1;
	}
	uint32_t left = 0;
	int64_t v;
	while ((v = op_recv(0)) >= 0) {
		mark((uint32_t)v);
		left++;
	}
	if (v != -EAGAIN) {
		fprintf(stderr, "%s: final receive: %lld\n", face, (long long)v);
		bad = 1;
	}
	uint64_t received = 0;
	for (uint32_t w = 0; w < MAXV / 64; w++)
		received += (uint64_t)__builtin_popcountll(sh->got[w]);
	/* Each SIGKILL loses at most the one message its victim was sending
	 * or had just taken, and each sender at most one more when told to
	 * stop: anything beyond that would be a committed message lost. */
	uint64_t handed = sh->next_value < MAXV ? sh->next_value : MAXV;
	if (handed - received > KILLS + 2) {
		fprintf(stderr, "%s: %llu messages missing, more than %d kills\n",
			face, (unsigned long long)(handed - received), KILLS);
		bad = 1;
	}
	if (sh->dups || sh->bogus) {
		fprintf(stderr, "%s: %u duplicated, %u never sent\n", face,
			sh->dups, sh->bogus);
		bad = 1;
	}
	printf("%s: %d SIGKILLs; %u values handed out, %llu received once, "
	       "%u left at the end, %u duplicated: %s\n",
	       face, KILLS, sh->next_value, (unsigned long long)received, left,
	       sh->dups, bad ? "FAILED" : "ok");
	return bad;
}

int
main(void)
{
	tu_setup(200);
	tu_seed(0x6368616f73ULL);
	sh = mmap(NULL, sizeof(*sh), PROT_READ | PROT_WRITE,
		  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		return 1;
	int bad = 0;
	qid = zipc_msgget(IPC_PRIVATE, 0600);
	if (qid < 0)
		return 1;
	bad |= chaos("XSI");
	if (xsi_check(qid) != 0 || zipc_msgctl(qid, IPC_RMID, NULL) < 0)
		bad = 1;

	qid = -1;
	/* 10: /proc/sys/fs/mqueue/msg_max's default, binding without
	 * CAP_SYS_RESOURCE. */
	struct zipc_queue_attr a = {10, sizeof(((struct msg *)0)->v), {0}};
	zipc_queue *q;
	int r = zipc_queue_open(QNAME, O_RDWR | O_CREAT | O_EXCL, 0600, &a, &q);
	if (r < 0) {
		fprintf(stderr, "POSIX queue: %s\n", strerror(-r));
		return 1;
	}
	bad |= chaos("POSIX");
	zipc_queue_close(posix_q); /* the drain's */
	zipc_queue_close(q);
	if (zipc_queue_unlink(QNAME) < 0)
		bad = 1;
	if (tu_count_objects() != 0) {
		fprintf(stderr, "objects left\n");
		bad = 1;
	}
	return bad;
}
