/* SPDX-License-Identifier: MIT */
/*
 * XSI semaphore sets: semctl (stat, values, counts, SETVAL/SETALL, IPC_SET,
 * IPC_RMID, the info commands) and the per-semaphore readiness fds that
 * let epoll wait for a value above zero. See the essay in semset.c.
 */
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "registry.h"
#include "semint.h"
#include "wait.h"

#define SEMUSZ		 20

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
	zipc__sem_unlink_my_node(m);
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
	zipc__sem_read_limits(&l);
	zipc__sem_sweep();
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
	if ((r = zipc__sem_set_map(id, &m)) < 0)
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
	if (need && (r = zipc__sem_perm_check(m, need)) < 0)
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
	if ((r = zipc__sem_set_lock(m)) < 0) {
		free(newv);
		return r;
	}
	zipc__sem_reap_dead(m);
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
		zipc__sem_smart_update(m, NULL, 0, 0);
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
		zipc__sem_setall_redo(m);
		st_relaxed(&c->se_ctime, (int64_t)time(NULL));
		zipc__sem_smart_update(m, NULL, 0, 0);
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
	zipc__sem_set_unlock(m);
	free(newv);
	return r;
}

/* ---- readiness fds ---------------------------------------------------- */

int
zipc__semset_fd(int id, int semnum)
{
	struct zipc_semset_map *m;
	char fname[96];
	int r = zipc__sem_set_map(id, &m);
	if (r < 0)
		return r;
	if (semnum < 0 || (uint32_t)semnum >= m->nsems)
		return -EINVAL;
	struct zipc_semset_ctl *c = CTL(m);
	if ((r = zipc__ipcperms(&c->se_perm, 0444)) < 0)
		return r;
	struct zipc_sem *s = SEM(m, (uint32_t)semnum);
	snprintf(fname, sizeof(fname), "zipc.sem.%d.%d.ready", id, semnum);
	if ((r = zipc__sem_set_lock(m)) < 0)
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
	zipc__sem_set_unlock(m);
	return r;
}

void
zipc__semset_fd_close(int id, int semnum, int fd)
{
	struct zipc_semset_map *m;
	if (zipc__sem_set_map(id, &m) < 0 || semnum < 0 ||
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
