/* SPDX-License-Identifier: MIT */
/*
 * The XSI key registry ("zipc.registry" in the store). One lock guards the
 * three slot tables. A slot goes FREE -> CREATING -> LIVE [-> DEST] -> FREE,
 * every transition under the lock; the object file "zipc.<kind>.<id>" is
 * created while the slot is CREATING and removed before the slot is FREE.
 *
 * Repair (the lock's previous holder died): a CREATING slot becomes FREE and
 * its file, if any, is removed (its creator died before anyone could learn
 * the id); a LIVE or DEST slot whose file is gone becomes FREE; temporary
 * files of dead creators are swept; the counters are recomputed. Each step is
 * idempotent, so a repairer that dies too leaves work the next one redoes.
 */
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <sys/ipc.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "ipcperm.h"
#include "registry.h"
#include "store.h"

#define REGISTRY_FNAME "zipc.registry"

static const char *const type_names[ZIPC_XSI_N] = {"shm", "msg", "sem"};

void
zipc__xsi_fname(char *buf, size_t len, enum zipc_xsi_type type, int id)
{
	snprintf(buf, len, "zipc.%s.%d", type_names[type], id);
}

int
zipc__xsi_create(enum zipc_xsi_type type, int id, uint32_t kind,
		 uint32_t layout_sig, uint64_t size, uint32_t hdr_size,
		 int flags, zipc_obj_init_fn init, void *arg)
{
	char fname[64];
	struct zipc_obj o;
	zipc__xsi_fname(fname, sizeof(fname), type, id);
	int r = zipc__obj_create(fname, kind, layout_sig, size, hdr_size,
				 (uint64_t)id,
				 0600 | zipc__ipc_file_mode((uint32_t)flags),
				 init, arg, &o);
	/* No room for it (or too big to reserve): the kernel says ENOMEM. */
	if (r == -EFBIG || r == -ENOSPC || r == -EINVAL)
		return -ENOMEM;
	if (r < 0)
		return r;
	zipc__obj_close(&o);
	return 0;
}

/* The registry mapping, per process, reopened if ZIPC_DIR changes. */
static pthread_mutex_t reg_mutex = PTHREAD_MUTEX_INITIALIZER;
static struct zipc_obj reg_obj = {.o_fd = -1};
static char reg_dir[4096];

static int
registry_init(struct zipc_obj *o, void *arg)
{
	(void)arg;
	struct zipc_registry *rg =
		(void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
	zipc__lock_init(&rg->rg_lock);
	return 0; /* the rest is zero from fallocate */
}

static struct zipc_registry *
registry_body(const struct zipc_obj *o)
{
	return (void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
}

static int
registry_map(struct zipc_registry **out)
{
	const char *dir = zipc__dir();
	int r = 0;
	pthread_mutex_lock(&reg_mutex);
	if (reg_obj.o_base && strcmp(dir, reg_dir) == 0)
		goto done;
	if (reg_obj.o_base)
		zipc__obj_close(&reg_obj);
	for (int tries = 0; tries < 10; tries++) {
		r = zipc__obj_open(REGISTRY_FNAME, ZIPC_KIND_REGISTRY,
				   ZIPC_REGISTRY_SIG, &reg_obj);
		if (r != -ENOENT)
			break;
		zipc__store_sweep_tmp();
		r = zipc__obj_create(REGISTRY_FNAME, ZIPC_KIND_REGISTRY,
				     ZIPC_REGISTRY_SIG,
				     sizeof(struct zipc_seg_hdr) +
					     sizeof(struct zipc_registry),
				     sizeof(struct zipc_seg_hdr), 0, 0666,
				     registry_init, NULL, &reg_obj);
		if (r != -EEXIST)
			break;
	}
	if (r == 0)
		snprintf(reg_dir, sizeof(reg_dir), "%s", dir);
	else
		reg_obj.o_base = NULL;
done:
	if (r == 0)
		*out = registry_body(&reg_obj);
	pthread_mutex_unlock(&reg_mutex);
	return r;
}

void
zipc__registry_reset(void)
{
	pthread_mutex_lock(&reg_mutex);
	if (reg_obj.o_base)
		zipc__obj_close(&reg_obj);
	reg_dir[0] = 0;
	pthread_mutex_unlock(&reg_mutex);
}

static int
file_state(enum zipc_xsi_type type, int id)
{
	char fname[64];
	zipc__xsi_fname(fname, sizeof(fname), type, id);
	/* The signature is the kind's business: read the header raw. */
	char path[4096];
	if (zipc__path(path, sizeof(path), fname) < 0)
		return -ENOENT;
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -errno;
	struct zipc_seg_hdr h;
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h) || h.sh_magic != ZIPC_SEG_MAGIC)
		return -EBADMSG;
	return (int)h.sh_state;
}

