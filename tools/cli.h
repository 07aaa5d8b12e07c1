/* SPDX-License-Identifier: MIT */
/*
 * The zipc command: what its parts share. Every object kind is one table
 * entry (struct zkind, one file each: kind_shm.c, kind_msg.c, kind_sem.c,
 * kind_posix.c) that can list its objects into struct zobj records, print
 * the details only it knows, and remove one object. Everything generic --
 * finding objects from a command-line spec, who maps them, staleness,
 * columns, JSON -- works on zobj and never looks inside a layout.
 *
 * Staleness. A user is a process recorded in the object (an attacher, a
 * sleeper, an undo holder, a notify registrant, the lock's owner) or one
 * that maps the object's file or holds it open now (/proc). An object is
 * stale when no user is alive and either some recorded user died (a
 * SIGKILLed process leaves its record) or it was removed but is still
 * held. An object nobody has ever recorded is not stale: XSI objects
 * outlive their processes on purpose, as the kernel's do.
 */
#ifndef ZIPC_CLI_H
#define ZIPC_CLI_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <getopt.h>
#include <stdio.h>
#include <sys/types.h>

#define EXIT_USAGE 2

#define ZU_MAX 64 /* users listed per object */

/* What a user is to the object. */
enum zrole {
	ZR_MAP = 'm',	 /* maps the file or holds it open (from /proc) */
	ZR_ATTACH = 'a', /* XSI shm attach table */
	ZR_WAIT = 'w',	 /* sleeping in an operation */
	ZR_UNDO = 'u',	 /* holds SEM_UNDO adjustments */
	ZR_NOTIFY = 'n', /* registered with mq_notify */
	ZR_LOCK = 'l',	 /* owns the object's lock */
};

struct zuser {
	uint32_t pid;
	uint64_t start; /* 0 when unknown (from /proc: alive by definition) */
	int alive;
	char role;
};

struct zkind;

struct zobj {
	const struct zkind *kind;
	int id;			   /* XSI id; -1 for POSIX objects */
	int32_t key;		   /* XSI key (0 = IPC_PRIVATE) */
	char name[NAME_MAX + 2];   /* POSIX name with its '/' */
	char fname[NAME_MAX + 32]; /* store-relative file */
	int err;		   /* 0, or why the object could not be read */
	uint32_t uid, gid, cuid, cgid, mode;
	int64_t size;	       /* bytes: segment size, queue capacity; -1 n/a */
	uint64_t fsize;	       /* bytes the object's file takes */
	int64_t msgs;	       /* queues: messages now; else -1 */
	int64_t bytes;	       /* queues: bytes in them; else -1 */
	int64_t nsems;	       /* semaphore sets: count; psem: value; else -1 */
	uint32_t anon_waiters; /* sleepers counted without a pid */
	int removed;	       /* removed (IPC_RMID / unlink) but still held */
	dev_t dev;
	ino_t ino;
	int nusers;
	struct zuser users[ZU_MAX];
	/* Filled by zobj_finish: */
	int live_users, dead_users, stale;
};

