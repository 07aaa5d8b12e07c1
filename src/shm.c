/* SPDX-License-Identifier: MIT */
/*
 * XSI shared memory. Segment <id> is the file "zipc.shm.<id>": the common
 * header, then struct zipc_shm_ctl (perm, times, attach table), then at
 * ZIPC_SHM_DATA_OFF the segment's bytes. shmat maps the data part with the
 * caller's protection, so SHM_RDONLY is enforced by the MMU.
 *
 * Attachment counting. The kernel counts vmas; user space cannot see a
 * SIGKILLed process detach, so each segment keeps a table of attaching
 * processes, {(pid, start time), count}, changed under sm_lock. shm_nattch
 * is the sum of the counts of entries whose process is alive and still
 * maps the file (an exec keeps pid and start time but drops every mapping,
 * so /proc/PID/maps decides). fork adds the child's entry (atfork handler).
 *
 * Removal. IPC_RMID forgets the key (registry slot DEST) and sets SHM_DEST;
 * the segment is destroyed (header REMOVED, file unlinked, slot FREE) by
 * the detach that leaves no live attacher, or -- when the last attachers
 * were killed -- by the next zipc call that looks at it or sweeps
 * (shmget, shmctl, zipc ls/rm). Repair after a dead lock holder drops the
 * table entries of dead processes; every other field is written with a
 * single store, so no half-done update can be seen.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "registry.h"
#include "shm.h"
#include "store.h"
#include "sysctl.h"

#define SHMMIN 1
#define HUGE_2M (2ull << 20)

static struct zipc_shm_ctl *
ctl_of(const struct zipc_obj *o)
{
	return (void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
}

static uint64_t
page_size(void)
{
	return (uint64_t)sysconf(_SC_PAGESIZE);
}

static int
seg_open(int id, struct zipc_obj *o)
{
	char fname[64];
	if (id < 0)
		return -EINVAL;
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_SHM, id);
	o->o_base = NULL;
	int r = zipc__obj_open(fname, ZIPC_KIND_XSI_SHM, ZIPC_SHM_SIG, o);
	if (r == -ENOENT || r == -EIDRM)
		return -EINVAL;
	if (r == 0 && (ld_relaxed(&ctl_of(o)->sm_segsz) >
			       o->o_size - ZIPC_SHM_DATA_OFF ||
		       o->o_size < ZIPC_SHM_DATA_OFF))
		r = -EBADMSG; /* sizes that disagree: not one of ours */
	if (r == 0 && zipc__obj_hdr(o)->sh_hdr_size != ZIPC_SHM_DATA_OFF)
		r = -EBADMSG;
	if (r == -EBADMSG && o->o_base)
		zipc__obj_close(o);
	if (r < 0 && r != -EBADMSG && r != -EPROTO && r != -EACCES)
		return -EINVAL;
	return r;
}

/* ---- attach table ----------------------------------------------------- */

/* Does @pid map the file (dev, ino)? An exec'ed process no longer does. */
static int
proc_maps_file(uint32_t pid, dev_t dev, ino_t ino)
{
	char path[64], line[512];
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f) /* not ours to read (another user): it may well map it */
		return errno == EACCES || errno == EPERM;
	int found = 0;
	while (!found && fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long inode;
		if (sscanf(line, "%*s %*s %*s %x:%x %llu", &maj, &min,
			   &inode) == 3 &&
		    inode == (unsigned long long)ino && makedev(maj, min) == dev)
			found = 1;
		/* Skip the rest of an over-long line. */
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	fclose(f);
	return found;
}

static int
att_live(const struct zipc_obj *o, struct zipc_shm_att *a)
{
	uint32_t pid = ld_relaxed(&a->sa_proc.pr_pid);
	if (pid == 0 || ld_relaxed(&a->sa_count) == 0)
		return 0;
	return zipc__proc_rec_alive(&a->sa_proc) &&
	       proc_maps_file(pid, o->o_dev, o->o_ino);
}

/* Drop dead attachers; returns shm_nattch. Called with sm_lock held. */
static uint64_t
att_prune(const struct zipc_obj *o)
{
	struct zipc_shm_ctl *c = ctl_of(o);
	uint64_t n = 0;
	for (int i = 0; i < ZIPC_SHM_ATT_MAX; i++) {
		struct zipc_shm_att *a = &c->sm_att[i];
		if (!ld_relaxed(&a->sa_proc.pr_pid))
			continue;
		if (att_live(o, a)) {
			n += ld_relaxed(&a->sa_count);
			continue;
		}
		st_relaxed(&a->sa_count, 0);
		st_relaxed(&a->sa_proc.pr_pid, 0);
	}
	return n;
}