/* Garbage in xs_seq (a hostile registry) still gives a positive id. */
static int
slot_id(const struct zipc_xsi_slot *s, uint32_t idx)
{
	uint32_t seq = ld_relaxed(&s->xs_seq) % (ZIPC_XSI_SEQ_MAX + 1);
	return (int)(seq * ZIPC_XSI_SLOTS + idx % ZIPC_XSI_SLOTS);
}

static void
registry_repair(struct zipc_registry *rg)
{
	zipc__store_sweep_tmp();
	for (int t = 0; t < ZIPC_XSI_N; t++) {
		struct zipc_xsi_table *tab = &rg->rg_tab[t];
		uint32_t hi = ld_relaxed(&tab->xt_hiwater);
		if (hi > ZIPC_XSI_SLOTS)
			hi = ZIPC_XSI_SLOTS;
		uint32_t in_use = 0;
		uint64_t pages = 0;
		for (uint32_t i = 0; i < hi; i++) {
			struct zipc_xsi_slot *s = &rg->rg_slots[t][i];
			uint32_t st = ld_relaxed(&s->xs_state);
			if (st == ZIPC_SLOT_FREE)
				continue;
			/* A creator that died never handed the id to anyone:
			 * roll its object back. */
			if (st == ZIPC_SLOT_CREATING || st > ZIPC_SLOT_DEST ||
			    file_state(t, slot_id(s, i)) != ZIPC_SEG_READY)
				st = ZIPC_SLOT_FREE;
			if (st == ZIPC_SLOT_FREE) {
				char fname[64], path[4096];
				zipc__xsi_fname(fname, sizeof(fname), t,
						slot_id(s, i));
				if (zipc__path(path, sizeof(path), fname) == 0)
					unlink(path);
				st_relaxed(&s->xs_key, 0);
				st_relaxed(&s->xs_pages, 0);
			} else {
				in_use++;
				pages += ld_relaxed(&s->xs_pages);
			}
			st_relaxed(&s->xs_state, st);
		}
		st_relaxed(&tab->xt_in_use, in_use);
		st_relaxed(&tab->xt_pages, pages);
		st_relaxed(&tab->xt_hiwater, hi);
		if (ld_relaxed(&tab->xt_last_idx) >= ZIPC_XSI_SLOTS)
			st_relaxed(&tab->xt_last_idx, 0);
		if (ld_relaxed(&tab->xt_seq) > ZIPC_XSI_SEQ_MAX)
			st_relaxed(&tab->xt_seq, 0);
	}
}

/* Lock the registry, repairing it if its last holder died. */
static int
registry_lock(struct zipc_registry **out)
{
	struct zipc_registry *rg;
	int r = registry_map(&rg);
	if (r < 0)
		return r;
	r = zipc__lock(&rg->rg_lock);
	if (r == -EOWNERDEAD) {
		registry_repair(rg);
		r = 0;
	}
	if (r < 0)
		return r;
	*out = rg;
	return 0;
}

static void
registry_unlock(struct zipc_registry *rg)
{
	zipc__unlock(&rg->rg_lock);
}

static int
find_key(struct zipc_registry *rg, enum zipc_xsi_type type, int32_t key)
{
	uint32_t hi = ld_relaxed(&rg->rg_tab[type].xt_hiwater);
	for (uint32_t i = 0; i < hi && i < ZIPC_XSI_SLOTS; i++) {
		struct zipc_xsi_slot *s = &rg->rg_slots[type][i];
		if (ld_relaxed(&s->xs_state) == ZIPC_SLOT_LIVE &&
		    ld_relaxed(&s->xs_key) == key)
			return slot_id(s, i);
	}
	return -ENOENT;
}

/* Cyclic allocation as the kernel's ipc_idr_alloc: the sequence moves on
 * each time the index wraps back. */
