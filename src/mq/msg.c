/* SPDX-License-Identifier: MIT */
/*
 * The XSI face: msgget/msgsnd/msgrcv/msgctl over the queue engine, with
 * the kernel's checks in the kernel's order (ipc/msg.c), so every error a
 * program can provoke is the errno Linux gives.
 *
 * Queue <id> is the file "zipc.msg.<id>"; the registry (registry.h) maps
 * keys to ids. Each process keeps the queues it has used mapped in a small
 * cache (id -> mapping, reference counted), so msgsnd/msgrcv make no
 * system call of their own: ids are never reused for another object, and
 * a cached queue that was removed says so in its header (REMOVED), after
 * which the id fails with EINVAL as the kernel's would.
 *
 * Limits come from /proc/sys/kernel/msg{max,mnb,mni}, read once per
 * process for msgmax (msgsnd is hot) and at each msgget/IPC_SET for the
 * others. Exceeding msgmnb in IPC_SET needs CAP_SYS_RESOURCE, as with the
 * kernel.
 *
 * IPC_RMID marks the object REMOVED (every later lock fails with EIDRM),
 * unlinks its file and FIFOs, frees the registry slot and wakes every
 * waiter, which then returns EIDRM. A process killed between those steps
 * leaves a registry slot whose file is gone; msgget's "existing" step
 * reports it (-ENOENT) and the registry frees the slot.
 */
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "sysctl.h"
#include "internal.h"
#include "mq.h"
#include "registry.h"
#include "zipc.h"
#include "zipc_compat.h"

#define MSGMAX_DFLT 8192
#define MSGMNB_DFLT 16384
#define MSGMNI_DFLT 32000
#define MSGSSZ	    16
#define MSGSEG	    0xffff

static uint64_t
msgmnb(void)
{
	return zipc__sysctl_u64("/proc/sys/kernel/msgmnb", MSGMNB_DFLT);
}

static uint64_t
msgmni(void)
{
	return zipc__sysctl_u64("/proc/sys/kernel/msgmni", MSGMNI_DFLT);
}

static uint64_t
msgmax(void)
{
	static uint64_t cached;
	uint64_t v = __atomic_load_n(&cached, __ATOMIC_RELAXED);
	if (!v) {
		v = zipc__sysctl_u64("/proc/sys/kernel/msgmax", MSGMAX_DFLT);
		__atomic_store_n(&cached, v, __ATOMIC_RELAXED);
	}
	return v;
}

/* ---- the per-process cache of mapped queues --------------------------- */

struct cached {
	struct zipc_queue q;
	int refs; /* threads whose tl_last this is */
	int dead;
	/* mq_perm_gen + 1 when this process last passed the read [0] or
	 * write [1] check; 0: not checked since the fork (see may). */
	uint32_t ok_gen[2];
	struct cached *next;
};

static pthread_mutex_t cache_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct cached *cache_head;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;
static ZIPC_TLS struct cached *tl_last; /* see acquire() */
static pthread_key_t tl_key;		 /* drops tl_last's reference */

/* A fork while another thread holds the cache mutex must not leave the
 * child with a mutex nobody will ever unlock. */
static void
fork_prepare(void)
{
	pthread_mutex_lock(&cache_mutex);
}

static void
fork_release(void)
{
	pthread_mutex_unlock(&cache_mutex);
}

/* A child checks its access afresh (it may drop privileges before its
 * first operation, as a test or a server does). */
static void
fork_child(void)
{
	/* Only the forking thread lives on: only its reference counts. */
	for (struct cached *e = cache_head; e; e = e->next) {
		e->ok_gen[0] = e->ok_gen[1] = 0;
		e->refs = e == tl_last;
	}
	pthread_mutex_unlock(&cache_mutex);
}

static void thread_gone(void *p);

static void
register_fork(void)
{
	pthread_atfork(fork_prepare, fork_release, fork_child);
	pthread_key_create(&tl_key, thread_gone);
}

/*
 * ipcperms() for msgsnd (@write) or msgrcv on a queue this process holds.
 * The kernel checks the caller's credentials on every call; asking the
 * kernel for them (geteuid, getegid, getgroups) would cost a system call
 * per message -- as much as the rest of a send. So a success is
 * remembered per queue until its permissions change (IPC_SET bumps
 * mq_perm_gen) or the process forks: access is checked like an open file
 * descriptor's, at first use, and a process that drops privileges with
 * setuid() keeps the queues it already used (zipc_msg(3), NOTES).
 * Failures are never remembered.
 */
