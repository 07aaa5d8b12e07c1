/* SPDX-License-Identifier: MIT */
/*
 * The ring: the fast path of a queue, for messages of up to
 * ZIPC_MQ_RING_PAYLOAD bytes taken from the head: XSI msgrcv (msgtyp 0,
 * or a selection that picks the first message) and POSIX receives while
 * every message in the ring has one priority.
 *
 * Why. Under the queue lock (engine.c) every message hands the lock's
 * line, which also holds the list ends and counters, from the sender's
 * core to the receiver's and back: two or three line transfers per
 * message, whatever else is done. Here senders have a lock and a position
 * word on a line of their own (mq_slock, mq_enq) and receivers a position
 * word on another (mq_deq), so a busy queue moves little more than the
 * message's own slot between the cores -- the transfer the data needs
 * anyway.
 *
 * Layout. A ring of q_ring_cap slots (a power of two, at least the
 * arena's slot count; struct zipc_mq_rslot, 128 bytes) follows the
 * arena's bitmap. Positions count messages from the queue's creation
 * (modulo 2^32); position p lives in slot p & (cap - 1). mq_enq and mq_deq
 * each pack a position with a 31-bit byte count (pos | bytes << 32): the
 * next position to send to and the bytes ever sent, the next position to
 * take and the bytes ever taken; bit 63 of mq_deq (DEQ_CLOSED) shuts the
 * receivers out. Messages in the ring are [deq, enq), so msg_qnum is
 * enq - deq and msg_cbytes the difference of the byte counts.
 *
 * Slots. rs_seq of a slot is p + 1 once the message at position p is
 * published there; any other value means "nothing published" (a slot
 * that held position p - cap still says p - cap + 1).
 *   send (holding mq_slock): check room against mq_deq (through the
 *        senders' cached copy mq_deq_seen: the receivers' line is read
 *        only when the copy says "full"); room also means the slot's
 *        previous message was taken. Write the bytes, size and type,
 *        publish with the release store rs_seq = p + 1, advance mq_enq.
 *   recv (no lock): read mq_deq = d; if rs_seq of position d is d + 1,
 *        copy the message out, then take it with one CAS of mq_deq from
 *        d to d + 1 (release). Until mq_deq moves past d no sender
 *        reuses the slot, so a copy whose CAS succeeds is whole; a CAS
 *        that fails (another receiver took it, or a closer set
 *        DEQ_CLOSED) drops the copy and starts again.
 * Receivers write nothing in the slots, so a slot's lines only ever move
 * from the sender's core to the receiver's; and the header follows the
 * data, so a 64-byte message is one line of data and one of header, and
 * a receiver watching the header does not steal the line being filled.
 * "Room" is exactly the locked path's has_room() for the queue it would
 * be after a close (below): an XSI queue's msg_qbytes bounds the bytes
 * and the messages, a POSIX queue's mq_maxmsg the messages, and the
 * arena's slot count bounds the messages (each ring message needs one
 * arena slot). So the ring is full exactly when the list would be, and a
 * close always fits in the empty arena.
 *
 * Crash safety. mq_slock is a robust lock (lock.h). A sender that died
 * after publishing position enq (rs_seq is enq + 1) but before advancing
 * mq_enq leaves a step that the next taker of mq_slock finishes
 * (idempotently); before publishing, the message does not exist. A
 * receiver's one step is its CAS: before it the message is still there
 * (its copy died with the receiver), after it the message is gone.
 *
 * POSIX priorities. A POSIX receive takes the oldest message of the
 * highest priority; the ring is FIFO, so it holds messages of one
 * priority only (mq_ring_prio, set by the sender that finds the ring
 * empty). A sender of another priority while the ring holds messages
 * closes it: the list sorts them. A registered mq_notify keeps the ring
 * closed (the locked path fires it).
 *
 * Typed receives. msgrcv's selections (msgtyp > 0, < 0, MSG_EXCEPT) scan
 * the published messages from deq: when the message they pick is the
 * head, the ring takes it (a queue used in both directions, mtype naming
 * the direction, holds one message at a time); when nothing matches they
 * wait on the ring; only a message picked from further on needs the list.
 *
 * Modes. The ring and the list never both hold messages. The ring is in
 * use (mq_ring_open odd, on a read-mostly line) only while the list is
 * empty; anything the ring cannot do -- a receive that picks a message
 * behind the head, MSG_COPY, a long message, msgctl, a readiness fd --
 * goes through zipc__mq_lock(), which closes the ring: under the queue
 * lock and mq_slock it makes mq_ring_open even, sets DEQ_CLOSED (a CAS,
 * so no receiver takes anything after it) and moves the ring's messages,
 * oldest first, to the list, each tagged with its ring position
 * (ms_ringpos) before mq_deq moves past it. A closer that dies
 * between linking a message and moving mq_deq leaves the list's tail
 * tagged with the position mq_deq still names; the next closer sees the
 * tag and only moves mq_deq, so nothing is moved twice. The queue lock
 * is released by zipc__mq_unlock(), which opens the ring again when the
 * list is empty and nothing needs the list (nobody watching a readiness
 * fd, no mq_notify registration, not removed). Senders read mq_ring_open
 * under mq_slock, so a close serialises with them. Every close and every
 * opening adds one to mq_ring_open, so a receiver proves "nothing here"
 * without any lock: the ring open with the same count before and after
 * it saw nothing (with an unchanged mq_deq) means the ring was open, and
 * so the list empty, at that moment -- a polling receiver writes nothing
 * at all.
 *
 * Waiting. Ring sleepers use the queue's events and owed-wake counts
 * (mq_rev/mq_rpend, mq_sev/mq_spend) like the locked path's: a sleeper
 * counts itself (seq_cst), re-checks the ring, sleeps; a waker publishes,
 * unlocks (an xchg), fences and reads the owed count, making a
 * FUTEX_WAKE only when somebody is owed one (Dekker; engine.c). A typed
 * sleeper also counts itself in mq_sel_waiters, and senders then wake
 * every receiver, as on the list. A receiver's re-check is whether the
 * ring moved since its scan (struct zipc_ring_watch): a message taken,
 * or one published where the scan ended. A close wakes every sleeper so
 * that they retry on the list.
 */
