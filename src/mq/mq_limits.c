/* SPDX-License-Identifier: MIT */
/*
 * The limits the kernel keeps for POSIX queues outside any one queue: the
 * number of queues in the namespace (/proc/sys/fs/mqueue/queues_max,
 * ENOSPC) and the bytes each real user may pin (RLIMIT_MSGQUEUE, EMFILE),
 * as ipc/mqueue.c keeps them.
 *
 * What the kernel counts. mqueue_create_attr() refuses a new queue with
 * ENOSPC when mq_queues_count >= queues_max, unless the caller has
 * CAP_SYS_RESOURCE; mqueue_get_inode() then checks the attributes
 * (EINVAL) and charges mq_bytes = maxmsg * msgsize + maxmsg *
 * sizeof(struct msg_msg) + min(maxmsg, MQ_PRIO_MAX) *
 * sizeof(struct posix_msg_tree_node) to the creator's real uid
 * (ucounts), refusing with EMFILE past the creator's soft
 * RLIMIT_MSGQUEUE (no capability lifts that one). Both are given back
 * only in mqueue_evict_inode(): when the queue is unlinked *and* its last
 * descriptor is closed, so a queue that is unlinked but still open still
 * counts, and a queue that is closed but still named still counts.
 *
 * The ledger is the file system, so there is nothing to repair. Every
 * queue that counts has an accounting entry: a second hard link to its
 * object file in the store directory "zipc.posix-mq-acct", named
 * "<stamp>.<ruid>.<bytes>" (stamp: the object's sh_generation, unique; ruid
 * and bytes: whom it is charged to and how much). The namespace's count
 * and a user's sum are found by scanning the entries, so no counter can
 * be left wrong by a process killed between two writes: a charge is the
 * existence of a link, made or removed by one system call.
 *
 * An entry counts while its queue lives, which is decided from the file:
 *  - st_nlink >= 2: the queue still has its name (or its creator's
 *    temporary name, see below): it lives;
 *  - st_nlink == 1 (only the entry is left: unlinked): it lives while
 *    somebody has it open. Every zipc_queue_open holds flock(LOCK_SH) on
 *    its object descriptor, which the kernel drops when the last
 *    descriptor sharing that open file description is closed -- by
 *    mq_close, exec (O_CLOEXEC) or death -- and which fork shares, as
 *    fork shares an mqd_t. A scanner opens the entry and tries
 *    LOCK_EX|LOCK_NB: refused means somebody holds it; granted means
 *    the queue is destroyed, and the scanner unlinks the entry while it
 *    holds LOCK_EX (then the file itself goes with its last mapping).
 *    A scanner that may not open the file (another user's queue, mode
 *    0600) asks /proc/locks whether any lock is held on the inode, and
 *    only counts; the entry is removed by the next scanner that can open
 *    it.
 *
 * Ordering. Scans and charges run under flock(LOCK_EX) on the entry
 * directory (the namespace's accounting lock, dropped by the kernel if
 * its holder dies), so two creators cannot both take the last slot.
 *  - A creator, from the store's init callback while the object still
 *    has only its temporary name: LOCK_SH on its descriptor, accounting
 *    lock, scan, check, link the entry (mqlim.charge.linked), unlock;
 *    then the store publishes the name. Killed before the link: nothing
 *    was charged. Killed after it: the entry's file has two links (entry
 *    and temporary name) and no holder; zipc__store_sweep_tmp(), which
 *    every scan runs first, removes the dead creator's temporary name,
 *    and the entry is then reaped like any destroyed queue. No charge
 *    outlives its queue for longer than it takes somebody to scan.
 *  - An opener: open by name, LOCK_SH (blocking: a scanner holds LOCK_EX
 *    only while it unlinks), then fstat. st_nlink == 0 means a scanner
 *    destroyed the queue between the open and the lock (it had been
 *    unlinked and nobody held it): the open is taken back and retried as
 *    if the name had not been found, which is what a kernel mq_open
 *    ordered after that mq_unlink returns. Otherwise our lock was in
 *    place before any later scanner looks, so the queue is counted for
 *    as long as we hold it.
 *  - mq_unlink, and the close of a handle whose queue has lost its name,
 *    reap at once, so a destroyed queue's entry does not linger; any
 *    scan would reap it anyway.
 *
 * Limits of the scheme: the count is per store ($ZIPC_DIR) as the
 * kernel's is per IPC namespace; it counts queues made by this accounting
 * (an object file made by a build before it is not charged); and, as with
 * anything in a shared directory, a user who can write the store could
 * forge or delete entries -- zipc's limits bind cooperating programs. A
 * program that flock()s its own mqd_t with LOCK_UN drops its hold. A
 * fork() by another thread while this one holds the accounting lock (or a
 * scanner's LOCK_EX) gives the child a share of it until the child execs
 * (every descriptor here is O_CLOEXEC) or exits: others wait that long.
 */