/* Add @delta attachments for @self. Called with sm_lock held. */
static int
att_add(const struct zipc_obj *o, const struct zipc_proc *self, int delta)
{
	struct zipc_shm_ctl *c = ctl_of(o);
	struct zipc_shm_att *free_slot = NULL;
	for (int pass = 0; pass < 2; pass++) {
		for (int i = 0; i < ZIPC_SHM_ATT_MAX; i++) {
			struct zipc_shm_att *a = &c->sm_att[i];
			uint32_t pid = ld_relaxed(&a->sa_proc.pr_pid);
			if (pid == self->pr_pid &&
			    ld_relaxed(&a->sa_proc.pr_start) ==
				    self->pr_start) {
				uint32_t cnt = ld_relaxed(&a->sa_count);
				if (delta < 0 && cnt <= (uint32_t)-delta)
					st_relaxed(&a->sa_proc.pr_pid, 0);
				else
					st_relaxed(&a->sa_count,
						   cnt + (uint32_t)delta);
				return 0;
			}
			if (!pid && !free_slot)
				free_slot = a;
		}
		if (delta < 0)
			return 0;
		if (free_slot) {
			st_relaxed(&free_slot->sa_count, (uint32_t)delta);
			st_relaxed(&free_slot->sa_proc.pr_start,
				   self->pr_start);
			st_relaxed(&free_slot->sa_proc.pr_pid, self->pr_pid);
			return 0;
		}
		att_prune(o);
	}
	return -ENOMEM;
}

static int maybe_destroy(struct zipc_obj *o, int id);

/*
 * Take the segment's lock. Repair after a dead holder: drop dead
 * attachers; if it died inside IPC_RMID (SHM_DEST set), finish it: forget
 * the key and destroy the segment if nobody is attached. Returns 0, or
 * -EIDRM when the repair destroyed it (the lock is then released).
 */
static int
seg_lock(struct zipc_obj *o)
{
	int r = zipc__lock(&ctl_of(o)->sm_lock);
	if (r != -EOWNERDEAD)
		return r;
	att_prune(o);
	struct zipc_shm_ctl *c = ctl_of(o);
	int id = (int)ld_relaxed(&zipc__obj_hdr(o)->sh_generation);
	if (ld_relaxed(&c->sm_perm.ip_mode) & SHM_DEST) {
		zipc__xsi_unkey(ZIPC_XSI_SHM, id);
		if (maybe_destroy(o, id)) {
			zipc__unlock(&c->sm_lock);
			return -EIDRM;
		}
	}
	return 0;
}

static void
seg_unlock(struct zipc_obj *o)
{
	zipc__unlock(&ctl_of(o)->sm_lock);
}

/* With sm_lock held: destroy @o if removed and unattached. 1 if done. */
static int
maybe_destroy(struct zipc_obj *o, int id)
{
	struct zipc_shm_ctl *c = ctl_of(o);
	if (!(ld_relaxed(&c->sm_perm.ip_mode) & SHM_DEST) || att_prune(o))
		return 0;
	char fname[64];
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_SHM, id);
	zipc__obj_remove(o, fname);
	ZIPC_CRASH("shm.destroy.unlinked");
	zipc__xsi_release(ZIPC_XSI_SHM, id);
	return 1;
}

/* ---- this process's attachments -------------------------------------- */

struct attachment {
	void *addr;
	size_t len;
	int id;
	struct zipc_obj obj; /* keeps the control part mapped */
};

static pthread_mutex_t att_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct attachment *atts;
static size_t n_atts, cap_atts;
static pthread_once_t fork_once = PTHREAD_ONCE_INIT;

static void
fork_prepare(void)
{
	pthread_mutex_lock(&att_mutex);
}

static void
fork_parent(void)
{
	pthread_mutex_unlock(&att_mutex);
}

/* The child inherits every attachment, as the kernel's fork does. */
static void
fork_child(void)
{
	struct zipc_proc self;
	zipc__proc_self(&self);
	for (size_t i = 0; i < n_atts; i++) {
		struct zipc_obj *o = &atts[i].obj;
		if (seg_lock(o) < 0)
			continue;
		att_add(o, &self, 1);
		seg_unlock(o);
	}
	pthread_mutex_unlock(&att_mutex);
}

