/* SPDX-License-Identifier: MIT */
/*
 * The limits POSIX queues share with the kernel: queues_max (ENOSPC) and
 * RLIMIT_MSGQUEUE (EMFILE), differential against the kernel's own
 * mq_open. Each case runs in a forked child with a private IPC namespace
 * (its own queue count and /proc/sys/fs/mqueue, so concurrent tests do not
 * move the kernel's count) and, where the limit must bind, a private uid
 * (so nobody else's queues share the kernel's per-user charge). Then the
 * creators killed in the middle of a create or a reap: no charge outlives
 * its queue.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <mqueue.h>
#include <sched.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>
#include <sys/mman.h>

#include "internal.h"
#include "mq/mq.h"
#include "mq/mq_limits.h"
#include "testutil.h"
#include "zipc_compat.h"

#define SKIP	 77
#define DIFF_OPS 10000

static uid_t uid_base;
static int failures;
static char *skip_reason; /* shared with the children: why they skipped */

/* A child's reason to skip, for the TAP line and stderr. */
static int
skip_because(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(skip_reason, 256, fmt, ap);
	va_end(ap);
	fprintf(stderr, "# skip: %s\n", skip_reason);
	return SKIP;
}

#define CHECK(c, ...)                                                     \
	do {                                                              \
		if (!(c)) {                                               \
			fprintf(stderr, "# %s:%d: ", __FILE__, __LINE__); \
			fprintf(stderr, __VA_ARGS__);                     \
			fputc('\n', stderr);                              \
			failures++;                                       \
		}                                                         \
	} while (0)

/* ---- the child's world ---------------------------------------------- */

static int
write_sysctl(const char *name, long v)
{
	char path[128];
	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	int ok = fprintf(f, "%ld\n", v) > 0;
	return fclose(f) == 0 && ok ? 0 : -1;
}

static long
read_sysctl(const char *name)
{
	char path[128];
	long v = -1;
	snprintf(path, sizeof(path), "/proc/sys/fs/mqueue/%s", name);
	FILE *f = fopen(path, "re");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/*
 * In a forked child: a private IPC namespace, queues_max @qmax (0: keep
 * the namespace's default), RLIMIT_MSGQUEUE hard and soft @hard, and, if
 * @uid, that uid (no capabilities). 0, or SKIP with a reason.
 */
static int
enter(uid_t uid, long qmax, rlim_t hard)
{
	if (geteuid() != 0)
		return skip_because("needs root (a private IPC namespace)");
	if (unshare(CLONE_NEWIPC) < 0)
		return skip_because("unshare(CLONE_NEWIPC): %s",
				    strerror(errno));
	if (qmax > 0 && write_sysctl("queues_max", qmax) < 0) {
		long have = read_sysctl("queues_max");
		if (have < 0 || have > 1024)
			return skip_because("queues_max is %ld and cannot be "
					    "lowered in a private namespace: "
					    "filling it would take too long",
					    have);
	}
	/* Without CAP_SYS_RESOURCE (some containers drop it even for root)
	 * the hard limit can only come down. */
	struct rlimit rl;
	getrlimit(RLIMIT_MSGQUEUE, &rl);
	if (hard > rl.rlim_max && !zipc__mq_cap_resource())
		hard = rl.rlim_max;
	rl.rlim_cur = rl.rlim_max = hard;
	if (setrlimit(RLIMIT_MSGQUEUE, &rl) < 0) {
		fprintf(stderr, "# setrlimit: %s\n", strerror(errno));
		return 1;
	}
	if (uid) {
		if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) ||
		    setresuid(uid, uid, uid) < 0) {
			fprintf(stderr, "# become %u: %s\n", (unsigned)uid,
				strerror(errno));
			return 1;
		}
	}
	return 0;
}

static void
soft_limit(rlim_t soft)
{
	struct rlimit rl;
	getrlimit(RLIMIT_MSGQUEUE, &rl);
	rl.rlim_cur = soft;
	CHECK(setrlimit(RLIMIT_MSGQUEUE, &rl) == 0, "setrlimit %llu: %s",
	      (unsigned long long)soft, strerror(errno));
}

/* Open on one side; the errno (0 on success) and the descriptor. */
static int
k_open(const char *name, int oflag, const struct mq_attr *a, mqd_t *out)
{
	*out = mq_open(name, oflag, 0600, a);
	return *out == (mqd_t)-1 ? errno : 0;
}