#include <ctype.h>
#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "internal.h"
#include "mq.h"
#include "mq_limits.h"
#include "store.h"
#include "sysctl.h"

#define ACCT_DIR       "zipc.posix-mq-acct"
#define DFLT_QUEUESMAX 256

/* The kernel's struct sizes on LP64 (include/linux/msg.h, ipc/mqueue.c):
 * msg_msg is a list_head, m_type, m_ts, next and security (48 bytes);
 * posix_msg_tree_node an rb_node, a list_head and an int (48 bytes). */
#define KSIZE_MSG_MSG	48
#define KSIZE_TREE_NODE 48
#define KMQ_PRIO_MAX	32768

uint64_t
zipc__mqlim_bytes(uint64_t maxmsg, uint64_t msgsize)
{
	uint64_t nodes = maxmsg < KMQ_PRIO_MAX ? maxmsg : KMQ_PRIO_MAX;
	return maxmsg * msgsize + maxmsg * KSIZE_MSG_MSG +
	       nodes * KSIZE_TREE_NODE;
}

static int
flock_retry(int fd, int op)
{
	int r;
	do
		r = flock(fd, op);
	while (r < 0 && errno == EINTR);
	return r < 0 ? -errno : 0;
}

/*
 * The entry directory, locked (LOCK_EX), or -errno. With @create it is
 * made (mode 01777 like the namespace directories: anybody may charge,
 * and entries are removed by their owner or root).
 */
static int
acct_lock(int create)
{
	char path[4096];
	int r = zipc__path(path, sizeof(path), ACCT_DIR);
	if (r < 0)
		return r;
	if (create && mkdir(path, 01777) == 0)
		chmod(path, 01777); /* mkdir applied our umask */
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return -errno;
	if ((r = flock_retry(dfd, LOCK_EX)) < 0) {
		close(dfd);
		return r;
	}
	ZIPC_CRASH("mqlim.lock.held");
	return dfd;
}

/* A number in @base from @p up to @end (one of @ends, or NUL): digits
 * only, no sign or space (strtoull would take both). */
static int
number(const char *p, int base, const char *ends, unsigned long long *v,
       const char **next)
{
	char *e;
	if (!(base == 16 ? isxdigit((unsigned char)*p)
			 : isdigit((unsigned char)*p)))
		return -1;
	errno = 0;
	*v = strtoull(p, &e, base);
	if (errno || !(*e == 0 || strchr(ends, *e)))
		return -1;
	*next = e;
	return 0;
}

/* Does any process hold a lock on (@dev, @ino)? From /proc/locks, for
 * files we may not open. When it cannot tell, it says yes: counting a
 * dead queue a little longer is safer than forgetting a live one. */
static int
locked_anywhere(dev_t dev, ino_t ino)
{
	FILE *f = fopen("/proc/locks", "re");
	char line[256];
	int found = 0;
	if (!f)
		return 1;
	while (!found && fgets(line, sizeof(line), f)) {
		char *save = NULL;
		/* "1: FLOCK  ADVISORY  READ  1234 00:1a:5678 0 EOF" */
		for (char *t = strtok_r(line, " \t\n", &save); t;
		     t = strtok_r(NULL, " \t\n", &save)) {
			unsigned long long maj, mnr, i;
			const char *p = t;
			if (number(p, 16, ":", &maj, &p) < 0 || *p++ != ':' ||
			    number(p, 16, ":", &mnr, &p) < 0 || *p++ != ':' ||
			    number(p, 10, "", &i, &p) < 0)
				continue;
			found = maj == major(dev) && mnr == minor(dev) &&
				i == (unsigned long long)ino;
			break;
		}
	}
	fclose(f);
	return found;
}

/* An entry's name, "<stamp hex>.<ruid>.<bytes>": 0 and its fields, or -1
 * for anything else (never ours, not counted). */
static int
parse_entry(const char *name, uid_t *uid, uint64_t *bytes)
{
	unsigned long long stamp, u, b;
	const char *p = name;
	if (number(p, 16, ".", &stamp, &p) < 0 || *p++ != '.' ||
	    number(p, 10, ".", &u, &p) < 0 || *p++ != '.' ||
	    number(p, 10, "", &b, &p) < 0 || u > UINT32_MAX)
		return -1;
	*uid = (uid_t)u;
	*bytes = b;
	return 0;
}

/*
 * Under the accounting lock: does entry @name (lstat @st) still count?
 * A destroyed queue's entry is unlinked here when we may.
 */
static int
entry_live(int dfd, const char *name, const struct stat *st)
{
	if (st->st_nlink >= 2)
		return 1;
	int fd = openat(dfd, name,
			O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY |
				O_CLOEXEC);
	if (fd < 0) {
		if (errno == ENOENT)
			return 0;
		return locked_anywhere(st->st_dev, st->st_ino);
	}
	int live = 1;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0) {
		/* Nobody holds it, and nobody can start to until we close:
		 * an opener that found it by name waits in LOCK_SH and then
		 * sees st_nlink == 0. */
		struct stat now;
		if (fstat(fd, &now) == 0 && now.st_nlink < 2) {
			ZIPC_CRASH("mqlim.reap.locked");
			unlinkat(dfd, name, 0);
			live = 0;
		}
	}
	close(fd);
	return live;
}

