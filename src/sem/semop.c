/* SPDX-License-Identifier: MIT */
/*
 * XSI semaphore sets: semop. perform tries an array all or nothing; the
 * smart update completes sleepers for them, in the kernel's order; semop
 * takes the lock-free fast path when it can, else the lock, and sleeps
 * queued until a waker has done its operation. See the essay in semset.c.
 */
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "semint.h"
#include "wait.h"

#define SLEEP_POLL_NS	 200000000L

/*
 * semopm for E2BIG. Reading /proc (or even a clock) on every semop would
 * cost more than the operation, so the value is cached and re-read every
 * 65536 calls, and at once whenever an array is longer than the cached
 * limit (so raising semopm takes effect at the next call; lowering it, in
 * at most 65536 calls).
 */
static uint32_t
semopm_for(size_t nsops)
{
	static uint32_t cached, calls;
	uint32_t c = ld_relaxed(&cached);
	uint32_t n = ld_relaxed(&calls);
	st_relaxed(&calls, n + 1);
	if (unlikely(!c || nsops > c || (n & 0xffff) == 0)) {
		struct limits l;
		zipc__sem_read_limits(&l);
		st_relaxed(&cached, c = l.semopm);
	}
	return c;
}

/* ---- perform ----------------------------------------------------------- */

/*
 * Try @ops on the set (perform_atomic_semop). 0: applied and logged (the
 * caller commits); 1: would block (*@blocking set, nothing changed);
 * -EAGAIN (IPC_NOWAIT), -ERANGE, nothing changed.
 */
static int
perform(struct zipc_semset_map *m, const struct zipc_sembuf *ops, int nsops,
	struct zipc_sem_undo *un, uint32_t pid, int *blocking)
{
	uint32_t mark = tx_mark(m);
	int i, r = 0;
	for (i = 0; i < nsops; i++) {
		uint32_t num = ops[i].sb_num;
		int op = ops[i].sb_op;
		struct zipc_sem *s = SEM(m, num);
		int val = (int)sval(s);
		if (!op && val)
			goto would_block;
		val += op;
		if (val < 0)
			goto would_block;
		if (val > ZIPC_SEMVMX) {
			r = -ERANGE;
			goto undo;
		}
		if ((ops[i].sb_flg & SEM_UNDO) && un) {
			int adj = ld_relaxed(&un->un_adj[num]) - op;
			if (adj < -ZIPC_SEMAEM - 1 || adj > ZIPC_SEMAEM) {
				r = -ERANGE;
				goto undo;
			}
			tx_put(m, &un->un_adj[num], (uint32_t)adj);
		}
		if (op)
			tx_put(m, &s->sm_val, (uint32_t)val | m->frozen);
	}
	for (i = 0; i < nsops; i++) {
		struct zipc_sem *s = SEM(m, ops[i].sb_num);
		if (ld_relaxed(&s->sm_pid) != pid)
			tx_put(m, &s->sm_pid, pid);
	}
	return 0;
would_block:
	*blocking = i;
	r = (ops[i].sb_flg & IPC_NOWAIT) ? -EAGAIN : 1;
undo:
	zipc__sem_tx_rollback_to(m, mark);
	return r;
}

/* ---- completing sleepers (the kernel's smart update) --------------------- */

/* Finish @q with @result inside the current step, commit, and wake it. */
static void
q_finish(struct zipc_semset_map *m, struct zipc_sem_q *q, int result)
{
	zipc__sem_q_unlink(m, q);
	tx_put(m, &q->q_result, (uint32_t)result);
	ZIPC_CRASH("sem.update.finishing");
	tx_put(m, &q->q_state, Q_DONE);
	tx_commit(m);
	ZIPC_CRASH("sem.update.committed");
	zipc__futex_wake(&q->q_state, 1);
}

/* A dead sleeper leaves the queue; nobody waits for its answer. */
void
zipc__sem_q_drop(struct zipc_semset_map *m, struct zipc_sem_q *q)
{
	if (ld_relaxed(&q->q_list) != L_NONE)
		zipc__sem_q_unlink(m, q);
	tx_put(m, &q->q_state, Q_FREE);
	tx_commit(m);
}

