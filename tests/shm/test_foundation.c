/* SPDX-License-Identifier: MIT */
/*
 * The foundation under every kind: process identity, the robust lock
 * (including a holder SIGKILLed while holding it), futex waits with
 * timeouts on both clocks and EINTR, events, the header check, names.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "atomic.h"
#include "lock.h"
#include "posix_name.h"
#include "registry.h"
#include "proc.h"
#include "store.h"
#include "testutil.h"
#include "wait.h"

static void *
shared_page(void)
{
	void *p = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
		       MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_true(p != MAP_FAILED);
	return p;
}

static void
test_proc_identity(void **state)
{
	(void)state;
	struct zipc_proc self;
	zipc__proc_self(&self);
	assert_int_equal(self.pr_pid, getpid());
	assert_true(self.pr_start > 0);
	assert_true(zipc__proc_alive(self.pr_pid, self.pr_start));
	/* Same pid, another start time: a recycled pid is not us. */
	assert_false(zipc__proc_alive(self.pr_pid, self.pr_start + 1));
	assert_false(zipc__proc_alive(0, 0));
	assert_int_equal(zipc__proc_start(0x7fffffff), 0);
}

static int
pause_forever(void *arg)
{
	struct tu_gate *g = arg;
	tu_gate_open(g);
	for (;;)
		pause();
	return 0;
}

static int
exit_at_once(void *arg)
{
	(void)arg;
	return 0;
}

static void
test_proc_death(void **state)
{
	(void)state;
	struct tu_gate g;
	tu_gate_init(&g);
	pid_t pid = tu_fork(pause_forever, &g);
	assert_int_equal(tu_gate_wait(&g, 10000), 0);
	uint64_t start = zipc__proc_start((uint32_t)pid);
	assert_true(start > 0);
	assert_true(zipc__proc_alive((uint32_t)pid, start));
	kill(pid, SIGKILL);
	/* Dead as soon as it is a zombie, before anyone reaps it. */
	siginfo_t si;
	assert_int_equal(waitid(P_PID, (id_t)pid, &si, WEXITED | WNOWAIT), 0);
	assert_false(zipc__proc_alive((uint32_t)pid, start));
	tu_kill(pid);
	assert_false(zipc__proc_alive((uint32_t)pid, start));

	pid = tu_fork(exit_at_once, NULL);
	assert_int_equal(tu_wait(pid, 10000), 0);
	assert_int_equal(zipc__proc_start((uint32_t)pid), 0);
}

static void
test_lock_basic(void **state)
{
	(void)state;
	struct zipc_lock *lk = shared_page();
	zipc__lock_init(lk);
	assert_int_equal(zipc__lock(lk), 0);
	assert_int_equal(zipc__lock(lk), -EDEADLK);
	assert_int_equal(zipc__trylock(lk), -EDEADLK);
	zipc__unlock(lk);
	assert_int_equal(zipc__trylock(lk), 0);
	zipc__unlock(lk);
	assert_int_equal(ld_relaxed(&lk->lk_word), 0);
	munmap(lk, 4096);
}

struct hold_args {
	struct zipc_lock *lk;
	struct tu_gate gate;
};

static int
hold_and_hang(void *arg)
{
	struct hold_args *a = arg;
	if (zipc__lock(a->lk) != 0)
		return 1;
	tu_gate_open(&a->gate);
	for (;;)
		pause();
	return 0;
}

static void
test_lock_owner_death(void **state)
{
	(void)state;
	struct hold_args a = {.lk = shared_page()};
	zipc__lock_init(a.lk);
	for (int round = 0; round < 20; round++) {
		tu_gate_init(&a.gate);
		pid_t pid = tu_fork(hold_and_hang, &a);
		assert_int_equal(tu_gate_wait(&a.gate, 10000), 0);
		/* Contended: the holder lives, trylock must refuse. */
		assert_int_equal(zipc__trylock(a.lk), -EBUSY);
		tu_kill(pid);
		/* Blocking taker learns of the death and holds the lock. */
		int r = round % 2 ? zipc__lock(a.lk) : zipc__trylock(a.lk);
		assert_int_equal(r, -EOWNERDEAD);
		zipc__unlock(a.lk);
		assert_int_equal(zipc__lock(a.lk), 0);
		zipc__unlock(a.lk);
		close(a.gate.fd[0]);
		close(a.gate.fd[1]);
	}
	munmap(a.lk, 4096);
}