static int
may(struct cached *e, int write)
{
	struct zipc_mq_ctl *c = e->q.q_ctl;
	uint32_t gen = ld_relaxed(&c->mq_perm_gen) + 1;
	if (ld_relaxed(&e->ok_gen[write]) == gen)
		return 0;
	int r = zipc__ipcperms(&c->mq_perm, write ? 0222 : 0444);
	if (r == 0)
		st_relaxed(&e->ok_gen[write], gen);
	return r;
}

static void
fname_of(char *buf, size_t len, int id)
{
	zipc__xsi_fname(buf, len, ZIPC_XSI_MSG, id);
}

static int
map_queue(int id, struct zipc_queue *q)
{
	char fname[64];
	fname_of(fname, sizeof(fname), id);
	memset(q, 0, sizeof(*q));
	int r = zipc__obj_open(fname, ZIPC_KIND_XSI_MSG, ZIPC_MQ_SIG,
			       &q->q_obj);
	if (r == -ENOENT || r == -EIDRM || r == -EAGAIN)
		return -EINVAL;
	if (r < 0)
		return r == -EBADMSG || r == -EPROTO || r == -EACCES ? r
								      : -EINVAL;
	if ((r = zipc__mq_adopt(q, fname)) < 0 || q->q_face != ZIPC_MQ_XSI) {
		zipc__obj_close(&q->q_obj);
		return r < 0 ? r : -EBADMSG;
	}
	q->q_id = id;
	q->q_oflag = O_RDWR;
	return 0;
}

/* Under cache_mutex: unlink the entry *@pp and free it (its mapping and
 * fd with it). */
static void
forget_locked(struct cached **pp)
{
	struct cached *e = *pp;
	*pp = e->next;
	zipc__obj_close(&e->q.q_obj);
	free(e);
}

/* Drop a reference, under cache_mutex; a removed queue nobody holds
 * goes. */
static void
unref_locked(struct cached *e)
{
	if (--e->refs == 0 && e->dead) {
		struct cached **pp = &cache_head;
		while (*pp && *pp != e)
			pp = &(*pp)->next;
		if (*pp)
			forget_locked(pp);
	}
}

/* A thread exits: its reference on the queue it used last goes. */
static void
thread_gone(void *p)
{
	pthread_mutex_lock(&cache_mutex);
	unref_locked(p);
	pthread_mutex_unlock(&cache_mutex);
}

/*
 * The mapped queue for @id; -EINVAL if there is none. The calling thread
 * holds a reference on the queue it used last (tl_last), and that
 * reference is what keeps the mapping alive during the call: a thread
 * that keeps using one queue finds it again without the cache mutex (two
 * loads instead of four atomic operations a call). The reference moves
 * to the next queue the thread uses and is dropped when the thread exits,
 * so a removed queue stays mapped in a thread that used it last until
 * then. (msgsnd and msgrcv are not async-signal-safe here: a handler that
 * used another queue in the middle of a call could unmap this one.)
 */
static int
acquire(int id, struct cached **out)
{
	if (id < 0)
		return -EINVAL;
	struct cached *t = tl_last;
	/* Partner: st_release of REMOVED in zipc__obj_remove. */
	if (t && t->q.q_id == id &&
	    ld_acquire(&zipc__obj_hdr(&t->q.q_obj)->sh_state) ==
		    ZIPC_SEG_READY) {
		*out = t;
		return 0;
	}
	pthread_once(&fork_once, register_fork);
	pthread_mutex_lock(&cache_mutex);
	struct cached *e;
	for (e = cache_head; e; e = e->next) {
		if (e->q.q_id != id || e->dead)
			continue;
		if (ld_acquire(&zipc__obj_hdr(&e->q.q_obj)->sh_state) ==
		    ZIPC_SEG_READY)
			break;
		e->dead = 1;
	}
	if (!e) {
		/* Drop removed queues nobody uses (their mapping and fd). */
		for (struct cached **pp = &cache_head; *pp;) {
			struct cached *x = *pp;
			if (ld_acquire(&zipc__obj_hdr(&x->q.q_obj)->sh_state) !=
			    ZIPC_SEG_READY)
				x->dead = 1;
			if (x->dead && x->refs == 0)
				forget_locked(pp);
			else
				pp = &x->next;
		}
		e = calloc(1, sizeof(*e));
		int r = e ? map_queue(id, &e->q) : -ENOMEM;
		if (r < 0) {
			free(e);
			pthread_mutex_unlock(&cache_mutex);
			return r;
		}
		e->next = cache_head;
		cache_head = e;
	}
	/* The thread's reference moves here. */
	e->refs++;
	if (tl_last)
		unref_locked(tl_last);
	tl_last = e;
	pthread_setspecific(tl_key, e);
	pthread_mutex_unlock(&cache_mutex);
	*out = e;
	return 0;
}

