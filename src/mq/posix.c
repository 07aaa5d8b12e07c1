/* SPDX-License-Identifier: MIT */
/*
 * The POSIX face (mq_open and the rest) and the native zipc_queue_* API
 * over the queue engine.
 *
 * Names. glibc's mq_open takes "/name" and the kernel looks "name" up in
 * the mqueue filesystem: a name without its leading slash is EINVAL, an
 * empty one ENOENT, one with another slash (or "." / "..") EACCES, one
 * over NAME_MAX ENAMETOOLONG -- checked here in that order, then the queue
 * is the file "zipc.posix-mq/name" of the store.
 *
 * Descriptors. An mqd_t is the descriptor of the queue's own object file
 * (O_CLOEXEC, as mq_open's), so it is a real fd: it is unique, closes with
 * the process, survives fork as the kernel's do, and maps back to this
 * process's handle through a two-level table indexed by fd that readers
 * use without a lock. It is not a readiness fd: counting every mqd_t as a
 * watcher would make every send and receive of every program pay a system
 * call to keep a FIFO in step, which is what zipc exists to avoid. A
 * program that polls asks for a readiness fd (zipc_mq_fd), and pays only
 * while it watches.
 *
 * Notification. The registration (process, kind, signal, value) lives in
 * the queue, so any sender can fire it: SIGEV_SIGNAL is sent with
 * rt_sigqueueinfo() carrying si_code SI_MESGQ, the registered value and the
 * sender's pid and uid, as the kernel's __do_notify() fills it. For
 * SIGEV_THREAD the registering process starts a helper thread holding its
 * own mapping of the queue, asleep on mq_nseq; a sender marks the
 * registration fired and wakes it, and the helper runs the function in a
 * new thread with the registered attributes. A registration whose process
 * died is dropped by whoever finds it (mq_notify, a sender, repair).
 *
 * Limits. A new queue is checked in the kernel's order: queues_max
 * (ENOSPC), the attributes (EINVAL), RLIMIT_MSGQUEUE (EMFILE); the
 * charge is taken from the store's init callback, before the name is
 * published, and every open holds the queue with flock(LOCK_SH) so an
 * unlinked queue counts until its last close. The ledger and why it
 * survives SIGKILL: mq_limits.c.
 */
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "sysctl.h"
#include "internal.h"
#include "mq.h"
#include "mq_limits.h"
#include "posix_name.h"
#include "zipc.h"
#include "zipc_compat.h"

#define HARD_MSGMAX	65536
#define HARD_MSGSIZEMAX (16 * 1024 * 1024)
#ifndef MQ_PRIO_MAX
#define MQ_PRIO_MAX 32768
#endif

/* ---- names ----------------------------------------------------------- */

static int
check_name(const char *name, char *fname, size_t len, int create)
{
	if (!name)
		return -EFAULT;
	if (name[0] != '/')
		return -EINVAL;
	const char *n = name + 1;
	size_t l = strlen(n);
	if (l == 0)
		return -ENOENT;
	if (strchr(n, '/') || strcmp(n, ".") == 0 || strcmp(n, "..") == 0)
		return -EACCES;
	if (l > NAME_MAX)
		return -ENAMETOOLONG;
	return zipc__posix_fname(fname, len, ZIPC_NS_MQ, n, create);
}

static void
fifo_stem(char *buf, size_t len, uint64_t stamp)
{
	snprintf(buf, len, "zipc.mqfifo.%016llx", (unsigned long long)stamp);
}

static mode_t
current_umask(void)
{
	FILE *f = fopen("/proc/self/status", "re");
	char line[128];
	unsigned m = 022;
	if (!f)
		return 022;
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "Umask: %o", &m) == 1)
			break;
	fclose(f);
	return (mode_t)m;
}

static uint64_t
new_stamp(void)
{
	struct timespec ts;
	static uint32_t counter;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t x = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	x ^= (uint64_t)getpid() << 40;
	x += __atomic_fetch_add(&counter, 1, __ATOMIC_RELAXED);
	return x ? x : 1;
}

/* ---- open / close / unlink ----------------------------------------------- */

