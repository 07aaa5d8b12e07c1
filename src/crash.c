/* SPDX-License-Identifier: MIT */
/*
 * Crash-point injection for test builds: ZIPC_CRASH_AT=name[:N] in the
 * environment makes the N-th (default first) pass through the named point
 * _exit at once, as a SIGKILL there would leave things.
 */
#include "internal.h"

#ifdef ZIPC_CRASH_POINTS
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int zipc__crash_armed;
static char crash_name[128];
static long crash_countdown;

/* Arm (or with NULL disarm) a crash point; tests that fork call it. */
void
zipc__crash_arm(const char *spec)
{
	zipc__crash_armed = 0;
	if (!spec || !*spec)
		return;
	size_t n = strcspn(spec, ":");
	if (n >= sizeof(crash_name))
		return;
	memcpy(crash_name, spec, n);
	crash_name[n] = 0;
	crash_countdown = spec[n] == ':' ? strtol(spec + n + 1, NULL, 10) : 1;
	if (crash_countdown < 1)
		crash_countdown = 1;
	zipc__crash_armed = 1;
}

__attribute__((constructor)) static void
crash_init(void)
{
	zipc__crash_arm(getenv("ZIPC_CRASH_AT"));
}

void
zipc__crash_point(const char *name)
{
	if (strcmp(name, crash_name) != 0)
		return;
	if (__atomic_sub_fetch(&crash_countdown, 1, __ATOMIC_SEQ_CST) == 0)
		_exit(ZIPC_CRASH_EXIT);
}
#endif