#include <string.h>

#include "atomic.h"
#include "internal.h"
#include "mq.h"

/* Queues whose arena has more slots than this get no ring: the ring
 * would cost 128 bytes a slot of memory for little gain. */
#define RING_MAX_SLOTS 4096

/* A receiver asks for the lines of this many messages after the one it
 * took: with a backlog, their transfers overlap (measured with
 * SEND_AHEAD 4, 64 B 1->1: 2 ahead 9.7 M msg/s, 4 ahead 13, 8 ahead 13
 * with a slower ping-pong). */
#define RECV_AHEAD 4
/* A sender asks for the lines of this many free slots after the one it
 * filled (64 B 1->1: 10 M msg/s with 1, 13 with 4). */
#define SEND_AHEAD 4

static inline uint32_t
pos_of(uint64_t w)
{
	return (uint32_t)w;
}

/* Byte counts are 31 bits (the ring never holds 2^31 bytes): bit 63 of
 * mq_deq says the receivers' side is closed. */
#define BYTES_MASK 0x7fffffffu
#define DEQ_CLOSED ((uint64_t)1 << 63)

static inline uint32_t
bytes_of(uint64_t w)
{
	return (uint32_t)(w >> 32) & BYTES_MASK;
}

static inline uint32_t
bytes_between(uint64_t from, uint64_t to)
{
	return (bytes_of(to) - bytes_of(from)) & BYTES_MASK;
}

static inline uint64_t
pack(uint32_t pos, uint32_t bytes)
{
	return (uint64_t)pos | (uint64_t)(bytes & BYTES_MASK) << 32;
}

static inline struct zipc_mq_rslot *
rslot(const struct zipc_queue *q, uint32_t pos)
{
	return &q->q_ring[pos & (q->q_ring_cap - 1)];
}