/* perform for sleeper @q: 0 done, 1 still blocked, <0 failed. */
static int
q_try(struct zipc_semset_map *m, struct zipc_sem_q *q)
{
	int blocking = 0;
	/* The entry is shared memory a peer could have scribbled on. */
	for (int i = 0; i < q_nsops(q); i++)
		if (ld_relaxed(&q->q_ops[i].sb_num) >= m->nsems)
			return -EINVAL;
	int r = perform(m, q->q_ops, q_nsops(q),
			undo_at(m, ld_relaxed(&q->q_undo)),
			ld_relaxed(&q->q_proc.pr_pid), &blocking);
	if (r == 1 && ld_relaxed(&q->q_blocking) != (uint32_t)blocking) {
		tx_put(m, (char *)q + offsetof(struct zipc_sem_q, q_nsops),
		       (uint32_t)ld_relaxed(&q->q_nsops) |
			       (uint32_t)blocking << 16);
		tx_commit(m);
	}
	return r;
}

static int wake_const_ops(struct zipc_semset_map *m, uint32_t list);

static int
smart_wakeup_zero(struct zipc_semset_map *m, const struct zipc_sembuf *ops,
		  int nsops)
{
	int done = 0, got_zero = 0;
	if (ops) {
		for (int i = 0; i < nsops; i++) {
			uint32_t num = ops[i].sb_num;
			if (sval(SEM(m, num)) == 0) {
				got_zero = 1;
				done |= wake_const_ops(m, L_SCONST(num));
			}
		}
	} else {
		for (uint32_t i = 0; i < m->nsems; i++) {
			if (sval(SEM(m, i)) == 0) {
				got_zero = 1;
				done |= wake_const_ops(m, L_SCONST(i));
			}
		}
	}
	if (got_zero)
		done |= wake_const_ops(m, L_GCONST);
	return done;
}

static int
wake_const_ops(struct zipc_semset_map *m, uint32_t list)
{
	int idx[ZIPC_SEM_QMAX];
	int n = zipc__sem_collect(m, list, idx), done = 0;
	for (int k = 0; k < n; k++) {
		struct zipc_sem_q *q = QE(m, (uint32_t)idx[k]);
		if (q_dead(q)) {
			zipc__sem_q_drop(m, q);
			continue;
		}
		int r = q_try(m, q);
		if (r > 0)
			continue;
		q_finish(m, q, r);
		if (r == 0)
			done = 1;
	}
	return done;
}

static int
update_queue(struct zipc_semset_map *m, int semnum)
{
	int idx[ZIPC_SEM_QMAX];
	uint32_t list = semnum < 0 ? L_GALTER : L_SALTER(semnum);
	int done = 0;
again:;
	int n = zipc__sem_collect(m, list, idx);
	for (int k = 0; k < n; k++) {
		struct zipc_sem_q *q = QE(m, (uint32_t)idx[k]);
		if (semnum >= 0 &&
		    sval(SEM(m, (uint32_t)semnum)) == 0)
			break;
		if (q_dead(q)) {
			zipc__sem_q_drop(m, q);
			continue;
		}
		int r = q_try(m, q);
		if (r > 0)
			continue;
		int restart = 0;
		if (r == 0) {
			done = 1;
			/* check_restart: complex queues are too hard to
			 * analyse; a simple decrement cannot help others. */
			restart = !zipc__sem_list_empty(m, L_GALTER) ||
				  q_nsops(q) > 1;
		}
		struct zipc_sembuf ops[ZIPC_SEM_QOPS];
		int nsops = q_nsops(q);
		memcpy(ops, q->q_ops, sizeof(ops[0]) * (size_t)nsops);
		q_finish(m, q, r);
		if (r == 0)
			smart_wakeup_zero(m, ops, nsops);
		if (restart)
			goto again;
	}
	return done;
}

/* do_smart_update: after a change by @ops (or by anything, when NULL). */
void
zipc__sem_smart_update(struct zipc_semset_map *m, const struct zipc_sembuf *ops,
	     int nsops, int otime)
{
	otime |= smart_wakeup_zero(m, ops, nsops);
	if (!zipc__sem_list_empty(m, L_GALTER)) {
		otime |= update_queue(m, -1);
	} else if (!ops) {
		for (uint32_t i = 0; i < m->nsems; i++)
			otime |= update_queue(m, (int)i);
	} else {
		for (int i = 0; i < nsops; i++)
			if (ops[i].sb_op > 0)
				otime |= update_queue(m, ops[i].sb_num);
	}
	if (otime)
		st_relaxed(&CTL(m)->se_otime, (int64_t)time(NULL));
}

