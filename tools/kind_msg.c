/* SPDX-License-Identifier: MIT */
/*
 * zipc's view of message queues, both faces of one engine (src/mq/mq.h):
 * XSI queues "zipc.msg.<id>" and POSIX queues in "zipc.posix-mq/". The
 * control block is read without the queue's lock: counters may be a
 * moment old, never torn (aligned words, single stores).
 *
 * Waiters. The engine counts sleepers (mq_rev/mq_sev ev_waiters) but does
 * not record who they are, so they show as a count; sleepers map the
 * file, so they are among the users /proc shows. A count left high with
 * nobody alive mapping the queue means the sleepers were killed.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/msg.h>

#include "atomic.h"
#include "mq/mq.h"
#include "posix_name.h"
#include "registry.h"
#include "store.h"
#include "zipc.h"
#include "cli.h"

static const struct zipc_mq_ctl *
mq_ctl(const struct zipc_obj *o)
{
	return (const void *)((const char *)o->o_base +
			      sizeof(struct zipc_seg_hdr));
}

/* Fill @z from the open queue @o. */
static void
fill_common(struct zobj *z, const struct zipc_obj *o)
{
	const struct zipc_mq_ctl *c = mq_ctl(o);
	z->key = (int32_t)ld_relaxed(&c->mq_perm.ip_key);
	z->uid = ld_relaxed(&c->mq_perm.ip_uid);
	z->gid = ld_relaxed(&c->mq_perm.ip_gid);
	z->cuid = ld_relaxed(&c->mq_perm.ip_cuid);
	z->cgid = ld_relaxed(&c->mq_perm.ip_cgid);
	z->mode = ld_relaxed(&c->mq_perm.ip_mode) & 0777;
	z->fsize = o->o_size;
	/* Capacity: msg_qbytes; a POSIX queue's maxmsg x msgsize. */
	z->size = (int64_t)ld_relaxed(&c->mq_qbytes);
	if (ld_relaxed(&c->mq_face) == ZIPC_MQ_POSIX)
		z->size *= (int64_t)ld_relaxed(&c->mq_msgsize);
	uint64_t msgs, bytes;
	zipc__mq_count(c, &msgs, &bytes);
	z->msgs = (int64_t)msgs;
	z->bytes = (int64_t)bytes;
	z->anon_waiters = ld_relaxed(&c->mq_rev.ev_waiters) +
			  ld_relaxed(&c->mq_sev.ev_waiters);
	z->dev = o->o_dev;
	z->ino = o->o_ino;
	zobj_add_lock(z, &c->mq_lock);
	if (z->anon_waiters) {
		/* Who the counted sleepers are: the futex words they sleep on.
		 */
		const uint64_t words[] = {
			sizeof(struct zipc_seg_hdr) +
				offsetof(struct zipc_mq_ctl, mq_rev.ev_seq),
			sizeof(struct zipc_seg_hdr) +
				offsetof(struct zipc_mq_ctl, mq_sev.ev_seq),
		};
		zobj_find_sleepers(z, words, 2);
	}
	if (ld_relaxed(&c->mq_nkind) != ZIPC_MQ_NOTIFY_NONE)
		zobj_add_user(z, ld_relaxed(&c->mq_nproc.pr_pid),
			      ld_relaxed(&c->mq_nproc.pr_start),
			      zipc__proc_rec_alive(&c->mq_nproc), ZR_NOTIFY);
}

/* ---- XSI ------------------------------------------------------------------
 */

static int
open_xsi(int id, struct zobj *z, struct zipc_obj *o)
{
	memset(z, 0, sizeof(*z));
	z->kind = &zkind_msg;
	z->id = id;
	z->nsems = -1;
	zipc__xsi_fname(z->fname, sizeof(z->fname), ZIPC_XSI_MSG, id);
	return zobj_open(z->fname, ZIPC_KIND_XSI_MSG, ZIPC_MQ_SIG,
			 ZIPC_MQ_ARENA_OFF, o);
}

