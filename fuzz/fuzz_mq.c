/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: an interpreter that turns bytes into a sequence of queue
 * operations (send, receive by priority, msgsnd, msgrcv with every msgtyp
 * mode and flag) and checks each result against an in-memory model of the
 * kernel's semantics. Some inputs then scribble over the queue's shared
 * memory, as a hostile peer could; from there on only the absence of
 * crashes and hangs is checked (every call must return a result or a
 * clean -errno).
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
 *   -Iinclude -Isrc fuzz/fuzz_mq.c fuzz/fuzzutil.c <libzipc sources> ;
 *   corpus fuzz/corpus/mq.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "mq/mq.h"
#include "zipc.h"
#include "zipc_compat.h"

#define MAXQ 64

struct model_msg {
	long type; /* XSI type or POSIX priority */
	uint32_t len;
	uint32_t tag;
};

struct model {
	struct model_msg m[MAXQ * 4];
	int n;
	uint64_t bytes;
};

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_mq: model divergence: %s\n", what);
	abort();
}

static void
fill(char *buf, uint32_t len, uint32_t tag)
{
	for (uint32_t i = 0; i < len; i++)
		buf[i] = (char)(tag * 31 + i);
}

static void
check_body(const char *buf, uint32_t len, uint32_t tag)
{
	for (uint32_t i = 0; i < len; i++)
		if (buf[i] != (char)(tag * 31 + i))
			die("message bytes");
}

/* Scribble @k random bytes over the mapping of @q. */
static void
scribble(struct zipc_queue *q, struct fuzz_input *in)
{
	unsigned k = fuzz_take(in) % 16 + 1;
	char *base = q->q_obj.o_base;
	for (unsigned i = 0; i < k; i++) {
		unsigned off = (fuzz_take(in) << 8 | fuzz_take(in)) %
			       (unsigned)q->q_obj.o_size;
		if (off < sizeof(struct zipc_seg_hdr))
			off += sizeof(struct zipc_seg_hdr);
		if (off >= q->q_obj.o_size)
			continue;
		/* Never the lock word: a garbage owner tid could name a live
		 * thread and make every call wait for it, by design. */
		if (off >= 64 && off < 64 + sizeof(struct zipc_lock))
			continue;
		base[off] = (char)fuzz_take(in);
	}
}

static void
posix_run(struct fuzz_input *in)
{
	struct zipc_queue_attr a = {
		fuzz_take(in) % 10 + 1, fuzz_take(in) % 200 + 1, {0}};
	struct model md = {.n = 0};
	zipc_queue *q;
	int hostile = 0;
	int r0 = zipc_queue_open("/fz", O_RDWR | O_CREAT | O_EXCL, 0600, &a,
				 &q);
	if (r0 < 0) {
		fprintf(stderr, "fuzz_mq: open: %s\n", strerror(-r0));
		abort();
	}
	uint32_t tag = 0;
	char buf[512];
	while (in->n) {
		unsigned op = fuzz_take(in) % 16;
		if (op < 7) {
			uint32_t len = fuzz_take(in) % (a.msgsize + 2);
			unsigned prio = fuzz_take(in) % 8;
			fill(buf, len, ++tag);
			int r = zipc_queue_send(q, buf, len, prio, 0);
			if (hostile)
				continue;
			int want = len > a.msgsize	? -EMSGSIZE
				   : md.n >= a.maxmsg ? -EAGAIN
						      : 0;
			if (r != want)
				die("send");
			if (r == 0) {
				int i = md.n;
				while (i > 0 && md.m[i - 1].type < (long)prio) {
					md.m[i] = md.m[i - 1];
					i--;
				}
				md.m[i] = (struct model_msg){prio, len, tag};
				md.n++;
			}
		} else if (op < 14) {
			size_t len = fuzz_take(in) % 4 ? sizeof(buf)
						       : fuzz_take(in) % 200;
			unsigned prio = 99;
			ssize_t r = zipc_queue_receive(q, buf, len, &prio, 0);
			if (hostile)
				continue;
			ssize_t want = len < (size_t)a.msgsize ? -EMSGSIZE
				       : md.n == 0	    ? -EAGAIN
						  : (ssize_t)md.m[0].len;
			if (r != want)
				die("receive");
			if (r >= 0) {
				if (prio != md.m[0].type)
					die("priority order");
				check_body(buf, md.m[0].len, md.m[0].tag);
				memmove(md.m, md.m + 1,
					sizeof(md.m[0]) * (size_t)--md.n);
			}
		} else if (op == 14 && fuzz_take(in) < 16) {
			scribble(q, in);
			hostile = 1;
		} else if (!hostile) {
			if (zipc__mq_lock(q) == 0) {
				if (zipc__mq_check(q) != 0)
					die("invariants");
				zipc__mq_unlock(q);
			}
		}
	}
	zipc_queue_close(q);
	zipc_queue_unlink("/fz");
}