/* A waiter blocked in zipc__lock while the holder is killed proceeds. */
static void
test_lock_waiter_proceeds(void **state)
{
	(void)state;
	struct hold_args a = {.lk = shared_page()};
	zipc__lock_init(a.lk);
	tu_gate_init(&a.gate);
	pid_t holder = tu_fork(hold_and_hang, &a);
	assert_int_equal(tu_gate_wait(&a.gate, 10000), 0);
	pid_t waiter = fork();
	if (waiter == 0) {
		int r = zipc__lock(a.lk);
		_exit(r == -EOWNERDEAD ? 0 : 1);
	}
	tu_kill(holder);
	assert_int_equal(tu_wait(waiter, 20000), 0);
	munmap(a.lk, 4096);
}

/* Many processes incrementing a plain counter under the lock: exact. */
static void
test_lock_mutual_exclusion(void **state)
{
	(void)state;
	struct {
		struct zipc_lock lk;
		uint64_t counter;
	} *s = shared_page();
	zipc__lock_init(&s->lk);
	enum { PROCS = 4, ITERS = 20000 };
	pid_t pids[PROCS];
	for (int i = 0; i < PROCS; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			for (int k = 0; k < ITERS; k++) {
				if (zipc__lock(&s->lk) != 0)
					_exit(1);
				uint64_t v = ld_relaxed(&s->counter);
				st_relaxed(&s->counter, v + 1);
				zipc__unlock(&s->lk);
			}
			_exit(0);
		}
	}
	for (int i = 0; i < PROCS; i++)
		assert_int_equal(tu_wait(pids[i], 60000), 0);
	assert_int_equal(s->counter, PROCS * ITERS);
	munmap(s, 4096);
}

static void
test_futex_timeouts(void **state)
{
	(void)state;
	uint32_t word = 7;
	struct zipc_deadline dl;
	struct timespec rel = {0, 20 * 1000 * 1000};
	assert_int_equal(zipc__deadline_rel(&dl, &rel), 0);
	assert_int_equal(zipc__futex_wait(&word, 7, &dl), -ETIMEDOUT);
	assert_true(zipc__deadline_passed(&dl));

	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	now.tv_nsec += 10 * 1000 * 1000;
	if (now.tv_nsec >= 1000000000L) {
		now.tv_sec++;
		now.tv_nsec -= 1000000000L;
	}
	assert_int_equal(zipc__deadline_abs(&dl, CLOCK_REALTIME, &now), 0);
	assert_int_equal(zipc__futex_wait(&word, 7, &dl), -ETIMEDOUT);

	/* An absolute time in the past times out at once. */
	struct timespec past = {1, 0};
	assert_int_equal(zipc__deadline_abs(&dl, CLOCK_MONOTONIC, &past), 0);
	assert_int_equal(zipc__futex_wait(&word, 7, &dl), -ETIMEDOUT);

	/* The word already changed: no sleep. */
	assert_int_equal(zipc__futex_wait(&word, 8, NULL), 0);

	struct timespec bad = {0, 1000000000L};
	assert_int_equal(zipc__deadline_abs(&dl, CLOCK_REALTIME, &bad),
			 -EINVAL);
	bad.tv_nsec = -1;
	assert_int_equal(zipc__deadline_rel(&dl, &bad), -EINVAL);
	assert_int_equal(zipc__deadline_abs(&dl, CLOCK_PROCESS_CPUTIME_ID,
					    &past),
			 -EINVAL);
}

static void
on_usr1(int sig)
{
	(void)sig;
}

