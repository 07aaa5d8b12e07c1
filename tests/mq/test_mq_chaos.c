/* SPDX-License-Identifier: MIT */
/*
 * Real deaths at any instruction, not only at the named crash points: two
 * senders and two receivers on one XSI queue -- short messages through the
 * ring, one in eight long (through the list), one receive in eight typed
 * (behind the head it closes the ring) -- while the parent SIGKILLs one of
 * them after a random number of its operations and starts another in its
 * place, 200 times. Then:
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

#include "mqcheck.h"
#include "testutil.h"
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

static struct shared *sh;
static int qid;

struct msg {
	long t;
	uint32_t v[64];
};

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
		struct msg m = {1 + (v & 1), {v}};
		size_t len = i % 8 == 7 ? sizeof(m.v) : 16;
		/* A full queue waits; IPC_NOWAIT keeps a stopping run moving. */
		while (zipc_msgsnd(qid, &m, len, IPC_NOWAIT) < 0) {
			if (errno != EAGAIN)
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
		struct msg m;
		long typ = i % 8 == 3 ? 2 : 0;
		ssize_t n = zipc_msgrcv(qid, &m, sizeof(m.v), typ, IPC_NOWAIT);
		if (n < 0) {
			if (errno != ENOMSG)
				return 1;
			if (__atomic_load_n(&sh->stop, __ATOMIC_ACQUIRE))
				return 0;
			sched_yield();
			continue;
		}
		mark(m.v[0]);
		__atomic_fetch_add(&sh->ops[slot], 1, __ATOMIC_RELAXED);
	}
}

static pid_t
start(int slot)
{
	return tu_fork(slot < 2 ? sender : receiver, (void *)(intptr_t)slot);
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
	memset(sh, 0, sizeof(*sh));
	qid = zipc_msgget(IPC_PRIVATE, 0600);
	if (qid < 0)
		return 1;
	pid_t pid[4];
	for (int s = 0; s < 4; s++)
		pid[s] = start(s);
	for (int k = 0; k < KILLS; k++) {
		int s = (int)tu_rand_below(4);
		uint32_t from = __atomic_load_n(&sh->ops[s], __ATOMIC_RELAXED);
		uint32_t want = 1 + (uint32_t)tu_rand_below(300);
		/* Until the victim did that many operations (or, if it is
		 * stuck behind the others, anyone progressed a lot). */
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
			fprintf(stderr, "worker %d ended with %d\n", s, st);
			bad = 1;
		}
	}
	int r = xsi_check(qid);
	if (r != 0) {
		fprintf(stderr, "queue inconsistent: %d\n", r);
		bad = 1;
	}
	struct msg m;
	uint32_t left = 0;
	while (zipc_msgrcv(qid, &m, sizeof(m.v), 0, IPC_NOWAIT) >= 0) {
		mark(m.v[0]);
		left++;
	}
	if (errno != ENOMSG) {
		perror("final receive");
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
		fprintf(stderr, "%llu messages missing, more than %d kills\n",
			(unsigned long long)(handed - received), KILLS);
		bad = 1;
	}
	if (sh->dups || sh->bogus) {
		fprintf(stderr, "%u duplicated, %u never sent\n", sh->dups,
			sh->bogus);
		bad = 1;
	}
	if (xsi_check(qid) != 0 || zipc_msgctl(qid, IPC_RMID, NULL) < 0)
		bad = 1;
	if (tu_count_objects() != 0) {
		fprintf(stderr, "objects left\n");
		bad = 1;
	}
	printf("%d SIGKILLs; %u values handed out, %llu received once, %u "
	       "left at the end, %u duplicated: %s\n",
	       KILLS, sh->next_value, (unsigned long long)received, left,
	       sh->dups, bad ? "FAILED" : "ok");
	return bad;
}