static int
z_open(const char *name, int oflag, const struct mq_attr *a, mqd_t *out)
{
	*out = zipc_mq_open(name, oflag, 0600, a);
	return *out == (mqd_t)-1 ? errno : 0;
}

static struct mq_attr
attr(long maxmsg, long msgsize)
{
	struct mq_attr a;
	memset(&a, 0, sizeof(a));
	a.mq_maxmsg = maxmsg;
	a.mq_msgsize = msgsize;
	return a;
}

/* Open @name on both sides; they must agree. The errno, or -1 when the
 * two disagreed (then neither descriptor is kept). */
static int
both_open(const char *name, int oflag, const struct mq_attr *a, mqd_t *k,
	  mqd_t *z)
{
	int ek = k_open(name, oflag, a, k);
	int ez = z_open(name, oflag, a, z);
	if (ek == ez)
		return ek;
	CHECK(0, "%s oflag %#x attr %ld x %ld: kernel %s, zipc %s", name, oflag,
	      a ? a->mq_maxmsg : -1L, a ? a->mq_msgsize : -1L, strerror(ek),
	      strerror(ez));
	if (!ek)
		mq_close(*k);
	if (!ez)
		zipc_mq_close(*z);
	return -1;
}

static void
both_close(mqd_t k, mqd_t z)
{
	CHECK(mq_close(k) == 0, "mq_close");
	CHECK(zipc_mq_close(z) == 0, "zipc_mq_close");
}

static int
both_unlink(const char *name)
{
	int ek = mq_unlink(name) < 0 ? errno : 0;
	int ez = zipc_mq_unlink(name) < 0 ? errno : 0;
	CHECK(ek == ez, "unlink %s: kernel %s, zipc %s", name, strerror(ek),
	      strerror(ez));
	return ek;
}

/* Run @fn in a child: 0 passed, SKIP, or a failure. */
static int
run_child(int (*fn)(void *), void *arg)
{
	pid_t pid = tu_fork(fn, arg);
	return tu_wait(pid, 120000);
}

/* ---- RLIMIT_MSGQUEUE: the charge of one queue, to the byte ----------- */

struct shape {
	long maxmsg, msgsize; /* 0: mq_open with a NULL attr */
};

/* For each shape: the kernel and zipc both take a queue when the soft
 * limit is exactly zipc__mqlim_bytes() and both refuse (EMFILE) one byte
 * lower, which pins the formula to the kernel's. */
static void
bytes_exact(const struct shape *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		struct mq_attr a = attr(s[i].maxmsg, s[i].msgsize);
		const struct mq_attr *ap = s[i].maxmsg ? &a : NULL;
		long mm = ap ? s[i].maxmsg : read_sysctl("msg_default");
		long ms = ap ? s[i].msgsize : read_sysctl("msgsize_default");
		uint64_t b = zipc__mqlim_bytes((uint64_t)mm, (uint64_t)ms);
		mqd_t k, z;
		soft_limit(b);
		int e = both_open("/exact", O_RDWR | O_CREAT, ap, &k, &z);
		CHECK(e == 0, "%ld x %ld at %llu bytes: %s", mm, ms,
		      (unsigned long long)b, strerror(e));
		if (e == 0) {
			both_close(k, z);
			both_unlink("/exact");
		}
		soft_limit(b - 1);
		e = both_open("/exact", O_RDWR | O_CREAT, ap, &k, &z);
		CHECK(e == EMFILE, "%ld x %ld at %llu - 1 bytes: %s", mm, ms,
		      (unsigned long long)b, strerror(e));
		if (e == 0) {
			both_close(k, z);
			both_unlink("/exact");
		}
	}
}

static int
bytes_child(void *arg)
{
	(void)arg;
	int r = enter(uid_base + 1, 0, 1 << 20);
	if (r)
		return r;
	static const struct shape s[] = {
		{1, 1}, {10, 8192}, {3, 100}, {7, 1}, {10, 1}, {0, 0},
	};
	bytes_exact(s, ZIPC_ARRAY_SIZE(s));
	return failures ? 1 : 0;
}

/* Queues of more than MQ_PRIO_MAX messages, where min(maxmsg,
 * MQ_PRIO_MAX) tree nodes are charged: msg_max raised in the private
 * namespace, and a limit above the default 800 KiB, which only
 * CAP_SYS_RESOURCE may grant (the rlimit binds root too). */
