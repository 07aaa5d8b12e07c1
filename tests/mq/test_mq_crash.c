/* SPDX-License-Identifier: MIT */
/*
 * Crash injection: a sender or receiver is killed at every crash point of
 * the queue code (ZIPC_CRASH("mq.*")), and then
 *   - it must really have died there (exit status 86, so a point that is
 *     never reached fails the test);
 *   - the queue must be consistent (zipc__mq_check after the repair that
 *     the next lock runs) and hold exactly the committed messages: none
 *     lost, none duplicated;
 *   - a peer blocked on the queue when the crash happened must proceed.
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include "internal.h"
#include "mq/mq.h"
#include "mqcheck.h"
#include "registry.h"
#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"

static int failures;

#define CHECK(cond, ...)                                                      \
	do {                                                                  \
		if (!(cond)) {                                                \
			fprintf(stderr, "FAIL %s:%d: ", __FILE__, __LINE__);  \
			fprintf(stderr, __VA_ARGS__);                         \
			fprintf(stderr, "\n");                                \
			failures++;                                           \
		}                                                             \
	} while (0)

static const char *QNAME = "/crash";

/* The locked path's points need messages the ring does not carry (it
 * takes up to ZIPC_MQ_RING_PAYLOAD bytes): messages here are LONG bytes,
 * but msg_len bytes (SHORT) for the ring's own, first byte their name. */
#define LONG (ZIPC_MQ_RING_PAYLOAD + 4)
#define SHORT 8
static size_t msg_len = LONG;

static int
send_msg(zipc_queue *q, char name, int64_t timeout_ns)
{
	char buf[LONG] = {name};
	return zipc_queue_send(q, buf, msg_len, 0, timeout_ns);
}

static zipc_queue *
open_q(int maxmsg)
{
	struct zipc_queue_attr a = {maxmsg, LONG, {0}};
	zipc_queue *q;
	if (zipc_queue_open(QNAME, O_RDWR | O_CREAT, 0600, &a, &q) < 0) {
		fprintf(stderr, "open failed\n");
		exit(1);
	}
	return q;
}

/* Lock (repairing), check every invariant, unlock. */
static int
consistent(zipc_queue *q)
{
	int r = zipc__mq_lock(q);
	if (r < 0)
		return r;
	r = zipc__mq_check(q);
	zipc__mq_unlock(q);
	return r;
}

/* Drain without waiting into @out (first bytes of each message). */
static int
drain(zipc_queue *q, char *out, int max)
{
	char buf[LONG];
	int n = 0;
	while (n < max && zipc_queue_receive(q, buf, sizeof(buf), NULL, 0) > 0)
		out[n++] = buf[0];
	out[n] = 0;
	return n;
}

struct crash_arg {
	const char *point;
	int op; /* 0 send 'X', 1 receive */
};

static int
crasher(void *p)
{
	struct crash_arg *a = p;
	zipc_queue *q = open_q(4);
	zipc__crash_arm(a->point);
	char buf[LONG];
	if (a->op == 0)
		send_msg(q, 'X', -1);
	else
		zipc_queue_receive(q, buf, sizeof(buf), NULL, -1);
	return 0; /* not reached when the point is hit */
}

static int
peer_receiver(void *p)
{
	(void)p;
	zipc_queue *q = open_q(4);
	char buf[LONG];
	ssize_t n = zipc_queue_receive(q, buf, sizeof(buf), NULL,
				       10000000000LL);
	return n == (ssize_t)msg_len && (buf[0] == 'X' || buf[0] == 'Y') ? 0 : 3;
}

static int
peer_sender(void *p)
{
	(void)p;
	zipc_queue *q = open_q(4);
	return send_msg(q, 'Z', 10000000000LL) == 0 ? 0 : 3;
}

/* Wait until @pid sleeps (state S), so it is blocked in the queue. */
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
		usleep(1000); /* polling a state, not synchronising data */
	}
}

