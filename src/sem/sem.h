/* SPDX-License-Identifier: MIT */
/*
 * XSI semaphore sets and POSIX semaphores: the shared layouts and the
 * engines both public faces (zipc.h, zipc_compat.h) call. The protocols
 * are explained at the top of semset.c (sets, queue, transactions),
 * undo.c (SEM_UNDO and the sentinel's robust list) and sema.c (POSIX).
 */
#ifndef ZIPC_SEM_H
#define ZIPC_SEM_H

#include <semaphore.h>
#include <stdint.h>
#include <sys/sem.h>
#include <time.h>

#include "ipcperm.h"
#include "layout.h"
#include "lock.h"
#include "proc.h"
#include "readyfd.h"
#include "store.h"

#define ZIPC_SEMVMX	  32767 /* SEMVMX */
#define ZIPC_SEMAEM	  32767 /* SEMAEM: the undo range */
#define ZIPC_SEM_QMAX	  128	/* sleepers per set */
#define ZIPC_SEM_QOPS	  32	/* operations a sleeper's array may hold */
#define ZIPC_SEM_UNDO_MAX 128	/* undo records per set (fewer if huge) */

/* Kernel robust-futex bits in death words (linux/futex.h). */
#define ZIPC_FUTEX_WAITERS    0x80000000u
#define ZIPC_FUTEX_OWNER_DIED 0x40000000u
#define ZIPC_FUTEX_TID_MASK   0x3fffffffu

/* One semaphore. */
struct zipc_sem {			/* off size */
	uint32_t sm_val;		/*  0 4  0..SEMVMX */
	uint32_t sm_pid;		/*  4 4  sempid */
	uint32_t sm_shadow;		/*  8 4  SETALL's new value (redo) */
	uint32_t sm_resv;		/* 12 4 */
	struct zipc_readyfd sm_rf;	/* 16 8  "a decrement would succeed" */
};					/* 24 */

/*
 * A robust-list node as the kernel walks it: the next pointer (this
 * process's address, meaningful only to the owner), then the death word
 * at the same offset in every node kind (futex_offset).
 */
struct zipc_sem_rnode {
	uint64_t rn_next; /* 0 8  struct robust_list *, owner-private */
	uint32_t rn_word; /* 8 4  sentinel tid | WAITERS | OWNER_DIED */
	uint32_t rn_resv; /* 12 4 */
};

/* An undo record: one process's adjustments on this set. */
struct zipc_sem_undo {			/* off size */
	struct zipc_sem_rnode un_node;	/*  0 16 */
	struct zipc_proc un_proc;	/* 16 16 pid 0: free */
	uint32_t un_flags;		/* 32 4  UNDO_POLL */
	uint32_t un_resv;		/* 36 4 */
	int32_t un_adj[];		/* 40    semadj[nsems] */
};
#define ZIPC_UNDO_POLL 1u /* watch by polling /proc (exec'd, unarmed) */

struct zipc_sembuf {
	uint16_t sb_num;
	int16_t sb_op;
	int16_t sb_flg;
};

enum { Q_FREE = 0, Q_WAITING = 1, Q_DONE = 2 };

/* A sleeping semop (a struct sem_queue of ipc/sem.c). */
struct zipc_sem_q {			/* off size */
	struct zipc_sem_rnode q_node;	/*   0 16 */
	struct zipc_proc q_proc;	/*  16 16 */
	uint32_t q_state;		/*  32 4  Q_*; the sleeper's futex */
	int32_t q_result;		/*  36 4  0 or -errno once DONE */
	uint32_t q_list;		/*  40 4  which pending list */
	uint32_t q_key;			/*  44 4  order within it */
	uint16_t q_nsops;		/*  48 2 */
	uint16_t q_blocking;		/*  50 2  index of the op that blocks */
	uint32_t q_undo;		/*  52 4  record index + 1, or 0 */
	uint32_t q_tid;			/*  56 4 */
	uint32_t q_resv;		/*  60 4 */
	struct zipc_sembuf q_ops[ZIPC_SEM_QOPS]; /* 64 192 */
};					/* 256 */

/* One transaction-log entry: a word's offset in the file, its old value. */
struct zipc_sem_log {
	uint32_t lg_off;
	uint32_t lg_old;
};

