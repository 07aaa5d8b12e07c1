/* SPDX-License-Identifier: MIT */
/*
 * Shared memory through the compat face: shmget/shmat/shmdt/shmctl and
 * shm_open/shm_unlink semantics, permissions with a second user, and
 * shm_nattch across fork, exec, exit and SIGKILL.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"

static const char *self_exe;

static int
nattch(int id)
{
	struct shmid_ds ds;
	if (zipc_shmctl(id, IPC_STAT, &ds) < 0)
		return -errno;
	return (int)ds.shm_nattch;
}

static void
test_get_create_find(void **state)
{
	(void)state;
	int id = zipc_shmget(0x5150, 10000, IPC_CREAT | 0640);
	assert_true(id >= 0);
	assert_int_equal(zipc_shmget(0x5150, 0, 0), id);
	assert_int_equal(zipc_shmget(0x5150, 10000, 0), id);
	/* Bigger than the segment. */
	assert_int_equal(zipc_shmget(0x5150, 10001, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shmget(0x5150, 0, IPC_CREAT | IPC_EXCL), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(zipc_shmget(0x5151, 100, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(zipc_shmget(0x5151, 0, IPC_CREAT), -1);
	assert_int_equal(errno, EINVAL);
	/* IPC_PRIVATE always creates. */
	int p1 = zipc_shmget(IPC_PRIVATE, 100, 0600);
	int p2 = zipc_shmget(IPC_PRIVATE, 100, 0600);
	assert_true(p1 >= 0 && p2 >= 0 && p1 != p2);

	struct shmid_ds ds;
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_segsz, 10000);
	assert_int_equal(ds.shm_perm.__key, 0x5150);
	assert_int_equal(ds.shm_perm.mode, 0640);
	assert_int_equal(ds.shm_perm.uid, geteuid());
	assert_int_equal(ds.shm_perm.cuid, geteuid());
	assert_int_equal(ds.shm_cpid, getpid());
	assert_int_equal(ds.shm_lpid, 0);
	assert_int_equal(ds.shm_nattch, 0);
	assert_int_equal(ds.shm_atime, 0);
	assert_true(ds.shm_ctime > 0);

	for (int i = 0; i < 3; i++)
		assert_int_equal(zipc_shmctl((int[]){id, p1, p2}[i], IPC_RMID,
					     NULL),
				 0);
	/* The id of a removed segment never reaches another. */
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), -1);
	assert_int_equal(errno, EINVAL);
	int again = zipc_shmget(0x5150, 100, IPC_CREAT | 0600);
	assert_true(again >= 0 && again != id);
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), -1);
	assert_int_equal(zipc_shmctl(again, IPC_RMID, NULL), 0);
	assert_int_equal(tu_count_objects(), 0);
}

static void
test_attach_detach(void **state)
{
	(void)state;
	int id = zipc_shmget(IPC_PRIVATE, 5000, 0600);
	char *p = zipc_shmat(id, NULL, 0);
	assert_true(p != (void *)-1);
	memset(p, 0xab, 5000);
	char *q = zipc_shmat(id, NULL, SHM_RDONLY);
	assert_true(q != (void *)-1 && q != p);
	assert_int_equal((unsigned char)q[4999], 0xab);
	assert_int_equal(nattch(id), 2);

	struct shmid_ds ds;
	zipc_shmctl(id, IPC_STAT, &ds);
	assert_int_equal(ds.shm_lpid, getpid());
	assert_true(ds.shm_atime > 0);

	/* SHM_RDONLY is enforced by the MMU: a write faults. */
	pid_t pid = fork();
	if (pid == 0) {
		signal(SIGSEGV, SIG_DFL); /* cmocka catches it otherwise */
		q[0] = 1;
		_exit(0);
	}
	assert_int_equal(tu_wait(pid, 10000), 128 + SIGSEGV);

	/* A caller's address: aligned, SHM_RND, SHM_REMAP. */
	assert_int_equal(zipc_shmdt(q), 0);
	assert_int_equal(zipc_shmat(id, q + 1, 0), (void *)-1);
	assert_int_equal(errno, EINVAL);
	char *r = zipc_shmat(id, q + 1, SHM_RND);
	assert_ptr_equal(r, q);
	/* Occupied without SHM_REMAP: EINVAL; with it: replaced. */
	assert_int_equal(zipc_shmat(id, r, 0), (void *)-1);
	assert_int_equal(errno, EINVAL);
	assert_ptr_equal(zipc_shmat(id, r, SHM_REMAP), r);
	assert_int_equal(zipc_shmat(id, NULL, SHM_REMAP), (void *)-1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shmdt(r), 0);
	assert_int_equal(zipc_shmdt(r), -1); /* once only */
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shmdt(p + 1), -1);
	assert_int_equal(errno, EINVAL);
	/* The remap replaced the attachment at r: only p is left. */
	assert_int_equal(nattch(id), 1);

	assert_int_equal(zipc_shmat(-1, NULL, 0), (void *)-1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shmat(id + 32768 * 7, NULL, 0), (void *)-1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shmdt(p), 0);
	assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);
}

