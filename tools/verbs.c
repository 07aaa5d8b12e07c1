/* SPDX-License-Identifier: MIT */
/*
 * The shell verbs: zipc send/recv move stdin and stdout through a queue,
 * zipc post/wait work a semaphore, zipc mk makes any object. Every
 * argument is checked before anything changes; a verb that fails midway
 * (a queue removed under it, a message too long) says how far it got.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/msg.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mq/mq.h"
#include "zipc.h"
#include "cli.h"

static const struct option verb_opts[] = {
	{"type", required_argument, NULL, 't'},
	{"prio", required_argument, NULL, 'p'},
	{"timeout", required_argument, NULL, 'T'},
	{"count", required_argument, NULL, 'c'},
	{"whole", no_argument, NULL, 'w'},
	{"raw", no_argument, NULL, 'r'},
	{"all", no_argument, NULL, 'a'},
	{"num", required_argument, NULL, 'n'},
	{"key", required_argument, NULL, 'k'},
	{"mode", required_argument, NULL, 'M'},
	{"qbytes", required_argument, NULL, 'Q'},
	{"maxmsg", required_argument, NULL, 'x'},
	{"msgsize", required_argument, NULL, 'z'},
	{"nsems", required_argument, NULL, 'N'},
	{"value", required_argument, NULL, 'v'},
	{"size", required_argument, NULL, 'S'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Options each verb accepts (the letters above). */
static int
allowed(const char *ok, int c)
{
	return c != '?' && c != ':' && strchr(ok, c) != NULL;
}

static void
one_object(const char *verb, int argc, char **argv)
{
	if (optind == argc)
		die(EXIT_USAGE, "%s: which object?", verb);
	if (argc - optind > 1)
		die(EXIT_USAGE, "%s: unexpected argument '%s'", verb,
		    argv[optind + 1]);
}

/* Resolve @spec to a queue or semaphore (@filter 'q' or 's'). */
static void
find_for(const char *verb, const char *spec, char filter, struct zobj *z)
{
	struct zfilter f = {0};
	if (filter == 'q')
		f.q = 1;
	else
		f.s = 1;
	if (spec_find(spec, &f, z) < 0)
		die(1, "%s: no %s '%s'", verb,
		    filter == 'q' ? "queue" : "semaphore", spec);
}

static const char *
errtext(int r)
{
	return strerror(-r);
}

static int
is_timeout(int r)
{
	return r == -EAGAIN || r == -ETIMEDOUT || r == -ENOMSG;
}

/*
 * ^C, kill or a hang-up while a verb sleeps: the handler makes the
 * library call return -EINTR, so the sleeper leaves the object's wait
 * queue itself. Dying in the sleep instead would leave a dead sleeper's
 * record, and an object only dead processes used is stale.
 */
static volatile sig_atomic_t interrupted;

static void
on_signal(int sig)
{
	interrupted = sig;
}

static void
catch_signals(void)
{
	static const int sigs[] = {SIGINT, SIGTERM, SIGHUP};
	struct sigaction sa;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_signal; /* no SA_RESTART: sleeps end */
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
		sigaction(sigs[i], &sa, NULL);
}

/* What went wrong, in words: @r is a -errno of the library. */
static const char *
failure(int r, const char *timed_out)
{
	if (r == -EINTR && interrupted)
		return "interrupted";
	return is_timeout(r) ? timed_out : strerror(-r);
}

/* A verb's exit status: 128 + the signal after an interruption. */
static int
verb_status(int rc)
{
	return interrupted ? 128 + interrupted : rc;
}

/* ---- send / recv ------------------------------------------------------------
 */

struct qh {
	int xsi;
	int id;	       /* XSI */
	zipc_queue *q; /* POSIX */
	size_t max;    /* largest message */
	char label[NAME_MAX + 16];
};

static uint64_t
sysctl_u64(const char *path, uint64_t dflt)
{
	FILE *f = fopen(path, "re");
	unsigned long long v;
	if (!f)
		return dflt;
	int n = fscanf(f, "%llu", &v);
	fclose(f);
	return n == 1 ? v : dflt;
}

