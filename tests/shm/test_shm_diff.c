/* SPDX-License-Identifier: MIT */
/*
 * Differential test: one random sequence of shmget/shmat/shmdt/shmctl
 * calls run against the kernel and against zipc, step by step; every
 * result, errno, shmid_ds field and data byte must agree. Ids differ
 * between the two, so the test keeps pairs (kernel id, zipc id).
 * Usage: test_shm_diff [OPS]   (ZIPC_TEST_SEED replays a sequence)
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <unistd.h>

#include "diffutil.h"
#include "testutil.h"
#include "zipc_compat.h"

#define NKEYS 4
#define NHANDLES 32
#define NATTS 64

struct handle {
	int kid, zid; /* -1: empty */
};
struct att {
	char *kaddr, *zaddr;
	size_t size;
	int rdonly;
};

static struct handle handles[NHANDLES];
static struct att atts[NATTS];
static int32_t keys[NKEYS];
static long step;
static const char *op_name;

static void
cleanup(void)
{
	for (int i = 0; i < NATTS; i++) {
		if (atts[i].kaddr) {
			shmdt(atts[i].kaddr);
			zipc_shmdt(atts[i].zaddr);
			atts[i].kaddr = NULL;
		}
	}
	for (int i = 0; i < NHANDLES; i++) {
		if (handles[i].kid >= 0) {
			shmctl(handles[i].kid, IPC_RMID, NULL);
			zipc_shmctl(handles[i].zid, IPC_RMID, NULL);
			handles[i].kid = handles[i].zid = -1;
		}
	}
	/* Keyed kernel segments made under our keys, whatever happened. */
	for (int i = 0; i < NKEYS; i++) {
		int id = shmget(keys[i], 0, 0);
		if (id >= 0)
			shmctl(id, IPC_RMID, NULL);
	}
}

static void
same(long kr, int kerr, long zr, int zerr)
{
	if ((kr < 0) != (zr < 0))
		tu_diff_fail("kernel %ld (errno %d), zipc %ld (errno %d)", kr,
			     kerr, zr, zerr);
	if (kr < 0 && kerr != zerr)
		tu_diff_fail("kernel errno %d (%s), zipc errno %d (%s)", kerr,
			     strerror(kerr), zerr, strerror(zerr));
}

static int
find_handle(int kid)
{
	for (int i = 0; i < NHANDLES; i++)
		if (handles[i].kid == kid)
			return i;
	return -1;
}

static void
add_handle(int kid, int zid)
{
	int h = find_handle(kid);
	if (h >= 0) {
		if (handles[h].zid != zid)
			tu_diff_fail("kernel id %d pairs zipc ids %d and %d",
				     kid, handles[h].zid, zid);
		return;
	}
	for (int i = 0; i < NHANDLES; i++) {
		if (handles[i].kid < 0) {
			handles[i].kid = kid;
			handles[i].zid = zid;
			return;
		}
	}
	/* Full: the caller removes this pair so nothing leaks. */
	shmctl(kid, IPC_RMID, NULL);
	zipc_shmctl(zid, IPC_RMID, NULL);
}

/* A handle, sometimes a stale or bogus one. */
static struct handle
pick_handle(void)
{
	struct handle h = {-1, -1};
	int i = (int)tu_rand_below(NHANDLES);
	if (handles[i].kid >= 0 || tu_rand_below(8) == 0)
		h = handles[i];
	if (h.kid < 0 && tu_rand_below(2)) {
		/* An id nobody has: both must say EINVAL. */
		h.kid = h.zid = 32768 * 900 + (int)tu_rand_below(100);
	}
	return h;
}

static uint64_t
pick_size(void)
{
	static const uint64_t sizes[] = {0, 1, 100, 4095, 4096, 4097, 10000,
					 65536};
	if (tu_rand_below(40) == 0)
		return (uint64_t)-1 / 2; /* over shmmax */
	return sizes[tu_rand_below(sizeof(sizes) / sizeof(sizes[0]))];
}