/* Any sleeper at all? (Most operations find none and skip the update.) */
int
zipc__sem_any_waiting(struct zipc_semset_map *m)
{
	uint32_t hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++)
		if (ld_relaxed(&QE(m, i)->q_state) == Q_WAITING)
			return 1;
	return 0;
}

/* ---- semop ------------------------------------------------------------- */

/* FUTEX_WAIT with a deadline always: a timed futex wait fails with EINTR
 * after any handler (ERESTART_RESTARTBLOCK), SA_RESTART or not, and semop
 * is never restarted (signal(7)). */
static int
sleep_on(uint32_t *word, uint32_t val, const struct timespec *abs_mono)
{
	long r = syscall(SYS_futex, word, FUTEX_WAIT_BITSET, val, abs_mono,
			 NULL, FUTEX_BITSET_MATCH_ANY);
	if (r == 0)
		return 0;
	return errno == EINTR ? -EINTR : errno == ETIMEDOUT ? -ETIMEDOUT : 0;
}

static void
ts_add_ns(struct timespec *t, long ns)
{
	t->tv_nsec += ns;
	while (t->tv_nsec >= 1000000000L) {
		t->tv_nsec -= 1000000000L;
		t->tv_sec++;
	}
}

static int
ts_before(const struct timespec *a, const struct timespec *b)
{
	return a->tv_sec < b->tv_sec ||
	       (a->tv_sec == b->tv_sec && a->tv_nsec < b->tv_nsec);
}

/*
 * A signal whose handler ran while a sleeper was in user space (queued,
 * but between futex waits) must still fail semop with EINTR, as the
 * kernel's sleeper, which is queued and asleep in one step, would. So the
 * sleeper keeps signals blocked except inside the futex wait, and before
 * each wait asks whether a signal with a handler is pending: if so it
 * leaves with EINTR and the handler runs when the mask is restored. Only
 * the few instructions between unblocking and entering the wait remain.
 */
static int
handler_pending(const sigset_t *orig)
{
	sigset_t p;
	if (sigpending(&p) < 0)
		return 0;
	for (int sig = 1; sig < NSIG; sig++) {
		if (!sigismember(&p, sig) || sigismember(orig, sig))
			continue;
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) == 0 &&
		    ((sa.sa_flags & SA_SIGINFO) ||
		     (sa.sa_handler != SIG_IGN && sa.sa_handler != SIG_DFL)))
			return 1;
	}
	return 0;
}

/* A free queue entry (or one a dead sleeper left): its index, or -1. */
static int
q_alloc(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	uint32_t hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++)
		if (ld_relaxed(&QE(m, i)->q_state) == Q_FREE)
			return (int)i;
	if (hi < ZIPC_SEM_QMAX) {
		st_relaxed(&c->se_q_hi, hi + 1);
		return (int)hi;
	}
	return -1;
}

/* Queue @q as the kernel does (list_add_tail, merge_queues). One step. */
static void
enqueue(struct zipc_semset_map *m, struct zipc_sem_q *q, int nsops, int alter)
{
	struct zipc_semset_ctl *c = CTL(m);
	uint32_t list;
	if (nsops == 1) {
		uint32_t num = q->q_ops[0].sb_num;
		if (alter)
			list = ld_relaxed(&c->se_complex) ? L_GALTER
							  : L_SALTER(num);
		else
			list = L_SCONST(num);
	} else {
		if (!ld_relaxed(&c->se_complex)) {
			/* merge_queues: each per-semaphore alter list is
			 * spliced to the front of the global one, semaphore
			 * 0 first, so the last semaphore's end up first. */
			int idx[ZIPC_SEM_QMAX];
			int n = 0;
			for (uint32_t s = 0; s < m->nsems && n < ZIPC_SEM_QMAX;
			     s++) {
				int tmp[ZIPC_SEM_QMAX];
				int k = zipc__sem_collect(m, L_SALTER(s), tmp);
				for (int j = k - 1; j >= 0; j--)
					idx[n++] = tmp[j];
				if (!k && s + 1 < m->nsems &&
				    !zipc__sem_any_waiting(m))
					break;
			}
			/* idx holds, for sem 0..n-1, each list reversed:
			 * giving head keys in this order puts sem n-1's
			 * list first and keeps each list's order. */
			for (int j = 0; j < n; j++) {
				struct zipc_sem_q *e = QE(m, (uint32_t)idx[j]);
				uint32_t h = ld_relaxed(&c->se_qhead);
				tx_put(m, &e->q_list, L_GALTER);
				tx_put(m, &e->q_key, h);
				tx_put(m, &c->se_qhead, h - 1);
			}
		}
		list = alter ? L_GALTER : L_GCONST;
		tx_put(m, &c->se_complex, ld_relaxed(&c->se_complex) + 1);
	}
	uint32_t t = ld_relaxed(&c->se_qtail);
	tx_put(m, &q->q_list, list);
	tx_put(m, &q->q_key, t);
	tx_put(m, &c->se_qtail, t + 1);
	ZIPC_CRASH("sem.op.enqueue");
	tx_put(m, &q->q_state, Q_WAITING);
	tx_commit(m);
}

