/* SPDX-License-Identifier: MIT */
/*
 * POSIX object names ("/name") and where their files live: one directory
 * per namespace inside the store ("zipc.posix-shm", "zipc.posix-mq",
 * "zipc.posix-sem"), so a name may be as long as NAME_MAX, as with glibc.
 */
#ifndef ZIPC_POSIX_NAME_H
#define ZIPC_POSIX_NAME_H

#include <stddef.h>

enum zipc_posix_ns { ZIPC_NS_SHM, ZIPC_NS_MQ, ZIPC_NS_SEM };

/*
 * Validate @name as glibc's shm_open/sem_open do (leading slashes skipped,
 * then 1..NAME_MAX bytes without '/'; -EINVAL, -ENAMETOOLONG) and write the
 * store-relative file name into @out. The namespace directory is created
 * (mode 01777) when @create is set. mq_open's stricter rule (exactly one
 * leading slash) is the mq face's to check before calling this.
 */
int zipc__posix_fname(char *out, size_t len, enum zipc_posix_ns ns,
		      const char *name, int create);

#endif
