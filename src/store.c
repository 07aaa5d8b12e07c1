/* SPDX-License-Identifier: MIT */
/*
 * Object files: create (temporary name, reserve, init, READY, link), open
 * (fstat, map, check the header), remove. The header check is the only
 * thing standing between a hostile file and our pointers, so every size in
 * it is compared with the file before anything else is read.
 */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "proc.h"
#include "store.h"

#define TMP_PREFIX ".zipc-tmp."

const char *
zipc__dir(void)
{
	const char *d = getenv("ZIPC_DIR");
	return d && *d ? d : "/dev/shm";
}

int
zipc__path(char *buf, size_t len, const char *fname)
{
	int n = snprintf(buf, len, "%s/%s", zipc__dir(), fname);
	if (n < 0 || (size_t)n >= len)
		return -ENAMETOOLONG;
	return 0;
}

int
zipc__hdr_check(const void *base, uint64_t file_size, uint32_t kind,
		uint32_t layout_sig)
{
	const struct zipc_seg_hdr *h = base;
	if (file_size < sizeof(*h))
		return -EBADMSG;
	if (ld_relaxed(&h->sh_magic) != ZIPC_SEG_MAGIC)
		return -EBADMSG;
	if (ld_relaxed(&h->sh_abi_major) != ZIPC_ABI_MAJOR ||
	    ld_relaxed(&h->sh_layout_sig) != layout_sig)
		return -EPROTO;
	for (size_t i = 0; i < ZIPC_ARRAY_SIZE(h->sh_resv); i++)
		if (ld_relaxed(&h->sh_resv[i]) != 0)
			return -EPROTO;
	if (ld_relaxed(&h->sh_kind) != kind)
		return -EBADMSG;
	uint64_t size = ld_relaxed(&h->sh_size);
	uint32_t hdr_size = ld_relaxed(&h->sh_hdr_size);
	if (size != file_size || hdr_size < sizeof(*h) || hdr_size > size)
		return -EBADMSG;
	/* Partner: st_release of ZIPC_SEG_READY in zipc__obj_create. */
	switch (ld_acquire(&h->sh_state)) {
	case ZIPC_SEG_READY:
		return 0;
	case ZIPC_SEG_INIT:
		return -EAGAIN;
	case ZIPC_SEG_REMOVED:
		return -EIDRM;
	default:
		return -EBADMSG;
	}
}

static int
map_fd(int fd, uint64_t size, struct zipc_obj *out)
{
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -errno;
	if (size == 0) {
		if (st.st_size < (off_t)sizeof(struct zipc_seg_hdr))
			return -EBADMSG;
		size = (uint64_t)st.st_size;
	}
	if (size > (uint64_t)SIZE_MAX)
		return -EFBIG;
	void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_SHARED,
		       fd, 0);
	if (p == MAP_FAILED)
		return -errno;
	out->o_base = p;
	out->o_size = size;
	out->o_fd = fd;
	out->o_dev = st.st_dev;
	out->o_ino = st.st_ino;
	return 0;
}

static int
open_tmp(char *path, size_t len, mode_t mode)
{
	static unsigned long counter;
	struct zipc_proc self;
	zipc__proc_self(&self);
	for (int tries = 0; tries < 100; tries++) {
		unsigned long n = __atomic_fetch_add(&counter, 1,
						     __ATOMIC_RELAXED);
		char fname[96];
		snprintf(fname, sizeof(fname), TMP_PREFIX "%u.%llu.%u.%lu",
			 self.pr_pid, (unsigned long long)self.pr_start,
			 zipc__tid(), n);
		int r = zipc__path(path, len, fname);
		if (r < 0)
			return r;
		int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC,
			      mode);
		if (fd >= 0)
			return fd;
		if (errno != EEXIST)
			return -errno;
	}
	return -EEXIST;
}

