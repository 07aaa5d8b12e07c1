/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of the queues: notification (signal payload, thread
 * callback, SIGEV_NONE, one-shot, EBUSY, death of the registrant),
 * readiness fds in epoll, signals (EINTR and SA_RESTART per face),
 * IPC_RMID waking waiters with EIDRM, typed receivers that sleep while
 * other types arrive, unlink while open, and permissions.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>
#include <cmocka.h>

#include "atomic.h"
#include "mq/mq.h"
#include "mqcheck.h"
#include "registry.h"
#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"

static mqd_t
open_mq(const char *name, int maxmsg)
{
	struct mq_attr a;
	memset(&a, 0, sizeof(a));
	a.mq_maxmsg = maxmsg;
	a.mq_msgsize = 64;
	mqd_t m = zipc_mq_open(name, O_RDWR | O_CREAT, 0600, &a);
	assert_true(m >= 0);
	return m;
}

/* Wait until @pid sleeps, so it is blocked in a queue. */
static void
wait_asleep(pid_t pid)
{
	char path[64], buf[512];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	for (int i = 0; i < 5000; i++) {
		FILE *f = fopen(path, "re");
		if (!f)
			return;
		size_t n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = 0;
		char *p = strrchr(buf, ')');
		if (p && p[2] == 'S')
			return;
		usleep(1000);
	}
}

/* ---- mq_notify ------------------------------------------------------------ */

static volatile sig_atomic_t got_sig, got_code, got_pid, got_uid;
static volatile void *got_ptr;

static void
on_rt(int sig, siginfo_t *si, void *uc)
{
	(void)uc;
	got_sig = sig;
	got_code = si->si_code;
	got_ptr = si->si_value.sival_ptr;
	got_pid = si->si_pid;
	got_uid = (sig_atomic_t)si->si_uid;
}

static int
send_one(void *arg)
{
	mqd_t m = zipc_mq_open((const char *)arg, O_WRONLY);
	return zipc_mq_send(m, "n", 1, 3) == 0 ? 0 : 1;
}

static void
test_notify_signal(void **state)
{
	(void)state;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_rt;
	sa.sa_flags = SA_SIGINFO;
	sigaction(SIGRTMIN + 1, &sa, NULL);
	sigset_t block, old;
	sigemptyset(&block);
	sigaddset(&block, SIGRTMIN + 1);
	sigprocmask(SIG_BLOCK, &block, &old);

	mqd_t m = open_mq("/nsig", 4);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_SIGNAL;
	sev.sigev_signo = SIGRTMIN + 1;
	sev.sigev_value.sival_ptr = (void *)0x1234;
	assert_int_equal(zipc_mq_notify(m, &sev), 0);
	/* Another registration while one is held: EBUSY (even ours). */
	assert_int_equal(zipc_mq_notify(m, &sev), -1);
	assert_int_equal(errno, EBUSY);

	pid_t child = tu_fork(send_one, "/nsig");
	assert_int_equal(tu_wait(child, 10000), 0);
	siginfo_t si;
	struct timespec ts = {5, 0};
	assert_int_equal(sigtimedwait(&block, &si, &ts), SIGRTMIN + 1);
	assert_int_equal(si.si_code, SI_MESGQ);
	assert_ptr_equal(si.si_value.sival_ptr, (void *)0x1234);
	assert_int_equal(si.si_pid, child);
	assert_int_equal(si.si_uid, getuid());

	/* One-shot: the registration is gone, a new one is accepted. */
	char b[64];
	assert_int_equal(zipc_mq_receive(m, b, sizeof(b), NULL), 1);
	assert_int_equal(zipc_mq_notify(m, &sev), 0);
	/* Not fired while a message is already there (only empty ->
	 * non-empty), and not fired when a receiver is blocked. */
	assert_int_equal(zipc_mq_notify(m, NULL), 0);
	assert_int_equal(zipc_mq_send(m, "a", 1, 0), 0);
	assert_int_equal(zipc_mq_notify(m, &sev), 0);
	assert_int_equal(zipc_mq_send(m, "b", 1, 0), 0);
	struct timespec zero = {0, 0};
	assert_int_equal(sigtimedwait(&block, &si, &zero), -1);
	assert_int_equal(zipc_mq_notify(m, NULL), 0);
	assert_int_equal(zipc_mq_close(m), 0);
	assert_int_equal(zipc_mq_unlink("/nsig"), 0);
	signal(SIGRTMIN + 1, SIG_DFL);
	sigprocmask(SIG_SETMASK, &old, NULL);
}

