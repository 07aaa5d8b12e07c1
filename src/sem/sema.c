/* SPDX-License-Identifier: MIT */
/*
 * POSIX semaphores, unnamed (in the caller's sem_t) and named (a file in
 * the store's "zipc.posix-sem" directory, mapped). Lock-free.
 *
 * Protocol. sa_value is the count; sa_waiters counts sleepers. post is one
 * CAS that adds 1, then a FUTEX_WAKE only if sa_waiters is non-zero: no
 * lock, so it is async-signal-safe (signal-safety(7) lists sem_post). wait
 * is one CAS that takes 1 when the count is positive; otherwise it counts
 * itself in sa_waiters, re-checks, and sleeps on sa_value while it is 0.
 * Both the waker's CAS and its load of sa_waiters, and the sleeper's
 * increment and its re-check, are seq_cst (Dekker): either the sleeper
 * sees the count or the poster sees the sleeper. A sleeper killed while
 * counted leaves sa_waiters high; that costs later posts a needless
 * FUTEX_WAKE, never a lost wake-up.
 *
 * Every wait has a deadline (a far one for sem_wait), because a timed
 * FUTEX_WAIT fails with EINTR after a signal handler whatever SA_RESTART
 * says, as signal(7) requires of sem_wait. A named semaphore's file holds
 * the header, the semaphore at offset 64 and a readiness FIFO's state:
 * posters touch the FIFO only while rf_watchers is non-zero.
 */
#include <fcntl.h>
#include <stdarg.h>
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "posix_name.h"
#include "semint.h"
#include "wait.h"
#include "zipc.h"
#include "zipc_compat.h"

static struct zipc_sema *
S(void *p)
{
	return p;
}

static int
priv_flag(const struct zipc_sema *s)
{
	return (ld_relaxed(&s->sa_flags) & SEMA_SHARED) ? 0
						       : FUTEX_PRIVATE_FLAG;
}

static struct zipc_sema_file *
file_of(struct zipc_sema *s)
{
	return (struct zipc_sema_file *)s;
}

/* ---- readiness (named only) -------------------------------------------- */

static void
rf_flip(struct zipc_sema *s)
{
	struct zipc_sema_file *f = file_of(s);
	char fname[128];
	/* The FIFO is named after the file's inode number, made at watch. */
	uint32_t want = 0;
	while (!cas_acq(&f->sf_lock, &want, 1)) {
		want = 0;
		cpu_relax();
	}
	snprintf(fname, sizeof(fname), "zipc.sema.%llu.ready",
		 (unsigned long long)ld_relaxed(&f->sf_resv[0]) |
			 (unsigned long long)ld_relaxed(&f->sf_resv[1]) << 32);
	zipc__readyfd_sync(&f->sf_rf, fname, ld_seq(&s->sa_value) > 0);
	st_release(&f->sf_lock, 0);
}

static inline void
rf_check(struct zipc_sema *s)
{
	if (unlikely(ld_relaxed(&s->sa_flags) & SEMA_NAMED) &&
	    unlikely(ld_relaxed(&file_of(s)->sf_rf.rf_watchers) ||
		     ld_relaxed(&file_of(s)->sf_rf.rf_armed)))
		rf_flip(s);
}

/* ---- core -------------------------------------------------------------- */

static int
sema_valid(const struct zipc_sema *s)
{
	return s && ld_relaxed(&s->sa_magic) == SEMA_MAGIC;
}

ZIPC_API int
zipc_sema_init(zipc_sema_t *sem, int pshared, unsigned value)
{
	struct zipc_sema *s = S(sem);
	if (!sem)
		return -EINVAL;
	if (value > SEM_VALUE_MAX)
		return -EINVAL;
	memset(s, 0, sizeof(*s));
	s->sa_value = value;
	s->sa_flags = pshared ? SEMA_SHARED : 0;
	/* Partner: whoever sees the magic sees the rest. */
	st_release(&s->sa_magic, SEMA_MAGIC);
	return 0;
}

ZIPC_API int
zipc_sema_destroy(zipc_sema_t *sem)
{
	struct zipc_sema *s = S(sem);
	if (!sema_valid(s) || (ld_relaxed(&s->sa_flags) & SEMA_NAMED))
		return -EINVAL;
	st_relaxed(&s->sa_magic, 0);
	return 0;
}

