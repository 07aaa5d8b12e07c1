/* SPDX-License-Identifier: MIT */
/*
 * zipc's own transports, each through the face a program would use, built
 * like the kernel rows they sit beside so that a ratio compares like with
 * like:
 *   zipc-msg        XSI face (zipc_msgget/msgsnd/msgrcv), one queue,
 *                   mtype = direction: as xsi-msg
 *   zipc-msg-poll   XSI face, one queue per direction, the receiver
 *                   polling msgrcv(IPC_NOWAIT) instead of sleeping
 *   zipc-mq         POSIX face (zipc_mq_open/send/receive), one queue per
 *                   direction, names unlinked at once: as posix-mq
 *   zipc-mq-poll    the same queues, the receiver polling with the native
 *                   zipc_queue_receive(timeout 0) instead of sleeping
 *   zipc-xsisem     shm ring, free/full counts in a zipc XSI semaphore set:
 *                   as shm-xsisem
 *   zipc-posixsem   shm ring, zipc_sem_t (pshared) free/full: as
 *                   shm-posixsem
 * zipc objects are files in $ZIPC_DIR; the XSI ones are tracked as files
 * too, so a SIGINT in the middle of a run leaves nothing behind (zipc's
 * msgget/semget sweep the registry slot of a file that vanished).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench.h"
#include "zipc.h"
#include "zipc_compat.h"

/* semctl(2): the caller defines it. */
union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
};

/* Track XSI object @id's file ("zipc.<kind>.<id>") for signal cleanup. */
static int
track_file(const char *kind, int id)
{
	const char *dir = getenv("ZIPC_DIR");
	char path[512];

	if (!dir || !*dir)
		dir = "/dev/shm";
	snprintf(path, sizeof(path), "%s/zipc.%s.%d", dir, kind, id);
	return bench_obj_track(BENCH_OBJ_FILE, 0, path);
}

/* ---- XSI message queue ---- */

/* One queue both ways (mtype = direction, as xsi-msg), or one queue per
 * direction (the polling row: each queue then has one sender and one
 * receiver, as a poller's queues would). Side s sends on id[s] and
 * receives from id[1 - s]. */
struct zmsq_link {
	int id[2];
	int handle[2];
	int side;
	struct {
		long mtype;
		char mtext[];
	} *msg;
};

static void
zmsq_destroy(void *link)
{
	struct zmsq_link *l = link;

	for (int k = 0; k < 2; k++) {
		if (l->id[k] >= 0 && (k == 0 || l->id[1] != l->id[0]))
			zipc_msgctl(l->id[k], IPC_RMID, NULL);
		if (l->handle[k] >= 0)
			bench_obj_remove(l->handle[k]); /* gone: ENOENT */
	}
	free(l->msg);
	free(l);
}

static int
zmsq_make(size_t msg_size, int queues, void **linkp)
{
	struct zmsq_link *l;
	int e;

	if ((long)msg_size > bench_proc_long("/proc/sys/kernel/msgmax", 8192))
		return -EMSGSIZE;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->id[0] = l->id[1] = l->handle[0] = l->handle[1] = -1;
	l->msg = malloc(sizeof(*l->msg) + msg_size);
	for (int k = 0; k < queues; k++) {
		l->id[k] = zipc_msgget(IPC_PRIVATE, IPC_CREAT | 0600);
		if (!l->msg || l->id[k] < 0) {
			e = l->msg ? -errno : -ENOMEM;
			zmsq_destroy(l);
			return e;
		}
		l->handle[k] = track_file("msg", l->id[k]);
	}
	if (queues == 1)
		l->id[1] = l->id[0];
	*linkp = l;
	return 0;
}

static int
zmsq_open(size_t msg_size, void **linkp)
{
	return zmsq_make(msg_size, 1, linkp);
}

static int
zmsq_open_pair(size_t msg_size, void **linkp)
{
	return zmsq_make(msg_size, 2, linkp);
}

static int
zmsq_attach(void *link, int side)
{
	((struct zmsq_link *)link)->side = side;
	return 0;
}