static int
adopt_posix(struct zipc_queue *q)
{
	char stem[64];
	fifo_stem(stem, sizeof(stem), zipc__obj_hdr(&q->q_obj)->sh_generation);
	int r = zipc__mq_adopt(q, stem);
	if (r == 0 && q->q_face != ZIPC_MQ_POSIX)
		r = -EBADMSG;
	q->q_id = -1;
	return r;
}

/*
 * The attributes of a new queue: *@maxmsg and *@msgsize from @a or the
 * defaults, and 0 or -EINVAL as mqueue_get_inode() judges them. The
 * caller reports the EINVAL only after the namespace count (ENOSPC), in
 * the kernel's order.
 */
static int
attr_values(const struct zipc_queue_attr *a, uint64_t *maxmsg,
	    uint64_t *msgsize)
{
	uint64_t max = zipc__sysctl_u64("/proc/sys/fs/mqueue/msg_max", 10);
	uint64_t size_max = zipc__sysctl_u64(
		"/proc/sys/fs/mqueue/msgsize_max", 8192);
	if (!a) {
		uint64_t d = zipc__sysctl_u64("/proc/sys/fs/mqueue/msg_default",
					     10);
		uint64_t ds = zipc__sysctl_u64(
			"/proc/sys/fs/mqueue/msgsize_default", 8192);
		*maxmsg = d < max ? d : max;
		*msgsize = ds < size_max ? ds : size_max;
		return 0;
	}
	*maxmsg = *msgsize = 0;
	if (a->maxmsg <= 0 || a->msgsize <= 0)
		return -EINVAL;
	*maxmsg = (uint64_t)a->maxmsg;
	*msgsize = (uint64_t)a->msgsize;
	if (zipc__mq_cap_resource()) {
		if (*maxmsg > HARD_MSGMAX || *msgsize > HARD_MSGSIZEMAX)
			return -EINVAL;
	} else if (*maxmsg > max || *msgsize > size_max) {
		return -EINVAL;
	}
	return 0;
}

/* The store's init callback for a new POSIX queue: the engine's init,
 * then the charge against both limits (mq_limits.c), before the object
 * is published under its name. */
struct create_arg {
	struct zipc_mq_geom *geom;
	uint64_t bytes;
	struct zipc_mqlim_charge charge;
	int charged;
};

static int
create_init(struct zipc_obj *o, void *arg)
{
	struct create_arg *ca = arg;
	int r = zipc__mq_init(o, ca->geom);
	if (r < 0)
		return r;
	r = zipc__mqlim_charge(o->o_fd, zipc__obj_hdr(o)->sh_generation,
			       ca->bytes, &ca->charge);
	if (r == 0)
		ca->charged = 1;
	return r;
}

/*
 * Create queue @fname: the kernel's checks in its order (ENOSPC, EINVAL,
 * EMFILE; ENOMEM for a geometry zipc cannot lay out), then the object.
 * The limits are checked for good by the charge in create_init; a scan
 * beforehand is only needed to order them before an error found first.
 * -EEXIST if somebody else published the name first.
 */
static int
create_queue(const char *fname, mode_t mode,
	     const struct zipc_queue_attr *attr, struct zipc_obj *out)
{
	uint64_t maxmsg, msgsize;
	int r = attr_values(attr, &maxmsg, &msgsize);
	if (r < 0) /* unless the namespace is full (ENOSPC comes first) */
		return zipc__mqlim_precheck(r, 0);
	uint64_t bytes = zipc__mqlim_bytes(maxmsg, msgsize);
	struct zipc_mq_geom g = {0};
	if ((r = zipc__mq_geom_posix(&g, maxmsg, msgsize)) < 0) {
		/* Too big for zipc's layout; the kernel, which has no such
		 * limit, would first have said ENOSPC or EMFILE. */
		int l = zipc__mqlim_precheck(0, bytes);
		return l < 0 ? l : r == -EINVAL ? -ENOMEM : r;
	}
	mode_t m = mode & ~current_umask() & 0777;
	g.mode = (uint32_t)m;
	g.id = -1;
	struct create_arg ca = {&g, bytes, {{0}}, 0};
	r = zipc__obj_create(fname, ZIPC_KIND_POSIX_MQ, ZIPC_MQ_SIG, g.size,
			     ZIPC_MQ_ARENA_OFF, new_stamp(),
			     0600 | zipc__ipc_file_mode(m), create_init, &ca,
			     out);
	if (r < 0 && ca.charged)
		zipc__mqlim_cancel(&ca.charge);
	return r;
}