uint32_t
zipc__ring_cap(uint32_t nslots)
{
	uint32_t cap = 2;
	if (nslots > RING_MAX_SLOTS)
		return 0;
	while (cap < nslots)
		cap <<= 1;
	return cap;
}

/* Make every slot say "nothing published" for its first position at or
 * after @pos. */
static void
ring_reset(struct zipc_mq_rslot *ring, uint32_t cap, uint32_t pos)
{
	for (uint32_t k = 0; k < cap; k++) {
		uint32_t p = pos + ((k - pos) & (cap - 1));
		st_relaxed(&ring[k].rs_seq, p);
	}
}

void
zipc__ring_init(struct zipc_mq_ctl *c, struct zipc_mq_rslot *ring,
		uint32_t cap)
{
	zipc__lock_init(&c->mq_slock);
	c->mq_ring_cap = cap;
	if (!cap)
		return;
	ring_reset(ring, cap, 0);
	c->mq_enq = c->mq_deq = c->mq_deq_seen = 0;
	c->mq_ring_prio = ZIPC_MQ_RING_NO_PRIO;
	c->mq_ring_open = 1; /* odd: open */
}

/* The messages the queue holds at most: an XSI queue's msg_qbytes (also
 * a message count there), a POSIX queue's mq_maxmsg (its mq_qbytes),
 * and never more than the arena's slots. */
static inline uint32_t
max_msgs(const struct zipc_queue *q)
{
	uint64_t qbytes = ld_relaxed(&q->q_ctl->mq_qbytes);
	return qbytes < q->q_nslots ? (uint32_t)qbytes : q->q_nslots;
}

/* Room for a @len-byte message with sent word @e and taken word @d: the
 * message count, and for XSI msg_qbytes bytes. */
static int
room(const struct zipc_queue *q, uint64_t e, uint64_t d, size_t len)
{
	uint32_t qnum = pos_of(e) - pos_of(d);
	if ((uint64_t)qnum + 1 > max_msgs(q))
		return 0;
	return q->q_face == ZIPC_MQ_POSIX ||
	       (uint64_t)bytes_between(d, e) + len <=
		       ld_relaxed(&q->q_ctl->mq_qbytes);
}

/* The lowest valid type: XSI mtype >= 1, POSIX priority >= 0. */
static inline int64_t
min_type(const struct zipc_queue *q)
{
	return q->q_face == ZIPC_MQ_XSI ? 1 : 0;
}

/*
 * A message's bytes into (put) or out of (get) a slot, a word at a time
 * with relaxed atomics: a receiver copies before its take (see Slots), so
 * its copy can overlap a sender refilling the slot after another receiver
 * took the message -- a copy that is then dropped, but with plain memcpy
 * a data race all the same. The slot's data is 8-byte aligned; the
 * caller's buffer need not be.
 */
static inline void
slot_put(struct zipc_mq_rslot *s, const void *buf, size_t len)
{
	uint64_t *w = (uint64_t *)(void *)s->rs_data;
	const char *b = buf;
	size_t k = 0;
	for (; k + 8 <= len; k += 8) {
		uint64_t v;
		memcpy(&v, b + k, 8);
		st_relaxed(&w[k / 8], v);
	}
	for (; k < len; k++)
		st_relaxed(&s->rs_data[k], b[k]);
}

static inline void
slot_get(const struct zipc_mq_rslot *s, void *buf, size_t len)
{
	const uint64_t *w = (const uint64_t *)(const void *)s->rs_data;
	char *b = buf;
	size_t k = 0;
	for (; k + 8 <= len; k += 8) {
		uint64_t v = ld_relaxed(&w[k / 8]);
		memcpy(b + k, &v, 8);
	}
	for (; k < len; k++)
		b[k] = ld_relaxed(&s->rs_data[k]);
}

/* A slot's size as far as it can be trusted. */
static inline uint32_t
size_of(const struct zipc_mq_rslot *s)
{
	uint32_t n = ld_relaxed(&s->rs_size);
	return n <= ZIPC_MQ_RING_PAYLOAD ? n : ZIPC_MQ_RING_PAYLOAD;
}

