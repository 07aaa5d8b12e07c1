/* SPDX-License-Identifier: MIT */
/*
 * Shared-memory rings handed over by semaphores: the classic "shm + sem"
 * pattern. Each direction is a ring of BENCH_RING_SLOTS slots guarded by
 * two counting semaphores, free (starts full) and full (starts empty):
 * send is P(free), copy in, V(full); receive is P(full), copy out, V(free).
 * The ring indices are private to each process, because only one side
 * ever moves each of them; the semaphores order the slot contents.
 */
#include <errno.h>
#include <semaphore.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>

#include "bench.h"

enum { SEM_FREE, SEM_FULL };

/* semctl(2): the caller defines it. */
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* The semaphore @which of direction @d; the XSI set is numbered alike. */
#define SEM_INDEX(d, which)	((d) * 2 + (which))

struct sem_link;

struct sem_ops {
	int (*p)(struct sem_link *l, int idx);
	int (*v)(struct sem_link *l, int idx);
};

struct sem_link {
	const struct sem_ops *ops;
	unsigned char *map;	/* [sem_t x 4][slots dir 0][slots dir 1] */
	size_t map_len;
	size_t size;		/* message size */
	size_t slot_off;	/* where the slots start in map */
	int semid;		/* XSI set, or -1 */
	int posix;		/* the four sem_t at the start of map */
	int handle;
	int side;
	uint32_t head;		/* next slot this side sends into */
	uint32_t tail;		/* next slot this side receives from */
};

static unsigned char *
slot(struct sem_link *l, int d, uint32_t i)
{
	return l->map + l->slot_off +
	       ((size_t)d * BENCH_RING_SLOTS + i % BENCH_RING_SLOTS) * l->size;
}

static sem_t *
posix_sem(struct sem_link *l, int idx)
{
	return (sem_t *)(void *)l->map + idx;
}

static struct sem_link *
sem_link_new(const struct sem_ops *ops, size_t msg_size)
{
	struct sem_link *l = calloc(1, sizeof(*l));

	if (!l)
		return NULL;
	l->ops = ops;
	l->size = msg_size;
	l->semid = -1;
	l->handle = -1;
	/* Slots on their own cache lines, away from the sem_t words. */
	l->slot_off = (4 * sizeof(sem_t) + 63) & ~(size_t)63;
	l->map_len = l->slot_off + 2 * BENCH_RING_SLOTS * msg_size;
	l->map = bench_shm_map(l->map_len);
	if (!l->map) {
		free(l);
		return NULL;
	}
	return l;
}

static void
sem_link_destroy(void *link)
{
	struct sem_link *l = link;
	int i;

	if (l->posix) {
		for (i = 0; i < 4; i++)
			sem_destroy(posix_sem(l, i));
	} else if (l->handle >= 0) {
		bench_obj_remove(l->handle);
	}
	bench_shm_unmap(l->map, l->map_len);
	free(l);
}

static int
sem_link_attach(void *link, int side)
{
	struct sem_link *l = link;

	l->side = side;
	return 0;
}

static int
sem_link_send(void *link, const void *buf, size_t len)
{
	struct sem_link *l = link;
	int d = l->side, r;

	r = l->ops->p(l, SEM_INDEX(d, SEM_FREE));
	if (r)
		return r;
	memcpy(slot(l, d, l->head++), buf, len);
	return l->ops->v(l, SEM_INDEX(d, SEM_FULL));
}

static int
sem_link_recv(void *link, void *buf, size_t len)
{
	struct sem_link *l = link;
	int d = 1 - l->side, r;

	r = l->ops->p(l, SEM_INDEX(d, SEM_FULL));
	if (r)
		return r;
	memcpy(buf, slot(l, d, l->tail++), len);
	return l->ops->v(l, SEM_INDEX(d, SEM_FREE));
}

/* ---- XSI semaphore set ---- */

static int
xsi_op(struct sem_link *l, int idx, short op)
{
	struct sembuf sb = {
		.sem_num = (unsigned short)idx, .sem_op = op, .sem_flg = 0,
	};

	return semop(l->semid, &sb, 1) < 0 ? -errno : 0;
}

static int
xsi_p(struct sem_link *l, int idx)
{
	return xsi_op(l, idx, -1);
}

static int
xsi_v(struct sem_link *l, int idx)
{
	return xsi_op(l, idx, 1);
}

static const struct sem_ops xsi_ops = { xsi_p, xsi_v };

static int
xsi_open(size_t msg_size, void **linkp)
{
	unsigned short init[4];
	union semun arg = { .array = init };
	struct sem_link *l;
	int d, e;

	l = sem_link_new(&xsi_ops, msg_size);
	if (!l)
		return -ENOMEM;
	l->semid = semget(IPC_PRIVATE, 4, IPC_CREAT | 0600);
	if (l->semid < 0) {
		e = -errno;
		goto fail;
	}
	l->handle = bench_obj_track(BENCH_OBJ_SEM, l->semid, NULL);
	if (l->handle < 0) {
		e = l->handle;
		semctl(l->semid, 0, IPC_RMID);
		goto fail;
	}
	for (d = 0; d < 2; d++) {
		init[SEM_INDEX(d, SEM_FREE)] = BENCH_RING_SLOTS;
		init[SEM_INDEX(d, SEM_FULL)] = 0;
	}
	if (semctl(l->semid, 0, SETALL, arg) < 0) {
		e = -errno;
		goto fail;
	}
	*linkp = l;
	return 0;
fail:
	sem_link_destroy(l);
	return e;
}

/* ---- glibc POSIX unnamed semaphores, pshared ---- */

/* sem_wait is never restarted after a handler, so the watchdog ends it. */
static int
posix_p(struct sem_link *l, int idx)
{
	return sem_wait(posix_sem(l, idx)) < 0 ? -errno : 0;
}

static int
posix_v(struct sem_link *l, int idx)
{
	return sem_post(posix_sem(l, idx)) < 0 ? -errno : 0;
}

static const struct sem_ops posix_ops = { posix_p, posix_v };

static int
posix_open(size_t msg_size, void **linkp)
{
	struct sem_link *l;
	int d, e;

	l = sem_link_new(&posix_ops, msg_size);
	if (!l)
		return -ENOMEM;
	l->posix = 1;
	for (d = 0; d < 2; d++) {
		if (sem_init(posix_sem(l, SEM_INDEX(d, SEM_FREE)), 1,
			     BENCH_RING_SLOTS) < 0 ||
		    sem_init(posix_sem(l, SEM_INDEX(d, SEM_FULL)), 1, 0) < 0) {
			e = -errno;
			sem_link_destroy(l);
			return e;
		}
	}
	*linkp = l;
	return 0;
}

static const struct bench_xport xport_shm_xsisem = {
	.name = "shm-xsisem",
	.desc = "shared ring, XSI semop free/full counts per direction",
	.group = BENCH_GROUP_KERNEL,
	.open = xsi_open,
	.attach = sem_link_attach,
	.send = sem_link_send,
	.recv = sem_link_recv,
	.destroy = sem_link_destroy,
};

static const struct bench_xport xport_shm_posixsem = {
	.name = "shm-posixsem",
	.desc = "shared ring, glibc sem_t (pshared) free/full per direction",
	.group = BENCH_GROUP_USER,
	.open = posix_open,
	.attach = sem_link_attach,
	.send = sem_link_send,
	.recv = sem_link_recv,
	.destroy = sem_link_destroy,
};

const struct bench_xport *const bench_xports_sem[] = {
	&xport_shm_xsisem, &xport_shm_posixsem, NULL,
};
