/* SPDX-License-Identifier: MIT */
/*
 * zipc's view of XSI shared memory segments ("zipc.shm.<id>"): the
 * shmid_ds fields and the attach table (src/shm.h), read without the
 * segment's lock -- every field is a single aligned word written with one
 * store, so a snapshot may be a moment old but never torn. Removed
 * segments whose attachers all died are destroyed by the engine's sweep
 * first, as the kernel would have at the last attacher's exit.
 */
#include <errno.h>
#include <stddef.h>
#include <string.h>
#include <sys/shm.h>
#include <sys/stat.h>

#include "atomic.h"
#include "registry.h"
#include "shm.h"
#include "store.h"
#include "posix_name.h"
#include "zipc.h"
#include "cli.h"

static const struct zipc_shm_ctl *
shm_ctl(const struct zipc_obj *o)
{
	return (const void *)((const char *)o->o_base +
			      sizeof(struct zipc_seg_hdr));
}

static int
fill(int id, struct zobj *z, struct zipc_obj *o)
{
	memset(z, 0, sizeof(*z));
	z->kind = &zkind_shm;
	z->id = id;
	z->msgs = z->bytes = z->nsems = -1;
	zipc__xsi_fname(z->fname, sizeof(z->fname), ZIPC_XSI_SHM, id);
	int r = zobj_open(z->fname, ZIPC_KIND_XSI_SHM, ZIPC_SHM_SIG,
			  ZIPC_SHM_DATA_OFF, o);
	if (r < 0)
		return r;
	const struct zipc_shm_ctl *c = shm_ctl(o);
	z->key = (int32_t)ld_relaxed(&c->sm_perm.ip_key);
	z->uid = ld_relaxed(&c->sm_perm.ip_uid);
	z->gid = ld_relaxed(&c->sm_perm.ip_gid);
	z->cuid = ld_relaxed(&c->sm_perm.ip_cuid);
	z->cgid = ld_relaxed(&c->sm_perm.ip_cgid);
	z->mode = ld_relaxed(&c->sm_perm.ip_mode);
	z->size = (int64_t)ld_relaxed(&c->sm_segsz);
	z->fsize = o->o_size;
	z->removed = !!(z->mode & SHM_DEST);
	z->dev = o->o_dev;
	z->ino = o->o_ino;
	for (int i = 0; i < ZIPC_SHM_ATT_MAX; i++) {
		const struct zipc_shm_att *a = &c->sm_att[i];
		uint32_t pid = ld_relaxed(&a->sa_proc.pr_pid);
		if (!pid || !ld_relaxed(&a->sa_count))
			continue;
		zobj_add_user(z, pid, ld_relaxed(&a->sa_proc.pr_start),
			      zipc__proc_rec_alive(&a->sa_proc), ZR_ATTACH);
	}
	zobj_add_lock(z, &c->sm_lock);
	return 0;
}

static int
one(int id, void *arg)
{
	struct zobj z;
	struct zipc_obj o;
	int r = fill(id, &z, &o);
	if (r >= 0)
		zipc__obj_close(&o);
	return zwalk_emit(arg, &z, r);
}

static int
shm_list(int (*fn)(struct zobj *z, void *arg), void *arg)
{
	struct zwalk w = {fn, arg};
	zipc__shm_sweep();
	return zipc__xsi_foreach(ZIPC_XSI_SHM, 0, one, &w);
}

static void
shm_stat(FILE *f, const struct zobj *z)
{
	struct zipc_obj o;
	struct zobj t;
	if (fill(z->id, &t, &o) < 0)
		return;
	const struct zipc_shm_ctl *c = shm_ctl(&o);
	st_line(f, "shm_segsz", "%llu",
		(unsigned long long)ld_relaxed(&c->sm_segsz));
	uint64_t nattch = 0;
	for (int i = 0; i < ZIPC_SHM_ATT_MAX; i++)
		if (zipc__proc_rec_alive(&c->sm_att[i].sa_proc))
			nattch += ld_relaxed(&c->sm_att[i].sa_count);
	st_line(f, "shm_nattch", "%llu", (unsigned long long)nattch);
	st_line(f, "shm_atime", "%lld", (long long)ld_relaxed(&c->sm_atime));
	st_line(f, "shm_dtime", "%lld", (long long)ld_relaxed(&c->sm_dtime));
	st_line(f, "shm_ctime", "%lld", (long long)ld_relaxed(&c->sm_ctime));
	st_line(f, "shm_cpid", "%u", ld_relaxed(&c->sm_cpid));
	st_line(f, "shm_lpid", "%u", ld_relaxed(&c->sm_lpid));
	char flags[64] = "";
	if (z->mode & SHM_DEST)
		strcat(flags, " SHM_DEST");
	if (z->mode & SHM_LOCKED)
		strcat(flags, " SHM_LOCKED");
	if (ld_relaxed(&c->sm_flags) & SHM_HUGETLB)
		strcat(flags, " SHM_HUGETLB");
	st_line(f, "flags", "%s", flags[0] ? flags + 1 : "-");
	st_line(f, "attach_max", "%d processes", ZIPC_SHM_ATT_MAX);
	st_line(f, "data_offset", "%d", ZIPC_SHM_DATA_OFF);
	zipc__obj_close(&o);
}