ZIPC_API int
zipc_sema_post(zipc_sema_t *sem)
{
	struct zipc_sema *s = S(sem);
	if (unlikely(!sema_valid(s)))
		return -EINVAL;
	uint32_t v = ld_relaxed(&s->sa_value);
	do {
		if (unlikely(v >= SEM_VALUE_MAX))
			return -EOVERFLOW;
		/* Partner: the acquire CAS of the taker in try_take. */
	} while (!cas_seq(&s->sa_value, &v, v + 1));
	ZIPC_CRASH("sema.post.added");
	/* Partner: the seq_cst increment of sa_waiters in sema_wait_slow. */
	if (unlikely(ld_seq(&s->sa_waiters)))
		syscall(SYS_futex, &s->sa_value, FUTEX_WAKE | priv_flag(s), 1,
			NULL, NULL, 0);
	rf_check(s);
	return 0;
}

static inline int
try_take(struct zipc_sema *s)
{
	uint32_t v = ld_relaxed(&s->sa_value);
	while (v > 0 && v <= SEM_VALUE_MAX)
		if (cas_seq(&s->sa_value, &v, v - 1))
			return 1;
	return 0;
}

ZIPC_API int
zipc_sema_trywait(zipc_sema_t *sem)
{
	struct zipc_sema *s = S(sem);
	if (unlikely(!sema_valid(s)))
		return -EINVAL;
	if (try_take(s)) {
		rf_check(s);
		return 0;
	}
	return -EAGAIN;
}

/* Spin a while (wait.h) for a post before sleeping. */
static int
spin_take(struct zipc_sema *s)
{
	for (int i = 0; i < 4; i++) {
		if (!zipc__spin_while(&s->sa_value, 0))
			return 0;
		if (try_take(s))
			return 1;
	}
	return 0;
}

/* Sleep until taken or the deadline on @clock passes (-ETIMEDOUT), or a
 * handler runs (-EINTR). @abs NULL: no deadline. */
static int
sema_wait_slow(struct zipc_sema *s, clockid_t clock,
	       const struct timespec *abs)
{
	if (spin_take(s))
		return 0;
	struct timespec far;
	if (!abs) {
		clock_gettime(CLOCK_MONOTONIC, &far);
		far.tv_sec += 365 * 24 * 3600;
		abs = &far;
		clock = CLOCK_MONOTONIC;
	}
	int op = FUTEX_WAIT_BITSET | priv_flag(s);
	if (clock == CLOCK_REALTIME)
		op |= FUTEX_CLOCK_REALTIME;
	fetch_add_seq(&s->sa_waiters, 1);
	ZIPC_CRASH("sema.wait.counted");
	int r = 0;
	long slice_ns = 10000000L;
	for (;;) {
		if (try_take(s))
			break;
		if (abs->tv_sec < 0) {
			r = -ETIMEDOUT;
			break;
		}
		/* A poster killed between its CAS and its FUTEX_WAKE leaves
		 * us unwoken: sleep in slices (10 ms doubling to 1 s) and
		 * look again, so a waiter always proceeds. */
		const struct timespec *t = abs;
		struct timespec slice;
		if (clock == CLOCK_MONOTONIC) {
			clock_gettime(CLOCK_MONOTONIC, &slice);
			slice.tv_nsec += slice_ns;
			slice.tv_sec += slice.tv_nsec / 1000000000;
			slice.tv_nsec %= 1000000000;
			if (slice.tv_sec < abs->tv_sec ||
			    (slice.tv_sec == abs->tv_sec &&
			     slice.tv_nsec < abs->tv_nsec))
				t = &slice;
			if (slice_ns < 1000000000L)
				slice_ns *= 2;
		}
		long k = syscall(SYS_futex, &s->sa_value, op, 0, t, NULL,
				 FUTEX_BITSET_MATCH_ANY);
		if (k < 0 && errno == ETIMEDOUT && t != abs)
			continue;
		if (k < 0 && errno == ETIMEDOUT) {
			r = try_take(s) ? 0 : -ETIMEDOUT;
			break;
		}
		if (k < 0 && errno == EINTR) {
			r = -EINTR;
			break;
		}
	}
	uint32_t w = ld_relaxed(&s->sa_waiters);
	while (w && !cas_seq(&s->sa_waiters, &w, w - 1))
		;
	return r;
}

static int
ts_ok(const struct timespec *t)
{
	return t->tv_nsec >= 0 && t->tv_nsec < 1000000000L;
}

static int
sema_wait(struct zipc_sema *s, clockid_t clock, const struct timespec *abs,
	  int check_ts)
{
	if (unlikely(!sema_valid(s)))
		return -EINVAL;
	/* glibc (2.36, checked here) refuses a bad tv_nsec before trying,
	 * even when the semaphore could be taken. */
	if (check_ts && (!abs || !ts_ok(abs)))
		return -EINVAL;
	if (likely(try_take(s))) {
		rf_check(s);
		return 0;
	}
	int r = sema_wait_slow(s, clock, abs);
	if (r == 0)
		rf_check(s);
	return r;
}

