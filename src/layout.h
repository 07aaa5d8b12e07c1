/* SPDX-License-Identifier: MIT */
/*
 * The header at offset 0 of every zipc object file. Every byte of an object
 * is ABI shared with processes built from other versions of this tree:
 * fixed-width fields, offsets never pointers, 64-bit fields at 8-byte
 * offsets (asserted), reserved words zero. Each kind pins its own layout
 * signature (tests/unit/test_layout.c); changing a shared struct without
 * bumping ZIPC_ABI_MAJOR fails that test.
 */
#ifndef ZIPC_LAYOUT_H
#define ZIPC_LAYOUT_H

#include <stddef.h>
#include <stdint.h>

#define ZIPC_SEG_MAGIC 0x4350495au /* "ZIPC" in memory on little-endian */
#define ZIPC_ABI_MAJOR 1	   /* bump: incompatible change */
#define ZIPC_ABI_MINOR 0	   /* bump: fields appended, safe to ignore */

enum zipc_kind {
	ZIPC_KIND_REGISTRY = 1, /* the XSI key registry */
	ZIPC_KIND_XSI_SHM = 2,
	ZIPC_KIND_XSI_MSG = 3,
	ZIPC_KIND_XSI_SEM = 4,
	ZIPC_KIND_POSIX_MQ = 5,
	ZIPC_KIND_POSIX_SEM = 6,
};

enum zipc_seg_state {
	ZIPC_SEG_INIT = 0,    /* being built under a temporary name */
	ZIPC_SEG_READY = 1,   /* published and usable */
	ZIPC_SEG_REMOVED = 2, /* removed (IPC_RMID/unlink); mappers drop it */
};

struct zipc_seg_hdr {		/* off size */
	uint32_t sh_magic;	/*  0   4 */
	uint16_t sh_abi_major;	/*  4   2 */
	uint16_t sh_abi_minor;	/*  6   2 */
	uint32_t sh_layout_sig; /*  8   4  the kind's layout signature */
	uint32_t sh_hdr_size;	/* 12   4  where the body starts */
	uint32_t sh_state;	/* 16   4  INIT -> READY (release) -> REMOVED */
	uint32_t sh_kind;	/* 20   4  enum zipc_kind */
	uint64_t sh_size;	/* 24   8  whole file */
	uint64_t sh_generation; /* 32   8  the XSI id, or a creation stamp */
	uint32_t sh_resv[6];	/* 40  24  zero */
};				/* 64 */
_Static_assert(sizeof(struct zipc_seg_hdr) == 64, "ABI");
_Static_assert(offsetof(struct zipc_seg_hdr, sh_state) == 16, "ABI");
_Static_assert(offsetof(struct zipc_seg_hdr, sh_size) == 24, "ABI");
_Static_assert(offsetof(struct zipc_seg_hdr, sh_generation) == 32, "ABI");

/*
 * A layout signature: FNV-1a over the sizes and alignments a kind passes,
 * mixed with the ABI major. Kinds build theirs from every shared struct.
 */
#define ZIPC_SIG_STEP(h, v) ((((h) ^ (uint32_t)(v)) * 16777619u))
#define ZIPC_SIG_STRUCT(h, T)                                                 \
	ZIPC_SIG_STEP(ZIPC_SIG_STEP(h, sizeof(T)), _Alignof(T))
#define ZIPC_SIG_BASE                                                         \
	ZIPC_SIG_STRUCT(ZIPC_SIG_STEP(2166136261u, ZIPC_ABI_MAJOR),           \
			struct zipc_seg_hdr)

#endif
