/* SPDX-License-Identifier: MIT */
/*
 * Differential test of the POSIX face: the same random sequence of
 * mq_open, mq_send/mq_timedsend, mq_receive/mq_timedreceive, mq_getattr,
 * mq_setattr, mq_notify, mq_close and mq_unlink goes to the kernel's
 * queues and to zipc's, and every result, errno, priority and byte must
 * agree. Sends and receives never block (O_NONBLOCK or a deadline in the
 * past). Every kernel queue made here is unlinked.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "diffutil.h"
#include "testutil.h"
#include "zipc_compat.h"

#define OPS_DEFAULT 20000
#define NQ 3 /* queue names in play */
#define NH 4 /* descriptors per face */

static char names[NQ][64];
static mqd_t kh[NH], zh[NH];
static long nops, n_sent, n_recv, n_err;

static void
cleanup(void)
{
	for (int i = 0; i < NH; i++)
		if (kh[i] != (mqd_t)-1)
			mq_close(kh[i]);
	for (int i = 0; i < NQ; i++)
		mq_unlink(names[i]);
}

static void
op_open(void)
{
	int h = (int)tu_rand_below(NH);
	const char *name = names[tu_rand_below(NQ)];
	static const int accs[] = {O_RDONLY, O_WRONLY, O_RDWR, O_RDWR};
	int oflag = accs[tu_rand_below(4)];
	if (tu_rand_below(2))
		oflag |= O_CREAT;
	if (tu_rand_below(4) == 0)
		oflag |= O_EXCL;
	if (tu_rand_below(2))
		oflag |= O_NONBLOCK;
	struct mq_attr a = {0}, *ap = NULL;
	if (tu_rand_below(3)) {
		a.mq_maxmsg = (long)tu_rand_below(12);
		a.mq_msgsize = tu_rand_below(8) ? (long)tu_rand_below(300)
						: 8192 + (long)tu_rand_below(2);
		ap = &a;
	}
	if (kh[h] != (mqd_t)-1) {
		mq_close(kh[h]);
		zipc_mq_close(zh[h]);
		kh[h] = zh[h] = (mqd_t)-1;
	}
	errno = 0;
	mqd_t k = mq_open(name, oflag, 0600, ap);
	int ke = errno;
	errno = 0;
	mqd_t z = zipc_mq_open(name, oflag, 0600, ap);
	tu_diff_same(k < 0 ? -1 : 0, ke, z < 0 ? -1 : 0, errno, "mq_open");
	kh[h] = k;
	zh[h] = z;
}

static void
op_badnames(void)
{
	char longname[300];
	longname[0] = '/';
	memset(longname + 1, 'n', 299);
	longname[1 + NAME_MAX + tu_rand_below(2)] = 0;
	const char *bad[] = {"", "/", "noslash", "/a/b", "//x", "/.", "/..",
			     longname};
	const char *n = bad[tu_rand_below(8)];
	int oflag = O_RDWR | (tu_rand_below(2) ? O_CREAT : 0);
	errno = 0;
	mqd_t k = mq_open(n, oflag, 0600, NULL);
	int ke = errno;
	errno = 0;
	mqd_t z = zipc_mq_open(n, oflag, 0600, NULL);
	tu_diff_same(k < 0 ? -1 : 0, ke, z < 0 ? -1 : 0, errno,
		     "mq_open bad name");
	if (k >= 0) {
		mq_close(k);
		mq_unlink(n);
	}
	if (z >= 0) {
		zipc_mq_close(z);
		zipc_mq_unlink(n);
	}
	errno = 0;
	long kr = mq_unlink(n);
	ke = errno;
	errno = 0;
	long zr = zipc_mq_unlink(n);
	tu_diff_same(kr, ke, zr, errno, "mq_unlink bad name");
}

/* Mostly an open handle, sometimes any (closed ones give EBADF). */
static int
pick(void)
{
	int h = (int)tu_rand_below(NH);
	for (int i = 0; i < NH && tu_rand_below(10); i++)
		if (kh[(h + i) % NH] != (mqd_t)-1)
			return (h + i) % NH;
	return h;
}

