/* SPDX-License-Identifier: MIT */
/*
 * Hostile segments: whatever bytes another process wrote into an object
 * file, a well-behaved process gets a clear error -- never a crash, and
 * never a hang. The first input byte picks what the rest becomes:
 *   0: the raw bytes of shared memory segment file "zipc.shm.5"
 *   1: a valid shm header followed by hostile control data
 *   2: a valid registry header followed by a hostile registry body
 *   3: the raw bytes of the registry file
 * then shmget/shmat/shmdt/shmctl run against it.
 */
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "layout.h"
#include "registry.h"
#include "shm.h"
#include "store.h"
#include "zipc_compat.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *dir; /* the private store, emptied for each input */

static void
write_file(const char *fname, const void *buf, size_t len)
{
	char path[256];
	snprintf(path, sizeof(path), "%s/%s", dir, fname);
	int fd = open(path, O_CREAT | O_TRUNC | O_WRONLY, 0600);
	if (fd < 0)
		abort();
	if (len && write(fd, buf, len) != (ssize_t)len)
		abort();
	close(fd);
}

/* Fill @len bytes of @out by repeating @data (zeros if empty). */
static void
spread(uint8_t *out, size_t len, const uint8_t *data, size_t size)
{
	for (size_t i = 0; i < len; i++)
		out[i] = size ? data[i % size] : 0;
}

static void
valid_header(void *buf, uint32_t kind, uint32_t sig, uint64_t size,
	     uint32_t hdr_size)
{
	struct zipc_seg_hdr h = {
		.sh_magic = ZIPC_SEG_MAGIC,
		.sh_abi_major = ZIPC_ABI_MAJOR,
		.sh_layout_sig = sig,
		.sh_hdr_size = hdr_size,
		.sh_state = ZIPC_SEG_READY,
		.sh_kind = kind,
		.sh_size = size,
		.sh_generation = 5,
	};
	memcpy(buf, &h, sizeof(h));
}

static void
exercise(void)
{
	struct shmid_ds ds;
	struct shm_info si;
	void *p = zipc_shmat(5, NULL, 0);
	if (p != (void *)-1) {
		/* Reading and writing what we were given must not fault. */
		((volatile char *)p)[0] = ((volatile char *)p)[0];
		zipc_shmdt(p);
	}
	zipc_shmctl(5, IPC_STAT, &ds);
	zipc_shmctl(0, SHM_INFO, (struct shmid_ds *)&si);
	zipc_shmctl(5, SHM_STAT, &ds);
	int id = zipc_shmget(0x1234, 100, IPC_CREAT | 0600);
	if (id >= 0)
		zipc_shmctl(id, IPC_RMID, NULL);
	zipc_shmctl(5, IPC_RMID, NULL);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dir = fuzz_store("segment");
	if (size < 1)
		return 0;
	uint8_t mode = data[0] % 4;
	data++;
	size--;
	zipc__registry_reset();
	fuzz_rmtree(dir);
	if (mkdir(dir, 0700) < 0)
		abort();

	if (mode == 0) {
		write_file("zipc.shm.5", data, size);
	} else if (mode == 1) {
		size_t len = ZIPC_SHM_DATA_OFF + 4096;
		uint8_t *buf = malloc(len);
		spread(buf, len, data, size);
		valid_header(buf, ZIPC_KIND_XSI_SHM, ZIPC_SHM_SIG, len,
			     ZIPC_SHM_DATA_OFF);
		write_file("zipc.shm.5", buf, len);
		free(buf);
	} else {
		size_t len = sizeof(struct zipc_seg_hdr) +
			     sizeof(struct zipc_registry);
		uint8_t *buf = calloc(1, len);
		if (mode == 2) {
			/* Hostile tables and the first slots; the rest 0. */
			size_t body = 64 + 128 + 16 * 64;
			spread(buf + 64, body, data, size);
			valid_header(buf, ZIPC_KIND_REGISTRY,
				     ZIPC_REGISTRY_SIG, len, 64);
			write_file("zipc.registry", buf, len);
		} else {
			write_file("zipc.registry", data, size);
		}
		free(buf);
	}
	exercise();
	return 0;
}