/* The senders' step after a sender died holding mq_slock. */
static void
repair_send_side(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint64_t e = ld_relaxed(&c->mq_enq);
	struct zipc_mq_rslot *s = rslot(q, pos_of(e));
	if (ld_acquire(&s->rs_seq) == pos_of(e) + 1)
		st_release(&c->mq_enq,
			   pack(pos_of(e) + 1, bytes_of(e) + size_of(s)));
}

/* Take the senders' lock, finishing a dead holder's step. */
static int
lock_send(struct zipc_queue *q)
{
	int r = zipc__lock(&q->q_ctl->mq_slock);
	if (unlikely(r == -EOWNERDEAD)) {
		repair_send_side(q);
		r = 0;
	}
	return r;
}

static inline void
unlock_send(struct zipc_queue *q)
{
	zipc__unlock(&q->q_ctl->mq_slock);
}

/* A closer, owning mq_deq (DEQ_CLOSED set): position @d's message, of
 * @size bytes, is in the list now. */
static void
closer_advance(struct zipc_queue *q, uint64_t d, uint32_t size)
{
	st_release(&q->q_ctl->mq_deq,
		   pack(pos_of(d) + 1, bytes_of(d) + size) | DEQ_CLOSED);
}

int
zipc__ring_send(struct zipc_queue *q, const void *buf, size_t len,
		int64_t type)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (lock_send(q) < 0)
		return ZIPC_RING_CLOSED;
	if (!(ld_relaxed(&c->mq_ring_open) & 1)) {
		unlock_send(q);
		return ZIPC_RING_CLOSED;
	}
	uint64_t e = ld_relaxed(&c->mq_enq);
	uint64_t d = ld_relaxed(&c->mq_deq_seen);
	if (!room(q, e, d, len)) {
		/* Partner: the release CAS of mq_deq in zipc__ring_recv. */
		d = ld_acquire(&c->mq_deq);
		st_relaxed(&c->mq_deq_seen, d);
		if (!room(q, e, d, len)) {
			unlock_send(q);
			return -EAGAIN;
		}
	}
	if (q->q_face == ZIPC_MQ_POSIX &&
	    ld_relaxed(&c->mq_ring_prio) != (uint32_t)type) {
		/* Another priority: only into an empty ring (then it is the
		 * ring's), else the list must sort it. */
		d = ld_acquire(&c->mq_deq);
		if (pos_of(d) != pos_of(e)) {
			unlock_send(q);
			return ZIPC_RING_CLOSED;
		}
		st_relaxed(&c->mq_ring_prio, (uint32_t)type);
	}
	uint32_t p = pos_of(e);
	struct zipc_mq_rslot *s = rslot(q, p);
	/* The data's line, then the header's three stores back to back: a
	 * receiver watching the header takes its line away once, not
	 * between them. */
	slot_put(s, buf, len);
	st_relaxed(&s->rs_size, (uint32_t)len);
	st_relaxed(&s->rs_type, type);
	ZIPC_CRASH("mq.ring.send.written");
	/* The publishing store. Partner: ld_acquire in zipc__ring_recv. */
	st_release(&s->rs_seq, p + 1);
	ZIPC_CRASH("mq.ring.send.published");
	st_relaxed(&c->mq_enq, pack(p + 1, bytes_of(e) + (uint32_t)len));
	/* Ask for the next slots' lines now, so their transfers overlap
	 * with what we do until the next sends -- only slots known free:
	 * one a receiver has still to read would be taken from it. */
	uint32_t held = p + 1 - pos_of(d), maxn = max_msgs(q);
	for (uint32_t k = 1; k <= SEND_AHEAD && held + k <= maxn; k++) {
		__builtin_prefetch(rslot(q, p + k)->rs_data, 1);
		__builtin_prefetch(&rslot(q, p + k)->rs_seq, 1);
	}
	unlock_send(q);
	return 0;
}

enum { NONE, HEAD, ELSEWHERE };

/*
 * Where the message msgrcv's selection @sel/@t picks lies among the
 * published ones from position @d: at the head (the ring can take it),
 * further on (only the list can: the caller closes the ring), or nowhere
 * (*@end: the first position not yet published).
 */
