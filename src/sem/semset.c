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
 *
 * Where things are. This file: geometry, the per-process map cache, this
 * process, the transaction log, queue helpers, lock and repair, semget.
 * semop.c: perform, completing sleepers (the smart update) and semop with
 * its fast path and its sleep. undo.c: undo records, reaping the dead, the
 * sentinel's side and the exit handler. semctl.c: semctl and readiness
 * fds. semint.h: the map, the accessors the fast path inlines, and what
 * the files share (zipc__sem_*).
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "registry.h"
#include "semint.h"
#include "wait.h"

#define SEMMSL_MAX	 65536
#define UNDO_BUDGET	 (1u << 20)

void
zipc__sem_read_limits(struct limits *l)
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

/* The mapping of set @id: 0 and *@out, or -EINVAL (no such set, removed),
 * -EBADMSG/-EPROTO (not a set of ours), -EACCES. */
int
zipc__sem_set_map(int id, struct zipc_semset_map **out)
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
			struct geom g = {0};
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
		zipc__sem_unlink_my_node(m);
		return -EINVAL;
	}
	*out = m;
	return 0;
}

/* ipcperms with a per-map cache (see pc_words). Credentials are read when
 * the cache is filled: a process that changes its effective ids keeps, for
 * sets whose ipc_perm has not changed since, the answers it had. */
int
zipc__sem_perm_check(struct zipc_semset_map *m, int need)
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

void
zipc__sem_map_foreach(void (*fn)(struct zipc_semset_map *m))
{
	for (int b = 0; b < NBUCKETS; b++)
		for (struct zipc_semset_map *m = ld_acquire(&buckets[b]); m;
		     m = m->next)
			fn(m);
}

/* ---- this process ------------------------------------------------------- */

struct zipc_proc zipc__sem_self_proc;
static pthread_once_t self_once = PTHREAD_ONCE_INIT;

static void
self_fork_child(void)
{
	zipc__sem_self_proc.pr_pid = 0;
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

const struct zipc_proc *
zipc__sem_self_slow(void)
{
	pthread_once(&self_once, self_init);
	zipc__proc_self(&zipc__sem_self_proc);
	return &zipc__sem_self_proc;
}

/* ---- transactions ------------------------------------------------------- */

void
zipc__sem_tx_rollback_to(struct zipc_semset_map *m, uint32_t mark)
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

/* ---- queue helpers ------------------------------------------------------ */

static int
key_before(uint32_t a, uint32_t b)
{
	return (int32_t)(a - b) < 0;
}

/* Indices of the WAITING entries on @list in queue order; returns count. */
int
zipc__sem_collect(struct zipc_semset_map *m, uint32_t list, int *idx)
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

int
zipc__sem_list_empty(struct zipc_semset_map *m, uint32_t list)
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
void
zipc__sem_q_unlink(struct zipc_semset_map *m, struct zipc_sem_q *q)
{
	struct zipc_semset_ctl *c = CTL(m);
	if (q_nsops(q) > 1 && ld_relaxed(&c->se_complex))
		tx_put(m, &c->se_complex, ld_relaxed(&c->se_complex) - 1);
	tx_put(m, &q->q_list, L_NONE);
}

/* ---- lock and repair --------------------------------------------------- */

void
zipc__sem_setall_redo(struct zipc_semset_map *m)
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
	zipc__sem_tx_rollback_to(m, 0);
	if (ld_relaxed(&c->se_setall))
		zipc__sem_setall_redo(m);
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
	zipc__sem_reap_dead(m);
	zipc__sem_smart_update(m, NULL, 0, 0);
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
	if (zipc__sem_any_waiting(m))
		return;
	/* Partner: the fast path's acquire load of the word. */
	for (uint32_t i = 0; i < m->nsems; i++)
		st_release(&SEM(m, i)->sm_val,
			   ld_relaxed(&SEM(m, i)->sm_val) & ~SEM_FROZEN);
}

int
zipc__sem_set_lock(struct zipc_semset_map *m)
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
	int n = zipc__sem_collect(m, L_GALTER, idx);
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

void
zipc__sem_set_unlock(struct zipc_semset_map *m)
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
	int r = zipc__sem_set_map(id, &m);
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

void
zipc__sem_sweep(void)
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
	zipc__sem_read_limits(&g.lim);
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
	zipc__sem_sweep();
	return zipc__xsi_get(ZIPC_XSI_SEM, &req, &ops, &g);
}

