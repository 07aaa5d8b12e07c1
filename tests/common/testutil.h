/* SPDX-License-Identifier: MIT */
/*
 * Shared test helpers: a private ZIPC_DIR per test program (removed, and
 * checked empty of objects, at exit), a watchdog so a hang fails instead
 * of stalling CI, and fork helpers that report a child's fate.
 */
#ifndef ZIPC_TESTUTIL_H
#define ZIPC_TESTUTIL_H

#include <stdint.h>
#include <sys/types.h>

/*
 * Make a fresh private store (mode 01777 so a child setuid to nobody can
 * use it), export ZIPC_DIR, arm a watchdog of @timeout_s seconds (SIGALRM
 * kills the whole process group with a message), and register cleanup:
 * at exit the directory tree is removed. Returns the directory.
 */
const char *tu_setup(unsigned timeout_s);

/* Number of zipc object files in the private store now (registry and
 * namespace directories excluded). Tests assert it is 0 at the end. */
int tu_count_objects(void);

/* Fork; the child runs @fn(@arg) and _exits with its return value. */
pid_t tu_fork(int (*fn)(void *arg), void *arg);

/* Wait for @pid at most @timeout_ms. Returns the exit status (0..255),
 * 128+signal if killed, or -1 on timeout (the child is then SIGKILLed). */
int tu_wait(pid_t pid, int timeout_ms);

/* SIGKILL @pid and reap it. */
void tu_kill(pid_t pid);

/* A pipe-based one-shot rendezvous between a parent and a forked child,
 * so no test ever sleeps to synchronise. */
struct tu_gate {
	int fd[2];
};
void tu_gate_init(struct tu_gate *g);
void tu_gate_open(struct tu_gate *g);	      /* the signalling side */
int tu_gate_wait(struct tu_gate *g, int ms); /* 0, or -1 on timeout */

/* Deterministic PRNG (xorshift64*), seeded from ZIPC_TEST_SEED or @dflt;
 * the seed is printed so a failure can be replayed. */
void tu_seed(uint64_t dflt);
uint64_t tu_rand(void);
uint64_t tu_rand_below(uint64_t n);

/* Drop to user nobody (in a child). Returns 0, or -1 if impossible. */
int tu_become_nobody(void);

#endif
