/* SPDX-License-Identifier: MIT */
/*
 * Differential test of XSI semaphore sets: the same random sequence of
 * semop/semtimedop arrays (IPC_NOWAIT, SEM_UNDO, wait-for-zero, errors),
 * semctl commands and error paths goes to a kernel set and a zipc set, and
 * every result, errno and value must agree. Children that operate with
 * SEM_UNDO and then exit, _exit or are SIGKILLed check the undo at death.
 * Blocking appears only as semtimedop with a zero timeout, whose outcome
 * is deterministic (EAGAIN). Every kernel set made here is removed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ipc.h>
#include <sys/sem.h>
#include <sys/wait.h>
#include <unistd.h>

#include "diffutil.h"
#include "testutil.h"
#include "zipc_compat.h"

#define OPS_DEFAULT 12000

union semun {
	int val;
	struct semid_ds *buf;
	unsigned short *array;
	struct seminfo *__buf;
};

static int kid = -1, zid = -1, nsems;
static long nops, n_ok, n_err;

static pid_t owner;

static void
cleanup(void)
{
	if (getpid() != owner)
		return;
	if (kid >= 0)
		semctl(kid, 0, IPC_RMID);
	kid = -1;
}

static void
same(long kr, int ke, long zr, int ze, const char *what)
{
	if (tu_diff_same(kr, ke, zr, ze, what))
		n_err++;
	else
		n_ok++;
}

static void
compare_values(const char *what)
{
	unsigned short kv[64], zv[64];
	union semun ka = {.array = kv}, za = {.array = zv};
	int kr = semctl(kid, 0, GETALL, ka);
	int ke = errno;
	int zr = zipc_semctl(zid, 0, GETALL, za);
	int ze = errno;
	same(kr, ke, zr, ze, "GETALL");
	for (int i = 0; i < nsems; i++) {
		if (kv[i] != zv[i])
			tu_diff_fail("%s: sem %d kernel %u zipc %u", what, i,
				     kv[i], zv[i]);
		int kp = semctl(kid, i, GETPID);
		int zp = zipc_semctl(zid, i, GETPID);
		if (kp != zp)
			tu_diff_fail("%s: sempid %d kernel %d zipc %d", what, i,
				     kp, zp);
	}
}

static void
rand_ops(struct sembuf *ops, int n, int undo_ok, int *nowait_all)
{
	*nowait_all = 1;
	for (int i = 0; i < n; i++) {
		ops[i].sem_num = (unsigned short)tu_rand_below((uint64_t)nsems);
		if (tu_rand_below(60) == 0)
			ops[i].sem_num = (unsigned short)(nsems +
							  tu_rand_below(3));
		int r = (int)tu_rand_below(20);
		ops[i].sem_op = (short)(r < 6 ? -(int)tu_rand_below(4)
				       : r < 14 ? (int)tu_rand_below(4)
				       : r < 17 ? 0
				       : r < 18 ? 32000
				       : r < 19 ? -32000
						: (int)tu_rand_below(200) - 100);
		ops[i].sem_flg = IPC_NOWAIT;
		if (tu_rand_below(6) == 0) {
			ops[i].sem_flg = 0;
			*nowait_all = 0;
		}
		if (undo_ok && tu_rand_below(3) == 0)
			ops[i].sem_flg |= SEM_UNDO;
	}
}

static void
one_semop(int undo_ok)
{
	struct sembuf ops[8];
	int n = 1 + (int)tu_rand_below(tu_rand_below(4) ? 2 : 6);
	int nowait_all;
	rand_ops(ops, n, undo_ok, &nowait_all);
	size_t nn = (size_t)n;
	if (tu_rand_below(200) == 0)
		nn = 0;
	if (tu_rand_below(200) == 0)
		nn = 501; /* > semopm */
	struct timespec zero = {0, 0};
	int use_timed = !nowait_all || tu_rand_below(4) == 0;
	if (tu_rand_below(150) == 0)
		zero.tv_nsec = -1;
	int kr, ke, zr, ze;
	if (nn > 8) {
		static struct sembuf big[501];
		memset(big, 0, sizeof(big));
		kr = semtimedop(kid, big, nn, &zero);
		ke = errno;
		zr = zipc_semtimedop(zid, big, nn, &zero);
		ze = errno;
	} else if (use_timed) {
		kr = semtimedop(kid, ops, nn, &zero);
		ke = errno;
		zr = zipc_semtimedop(zid, ops, nn, &zero);
		ze = errno;
	} else {
		kr = semop(kid, ops, nn);
		ke = errno;
		zr = zipc_semop(zid, ops, nn);
		ze = errno;
	}
	same(kr, ke, zr, ze, "semop");
}

