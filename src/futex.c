/* SPDX-License-Identifier: MIT */
/*
 * futex(2) wrappers, deadlines and events (see wait.h for the protocol).
 * Every futex here is shared (no FUTEX_PRIVATE_FLAG): the words live in
 * MAP_SHARED files and are waited on from many processes.
 */
#include <errno.h>
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "wait.h"

static int
ts_valid(const struct timespec *ts)
{
	return ts->tv_nsec >= 0 && ts->tv_nsec < 1000000000L;
}

int
zipc__deadline_rel(struct zipc_deadline *dl, const struct timespec *rel)
{
	if (!ts_valid(rel) || rel->tv_sec < 0)
		return -EINVAL;
	dl->dl_set = 1;
	dl->dl_clock = CLOCK_MONOTONIC;
	clock_gettime(CLOCK_MONOTONIC, &dl->dl_abs);
	dl->dl_abs.tv_sec += rel->tv_sec;
	dl->dl_abs.tv_nsec += rel->tv_nsec;
	if (dl->dl_abs.tv_nsec >= 1000000000L) {
		dl->dl_abs.tv_sec++;
		dl->dl_abs.tv_nsec -= 1000000000L;
	}
	return 0;
}

int
zipc__deadline_abs(struct zipc_deadline *dl, clockid_t clock,
		   const struct timespec *abs)
{
	if (!ts_valid(abs))
		return -EINVAL;
	if (clock != CLOCK_REALTIME && clock != CLOCK_MONOTONIC)
		return -EINVAL;
	dl->dl_set = 1;
	dl->dl_clock = clock;
	dl->dl_abs = *abs;
	return 0;
}

int
zipc__deadline_passed(const struct zipc_deadline *dl)
{
	struct timespec now;
	if (!dl || !dl->dl_set)
		return 0;
	clock_gettime(dl->dl_clock, &now);
	return now.tv_sec > dl->dl_abs.tv_sec ||
	       (now.tv_sec == dl->dl_abs.tv_sec &&
		now.tv_nsec >= dl->dl_abs.tv_nsec);
}

int
zipc__futex_wait(uint32_t *word, uint32_t expected,
		 const struct zipc_deadline *dl)
{
	/*
	 * Always pass a deadline: an untimed FUTEX_WAIT is restarted by the
	 * kernel after a handler with SA_RESTART (ERESTARTSYS), a timed one
	 * never is (ERESTART_RESTARTBLOCK), and callers must see EINTR.
	 */
	static const struct timespec forever = {(time_t)1 << 40, 0};
	const struct timespec *ts = &forever;
	int op = FUTEX_WAIT_BITSET;
	if (dl && dl->dl_set) {
		if (dl->dl_abs.tv_sec < 0)
			return -ETIMEDOUT; /* the kernel would say EINVAL */
		ts = &dl->dl_abs;
		if (dl->dl_clock == CLOCK_REALTIME)
			op |= FUTEX_CLOCK_REALTIME;
	}
	long r = syscall(SYS_futex, word, op, expected, ts, NULL,
			 FUTEX_BITSET_MATCH_ANY);
	if (r == 0)
		return 0;
	switch (errno) {
	case ETIMEDOUT:
		return -ETIMEDOUT;
	case EINTR:
		return -EINTR;
	default: /* EAGAIN: the word had changed */
		return 0;
	}
}

void
zipc__futex_wake(uint32_t *word, int n)
{
	syscall(SYS_futex, word, FUTEX_WAKE, n, NULL, NULL, 0);
}

static ZIPC_TLS uint32_t spin_budget_ns = 16000;

static uint64_t
mono_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

int
zipc__spin_while(const uint32_t *word, uint32_t val)
{
	uint64_t end = mono_ns() + spin_budget_ns;
	do {
		for (int i = 0; i < 32; i++) {
			cpu_relax();
			/* Partner: whatever release store the caller waits for;
			 * the caller re-reads under its own protocol. */
			if (ld_acquire(word) != val) {
				if (spin_budget_ns < 64000)
					spin_budget_ns *= 2;
				return 1;
			}
		}
	} while (mono_ns() < end);
	if (spin_budget_ns > 1000)
		spin_budget_ns /= 2;
	return 0;
}

uint32_t
zipc__event_prepare(struct zipc_event *ev)
{
	/* Partner: the seq_cst load of ev_waiters in zipc__event_signal. */
	fetch_add_seq(&ev->ev_waiters, 1);
	return ld_seq(&ev->ev_seq);
}

void
zipc__event_cancel(struct zipc_event *ev)
{
	uint32_t w = ld_relaxed(&ev->ev_waiters);
	/* Never wrap below zero, even if a repair reset the count. */
	while (w && !cas_seq(&ev->ev_waiters, &w, w - 1))
		;
}

int
zipc__event_wait(struct zipc_event *ev, uint32_t seq,
		 const struct zipc_deadline *dl)
{
	int r = zipc__futex_wait(&ev->ev_seq, seq, dl);
	zipc__event_cancel(ev);
	return r;
}

void
zipc__event_signal(struct zipc_event *ev, int n)
{
	/* Partner: the seq_cst increment of ev_waiters in event_prepare. */
	fetch_add_seq(&ev->ev_seq, 1);
	if (ld_seq(&ev->ev_waiters))
		zipc__futex_wake(&ev->ev_seq, n);
}