static void
compare_ds(const struct shmid_ds *k, const struct shmid_ds *z)
{
	if (k->shm_segsz != z->shm_segsz)
		tu_diff_fail("shm_segsz %zu vs %zu", k->shm_segsz,
			     z->shm_segsz);
	if (k->shm_perm.mode != z->shm_perm.mode)
		tu_diff_fail("mode %o vs %o", k->shm_perm.mode,
			     z->shm_perm.mode);
	if (k->shm_nattch != z->shm_nattch)
		tu_diff_fail("shm_nattch %lu vs %lu", k->shm_nattch,
			     z->shm_nattch);
	if (k->shm_perm.uid != z->shm_perm.uid ||
	    k->shm_perm.gid != z->shm_perm.gid ||
	    k->shm_perm.cuid != z->shm_perm.cuid ||
	    k->shm_perm.cgid != z->shm_perm.cgid)
		tu_diff_fail("owners differ");
	if (k->shm_perm.__key != z->shm_perm.__key)
		tu_diff_fail("key %x vs %x", k->shm_perm.__key,
			     z->shm_perm.__key);
	if (k->shm_cpid != z->shm_cpid || k->shm_lpid != z->shm_lpid)
		tu_diff_fail("pids cpid %d/%d lpid %d/%d", k->shm_cpid,
			     z->shm_cpid, k->shm_lpid, z->shm_lpid);
	if ((k->shm_atime == 0) != (z->shm_atime == 0) ||
	    (k->shm_dtime == 0) != (z->shm_dtime == 0))
		tu_diff_fail("atime/dtime set on one side only");
}

static void
op_get(void)
{
	op_name = "shmget";
	int32_t key = tu_rand_below(5) == 0 ? IPC_PRIVATE
					    : keys[tu_rand_below(NKEYS)];
	uint64_t size = pick_size();
	static const int modes[] = {0600, 0644, 0400, 0, 0777};
	int flags = modes[tu_rand_below(5)];
	if (tu_rand_below(3))
		flags |= IPC_CREAT;
	if (tu_rand_below(4) == 0)
		flags |= IPC_EXCL;
	errno = 0;
	int k = shmget(key, size, flags);
	int kerr = errno;
	errno = 0;
	int z = zipc_shmget(key, size, flags);
	int zerr = errno;
	same(k, kerr, z, zerr);
	if (k >= 0)
		add_handle(k, z);
}

static void
op_at(void)
{
	op_name = "shmat";
	struct handle h = pick_handle();
	int slot = -1;
	for (int i = 0; i < NATTS; i++)
		if (!atts[i].kaddr) {
			slot = i;
			break;
		}
	if (slot < 0)
		return;
	static const int flagset[] = {0, SHM_RDONLY, SHM_REMAP, SHM_RND};
	int flags = flagset[tu_rand_below(4)];
	const void *addr = NULL;
	if (flags == SHM_RND && tu_rand_below(2)) {
		/* Rounds down to 0: refused with SHM_REMAP. (Without it root
		 * may map page 0 -- not something to do in a test.) */
		flags |= SHM_REMAP;
		addr = (void *)1;
	} else if (flags == SHM_RND && tu_rand_below(2)) {
		addr = (void *)3; /* unaligned without SHM_RND: EINVAL */
		flags = 0;
	}
	errno = 0;
	void *k = shmat(h.kid, addr, flags);
	int kerr = errno;
	errno = 0;
	void *z = zipc_shmat(h.zid, addr, flags);
	int zerr = errno;
	if (getenv("DIFF_TRACE"))
		fprintf(stderr, "shmat(%d/%d, %p, %#x)\n", h.kid, h.zid, addr, flags);
	same(k == (void *)-1 ? -1 : 0, kerr, z == (void *)-1 ? -1 : 0, zerr);
	if (k == (void *)-1)
		return;
	struct shmid_ds ds;
	shmctl(h.kid, IPC_STAT, &ds);
	atts[slot] = (struct att){k, z, ds.shm_segsz, flags == SHM_RDONLY};
}

static void
op_dt(void)
{
	op_name = "shmdt";
	int i = (int)tu_rand_below(NATTS);
	if (!atts[i].kaddr) {
		errno = 0;
		int k = shmdt((void *)0x1000);
		int kerr = errno;
		errno = 0;
		int z = zipc_shmdt((void *)0x1000);
		same(k, kerr, z, errno);
		return;
	}
	errno = 0;
	int k = shmdt(atts[i].kaddr);
	int kerr = errno;
	errno = 0;
	int z = zipc_shmdt(atts[i].zaddr);
	same(k, kerr, z, errno);
	atts[i].kaddr = NULL;
}

static void
op_data(void)
{
	op_name = "data";
	int i = (int)tu_rand_below(NATTS);
	if (!atts[i].kaddr)
		return;
	size_t off = tu_rand_below(atts[i].size);
	if (!atts[i].rdonly) {
		unsigned char v = (unsigned char)tu_rand();
		atts[i].kaddr[off] = (char)v;
		atts[i].zaddr[off] = (char)v;
	}
	if (atts[i].kaddr[off] != atts[i].zaddr[off])
		tu_diff_fail("byte %zu differs", off);
}

