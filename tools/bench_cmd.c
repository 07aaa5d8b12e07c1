/* SPDX-License-Identifier: MIT */
/*
 * zipc bench: runs zipc-bench, the side-by-side benchmark (bench/), with
 * the same arguments. It is exec'ed rather than linked in because the
 * benchmark is a program of its own (its main, its signal handlers and
 * watchdog alarms, the children it forks and pins): keeping it a separate
 * process keeps all of that out of the zipc command, and both stay usable
 * alone. zipc-bench is looked for next to this zipc (installed side by
 * side in bindir), then in a build tree's bench/ directory, then in PATH.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

static int
try_exec(const char *path, char **argv)
{
	if (access(path, X_OK) < 0)
		return -errno;
	argv[0] = (char *)path;
	execv(path, argv);
	return -errno;
}

int
cmd_bench(int argc, char **argv)
{
	char self[PATH_MAX], path[PATH_MAX + 32];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	(void)argc;
	/* An explicit choice wins (tests, odd installs). */
	const char *env = getenv("ZIPC_BENCH");
	if (env && *env) {
		int r = try_exec(env, argv);
		die(1, "bench: ZIPC_BENCH=%s: %s", env, strerror(-r));
	}
	if (n > 0) {
		self[n] = 0;
		char *slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			snprintf(path, sizeof(path), "%s/zipc-bench", self);
			try_exec(path, argv);
			snprintf(path, sizeof(path), "%s/../bench/zipc-bench",
				 self);
			try_exec(path, argv);
		}
	}
	argv[0] = "zipc-bench";
	execvp("zipc-bench", argv);
	die(1,
	    "bench: zipc-bench not found next to zipc, in ../bench or in "
	    "PATH: %s",
	    strerror(errno));
}