static void
engine_point(const char *point, int op, int committed)
{
	zipc_queue *q = open_q(4);
	char got[16];
	/* Phase A: two messages queued, then the crash. */
	send_msg(q, 'A', 0);
	send_msg(q, 'B', 0);
	struct crash_arg a = {point, op};
	pid_t c = tu_fork(crasher, &a);
	int st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
	CHECK(consistent(q) == 0, "%s: inconsistent after crash", point);
	drain(q, got, 8);
	const char *want = op == 0 ? (committed ? "ABX" : "AB")
				   : (committed ? "B" : "AB");
	CHECK(strcmp(got, want) == 0, "%s: holds \"%s\", want \"%s\"", point,
	      got, want);
	CHECK(consistent(q) == 0, "%s: inconsistent after drain", point);

	/* Phase B: a peer blocked when the crash happens proceeds. */
	pid_t peer;
	if (op == 0) {
		peer = tu_fork(peer_receiver, NULL);
		wait_asleep(peer);
		c = tu_fork(crasher, &a);
		st = tu_wait(c, 10000);
		CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
		if (!committed)
			send_msg(q, 'Y', 0);
	} else {
		for (int i = 0; i < 4; i++)
			send_msg(q, 'F', 0);
		peer = tu_fork(peer_sender, NULL);
		wait_asleep(peer);
		c = tu_fork(crasher, &a);
		st = tu_wait(c, 10000);
		CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
		if (!committed) {
			char b[LONG];
			zipc_queue_receive(q, b, sizeof(b), NULL, 0);
		}
	}
	st = tu_wait(peer, 15000);
	CHECK(st == 0, "%s: blocked peer did not proceed (%d)", point, st);
	CHECK(consistent(q) == 0, "%s: inconsistent after peer", point);
	drain(q, got, 8);
	CHECK(consistent(q) == 0, "%s: inconsistent at end", point);
	zipc_queue_close(q);
	zipc_queue_unlink(QNAME);
}

/*
 * A waiter killed right after counting itself as owed a wake (under the
 * lock, before it sleeps): the count it leaves only costs a spare wake;
 * a peer asleep beside it still gets its message or its room.
 */
static void
wait_point(const char *point, int op)
{
	zipc_queue *q = open_q(4);
	char got[16];
	int ring = strncmp(point, "mq.ring.", 8) == 0, fd = -1;
	msg_len = ring ? SHORT : LONG;
	/* An empty queue's receivers wait on the ring unless something
	 * needs the list, as a readiness fd does. */
	if (!ring && op == 1)
		fd = zipc_mq_fd(q, ZIPC_MQ_READABLE);
	if (op == 0)
		for (int i = 0; i < 4; i++)
			send_msg(q, 'F', 0);
	pid_t peer = tu_fork(op == 0 ? peer_sender : peer_receiver, NULL);
	wait_asleep(peer);
	struct crash_arg a = {point, op};
	pid_t c = tu_fork(crasher, &a);
	int st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s/%d: crasher exit %d", point, op, st);
	CHECK(consistent(q) == 0, "%s/%d: inconsistent after crash", point,
	      op);
	if (op == 0) {
		char b[LONG];
		CHECK(zipc_queue_receive(q, b, sizeof(b), NULL, 0) ==
			      (ssize_t)msg_len,
		      "%s/%d: receive", point, op);
	} else {
		CHECK(send_msg(q, 'Y', 0) == 0, "%s/%d: send",
		      point, op);
	}
	st = tu_wait(peer, 15000);
	CHECK(st == 0, "%s/%d: blocked peer did not proceed (%d)", point, op,
	      st);
	int n = drain(q, got, 8);
	CHECK(n == (op == 0 ? 4 : 0), "%s/%d: holds \"%s\"", point, op, got);
	CHECK(consistent(q) == 0, "%s/%d: inconsistent at end", point, op);
	if (fd >= 0)
		zipc_mq_fd_close(q, ZIPC_MQ_READABLE, fd);
	zipc_queue_close(q);
	zipc_queue_unlink(QNAME);
	msg_len = LONG;
}

