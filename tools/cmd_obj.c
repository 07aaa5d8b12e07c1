/* SPDX-License-Identifier: MIT */
/*
 * zipc ls, stat, rm and limits: the ipcs/ipcrm/lsipc of zipc. Each works
 * on struct zobj records that the kinds' list functions produce, so a new
 * kind shows up here by adding its table entry to zkinds[].
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "layout.h"
#include "registry.h"
#include "sem/sem.h"
#include "shm.h"
#include "store.h"
#include "cli.h"
#include "sysctl.h"

/* ---- collecting ---------------------------------------------------------- */

struct zlist {
	struct zobj *v;
	size_t n, cap;
};

static int
collect(struct zobj *z, void *arg)
{
	struct zlist *l = arg;
	if (l->n == l->cap) {
		size_t cap = l->cap ? l->cap * 2 : 32;
		struct zobj *p = realloc(l->v, cap * sizeof(*p));
		if (!p)
			die(1, "out of memory");
		l->v = p;
		l->cap = cap;
	}
	l->v[l->n++] = *z;
	return 0;
}

static int
kind_index(const struct zkind *k)
{
	for (int i = 0; zkinds[i]; i++)
		if (zkinds[i] == k)
			return i;
	return 99;
}

static int
cmp_obj(const void *a, const void *b)
{
	const struct zobj *x = a, *y = b;
	int kx = kind_index(x->kind), ky = kind_index(y->kind);
	if (kx != ky)
		return kx - ky;
	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return strcmp(x->name, y->name);
}

static void
collect_all(const struct zfilter *f, struct zlist *l)
{
	for (int i = 0; zkinds[i]; i++)
		if (filter_kind(f, zkinds[i]))
			zkinds[i]->list(collect, l);
	if (l->n)
		qsort(l->v, l->n, sizeof(*l->v), cmp_obj);
}

