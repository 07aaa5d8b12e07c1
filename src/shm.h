/* SPDX-License-Identifier: MIT */
/*
 * XSI shared memory segments: the layout of "zipc.shm.<id>" files and the
 * engine that both faces (zipc.h's zipc_segment_*, zipc_compat.h's shm*)
 * call. See shm.c for the protocol.
 */
#ifndef ZIPC_SHM_H
#define ZIPC_SHM_H

#include <stdint.h>
#include <sys/shm.h>

#include "ipcperm.h"
#include "layout.h"
#include "lock.h"
#include "proc.h"

#define ZIPC_SHM_ATT_MAX  256	/* attaching processes per segment */
#define ZIPC_SHM_DATA_OFF 16384 /* the data starts here, page-aligned */

/* One attaching process: how many attachments it holds. */
struct zipc_shm_att {		 /* off size */
	struct zipc_proc sa_proc; /*  0 16 pid 0: free entry */
	uint32_t sa_count;	 /* 16 4 */
	uint32_t sa_resv;	 /* 20 4 */
};

struct zipc_shm_ctl {			 /* off (after the header) */
	struct zipc_lock sm_lock;	 /*   0  24 */
	struct zipc_ipc_perm sm_perm;	 /*  24  32 */
	uint64_t sm_segsz;		 /*  56   8 */
	int64_t sm_atime;		 /*  64   8 */
	int64_t sm_dtime;		 /*  72   8 */
	int64_t sm_ctime;		 /*  80   8 */
	uint32_t sm_cpid;		 /*  88   4 */
	uint32_t sm_lpid;		 /*  92   4 */
	uint32_t sm_flags;		 /*  96   4  SHM_HUGETLB as given */
	uint32_t sm_resv[7];		 /* 100  28 */
	struct zipc_shm_att sm_att[ZIPC_SHM_ATT_MAX]; /* 128 6144 */
};
_Static_assert(sizeof(struct zipc_seg_hdr) + sizeof(struct zipc_shm_ctl) <=
		       ZIPC_SHM_DATA_OFF,
	       "control must fit before the data");
_Static_assert(offsetof(struct zipc_shm_ctl, sm_segsz) % 8 == 0, "ABI");
_Static_assert(offsetof(struct zipc_shm_ctl, sm_att) == 128, "ABI");

#define ZIPC_SHM_SIG                                                          \
	ZIPC_SIG_STRUCT(                                                      \
		ZIPC_SIG_STRUCT(ZIPC_SIG_STRUCT(ZIPC_SIG_STRUCT(ZIPC_SIG_BASE, \
								struct zipc_lock), \
						struct zipc_ipc_perm),        \
				struct zipc_shm_att),                         \
		struct zipc_shm_ctl)

int zipc__shm_get(int32_t key, uint64_t size, int flags);
int zipc__shm_attach(int id, const void *addr, int flags, void **out);
int zipc__shm_detach(const void *addr);
/* shmctl with libc's struct shmid_ds (IPC_INFO/SHM_INFO cast it). */
int zipc__shm_ctl(int id, int cmd, struct shmid_ds *buf);
/* Destroy removed segments whose every attacher is gone. */
void zipc__shm_sweep(void);

#endif