static pthread_mutex_t cb_mutex = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cb_cond = PTHREAD_COND_INITIALIZER;
static void *cb_value;
static pthread_t cb_thread;

static void
callback(union sigval v)
{
	pthread_mutex_lock(&cb_mutex);
	cb_value = v.sival_ptr;
	cb_thread = pthread_self();
	pthread_cond_signal(&cb_cond);
	pthread_mutex_unlock(&cb_mutex);
}

static void
test_notify_thread(void **state)
{
	(void)state;
	mqd_t m = open_mq("/nthr", 4);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_THREAD;
	sev.sigev_notify_function = callback;
	sev.sigev_value.sival_ptr = (void *)0xbeef;
	assert_int_equal(zipc_mq_notify(m, &sev), 0);
	pid_t child = tu_fork(send_one, "/nthr");
	assert_int_equal(tu_wait(child, 10000), 0);
	pthread_mutex_lock(&cb_mutex);
	struct timespec dl;
	clock_gettime(CLOCK_REALTIME, &dl);
	dl.tv_sec += 10;
	while (!cb_value &&
	       pthread_cond_timedwait(&cb_cond, &cb_mutex, &dl) == 0)
		;
	assert_ptr_equal(cb_value, (void *)0xbeef);
	assert_false(pthread_equal(cb_thread, pthread_self()));
	pthread_mutex_unlock(&cb_mutex);
	/* One-shot. */
	assert_int_equal(zipc_mq_notify(m, &sev), 0);
	assert_int_equal(zipc_mq_notify(m, NULL), 0);
	assert_int_equal(zipc_mq_close(m), 0);
	assert_int_equal(zipc_mq_unlink("/nthr"), 0);
}

static int
register_and_die(void *arg)
{
	mqd_t m = zipc_mq_open((const char *)arg, O_RDWR);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	return zipc_mq_notify(m, &sev) == 0 ? 0 : 1;
}

static void
test_notify_dies_with_process(void **state)
{
	(void)state;
	mqd_t m = open_mq("/ndie", 4);
	pid_t child = tu_fork(register_and_die, "/ndie");
	assert_int_equal(tu_wait(child, 10000), 0);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	assert_int_equal(zipc_mq_notify(m, &sev), 0);
	assert_int_equal(zipc_mq_close(m), 0); /* close drops ours */
	m = zipc_mq_open("/ndie", O_RDWR);
	assert_int_equal(zipc_mq_notify(m, &sev), 0);
	assert_int_equal(zipc_mq_close(m), 0);
	assert_int_equal(zipc_mq_unlink("/ndie"), 0);
}

/* ---- readiness fds ------------------------------------------------------ */

