/* SPDX-License-Identifier: MIT */
/*
 * Fuzz target: an interpreter that turns bytes into random semop arrays
 * (IPC_NOWAIT, SEM_UNDO, wait-for-zero, duplicates, out-of-range values
 * and semaphore numbers), SETVAL, SETALL, GETVAL/GETALL/GETNCNT and POSIX
 * post/trywait, and checks every result and value against an in-memory
 * model of the kernel's semantics (sequential application with rollback,
 * ERANGE at SEMVMX and at the undo range, EAGAIN, EFBIG, SETVAL/SETALL
 * clearing the adjustments). Some inputs then scribble over the set's
 * shared memory, as a hostile peer could; from there on only the absence
 * of crashes and hangs is checked.
 *
 * Build: clang -g -O1 -fsanitize=fuzzer,address,undefined -D_GNU_SOURCE
 *   -Iinclude -Isrc fuzz/fuzz_sem.c fuzz/fuzzutil.c <libzipc sources>; corpus
 *   fuzz/corpus/sem (replayed by fuzz/replay.c as an ordinary test).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/mman.h>
#include <sys/sem.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzzutil.h"
#include "sem/sem.h"
#include "store.h"
#include "zipc.h"
#include "zipc_compat.h"

#define MAXN 8

static void
die(const char *what, long got, long want)
{
	fprintf(stderr, "fuzz_sem: %s: got %ld, want %ld\n", what, got, want);
	abort();
}

/* The model: values and this process's adjustments. */
struct model {
	int n;
	int val[MAXN];
	int adj[MAXN];
};

static int
model_semop(struct model *m, const struct sembuf *ops, int n)
{
	int val[MAXN], adj[MAXN];
	memcpy(val, m->val, sizeof(val));
	memcpy(adj, m->adj, sizeof(adj));
	for (int i = 0; i < n; i++)
		if (ops[i].sem_num >= m->n)
			return -EFBIG;
	for (int i = 0; i < n; i++) {
		int k = ops[i].sem_num, op = ops[i].sem_op;
		if ((!op && val[k]) || val[k] + op < 0)
			return -EAGAIN; /* every op carries IPC_NOWAIT */
		if (val[k] + op > 32767)
			return -ERANGE;
		if (ops[i].sem_flg & SEM_UNDO) {
			int a = adj[k] - op;
			if (a < -32768 || a > 32767)
				return -ERANGE;
			adj[k] = a;
		}
		val[k] += op;
	}
	memcpy(m->val, val, sizeof(val));
	memcpy(m->adj, adj, sizeof(adj));
	return 0;
}

static void
check_values(int id, const struct model *m)
{
	unsigned short v[MAXN];
	if (zipc_semctl(id, 0, GETALL, v) != 0)
		die("GETALL", errno, 0);
	for (int i = 0; i < m->n; i++)
		if (v[i] != m->val[i])
			die("value", v[i], m->val[i]);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_input in = {data, size};
	struct model m;
	int hostile = 0;
	fuzz_store("sem");
	memset(&m, 0, sizeof(m));
	m.n = 1 + (int)(fuzz_take(&in) % MAXN);
	int id = zipc_semget(IPC_PRIVATE, m.n, 0600);
	if (id < 0)
		die("semget", errno, 0);
	zipc_sema_t sema;
	int pval = (int)(fuzz_take(&in) % 4);
	zipc_sema_init(&sema, 0, (unsigned)pval);
	while (in.n) {
		unsigned c = fuzz_take(&in);
		switch (c % 8) {
		case 0:
		case 1:
		case 2: {
			struct sembuf ops[6];
			int n = 1 + (int)(fuzz_take(&in) % 6);
			for (int i = 0; i < n; i++) {
				unsigned b = fuzz_take(&in);
				ops[i].sem_num = (unsigned short)(b % (MAXN + 1));
				if (ops[i].sem_num >= m.n && (b & 0x80))
					ops[i].sem_num %= (unsigned short)m.n;
				int8_t o = (int8_t)fuzz_take(&in);
				ops[i].sem_op = (short)(o == -128	? -32768
							: o == 127	? 32767
							: o > 100	? o * 300
									: o % 5);
				ops[i].sem_flg = (short)(IPC_NOWAIT |
					(fuzz_take(&in) & 1 ? SEM_UNDO : 0));
			}
			int want = model_semop(&m, ops, n);
			int r = zipc_semop(id, ops, (size_t)n);
			int got = r < 0 ? -errno : r;
			if (!hostile && got != want)
				die("semop", got, want);
			break;
		}
		case 3: {
			int k = (int)(fuzz_take(&in) % MAXN),
			    v = (int)fuzz_take(&in) * 200;
			int want = v > 32767 ? -ERANGE : k >= m.n ? -EINVAL : 0;
			int r = zipc_semctl(id, k, SETVAL, v);
			int got = r < 0 ? -errno : r;
			if (!hostile && got != want)
				die("SETVAL", got, want);
			if (want == 0) {
				m.val[k] = v;
				m.adj[k] = 0;
			}
			break;
		}
		case 4: {
			unsigned short v[MAXN];
			for (int i = 0; i < m.n; i++)
				v[i] = (unsigned short)(fuzz_take(&in) % 7);
			if (zipc_semctl(id, 0, SETALL, v) != 0 && !hostile)
				die("SETALL", errno, 0);
			for (int i = 0; i < m.n; i++) {
				m.val[i] = v[i];
				m.adj[i] = 0;
			}
			break;
		}
		case 5: {
			int k = (int)(fuzz_take(&in) % MAXN);
			int r = zipc_semctl(id, k, c & 8 ? GETNCNT : GETVAL);
			int got = r < 0 ? -errno : r;
			int want = k >= m.n ? -EINVAL : c & 8 ? 0 : m.val[k];
			if (!hostile && got != want)
				die("GETVAL/GETNCNT", got, want);
			break;
		}
		case 6: {
			int want;
			if (c & 8) {
				want = pval ? 0 : -EAGAIN;
				if (zipc_sema_trywait(&sema) != want)
					die("sema_trywait", 0, want);
				pval -= !want;
			} else {
				if (zipc_sema_post(&sema) != 0)
					die("sema_post", 0, 0);
				pval++;
			}
			if (zipc_sema_getvalue(&sema) != pval)
				die("sema value", zipc_sema_getvalue(&sema), pval);
			break;
		}
		default:
			/* A hostile peer writes a byte somewhere in the set.
			 * Only inputs that ask for it, and only sometimes. */
			if ((c & 0xf0) == 0xf0) {
				char fname[64], path[4096];
				snprintf(fname, sizeof(fname), "zipc.sem.%d", id);
				zipc__path(path, sizeof(path), fname);
				FILE *f = fopen(path, "r+");
				if (f) {
					long off = (long)(fuzz_take(&in) << 8 |
							  fuzz_take(&in));
					/* Never the lock word: a hostile
					 * lock holder is a hang by design. */
					if (off < 64 || off >= 96) {
						fseek(f, off, SEEK_SET);
						fputc((int)fuzz_take(&in), f);
					}
					fclose(f);
					hostile = 1;
				}
			}
			break;
		}
		if (!hostile)
			check_values(id, &m);
	}
	if (zipc_semctl(id, 0, IPC_RMID) != 0 && !hostile)
		die("IPC_RMID", errno, 0);
	return 0;
}