static int
bytes_big_child(void *arg)
{
	(void)arg;
	if (!zipc__mq_cap_resource())
		return skip_because("queues past MQ_PRIO_MAX messages need "
				    "RLIMIT_MSGQUEUE above its hard limit, "
				    "and this root lacks CAP_SYS_RESOURCE");
	int r = enter(0, 0, 64 << 20);
	if (r)
		return r;
	if (write_sysctl("msg_max", 65536) < 0)
		return 1;
	static const struct shape s[] = {
		{32767, 1},
		{32768, 2},
		{32769, 1},
		{40000, 3},
	};
	bytes_exact(s, ZIPC_ARRAY_SIZE(s));
	return failures ? 1 : 0;
}

static int
test_bytes(void)
{
	return run_child(bytes_child, NULL);
}

static int
test_bytes_big(void)
{
	return run_child(bytes_big_child, NULL);
}

/* ---- queues_max -------------------------------------------------------- */

#define QMAX 8

struct pair {
	mqd_t k, z;
};

/* A holder of inherited descriptors: waits, then exits (closing them). */
static struct tu_gate hold_gate;

static int
holder(void *arg)
{
	(void)arg;
	return tu_gate_wait(&hold_gate, 60000) == 0 ? 0 : 1;
}

static int
qmax_child(void *arg)
{
	(void)arg;
	int r = enter(uid_base + 2, QMAX, 1 << 20);
	if (r)
		return r;
	long qmax = read_sysctl("queues_max");
	struct pair q[QMAX + 1];
	struct mq_attr a = attr(1, 16);
	char name[32];
	int n = 0;
	/* Fill the namespace: both sides refuse the same create. */
	for (;;) {
		snprintf(name, sizeof(name), "/q%d", n);
		int e = both_open(name, O_RDWR | O_CREAT, &a, &q[n].k, &q[n].z);
		if (e)
			break;
		if (++n > QMAX)
			break;
	}
	CHECK(n == qmax, "filled %d queues, queues_max %ld", n, qmax);
	snprintf(name, sizeof(name), "/q%d", n);
	int e = both_open(name, O_RDWR | O_CREAT, &a, &(mqd_t){0}, &(mqd_t){0});
	CHECK(e == ENOSPC, "full: %s", strerror(e));
	/* Full: a bad attr is still ENOSPC (the count comes first); an
	 * existing name is EEXIST with O_EXCL, and opens without it. */
	struct mq_attr bad = attr(0, 16);
	e = both_open(name, O_RDWR | O_CREAT, &bad, &(mqd_t){0}, &(mqd_t){0});
	CHECK(e == ENOSPC, "full, bad attr: %s", strerror(e));
	struct pair x;
	e = both_open("/q0", O_RDWR | O_CREAT | O_EXCL, &a, &x.k, &x.z);
	CHECK(e == EEXIST, "full, existing O_EXCL: %s", strerror(e));
	e = both_open("/q0", O_RDWR | O_CREAT, &a, &x.k, &x.z);
	CHECK(e == 0, "full, existing: %s", strerror(e));
	if (e == 0)
		both_close(x.k, x.z);
	/* Unlinked but open: still counts. */
	both_unlink("/q0");
	e = both_open(name, O_RDWR | O_CREAT, &a, &x.k, &x.z);
	CHECK(e == ENOSPC, "unlinked, open: %s", strerror(e));
	/* Closed here but held by a child through fork: still counts. */
	tu_gate_init(&hold_gate);
	pid_t h = tu_fork(holder, NULL);
	both_close(q[0].k, q[0].z);
	e = both_open(name, O_RDWR | O_CREAT, &a, &x.k, &x.z);
	CHECK(e == ENOSPC, "unlinked, held by a child: %s", strerror(e));
	tu_gate_open(&hold_gate);
	CHECK(tu_wait(h, 60000) == 0, "holder");
	/* The child's exit was the last close: the slot is free. */
	e = both_open(name, O_RDWR | O_CREAT, &a, &q[0].k, &q[0].z);
	CHECK(e == 0, "after the last close: %s", strerror(e));
	e = both_open("/one-more", O_RDWR | O_CREAT, &a, &x.k, &x.z);
	CHECK(e == ENOSPC, "full again: %s", strerror(e));
	/* Unlinked with no opener: gone at once. */
	both_close(q[1].k, q[1].z);
	both_unlink("/q1");
	e = both_open("/one-more", O_RDWR | O_CREAT, &a, &q[1].k, &q[1].z);
	CHECK(e == 0, "after unlink of a closed queue: %s", strerror(e));
	for (int i = 0; i < n; i++)
		both_close(q[i].k, q[i].z);
	for (int i = 1; i <= n; i++) {
		snprintf(name, sizeof(name), "/q%d", i);
		mq_unlink(name);
		zipc_mq_unlink(name);
	}
	both_unlink("/one-more");
	return failures ? 1 : 0;
}