/* Does @fname exist now? (A creation refused for a limit raced with a
 * creator of the same name: the kernel, which serialises the two, would
 * have opened theirs or said EEXIST.) */
static int
name_exists(const char *fname)
{
	char path[4096];
	struct stat st;
	return zipc__path(path, sizeof(path), fname) == 0 &&
	       stat(path, &st) == 0;
}

ZIPC_API int
zipc_queue_open(const char *name, int oflag, mode_t mode,
		const struct zipc_queue_attr *attr, zipc_queue **out)
{
	char fname[512];
	int r = check_name(name, fname, sizeof(fname), oflag & O_CREAT);
	if (r < 0)
		return r;
	struct zipc_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	for (int tries = 0;; tries++) {
		r = zipc__obj_open(fname, ZIPC_KIND_POSIX_MQ, ZIPC_MQ_SIG,
				   &q->q_obj);
		if (r == 0 && (r = zipc__mqlim_hold(q->q_obj.o_fd)) < 0) {
			/* Destroyed between our open and our hold: as if
			 * the name had not been found (mq_limits.c). */
			zipc__obj_close(&q->q_obj);
			if (r != -ENOENT)
				goto fail;
		}
		if (r == 0) {
			if ((oflag & (O_CREAT | O_EXCL)) ==
			    (O_CREAT | O_EXCL)) {
				r = -EEXIST;
				goto fail_close;
			}
			if ((oflag & O_ACCMODE) == O_ACCMODE) {
				r = -EINVAL;
				goto fail_close;
			}
			if ((r = adopt_posix(q)) < 0)
				goto fail_close;
			static const int acc[] = {0444, 0222, 0666};
			r = zipc__ipcperms(&q->q_ctl->mq_perm,
					   acc[oflag & O_ACCMODE]);
			if (r < 0)
				goto fail_close;
			break;
		}
		if (r == -EACCES && !(oflag & O_CREAT))
			goto fail;
		if (r != -ENOENT && r != -EIDRM)
			goto fail;
		if (!(oflag & O_CREAT)) {
			r = -ENOENT;
			goto fail;
		}
		if (tries > 8) {
			r = -EAGAIN;
			goto fail;
		}
		r = create_queue(fname, mode, attr, &q->q_obj);
		if (r == -EEXIST) {
			if (oflag & O_EXCL)
				goto fail;
			continue; /* someone else made it: open theirs */
		}
		if ((r == -ENOSPC || r == -EMFILE) && name_exists(fname))
			continue; /* the kernel would have found theirs */
		if (r < 0)
			goto fail;
		if ((r = adopt_posix(q)) < 0)
			goto fail_close;
		break;
	}
	q->q_oflag = oflag & (O_ACCMODE | O_NONBLOCK);
	*out = q;
	return 0;
fail_close:
	zipc__obj_close(&q->q_obj);
fail:
	free(q);
	return r;
}

ZIPC_API int
zipc_queue_unlink(const char *name)
{
	char fname[512], path[4096], stem[64];
	int r = check_name(name, fname, sizeof(fname), 0);
	if (r < 0)
		return r;
	if ((r = zipc__path(path, sizeof(path), fname)) < 0)
		return r;
	struct zipc_obj o;
	uint64_t stamp = 0;
	if (zipc__obj_open(fname, ZIPC_KIND_POSIX_MQ, ZIPC_MQ_SIG, &o) == 0) {
		stamp = zipc__obj_hdr(&o)->sh_generation;
		zipc__obj_close(&o);
	}
	if (unlink(path) < 0)
		return -errno;
	/* Destroyed now if nobody has it open: give back its charge. */
	zipc__mqlim_reap();
	if (stamp) {
		char f[96];
		fifo_stem(stem, sizeof(stem), stamp);
		snprintf(f, sizeof(f), "%s.rd", stem);
		zipc__readyfd_unlink(f);
		snprintf(f, sizeof(f), "%s.wr", stem);
		zipc__readyfd_unlink(f);
	}
	return 0;
}

static void notify_drop_own(struct zipc_queue *q);

