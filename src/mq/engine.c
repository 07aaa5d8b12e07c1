/* SPDX-License-Identifier: MIT */
/*
 * The message queue engine, shared by the XSI face (msg.c), the POSIX face
 * (posix.c) and the native zipc_queue_* API.
 *
 * Layout. A queue object is the 64-byte header, struct zipc_mq_ctl, at
 * ZIPC_MQ_ARENA_OFF an arena of slots sized from the queue's limits when
 * it is made, and after the arena a bitmap of its free slots (its first
 * word lives in line 0 of the control block, mq_bm0): mq_maxmsg
 * slots of mq_msgsize bytes for POSIX (exact), and for XSI enough 128-byte
 * slots (96 bytes of payload each) for msg_qbytes of payload plus one slot
 * per 32 bytes of it for message heads (see zipc__mq_geom_xsi). Nothing
 * ever grows: a full arena is a full queue.
 *
 * Extents. A message lives in extents: runs of consecutive slots whose
 * first 32 bytes are the extent's header (struct zipc_mq_slot) and whose
 * other bytes, across the slot boundaries, are one contiguous piece of
 * the message. A send looks for one run long enough for the whole
 * message, next fit from a rover (mq_free), so a FIFO queue fills the
 * arena like a ring and a 4 KiB message is one memcpy in and one out
 * (it was 43 chained 96-byte slots). When the arena is too fragmented
 * (typed receives leave holes), the message is chained from the free
 * runs in arena order. Either way a message of len bytes needs at most
 * need_slots() = ceil(len / 96) slots -- an extent of r slots holds
 * r * 128 - 32 >= r * 96 bytes -- so "is there room" is a count
 * (mq_nfree against need_slots) and never depends on fragmentation: the
 * queue is full exactly when it was with fixed slots.
 *
 * Lists. Every list is a chain of slot indices (plus one; 0 ends it):
 *   - the queue: mq_head -> ms_next -> ... -> mq_tail. XSI appends at the
 *     tail; POSIX inserts before the first message of lower priority, so
 *     the list is always sorted by priority, FIFO within one, and a POSIX
 *     receive takes the head. msgrcv's typed selections scan from the head
 *     as the kernel's find_msg() does.
 *   - a message's further extents: ms_cont (each extent says its length
 *     in ms_run).
 *
 * Crash safety. All of it changes under mq_lock (lock.h). Mutations are
 * ordered so that the queue list alone is the truth: a send writes the
 * whole message into slots it took off the bitmap and only then links
 * it with one store (the "publishing" store: prev->ms_next or mq_head);
 * a receive copies the message out first and unlinks it with one store.
 * A process killed at any point therefore leaves the queue list either
 * with or without the message, never with half of it. The next taker of
 * the lock gets -EOWNERDEAD and runs repair(), which walks the queue list
 * and each message's extents (cutting it at anything out of range or
 * seen twice), recomputes mq_tail, mq_qnum and mq_cbytes from what is
 * linked, and rebuilds the bitmap, mq_nfree and the rover from the slots
 * not reachable from the list. Repair writes only values derived from
 * the list, so it is idempotent: a repairer that dies too leaves work
 * the next one redoes. The counters, the tail, the bitmap, the rover and
 * the readiness FIFOs are all derived state.
 *
 * The ring. Short messages bypass all of the above while the list is
 * empty: ring.c is their fast path, and zipc__mq_lock() moves the
 * ring's messages to the list whenever something needs the list, so under
 * the lock the list is the whole queue.
 *
 * Waiting. Receivers wait on mq_rev ("a message was sent"), senders on
 * mq_sev ("room was made"), with the event protocol of wait.h. A sleeper
 * reads the sequence and counts itself under the queue lock after finding
 * it must wait; a waker reads the count after its own critical section
 * and, only if it is non-zero, bumps the sequence and makes the
 * FUTEX_WAKE. Because counting happens under the same lock as the change,
 * a zero count proves no sleeper can have missed the change, so the
 * uncontended path makes no system call and does not even write the
 * event's line. Beside the event's own count, each side keeps under the
 * lock how many of its sleepers are still owed a wake (mq_rpend,
 * mq_spend): a waker takes one wake (or all) off it and signals only
 * then, so a sleeper that is slow to get back on a CPU costs one
 * FUTEX_WAKE, not one per message moved meanwhile. That count may run
 * high (a sleeper that timed out or died keeps its entry: a spare wake
 * later), never low. Before sleeping a waiter spins for a bounded,
 * adaptive time on the queue's own state (message count, free slots)
 * until it moved and the lock is free, uncounted:
 * a wake-up across cores costs tens of microseconds on a VM, far more
 * than a short spin. The budget doubles when spinning paid off and halves
 * when it did not, down to "off" (then one wait in 32 probes with an 8 us
 * spin), so an idle queue, or a peer that shares our CPU on a loaded
 * machine, costs next to nothing. Every sleep is also cut into
 * 200 ms slices after which the waiter retries (see SLICE_NS): that is
 * how blocked peers proceed after a process dies holding the lock.
 *
 * Lines. The lock, the list ends, the counters and the first word of the
 * free slot bitmap share line 0 (every operation needs them under the
 * lock anyway), so a send or receive on a queue of up to 64 slots writes
 * that line and its message's, nothing else; what only senders write
 * (mq_rev, msg_stime, msg_lspid) and what only receivers write (mq_sev,
 * msg_rtime, msg_lrpid) have a line each, and the times are stored only
 * when they change, so a busy queue does not bounce them. The owed-wake
 * counts sit on the other side's line (mq_rpend beside mq_rev): they are
 * written only when a process goes to sleep or is woken, and read by
 * every operation of the side that wakes it.
 *
 * Who is woken. POSIX receivers all want the head and senders all need
 * one slot: one wake per message or per freed slot. msgrcv receivers can
 * be selective (msgtyp != 0); while one of those sleeps (mq_sel_waiters)
 * a send wakes every receiver, so a typed receiver can never absorb the
 * only wake-up meant for another. XSI senders need different amounts of
 * room, so room wakes them all. A waiter that was woken and leaves
 * without consuming (E2BIG, timeout, signal) passes the wake on.
 */
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <linux/capability.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "atomic.h"
#include "internal.h"
#include "mq.h"

#define SPIN_MIN_NS 1000
#define SPIN_MAX_NS 60000
#define SPIN_INIT_NS 20000
#define SPIN_PROBE 32 /* with spinning off, still probe once in this many */
#define SPIN_PROBE_NS 8000 /* long enough for a cross-core round trip */
#define SPIN_GAP 32	   /* ring: pauses between loads, at most (~10 ns each) */
#define SPIN_BATCH_SEND 64 /* see send_batch */

static inline struct zipc_mq_slot *
slot_at(const struct zipc_queue *q, uint32_t i1)
{
	return (struct zipc_mq_slot *)(q->q_arena +
				       (size_t)(i1 - 1) * q->q_stride);
}

static inline char *
slot_data(struct zipc_mq_slot *s)
{
	return (char *)(s + 1);
}

static inline int
idx_ok(const struct zipc_queue *q, uint32_t i1)
{
	return i1 >= 1 && i1 <= q->q_nslots;
}

