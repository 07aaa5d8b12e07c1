/* SPDX-License-Identifier: MIT */
/*
 * Message queues: the shared layout of a queue object and the engine that
 * both faces (XSI msg* in msg.c, POSIX mq_* in posix.c) and the native
 * zipc_queue_* API stand on. The protocol is explained in engine.c.
 */
#ifndef ZIPC_MQ_H
#define ZIPC_MQ_H

#include <stdint.h>
#include <sys/types.h>

#include "ipcperm.h"
#include "layout.h"
#include "lock.h"
#include "proc.h"
#include "readyfd.h"
#include "store.h"
#include "sysctl.h"
#include "wait.h"

/*
 * The header of an extent: a run of ms_run consecutive slots whose bytes
 * after this header are one contiguous piece of a message (the headers of
 * the slots it covers are data). A message is one extent, or, when the
 * arena is too fragmented for that, a chain of them. POSIX queues get
 * slots as large as mq_msgsize, so their messages are always one slot.
 * Indices are stored plus one, so 0 means "none".
 */
struct zipc_mq_slot {	  /* off size */
	uint32_t ms_next; /*  0 4  next message in the queue (first extent) */
	uint32_t ms_cont; /*  4 4  next extent of this message */
	uint32_t ms_size; /*  8 4  message length (first extent) */
	uint32_t ms_run;  /* 12 4  slots in this extent */
	int64_t ms_type;  /* 16 8  XSI mtype, or POSIX priority */
	uint64_t ms_ringpos; /* 24 8  moved from ring position p: p + 1 */
};			  /* 32, payload follows */

#define ZIPC_MQ_XSI_PAYLOAD 96 /* XSI slot payload: stride 128 */

/*
 * A slot of the ring an XSI queue carries beside its arena: the fast path
 * for messages of up to ZIPC_MQ_RING_PAYLOAD bytes (see ring.c).
 */
#define ZIPC_MQ_RING_PAYLOAD 96
#define ZIPC_MQ_RING_NO_PRIO 0xffffffffu /* mq_ring_prio: not set yet */
struct zipc_mq_rslot {	   /* off size */
	char rs_data[ZIPC_MQ_RING_PAYLOAD]; /* 0 96 (64 B fill line 0 only) */
	uint64_t rs_resv[2]; /*  96 16 */
	uint32_t rs_seq;   /* 112 4  published: position + 1 */
	uint32_t rs_size;  /* 116 4  message length */
	int64_t rs_type;   /* 120 8  mtype */
};			   /* 128 */

enum zipc_mq_face { ZIPC_MQ_XSI = 1, ZIPC_MQ_POSIX = 2 };

enum zipc_mq_notify_kind {
	ZIPC_MQ_NOTIFY_NONE = 0, /* nobody registered */
	ZIPC_MQ_NOTIFY_SIGNAL = 1,
	ZIPC_MQ_NOTIFY_THREAD = 2,
	ZIPC_MQ_NOTIFY_QUIET = 3, /* SIGEV_NONE */
};

/*
 * The control block, right after the 64-byte header. Line 0 holds what
 * every send and receive writes under the lock -- with the first word of
 * the free slot bitmap, so a queue of up to 64 slots allocates without
 * another line -- so an operation moves one cache line besides its
 * message's; the events sit on their own line because sleepers' futex
 * words and spinners' loads should not bounce the lock's line.
 */