static void
test_futex_eintr(void **state)
{
	(void)state;
	struct sigaction sa = {.sa_handler = on_usr1};
	sigaction(SIGUSR1, &sa, NULL);
	uint32_t *word = shared_page();
	struct tu_gate g;
	tu_gate_init(&g);
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		/* Signal the parent once it sleeps: it said so via word. */
		while (ld_acquire(&word[1]) == 0)
			;
		kill(parent, SIGUSR1);
		_exit(0);
	}
	st_release(&word[1], 1);
	/* Bounded, so a lost signal fails instead of hanging. */
	struct zipc_deadline dl;
	struct timespec rel = {10, 0};
	zipc__deadline_rel(&dl, &rel);
	int r;
	do
		r = zipc__futex_wait(&word[0], 0, &dl);
	while (r == 0);
	assert_int_equal(r, -EINTR);
	assert_int_equal(tu_wait(child, 10000), 0);
	munmap(word, 4096);
}

/* With SA_RESTART and no deadline the kernel would restart an untimed
 * FUTEX_WAIT; zipc__futex_wait must still return -EINTR. */
static void
test_futex_eintr_sa_restart(void **state)
{
	(void)state;
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	sigaction(SIGUSR1, &sa, NULL);
	uint32_t *word = shared_page();
	pid_t parent = getpid();
	pid_t child = fork();
	if (child == 0) {
		while (ld_acquire(&word[1]) == 0)
			;
		/* Keep poking until the parent has left its wait. */
		while (ld_acquire(&word[2]) == 0) {
			kill(parent, SIGUSR1);
			struct timespec ts = {0, 1000000};
			nanosleep(&ts, NULL); /* pacing the pokes, not sync */
		}
		_exit(0);
	}
	st_release(&word[1], 1);
	int r;
	do
		r = zipc__futex_wait(&word[0], 0, NULL);
	while (r == 0);
	st_release(&word[2], 1);
	assert_int_equal(r, -EINTR);
	assert_int_equal(tu_wait(child, 10000), 0);
	munmap(word, 4096);
}

static void *
live_thread(void *arg)
{
	struct tu_gate *g = arg;
	tu_gate_open(g);
	for (;;)
		pause();
	return NULL;
}

static int
leader_exits(void *arg)
{
	pthread_t t;
	pthread_create(&t, NULL, live_thread, arg);
	pthread_exit(NULL);
}

/* A process whose main thread called pthread_exit lives on. */
static void
test_proc_zombie_leader(void **state)
{
	(void)state;
	struct tu_gate g;
	tu_gate_init(&g);
	pid_t pid = tu_fork(leader_exits, &g);
	assert_int_equal(tu_gate_wait(&g, 10000), 0);
	uint64_t start = 0;
	/* Poll until the leader has become a zombie (bounded). */
	for (int i = 0; i < 10000 && !start; i++) {
		char path[64], buf[512];
		snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
		FILE *f = fopen(path, "r");
		if (f && fgets(buf, sizeof(buf), f) &&
		    strstr(strrchr(buf, ')'), ") Z"))
			start = zipc__proc_start((uint32_t)pid);
		if (f)
			fclose(f);
		if (!start)
			sched_yield();
	}
	assert_true(start != 0);
	assert_true(zipc__proc_alive((uint32_t)pid, start));
	tu_kill(pid);
	assert_false(zipc__proc_alive((uint32_t)pid, start));
}

static void
test_event_wakes(void **state)
{
	(void)state;
	struct {
		struct zipc_event ev;
		uint32_t flag;
	} *s = shared_page();
	/* No waiter: signal must not need a wake (nothing to observe but
	 * that it returns and bumps the sequence). */
	zipc__event_signal(&s->ev, 1);
	assert_int_equal(s->ev.ev_seq, 1);
	pid_t child = fork();
	if (child == 0) {
		for (;;) {
			uint32_t seq = zipc__event_prepare(&s->ev);
			if (ld_acquire(&s->flag)) {
				zipc__event_cancel(&s->ev);
				_exit(0);
			}
			zipc__event_wait(&s->ev, seq, NULL);
		}
	}
	st_release(&s->flag, 1);
	zipc__event_signal(&s->ev, INT32_MAX);
	assert_int_equal(tu_wait(child, 10000), 0);
	assert_int_equal(s->ev.ev_waiters, 0);
	munmap(s, 4096);
}