ZIPC_API int
zipc_queue_close(zipc_queue *q)
{
	if (!q)
		return -EBADF;
	int unnamed = 0;
	if (q->q_face == ZIPC_MQ_POSIX) {
		notify_drop_own(q);
		unnamed = zipc__mqlim_unnamed(q->q_obj.o_fd);
	}
	zipc__obj_close(&q->q_obj);
	free(q);
	/* Perhaps the last close of an unlinked queue: its charge goes. */
	if (unnamed)
		zipc__mqlim_reap();
	return 0;
}

/* ---- send / receive ---------------------------------------------------- */

static int
send_common(struct zipc_queue *q, const void *buf, size_t len, unsigned prio,
	    int flags, const struct zipc_deadline *dl)
{
	if (prio >= MQ_PRIO_MAX)
		return -EINVAL;
	if ((q->q_oflag & O_ACCMODE) == O_RDONLY)
		return -EBADF;
	if (len > q->q_msgsize)
		return -EMSGSIZE;
	if (q->q_oflag & O_NONBLOCK)
		flags |= ZIPC_MQ_NONBLOCK;
	return zipc__mq_send(q, buf, len, prio, flags, dl);
}

static ssize_t
receive_common(struct zipc_queue *q, void *buf, size_t len, unsigned *prio,
	       int flags, const struct zipc_deadline *dl)
{
	if ((q->q_oflag & O_ACCMODE) == O_WRONLY)
		return -EBADF;
	if (len < q->q_msgsize)
		return -EMSGSIZE;
	if (q->q_oflag & O_NONBLOCK)
		flags |= ZIPC_MQ_NONBLOCK;
	int64_t ty = 0;
	ssize_t n = zipc__mq_receive(q, buf, len, &ty, ZIPC_SEL_FIRST, 0,
				     flags, dl);
	if (n == -ENOMSG)
		return -EAGAIN;
	if (n >= 0 && prio)
		*prio = (unsigned)ty;
	return n;
}

static int
native_deadline(int64_t timeout_ns, struct zipc_deadline *dl, int *flags)
{
	if (timeout_ns == 0) {
		*flags |= ZIPC_MQ_NONBLOCK;
		return 0;
	}
	if (timeout_ns < 0)
		return 0;
	struct timespec rel = {(time_t)(timeout_ns / 1000000000),
			       (long)(timeout_ns % 1000000000)};
	return zipc__deadline_rel(dl, &rel);
}

ZIPC_API int
zipc_queue_send(zipc_queue *q, const void *buf, size_t len, unsigned prio,
		int64_t timeout_ns)
{
	struct zipc_deadline dl = {0};
	int flags = 0;
	if (!q)
		return -EBADF;
	native_deadline(timeout_ns, &dl, &flags);
	if (q->q_face == ZIPC_MQ_XSI) {
		if (prio < 1)
			return -EINVAL;
		return zipc__mq_send(q, buf, len, prio, flags, &dl);
	}
	return send_common(q, buf, len, prio, flags, &dl);
}

ZIPC_API ssize_t
zipc_queue_receive(zipc_queue *q, void *buf, size_t len, unsigned *prio,
		   int64_t timeout_ns)
{
	struct zipc_deadline dl = {0};
	int flags = 0;
	if (!q)
		return -EBADF;
	native_deadline(timeout_ns, &dl, &flags);
	if (q->q_face == ZIPC_MQ_XSI) {
		int64_t ty = 0;
		ssize_t n = zipc__mq_receive(q, buf, len, &ty, ZIPC_SEL_FIRST,
					     0, flags, &dl);
		if (n >= 0 && prio)
			*prio = (unsigned)ty;
		return n == -ENOMSG ? -EAGAIN : n;
	}
	return receive_common(q, buf, len, prio, flags, &dl);
}

ZIPC_API int
zipc_mq_fd(zipc_queue *q, int cond)
{
	if (!q)
		return -EBADF;
	return zipc__mq_watch(q, cond);
}

ZIPC_API void
zipc_mq_fd_close(zipc_queue *q, int cond, int fd)
{
	if (q)
		zipc__mq_unwatch(q, cond, fd);
}

/* ---- mqd_t -> handle ------------------------------------------------------ */

#define TAB_L1 1024
#define TAB_L2 1024

static struct zipc_queue **table[TAB_L1];
static pthread_mutex_t table_mutex = PTHREAD_MUTEX_INITIALIZER;

