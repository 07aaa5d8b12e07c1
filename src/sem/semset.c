/* SPDX-License-Identifier: MIT */
/*
 * XSI semaphore sets. Set <id> is the file "zipc.sem.<id>": the common
 * header, struct zipc_semset_ctl, then at offsets fixed at creation the
 * semaphores, the undo records, the queue of sleepers and the transaction
 * log. One robust lock (se_lock) guards all of it.
 *
 * Operations, as ipc/sem.c does them. An array is tried in order and
 * applied all or nothing (perform): each op is applied and logged, and on
 * a block or an error everything is rolled back, which is the kernel's
 * perform_atomic_semop_slow and gives the same answers as its fast path.
 * A caller that must sleep is queued, and from then on the operation is
 * done *for* it by whoever changes the set (do_smart_update, update_queue,
 * wake_const_ops, with the kernel's lists: per-semaphore alter/const lists
 * for single operations, global ones for arrays, merged into the global
 * alter list while arrays sleep and split back when none do), so the order
 * in which sleepers get what they wait for is the kernel's. The sleeper
 * finds q_state DONE and its result; it never retries on its own.
 * semncnt/semzcnt count sleepers whose blocking operation is a decrement /
 * a wait for zero on that semaphore, as count_semcnt does. A single
 * operation on a small, quiet set skips the lock altogether: see
 * zipc:fast-path.
 *
 * Crash safety. Every store inside a critical section that must not be
 * seen half-done goes through the transaction log: tx_put writes (offset,
 * old value) and bumps se_log_n before storing. A committed step clears
 * se_log_n. Whoever takes the lock after a holder died (-EOWNERDEAD) rolls
 * back the open step, redoes an interrupted SETALL (roll-forward from the
 * sm_shadow values), drops dead sleepers and dead undo records, and runs a
 * full update. Each completion in update_queue is its own step, so a crash
 * between two leaves a state the kernel could have been in.
 *
 * SEM_UNDO. A process's adjustments on a set are its undo record
 * {(pid, start), death word, semadj[nsems]}, made by its first SEM_UNDO
 * operation (even one that fails, as find_alloc_undo), never inherited by
 * fork, kept across exec, applied at exit by an atexit handler and after
 * a death by whoever notices it first: every operation on the set first
 * reaps the dead (reap_dead), and sleepers' sentinels are woken by the
 * kernel the moment the death words change (sentinel.c). A record is dead
 * when its death word shows FUTEX_OWNER_DIED (or is unarmed) and (pid,
 * start) no longer lives. OWNER_DIED with a living owner is an exec (the
 * sentinel thread died, the process did not) or a process still on its
 * way out: the record is then polled (UNDO_POLL) until it is dead or its
 * owner re-arms it with a new sentinel.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "registry.h"
#include "semint.h"
#include "wait.h"

#define SEMUSZ		 20
#define SEMMSL_MAX	 65536
#define LOG_OPS_MAX	 1024 /* arrays longer than this: E2BIG */
#define UNDO_BUDGET	 (1u << 20)
#define SLEEP_POLL_NS	 200000000L

enum {
	L_NONE = 0,
	L_GALTER = 1,
	L_GCONST = 2,
	L_SEM0 = 3, /* per-semaphore: 3 + 2i alter, 4 + 2i const */
};
#define L_SALTER(i) (L_SEM0 + 2 * (uint32_t)(i))
#define L_SCONST(i) (L_SEM0 + 2 * (uint32_t)(i) + 1)

struct limits {
	uint32_t semmsl, semmns, semopm, semmni;
};

static void
read_limits(struct limits *l)
{
	unsigned a = 32000, b = 1024000000, c = 500, d = 32000;
	FILE *f = fopen("/proc/sys/kernel/sem", "re");
	if (f) {
		if (fscanf(f, "%u %u %u %u", &a, &b, &c, &d) != 4) {
			a = 32000;
			b = 1024000000;
			c = 500;
			d = 32000;
		}
		fclose(f);
	}
	l->semmsl = a;
	l->semmns = b;
	l->semopm = c;
	l->semmni = d;
}

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
		read_limits(&l);
		st_relaxed(&cached, c = l.semopm);
	}
	return c;
}

/* ---- geometry ---------------------------------------------------------- */

struct geom {
	uint32_t nsems, nundo, undo_size, log_cap;
	uint32_t sems_off, undo_off, q_off, log_off;
	uint64_t size;
};

static uint32_t
align_up(uint32_t v, uint32_t a)
{
	return (v + a - 1) / a * a;
}

static void
geom_for(uint32_t nsems, uint32_t log_cap, struct geom *g)
{
	g->nsems = nsems;
	g->sems_off = (uint32_t)(sizeof(struct zipc_seg_hdr) +
				 sizeof(struct zipc_semset_ctl));
	g->undo_off = align_up(g->sems_off + nsems * 24u, 64);
	g->undo_size = align_up(40 + 4 * nsems, 8);
	uint32_t n = UNDO_BUDGET / g->undo_size;
	g->nundo = n > ZIPC_SEM_UNDO_MAX ? ZIPC_SEM_UNDO_MAX : n < 8 ? 8 : n;
	g->q_off = align_up(g->undo_off + g->nundo * g->undo_size, 64);
	g->log_off = g->q_off + ZIPC_SEM_QMAX * 256u;
	g->log_cap = log_cap;
	g->size = align_up(g->log_off + log_cap * 8u, 4096);
}

static uint32_t
log_cap_for(uint32_t semopm, uint32_t nundo)
{
	uint32_t ops = semopm > LOG_OPS_MAX ? LOG_OPS_MAX : semopm;
	uint32_t a = 3 * ops + 16, b = 2 * ZIPC_SEM_QMAX + 16;
	uint32_t c = nundo + 16;
	uint32_t m = a > b ? a : b;
	return m > c ? m : c;
}

/* ---- the per-process map cache ---------------------------------------- */

#define NBUCKETS 256
static struct zipc_semset_map *buckets[NBUCKETS];
static pthread_mutex_t map_mutex = PTHREAD_MUTEX_INITIALIZER;

static inline struct zipc_semset_ctl *
CTL(const struct zipc_semset_map *m)
{
	return (void *)((char *)m->obj.o_base + sizeof(struct zipc_seg_hdr));
}

static inline struct zipc_sem *
SEM(const struct zipc_semset_map *m, uint32_t i)
{
	return (void *)((char *)m->obj.o_base + m->sems_off + 24u * i);
}

/*
 * The lock-free fast path (zipc:fast-path). A single operation without
 * SEM_UNDO on a set of at most FAST_NSEMS semaphores is done with one
 * 64-bit CAS over {sm_val, sm_pid}, without the set lock, when the word is
 * not FROZEN. Whoever takes the lock first freezes every semaphore word
 * (set_lock), so a critical section never sees a value change under it;
 * at unlock the words are thawed only if nothing needs the slow path: no
 * sleeper (the kernel's update_queue must run after each change), no undo
 * record (a dead process's adjustments must be applied first), no
 * readiness fd, nothing to poll. A fast operation is thus linearised
 * either before a critical section (its CAS precedes the freeze) or after
 * it (the thaw), and behaves as the locked path would.
 */