int
zipc__semop(int id, const struct sembuf *sops, size_t nsops,
	    const struct timespec *rel)
{
	struct zipc_sembuf ops_buf[64], *ops = ops_buf;
	struct timespec deadline = {0, 0};
	int undos = 0, alter = 0, r;
	unsigned max = 0;

	if (nsops < 1 || id < 0)
		return -EINVAL;
	if (nsops > semopm_for(nsops))
		return -E2BIG;
	if (!sops)
		return -EFAULT;
	if (rel) {
		if (rel->tv_sec < 0 || rel->tv_nsec < 0 ||
		    rel->tv_nsec >= 1000000000L)
			return -EINVAL;
		clock_gettime(CLOCK_MONOTONIC, &deadline);
		deadline.tv_sec += rel->tv_sec;
		ts_add_ns(&deadline, rel->tv_nsec);
	}
	if (nsops > 64) {
		ops = malloc(nsops * sizeof(*ops));
		if (!ops)
			return -ENOMEM;
	}
	for (size_t i = 0; i < nsops; i++) {
		ops[i].sb_num = sops[i].sem_num;
		ops[i].sb_op = sops[i].sem_op;
		ops[i].sb_flg = sops[i].sem_flg;
		if (sops[i].sem_num >= max)
			max = sops[i].sem_num;
		if (sops[i].sem_flg & SEM_UNDO)
			undos = 1;
		if (sops[i].sem_op)
			alter = 1;
	}
	struct zipc_semset_map *m;
	if ((r = zipc__sem_set_map(id, &m)) < 0)
		goto out;
	struct zipc_semset_ctl *c = CTL(m);
	r = -EFBIG;
	if (max >= m->nsems)
		goto out;
	if ((r = zipc__sem_perm_check(m, alter ? 0222 : 0444)) < 0)
		goto out;
	r = -E2BIG;
	if (nsops > LOG_OPS_MAX)
		goto out;
	if (nsops == 1 && m->frozen && !undos) {
		/* zipc:fast-path */
		uint64_t *w = (uint64_t *)(void *)&SEM(m, ops[0].sb_num)->sm_val;
		uint64_t cur = __atomic_load_n(w, __ATOMIC_ACQUIRE);
		uint64_t mypid = (uint64_t)self()->pr_pid << 32;
		int op = ops[0].sb_op;
		for (;;) {
			uint32_t v = (uint32_t)cur;
			if (v & SEM_FROZEN)
				break; /* slow path */
			int nv = (int)v + op;
			if (op == 0 ? v != 0 : nv < 0) {
				if (!(ops[0].sb_flg & IPC_NOWAIT))
					break;
				r = -EAGAIN;
				goto out;
			}
			if (nv > ZIPC_SEMVMX) {
				r = -ERANGE;
				goto out;
			}
			uint64_t want = (uint32_t)nv | mypid;
			if (cur == want ||
			    __atomic_compare_exchange_n(w, &cur, want, 0,
							__ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE)) {
				int64_t now = (int64_t)time(NULL);
				if (ld_relaxed(&c->se_otime) != now)
					st_relaxed(&c->se_otime, now);
				r = 0;
				goto out;
			}
		}
	}
	uint32_t tid = zipc__sem_sentinel_tid(undos);
	uint32_t pid = self()->pr_pid;
relock:
	if ((r = zipc__sem_set_lock(m)) < 0)
		goto out;
	zipc__sem_reap_dead(m);
	struct zipc_sem_undo *un = NULL;
	if (undos && !(un = zipc__sem_undo_mine(m, tid))) {
		r = -ENOMEM;
		goto out_unlock;
	}
	int blocking = 0;
	r = perform(m, ops, (int)nsops, un, pid, &blocking);
	if (r == 0) {
		ZIPC_CRASH("sem.op.applied");
		tx_commit(m);
		ZIPC_CRASH("sem.op.committed");
		st_relaxed(&c->se_otime, (int64_t)time(NULL));
		if (alter && zipc__sem_any_waiting(m))
			zipc__sem_smart_update(m, ops, (int)nsops, 1);
		goto out_unlock;
	}
	if (r < 0)
		goto out_unlock;

	/* Sleep: queue ourselves; wakers complete the operation for us. */
	if (!tid && !zipc__sem_sentinel_failed()) {
		zipc__sem_set_unlock(m);
		tid = zipc__sem_sentinel_tid(1);
		goto relock;
	}
	int qi;
	if (nsops > ZIPC_SEM_QOPS || (qi = q_alloc(m)) < 0) {
		r = -ENOMEM;
		goto out_unlock;
	}
	struct zipc_sem_q *q = QE(m, (uint32_t)qi);
	st_relaxed(&q->q_proc.pr_start, self()->pr_start);
	st_relaxed(&q->q_proc.pr_pid, pid);
	st_relaxed(&q->q_tid, zipc__tid());
	st_relaxed(&q->q_undo, 0);
	if (un)
		st_relaxed(&q->q_undo,
			   (uint32_t)(((char *)un - (char *)UNDO(m, 0)) /
				      m->undo_size) +
				   1);
	memcpy(q->q_ops, ops, nsops * sizeof(*ops));
	st_relaxed(&q->q_nsops, (uint16_t)nsops);
	st_relaxed(&q->q_blocking, (uint16_t)blocking);
	st_relaxed(&q->q_result, 0);
	st_release(&q->q_node.rn_word, tid);
	if (tid)
		zipc__sem_rnode_link(&q->q_node);
	sigset_t all, orig;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, &orig);
	enqueue(m, q, (int)nsops, alter);
	zipc__sem_set_unlock(m);
	zipc__sem_watch(m, 1);

	/* A short spin first: the waker completes our operation for us. */
	zipc__spin_while(&q->q_state, Q_WAITING);
	long poll = 20000000L;
	for (;;) {
		struct timespec now, until;
		clock_gettime(CLOCK_MONOTONIC, &now);
		until = now;
		ts_add_ns(&until, poll);
		if (rel && ts_before(&deadline, &until))
			until = deadline;
		int w;
		if (handler_pending(&orig)) {
			w = -EINTR;
		} else {
			pthread_sigmask(SIG_SETMASK, &orig, NULL);
			w = sleep_on(&q->q_state, Q_WAITING, &until);
			pthread_sigmask(SIG_BLOCK, &all, NULL);
		}
		if (ld_acquire(&q->q_state) == Q_DONE)
			break;
		if (poll < SLEEP_POLL_NS)
			poll *= 2;
		int lr = zipc__sem_set_lock(m);
		if (lr == -EIDRM) {
			/* Completed for us just before the removal? Then that
			 * is our result, as the kernel's sleeper would see. */
			if (ld_acquire(&q->q_state) == Q_DONE)
				break;
			r = -EIDRM;
			goto dequeued;
		}
		zipc__sem_reap_dead(m);
		if (ld_acquire(&q->q_state) == Q_DONE) {
			zipc__sem_set_unlock(m);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (w == -EINTR || (rel && !ts_before(&now, &deadline))) {
			r = w == -EINTR ? -EINTR : -EAGAIN;
			if (tid)
				zipc__sem_rnode_unlink(&q->q_node);
			zipc__sem_q_unlink(m, q);
			tx_put(m, &q->q_state, Q_FREE);
			tx_commit(m);
			zipc__sem_set_unlock(m);
			zipc__sem_watch(m, -1);
			pthread_sigmask(SIG_SETMASK, &orig, NULL);
			goto out;
		}
		zipc__sem_set_unlock(m);
	}
	r = (int)ld_relaxed(&q->q_result);
dequeued:
	if (tid)
		zipc__sem_rnode_unlink(&q->q_node);
	/* Partner: q_alloc's relaxed load under the lock; the entry is
	 * ours until this store. */
	st_release(&q->q_state, Q_FREE);
	zipc__sem_watch(m, -1);
	pthread_sigmask(SIG_SETMASK, &orig, NULL);
	goto out;
out_unlock:
	zipc__sem_set_unlock(m);
out:
	if (ops != ops_buf)
		free(ops);
	return r;
}

