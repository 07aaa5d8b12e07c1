/* SPDX-License-Identifier: MIT */
/*
 * zipc's view of semaphores: XSI sets ("zipc.sem.<id>", src/sem/sem.h)
 * with their values, sleepers and SEM_UNDO holders, and named POSIX
 * semaphores ("zipc.posix-sem/"). Read without the set's lock; every
 * offset the control block gives is checked against the file first, so a
 * scribbled control block shows as an error, never a stray read.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/sem.h>
#include <sys/stat.h>

#include "atomic.h"
#include "posix_name.h"
#include "registry.h"
#include "sem/sem.h"
#include "store.h"
#include "zipc.h"
#include "cli.h"

static const struct zipc_semset_ctl *
set_ctl(const struct zipc_obj *o)
{
	return (const void *)((const char *)o->o_base +
			      sizeof(struct zipc_seg_hdr));
}

/* Geometry from the control block, checked against the file. */
struct geom {
	uint32_t nsems, nundo, undo_size, qhi, undo_hi;
	uint32_t sems_off, undo_off, q_off;
};

static int
geom(const struct zipc_obj *o, struct geom *g)
{
	const struct zipc_semset_ctl *c = set_ctl(o);
	g->nsems = ld_relaxed(&c->se_nsems);
	g->nundo = ld_relaxed(&c->se_nundo);
	g->undo_size = ld_relaxed(&c->se_undo_size);
	g->undo_hi = ld_relaxed(&c->se_undo_hi);
	g->qhi = ld_relaxed(&c->se_q_hi);
	g->sems_off = ld_relaxed(&c->se_sems_off);
	g->undo_off = ld_relaxed(&c->se_undo_off);
	g->q_off = ld_relaxed(&c->se_q_off);
	uint64_t sz = o->o_size;
	if ((uint64_t)g->sems_off + (uint64_t)g->nsems * 24 > sz ||
	    (uint64_t)g->undo_off + (uint64_t)g->nundo * g->undo_size > sz ||
	    (uint64_t)g->q_off + (uint64_t)ZIPC_SEM_QMAX * 256 > sz ||
	    g->undo_size < sizeof(struct zipc_sem_undo) ||
	    g->undo_hi > g->nundo || g->qhi > ZIPC_SEM_QMAX ||
	    g->sems_off % 8 || g->undo_off % 8 || g->q_off % 8)
		return -EBADMSG;
	return 0;
}

static const struct zipc_sem *
sem_at(const struct zipc_obj *o, const struct geom *g, uint32_t i)
{
	return (const void *)((const char *)o->o_base + g->sems_off +
			      24 * (size_t)i);
}

static const struct zipc_sem_undo *
undo_at(const struct zipc_obj *o, const struct geom *g, uint32_t i)
{
	return (const void *)((const char *)o->o_base + g->undo_off +
			      (size_t)g->undo_size * i);
}

static const struct zipc_sem_q *
q_at(const struct zipc_obj *o, const struct geom *g, uint32_t i)
{
	return (const void *)((const char *)o->o_base + g->q_off +
			      256 * (size_t)i);
}

/* ---- XSI sets --------------------------------------------------------- */

static int
open_set(int id, struct zobj *z, struct zipc_obj *o, struct geom *g)
{
	memset(z, 0, sizeof(*z));
	z->kind = &zkind_sem;
	z->id = id;
	z->msgs = z->bytes = z->size = -1;
	zipc__xsi_fname(z->fname, sizeof(z->fname), ZIPC_XSI_SEM, id);
	int r = zobj_open(z->fname, ZIPC_KIND_XSI_SEM, ZIPC_SEM_SIG,
			  sizeof(struct zipc_seg_hdr) +
				  sizeof(struct zipc_semset_ctl),
			  o);
	if (r < 0)
		return r;
	if ((r = geom(o, g)) < 0)
		zipc__obj_close(o);
	return r;
}

static void
fill_set(struct zobj *z, const struct zipc_obj *o, const struct geom *g)
{
	const struct zipc_semset_ctl *c = set_ctl(o);
	z->key = (int32_t)ld_relaxed(&c->se_perm.ip_key);
	z->uid = ld_relaxed(&c->se_perm.ip_uid);
	z->gid = ld_relaxed(&c->se_perm.ip_gid);
	z->cuid = ld_relaxed(&c->se_perm.ip_cuid);
	z->cgid = ld_relaxed(&c->se_perm.ip_cgid);
	z->mode = ld_relaxed(&c->se_perm.ip_mode) & 0777;
	z->size = -1;
	z->fsize = o->o_size;
	z->nsems = g->nsems;
	z->dev = o->o_dev;
	z->ino = o->o_ino;
	for (uint32_t i = 0; i < g->qhi; i++) {
		const struct zipc_sem_q *q = q_at(o, g, i);
		if (ld_relaxed(&q->q_state) != Q_WAITING)
			continue;
		zobj_add_user(z, ld_relaxed(&q->q_proc.pr_pid),
			      ld_relaxed(&q->q_proc.pr_start),
			      zipc__proc_rec_alive(&q->q_proc), ZR_WAIT);
	}
	for (uint32_t i = 0; i < g->undo_hi; i++) {
		const struct zipc_sem_undo *u = undo_at(o, g, i);
		zobj_add_user(z, ld_relaxed(&u->un_proc.pr_pid),
			      ld_relaxed(&u->un_proc.pr_start),
			      zipc__proc_rec_alive(&u->un_proc), ZR_UNDO);
	}
	zobj_add_lock(z, &c->se_lock);
}

