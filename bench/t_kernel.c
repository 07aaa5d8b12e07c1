/* SPDX-License-Identifier: MIT */
/*
 * The kernel's message transports, each used the plain way a program
 * would: pipe, FIFO, UNIX stream socket, XSI message queue, POSIX mq.
 * Every send and every receive is a system call; default kernel buffer
 * sizes and queue limits are kept, because that is what programs get.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mqueue.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bench.h"

/* ---- file descriptors: pipe, FIFO, socketpair ---- */

/*
 * fd[d][0] reads direction d, fd[d][1] writes it. A socketpair is
 * bidirectional, so there fd[0][*] belong to the parent and fd[1][*] to
 * the child, the same descriptor in both slots.
 */
struct fd_link {
	int fd[2][2];
	int side;
	int socket;
};

static struct fd_link *
fd_link_new(void)
{
	struct fd_link *l = malloc(sizeof(*l));

	if (l) {
		memset(l->fd, -1, sizeof(l->fd));
		l->side = BENCH_PARENT;
		l->socket = 0;
	}
	return l;
}

static void
fd_destroy(void *link)
{
	struct fd_link *l = link;
	int d, e;

	for (d = 0; d < 2; d++)
		for (e = 0; e < 2; e++)
			if (l->fd[d][e] >= 0 &&
			    !(l->socket && e == 1))
				close(l->fd[d][e]);
	free(l);
}

/*
 * Close what this side does not use, so that the peer's death shows up
 * as EOF or EPIPE instead of a wait that never ends.
 */
static int
fd_attach(void *link, int side)
{
	struct fd_link *l = link;
	int peer = 1 - side;

	l->side = side;
	if (l->socket) {
		close(l->fd[peer][0]);
		l->fd[peer][0] = l->fd[peer][1] = -1;
		return 0;
	}
	close(l->fd[side][0]);
	close(l->fd[peer][1]);
	l->fd[side][0] = l->fd[peer][1] = -1;
	return 0;
}

static int
fd_send(void *link, const void *buf, size_t len)
{
	struct fd_link *l = link;

	return bench_write_full(l->fd[l->side][1], buf, len);
}

static int
fd_recv(void *link, void *buf, size_t len)
{
	struct fd_link *l = link;

	if (l->socket)
		return bench_read_full(l->fd[l->side][0], buf, len);
	return bench_read_full(l->fd[1 - l->side][0], buf, len);
}

static int
pipe_open(size_t msg_size, void **linkp)
{
	struct fd_link *l;
	int d;

	/* Larger writes are not atomic and could interleave. */
	if (msg_size > PIPE_BUF)
		return -EMSGSIZE;
	l = fd_link_new();
	if (!l)
		return -ENOMEM;
	for (d = 0; d < 2; d++) {
		if (pipe2(l->fd[d], O_CLOEXEC) < 0) {
			int e = -errno;

			fd_destroy(l);
			return e;
		}
		/* pipe2 gives [read, write], the order of fd[d]. */
	}
	*linkp = l;
	return 0;
}

/*
 * A FIFO in a private directory. Both ends are opened here, the read end
 * first with O_NONBLOCK so that nobody waits for a peer, then the names
 * are removed at once: the open descriptors are all the benchmark needs,
 * and nothing is left on disk whatever happens later.
 */
static int
fifo_open_dir(struct fd_link *l, char *dir)
{
	char path[2][PATH_MAX] = { "", "" };
	int handle[2] = { -1, -1 };
	int d, r = 0;

	for (d = 0; d < 2 && !r; d++) {
		snprintf(path[d], sizeof(path[d]), "%s/fifo%d", dir, d);
		if (mkfifo(path[d], 0600) < 0) {
			r = -errno;
			break;
		}
		handle[d] = bench_obj_track(BENCH_OBJ_FILE, 0, path[d]);
		l->fd[d][0] = open(path[d], O_RDONLY | O_NONBLOCK | O_CLOEXEC);
		if (l->fd[d][0] < 0) {
			r = -errno;
			break;
		}
		l->fd[d][1] = open(path[d], O_WRONLY | O_CLOEXEC);
		if (l->fd[d][1] < 0 || fcntl(l->fd[d][0], F_SETFL, 0) < 0)
			r = -errno;
	}
	for (d = 1; d >= 0; d--) {
		if (handle[d] >= 0)
			bench_obj_remove(handle[d]);
		else if (path[d][0])
			unlink(path[d]);
	}
	return r;
}