static void
test_epoll(void **state)
{
	(void)state;
	zipc_queue *q;
	struct zipc_queue_attr a = {2, 64, {0}};
	assert_int_equal(zipc_queue_open("/ep", O_RDWR | O_CREAT, 0600, &a,
					 &q),
			 0);
	int rd = zipc_mq_fd(q, ZIPC_MQ_READABLE);
	int wr = zipc_mq_fd(q, ZIPC_MQ_WRITABLE);
	assert_true(rd >= 0 && wr >= 0);
	int ep = epoll_create1(EPOLL_CLOEXEC);
	struct epoll_event ev = {.events = EPOLLIN, .data.u32 = 1};
	epoll_ctl(ep, EPOLL_CTL_ADD, rd, &ev);
	ev.data.u32 = 2;
	epoll_ctl(ep, EPOLL_CTL_ADD, wr, &ev);
	struct epoll_event out[2];
	/* Empty: only "room". */
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(out[0].data.u32, 2);
	/* Another process sends: readable, then full: not writable. */
	mqd_t m = zipc_mq_open("/ep", O_RDWR);
	pid_t c = tu_fork(send_one, "/ep");
	assert_int_equal(tu_wait(c, 10000), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 1000), 2);
	c = tu_fork(send_one, "/ep");
	assert_int_equal(tu_wait(c, 10000), 0);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(out[0].data.u32, 1);
	char b[64];
	assert_int_equal(zipc_queue_receive(q, b, sizeof(b), NULL, 0), 1);
	assert_int_equal(zipc_queue_receive(q, b, sizeof(b), NULL, 0), 1);
	assert_int_equal(epoll_wait(ep, out, 2, 0), 1);
	assert_int_equal(out[0].data.u32, 2);
	close(ep);
	zipc_mq_fd_close(q, ZIPC_MQ_READABLE, rd);
	zipc_mq_fd_close(q, ZIPC_MQ_WRITABLE, wr);
	zipc_mq_close(m);
	zipc_queue_close(q);
	assert_int_equal(zipc_queue_unlink("/ep"), 0);

	/* An XSI queue too. */
	int id = zipc_msgget(IPC_PRIVATE, 0600);
	assert_int_equal(zipc_queue_from_msqid(id, &q), 0);
	rd = zipc_mq_fd(q, ZIPC_MQ_READABLE);
	struct pollfd_like {
		int fd;
	};
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.data.u32 = 1;
	epoll_ctl(ep, EPOLL_CTL_ADD, rd, &ev);
	assert_int_equal(epoll_wait(ep, out, 1, 0), 0);
	struct {
		long t;
		char x[8];
	} msg = {5, "hi"};
	assert_int_equal(zipc_msgsnd(id, &msg, 2, 0), 0);
	assert_int_equal(epoll_wait(ep, out, 1, 0), 1);
	assert_int_equal(zipc_msgrcv(id, &msg, 8, 0, 0), 2);
	assert_int_equal(epoll_wait(ep, out, 1, 0), 0);
	close(ep);
	zipc_mq_fd_close(q, ZIPC_MQ_READABLE, rd);
	zipc_queue_close(q);
	assert_int_equal(zipc_msgctl(id, IPC_RMID, NULL), 0);
}

/* ---- signals --------------------------------------------------------------- */

static void
on_usr1(int sig)
{
	(void)sig;
}

struct sigcase {
	int xsi;
	int restart;
};

static int
blocked_receiver(void *arg)
{
	struct sigcase *c = arg;
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_usr1;
	sa.sa_flags = c->restart ? SA_RESTART : 0;
	sigaction(SIGUSR1, &sa, NULL);
	if (c->xsi) {
		int id = zipc_msgget(0x7a11, 0600);
		struct {
			long t;
			char x[8];
		} m;
		ssize_t r = zipc_msgrcv(id, &m, 8, 0, 0);
		/* msgrcv is never restarted. */
		return r < 0 && errno == EINTR ? 0 : 1;
	}
	mqd_t q = zipc_mq_open("/sig", O_RDWR);
	char b[64];
	ssize_t r = zipc_mq_receive(q, b, sizeof(b), NULL);
	if (c->restart)
		return r == 1 ? 0 : 2; /* restarted, got the message */
	return r < 0 && errno == EINTR ? 0 : 3;
}

static void
test_signals(void **state)
{
	(void)state;
	int id = zipc_msgget(0x7a11, IPC_CREAT | 0600);
	mqd_t m = open_mq("/sig", 4);
	const struct sigcase cases[] = {{1, 0}, {1, 1}, {0, 0}, {0, 1}};
	for (int i = 0; i < 4; i++) {
		struct sigcase c = cases[i];
		pid_t p = tu_fork(blocked_receiver, &c);
		wait_asleep(p);
		kill(p, SIGUSR1);
		if (!c.xsi && c.restart) {
			/* Still blocked after the handler: feed it. */
			wait_asleep(p);
			assert_int_equal(zipc_mq_send(m, "r", 1, 0), 0);
		}
		assert_int_equal(tu_wait(p, 10000), 0);
	}
	assert_int_equal(zipc_msgctl(id, IPC_RMID, NULL), 0);
	zipc_mq_close(m);
	assert_int_equal(zipc_mq_unlink("/sig"), 0);
}