static int
zmsq_send(void *link, const void *buf, size_t len)
{
	struct zmsq_link *l = link;

	l->msg->mtype = 1 + l->side;
	memcpy(l->msg->mtext, buf, len);
	return zipc_msgsnd(l->id[l->side], l->msg, len, 0) < 0 ? -errno : 0;
}

static int
zmsq_recv(void *link, void *buf, size_t len)
{
	struct zmsq_link *l = link;
	ssize_t n = zipc_msgrcv(l->id[1 - l->side], l->msg, len,
				1 + (1 - l->side), 0);

	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EPROTO;
	memcpy(buf, l->msg->mtext, len);
	return 0;
}

/* Never sleeps: msgrcv(IPC_NOWAIT) in a loop. */
static int
zmsq_recv_poll(void *link, void *buf, size_t len)
{
	struct zmsq_link *l = link;

	for (;;) {
		ssize_t n = zipc_msgrcv(l->id[1 - l->side], l->msg, len,
					1 + (1 - l->side), IPC_NOWAIT);
		if (n >= 0) {
			if ((size_t)n != len)
				return -EPROTO;
			memcpy(buf, l->msg->mtext, len);
			return 0;
		}
		if (errno != ENOMSG)
			return -errno;
		if (bench_expired)
			return -EINTR;
		bench_cpu_relax();
	}
}

/* ---- POSIX message queues, blocking and polling ---- */

struct zmq_link {
	mqd_t q[2];
	zipc_queue *nq[2];	/* native handles for the polling receiver */
	int side;
};

static void
zmq_destroy(void *link)
{
	struct zmq_link *l = link;
	int d;

	for (d = 0; d < 2; d++) {
		if (l->nq[d])
			zipc_queue_close(l->nq[d]);
		if (l->q[d] != (mqd_t)-1)
			zipc_mq_close(l->q[d]);
	}
	free(l);
}

static int
zmq_open_link(size_t msg_size, void **linkp)
{
	static unsigned int seq;
	long size_max, msg_max;
	struct mq_attr attr;
	struct zmq_link *l;
	char name[64];
	int d, r = 0;

	/* The kernel row's limits, so both queues hold as many messages. */
	size_max = bench_proc_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
	msg_max = bench_proc_long("/proc/sys/fs/mqueue/msg_max", 10);
	if ((long)msg_size > size_max)
		return -EMSGSIZE;
	memset(&attr, 0, sizeof(attr));
	attr.mq_maxmsg = msg_max < BENCH_RING_SLOTS ? msg_max
						    : BENCH_RING_SLOTS;
	attr.mq_msgsize = (long)msg_size;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->q[0] = l->q[1] = (mqd_t)-1;
	for (d = 0; d < 2 && !r; d++) {
		snprintf(name, sizeof(name), "/zipc-bench.%d.%u.%d",
			 (int)getpid(), seq++, d);
		l->q[d] = zipc_mq_open(name, O_RDWR | O_CREAT | O_EXCL, 0600,
				       &attr);
		if (l->q[d] == (mqd_t)-1) {
			r = -errno;
			break;
		}
		/* Open handles keep the queue; nothing needs the name. */
		r = zipc_queue_from_mqd((int)l->q[d], &l->nq[d]);
		zipc_mq_unlink(name);
	}
	if (r) {
		zmq_destroy(l);
		return r;
	}
	*linkp = l;
	return 0;
}

static int
zmq_attach(void *link, int side)
{
	((struct zmq_link *)link)->side = side;
	return 0;
}

static int
zmq_send(void *link, const void *buf, size_t len)
{
	struct zmq_link *l = link;

	return zipc_mq_send(l->q[l->side], buf, len, 0) < 0 ? -errno : 0;
}

static int
zmq_recv(void *link, void *buf, size_t len)
{
	struct zmq_link *l = link;
	ssize_t n = zipc_mq_receive(l->q[1 - l->side], buf, len, NULL);

	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPROTO;
}