/* root: with CAP_SYS_RESOURCE queues_max does not bind; without it (a
 * container's root may lack it) it binds as it does anybody. */
static int
qmax_root_child(void *arg)
{
	(void)arg;
	int r = enter(0, 2, 1 << 20);
	if (r)
		return r;
	int cap = zipc__mq_cap_resource();
	struct mq_attr a = attr(1, 16);
	struct pair q[4];
	char name[32];
	int n = 0;
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "/r%d", i);
		int e = both_open(name, O_RDWR | O_CREAT, &a, &q[n].k, &q[n].z);
		CHECK(e == (cap || i < 2 ? 0 : ENOSPC),
		      "root (CAP_SYS_RESOURCE %d), queue %d of queues_max 2: "
		      "%s",
		      cap, i, strerror(e));
		if (e == 0)
			n++;
	}
	for (int i = 0; i < n; i++) {
		both_close(q[i].k, q[i].z);
		snprintf(name, sizeof(name), "/r%d", i);
		both_unlink(name);
	}
	return failures ? 1 : 0;
}

static int
test_queues_max(void)
{
	int st = run_child(qmax_child, NULL);
	return st ? st : run_child(qmax_root_child, NULL);
}

/*
 * Another user's queue, unlinked but held open by its owner, counts for
 * a user who may not open its file (liveness from /proc/locks); once its
 * owner closes it, it does not.
 */
static int
others_user(void *arg)
{
	int phase = *(int *)arg;
	uid_t uid = uid_base + 5;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) ||
	    setresuid(uid, uid, uid) < 0)
		return 1;
	struct mq_attr a = attr(1, 16);
	struct pair b;
	int e = both_open(phase ? "/b2" : "/b1", O_RDWR | O_CREAT, &a, &b.k,
			  &b.z);
	CHECK(e == (phase ? 0 : ENOSPC),
	      "phase %d: another user's unlinked queue, %s: %s", phase,
	      phase ? "closed" : "still open", strerror(e));
	if (e == 0) {
		both_close(b.k, b.z);
		both_unlink("/b2");
	}
	return failures ? 1 : 0;
}

static int
others_child(void *arg)
{
	(void)arg;
	int r = enter(0, 1, 1 << 20);
	if (r)
		return r;
	if (zipc__mq_cap_resource())
		return skip_because("needs queues_max to bind root's "
				    "queue, which CAP_SYS_RESOURCE lifts");
	struct mq_attr a = attr(1, 16);
	struct pair q;
	int e = both_open("/root-q", O_RDWR | O_CREAT, &a, &q.k, &q.z);
	CHECK(e == 0, "root's queue: %s", strerror(e));
	if (e)
		return 1;
	both_unlink("/root-q");
	int phase = 0;
	CHECK(tu_wait(tu_fork(others_user, &phase), 60000) == 0, "phase 0");
	both_close(q.k, q.z);
	phase = 1;
	CHECK(tu_wait(tu_fork(others_user, &phase), 60000) == 0, "phase 1");
	return failures ? 1 : 0;
}

static int
test_other_users(void)
{
	return run_child(others_child, NULL);
}

/*
 * Creators racing for the last slots: exactly queues_max of them win, as
 * with the kernel (the accounting lock makes count-and-link one step).
 */
#define RACERS	  12
#define RACE_QMAX 5

static struct tu_gate race_gate;