/* ---- msgget ------------------------------------------------------------ */

static int
msg_create(int id, int32_t key, int flags, void *arg)
{
	(void)arg;
	struct zipc_mq_geom g = {0};
	char fname[64];
	struct zipc_obj o;
	int r = zipc__mq_geom_xsi(&g, msgmnb());
	if (r < 0)
		return -ENOMEM;
	g.mode = (uint32_t)flags & 0777;
	g.key = key;
	g.id = id;
	fname_of(fname, sizeof(fname), id);
	r = zipc__obj_create(fname, ZIPC_KIND_XSI_MSG, ZIPC_MQ_SIG, g.size,
			     ZIPC_MQ_ARENA_OFF, (uint64_t)id,
			     0600 | zipc__ipc_file_mode((uint32_t)flags),
			     zipc__mq_init, &g, &o);
	if (r == -EFBIG || r == -ENOSPC)
		r = -ENOMEM;
	if (r < 0)
		return r;
	zipc__obj_close(&o);
	return 0;
}

static int
msg_existing(int id, int flags, void *arg)
{
	(void)arg;
	struct zipc_queue q;
	int r = map_queue(id, &q);
	if (r == -EINVAL)
		return -ENOENT; /* its file is gone: the slot is freed */
	if (r < 0)
		return r;
	r = zipc__ipcperms(&q.q_ctl->mq_perm, flags);
	zipc__obj_close(&q.q_obj);
	return r;
}

ZIPC_API int
zipc_queue_get(int32_t key, int flags)
{
	static const struct zipc_xsi_ops ops = {
		.create = msg_create,
		.existing = msg_existing,
	};
	struct zipc_xsi_req req = {
		.key = key,
		.flags = flags,
		.mni = (uint32_t)msgmni(),
	};
	return zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL);
}

/* ---- msgsnd / msgrcv ----------------------------------------------------- */

static int
msg_send(int id, const void *msgp, size_t msgsz, int msgflg,
	 const struct zipc_deadline *dl)
{
	long mtype;
	if (!msgp)
		return -EFAULT;
	memcpy(&mtype, msgp, sizeof(mtype));
	if (msgsz > msgmax() || (long)msgsz < 0 || id < 0)
		return -EINVAL;
	if (mtype < 1)
		return -EINVAL;
	struct cached *e;
	int r = acquire(id, &e);
	if (r < 0)
		return r;
	r = may(e, 1);
	if (r == 0)
		r = zipc__mq_send(&e->q, (const char *)msgp + sizeof(long),
				  msgsz, mtype,
				  (msgflg & IPC_NOWAIT) ? ZIPC_MQ_NONBLOCK : 0,
				  dl);
	return r;
}

static ssize_t
msg_receive(int id, void *msgp, size_t msgsz, long msgtyp, int msgflg,
	    const struct zipc_deadline *dl)
{
	if (id < 0 || (long)msgsz < 0)
		return -EINVAL;
	enum zipc_mq_sel sel;
	int64_t t = msgtyp;
	if (msgflg & MSG_COPY) {
		if ((msgflg & MSG_EXCEPT) || !(msgflg & IPC_NOWAIT))
			return -EINVAL;
		sel = ZIPC_SEL_NTH;
	} else if (msgtyp == 0) {
		sel = ZIPC_SEL_FIRST;
	} else if (msgtyp < 0) {
		t = msgtyp == LONG_MIN ? LONG_MAX : -msgtyp;
		sel = ZIPC_SEL_LESSEQ;
	} else {
		sel = (msgflg & MSG_EXCEPT) ? ZIPC_SEL_NOTEQUAL
					    : ZIPC_SEL_EQUAL;
	}
	if (!msgp)
		return -EFAULT;
	struct cached *e;
	int r = acquire(id, &e);
	if (r < 0)
		return r;
	ssize_t n = may(e, 0);
	if (n == 0) {
		int flags = 0;
		int64_t ty = 0;
		if (msgflg & IPC_NOWAIT)
			flags |= ZIPC_MQ_NONBLOCK;
		if (msgflg & MSG_NOERROR)
			flags |= ZIPC_MQ_NOERROR;
		size_t len = msgsz;
		if (sel == ZIPC_SEL_NTH) {
			flags |= ZIPC_MQ_PEEK;
			if (len > msgmax())
				len = msgmax();
		}
		n = zipc__mq_receive(&e->q, (char *)msgp + sizeof(long), len,
				     &ty, sel, t, flags, dl);
		if (n >= 0) {
			long mt = (long)ty;
			memcpy(msgp, &mt, sizeof(mt));
		}
	}
	return n;
}