static int
fifo_open(size_t msg_size, void **linkp)
{
	char dir[] = "/tmp/zipc-bench.XXXXXX";
	struct fd_link *l;
	int handle, r;

	if (msg_size > PIPE_BUF)
		return -EMSGSIZE;
	l = fd_link_new();
	if (!l)
		return -ENOMEM;
	if (!mkdtemp(dir)) {
		r = -errno;
		fd_destroy(l);
		return r;
	}
	handle = bench_obj_track(BENCH_OBJ_DIR, 0, dir);
	r = fifo_open_dir(l, dir);
	if (handle >= 0)
		bench_obj_remove(handle);
	else
		rmdir(dir);
	if (r) {
		fd_destroy(l);
		return r;
	}
	*linkp = l;
	return 0;
}

static int
unix_open(size_t msg_size, void **linkp)
{
	struct fd_link *l = fd_link_new();
	int sv[2], d;

	(void)msg_size;
	if (!l)
		return -ENOMEM;
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0) {
		int e = -errno;

		free(l);
		return e;
	}
	l->socket = 1;
	for (d = 0; d < 2; d++)
		l->fd[d][0] = l->fd[d][1] = sv[d];
	*linkp = l;
	return 0;
}

/* ---- XSI message queue ---- */

/*
 * One queue carries both directions, told apart by mtype (1 + direction),
 * the idiom the seeds teach. msgsnd needs the long mtype in front of the
 * text, hence one staging copy per message, as any caller pays.
 */
struct msq_link {
	int id;
	int handle;
	int side;
	size_t size;
	struct {
		long mtype;
		char mtext[];
	} *msg;
};

static void
msq_destroy(void *link)
{
	struct msq_link *l = link;

	if (l->handle >= 0)
		bench_obj_remove(l->handle);
	free(l->msg);
	free(l);
}

static int
msq_open(size_t msg_size, void **linkp)
{
	struct msq_link *l;

	if ((long)msg_size > bench_proc_long("/proc/sys/kernel/msgmax", 8192))
		return -EMSGSIZE;
	l = calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->size = msg_size;
	l->handle = -1;
	l->msg = malloc(sizeof(*l->msg) + msg_size);
	if (!l->msg) {
		free(l);
		return -ENOMEM;
	}
	l->id = msgget(IPC_PRIVATE, IPC_CREAT | 0600);
	if (l->id < 0) {
		int e = -errno;

		msq_destroy(l);
		return e;
	}
	l->handle = bench_obj_track(BENCH_OBJ_MSQ, l->id, NULL);
	if (l->handle < 0) {
		int e = l->handle;

		msgctl(l->id, IPC_RMID, NULL);
		msq_destroy(l);
		return e;
	}
	*linkp = l;
	return 0;
}

static int
msq_attach(void *link, int side)
{
	struct msq_link *l = link;

	l->side = side;
	return 0;
}

static int
msq_send(void *link, const void *buf, size_t len)
{
	struct msq_link *l = link;

	l->msg->mtype = 1 + l->side;
	memcpy(l->msg->mtext, buf, len);
	if (msgsnd(l->id, l->msg, len, 0) < 0)
		return -errno;
	return 0;
}

static int
msq_recv(void *link, void *buf, size_t len)
{
	struct msq_link *l = link;
	ssize_t n;

	n = msgrcv(l->id, l->msg, len, 1 + (1 - l->side), 0);
	if (n < 0)
		return -errno;
	if ((size_t)n != len)
		return -EPROTO;
	memcpy(buf, l->msg->mtext, len);
	return 0;
}

/* ---- POSIX message queue ---- */

/*
 * One queue per direction. The names are unlinked as soon as both queues
 * are open: the child inherits the descriptors, so nothing needs the name
 * and nothing can be left in /dev/mqueue.
 */
struct mq_link {
	mqd_t q[2];
	int side;
};

static void
mq_destroy(void *link)
{
	struct mq_link *l = link;
	int d;

	for (d = 0; d < 2; d++)
		if (l->q[d] != (mqd_t)-1)
			mq_close(l->q[d]);
	free(l);
}