static int
ring_find(const struct zipc_queue *q, uint32_t d, enum zipc_mq_sel sel,
	  int64_t t, uint32_t *end)
{
	uint32_t p = d, best_k = 0;
	int64_t best = 0;
	int found = 0;
	for (uint32_t k = 0; k < q->q_nslots; k++, p++) {
		const struct zipc_mq_rslot *s = rslot(q, p);
		/* Partner: the publishing st_release in zipc__ring_send. */
		if (ld_acquire(&s->rs_seq) != p + 1)
			break;
		int64_t ty = ld_relaxed(&s->rs_type);
		if (sel == ZIPC_SEL_FIRST || (sel == ZIPC_SEL_EQUAL && ty == t) ||
		    (sel == ZIPC_SEL_NOTEQUAL && ty != t))
			return k == 0 ? HEAD : ELSEWHERE;
		if (sel == ZIPC_SEL_LESSEQ && ty <= t && (!found || ty < best)) {
			found = 1;
			best = ty;
			best_k = k;
		}
	}
	*end = p;
	if (found)
		return best_k == 0 ? HEAD : ELSEWHERE;
	return NONE;
}

ssize_t
zipc__ring_recv(struct zipc_queue *q, void *buf, size_t len, int64_t *type,
		enum zipc_mq_sel sel, int64_t t, int noerror,
		struct zipc_ring_watch *w)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	int64_t lo = min_type(q);
	for (;;) {
		/* Each load acquire, so each happens after the one before. */
		uint32_t gen = ld_acquire(&c->mq_ring_open);
		uint64_t d = ld_acquire(&c->mq_deq);
		if (!(gen & 1) || (d & DEQ_CLOSED))
			return ZIPC_RING_CLOSED;
		struct zipc_mq_rslot *s = rslot(q, pos_of(d));
		/* Fetch the data's line beside the header's: when the message
		 * has come, both misses overlap instead of following each
		 * other. */
		__builtin_prefetch(s->rs_data, 0);
		uint32_t end;
		int where = ring_find(q, pos_of(d), sel, t, &end);
		/* What was seen holds only if nothing was taken meanwhile and
		 * the ring stayed open (so the list empty) all along. */
		int still = ld_acquire(&c->mq_deq) == d &&
			    ld_relaxed(&c->mq_ring_open) == gen;
		if (where == ELSEWHERE)
			return ZIPC_RING_CLOSED;
		if (where == NONE) {
			if (!still)
				continue;
			w->rw_deq = pos_of(d);
			w->rw_end = end;
			return -ENOMSG;
		}
		uint32_t size = ld_relaxed(&s->rs_size);
		int64_t ty = ld_relaxed(&s->rs_type);
		if (size > ZIPC_MQ_RING_PAYLOAD || ty < lo ||
		    (size > len && !noerror)) {
			/* Read from a slot that may have moved on since. */
			if (ld_acquire(&c->mq_deq) != d)
				continue;
			return size > ZIPC_MQ_RING_PAYLOAD || ty < lo ? -EUCLEAN
								      : -E2BIG;
		}
		size_t n = size < len ? size : len;
		/* Copy first, then take: until mq_deq moves past it no sender
		 * reuses the slot, so a copy whose take succeeds is whole (a
		 * copy whose take fails is dropped). */
		slot_get(s, buf, n);
		ZIPC_CRASH("mq.ring.recv.copied");
		/* The one step of a receive: it fails if another receiver took
		 * the message or a closer closed the ring. Partner: the
		 * ld_acquire of mq_deq in zipc__ring_send (room): our reads of
		 * the slot happen before its next writer's, a lap later. */
		if (!cas_acq_rel(&c->mq_deq, &d, pack(pos_of(d) + 1,
						  bytes_of(d) + size)))
			continue;
		ZIPC_CRASH("mq.ring.recv.taken");
		/* The next messages' lines, while we return and come back --
		 * when they are there: lines a sender is still filling would
		 * be taken from it. */
		uint32_t far = pos_of(d) + RECV_AHEAD;
		if (ld_relaxed(&rslot(q, far)->rs_seq) == far + 1)
			for (uint32_t k = 1; k < RECV_AHEAD; k++) {
				__builtin_prefetch(
					&rslot(q, pos_of(d) + k)->rs_seq, 0);
				__builtin_prefetch(
					rslot(q, pos_of(d) + k)->rs_data, 0);
			}
		*type = ty;
		return (ssize_t)n;
	}
}