ZIPC_API int
zipc_sema_wait(zipc_sema_t *sem, int64_t timeout_ns)
{
	struct zipc_sema *s = S(sem);
	if (timeout_ns == 0)
		return zipc_sema_trywait(sem);
	if (timeout_ns < 0)
		return sema_wait(s, CLOCK_MONOTONIC, NULL, 0);
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_sec += timeout_ns / 1000000000;
	t.tv_nsec += timeout_ns % 1000000000;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_nsec -= 1000000000L;
		t.tv_sec++;
	}
	return sema_wait(s, CLOCK_MONOTONIC, &t, 0);
}

ZIPC_API int
zipc_sema_getvalue(zipc_sema_t *sem)
{
	struct zipc_sema *s = S(sem);
	if (!sema_valid(s))
		return -EINVAL;
	return (int)ld_relaxed(&s->sa_value);
}

/* ---- named semaphores -------------------------------------------------- */

struct named {
	struct named *next;
	void *base;
	dev_t dev;
	ino_t ino;
	int refs;
};
static struct named *named_list;
static pthread_mutex_t named_mutex = PTHREAD_MUTEX_INITIALIZER;

static mode_t
cur_umask(void)
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

static int
named_init(struct zipc_obj *o, void *arg)
{
	unsigned value = *(unsigned *)arg;
	struct zipc_sema_file *f =
		(void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
	struct stat st;
	f->sf_sem.sa_value = value;
	f->sf_sem.sa_flags = SEMA_SHARED | SEMA_NAMED;
	if (fstat(o->o_fd, &st) == 0) {
		f->sf_resv[0] = (uint32_t)st.st_ino;
		f->sf_resv[1] = (uint32_t)((uint64_t)st.st_ino >> 32);
	}
	f->sf_sem.sa_magic = SEMA_MAGIC;
	return 0;
}

ZIPC_API int
zipc_sema_open(const char *name, int oflag, mode_t mode, unsigned value,
	       zipc_sema_t **out)
{
	char fname[512];
	struct zipc_obj o;
	int r = zipc__posix_fname(fname, sizeof(fname), ZIPC_NS_SEM, name,
				  oflag & O_CREAT);
	if (r < 0)
		return r;
	if ((oflag & O_CREAT) && value > SEM_VALUE_MAX)
		return -EINVAL;
	for (int tries = 0;; tries++) {
		if (!((oflag & O_CREAT) && (oflag & O_EXCL))) {
			r = zipc__obj_open(fname, ZIPC_KIND_POSIX_SEM, SEMA_SIG,
					   &o);
			if (r != -ENOENT || !(oflag & O_CREAT))
				break;
		}
		r = zipc__obj_create(fname, ZIPC_KIND_POSIX_SEM, SEMA_SIG,
				     SEMA_FILE_SIZE,
				     (uint32_t)sizeof(struct zipc_seg_hdr), 0,
				     (mode & 0777) & ~cur_umask(), named_init,
				     &value, &o);
		if (r != -EEXIST || (oflag & O_EXCL) || tries > 8)
			break;
	}
	if (r == -EAGAIN)
		r = -ENOENT; /* being built: as if not yet there */
	if (r < 0)
		return r;
	if (o.o_size != SEMA_FILE_SIZE) {
		zipc__obj_close(&o);
		return -EBADMSG;
	}
	/* The same semaphore opened twice gives the same address (POSIX). */
	pthread_mutex_lock(&named_mutex);
	struct named *n;
	for (n = named_list; n; n = n->next)
		if (n->dev == o.o_dev && n->ino == o.o_ino)
			break;
	if (n) {
		n->refs++;
		zipc__obj_close(&o);
	} else {
		n = calloc(1, sizeof(*n));
		if (!n) {
			pthread_mutex_unlock(&named_mutex);
			zipc__obj_close(&o);
			return -ENOMEM;
		}
		n->base = o.o_base;
		n->dev = o.o_dev;
		n->ino = o.o_ino;
		n->refs = 1;
		n->next = named_list;
		named_list = n;
		close(o.o_fd);
	}
	*out = (zipc_sema_t *)((char *)n->base + sizeof(struct zipc_seg_hdr));
	pthread_mutex_unlock(&named_mutex);
	return 0;
}

ZIPC_API int
zipc_sema_close(zipc_sema_t *sem)
{
	void *base = (char *)sem - sizeof(struct zipc_seg_hdr);
	pthread_mutex_lock(&named_mutex);
	struct named **pp, *n;
	for (pp = &named_list; (n = *pp); pp = &n->next)
		if (n->base == base)
			break;
	if (!n) {
		pthread_mutex_unlock(&named_mutex);
		return -EINVAL;
	}
	if (--n->refs == 0) {
		*pp = n->next;
		munmap(n->base, SEMA_FILE_SIZE);
		free(n);
	}
	pthread_mutex_unlock(&named_mutex);
	return 0;
}

ZIPC_API int
zipc_sema_unlink(const char *name)
{
	char fname[512], path[4096];
	int r = zipc__posix_fname(fname, sizeof(fname), ZIPC_NS_SEM, name, 0);
	if (r < 0)
		return r;
	if ((r = zipc__path(path, sizeof(path), fname)) < 0)
		return r;
	/* The name goes now; mappings keep the semaphore alive (POSIX). Its
	 * readiness FIFO, if any was made, is named after the inode. */
	struct stat st;
	int have = stat(path, &st) == 0;
	if (unlink(path) < 0)
		return errno == EISDIR ? -EINVAL : -errno;
	if (have) {
		snprintf(fname, sizeof(fname), "zipc.sema.%llu.ready",
			 (unsigned long long)st.st_ino);
		zipc__readyfd_unlink(fname);
	}
	return 0;
}

ZIPC_API int
zipc_sema_fd(zipc_sema_t *sem)
{
	struct zipc_sema *s = S(sem);
	char fname[128];
	if (!sema_valid(s) || !(ld_relaxed(&s->sa_flags) & SEMA_NAMED))
		return -EINVAL;
	struct zipc_sema_file *f = file_of(s);
	snprintf(fname, sizeof(fname), "zipc.sema.%llu.ready",
		 (unsigned long long)ld_relaxed(&f->sf_resv[0]) |
			 (unsigned long long)ld_relaxed(&f->sf_resv[1]) << 32);
	int r = zipc__readyfd_create(fname, 0666);
	if (r < 0)
		return r;
	r = zipc__readyfd_watch(&f->sf_rf, fname);
	if (r >= 0)
		rf_flip(s);
	return r;
}

ZIPC_API int
zipc_sema_fd_close(zipc_sema_t *sem, int fd)
{
	struct zipc_sema *s = S(sem);
	if (!sema_valid(s) || !(ld_relaxed(&s->sa_flags) & SEMA_NAMED))
		return -EINVAL;
	zipc__readyfd_unwatch(&file_of(s)->sf_rf, fd);
	return 0;
}

/* ---- the libc face ------------------------------------------------------ */

ZIPC_API int
zipc_sem_init(sem_t *sem, int pshared, unsigned int value)
{
	return ret_errno(zipc_sema_init((zipc_sema_t *)sem, pshared, value));
}

ZIPC_API int
zipc_sem_destroy(sem_t *sem)
{
	return ret_errno(zipc_sema_destroy((zipc_sema_t *)sem));
}

ZIPC_API sem_t *
zipc_sem_open(const char *name, int oflag, ...)
{
	mode_t mode = 0;
	unsigned value = 0;
	zipc_sema_t *s;
	if (oflag & O_CREAT) {
		va_list ap;
		va_start(ap, oflag);
		mode = (mode_t)va_arg(ap, unsigned int);
		value = va_arg(ap, unsigned int);
		va_end(ap);
	}
	int r = zipc_sema_open(name, oflag, mode, value, &s);
	if (r < 0) {
		errno = -r;
		return SEM_FAILED;
	}
	return (sem_t *)s;
}

ZIPC_API int
zipc_sem_close(sem_t *sem)
{
	return ret_errno(zipc_sema_close((zipc_sema_t *)sem));
}

ZIPC_API int
zipc_sem_unlink(const char *name)
{
	return ret_errno(zipc_sema_unlink(name));
}

ZIPC_API int
zipc_sem_wait(sem_t *sem)
{
	return ret_errno(sema_wait(S(sem), CLOCK_MONOTONIC, NULL, 0));
}

ZIPC_API int
zipc_sem_trywait(sem_t *sem)
{
	return ret_errno(zipc_sema_trywait((zipc_sema_t *)sem));
}

ZIPC_API int
zipc_sem_timedwait(sem_t *sem, const struct timespec *abstime)
{
	return ret_errno(sema_wait(S(sem), CLOCK_REALTIME, abstime, 1));
}

ZIPC_API int
zipc_sem_clockwait(sem_t *sem, clockid_t clockid,
		   const struct timespec *abstime)
{
	if (clockid != CLOCK_REALTIME && clockid != CLOCK_MONOTONIC)
		return ret_errno(-EINVAL);
	return ret_errno(sema_wait(S(sem), clockid, abstime, 1));
}

ZIPC_API int
zipc_sem_post(sem_t *sem)
{
	return ret_errno(zipc_sema_post((zipc_sema_t *)sem));
}

ZIPC_API int
zipc_sem_getvalue(sem_t *sem, int *sval)
{
	int r = zipc_sema_getvalue((zipc_sema_t *)sem);
	if (r < 0)
		return ret_errno(r);
	*sval = r;
	return 0;
}