/* An extent of @run slots at @i1 lies inside the arena. */
static inline int
ext_ok(const struct zipc_queue *q, uint32_t i1, uint32_t run)
{
	return idx_ok(q, i1) && run >= 1 && run <= q->q_nslots - (i1 - 1);
}

/* Message bytes an extent of @run slots holds. */
static inline size_t
ext_cap(const struct zipc_queue *q, uint32_t run)
{
	return (size_t)run * q->q_stride - sizeof(struct zipc_mq_slot);
}

/* Bytes of the free slot bitmap of @nslots slots (after the arena). */
static inline uint64_t
bm_bytes(uint64_t nslots)
{
	return (nslots + 63) / 64 * 8;
}

/* Bitmap word @w: the first one lives in line 0 beside the counters. */
static inline uint64_t *
bm_word(const struct zipc_queue *q, uint32_t w)
{
	return w ? &q->q_bm[w] : &q->q_ctl->mq_bm0;
}

/* Slot @i (from 0) is free. */
static inline int
bm_get(const struct zipc_queue *q, uint32_t i)
{
	return (int)(ld_relaxed(bm_word(q, i >> 6)) >> (i & 63) & 1);
}

/* Mark @run slots from @i (from 0) free (@v 1) or used (@v 0). */
static void
bm_range(const struct zipc_queue *q, uint32_t i, uint32_t run, int v)
{
	while (run) {
		uint32_t b = i & 63, k = 64 - b < run ? 64 - b : run;
		uint64_t m = (k == 64 ? ~(uint64_t)0 : ((uint64_t)1 << k) - 1)
			     << b;
		uint64_t *w = bm_word(q, i >> 6);
		uint64_t x = ld_relaxed(w);
		st_relaxed(w, v ? x | m : x & ~m);
		i += k;
		run -= k;
	}
}

int
zipc__mq_cap_resource(void)
{
	struct __user_cap_header_struct h = {_LINUX_CAPABILITY_VERSION_3, 0};
	struct __user_cap_data_struct d[2];
	if (syscall(SYS_capget, &h, d) < 0)
		return geteuid() == 0;
	return !!(d[CAP_SYS_RESOURCE / 32].effective &
		  (1u << (CAP_SYS_RESOURCE % 32)));
}

/* ---- geometry ----------------------------------------------------------- */

/* Where the ring starts: after the bitmap, on a line of its own. */
static inline uint64_t
ring_off(uint64_t nslots, uint64_t stride)
{
	return (ZIPC_MQ_ARENA_OFF + nslots * stride + bm_bytes(nslots) + 63) &
	       ~(uint64_t)63;
}

/* The whole file: header and control, arena, bitmap, ring if any. */
static inline uint64_t
file_size(uint64_t nslots, uint64_t stride, uint32_t ring_cap)
{
	if (!ring_cap)
		return ZIPC_MQ_ARENA_OFF + nslots * stride + bm_bytes(nslots);
	return ring_off(nslots, stride) +
	       (uint64_t)ring_cap * sizeof(struct zipc_mq_rslot);
}

static int
geom_finish(struct zipc_mq_geom *g)
{
	uint64_t stride = (sizeof(struct zipc_mq_slot) + g->payload + 63) &
			  ~(uint64_t)63;
	if (g->nslots == 0 || stride > UINT32_MAX)
		return -EINVAL;
	if ((uint64_t)g->nslots > (UINT64_MAX / 4 - ZIPC_MQ_ARENA_OFF) / stride)
		return -ENOMEM;
	g->ring_cap = zipc__ring_cap(g->nslots);
	g->size = file_size(g->nslots, stride, g->ring_cap);
	return 0;
}

int
zipc__mq_geom_xsi(struct zipc_mq_geom *g, uint64_t qbytes)
{
	/*
	 * The kernel bounds an XSI queue by msg_qbytes bytes and msg_qbytes
	 * messages. Reserving a slot per possible message would cost 128
	 * bytes per byte of limit, so the arena holds the byte limit in
	 * payload slots plus one slot per 32 bytes of limit for short
	 * messages: queues of messages of 32 bytes and more behave exactly as
	 * the kernel's; a queue of very many tiny messages is full earlier
	 * (documented in zipc_msg(7)).
	 */
	uint64_t slots = (qbytes + ZIPC_MQ_XSI_PAYLOAD - 1) /
				 ZIPC_MQ_XSI_PAYLOAD +
			 qbytes / 32 + 8;
	if (slots > (1u << 24))
		return -ENOMEM;
	g->face = ZIPC_MQ_XSI;
	g->nslots = (uint32_t)slots;
	g->payload = ZIPC_MQ_XSI_PAYLOAD;
	g->qbytes = qbytes;
	g->msgsize = 0;
	return geom_finish(g);
}

int
zipc__mq_geom_posix(struct zipc_mq_geom *g, uint64_t maxmsg, uint64_t msgsize)
{
	if (maxmsg == 0 || msgsize == 0 || maxmsg > (1u << 24) ||
	    msgsize > UINT32_MAX / 2)
		return -EINVAL;
	g->face = ZIPC_MQ_POSIX;
	g->nslots = (uint32_t)maxmsg;
	g->payload = (uint32_t)msgsize;
	g->qbytes = maxmsg;
	g->msgsize = msgsize;
	return geom_finish(g);
}