static void
test_rmid_deferred(void **state)
{
	(void)state;
	int id = zipc_shmget(0x777, 4096, IPC_CREAT | 0600);
	char *p = zipc_shmat(id, NULL, 0);
	strcpy(p, "still here");
	assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);
	struct shmid_ds ds;
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), 0);
	assert_true(ds.shm_perm.mode & SHM_DEST);
	assert_int_equal(ds.shm_perm.__key, IPC_PRIVATE);
	/* The key is free again at once. */
	assert_int_equal(zipc_shmget(0x777, 0, 0), -1);
	assert_int_equal(errno, ENOENT);
	/* Linux lets a removed but attached segment be attached by id. */
	char *q = zipc_shmat(id, NULL, 0);
	assert_string_equal(q, "still here");
	assert_int_equal(nattch(id), 2);
	assert_int_equal(zipc_shmdt(p), 0);
	assert_int_equal(tu_count_objects(), 1);
	assert_int_equal(zipc_shmdt(q), 0);
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tu_count_objects(), 0);
}

static void
test_ctl_commands(void **state)
{
	(void)state;
	int id = zipc_shmget(0x999, 100, IPC_CREAT | 0600);
	struct shmid_ds ds;
	assert_int_equal(zipc_shmctl(id, IPC_STAT, NULL), -1);
	assert_int_equal(errno, EFAULT);
	assert_int_equal(zipc_shmctl(id, 12345, &ds), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shmctl(-1, IPC_STAT, &ds), -1);
	assert_int_equal(errno, EINVAL);

	zipc_shmctl(id, IPC_STAT, &ds);
	ds.shm_perm.mode = 0644;
	ds.shm_perm.uid = 1234;
	assert_int_equal(zipc_shmctl(id, IPC_SET, &ds), 0);
	zipc_shmctl(id, IPC_STAT, &ds);
	assert_int_equal(ds.shm_perm.mode, 0644);
	assert_int_equal(ds.shm_perm.uid, 1234);

	assert_int_equal(zipc_shmctl(id, SHM_LOCK, NULL), 0);
	zipc_shmctl(id, IPC_STAT, &ds);
	assert_true(ds.shm_perm.mode & SHM_LOCKED);
	assert_int_equal(zipc_shmctl(id, SHM_UNLOCK, NULL), 0);
	zipc_shmctl(id, IPC_STAT, &ds);
	assert_false(ds.shm_perm.mode & SHM_LOCKED);

	struct shminfo si;
	int maxidx = zipc_shmctl(0, IPC_INFO, (struct shmid_ds *)&si);
	assert_true(maxidx >= id % 32768);
	assert_int_equal(si.shmmin, 1);
	assert_true(si.shmmni > 0);
	struct shm_info sinfo;
	assert_true(zipc_shmctl(0, SHM_INFO, (struct shmid_ds *)&sinfo) >= 0);
	assert_int_equal(sinfo.used_ids, 1);
	assert_int_equal(sinfo.shm_tot, 1);

	assert_int_equal(zipc_shmctl(id % 32768, SHM_STAT, &ds), id);
	assert_int_equal(zipc_shmctl(id % 32768 + 1, SHM_STAT, &ds), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);

	/* SHM_HUGETLB: accepted, memory in 2 MiB units, segsz as asked. */
	id = zipc_shmget(IPC_PRIVATE, 100, SHM_HUGETLB | 0600);
	assert_true(id >= 0);
	char *p = zipc_shmat(id, NULL, 0);
	assert_true(p != (void *)-1);
	p[(2 << 20) - 1] = 1; /* the whole huge page is ours */
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), 0);
	assert_int_equal(ds.shm_segsz, 100);
	zipc_shmdt(p);
	assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);
}