/* ---- IPC_RMID wakes every waiter -------------------------------------------- */

static int rmid_id;

static int
rmid_waiter(void *arg)
{
	struct {
		long t;
		char x[8200];
	} m = {1, {0}};
	ssize_t r;
	if (arg)
		r = zipc_msgsnd(rmid_id, &m, 8000, 0); /* queue is full */
	else
		r = zipc_msgrcv(rmid_id, &m, 8, 3, 0);
	return r < 0 && errno == EIDRM ? 0 : 1;
}

static void
test_rmid_wakes(void **state)
{
	(void)state;
	rmid_id = zipc_msgget(IPC_PRIVATE, 0600);
	struct {
		long t;
		char x[8200];
	} m = {1, {0}};
	assert_int_equal(zipc_msgsnd(rmid_id, &m, 8000, 0), 0);
	assert_int_equal(zipc_msgsnd(rmid_id, &m, 8000, 0), 0);
	pid_t w[4];
	for (int i = 0; i < 4; i++) {
		w[i] = tu_fork(rmid_waiter, (void *)(uintptr_t)(i & 1));
		wait_asleep(w[i]);
	}
	assert_int_equal(zipc_msgctl(rmid_id, IPC_RMID, NULL), 0);
	for (int i = 0; i < 4; i++)
		assert_int_equal(tu_wait(w[i], 10000), 0);
}

/* ---- a typed receiver asleep while other types arrive ------------------------ */

static int typed_id;

static int
typed_receiver(void *arg)
{
	long typ = (long)(intptr_t)arg;
	struct {
		long t;
		char x[8];
	} m;
	ssize_t r = zipc_msgrcv(typed_id, &m, 8, typ, 0);
	return r == 1 && m.t == typ && m.x[0] == (char)('0' + typ) ? 0 : 1;
}

static void
test_typed_wakeups(void **state)
{
	(void)state;
	typed_id = zipc_msgget(IPC_PRIVATE, 0600);
	pid_t r[3];
	for (int t = 1; t <= 3; t++) {
		r[t - 1] = tu_fork(typed_receiver, (void *)(intptr_t)t);
		wait_asleep(r[t - 1]);
	}
	/* Types arrive in reverse; each must reach its own receiver. */
	for (int t = 3; t >= 1; t--) {
		struct {
			long t;
			char x[8];
		} m = {t, {(char)('0' + t)}};
		assert_int_equal(zipc_msgsnd(typed_id, &m, 1, 0), 0);
	}
	for (int t = 0; t < 3; t++)
		assert_int_equal(tu_wait(r[t], 10000), 0);
	assert_int_equal(zipc_msgctl(typed_id, IPC_RMID, NULL), 0);
}

/* ---- unlink while open, priorities ------------------------------------------ */

static void
test_unlink_while_open(void **state)
{
	(void)state;
	mqd_t m = open_mq("/ul", 8);
	assert_int_equal(zipc_mq_send(m, "lo", 2, 1), 0);
	assert_int_equal(zipc_mq_send(m, "hi", 2, 9), 0);
	assert_int_equal(zipc_mq_send(m, "mid", 3, 5), 0);
	assert_int_equal(zipc_mq_send(m, "hi2", 3, 9), 0);
	assert_int_equal(zipc_mq_unlink("/ul"), 0);
	assert_int_equal(zipc_mq_open("/ul", O_RDWR), -1);
	assert_int_equal(errno, ENOENT);
	char b[64];
	unsigned prio;
	assert_int_equal(zipc_mq_receive(m, b, sizeof(b), &prio), 2);
	assert_int_equal(prio, 9);
	assert_memory_equal(b, "hi", 2);
	assert_int_equal(zipc_mq_receive(m, b, sizeof(b), &prio), 3);
	assert_memory_equal(b, "hi2", 3);
	assert_int_equal(zipc_mq_receive(m, b, sizeof(b), &prio), 3);
	assert_int_equal(prio, 5);
	assert_int_equal(zipc_mq_receive(m, b, sizeof(b), &prio), 2);
	assert_int_equal(prio, 1);
	assert_int_equal(zipc_mq_close(m), 0);
	assert_int_equal(zipc_mq_close(m), -1);
	assert_int_equal(errno, EBADF);
}