struct zipc_mq_ctl {			/* off size */
	struct zipc_lock mq_lock;	/*   0 24 */
	uint32_t mq_head;		/*  24  4  first message (+1) */
	uint32_t mq_tail;		/*  28  4  last message (+1) */
	uint32_t mq_free;		/*  32  4  allocation rover (slot) */
	uint32_t mq_nfree;		/*  36  4  free slots */
	uint32_t mq_qnum;		/*  40  4  messages */
	uint32_t mq_sel_waiters;	/*  44  4  sleeping typed receivers */
	uint64_t mq_cbytes;		/*  48  8  bytes in messages */
	uint64_t mq_bm0;		/*  56  8  free bitmap, slots 0..63 */
	/* Written by senders only (their line, so the two sides of a busy
	 * queue do not bounce it): */
	struct zipc_event mq_rev;	/*  64  8  receivers wait: message */
	int64_t mq_stime;		/*  72  8 */
	uint32_t mq_lspid;		/*  80  4 */
	uint32_t mq_rpend;		/*  84  4  asleep, no wake sent yet */
	struct zipc_lock mq_slock;	/*  88 24  ring: senders' lock */
	uint64_t mq_enq;		/* 112  8  ring: sent pos | bytes<<32 */
	uint64_t mq_deq_seen;		/* 120  8  ring: senders' mq_deq copy */
	/* Written by receivers only: */
	struct zipc_event mq_sev;	/* 128  8  senders wait: room */
	int64_t mq_rtime;		/* 136  8 */
	uint32_t mq_lrpid;		/* 144  4 */
	uint32_t mq_spend;		/* 148  4  asleep, no wake sent yet */
	uint64_t mq_rresv2[3];		/* 152 24 */
	uint64_t mq_deq;		/* 176  8  ring: taken pos | bytes<<32
					 *          | closed<<63 */
	uint64_t mq_sresv;		/* 184  8 */
	/* Fixed at creation (validated against the file on every open). */
	uint32_t mq_face;		/* 192  4  enum zipc_mq_face */
	uint32_t mq_nslots;		/* 196  4 */
	uint32_t mq_stride;		/* 200  4  bytes per slot */
	uint32_t mq_payload;		/* 204  4  payload bytes per slot */
	uint64_t mq_arena;		/* 208  8  offset of slot 0 in the file */
	uint64_t mq_msgsize;		/* 216  8  POSIX mq_msgsize, XSI 0 */
	/* Bookkeeping (msqid_ds). */
	struct zipc_ipc_perm mq_perm;	/* 224 32 */
	int64_t mq_ctime;		/* 256  8 */
	uint64_t mq_qbytes;		/* 264  8  XSI byte limit/POSIX maxmsg */
	uint32_t mq_ring_open;		/* 272  4  ring in use when odd */
	uint32_t mq_ring_cap;		/* 276  4  ring slots, 0: none */
	uint32_t mq_perm_gen;		/* 280  4  bumped by IPC_SET */
	uint32_t mq_ring_prio;		/* 284  4  POSIX: the ring's messages' */
	struct zipc_readyfd mq_rd[2];	/* 288 16  [0] message, [1] room */
	/* mq_notify registration. */
	struct zipc_proc mq_nproc;	/* 304 16  registered process */
	uint32_t mq_nkind;		/* 320  4  enum zipc_mq_notify_kind */
	int32_t mq_nsigno;		/* 324  4 */
	uint64_t mq_nvalue;		/* 328  8  sigev_value */
	uint32_t mq_nseq;		/* 336  4  futex: thread helpers wait */
	uint32_t mq_nfired;		/* 340  4  fired, not yet taken */
	uint64_t mq_nid;		/* 344  8  registration stamp */
	uint64_t mq_resv[10];		/* 352 80 */
};					/* 432 */
_Static_assert(sizeof(struct zipc_mq_slot) == 32, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_cbytes) == 48, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_bm0) == 56, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_qbytes) == 264, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_rev) == 64, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_sev) == 128, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_arena) == 208, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_stime) == 72, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_rtime) == 136, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_rpend) == 84, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_spend) == 148, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_ctime) == 256, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_nproc) == 304, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_nvalue) == 328, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_nid) == 344, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_slock) == 88, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_deq_seen) == 120, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_deq) == 176, "ABI");
_Static_assert(offsetof(struct zipc_mq_ctl, mq_ring_open) == 272, "ABI");
_Static_assert(sizeof(struct zipc_mq_ctl) == 432, "ABI");
_Static_assert(sizeof(struct zipc_mq_rslot) == 128, "ABI");
_Static_assert(offsetof(struct zipc_mq_rslot, rs_seq) == 112, "ABI");

/* Step 2 marked the extent/bitmap arena format, 3 the ring, 4 its slot
 * header after the data (one line for a 64-byte message), 5 receivers
 * taking with a CAS of mq_deq instead of a lock, 6 POSIX queues' ring. */
#define ZIPC_MQ_SIG_PARTS                                                     \
	ZIPC_SIG_STRUCT(                                                      \
		ZIPC_SIG_STRUCT(ZIPC_SIG_STRUCT(ZIPC_SIG_BASE,                \
						struct zipc_lock),            \
				struct zipc_ipc_perm),                        \
		struct zipc_mq_slot)
#define ZIPC_MQ_SIG                                                           \
	ZIPC_SIG_STEP(ZIPC_SIG_STRUCT(ZIPC_SIG_STRUCT(ZIPC_MQ_SIG_PARTS,      \
						      struct zipc_mq_rslot),  \
				      struct zipc_mq_ctl),                    \
		      6)

