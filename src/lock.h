/* SPDX-License-Identifier: MIT */
/*
 * The robust process-shared lock that guards each object's critical
 * sections. When its holder dies, the next taker gets -EOWNERDEAD while
 * holding the lock and must run the object kind's repair step.
 */
#ifndef ZIPC_LOCK_H
#define ZIPC_LOCK_H

#include <stdint.h>

#include "proc.h"

/*
 * Shared layout: 24 bytes, 8-aligned. lk_word is one 64-bit word: the low
 * half (the futex word on little-endian machines) holds the owner's tid
 * and the WAITERS bit, the high half a hash of the owner's start time, so
 * who holds the lock is written in one atomic step and a recycled tid is
 * never taken for the holder.
 */
struct zipc_lock {
	uint64_t lk_word;    /*  0 8  0 free, else start hash:tid|WAITERS */
	uint64_t lk_resv[2]; /*  8 16 zero */
};

#define ZIPC_LOCK_WAITERS  0x80000000u
#define ZIPC_LOCK_TID_MASK 0x3fffffffu

/*
 * Take @lk. Returns 0; or -EOWNERDEAD when the previous holder died holding
 * it: the caller now holds the lock and must repair what it guards (repair
 * must be idempotent: the repairer may die too); or -EDEADLK if this thread
 * already holds it.
 */
int zipc__lock(struct zipc_lock *lk);
/* Take @lk only if free: 0, -EBUSY, or -EOWNERDEAD as above. */
int zipc__trylock(struct zipc_lock *lk);
void zipc__unlock(struct zipc_lock *lk);
/* 1 when @lk is held by a living thread (the one it names), else 0: for
 * tools that show who holds what. */
int zipc__lock_owner_alive(const struct zipc_lock *lk);
/* Make @lk free (new objects; repair of garbage). */
void zipc__lock_init(struct zipc_lock *lk);

#endif