static struct zipc_queue *
handle_of(int fd)
{
	if (fd < 0 || fd >= TAB_L1 * TAB_L2)
		return NULL;
	struct zipc_queue **chunk =
		__atomic_load_n(&table[fd / TAB_L2], __ATOMIC_ACQUIRE);
	if (!chunk)
		return NULL;
	return __atomic_load_n(&chunk[fd % TAB_L2], __ATOMIC_ACQUIRE);
}

static int
handle_set(int fd, struct zipc_queue *q)
{
	if (fd < 0 || fd >= TAB_L1 * TAB_L2)
		return -EMFILE;
	pthread_mutex_lock(&table_mutex);
	struct zipc_queue **chunk = table[fd / TAB_L2];
	if (!chunk) {
		chunk = calloc(TAB_L2, sizeof(*chunk));
		if (!chunk) {
			pthread_mutex_unlock(&table_mutex);
			return -ENOMEM;
		}
		/* Partner: the acquire load in handle_of. */
		__atomic_store_n(&table[fd / TAB_L2], chunk, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&chunk[fd % TAB_L2], q, __ATOMIC_RELEASE);
	pthread_mutex_unlock(&table_mutex);
	return 0;
}

ZIPC_API int
zipc_queue_from_mqd(int mqd, zipc_queue **out)
{
	struct zipc_queue *h = handle_of(mqd);
	if (!h)
		return -EBADF;
	struct zipc_queue *q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	*q = *h;
	q->q_obj.o_fd = fcntl(h->q_obj.o_fd, F_DUPFD_CLOEXEC, 0);
	q->q_obj.o_base = MAP_FAILED;
	if (q->q_obj.o_fd >= 0)
		q->q_obj.o_base = mmap(NULL, (size_t)h->q_obj.o_size,
				       PROT_READ | PROT_WRITE, MAP_SHARED,
				       q->q_obj.o_fd, 0);
	if (q->q_obj.o_base == MAP_FAILED) {
		int e = errno;
		if (q->q_obj.o_fd >= 0)
			close(q->q_obj.o_fd);
		free(q);
		return -e;
	}
	q->q_ctl = (void *)((char *)q->q_obj.o_base +
			    sizeof(struct zipc_seg_hdr));
	q->q_arena = (char *)q->q_obj.o_base + ZIPC_MQ_ARENA_OFF;
	*out = q;
	return 0;
}

/* ---- notification ----------------------------------------------------------- */

struct helper {
	struct zipc_queue q; /* its own mapping */
	uint64_t nid;
	void (*fn)(union sigval);
	union sigval value;
	pthread_attr_t attr;
	int has_attr;
};

static int
same_proc(const struct zipc_proc *a, const struct zipc_proc *b)
{
	return ld_relaxed(&a->pr_pid) == b->pr_pid &&
	       ld_relaxed(&a->pr_start) == b->pr_start;
}

static void
clear_registration(struct zipc_mq_ctl *c)
{
	st_relaxed(&c->mq_nkind, ZIPC_MQ_NOTIFY_NONE);
	st_relaxed(&c->mq_nproc.pr_pid, 0);
	ZIPC_CRASH("mq.notify.cleared");
	/* Wake a SIGEV_THREAD helper so it sees it is no longer wanted. */
	fetch_add_seq(&c->mq_nseq, 1);
	zipc__futex_wake(&c->mq_nseq, INT32_MAX);
}

void
zipc__mq_notify_fire(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint32_t kind = ld_relaxed(&c->mq_nkind);
	if (!zipc__proc_rec_alive(&c->mq_nproc)) {
		clear_registration(c);
		return;
	}
	/*
	 * Clear first, then deliver: a sender killed in between loses one
	 * notification, where the other order could leave a registration
	 * that already fired holding the queue (EBUSY) for ever.
	 */
	int sig = ld_relaxed(&c->mq_nsigno);
	pid_t pid = (pid_t)ld_relaxed(&c->mq_nproc.pr_pid);
	uint64_t value = ld_relaxed(&c->mq_nvalue);
	if (kind == ZIPC_MQ_NOTIFY_THREAD)
		st_relaxed(&c->mq_nfired, (uint32_t)ld_relaxed(&c->mq_nid));
	clear_registration(c);
	if (kind == ZIPC_MQ_NOTIFY_SIGNAL && sig) {
		siginfo_t si;
		memset(&si, 0, sizeof(si));
		si.si_signo = sig;
		si.si_code = SI_MESGQ;
		si.si_value.sival_ptr = (void *)(uintptr_t)value;
		si.si_pid = getpid();
		si.si_uid = getuid();
		syscall(SYS_rt_sigqueueinfo, pid, sig, &si);
	}
}

static void *
run_callback(void *arg)
{
	struct helper *h = arg;
	h->fn(h->value);
	if (h->has_attr)
		pthread_attr_destroy(&h->attr);
	free(h);
	return NULL;
}

static void *
helper_main(void *arg)
{
	struct helper *h = arg;
	struct zipc_mq_ctl *c = h->q.q_ctl;
	int fire = 0;
	sigset_t all;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	for (;;) {
		uint32_t seq = ld_seq(&c->mq_nseq);
		if (zipc__mq_lock(&h->q) < 0)
			break;
		if (ld_relaxed(&c->mq_nfired) == (uint32_t)h->nid) {
			st_relaxed(&c->mq_nfired, 0);
			fire = 1;
		}
		int mine = ld_relaxed(&c->mq_nkind) == ZIPC_MQ_NOTIFY_THREAD &&
			   ld_relaxed(&c->mq_nid) == h->nid;
		zipc__mq_unlock(&h->q);
		if (fire || !mine)
			break;
		struct zipc_deadline dl;
		struct timespec rel = {1, 0};
		zipc__deadline_rel(&dl, &rel);
		zipc__futex_wait(&c->mq_nseq, seq, &dl);
	}
	zipc__obj_close(&h->q.q_obj);
	if (fire) {
		pthread_t t;
		pthread_attr_t *a = h->has_attr ? &h->attr : NULL;
		pthread_attr_t dflt;
		if (!a) {
			pthread_attr_init(&dflt);
			a = &dflt;
		}
		pthread_attr_setdetachstate(a, PTHREAD_CREATE_DETACHED);
		if (pthread_create(&t, a, run_callback, h) == 0)
			return NULL;
	}
	if (h->has_attr)
		pthread_attr_destroy(&h->attr);
	free(h);
	return NULL;
}

static int
start_helper(struct zipc_queue *q, const struct sigevent *sev, uint64_t nid)
{
	struct helper *h = calloc(1, sizeof(*h));
	if (!h)
		return -ENOMEM;
	h->q = *q;
	h->q.q_obj.o_fd = fcntl(q->q_obj.o_fd, F_DUPFD_CLOEXEC, 0);
	if (h->q.q_obj.o_fd < 0) {
		free(h);
		return -EMFILE;
	}
	void *p = mmap(NULL, (size_t)q->q_obj.o_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, h->q.q_obj.o_fd, 0);
	if (p == MAP_FAILED) {
		close(h->q.q_obj.o_fd);
		free(h);
		return -ENOMEM;
	}
	/*
	 * The mapping is all the helper needs. Keeping the descriptor would
	 * keep the queue's hold (mq_limits.c) after its owner closed it, so
	 * an unlinked queue would count until the helper noticed.
	 */
	close(h->q.q_obj.o_fd);
	h->q.q_obj.o_fd = -1;
	h->q.q_obj.o_base = p;
	/* Every pointer into the object (control block, arena, bitmap,
	 * ring) must be into this mapping: the owner's goes with its
	 * handle. The readiness FIFO names are the owner's, copied. */
	int r = zipc__mq_adopt(&h->q, NULL);
	if (r < 0) {
		zipc__obj_close(&h->q.q_obj);
		free(h);
		return r;
	}
	h->nid = nid;
	h->fn = sev->sigev_notify_function;
	h->value = sev->sigev_value;
	if (sev->sigev_notify_attributes) {
		/* Keep a copy: the caller's may be gone when we fire. */
		pthread_attr_init(&h->attr);
		size_t ss;
		if (pthread_attr_getstacksize(sev->sigev_notify_attributes,
					      &ss) == 0)
			pthread_attr_setstacksize(&h->attr, ss);
		h->has_attr = 1;
	}
	pthread_t t;
	pthread_attr_t a;
	pthread_attr_init(&a);
	pthread_attr_setdetachstate(&a, PTHREAD_CREATE_DETACHED);
	r = pthread_create(&t, &a, helper_main, h);
	pthread_attr_destroy(&a);
	if (r) {
		zipc__obj_close(&h->q.q_obj);
		if (h->has_attr)
			pthread_attr_destroy(&h->attr);
		free(h);
		return -r;
	}
	return 0;
}

static void
notify_drop_own(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	struct zipc_proc self;
	zipc__proc_self(&self);
	if (ld_relaxed(&c->mq_nkind) == ZIPC_MQ_NOTIFY_NONE)
		return;
	if (zipc__mq_lock(q) < 0)
		return;
	if (ld_relaxed(&c->mq_nkind) != ZIPC_MQ_NOTIFY_NONE &&
	    same_proc(&c->mq_nproc, &self))
		clear_registration(c);
	zipc__mq_unlock(q);
}

static int
notify(struct zipc_queue *q, const struct sigevent *sev)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	struct zipc_proc self;
	zipc__proc_self(&self);
	int r = zipc__mq_lock(q);
	if (r < 0)
		return r;
	if (!sev) {
		if (ld_relaxed(&c->mq_nkind) != ZIPC_MQ_NOTIFY_NONE &&
		    same_proc(&c->mq_nproc, &self))
			clear_registration(c);
		zipc__mq_unlock(q);
		return 0;
	}
	if (ld_relaxed(&c->mq_nkind) != ZIPC_MQ_NOTIFY_NONE) {
		if (zipc__proc_rec_alive(&c->mq_nproc)) {
			zipc__mq_unlock(q);
			return -EBUSY;
		}
		clear_registration(c); /* its process died */
	}
	uint64_t nid = ld_relaxed(&c->mq_nid) + 1;
	if ((uint32_t)nid == 0)
		nid++;
	uint32_t kind = sev->sigev_notify == SIGEV_SIGNAL
				? ZIPC_MQ_NOTIFY_SIGNAL
			: sev->sigev_notify == SIGEV_THREAD
				? ZIPC_MQ_NOTIFY_THREAD
				: ZIPC_MQ_NOTIFY_QUIET;
	st_relaxed(&c->mq_nid, nid);
	st_relaxed(&c->mq_nsigno, sev->sigev_signo);
	st_relaxed(&c->mq_nvalue,
		   (uint64_t)(uintptr_t)sev->sigev_value.sival_ptr);
	st_relaxed(&c->mq_nproc.pr_start, self.pr_start);
	st_relaxed(&c->mq_nproc.pr_pid, self.pr_pid);
	ZIPC_CRASH("mq.notify.registering");
	st_relaxed(&c->mq_nkind, kind);
	if (kind == ZIPC_MQ_NOTIFY_THREAD &&
	    (r = start_helper(q, sev, nid)) < 0) {
		clear_registration(c);
		zipc__mq_unlock(q);
		return r;
	}
	zipc__mq_unlock(q);
	return 0;
}