int
zipc__obj_create(const char *fname, uint32_t kind, uint32_t layout_sig,
		 uint64_t size, uint32_t hdr_size, uint64_t generation,
		 mode_t mode, zipc_obj_init_fn init, void *arg,
		 struct zipc_obj *out)
{
	char tmp[4096], final[4096];
	int r = zipc__path(final, sizeof(final), fname);
	if (r < 0)
		return r;
	if (size < hdr_size || hdr_size < sizeof(struct zipc_seg_hdr) ||
	    size > (uint64_t)INT64_MAX)
		return -EINVAL;
	int fd = open_tmp(tmp, sizeof(tmp), mode & 0777);
	if (fd < 0)
		return fd;
	if (fchmod(fd, mode & 0777) < 0) {
		r = -errno;
		goto fail_unlink;
	}
	/* Reserve every page now: an object must never SIGBUS later. */
	r = posix_fallocate(fd, 0, (off_t)size);
	if (r) {
		r = r == EFBIG ? -ENOSPC : -r;
		goto fail_unlink;
	}
	r = map_fd(fd, size, out);
	if (r < 0)
		goto fail_unlink;
	struct zipc_seg_hdr *h = out->o_base;
	h->sh_magic = ZIPC_SEG_MAGIC;
	h->sh_abi_major = ZIPC_ABI_MAJOR;
	h->sh_abi_minor = ZIPC_ABI_MINOR;
	h->sh_layout_sig = layout_sig;
	h->sh_hdr_size = hdr_size;
	h->sh_kind = kind;
	h->sh_size = size;
	h->sh_generation = generation;
	if (init) {
		r = init(out, arg);
		if (r < 0)
			goto fail_unmap;
	}
	ZIPC_CRASH("store.create.before-ready");
	/* Partner: ld_acquire of sh_state in zipc__hdr_check. */
	st_release(&h->sh_state, ZIPC_SEG_READY);
	if (link(tmp, final) < 0) {
		r = -errno;
		goto fail_unmap;
	}
	ZIPC_CRASH("store.create.linked");
	unlink(tmp);
	return 0;

fail_unmap:
	munmap(out->o_base, (size_t)out->o_size);
fail_unlink:
	unlink(tmp);
	close(fd);
	return r;
}

int
zipc__obj_open(const char *fname, uint32_t kind, uint32_t layout_sig,
	       struct zipc_obj *out)
{
	char path[4096];
	int r = zipc__path(path, sizeof(path), fname);
	if (r < 0)
		return r;
	int fd = open(path, O_RDWR | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ELOOP ? -EBADMSG : -errno;
	r = map_fd(fd, 0, out);
	if (r < 0) {
		close(fd);
		return r;
	}
	r = zipc__hdr_check(out->o_base, out->o_size, kind, layout_sig);
	if (r < 0) {
		zipc__obj_close(out);
		return r;
	}
	return 0;
}

void
zipc__obj_close(struct zipc_obj *o)
{
	if (o->o_base)
		munmap(o->o_base, (size_t)o->o_size);
	if (o->o_fd >= 0)
		close(o->o_fd);
	o->o_base = NULL;
	o->o_fd = -1;
}

void
zipc__obj_remove(struct zipc_obj *o, const char *fname)
{
	char path[4096];
	/* Partner: ld_acquire of sh_state in zipc__hdr_check and users. */
	st_release(&zipc__obj_hdr(o)->sh_state, ZIPC_SEG_REMOVED);
	ZIPC_CRASH("store.remove.marked");
	if (zipc__path(path, sizeof(path), fname) == 0)
		unlink(path);
}

void
zipc__store_sweep_tmp(void)
{
	DIR *d = opendir(zipc__dir());
	if (!d)
		return;
	struct dirent *e;
	while ((e = readdir(d))) {
		unsigned pid;
		unsigned long long start;
		if (strncmp(e->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
			continue;
		if (sscanf(e->d_name + strlen(TMP_PREFIX), "%u.%llu", &pid,
			   &start) != 2)
			continue;
		if (zipc__proc_alive(pid, start))
			continue;
		unlinkat(dirfd(d), e->d_name, 0);
	}
	closedir(d);
}