/* ---- permissions, with a second user ---------------------------------- */

static int
as_nobody(void *arg)
{
	int id = *(int *)arg;
	if (tu_become_nobody() < 0)
		return 77;
	struct shmid_ds ds;
	/* mode 0604: others may read, not write. */
	if (zipc_shmat(id, NULL, 0) != (void *)-1 || errno != EACCES)
		return 10;
	char *p = zipc_shmat(id, NULL, SHM_RDONLY);
	if (p == (void *)-1 || strcmp(p, "public") != 0)
		return 11;
	if (zipc_shmctl(id, IPC_STAT, &ds) != 0)
		return 12;
	if (zipc_shmctl(id, IPC_RMID, NULL) != -1 || errno != EPERM)
		return 13;
	ds.shm_perm.mode = 0666;
	if (zipc_shmctl(id, IPC_SET, &ds) != -1 || errno != EPERM)
		return 14;
	if (zipc_shmctl(id, SHM_LOCK, NULL) != -1 || errno != EPERM)
		return 15;
	/* Asking get() for write access to the key: EACCES. */
	if (zipc_shmget(0x4242, 0, 0600) != -1 || errno != EACCES)
		return 16;
	if (zipc_shmget(0x4242, 0, 0400) != id)
		return 17;
	if (zipc_shmat(id, NULL, SHM_RDONLY | SHM_EXEC) != (void *)-1 ||
	    errno != EACCES)
		return 18;
	zipc_shmdt(p);
	/* A private segment of mode 0600 owned by root: no access at all. */
	int priv = *((int *)arg + 1);
	if (zipc_shmctl(priv, IPC_STAT, &ds) != -1 || errno != EACCES)
		return 19;
	/* And nobody's own segment is nobody's to remove. */
	int mine = zipc_shmget(IPC_PRIVATE, 10, 0600);
	if (mine < 0 || zipc_shmctl(mine, IPC_RMID, NULL) != 0)
		return 20;
	return 0;
}

static void
test_permissions(void **state)
{
	(void)state;
	int ids[2];
	ids[0] = zipc_shmget(0x4242, 100, IPC_CREAT | 0604);
	ids[1] = zipc_shmget(IPC_PRIVATE, 100, 0600);
	char *p = zipc_shmat(ids[0], NULL, 0);
	strcpy(p, "public");
	pid_t pid = tu_fork(as_nobody, ids);
	int st = tu_wait(pid, 20000);
	if (st == 77)
		skip();
	assert_int_equal(st, 0);
	/* The owner, after IPC_SET by the owner: uid changes rights. */
	struct shmid_ds ds;
	zipc_shmctl(ids[0], IPC_STAT, &ds);
	assert_int_equal(ds.shm_nattch, 1); /* nobody detached */
	zipc_shmdt(p);
	assert_int_equal(zipc_shmctl(ids[0], IPC_RMID, NULL), 0);
	assert_int_equal(zipc_shmctl(ids[1], IPC_RMID, NULL), 0);
	assert_int_equal(tu_count_objects(), 0);
}

/* ---- nattch across fork, exec, exit and SIGKILL ------------------------ */

struct child_args {
	int id;
	struct tu_gate ready;
};

static int
attach_and_hang(void *arg)
{
	struct child_args *a = arg;
	if (zipc_shmat(a->id, NULL, 0) == (void *)-1)
		return 1;
	if (zipc_shmat(a->id, NULL, SHM_RDONLY) == (void *)-1)
		return 1;
	tu_gate_open(&a->ready);
	for (;;)
		pause();
	return 0;
}

static int
attach_and_exit(void *arg)
{
	struct child_args *a = arg;
	return zipc_shmat(a->id, NULL, 0) == (void *)-1; /* no shmdt */
}