static void
register_fork(void)
{
	pthread_atfork(fork_prepare, fork_parent, fork_child);
}

static int
remember(void *addr, size_t len, int id, const struct zipc_obj *o)
{
	int r = 0;
	pthread_mutex_lock(&att_mutex);
	if (n_atts == cap_atts) {
		size_t cap = cap_atts ? cap_atts * 2 : 16;
		struct attachment *p = realloc(atts, cap * sizeof(*p));
		if (!p) {
			r = -ENOMEM;
			goto out;
		}
		atts = p;
		cap_atts = cap;
	}
	atts[n_atts++] = (struct attachment){addr, len, id, *o};
out:
	pthread_mutex_unlock(&att_mutex);
	return r;
}

/* ---- shmget ----------------------------------------------------------- */

struct get_args {
	int32_t key;
	uint64_t size;	 /* as asked */
	uint64_t mapped; /* rounded to pages (or huge pages) */
	int flags;
};

static int
shm_precheck(void *arg)
{
	struct get_args *g = arg;
	uint64_t shmmax = zipc__sysctl_u64("/proc/sys/kernel/shmmax",
					  UINT64_MAX);
	if (g->size < SHMMIN || g->size > shmmax)
		return -EINVAL;
	return 0;
}

static int
shm_init(struct zipc_obj *o, void *arg)
{
	struct get_args *g = arg;
	struct zipc_shm_ctl *c = ctl_of(o);
	int id = (int)zipc__obj_hdr(o)->sh_generation;
	zipc__lock_init(&c->sm_lock);
	zipc__ipc_perm_init(&c->sm_perm, g->key, id, g->flags & 0777);
	c->sm_segsz = g->size;
	c->sm_ctime = time(NULL);
	c->sm_cpid = (uint32_t)getpid();
	c->sm_flags = (uint32_t)g->flags & SHM_HUGETLB;
	return 0;
}

static int
shm_create(int id, int32_t key, int flags, void *arg)
{
	struct get_args *g = arg;
	(void)key; /* g->key, set by zipc__shm_get */
	return zipc__xsi_create(ZIPC_XSI_SHM, id, ZIPC_KIND_XSI_SHM,
				ZIPC_SHM_SIG, ZIPC_SHM_DATA_OFF + g->mapped,
				ZIPC_SHM_DATA_OFF, flags, shm_init, g);
}

static int
shm_existing(int id, int flags, void *arg)
{
	struct get_args *g = arg;
	struct zipc_obj o;
	int r = seg_open(id, &o);
	if (r < 0)
		return r;
	struct zipc_shm_ctl *c = ctl_of(&o);
	if (ld_relaxed(&c->sm_perm.ip_mode) & SHM_DEST)
		r = -EIDRM; /* an IPC_RMID whose remover died midway */
	else if (ld_relaxed(&c->sm_segsz) < g->size)
		r = -EINVAL;
	else
		r = zipc__ipcperms(&c->sm_perm, flags);
	zipc__obj_close(&o);
	return r;
}

int
zipc__shm_get(int32_t key, uint64_t size, int flags)
{
	static const struct zipc_xsi_ops ops = {
		.create = shm_create,
		.existing = shm_existing,
		.precheck = shm_precheck,
	};
	uint64_t unit = (flags & SHM_HUGETLB) ? HUGE_2M : page_size();
	struct get_args g = {key, size, 0, flags};
	if (size > UINT64_MAX - unit)
		return -EINVAL;
	g.mapped = (size + unit - 1) / unit * unit;
	uint64_t pages = g.mapped / page_size();
	struct zipc_xsi_req req = {
		.key = key,
		.flags = flags,
		.mni = (uint32_t)zipc__sysctl_u64("/proc/sys/kernel/shmmni",
						 4096),
		.pages = pages > UINT32_MAX ? UINT32_MAX : (uint32_t)pages,
		.pages_limit = zipc__sysctl_u64("/proc/sys/kernel/shmall",
					       UINT64_MAX),
	};
	zipc__shm_sweep();
	return zipc__xsi_get(ZIPC_XSI_SHM, &req, &ops, &g);
}

/* ---- shmat / shmdt ---------------------------------------------------- */

/* Count one detach of @a (already unmapped) and destroy if it was the
 * last of a removed segment. */