/* Open queue @z (found by find_for): every check is done by then. */
static void
open_queue(const char *verb, const struct zobj *zp, int oflag, struct qh *h)
{
	struct zobj z = *zp;
	memset(h, 0, sizeof(*h));
	if (z.kind == &zkind_msg) {
		h->xsi = 1;
		h->id = z.id;
		h->max = sysctl_u64("/proc/sys/kernel/msgmax", 8192);
		snprintf(h->label, sizeof(h->label), "msg %d", z.id);
		return;
	}
	int r = zipc_queue_open(z.name, oflag, 0, NULL, &h->q);
	if (r < 0)
		die(1, "%s: %s: %s", verb, z.name, errtext(r));
	h->max = h->q->q_msgsize;
	snprintf(h->label, sizeof(h->label), "%s", z.name);
}

static int
q_send(struct qh *h, const char *buf, size_t len, long type, unsigned prio,
       int64_t timeout)
{
	if (!h->xsi)
		return zipc_queue_send(h->q, buf, len, prio, timeout);
	struct {
		long mtype;
		char mtext[];
	} *m = malloc(sizeof(long) + len + 1);
	if (!m)
		return -ENOMEM;
	m->mtype = type;
	memcpy(m->mtext, buf, len);
	int r = zipc_queue_msgsnd(h->id, m, len, timeout == 0 ? IPC_NOWAIT : 0,
				  timeout == 0 ? -1 : timeout);
	free(m);
	return r;
}

int
cmd_send(int argc, char **argv)
{
	long type = 1;
	unsigned prio = 0;
	int64_t timeout = -1;
	int whole = 0, c, type_set = 0, prio_set = 0, idx = -1;
	while ((idx = -1, c = getopt_long(argc, argv, "t:p:T:wh", verb_opts,
					  &idx)) != -1) {
		if (!allowed("tpTwh", c))
			bad_option("send", argv, c, idx, verb_opts);
		switch (c) {
		case 't':
			type = (long)parse_ll("--type", optarg, 1, LONG_MAX);
			type_set = 1;
			break;
		case 'p':
			prio = (unsigned)parse_ll("--prio", optarg, 0, 32767);
			prio_set = 1;
			break;
		case 'T':
			timeout = parse_timeout("--timeout", optarg);
			break;
		case 'w':
			whole = 1;
			break;
		case 'h':
			printf("usage: zipc send QUEUE [--whole] [--type N] "
			       "[--prio N] [--timeout SECONDS] < input\n");
			return 0;
		}
	}
	one_object("send", argc, argv);
	struct qh h;
	struct zobj z;
	find_for("send", argv[optind], 'q', &z);
	if (!z.kind->posix && prio_set)
		die(EXIT_USAGE, "send: --prio is for POSIX queues; XSI "
				"messages have a --type");
	if (z.kind->posix && type_set)
		die(EXIT_USAGE, "send: --type is for XSI queues; POSIX "
				"messages have a --prio");
	open_queue("send", &z, O_WRONLY, &h);
	catch_signals();

	char *buf = NULL;
	size_t cap = 0, sent = 0;
	ssize_t n;
	int rc = 0;
	if (whole) {
		size_t len = 0;
		for (;;) {
			if (len + 65536 > cap) {
				cap = cap ? cap * 2 : 65536;
				char *p = realloc(buf, cap);
				if (!p)
					die(1, "send: out of memory");
				buf = p;
			}
			n = read(0, buf + len, cap - len);
			if (n < 0 && errno == EINTR)
				continue;
			if (n < 0)
				die(1, "send: reading stdin: %s",
				    strerror(errno));
			if (n == 0)
				break;
			len += (size_t)n;
		}
		int r = len > h.max ? -EMSGSIZE
				    : q_send(&h, buf, len, type, prio, timeout);
		if (r == -EMSGSIZE) {
			err_msg("send: %s: input of %zu bytes is longer than "
				"a message may be (%zu)",
				h.label, len, h.max);
			rc = 1;
		} else if (r < 0) {
			err_msg("send: %s: %s", h.label,
				failure(r, "queue full, timed out"));
			rc = 1;
		}
	} else {
		while ((n = getline(&buf, &cap, stdin)) >= 0) {
			size_t len = (size_t)n;
			if (len && buf[len - 1] == '\n')
				len--;
			if (len > h.max) {
				err_msg("send: %s: line %zu is %zu bytes, "
					"longer than a message may be (%zu); "
					"%zu sent",
					h.label, sent + 1, len, h.max, sent);
				rc = 1;
				break;
			}
			int r = q_send(&h, buf, len, type, prio, timeout);
			if (r < 0) {
				err_msg("send: %s: %s; %zu sent", h.label,
					failure(r, "queue full, timed out"),
					sent);
				rc = 1;
				break;
			}
			sent++;
		}
		if (!rc && ferror(stdin)) {
			err_msg("send: reading stdin: %s; %zu sent",
				strerror(errno), sent);
			rc = 1;
		}
	}
	free(buf);
	if (h.q)
		zipc_queue_close(h.q);
	return verb_status(rc);
}

