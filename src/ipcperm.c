/* SPDX-License-Identifier: MIT */
/* ipc_perm checks, as the kernel's ipc/util.c makes them. */
#include <errno.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "ipcperm.h"
#include "registry.h"

void
zipc__ipc_perm_init(struct zipc_ipc_perm *p, int32_t key, int id, int mode)
{
	p->ip_key = key;
	p->ip_uid = p->ip_cuid = (uint32_t)geteuid();
	p->ip_gid = p->ip_cgid = (uint32_t)getegid();
	p->ip_mode = (uint32_t)mode & 0777;
	p->ip_seq = (uint32_t)id / ZIPC_XSI_SLOTS;
	p->ip_resv = 0;
}

static int
in_group(gid_t g)
{
	if (getegid() == g)
		return 1;
	gid_t groups[256];
	int n = getgroups((int)ZIPC_ARRAY_SIZE(groups), groups);
	for (int i = 0; i < n; i++)
		if (groups[i] == g)
			return 1;
	return 0;
}

int
zipc__ipcperms(const struct zipc_ipc_perm *p, int flag)
{
	int requested = (flag >> 6) | (flag >> 3) | flag;
	uint32_t granted = ld_relaxed(&p->ip_mode);
	/* Granted to every class: the answer is yes whoever asks, so skip
	 * the credential system calls (exact, and the common 0666 case). */
	if (!(requested & ~(int)((granted >> 6) & (granted >> 3) & granted) &
	      0007))
		return 0;
	uid_t euid = geteuid();
	if (euid == ld_relaxed(&p->ip_cuid) || euid == ld_relaxed(&p->ip_uid))
		granted >>= 6;
	else if (in_group(ld_relaxed(&p->ip_cgid)) ||
		 in_group(ld_relaxed(&p->ip_gid)))
		granted >>= 3;
	if ((requested & ~(int)granted & 0007) && euid != 0)
		return -EACCES;
	return 0;
}

int
zipc__ipc_owner_check(const struct zipc_ipc_perm *p)
{
	uid_t euid = geteuid();
	if (euid == 0 || euid == ld_relaxed(&p->ip_uid) ||
	    euid == ld_relaxed(&p->ip_cuid))
		return 0;
	return -EPERM;
}

void
zipc__ipc_perm_set(struct zipc_ipc_perm *p, const struct ipc_perm *in)
{
	st_relaxed(&p->ip_uid, (uint32_t)in->uid);
	st_relaxed(&p->ip_gid, (uint32_t)in->gid);
	st_relaxed(&p->ip_mode,
		   (ld_relaxed(&p->ip_mode) & ~0777u) | (in->mode & 0777u));
}

void
zipc__ipc_perm_out(const struct zipc_ipc_perm *p, struct ipc_perm *out)
{
	memset(out, 0, sizeof(*out));
	out->__key = ld_relaxed(&p->ip_key);
	out->uid = ld_relaxed(&p->ip_uid);
	out->gid = ld_relaxed(&p->ip_gid);
	out->cuid = ld_relaxed(&p->ip_cuid);
	out->cgid = ld_relaxed(&p->ip_cgid);
	out->mode = (unsigned short)ld_relaxed(&p->ip_mode);
	out->__seq = (unsigned short)ld_relaxed(&p->ip_seq);
}

mode_t
zipc__ipc_file_mode(uint32_t mode)
{
	mode_t m = 0;
	if (mode & 0600)
		m |= 0600;
	if (mode & 0060)
		m |= 0060;
	if (mode & 0006)
		m |= 0006;
	return m;
}

void
zipc__ipc_file_sync(int fd, const struct zipc_ipc_perm *p)
{
	if (fchown(fd, ld_relaxed(&p->ip_uid), ld_relaxed(&p->ip_gid)) < 0) {
		/* Only root may give a file away; the ipc_perm still rules. */
	}
	if (fchmod(fd, zipc__ipc_file_mode(ld_relaxed(&p->ip_mode))) < 0) {
		/* The file mode is a second fence; ipc_perm is the first. */
	}
}
