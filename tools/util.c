/* SPDX-License-Identifier: MIT */
/*
 * Helpers of the zipc command: messages and exit codes, strict parsing of
 * numbers, and who uses an object file. The last is one scan of
 * /proc/PID/maps and /proc/PID/fd for the whole run, kept as (dev, inode,
 * pid) triples of files on the store's device, so "zipc ls" costs one
 * pass over the processes however many objects there are.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "atomic.h"
#include "lock.h"
#include "proc.h"
#include "store.h"
#include "cli.h"

void (*zipc_cli_exit)(int code) = exit;

void
err_msg(const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void
die(int code, const char *fmt, ...)
{
	va_list ap;
	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	zipc_cli_exit(code);
	abort(); /* the hook must not return */
}

long long
parse_ll(const char *opt, const char *s, long long lo, long long hi)
{
	char *end;
	errno = 0;
	long long v = strtoll(s, &end, 0);
	if (errno || end == s || *end || isspace((unsigned char)*s) || v < lo ||
	    v > hi)
		die(EXIT_USAGE,
		    "%s: expected a number from %lld to %lld, "
		    "not '%s'",
		    opt, lo, hi, s);
	return v;
}

int64_t
parse_timeout(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	double v = strtod(s, &end);
	/* 1e6 s is 11 days: long enough for a shell script, and far from
	 * int64 nanoseconds overflowing. */
	if (errno || end == s || *end || !(v >= 0) || v > 1e6 ||
	    isspace((unsigned char)*s))
		die(EXIT_USAGE,
		    "%s: expected seconds from 0 to 1000000, "
		    "not '%s'",
		    opt, s);
	return (int64_t)(v * 1e9);
}

unsigned
parse_mode(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 8);
	if (errno || end == s || *end || v > 0777 || *s == '-' ||
	    isspace((unsigned char)*s))
		die(EXIT_USAGE,
		    "%s: expected an octal mode up to 0777, not '%s'", opt, s);
	return (unsigned)v;
}

int32_t
parse_key(const char *opt, const char *s)
{
	long long v = parse_ll(opt, s, INT32_MIN, UINT32_MAX);
	if (v == 0)
		die(EXIT_USAGE,
		    "%s: key 0 is IPC_PRIVATE, which names no "
		    "object",
		    opt);
	return (int32_t)(uint32_t)(int64_t)v;
}

/* ---- users ------------------------------------------------------------- */

struct mapper {
	dev_t dev;
	ino_t ino;
	uint32_t pid;
	uint64_t start, end, pgoff; /* the mapping; 0, 0: an open fd */
};

static struct mapper *mappers;
static size_t n_mappers, cap_mappers;
static int scanned;
static int scan_blind; /* some process's maps could not be read */
static dev_t store_dev;

static void
add_mapper(dev_t dev, ino_t ino, uint32_t pid, uint64_t start, uint64_t end,
	   uint64_t pgoff)
{
	for (size_t i = n_mappers; i-- > 0 && mappers[i].pid == pid;)
		if (mappers[i].dev == dev && mappers[i].ino == ino)
			return;
	if (n_mappers == cap_mappers) {
		size_t cap = cap_mappers ? cap_mappers * 2 : 256;
		struct mapper *p = realloc(mappers, cap * sizeof(*p));
		if (!p)
			return; /* best effort: fewer users shown */
		mappers = p;
		cap_mappers = cap;
	}
	mappers[n_mappers++] =
		(struct mapper){dev, ino, pid, start, end, pgoff};
}

/*
 * POSIX objects unlinked while still mapped: no longer in the store's
 * directories, but in their mappers' /proc/PID/maps as
 * "<store>/zipc.posix-<ns>/<name> (deleted)". Kept so that ls can show
 * them as removed but still held.
 */
struct deleted {
	char ns[8]; /* "mq", "sem", "shm" */
	char name[NAME_MAX + 2];
	char range[64]; /* the mapping, for /proc/PID/map_files */
	ino_t ino;
	uint32_t pid;
};

static struct deleted *deleted;
static size_t n_deleted;
static char store_real[4096];