/* shmctl(@cmd) without a buffer on both segments of @h. */
static void
ctl_nobuf(struct handle h, int cmd)
{
	errno = 0;
	int k = shmctl(h.kid, cmd, NULL);
	int kerr = errno;
	errno = 0;
	int z = zipc_shmctl(h.zid, cmd, NULL);
	same(k, kerr, z, errno);
}

static void
op_ctl(void)
{
	struct handle h = pick_handle();
	struct shmid_ds kds, zds;
	int k, z, kerr, zerr;
	switch (tu_rand_below(7)) {
	case 0:
	case 1:
		op_name = "IPC_STAT";
		errno = 0;
		k = shmctl(h.kid, IPC_STAT, &kds);
		kerr = errno;
		errno = 0;
		z = zipc_shmctl(h.zid, IPC_STAT, &zds);
		zerr = errno;
		same(k, kerr, z, zerr);
		if (k == 0)
			compare_ds(&kds, &zds);
		return;
	case 2:
		op_name = "IPC_SET";
		if (shmctl(h.kid, IPC_STAT, &kds) < 0 ||
		    zipc_shmctl(h.zid, IPC_STAT, &zds) < 0)
			return;
		kds.shm_perm.mode = zds.shm_perm.mode =
			(unsigned short)tu_rand_below(01000);
		errno = 0;
		k = shmctl(h.kid, IPC_SET, &kds);
		kerr = errno;
		errno = 0;
		z = zipc_shmctl(h.zid, IPC_SET, &zds);
		same(k, kerr, z, errno);
		return;
	case 3:
		op_name = "IPC_RMID";
		ctl_nobuf(h, IPC_RMID);
		return;
	case 4:
		op_name = "SHM_LOCK/UNLOCK";
		ctl_nobuf(h, tu_rand_below(2) ? SHM_LOCK : SHM_UNLOCK);
		return;
	case 5:
		op_name = "bad cmd / NULL buf";
		ctl_nobuf(h, tu_rand_below(2) ? 4242 : IPC_STAT);
		return;
	default:
		op_name = "negative id";
		errno = 0;
		k = shmctl(-1 - (int)tu_rand_below(3), IPC_STAT, &kds);
		kerr = errno;
		errno = 0;
		z = zipc_shmctl(-1 - (int)tu_rand_below(3), IPC_STAT, &zds);
		same(k, kerr, z, errno);
	}
}

/* A handle whose segment is gone on both sides is forgotten. */
static void
forget_dead(void)
{
	for (int i = 0; i < NHANDLES; i++) {
		struct shmid_ds ds;
		if (handles[i].kid < 0 ||
		    shmctl(handles[i].kid, IPC_STAT, &ds) == 0)
			continue;
		if (zipc_shmctl(handles[i].zid, IPC_STAT, &ds) == 0)
			tu_diff_fail("kernel segment %d gone, zipc %d alive",
				     handles[i].kid, handles[i].zid);
		handles[i].kid = handles[i].zid = -1;
	}
}

int
main(int argc, char **argv)
{
	long ops = argc > 1 ? atol(argv[1]) : 12000;
	tu_setup(600);
	tu_seed((uint64_t)getpid() * 2654435761u);
	tu_diff_init(&step, &op_name, cleanup);
	for (int i = 0; i < NHANDLES; i++)
		handles[i].kid = handles[i].zid = -1;
	uint32_t base = 0x5a000000u | ((uint32_t)tu_rand_below(0xfff) << 8);
	for (int i = 0; i < NKEYS; i++)
		keys[i] = (int32_t)(base + (uint32_t)i);
	for (int i = 0; i < NKEYS; i++) {
		if (shmget(keys[i], 0, 0) >= 0) {
			fprintf(stderr, "key %#x in use in the kernel\n",
				keys[i]);
			return 77;
		}
	}
	for (step = 0; step < ops; step++) {
		switch (tu_rand_below(10)) {
		case 0:
		case 1:
			op_get();
			break;
		case 2:
		case 3:
			op_at();
			break;
		case 4:
			op_dt();
			break;
		case 5:
		case 6:
			op_data();
			break;
		default:
			op_ctl();
		}
		if (step % 64 == 0)
			forget_dead();
	}
	cleanup();
	if (tu_count_objects() != 0) {
		fprintf(stderr, "zipc objects left behind\n");
		return 1;
	}
	printf("%ld operations, no divergence\n", ops);
	return 0;
}
