/* SPDX-License-Identifier: MIT */
/*
 * The libc-compatible face of zipc: each zipc_NAME has exactly the
 * signature, flags and errno behaviour of libc's NAME (-1 and errno on
 * failure), with libc's own types, so a program switches by renaming.
 * Where Linux and POSIX differ, these follow Linux (see the man pages).
 */
#ifndef ZIPC_COMPAT_H
#define ZIPC_COMPAT_H

#include <sys/types.h>
#include <sys/ipc.h>
#include <sys/shm.h>
#include <sys/stat.h>
#include <fcntl.h>

#ifdef __cplusplus
extern "C" {
#endif

/* XSI shared memory: shmget(2), shmat(2), shmdt(2), shmctl(2). */
int zipc_shmget(key_t key, size_t size, int shmflg);
void *zipc_shmat(int shmid, const void *shmaddr, int shmflg);
int zipc_shmdt(const void *shmaddr);
int zipc_shmctl(int shmid, int cmd, struct shmid_ds *buf);

/* POSIX shared memory: shm_open(3), shm_unlink(3). */
int zipc_shm_open(const char *name, int oflag, mode_t mode);
int zipc_shm_unlink(const char *name);

/* Message queues: msgget(2) msgop(2) msgctl(2), mq_open(3) and the rest. */
/* ZIPC-SECTION mq: begin */
#include <mqueue.h>
#include <signal.h>
#include <sys/msg.h>
int zipc_msgget(key_t key, int msgflg);
int zipc_msgsnd(int msqid, const void *msgp, size_t msgsz, int msgflg);
ssize_t zipc_msgrcv(int msqid, void *msgp, size_t msgsz, long msgtyp,
		    int msgflg);
int zipc_msgctl(int msqid, int cmd, struct msqid_ds *buf);
mqd_t zipc_mq_open(const char *name, int oflag, ...);
int zipc_mq_close(mqd_t mqdes);
int zipc_mq_unlink(const char *name);
int zipc_mq_send(mqd_t mqdes, const char *msg_ptr, size_t msg_len,
		 unsigned msg_prio);
int zipc_mq_timedsend(mqd_t mqdes, const char *msg_ptr, size_t msg_len,
		      unsigned msg_prio, const struct timespec *abs_timeout);
ssize_t zipc_mq_receive(mqd_t mqdes, char *msg_ptr, size_t msg_len,
			unsigned *msg_prio);
ssize_t zipc_mq_timedreceive(mqd_t mqdes, char *msg_ptr, size_t msg_len,
			     unsigned *msg_prio,
			     const struct timespec *abs_timeout);
int zipc_mq_getattr(mqd_t mqdes, struct mq_attr *attr);
int zipc_mq_setattr(mqd_t mqdes, const struct mq_attr *newattr,
		    struct mq_attr *oldattr);
int zipc_mq_notify(mqd_t mqdes, const struct sigevent *sevp);
/* ZIPC-SECTION mq: end */

/* Semaphores: semget(2) semop(2) semctl(2), sem_open(3) and the rest. */
/* ZIPC-SECTION sem: begin */
#include <sys/sem.h>
#include <semaphore.h>
#include <time.h>

/* XSI semaphore sets: semget(2), semop(2), semtimedop(2), semctl(2). The
 * caller defines union semun, as semctl(2) says. */
int zipc_semget(key_t key, int nsems, int semflg);
int zipc_semop(int semid, struct sembuf *sops, size_t nsops);
int zipc_semtimedop(int semid, struct sembuf *sops, size_t nsops,
		    const struct timespec *timeout);
int zipc_semctl(int semid, int semnum, int cmd, ...);

/* POSIX semaphores: sem_init(3), sem_open(3), sem_wait(3), sem_post(3). */
int zipc_sem_init(sem_t *sem, int pshared, unsigned int value);
int zipc_sem_destroy(sem_t *sem);
sem_t *zipc_sem_open(const char *name, int oflag, ...);
int zipc_sem_close(sem_t *sem);
int zipc_sem_unlink(const char *name);
int zipc_sem_wait(sem_t *sem);
int zipc_sem_trywait(sem_t *sem);
int zipc_sem_timedwait(sem_t *sem, const struct timespec *abstime);
int zipc_sem_clockwait(sem_t *sem, clockid_t clockid,
		       const struct timespec *abstime);
int zipc_sem_post(sem_t *sem);
int zipc_sem_getvalue(sem_t *sem, int *sval);
/* ZIPC-SECTION sem: end */

#ifdef __cplusplus
}
#endif

#endif