/* A semctl command that takes no argument, on both sets. */
static void
ctl_noarg(int semnum, int cmd, const char *what)
{
	int kr = semctl(kid, semnum, cmd);
	int ke = errno;
	int zr = zipc_semctl(zid, semnum, cmd);
	same(kr, ke, zr, errno, what);
}

/* A semctl command with its argument: @ka for the kernel's set, @za for
 * zipc's (they differ where the command writes into its argument). */
static void
ctl_arg(int semnum, int cmd, union semun ka, union semun za, const char *what)
{
	int kr = semctl(kid, semnum, cmd, ka);
	int ke = errno;
	int zr = zipc_semctl(zid, semnum, cmd, za);
	same(kr, ke, zr, errno, what);
}

static void
one_semctl(void)
{
	int semnum = (int)tu_rand_below((uint64_t)nsems + 1) -
		     (tu_rand_below(30) == 0);
	int kr, ke, zr, ze;
	switch (tu_rand_below(12)) {
	case 0:
	case 1: {
		int v = (int)tu_rand_below(6);
		if (tu_rand_below(20) == 0)
			v = tu_rand_below(2) ? 32768 : -1;
		if (tu_rand_below(20) == 0)
			v = 32767;
		union semun a = {.val = v};
		ctl_arg(semnum, SETVAL, a, a, "SETVAL");
		break;
	}
	case 2: {
		unsigned short v[64];
		for (int i = 0; i < nsems; i++)
			v[i] = (unsigned short)tu_rand_below(5);
		if (tu_rand_below(15) == 0)
			v[tu_rand_below((uint64_t)nsems)] = 40000;
		union semun a = {.array = v};
		ctl_arg(0, SETALL, a, a, "SETALL");
		break;
	}
	case 3:
		ctl_noarg(semnum, GETVAL, "GETVAL");
		break;
	case 4:
		ctl_noarg(semnum, GETNCNT, "GETNCNT");
		break;
	case 5:
		ctl_noarg(semnum, GETZCNT, "GETZCNT");
		break;
	case 6:
		ctl_noarg(semnum, GETPID, "GETPID");
		break;
	case 7: {
		struct semid_ds kd, zd;
		union semun ka = {.buf = &kd}, za = {.buf = &zd};
		ctl_arg(0, IPC_STAT, ka, za, "IPC_STAT");
		if (kd.sem_nsems != zd.sem_nsems ||
		    kd.sem_perm.mode != zd.sem_perm.mode ||
		    kd.sem_perm.uid != zd.sem_perm.uid ||
		    kd.sem_perm.cuid != zd.sem_perm.cuid ||
		    !kd.sem_otime != !zd.sem_otime || !zd.sem_ctime)
			tu_diff_fail("IPC_STAT fields: nsems %lu/%lu "
				     "mode %o/%o otime %ld/%ld",
				     kd.sem_nsems, zd.sem_nsems,
				     kd.sem_perm.mode, zd.sem_perm.mode,
				     (long)kd.sem_otime, (long)zd.sem_otime);
		break;
	}
	case 8: {
		struct semid_ds d;
		memset(&d, 0, sizeof(d));
		d.sem_perm.uid = geteuid();
		d.sem_perm.gid = getegid();
		d.sem_perm.mode = (unsigned short)(0600 | tu_rand_below(0100));
		union semun a = {.buf = &d};
		ctl_arg(0, IPC_SET, a, a, "IPC_SET");
		break;
	}
	case 9:
		ctl_noarg(0, (int)tu_rand_below(2) ? 99 : -1, "bad cmd");
		break;
	case 10: {
		/* A bad id: negative, or one that names nothing. */
		kr = semctl(-1, 0, GETVAL);
		ke = errno;
		zr = zipc_semctl(-1, 0, GETVAL);
		ze = errno;
		same(kr, ke, zr, ze, "bad id");
		struct sembuf op = {0, 1, IPC_NOWAIT};
		kr = semop(-5, &op, 1);
		ke = errno;
		zr = zipc_semop(-5, &op, 1);
		ze = errno;
		same(kr, ke, zr, ze, "semop bad id");
		break;
	}
	default: {
		struct semid_ds kd, zd;
		union semun ka = {.buf = &kd}, za = {.buf = &zd};
		ctl_arg(0, IPC_STAT, ka, za, "IPC_STAT(2)");
		break;
	}
	}
}

