/* SPDX-License-Identifier: MIT */
/*
 * Differential test of the XSI face: the same random sequence of msgget,
 * msgsnd, msgrcv and msgctl operations goes to a kernel queue and a zipc
 * queue, and every result, errno, received type and byte must agree.
 * Only non-blocking operations, so a divergence fails instead of hanging.
 * Every kernel queue made here is removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <unistd.h>

#include "diffutil.h"
#include "testutil.h"
#include "zipc_compat.h"

#define OPS_DEFAULT 20000
#define MSGMAX 8192

struct mbuf {
	long mtype;
	char mtext[MSGMAX + 64];
};

static int kq = -1, zq = -1;
static long nops;
static int copy_ok;
static long n_sent, n_recv, n_err;

static void
cleanup(void)
{
	if (kq >= 0)
		msgctl(kq, IPC_RMID, NULL);
	kq = -1;
}

static void
fill(struct mbuf *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		m->mtext[i] = (char)tu_rand();
}

static size_t
rand_size(void)
{
	switch (tu_rand_below(8)) {
	case 0:
		return 0;
	case 1:
		return 1;
	case 2:
		return MSGMAX;
	case 3:
		return MSGMAX - tu_rand_below(3);
	case 4:
		return tu_rand_below(2000);
	case 5:
		return tu_rand_below(97) + 90; /* around a slot boundary */
	default:
		return tu_rand_below(300);
	}
}

static void
op_send(void)
{
	struct mbuf m;
	size_t n = rand_size();
	int flg = IPC_NOWAIT;
	m.mtype = (long)tu_rand_below(6);
	if (tu_rand_below(50) == 0)
		m.mtype = -(long)tu_rand_below(3);
	if (tu_rand_below(100) == 0)
		n = MSGMAX + 1;
	fill(&m, n > MSGMAX ? MSGMAX : n);
	errno = 0;
	long kr = msgsnd(kq, &m, n, flg);
	int ke = errno;
	errno = 0;
	long zr = zipc_msgsnd(zq, &m, n, flg);
	tu_diff_same(kr, ke, zr, errno, "msgsnd");
	if (kr == 0)
		n_sent++;
	else
		n_err++;
}

static void
op_recv(void)
{
	struct mbuf a, b;
	long typ = (long)tu_rand_below(13) - 6;
	int flg = IPC_NOWAIT;
	if (tu_rand_below(4) == 0)
		flg |= MSG_NOERROR;
	if (tu_rand_below(4) == 0)
		flg |= MSG_EXCEPT;
	size_t sz = tu_rand_below(3) ? MSGMAX : tu_rand_below(400);
	if (copy_ok && tu_rand_below(10) == 0) {
		flg = (flg & ~MSG_EXCEPT) | MSG_COPY;
		typ = (long)tu_rand_below(8) - 1;
	}
	memset(&a, 0x11, sizeof(a));
	memset(&b, 0x11, sizeof(b));
	errno = 0;
	long kr = msgrcv(kq, &a, sz, typ, flg);
	int ke = errno;
	errno = 0;
	long zr = zipc_msgrcv(zq, &b, sz, typ, flg);
	tu_diff_same(kr, ke, zr, errno, "msgrcv");
	if (kr >= 0 && (a.mtype != b.mtype ||
			memcmp(a.mtext, b.mtext, (size_t)kr) != 0))
		tu_diff_fail("msgrcv: message differs (type %ld vs %ld)",
			     a.mtype, b.mtype);
	if (kr >= 0)
		n_recv++;
	else
		n_err++;
}

static void
op_stat(void)
{
	struct msqid_ds a, b;
	errno = 0;
	long kr = msgctl(kq, IPC_STAT, &a);
	int ke = errno;
	errno = 0;
	long zr = zipc_msgctl(zq, IPC_STAT, &b);
	tu_diff_same(kr, ke, zr, errno, "IPC_STAT");
	if (kr < 0)
		return;
	if (a.msg_qnum != b.msg_qnum || a.msg_cbytes != b.msg_cbytes ||
	    a.msg_qbytes != b.msg_qbytes || a.msg_lspid != b.msg_lspid ||
	    a.msg_lrpid != b.msg_lrpid ||
	    a.msg_perm.mode != b.msg_perm.mode ||
	    a.msg_perm.uid != b.msg_perm.uid ||
	    a.msg_perm.cuid != b.msg_perm.cuid ||
	    (a.msg_stime != 0) != (b.msg_stime != 0) ||
	    (a.msg_rtime != 0) != (b.msg_rtime != 0))
		tu_diff_fail("IPC_STAT: qnum %lu/%lu cbytes %lu/%lu "
			     "qbytes %lu/%lu lspid %d/%d "
			     "lrpid %d/%d mode %o/%o",
			     a.msg_qnum, b.msg_qnum, a.msg_cbytes, b.msg_cbytes,
			     a.msg_qbytes, b.msg_qbytes, a.msg_lspid,
			     b.msg_lspid, a.msg_lrpid, b.msg_lrpid,
			     a.msg_perm.mode, b.msg_perm.mode);
}