/* ---- msgctl ------------------------------------------------------------ */

struct usage {
	uint64_t msgs, bytes;
};

static int
usage_one(int id, void *arg)
{
	struct usage *u = arg;
	struct cached *e;
	if (acquire(id, &e) < 0)
		return 0;
	uint64_t msgs, bytes;
	zipc__mq_count(e->q.q_ctl, &msgs, &bytes);
	u->msgs += msgs;
	u->bytes += bytes;
	return 0;
}

static int
ctl_info(int cmd, struct msqid_ds *buf)
{
	struct msginfo mi;
	memset(&mi, 0, sizeof(mi));
	mi.msgmni = (int)msgmni();
	mi.msgmax = (int)msgmax();
	mi.msgmnb = (int)msgmnb();
	mi.msgssz = MSGSSZ;
	mi.msgseg = MSGSEG;
	if (cmd == MSG_INFO) {
		uint32_t count;
		uint64_t pages;
		struct usage u = {0, 0};
		zipc__xsi_usage(ZIPC_XSI_MSG, &count, &pages);
		zipc__xsi_foreach(ZIPC_XSI_MSG, 0, usage_one, &u);
		mi.msgpool = (int)count;
		mi.msgmap = u.msgs > INT_MAX ? INT_MAX : (int)u.msgs;
		mi.msgtql = u.bytes > INT_MAX ? INT_MAX : (int)u.bytes;
	} else {
		mi.msgmap = MSGMNB_DFLT;
		mi.msgpool = MSGMNI_DFLT * MSGMNB_DFLT / 1024;
		mi.msgtql = MSGMNB_DFLT;
	}
	int max = zipc__xsi_max_index(ZIPC_XSI_MSG);
	if (!buf)
		return -EFAULT;
	memcpy(buf, &mi, sizeof(mi));
	return max;
}

static void
fill_ds(struct zipc_queue *q, struct msqid_ds *ds)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	memset(ds, 0, sizeof(*ds));
	zipc__ipc_perm_out(&c->mq_perm, &ds->msg_perm);
	ds->msg_stime = (time_t)ld_relaxed(&c->mq_stime);
	ds->msg_rtime = (time_t)ld_relaxed(&c->mq_rtime);
	ds->msg_ctime = (time_t)ld_relaxed(&c->mq_ctime);
	ds->__msg_cbytes = ld_relaxed(&c->mq_cbytes);
	ds->msg_qnum = ld_relaxed(&c->mq_qnum);
	ds->msg_qbytes = ld_relaxed(&c->mq_qbytes);
	ds->msg_lspid = (pid_t)ld_relaxed(&c->mq_lspid);
	ds->msg_lrpid = (pid_t)ld_relaxed(&c->mq_lrpid);
}

static int
ctl_rmid(struct cached *e)
{
	struct zipc_queue *q = &e->q;
	char fname[64];
	fname_of(fname, sizeof(fname), q->q_id);
	zipc__obj_remove(&q->q_obj, fname);
	ZIPC_CRASH("mq.rmid.removed");
	zipc__readyfd_unlink(q->q_fifo[0]);
	zipc__readyfd_unlink(q->q_fifo[1]);
	zipc__xsi_release(ZIPC_XSI_MSG, q->q_id);
	ZIPC_CRASH("mq.rmid.released");
	zipc__mq_wake_all(q);
	return 0;
}