/* Never sleeps: what a receiver that owns a core would do. */
static int
zmq_recv_poll(void *link, void *buf, size_t len)
{
	struct zmq_link *l = link;
	ssize_t n;

	for (;;) {
		n = zipc_queue_receive(l->nq[1 - l->side], buf, len, NULL, 0);
		if (n >= 0)
			return (size_t)n == len ? 0 : -EPROTO;
		if (n != -EAGAIN)
			return (int)n;
		if (bench_expired)
			return -EINTR;
		bench_cpu_relax();
	}
}

/* ---- shm rings handed over by zipc semaphores ---- */

enum { SEM_FREE, SEM_FULL };
#define SEM_INDEX(d, which)	((d) * 2 + (which))

struct zsem_link {
	unsigned char *map;	/* [zipc sem_t x 4][slots dir 0][slots dir 1] */
	size_t map_len, size, slot_off;
	int semid;		/* XSI set, or -1 for the POSIX variant */
	int handle;
	int side;
	uint32_t head, tail;	/* private: one side moves each */
};

static sem_t *
zsem(struct zsem_link *l, int idx)
{
	return (sem_t *)(void *)l->map + idx;
}

static unsigned char *
zslot(struct zsem_link *l, int d, uint32_t i)
{
	return l->map + l->slot_off +
	       ((size_t)d * BENCH_RING_SLOTS + i % BENCH_RING_SLOTS) * l->size;
}

static void
zsem_destroy(void *link)
{
	struct zsem_link *l = link;
	int i;

	if (l->semid >= 0) {
		zipc_semctl(l->semid, 0, IPC_RMID);
		if (l->handle >= 0)
			bench_obj_remove(l->handle);
	} else if (l->map) {
		for (i = 0; i < 4; i++)
			zipc_sem_destroy(zsem(l, i));
	}
	bench_shm_unmap(l->map, l->map_len);
	free(l);
}

static int
zsem_open(size_t msg_size, void **linkp, int xsi)
{
	unsigned short init[4];
	union semun arg = { .array = init };
	struct zsem_link *l = calloc(1, sizeof(*l));
	int d, e = 0;

	if (!l)
		return -ENOMEM;
	l->semid = -1;
	l->handle = -1;
	l->size = msg_size;
	l->slot_off = (4 * sizeof(sem_t) + 63) & ~(size_t)63;
	l->map_len = l->slot_off + 2 * BENCH_RING_SLOTS * msg_size;
	l->map = bench_shm_map(l->map_len);
	if (!l->map) {
		free(l);
		return -ENOMEM;
	}
	for (d = 0; d < 2; d++) {
		init[SEM_INDEX(d, SEM_FREE)] = BENCH_RING_SLOTS;
		init[SEM_INDEX(d, SEM_FULL)] = 0;
	}
	if (xsi) {
		l->semid = zipc_semget(IPC_PRIVATE, 4, IPC_CREAT | 0600);
		if (l->semid < 0)
			e = -errno;
		else {
			l->handle = track_file("sem", l->semid);
			if (zipc_semctl(l->semid, 0, SETALL, arg) < 0)
				e = -errno;
		}
	} else {
		for (d = 0; d < 4 && !e; d++)
			if (zipc_sem_init(zsem(l, d), 1, init[d]) < 0)
				e = -errno;
	}
	if (e) {
		zsem_destroy(l);
		return e;
	}
	*linkp = l;
	return 0;
}

static int
zsem_open_xsi(size_t msg_size, void **linkp)
{
	return zsem_open(msg_size, linkp, 1);
}

static int
zsem_open_posix(size_t msg_size, void **linkp)
{
	return zsem_open(msg_size, linkp, 0);
}

static int
zsem_attach(void *link, int side)
{
	((struct zsem_link *)link)->side = side;
	return 0;
}

static int
zsem_p(struct zsem_link *l, int idx)
{
	struct sembuf sb = { .sem_num = (unsigned short)idx, .sem_op = -1 };

	if (l->semid >= 0)
		return zipc_semop(l->semid, &sb, 1) < 0 ? -errno : 0;
	return zipc_sem_wait(zsem(l, idx)) < 0 ? -errno : 0;
}