#define SEM_FROZEN 0x80000000u
#define FAST_NSEMS 8

static inline uint32_t
sval(const struct zipc_sem *s)
{
	return ld_relaxed(&s->sm_val) & ~SEM_FROZEN;
}

static inline struct zipc_sem_undo *
UNDO(const struct zipc_semset_map *m, uint32_t i)
{
	return (void *)((char *)m->obj.o_base + m->undo_off +
			m->undo_size * i);
}

static inline struct zipc_sem_q *
QE(const struct zipc_semset_map *m, uint32_t i)
{
	return (void *)((char *)m->obj.o_base + m->q_off + 256u * i);
}

static inline struct zipc_sem_log *
LOG(const struct zipc_semset_map *m)
{
	return (void *)((char *)m->obj.o_base + m->log_off);
}

static int
geom_check(const struct zipc_obj *o, struct geom *g)
{
	const struct zipc_semset_ctl *c =
		(void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
	uint32_t nsems = ld_relaxed(&c->se_nsems);
	uint32_t cap = ld_relaxed(&c->se_log_cap);
	if (nsems == 0 || nsems > SEMMSL_MAX || cap > 3 * LOG_OPS_MAX + 4096)
		return -EBADMSG;
	geom_for(nsems, cap, g);
	if (g->size != o->o_size || ld_relaxed(&c->se_sems_off) != g->sems_off ||
	    ld_relaxed(&c->se_undo_off) != g->undo_off ||
	    ld_relaxed(&c->se_q_off) != g->q_off ||
	    ld_relaxed(&c->se_log_off) != g->log_off ||
	    ld_relaxed(&c->se_nundo) != g->nundo ||
	    ld_relaxed(&c->se_undo_size) != g->undo_size)
		return -EBADMSG;
	return 0;
}

static void unlink_my_node(struct zipc_semset_map *m);

/* The mapping of set @id: 0 and *@out, or -EINVAL (no such set, removed),
 * -EBADMSG/-EPROTO (not a set of ours), -EACCES. */
static int
set_map(int id, struct zipc_semset_map **out)
{
	if (id < 0)
		return -EINVAL;
	struct zipc_semset_map *m;
	for (m = ld_acquire(&buckets[(unsigned)id % NBUCKETS]); m;
	     m = m->next)
		if (m->id == id)
			break;
	if (!m) {
		pthread_mutex_lock(&map_mutex);
		for (m = buckets[(unsigned)id % NBUCKETS]; m; m = m->next)
			if (m->id == id)
				break;
		if (!m) {
			char fname[64];
			struct zipc_obj o;
			struct geom g;
			zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_SEM, id);
			int r = zipc__obj_open(fname, ZIPC_KIND_XSI_SEM,
					       ZIPC_SEM_SIG, &o);
			if (r == 0 && (r = geom_check(&o, &g)) < 0)
				zipc__obj_close(&o);
			if (r < 0) {
				pthread_mutex_unlock(&map_mutex);
				if (r == -ENOENT || r == -EIDRM)
					return -EINVAL;
				if (r == -EBADMSG || r == -EPROTO ||
				    r == -EACCES)
					return r;
				return -EINVAL;
			}
			close(o.o_fd);
			o.o_fd = -1;
			m = calloc(1, sizeof(*m));
			if (!m) {
				zipc__obj_close(&o);
				pthread_mutex_unlock(&map_mutex);
				return -ENOMEM;
			}
			m->id = id;
			m->obj = o;
			m->nsems = g.nsems;
			m->nundo = g.nundo;
			m->undo_size = g.undo_size;
			m->log_cap = g.log_cap;
			m->sems_off = g.sems_off;
			m->undo_off = g.undo_off;
			m->q_off = g.q_off;
			m->log_off = g.log_off;
			m->frozen = g.nsems <= FAST_NSEMS ? SEM_FROZEN : 0;
			m->next = buckets[(unsigned)id % NBUCKETS];
			/* Partner: ld_acquire of the bucket above. */
			st_release(&buckets[(unsigned)id % NBUCKETS], m);
		}
		pthread_mutex_unlock(&map_mutex);
	}
	/* Partner: st_release of REMOVED in zipc__obj_remove. */
	if (unlikely(ld_acquire(&zipc__obj_hdr(&m->obj)->sh_state) !=
		     ZIPC_SEG_READY)) {
		unlink_my_node(m);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

/* ipcperms with a per-map cache (see pc_words). Credentials are read when
 * the cache is filled: a process that changes its effective ids keeps, for
 * sets whose ipc_perm has not changed since, the answers it had. */
static int
perm_check(struct zipc_semset_map *m, int need)
{
	const struct zipc_ipc_perm *p = &CTL(m)->se_perm;
	/* Field by field: a memcmp over a just-built stack array stalls on
	 * store forwarding, which once cost a fifth of a semop. */
	if (unlikely(!ld_acquire(&m->pc_valid) ||
		     m->pc_words[0] != ld_relaxed(&p->ip_uid) ||
		     m->pc_words[1] != ld_relaxed(&p->ip_gid) ||
		     m->pc_words[2] != ld_relaxed(&p->ip_cuid) ||
		     m->pc_words[3] != ld_relaxed(&p->ip_cgid) ||
		     m->pc_words[4] != ld_relaxed(&p->ip_mode))) {
		st_relaxed(&m->pc_valid, 0);
		m->pc_words[0] = ld_relaxed(&p->ip_uid);
		m->pc_words[1] = ld_relaxed(&p->ip_gid);
		m->pc_words[2] = ld_relaxed(&p->ip_cuid);
		m->pc_words[3] = ld_relaxed(&p->ip_cgid);
		m->pc_words[4] = ld_relaxed(&p->ip_mode);
		m->pc_read = zipc__ipcperms(p, 0444);
		m->pc_write = zipc__ipcperms(p, 0222);
		st_release(&m->pc_valid, 1);
	}
	return need == 0222 ? m->pc_write : m->pc_read;
}

/* ---- this process ------------------------------------------------------- */

static struct zipc_proc self_proc;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void
self_fork_child(void)
{
	self_proc.pr_pid = 0;
	/* Records are per process: the child owns none of ours. */
	for (int b = 0; b < NBUCKETS; b++)
		for (struct zipc_semset_map *m = buckets[b]; m; m = m->next) {
			m->my_undo = 0;
			m->linked = 0;
			m->pc_valid = 0;
		}
}

static void
self_init(void)
{
	pthread_atfork(NULL, NULL, self_fork_child);
}

static const struct zipc_proc *
self(void)
{
	if (unlikely(!self_proc.pr_pid)) {
		pthread_once(&self_once, self_init);
		zipc__proc_self(&self_proc);
	}
	return &self_proc;
}

static int
is_self(const struct zipc_proc *p)
{
	const struct zipc_proc *s = self();
	return ld_relaxed(&p->pr_pid) == s->pr_pid &&
	       ld_relaxed(&p->pr_start) == s->pr_start;
}

/* ---- transactions ------------------------------------------------------- */

static void
tx_put(struct zipc_semset_map *m, void *word, uint32_t v)
{
	struct zipc_semset_ctl *c = CTL(m);
	uint32_t *p = word;
	uint32_t n = ld_relaxed(&c->se_log_n);
	if (unlikely(n >= m->log_cap))
		abort(); /* sized at creation so this cannot happen */
	struct zipc_sem_log *lg = &LOG(m)[n];
	st_relaxed(&lg->lg_off, (uint32_t)((char *)p - (char *)m->obj.o_base));
	st_relaxed(&lg->lg_old, ld_relaxed(p));
	/* The entry before the count, the count before the store: a repairer
	 * that sees the count sees the entry, and a store it could see is
	 * covered by an entry. Partner: ld_acquire in tx_rollback. */
	st_release(&c->se_log_n, n + 1);
	st_release(p, v);
}

static uint32_t
tx_mark(struct zipc_semset_map *m)
{
	return ld_relaxed(&CTL(m)->se_log_n);
}

static void
tx_rollback_to(struct zipc_semset_map *m, uint32_t mark)
{
	struct zipc_semset_ctl *c = CTL(m);
	uint32_t n = ld_acquire(&c->se_log_n);
	if (n > m->log_cap)
		n = m->log_cap;
	while (n > mark) {
		n--;
		struct zipc_sem_log *lg = &LOG(m)[n];
		uint32_t off = ld_relaxed(&lg->lg_off);
		if (off % 4 == 0 && off >= sizeof(struct zipc_seg_hdr) &&
		    off < m->log_off)
			st_relaxed((uint32_t *)((char *)m->obj.o_base + off),
				   ld_relaxed(&lg->lg_old));
		st_release(&c->se_log_n, n);
	}
}

static void
tx_commit(struct zipc_semset_map *m)
{
	/* Partner: ld_acquire in tx_rollback_to of a repairer. */
	st_release(&CTL(m)->se_log_n, 0);
}

/* ---- queue helpers ------------------------------------------------------ */

static uint32_t
q_hi(struct zipc_semset_map *m)
{
	uint32_t hi = ld_relaxed(&CTL(m)->se_q_hi);
	return hi > ZIPC_SEM_QMAX ? ZIPC_SEM_QMAX : hi;
}

static uint32_t
undo_hi(struct zipc_semset_map *m)
{
	uint32_t hi = ld_relaxed(&CTL(m)->se_undo_hi);
	return hi > m->nundo ? m->nundo : hi;
}

static int
q_nsops(const struct zipc_sem_q *q)
{
	uint16_t n = ld_relaxed(&q->q_nsops);
	return n > ZIPC_SEM_QOPS ? ZIPC_SEM_QOPS : n;
}

/* A sleeper whose process (or, after an exec, whose thread) is gone. */
static int
q_dead(const struct zipc_sem_q *q)
{
	uint32_t w = ld_acquire(&q->q_node.rn_word);
	if (w & ZIPC_FUTEX_OWNER_DIED)
		return 1;
	if (!(w & ZIPC_FUTEX_TID_MASK))
		return !zipc__proc_rec_alive(&q->q_proc);
	return 0;
}

static int
key_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Indices of the WAITING entries on @list in queue order; returns count. */
static int
collect(struct zipc_semset_map *m, uint32_t list, int *idx)
{
	int n = 0;
	uint32_t hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_q *q = QE(m, i);
		if (ld_relaxed(&q->q_state) != Q_WAITING ||
		    ld_relaxed(&q->q_list) != list)
			continue;
		uint32_t k = ld_relaxed(&q->q_key);
		int j = n++;
		while (j > 0 && key_before(k, ld_relaxed(&QE(m, (uint32_t)
							   idx[j - 1])->q_key))) {
			idx[j] = idx[j - 1];
			j--;
		}
		idx[j] = (int)i;
	}
	return n;
}

static int
list_empty(struct zipc_semset_map *m, uint32_t list)
{
	uint32_t hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_q *q = QE(m, i);
		if (ld_relaxed(&q->q_state) == Q_WAITING &&
		    ld_relaxed(&q->q_list) == list)
			return 0;
	}
	return 1;
}