struct mb {
	long mtype;
	char t[512];
};

/* msgrcv's selection over the model; -1 if none. */
static int
xsi_pick(const struct model *md, long typ, int except)
{
	int best = -1;
	for (int i = 0; i < md->n; i++) {
		long t = md->m[i].type;
		if (typ == 0)
			return i;
		if (typ > 0 && !except && t == typ)
			return i;
		if (typ > 0 && except && t != typ)
			return i;
		if (typ < 0 && t <= -typ && (best < 0 || t < md->m[best].type))
			best = i;
	}
	return best;
}

static void
xsi_run(struct fuzz_input *in)
{
	int id = zipc_msgget(IPC_PRIVATE, 0600);
	struct model md = {.n = 0};
	struct msqid_ds ds;
	if (id < 0 || zipc_msgctl(id, IPC_STAT, &ds) < 0) {
		fprintf(stderr, "fuzz_mq: msgget/IPC_STAT %d: %s\n", id,
			strerror(errno));
		abort();
	}
	ds.msg_qbytes = fuzz_take(in) * 8 + 1;
	if (zipc_msgctl(id, IPC_SET, &ds) < 0)
		abort();
	uint32_t tag = 0;
	struct mb m;
	while (in->n) {
		unsigned op = fuzz_take(in) % 8;
		if (op < 4) {
			uint32_t len = fuzz_take(in) * 2;
			m.mtype = fuzz_take(in) % 5;
			fill(m.t, len, ++tag);
			int r = zipc_msgsnd(id, &m, len, IPC_NOWAIT);
			int e = r < 0 ? errno : 0;
			int want = m.mtype < 1 ? EINVAL
				   : md.bytes + len > ds.msg_qbytes ||
						   (uint64_t)md.n + 1 >
							   ds.msg_qbytes ||
						   md.n >= MAXQ * 4
					   ? EAGAIN
					   : 0;
			/* zipc's arena may be full earlier for tiny messages
			 * (documented); then it says EAGAIN too. */
			if (e != want && !(e == EAGAIN && want == 0))
				die("msgsnd");
			if (r == 0) {
				md.m[md.n++] = (struct model_msg){m.mtype, len,
								  tag};
				md.bytes += len;
			}
		} else {
			long typ = (long)(fuzz_take(in) % 9) - 4;
			unsigned f = fuzz_take(in);
			int flg = IPC_NOWAIT | (f & 1 ? MSG_EXCEPT : 0) |
				  (f & 2 ? MSG_NOERROR : 0);
			size_t sz = f & 4 ? fuzz_take(in) : sizeof(m.t);
			ssize_t r = zipc_msgrcv(id, &m, sz, typ, flg);
			int e = r < 0 ? errno : 0;
			int i = xsi_pick(&md, typ, (flg & MSG_EXCEPT) != 0);
			int want = i < 0 ? ENOMSG
				   : md.m[i].len > sz && !(flg & MSG_NOERROR)
					   ? E2BIG
					   : 0;
			if (e != want)
				die("msgrcv");
			if (r >= 0) {
				size_t n = md.m[i].len < sz ? md.m[i].len : sz;
				if ((size_t)r != n || m.mtype != md.m[i].type)
					die("msgrcv result");
				check_body(m.t, (uint32_t)n, md.m[i].tag);
				md.bytes -= md.m[i].len;
				memmove(md.m + i, md.m + i + 1,
					sizeof(md.m[0]) * (size_t)(md.n - i - 1));
				md.n--;
			}
		}
	}
	if (zipc_msgctl(id, IPC_STAT, &ds) < 0 || ds.msg_qnum != (unsigned)md.n ||
	    ds.msg_cbytes != md.bytes)
		die("msqid_ds counters");
	zipc_msgctl(id, IPC_RMID, NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	fuzz_store("mq");
	if (fuzz_take(&in) & 1)
		xsi_run(&in);
	else
		posix_run(&in);
	return 0;
}