/* Common options of ls/rm/stat. Returns the getopt character or -1. */
static const struct option filter_opts[] = {
	{"posix", no_argument, NULL, 'P'},
	{"xsi", no_argument, NULL, 'X'},
	{"json", no_argument, NULL, 'j'},
	{"stale", no_argument, NULL, 'Z'},
	{"dry-run", no_argument, NULL, 'n'},
	{"layout", no_argument, NULL, 'L'},
	{"all", no_argument, NULL, 'A'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int
filter_opt(int c, struct zfilter *f)
{
	switch (c) {
	case 'q':
		f->q = 1;
		return 1;
	case 's':
		f->s = 1;
		return 1;
	case 'm':
		f->m = 1;
		return 1;
	case 'P':
		f->posix = 1;
		return 1;
	case 'X':
		f->xsi = 1;
		return 1;
	}
	return 0;
}

/* ---- ls --------------------------------------------------------------------
 */

static const char *
state_text(const struct zobj *z)
{
	if (z->err)
		return z->err == EPROTO	   ? "EPROTO"
		       : z->err == EACCES  ? "EACCES"
		       : z->err == EBADMSG ? "EBADMSG"
		       : z->err == EAGAIN  ? "building"
					   : "error";
	if (z->stale)
		return z->removed ? "removed,stale" : "stale";
	return z->removed ? "removed" : "-";
}

/* "123,456(dead)" for users (@waiters 0) or sleepers (@waiters 1). */
static void
users_text(const struct zobj *z, int waiters, char *buf, size_t len)
{
	size_t n = 0;
	buf[0] = 0;
	for (int i = 0; i < z->nusers && n + 1 < len; i++) {
		const struct zuser *u = &z->users[i];
		if ((u->role == ZR_WAIT) != waiters)
			continue;
		n += (size_t)snprintf(buf + n, len - n, "%s%u%s", n ? "," : "",
				      u->pid, u->alive ? "" : "(dead)");
	}
	/* Sleepers a queue or POSIX semaphore counts but nobody was found
	 * asleep for: killed in their sleep, or about to sleep. */
	uint32_t seen = 0;
	for (int i = 0; i < z->nusers; i++)
		seen += z->users[i].role == ZR_WAIT && z->users[i].alive;
	if (waiters && z->anon_waiters > seen && n + 1 < len)
		n += (size_t)snprintf(buf + n, len - n, "%s%u counted",
				      n ? "," : "", z->anon_waiters - seen);
	if (n >= len && len > 4)
		strcpy(buf + len - 4, "...");
	if (!buf[0])
		snprintf(buf, len, "-");
}

enum col {
	C_KIND,
	C_ID,
	C_KEY,
	C_OWNER,
	C_PERMS,
	C_SIZE,
	C_MSGS,
	C_BYTES,
	C_SEMS,
	C_USERS,
	C_WAIT,
	C_STATE,
	C_N
};
static const char *const col_names[C_N] = {
	"KIND", "ID",	 "KEY/NAME", "OWNER", "PERMS",	 "SIZE",
	"MSGS", "BYTES", "SEMS",     "USERS", "WAITERS", "STATE",
};
/* Numbers align right. */
static const int col_right[C_N] = {0, 1, 0, 0, 0, 1, 1, 1, 1, 0, 0, 0};

static void
num_or_dash(char *buf, size_t len, int64_t v)
{
	if (v < 0)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%lld", (long long)v);
}

static void
row_cells(const struct zobj *z, char cells[C_N][512])
{
	char b[64];
	snprintf(cells[C_KIND], 512, "%s", z->kind->name);
	if (z->kind->posix) {
		snprintf(cells[C_ID], 512, "-");
		snprintf(cells[C_KEY], 512, "%s", z->name);
	} else {
		snprintf(cells[C_ID], 512, "%d", z->id);
		snprintf(cells[C_KEY], 512, "0x%08x", (unsigned)z->key);
	}
	snprintf(cells[C_OWNER], 512, "%s", user_name(z->uid, b, sizeof(b)));
	perm_string(z->mode, b);
	snprintf(cells[C_PERMS], 512, "%s", b);
	num_or_dash(cells[C_SIZE], 512, z->err ? -1 : z->size);
	num_or_dash(cells[C_MSGS], 512, z->msgs);
	num_or_dash(cells[C_BYTES], 512, z->bytes);
	num_or_dash(cells[C_SEMS], 512, z->nsems);
	users_text(z, 0, cells[C_USERS], 512);
	users_text(z, 1, cells[C_WAIT], 512);
	snprintf(cells[C_STATE], 512, "%s", state_text(z));
}

static int
term_width(void)
{
	struct winsize ws;
	const char *c = getenv("COLUMNS");
	char *end;
	long v = c ? strtol(c, &end, 10) : 0;
	if (c && *c && !*end && v > 0 && v < 100000)
		return (int)v;
	if (isatty(1) && ioctl(1, TIOCGWINSZ, &ws) == 0 && ws.ws_col)
		return ws.ws_col;
	return 0; /* not a terminal: never cut */
}

static void
print_table(const struct zlist *l)
{
	size_t n = l->n;
	char(*cells)[C_N][512] = calloc(n ? n : 1, sizeof(*cells));
	int w[C_N];
	if (!cells)
		die(1, "out of memory");
	for (int c = 0; c < C_N; c++)
		w[c] = (int)strlen(col_names[c]);
	for (size_t i = 0; i < n; i++) {
		row_cells(&l->v[i], cells[i]);
		for (int c = 0; c < C_N; c++)
			if ((int)strlen(cells[i][c]) > w[c])
				w[c] = (int)strlen(cells[i][c]);
	}
	/* Fit a terminal: the pid lists and names give way first. */
	int tw = term_width(), total = C_N - 1;
	for (int c = 0; c < C_N; c++)
		total += w[c];
	static const int shrink[] = {C_USERS, C_WAIT, C_KEY};
	for (size_t k = 0; tw && total > tw && k < 3; k++) {
		int c = shrink[k], min = (int)strlen(col_names[c]);
		if (min < 8)
			min = 8;
		int cut = total - tw;
		if (w[c] - cut < min)
			cut = w[c] > min ? w[c] - min : 0;
		w[c] -= cut;
		total -= cut;
	}
	for (int c = 0; c < C_N; c++)
		printf(col_right[c] ? "%s%*s" : "%s%-*s", c ? " " : "",
		       c == C_N - 1 ? 0 : w[c], col_names[c]);
	putchar('\n');
	for (size_t i = 0; i < n; i++) {
		for (int c = 0; c < C_N; c++) {
			char *s = cells[i][c];
			if ((int)strlen(s) > w[c]) {
				if (w[c] >= 3)
					strcpy(s + w[c] - 3, "...");
				s[w[c]] = 0;
			}
			if (c == C_N - 1)
				printf(" %s", s);
			else if (col_right[c])
				printf("%s%*s", c ? " " : "", w[c], s);
			else
				printf("%s%-*s", c ? " " : "", w[c], s);
		}
		putchar('\n');
	}
	free(cells);
}

static void
json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '"' || ch == '\\')
			printf("\\%c", ch);
		else if (ch < 0x20 || ch == 0x7f)
			printf("\\u%04x", ch);
		else
			putchar(ch);
	}
	putchar('"');
}