static int
zsem_v(struct zsem_link *l, int idx)
{
	struct sembuf sb = { .sem_num = (unsigned short)idx, .sem_op = 1 };

	if (l->semid >= 0)
		return zipc_semop(l->semid, &sb, 1) < 0 ? -errno : 0;
	return zipc_sem_post(zsem(l, idx)) < 0 ? -errno : 0;
}

static int
zsem_send(void *link, const void *buf, size_t len)
{
	struct zsem_link *l = link;
	int d = l->side, r = zsem_p(l, SEM_INDEX(d, SEM_FREE));

	if (r)
		return r;
	memcpy(zslot(l, d, l->head++), buf, len);
	return zsem_v(l, SEM_INDEX(d, SEM_FULL));
}

static int
zsem_recv(void *link, void *buf, size_t len)
{
	struct zsem_link *l = link;
	int d = 1 - l->side, r = zsem_p(l, SEM_INDEX(d, SEM_FULL));

	if (r)
		return r;
	memcpy(buf, zslot(l, d, l->tail++), len);
	return zsem_v(l, SEM_INDEX(d, SEM_FREE));
}

static const struct bench_xport xport_zipc_msg = {
	.name = "zipc-msg",
	.twin = "xsi-msg",
	.desc = "zipc XSI message queue (zipc_msgsnd/msgrcv), mtype = "
		"direction",
	.group = BENCH_GROUP_ZIPC,
	.open = zmsq_open, .attach = zmsq_attach,
	.send = zmsq_send, .recv = zmsq_recv, .destroy = zmsq_destroy,
};

static const struct bench_xport xport_zipc_msg_poll = {
	.name = "zipc-msg-poll",
	.twin = "xsi-msg",
	.desc = "zipc XSI message queues, one per direction, receiver polls "
		"msgrcv(IPC_NOWAIT)",
	.group = BENCH_GROUP_ZIPC,
	.open = zmsq_open_pair, .attach = zmsq_attach,
	.send = zmsq_send, .recv = zmsq_recv_poll, .destroy = zmsq_destroy,
};

static const struct bench_xport xport_zipc_mq = {
	.name = "zipc-mq",
	.twin = "posix-mq",
	.desc = "zipc POSIX message queue (zipc_mq_send/receive), one per "
		"direction",
	.group = BENCH_GROUP_ZIPC,
	.open = zmq_open_link, .attach = zmq_attach,
	.send = zmq_send, .recv = zmq_recv, .destroy = zmq_destroy,
};

static const struct bench_xport xport_zipc_mq_poll = {
	.name = "zipc-mq-poll",
	.twin = "posix-mq",
	.desc = "zipc POSIX queues, receiver polls zipc_queue_receive "
		"(timeout 0)",
	.group = BENCH_GROUP_ZIPC,
	.open = zmq_open_link, .attach = zmq_attach,
	.send = zmq_send, .recv = zmq_recv_poll, .destroy = zmq_destroy,
};

static const struct bench_xport xport_zipc_xsisem = {
	.name = "zipc-xsisem",
	.twin = "shm-xsisem",
	.desc = "shared ring, zipc XSI semaphore set free/full per direction",
	.group = BENCH_GROUP_ZIPC,
	.open = zsem_open_xsi, .attach = zsem_attach,
	.send = zsem_send, .recv = zsem_recv, .destroy = zsem_destroy,
};

static const struct bench_xport xport_zipc_posixsem = {
	.name = "zipc-posixsem",
	.twin = "shm-posixsem",
	.desc = "shared ring, zipc sem_t (pshared) free/full per direction",
	.group = BENCH_GROUP_ZIPC,
	.open = zsem_open_posix, .attach = zsem_attach,
	.send = zsem_send, .recv = zsem_recv, .destroy = zsem_destroy,
};

const struct bench_xport *const bench_xports_zipc[] = {
	&xport_zipc_msg, &xport_zipc_msg_poll, &xport_zipc_mq,
	&xport_zipc_mq_poll,
	&xport_zipc_xsisem, &xport_zipc_posixsem, NULL,
};