static void
account_detach(struct attachment *a)
{
	struct zipc_proc self;
	zipc__proc_self(&self);
	if (seg_lock(&a->obj) == 0) {
		struct zipc_shm_ctl *c = ctl_of(&a->obj);
		ZIPC_CRASH("shm.detach.unmapped");
		att_add(&a->obj, &self, -1);
		st_relaxed(&c->sm_dtime, (int64_t)time(NULL));
		st_relaxed(&c->sm_lpid, self.pr_pid);
		if (ld_acquire(&zipc__obj_hdr(&a->obj)->sh_state) ==
		    ZIPC_SEG_READY)
			maybe_destroy(&a->obj, a->id);
		seg_unlock(&a->obj);
	}
	zipc__obj_close(&a->obj);
}

int
zipc__shm_detach(const void *addr)
{
	struct attachment a;
	size_t i;
	pthread_mutex_lock(&att_mutex);
	for (i = 0; i < n_atts; i++)
		if (atts[i].addr == addr)
			break;
	if (i == n_atts) {
		pthread_mutex_unlock(&att_mutex);
		return -EINVAL;
	}
	a = atts[i];
	atts[i] = atts[--n_atts];
	pthread_mutex_unlock(&att_mutex);

	munmap(a.addr, a.len);
	account_detach(&a);
	return 0;
}

/*
 * SHM_REMAP mapped over [@addr, @addr + @len): attachments wholly inside
 * it are gone, as the kernel closes the vmas it replaces. (A partly
 * covered attachment stays counted once; the kernel would count its split
 * pieces separately.)
 */
static void
forget_covered(const void *addr, size_t len, const void *keep)
{
	uintptr_t lo = (uintptr_t)addr, hi = lo + len;
	for (;;) {
		struct attachment a;
		size_t i;
		pthread_mutex_lock(&att_mutex);
		for (i = 0; i < n_atts; i++) {
			uintptr_t s = (uintptr_t)atts[i].addr;
			if (atts[i].addr != keep && s >= lo &&
			    s + atts[i].len <= hi)
				break;
		}
		if (i == n_atts) {
			pthread_mutex_unlock(&att_mutex);
			return;
		}
		a = atts[i];
		atts[i] = atts[--n_atts];
		pthread_mutex_unlock(&att_mutex);
		account_detach(&a);
	}
}

int
zipc__shm_attach(int id, const void *addr, int flags, void **out)
{
	uintptr_t want = (uintptr_t)addr;
	uint64_t pg = page_size();
	int mflags = MAP_SHARED;
	if (id < 0)
		return -EINVAL;
	if (addr) {
		/* As the kernel: an address rounded down to 0 is still
		 * a fixed mapping at 0 (refused unless privileged). */
		if (want & (SHMLBA - 1)) {
			if (!(flags & SHM_RND))
				return -EINVAL;
			want &= ~(uintptr_t)(SHMLBA - 1);
			if (!want && (flags & SHM_REMAP))
				return -EINVAL;
		}
		mflags |= (flags & SHM_REMAP) ? MAP_FIXED
					      : MAP_FIXED_NOREPLACE;
	} else if (flags & SHM_REMAP) {
		return -EINVAL;
	}
	int prot = PROT_READ, acc = 0444;
	if (!(flags & SHM_RDONLY)) {
		prot |= PROT_WRITE;
		acc |= 0222;
	}
	if (flags & SHM_EXEC) {
		prot |= PROT_EXEC;
		acc |= 0111;
	}

	pthread_once(&fork_once, register_fork);
	struct zipc_obj o;
	int r = seg_open(id, &o);
	if (r < 0)
		return r;
	struct zipc_shm_ctl *c = ctl_of(&o);
	if ((r = zipc__ipcperms(&c->sm_perm, acc)) < 0)
		goto fail;
	if ((r = seg_lock(&o)) < 0) {
		r = r == -EIDRM ? -EINVAL : r;
		goto fail;
	}
	if (ld_acquire(&zipc__obj_hdr(&o)->sh_state) != ZIPC_SEG_READY ||
	    maybe_destroy(&o, id)) {
		r = -EIDRM;
		goto fail_unlock;
	}
	uint64_t unit = (ld_relaxed(&c->sm_flags) & SHM_HUGETLB) ? HUGE_2M : pg;
	uint64_t len = (ld_relaxed(&c->sm_segsz) + unit - 1) / unit * unit;
	if (len > o.o_size - ZIPC_SHM_DATA_OFF) {
		r = -EBADMSG; /* sizes that disagree: not one of ours */
		goto fail_unlock;
	}
	if (addr && want + len < want) {
		r = -EINVAL;
		goto fail_unlock;
	}
	void *p = mmap((void *)want, (size_t)len, prot, mflags, o.o_fd,
		       ZIPC_SHM_DATA_OFF);
	if (p == MAP_FAILED) {
		r = errno == EEXIST ? -EINVAL : -errno;
		goto fail_unlock;
	}
	if (addr && !(flags & SHM_REMAP) && (uintptr_t)p != want) {
		/* A kernel without MAP_FIXED_NOREPLACE took it as a hint. */
		munmap(p, (size_t)len);
		r = -EINVAL;
		goto fail_unlock;
	}
	if (ld_relaxed(&c->sm_flags) & SHM_HUGETLB)
		madvise(p, (size_t)len, MADV_HUGEPAGE);
	struct zipc_proc self;
	zipc__proc_self(&self);
	ZIPC_CRASH("shm.attach.mapped");
	if ((r = att_add(&o, &self, 1)) < 0) {
		munmap(p, (size_t)len);
		goto fail_unlock;
	}
	ZIPC_CRASH("shm.attach.counted");
	st_relaxed(&c->sm_atime, (int64_t)time(NULL));
	st_relaxed(&c->sm_lpid, self.pr_pid);
	seg_unlock(&o);
	if (flags & SHM_REMAP)
		forget_covered(p, (size_t)len, NULL);
	if ((r = remember(p, (size_t)len, id, &o)) < 0) {
		struct attachment a = {p, (size_t)len, id, o};
		munmap(p, (size_t)len);
		account_detach(&a);
		return r;
	}
	*out = p;
	return 0;

fail_unlock:
	seg_unlock(&o);
fail:
	zipc__obj_close(&o);
	return r;
}

