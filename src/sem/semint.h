/* SPDX-License-Identifier: MIT */
/*
 * Private to src/sem: the per-process view of a mapped set and the engine's
 * shared helpers, used by the XSI set engine (semset.c, semop.c, undo.c,
 * semctl.c; the protocol essay is at the top of semset.c) and the sentinel
 * (sentinel.c). The accessors the fast path uses are inline here.
 */
#ifndef ZIPC_SEMINT_H
#define ZIPC_SEMINT_H

#include <linux/futex.h>
#include <stdlib.h>

#include "atomic.h"
#include "internal.h"
#include "sem.h"

/* A set this process has mapped. Never unmapped: robust-list nodes may
 * live in it, and other threads may be using it without a reference. */
struct zipc_semset_map {
	int id;
	struct zipc_obj obj;
	struct zipc_semset_map *next;
	/* Geometry, validated once at open, so a peer that scribbles on the
	 * control block cannot move our accesses out of the file. */
	uint32_t nsems, nundo, undo_size, log_cap;
	uint32_t sems_off, undo_off, q_off, log_off;
	uint32_t my_undo;   /* our record index + 1, a hint */
	int linked;	    /* our record's node is on our robust list */
	uint32_t frozen;    /* SEM_FROZEN if the fast path may run, else 0 */
	/* ipcperms() answers for the ipc_perm words last seen: semop must
	 * not pay geteuid()/getgroups() system calls on every call. */
	uint32_t pc_words[5];
	int pc_valid, pc_read, pc_write;
};

#define LOG_OPS_MAX	 1024 /* arrays longer than this: E2BIG */

/* Lists a sleeper can be on (q_list): the kernel's global and
 * per-semaphore alter/const lists. */
enum {
	L_NONE = 0,
	L_GALTER = 1,
	L_GCONST = 2,
	L_SEM0 = 3, /* per-semaphore: 3 + 2i alter, 4 + 2i const */
};
#define L_SALTER(i) (L_SEM0 + 2 * (uint32_t)(i))
#define L_SCONST(i) (L_SEM0 + 2 * (uint32_t)(i) + 1)

/* The kernel.sem sysctl. */
struct limits {
	uint32_t semmsl, semmns, semopm, semmni;
};

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

/* ---- this process (owned by semset.c) -------------------------------- */

/* Our (pid, start); pr_pid 0 until first use and again in a fork child. */
extern struct zipc_proc zipc__sem_self_proc;
/* First use (and first use after fork): fill zipc__sem_self_proc. */
const struct zipc_proc *zipc__sem_self_slow(void);

static inline const struct zipc_proc *
self(void)
{
	if (unlikely(!zipc__sem_self_proc.pr_pid))
		return zipc__sem_self_slow();
	return &zipc__sem_self_proc;
}

static inline int
is_self(const struct zipc_proc *p)
{
	const struct zipc_proc *s = self();
	return ld_relaxed(&p->pr_pid) == s->pr_pid &&
	       ld_relaxed(&p->pr_start) == s->pr_start;
}

/* ---- transactions (semset.c) ----------------------------------------- */

static inline void
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
	 * covered by an entry. Partner: ld_acquire in
	 * zipc__sem_tx_rollback_to. */
	st_release(&c->se_log_n, n + 1);
	st_release(p, v);
}

static inline uint32_t
tx_mark(struct zipc_semset_map *m)
{
	return ld_relaxed(&CTL(m)->se_log_n);
}

/* Roll back the open step down to @mark (0: all of it). */
void zipc__sem_tx_rollback_to(struct zipc_semset_map *m, uint32_t mark);

static inline void
tx_commit(struct zipc_semset_map *m)
{
	/* Partner: ld_acquire in tx_rollback_to of a repairer. */
	st_release(&CTL(m)->se_log_n, 0);
}

/* ---- queue and undo helpers ------------------------------------------ */

static inline uint32_t
q_hi(struct zipc_semset_map *m)
{
	uint32_t hi = ld_relaxed(&CTL(m)->se_q_hi);
	return hi > ZIPC_SEM_QMAX ? ZIPC_SEM_QMAX : hi;
}

static inline uint32_t
undo_hi(struct zipc_semset_map *m)
{
	uint32_t hi = ld_relaxed(&CTL(m)->se_undo_hi);
	return hi > m->nundo ? m->nundo : hi;
}

static inline int
q_nsops(const struct zipc_sem_q *q)
{
	uint16_t n = ld_relaxed(&q->q_nsops);
	return n > ZIPC_SEM_QOPS ? ZIPC_SEM_QOPS : n;
}

/* A sleeper whose process (or, after an exec, whose thread) is gone. */
static inline int
q_dead(const struct zipc_sem_q *q)
{
	uint32_t w = ld_acquire(&q->q_node.rn_word);
	if (w & ZIPC_FUTEX_OWNER_DIED)
		return 1;
	if (!(w & ZIPC_FUTEX_TID_MASK))
		return !zipc__proc_rec_alive(&q->q_proc);
	return 0;
}

static inline struct zipc_sem_undo *
undo_at(struct zipc_semset_map *m, uint32_t idx1)
{
	if (idx1 == 0 || idx1 > m->nundo)
		return NULL;
	return UNDO(m, idx1 - 1);
}

/* ---- across the engine's files ---------------------------------------- */

/* semset.c */
void zipc__sem_read_limits(struct limits *l);
/* The mapping of set @id: 0 and *@out, or -EINVAL (no such set, removed),
 * -EBADMSG/-EPROTO (not a set of ours), -EACCES. */
int zipc__sem_set_map(int id, struct zipc_semset_map **out);
/* Call @fn on every set this process has mapped. */
void zipc__sem_map_foreach(void (*fn)(struct zipc_semset_map *m));
int zipc__sem_perm_check(struct zipc_semset_map *m, int need);
int zipc__sem_collect(struct zipc_semset_map *m, uint32_t list, int *idx);
int zipc__sem_list_empty(struct zipc_semset_map *m, uint32_t list);
void zipc__sem_q_unlink(struct zipc_semset_map *m, struct zipc_sem_q *q);
void zipc__sem_setall_redo(struct zipc_semset_map *m);
/* Lock @m: 0, or -EIDRM when it was removed meanwhile. */
int zipc__sem_set_lock(struct zipc_semset_map *m);
void zipc__sem_set_unlock(struct zipc_semset_map *m);
void zipc__sem_sweep(void);

/* semop.c */
void zipc__sem_q_drop(struct zipc_semset_map *m, struct zipc_sem_q *q);
void zipc__sem_smart_update(struct zipc_semset_map *m,
			    const struct zipc_sembuf *ops, int nsops,
			    int otime);
int zipc__sem_any_waiting(struct zipc_semset_map *m);

/* undo.c */
void zipc__sem_reap_dead(struct zipc_semset_map *m);
struct zipc_sem_undo *zipc__sem_undo_mine(struct zipc_semset_map *m,
					  uint32_t tid);
void zipc__sem_unlink_my_node(struct zipc_semset_map *m);

/* Sentinel side: lock @m, reap its dead, and add the words to watch
 * (generation word + other processes' armed death words) to @v, at most
 * @max. Sets *@poll when something can only be polled. Returns the count. */
int zipc__semset_collect(struct zipc_semset_map *m, struct futex_waitv *v,
			 int max, int *poll);
/* Sleepers register their set with the sentinel (+1) and leave (-1). */
int zipc__sem_watch(struct zipc_semset_map *m, int delta);

#endif
