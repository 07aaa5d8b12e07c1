/* SPDX-License-Identifier: MIT */
/*
 * Robust lock: Drepper's "mutex3" with the owner's identity in the word.
 *
 * Protocol. lk_word is 0 when free. A taker CASes it (acquire) from 0 to
 * ((start hash) << 32 | tid), where start hash is a non-zero hash of its
 * thread's start time; unlock exchanges it back to 0 (release; the partner
 * is the next taker's acquire CAS) and makes a FUTEX_WAKE only if the
 * WAITERS bit was set. A contender spins briefly, then sets WAITERS and
 * sleeps on the low 32 bits with a timeout that grows from 1 ms to 64 ms;
 * each time it wakes to the same word it asks whether the owner lives:
 * a thread with that tid exists and its start time hashes to the high
 * half. A dead owner's word is taken over by CAS and the taker returns
 * -EOWNERDEAD so the object's repair runs.
 *
 * Because the identity is written in the same atomic step as the lock is
 * taken, there is no window in which a live owner looks dead, and garbage
 * in the word (a hostile or corrupt segment) names no live thread, so it
 * is taken over instead of hanging its readers. No kernel robust list is
 * needed (glibc owns the thread's one); death is read from /proc, exactly.
 */
#include <errno.h>
#include <time.h>

#include "atomic.h"
#include "internal.h"
#include "lock.h"
#include "wait.h"

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "the futex word is the low half of lk_word: little-endian only"
#endif

#define SPIN_TRIES 100

static uint32_t
start_hash(uint64_t start)
{
	uint64_t h = start * 0x9e3779b97f4a7c15ull;
	uint32_t v = (uint32_t)(h >> 32);
	return v ? v : 1;
}

static uint64_t
my_word(void)
{
	return (uint64_t)start_hash(zipc__tid_start()) << 32 | zipc__tid();
}

static uint32_t *
futex_word(struct zipc_lock *lk)
{
	return (uint32_t *)(void *)&lk->lk_word;
}

static int
owner_alive(uint64_t w)
{
	uint64_t start = zipc__proc_start((uint32_t)w & ZIPC_LOCK_TID_MASK);
	return start && start_hash(start) == (uint32_t)(w >> 32);
}

/* Take over a word whose owner is dead; 1 on success. */
static int
steal(struct zipc_lock *lk, uint64_t seen, uint64_t mine)
{
	uint64_t expected = seen;
	return cas_acq(&lk->lk_word, &expected,
		       mine | (seen & ZIPC_LOCK_WAITERS));
}

int
zipc__trylock(struct zipc_lock *lk)
{
	uint64_t mine = my_word();
	uint64_t w = 0;
	if (cas_acq(&lk->lk_word, &w, mine))
		return 0;
	if ((w & ~(uint64_t)ZIPC_LOCK_WAITERS) == mine)
		return -EDEADLK;
	if (!owner_alive(w) && steal(lk, w, mine))
		return -EOWNERDEAD;
	return -EBUSY;
}

int
zipc__lock(struct zipc_lock *lk)
{
	uint64_t mine = my_word();
	uint64_t w = 0;
	if (likely(cas_acq(&lk->lk_word, &w, mine)))
		return 0;
	if ((w & ~(uint64_t)ZIPC_LOCK_WAITERS) == mine)
		return -EDEADLK;
	for (int i = 0; i < SPIN_TRIES; i++) {
		cpu_relax();
		w = ld_relaxed(&lk->lk_word);
		if (w == 0 && cas_acq(&lk->lk_word, &w, mine))
			return 0;
	}
	long interval_ns = 1000000; /* 1 ms, doubling to 64 ms */
	for (;;) {
		w = ld_relaxed(&lk->lk_word);
		if (w == 0) {
			/* Others may sleep: keep WAITERS so unlock wakes. */
			if (cas_acq(&lk->lk_word, &w,
				    mine | ZIPC_LOCK_WAITERS))
				return 0;
			continue;
		}
		if (!(w & ZIPC_LOCK_WAITERS)) {
			uint64_t want = w | ZIPC_LOCK_WAITERS;
			if (!cas_acq(&lk->lk_word, &w, want))
				continue;
			w = want;
		}
		struct zipc_deadline dl;
		struct timespec rel = {0, interval_ns};
		zipc__deadline_rel(&dl, &rel);
		int r = zipc__futex_wait(futex_word(lk), (uint32_t)w, &dl);
		if (r == -ETIMEDOUT && ld_relaxed(&lk->lk_word) == w) {
			if (!owner_alive(w)) {
				if (steal(lk, w, mine))
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
	/* Partner: the acquire CAS in zipc__lock/trylock of the next taker. */
	uint64_t w = xchg_release(&lk->lk_word, 0);
	if (w & ZIPC_LOCK_WAITERS)
		zipc__futex_wake(futex_word(lk), 1);
}

int
zipc__lock_owner_alive(const struct zipc_lock *lk)
{
	uint64_t w = ld_acquire(&lk->lk_word);
	return w != 0 && owner_alive(w);
}

void
zipc__lock_init(struct zipc_lock *lk)
{
	st_relaxed(&lk->lk_resv[0], 0);
	st_relaxed(&lk->lk_resv[1], 0);
	st_release(&lk->lk_word, 0);
}