struct zipc_semset_ctl {		/* off (after the header) */
	struct zipc_lock se_lock;	/*   0 24 */
	uint32_t se_log_n;		/*  24 4  open transaction entries */
	uint32_t se_log_cap;		/*  28 4 */
	struct zipc_ipc_perm se_perm;	/*  32 32 */
	int64_t se_otime;		/*  64 8 */
	int64_t se_ctime;		/*  72 8 */
	uint32_t se_nsems;		/*  80 4 */
	uint32_t se_nundo;		/*  84 4  undo record slots */
	uint32_t se_undo_size;		/*  88 4  bytes per record */
	uint32_t se_undo_hi;		/*  92 4  1 + highest record in use */
	uint32_t se_q_hi;		/*  96 4  1 + highest queue entry used */
	uint32_t se_complex;		/* 100 4  queued entries with nsops>1 */
	uint32_t se_qtail;		/* 104 4  next tail key */
	uint32_t se_qhead;		/* 108 4  next head key (merge) */
	uint32_t se_sems_off;		/* 112 4 */
	uint32_t se_undo_off;		/* 116 4 */
	uint32_t se_q_off;		/* 120 4 */
	uint32_t se_log_off;		/* 124 4 */
	uint32_t se_setall;		/* 128 4  SETALL redo pending: pid */
	uint32_t se_poll;		/* 132 4  records in UNDO_POLL mode */
	uint32_t se_rgen;		/* 136 4  bumped when a record is made */
	uint32_t se_watchers;		/* 140 4  readiness fds, all sems */
	uint32_t se_resv[28];		/* 144 112 */
};					/* 256 */
_Static_assert(sizeof(struct zipc_semset_ctl) == 256, "ABI");
_Static_assert(offsetof(struct zipc_semset_ctl, se_otime) % 8 == 0, "ABI");
_Static_assert(sizeof(struct zipc_sem_q) == 256, "ABI");
_Static_assert(sizeof(struct zipc_sem_undo) == 40, "ABI");
_Static_assert(offsetof(struct zipc_sem_undo, un_node.rn_word) ==
		       offsetof(struct zipc_sem_q, q_node.rn_word),
	       "one futex_offset for every robust node");

#define ZIPC_SEM_SIG                                                          \
	ZIPC_SIG_STRUCT(                                                      \
		ZIPC_SIG_STRUCT(                                              \
			ZIPC_SIG_STRUCT(                                      \
				ZIPC_SIG_STRUCT(                              \
					ZIPC_SIG_STRUCT(ZIPC_SIG_BASE,        \
							struct zipc_lock),    \
					struct zipc_sem),                     \
				struct zipc_sem_undo),                        \
			struct zipc_sem_q),                                   \
		struct zipc_semset_ctl)

/* ---- the robust-list sentinel (undo.c) ------------------------------- */

/* The tid whose death marks this process's nodes, creating the sentinel
 * thread if @create and there is none; 0 if there is none (callers then
 * poll /proc for these nodes). */
uint32_t zipc__sem_sentinel_tid(int create);
/* 1 when the sentinel could not be made (then nodes are polled). */
int zipc__sem_sentinel_failed(void);
/* Link/unlink @n on the sentinel's robust list (process-local mutex). */
void zipc__sem_rnode_link(struct zipc_sem_rnode *n);
void zipc__sem_rnode_unlink(struct zipc_sem_rnode *n);

/* ---- XSI engine (semset.c) --------------------------------------------- */

int zipc__semget(int32_t key, int nsems, int flags);
int zipc__semop(int id, const struct sembuf *sops, size_t nsops,
		const struct timespec *rel);
/* semctl with the caller's argument already picked from the union. */
int zipc__semctl(int id, int semnum, int cmd, void *ptr, int val);
/* A readiness fd that polls readable while sem @semnum > 0. */
int zipc__semset_fd(int id, int semnum);
void zipc__semset_fd_close(int id, int semnum, int fd);
/* At exit: apply this process's adjustments (atexit; also tests). */
void zipc__sem_exit(void);

/* ---- POSIX semaphores (sema.c) ----------------------------------------- */

/* The 32 bytes a sem_t holds (pshared or not: same layout). */
struct zipc_sema {
	uint32_t sa_magic;   /*  0 4 */
	uint32_t sa_value;   /*  4 4  the count */
	uint32_t sa_waiters; /*  8 4  sleepers counted */
	uint32_t sa_flags;   /* 12 4  pshared */
	uint64_t sa_resv[2]; /* 16 16 */
};
_Static_assert(sizeof(struct zipc_sema) <= sizeof(sem_t), "fits a sem_t");

#define SEMA_MAGIC  0x616d6573u /* "sema" */
#define SEMA_SHARED 1u
#define SEMA_NAMED  2u

/* The file of a named semaphore ("zipc.posix-sem/<name>"). */
struct zipc_sema_file {			/* off (after the header) */
	struct zipc_sema sf_sem;	/*  0 32 */
	struct zipc_readyfd sf_rf;	/* 32 8 */
	uint32_t sf_lock;		/* 40 4  guards FIFO flips only */
	uint32_t sf_resv[5];		/* 44 20 */
};
#define SEMA_FILE_SIZE 4096
#define SEMA_SIG                                                              \
	ZIPC_SIG_STRUCT(ZIPC_SIG_STRUCT(ZIPC_SIG_BASE, struct zipc_sema),     \
			struct zipc_sema_file)

#endif