static int
one_set(int id, void *arg)
{
	struct zobj z;
	struct zipc_obj o;
	struct geom g;
	int r = open_set(id, &z, &o, &g);
	if (r >= 0) {
		fill_set(&z, &o, &g);
		zipc__obj_close(&o);
	}
	return zwalk_emit(arg, &z, r);
}

static int
sem_list(int (*fn)(struct zobj *z, void *arg), void *arg)
{
	struct zwalk w = {fn, arg};
	return zipc__xsi_foreach(ZIPC_XSI_SEM, 0, one_set, &w);
}

static void
sem_stat(FILE *f, const struct zobj *z)
{
	struct zobj t;
	struct zipc_obj o;
	struct geom g;
	if (open_set(z->id, &t, &o, &g) < 0)
		return;
	const struct zipc_semset_ctl *c = set_ctl(&o);
	st_line(f, "sem_nsems", "%u", g.nsems);
	st_line(f, "sem_otime", "%lld", (long long)ld_relaxed(&c->se_otime));
	st_line(f, "sem_ctime", "%lld", (long long)ld_relaxed(&c->se_ctime));
	for (uint32_t i = 0; i < g.nsems && i < 64; i++) {
		const struct zipc_sem *s = sem_at(&o, &g, i);
		uint32_t ncnt = 0, zcnt = 0;
		for (uint32_t k = 0; k < g.qhi; k++) {
			const struct zipc_sem_q *q = q_at(&o, &g, k);
			uint16_t b = ld_relaxed(&q->q_blocking);
			if (ld_relaxed(&q->q_state) != Q_WAITING ||
			    b >= ZIPC_SEM_QOPS ||
			    ld_relaxed(&q->q_ops[b].sb_num) != i)
				continue;
			if (ld_relaxed(&q->q_ops[b].sb_op) < 0)
				ncnt++;
			else if (ld_relaxed(&q->q_ops[b].sb_op) == 0)
				zcnt++;
		}
		char field[32];
		snprintf(field, sizeof(field), "sem[%u]", i);
		st_line(f, field, "semval %u sempid %u semncnt %u semzcnt %u",
			ld_relaxed(&s->sm_val), ld_relaxed(&s->sm_pid), ncnt,
			zcnt);
	}
	if (g.nsems > 64)
		st_line(f, "sem[64..]", "(%u more; zipc stat shows 64)",
			g.nsems - 64);
	st_line(f, "undo_records", "%u in use of %u", g.undo_hi, g.nundo);
	st_line(f, "sleepers_max", "%d", ZIPC_SEM_QMAX);
	zipc__obj_close(&o);
}

static void
sem_layout(FILE *f)
{
	fprintf(f, "struct zipc_semset_ctl (at 64, %zu bytes)\n",
		sizeof(struct zipc_semset_ctl));
	ZOFF(f, struct zipc_semset_ctl, se_lock);
	ZOFF(f, struct zipc_semset_ctl, se_log_n);
	ZOFF(f, struct zipc_semset_ctl, se_perm);
	ZOFF(f, struct zipc_semset_ctl, se_otime);
	ZOFF(f, struct zipc_semset_ctl, se_ctime);
	ZOFF(f, struct zipc_semset_ctl, se_nsems);
	ZOFF(f, struct zipc_semset_ctl, se_nundo);
	ZOFF(f, struct zipc_semset_ctl, se_undo_size);
	ZOFF(f, struct zipc_semset_ctl, se_q_hi);
	ZOFF(f, struct zipc_semset_ctl, se_sems_off);
	ZOFF(f, struct zipc_semset_ctl, se_undo_off);
	ZOFF(f, struct zipc_semset_ctl, se_q_off);
	ZOFF(f, struct zipc_semset_ctl, se_log_off);
	fprintf(f,
		"struct zipc_sem %zu, zipc_sem_undo %zu + 4/sem, "
		"zipc_sem_q %zu bytes\n",
		sizeof(struct zipc_sem), sizeof(struct zipc_sem_undo),
		sizeof(struct zipc_sem_q));
	fprintf(f, "  layout signature 0x%08x\n", (unsigned)ZIPC_SEM_SIG);
}

