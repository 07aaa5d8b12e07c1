/* SPDX-License-Identifier: MIT */
/*
 * What the queue tests share: check an XSI queue through a handle of its
 * own -- lock it (running any repair a dead holder left), check every
 * invariant of the list and the ring, unlock.
 */
#ifndef ZIPC_TEST_MQCHECK_H
#define ZIPC_TEST_MQCHECK_H

#include <string.h>

#include "mq/mq.h"
#include "registry.h"

/* 0 when XSI queue @id is consistent, else -EUCLEAN or the open error. */
static inline int
xsi_check(int id)
{
	char fname[64];
	struct zipc_queue q;
	memset(&q, 0, sizeof(q));
	zipc__xsi_fname(fname, sizeof(fname), ZIPC_XSI_MSG, id);
	int r = zipc__obj_open(fname, ZIPC_KIND_XSI_MSG, ZIPC_MQ_SIG,
			       &q.q_obj);
	if (r < 0)
		return r;
	if ((r = zipc__mq_adopt(&q, fname)) == 0 &&
	    (r = zipc__mq_lock(&q)) == 0) {
		r = zipc__mq_check(&q);
		zipc__mq_unlock(&q);
	}
	zipc__obj_close(&q.q_obj);
	return r;
}

#endif