static void
test_header_check(void **state)
{
	(void)state;
	struct zipc_seg_hdr h = {
		.sh_magic = ZIPC_SEG_MAGIC,
		.sh_abi_major = ZIPC_ABI_MAJOR,
		.sh_layout_sig = 1234,
		.sh_hdr_size = 64,
		.sh_state = ZIPC_SEG_READY,
		.sh_kind = ZIPC_KIND_XSI_SHM,
		.sh_size = 64,
	};
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 1234), 0);
	assert_int_equal(zipc__hdr_check(&h, 63, ZIPC_KIND_XSI_SHM, 1234),
			 -EBADMSG);
	assert_int_equal(zipc__hdr_check(&h, 128, ZIPC_KIND_XSI_SHM, 1234),
			 -EBADMSG);
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_MSG, 1234),
			 -EBADMSG);
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 99),
			 -EPROTO);
	h.sh_resv[3] = 1;
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 1234),
			 -EPROTO);
	h.sh_resv[3] = 0;
	h.sh_abi_major = ZIPC_ABI_MAJOR + 1;
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 1234),
			 -EPROTO);
	h.sh_abi_major = ZIPC_ABI_MAJOR;
	h.sh_state = ZIPC_SEG_INIT;
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 1234),
			 -EAGAIN);
	h.sh_state = ZIPC_SEG_REMOVED;
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 1234),
			 -EIDRM);
	h.sh_state = 77;
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 1234),
			 -EBADMSG);
	h.sh_magic = 0;
	assert_int_equal(zipc__hdr_check(&h, 64, ZIPC_KIND_XSI_SHM, 1234),
			 -EBADMSG);
}

static int
init_fail(struct zipc_obj *o, void *arg)
{
	(void)o;
	(void)arg;
	return -ENOMEM;
}

static void
test_store_objects(void **state)
{
	(void)state;
	struct zipc_obj o, o2;
	assert_int_equal(zipc__obj_create("zipc.test.a", 99, 5, 8192, 64, 1,
					  0600, NULL, NULL, &o),
			 0);
	assert_int_equal(zipc__obj_create("zipc.test.a", 99, 5, 8192, 64, 1,
					  0600, NULL, NULL, &o2),
			 -EEXIST);
	assert_int_equal(zipc__obj_open("zipc.test.a", 99, 5, &o2), 0);
	assert_int_equal(zipc__obj_open("zipc.test.a", 99, 6, &o2 + 0),
			 -EPROTO);
	zipc__obj_close(&o2);
	/* A failing init leaves nothing behind, not even the temp file. */
	assert_int_equal(zipc__obj_create("zipc.test.b", 99, 5, 8192, 64, 1,
					  0600, init_fail, NULL, &o2),
			 -ENOMEM);
	assert_int_equal(zipc__obj_open("zipc.test.b", 99, 5, &o2), -ENOENT);
	/* Truncated under our feet: an error at open, never SIGBUS. */
	char path[4096];
	zipc__path(path, sizeof(path), "zipc.test.a");
	assert_int_equal(truncate(path, 4096), 0);
	assert_int_equal(zipc__obj_open("zipc.test.a", 99, 5, &o2), -EBADMSG);
	zipc__obj_remove(&o, "zipc.test.a");
	zipc__obj_close(&o);
	assert_int_equal(zipc__obj_open("zipc.test.a", 99, 5, &o2), -ENOENT);
	assert_int_equal(tu_count_objects(), 0);
}

static void
test_posix_names(void **state)
{
	(void)state;
	char out[512], name[NAME_MAX + 3];
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   "/abc", 0),
			 0);
	assert_string_equal(out, "zipc.posix-shm/abc");
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   "//abc", 0),
			 0);
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   "/", 0),
			 -EINVAL);
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   "/a/b", 0),
			 -EINVAL);
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   "", 0),
			 -EINVAL);
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   NULL, 0),
			 -EINVAL);
	memset(name, 'x', sizeof(name));
	name[0] = '/';
	name[NAME_MAX + 1] = 0; /* NAME_MAX bytes after the slash: fine */
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   name, 0),
			 0);
	name[NAME_MAX + 1] = 'x';
	name[NAME_MAX + 2] = 0;
	assert_int_equal(zipc__posix_fname(out, sizeof(out), ZIPC_NS_SHM,
					   name, 0),
			 -ENAMETOOLONG);
}