/* Take @q off its pending list (unlink_queue), inside a step. */
static void
q_unlink(struct zipc_semset_map *m, struct zipc_sem_q *q)
{
	struct zipc_semset_ctl *c = CTL(m);
	if (q_nsops(q) > 1 && ld_relaxed(&c->se_complex))
		tx_put(m, &c->se_complex, ld_relaxed(&c->se_complex) - 1);
	tx_put(m, &q->q_list, L_NONE);
}

/* ---- perform ----------------------------------------------------------- */

static struct zipc_sem_undo *
undo_at(struct zipc_semset_map *m, uint32_t idx1)
{
	if (idx1 == 0 || idx1 > m->nundo)
		return NULL;
	return UNDO(m, idx1 - 1);
}

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
	tx_rollback_to(m, mark);
	return r;
}

/* ---- completing sleepers (the kernel's smart update) --------------------- */

/* Finish @q with @result inside the current step, commit, and wake it. */
static void
q_finish(struct zipc_semset_map *m, struct zipc_sem_q *q, int result)
{
	q_unlink(m, q);
	tx_put(m, &q->q_result, (uint32_t)result);
	ZIPC_CRASH("sem.update.finishing");
	tx_put(m, &q->q_state, Q_DONE);
	tx_commit(m);
	ZIPC_CRASH("sem.update.committed");
	zipc__futex_wake(&q->q_state, 1);
}

