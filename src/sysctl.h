/* SPDX-License-Identifier: MIT */
/*
 * The kernel's IPC settings, read where they exist, so that a system tuned
 * for the kernel's IPC behaves the same under zipc.
 */
#ifndef ZIPC_SYSCTL_H
#define ZIPC_SYSCTL_H

#include <stdint.h>

/* The first unsigned number in @path (e.g. /proc/sys/kernel/shmmax), or
 * @dflt when the file is missing or holds no number. */
uint64_t zipc__sysctl_u64(const char *path, uint64_t dflt);

#endif