static const char *
role_name(char r)
{
	switch (r) {
	case ZR_MAP:
		return "maps";
	case ZR_ATTACH:
		return "attached";
	case ZR_WAIT:
		return "waiting";
	case ZR_UNDO:
		return "undo";
	case ZR_NOTIFY:
		return "notify";
	case ZR_LOCK:
		return "lock";
	}
	return "?";
}

static void
print_json(const struct zlist *l)
{
	char b[64];
	printf("[");
	for (size_t i = 0; i < l->n; i++) {
		const struct zobj *z = &l->v[i];
		printf("%s\n  {\"kind\": \"%s\", ", i ? "," : "",
		       z->kind->name);
		if (z->kind->posix) {
			printf("\"name\": ");
			json_str(z->name);
		} else {
			printf("\"id\": %d, \"key\": \"0x%08x\"", z->id,
			       (unsigned)z->key);
		}
		printf(", \"owner\": ");
		json_str(user_name(z->uid, b, sizeof(b)));
		printf(", \"uid\": %u, \"gid\": %u, \"cuid\": %u, "
		       "\"cgid\": %u, \"mode\": \"%04o\"",
		       z->uid, z->gid, z->cuid, z->cgid, z->mode & 0777);
		if (z->size >= 0)
			printf(", \"size\": %lld", (long long)z->size);
		if (z->msgs >= 0)
			printf(", \"messages\": %lld, \"bytes\": %lld",
			       (long long)z->msgs, (long long)z->bytes);
		if (z->nsems >= 0)
			printf(", \"%s\": %lld",
			       z->kind->posix ? "value" : "nsems",
			       (long long)z->nsems);
		printf(", \"users\": [");
		for (int k = 0; k < z->nusers; k++)
			printf("%s{\"pid\": %u, \"alive\": %s, \"role\": "
			       "\"%s\"}",
			       k ? ", " : "", z->users[k].pid,
			       z->users[k].alive ? "true" : "false",
			       role_name(z->users[k].role));
		printf("], \"waiters_counted\": %u, \"removed\": %s, "
		       "\"stale\": %s, \"error\": ",
		       z->anon_waiters, z->removed ? "true" : "false",
		       z->stale ? "true" : "false");
		if (z->err)
			json_str(strerror(z->err));
		else
			printf("null");
		printf("}");
	}
	printf("%s]\n", l->n ? "\n" : "");
}

int
cmd_ls(int argc, char **argv)
{
	struct zfilter f = {0};
	struct zlist l = {0};
	int json = 0, c, idx = -1;
	while ((idx = -1,
		c = getopt_long(argc, argv, "qsmh", filter_opts, &idx)) != -1) {
		if (filter_opt(c, &f))
			continue;
		if (c == 'j')
			json = 1;
		else if (c == 'h') {
			printf("usage: zipc ls [-q] [-s] [-m] [--posix] "
			       "[--xsi] "
			       "[--json]\n");
			return 0;
		} else
			bad_option("ls", argv, c, idx, filter_opts);
	}
	if (optind < argc)
		die(EXIT_USAGE, "ls: unexpected argument '%s'", argv[optind]);
	collect_all(&f, &l);
	if (json)
		print_json(&l);
	else
		print_table(&l);
	free(l.v);
	return fflush(stdout) ? 1 : 0;
}

/* ---- stat ------------------------------------------------------------------
 */

#define HOFF(m)                                                             \
	printf("  %-24s %5zu %4zu\n", #m, offsetof(struct zipc_seg_hdr, m), \
	       sizeof(((struct zipc_seg_hdr *)0)->m))