static void
op_set(void)
{
	static const unsigned long sizes[] = {0,    1,     50,    200,  1000,
					      4096, 16384, 16385, 100000};
	struct msqid_ds a, b;
	if (msgctl(kq, IPC_STAT, &a) < 0 || zipc_msgctl(zq, IPC_STAT, &b) < 0)
		tu_diff_fail("IPC_STAT before IPC_SET");
	a.msg_qbytes = b.msg_qbytes = sizes[tu_rand_below(9)];
	a.msg_perm.mode = b.msg_perm.mode = tu_rand_below(2) ? 0600 : 0666;
	errno = 0;
	long kr = msgctl(kq, IPC_SET, &a);
	int ke = errno;
	errno = 0;
	long zr = zipc_msgctl(zq, IPC_SET, &b);
	tu_diff_same(kr, ke, zr, errno, "IPC_SET");
}

static void
op_errors(void)
{
	struct mbuf m = {1, {0}};
	struct msqid_ds ds;
	long kr, zr;
	int ke;
	switch (tu_rand_below(11)) {
	case 9: { /* IPC_INFO: the limits (the index returned differs) */
		struct msginfo a, b;
		memset(&a, 0, sizeof(a));
		memset(&b, 0, sizeof(b));
		kr = msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&a) >= 0;
		zr = zipc_msgctl(0, IPC_INFO, (struct msqid_ds *)(void *)&b) >=
		     0;
		tu_diff_same(kr, 0, zr, 0, "IPC_INFO");
		if (memcmp(&a, &b, sizeof(a)) != 0)
			tu_diff_fail("IPC_INFO: msgmax %d/%d msgmnb %d/%d "
				     "msgmni %d/%d msgpool %d/%d msgmap %d/%d "
				     "msgtql %d/%d",
				     a.msgmax, b.msgmax, a.msgmnb, b.msgmnb,
				     a.msgmni, b.msgmni, a.msgpool, b.msgpool,
				     a.msgmap, b.msgmap, a.msgtql, b.msgtql);
		break;
	}
	case 10: /* MSG_STAT of an index nobody uses */
		errno = 0;
		kr = msgctl(32767, MSG_STAT, &ds);
		ke = errno;
		errno = 0;
		zr = zipc_msgctl(32767, MSG_STAT, &ds);
		tu_diff_same(kr, ke, zr, errno, "MSG_STAT unused index");
		break;
	case 0: /* a removed or never made id */
		errno = 0;
		kr = msgsnd(kq + 32768 * 7, &m, 1, IPC_NOWAIT);
		ke = errno;
		errno = 0;
		zr = zipc_msgsnd(zq + 32768 * 7, &m, 1, IPC_NOWAIT);
		tu_diff_same(kr, ke, zr, errno, "msgsnd bad id");
		break;
	case 1:
		errno = 0;
		kr = msgrcv(-1, &m, 1, 0, IPC_NOWAIT);
		ke = errno;
		errno = 0;
		zr = zipc_msgrcv(-1, &m, 1, 0, IPC_NOWAIT);
		tu_diff_same(kr, ke, zr, errno, "msgrcv -1");
		break;
	case 2:
		errno = 0;
		kr = msgctl(kq, 77, &ds);
		ke = errno;
		errno = 0;
		zr = zipc_msgctl(zq, 77, &ds);
		tu_diff_same(kr, ke, zr, errno, "msgctl bad cmd");
		break;
	case 3:
		errno = 0;
		kr = msgsnd(kq, NULL, 1, IPC_NOWAIT);
		ke = errno;
		errno = 0;
		zr = zipc_msgsnd(zq, NULL, 1, IPC_NOWAIT);
		tu_diff_same(kr, ke, zr, errno, "msgsnd NULL");
		break;
	case 4:
		errno = 0;
		kr = msgctl(kq, IPC_SET, NULL);
		ke = errno;
		errno = 0;
		zr = zipc_msgctl(zq, IPC_SET, NULL);
		tu_diff_same(kr, ke, zr, errno, "IPC_SET NULL");
		break;
	case 5:
		errno = 0;
		kr = msgrcv(kq, &m, (size_t)-1, 0, IPC_NOWAIT);
		ke = errno;
		errno = 0;
		zr = zipc_msgrcv(zq, &m, (size_t)-1, 0, IPC_NOWAIT);
		tu_diff_same(kr, ke, zr, errno, "msgrcv huge size");
		break;
	case 6:
		errno = 0;
		kr = msgrcv(kq, &m, 10, 0, MSG_COPY);
		ke = errno;
		errno = 0;
		zr = zipc_msgrcv(zq, &m, 10, 0, MSG_COPY);
		if (copy_ok)
			tu_diff_same(kr, ke, zr, errno, "MSG_COPY blocking");
		break;
	case 7:
		errno = 0;
		kr = msgctl(-5, IPC_STAT, &ds);
		ke = errno;
		errno = 0;
		zr = zipc_msgctl(-5, IPC_STAT, &ds);
		tu_diff_same(kr, ke, zr, errno, "IPC_STAT -5");
		break;
	default:
		errno = 0;
		kr = msgsnd(kq, &m, (size_t)-1, IPC_NOWAIT);
		ke = errno;
		errno = 0;
		zr = zipc_msgsnd(zq, &m, (size_t)-1, IPC_NOWAIT);
		tu_diff_same(kr, ke, zr, errno, "msgsnd huge size");
		break;
	}
}