static int
sem_remove(const struct zobj *z)
{
	return zipc_semset_remove(z->id);
}

const struct zkind zkind_sem = {
	.name = "sem",
	.title = "XSI semaphore set",
	.filter = 's',
	.posix = 0,
	.sig = ZIPC_SEM_SIG,
	.xsi_type = ZIPC_XSI_SEM,
	.list = sem_list,
	.stat = sem_stat,
	.layout = sem_layout,
	.remove = sem_remove,
};

/* ---- named POSIX semaphores -------------------------------------------- */

static int
open_psem(const char *name, struct zobj *z, struct zipc_obj *o)
{
	memset(z, 0, sizeof(*z));
	z->kind = &zkind_psem;
	z->id = -1;
	z->msgs = z->bytes = z->size = -1;
	snprintf(z->name, sizeof(z->name), "%s", name);
	int r = zipc__posix_fname(z->fname, sizeof(z->fname), ZIPC_NS_SEM, name,
				  0);
	if (r < 0)
		return r;
	r = zobj_open(z->fname, ZIPC_KIND_POSIX_SEM, SEMA_SIG,
		      sizeof(struct zipc_seg_hdr) + sizeof(struct zipc_sema_file),
		      o);
	if (r == 0 && o->o_size < sizeof(struct zipc_seg_hdr) +
					  sizeof(struct zipc_sema_file)) {
		zipc__obj_close(o);
		r = -EBADMSG;
	}
	return r;
}

static const struct zipc_sema *
psem_of(const struct zipc_obj *o)
{
	return (const void *)((const char *)o->o_base +
			      sizeof(struct zipc_seg_hdr));
}

#define PSEM_MAGIC 0x616d6573u /* "sema", as src/sem/sema.c */

static void
fill_psem(struct zobj *z, const struct zipc_obj *o)
{
	if (ld_relaxed(&psem_of(o)->sa_magic) != PSEM_MAGIC ||
	    ld_relaxed(&psem_of(o)->sa_value) > SEM_VALUE_MAX) {
		z->err = EBADMSG;
		return;
	}
	struct stat st;
	if (fstat(o->o_fd, &st) == 0) {
		z->uid = z->cuid = st.st_uid;
		z->gid = z->cgid = st.st_gid;
		z->mode = st.st_mode & 0777;
	}
	z->size = -1;
	z->fsize = o->o_size;
	z->nsems = ld_relaxed(&psem_of(o)->sa_value);
	z->anon_waiters = ld_relaxed(&psem_of(o)->sa_waiters);
	z->dev = o->o_dev;
	z->ino = o->o_ino;
	if (z->anon_waiters) {
		const uint64_t word = sizeof(struct zipc_seg_hdr) +
				      offsetof(struct zipc_sema, sa_value);
		zobj_find_sleepers(z, &word, 1);
	}
}

static int
one_psem(const char *name, void *arg)
{
	struct zobj z;
	struct zipc_obj o;
	int r = open_psem(name, &z, &o);
	if (r >= 0) {
		fill_psem(&z, &o);
		zipc__obj_close(&o);
	}
	return zwalk_emit(arg, &z, r);
}

static int
psem_list(int (*fn)(struct zobj *z, void *arg), void *arg)
{
	return posix_list("sem", &zkind_psem, one_psem, fn, arg);
}

static void
psem_stat(FILE *f, const struct zobj *z)
{
	struct zobj t;
	struct zipc_obj o;
	if (open_psem(z->name, &t, &o) < 0)
		return;
	const struct zipc_sema *s = psem_of(&o);
	st_line(f, "value", "%u", ld_relaxed(&s->sa_value));
	st_line(f, "waiters", "%u", ld_relaxed(&s->sa_waiters));
	st_line(f, "sem_value_max", "%d", SEM_VALUE_MAX);
	zipc__obj_close(&o);
}

static void
psem_layout(FILE *f)
{
	fprintf(f, "struct zipc_sema (at 64, %zu bytes)\n",
		sizeof(struct zipc_sema));
	ZOFF(f, struct zipc_sema, sa_magic);
	ZOFF(f, struct zipc_sema, sa_value);
	ZOFF(f, struct zipc_sema, sa_waiters);
	ZOFF(f, struct zipc_sema, sa_flags);
	fprintf(f, "  layout signature 0x%08x\n", (unsigned)SEMA_SIG);
}

static int
psem_remove(const struct zobj *z)
{
	return zipc_sema_unlink(z->name);
}

const struct zkind zkind_psem = {
	.name = "psem",
	.title = "POSIX named semaphore",
	.filter = 's',
	.posix = 1,
	.sig = SEMA_SIG,
	.xsi_type = -1,
	.list = psem_list,
	.stat = psem_stat,
	.layout = psem_layout,
	.remove = psem_remove,
};
