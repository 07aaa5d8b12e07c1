/* SPDX-License-Identifier: MIT */
/*
 * Private to src/sem: the per-process view of a mapped set, shared by the
 * engine (semset.c) and the sentinel (sentinel.c).
 */
#ifndef ZIPC_SEMINT_H
#define ZIPC_SEMINT_H

#include <linux/futex.h>

#include "sem.h"

/* A set this process has mapped. Never unmapped: robust-list nodes may
 * live in it, and other threads may be using it without a reference. */
struct zipc_semset_map {
	int id;
	struct zipc_obj obj;
	struct zipc_semset_map *next;
	/* Geometry, validated once at open, so a peer that scribbles on the
	 * control block cannot move our accesses out of the file. */
	uint32_t nsems, nundo, undo_size, log_cap;
	uint32_t sems_off, undo_off, q_off, log_off;
	uint32_t my_undo;   /* our record index + 1, a hint */
	int linked;	    /* our record's node is on our robust list */
	uint32_t frozen;    /* SEM_FROZEN if the fast path may run, else 0 */
	/* ipcperms() answers for the ipc_perm words last seen: semop must
	 * not pay geteuid()/getgroups() system calls on every call. */
	uint32_t pc_words[5];
	int pc_valid, pc_read, pc_write;
};

/* Sentinel side: lock @m, reap its dead, and add the words to watch
 * (generation word + other processes' armed death words) to @v, at most
 * @max. Sets *@poll when something can only be polled. Returns the count. */
int zipc__semset_collect(struct zipc_semset_map *m, struct futex_waitv *v,
			 int max, int *poll);
/* Sleepers register their set with the sentinel (+1) and leave (-1). */
int zipc__sem_watch(struct zipc_semset_map *m, int delta);

#endif