int
zipc__mq_init(struct zipc_obj *o, void *arg)
{
	struct zipc_mq_geom *g = arg;
	struct zipc_mq_ctl *c =
		(void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
	uint64_t stride = (sizeof(struct zipc_mq_slot) + g->payload + 63) &
			  ~(uint64_t)63;
	zipc__lock_init(&c->mq_lock);
	c->mq_face = g->face;
	c->mq_nslots = g->nslots;
	c->mq_stride = (uint32_t)stride;
	c->mq_payload = g->payload;
	c->mq_arena = ZIPC_MQ_ARENA_OFF;
	c->mq_msgsize = g->msgsize;
	c->mq_qbytes = g->qbytes;
	zipc__ipc_perm_init(&c->mq_perm, g->key, g->id < 0 ? 0 : g->id,
			    (int)g->mode);
	c->mq_ctime = time(NULL);
	/* Every slot free; bits past the last slot stay 0. */
	char *arena = (char *)o->o_base + ZIPC_MQ_ARENA_OFF;
	uint64_t *bm = (uint64_t *)(void *)(arena + (size_t)g->nslots * stride);
	for (uint32_t w = 0; w < (g->nslots + 63) / 64; w++) {
		uint32_t left = g->nslots - w * 64;
		bm[w] = left >= 64 ? ~(uint64_t)0 : ((uint64_t)1 << left) - 1;
	}
	c->mq_bm0 = bm[0];
	bm[0] = 0; /* unused: word 0 is mq_bm0 */
	c->mq_free = 0;
	c->mq_nfree = g->nslots;
	zipc__ring_init(c,
			(void *)((char *)o->o_base +
				 ring_off(g->nslots, stride)),
			g->ring_cap);
	return 0;
}

int
zipc__mq_adopt(struct zipc_queue *q, const char *fifo_stem)
{
	struct zipc_obj *o = &q->q_obj;
	struct zipc_mq_ctl *c =
		(void *)((char *)o->o_base + sizeof(struct zipc_seg_hdr));
	if (o->o_size < ZIPC_MQ_ARENA_OFF ||
	    zipc__obj_hdr(o)->sh_hdr_size != ZIPC_MQ_ARENA_OFF)
		return -EBADMSG;
	uint32_t n = ld_relaxed(&c->mq_nslots);
	uint32_t stride = ld_relaxed(&c->mq_stride);
	uint32_t payload = ld_relaxed(&c->mq_payload);
	uint32_t face = ld_relaxed(&c->mq_face);
	uint64_t msgsize = ld_relaxed(&c->mq_msgsize);
	uint32_t ring_cap = zipc__ring_cap(n);
	if (ld_relaxed(&c->mq_arena) != ZIPC_MQ_ARENA_OFF || n == 0 ||
	    stride < sizeof(struct zipc_mq_slot) + (uint64_t)payload ||
	    stride % 64 != 0 || n > o->o_size / stride ||
	    file_size(n, stride, ring_cap) != o->o_size ||
	    ld_relaxed(&c->mq_ring_cap) != ring_cap ||
	    (face != ZIPC_MQ_XSI && face != ZIPC_MQ_POSIX) ||
	    (face == ZIPC_MQ_POSIX && msgsize > payload) || payload == 0)
		return -EBADMSG;
	q->q_ctl = c;
	q->q_arena = (char *)o->o_base + ZIPC_MQ_ARENA_OFF;
	q->q_bm = (uint64_t *)(void *)(q->q_arena + (size_t)n * stride);
	q->q_nslots = n;
	q->q_stride = stride;
	q->q_payload = payload;
	q->q_face = face;
	q->q_msgsize = msgsize;
	q->q_ring_cap = ring_cap;
	q->q_ring = ring_cap ? (void *)((char *)o->o_base +
					ring_off(n, stride))
			     : NULL;
	q->q_spin = SPIN_INIT_NS;
	if (fifo_stem) {
		snprintf(q->q_fifo[0], sizeof(q->q_fifo[0]), "%s.rd",
			 fifo_stem);
		snprintf(q->q_fifo[1], sizeof(q->q_fifo[1]), "%s.wr",
			 fifo_stem);
	}
	return 0;
}

/* ---- invariants and repair ---------------------------------------------- */

static uint32_t
need_slots(const struct zipc_queue *q, uint64_t len)
{
	if (len == 0)
		return 1;
	return (uint32_t)((len + q->q_payload - 1) / q->q_payload);
}

/*
 * Follow the extents of the message at @i (@size bytes), marking their
 * slots 2 in @seen. Returns how many extents were marked, with *@ok 1 if
 * they hold the message exactly (with @fix, a stray link after the last
 * one is cut).
 */
static uint32_t
mark_extents(struct zipc_queue *q, uint8_t *seen, uint32_t i, uint64_t size,
	     int fix, int *ok)
{
	uint64_t cap = 0;
	uint32_t j = i, k = 0;
	*ok = 0;
	while (k < q->q_nslots) {
		struct zipc_mq_slot *s;
		uint32_t run;
		if (!idx_ok(q, j))
			return k;
		s = slot_at(q, j);
		run = ld_relaxed(&s->ms_run);
		if (!ext_ok(q, j, run))
			return k;
		for (uint32_t m = 0; m < run; m++)
			if (seen[j + m])
				return k;
		for (uint32_t m = 0; m < run; m++)
			seen[j + m] = 2; /* tentatively */
		k++;
		cap += ext_cap(q, run);
		uint32_t nx = ld_relaxed(&s->ms_cont);
		if (cap >= size) {
			if (nx != 0) {
				if (!fix)
					return k;
				st_relaxed(&s->ms_cont, 0);
			}
			*ok = 1;
			return k;
		}
		j = nx;
	}
	return k;
}

/* Commit (@ok) or roll back the marks of the first @k extents from @i. */
static void
settle_marks(struct zipc_queue *q, uint8_t *seen, uint32_t i, uint32_t k,
	     int ok)
{
	uint32_t j = i;
	for (uint32_t m = 0; m < k && idx_ok(q, j); m++) {
		struct zipc_mq_slot *s = slot_at(q, j);
		uint32_t run = ld_relaxed(&s->ms_run);
		for (uint32_t x = 0; ext_ok(q, j, run) && x < run; x++)
			if (seen[j + x] == 2)
				seen[j + x] = ok ? 1 : 0;
		j = ld_relaxed(&s->ms_cont);
	}
}

/*
 * Walk the queue list; with @fix, cut what is broken and rebuild all the
 * derived state. Returns 0 if the object was consistent, -EUCLEAN if not
 * (after fixing it when @fix), -ENOMEM if it could not look.
 */
static int
walk(struct zipc_queue *q, int fix)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint32_t n = q->q_nslots;
	uint8_t *seen = calloc((size_t)n + 1, 1);
	int bad = 0;
	if (!seen)
		return -ENOMEM;
	uint32_t prev = 0, qnum = 0, steps = 0;
	uint64_t bytes = 0;
	uint32_t *link = &c->mq_head;
	int64_t last_prio = INT64_MAX;
	uint32_t i = ld_relaxed(link);
	while (i) {
		if (!idx_ok(q, i) || seen[i] || ++steps > n) {
			bad = 1;
			if (fix)
				st_relaxed(link, 0);
			break;
		}
		struct zipc_mq_slot *s = slot_at(q, i);
		uint64_t size = ld_relaxed(&s->ms_size);
		int64_t type = ld_relaxed(&s->ms_type);
		int ok = q->q_face == ZIPC_MQ_POSIX
				 ? size <= q->q_msgsize && type >= 0 &&
					   type <= last_prio
				 : type >= 1;
		if (ok) {
			uint32_t k = mark_extents(q, seen, i, size, fix, &ok);
			settle_marks(q, seen, i, k, ok);
		}
		uint32_t next = ld_relaxed(&s->ms_next);
		if (!ok) {
			bad = 1;
			if (fix) {
				/* Drop the broken message, keep the rest. */
				st_relaxed(link, next);
				i = next;
				continue;
			}
			break;
		}
		qnum++;
		bytes += size;
		last_prio = type;
		prev = i;
		link = &s->ms_next;
		i = next;
	}
	uint32_t nfree = 0;
	for (uint32_t j = 1; j <= n; j++)
		nfree += !seen[j];
	if (fix) {
		st_relaxed(&c->mq_tail, prev);
		st_relaxed(&c->mq_qnum, qnum);
		st_relaxed(&c->mq_cbytes, bytes);
	}
	/* The bitmap is the complement of what the list holds. */
	for (uint32_t w = 0; w < (n + 63) / 64; w++) {
		uint64_t want = 0;
		for (uint32_t b = 0; b < 64 && w * 64 + b < n; b++)
			if (!seen[w * 64 + b + 1])
				want |= (uint64_t)1 << b;
		if (fix)
			st_relaxed(bm_word(q, w), want);
		else if (ld_relaxed(bm_word(q, w)) != want)
			bad = 1;
	}
	if (fix)
		st_relaxed(&q->q_bm[0], 0);
	else if (ld_relaxed(&q->q_bm[0]) != 0)
		bad = 1;
	if (fix) {
		st_relaxed(&c->mq_free, 0);
		st_relaxed(&c->mq_nfree, nfree);
	} else if (!bad) {
		if (ld_relaxed(&c->mq_tail) != prev ||
		    ld_relaxed(&c->mq_qnum) != qnum ||
		    ld_relaxed(&c->mq_cbytes) != bytes ||
		    ld_relaxed(&c->mq_nfree) != nfree ||
		    ld_relaxed(&c->mq_free) >= n)
			bad = 1;
	}
	free(seen);
	return bad ? -EUCLEAN : 0;
}