static int
racer(void *arg)
{
	int i = *(int *)arg;
	char name[32];
	struct mq_attr a = attr(1, 16);
	snprintf(name, sizeof(name), "/race%d", i);
	if (tu_gate_wait(&race_gate, 60000) < 0)
		return 2;
	mqd_t z = zipc_mq_open(name, O_RDWR | O_CREAT, 0600, &a);
	if (z == (mqd_t)-1)
		return errno == ENOSPC ? 1 : 3;
	zipc_mq_close(z);
	return 0;
}

static int
race_child(void *arg)
{
	(void)arg;
	int r = enter(uid_base + 6, RACE_QMAX, 1 << 20);
	if (r)
		return r;
	pid_t pid[RACERS];
	int idx[RACERS], won = 0, lost = 0;
	tu_gate_init(&race_gate);
	for (int i = 0; i < RACERS; i++) {
		idx[i] = i;
		pid[i] = tu_fork(racer, &idx[i]);
	}
	for (int i = 0; i < RACERS; i++)
		tu_gate_open(&race_gate); /* one byte per racer */
	for (int i = 0; i < RACERS; i++) {
		int st = tu_wait(pid[i], 60000);
		won += st == 0;
		lost += st == 1;
	}
	CHECK(won == RACE_QMAX && lost == RACERS - RACE_QMAX,
	      "%d racers for %d slots: %d won, %d ENOSPC", RACERS, RACE_QMAX,
	      won, lost);
	for (int i = 0; i < RACERS; i++) {
		char name[32];
		snprintf(name, sizeof(name), "/race%d", i);
		zipc_mq_unlink(name);
	}
	return failures ? 1 : 0;
}

static int
test_race(void)
{
	return run_child(race_child, NULL);
}

/*
 * Processes churning over a few names at once -- create, open, unlink,
 * close, each racing the others' scans and reaps -- leave no charge and
 * no entry behind: afterwards the namespace and the user's limit hold
 * exactly as many queues as they did before.
 */
#define CHURNERS   4
#define CHURN_OPS  400
#define CHURN_QMAX 6

static int
churner(void *arg)
{
	uint64_t seed = *(uint64_t *)arg;
	struct mq_attr a = attr(2, 64);
	mqd_t open_q[8];
	int n = 0;
	tu_seed(seed);
	for (int op = 0; op < CHURN_OPS; op++) {
		char name[32];
		snprintf(name, sizeof(name), "/churn%d", (int)tu_rand_below(4));
		unsigned w = (unsigned)tu_rand_below(3);
		if (w == 0 && n < 8) {
			mqd_t z =
				zipc_mq_open(name, O_RDWR | O_CREAT, 0600, &a);
			if (z != (mqd_t)-1)
				open_q[n++] = z;
			else if (errno != ENOSPC && errno != EMFILE)
				return 2;
		} else if (w == 1 && n > 0) {
			int i = (int)tu_rand_below((uint64_t)n);
			zipc_mq_close(open_q[i]);
			open_q[i] = open_q[--n];
		} else {
			zipc_mq_unlink(name);
		}
	}
	while (n > 0)
		zipc_mq_close(open_q[--n]);
	return 0;
}

static int
churn_child(void *arg)
{
	(void)arg;
	int r = enter(uid_base + 7, CHURN_QMAX, 1 << 20);
	if (r)
		return r;
	struct mq_attr a = attr(2, 64);
	uint64_t b = zipc__mqlim_bytes(2, 64);
	soft_limit(b * CHURN_QMAX);
	pid_t pid[CHURNERS];
	uint64_t seeds[CHURNERS];
	for (int i = 0; i < CHURNERS; i++) {
		seeds[i] = tu_rand();
		pid[i] = tu_fork(churner, &seeds[i]);
	}
	for (int i = 0; i < CHURNERS; i++) {
		int st = tu_wait(pid[i], 60000);
		CHECK(st == 0, "churner %d: %d", i, st);
	}
	for (int i = 0; i < 4; i++) {
		char name[32];
		snprintf(name, sizeof(name), "/churn%d", i);
		zipc_mq_unlink(name);
	}
	/* Everything is closed and unlinked: the whole budget is free. */
	mqd_t q[CHURN_QMAX];
	for (int i = 0; i < CHURN_QMAX; i++) {
		char name[32];
		snprintf(name, sizeof(name), "/after%d", i);
		q[i] = zipc_mq_open(name, O_RDWR | O_CREAT, 0600, &a);
		CHECK(q[i] != (mqd_t)-1, "after the churn, queue %d of %d: %s",
		      i, CHURN_QMAX, strerror(errno));
	}
	for (int i = 0; i < CHURN_QMAX; i++) {
		char name[32];
		snprintf(name, sizeof(name), "/after%d", i);
		if (q[i] != (mqd_t)-1)
			zipc_mq_close(q[i]);
		zipc_mq_unlink(name);
	}
	return failures ? 1 : 0;
}