/* A dead sleeper leaves the queue; nobody waits for its answer. */
static void
q_drop(struct zipc_semset_map *m, struct zipc_sem_q *q)
{
	if (ld_relaxed(&q->q_list) != L_NONE)
		q_unlink(m, q);
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
	int n = collect(m, list, idx), done = 0;
	for (int k = 0; k < n; k++) {
		struct zipc_sem_q *q = QE(m, (uint32_t)idx[k]);
		if (q_dead(q)) {
			q_drop(m, q);
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
	int n = collect(m, list, idx);
	for (int k = 0; k < n; k++) {
		struct zipc_sem_q *q = QE(m, (uint32_t)idx[k]);
		if (semnum >= 0 &&
		    sval(SEM(m, (uint32_t)semnum)) == 0)
			break;
		if (q_dead(q)) {
			q_drop(m, q);
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
			restart = !list_empty(m, L_GALTER) || q_nsops(q) > 1;
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
static void
smart_update(struct zipc_semset_map *m, const struct zipc_sembuf *ops,
	     int nsops, int otime)
{
	otime |= smart_wakeup_zero(m, ops, nsops);
	if (!list_empty(m, L_GALTER)) {
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
static int
any_waiting(struct zipc_semset_map *m)
{
	uint32_t hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++)
		if (ld_relaxed(&QE(m, i)->q_state) == Q_WAITING)
			return 1;
	return 0;
}

/* ---- undo records ------------------------------------------------------ */

/*
 * Is @pid on its way out? /proc/PID/stat field 9 holds the leader's task
 * flags; PF_EXITING (0x4) is set as do_exit begins, before the robust
 * lists are walked and long before the zombie state that zipc__proc_alive
 * waits for (process teardown takes milliseconds on these machines, while
 * the kernel's own exit_sem runs right after exit_mm). An exec kills the
 * sentinel too but never sets PF_EXITING on the process that goes on.
 */
static int
proc_exiting(uint32_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%u/stat", pid);
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 1;
	ssize_t n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return 1;
	buf[n] = 0;
	char *p = strrchr(buf, ')');
	if (!p)
		return 0;
	/* p + 2 is field 3 (state); field 9 is six fields further on. */
	p += 2;
	for (int f = 3; f < 9 && p; f++) {
		p = strchr(p, ' ');
		if (p)
			p++;
	}
	return p && (strtoul(p, NULL, 10) & 0x4u);
}

/* Apply a dead process's adjustments (exit_sem), one semaphore per step so
 * an interrupted application resumes where it stopped, then free it. */
static void
undo_apply(struct zipc_semset_map *m, struct zipc_sem_undo *un)
{
	struct zipc_semset_ctl *c = CTL(m);
	uint32_t pid = ld_relaxed(&un->un_proc.pr_pid);
	for (uint32_t i = 0; i < m->nsems; i++) {
		int adj = ld_relaxed(&un->un_adj[i]);
		if (!adj)
			continue;
		struct zipc_sem *s = SEM(m, i);
		int v = (int)sval(s) + adj;
		v = v < 0 ? 0 : v > ZIPC_SEMVMX ? ZIPC_SEMVMX : v;
		tx_put(m, &s->sm_val, (uint32_t)v | m->frozen);
		tx_put(m, &s->sm_pid, pid);
		ZIPC_CRASH("sem.undo.applying");
		tx_put(m, &un->un_adj[i], 0);
		tx_commit(m);
	}
	if (ld_relaxed(&un->un_flags) & ZIPC_UNDO_POLL) {
		uint32_t p = ld_relaxed(&c->se_poll);
		tx_put(m, &c->se_poll, p ? p - 1 : 0);
	}
	tx_put(m, &un->un_flags, 0);
	tx_put(m, &un->un_proc.pr_pid, 0);
	tx_commit(m);
	ZIPC_CRASH("sem.undo.freed");
}

/*
 * Drop dead sleepers and apply the adjustments of dead processes; then, if
 * anything changed, complete whom that unblocks. Under the lock; cheap when
 * nothing is dead (a load per record and per queue entry).
 */
static void
reap_dead(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	int changed = 0;
	uint32_t hi = undo_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_undo *un = UNDO(m, i);
		if (!ld_relaxed(&un->un_proc.pr_pid) || is_self(&un->un_proc))
			continue;
		uint32_t w = ld_acquire(&un->un_node.rn_word);
		uint32_t fl = ld_relaxed(&un->un_flags);
		if (!(w & ZIPC_FUTEX_OWNER_DIED) &&
		    (w & ZIPC_FUTEX_TID_MASK) && !(fl & ZIPC_UNDO_POLL))
			continue;
		if (!zipc__proc_rec_alive(&un->un_proc) ||
		    ((w & ZIPC_FUTEX_OWNER_DIED) &&
		     proc_exiting(ld_relaxed(&un->un_proc.pr_pid)))) {
			undo_apply(m, un);
			changed = 1;
		} else if (!(fl & ZIPC_UNDO_POLL)) {
			st_relaxed(&un->un_flags, fl | ZIPC_UNDO_POLL);
			st_relaxed(&c->se_poll, ld_relaxed(&c->se_poll) + 1);
		}
	}
	hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_q *q = QE(m, i);
		uint32_t st = ld_relaxed(&q->q_state);
		if (st != Q_FREE && q_dead(q))
			q_drop(m, q);
	}
	if (changed)
		smart_update(m, NULL, 0, 1);
}

static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void
register_exit(void)
{
	atexit(zipc__sem_exit);
}

/* Our record on @m, made if need be (find_alloc_undo). NULL: no room. */
static struct zipc_sem_undo *
undo_mine(struct zipc_semset_map *m, uint32_t tid)
{
	struct zipc_semset_ctl *c = CTL(m);
	struct zipc_sem_undo *un = undo_at(m, m->my_undo);
	if (un && is_self(&un->un_proc))
		goto found;
	uint32_t hi = undo_hi(m), free_i = UINT32_MAX;
	for (uint32_t i = 0; i < hi; i++) {
		un = UNDO(m, i);
		if (is_self(&un->un_proc)) {
			m->my_undo = i + 1;
			goto found;
		}
		if (free_i == UINT32_MAX && !ld_relaxed(&un->un_proc.pr_pid))
			free_i = i;
	}
	if (free_i == UINT32_MAX) {
		if (hi >= m->nundo)
			return NULL;
		free_i = hi;
	}
	un = UNDO(m, free_i);
	/* Built unpublished (pid 0 means free), so a death part-way leaves a
	 * free record; the node is linked before the pid is published. */
	for (uint32_t i = 0; i < m->nsems; i++)
		st_relaxed(&un->un_adj[i], 0);
	st_relaxed(&un->un_flags, tid ? 0 : ZIPC_UNDO_POLL);
	if (!tid)
		st_relaxed(&c->se_poll, ld_relaxed(&c->se_poll) + 1);
	st_relaxed(&un->un_proc.pr_start, self()->pr_start);
	st_release(&un->un_node.rn_word, tid);
	if (tid)
		zipc__sem_rnode_link(&un->un_node);
	ZIPC_CRASH("sem.undo.linked");
	st_release(&un->un_proc.pr_pid, self()->pr_pid);
	if (free_i + 1 > ld_relaxed(&c->se_undo_hi))
		st_relaxed(&c->se_undo_hi, free_i + 1);
	m->my_undo = free_i + 1;
	m->linked = tid != 0;
	pthread_once(&exit_once, register_exit);
	/* Sentinels watching this set must learn of the new word. */
	fetch_add_seq(&c->se_rgen, 1);
	if (any_waiting(m))
		zipc__futex_wake(&c->se_rgen, INT_MAX);
	return un;
found:
	/* After an exec the old sentinel is gone: re-arm with the new one. */
	if (tid && (ld_relaxed(&un->un_node.rn_word) &
		    (ZIPC_FUTEX_OWNER_DIED | ZIPC_FUTEX_TID_MASK)) !=
			   tid) {
		if (m->linked)
			zipc__sem_rnode_unlink(&un->un_node);
		st_release(&un->un_node.rn_word, tid);
		zipc__sem_rnode_link(&un->un_node);
		m->linked = 1;
		uint32_t fl = ld_relaxed(&un->un_flags);
		if (fl & ZIPC_UNDO_POLL) {
			st_relaxed(&un->un_flags, fl & ~ZIPC_UNDO_POLL);
			uint32_t p = ld_relaxed(&c->se_poll);
			st_relaxed(&c->se_poll, p ? p - 1 : 0);
		}
		fetch_add_seq(&c->se_rgen, 1);
		zipc__futex_wake(&c->se_rgen, INT_MAX);
	}
	return un;
}

static void
unlink_my_node(struct zipc_semset_map *m)
{
	struct zipc_sem_undo *un = undo_at(m, m->my_undo);
	if (m->linked && un) {
		zipc__sem_rnode_unlink(&un->un_node);
		m->linked = 0;
	}
}

/* ---- lock and repair --------------------------------------------------- */

static void
setall_redo(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	uint32_t pid = ld_relaxed(&c->se_setall);
	for (uint32_t i = 0; i < m->nsems; i++) {
		struct zipc_sem *s = SEM(m, i);
		uint32_t v = ld_relaxed(&s->sm_shadow);
		st_relaxed(&s->sm_val, (v > ZIPC_SEMVMX ? 0 : v) | m->frozen);
		st_relaxed(&s->sm_pid, pid);
	}
	ZIPC_CRASH("sem.setall.values");
	uint32_t hi = undo_hi(m);
	for (uint32_t r = 0; r < hi; r++)
		for (uint32_t i = 0; i < m->nsems; i++)
			st_relaxed(&UNDO(m, r)->un_adj[i], 0);
	st_release(&c->se_setall, 0);
}

static void
rf_sync_all(struct zipc_semset_map *m, int resync)
{
	char fname[96];
	for (uint32_t i = 0; i < m->nsems; i++) {
		struct zipc_sem *s = SEM(m, i);
		if (!resync && !ld_relaxed(&s->sm_rf.rf_watchers) &&
		    !ld_relaxed(&s->sm_rf.rf_armed))
			continue;
		if (!resync && !ld_relaxed(&s->sm_resv))
			continue;
		snprintf(fname, sizeof(fname), "zipc.sem.%d.%u.ready", m->id,
			 i);
		if (resync) {
			if (ld_relaxed(&s->sm_resv))
				zipc__readyfd_resync(&s->sm_rf, fname,
						     sval(s) > 0);
		} else {
			zipc__readyfd_sync(&s->sm_rf, fname,
					   sval(s) > 0);
		}
	}
}

static void
repair(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	tx_rollback_to(m, 0);
	if (ld_relaxed(&c->se_setall))
		setall_redo(m);
	/* Recount what a half-done queue change may have left wrong. */
	uint32_t cx = 0, hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_q *q = QE(m, i);
		uint32_t st = ld_relaxed(&q->q_state);
		if (st == Q_WAITING && ld_relaxed(&q->q_list) == L_NONE)
			st_relaxed(&q->q_state, st = Q_FREE);
		if (st == Q_WAITING && q_nsops(q) > 1)
			cx++;
		if (st == Q_DONE)
			zipc__futex_wake(&q->q_state, 1);
	}
	st_relaxed(&c->se_complex, cx);
	uint32_t polls = 0;
	for (uint32_t i = 0; i < undo_hi(m); i++)
		if (ld_relaxed(&UNDO(m, i)->un_proc.pr_pid) &&
		    (ld_relaxed(&UNDO(m, i)->un_flags) & ZIPC_UNDO_POLL))
			polls++;
	st_relaxed(&c->se_poll, polls);
	reap_dead(m);
	smart_update(m, NULL, 0, 0);
	rf_sync_all(m, 1);
}

/* Lock @m: 0, or -EIDRM when it was removed meanwhile. */
static void
freeze(struct zipc_semset_map *m)
{
	/* Partner: the acquire CAS of the fast path; from here on no value
	 * changes under us. */
	for (uint32_t i = 0; i < m->nsems; i++)
		fetch_or_seq(&SEM(m, i)->sm_val, SEM_FROZEN);
}

/* Thaw the words for the fast path if nothing needs the slow one. */
static void
thaw(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	if (ld_relaxed(&c->se_watchers) || ld_relaxed(&c->se_setall) ||
	    ld_relaxed(&c->se_poll) || ld_relaxed(&c->se_log_n))
		return;
	uint32_t hi = undo_hi(m);
	for (uint32_t i = 0; i < hi; i++)
		if (ld_relaxed(&UNDO(m, i)->un_proc.pr_pid))
			return;
	if (any_waiting(m))
		return;
	/* Partner: the fast path's acquire load of the word. */
	for (uint32_t i = 0; i < m->nsems; i++)
		st_release(&SEM(m, i)->sm_val,
			   ld_relaxed(&SEM(m, i)->sm_val) & ~SEM_FROZEN);
}

static int
set_lock(struct zipc_semset_map *m)
{
	int r = zipc__lock(&CTL(m)->se_lock);
	if (r == 0 || r == -EOWNERDEAD) {
		if (m->frozen)
			freeze(m);
	}
	if (unlikely(r == -EOWNERDEAD)) {
		repair(m);
		if (m->frozen)
			freeze(m);
		r = 0;
	}
	if (r < 0)
		return r;
	if (unlikely(ld_acquire(&zipc__obj_hdr(&m->obj)->sh_state) !=
		     ZIPC_SEG_READY)) {
		zipc__unlock(&CTL(m)->se_lock);
		return -EIDRM;
	}
	return 0;
}

/* Split the global alter list back when no array sleeps (unmerge_queues,
 * which the kernel runs when it drops the global lock). */
static void
unmerge(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	int idx[ZIPC_SEM_QMAX];
	if (ld_relaxed(&c->se_complex))
		return;
	int n = collect(m, L_GALTER, idx);
	if (!n)
		return;
	for (int k = 0; k < n; k++) {
		struct zipc_sem_q *q = QE(m, (uint32_t)idx[k]);
		uint32_t t = ld_relaxed(&c->se_qtail);
		tx_put(m, &q->q_list, L_SALTER(q->q_ops[0].sb_num));
		tx_put(m, &q->q_key, t);
		tx_put(m, &c->se_qtail, t + 1);
	}
	tx_commit(m);
}

static void
set_unlock(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	if (ld_relaxed(&c->se_q_hi))
		unmerge(m);
	if (unlikely(ld_relaxed(&c->se_watchers)))
		rf_sync_all(m, 0);
	if (m->frozen &&
	    ld_acquire(&zipc__obj_hdr(&m->obj)->sh_state) == ZIPC_SEG_READY)
		thaw(m);
	zipc__unlock(&c->se_lock);
}

/* ---- semget ------------------------------------------------------------ */

struct get_args {
	int32_t key;
	int nsems;
	struct limits lim;
};

static int
sem_precheck(void *arg)
{
	struct get_args *g = arg;
	return g->nsems == 0 ? -EINVAL : 0;
}

static int
sem_init_obj(struct zipc_obj *o, void *arg)
{
	struct get_args *g = arg;
	struct zipc_semset_ctl *c =
		(void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
	struct geom gm;
	int id = (int)zipc__obj_hdr(o)->sh_generation;
	geom_for((uint32_t)g->nsems, 0, &gm);
	geom_for((uint32_t)g->nsems, log_cap_for(g->lim.semopm, gm.nundo),
		 &gm);
	zipc__lock_init(&c->se_lock);
	zipc__ipc_perm_init(&c->se_perm, g->key, id, 0);
	c->se_ctime = time(NULL);
	c->se_nsems = gm.nsems;
	c->se_nundo = gm.nundo;
	c->se_undo_size = gm.undo_size;
	c->se_log_cap = gm.log_cap;
	c->se_sems_off = gm.sems_off;
	c->se_undo_off = gm.undo_off;
	c->se_q_off = gm.q_off;
	c->se_log_off = gm.log_off;
	c->se_qtail = 1;
	return 0;
}

struct create_ctx {
	struct get_args *g;
	int flags;
};

static int
sem_init_cb(struct zipc_obj *o, void *arg)
{
	struct create_ctx *x = arg;
	int r = sem_init_obj(o, x->g);
	struct zipc_semset_ctl *c =
		(void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
	int id = (int)zipc__obj_hdr(o)->sh_generation;
	zipc__ipc_perm_init(&c->se_perm, x->g->key, id, x->flags & 0777);
	return r;
}

static int
sem_create(int id, int32_t key, int flags, void *arg)
{
	struct get_args *g = arg;
	struct geom gm;
	(void)key;
	geom_for((uint32_t)g->nsems, 0, &gm);
	geom_for((uint32_t)g->nsems, log_cap_for(g->lim.semopm, gm.nundo),
		 &gm);
	struct create_ctx x = {g, flags};
	return zipc__xsi_create(ZIPC_XSI_SEM, id, ZIPC_KIND_XSI_SEM,
				ZIPC_SEM_SIG, gm.size,
				(uint32_t)sizeof(struct zipc_seg_hdr), flags,
				sem_init_cb, &x);
}

static int
sem_existing(int id, int flags, void *arg)
{
	struct get_args *g = arg;
	struct zipc_semset_map *m;
	int r = set_map(id, &m);
	if (r < 0)
		return r;
	struct zipc_semset_ctl *c = CTL(m);
	if ((uint32_t)g->nsems > m->nsems)
		return -EINVAL;
	return zipc__ipcperms(&c->se_perm, flags);
}

/* A removal interrupted between the file and the registry slot leaves a
 * slot held for nothing: free it (semget and IPC_INFO sweep). */
static int
sweep_one(int id, void *arg)
{
	(void)arg;
	char fname[64], path[4096];
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_SEM, id);
	if (zipc__path(path, sizeof(path), fname) == 0 &&
	    access(path, F_OK) < 0 && errno == ENOENT)
		zipc__xsi_release(ZIPC_XSI_SEM, id);
	return 0;
}

static void
sweep(void)
{
	zipc__xsi_foreach(ZIPC_XSI_SEM, 1, sweep_one, NULL);
}

int
zipc__semget(int32_t key, int nsems, int flags)
{
	static const struct zipc_xsi_ops ops = {
		.create = sem_create,
		.existing = sem_existing,
		.precheck = sem_precheck,
	};
	struct get_args g = {key, nsems, {0, 0, 0, 0}};
	read_limits(&g.lim);
	if (nsems < 0 || (uint32_t)nsems > g.lim.semmsl ||
	    nsems > SEMMSL_MAX)
		return -EINVAL;
	struct zipc_xsi_req req = {
		.key = key,
		.flags = flags,
		.mni = g.lim.semmni,
		.pages = (uint32_t)nsems,
		.pages_limit = g.lim.semmns,
	};
	sweep();
	return zipc__xsi_get(ZIPC_XSI_SEM, &req, &ops, &g);
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
				int k = collect(m, L_SALTER(s), tmp);
				for (int j = k - 1; j >= 0; j--)
					idx[n++] = tmp[j];
				if (!k && s + 1 < m->nsems &&
				    !any_waiting(m))
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
	if ((r = set_map(id, &m)) < 0)
		goto out;
	struct zipc_semset_ctl *c = CTL(m);
	r = -EFBIG;
	if (max >= m->nsems)
		goto out;
	if ((r = perm_check(m, alter ? 0222 : 0444)) < 0)
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
	if ((r = set_lock(m)) < 0)
		goto out;
	reap_dead(m);
	struct zipc_sem_undo *un = NULL;
	if (undos && !(un = undo_mine(m, tid))) {
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
		if (alter && any_waiting(m))
			smart_update(m, ops, (int)nsops, 1);
		goto out_unlock;
	}
	if (r < 0)
		goto out_unlock;

	/* Sleep: queue ourselves; wakers complete the operation for us. */
	if (!tid && !zipc__sem_sentinel_failed()) {
		set_unlock(m);
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
	set_unlock(m);
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
		int lr = set_lock(m);
		if (lr == -EIDRM) {
			/* Completed for us just before the removal? Then that
			 * is our result, as the kernel's sleeper would see. */
			if (ld_acquire(&q->q_state) == Q_DONE)
				break;
			r = -EIDRM;
			goto dequeued;
		}
		reap_dead(m);
		if (ld_acquire(&q->q_state) == Q_DONE) {
			set_unlock(m);
			break;
		}
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (w == -EINTR || (rel && !ts_before(&now, &deadline))) {
			r = w == -EINTR ? -EINTR : -EAGAIN;
			if (tid)
				zipc__sem_rnode_unlink(&q->q_node);
			q_unlink(m, q);
			tx_put(m, &q->q_state, Q_FREE);
			tx_commit(m);
			set_unlock(m);
			zipc__sem_watch(m, -1);
			pthread_sigmask(SIG_SETMASK, &orig, NULL);
			goto out;
		}
		set_unlock(m);
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
	set_unlock(m);
out:
	if (ops != ops_buf)
		free(ops);
	return r;
}

/* ---- the sentinel's side ------------------------------------------------ */

int
zipc__semset_collect(struct zipc_semset_map *m, struct futex_waitv *v,
		     int max, int *poll)
{
	int n = 0;
	if (max <= 0) {
		*poll = 1;
		return 0;
	}
	if (set_lock(m) < 0)
		return 0;
	reap_dead(m);
	struct zipc_semset_ctl *c = CTL(m);
	v[n++] = (struct futex_waitv){.val = ld_seq(&c->se_rgen),
				      .uaddr = (uintptr_t)&c->se_rgen,
				      .flags = FUTEX_32};
	if (ld_relaxed(&c->se_poll))
		*poll = 1;
	uint32_t hi = undo_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_undo *un = UNDO(m, i);
		if (!ld_relaxed(&un->un_proc.pr_pid) || is_self(&un->un_proc))
			continue;
		uint32_t w = ld_relaxed(&un->un_node.rn_word);
		if ((w & ZIPC_FUTEX_OWNER_DIED) || !(w & ZIPC_FUTEX_TID_MASK))
			continue; /* polled (UNDO_POLL) */
		if (n >= max) {
			*poll = 1;
			break;
		}
		/* FUTEX_WAITERS asks the dying kernel to wake us. */
		w = fetch_or_seq(&un->un_node.rn_word, ZIPC_FUTEX_WAITERS) |
		    ZIPC_FUTEX_WAITERS;
		v[n++] = (struct futex_waitv){
			.val = w,
			.uaddr = (uintptr_t)&un->un_node.rn_word,
			.flags = FUTEX_32};
	}
	set_unlock(m);
	return n;
}

/* ---- exit ------------------------------------------------------------- */

void
zipc__sem_exit(void)
{
	for (int b = 0; b < NBUCKETS; b++) {
		for (struct zipc_semset_map *m = ld_acquire(&buckets[b]); m;
		     m = m->next) {
			struct zipc_sem_undo *un = undo_at(m, m->my_undo);
			if (!un || !is_self(&un->un_proc))
				continue;
			if (set_lock(m) < 0)
				continue;
			if (is_self(&un->un_proc)) {
				unlink_my_node(m);
				undo_apply(m, un);
				smart_update(m, NULL, 0, 1);
			}
			m->my_undo = 0;
			set_unlock(m);
		}
	}
}

/* ---- semctl ----------------------------------------------------------- */

static int
count_cnt(struct zipc_semset_map *m, uint32_t semnum, int zero)
{
	int n = 0;
	uint32_t hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_q *q = QE(m, i);
		if (ld_relaxed(&q->q_state) != Q_WAITING ||
		    ld_relaxed(&q->q_list) == L_NONE || q_dead(q))
			continue;
		uint32_t b = ld_relaxed(&q->q_blocking);
		if (b >= (uint32_t)q_nsops(q))
			continue;
		const struct zipc_sembuf *op = &q->q_ops[b];
		if (op->sb_num != semnum)
			continue;
		if (zero ? op->sb_op == 0 : op->sb_op < 0)
			n++;
	}
	return n;
}

static void
set_remove(struct zipc_semset_map *m)
{
	struct zipc_semset_ctl *c = CTL(m);
	char fname[96];
	st_relaxed(&c->se_perm.ip_key, 0);
	zipc__xsi_unkey(ZIPC_XSI_SEM, m->id);
	ZIPC_CRASH("sem.rmid.unkeyed");
	for (uint32_t i = 0; i < m->nsems; i++)
		if (ld_relaxed(&SEM(m, i)->sm_resv)) {
			snprintf(fname, sizeof(fname), "zipc.sem.%d.%u.ready",
				 m->id, i);
			zipc__readyfd_unlink(fname);
		}
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_SEM, m->id);
	zipc__obj_remove(&m->obj, fname);
	ZIPC_CRASH("sem.rmid.removed");
	/* freeary: every sleeper fails with EIDRM. */
	uint32_t hi = q_hi(m);
	for (uint32_t i = 0; i < hi; i++) {
		struct zipc_sem_q *q = QE(m, i);
		if (ld_relaxed(&q->q_state) != Q_WAITING)
			continue;
		st_relaxed(&q->q_result, (uint32_t)-EIDRM);
		st_release(&q->q_state, Q_DONE);
		zipc__futex_wake(&q->q_state, 1);
	}
	fetch_add_seq(&c->se_rgen, 1);
	zipc__futex_wake(&c->se_rgen, INT_MAX);
	unlink_my_node(m);
	zipc__xsi_release(ZIPC_XSI_SEM, m->id);
}

static int
ctl_info(int cmd, struct seminfo *si)
{
	struct limits l;
	uint32_t count;
	uint64_t sems;
	if (!si)
		return -EFAULT;
	read_limits(&l);
	sweep();
	zipc__xsi_usage(ZIPC_XSI_SEM, &count, &sems);
	memset(si, 0, sizeof(*si));
	si->semmni = (int)l.semmni;
	si->semmns = (int)l.semmns;
	si->semmsl = (int)l.semmsl;
	si->semopm = (int)l.semopm;
	si->semvmx = ZIPC_SEMVMX;
	si->semmnu = 1024000000; /* SEMMNU, a constant in the kernel */
	si->semmap = 1024000000; /* SEMMAP */
	si->semume = 500;	 /* SEMUME */
	if (cmd == SEM_INFO) {
		si->semusz = (int)count;
		si->semaem = (int)sems;
	} else {
		si->semusz = SEMUSZ;
		si->semaem = ZIPC_SEMAEM;
	}
	return zipc__xsi_max_index(ZIPC_XSI_SEM);
}

int
zipc__semctl(int id, int semnum, int cmd, void *ptr, int val)
{
	struct zipc_semset_map *m;
	int r;
	if (id < 0)
		return -EINVAL;
	cmd &= ~0x100; /* IPC_64 */
	switch (cmd) {
	case IPC_INFO:
	case SEM_INFO:
		return ctl_info(cmd, ptr);
	case SEM_STAT:
	case SEM_STAT_ANY:
		if ((id = zipc__xsi_id_at(ZIPC_XSI_SEM, (uint32_t)id)) < 0)
			return id;
		/* fall through */
	case IPC_STAT:
		break;
	case SETVAL:
		if (val > ZIPC_SEMVMX || val < 0)
			return -ERANGE;
		break;
	case GETALL:
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
	case SETALL:
		break;
	case IPC_SET:
		if (!ptr)
			return -EFAULT;
		break;
	case IPC_RMID:
		break;
	default:
		return -EINVAL;
	}
	if ((r = set_map(id, &m)) < 0)
		return r;
	struct zipc_semset_ctl *c = CTL(m);
	int need = 0;
	switch (cmd) {
	case IPC_STAT:
	case SEM_STAT:
	case GETALL:
	case GETVAL:
	case GETPID:
	case GETNCNT:
	case GETZCNT:
		need = 0444;
		break;
	case SETALL:
		need = 0222;
		break;
	case SETVAL:
		if (semnum < 0 || (uint32_t)semnum >= m->nsems)
			return -EINVAL;
		need = 0222;
		break;
	}
	if (need && (r = perm_check(m, need)) < 0)
		return r;
	if ((cmd == IPC_STAT || cmd == SEM_STAT || cmd == SEM_STAT_ANY ||
	     cmd == IPC_SET || cmd == GETALL || cmd == SETALL) &&
	    !ptr)
		return -EFAULT;
	uint16_t *arr = ptr;
	uint16_t *newv = NULL;
	if (cmd == SETALL) {
		newv = malloc(sizeof(uint16_t) * m->nsems);
		if (!newv)
			return -ENOMEM;
		memcpy(newv, arr, sizeof(uint16_t) * m->nsems);
		for (uint32_t i = 0; i < m->nsems; i++)
			if (newv[i] > ZIPC_SEMVMX) {
				free(newv);
				return -ERANGE;
			}
	}
	if ((cmd == GETVAL || cmd == GETPID || cmd == GETNCNT ||
	     cmd == GETZCNT) &&
	    (semnum < 0 || (uint32_t)semnum >= m->nsems))
		return -EINVAL;
	if ((r = set_lock(m)) < 0) {
		free(newv);
		return r;
	}
	reap_dead(m);
	uint32_t pid = self()->pr_pid;
	switch (cmd) {
	case IPC_STAT:
	case SEM_STAT:
	case SEM_STAT_ANY: {
		struct semid_ds *ds = ptr;
		memset(ds, 0, sizeof(*ds));
		zipc__ipc_perm_out(&c->se_perm, &ds->sem_perm);
		ds->sem_otime = (time_t)ld_relaxed(&c->se_otime);
		ds->sem_ctime = (time_t)ld_relaxed(&c->se_ctime);
		ds->sem_nsems = m->nsems;
		r = cmd == IPC_STAT ? 0 : id;
		break;
	}
	case GETALL:
		for (uint32_t i = 0; i < m->nsems; i++)
			arr[i] = (uint16_t)sval(SEM(m, i));
		r = 0;
		break;
	case GETVAL:
		r = (int)sval(SEM(m, (uint32_t)semnum));
		break;
	case GETPID:
		r = (int)ld_relaxed(&SEM(m, (uint32_t)semnum)->sm_pid);
		break;
	case GETNCNT:
	case GETZCNT:
		r = count_cnt(m, (uint32_t)semnum, cmd == GETZCNT);
		break;
	case SETVAL: {
		uint32_t hi = undo_hi(m);
		for (uint32_t i = 0; i < hi; i++) {
			struct zipc_sem_undo *un = UNDO(m, i);
			if (ld_relaxed(&un->un_proc.pr_pid) &&
			    ld_relaxed(&un->un_adj[semnum]))
				tx_put(m, &un->un_adj[semnum], 0);
		}
		ZIPC_CRASH("sem.setval.cleared");
		tx_put(m, &SEM(m, (uint32_t)semnum)->sm_val,
		       (uint32_t)val | m->frozen);
		tx_put(m, &SEM(m, (uint32_t)semnum)->sm_pid, pid);
		tx_commit(m);
		st_relaxed(&c->se_ctime, (int64_t)time(NULL));
		smart_update(m, NULL, 0, 0);
		r = 0;
		break;
	}
	case SETALL:
		for (uint32_t i = 0; i < m->nsems; i++)
			st_relaxed(&SEM(m, i)->sm_shadow, newv[i]);
		/* Partner: the repairer's load of se_setall: the shadow
		 * values are complete before the redo marker. */
		st_release(&c->se_setall, pid ? pid : 1);
		ZIPC_CRASH("sem.setall.marked");
		setall_redo(m);
		st_relaxed(&c->se_ctime, (int64_t)time(NULL));
		smart_update(m, NULL, 0, 0);
		r = 0;
		break;
	case IPC_SET:
		if ((r = zipc__ipc_owner_check(&c->se_perm)) < 0)
			break;
		zipc__ipc_perm_set(&c->se_perm, &((struct semid_ds *)ptr)->sem_perm);
		{
			char fname[64], path[4096];
			zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_SEM, id);
			if (zipc__path(path, sizeof(path), fname) == 0) {
				int fd = open(path, O_RDWR | O_CLOEXEC);
				if (fd >= 0) {
					zipc__ipc_file_sync(fd, &c->se_perm);
					close(fd);
				}
			}
		}
		st_relaxed(&c->se_ctime, (int64_t)time(NULL));
		r = 0;
		break;
	case IPC_RMID:
		if ((r = zipc__ipc_owner_check(&c->se_perm)) < 0)
			break;
		set_remove(m);
		zipc__unlock(&c->se_lock);
		return 0;
	}
	set_unlock(m);
	free(newv);
	return r;
}

/* ---- readiness fds ---------------------------------------------------- */

int
zipc__semset_fd(int id, int semnum)
{
	struct zipc_semset_map *m;
	char fname[96];
	int r = set_map(id, &m);
	if (r < 0)
		return r;
	if (semnum < 0 || (uint32_t)semnum >= m->nsems)
		return -EINVAL;
	struct zipc_semset_ctl *c = CTL(m);
	if ((r = zipc__ipcperms(&c->se_perm, 0444)) < 0)
		return r;
	struct zipc_sem *s = SEM(m, (uint32_t)semnum);
	snprintf(fname, sizeof(fname), "zipc.sem.%d.%d.ready", id, semnum);
	if ((r = set_lock(m)) < 0)
		return r;
	if (!ld_relaxed(&s->sm_resv)) {
		r = zipc__readyfd_create(fname, 0600 | zipc__ipc_file_mode(
							      ld_relaxed(&c->se_perm.ip_mode)));
		if (r < 0)
			goto out;
		st_relaxed(&s->sm_resv, 1);
	}
	r = zipc__readyfd_watch(&s->sm_rf, fname);
	if (r >= 0) {
		fetch_add_seq(&c->se_watchers, 1);
		zipc__readyfd_sync(&s->sm_rf, fname,
				   sval(s) > 0);
	}
out:
	set_unlock(m);
	return r;
}

void
zipc__semset_fd_close(int id, int semnum, int fd)
{
	struct zipc_semset_map *m;
	if (set_map(id, &m) < 0 || semnum < 0 ||
	    (uint32_t)semnum >= m->nsems) {
		close(fd);
		return;
	}
	struct zipc_semset_ctl *c = CTL(m);
	zipc__readyfd_unwatch(&SEM(m, (uint32_t)semnum)->sm_rf, fd);
	uint32_t w = ld_relaxed(&c->se_watchers);
	while (w && !cas_seq(&c->se_watchers, &w, w - 1))
		;
}