static void
shm_layout(FILE *f)
{
	fprintf(f, "struct zipc_shm_ctl (at 64, %zu bytes; data at %d)\n",
		sizeof(struct zipc_shm_ctl), ZIPC_SHM_DATA_OFF);
	ZOFF(f, struct zipc_shm_ctl, sm_lock);
	ZOFF(f, struct zipc_shm_ctl, sm_perm);
	ZOFF(f, struct zipc_shm_ctl, sm_segsz);
	ZOFF(f, struct zipc_shm_ctl, sm_atime);
	ZOFF(f, struct zipc_shm_ctl, sm_dtime);
	ZOFF(f, struct zipc_shm_ctl, sm_ctime);
	ZOFF(f, struct zipc_shm_ctl, sm_cpid);
	ZOFF(f, struct zipc_shm_ctl, sm_lpid);
	ZOFF(f, struct zipc_shm_ctl, sm_flags);
	ZOFF(f, struct zipc_shm_ctl, sm_att);
	printf("  layout signature 0x%08x\n", (unsigned)ZIPC_SHM_SIG);
}

static int
shm_remove(const struct zobj *z)
{
	return zipc__shm_ctl(z->id, IPC_RMID, NULL);
}

const struct zkind zkind_shm = {
	.name = "shm",
	.title = "XSI shared memory segment",
	.filter = 'm',
	.posix = 0,
	.sig = ZIPC_SHM_SIG,
	.xsi_type = ZIPC_XSI_SHM,
	.list = shm_list,
	.stat = shm_stat,
	.layout = shm_layout,
	.remove = shm_remove,
};

/* ---- POSIX shared memory: plain files, no header --------------------- */

static int
one_pshm(const char *name, void *arg)
{
	struct zwalk *w = arg;
	struct zobj z;
	struct stat st;
	char path[4096];
	memset(&z, 0, sizeof(z));
	z.kind = &zkind_pshm;
	z.id = -1;
	z.msgs = z.bytes = z.nsems = -1;
	snprintf(z.name, sizeof(z.name), "%s", name);
	if (zipc__posix_fname(z.fname, sizeof(z.fname), ZIPC_NS_SHM, name, 0) <
		    0 ||
	    zipc__path(path, sizeof(path), z.fname) < 0 || stat(path, &st) < 0)
		return 0;
	z.uid = z.cuid = st.st_uid;
	z.gid = z.cgid = st.st_gid;
	z.mode = st.st_mode & 0777;
	z.size = (int64_t)st.st_size;
	z.fsize = (uint64_t)st.st_blocks * 512;
	z.dev = st.st_dev;
	z.ino = st.st_ino;
	zobj_finish(&z);
	return w->fn(&z, w->arg);
}

static int
pshm_list(int (*fn)(struct zobj *z, void *arg), void *arg)
{
	return posix_list("shm", &zkind_pshm, one_pshm, fn, arg);
}

static void
pshm_stat(FILE *f, const struct zobj *z)
{
	st_line(f, "st_size", "%lld", (long long)z->size);
	st_line(f, "layout", "none: the bytes are the caller's from offset 0");
}

static void
pshm_layout(FILE *f)
{
	fprintf(f, "POSIX shared memory objects carry no header.\n");
}

static int
pshm_remove(const struct zobj *z)
{
	return zipc_segment_unlink(z->name);
}

const struct zkind zkind_pshm = {
	.name = "pshm",
	.title = "POSIX shared memory object",
	.filter = 'm',
	.posix = 1,
	.sig = 0,
	.xsi_type = -1,
	.list = pshm_list,
	.stat = pshm_stat,
	.layout = pshm_layout,
	.remove = pshm_remove,
};
