/* SPDX-License-Identifier: MIT */
/*
 * XSI semaphore sets: SEM_UNDO. A process's undo record on a set, made by
 * its first SEM_UNDO operation; the dead's records, applied by whoever
 * notices (reap_dead); the death words the sentinel watches; and our own
 * records, applied at exit. See the essay in semset.c.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "semint.h"
#include "wait.h"

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
void
zipc__sem_reap_dead(struct zipc_semset_map *m)
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
			zipc__sem_q_drop(m, q);
	}
	if (changed)
		zipc__sem_smart_update(m, NULL, 0, 1);
}

static pthread_once_t exit_once = PTHREAD_ONCE_INIT;

static void
register_exit(void)
{
	atexit(zipc__sem_exit);
}

/* Our record on @m, made if need be (find_alloc_undo). NULL: no room. */
struct zipc_sem_undo *
zipc__sem_undo_mine(struct zipc_semset_map *m, uint32_t tid)
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
	if (zipc__sem_any_waiting(m))
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

void
zipc__sem_unlink_my_node(struct zipc_semset_map *m)
{
	struct zipc_sem_undo *un = undo_at(m, m->my_undo);
	if (m->linked && un) {
		zipc__sem_rnode_unlink(&un->un_node);
		m->linked = 0;
	}
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
	if (zipc__sem_set_lock(m) < 0)
		return 0;
	zipc__sem_reap_dead(m);
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
	zipc__sem_set_unlock(m);
	return n;
}

/* ---- exit ------------------------------------------------------------- */

static void
exit_one(struct zipc_semset_map *m)
{
	struct zipc_sem_undo *un = undo_at(m, m->my_undo);
	if (!un || !is_self(&un->un_proc))
		return;
	if (zipc__sem_set_lock(m) < 0)
		return;
	if (is_self(&un->un_proc)) {
		zipc__sem_unlink_my_node(m);
		undo_apply(m, un);
		zipc__sem_smart_update(m, NULL, 0, 1);
	}
	m->my_undo = 0;
	zipc__sem_set_unlock(m);
}

void
zipc__sem_exit(void)
{
	zipc__sem_map_foreach(exit_one);
}