static void
op_recreate(void)
{
	int okq = kq, ozq = zq;
	errno = 0;
	long kr = msgctl(kq, IPC_RMID, NULL);
	int ke = errno;
	errno = 0;
	long zr = zipc_msgctl(zq, IPC_RMID, NULL);
	tu_diff_same(kr, ke, zr, errno, "IPC_RMID");
	kq = zq = -1;
	struct mbuf m = {1, {0}};
	errno = 0;
	kr = msgsnd(okq, &m, 1, IPC_NOWAIT);
	ke = errno;
	errno = 0;
	zr = zipc_msgsnd(ozq, &m, 1, IPC_NOWAIT);
	tu_diff_same(kr, ke, zr, errno, "msgsnd removed id");
	kq = msgget(IPC_PRIVATE, 0600);
	zq = zipc_msgget(IPC_PRIVATE, 0600);
	if (kq < 0 || zq < 0)
		tu_diff_fail("msgget IPC_PRIVATE: %s", strerror(errno));
}

static void
op_keys(void)
{
	key_t key;
	int k = -1;
	for (int tries = 0; tries < 20 && k < 0; tries++) {
		key = (key_t)(0x5a000000 | tu_rand_below(0xffffff));
		k = msgget(key, IPC_CREAT | IPC_EXCL | 0640);
	}
	if (k < 0)
		return;
	int z = zipc_msgget(key, IPC_CREAT | IPC_EXCL | 0640);
	if (z < 0)
		tu_diff_fail("zipc msgget new key: %s", strerror(errno));
	long kr, zr;
	int ke;
	errno = 0;
	kr = msgget(key, IPC_CREAT | IPC_EXCL | 0640);
	ke = errno;
	errno = 0;
	zr = zipc_msgget(key, IPC_CREAT | IPC_EXCL | 0640);
	tu_diff_same(kr, ke, zr, errno, "msgget EEXIST");
	kr = msgget(key, 0) == k;
	zr = zipc_msgget(key, 0) == z;
	tu_diff_same(kr, 0, zr, 0, "msgget existing");
	msgctl(k, IPC_RMID, NULL);
	zipc_msgctl(z, IPC_RMID, NULL);
	errno = 0;
	kr = msgget(key, 0);
	ke = errno;
	errno = 0;
	zr = zipc_msgget(key, 0);
	tu_diff_same(kr, ke, zr, errno, "msgget removed key");
}

int
main(void)
{
	tu_setup(240);
	tu_seed(0x5eed0001);
	tu_diff_init(&nops, NULL, cleanup);
	long total = tu_diff_ops(OPS_DEFAULT);
	kq = msgget(IPC_PRIVATE, 0600);
	zq = zipc_msgget(IPC_PRIVATE, 0600);
	if (kq < 0 || zq < 0) {
		fprintf(stderr, "msgget: %s\n", strerror(errno));
		cleanup();
		return kq < 0 ? 77 : 1;
	}
	struct mbuf m;
	errno = 0;
	copy_ok = !(msgrcv(kq, &m, 1, 0, MSG_COPY | IPC_NOWAIT) < 0 &&
		    errno == ENOSYS);
	for (nops = 0; nops < total; nops++) {
		unsigned r = (unsigned)tu_rand_below(1000);
		if (r < 420)
			op_send();
		else if (r < 850)
			op_recv();
		else if (r < 920)
			op_stat();
		else if (r < 950)
			op_set();
		else if (r < 990)
			op_errors();
		else if (r < 996)
			op_recreate();
		else
			op_keys();
	}
	cleanup();
	if (zipc_msgctl(zq, IPC_RMID, NULL) < 0) {
		fprintf(stderr, "final IPC_RMID: %s\n", strerror(errno));
		return 1;
	}
	if (tu_count_objects() != 0) {
		fprintf(stderr, "objects left behind: %d\n", tu_count_objects());
		return 1;
	}
	printf("%ld operations (%ld sent, %ld received, %ld failed alike), "
	       "no divergence (MSG_COPY %s)\n",
	       nops, n_sent, n_recv, n_err,
	       copy_ok ? "compared" : "not supported by this kernel");
	return 0;
}