int
cmd_recv(int argc, char **argv)
{
	long type = 0;
	int64_t timeout = -1;
	long long count = 1;
	int raw = 0, all = 0, c, type_set = 0, idx = -1;
	while ((idx = -1, c = getopt_long(argc, argv, "t:T:c:rah", verb_opts,
					  &idx)) != -1) {
		if (!allowed("tTcrah", c))
			bad_option("recv", argv, c, idx, verb_opts);
		switch (c) {
		case 't':
			type = (long)parse_ll("--type", optarg, LONG_MIN + 1,
					      LONG_MAX);
			type_set = 1;
			break;
		case 'T':
			timeout = parse_timeout("--timeout", optarg);
			break;
		case 'c':
			count = parse_ll("--count", optarg, 1, LLONG_MAX);
			break;
		case 'r':
			raw = 1;
			break;
		case 'a':
			all = 1;
			break;
		case 'h':
			printf("usage: zipc recv QUEUE [--count N | --all] "
			       "[--type N] [--timeout SECONDS] [--raw]\n");
			return 0;
		}
	}
	one_object("recv", argc, argv);
	struct qh h;
	struct zobj z;
	find_for("recv", argv[optind], 'q', &z);
	if (z.kind->posix && type_set)
		die(EXIT_USAGE, "recv: --type is for XSI queues");
	open_queue("recv", &z, O_RDONLY, &h);
	catch_signals();
	if (all)
		timeout = 0;
	char *buf = malloc(sizeof(long) + h.max + 1);
	if (!buf)
		die(1, "recv: out of memory");
	int rc = 0;
	long long got;
	for (got = 0; all || got < count; got++) {
		ssize_t n;
		const char *data = buf;
		if (h.xsi) {
			n = zipc_queue_msgrcv(h.id, buf, h.max, type,
					      timeout == 0 ? IPC_NOWAIT : 0,
					      timeout == 0 ? -1 : timeout);
			data = buf + sizeof(long);
		} else {
			n = zipc_queue_receive(h.q, buf, h.max, NULL, timeout);
		}
		if (n < 0) {
			if (all && is_timeout((int)n))
				break;
			err_msg("recv: %s: %s after %lld of %lld", h.label,
				failure((int)n, "timed out"), got, count);
			rc = 1;
			break;
		}
		if (fwrite(data, 1, (size_t)n, stdout) != (size_t)n ||
		    (!raw && putchar('\n') == EOF) || fflush(stdout)) {
			err_msg("recv: writing stdout: %s", strerror(errno));
			rc = 1;
			break;
		}
	}
	free(buf);
	if (h.q)
		zipc_queue_close(h.q);
	return verb_status(rc);
}

/* ---- post / wait --------------------------------------------------------- */