int
zipc__mq_check(struct zipc_queue *q)
{
	int r = walk(q, 0);
	return r ? r : zipc__ring_check(q);
}

static int
cond_room(const struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint64_t qnum = ld_relaxed(&c->mq_qnum);
	uint64_t qbytes = ld_relaxed(&c->mq_qbytes);
	if (q->q_face == ZIPC_MQ_POSIX)
		return qnum < qbytes && ld_relaxed(&c->mq_nfree) > 0;
	/* Room for one more empty message. */
	return ld_relaxed(&c->mq_cbytes) <= qbytes && qnum + 1 <= qbytes &&
	       ld_relaxed(&c->mq_nfree) > 0;
}

void
zipc__mq_ready_sync(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	zipc__readyfd_sync(&c->mq_rd[0], q->q_fifo[0],
			   ld_relaxed(&c->mq_qnum) > 0);
	zipc__readyfd_sync(&c->mq_rd[1], q->q_fifo[1], cond_room(q));
}

static void
repair(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	walk(q, 1);
	ZIPC_CRASH("mq.repair.walked");
	/* A registration whose process died dies with it. */
	if (ld_relaxed(&c->mq_nkind) != ZIPC_MQ_NOTIFY_NONE &&
	    !zipc__proc_rec_alive(&c->mq_nproc)) {
		st_relaxed(&c->mq_nkind, ZIPC_MQ_NOTIFY_NONE);
		st_relaxed(&c->mq_nproc.pr_pid, 0);
	}
	zipc__readyfd_resync(&c->mq_rd[0], q->q_fifo[0],
			     ld_relaxed(&c->mq_qnum) > 0);
	zipc__readyfd_resync(&c->mq_rd[1], q->q_fifo[1], cond_room(q));
	/* Sleepers may have missed a wake that the dead holder owed them. */
	zipc__event_signal(&c->mq_rev, INT32_MAX);
	zipc__event_signal(&c->mq_sev, INT32_MAX);
}

int
zipc__mq_lock(struct zipc_queue *q)
{
	int r = zipc__lock(&q->q_ctl->mq_lock);
	if (unlikely(r == -EOWNERDEAD)) {
		repair(q);
		r = 0;
	}
	if (unlikely(r < 0))
		return r;
	/* Partner: st_release of REMOVED in zipc__obj_remove. */
	if (unlikely(ld_acquire(&zipc__obj_hdr(&q->q_obj)->sh_state) !=
		     ZIPC_SEG_READY)) {
		zipc__unlock(&q->q_ctl->mq_lock);
		return -EIDRM;
	}
	/* Under the lock the list is the whole queue (ring.c). */
	if (q->q_ring)
		zipc__ring_close(q);
	return 0;
}

void
zipc__mq_unlock(struct zipc_queue *q)
{
	if (q->q_ring)
		zipc__ring_reopen(q);
	zipc__unlock(&q->q_ctl->mq_lock);
}

void
zipc__mq_wake_all(struct zipc_queue *q)
{
	zipc__event_signal(&q->q_ctl->mq_rev, INT32_MAX);
	zipc__event_signal(&q->q_ctl->mq_sev, INT32_MAX);
}

/* ---- the two operations ------------------------------------------------- */

/* Slots in one extent that holds @len bytes. */
static inline uint32_t
ext_slots(const struct zipc_queue *q, uint64_t len)
{
	return (uint32_t)((len + sizeof(struct zipc_mq_slot) + q->q_stride -
			   1) /
			  q->q_stride);
}

/*
 * Next fit: the first run of @want free slots at or after @start
 * (wrapping), looking at no more than @limit slots. Returns its first
 * slot plus one, or 0. Whole used words are skipped at once.
 */
static uint32_t
find_run(const struct zipc_queue *q, uint32_t start, uint32_t want,
	 uint32_t limit)
{
	uint32_t n = q->q_nslots, i = start < n ? start : 0, looked = 0;
	while (looked < limit) {
		uint64_t w = ld_relaxed(bm_word(q, i >> 6)) >> (i & 63);
		uint32_t step;
		if (!w) {
			step = 64 - (i & 63);
		} else if (!(w & 1)) {
			step = (uint32_t)__builtin_ctzll(w);
		} else {
			uint32_t r = 1;
			while (r < want && i + r < n && bm_get(q, i + r))
				r++;
			if (r == want)
				return i + 1;
			step = r;
		}
		if (step >= n - i) { /* past the last slot: wrap */
			looked += n - i;
			i = 0;
		} else {
			looked += step;
			i += step;
		}
	}
	return 0;
}

/* Take @run slots at @i1 off the bitmap. */
static void
take_slots(struct zipc_queue *q, uint32_t i1, uint32_t run)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	bm_range(q, i1 - 1, run, 0);
	st_relaxed(&c->mq_nfree, ld_relaxed(&c->mq_nfree) - run);
	st_relaxed(&c->mq_free, i1 - 1 + run < q->q_nslots ? i1 - 1 + run : 0);
}

static int
has_room(const struct zipc_queue *q, size_t len)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint32_t qnum = ld_relaxed(&c->mq_qnum);
	uint64_t qbytes = ld_relaxed(&c->mq_qbytes);
	if (q->q_face == ZIPC_MQ_POSIX)
		return qnum < qbytes && ld_relaxed(&c->mq_nfree) >= 1;
	/* The kernel's msg_fits_inqueue(), plus the arena's own bound. */
	return len + ld_relaxed(&c->mq_cbytes) <= qbytes &&
	       (uint64_t)qnum + 1 <= qbytes &&
	       ld_relaxed(&c->mq_nfree) >= need_slots(q, len);
}

/*
 * Under the lock, with room: write, link, count. 0 or -EUCLEAN.
 *
 * The message goes into one extent when a run of free slots long enough
 * is found near the rover (next fit: a FIFO queue then fills the arena
 * like a ring, and a long message is one copy). Otherwise it is chained
 * from the runs there are, in order: an extent of r slots holds
 * r * stride - 32 >= r * payload bytes, so the need_slots() free slots
 * that has_room() counted always suffice, however fragmented: "full" is
 * the same as with fixed slots.
 */
