/* SPDX-License-Identifier: MIT */
/*
 * ipc_perm as every XSI kind keeps it in shared memory, and the kernel's
 * two checks on it: ipcperms() for access, and the owner check for
 * IPC_SET/IPC_RMID. Root stands in for CAP_IPC_OWNER / CAP_SYS_ADMIN.
 */
#ifndef ZIPC_IPCPERM_H
#define ZIPC_IPCPERM_H

#include <stdint.h>
#include <sys/ipc.h>
#include <sys/types.h>

struct zipc_ipc_perm {	   /* off size */
	int32_t ip_key;	   /*  0 4 */
	uint32_t ip_uid;   /*  4 4 */
	uint32_t ip_gid;   /*  8 4 */
	uint32_t ip_cuid;  /* 12 4 */
	uint32_t ip_cgid;  /* 16 4 */
	uint32_t ip_mode;  /* 20 4  low 9 bits + kind flags (SHM_DEST ...) */
	uint32_t ip_seq;   /* 24 4  the id's sequence, as __seq */
	uint32_t ip_resv;  /* 28 4 */
};

/* Fill @p for a new object made by the caller (euid/egid). */
void zipc__ipc_perm_init(struct zipc_ipc_perm *p, int32_t key, int id,
			 int mode);
/* The kernel's ipcperms(): @flag holds requested mode bits (0444, 0222,
 * or a get() flag's mode). 0 or -EACCES. */
int zipc__ipcperms(const struct zipc_ipc_perm *p, int flag);
/* IPC_SET/IPC_RMID: the owner, the creator or root. 0 or -EPERM. */
int zipc__ipc_owner_check(const struct zipc_ipc_perm *p);
/* IPC_SET: take uid, gid and the low 9 mode bits from @in. */
void zipc__ipc_perm_set(struct zipc_ipc_perm *p, const struct ipc_perm *in);
/* Copy to libc's struct ipc_perm. */
void zipc__ipc_perm_out(const struct zipc_ipc_perm *p, struct ipc_perm *out);
/* The file mode an object file gets: a class with any access gets rw at
 * the file level (bookkeeping writes), none gets nothing. */
mode_t zipc__ipc_file_mode(uint32_t mode);
/* Re-own and re-mode object file @fd after IPC_SET (best effort). */
void zipc__ipc_file_sync(int fd, const struct zipc_ipc_perm *p);

#endif