static void
test_nattch_sigkill(void **state)
{
	(void)state;
	struct child_args a = {.id = zipc_shmget(IPC_PRIVATE, 4096, 0600)};
	enum { N = 5 };
	pid_t pids[N];
	for (int i = 0; i < N; i++) {
		tu_gate_init(&a.ready);
		pids[i] = tu_fork(attach_and_hang, &a);
		assert_int_equal(tu_gate_wait(&a.ready, 10000), 0);
	}
	assert_int_equal(nattch(a.id), 2 * N);
	for (int i = 0; i < N; i++) {
		tu_kill(pids[i]);
		assert_int_equal(nattch(a.id), 2 * (N - 1 - i));
	}
	/* Exit without shmdt detaches too. */
	pid_t pid = tu_fork(attach_and_exit, &a);
	assert_int_equal(tu_wait(pid, 10000), 0);
	assert_int_equal(nattch(a.id), 0);
	assert_int_equal(zipc_shmctl(a.id, IPC_RMID, NULL), 0);
	assert_int_equal(tu_count_objects(), 0);
}

/* IPC_RMID with only SIGKILLed users left: freed when the last goes. */
static void
test_rmid_freed_after_kill(void **state)
{
	(void)state;
	struct child_args a = {.id = zipc_shmget(IPC_PRIVATE, 4096, 0600)};
	tu_gate_init(&a.ready);
	pid_t pid = tu_fork(attach_and_hang, &a);
	assert_int_equal(tu_gate_wait(&a.ready, 10000), 0);
	assert_int_equal(zipc_shmctl(a.id, IPC_RMID, NULL), 0);
	assert_int_equal(nattch(a.id), 2);
	assert_int_equal(tu_count_objects(), 1);
	tu_kill(pid);
	/* The next look at it finds no live user and frees it. */
	struct shmid_ds ds;
	assert_int_equal(zipc_shmctl(a.id, IPC_STAT, &ds), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tu_count_objects(), 0);

	/* The same with a sweep by shmget instead of a look by id. */
	a.id = zipc_shmget(IPC_PRIVATE, 4096, 0600);
	tu_gate_init(&a.ready);
	pid = tu_fork(attach_and_hang, &a);
	assert_int_equal(tu_gate_wait(&a.ready, 10000), 0);
	assert_int_equal(zipc_shmctl(a.id, IPC_RMID, NULL), 0);
	tu_kill(pid);
	int other = zipc_shmget(IPC_PRIVATE, 10, 0600);
	assert_int_equal(tu_count_objects(), 1);
	zipc_shmctl(other, IPC_RMID, NULL);
	assert_int_equal(tu_count_objects(), 0);
}

static void
test_nattch_fork(void **state)
{
	(void)state;
	int id = zipc_shmget(IPC_PRIVATE, 4096, 0600);
	char *p = zipc_shmat(id, NULL, 0);
	struct tu_gate g;
	tu_gate_init(&g);
	pid_t holder = fork();
	if (holder == 0) {
		/* Inherits the attachment, as the kernel's fork does. */
		tu_gate_open(&g);
		for (;;)
			pause();
	}
	assert_int_equal(tu_gate_wait(&g, 10000), 0);
	assert_int_equal(nattch(id), 2);
	pid_t pid = fork();
	if (pid == 0)
		_exit(zipc_shmdt(p) == 0 && nattch(id) == 2 ? 0 : 1);
	assert_int_equal(tu_wait(pid, 10000), 0);
	assert_int_equal(nattch(id), 2);
	assert_int_equal(zipc_shmdt(p), 0);
	assert_int_equal(nattch(id), 1);
	assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);
	assert_int_equal(tu_count_objects(), 1);
	/* The last user is killed: the segment goes with it. */
	tu_kill(holder);
	struct shmid_ds ds;
	assert_int_equal(zipc_shmctl(id, IPC_STAT, &ds), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(tu_count_objects(), 0);
}

