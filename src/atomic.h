/* SPDX-License-Identifier: MIT */
/*
 * Ordering helpers for every word that lives in shared memory. Nothing in
 * zipc touches a shared word except through these, so each access states
 * its ordering and TSan can see the synchronisation.
 */
#ifndef ZIPC_ATOMIC_H
#define ZIPC_ATOMIC_H

#define ld_relaxed(p)	 __atomic_load_n((p), __ATOMIC_RELAXED)
#define ld_acquire(p)	 __atomic_load_n((p), __ATOMIC_ACQUIRE)
#define ld_seq(p)	 __atomic_load_n((p), __ATOMIC_SEQ_CST)
#define st_relaxed(p, v) __atomic_store_n((p), (v), __ATOMIC_RELAXED)
#define st_release(p, v) __atomic_store_n((p), (v), __ATOMIC_RELEASE)
#define st_seq(p, v)	 __atomic_store_n((p), (v), __ATOMIC_SEQ_CST)

/* Strong compare-and-swap; on failure *expected is refreshed. */
#define cas_acq(p, expected, desired)                                         \
	__atomic_compare_exchange_n((p), (expected), (desired), 0,            \
				    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)
#define cas_acq_rel(p, expected, desired)                                     \
	__atomic_compare_exchange_n((p), (expected), (desired), 0,            \
				    __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)
#define cas_seq(p, expected, desired)                                         \
	__atomic_compare_exchange_n((p), (expected), (desired), 0,            \
				    __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST)

#define fetch_add_relaxed(p, v) __atomic_fetch_add((p), (v), __ATOMIC_RELAXED)
#define fetch_add_seq(p, v)	__atomic_fetch_add((p), (v), __ATOMIC_SEQ_CST)
#define fetch_sub_seq(p, v)	__atomic_fetch_sub((p), (v), __ATOMIC_SEQ_CST)
#define fetch_or_seq(p, v)	__atomic_fetch_or((p), (v), __ATOMIC_SEQ_CST)
#define xchg_acq_rel(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_ACQ_REL)
#define xchg_release(p, v)	__atomic_exchange_n((p), (v), __ATOMIC_RELEASE)

#define fence_seq() __atomic_thread_fence(__ATOMIC_SEQ_CST)

static inline void
cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
	__builtin_ia32_pause();
#elif defined(__aarch64__)
	__asm__ __volatile__("yield" ::: "memory");
#endif
}

#endif