static int
mq_open_one(mqd_t *q, struct mq_attr *attr, int d)
{
	static unsigned int seq;
	char name[64];
	int handle, r = 0;

	snprintf(name, sizeof(name), "/zipc-bench.%d.%u.%d", (int)getpid(),
		 seq++, d);
	*q = mq_open(name, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600, attr);
	if (*q == (mqd_t)-1)
		return -errno;
	handle = bench_obj_track(BENCH_OBJ_MQ, 0, name);
	if (handle >= 0)
		r = bench_obj_remove(handle);
	else
		r = mq_unlink(name) < 0 ? -errno : 0;
	return r;
}

static int
mq_open_link(size_t msg_size, void **linkp)
{
	long size_max, msg_max;
	struct mq_attr attr;
	struct mq_link *l;
	int d, r;

	/*
	 * Stay inside the sysctl limits even as root (who may exceed them),
	 * so the numbers are what an ordinary user would see.
	 */
	size_max = bench_proc_long("/proc/sys/fs/mqueue/msgsize_max", 8192);
	msg_max = bench_proc_long("/proc/sys/fs/mqueue/msg_max", 10);
	if ((long)msg_size > size_max)
		return -EMSGSIZE;
	memset(&attr, 0, sizeof(attr));
	attr.mq_maxmsg = msg_max < BENCH_RING_SLOTS ? msg_max
						    : BENCH_RING_SLOTS;
	attr.mq_msgsize = (long)msg_size;
	l = malloc(sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->q[0] = l->q[1] = (mqd_t)-1;
	for (d = 0; d < 2; d++) {
		r = mq_open_one(&l->q[d], &attr, d);
		if (r) {
			mq_destroy(l);
			return r;
		}
	}
	*linkp = l;
	return 0;
}

static int
mq_attach(void *link, int side)
{
	struct mq_link *l = link;

	l->side = side;
	return 0;
}

static int
mq_send_msg(void *link, const void *buf, size_t len)
{
	struct mq_link *l = link;

	if (mq_send(l->q[l->side], buf, len, 0) < 0)
		return -errno;
	return 0;
}

static int
mq_recv_msg(void *link, void *buf, size_t len)
{
	struct mq_link *l = link;
	ssize_t n;

	n = mq_receive(l->q[1 - l->side], buf, len, NULL);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EPROTO;
}

static const struct bench_xport xport_pipe = {
	.name = "pipe",
	.desc = "pipe(2), one per direction",
	.group = BENCH_GROUP_KERNEL,
	.open = pipe_open,
	.attach = fd_attach,
	.send = fd_send,
	.recv = fd_recv,
	.destroy = fd_destroy,
};

static const struct bench_xport xport_fifo = {
	.name = "fifo",
	.desc = "mkfifo(3) in a private directory, one per direction",
	.group = BENCH_GROUP_KERNEL,
	.open = fifo_open,
	.attach = fd_attach,
	.send = fd_send,
	.recv = fd_recv,
	.destroy = fd_destroy,
};

static const struct bench_xport xport_unix = {
	.name = "unix",
	.desc = "socketpair(AF_UNIX, SOCK_STREAM)",
	.group = BENCH_GROUP_KERNEL,
	.open = unix_open,
	.attach = fd_attach,
	.send = fd_send,
	.recv = fd_recv,
	.destroy = fd_destroy,
};

static const struct bench_xport xport_msq = {
	.name = "xsi-msg",
	.desc = "msgsnd/msgrcv on one IPC_PRIVATE queue, mtype = direction",
	.group = BENCH_GROUP_KERNEL,
	.open = msq_open,
	.attach = msq_attach,
	.send = msq_send,
	.recv = msq_recv,
	.destroy = msq_destroy,
};

static const struct bench_xport xport_mq = {
	.name = "posix-mq",
	.desc = "mq_send/mq_receive, one queue per direction",
	.group = BENCH_GROUP_KERNEL,
	.open = mq_open_link,
	.attach = mq_attach,
	.send = mq_send_msg,
	.recv = mq_recv_msg,
	.destroy = mq_destroy,
};

const struct bench_xport *const bench_xports_kernel[] = {
	&xport_pipe, &xport_fifo, &xport_unix, &xport_msq, &xport_mq, NULL,
};