/* A child operates with SEM_UNDO on both sets, then dies one of three
 * ways; afterwards both sets must hold the same values. */
static void
undo_child(void)
{
	int how = (int)tu_rand_below(3);
	uint64_t seed = tu_rand();
	pid_t pid = fork();
	if (pid < 0)
		tu_diff_fail("fork");
	if (pid == 0) {
		/* Re-seed so parent and child streams differ, deterministically. */
		for (uint64_t i = 0; i < (seed & 15); i++)
			tu_rand();
		for (int k = 0; k < 6; k++) {
			struct sembuf ops[4];
			int nw, n = 1 + (int)tu_rand_below(3);
			rand_ops(ops, n, 1, &nw);
			for (int i = 0; i < n; i++) {
				ops[i].sem_flg |= IPC_NOWAIT;
				if (tu_rand_below(2))
					ops[i].sem_flg |= SEM_UNDO;
				ops[i].sem_num %= (unsigned short)nsems;
			}
			int kr = semop(kid, ops, (size_t)n), ke = errno;
			int zr = zipc_semop(zid, ops, (size_t)n), ze = errno;
			if (kr != zr || (kr < 0 && ke != ze))
				_exit(3);
		}
		if (how == 0)
			exit(0);
		if (how == 1)
			_exit(0);
		kill(getpid(), SIGKILL);
		_exit(4);
	}
	int st = tu_wait(pid, 10000);
	if (st != 0 && st != 128 + SIGKILL)
		tu_diff_fail("undo child diverged or failed (status %d)", st);
	compare_values("after undo child");
}

int
main(void)
{
	tu_setup(170);
	tu_seed(0x5e3a11ull);
	long target = tu_diff_ops(OPS_DEFAULT);
	owner = getpid();
	atexit(cleanup);
	tu_diff_init(&nops, NULL, cleanup);
	while (nops < target) {
		nsems = 1 + (int)tu_rand_below(tu_rand_below(2) ? 3 : 40);
		kid = semget(IPC_PRIVATE, nsems, 0600);
		if (kid < 0) {
			perror("semget (kernel)");
			return 77;
		}
		zid = zipc_semget(IPC_PRIVATE, nsems, 0600);
		if (zid < 0)
			tu_diff_fail("zipc_semget: %s", strerror(errno));
		int len = 100 + (int)tu_rand_below(400);
		/* Half the sets never see SEM_UNDO, so the lock-free fast
		 * path (single operations, small sets) is compared too. */
		int undo_set = (int)tu_rand_below(2);
		for (int i = 0; i < len; i++, nops++) {
			int r = (int)tu_rand_below(100);
			if (r < 60)
				one_semop(undo_set);
			else if (r < 97 || !undo_set)
				one_semctl();
			else
				undo_child();
			compare_values("after op");
		}
		/* The error paths of semget against the same key space. */
		int kr = semget(IPC_PRIVATE, 0, 0600), ke = errno;
		int zr = zipc_semget(IPC_PRIVATE, 0, 0600), ze = errno;
		same(kr, ke, zr, ze, "semget nsems 0");
		kr = semget(IPC_PRIVATE, 1 << 20, 0600);
		ke = errno;
		zr = zipc_semget(IPC_PRIVATE, 1 << 20, 0600);
		ze = errno;
		same(kr, ke, zr, ze, "semget nsems > semmsl");
		kr = semctl(kid, 0, IPC_RMID);
		ke = errno;
		zr = zipc_semctl(zid, 0, IPC_RMID);
		ze = errno;
		same(kr, ke, zr, ze, "IPC_RMID");
		kid = -1;
		struct sembuf op = {0, 1, IPC_NOWAIT};
		int oldk = kr;
		(void)oldk;
		zr = zipc_semop(zid, &op, 1);
		ze = errno;
		if (zr != -1 || ze != EINVAL)
			tu_diff_fail("semop on a removed set: %d/%s", zr,
				     strerror(ze));
	}
	printf("# %ld operations, %ld ok, %ld errors, no divergence\n", nops,
	       n_ok, n_err);
	if (tu_count_objects() != 0) {
		fprintf(stderr, "objects left: %d\n", tu_count_objects());
		return 1;
	}
	return 0;
}