/* A repairer that dies in the middle of its repair: the next one redoes
 * it. The first crasher leaves a linked message and a dead lock owner;
 * the second dies inside the repair its receive triggers. */
static void
repair_point(void)
{
	const char *point = "mq.repair.walked";
	zipc_queue *q = open_q(4);
	char got[16];
	send_msg(q, 'A', 0);
	struct crash_arg a = {"mq.send.linked", 0};
	pid_t c = tu_fork(crasher, &a);
	int st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: first crasher exit %d", point, st);
	struct crash_arg b = {point, 1};
	c = tu_fork(crasher, &b);
	st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: repairer exit %d", point, st);
	CHECK(consistent(q) == 0, "%s: inconsistent", point);
	drain(q, got, 8);
	CHECK(strcmp(got, "AX") == 0, "%s: holds \"%s\", want \"AX\"",
	      point, got);
	zipc_queue_close(q);
	zipc_queue_unlink(QNAME);
}

/* ---- XSI removal and IPC_SET ------------------------------------------ */

static int xsi_id;

static int
xsi_rmid_crasher(void *p)
{
	zipc__crash_arm((const char *)p);
	zipc_msgctl(xsi_id, IPC_RMID, NULL);
	return 0;
}

static int
xsi_set_crasher(void *p)
{
	struct msqid_ds ds;
	zipc__crash_arm((const char *)p);
	zipc_msgctl(xsi_id, IPC_STAT, &ds);
	ds.msg_qbytes = 100;
	zipc_msgctl(xsi_id, IPC_SET, &ds);
	return 0;
}

static int
xsi_blocked_receiver(void *p)
{
	(void)p;
	struct {
		long t;
		char x[16];
	} m;
	ssize_t r = zipc_msgrcv(xsi_id, &m, sizeof(m.x), 0, 0);
	return r < 0 && errno == EIDRM ? 0 : 3;
}

static void
xsi_rmid_point(const char *point)
{
	xsi_id = zipc_msgget(IPC_PRIVATE, 0600);
	CHECK(xsi_id >= 0, "msgget");
	pid_t peer = tu_fork(xsi_blocked_receiver, NULL);
	wait_asleep(peer);
	pid_t c = tu_fork(xsi_rmid_crasher, (void *)point);
	int st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
	st = tu_wait(peer, 15000);
	CHECK(st == 0, "%s: blocked receiver did not get EIDRM (%d)", point,
	      st);
	struct msqid_ds ds;
	CHECK(zipc_msgctl(xsi_id, IPC_STAT, &ds) < 0 && errno == EINVAL,
	      "%s: removed id still answers", point);
	/* The registry slot comes back: msgget sweeps it. */
	int id2 = zipc_msgget(IPC_PRIVATE, 0600);
	CHECK(id2 >= 0, "%s: msgget after crash", point);
	zipc_msgctl(id2, IPC_RMID, NULL);
}

static void
xsi_set_point(const char *point)
{
	xsi_id = zipc_msgget(IPC_PRIVATE, 0600);
	struct {
		long t;
		char x[16];
	} m = {1, "hello"};
	zipc_msgsnd(xsi_id, &m, 5, 0);
	pid_t c = tu_fork(xsi_set_crasher, (void *)point);
	int st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
	struct msqid_ds ds;
	CHECK(zipc_msgctl(xsi_id, IPC_STAT, &ds) == 0 && ds.msg_qnum == 1 &&
		      ds.msg_cbytes == 5 && ds.msg_qbytes == 100,
	      "%s: msqid_ds after crash", point);
	CHECK(zipc_msgrcv(xsi_id, &m, 16, 0, IPC_NOWAIT) == 5,
	      "%s: message lost", point);
	zipc_msgctl(xsi_id, IPC_RMID, NULL);
}

/* ---- the XSI ring ------------------------------------------------------- */

struct xmsg {
	long t;
	char x[64];
};

static int
xsi_send1(int id, char c, int flags)
{
	struct xmsg m = {1, {c}};
	return zipc_msgsnd(id, &m, 1, flags);
}