static void
past(struct timespec *ts)
{
	clock_gettime(CLOCK_REALTIME, ts);
	ts->tv_sec -= 1;
}

static void
bad_ts(struct timespec *ts)
{
	ts->tv_sec = tu_rand_below(2) ? -1 : 0;
	ts->tv_nsec = tu_rand_below(2) ? 1000000000 : -1;
	if (ts->tv_sec == -1)
		ts->tv_nsec = 0;
}

static int
nonblocking(mqd_t k)
{
	struct mq_attr a;
	return mq_getattr(k, &a) == 0 && (a.mq_flags & O_NONBLOCK);
}

/*
 * How a send or receive on handle @h is made: 0, the plain call (only on
 * a non-blocking handle: never block); else the timed one, its deadline
 * in *@ts in the past or, now and then (3), invalid.
 */
static int
pick_how(int h, struct timespec *ts)
{
	int how = (int)tu_rand_below(4);
	if (how == 3 && tu_rand_below(6))
		how = 1;
	if (how == 0 && !nonblocking(kh[h]))
		how = 1; /* never block */
	if (how == 3)
		bad_ts(ts);
	else
		past(ts);
	return how;
}

static void
op_send(void)
{
	int h = pick();
	char buf[8200];
	size_t len = tu_rand_below(4) ? tu_rand_below(300) : 8192;
	unsigned prio = (unsigned)tu_rand_below(6);
	if (tu_rand_below(60) == 0)
		prio = 32768;
	for (size_t i = 0; i < len; i++)
		buf[i] = (char)tu_rand();
	struct timespec ts;
	int how = pick_how(h, &ts);
	errno = 0;
	long kr = how ? mq_timedsend(kh[h], buf, len, prio, &ts)
		      : mq_send(kh[h], buf, len, prio);
	int ke = errno;
	errno = 0;
	long zr = how ? zipc_mq_timedsend(zh[h], buf, len, prio, &ts)
		      : zipc_mq_send(zh[h], buf, len, prio);
	tu_diff_same(kr, ke, zr, errno, "mq_send");
	if (kr == 0)
		n_sent++;
	else
		n_err++;
}

static void
op_recv(void)
{
	int h = pick();
	char a[8300], b[8300];
	size_t len = tu_rand_below(3) ? 8192 : tu_rand_below(400);
	unsigned pa = 99, pb = 99;
	struct timespec ts;
	int how = pick_how(h, &ts);
	errno = 0;
	long kr = how ? mq_timedreceive(kh[h], a, len, &pa, &ts)
		      : mq_receive(kh[h], a, len, &pa);
	int ke = errno;
	errno = 0;
	long zr = how ? zipc_mq_timedreceive(zh[h], b, len, &pb, &ts)
		      : zipc_mq_receive(zh[h], b, len, &pb);
	tu_diff_same(kr, ke, zr, errno, "mq_receive");
	if (kr >= 0 && (pa != pb || memcmp(a, b, (size_t)kr) != 0))
		tu_diff_fail("mq_receive: message differs (prio %u vs %u)", pa,
			     pb);
	if (kr >= 0)
		n_recv++;
	else
		n_err++;
}

