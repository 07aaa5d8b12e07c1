/* SPDX-License-Identifier: MIT */
/*
 * Private declarations shared by every source file: export macro, error
 * conventions and crash points. Functions named zipc__* are internal: hidden
 * visibility, never in libzipc.map.
 */
#ifndef ZIPC_INTERNAL_H
#define ZIPC_INTERNAL_H

#include <errno.h>
#include <stddef.h>
#include <stdint.h>

#define ZIPC_API __attribute__((visibility("default")))

/*
 * Thread-local caches on every operation's path (the thread id the lock
 * word names, the last queue used): initial-exec, so that reading one is
 * a load off %fs, not a call to __tls_get_addr as the default model for
 * a shared library makes it. It costs a few bytes of the static TLS that
 * glibc keeps spare for libraries, which is what lets libzipc still be
 * dlopen()ed.
 */
#define ZIPC_TLS __thread __attribute__((tls_model("initial-exec")))

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define ZIPC_ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Compat faces: libc convention, -1 and errno (musl __syscall_ret). */
static inline int
ret_errno(int r)
{
	if (r >= 0)
		return r;
	errno = -r;
	return -1;
}

static inline long
ret_errno_long(long r)
{
	if (r >= 0)
		return r;
	errno = (int)-r;
	return -1;
}

/*
 * Crash points. In builds with -Dcrash_points=true, ZIPC_CRASH("name") makes
 * the process _exit(ZIPC_CRASH_EXIT) when the environment variable
 * ZIPC_CRASH_AT names that point ("name" or "name:N" for the N-th pass).
 * Tests use them to prove that a death inside every critical section leaves
 * the object consistent. Elsewhere they compile to nothing.
 */
#define ZIPC_CRASH_EXIT 86
#ifdef ZIPC_CRASH_POINTS
extern int zipc__crash_armed;
void zipc__crash_point(const char *name);
void zipc__crash_arm(const char *spec);
#define ZIPC_CRASH(name)                                                      \
	do {                                                                  \
		if (unlikely(zipc__crash_armed))                              \
			zipc__crash_point(name);                              \
	} while (0)
#else
#define ZIPC_CRASH(name)                                                      \
	do {                                                                  \
	} while (0)
#endif

#endif