/* ---- permissions ------------------------------------------------------------ */

static int
as_nobody(void *arg)
{
	int id = (int)(intptr_t)arg;
	if (tu_become_nobody() < 0)
		return 77;
	struct {
		long t;
		char x[8];
	} m = {1, "x"};
	if (!(zipc_msgsnd(id, &m, 1, IPC_NOWAIT) < 0 && errno == EACCES))
		return 1;
	if (!(zipc_mq_open("/perm", O_RDWR) < 0 && errno == EACCES))
		return 2;
	mqd_t q = zipc_mq_open("/perm", O_RDONLY);
	if (q < 0)
		return 3;
	if (!(zipc_mq_send(q, "x", 1, 0) < 0 && errno == EBADF))
		return 4;
	struct msqid_ds ds;
	if (!(zipc_msgctl(id, IPC_RMID, &ds) < 0 && errno == EPERM))
		return 5;
	return 0;
}

static void
test_permissions(void **state)
{
	(void)state;
	int id = zipc_msgget(IPC_PRIVATE, 0600);
	mode_t old = umask(0);
	struct mq_attr a;
	memset(&a, 0, sizeof(a));
	a.mq_maxmsg = 2;
	a.mq_msgsize = 8;
	mqd_t m = zipc_mq_open("/perm", O_RDWR | O_CREAT, 0644, &a);
	umask(old);
	assert_true(m >= 0);
	pid_t p = tu_fork(as_nobody, (void *)(intptr_t)id);
	int st = tu_wait(p, 10000);
	if (st != 77)
		assert_int_equal(st, 0);
	zipc_mq_close(m);
	zipc_mq_unlink("/perm");
	zipc_msgctl(id, IPC_RMID, NULL);
}


/*
 * A long XSI message is one contiguous extent when the arena has a run
 * for it, and chained from the free runs when it has not (here: every
 * other slot is taken): it must still fit exactly when the queue has
 * room by its counts, come back byte for byte, and leave the queue
 * consistent.
 */
static void
test_fragmented(void **state)
{
	(void)state;
	static struct {
		long t;
		char x[4096];
	} m, r;
	int id = zipc_msgget(IPC_PRIVATE, 0600);
	assert_true(id >= 0);
	int n = 0;
	for (m.t = 1; zipc_msgsnd(id, &m, 0, IPC_NOWAIT) == 0; m.t = 1 + n % 2)
		n++;
	assert_int_equal(errno, EAGAIN);
	assert_true(n > 64);
	for (int i = 0; i < (n + 1) / 2; i++)
		assert_int_equal(zipc_msgrcv(id, &r, 0, 1, IPC_NOWAIT), 0);
	assert_int_equal(xsi_check(id), 0);
	static const size_t len[] = {1000, 2000, 97, 0, 3000};
	for (size_t k = 0; k < sizeof(len) / sizeof(len[0]); k++) {
		m.t = 3;
		for (size_t b = 0; b < len[k]; b++)
			m.x[b] = (char)(b * 7 + k);
		assert_int_equal(zipc_msgsnd(id, &m, len[k], IPC_NOWAIT), 0);
		assert_int_equal(xsi_check(id), 0);
	}
	for (size_t k = 0; k < sizeof(len) / sizeof(len[0]); k++) {
		memset(&r, 0, sizeof(r));
		assert_int_equal(zipc_msgrcv(id, &r, sizeof(r.x), 3,
					     IPC_NOWAIT),
				 (ssize_t)len[k]);
		for (size_t b = 0; b < len[k]; b++)
			assert_int_equal(r.x[b], (char)(b * 7 + k));
		assert_int_equal(xsi_check(id), 0);
	}
	for (int i = 0; i < n / 2; i++)
		assert_int_equal(zipc_msgrcv(id, &r, 0, 2, IPC_NOWAIT), 0);
	/* Whole again: the longest message is one extent. */
	m.t = 5;
	assert_int_equal(zipc_msgsnd(id, &m, 4096, IPC_NOWAIT), 0);
	assert_int_equal(zipc_msgrcv(id, &r, sizeof(r.x), 0, IPC_NOWAIT),
			 4096);
	assert_int_equal(memcmp(m.x, r.x, 4096), 0);
	struct msqid_ds ds;
	assert_int_equal(zipc_msgctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.msg_qnum, 0);
	assert_int_equal(ds.msg_cbytes, 0);
	assert_int_equal(xsi_check(id), 0);
	assert_int_equal(zipc_msgctl(id, IPC_RMID, NULL), 0);
}