/* Receive everything there is without waiting, first bytes into @out. */
static int
xsi_drain(int id, char *out, int max)
{
	struct xmsg m;
	int n = 0;
	while (n < max && zipc_msgrcv(id, &m, sizeof(m.x), 0, IPC_NOWAIT) > 0)
		out[n++] = m.x[0];
	out[n] = 0;
	return n;
}


struct xsi_crash_arg {
	const char *point;
	int op; /* 0 send 'X', 1 receive, 2 IPC_STAT (closes the ring) */
};

static int
xsi_crasher(void *p)
{
	struct xsi_crash_arg *a = p;
	struct xmsg m;
	struct msqid_ds ds;
	zipc__crash_arm(a->point);
	if (a->op == 0)
		xsi_send1(xsi_id, 'X', 0);
	else if (a->op == 1)
		zipc_msgrcv(xsi_id, &m, sizeof(m.x), 0, 0);
	else
		zipc_msgctl(xsi_id, IPC_STAT, &ds);
	return 0; /* not reached when the point is hit */
}

static int
xsi_peer_receiver(void *p)
{
	(void)p;
	struct xmsg m;
	ssize_t n = zipc_msgrcv(xsi_id, &m, sizeof(m.x), 0, 0);
	return n == 1 && (m.x[0] == 'X' || m.x[0] == 'Y') ? 0 : 3;
}

static int
xsi_peer_sender(void *p)
{
	(void)p;
	return xsi_send1(xsi_id, 'Z', 0) == 0 ? 0 : 3;
}

/*
 * A ring sender or receiver killed at @point: the queue holds exactly
 * the committed messages, in order, and a peer blocked on the ring
 * proceeds. A closer (IPC_STAT) killed while moving the ring to the list
 * leaves every message exactly once.
 */
static void
xsi_ring_point(const char *point, int op, int committed)
{
	char got[16];
	xsi_id = zipc_msgget(IPC_PRIVATE, 0600);
	CHECK(xsi_id >= 0, "msgget");
	xsi_send1(xsi_id, 'A', 0);
	xsi_send1(xsi_id, 'B', 0);
	struct xsi_crash_arg a = {point, op};
	pid_t c = tu_fork(xsi_crasher, &a);
	int st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
	CHECK(xsi_check(xsi_id) == 0, "%s: inconsistent after crash",
	      point);
	xsi_drain(xsi_id, got, 8);
	const char *want = op == 0 ? (committed ? "ABX" : "AB")
			   : op == 1 ? (committed ? "B" : "AB")
				     : "AB";
	CHECK(strcmp(got, want) == 0, "%s: holds \"%s\", want \"%s\"", point,
	      got, want);
	if (op < 2) {
		/* A peer blocked on the ring when the crash happens. */
		pid_t peer;
		if (op == 0) {
			peer = tu_fork(xsi_peer_receiver, NULL);
		} else {
			struct msqid_ds ds;
			zipc_msgctl(xsi_id, IPC_STAT, &ds);
			ds.msg_qbytes = 4; /* four 1-byte messages fill it */
			zipc_msgctl(xsi_id, IPC_SET, &ds);
			for (int i = 0; i < 4; i++)
				xsi_send1(xsi_id, 'F', 0);
			peer = tu_fork(xsi_peer_sender, NULL);
		}
		wait_asleep(peer);
		c = tu_fork(xsi_crasher, &a);
		st = tu_wait(c, 10000);
		CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
		if (!committed && op == 0)
			xsi_send1(xsi_id, 'Y', 0);
		else if (!committed)
			xsi_drain(xsi_id, got, 1);
		st = tu_wait(peer, 15000);
		CHECK(st == 0, "%s: blocked peer did not proceed (%d)", point,
		      st);
		xsi_drain(xsi_id, got, 8);
	}
	CHECK(xsi_check(xsi_id) == 0, "%s: inconsistent at end", point);
	zipc_msgctl(xsi_id, IPC_RMID, NULL);
}