static void
note_deleted(char *path, const char *range, ino_t ino, uint32_t pid)
{
	static const char suffix[] = " (deleted)";
	size_t len = strcspn(path, "\n"), sl = strlen(store_real);
	path[len] = 0;
	if (!sl || len < sizeof(suffix) ||
	    strcmp(path + len - (sizeof(suffix) - 1), suffix) ||
	    strncmp(path, store_real, sl) ||
	    strncmp(path + sl, "/zipc.posix-", 12))
		return;
	path[len - (sizeof(suffix) - 1)] = 0;
	char *ns = path + sl + 12, *slash = strchr(ns, '/');
	if (!slash || slash - ns >= 8 || strchr(slash + 1, '/'))
		return;
	*slash = 0;
	for (size_t i = 0; i < n_deleted; i++)
		if (deleted[i].ino == ino)
			return; /* one entry per object; mappers come later */
	struct deleted *p = realloc(deleted, (n_deleted + 1) * sizeof(*p));
	if (!p)
		return;
	deleted = p;
	p = &deleted[n_deleted++];
	snprintf(p->ns, sizeof(p->ns), "%s", ns);
	snprintf(p->name, sizeof(p->name), "/%s", slash + 1);
	snprintf(p->range, sizeof(p->range), "%s", range);
	p->ino = ino;
	p->pid = pid;
}

static void
scan_maps(uint32_t pid)
{
	char path[64], line[1024];
	snprintf(path, sizeof(path), "/proc/%u/maps", pid);
	FILE *f = fopen(path, "re");
	if (!f) {
		/* Another user's process, for a caller who is not root.
		 * (Root may still be refused a sandbox's init: that is no
		 * user of our store.) */
		if ((errno == EACCES || errno == EPERM) && geteuid() != 0)
			scan_blind = 1;
		return;
	}
	while (fgets(line, sizeof(line), f)) {
		unsigned maj, min;
		unsigned long long inode, start, end, pgoff;
		char range[64];
		int at = 0;
		if (sscanf(line, "%63s %*s %llx %x:%x %llu %n", range, &pgoff,
			   &maj, &min, &inode, &at) == 5 &&
		    inode && makedev(maj, min) == store_dev &&
		    sscanf(range, "%llx-%llx", &start, &end) == 2) {
			add_mapper(store_dev, (ino_t)inode, pid, start, end,
				   pgoff);
			note_deleted(line + at, range, (ino_t)inode, pid);
		}
		while (!strchr(line, '\n') && fgets(line, sizeof(line), f))
			;
	}
	fclose(f);
}

