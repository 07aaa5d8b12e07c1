/* SPDX-License-Identifier: MIT */
/* Shared test helpers; see testutil.h. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <grp.h>
#include <inttypes.h>
#include <poll.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "testutil.h"

static char tu_dir[256];
static pid_t tu_owner;

static int
rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void
tu_cleanup(void)
{
	if (getpid() != tu_owner || !tu_dir[0])
		return;
	nftw(tu_dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static void
on_alarm(int sig)
{
	(void)sig;
	static const char msg[] = "testutil: watchdog fired: test hung\n";
	if (write(2, msg, sizeof(msg) - 1) < 0) {
	}
	tu_cleanup();
	signal(SIGKILL, SIG_DFL);
	kill(0, SIGKILL);
	_exit(124);
}

const char *
tu_setup(unsigned timeout_s)
{
	snprintf(tu_dir, sizeof(tu_dir), "/dev/shm/zipc-test.%d.XXXXXX",
		 (int)getpid());
	if (!mkdtemp(tu_dir)) {
		perror("mkdtemp");
		exit(99);
	}
	chmod(tu_dir, 01777);
	setenv("ZIPC_DIR", tu_dir, 1);
	tu_owner = getpid();
	atexit(tu_cleanup);
	signal(SIGALRM, on_alarm);
	alarm(timeout_s);
	return tu_dir;
}

static int
count_in(const char *dir)
{
	DIR *d = opendir(dir);
	int n = 0;
	if (!d)
		return 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		if (e->d_name[0] == '.' && (!e->d_name[1] ||
					    (e->d_name[1] == '.' &&
					     !e->d_name[2])))
			continue;
		if (strcmp(e->d_name, "zipc.registry") == 0)
			continue;
		if (strncmp(e->d_name, "zipc.posix-", 11) == 0) {
			char sub[512];
			snprintf(sub, sizeof(sub), "%s/%s", dir, e->d_name);
			n += count_in(sub);
			continue;
		}
		n++;
	}
	closedir(d);
	return n;
}

int
tu_count_objects(void)
{
	return count_in(tu_dir);
}

pid_t
tu_fork(int (*fn)(void *arg), void *arg)
{
	fflush(NULL);
	pid_t pid = fork();
	if (pid == 0) {
		alarm(0);
		_exit(fn(arg));
	}
	return pid;
}

int
tu_wait(pid_t pid, int timeout_ms)
{
	int status;
	for (int waited = 0;; waited++) {
		pid_t r = waitpid(pid, &status, WNOHANG);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR)
			return -1;
		if (waited >= timeout_ms) {
			tu_kill(pid);
			return -1;
		}
		poll(NULL, 0, 1); /* a bounded wait for the child, not sync */
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

void
tu_kill(pid_t pid)
{
	kill(pid, SIGKILL);
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
}

void
tu_gate_init(struct tu_gate *g)
{
	if (pipe2(g->fd, O_CLOEXEC) < 0) {
		perror("pipe");
		exit(99);
	}
}

void
tu_gate_open(struct tu_gate *g)
{
	if (write(g->fd[1], "x", 1) != 1)
		perror("gate");
}

int
tu_gate_wait(struct tu_gate *g, int ms)
{
	struct pollfd p = {.fd = g->fd[0], .events = POLLIN};
	char c;
	if (poll(&p, 1, ms) != 1 || read(g->fd[0], &c, 1) != 1)
		return -1;
	return 0;
}

static uint64_t tu_state = 88172645463325252ull;

void
tu_seed(uint64_t dflt)
{
	const char *s = getenv("ZIPC_TEST_SEED");
	tu_state = s ? strtoull(s, NULL, 0) : dflt;
	if (!tu_state)
		tu_state = 1;
	fprintf(stderr, "# seed %" PRIu64 " (ZIPC_TEST_SEED to replay)\n",
		tu_state);
}

uint64_t
tu_rand(void)
{
	tu_state ^= tu_state >> 12;
	tu_state ^= tu_state << 25;
	tu_state ^= tu_state >> 27;
	return tu_state * 2685821657736338717ull;
}

uint64_t
tu_rand_below(uint64_t n)
{
	return n ? tu_rand() % n : 0;
}

int
tu_become_nobody(void)
{
	struct passwd *pw = getpwnam("nobody");
	if (!pw)
		return -1;
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		return -1;
	if (setgid(pw->pw_gid) < 0 || setuid(pw->pw_uid) < 0)
		return -1;
	return 0;
}
