/* SPDX-License-Identifier: MIT */
/*
 * ABI pins: the header layout and each kind's layout signature. If one of
 * these fails, a shared struct changed: bump ZIPC_ABI_MAJOR on purpose and
 * update the literal here, never the other way round.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "layout.h"
#include "registry.h"
#include "mq/mq.h"
#include "shm.h"

static void
test_header_offsets(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct zipc_seg_hdr), 64);
	assert_int_equal(offsetof(struct zipc_seg_hdr, sh_layout_sig), 8);
	assert_int_equal(offsetof(struct zipc_seg_hdr, sh_hdr_size), 12);
	assert_int_equal(offsetof(struct zipc_seg_hdr, sh_kind), 20);
	assert_int_equal(offsetof(struct zipc_seg_hdr, sh_resv), 40);
	assert_int_equal(ZIPC_SEG_MAGIC, 0x4350495au);
	assert_int_equal(ZIPC_ABI_MAJOR, 1);
}

static void
test_signatures(void **state)
{
	(void)state;
	assert_int_equal(ZIPC_REGISTRY_SIG, 0x08a4e3f8u);
	assert_int_equal(ZIPC_SHM_SIG, 0x6ad4d590u);
	assert_int_equal(ZIPC_MQ_SIG, 0xe12d3332u);
	/* ZIPC_SEM_SIG is pinned in tests/sem/test_sema.c. */
}

static void
test_shared_structs(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct zipc_proc), 16);
	assert_int_equal(sizeof(struct zipc_lock), 24);
	assert_int_equal(sizeof(struct zipc_ipc_perm), 32);
	assert_int_equal(sizeof(struct zipc_xsi_slot), 16);
	assert_int_equal(sizeof(struct zipc_shm_att), 24);
	assert_int_equal(offsetof(struct zipc_registry, rg_slots), 128);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_header_offsets),
		cmocka_unit_test(test_signatures),
		cmocka_unit_test(test_shared_structs),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