static void
print_header_layout(void)
{
	printf("struct zipc_seg_hdr (at 0, %zu bytes; ABI %d.%d)\n"
	       "  %-24s %5s %4s\n",
	       sizeof(struct zipc_seg_hdr), ZIPC_ABI_MAJOR, ZIPC_ABI_MINOR,
	       "field", "off", "size");
	HOFF(sh_magic);
	HOFF(sh_abi_major);
	HOFF(sh_abi_minor);
	HOFF(sh_layout_sig);
	HOFF(sh_hdr_size);
	HOFF(sh_state);
	HOFF(sh_kind);
	HOFF(sh_size);
	HOFF(sh_generation);
	HOFF(sh_resv);
}

static void
print_header(const struct zobj *z)
{
	char path[4096];
	struct zipc_seg_hdr h;
	if (z->kind == &zkind_pshm)
		return; /* no header */
	if (zipc__path(path, sizeof(path), z->fname) < 0)
		return;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return;
	ssize_t n = pread(fd, &h, sizeof(h), 0);
	close(fd);
	if (n != (ssize_t)sizeof(h)) {
		st_line(stdout, "header", "short file (%zd bytes)", n);
		return;
	}
	static const char *const states[] = {"INIT", "READY", "REMOVED"};
	st_line(stdout, "magic", "0x%08x (%s)", h.sh_magic,
		h.sh_magic == ZIPC_SEG_MAGIC ? "zipc" : "not zipc");
	st_line(stdout, "abi", "%u.%u (this zipc: %d.%d)", h.sh_abi_major,
		h.sh_abi_minor, ZIPC_ABI_MAJOR, ZIPC_ABI_MINOR);
	st_line(stdout, "layout_sig", "0x%08x (this zipc: 0x%08x)",
		h.sh_layout_sig, z->kind->sig);
	st_line(stdout, "hdr_size", "%u", h.sh_hdr_size);
	st_line(stdout, "state", "%s",
		h.sh_state < 3 ? states[h.sh_state] : "?");
	st_line(stdout, "hdr_kind", "%u", h.sh_kind);
	st_line(stdout, "file_size", "%llu", (unsigned long long)h.sh_size);
	st_line(stdout, "generation", "%llu",
		(unsigned long long)h.sh_generation);
}

static void
print_stat(const struct zobj *z)
{
	char b[64], path[4096];
	st_line(stdout, "kind", "%s (%s)", z->kind->name, z->kind->title);
	if (z->kind->posix) {
		st_line(stdout, "name", "%s", z->name);
	} else {
		st_line(stdout, "id", "%d", z->id);
		st_line(stdout, "key", "0x%08x", (unsigned)z->key);
	}
	if (zipc__path(path, sizeof(path), z->fname) == 0)
		st_line(stdout, "file", "%s", path);
	st_line(stdout, "uid", "%u (%s)", z->uid,
		user_name(z->uid, b, sizeof(b)));
	st_line(stdout, "gid", "%u (%s)", z->gid,
		group_name(z->gid, b, sizeof(b)));
	st_line(stdout, "cuid", "%u", z->cuid);
	st_line(stdout, "cgid", "%u", z->cgid);
	st_line(stdout, "mode", "%04o (%s)", z->mode & 0777,
		perm_string(z->mode, b));
	if (z->size >= 0)
		st_line(stdout, "size", "%lld", (long long)z->size);
	st_line(stdout, "file_bytes", "%llu", (unsigned long long)z->fsize);
	print_header(z);
	if (z->err)
		st_line(stdout, "error", "%s", strerror(z->err));
	else
		z->kind->stat(stdout, z);
	if (!z->nusers)
		st_line(stdout, "users", "none");
	for (int i = 0; i < z->nusers; i++)
		st_line(stdout, "user", "%u %s %s", z->users[i].pid,
			role_name(z->users[i].role),
			z->users[i].alive ? "alive" : "dead");
	st_line(stdout, "state", "%s", state_text(z));
}