/* ---- shmctl ----------------------------------------------------------- */

static void
fill_ds(const struct zipc_obj *o, uint64_t nattch, struct shmid_ds *buf)
{
	struct zipc_shm_ctl *c = ctl_of(o);
	memset(buf, 0, sizeof(*buf));
	zipc__ipc_perm_out(&c->sm_perm, &buf->shm_perm);
	buf->shm_segsz = (size_t)ld_relaxed(&c->sm_segsz);
	buf->shm_atime = (time_t)ld_relaxed(&c->sm_atime);
	buf->shm_dtime = (time_t)ld_relaxed(&c->sm_dtime);
	buf->shm_ctime = (time_t)ld_relaxed(&c->sm_ctime);
	buf->shm_cpid = (pid_t)ld_relaxed(&c->sm_cpid);
	buf->shm_lpid = (pid_t)ld_relaxed(&c->sm_lpid);
	buf->shm_nattch = (shmatt_t)nattch;
}

static int
ctl_info(int cmd, struct shmid_ds *buf)
{
	uint32_t count;
	uint64_t pages;
	if (!buf)
		return -EFAULT;
	zipc__shm_sweep();
	zipc__xsi_usage(ZIPC_XSI_SHM, &count, &pages);
	if (cmd == IPC_INFO) {
		struct shminfo *si = (struct shminfo *)(void *)buf;
		memset(si, 0, sizeof(*si));
		si->shmmax = zipc__sysctl_u64("/proc/sys/kernel/shmmax",
					     UINT64_MAX);
		si->shmmin = SHMMIN;
		si->shmmni = zipc__sysctl_u64("/proc/sys/kernel/shmmni", 4096);
		si->shmseg = si->shmmni;
		si->shmall = zipc__sysctl_u64("/proc/sys/kernel/shmall",
					     UINT64_MAX);
	} else {
		struct shm_info *si = (struct shm_info *)(void *)buf;
		memset(si, 0, sizeof(*si));
		si->used_ids = (int)count;
		si->shm_tot = pages;
		si->shm_rss = pages;
	}
	return zipc__xsi_max_index(ZIPC_XSI_SHM);
}