int
zipc__mq_put(struct zipc_queue *q, const void *buf, size_t len, int64_t type,
	     uint64_t ringpos)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint32_t first = 0, prev = 0, n = q->q_nslots;
	uint32_t rover = ld_relaxed(&c->mq_free);
	uint32_t want = ext_slots(q, len);
	size_t off = 0;
	/*
	 * Next fit for every size: first fit from slot 0 for one-slot
	 * messages (so a short queue stays in mq_bm0) was measured: 64-byte
	 * throughput a tenth lower (probably because the slot just freed is
	 * reused at once, so both sides keep writing its line), for 0.1 us
	 * less ping-pong latency.
	 */
	uint32_t one = find_run(q, rover, want,
				want + 1024 < n ? want + 1024 : n);
	if (one) {
		take_slots(q, one, want);
		struct zipc_mq_slot *s = slot_at(q, one);
		memcpy(slot_data(s), buf, len);
		st_relaxed(&s->ms_run, want);
		st_relaxed(&s->ms_cont, 0);
		first = one;
	} else {
		/* Chain the free runs from the rover on. */
		uint32_t looked = 0, j = rover < n ? rover : 0;
		while (!first || off < len) {
			if (looked++ >= n)
				return -EUCLEAN;
			if (!bm_get(q, j)) {
				j = j + 1 < n ? j + 1 : 0;
				continue;
			}
			uint32_t k = ext_slots(q, len - off), r = 1;
			while (r < k && j + r < n && bm_get(q, j + r))
				r++;
			take_slots(q, j + 1, r);
			struct zipc_mq_slot *s = slot_at(q, j + 1);
			size_t m = len - off < ext_cap(q, r) ? len - off
							     : ext_cap(q, r);
			memcpy(slot_data(s), (const char *)buf + off, m);
			off += m;
			st_relaxed(&s->ms_run, r);
			st_relaxed(&s->ms_cont, 0);
			if (prev)
				st_relaxed(&slot_at(q, prev)->ms_cont, j + 1);
			else
				first = j + 1;
			prev = j + 1;
			looked += r - 1;
			j = j + r < n ? j + r : 0;
		}
	}
	struct zipc_mq_slot *h = slot_at(q, first);
	st_relaxed(&h->ms_size, (uint32_t)len);
	st_relaxed(&h->ms_type, type);
	st_relaxed(&h->ms_ringpos, ringpos);
	ZIPC_CRASH("mq.send.written");

	/* Where it goes: after @after (0: at the head). */
	uint32_t after = ld_relaxed(&c->mq_tail);
	if (q->q_face == ZIPC_MQ_POSIX && after &&
	    (!idx_ok(q, after) || ld_relaxed(&slot_at(q, after)->ms_type) <
					  type)) {
		after = 0;
		uint32_t i = ld_relaxed(&c->mq_head), steps = 0;
		while (i && idx_ok(q, i) && steps++ < q->q_nslots &&
		       ld_relaxed(&slot_at(q, i)->ms_type) >= type) {
			after = i;
			i = ld_relaxed(&slot_at(q, i)->ms_next);
		}
	}
	if (after && !idx_ok(q, after))
		return -EUCLEAN;
	uint32_t *link = after ? &slot_at(q, after)->ms_next : &c->mq_head;
	uint32_t next = ld_relaxed(link);
	st_relaxed(&h->ms_next, next);
	/* The publishing store: before it the message does not exist. */
	st_relaxed(link, first);
	ZIPC_CRASH("mq.send.linked");
	if (!next)
		st_relaxed(&c->mq_tail, first);
	st_relaxed(&c->mq_qnum, ld_relaxed(&c->mq_qnum) + 1);
	st_relaxed(&c->mq_cbytes, ld_relaxed(&c->mq_cbytes) + len);
	ZIPC_CRASH("mq.send.counted");
	return 0;
}

uint64_t
zipc__mq_tail_ringpos(struct zipc_queue *q)
{
	uint32_t t = ld_relaxed(&q->q_ctl->mq_tail);
	return idx_ok(q, t) ? ld_relaxed(&slot_at(q, t)->ms_ringpos) : 0;
}

/* Find the message @sel picks; sets *@prevp. 0 if none, UINT32_MAX if
 * the list is corrupt. */
static uint32_t
find(struct zipc_queue *q, enum zipc_mq_sel sel, int64_t t, uint32_t *prevp)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint32_t prev = 0, i = ld_relaxed(&c->mq_head), steps = 0;
	uint32_t best = 0, best_prev = 0;
	int64_t best_type = 0;
	while (i) {
		if (!idx_ok(q, i) || steps++ >= q->q_nslots)
			return UINT32_MAX;
		struct zipc_mq_slot *s = slot_at(q, i);
		int64_t ty = ld_relaxed(&s->ms_type);
		switch (sel) {
		case ZIPC_SEL_FIRST:
			*prevp = prev;
			return i;
		case ZIPC_SEL_EQUAL:
			if (ty == t) {
				*prevp = prev;
				return i;
			}
			break;
		case ZIPC_SEL_NOTEQUAL:
			if (ty != t) {
				*prevp = prev;
				return i;
			}
			break;
		case ZIPC_SEL_NTH:
			if (t == (int64_t)steps - 1) {
				*prevp = prev;
				return i;
			}
			break;
		case ZIPC_SEL_LESSEQ:
			if (ty <= t && (!best || ty < best_type)) {
				best = i;
				best_prev = prev;
				best_type = ty;
				if (ty == 1) {
					*prevp = prev;
					return i;
				}
			}
			break;
		}
		prev = i;
		i = ld_relaxed(&s->ms_next);
	}
	*prevp = best_prev;
	return best;
}

/* Copy the first @n bytes of message @i out: @n or -EUCLEAN. */
static ssize_t
copy_out(struct zipc_queue *q, uint32_t i, void *buf, size_t n)
{
	size_t off = 0;
	uint32_t j = i, k = 0;
	while (off < n) {
		if (!idx_ok(q, j) || k++ >= q->q_nslots)
			return -EUCLEAN;
		struct zipc_mq_slot *s = slot_at(q, j);
		uint32_t run = ld_relaxed(&s->ms_run);
		if (!ext_ok(q, j, run))
			return -EUCLEAN;
		size_t cap = ext_cap(q, run);
		size_t m = n - off < cap ? n - off : cap;
		memcpy((char *)buf + off, slot_data(s), m);
		off += m;
		j = ld_relaxed(&s->ms_cont);
	}
	return (ssize_t)n;
}

/* Copy message @i out without removing it (MSG_COPY). */
static ssize_t
peek(struct zipc_queue *q, uint32_t i, void *buf, size_t len)
{
	size_t size = ld_relaxed(&slot_at(q, i)->ms_size);
	return copy_out(q, i, buf, size < len ? size : len);
}

/* Under the lock: copy message @i out (at most @len bytes), unlink it,
 * free its slots. Returns the bytes copied or -EUCLEAN. */
