/* SPDX-License-Identifier: MIT */
/*
 * A user of zipc objects for the CLI tests: attaches, opens or takes an
 * object, prints "ready" once it holds it, then waits to be killed.
 * "zipc ls" must then show it alive, and dead after a SIGKILL.
 *
 *   cli_peer attach SHMID     zipc_shmat
 *   cli_peer undo SEMID       zipc_semop +1 with SEM_UNDO on semaphore 0
 *   cli_peer mq /NAME         zipc_mq_open
 *   cli_peer psem /NAME       zipc_sem_open
 */
#include <errno.h>
#include <fcntl.h>
#include <semaphore.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "zipc_compat.h"

int
main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: cli_peer attach|undo|mq|psem OBJECT\n");
		return 2;
	}
	const char *what = argv[1], *obj = argv[2];
	int ok;
	if (!strcmp(what, "attach")) {
		ok = zipc_shmat(atoi(obj), NULL, 0) != (void *)-1;
	} else if (!strcmp(what, "undo")) {
		struct sembuf sb = {.sem_num = 0, .sem_op = 1,
				    .sem_flg = SEM_UNDO};
		ok = zipc_semop(atoi(obj), &sb, 1) == 0;
	} else if (!strcmp(what, "mq")) {
		ok = zipc_mq_open(obj, O_RDWR) != (mqd_t)-1;
	} else if (!strcmp(what, "psem")) {
		ok = zipc_sem_open(obj, 0) != SEM_FAILED;
	} else {
		fprintf(stderr, "cli_peer: unknown verb %s\n", what);
		return 2;
	}
	if (!ok) {
		fprintf(stderr, "cli_peer %s %s: %s\n", what, obj,
			strerror(errno));
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	for (;;)
		pause();
}