static void
op_attr(void)
{
	int h = pick();
	struct mq_attr ka, za, n = {0};
	memset(&ka, 0, sizeof(ka));
	memset(&za, 0, sizeof(za));
	long kr, zr;
	int ke;
	if (tu_rand_below(2)) {
		errno = 0;
		kr = mq_getattr(kh[h], &ka);
		ke = errno;
		errno = 0;
		zr = zipc_mq_getattr(zh[h], &za);
		tu_diff_same(kr, ke, zr, errno, "mq_getattr");
	} else {
		n.mq_flags = tu_rand_below(2) ? O_NONBLOCK : 0;
		if (tu_rand_below(10) == 0)
			n.mq_flags |= O_APPEND;
		errno = 0;
		kr = mq_setattr(kh[h], &n, &ka);
		ke = errno;
		errno = 0;
		zr = zipc_mq_setattr(zh[h], &n, &za);
		tu_diff_same(kr, ke, zr, errno, "mq_setattr");
	}
	if (kr == 0 &&
	    (ka.mq_flags != za.mq_flags || ka.mq_maxmsg != za.mq_maxmsg ||
	     ka.mq_msgsize != za.mq_msgsize ||
	     ka.mq_curmsgs != za.mq_curmsgs))
		tu_diff_fail("mq_attr: flags %ld/%ld maxmsg %ld/%ld "
			     "msgsize %ld/%ld curmsgs %ld/%ld",
			     ka.mq_flags, za.mq_flags, ka.mq_maxmsg,
			     za.mq_maxmsg, ka.mq_msgsize, za.mq_msgsize,
			     ka.mq_curmsgs, za.mq_curmsgs);
}

static void
op_notify(void)
{
	int h = (int)tu_rand_below(NH);
	struct sigevent sev;
	memset(&sev, 0, sizeof(sev));
	sev.sigev_notify = SIGEV_NONE;
	if (tu_rand_below(8) == 0)
		sev.sigev_notify = 77;
	errno = 0;
	int unreg = tu_rand_below(3) == 0;
	long kr = mq_notify(kh[h], unreg ? NULL : &sev);
	int ke = errno;
	errno = 0;
	long zr = zipc_mq_notify(zh[h], unreg ? NULL : &sev);
	tu_diff_same(kr, ke, zr, errno, "mq_notify");
}

static void
op_close_unlink(void)
{
	long kr, zr;
	int ke;
	if (tu_rand_below(2)) {
		int h = (int)tu_rand_below(NH);
		errno = 0;
		kr = mq_close(kh[h]);
		ke = errno;
		errno = 0;
		zr = zipc_mq_close(zh[h]);
		tu_diff_same(kr, ke, zr, errno, "mq_close");
		kh[h] = zh[h] = (mqd_t)-1;
	} else {
		const char *name = names[tu_rand_below(NQ)];
		errno = 0;
		kr = mq_unlink(name);
		ke = errno;
		errno = 0;
		zr = zipc_mq_unlink(name);
		tu_diff_same(kr, ke, zr, errno, "mq_unlink");
	}
}

int
main(void)
{
	tu_setup(240);
	tu_seed(0x5eed0002);
	tu_diff_init(&nops, NULL, cleanup);
	long total = tu_diff_ops(OPS_DEFAULT);
	for (int i = 0; i < NQ; i++)
		snprintf(names[i], sizeof(names[i]), "/zipc-diff.%d.%d",
			 (int)getpid(), i);
	for (int i = 0; i < NH; i++)
		kh[i] = zh[i] = (mqd_t)-1;
	for (nops = 0; nops < total; nops++) {
		unsigned r = (unsigned)tu_rand_below(1000);
		if (r < 60)
			op_open();
		else if (r < 70)
			op_badnames();
		else if (r < 450)
			op_send();
		else if (r < 850)
			op_recv();
		else if (r < 930)
			op_attr();
		else if (r < 970)
			op_notify();
		else
			op_close_unlink();
	}
	for (int i = 0; i < NH; i++) {
		if (zh[i] != (mqd_t)-1 && zipc_mq_close(zh[i]) < 0)
			tu_diff_fail("final close");
	}
	for (int i = 0; i < NQ; i++)
		zipc_mq_unlink(names[i]);
	cleanup();
	if (tu_count_objects() != 0) {
		fprintf(stderr, "objects left behind: %d\n", tu_count_objects());
		return 1;
	}
	printf("%ld operations (%ld sent, %ld received, %ld failed alike), "
	       "no divergence\n",
	       nops, n_sent, n_recv, n_err);
	return 0;
}