static int
sem_verb(int argc, char **argv, int post)
{
	const char *verb = post ? "post" : "wait";
	int64_t timeout = -1;
	long long num = 0, count = 1;
	int c, num_set = 0, idx = -1;
	while ((idx = -1, c = getopt_long(argc, argv, "n:c:T:h", verb_opts,
					  &idx)) != -1) {
		if (!allowed(post ? "nch" : "nTh", c))
			bad_option(verb, argv, c, idx, verb_opts);
		switch (c) {
		case 'n':
			num = parse_ll("--num", optarg, 0, 65535);
			num_set = 1;
			break;
		case 'c':
			count = parse_ll("--count", optarg, 1, 32767);
			break;
		case 'T':
			timeout = parse_timeout("--timeout", optarg);
			break;
		case 'h':
			printf(post ? "usage: zipc post SEMAPHORE [--num I] "
				      "[--count N]\n"
				    : "usage: zipc wait SEMAPHORE [--num I] "
				      "[--timeout SECONDS]\n");
			return 0;
		}
	}
	one_object(verb, argc, argv);
	struct zobj z;
	find_for(verb, argv[optind], 's', &z);
	catch_signals();
	int r;
	if (z.kind == &zkind_sem) {
		if (num >= z.nsems)
			die(EXIT_USAGE,
			    "%s: sem %d has %lld semaphores; no "
			    "--num %lld",
			    verb, z.id, (long long)z.nsems, num);
		struct zipc_semset_op op = {
			.num = (uint16_t)num,
			.op = (int16_t)(post ? count : -1),
			.flags = (!post && timeout == 0) ? IPC_NOWAIT : 0,
		};
		r = zipc_semset_op(z.id, &op, 1, timeout == 0 ? -1 : timeout);
	} else {
		if (num_set)
			die(EXIT_USAGE, "%s: --num is for XSI sets", verb);
		zipc_sema_t *s;
		r = zipc_sema_open(z.name, 0, 0, 0, &s);
		if (r == 0) {
			for (long long i = 0; post && r == 0 && i < count; i++)
				r = zipc_sema_post(s);
			if (!post)
				r = zipc_sema_wait(s, timeout);
			zipc_sema_close(s);
		}
	}
	if (r < 0) {
		char label[NAME_MAX + 16];
		if (z.kind->posix)
			snprintf(label, sizeof(label), "%s", z.name);
		else
			snprintf(label, sizeof(label), "sem %d", z.id);
		err_msg("%s: %s: %s", verb, label,
			r == -ERANGE || r == -EOVERFLOW
				? "the value would pass its maximum"
				: failure(r, "timed out"));
		return verb_status(1);
	}
	return 0;
}

int
cmd_post(int argc, char **argv)
{
	return sem_verb(argc, argv, 1);
}

int
cmd_wait(int argc, char **argv)
{
	return sem_verb(argc, argv, 0);
}

/* ---- mk
 * ------------------------------------------------------------------------ */