/* ---- the libc-compatible face ------------------------------------------- */

ZIPC_API mqd_t
zipc_mq_open(const char *name, int oflag, ...)
{
	mode_t mode = 0;
	struct mq_attr *attr = NULL;
	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode = (mode_t)va_arg(ap, unsigned);
		attr = va_arg(ap, struct mq_attr *);
		va_end(ap);
	}
	struct zipc_queue_attr za, *zap = NULL;
	if (attr) {
		memset(&za, 0, sizeof(za));
		za.maxmsg = attr->mq_maxmsg;
		za.msgsize = attr->mq_msgsize;
		zap = &za;
	}
	struct zipc_queue *q;
	int r = zipc_queue_open(name, oflag, mode, zap, &q);
	if (r < 0)
		return (mqd_t)ret_errno(r);
	if ((r = handle_set(q->q_obj.o_fd, q)) < 0) {
		zipc_queue_close(q);
		return (mqd_t)ret_errno(r);
	}
	return (mqd_t)q->q_obj.o_fd;
}

ZIPC_API int
zipc_mq_close(mqd_t mqdes)
{
	struct zipc_queue *q = handle_of(mqdes);
	if (!q)
		return ret_errno(-EBADF);
	handle_set(mqdes, NULL);
	return ret_errno(zipc_queue_close(q));
}