static int
test_churn(void)
{
	return run_child(churn_child, NULL);
}

/* ---- random sequences ------------------------------------------------ */

#define NNAMES	 16
#define NHANDLES 48
#define HARD	 (48 << 10)

static struct mq_attr
random_attr(int *null)
{
	*null = tu_rand_below(12) == 0;
	if (tu_rand_below(25) == 0) /* invalid: EINVAL, or ENOSPC first */
		return attr((long)tu_rand_below(3) - 1,
			    tu_rand_below(2) ? 16 : 9000);
	static const long sizes[] = {1, 16, 64, 100, 512, 1024, 2048, 8192};
	return attr(1 + (long)tu_rand_below(10),
		    sizes[tu_rand_below(ZIPC_ARRAY_SIZE(sizes))] -
			    (long)tu_rand_below(2));
}

static int
random_child(void *arg)
{
	(void)arg;
	int r = enter(uid_base + 3, 12, HARD);
	if (r)
		return r;
	struct pair h[NHANDLES];
	int nh = 0, counts[5] = {0};
	char name[32];
	for (int op = 0; op < DIFF_OPS && !failures; op++) {
		unsigned w = (unsigned)tu_rand_below(100);
		snprintf(name, sizeof(name), "/n%d",
			 (int)tu_rand_below(NNAMES));
		if (w < 10) {
			soft_limit(tu_rand_below(HARD + 1));
		} else if (w < 35 || nh == NHANDLES) {
			if (nh == 0)
				continue;
			int i = (int)tu_rand_below((uint64_t)nh);
			both_close(h[i].k, h[i].z);
			h[i] = h[--nh];
		} else if (w < 55) {
			both_unlink(name);
		} else {
			int null;
			struct mq_attr a = random_attr(&null);
			int oflag = O_RDWR;
			if (w >= 60)
				oflag |= O_CREAT;
			if (w >= 60 && tu_rand_below(3) == 0)
				oflag |= O_EXCL;
			int e = both_open(name, oflag, null ? NULL : &a,
					  &h[nh].k, &h[nh].z);
			if (e < 0)
				fprintf(stderr, "# diverged at op %d\n", op);
			else if (e == 0)
				nh++;
			counts[e == 0	     ? 0
			       : e == ENOSPC ? 1
			       : e == EMFILE ? 2
			       : e == EINVAL ? 3
					     : 4]++;
		}
	}
	fprintf(stderr,
		"# %d ops: opened %d, ENOSPC %d, EMFILE %d, EINVAL %d, "
		"other %d\n",
		DIFF_OPS, counts[0], counts[1], counts[2], counts[3],
		counts[4]);
	/* Each limit must actually have been met. */
	CHECK(counts[1] > 0 && counts[2] > 0 && counts[0] > 100,
	      "the sequence did not exercise both limits");
	while (nh > 0) {
		nh--;
		both_close(h[nh].k, h[nh].z);
	}
	for (int i = 0; i < NNAMES; i++) {
		snprintf(name, sizeof(name), "/n%d", i);
		mq_unlink(name);
		zipc_mq_unlink(name);
	}
	return failures ? 1 : 0;
}

static int
test_random(void)
{
	return run_child(random_child, NULL);
}

/* ---- creators and reapers killed -------------------------------------- */

#define CRASH_MAXMSG  4
#define CRASH_MSGSIZE 256

static const char *crash_point;

static int
crasher(void *arg)
{
	(void)arg;
	struct mq_attr a = attr(CRASH_MAXMSG, CRASH_MSGSIZE);
	zipc__crash_arm(crash_point);
	if (strcmp(crash_point, "mqlim.reap.locked") == 0)
		zipc_mq_unlink("/victim");
	else
		zipc_mq_open("/crash", O_RDWR | O_CREAT, 0600, &a);
	return 0; /* not reached if the point is */
}