static int
alloc_slot(struct zipc_registry *rg, enum zipc_xsi_type type, uint32_t mni)
{
	struct zipc_xsi_table *tab = &rg->rg_tab[type];
	if (mni > ZIPC_XSI_SLOTS)
		mni = ZIPC_XSI_SLOTS;
	if (ld_relaxed(&tab->xt_in_use) >= mni)
		return -ENOSPC;
	uint32_t last = ld_relaxed(&tab->xt_last_idx);
	uint32_t first = ld_relaxed(&tab->xt_in_use) == 0 &&
					 ld_relaxed(&tab->xt_hiwater) == 0
				 ? 0
				 : last + 1;
	for (uint32_t n = 0; n < mni; n++) {
		uint32_t idx = (first + n) % mni;
		struct zipc_xsi_slot *s = &rg->rg_slots[type][idx];
		if (ld_relaxed(&s->xs_state) != ZIPC_SLOT_FREE)
			continue;
		uint32_t seq = ld_relaxed(&tab->xt_seq);
		if (ld_relaxed(&tab->xt_hiwater) && idx <= last) {
			seq = seq + 1 > ZIPC_XSI_SEQ_MAX ? 0 : seq + 1;
			st_relaxed(&tab->xt_seq, seq);
		}
		st_relaxed(&tab->xt_last_idx, idx);
		st_relaxed(&s->xs_seq, seq);
		return (int)idx;
	}
	return -ENOSPC;
}

/* Under the lock: slot @s is FREE again and its pages given back. */
static void
slot_free(struct zipc_registry *rg, enum zipc_xsi_type type,
	  struct zipc_xsi_slot *s)
{
	struct zipc_xsi_table *tab = &rg->rg_tab[type];
	uint64_t pages = ld_relaxed(&s->xs_pages);
	uint64_t tot = ld_relaxed(&tab->xt_pages);
	uint32_t in_use = ld_relaxed(&tab->xt_in_use);
	st_relaxed(&tab->xt_pages, tot >= pages ? tot - pages : 0);
	st_relaxed(&tab->xt_in_use, in_use ? in_use - 1 : 0);
	st_relaxed(&s->xs_key, 0);
	st_relaxed(&s->xs_pages, 0);
	st_relaxed(&s->xs_state, ZIPC_SLOT_FREE);
}

int
zipc__xsi_get(enum zipc_xsi_type type, const struct zipc_xsi_req *req,
	      const struct zipc_xsi_ops *ops, void *arg)
{
	struct zipc_registry *rg;
	int r = registry_lock(&rg);
	if (r < 0)
		return r;
	if (req->key != IPC_PRIVATE) {
		int id = find_key(rg, type, req->key);
		if (id >= 0) {
			if ((req->flags & IPC_CREAT) && (req->flags & IPC_EXCL))
				r = -EEXIST;
			else
				r = ops->existing(id, req->flags, arg);
			struct zipc_xsi_slot *s =
				&rg->rg_slots[type][zipc__xsi_index(id)];
			if (r == -EIDRM) {
				/* Its IPC_RMID was cut short by a death: finish
				 * forgetting the key, then go on as without. */
				st_relaxed(&s->xs_key, 0);
				st_relaxed(&s->xs_state, ZIPC_SLOT_DEST);
				id = -ENOENT;
			} else if (r == -ENOENT) {
				/* Its file is gone (a remover died between
				 * removing it and freeing the slot). */
				slot_free(rg, type, s);
				id = -ENOENT;
			}
		}
		if (id >= 0) {
			registry_unlock(rg);
			return r < 0 ? r : id;
		}
		if (!(req->flags & IPC_CREAT)) {
			registry_unlock(rg);
			return -ENOENT;
		}
	}
	if (ops->precheck && (r = ops->precheck(arg)) < 0)
		goto out;
	struct zipc_xsi_table *tab = &rg->rg_tab[type];
	if (req->pages &&
	    ld_relaxed(&tab->xt_pages) + req->pages > req->pages_limit) {
		r = -ENOSPC;
		goto out;
	}
	int idx = alloc_slot(rg, type, req->mni);
	if (idx < 0) {
		r = idx;
		goto out;
	}
	struct zipc_xsi_slot *s = &rg->rg_slots[type][idx];
	int id = slot_id(s, (uint32_t)idx);
	st_relaxed(&s->xs_key, req->key);
	st_relaxed(&s->xs_pages, req->pages);
	st_relaxed(&s->xs_state, ZIPC_SLOT_CREATING);
	if ((uint32_t)idx + 1 > ld_relaxed(&tab->xt_hiwater))
		st_relaxed(&tab->xt_hiwater, (uint32_t)idx + 1);
	st_relaxed(&tab->xt_in_use, ld_relaxed(&tab->xt_in_use) + 1);
	ZIPC_CRASH("registry.get.creating");
	r = ops->create(id, req->key, req->flags, arg);
	if (r < 0) {
		st_relaxed(&s->xs_state, ZIPC_SLOT_FREE);
		st_relaxed(&s->xs_key, 0);
		st_relaxed(&s->xs_pages, 0);
		st_relaxed(&tab->xt_in_use, ld_relaxed(&tab->xt_in_use) - 1);
		goto out;
	}
	ZIPC_CRASH("registry.get.created");
	st_relaxed(&tab->xt_pages, ld_relaxed(&tab->xt_pages) + req->pages);
	st_relaxed(&s->xs_state, ZIPC_SLOT_LIVE);
	r = id;
out:
	registry_unlock(rg);
	return r;
}