int
cmd_stat(int argc, char **argv)
{
	struct zfilter f = {0};
	int layout = 0, c, idx = -1;
	while ((idx = -1,
		c = getopt_long(argc, argv, "qsmh", filter_opts, &idx)) != -1) {
		if (filter_opt(c, &f))
			continue;
		if (c == 'L')
			layout = 1;
		else if (c == 'h') {
			printf("usage: zipc stat [-q|-s|-m] [--posix|--xsi] "
			       "OBJECT\n       zipc stat --layout [OBJECT]\n");
			return 0;
		} else
			bad_option("stat", argv, c, idx, filter_opts);
	}
	if (argc - optind > 1)
		die(EXIT_USAGE, "stat: one object at a time");
	if (optind == argc) {
		if (!layout)
			die(EXIT_USAGE, "stat: which object? (zipc stat "
					"OBJECT; zipc ls lists them)");
		print_header_layout();
		/* msg and mq share one engine and one layout. */
		zkind_msg.layout(stdout);
		zkind_sem.layout(stdout);
		zkind_psem.layout(stdout);
		zkind_shm.layout(stdout);
		return 0;
	}
	struct zobj z;
	if (spec_find(argv[optind], &f, &z) < 0)
		die(1, "stat: no object '%s'", argv[optind]);
	if (layout) {
		print_header_layout();
		z.kind->layout(stdout);
		return 0;
	}
	print_stat(&z);
	return fflush(stdout) ? 1 : 0;
}

/* ---- rm --------------------------------------------------------------------
 */

static void
obj_label(const struct zobj *z, char *buf, size_t len)
{
	if (z->kind->posix)
		snprintf(buf, len, "%s %s", z->kind->name, z->name);
	else
		snprintf(buf, len, "%s %d", z->kind->name, z->id);
}

/*
 * An object zipc cannot read (EPROTO: made by an incompatible zipc;
 * EBADMSG: corrupt) has no ipc_perm to check and no engine to remove it:
 * remove its file if the caller owns it (or is root), as unlink in the
 * sticky store directory would allow, and free its XSI registry slot.
 */
static int
remove_unreadable(const struct zobj *z)
{
	char path[4096];
	struct stat st;
	int r = zipc__path(path, sizeof(path), z->fname);
	if (r < 0)
		return r;
	if (z->err != EPROTO && z->err != EBADMSG)
		return -z->err;
	if (lstat(path, &st) < 0)
		return -errno;
	if (geteuid() != 0 && st.st_uid != geteuid())
		return -EPERM;
	if (unlink(path) < 0)
		return -errno;
	if (z->kind->xsi_type >= 0)
		zipc__xsi_release((enum zipc_xsi_type)z->kind->xsi_type, z->id);
	return 0;
}