static void
test_tmp_sweep(void **state)
{
	(void)state;
	/* A creator that died before publishing leaves a temp file; the
	 * next registry user removes it. */
	pid_t pid = tu_fork(exit_at_once, NULL);
	assert_int_equal(tu_wait(pid, 10000), 0);
	char path[4096], fname[128];
	snprintf(fname, sizeof(fname), ".zipc-tmp.%d.12345.%d.0", (int)pid,
		 (int)pid);
	zipc__path(path, sizeof(path), fname);
	int fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	zipc__store_sweep_tmp();
	assert_int_equal(access(path, F_OK), -1);
}

static int
fake_create(int id, int32_t key, int flags, void *arg)
{
	(void)key;
	(void)flags;
	(void)arg;
	char fname[64];
	struct zipc_obj o;
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_MSG, id);
	int r = zipc__obj_create(fname, ZIPC_KIND_XSI_MSG, 1, 4096, 64,
				 (uint64_t)id, 0600, NULL, NULL, &o);
	if (r == 0)
		zipc__obj_close(&o);
	return r;
}

static int
fake_existing(int id, int flags, void *arg)
{
	(void)id;
	(void)flags;
	(void)arg;
	return 0;
}

static void
fake_remove(int id)
{
	char fname[64], path[4096];
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_MSG, id);
	zipc__path(path, sizeof(path), fname);
	unlink(path);
	zipc__xsi_release(ZIPC_XSI_MSG, id);
}

/* ipcget's rules, the id formation and the mni limit, on a fake kind. */
static void
test_registry(void **state)
{
	(void)state;
	static const struct zipc_xsi_ops ops = {
		.create = fake_create,
		.existing = fake_existing,
	};
	struct zipc_xsi_req req = {.key = 0x77, .flags = IPC_CREAT, .mni = 3};
	int a = zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL);
	assert_true(a >= 0);
	assert_int_equal(zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL), a);
	req.flags |= IPC_EXCL;
	assert_int_equal(zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL),
			 -EEXIST);
	req.flags = 0;
	req.key = 0x78;
	assert_int_equal(zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL),
			 -ENOENT);
	req.key = IPC_PRIVATE;
	int b = zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL);
	int c = zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL);
	assert_true(b >= 0 && c >= 0 && b != a && c != b);
	assert_int_equal(zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL),
			 -ENOSPC);
	assert_int_equal(zipc__xsi_id_at(ZIPC_XSI_MSG, zipc__xsi_index(b)), b);
	/* A freed slot comes back with a new sequence: the old id is dead. */
	fake_remove(b);
	assert_int_equal(zipc__xsi_id_at(ZIPC_XSI_MSG, zipc__xsi_index(b)),
			 -EINVAL);
	int d = zipc__xsi_get(ZIPC_XSI_MSG, &req, &ops, NULL);
	assert_true(d >= 0);
	assert_int_equal(zipc__xsi_index(d), zipc__xsi_index(b));
	assert_true(d != b);
	uint32_t count;
	uint64_t pages;
	zipc__xsi_usage(ZIPC_XSI_MSG, &count, &pages);
	assert_int_equal(count, 3);
	fake_remove(a);
	fake_remove(c);
	fake_remove(d);
	zipc__xsi_usage(ZIPC_XSI_MSG, &count, &pages);
	assert_int_equal(count, 0);
	assert_int_equal(tu_count_objects(), 0);
}

int
main(void)
{
	tu_setup(120);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_proc_identity),
		cmocka_unit_test(test_proc_death),
		cmocka_unit_test(test_lock_basic),
		cmocka_unit_test(test_lock_owner_death),
		cmocka_unit_test(test_lock_waiter_proceeds),
		cmocka_unit_test(test_lock_mutual_exclusion),
		cmocka_unit_test(test_futex_timeouts),
		cmocka_unit_test(test_futex_eintr),
		cmocka_unit_test(test_futex_eintr_sa_restart),
		cmocka_unit_test(test_proc_zombie_leader),
		cmocka_unit_test(test_event_wakes),
		cmocka_unit_test(test_header_check),
		cmocka_unit_test(test_store_objects),
		cmocka_unit_test(test_posix_names),
		cmocka_unit_test(test_tmp_sweep),
		cmocka_unit_test(test_registry),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