static int
one_xsi(int id, void *arg)
{
	struct zobj z;
	struct zipc_obj o;
	int r = open_xsi(id, &z, &o);
	if (r >= 0) {
		fill_common(&z, &o);
		zipc__obj_close(&o);
	}
	return zwalk_emit(arg, &z, r);
}

static int
msg_list(int (*fn)(struct zobj *z, void *arg), void *arg)
{
	struct zwalk w = {fn, arg};
	return zipc__xsi_foreach(ZIPC_XSI_MSG, 0, one_xsi, &w);
}

static void
stat_common(FILE *f, const struct zipc_obj *o, int xsi)
{
	const struct zipc_mq_ctl *c = mq_ctl(o);
	uint64_t msgs, bytes;
	zipc__mq_count(c, &msgs, &bytes);
	st_line(f, xsi ? "msg_qnum" : "mq_curmsgs", "%llu",
		(unsigned long long)msgs);
	st_line(f, xsi ? "msg_cbytes" : "bytes", "%llu",
		(unsigned long long)bytes);
	if (xsi) {
		st_line(f, "msg_qbytes", "%llu",
			(unsigned long long)ld_relaxed(&c->mq_qbytes));
	} else {
		st_line(f, "mq_maxmsg", "%llu",
			(unsigned long long)ld_relaxed(&c->mq_qbytes));
		st_line(f, "mq_msgsize", "%llu",
			(unsigned long long)ld_relaxed(&c->mq_msgsize));
	}
	st_line(f, "msg_stime", "%lld", (long long)ld_relaxed(&c->mq_stime));
	st_line(f, "msg_rtime", "%lld", (long long)ld_relaxed(&c->mq_rtime));
	st_line(f, "msg_ctime", "%lld", (long long)ld_relaxed(&c->mq_ctime));
	st_line(f, "msg_lspid", "%u", ld_relaxed(&c->mq_lspid));
	st_line(f, "msg_lrpid", "%u", ld_relaxed(&c->mq_lrpid));
	st_line(f, "recv_waiters", "%u", ld_relaxed(&c->mq_rev.ev_waiters));
	st_line(f, "send_waiters", "%u", ld_relaxed(&c->mq_sev.ev_waiters));
	st_line(f, "typed_waiters", "%u", ld_relaxed(&c->mq_sel_waiters));
	st_line(f, "watchers", "%u readable, %u writable",
		ld_relaxed(&c->mq_rd[0].rf_watchers),
		ld_relaxed(&c->mq_rd[1].rf_watchers));
	if (!xsi) {
		static const char *const nk[] = {"none", "SIGEV_SIGNAL",
						 "SIGEV_THREAD", "SIGEV_NONE"};
		uint32_t k = ld_relaxed(&c->mq_nkind);
		st_line(f, "notify", "%s pid %u", k < 4 ? nk[k] : "?",
			ld_relaxed(&c->mq_nproc.pr_pid));
	}
	st_line(f, "slots", "%u of %u bytes, %u free",
		ld_relaxed(&c->mq_nslots), ld_relaxed(&c->mq_stride),
		ld_relaxed(&c->mq_nfree));
	if (ld_relaxed(&c->mq_ring_cap)) {
		uint64_t e = ld_relaxed(&c->mq_enq), d = ld_relaxed(&c->mq_deq);
		st_line(f, "ring", "%u slots, %s, sent %u taken %u",
			ld_relaxed(&c->mq_ring_cap),
			(ld_relaxed(&c->mq_ring_open) & 1) ? "in use" : "closed",
			(uint32_t)e, (uint32_t)d);
	}
}

static void
msg_stat(FILE *f, const struct zobj *z)
{
	struct zobj t;
	struct zipc_obj o;
	if (open_xsi(z->id, &t, &o) < 0)
		return;
	stat_common(f, &o, 1);
	zipc__obj_close(&o);
}