static void
test_nattch_exec(void **state)
{
	(void)state;
	int id = zipc_shmget(IPC_PRIVATE, 4096, 0600);
	void *mine = zipc_shmat(id, NULL, 0);
	assert_true(mine != (void *)-1);
	int fds[2];
	assert_int_equal(pipe(fds), 0);
	pid_t pid = fork();
	if (pid == 0) {
		/* exec drops the mapping: the count must follow. */
		char fd[16];
		snprintf(fd, sizeof(fd), "%d", fds[1]);
		close(fds[0]);
		execl(self_exe, self_exe, "--exec-child", fd, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	char c;
	/* The exec'ed image writes one byte, then waits for EOF on stdin. */
	assert_int_equal(read(fds[0], &c, 1), 1);
	assert_int_equal(nattch(id), 1);
	tu_kill(pid);
	close(fds[0]);
	assert_int_equal(nattch(id), 1);
	assert_int_equal(zipc_shmdt(mine), 0);
	assert_int_equal(zipc_shmctl(id, IPC_RMID, NULL), 0);
	assert_int_equal(tu_count_objects(), 0);
}

/* ---- POSIX shared memory ---------------------------------------------- */

static void
test_posix_shm(void **state)
{
	(void)state;
	int fd = zipc_shm_open("/zt-posix", O_RDWR | O_CREAT | O_EXCL, 0600);
	assert_true(fd >= 0);
	assert_int_equal(ftruncate(fd, 8192), 0);
	char *p = mmap(NULL, 8192, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	strcpy(p, "posix");
	close(fd);
	assert_int_equal(zipc_shm_open("/zt-posix", O_RDWR | O_CREAT | O_EXCL,
				       0600),
			 -1);
	assert_int_equal(errno, EEXIST);
	fd = zipc_shm_open("zt-posix", O_RDONLY, 0);
	assert_true(fd >= 0);
	char *q = mmap(NULL, 8192, PROT_READ, MAP_SHARED, fd, 0);
	assert_string_equal(q, "posix");
	close(fd);
	assert_int_equal(zipc_shm_unlink("/zt-posix"), 0);
	/* Unlinked while mapped: the memory stays, the name goes. */
	assert_string_equal(q, "posix");
	assert_int_equal(zipc_shm_open("/zt-posix", O_RDONLY, 0), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(zipc_shm_unlink("/zt-posix"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(zipc_shm_open("/a/b", O_RDWR | O_CREAT, 0600), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_shm_open("/", O_RDWR | O_CREAT, 0600), -1);
	assert_int_equal(errno, EINVAL);
	char name[300];
	memset(name, 'n', sizeof(name));
	name[0] = '/';
	name[299] = 0;
	assert_int_equal(zipc_shm_open(name, O_RDWR | O_CREAT, 0600), -1);
	assert_int_equal(errno, ENAMETOOLONG);
	munmap(p, 8192);
	munmap(q, 8192);
	assert_int_equal(tu_count_objects(), 0);
}

static void
test_native_face(void **state)
{
	(void)state;
	int id = zipc_segment_get(0x1111, 100, IPC_CREAT | 0600);
	assert_true(id >= 0);
	assert_int_equal(zipc_segment_get(0x1111, 100, IPC_CREAT | IPC_EXCL),
			 -EEXIST);
	void *p;
	assert_int_equal(zipc_segment_attach(id, NULL, 0, &p), 0);
	struct zipc_segment_info info;
	assert_int_equal(zipc_segment_stat(id, &info), 0);
	assert_int_equal(info.nattch, 1);
	assert_int_equal(info.size, 100);
	assert_int_equal(info.key, 0x1111);
	assert_int_equal(zipc_segment_remove(id), 0);
	assert_int_equal(zipc_segment_detach(p), 0);
	assert_int_equal(zipc_segment_detach(p), -EINVAL);
	assert_int_equal(zipc_segment_stat(id, &info), -EINVAL);
	assert_int_equal(zipc_segment_open("/x/y", O_RDWR, 0), -EINVAL);
	assert_int_equal(tu_count_objects(), 0);
}

int
main(int argc, char **argv)
{
	if (argc == 3 && strcmp(argv[1], "--exec-child") == 0) {
		int fd = atoi(argv[2]);
		if (write(fd, "x", 1) != 1)
			return 1;
		for (;;)
			pause();
	}
	self_exe = "/proc/self/exe";
	static char exe[4096];
	ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
	if (n > 0) {
		exe[n] = 0;
		self_exe = exe;
	}
	tu_setup(120);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_get_create_find),
		cmocka_unit_test(test_attach_detach),
		cmocka_unit_test(test_rmid_deferred),
		cmocka_unit_test(test_ctl_commands),
		cmocka_unit_test(test_permissions),
		cmocka_unit_test(test_nattch_sigkill),
		cmocka_unit_test(test_rmid_freed_after_kill),
		cmocka_unit_test(test_nattch_fork),
		cmocka_unit_test(test_nattch_exec),
		cmocka_unit_test(test_posix_shm),
		cmocka_unit_test(test_native_face),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
