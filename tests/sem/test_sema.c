/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: POSIX semaphores (unnamed and named, every call and error,
 * post from a signal handler, EINTR, pshared across fork) and the native
 * API's extras (readiness fds for sets and named semaphores, semctl
 * details: IPC_INFO/SEM_INFO/SEM_STAT, SETVAL clearing undo, permissions).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "sem/sem.h"
#include "testutil.h"
#include "zipc.h"
#include "zipc_compat.h"

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static void
test_layout(void **state)
{
	(void)state;
	assert_true(sizeof(struct zipc_sema) <= sizeof(sem_t));
	assert_int_equal(sizeof(zipc_sema_t), sizeof(sem_t));
	assert_int_equal(sizeof(struct zipc_semset_ctl), 256);
	assert_int_equal(sizeof(struct zipc_sem_q), 256);
	assert_int_equal(sizeof(struct zipc_sem), 24);
	assert_int_equal(offsetof(struct zipc_semset_ctl, se_perm), 32);
	assert_int_equal(offsetof(struct zipc_semset_ctl, se_otime), 64);
	assert_int_equal(ZIPC_SEM_SIG, 0x91ee8f30u); /* bump the ABI to change */
}

static void
test_unnamed(void **state)
{
	(void)state;
	sem_t s;
	int v;
	assert_int_equal(zipc_sem_init(&s, 0, 2), 0);
	assert_int_equal(zipc_sem_getvalue(&s, &v), 0);
	assert_int_equal(v, 2);
	assert_int_equal(zipc_sem_wait(&s), 0);
	assert_int_equal(zipc_sem_trywait(&s), 0);
	assert_int_equal(zipc_sem_trywait(&s), -1);
	assert_int_equal(errno, EAGAIN);
	assert_int_equal(zipc_sem_post(&s), 0);
	assert_int_equal(zipc_sem_getvalue(&s, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(zipc_sem_destroy(&s), 0);
	assert_int_equal(zipc_sem_init(&s, 0, (unsigned)SEM_VALUE_MAX + 1u),
			 -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(zipc_sem_init(&s, 1, SEM_VALUE_MAX), 0);
	assert_int_equal(zipc_sem_post(&s), -1);
	assert_int_equal(errno, EOVERFLOW);
	assert_int_equal(zipc_sem_destroy(&s), 0);
}

static void
test_timedwait(void **state)
{
	(void)state;
	sem_t s;
	struct timespec t;
	assert_int_equal(zipc_sem_init(&s, 0, 1), 0);
	/* glibc: a bad tv_nsec is EINVAL even when the value is free. */
	t.tv_sec = 0;
	t.tv_nsec = 1000000000L;
	assert_int_equal(zipc_sem_timedwait(&s, &t), -1);
	assert_int_equal(errno, EINVAL);
	t.tv_sec = -1;
	t.tv_nsec = 0;
	assert_int_equal(zipc_sem_timedwait(&s, &t), 0); /* free: taken */
	assert_int_equal(zipc_sem_timedwait(&s, &t), -1);
	assert_int_equal(errno, ETIMEDOUT);
	clock_gettime(CLOCK_REALTIME, &t);
	t.tv_nsec += 20000000;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	assert_int_equal(zipc_sem_timedwait(&s, &t), -1);
	assert_int_equal(errno, ETIMEDOUT);
	clock_gettime(CLOCK_MONOTONIC, &t);
	t.tv_nsec += 20000000;
	if (t.tv_nsec >= 1000000000L) {
		t.tv_sec++;
		t.tv_nsec -= 1000000000L;
	}
	assert_int_equal(zipc_sem_clockwait(&s, CLOCK_MONOTONIC, &t), -1);
	assert_int_equal(errno, ETIMEDOUT);
	assert_int_equal(zipc_sem_clockwait(&s, CLOCK_PROCESS_CPUTIME_ID, &t),
			 -1);
	assert_int_equal(errno, EINVAL);
	zipc_sema_t *z = (zipc_sema_t *)&s;
	assert_int_equal(zipc_sema_wait(z, 0), -EAGAIN);
	assert_int_equal(zipc_sema_wait(z, 1000000), -ETIMEDOUT);
	assert_int_equal(zipc_sem_destroy(&s), 0);
}

static sem_t sig_sem;

static void
on_alarm(int sig)
{
	(void)sig;
	zipc_sem_post(&sig_sem); /* async-signal-safe */
}

static void
test_post_from_handler(void **state)
{
	(void)state;
	struct sigaction sa, old;
	memset(&sa, 0, sizeof(sa));
	sa.sa_handler = on_alarm;
	sa.sa_flags = SA_RESTART;
	assert_int_equal(zipc_sem_init(&sig_sem, 0, 0), 0);
	sigaction(SIGUSR2, &sa, &old);
	/* A handler posting while the main flow waits: 200 rounds. */
	for (int i = 0; i < 200; i++) {
		pid_t self = getpid();
		pid_t p = fork();
		if (p == 0) {
			kill(self, SIGUSR2);
			_exit(0);
		}
		int r;
		while ((r = zipc_sem_wait(&sig_sem)) < 0 && errno == EINTR)
			;
		assert_int_equal(r, 0);
		assert_int_equal(tu_wait(p, 10000), 0);
	}
	/* Posts from a handler interrupting posts and waits of the main
	 * flow itself (an interval timer firing during the loop). */
	struct itimerval it = {{0, 200}, {0, 200}};
	sa.sa_handler = on_alarm;
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	for (int i = 0; i < 200000; i++) {
		zipc_sem_post(&sig_sem);
		while (zipc_sem_trywait(&sig_sem) < 0)
			;
	}
	struct itimerval off = {{0, 0}, {0, 0}};
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	sigaction(SIGUSR2, &old, NULL);
	int v = -1;
	zipc_sem_getvalue(&sig_sem, &v);
	assert_true(v >= 0);
	zipc_sem_destroy(&sig_sem);
	alarm(170); /* tu_setup's watchdog, re-armed */
}

static void
on_usr1(int sig)
{
	(void)sig;
}

static void
test_eintr(void **state)
{
	(void)state;
	sem_t *s = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	assert_int_equal(zipc_sem_init(s, 1, 0), 0);
	pid_t p = fork();
	if (p == 0) {
		struct sigaction sa;
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_usr1;
		sa.sa_flags = SA_RESTART;
		sigaction(SIGUSR1, &sa, NULL);
		int r = zipc_sem_wait(s);
		_exit(r < 0 && errno == EINTR ? 0 : 1);
	}
	/* Until the child sleeps (counted), then keep signalling. */
	while (!__atomic_load_n(&((struct zipc_sema *)s)->sa_waiters,
				__ATOMIC_SEQ_CST))
		sched_yield();
	int st;
	while (waitpid(p, &st, WNOHANG) == 0) {
		kill(p, SIGUSR1);
		sched_yield();
	}
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* pshared across fork: the child takes what the parent posts. */
	p = fork();
	if (p == 0)
		_exit(zipc_sem_wait(s) == 0 ? 0 : 1);
	assert_int_equal(zipc_sem_post(s), 0);
	assert_int_equal(tu_wait(p, 10000), 0);
	munmap(s, 4096);
}

static void
test_named(void **state)
{
	(void)state;
	sem_t *a = zipc_sem_open("/zs-one", O_CREAT | O_EXCL, 0600, 1);
	assert_true(a != SEM_FAILED);
	sem_t *b = zipc_sem_open("/zs-one", 0);
	assert_ptr_equal(a, b); /* the same semaphore, the same address */
	assert_true(zipc_sem_open("/zs-one", O_CREAT | O_EXCL, 0600, 1) ==
		    SEM_FAILED);
	assert_int_equal(errno, EEXIST);
	assert_true(zipc_sem_open("/zs-none", 0) == SEM_FAILED);
	assert_int_equal(errno, ENOENT);
	assert_true(zipc_sem_open("/a/b", O_CREAT, 0600, 0) == SEM_FAILED);
	assert_int_equal(errno, EINVAL);
	char longname[NAME_MAX + 3];
	memset(longname, 'x', sizeof(longname) - 1);
	longname[0] = '/';
	longname[sizeof(longname) - 1] = 0;
	assert_true(zipc_sem_open(longname, O_CREAT, 0600, 0) == SEM_FAILED);
	assert_int_equal(errno, ENAMETOOLONG);
	assert_true(zipc_sem_open("/zs-big", O_CREAT, 0600,
				  (unsigned)SEM_VALUE_MAX + 1u) == SEM_FAILED);
	assert_int_equal(errno, EINVAL);
	/* Unlink while open: the name goes, the semaphore stays usable. */
	assert_int_equal(zipc_sem_unlink("/zs-one"), 0);
	assert_true(zipc_sem_open("/zs-one", 0) == SEM_FAILED);
	assert_int_equal(zipc_sem_unlink("/zs-one"), -1);
	assert_int_equal(errno, ENOENT);
	assert_int_equal(zipc_sem_wait(a), 0);
	assert_int_equal(zipc_sem_post(b), 0);
	assert_int_equal(zipc_sem_close(b), 0);
	int v;
	assert_int_equal(zipc_sem_getvalue(a, &v), 0);
	assert_int_equal(v, 1);
	assert_int_equal(zipc_sem_close(a), 0);
	/* Across processes by name. */
	sem_t *c = zipc_sem_open("zs-two", O_CREAT, 0600, 0);
	assert_true(c != SEM_FAILED);
	pid_t p = fork();
	if (p == 0) {
		sem_t *d = zipc_sem_open("/zs-two", 0);
		_exit(d != SEM_FAILED && zipc_sem_post(d) == 0 ? 0 : 1);
	}
	assert_int_equal(zipc_sem_wait(c), 0);
	assert_int_equal(tu_wait(p, 10000), 0);
	assert_int_equal(zipc_sem_close(c), 0);
	assert_int_equal(zipc_sem_unlink("/zs-two"), 0);
}

static void
test_readiness(void **state)
{
	(void)state;
	/* A set's semaphore. */
	int id = zipc_semset_get(IPC_PRIVATE, 2, 0600);
	assert_true(id >= 0);
	int fd = zipc_semset_fd(id, 1);
	assert_true(fd >= 0);
	struct pollfd pf = {fd, POLLIN, 0};
	assert_int_equal(poll(&pf, 1, 0), 0);
	pid_t p = fork();
	if (p == 0) {
		struct zipc_semset_op o = {1, 2, 0};
		_exit(zipc_semset_op(id, &o, 1, -1) == 0 ? 0 : 1);
	}
	assert_int_equal(poll(&pf, 1, 10000), 1); /* across processes */
	assert_int_equal(tu_wait(p, 10000), 0);
	struct zipc_semset_op take = {1, -2, 0};
	assert_int_equal(zipc_semset_op(id, &take, 1, 0), 0);
	assert_int_equal(poll(&pf, 1, 0), 0);
	assert_int_equal(zipc_semset_fd_close(id, 1, fd), 0);
	assert_int_equal(zipc_semset_remove(id), 0);
	/* A named POSIX semaphore. */
	zipc_sema_t *s;
	assert_int_equal(zipc_sema_open("/zs-ready", O_CREAT, 0600, 0, &s), 0);
	fd = zipc_sema_fd(s);
	assert_true(fd >= 0);
	pf.fd = fd;
	assert_int_equal(poll(&pf, 1, 0), 0);
	assert_int_equal(zipc_sema_post(s), 0);
	assert_int_equal(poll(&pf, 1, 1000), 1);
	assert_int_equal(zipc_sema_wait(s, 0), 0);
	assert_int_equal(poll(&pf, 1, 0), 0);
	assert_int_equal(zipc_sema_fd_close(s, fd), 0);
	assert_int_equal(zipc_sema_close(s), 0);
	assert_int_equal(zipc_sema_unlink("/zs-ready"), 0);
}

static void
test_semctl_misc(void **state)
{
	(void)state;
	struct seminfo si;
	int k = zipc_semget(0x5eed, 3, IPC_CREAT | 0640);
	assert_true(k >= 0);
	assert_int_equal(zipc_semget(0x5eed, 3, 0), k);
	assert_int_equal(zipc_semget(0x5eed, 4, 0), -1);
	assert_int_equal(errno, EINVAL); /* more than the set has */
	assert_int_equal(zipc_semget(0x5eed, 1, IPC_CREAT | IPC_EXCL), -1);
	assert_int_equal(errno, EEXIST);
	assert_int_equal(zipc_semget(0x5eee, 1, 0), -1);
	assert_int_equal(errno, ENOENT);
	int idx = zipc_semctl(0, 0, SEM_INFO, (union semun){.__buf = &si});
	assert_true(idx >= 0);
	assert_int_equal(si.semusz, 1);
	assert_int_equal(si.semaem, 3);
	assert_true(zipc_semctl(0, 0, IPC_INFO, (union semun){.__buf = &si}) >=
		    0);
	assert_int_equal(si.semvmx, 32767);
	struct semid_ds ds;
	assert_int_equal(zipc_semctl(idx, 0, SEM_STAT,
				     (union semun){.buf = &ds}),
			 k);
	assert_int_equal(ds.sem_nsems, 3);
	assert_int_equal(ds.sem_perm.__key, 0x5eed);
	/* SETVAL clears the undo adjustments on that semaphore. */
	struct sembuf up = {0, 2, SEM_UNDO};
	assert_int_equal(zipc_semop(k, &up, 1), 0);
	pid_t p = fork();
	if (p == 0) {
		struct sembuf u = {1, 3, SEM_UNDO};
		zipc_semop(k, &u, 1);
		_exit(0); /* no atexit: the robust list must report it */
	}
	assert_int_equal(tu_wait(p, 10000), 0);
	assert_int_equal(zipc_semctl(k, 1, GETVAL), 0); /* undone */
	assert_int_equal(zipc_semctl(k, 1, GETPID), p);
	/* Permissions as nobody: read-only access. */
	p = fork();
	if (p == 0) {
		if (tu_become_nobody() < 0)
			_exit(77);
		struct sembuf u = {0, 1, 0};
		int r1 = zipc_semop(k, &u, 1), e1 = errno;
		int r2 = zipc_semctl(k, 0, GETVAL), e2 = errno;
		_exit(r1 == -1 && e1 == EACCES && r2 == -1 && e2 == EACCES
			      ? 0
			      : 1);
	}
	int st = tu_wait(p, 10000);
	assert_true(st == 0 || st == 77);
	assert_int_equal(zipc_semctl(k, 0, IPC_RMID), 0);
}

int
main(void)
{
	tu_setup(170);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_unnamed),
		cmocka_unit_test(test_timedwait),
		cmocka_unit_test(test_post_from_handler),
		cmocka_unit_test(test_eintr),
		cmocka_unit_test(test_named),
		cmocka_unit_test(test_readiness),
		cmocka_unit_test(test_semctl_misc),
	};
	int r = cmocka_run_group_tests(tests, NULL, NULL);
	if (tu_count_objects() != 0)
		return 1;
	return r;
}