int
zipc__ring_has_room(struct zipc_queue *q, size_t len)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (!(ld_acquire(&c->mq_ring_open) & 1))
		return -1;
	return room(q, ld_relaxed(&c->mq_enq), ld_acquire(&c->mq_deq), len);
}

int
zipc__ring_has_msg(struct zipc_queue *q, const struct zipc_ring_watch *w)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (!(ld_acquire(&c->mq_ring_open) & 1))
		return -1;
	/* A message taken since the scan, or one published where it ended
	 * (every later one is published after that one). */
	return pos_of(ld_acquire(&c->mq_deq)) != w->rw_deq ||
	       ld_acquire(&rslot(q, w->rw_end)->rs_seq) == w->rw_end + 1;
}

uint32_t *
zipc__ring_watch_word(struct zipc_queue *q, const struct zipc_ring_watch *w)
{
	if (!w) /* a sender: the taken position, the low half of mq_deq */
		return (uint32_t *)(void *)&q->q_ctl->mq_deq;
	return &rslot(q, w->rw_end)->rs_seq;
}

int
zipc__ring_close(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (!q->q_ring)
		return 0;
	/* Closed and empty: nothing to do, and no lock to take. (A
	 * sender that died publishing did so while the ring was open; the
	 * close that followed took mq_slock and finished its step.) */
	uint32_t gen = ld_relaxed(&c->mq_ring_open);
	int was_open = (gen & 1) != 0;
	if (!was_open && (ld_relaxed(&c->mq_deq) & DEQ_CLOSED) &&
	    pos_of(ld_relaxed(&c->mq_enq)) == pos_of(ld_relaxed(&c->mq_deq)))
		return 0;
	lock_send(q);
	if (was_open)
		st_relaxed(&c->mq_ring_open, gen + 1);
	/* Shut the receivers out: their take is a CAS of mq_deq, which
	 * fails from now on; mq_deq is the closer's. */
	uint64_t d = ld_relaxed(&c->mq_deq);
	while (!(d & DEQ_CLOSED) && !cas_acq_rel(&c->mq_deq, &d, d | DEQ_CLOSED))
		;
	d |= DEQ_CLOSED;
	ZIPC_CRASH("mq.ring.close.closed");
	int r = 0;
	uint64_t e = ld_relaxed(&c->mq_enq);
	/* A closer died between linking the message at deq and moving
	 * mq_deq past it: only the move is left to do. */
	if (pos_of(d) != pos_of(e) &&
	    zipc__mq_tail_ringpos(q) == (uint64_t)pos_of(d) + 1) {
		closer_advance(q, d, size_of(rslot(q, pos_of(d))));
		d = ld_relaxed(&c->mq_deq);
	}
	for (uint32_t k = 0; pos_of(d) != pos_of(e); k++) {
		struct zipc_mq_rslot *s = rslot(q, pos_of(d));
		uint32_t size = ld_relaxed(&s->rs_size);
		int64_t ty = ld_relaxed(&s->rs_type);
		if (k >= q->q_ring_cap ||
		    ld_acquire(&s->rs_seq) != pos_of(d) + 1 ||
		    size > ZIPC_MQ_RING_PAYLOAD || ty < min_type(q)) {
			r = -EUCLEAN;
			break;
		}
		r = zipc__mq_put(q, s->rs_data, size, ty,
				 (uint64_t)pos_of(d) + 1);
		if (r < 0)
			break;
		ZIPC_CRASH("mq.ring.close.moved");
		closer_advance(q, d, size);
		d = ld_relaxed(&c->mq_deq);
	}
	if (r < 0) {
		/* Garbage in the ring: drop what could not be moved. */
		ring_reset(q->q_ring, q->q_ring_cap, pos_of(d));
		st_relaxed(&c->mq_enq, d & ~DEQ_CLOSED);
		st_relaxed(&c->mq_deq_seen, d);
	}
	unlock_send(q);
	if (was_open) {
		/* Ring sleepers retry on the list. */
		zipc__event_signal(&c->mq_rev, INT32_MAX);
		zipc__event_signal(&c->mq_sev, INT32_MAX);
	}
	return r;
}

