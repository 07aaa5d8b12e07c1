/* SPDX-License-Identifier: MIT */
/*
 * The XSI key registry, shared by every XSI kind: key_t -> id, ids formed
 * as the kernel forms them (sequence * 32768 + slot index), so the id of a
 * removed object fails with EINVAL and never reaches a newer one. Each XSI
 * object is its own file named after its full id ("zipc.shm.<id>").
 */
#ifndef ZIPC_REGISTRY_H
#define ZIPC_REGISTRY_H

#include <stdint.h>

#include "layout.h"
#include "lock.h"
#include "store.h"

enum zipc_xsi_type { ZIPC_XSI_SHM, ZIPC_XSI_MSG, ZIPC_XSI_SEM, ZIPC_XSI_N };

#define ZIPC_XSI_SLOTS	 32768u /* IPCMNI */
#define ZIPC_XSI_SEQ_MAX 65535u /* INT_MAX >> 15 */

enum zipc_slot_state {
	ZIPC_SLOT_FREE = 0,
	ZIPC_SLOT_CREATING = 1, /* under the registry lock only */
	ZIPC_SLOT_LIVE = 2,
	ZIPC_SLOT_DEST = 3, /* removed, key forgotten, object still held */
};

struct zipc_xsi_slot {	 /* off size */
	int32_t xs_key;	 /*  0 4  IPC_PRIVATE (0) for private/removed */
	uint32_t xs_seq; /*  4 4  sequence of the object in this slot */
	uint32_t xs_state; /* 8 4  enum zipc_slot_state */
	uint32_t xs_pages; /* 12 4 pages the object holds (shm) */
};

struct zipc_xsi_table {		/* off size */
	uint32_t xt_seq;	/*  0 4  current sequence (kernel ids->seq) */
	uint32_t xt_last_idx;	/*  4 4  last index given (cyclic alloc) */
	uint32_t xt_hiwater;	/*  8 4  1 + highest index ever used */
	uint32_t xt_in_use;	/* 12 4  slots not FREE */
	uint64_t xt_pages;	/* 16 8  pages held (shm: shm_tot) */
	uint64_t xt_resv;	/* 24 8 */
};

struct zipc_registry {			  /* off (after the 64-byte header) */
	struct zipc_lock rg_lock;	  /*   0 24 */
	uint32_t rg_resv[2];		  /*  24  8 */
	struct zipc_xsi_table rg_tab[ZIPC_XSI_N]; /* 32 96 */
	struct zipc_xsi_slot rg_slots[ZIPC_XSI_N][ZIPC_XSI_SLOTS]; /* 128 */
};

#define ZIPC_REGISTRY_SIG                                                     \
	ZIPC_SIG_STRUCT(                                                      \
		ZIPC_SIG_STRUCT(ZIPC_SIG_STRUCT(ZIPC_SIG_STRUCT(ZIPC_SIG_BASE, \
								struct zipc_lock), \
						struct zipc_xsi_slot),        \
				struct zipc_xsi_table),                       \
		struct zipc_registry)

/* What a get() asks for. */
struct zipc_xsi_req {
	int32_t key;
	int flags;	      /* IPC_CREAT, IPC_EXCL, mode bits */
	uint32_t mni;	      /* most objects of this kind (msgmni, ...) */
	uint32_t pages;	      /* pages a new object holds (shm), else 0 */
	uint64_t pages_limit; /* most pages of this kind (shmall) */
};

/* Per-kind callbacks for zipc__xsi_get. */
struct zipc_xsi_ops {
	/* Build object @id for @key (mode in @flags). 0 or -errno. */
	int (*create)(int id, int32_t key, int flags, void *arg);
	/* For an existing object: kind checks (EINVAL) then permissions;
	 * -EIDRM if it is being removed (the key is then forgotten);
	 * -ENOENT if its file is gone (the slot is then freed). Either way
	 * the get goes on as for an unknown key. */
	int (*existing)(int id, int flags, void *arg);
	/* Refusals before a new object is made (EINVAL), or NULL. */
	int (*precheck)(void *arg);
};

/* Object file name of XSI @id of @type. */
void zipc__xsi_fname(char *buf, size_t len, enum zipc_xsi_type type, int id);

/*
 * The get() of every XSI kind (ipcget): IPC_PRIVATE always creates; a known
 * key gives EEXIST with IPC_CREAT|IPC_EXCL, else ops->existing decides; an
 * unknown key gives ENOENT without IPC_CREAT, else a new object (ENOSPC
 * when @mni slots are in use). Returns the id or -errno.
 */
int zipc__xsi_get(enum zipc_xsi_type type, const struct zipc_xsi_req *req,
		  const struct zipc_xsi_ops *ops, void *arg);

/*
 * The create step of a kind: make the file of XSI object @id (named from
 * the id, file mode from the ipc mode bits of @flags), run @init on it and
 * unmap it. No room for it gives -ENOMEM, as the kernel says.
 */
int zipc__xsi_create(enum zipc_xsi_type type, int id, uint32_t kind,
		     uint32_t layout_sig, uint64_t size, uint32_t hdr_size,
		     int flags, zipc_obj_init_fn init, void *arg);

/* Object @id is gone (its file already removed): free its slot. */
void zipc__xsi_release(enum zipc_xsi_type type, int id);
/* IPC_RMID of an object still held: forget its key, keep its slot. */
void zipc__xsi_unkey(enum zipc_xsi_type type, int id);
/* The id of the object at slot @index, or -EINVAL (the *_STAT commands). */
int zipc__xsi_id_at(enum zipc_xsi_type type, uint32_t index);
/* Highest slot index in use, or 0 (the IPC_INFO return value). */
int zipc__xsi_max_index(enum zipc_xsi_type type);
/* Number of objects and pages in use (the *_INFO commands). */
void zipc__xsi_usage(enum zipc_xsi_type type, uint32_t *count,
		     uint64_t *pages);
/* Call @fn for every id of @type (only removed-but-held ones if
 * @dest_only); stops when @fn returns non-zero and returns that. */
int zipc__xsi_foreach(enum zipc_xsi_type type, int dest_only,
		      int (*fn)(int id, void *arg), void *arg);

/* Drop this process's mapping of the registry (tests and fuzzing replace
 * the file under it). */
void zipc__registry_reset(void);

/* The slot index and sequence inside an id. */
static inline uint32_t
zipc__xsi_index(int id)
{
	return (uint32_t)id % ZIPC_XSI_SLOTS;
}

#endif