ZIPC_API int
zipc_mq_unlink(const char *name)
{
	return ret_errno(zipc_queue_unlink(name));
}

static int
abs_deadline(const struct timespec *abs, struct zipc_deadline *dl)
{
	if (!abs)
		return 0;
	if (abs->tv_sec < 0 || abs->tv_nsec < 0 || abs->tv_nsec >= 1000000000L)
		return -EINVAL;
	return zipc__deadline_abs(dl, CLOCK_REALTIME, abs);
}

ZIPC_API int
zipc_mq_timedsend(mqd_t mqdes, const char *msg_ptr, size_t msg_len,
		  unsigned msg_prio, const struct timespec *abs_timeout)
{
	struct zipc_deadline dl = {0};
	int r = abs_deadline(abs_timeout, &dl);
	if (r < 0)
		return ret_errno(r);
	if (msg_prio >= MQ_PRIO_MAX)
		return ret_errno(-EINVAL);
	struct zipc_queue *q = handle_of(mqdes);
	if (!q)
		return ret_errno(-EBADF);
	return ret_errno(send_common(q, msg_ptr, msg_len, msg_prio,
				     ZIPC_MQ_RESTART, &dl));
}

ZIPC_API int
zipc_mq_send(mqd_t mqdes, const char *msg_ptr, size_t msg_len,
	     unsigned msg_prio)
{
	return zipc_mq_timedsend(mqdes, msg_ptr, msg_len, msg_prio, NULL);
}