static int
z_create(const char *name)
{
	struct mq_attr a = attr(CRASH_MAXMSG, CRASH_MSGSIZE);
	mqd_t z = zipc_mq_open(name, O_RDWR | O_CREAT, 0600, &a);
	if (z == (mqd_t)-1)
		return errno;
	zipc_mq_close(z);
	return 0;
}

/*
 * The soft limit holds exactly one queue. A creator (or the reaper of
 * "/victim") is killed at the point; then a queue must still fit unless
 * the killed creator had published its own, which counts until unlinked.
 */
static int
crash_child(void *arg)
{
	(void)arg;
	uid_t uid = uid_base + 4;
	if (setgroups(0, NULL) < 0 || setresgid(65534, 65534, 65534) ||
	    setresuid(uid, uid, uid) < 0)
		return 1;
	soft_limit(zipc__mqlim_bytes(CRASH_MAXMSG, CRASH_MSGSIZE));
	int reap = strcmp(crash_point, "mqlim.reap.locked") == 0;
	int published = strcmp(crash_point, "store.create.linked") == 0;
	if (reap)
		CHECK(z_create("/victim") == 0, "victim");
	int st = tu_wait(tu_fork(crasher, NULL), 30000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", crash_point, st);
	mqd_t z = zipc_mq_open("/crash", O_RDWR);
	CHECK((z != (mqd_t)-1) == published, "%s: /crash %s", crash_point,
	      z != (mqd_t)-1 ? "published" : strerror(errno));
	if (z != (mqd_t)-1)
		zipc_mq_close(z);
	int e = z_create("/after");
	CHECK(e == (published ? EMFILE : 0), "%s: create after: %s",
	      crash_point, strerror(e));
	if (published) {
		CHECK(zipc_mq_unlink("/crash") == 0, "unlink /crash");
		e = z_create("/after");
		CHECK(e == 0, "%s: create after unlink: %s", crash_point,
		      strerror(e));
	}
	CHECK(zipc_mq_unlink("/after") == 0, "%s: unlink /after", crash_point);
	return failures ? 1 : 0;
}

static int
test_crash(void)
{
	static const char *const points[] = {
		"mqlim.lock.held",     "mqlim.charge.locked",
		"mqlim.charge.linked", "store.create.before-ready",
		"store.create.linked", "mqlim.reap.locked",
	};
	for (size_t i = 0; i < ZIPC_ARRAY_SIZE(points); i++) {
		crash_point = points[i];
		int st = run_child(crash_child, NULL);
		if (st) {
			fprintf(stderr, "# %s: failed (%d)\n", points[i], st);
			return st;
		}
	}
	return 0;
}

static int
test_no_leftovers(void)
{
	int n = tu_count_objects();
	if (n)
		fprintf(stderr, "# objects left: %d\n", n);
	return n != 0;
}

/*
 * TAP by hand: cmocka 1.1 prints a skipped test as "not ok # SKIP",
 * which meson counts as a failure.
 */
int
main(void)
{
	static const struct {
		const char *name;
		int (*fn)(void);
	} tests[] = {
		{"bytes", test_bytes},
		{"bytes_big", test_bytes_big},
		{"queues_max", test_queues_max},
		{"other_users", test_other_users},
		{"race", test_race},
		{"churn", test_churn},
		{"random", test_random},
		{"crash", test_crash},
		{"no_leftovers", test_no_leftovers},
	};
	int failed = 0;
	tu_setup(170);
	tu_seed(0x6d716c696d697473ull);
	uid_base = (uid_t)(40000 + (getpid() % 4000) * 5);
	skip_reason = mmap(NULL, 256, PROT_READ | PROT_WRITE,
			   MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (skip_reason == MAP_FAILED)
		return 99;
	printf("1..%zu\n", ZIPC_ARRAY_SIZE(tests));
	fflush(stdout);
	for (size_t i = 0; i < ZIPC_ARRAY_SIZE(tests); i++) {
		skip_reason[0] = 0;
		int st = tests[i].fn();
		if (st == SKIP)
			printf("ok %zu - %s # SKIP %s\n", i + 1, tests[i].name,
			       skip_reason);
		else if (st)
			printf("not ok %zu - %s (status %d)\n", i + 1,
			       tests[i].name, st);
		else
			printf("ok %zu - %s\n", i + 1, tests[i].name);
		fflush(stdout);
		failed += st != 0 && st != SKIP;
	}
	return failed ? 1 : 0;
}
