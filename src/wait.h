/* SPDX-License-Identifier: MIT */
/*
 * Sleeping and waking across processes: shared futexes on 32-bit words,
 * deadlines on either clock, and "events" that pair a sequence word with a
 * waiter count so that a waker makes no system call while nobody sleeps.
 */
#ifndef ZIPC_WAIT_H
#define ZIPC_WAIT_H

#include <stdint.h>
#include <time.h>

/* An absolute deadline, or none (wait forever). */
struct zipc_deadline {
	int dl_set;		/* 0: no deadline */
	clockid_t dl_clock;	/* CLOCK_REALTIME or CLOCK_MONOTONIC */
	struct timespec dl_abs; /* absolute time on dl_clock */
};

#define ZIPC_NO_DEADLINE ((const struct zipc_deadline *)0)

/*
 * Build a deadline. Relative: now + @rel on CLOCK_MONOTONIC. Absolute: @abs
 * on @clock. Both reject a timespec with tv_nsec outside [0, 1e9) (-EINVAL).
 */
int zipc__deadline_rel(struct zipc_deadline *dl, const struct timespec *rel);
int zipc__deadline_abs(struct zipc_deadline *dl, clockid_t clock,
		       const struct timespec *abs);
/* 1 when the deadline has passed. */
int zipc__deadline_passed(const struct zipc_deadline *dl);

/*
 * Sleep while *@word == @expected. Returns 0 when woken (or the word had
 * changed, or spuriously), -ETIMEDOUT, or -EINTR when a signal handler ran.
 * Callers re-check their condition in every case.
 */
int zipc__futex_wait(uint32_t *word, uint32_t expected,
		     const struct zipc_deadline *dl);
/* Wake up to @n sleepers on @word (INT32_MAX: all). */
void zipc__futex_wake(uint32_t *word, int n);

/*
 * Bounded adaptive spinning before sleeping: a wake-up across cores costs
 * tens of microseconds on a VM, far more than a short spin. Spin while
 * *@word == @val, at most the calling thread's budget; returns 1 if the
 * word changed. The budget doubles (up to 64 us) when the spin paid off
 * and halves (down to 1 us) when it did not, so a waiter that keeps
 * sleeping anyway soon spends next to nothing.
 */
int zipc__spin_while(const uint32_t *word, uint32_t val);

/*
 * An event: ev_seq changes on every signal; ev_waiters counts sleepers.
 *
 *   waiter: seq = zipc__event_prepare(ev);   (counts itself, seq_cst)
 *           if (condition holds) { zipc__event_cancel(ev); done }
 *           zipc__event_wait(ev, seq, dl);    (sleeps, uncounts itself)
 *   waker:  make condition hold; zipc__event_signal(ev, n);
 *
 * The waker's seq_cst increment of ev_seq and its load of ev_waiters pair
 * with the waiter's seq_cst increment of ev_waiters and its re-check of the
 * condition: either the waiter sees the condition, or the waker sees the
 * waiter and wakes it (Dekker). A waiter killed while counted leaves the
 * count high; that only costs a needless FUTEX_WAKE until repair resets it.
 */
struct zipc_event {
	uint32_t ev_seq;
	uint32_t ev_waiters;
};

uint32_t zipc__event_prepare(struct zipc_event *ev);
void zipc__event_cancel(struct zipc_event *ev);
int zipc__event_wait(struct zipc_event *ev, uint32_t seq,
		     const struct zipc_deadline *dl);
void zipc__event_signal(struct zipc_event *ev, int n);

#endif