ZIPC_API int
zipc_queue_ctl(int id, int cmd, struct msqid_ds *buf)
{
	struct msqid_ds in;
	if (id < 0 || cmd < 0)
		return -EINVAL;
	cmd &= ~0x100; /* IPC_64 */
	switch (cmd) {
	case IPC_INFO:
	case MSG_INFO:
		return ctl_info(cmd, buf);
	case MSG_STAT:
	case MSG_STAT_ANY:
		id = zipc__xsi_id_at(ZIPC_XSI_MSG, (uint32_t)id);
		if (id < 0)
			return id;
		break;
	case IPC_SET:
		if (!buf)
			return -EFAULT;
		in = *buf;
		break;
	case IPC_STAT:
	case IPC_RMID:
		break;
	default:
		return -EINVAL;
	}
	struct cached *e;
	int r = acquire(id, &e);
	/*
	 * A file this process may not even open belongs to a queue whose
	 * owner it is not (the owner always has rw on the file): the kernel
	 * refuses IPC_SET and IPC_RMID with EPERM there, not EACCES.
	 */
	if (r == -EACCES && (cmd == IPC_SET || cmd == IPC_RMID))
		return -EPERM;
	if (r < 0)
		return r;
	struct zipc_queue *q = &e->q;
	struct zipc_mq_ctl *c = q->q_ctl;
	if ((r = zipc__mq_lock(q)) < 0) {
		return r == -EIDRM ? -EINVAL : r;
	}
	struct msqid_ds ds;
	switch (cmd) {
	case MSG_STAT:
	case IPC_STAT:
		if ((r = zipc__ipcperms(&c->mq_perm, 0444)) < 0)
			break;
		/* fall through */
	case MSG_STAT_ANY:
		fill_ds(q, &ds);
		r = cmd == IPC_STAT ? 0 : id;
		break;
	case IPC_SET:
		if ((r = zipc__ipc_owner_check(&c->mq_perm)) < 0)
			break;
		if (in.msg_qbytes > msgmnb() && !zipc__mq_cap_resource()) {
			r = -EPERM;
			break;
		}
		zipc__ipc_perm_set(&c->mq_perm, &in.msg_perm);
		zipc__ipc_file_sync(q->q_obj.o_fd, &c->mq_perm);
		st_relaxed(&c->mq_qbytes, (uint64_t)in.msg_qbytes);
		st_relaxed(&c->mq_ctime, (int64_t)time(NULL));
		st_relaxed(&c->mq_perm_gen, ld_relaxed(&c->mq_perm_gen) + 1);
		ZIPC_CRASH("mq.set.done");
		zipc__mq_ready_sync(q);
		zipc__mq_wake_all(q);
		break;
	case IPC_RMID:
		if ((r = zipc__ipc_owner_check(&c->mq_perm)) < 0)
			break;
		r = ctl_rmid(e);
		break;
	}
	zipc__mq_unlock(q);
	if (cmd == IPC_RMID && r == 0) {
		pthread_mutex_lock(&cache_mutex);
		e->dead = 1;
		pthread_mutex_unlock(&cache_mutex);
	}
	if (r >= 0 && (cmd == IPC_STAT || cmd == MSG_STAT ||
		       cmd == MSG_STAT_ANY)) {
		if (!buf)
			return -EFAULT;
		*buf = ds;
	}
	return r;
}

ZIPC_API int
zipc_queue_msgsnd(int id, const void *msgp, size_t msgsz, int msgflg,
		  int64_t timeout_ns)
{
	struct zipc_deadline dl;
	if (timeout_ns >= 0 && !(msgflg & IPC_NOWAIT)) {
		struct timespec rel = {(time_t)(timeout_ns / 1000000000),
				       (long)(timeout_ns % 1000000000)};
		zipc__deadline_rel(&dl, &rel);
		return msg_send(id, msgp, msgsz, msgflg, &dl);
	}
	return msg_send(id, msgp, msgsz, msgflg, NULL);
}

ZIPC_API ssize_t
zipc_queue_msgrcv(int id, void *msgp, size_t msgsz, long msgtyp, int msgflg,
		  int64_t timeout_ns)
{
	struct zipc_deadline dl;
	if (timeout_ns >= 0 && !(msgflg & IPC_NOWAIT)) {
		struct timespec rel = {(time_t)(timeout_ns / 1000000000),
				       (long)(timeout_ns % 1000000000)};
		zipc__deadline_rel(&dl, &rel);
		return msg_receive(id, msgp, msgsz, msgtyp, msgflg, &dl);
	}
	return msg_receive(id, msgp, msgsz, msgtyp, msgflg, NULL);
}

ZIPC_API int
zipc_queue_from_msqid(int id, zipc_queue **out)
{
	struct zipc_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	int r = map_queue(id, q);
	if (r < 0) {
		free(q);
		return r;
	}
	*out = q;
	return 0;
}

/* ---- the libc-compatible face ----------------------------------------- */

ZIPC_API int
zipc_msgget(key_t key, int msgflg)
{
	return ret_errno(zipc_queue_get(key, msgflg));
}

ZIPC_API int
zipc_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg)
{
	return ret_errno(msg_send(msqid, msgp, msgsz, msgflg, NULL));
}

ZIPC_API ssize_t
zipc_msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp, int msgflg)
{
	return ret_errno_long(
		msg_receive(msqid, msgp, msgsz, msgtyp, msgflg, NULL));
}

ZIPC_API int
zipc_msgctl(int msqid, int cmd, struct msqid_ds *buf)
{
	return ret_errno(zipc_queue_ctl(msqid, cmd, buf));
}