#define ZIPC_MQ_ARENA_OFF 512 /* header + control, rounded to a line */

/* A queue mapped in this process (the native zipc_queue). The geometry
 * is copied once at open after checking it against the file, so a peer
 * that scribbles on the control block cannot move our pointers. */
struct zipc_queue {
	struct zipc_obj q_obj;
	struct zipc_mq_ctl *q_ctl;
	char *q_arena;
	uint64_t *q_bm; /* free slot bitmap after the arena (word 0: mq_bm0) */
	uint32_t q_nslots, q_stride, q_payload, q_face;
	uint64_t q_msgsize;
	int q_oflag;	 /* POSIX: O_ACCMODE | O_NONBLOCK of this handle */
	int q_id;	 /* XSI id, or -1 */
	uint32_t q_spin;  /* adaptive spin budget (ns); 0: off */
	uint32_t q_probe; /* waits since spinning went off */
	struct zipc_mq_rslot *q_ring; /* NULL: this queue has no ring */
	uint32_t q_ring_cap;	      /* a power of two >= q_nslots */
	char q_fifo[2][80]; /* readiness FIFO names (store-relative) */
};

/* Geometry of a new queue. */
struct zipc_mq_geom {
	uint32_t face;
	uint32_t nslots, payload;
	uint64_t qbytes;  /* XSI: msg_qbytes; POSIX: maxmsg */
	uint64_t msgsize; /* POSIX: mq_msgsize */
	uint32_t ring_cap; /* XSI: slots of its ring (0: none) */
	uint32_t mode;
	int32_t key;
	int id;
	uint64_t size; /* whole file, from zipc__mq_geom_size */
};

/* Fill nslots/payload/size for an XSI queue of @qbytes or a POSIX queue
 * of @maxmsg x @msgsize. -EINVAL/-ENOMEM if it cannot be represented. */
int zipc__mq_geom_xsi(struct zipc_mq_geom *g, uint64_t qbytes);
int zipc__mq_geom_posix(struct zipc_mq_geom *g, uint64_t maxmsg,
			uint64_t msgsize);
/* The store's init callback for a new queue (arg: struct zipc_mq_geom). */
int zipc__mq_init(struct zipc_obj *o, void *arg);
/* Check and adopt a freshly opened (or mapped again) object: -EBADMSG if
 * its geometry disagrees with the file. Sets every q_* field but q_oflag
 * and q_id, and the readiness FIFO names only when @fifo_stem is given. */
int zipc__mq_adopt(struct zipc_queue *q, const char *fifo_stem);

/* What a receive selects. */
enum zipc_mq_sel {
	ZIPC_SEL_FIRST,	   /* XSI msgtyp 0, and POSIX (sorted) */
	ZIPC_SEL_EQUAL,	   /* first of type t */
	ZIPC_SEL_NOTEQUAL, /* MSG_EXCEPT: first not of type t */
	ZIPC_SEL_LESSEQ,   /* first of the lowest type <= t */
	ZIPC_SEL_NTH,	   /* MSG_COPY: the t-th message (from 0) */
};

#define ZIPC_MQ_NONBLOCK 1 /* fail instead of sleeping */
#define ZIPC_MQ_NOERROR	 2 /* XSI: truncate instead of E2BIG */
#define ZIPC_MQ_RESTART	 4 /* a signal restarts the call if SA_RESTART */
#define ZIPC_MQ_PEEK	 8 /* copy, do not remove (MSG_COPY) */

/*
 * Send @len bytes of type/priority @type. XSI: appended; POSIX: before
 * the first message of lower priority. Returns 0, -EAGAIN (nonblocking
 * and full), -ETIMEDOUT, -EINTR, -EIDRM (removed while waiting or before),
 * -EBADMSG/-EUCLEAN (a corrupt object).
 */
int zipc__mq_send(struct zipc_queue *q, const void *buf, size_t len,
		  int64_t type, int flags, const struct zipc_deadline *dl);
/*
 * Receive into @buf (@len bytes). Returns the length copied, -ENOMSG
 * (nonblocking, nothing matches: the faces map it), -E2BIG, -ETIMEDOUT,
 * -EINTR, -EIDRM. *@type gets the message's type or priority.
 */
ssize_t zipc__mq_receive(struct zipc_queue *q, void *buf, size_t len,
			 int64_t *type, enum zipc_mq_sel sel, int64_t t,
			 int flags, const struct zipc_deadline *dl);

