/* SPDX-License-Identifier: MIT */
/*
 * XSI semaphore sets, both public faces over the engine in semset.c: the
 * native zipc_semset_* (-errno, fixed-width types, relative timeouts in
 * nanoseconds) and the libc-compatible zipc_sem{get,op,timedop,ctl}.
 */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "internal.h"
#include "sem.h"
#include "zipc.h"
#include "zipc_compat.h"

_Static_assert(sizeof(struct zipc_semset_op) == sizeof(struct sembuf),
	       "zipc_semset_op mirrors struct sembuf");

ZIPC_API int
zipc_semset_get(int32_t key, int nsems, int flags)
{
	return zipc__semget(key, nsems, flags);
}

ZIPC_API int
zipc_semset_op(int id, const struct zipc_semset_op *ops, size_t nops,
	       int64_t timeout_ns)
{
	struct timespec rel, *t = NULL;
	if (timeout_ns >= 0) {
		rel.tv_sec = (time_t)(timeout_ns / 1000000000);
		rel.tv_nsec = (long)(timeout_ns % 1000000000);
		t = &rel;
	}
	return zipc__semop(id, (const struct sembuf *)(const void *)ops, nops,
			   t);
}

ZIPC_API int
zipc_semset_getval(int id, int num)
{
	return zipc__semctl(id, num, GETVAL, NULL, 0);
}

ZIPC_API int
zipc_semset_setval(int id, int num, int value)
{
	return zipc__semctl(id, num, SETVAL, NULL, value);
}

ZIPC_API int
zipc_semset_getall(int id, uint16_t *values)
{
	return zipc__semctl(id, 0, GETALL, values, 0);
}

ZIPC_API int
zipc_semset_setall(int id, const uint16_t *values)
{
	return zipc__semctl(id, 0, SETALL, (void *)(uintptr_t)values, 0);
}

ZIPC_API int
zipc_semset_getpid(int id, int num)
{
	return zipc__semctl(id, num, GETPID, NULL, 0);
}

ZIPC_API int
zipc_semset_getncnt(int id, int num)
{
	return zipc__semctl(id, num, GETNCNT, NULL, 0);
}

ZIPC_API int
zipc_semset_getzcnt(int id, int num)
{
	return zipc__semctl(id, num, GETZCNT, NULL, 0);
}

ZIPC_API int
zipc_semset_stat(int id, struct zipc_semset_info *out)
{
	struct semid_ds ds;
	int r = zipc__semctl(id, 0, IPC_STAT, &ds, 0);
	if (r < 0)
		return r;
	memset(out, 0, sizeof(*out));
	out->key = ds.sem_perm.__key;
	out->uid = ds.sem_perm.uid;
	out->gid = ds.sem_perm.gid;
	out->cuid = ds.sem_perm.cuid;
	out->cgid = ds.sem_perm.cgid;
	out->mode = ds.sem_perm.mode;
	out->nsems = (uint32_t)ds.sem_nsems;
	out->otime = ds.sem_otime;
	out->ctime = ds.sem_ctime;
	return 0;
}

ZIPC_API int
zipc_semset_remove(int id)
{
	return zipc__semctl(id, 0, IPC_RMID, NULL, 0);
}

ZIPC_API int
zipc_semset_fd(int id, int num)
{
	return zipc__semset_fd(id, num);
}

ZIPC_API int
zipc_semset_fd_close(int id, int num, int fd)
{
	zipc__semset_fd_close(id, num, fd);
	return 0;
}

/* ---- the libc face ------------------------------------------------------ */

/* semctl(2): the caller defines union semun; this is its layout. */
union zipc_semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

ZIPC_API int
zipc_semget(key_t key, int nsems, int semflg)
{
	return ret_errno(zipc__semget(key, nsems, semflg));
}

ZIPC_API int
zipc_semop(int semid, struct sembuf *sops, size_t nsops)
{
	return ret_errno(zipc__semop(semid, sops, nsops, NULL));
}

ZIPC_API int
zipc_semtimedop(int semid, struct sembuf *sops, size_t nsops,
		const struct timespec *timeout)
{
	return ret_errno(zipc__semop(semid, sops, nsops, timeout));
}

ZIPC_API int
zipc_semctl(int semid, int semnum, int cmd, ...)
{
	union zipc_semun arg = {0};
	/* As glibc: only the commands that take the fourth argument read it. */
	switch (cmd & ~0x100) {
	case SETVAL:
	case GETALL:
	case SETALL:
	case IPC_STAT:
	case IPC_SET:
	case SEM_STAT:
	case SEM_STAT_ANY:
	case IPC_INFO:
	case SEM_INFO: {
		va_list ap;
		va_start(ap, cmd);
		arg = va_arg(ap, union zipc_semun);
		va_end(ap);
		break;
	}
	}
	if ((cmd & ~0x100) == SETVAL)
		return ret_errno(zipc__semctl(semid, semnum, cmd, NULL,
					      arg.val));
	return ret_errno(zipc__semctl(semid, semnum, cmd, arg.buf, 0));
}