int
cmd_rm(int argc, char **argv)
{
	struct zfilter f = {0};
	int stale = 0, dry = 0, all = 0, c, failed = 0, idx = -1;
	/* ipcrm's -Q/-M/-S KEY: specs of their own kind. */
	char(*keyspecs)[48] = calloc((size_t)argc, sizeof(*keyspecs));
	int nkeys = 0;
	if (!keyspecs)
		die(1, "out of memory");
	while ((idx = -1, c = getopt_long(argc, argv, "qsmnhQ:M:S:",
					  filter_opts, &idx)) != -1) {
		if (filter_opt(c, &f))
			continue;
		if (c == 'Z')
			stale = 1;
		else if (c == 'n')
			dry = 1;
		else if (c == 'A')
			all = 1;
		else if (c == 'Q' || c == 'M' || c == 'S') {
			const char *k = c == 'Q'   ? "msg"
					: c == 'M' ? "shm"
						   : "sem";
			char opt[4] = {'-', (char)c, 0};
			snprintf(keyspecs[nkeys++], sizeof(*keyspecs),
				 "%s:0x%08x", k,
				 (unsigned)parse_key(opt, optarg));
		} else if (c == 'h') {
			printf("usage: zipc rm [-q|-s|-m] [--posix|--xsi] "
			       "OBJECT...\n"
			       "       zipc rm [-Q KEY] [-M KEY] [-S KEY] "
			       "(msg, shm, sem key, as ipcrm)\n"
			       "       zipc rm --stale [-n|--dry-run] [-q] "
			       "[-s] "
			       "[-m] [--posix] [--xsi]\n"
			       "       zipc rm --all [-n] [-q] [-s] [-m] "
			       "[--posix] [--xsi]\n");
			free(keyspecs);
			return 0;
		} else
			bad_option("rm", argv, c, idx, filter_opts);
	}
	struct zlist l = {0};
	if (stale && all)
		die(EXIT_USAGE, "rm: --stale or --all, not both");
	if (stale || all) {
		if (optind < argc || nkeys)
			die(EXIT_USAGE, "rm: --%s takes no objects ('%s')",
			    stale ? "stale" : "all",
			    nkeys ? keyspecs[0] : argv[optind]);
		struct zlist every = {0};
		collect_all(&f, &every);
		for (size_t i = 0; i < every.n; i++)
			if (every.v[i].stale || (all && !every.v[i].removed))
				collect(&every.v[i], &l);
		free(every.v);
	} else {
		if (optind == argc && !nkeys)
			die(EXIT_USAGE, "rm: which objects? (zipc rm OBJECT..."
					" or zipc rm --stale)");
		if (dry)
			die(EXIT_USAGE, "rm: --dry-run goes with --stale or "
					"--all");
		/* Resolve every spec before removing anything: a bad one
		 * leaves everything as it was. */
		for (int i = 0; i < nkeys + argc - optind; i++) {
			const char *spec = i < nkeys ? keyspecs[i]
						     : argv[optind + i - nkeys];
			struct zobj z;
			if (spec_find(spec, &f, &z) < 0)
				die(1, "rm: no object '%s' (nothing removed)",
				    spec);
			collect(&z, &l);
		}
	}
	free(keyspecs);
	for (size_t i = 0; i < l.n; i++) {
		char label[NAME_MAX + 16];
		const struct zobj *z = &l.v[i];
		obj_label(z, label, sizeof(label));
		if (dry) {
			printf("would remove %s\n", label);
			continue;
		}
		if (stale) {
			/* Still stale now? A process may have come since. */
			struct zobj now;
			struct zfilter one = {0};
			char spec[NAME_MAX + 16];
			if (z->kind->posix)
				snprintf(spec, sizeof(spec), "%s:%s",
					 z->kind->name, z->name);
			else
				snprintf(spec, sizeof(spec), "%s:%d",
					 z->kind->name, z->id);
			users_rescan();
			if (spec_find(spec, &one, &now) < 0 || !now.stale)
				continue;
		}
		int r = z->err ? remove_unreadable(z) : z->kind->remove(z);
		if (r == -EINVAL || r == -ENOENT || r == -EIDRM) {
			if (!stale) { /* gone meanwhile: as ipcrm says */
				err_msg("rm: %s: already removed", label);
				failed = 1;
			}
		} else if (r < 0) {
			err_msg("rm: cannot remove %s: %s", label,
				strerror(-r));
			failed = 1;
		} else if (stale || all) {
			printf("removed %s\n", label);
		}
	}
	free(l.v);
	fflush(stdout);
	return failed;
}

/* ---- limits ----------------------------------------------------------------
 */


struct count_arg {
	uint64_t n, sems;
};

static int
count_one(struct zobj *z, void *arg)
{
	struct count_arg *c = arg;
	c->n++;
	if (z->nsems > 0 && z->kind == &zkind_sem)
		c->sems += (uint64_t)z->nsems;
	return 0;
}

static void
lim(const char *res, const char *desc, unsigned long long limit,
    const char *unit, long long used)
{
	char u[32] = "-", l[32] = "unlimited";
	if (limit < (1ull << 62))
		snprintf(l, sizeof(l), "%llu", limit);
	if (used >= 0)
		snprintf(u, sizeof(u), "%lld", used);
	printf("%-15s %-44s %20s %-6s %8s\n", res, desc, l, unit, u);
}