struct tally {
	uint64_t count; /* queues that count in the namespace */
	uint64_t bytes; /* charged to @uid */
};

/* Under the accounting lock: count the live entries, reaping the dead. */
static void
scan(int dfd, uid_t uid, struct tally *t)
{
	memset(t, 0, sizeof(*t));
	/* A creator killed after its charge but before publishing left a
	 * temporary name that keeps its entry at two links: drop those. */
	zipc__store_sweep_tmp();
	int fd = dup(dfd);
	if (fd < 0)
		return;
	DIR *d = fdopendir(fd);
	if (!d) {
		close(fd);
		return;
	}
	struct dirent *e;
	while ((e = readdir(d))) {
		uint64_t bytes;
		uid_t u;
		if (parse_entry(e->d_name, &u, &bytes) < 0)
			continue;
		struct stat st;
		if (fstatat(dfd, e->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0 ||
		    !S_ISREG(st.st_mode))
			continue;
		if (!entry_live(dfd, e->d_name, &st))
			continue;
		t->count++;
		if (u == uid) {
			uint64_t b = t->bytes + bytes;
			t->bytes = b < t->bytes ? UINT64_MAX : b;
		}
	}
	closedir(d);
}

/* Would @more bytes take @have over RLIMIT_MSGQUEUE? As the kernel's
 * inc_rlimit_ucounts() + rlimit() compare: a sum past LONG_MAX fails. */
static int
over_rlimit(uint64_t have, uint64_t more)
{
	struct rlimit rl;
	uint64_t sum = have + more;
	if (sum < have || sum >= (uint64_t)LONG_MAX)
		return 1;
	if (getrlimit(RLIMIT_MSGQUEUE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY)
		return 0;
	return sum > (uint64_t)rl.rlim_cur;
}

static int
namespace_full(const struct tally *t)
{
	uint64_t max = zipc__sysctl_u64("/proc/sys/fs/mqueue/queues_max",
					DFLT_QUEUESMAX);
	return t->count >= max && !zipc__mq_cap_resource();
}

int
zipc__mqlim_precheck(int attr_err, uint64_t bytes)
{
	struct tally t = {0, 0};
	int dfd = acct_lock(0);
	if (dfd >= 0) {
		scan(dfd, getuid(), &t);
		close(dfd);
	}
	if (namespace_full(&t))
		return -ENOSPC;
	if (attr_err)
		return attr_err;
	return over_rlimit(t.bytes, bytes) ? -EMFILE : 0;
}

int
zipc__mqlim_charge(int fd, uint64_t stamp, uint64_t bytes,
		   struct zipc_mqlim_charge *c)
{
	struct tally t;
	char self[64];
	uid_t uid = getuid();
	int r = flock_retry(fd, LOCK_SH);
	if (r < 0)
		return r;
	int dfd = acct_lock(1);
	if (dfd < 0)
		return dfd;
	ZIPC_CRASH("mqlim.charge.locked");
	scan(dfd, uid, &t);
	if (namespace_full(&t)) {
		r = -ENOSPC;
		goto out;
	}
	if (over_rlimit(t.bytes, bytes)) {
		r = -EMFILE;
		goto out;
	}
	snprintf(c->c_ent, sizeof(c->c_ent), "%016llx.%u.%llu",
		 (unsigned long long)stamp, (unsigned)uid,
		 (unsigned long long)bytes);
	snprintf(self, sizeof(self), "/proc/self/fd/%d", fd);
	if (linkat(AT_FDCWD, self, dfd, c->c_ent, AT_SYMLINK_FOLLOW) < 0) {
		r = -errno;
		goto out;
	}
	ZIPC_CRASH("mqlim.charge.linked");
	r = 0;
out:
	close(dfd);
	return r;
}

void
zipc__mqlim_cancel(const struct zipc_mqlim_charge *c)
{
	char path[4096];
	if (zipc__path(path, sizeof(path), ACCT_DIR) < 0)
		return;
	int dfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return;
	unlinkat(dfd, c->c_ent, 0);
	close(dfd);
}

int
zipc__mqlim_hold(int fd)
{
	struct stat st;
	int r = flock_retry(fd, LOCK_SH);
	if (r < 0)
		return r;
	if (fstat(fd, &st) < 0)
		return -errno;
	return st.st_nlink == 0 ? -ENOENT : 0;
}

int
zipc__mqlim_unnamed(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 && st.st_nlink <= 1;
}

void
zipc__mqlim_reap(void)
{
	struct tally t;
	int dfd = acct_lock(0);
	if (dfd < 0)
		return;
	scan(dfd, getuid(), &t);
	close(dfd);
}