/* Lock/unlock with repair. Lock returns 0, or -EIDRM if removed. */
int zipc__mq_lock(struct zipc_queue *q);
void zipc__mq_unlock(struct zipc_queue *q);
/* Under the lock: wake every waiter (removal, IPC_SET). */
void zipc__mq_wake_all(struct zipc_queue *q);
/* Under the lock: bring both readiness FIFOs up to date. */
void zipc__mq_ready_sync(struct zipc_queue *q);
/* Check every invariant (tests and repair): 0 or -EUCLEAN. */
int zipc__mq_check(struct zipc_queue *q);

/* Notification hook of the POSIX face, called by a sender under the lock
 * when the queue went from empty to non-empty with no receiver asleep. */
void zipc__mq_notify_fire(struct zipc_queue *q);

/* Under the lock, with room, no ring in use: link a message into the list
 * (XSI at the tail, POSIX by priority), tagged with the ring position it
 * came from + 1, or 0. 0 or -EUCLEAN. */
int zipc__mq_put(struct zipc_queue *q, const void *buf, size_t len,
		 int64_t type, uint64_t ringpos);
/* The ms_ringpos tag of the list's last message (0: none). */
uint64_t zipc__mq_tail_ringpos(struct zipc_queue *q);
/* Messages and bytes in the whole queue, list and ring (racy: MSG_INFO
 * and the zipc command, which reads a control block it did not adopt). */
void zipc__mq_count(const struct zipc_mq_ctl *c, uint64_t *qnum,
		    uint64_t *bytes);

/*
 * The ring (ring.c). zipc__ring_send/recv are the fast path (senders take
 * the ring's own lock, receivers none): they return ZIPC_RING_CLOSED when
 * the ring is not in use, and the caller takes the locked path. Close,
 * reopen and check run under the queue lock.
 */
#define ZIPC_RING_CLOSED (-EPIPE)
/* Slots of the ring of an XSI queue of @nslots arena slots (0: none). */
uint32_t zipc__ring_cap(uint32_t nslots);
/* 0, or -EAGAIN when a message of @len bytes does not fit now. */
int zipc__ring_send(struct zipc_queue *q, const void *buf, size_t len,
		    int64_t type);
/* What a receiver that found nothing saw: the position taken next and
 * the first one not yet published. */
struct zipc_ring_watch {
	uint32_t rw_deq, rw_end;
};
/* msgrcv's selection @sel (not ZIPC_SEL_NTH) of @t: bytes copied,
 * -ENOMSG (nothing matches: *@w says what was seen), -E2BIG (and
 * @noerror unset), or ZIPC_RING_CLOSED (also when the message picked is
 * behind the head). */
ssize_t zipc__ring_recv(struct zipc_queue *q, void *buf, size_t len,
			int64_t *type, enum zipc_mq_sel sel, int64_t t,
			int noerror, struct zipc_ring_watch *w);
/* Room for a @len-byte message / the ring moved since @w (racy, for
 * waiters); -1 when the ring was closed. */
int zipc__ring_has_room(struct zipc_queue *q, size_t len);
int zipc__ring_has_msg(struct zipc_queue *q, const struct zipc_ring_watch *w);
/* The word a waiter watches while spinning: the taken position for a
 * sender (@w NULL), the slot where a receiver's scan ended. */
uint32_t *zipc__ring_watch_word(struct zipc_queue *q,
				const struct zipc_ring_watch *w);
/* Under the queue lock: stop using the ring and move what it holds to
 * the list (in order), so the list is the whole queue. 0 or -EUCLEAN. */
int zipc__ring_close(struct zipc_queue *q);
/* Under the queue lock: use the ring again if nothing stands in the way
 * (list empty, nobody watching, not removed). */
int zipc__ring_reopen(struct zipc_queue *q);
/* Check the ring's invariants: 0 or -EUCLEAN. */
int zipc__ring_check(struct zipc_queue *q);
/* Init a new queue's ring: every slot free for its first lap. */
void zipc__ring_init(struct zipc_mq_ctl *c, struct zipc_mq_rslot *ring,
		     uint32_t cap);

/* CAP_SYS_RESOURCE in the effective set: may exceed the sysctl limits. */
int zipc__mq_cap_resource(void);

/* Readiness fds for any queue: @cond 0 = a message waits, 1 = room. */
int zipc__mq_watch(struct zipc_queue *q, int cond);
void zipc__mq_unwatch(struct zipc_queue *q, int cond, int fd);

#endif