int
cmd_limits(int argc, char **argv)
{
	int c, idx = -1;
	while ((idx = -1,
		c = getopt_long(argc, argv, "h", filter_opts, &idx)) != -1) {
		if (c == 'h') {
			printf("usage: zipc limits\n");
			return 0;
		}
		bad_option("limits", argv, c, idx, filter_opts);
	}
	if (optind < argc)
		die(EXIT_USAGE, "limits: unexpected argument '%s'",
		    argv[optind]);
	struct count_arg cm = {0}, cs = {0}, ch = {0}, cq = {0}, cp = {0};
	uint32_t n;
	uint64_t pages;
	zkind_msg.list(count_one, &cm);
	zkind_sem.list(count_one, &cs);
	zkind_shm.list(count_one, &ch);
	zkind_mq.list(count_one, &cq);
	zkind_psem.list(count_one, &cp);
	zipc__xsi_usage(ZIPC_XSI_SHM, &n, &pages);
	unsigned long long sem[4] = {32000, 1024000000, 500, 32000};
	FILE *fp = fopen("/proc/sys/kernel/sem", "re");
	if (fp) {
		if (fscanf(fp, "%llu %llu %llu %llu", &sem[0], &sem[1], &sem[2],
			   &sem[3]) != 4) {
			sem[0] = 32000;
			sem[1] = 1024000000;
			sem[2] = 500;
			sem[3] = 32000;
		}
		fclose(fp);
	}
	printf("%-15s %-44s %20s %-6s %8s\n", "RESOURCE", "DESCRIPTION",
	       "LIMIT", "UNIT", "USED");
	lim("MSGMNI", "XSI message queues",
	    zipc__sysctl_u64("/proc/sys/kernel/msgmni", 32000), "queues",
	    (long long)cm.n);
	lim("MSGMAX", "XSI message size",
	    zipc__sysctl_u64("/proc/sys/kernel/msgmax", 8192), "bytes", -1);
	lim("MSGMNB", "XSI queue size, default",
	    zipc__sysctl_u64("/proc/sys/kernel/msgmnb", 16384), "bytes", -1);
	lim("MQ_QUEUES", "POSIX message queues",
	    zipc__sysctl_u64("/proc/sys/fs/mqueue/queues_max", 256), "queues",
	    (long long)cq.n);
	lim("MQ_MSG_MAX", "POSIX queue length, most",
	    zipc__sysctl_u64("/proc/sys/fs/mqueue/msg_max", 10), "msgs", -1);
	lim("MQ_MSG_DEF", "POSIX queue length, default",
	    zipc__sysctl_u64("/proc/sys/fs/mqueue/msg_default", 10), "msgs", -1);
	lim("MQ_SIZE_MAX", "POSIX message size, most",
	    zipc__sysctl_u64("/proc/sys/fs/mqueue/msgsize_max", 8192), "bytes", -1);
	lim("MQ_SIZE_DEF", "POSIX message size, default",
	    zipc__sysctl_u64("/proc/sys/fs/mqueue/msgsize_default", 8192), "bytes",
	    -1);
	lim("SEMMNI", "XSI semaphore sets", sem[3], "sets", (long long)cs.n);
	lim("SEMMSL", "semaphores per set", sem[0], "sems", -1);
	lim("SEMMNS", "semaphores, all sets", sem[1], "sems",
	    (long long)cs.sems);
	lim("SEMOPM", "operations per semop", sem[2], "ops", -1);
	lim("SEMVMX", "semaphore value, most", ZIPC_SEMVMX, "", -1);
	lim("SEM_VALUE_MAX", "POSIX semaphore value, most", SEM_VALUE_MAX, "",
	    -1);
	lim("PSEM", "POSIX named semaphores", ~0ull, "sems", (long long)cp.n);
	lim("SHMMNI", "XSI shared memory segments",
	    zipc__sysctl_u64("/proc/sys/kernel/shmmni", 4096), "segs",
	    (long long)ch.n);
	lim("SHMALL", "XSI shared memory, all segments",
	    zipc__sysctl_u64("/proc/sys/kernel/shmall", ~0ull), "pages",
	    (long long)pages);
	lim("SHMMAX", "XSI segment size, most",
	    zipc__sysctl_u64("/proc/sys/kernel/shmmax", ~0ull), "bytes", -1);
	lim("SHMMIN", "XSI segment size, least", 1, "bytes", -1);
	lim("SHM_ATT_MAX", "zipc: attaching processes per segment",
	    ZIPC_SHM_ATT_MAX, "procs", -1);
	lim("SEM_QMAX", "zipc: sleeping semops per set", ZIPC_SEM_QMAX, "procs",
	    -1);
	lim("SEM_QOPS", "zipc: operations of a sleeping semop", ZIPC_SEM_QOPS,
	    "ops", -1);
	lim("SEM_UNDO_MAX", "zipc: SEM_UNDO processes per set",
	    ZIPC_SEM_UNDO_MAX, "procs", -1);
	struct statvfs vfs;
	if (statvfs(zipc__dir(), &vfs) == 0)
		lim("STORE", "zipc: free space where objects live",
		    (unsigned long long)vfs.f_bavail * vfs.f_frsize, "bytes",
		    -1);
	printf("objects live in %s\n", zipc__dir());
	return fflush(stdout) ? 1 : 0;
}