static void
msg_layout(FILE *f)
{
	fprintf(f, "struct zipc_mq_ctl (at 64, %zu bytes; slots at %d)\n",
		sizeof(struct zipc_mq_ctl), ZIPC_MQ_ARENA_OFF);
	ZOFF(f, struct zipc_mq_ctl, mq_lock);
	ZOFF(f, struct zipc_mq_ctl, mq_head);
	ZOFF(f, struct zipc_mq_ctl, mq_tail);
	ZOFF(f, struct zipc_mq_ctl, mq_free);
	ZOFF(f, struct zipc_mq_ctl, mq_qnum);
	ZOFF(f, struct zipc_mq_ctl, mq_cbytes);
	ZOFF(f, struct zipc_mq_ctl, mq_qbytes);
	ZOFF(f, struct zipc_mq_ctl, mq_rev);
	ZOFF(f, struct zipc_mq_ctl, mq_sev);
	ZOFF(f, struct zipc_mq_ctl, mq_face);
	ZOFF(f, struct zipc_mq_ctl, mq_nslots);
	ZOFF(f, struct zipc_mq_ctl, mq_stride);
	ZOFF(f, struct zipc_mq_ctl, mq_arena);
	ZOFF(f, struct zipc_mq_ctl, mq_msgsize);
	ZOFF(f, struct zipc_mq_ctl, mq_perm);
	ZOFF(f, struct zipc_mq_ctl, mq_stime);
	ZOFF(f, struct zipc_mq_ctl, mq_lspid);
	ZOFF(f, struct zipc_mq_ctl, mq_rd);
	ZOFF(f, struct zipc_mq_ctl, mq_nproc);
	ZOFF(f, struct zipc_mq_ctl, mq_nkind);
	fprintf(f, "struct zipc_mq_slot: %zu bytes + payload\n",
		sizeof(struct zipc_mq_slot));
	fprintf(f, "  layout signature 0x%08x\n", (unsigned)ZIPC_MQ_SIG);
}

static int
msg_remove(const struct zobj *z)
{
	return zipc_queue_ctl(z->id, IPC_RMID, NULL);
}

const struct zkind zkind_msg = {
	.name = "msg",
	.title = "XSI message queue",
	.filter = 'q',
	.posix = 0,
	.sig = ZIPC_MQ_SIG,
	.xsi_type = ZIPC_XSI_MSG,
	.list = msg_list,
	.stat = msg_stat,
	.layout = msg_layout,
	.remove = msg_remove,
};

/* ---- POSIX ------------------------------------------------------------------
 */

static int
open_posix(const char *name, struct zobj *z, struct zipc_obj *o)
{
	memset(z, 0, sizeof(*z));
	z->kind = &zkind_mq;
	z->id = -1;
	z->nsems = -1;
	snprintf(z->name, sizeof(z->name), "%s", name);
	int r = zipc__posix_fname(z->fname, sizeof(z->fname), ZIPC_NS_MQ, name,
				  0);
	if (r < 0)
		return r;
	return zobj_open(z->fname, ZIPC_KIND_POSIX_MQ, ZIPC_MQ_SIG,
			 ZIPC_MQ_ARENA_OFF, o);
}

static int
one_posix(const char *name, void *arg)
{
	struct zobj z;
	struct zipc_obj o;
	int r = open_posix(name, &z, &o);
	if (r >= 0) {
		fill_common(&z, &o);
		zipc__obj_close(&o);
	}
	return zwalk_emit(arg, &z, r);
}

static int
mq_list(int (*fn)(struct zobj *z, void *arg), void *arg)
{
	return posix_list("mq", &zkind_mq, one_posix, fn, arg);
}

static void
mq_stat(FILE *f, const struct zobj *z)
{
	struct zobj t;
	struct zipc_obj o;
	if (open_posix(z->name, &t, &o) < 0)
		return;
	stat_common(f, &o, 0);
	zipc__obj_close(&o);
}

static int
mq_remove(const struct zobj *z)
{
	return zipc_queue_unlink(z->name);
}

const struct zkind zkind_mq = {
	.name = "mq",
	.title = "POSIX message queue",
	.filter = 'q',
	.posix = 1,
	.sig = ZIPC_MQ_SIG,
	.xsi_type = -1,
	.list = mq_list,
	.stat = mq_stat,
	.layout = msg_layout,
	.remove = mq_remove,
};