/* How "zipc stat" prints one line. */
void st_line(FILE *f, const char *field, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

struct zkind {
	const char *name;  /* KIND column and the "kind:" spec prefix */
	const char *title; /* for stat and limits */
	char filter;	   /* 'q', 's' or 'm' as ipcs */
	int posix;	   /* 1: objects by name; 0: by key and id */
	uint32_t sig;	   /* layout signature of this build (0: none) */
	int xsi_type;	   /* enum zipc_xsi_type, or -1 for POSIX */
	/* Call @fn on every object (read-only); stop on non-zero. */
	int (*list)(int (*fn)(struct zobj *o, void *arg), void *arg);
	/* Kind-specific lines of "zipc stat". */
	void (*stat)(FILE *f, const struct zobj *o);
	/* Its layout's byte offsets, for "zipc stat --layout". */
	void (*layout)(FILE *f);
	/* Remove it as IPC_RMID / unlink do: 0 or -errno. */
	int (*remove)(const struct zobj *o);
};

/* A kind's list() walking its objects for @fn. */
struct zwalk {
	int (*fn)(struct zobj *z, void *arg);
	void *arg;
};

/* One line of a --layout table: field, offset, size. */
#define ZOFF(f, T, m)                                         \
	fprintf(f, "  %-24s %5zu %4zu\n", #m, offsetof(T, m), \
		sizeof(((T *)0)->m))

extern const struct zkind zkind_shm, zkind_msg, zkind_sem;
extern const struct zkind zkind_pshm, zkind_mq, zkind_psem;
extern const struct zkind *const zkinds[];
extern const char *prog;

/* The whole command, as main() runs it (zipc.c). */
int zipc_cli_main(int argc, char **argv);
/* How die() leaves: exit, unless a test harness says otherwise. */
extern void (*zipc_cli_exit)(int code);

/* ---- util.c ------------------------------------------------------------ */

void err_msg(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Print "zipc: ..." and exit with @code. */
void __attribute__((noreturn, format(printf, 2, 3)))
die(int code, const char *fmt, ...);
/* Numbers from the command line: exits 2 with a message if bad. */
long long parse_ll(const char *opt, const char *s, long long lo, long long hi);
/* Seconds with a fraction ("1.5") into nanoseconds; exits 2 if bad. */
int64_t parse_timeout(const char *opt, const char *s);
/* An octal mode ("0600"); exits 2 if bad. */
unsigned parse_mode(const char *opt, const char *s);
/* A key: 0x hex or decimal, non-zero; exits 2 if bad. */
int32_t parse_key(const char *opt, const char *s);

/* Add a recorded user (deduplicated by pid). */
void zobj_add_user(struct zobj *o, uint32_t pid, uint64_t start, int alive,
		   char role);
struct zipc_lock;
/* Add the owner of lock @lk, if it is held. */
void zobj_add_lock(struct zobj *o, const struct zipc_lock *lk);
/* Add as sleepers the processes that map @o and sleep in FUTEX_WAIT on
 * a word at one of the file offsets @offs (kinds that count sleepers
 * without recording them). */
void zobj_find_sleepers(struct zobj *o, const uint64_t *offs, int noffs);
/* Add mappers from /proc, count live/dead users and decide staleness. */
void zobj_finish(struct zobj *o);
/* Forget the /proc scan (after removals). */
void users_rescan(void);
/* Call @fn("/name") for every object file in namespace directory @ns of
 * the store; stops on non-zero. */
int posix_walk(const char *ns, int (*fn)(const char *name, void *arg),
	       void *arg);
/*
 * The end of a kind's list() for one object: @r is what opening it
 * returned, and @z names it and holds what could be read. An object
 * removed meanwhile (-ENOENT, or -EIDRM: a half-removed XSI slot) is
 * skipped; one that could not be read is listed with its error, a POSIX
 * one with its file's dev and inode (store_stat). Otherwise @z is finished
 * (zobj_finish) and handed to @w. Returns what @w's fn returned, or 0.
 */
int zwalk_emit(const struct zwalk *w, struct zobj *z, int r);
/* A POSIX kind's list(): @one(name, struct zwalk *) for every object of
 * namespace @ns ("mq", "sem", "shm"), then @fn for those unlinked but
 * still held (posix_deleted); stops on non-zero. */
int posix_list(const char *ns, const struct zkind *kind,
	       int (*one)(const char *name, void *arg),
	       int (*fn)(struct zobj *z, void *arg), void *arg);

struct zipc_obj;
/* zipc__obj_open, and -EBADMSG for a file shorter than @min_size (the
 * header and the kind's control block): never read past a file's end. */
int zobj_open(const char *fname, uint32_t kind, uint32_t sig, uint64_t min_size,
	      struct zipc_obj *o);
/* Call @fn for every object of namespace @ns ("mq", "sem", "shm") that
 * was unlinked but is still mapped (removed, still held). */
int posix_deleted(const char *ns, const struct zkind *kind,
		  int (*fn)(struct zobj *z, void *arg), void *arg);
/* The store directory's fstatat of @fname: dev and inode. 0 or -errno. */
int store_stat(const char *fname, struct zobj *o);
/* Owner name, or the number. */
const char *user_name(uint32_t uid, char *buf, size_t len);
const char *group_name(uint32_t gid, char *buf, size_t len);
/* "rw-r-----" */
const char *perm_string(uint32_t mode, char *buf);

/* A bad option: "-x" or "--name" as the user typed it; exits 2. @c and
 * @idx are what getopt_long returned for it, @opts its table. */
void __attribute__((noreturn)) bad_option(const char *cmd, char **argv, int c,
					  int idx, const struct option *opts);

/* ---- spec.c: which objects a command line names ------------------------ */

struct zfilter {
	int q, s, m;	/* -q -s -m; none set: all */
	int posix, xsi; /* --posix --xsi; none set: both */
};

/* Whether @k passes @f. */
int filter_kind(const struct zfilter *f, const struct zkind *k);
/*
 * Find the one object @spec names ([kind:]id, [kind:]0xKEY, [kind:]/name).
 * Returns 0 and fills @out; exits 2 for a malformed or ambiguous spec,
 * returns -ENOENT when nothing matches.
 */
int spec_find(const char *spec, const struct zfilter *f, struct zobj *out);

/* ---- commands ------------------------------------------------------------ */

int cmd_ls(int argc, char **argv);
int cmd_stat(int argc, char **argv);
int cmd_rm(int argc, char **argv);
int cmd_limits(int argc, char **argv);
int cmd_send(int argc, char **argv);
int cmd_recv(int argc, char **argv);
int cmd_post(int argc, char **argv);
int cmd_wait(int argc, char **argv);
int cmd_mk(int argc, char **argv);
int cmd_bench(int argc, char **argv);

#endif