static struct zipc_xsi_slot *
slot_of(struct zipc_registry *rg, enum zipc_xsi_type type, int id)
{
	if (id < 0)
		return NULL;
	struct zipc_xsi_slot *s = &rg->rg_slots[type][zipc__xsi_index(id)];
	if (ld_relaxed(&s->xs_state) == ZIPC_SLOT_FREE ||
	    slot_id(s, zipc__xsi_index(id)) != id)
		return NULL;
	return s;
}

void
zipc__xsi_release(enum zipc_xsi_type type, int id)
{
	struct zipc_registry *rg;
	if (registry_lock(&rg) < 0)
		return;
	struct zipc_xsi_slot *s = slot_of(rg, type, id);
	if (s)
		slot_free(rg, type, s);
	registry_unlock(rg);
}

void
zipc__xsi_unkey(enum zipc_xsi_type type, int id)
{
	struct zipc_registry *rg;
	if (registry_lock(&rg) < 0)
		return;
	struct zipc_xsi_slot *s = slot_of(rg, type, id);
	if (s) {
		st_relaxed(&s->xs_key, 0);
		st_relaxed(&s->xs_state, ZIPC_SLOT_DEST);
	}
	registry_unlock(rg);
}

int
zipc__xsi_id_at(enum zipc_xsi_type type, uint32_t index)
{
	struct zipc_registry *rg;
	int r = registry_map(&rg);
	if (r < 0)
		return r;
	if (index >= ZIPC_XSI_SLOTS)
		return -EINVAL;
	struct zipc_xsi_slot *s = &rg->rg_slots[type][index];
	uint32_t st = ld_acquire(&s->xs_state);
	if (st != ZIPC_SLOT_LIVE && st != ZIPC_SLOT_DEST)
		return -EINVAL;
	return slot_id(s, index);
}

int
zipc__xsi_max_index(enum zipc_xsi_type type)
{
	struct zipc_registry *rg;
	if (registry_map(&rg) < 0)
		return 0;
	int max = 0;
	uint32_t hi = ld_relaxed(&rg->rg_tab[type].xt_hiwater);
	for (uint32_t i = 0; i < hi && i < ZIPC_XSI_SLOTS; i++)
		if (ld_relaxed(&rg->rg_slots[type][i].xs_state) !=
		    ZIPC_SLOT_FREE)
			max = (int)i;
	return max;
}

void
zipc__xsi_usage(enum zipc_xsi_type type, uint32_t *count, uint64_t *pages)
{
	struct zipc_registry *rg;
	*count = 0;
	*pages = 0;
	if (registry_map(&rg) < 0)
		return;
	*count = ld_relaxed(&rg->rg_tab[type].xt_in_use);
	*pages = ld_relaxed(&rg->rg_tab[type].xt_pages);
}

int
zipc__xsi_foreach(enum zipc_xsi_type type, int dest_only,
		  int (*fn)(int id, void *arg), void *arg)
{
	struct zipc_registry *rg;
	int r = registry_map(&rg);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	uint32_t hi = ld_relaxed(&rg->rg_tab[type].xt_hiwater);
	for (uint32_t i = 0; i < hi && i < ZIPC_XSI_SLOTS; i++) {
		if (dest_only && ld_relaxed(&rg->rg_slots[type][i].xs_state) !=
					 ZIPC_SLOT_DEST)
			continue;
		int id = zipc__xsi_id_at(type, i);
		if (id >= 0 && (r = fn(id, arg)) != 0)
			return r;
	}
	return 0;
}
