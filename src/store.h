/* SPDX-License-Identifier: MIT */
/*
 * The object store: every zipc object is one file in one directory
 * ($ZIPC_DIR, default /dev/shm), mapped MAP_SHARED, with a checked header
 * at offset 0 (layout.h). Objects are built under a temporary name and
 * linked into place only when complete, so nobody sees half an object.
 */
#ifndef ZIPC_STORE_H
#define ZIPC_STORE_H

#include <stdint.h>
#include <sys/types.h>

#include "layout.h"

/* A mapped object in this process. */
struct zipc_obj {
	void *o_base;	 /* whole file, MAP_SHARED */
	uint64_t o_size; /* bytes mapped == sh_size */
	int o_fd;	 /* O_CLOEXEC; kept for fchmod/fchown and sub-maps */
	dev_t o_dev;
	ino_t o_ino;
};

static inline struct zipc_seg_hdr *
zipc__obj_hdr(const struct zipc_obj *o)
{
	return (struct zipc_seg_hdr *)o->o_base;
}

/* The store directory: $ZIPC_DIR if set and non-empty, else /dev/shm. */
const char *zipc__dir(void);
/* dir + "/" + @fname into @buf; -ENAMETOOLONG if it does not fit. */
int zipc__path(char *buf, size_t len, const char *fname);

/*
 * Check a header against the file it came from. 0 if usable; -EBADMSG for
 * bad magic, a wrong kind, sizes that disagree with the file (truncated);
 * -EPROTO for another ABI major, another layout signature or non-zero
 * reserved words; -EAGAIN if not yet READY; -EIDRM if REMOVED.
 */
int zipc__hdr_check(const void *base, uint64_t file_size, uint32_t kind,
		    uint32_t layout_sig);

/* Initialises the body of a new object; returns 0 or -errno. */
typedef int (*zipc_obj_init_fn)(struct zipc_obj *o, void *arg);

/*
 * Create object @fname of @size bytes (all reserved now: no SIGBUS later)
 * with file mode @mode (exact: umask is the caller's business), run @init,
 * mark it READY and publish it. -EEXIST if @fname exists; -ENOSPC/-ENOMEM
 * if the store is full; @out is mapped on success.
 */
int zipc__obj_create(const char *fname, uint32_t kind, uint32_t layout_sig,
		     uint64_t size, uint32_t hdr_size, uint64_t generation,
		     mode_t mode, zipc_obj_init_fn init, void *arg,
		     struct zipc_obj *out);

/* Open and check object @fname: -ENOENT, -EACCES, or a zipc__hdr_check error. */
int zipc__obj_open(const char *fname, uint32_t kind, uint32_t layout_sig,
		   struct zipc_obj *out);

void zipc__obj_close(struct zipc_obj *o);

/* Mark @o REMOVED (so mappers notice) and unlink @fname. */
void zipc__obj_remove(struct zipc_obj *o, const char *fname);

/* Remove temporary files left by creators that died before publishing. */
void zipc__store_sweep_tmp(void);

#endif