int
zipc__ring_reopen(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	uint32_t gen = ld_relaxed(&c->mq_ring_open);
	if (!q->q_ring || (gen & 1) || ld_relaxed(&c->mq_head) ||
	    ld_relaxed(&c->mq_nkind) != ZIPC_MQ_NOTIFY_NONE ||
	    ld_relaxed(&c->mq_rd[0].rf_watchers) ||
	    ld_relaxed(&c->mq_rd[1].rf_watchers) ||
	    ld_acquire(&zipc__obj_hdr(&q->q_obj)->sh_state) != ZIPC_SEG_READY)
		return 0;
	lock_send(q);
	uint64_t d = ld_relaxed(&c->mq_deq);
	int ok = pos_of(ld_relaxed(&c->mq_enq)) == pos_of(d);
	if (ok) {
		/* Receivers first (they also need the ring open), then the
		 * opening that senders and receivers look at. Partner: the
		 * ld_acquire of both in zipc__ring_recv. */
		st_release(&c->mq_deq, d & ~DEQ_CLOSED);
		st_release(&c->mq_ring_open, gen + 1);
	}
	unlock_send(q);
	return ok;
}

void
zipc__mq_count(const struct zipc_mq_ctl *c, uint64_t *qnum, uint64_t *bytes)
{
	*qnum = ld_relaxed(&c->mq_qnum);
	*bytes = ld_relaxed(&c->mq_cbytes);
	if (!ld_relaxed(&c->mq_ring_cap))
		return;
	/* deq first: it never passes the enq read after it, except for a
	 * sender that died between publishing and advancing (clamped). */
	uint64_t d = ld_acquire(&c->mq_deq), e = ld_acquire(&c->mq_enq);
	int32_t n = (int32_t)(pos_of(e) - pos_of(d));
	uint32_t b = bytes_between(d, e);
	/* n < 0: a sender died between publishing and advancing mq_enq and
	 * the message was taken since; the count is 0 then. */
	*qnum += n > 0 ? (uint64_t)n : 0;
	*bytes += n > 0 && b <= BYTES_MASK / 2 ? b : 0;
}

int
zipc__ring_check(struct zipc_queue *q)
{
	struct zipc_mq_ctl *c = q->q_ctl;
	if (!q->q_ring)
		return 0;
	uint64_t e = ld_relaxed(&c->mq_enq), d = ld_relaxed(&c->mq_deq);
	uint32_t n = pos_of(e) - pos_of(d), cap = q->q_ring_cap;
	int open = ld_relaxed(&c->mq_ring_open) & 1;
	if (n > q->q_nslots || (!open && n) || (open && ld_relaxed(&c->mq_head)))
		return -EUCLEAN;
	uint32_t bytes = 0;
	for (uint32_t k = 0; k < cap; k++) {
		uint32_t p = pos_of(d) + k;
		struct zipc_mq_rslot *s = rslot(q, p);
		uint32_t seq = ld_relaxed(&s->rs_seq);
		if (k < n) {
			if (seq != p + 1 || ld_relaxed(&s->rs_size) >
						    ZIPC_MQ_RING_PAYLOAD ||
			    ld_relaxed(&s->rs_type) < min_type(q))
				return -EUCLEAN;
			bytes += ld_relaxed(&s->rs_size);
		} else if (seq == p + 1) {
			return -EUCLEAN; /* published past the end */
		}
	}
	return bytes == bytes_between(d, e) ? 0 : -EUCLEAN;
}
