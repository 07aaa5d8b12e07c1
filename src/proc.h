/* SPDX-License-Identifier: MIT */
/*
 * Process identity. A process (or thread) is known by its id together with
 * its start time in clock ticks since boot (/proc/PID/stat field 22), so a
 * recycled pid never passes for the process that held it before.
 */
#ifndef ZIPC_PROC_H
#define ZIPC_PROC_H

#include <stdint.h>

/* As stored in shared memory: 16 bytes, 8-aligned. */
struct zipc_proc {
	uint32_t pr_pid;   /*  0 4  pid or tid; 0 = none */
	uint32_t pr_resv;  /*  4 4  zero */
	uint64_t pr_start; /*  8 8  start time, clock ticks since boot */
};

/* Start time of @pid (a pid or a tid), or 0 if it is gone or a zombie. */
uint64_t zipc__proc_start(uint32_t pid);

/* 1 when (@pid, @start) names a living process, else 0. */
int zipc__proc_alive(uint32_t pid, uint64_t start);

/* 1 when the recorded process is alive; an empty record (pid 0) is not. */
int zipc__proc_rec_alive(const struct zipc_proc *rec);

/* This process (getpid), cached and refreshed after fork. */
void zipc__proc_self(struct zipc_proc *out);

/* This thread (gettid) and its start time, cached per thread. */
uint32_t zipc__tid(void);
uint64_t zipc__tid_start(void);

#endif