int
cmd_mk(int argc, char **argv)
{
	int32_t key = IPC_PRIVATE;
	unsigned mode = 0644;
	long long qbytes = -1, maxmsg = -1, msgsize = -1, nsems = 1, value = 0,
		  size = -1;
	int c, idx = -1;
	const char *kind = argc > 1 ? argv[1] : NULL;
	if (kind && (!strcmp(kind, "-h") || !strcmp(kind, "--help"))) {
		printf("usage: zipc mk msg [--key K] [--mode M] [--qbytes N]\n"
		       "       zipc mk sem [--key K] [--mode M] [--nsems N] "
		       "[--value V]\n"
		       "       zipc mk shm --size N [--key K] [--mode M]\n"
		       "       zipc mk mq /NAME [--mode M] [--maxmsg N] "
		       "[--msgsize N]\n"
		       "       zipc mk psem /NAME [--mode M] [--value V]\n"
		       "       zipc mk pshm /NAME --size N [--mode M]\n");
		return 0;
	}
	if (!kind)
		die(EXIT_USAGE, "mk: what kind? (msg, sem, shm, mq, psem or "
				"pshm)");
	const char *ok;
	if (!strcmp(kind, "msg"))
		ok = "kMQ";
	else if (!strcmp(kind, "sem"))
		ok = "kMNv";
	else if (!strcmp(kind, "shm"))
		ok = "kMS";
	else if (!strcmp(kind, "mq"))
		ok = "Mxz";
	else if (!strcmp(kind, "psem"))
		ok = "Mv";
	else if (!strcmp(kind, "pshm"))
		ok = "MS";
	else
		die(EXIT_USAGE,
		    "mk: unknown kind '%s' (msg, sem, shm, mq, "
		    "psem or pshm)",
		    kind);
	optind = 2;
	while ((idx = -1, c = getopt_long(argc, argv, "k:", verb_opts, &idx)) !=
	       -1) {
		if (!allowed(ok, c))
			bad_option("mk", argv, c, idx, verb_opts);
		switch (c) {
		case 'k':
			key = parse_key("--key", optarg);
			break;
		case 'M':
			mode = parse_mode("--mode", optarg);
			break;
		case 'Q':
			qbytes = parse_ll("--qbytes", optarg, 1, INT32_MAX);
			break;
		case 'x':
			maxmsg = parse_ll("--maxmsg", optarg, 1, INT32_MAX);
			break;
		case 'z':
			msgsize = parse_ll("--msgsize", optarg, 1, INT32_MAX);
			break;
		case 'N':
			nsems = parse_ll("--nsems", optarg, 1, 65535);
			break;
		case 'v':
			value = parse_ll("--value", optarg, 0,
					 !strcmp(kind, "sem") ? 32767
							      : SEM_VALUE_MAX);
			break;
		case 'S':
			size = parse_ll("--size", optarg, 1, LLONG_MAX);
			break;
		}
	}
	const char *name = NULL;
	int posix = !strcmp(kind, "mq") || !strcmp(kind, "psem") ||
		    !strcmp(kind, "pshm");
	if (posix) {
		if (optind == argc)
			die(EXIT_USAGE, "mk %s: which /name?", kind);
		name = argv[optind++];
		if (name[0] != '/' || !name[1] || strchr(name + 1, '/'))
			die(EXIT_USAGE,
			    "mk %s: '%s' is not a POSIX name "
			    "('/' and up to %d bytes without '/')",
			    kind, name, NAME_MAX);
		if (strlen(name + 1) > NAME_MAX)
			die(EXIT_USAGE,
			    "mk %s: name too long (at most %d "
			    "bytes)",
			    kind, NAME_MAX);
	}
	if (optind < argc)
		die(EXIT_USAGE, "mk: unexpected argument '%s'", argv[optind]);
	if ((!strcmp(kind, "shm") || !strcmp(kind, "pshm")) && size < 0)
		die(EXIT_USAGE, "mk %s: --size is required", kind);
	if (!strcmp(kind, "mq") && (maxmsg < 0) != (msgsize < 0))
		die(EXIT_USAGE, "mk mq: give both --maxmsg and --msgsize, or "
				"neither");

	int flags = IPC_CREAT | IPC_EXCL | (int)mode, r;
	if (!strcmp(kind, "msg")) {
		r = zipc_queue_get(key, flags);
		if (r >= 0 && qbytes > 0) {
			int id = r;
			struct msqid_ds ds;
			r = zipc_queue_ctl(id, IPC_STAT, &ds);
			if (r == 0) {
				ds.msg_qbytes = (msglen_t)qbytes;
				r = zipc_queue_ctl(id, IPC_SET, &ds);
			}
			if (r < 0) { /* all or nothing */
				zipc_queue_ctl(id, IPC_RMID, NULL);
				die(1, "mk msg: --qbytes %lld: %s", qbytes,
				    errtext(r));
			}
			r = id;
		}
	} else if (!strcmp(kind, "sem")) {
		r = zipc_semset_get(key, (int)nsems, flags);
		if (r >= 0 && value) {
			int id = r;
			uint16_t *v = malloc((size_t)nsems * sizeof(*v));
			if (!v)
				r = -ENOMEM;
			for (long long i = 0; v && i < nsems; i++)
				v[i] = (uint16_t)value;
			if (v)
				r = zipc_semset_setall(id, v);
			free(v);
			if (r < 0) {
				zipc_semset_remove(id);
				die(1, "mk sem: --value: %s", errtext(r));
			}
			r = id;
		}
	} else if (!strcmp(kind, "shm")) {
		r = zipc_segment_get(key, (uint64_t)size, flags);
	} else if (!strcmp(kind, "mq")) {
		struct zipc_queue_attr a = {.maxmsg = maxmsg,
					    .msgsize = msgsize};
		zipc_queue *q;
		r = zipc_queue_open(name, O_RDWR | O_CREAT | O_EXCL,
				    (mode_t)mode, maxmsg > 0 ? &a : NULL, &q);
		if (r == 0)
			zipc_queue_close(q);
	} else if (!strcmp(kind, "psem")) {
		zipc_sema_t *s;
		r = zipc_sema_open(name, O_CREAT | O_EXCL, (mode_t)mode,
				   (unsigned)value, &s);
		if (r == 0)
			zipc_sema_close(s);
	} else {
		r = zipc_segment_open(name, O_RDWR | O_CREAT | O_EXCL,
				      (mode_t)mode);
		if (r >= 0) {
			int fd = r;
			r = ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
			close(fd);
			if (r < 0) {
				zipc_segment_unlink(name);
				die(1, "mk pshm: --size %lld: %s", size,
				    errtext(r));
			}
		}
	}
	if (r < 0) {
		if (r == -EEXIST)
			die(1, "mk %s: %s already exists", kind,
			    name ? name : "that key");
		die(1, "mk %s: %s", kind, errtext(r));
	}
	if (!posix)
		printf("%d\n", r);
	return 0;
}