int
zipc__shm_ctl(int id, int cmd, struct shmid_ds *buf)
{
	if (cmd < 0 || id < 0)
		return -EINVAL;
	cmd &= ~0x100; /* IPC_64: libc's flag for the 64-bit layout */
	switch (cmd) {
	case IPC_INFO:
	case SHM_INFO:
		return ctl_info(cmd, buf);
	case SHM_STAT:
	case SHM_STAT_ANY:
		zipc__shm_sweep();
		id = zipc__xsi_id_at(ZIPC_XSI_SHM, (uint32_t)id);
		if (id < 0)
			return id;
		break;
	case IPC_SET: /* the kernel copies in before it looks the id up */
		if (!buf)
			return -EFAULT;
		break;
	case IPC_STAT: /* ... and copies out after: EINVAL comes first */
	case IPC_RMID:
	case SHM_LOCK:
	case SHM_UNLOCK:
		break;
	default:
		return -EINVAL;
	}

	struct zipc_obj o;
	int r = seg_open(id, &o);
	if (r < 0)
		return r;
	struct zipc_shm_ctl *c = ctl_of(&o);
	if ((r = seg_lock(&o)) < 0) {
		r = r == -EIDRM ? -EINVAL : r;
		goto out;
	}
	if (ld_acquire(&zipc__obj_hdr(&o)->sh_state) != ZIPC_SEG_READY ||
	    maybe_destroy(&o, id)) {
		r = -EINVAL;
		goto out_unlock;
	}
	switch (cmd) {
	case SHM_STAT:
	case IPC_STAT:
		if ((r = zipc__ipcperms(&c->sm_perm, 0444)) < 0)
			break;
		/* fall through */
	case SHM_STAT_ANY:
		if (!buf) {
			r = -EFAULT;
			break;
		}
		fill_ds(&o, att_prune(&o), buf);
		r = cmd == IPC_STAT ? 0 : id;
		break;
	case IPC_SET:
		if ((r = zipc__ipc_owner_check(&c->sm_perm)) < 0)
			break;
		zipc__ipc_perm_set(&c->sm_perm, &buf->shm_perm);
		zipc__ipc_file_sync(o.o_fd, &c->sm_perm);
		st_relaxed(&c->sm_ctime, (int64_t)time(NULL));
		break;
	case IPC_RMID:
		if ((r = zipc__ipc_owner_check(&c->sm_perm)) < 0)
			break;
		st_relaxed(&c->sm_perm.ip_key, 0);
		st_relaxed(&c->sm_perm.ip_mode,
			   ld_relaxed(&c->sm_perm.ip_mode) | SHM_DEST);
		ZIPC_CRASH("shm.rmid.marked");
		zipc__xsi_unkey(ZIPC_XSI_SHM, id);
		maybe_destroy(&o, id);
		break;
	case SHM_LOCK:
	case SHM_UNLOCK:
		if (geteuid() != 0 &&
		    (r = zipc__ipc_owner_check(&c->sm_perm)) < 0)
			break;
		if (cmd == SHM_LOCK)
			st_relaxed(&c->sm_perm.ip_mode,
				   ld_relaxed(&c->sm_perm.ip_mode) |
					   SHM_LOCKED);
		else
			st_relaxed(&c->sm_perm.ip_mode,
				   ld_relaxed(&c->sm_perm.ip_mode) &
					   ~(uint32_t)SHM_LOCKED);
		break;
	}
out_unlock:
	seg_unlock(&o);
out:
	zipc__obj_close(&o);
	return r;
}

static int
sweep_one(int id, void *arg)
{
	(void)arg;
	struct zipc_obj o;
	char fname[64], path[4096];
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_SHM, id);
	int r = zipc__obj_open(fname, ZIPC_KIND_XSI_SHM, ZIPC_SHM_SIG, &o);
	if (r == -ENOENT || r == -EIDRM) {
		/* Its destroyer died between removing the file and freeing
		 * the slot: finish both. */
		if (r == -EIDRM && zipc__path(path, sizeof(path), fname) == 0)
			unlink(path);
		zipc__xsi_release(ZIPC_XSI_SHM, id);
		return 0;
	}
	if (r < 0)
		return 0;
	struct zipc_shm_ctl *c = ctl_of(&o);
	if ((ld_relaxed(&c->sm_perm.ip_mode) & SHM_DEST) &&
	    seg_lock(&o) == 0) {
		if (ld_acquire(&zipc__obj_hdr(&o)->sh_state) == ZIPC_SEG_READY)
			maybe_destroy(&o, id);
		seg_unlock(&o);
	}
	zipc__obj_close(&o);
	return 0;
}

void
zipc__shm_sweep(void)
{
	zipc__xsi_foreach(ZIPC_XSI_SHM, 1, sweep_one, NULL);
}