static ssize_t
take(struct zipc_queue *q, uint32_t i, uint32_t prev, void *buf, size_t len)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	struct zipc_mq_slot *h = slot_at(q, i);
	size_t size = ld_relaxed(&h->ms_size);
	size_t n = size < len ? size : len;
	if (q->q_face == ZIPC_MQ_POSIX && size > q->q_msgsize)
		return -EUCLEAN;
	/* Copy first: a receiver killed after this has lost nothing yet. */
	if (copy_out(q, i, buf, n) < 0)
		return -EUCLEAN;
	ZIPC_CRASH("mq.recv.copied");
	uint32_t next = ld_relaxed(&h->ms_next);
	/* The unpublishing store. */
	if (prev)
		st_relaxed(&slot_at(q, prev)->ms_next, next);
	else
		st_relaxed(&c->mq_head, next);
	ZIPC_CRASH("mq.recv.unlinked");
	if (ld_relaxed(&c->mq_tail) == i)
		st_relaxed(&c->mq_tail, prev);
	st_relaxed(&c->mq_qnum, ld_relaxed(&c->mq_qnum) - 1);
	st_relaxed(&c->mq_cbytes, ld_relaxed(&c->mq_cbytes) - size);
	ZIPC_CRASH("mq.recv.counted");
	/* Free its extents (they were checked by the list's writer; a bad
	 * one here is left for repair, which rebuilds the bitmap). */
	uint32_t j = i, k = 0;
	while (idx_ok(q, j) && k++ < q->q_nslots) {
		struct zipc_mq_slot *s = slot_at(q, j);
		uint32_t run = ld_relaxed(&s->ms_run);
		uint32_t nx = ld_relaxed(&s->ms_cont);
		if (!ext_ok(q, j, run))
			return -EUCLEAN;
		bm_range(q, j - 1, run, 1);
		st_relaxed(&c->mq_nfree, ld_relaxed(&c->mq_nfree) + run);
		j = nx;
	}
	ZIPC_CRASH("mq.recv.freed");
	return (ssize_t)n;
}

static int64_t
now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * Spin for the adaptive budget, outside the lock and uncounted, watching
 * a word of the queue's own state (the list's message count or free slot
 * count; on the ring, the header of the slot the next message goes to,
 * or the taken position): wakers bump no sequence for spinners, so a busy
 * queue moves no extra cache line for them. Done when the word moved by
 * @batch (a full ring's sender lets the receivers take a batch), or by
 * less when the budget runs out; between loads up to @max_gap pauses. 1
 * if it moved, 0 if not.
 */
static int
spin(struct zipc_queue *q, const uint32_t *word, uint32_t seen,
     unsigned max_gap, uint32_t batch)
{
	uint32_t budget = __atomic_load_n(&q->q_spin, __ATOMIC_RELAXED);
	if (budget < SPIN_MIN_NS)
		budget = SPIN_PROBE_NS; /* a probe */
	int64_t start = now_ns();
	for (unsigned it = 1, gap = 1;; it++) {
		/* Each load of @word pulls its line from the core that writes
		 * it; reading less often the longer nothing moved leaves that
		 * core its line (the gap grows to @max_gap pauses). */
		for (unsigned k = 0; k < gap; k++)
			cpu_relax();
		if (gap < max_gap)
			gap *= 2;
		/*
		 * Done when the word moved and the lock is free: a peer
		 * still inside its critical section (a long message is
		 * copied under the lock) would send us into the lock's own
		 * futex sleep, which costs far more than waiting here.
		 */
		uint32_t now = ld_acquire(word);
		if (now - seen >= batch &&
		    ld_relaxed(&q->q_ctl->mq_lock.lk_word) == 0) {
			if (budget < SPIN_MAX_NS)
				__atomic_store_n(&q->q_spin,
						 budget * 2 > SPIN_MAX_NS
							 ? SPIN_MAX_NS
							 : budget * 2,
						 __ATOMIC_RELAXED);
			return 1;
		}
		if ((it & 31) == 0 && now_ns() - start > budget) {
			if (now != seen)
				return 1; /* less than a batch: take it */
			break;
		}
	}
	/*
	 * Below the minimum, spinning is switched off: when the peer shares
	 * this CPU (a loaded machine) a spin can never succeed and only
	 * delays the peer. wait_turn still probes now and then to notice
	 * when spinning pays again.
	 */
	__atomic_store_n(&q->q_spin, budget / 2 < SPIN_MIN_NS ? 0 : budget / 2,
			 __ATOMIC_RELAXED);
	return 0;
}

/*
 * How long one sleep lasts at most. A sleeper wakes this often to retry
 * its operation, and so to take over the lock of a peer that was killed
 * inside its critical section (and repair the queue) or to notice a
 * removal whose remover died before waking anyone: blocked peers proceed
 * after a crash without any process having to touch the queue. Five idle
 * wake-ups a second cost nothing measurable.
 */
#define SLICE_NS 200000000L

/* Nanoseconds until @dl on its own clock (negative when passed). */
static int64_t
remaining_ns(const struct zipc_deadline *dl)
{
	struct timespec now;
	clock_gettime(dl->dl_clock, &now);
	return ((int64_t)dl->dl_abs.tv_sec - now.tv_sec) * 1000000000 +
	       (dl->dl_abs.tv_nsec - now.tv_nsec);
}

/*
 * After a handler interrupted a sleep: would the kernel have restarted
 * this call? signal(7): mq_* calls restart when the handler was installed
 * with SA_RESTART. Which signal ran is unknown, so restart only when every
 * handler installed in the process has SA_RESTART -- exact for the usual
 * program with one handler, and EINTR (never a silent hang) otherwise.
 * Only reached after EINTR, so its system calls cost nothing normally.
 */
static int
all_handlers_restart(void)
{
	for (int sig = 1; sig < NSIG; sig++) {
		struct sigaction sa;
		if (sigaction(sig, NULL, &sa) < 0)
			continue;
		if ((sa.sa_flags & SA_SIGINFO) ||
		    (sa.sa_handler != SIG_DFL && sa.sa_handler != SIG_IGN)) {
			if (!(sa.sa_flags & SA_RESTART))
				return 0;
		}
	}
	return 1;
}

/*
 * Whether to spin (once) before sleeping: with spinning switched off
 * (q_spin 0), only one wait in SPIN_PROBE probes.
 */
static int
spin_now(struct zipc_queue *q, int *spun)
{
	if (!*spun && !__atomic_load_n(&q->q_spin, __ATOMIC_RELAXED) &&
	    __atomic_add_fetch(&q->q_probe, 1, __ATOMIC_RELAXED) % SPIN_PROBE)
		*spun = 1; /* spinning is off: straight to sleep */
	if (*spun)
		return 0;
	*spun = 1;
	return 1;
}

/* A typed receiver stops waiting: uncount it, never below zero (repair
 * may have reset the count meanwhile). */
static void
sel_waiter_gone(struct zipc_mq_ctl *c)
{
	uint32_t n = ld_relaxed(&c->mq_sel_waiters);
	while (n && !cas_seq(&c->mq_sel_waiters, &n, n - 1))
		;
}

/*
 * Sleep on @ev from @seq, counted, for at most one slice (SLICE_NS).
 * 0 to retry, -ETIMEDOUT or -EINTR. Every sleep is a timed futex wait,
 * so the kernel never restarts it after a handler (ERESTART_RESTARTBLOCK
 * becomes EINTR): msgsnd/msgrcv must fail with EINTR, and the mq_* calls
 * decide for themselves (ZIPC_MQ_RESTART).
 */
static int
sleep_slice(struct zipc_event *ev, uint32_t seq, int flags,
	    const struct zipc_deadline *dl)
{
	struct zipc_deadline slice;
	const struct zipc_deadline *w = dl;
	if (!(dl && dl->dl_set) || remaining_ns(dl) > SLICE_NS) {
		struct timespec rel = {0, SLICE_NS};
		zipc__deadline_rel(&slice, &rel);
		w = &slice;
	}
	int r = zipc__event_wait(ev, seq, w);
	if (r == -ETIMEDOUT && w == &slice)
		r = 0;
	if (r == -EINTR && (flags & ZIPC_MQ_RESTART) && all_handlers_restart())
		r = 0;
	return r == -ETIMEDOUT || r == -EINTR ? r : 0;
}

/*
 * With the lock held and the operation unable to proceed: spin once
 * (unlocked), then sleep counted. Always returns with the lock released:
 * 0 to retry, or -ETIMEDOUT/-EINTR.
 */
static int
wait_turn(struct zipc_queue *q, struct zipc_event *ev, int selective,
	  int flags, const struct zipc_deadline *dl, int *spun)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (spin_now(q, spun)) {
		uint32_t *word = ev == &c->mq_rev ? &c->mq_qnum : &c->mq_nfree;
		uint32_t seen = ld_relaxed(word);
		zipc__mq_unlock(q);
		spin(q, word, seen, 1, 1);
		return 0;
	}
	if (zipc__deadline_passed(dl)) {
		zipc__mq_unlock(q);
		return -ETIMEDOUT;
	}
	uint32_t seq = zipc__event_prepare(ev);
	if (selective)
		fetch_add_seq(&c->mq_sel_waiters, 1);
	/* Owed a wake (see take_wake). */
	fetch_add_seq(ev == &c->mq_rev ? &c->mq_rpend : &c->mq_spend, 1);
	ZIPC_CRASH("mq.wait.counted");
	zipc__mq_unlock(q);
	int r = sleep_slice(ev, seq, flags, dl);
	if (selective)
		sel_waiter_gone(c);
	*spun = 0;
	return r;
}

