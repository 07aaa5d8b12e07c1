/* SPDX-License-Identifier: MIT */
/*
 * Robust lock: a futex word holding the owner's tid (Drepper's "mutex3"
 * with the tid in place of 1), plus the owner's start time beside it.
 *
 * Protocol. A taker CASes lk_word from 0 to its tid, then records
 * {tid, start} in lk_owner (start first, tid last with release). Unlock
 * clears lk_owner.pr_pid, then releases lk_word (xchg_release; the partner
 * is the acquire CAS of the next taker) and wakes one sleeper if the
 * WAITERS bit was set. A contender that finds the word held sleeps on it
 * with a short timeout that grows from 1 ms to 64 ms; each time it wakes
 * with the same owner it asks whether that owner still lives:
 *   - lk_owner.pr_pid == owner tid: alive iff (tid, start) is alive;
 *   - otherwise the owner died, or has not recorded itself yet: alive iff
 *     a thread with that tid exists.
 * A dead owner's word is taken over by CAS, and the taker returns
 * -EOWNERDEAD so the object's repair step runs. No kernel robust list is
 * needed (glibc owns the thread's one), and detection is exact: death is
 * read from /proc, never guessed from a timeout.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "atomic.h"
#include "internal.h"
#include "lock.h"
#include "wait.h"

#define SPIN_TRIES 100

static void
record_owner(struct zipc_lock *lk, uint32_t tid)
{
	st_relaxed(&lk->lk_owner.pr_start, zipc__tid_start());
	/* Partner: ld_acquire of pr_pid in owner_alive. */
	st_release(&lk->lk_owner.pr_pid, tid);
}

static int
owner_alive(struct zipc_lock *lk, uint32_t owner)
{
	if (ld_acquire(&lk->lk_owner.pr_pid) == owner)
		return zipc__proc_alive(owner,
					ld_relaxed(&lk->lk_owner.pr_start));
	return zipc__proc_start(owner) != 0;
}

/* Take over a word whose owner is dead; 1 on success. */
static int
steal(struct zipc_lock *lk, uint32_t seen, uint32_t tid)
{
	uint32_t expected = seen;
	if (!cas_acq(&lk->lk_word, &expected,
		     tid | (seen & ZIPC_LOCK_WAITERS)))
		return 0;
	record_owner(lk, tid);
	return 1;
}

int
zipc__trylock(struct zipc_lock *lk)
{
	uint32_t tid = zipc__tid();
	uint32_t w = 0;
	if (cas_acq(&lk->lk_word, &w, tid)) {
		record_owner(lk, tid);
		return 0;
	}
	uint32_t owner = w & ZIPC_LOCK_TID_MASK;
	if (owner == tid && owner_alive(lk, owner))
		return -EDEADLK;
	if (!owner_alive(lk, owner) && steal(lk, w, tid))
		return -EOWNERDEAD;
	return -EBUSY;
}

int
zipc__lock(struct zipc_lock *lk)
{
	uint32_t tid = zipc__tid();
	uint32_t w = 0;
	if (likely(cas_acq(&lk->lk_word, &w, tid))) {
		record_owner(lk, tid);
		return 0;
	}
	for (int i = 0; i < SPIN_TRIES; i++) {
		cpu_relax();
		w = ld_relaxed(&lk->lk_word);
		if (w == 0 && cas_acq(&lk->lk_word, &w, tid)) {
			record_owner(lk, tid);
			return 0;
		}
	}
	long interval_ns = 1000000; /* 1 ms, doubling to 64 ms */
	for (;;) {
		w = ld_relaxed(&lk->lk_word);
		if (w == 0) {
			/* Others may sleep: keep WAITERS so unlock wakes. */
			if (cas_acq(&lk->lk_word, &w, tid | ZIPC_LOCK_WAITERS)) {
				record_owner(lk, tid);
				return 0;
			}
			continue;
		}
		uint32_t owner = w & ZIPC_LOCK_TID_MASK;
		if (owner == tid && owner_alive(lk, owner))
			return -EDEADLK;
		if (!(w & ZIPC_LOCK_WAITERS)) {
			uint32_t want = w | ZIPC_LOCK_WAITERS;
			if (!cas_acq(&lk->lk_word, &w, want))
				continue;
			w = want;
		}
		struct zipc_deadline dl;
		struct timespec rel = {0, interval_ns};
		zipc__deadline_rel(&dl, &rel);
		int r = zipc__futex_wait(&lk->lk_word, w, &dl);
		if (r == -ETIMEDOUT && ld_relaxed(&lk->lk_word) == w) {
			if (!owner_alive(lk, owner)) {
				if (steal(lk, w, tid))
					return -EOWNERDEAD;
				continue;
			}
			if (interval_ns < 64000000)
				interval_ns *= 2;
		}
	}
}

void
zipc__unlock(struct zipc_lock *lk)
{
	st_relaxed(&lk->lk_owner.pr_pid, 0);
	/* Partner: the acquire CAS in zipc__lock/trylock of the next taker. */
	uint32_t w = xchg_release(&lk->lk_word, 0);
	if (w & ZIPC_LOCK_WAITERS)
		zipc__futex_wake(&lk->lk_word, 1);
}

void
zipc__lock_init(struct zipc_lock *lk)
{
	st_relaxed(&lk->lk_owner.pr_pid, 0);
	st_relaxed(&lk->lk_owner.pr_start, 0);
	st_relaxed(&lk->lk_resv, 0);
	st_release(&lk->lk_word, 0);
}
