/* SPDX-License-Identifier: MIT */
/*
 * POSIX shared memory objects: plain files in the store's "zipc.posix-shm"
 * directory, opened as glibc's shm_open opens /dev/shm. They carry no
 * header: the caller mmaps the fd from offset 0, as POSIX promises.
 */
#include <fcntl.h>
#include <unistd.h>

#include "internal.h"
#include "posix_name.h"
#include "store.h"
#include "zipc.h"

ZIPC_API int
zipc_segment_open(const char *name, int oflag, mode_t mode)
{
	char fname[512], path[4096];
	int r = zipc__posix_fname(fname, sizeof(fname), ZIPC_NS_SHM, name,
				  oflag & O_CREAT);
	if (r < 0)
		return r;
	if ((r = zipc__path(path, sizeof(path), fname)) < 0)
		return r;
	/* glibc: O_NOFOLLOW | O_CLOEXEC always; O_RDONLY|O_RDWR, O_CREAT,
	 * O_EXCL and O_TRUNC pass through, anything else is dropped. */
	int flags = (oflag & (O_ACCMODE | O_CREAT | O_EXCL | O_TRUNC)) |
		    O_NOFOLLOW | O_CLOEXEC;
	if ((oflag & O_ACCMODE) == O_WRONLY)
		return -EINVAL;
	int fd = open(path, flags, mode);
	if (fd < 0) {
		if (errno == EISDIR)
			return -EINVAL;
		return -errno;
	}
	return fd;
}

ZIPC_API int
zipc_segment_unlink(const char *name)
{
	char fname[512], path[4096];
	int r = zipc__posix_fname(fname, sizeof(fname), ZIPC_NS_SHM, name, 0);
	if (r < 0)
		return r;
	if ((r = zipc__path(path, sizeof(path), fname)) < 0)
		return r;
	if (unlink(path) < 0)
		return errno == EPERM ? -EACCES : -errno;
	return 0;
}