/*
 * After a change that may let sleepers of one side proceed: how many to
 * wake (0: none, 1, or INT32_MAX: all). *@pend counts sleepers that went
 * to sleep and have not been owed a wake since; taking one wake off it,
 * or all of them, here means a sleeper that is slow to run costs one
 * FUTEX_WAKE, not one per message sent or received before it gets back:
 * the previous wake's sequence bump already covers it. The count can only
 * be too high (a sleeper that timed out, was interrupted or died keeps
 * its entry), which costs a needless wake, never a missed one: every
 * sleeper on the futex holds an entry no wake has consumed. Ring wakers
 * take wakes without the queue lock, so every change of the count is an
 * atomic read-modify-write; the load is seq_cst for the Dekker pairing of
 * ring_wait/ring_wake.
 */
static inline int
take_wake(uint32_t *pend, int n)
{
	uint32_t p = ld_seq(pend);
	while (p)
		if (cas_seq(pend, &p, n == 1 ? p - 1 : 0))
			return n;
	return 0;
}

/* After the critical section: make the wakes take_wake decided. */
static inline void
wake(struct zipc_event *ev, int n)
{
	if (n)
		zipc__event_signal(ev, n);
}

/* Store @v at @p only if it differs: a busy queue then writes its
 * msqid_ds times once a second, not once a message. */
static inline void
st_if_changed_i64(int64_t *p, int64_t v)
{
	if (ld_relaxed(p) != v)
		st_relaxed(p, v);
}

static inline void
st_if_changed_u32(uint32_t *p, uint32_t v)
{
	if (ld_relaxed(p) != v)
		st_relaxed(p, v);
}

/* msg_stime and msg_lspid (@sender), or msg_rtime and msg_lrpid. */
static void
note_op(struct zipc_mq_ctl *c, int sender)
{
	struct zipc_proc self;
	zipc__proc_self(&self);
	st_if_changed_i64(sender ? &c->mq_stime : &c->mq_rtime,
			  (int64_t)time(NULL));
	st_if_changed_u32(sender ? &c->mq_lspid : &c->mq_lrpid, self.pr_pid);
}

/* How many @len-byte messages a full queue's sender lets the receivers
 * take before it tries again: a quarter of what the queue holds, at most
 * SPIN_BATCH_SEND (a spin that runs out of time takes what there is). */
static uint32_t
send_batch(const struct zipc_queue *q, size_t len)
{
	/* XSI: msg_qbytes bytes; POSIX: mq_maxmsg (its mq_qbytes)
	 * messages. */
	uint64_t qbytes = ld_relaxed(&q->q_ctl->mq_qbytes);
	uint64_t n = q->q_face == ZIPC_MQ_POSIX || !len ? qbytes : qbytes / len;
	if (n > q->q_nslots)
		n = q->q_nslots;
	n /= 4;
	return n < 1 ? 1 : n > SPIN_BATCH_SEND ? SPIN_BATCH_SEND : (uint32_t)n;
}

/*
 * The ring could not proceed: full for a sender of @len bytes (@w NULL),
 * or nothing for a receiver, which saw @w (@selective: a typed one).
 * Spin once, then sleep counted like wait_turn, re-checking the ring
 * after counting. 0 to retry, -ETIMEDOUT or -EINTR.
 */
static int
ring_wait(struct zipc_queue *q, size_t len, const struct zipc_ring_watch *w,
	  int selective, int flags, const struct zipc_deadline *dl, int *spun)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (spin_now(q, spun)) {
		uint32_t *word = zipc__ring_watch_word(q, w);
		/* A full queue waits for its receivers, who are then the
		 * bottleneck: come back when they took a batch (each send
		 * into a full queue reads their line, which costs them their
		 * next CAS). */
		spin(q, word, ld_relaxed(word), SPIN_GAP,
		     w ? 1 : send_batch(q, len));
		return 0;
	}
	if (zipc__deadline_passed(dl))
		return -ETIMEDOUT;
	struct zipc_event *ev = w ? &c->mq_rev : &c->mq_sev;
	uint32_t seq = zipc__event_prepare(ev);
	/* Before the owed count: see ring_wake. */
	if (selective)
		fetch_add_seq(&c->mq_sel_waiters, 1);
	fetch_add_seq(w ? &c->mq_rpend : &c->mq_spend, 1);
	ZIPC_CRASH("mq.ring.wait.counted");
	/* Partner: the fence in ring_wake. Either that waker reads our
	 * count, or we see its message (or its room) here. */
	fence_seq();
	int r = w ? zipc__ring_has_msg(q, w) : zipc__ring_has_room(q, len);
	if (r) {
		zipc__event_cancel(ev); /* it moved, or the ring closed */
		r = 0;
	} else {
		r = sleep_slice(ev, seq, flags, dl);
		*spun = 0;
	}
	if (selective)
		sel_waiter_gone(c);
	return r;
}

/*
 * After a ring send (@sent) or receive: wake what the other side is owed.
 * The side lock was just released by an xchg, so the fence costs little;
 * it makes the Dekker order with ring_wait formal. A typed receiver
 * counts itself in mq_sel_waiters before the owed count, so a sender that
 * reads its owed entry also reads it there and wakes every receiver: a
 * typed one must not absorb the only wake meant for another.
 */
static void
ring_wake(struct zipc_queue *q, int sent)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	fence_seq();
	if (sent) {
		int n = take_wake(&c->mq_rpend, 1);
		if (n && ld_seq(&c->mq_sel_waiters))
			n = INT32_MAX;
		wake(&c->mq_rev, n);
	} else {
		wake(&c->mq_sev, take_wake(&c->mq_spend, INT32_MAX));
	}
}