ZIPC_API ssize_t
zipc_mq_timedreceive(mqd_t mqdes, char *msg_ptr, size_t msg_len,
		     unsigned *msg_prio, const struct timespec *abs_timeout)
{
	struct zipc_deadline dl = {0};
	int r = abs_deadline(abs_timeout, &dl);
	if (r < 0)
		return ret_errno(r);
	struct zipc_queue *q = handle_of(mqdes);
	if (!q)
		return ret_errno(-EBADF);
	return ret_errno_long(receive_common(q, msg_ptr, msg_len, msg_prio,
					     ZIPC_MQ_RESTART, &dl));
}

ZIPC_API ssize_t
zipc_mq_receive(mqd_t mqdes, char *msg_ptr, size_t msg_len,
		unsigned *msg_prio)
{
	return zipc_mq_timedreceive(mqdes, msg_ptr, msg_len, msg_prio, NULL);
}

ZIPC_API int
zipc_mq_setattr(mqd_t mqdes, const struct mq_attr *newattr,
		struct mq_attr *oldattr)
{
	if (newattr && (newattr->mq_flags & ~(long)O_NONBLOCK))
		return ret_errno(-EINVAL);
	struct zipc_queue *q = handle_of(mqdes);
	if (!q)
		return ret_errno(-EBADF);
	if (oldattr) {
		memset(oldattr, 0, sizeof(*oldattr));
		oldattr->mq_flags = q->q_oflag & O_NONBLOCK;
		oldattr->mq_maxmsg = (long)ld_relaxed(&q->q_ctl->mq_qbytes);
		oldattr->mq_msgsize = (long)q->q_msgsize;
		uint64_t msgs, bytes;
		zipc__mq_count(q->q_ctl, &msgs, &bytes);
		oldattr->mq_curmsgs = (long)msgs;
	}
	if (newattr)
		q->q_oflag = (q->q_oflag & ~O_NONBLOCK) |
			     (int)(newattr->mq_flags & O_NONBLOCK);
	return 0;
}

ZIPC_API int
zipc_mq_getattr(mqd_t mqdes, struct mq_attr *attr)
{
	return zipc_mq_setattr(mqdes, NULL, attr);
}

ZIPC_API int
zipc_mq_notify(mqd_t mqdes, const struct sigevent *sevp)
{
	if (sevp) {
		if (sevp->sigev_notify != SIGEV_NONE &&
		    sevp->sigev_notify != SIGEV_SIGNAL &&
		    sevp->sigev_notify != SIGEV_THREAD)
			return ret_errno(-EINVAL);
		if (sevp->sigev_notify == SIGEV_SIGNAL &&
		    (sevp->sigev_signo < 0 || sevp->sigev_signo > _NSIG - 1))
			return ret_errno(-EINVAL);
	}
	struct zipc_queue *q = handle_of(mqdes);
	if (!q)
		return ret_errno(-EBADF);
	return ret_errno(notify(q, sevp));
}