/* ---- the XSI ring and the list (src/mq/ring.c) ------------------------- */


struct big {
	long t;
	char x[512];
};

static int
ring_is_open(int id)
{
	zipc_queue *q;
	assert_int_equal(zipc_queue_from_msqid(id, &q), 0);
	int open = ld_relaxed(&q->q_ctl->mq_ring_open) & 1;
	zipc_queue_close(q);
	return open;
}

static void
send_sized(int id, long t, char c, size_t len)
{
	struct big m = {t, {0}};
	memset(m.x, c, len);
	assert_int_equal(zipc_msgsnd(id, &m, len, IPC_NOWAIT), 0);
}

static char
recv_first(int id, long typ, int flags, ssize_t *len)
{
	struct big m = {0, {0}};
	*len = zipc_msgrcv(id, &m, sizeof(m.x), typ, flags | IPC_NOWAIT);
	return *len > 0 ? m.x[0] : 0;
}

/*
 * Short messages go through the ring, anything it cannot do through the
 * list; the queue stays one FIFO across the switches, msqid_ds counts
 * both, and the ring is used again once the list is empty.
 */
static void
test_ring_modes(void **state)
{
	(void)state;
	int id = zipc_msgget(IPC_PRIVATE, 0600);
	struct msqid_ds ds;
	ssize_t n;
	assert_true(ring_is_open(id));
	send_sized(id, 1, 'a', 10);  /* ring */
	send_sized(id, 1, 'b', 300); /* long: closes the ring */
	assert_false(ring_is_open(id));
	send_sized(id, 1, 'c', 10); /* list, behind b */
	assert_int_equal(zipc_msgctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.msg_qnum, 3);
	assert_int_equal(ds.msg_cbytes, 320);
	assert_int_equal(recv_first(id, 0, 0, &n), 'a');
	assert_int_equal(recv_first(id, 0, 0, &n), 'b');
	assert_int_equal(n, 300);
	assert_int_equal(recv_first(id, 0, 0, &n), 'c');
	assert_true(ring_is_open(id)); /* the list emptied */

	/* Typed receives: the head from the ring, anything behind it from
	 * the list; MSG_EXCEPT and msgtyp < 0 as msgrcv says. */
	send_sized(id, 2, 'x', 8);
	send_sized(id, 3, 'y', 8);
	send_sized(id, 1, 'z', 8);
	assert_int_equal(recv_first(id, 2, 0, &n), 'x'); /* head: ring */
	assert_true(ring_is_open(id));
	assert_int_equal(recv_first(id, -3, 0, &n), 'z'); /* lowest type */
	assert_false(ring_is_open(id));
	assert_int_equal(recv_first(id, 3, MSG_EXCEPT, &n), 0);
	assert_int_equal(n, -1);
	assert_int_equal(errno, ENOMSG);
	assert_int_equal(recv_first(id, 3, 0, &n), 'y');
	assert_true(ring_is_open(id));

	/* Nothing that matches: ENOMSG from the ring, which stays open. */
	send_sized(id, 5, 'q', 8);
	assert_int_equal(recv_first(id, 4, 0, &n), 0);
	assert_int_equal(errno, ENOMSG);
	assert_true(ring_is_open(id));
	/* E2BIG leaves the message; MSG_NOERROR truncates it. */
	struct big m;
	assert_int_equal(zipc_msgrcv(id, &m, 4, 0, IPC_NOWAIT), -1);
	assert_int_equal(errno, E2BIG);
	assert_int_equal(zipc_msgrcv(id, &m, 4, 0, IPC_NOWAIT | MSG_NOERROR),
			 4);
	assert_int_equal(xsi_check(id), 0);

	/* Full is the same in both modes: msg_qbytes bytes. */
	zipc_msgctl(id, IPC_STAT, &ds);
	ds.msg_qbytes = 64;
	assert_int_equal(zipc_msgctl(id, IPC_SET, &ds), 0);
	for (int k = 0; k < 8; k++)
		send_sized(id, 1, 'f', 8);
	assert_true(ring_is_open(id));
	struct big f = {1, "f"};
	assert_int_equal(zipc_msgsnd(id, &f, 1, IPC_NOWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(zipc_msgctl(id, IPC_STAT, &ds), 0); /* closes */
	assert_int_equal(ds.msg_qnum, 8);
	assert_int_equal(zipc_msgsnd(id, &f, 1, IPC_NOWAIT), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(xsi_check(id), 0);
	assert_int_equal(zipc_msgctl(id, IPC_RMID, NULL), 0);
}

/* A child's sends, told apart by a pipe: 'g' go, 'd' done. */
static int perm_pipe[2][2];

static int
perm_child(void *arg)
{
	int id = (int)(intptr_t)arg;
	char c;
	if (tu_become_nobody() < 0)
		return 77;
	struct big m = {1, "p"};
	if (zipc_msgsnd(id, &m, 1, IPC_NOWAIT) < 0)
		return 1; /* 0666: allowed, and remembered */
	if (write(perm_pipe[1][1], "d", 1) != 1 ||
	    read(perm_pipe[0][0], &c, 1) != 1)
		return 2;
	if (!(zipc_msgsnd(id, &m, 1, IPC_NOWAIT) < 0 && errno == EACCES))
		return 3; /* IPC_SET took write away: seen at once */
	return 0;
}

/* A remembered permission check is forgotten when IPC_SET changes the
 * queue's permissions. */
static void
test_perm_cache(void **state)
{
	(void)state;
	int id = zipc_msgget(IPC_PRIVATE, 0666);
	assert_int_equal(pipe(perm_pipe[0]), 0);
	assert_int_equal(pipe(perm_pipe[1]), 0);
	pid_t p = tu_fork(perm_child, (void *)(intptr_t)id);
	char c = 0;
	if (read(perm_pipe[1][0], &c, 1) == 1) {
		struct msqid_ds ds;
		assert_int_equal(zipc_msgctl(id, IPC_STAT, &ds), 0);
		ds.msg_perm.mode = 0600;
		assert_int_equal(zipc_msgctl(id, IPC_SET, &ds), 0);
		assert_int_equal(write(perm_pipe[0][1], "g", 1), 1);
	}
	int st = tu_wait(p, 10000);
	if (st != 77)
		assert_int_equal(st, 0);
	for (int k = 0; k < 2; k++) {
		close(perm_pipe[k][0]);
		close(perm_pipe[k][1]);
	}
	assert_int_equal(zipc_msgctl(id, IPC_RMID, NULL), 0);
}

static void
test_no_leftovers(void **state)
{
	(void)state;
	assert_int_equal(tu_count_objects(), 0);
}

int
main(void)
{
	tu_setup(200);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notify_signal),
		cmocka_unit_test(test_notify_thread),
		cmocka_unit_test(test_notify_dies_with_process),
		cmocka_unit_test(test_epoll),
		cmocka_unit_test(test_signals),
		cmocka_unit_test(test_rmid_wakes),
		cmocka_unit_test(test_typed_wakeups),
		cmocka_unit_test(test_unlink_while_open),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_fragmented),
		cmocka_unit_test(test_ring_modes),
		cmocka_unit_test(test_perm_cache),
		cmocka_unit_test(test_no_leftovers),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