int
zipc__mq_send(struct zipc_queue *q, const void *buf, size_t len, int64_t type,
	      int flags, const struct zipc_deadline *dl)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	int spun = 0, slept = 0, r;
	for (;;) {
		r = ZIPC_RING_CLOSED;
		if (q->q_ring && len <= ZIPC_MQ_RING_PAYLOAD)
			r = zipc__ring_send(q, buf, len, type);
		if (r == 0) {
			note_op(c, 1);
			ring_wake(q, 1);
			return 0;
		}
		if (r == -EAGAIN) {
			if (flags & ZIPC_MQ_NONBLOCK)
				return -EAGAIN;
			r = ring_wait(q, len, NULL, 0, flags, dl, &spun);
		} else {
			/* The locked path (which also closes a ring that
			 * holds garbage). */
			if ((r = zipc__mq_lock(q)) < 0)
				return r;
			if (has_room(q, len)) {
				uint32_t was = ld_relaxed(&c->mq_qnum);
				r = zipc__mq_put(q, buf, len, type, 0);
				if (r < 0) {
					repair(q);
					zipc__mq_unlock(q);
					return r;
				}
				note_op(c, 1);
				if (was == 0 && ld_relaxed(&c->mq_nkind) &&
				    !ld_seq(&c->mq_rev.ev_waiters))
					zipc__mq_notify_fire(q);
				zipc__mq_ready_sync(q);
				int all = ld_relaxed(&c->mq_sel_waiters) != 0;
				int n = take_wake(&c->mq_rpend,
						  all ? INT32_MAX : 1);
				ZIPC_CRASH("mq.send.owed");
				zipc__mq_unlock(q);
				wake(&c->mq_rev, n);
				return 0;
			}
			if (flags & ZIPC_MQ_NONBLOCK) {
				zipc__mq_unlock(q);
				return -EAGAIN;
			}
			r = wait_turn(q, &c->mq_sev, 0, flags, dl, &spun);
		}
		if (!spun)
			slept = 1;
		if (r < 0) {
			/* Pass on a wake we may have absorbed. */
			if (slept)
				zipc__event_signal(&c->mq_sev,
						   q->q_face == ZIPC_MQ_XSI
							   ? INT32_MAX
							   : 1);
			return r;
		}
	}
}

#define MUST_WAIT (-EAGAIN) /* receive_locked found nothing */

/* The locked receive: MUST_WAIT when it found nothing (lock held), else
 * the result (lock released). */
static ssize_t
receive_locked(struct zipc_queue *q, void *buf, size_t len, int64_t *type,
	       enum zipc_mq_sel sel, int64_t t, int flags, int slept)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint32_t prev = 0, i = find(q, sel, t, &prev);
	if (unlikely(i == UINT32_MAX)) {
		repair(q);
		zipc__mq_unlock(q);
		return -EUCLEAN;
	}
	if (!i)
		return MUST_WAIT;
	struct zipc_mq_slot *h = slot_at(q, i);
	if (ld_relaxed(&h->ms_size) > len &&
	    (!(flags & ZIPC_MQ_NOERROR) || (flags & ZIPC_MQ_PEEK))) {
		int e2 = (flags & ZIPC_MQ_NOERROR) ? -EINVAL : -E2BIG;
		zipc__mq_unlock(q);
		if (slept)
			zipc__event_signal(&c->mq_rev, INT32_MAX);
		return e2;
	}
	int64_t ty = ld_relaxed(&h->ms_type);
	if (flags & ZIPC_MQ_PEEK) {
		ssize_t n = peek(q, i, buf, len);
		zipc__mq_unlock(q);
		if (n >= 0 && type)
			*type = ty;
		return n;
	}
	ssize_t n = take(q, i, prev, buf, len);
	if (n < 0) {
		repair(q);
		zipc__mq_unlock(q);
		return n;
	}
	if (type)
		*type = ty;
	note_op(c, 0);
	zipc__mq_ready_sync(q);
	int w = take_wake(&c->mq_spend,
			  q->q_face == ZIPC_MQ_XSI ? INT32_MAX : 1);
	ZIPC_CRASH("mq.recv.owed");
	zipc__mq_unlock(q);
	wake(&c->mq_sev, w);
	return n;
}

ssize_t
zipc__mq_receive(struct zipc_queue *q, void *buf, size_t len, int64_t *type,
		 enum zipc_mq_sel sel, int64_t t, int flags,
		 const struct zipc_deadline *dl)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	int ringed = q->q_ring && sel != ZIPC_SEL_NTH;
	int spun = 0, slept = 0;
	struct zipc_ring_watch w;
	ssize_t n;
	for (;;) {
		int r;
		n = ZIPC_RING_CLOSED;
		if (ringed) {
			int64_t ty;
			n = zipc__ring_recv(q, buf, len, &ty, sel, t,
					    flags & ZIPC_MQ_NOERROR, &w);
			if (n >= 0) {
				if (type)
					*type = ty;
				note_op(c, 0);
				ring_wake(q, 0);
				return n;
			}
		}
		if (n == -E2BIG) {
			if (slept)
				zipc__event_signal(&c->mq_rev, INT32_MAX);
			return n;
		}
		if (n == -ENOMSG) {
			if (flags & ZIPC_MQ_NONBLOCK)
				return -ENOMSG;
			r = ring_wait(q, 0, &w, sel != ZIPC_SEL_FIRST, flags, dl,
				      &spun);
		} else {
			if ((r = zipc__mq_lock(q)) < 0)
				return r;
			n = receive_locked(q, buf, len, type, sel, t, flags,
					   slept);
			if (n != MUST_WAIT)
				return n;
			if (flags & ZIPC_MQ_NONBLOCK) {
				zipc__mq_unlock(q);
				return -ENOMSG;
			}
			/* Nothing in the list: wait on the ring if it can be
			 * opened again. */
			if (ringed && zipc__ring_reopen(q)) {
				zipc__mq_unlock(q);
				continue;
			}
			r = wait_turn(q, &c->mq_rev, sel != ZIPC_SEL_FIRST,
				      flags, dl, &spun);
		}
		if (!spun)
			slept = 1;
		if (r < 0) {
			uint64_t qnum, bytes;
			zipc__mq_count(c, &qnum, &bytes);
			if (slept && qnum)
				zipc__event_signal(&c->mq_rev, INT32_MAX);
			return r;
		}
	}
}

/* ---- readiness fds ------------------------------------------------------ */

int
zipc__mq_watch(struct zipc_queue *q, int cond)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (cond != 0 && cond != 1)
		return -EINVAL;
	int r = zipc__readyfd_create(q->q_fifo[cond], 0600 | 0066);
	if (r < 0)
		return r;
	int fd = zipc__readyfd_watch(&c->mq_rd[cond], q->q_fifo[cond]);
	if (fd < 0)
		return fd;
	if ((r = zipc__mq_lock(q)) < 0) {
		zipc__readyfd_unwatch(&c->mq_rd[cond], fd);
		return r;
	}
	zipc__mq_ready_sync(q);
	zipc__mq_unlock(q);
	return fd;
}

void
zipc__mq_unwatch(struct zipc_queue *q, int cond, int fd)
{
	if (cond == 0 || cond == 1)
		zipc__readyfd_unwatch(&q->q_ctl->mq_rd[cond], fd);
}
