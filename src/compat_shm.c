/* SPDX-License-Identifier: MIT */
/*
 * Shared memory, both public faces over the engine in shm.c: the native
 * zipc_segment_* (-errno) and the libc-compatible zipc_shm* (-1/errno).
 */
#include <string.h>

#include "internal.h"
#include "shm.h"
#include "zipc.h"
#include "zipc_compat.h"

ZIPC_API int
zipc_segment_get(int32_t key, uint64_t size, int flags)
{
	return zipc__shm_get(key, size, flags);
}

ZIPC_API int
zipc_segment_attach(int id, const void *addr, int flags, void **out)
{
	return zipc__shm_attach(id, addr, flags, out);
}

ZIPC_API int
zipc_segment_detach(const void *addr)
{
	return zipc__shm_detach(addr);
}

ZIPC_API int
zipc_segment_stat(int id, struct zipc_segment_info *out)
{
	struct shmid_ds ds;
	int r = zipc__shm_ctl(id, IPC_STAT, &ds);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->key = ds.shm_perm.__key;
	out->uid = ds.shm_perm.uid;
	out->gid = ds.shm_perm.gid;
	out->cuid = ds.shm_perm.cuid;
	out->cgid = ds.shm_perm.cgid;
	out->mode = ds.shm_perm.mode;
	out->size = ds.shm_segsz;
	out->cpid = (uint32_t)ds.shm_cpid;
	out->lpid = (uint32_t)ds.shm_lpid;
	out->nattch = ds.shm_nattch;
	out->atime = ds.shm_atime;
	out->dtime = ds.shm_dtime;
	out->ctime = ds.shm_ctime;
	return 0;
}

ZIPC_API int
zipc_segment_remove(int id)
{
	return zipc__shm_ctl(id, IPC_RMID, NULL);
}

ZIPC_API int
zipc_shmget(key_t key, size_t size, int shmflg)
{
	return ret_errno(zipc__shm_get(key, size, shmflg));
}

ZIPC_API void *
zipc_shmat(int shmid, const void *shmaddr, int shmflg)
{
	void *p;
	int r = zipc__shm_attach(shmid, shmaddr, shmflg, &p);
	if (r < 0) {
		errno = -r;
		return (void *)-1;
	}
	return p;
}

ZIPC_API int
zipc_shmdt(const void *shmaddr)
{
	return ret_errno(zipc__shm_detach(shmaddr));
}

ZIPC_API int
zipc_shmctl(int shmid, int cmd, struct shmid_ds *buf)
{
	return ret_errno(zipc__shm_ctl(shmid, cmd, buf));
}

ZIPC_API int
zipc_shm_open(const char *name, int oflag, mode_t mode)
{
	return ret_errno(zipc_segment_open(name, oflag, mode));
}

ZIPC_API int
zipc_shm_unlink(const char *name)
{
	return ret_errno(zipc_segment_unlink(name));
}