/* ---- notification ------------------------------------------------------- */

static int
notify_crasher(void *p)
{
	mqd_t m = zipc_mq_open(QNAME, O_RDWR);
	zipc__crash_arm((const char *)p);
	if (strcmp(p, "mq.notify.registering") == 0) {
		struct sigevent sev;
		memset(&sev, 0, sizeof(sev));
		sev.sigev_notify = SIGEV_NONE;
		zipc_mq_notify(m, &sev);
	} else {
		zipc_mq_send(m, "N", 1, 0);
	}
	return 0;
}

static void
notify_point(const char *point)
{
	struct mq_attr attr;
	memset(&attr, 0, sizeof(attr));
	attr.mq_maxmsg = 4;
	attr.mq_msgsize = 64;
	mqd_t m = zipc_mq_open(QNAME, O_RDWR | O_CREAT | O_NONBLOCK, 0600,
			       &attr);
	CHECK(m >= 0, "mq_open");
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	if (strcmp(point, "mq.notify.cleared") == 0)
		CHECK(zipc_mq_notify(m, &sev) == 0, "register");
	pid_t c = tu_fork(notify_crasher, (void *)point);
	int st = tu_wait(c, 10000);
	CHECK(st == ZIPC_CRASH_EXIT, "%s: crasher exit %d", point, st);
	/* Whatever the crash left, this process can register now. */
	CHECK(zipc_mq_notify(m, &sev) == 0, "%s: register after crash: %s",
	      point, strerror(errno));
	CHECK(zipc_mq_notify(m, NULL) == 0, "unregister");
	char b[64];
	while (zipc_mq_receive(m, b, sizeof(b), NULL) >= 0)
		;
	zipc_mq_close(m);
	zipc_mq_unlink(QNAME);
}

int
main(void)
{
	tu_setup(280);
	static const struct {
		const char *point;
		int op, committed;
	} pts[] = {
		{"mq.send.written", 0, 0},  {"mq.send.linked", 0, 1},
		{"mq.send.counted", 0, 1},  {"mq.recv.copied", 1, 0},
		{"mq.recv.unlinked", 1, 1}, {"mq.recv.counted", 1, 1},
		{"mq.recv.freed", 1, 1},    {"mq.send.owed", 0, 1},
		{"mq.recv.owed", 1, 1},
	};
	for (size_t i = 0; i < sizeof(pts) / sizeof(pts[0]); i++) {
		engine_point(pts[i].point, pts[i].op, pts[i].committed);
		fprintf(stderr, "# %s done\n", pts[i].point);
	}
	repair_point();
	wait_point("mq.wait.counted", 0);
	wait_point("mq.wait.counted", 1);
	wait_point("mq.ring.wait.counted", 0);
	wait_point("mq.ring.wait.counted", 1);
	xsi_rmid_point("mq.rmid.removed");
	xsi_rmid_point("mq.rmid.released");
	xsi_set_point("mq.set.done");
	static const struct {
		const char *point;
		int op, committed;
	} rpts[] = {
		{"mq.ring.send.written", 0, 0}, {"mq.ring.send.published", 0, 1},
		{"mq.ring.recv.copied", 1, 0},
		{"mq.ring.recv.taken", 1, 1},
		{"mq.ring.close.closed", 2, 0}, {"mq.ring.close.moved", 2, 0},
	};
	for (size_t i = 0; i < sizeof(rpts) / sizeof(rpts[0]); i++) {
		xsi_ring_point(rpts[i].point, rpts[i].op, rpts[i].committed);
		fprintf(stderr, "# %s done\n", rpts[i].point);
	}
	notify_point("mq.notify.registering");
	notify_point("mq.notify.cleared");
	CHECK(tu_count_objects() == 0, "objects left: %d", tu_count_objects());
	if (failures) {
		fprintf(stderr, "%d failures\n", failures);
		return 1;
	}
	printf("every crash point: consistent, nothing lost or duplicated, "
	       "peers proceed\n");
	return 0;
}