static void
scan_fds(uint32_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%u/fd", pid);
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	DIR *d = fdopendir(dfd);
	if (!d) {
		close(dfd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		struct stat st;
		if (e->d_name[0] == '.')
			continue;
		if (fstatat(dfd, e->d_name, &st, 0) == 0 &&
		    st.st_dev == store_dev && S_ISREG(st.st_mode))
			add_mapper(st.st_dev, st.st_ino, pid, 0, 0, 0);
	}
	closedir(d);
}

static void
scan(void)
{
	struct stat st;
	scanned = 1;
	if (stat(zipc__dir(), &st) < 0)
		return;
	store_dev = st.st_dev;
	if (!realpath(zipc__dir(), store_real))
		store_real[0] = 0;
	DIR *d = opendir("/proc");
	if (!d)
		return;
	uint32_t self = (uint32_t)getpid();
	struct dirent *e;
	while ((e = readdir(d))) {
		char *end;
		unsigned long pid = strtoul(e->d_name, &end, 10);
		if (*end || !pid || pid == self)
			continue;
		scan_maps((uint32_t)pid);
		scan_fds((uint32_t)pid);
	}
	closedir(d);
}

void
users_rescan(void)
{
	n_mappers = 0;
	n_deleted = 0;
	scanned = 0;
	scan_blind = 0;
}

void
zobj_add_user(struct zobj *o, uint32_t pid, uint64_t start, int alive,
	      char role)
{
	if (!pid)
		return;
	for (int i = 0; i < o->nusers; i++) {
		struct zuser *u = &o->users[i];
		if (u->pid != pid || (start && u->start && u->start != start))
			continue;
		/* The same process twice: keep the most telling role. */
		if (role != ZR_MAP && u->role == ZR_MAP)
			u->role = role;
		u->alive |= alive;
		return;
	}
	if (o->nusers < ZU_MAX)
		o->users[o->nusers++] = (struct zuser){pid, start, alive, role};
}

/* The holder of a lock: the tid in the low half of lk_word; whether that
 * thread is the holder (start time and all) is the lock's to say. */
void
zobj_add_lock(struct zobj *o, const struct zipc_lock *lk)
{
	uint64_t w = ld_relaxed(&lk->lk_word);
	uint32_t tid = (uint32_t)w & ZIPC_LOCK_TID_MASK;
	if (tid)
		zobj_add_user(o, tid, 0, zipc__lock_owner_alive(lk), ZR_LOCK);
}

void
zobj_finish(struct zobj *o)
{
	if (o->err) {
		/* Nothing inside can be trusted: show what the file says. */
		char path[4096];
		struct stat st;
		o->size = o->msgs = o->bytes = o->nsems = -1;
		o->nusers = 0;
		o->anon_waiters = 0;
		if (zipc__path(path, sizeof(path), o->fname) == 0 &&
		    stat(path, &st) == 0) {
			o->uid = o->cuid = st.st_uid;
			o->gid = o->cgid = st.st_gid;
			o->mode = st.st_mode & 0777;
			o->fsize = (uint64_t)st.st_size;
			o->dev = st.st_dev;
			o->ino = st.st_ino;
		}
	}
	if (!scanned)
		scan();
	if (o->ino)
		for (size_t i = 0; i < n_mappers; i++)
			if (mappers[i].ino == o->ino &&
			    mappers[i].dev == o->dev)
				zobj_add_user(o, mappers[i].pid, 0, 1, ZR_MAP);
	o->live_users = o->dead_users = 0;
	for (int i = 0; i < o->nusers; i++) {
		if (o->users[i].alive)
			o->live_users++;
		else
			o->dead_users++;
	}
	/*
	 * Sleepers counted without a pid and nobody alive mapping the
	 * object: they were killed in their sleep -- unless some processes
	 * could not be looked at (another user's, for a non-root caller),
	 * which may be those very sleepers.
	 */
	int dead = o->dead_users ||
		   (o->anon_waiters && !o->live_users && !scan_blind);
	o->stale = !o->err && !o->live_users && (dead || o->removed);
}

int
store_stat(const char *fname, struct zobj *o)
{
	char path[4096];
	struct stat st;
	int r = zipc__path(path, sizeof(path), fname);
	if (r < 0)
		return r;
	if (stat(path, &st) < 0)
		return -errno;
	o->dev = st.st_dev;
	o->ino = st.st_ino;
	return 0;
}

const char *
user_name(uint32_t uid, char *buf, size_t len)
{
	struct passwd *pw = getpwuid(uid);
	if (pw)
		snprintf(buf, len, "%s", pw->pw_name);
	else
		snprintf(buf, len, "%u", uid);
	return buf;
}

const char *
group_name(uint32_t gid, char *buf, size_t len)
{
	struct group *gr = getgrgid(gid);
	if (gr)
		snprintf(buf, len, "%s", gr->gr_name);
	else
		snprintf(buf, len, "%u", gid);
	return buf;
}

const char *
perm_string(uint32_t mode, char *buf)
{
	static const char rwx[] = "rwxrwxrwx";
	for (int i = 0; i < 9; i++)
		buf[i] = (mode & (0400u >> i)) ? rwx[i] : '-';
	buf[9] = 0;
	return buf;
}

void
st_line(FILE *f, const char *field, const char *fmt, ...)
{
	va_list ap;
	fprintf(f, "%-16s ", field);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

int
posix_walk(const char *ns, int (*fn)(const char *name, void *arg), void *arg)
{
	char path[4096], name[NAME_MAX + 2];
	if (zipc__path(path, sizeof(path), ns) < 0)
		return 0;
	DIR *d = opendir(path);
	if (!d)
		return 0; /* no such namespace yet: no objects */
	struct dirent *e;
	int r = 0;
	while (!r && (e = readdir(d))) {
		/* Dot files: ".", "..", and creators' temporaries. */
		if (e->d_name[0] == '.' ||
		    (e->d_type != DT_REG && e->d_type != DT_UNKNOWN))
			continue;
		snprintf(name, sizeof(name), "/%s", e->d_name);
		r = fn(name, arg);
	}
	closedir(d);
	return r;
}

int
zwalk_emit(const struct zwalk *w, struct zobj *z, int r)
{
	if (r == -ENOENT || r == -EIDRM)
		return 0;
	if (r < 0) {
		z->err = -r;
		if (z->kind->posix)
			store_stat(z->fname, z);
	}
	zobj_finish(z);
	return w->fn(z, w->arg);
}

int
posix_list(const char *ns, const struct zkind *kind,
	   int (*one)(const char *name, void *arg),
	   int (*fn)(struct zobj *z, void *arg), void *arg)
{
	struct zwalk w = {fn, arg};
	char dir[32];
	snprintf(dir, sizeof(dir), "zipc.posix-%s", ns);
	int r = posix_walk(dir, one, &w);
	return r ? r : posix_deleted(ns, kind, fn, arg);
}

void
bad_option(const char *cmd, char **argv, int c, int idx,
	   const struct option *opts)
{
	const char *typed = argv[optind - 1];
	if (c != '?' && c != ':') {
		/* A real option, but not this command's. */
		if (idx >= 0)
			die(EXIT_USAGE,
			    "%s: option '--%s' is not for this "
			    "command (try 'zipc %s --help')",
			    cmd, opts[idx].name, cmd);
		die(EXIT_USAGE,
		    "%s: option '-%c' is not for this command "
		    "(try 'zipc %s --help')",
		    cmd, c, cmd);
	}
	if (optopt && optopt < 128 && typed && typed[0] == '-' &&
	    typed[1] != '-' && !strchr(typed, optopt))
		typed = NULL; /* "-x" grouped: name the letter */
	if (optopt && optopt < 128 && (!typed || typed[1] != '-'))
		die(EXIT_USAGE,
		    "%s: unknown option or missing value: '-%c' "
		    "(try 'zipc %s --help')",
		    cmd, optopt, cmd);
	die(EXIT_USAGE,
	    "%s: unknown option or missing value: '%s' (try "
	    "'zipc %s --help')",
	    cmd, typed ? typed : "?", cmd);
}

int
zobj_open(const char *fname, uint32_t kind, uint32_t sig, uint64_t min_size,
	  struct zipc_obj *o)
{
	int r = zipc__obj_open(fname, kind, sig, o);
	if (r == 0 && o->o_size < min_size) {
		/* A header that agrees with a file too short for the
		 * control block: reading on would fault. */
		zipc__obj_close(o);
		r = -EBADMSG;
	}
	return r;
}

int
posix_deleted(const char *ns, const struct zkind *kind,
	      int (*fn)(struct zobj *z, void *arg), void *arg)
{
	if (!scanned)
		scan();
	for (size_t i = 0; i < n_deleted; i++) {
		const struct deleted *d = &deleted[i];
		char path[128];
		struct stat st;
		struct zobj z;
		if (strcmp(d->ns, ns))
			continue;
		memset(&z, 0, sizeof(z));
		z.kind = kind;
		z.id = -1;
		z.removed = 1;
		z.size = z.msgs = z.bytes = z.nsems = -1;
		snprintf(z.name, sizeof(z.name), "%s", d->name);
		snprintf(z.fname, sizeof(z.fname), "zipc.posix-%s/%s", ns,
			 d->name + 1);
		z.dev = store_dev;
		z.ino = d->ino;
		/* Owner and mode from the mapping itself (root only). */
		snprintf(path, sizeof(path), "/proc/%u/map_files/%s", d->pid,
			 d->range);
		if (stat(path, &st) == 0) {
			z.uid = z.cuid = st.st_uid;
			z.gid = z.cgid = st.st_gid;
			z.mode = st.st_mode & 0777;
			z.fsize = (uint64_t)st.st_size;
		}
		zobj_finish(&z);
		int r = fn(&z, arg);
		if (r)
			return r;
	}
	return 0;
}

/*
 * Is a thread of @pid asleep in FUTEX_WAIT on one of the words at file
 * offsets @offs of the mapping @m? /proc/PID/task/TID/syscall shows a
 * sleeping thread's system call and arguments (root, or our own
 * processes): futex's first argument is the word's address.
 */
static int
asleep_on(const struct mapper *m, const uint64_t *offs, int noffs)
{
	char path[64], line[256];
	snprintf(path, sizeof(path), "/proc/%u/task", m->pid);
	DIR *d = opendir(path);
	if (!d)
		return 0;
	struct dirent *e;
	int found = 0;
	while (!found && (e = readdir(d))) {
		char file[384];
		long nr;
		unsigned long long addr;
		if (e->d_name[0] == '.')
			continue;
		snprintf(file, sizeof(file), "%s/%s/syscall", path, e->d_name);
		FILE *f = fopen(file, "re");
		if (!f)
			continue;
		if (fgets(line, sizeof(line), f) &&
		    sscanf(line, "%ld %llx", &nr, &addr) == 2 &&
		    nr == SYS_futex && addr >= m->start && addr < m->end)
			for (int i = 0; i < noffs; i++)
				if (addr - m->start + m->pgoff == offs[i])
					found = 1;
		fclose(f);
	}
	closedir(d);
	return found;
}

void
zobj_find_sleepers(struct zobj *o, const uint64_t *offs, int noffs)
{
	if (!scanned)
		scan();
	for (size_t i = 0; i < n_mappers; i++) {
		const struct mapper *m = &mappers[i];
		if (m->ino == o->ino && m->dev == o->dev && m->end &&
		    asleep_on(m, offs, noffs))
			zobj_add_user(o, m->pid, 0, 1, ZR_WAIT);
	}
}
