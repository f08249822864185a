/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <check.h>
#include <errno.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "check-run.h"
#include "dma-table-private.h"
#include "dma-table.h"

static struct vgpu_dma_table *t;

static void setup(void)
{
	ck_assert_int_eq(vgpu_dma_table_new(&t), 0);
}

static void teardown(void)
{
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	vgpu_dma_table_free(t, NULL, NULL);
	t = NULL;
}

static int map(uint64_t iova, uint64_t len, uint32_t prot)
{
	struct vgpu_dma_window w = {
		.iova = iova,
		.len = len,
		.prot = prot,
		.fd = -1,
	};

	return vgpu_dma_table_insert(t, &w, NULL);
}

#define RW (VGPU_DMA_READ | VGPU_DMA_WRITE)

START_TEST(test_malformed)
{
	ck_assert_int_eq(map(0x1000, 0, RW), -EINVAL);
	ck_assert_int_eq(map(UINT64_MAX - 0xfff, 0x2000, RW), -EINVAL);
	ck_assert_int_eq(map(UINT64_MAX, 2, RW), -EINVAL);
	ck_assert_int_eq(map(0x1000, 0x1000, 0x4), -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_insert(t, NULL, NULL), -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_insert(NULL, NULL, NULL), -EINVAL);
	ck_assert_uint_eq(vgpu_dma_table_count(t), 0);
	/* the very top of the address space is fine */
	ck_assert_int_eq(map(UINT64_MAX - 0xfff, 0x1000, RW), 0);
	ck_assert_ptr_nonnull(vgpu_dma_table_find(t, UINT64_MAX));
	ck_assert_ptr_null(vgpu_dma_table_find(t, UINT64_MAX - 0x1000));
	ck_assert_int_eq(
		vgpu_dma_table_remove(t, UINT64_MAX - 0xfff, 0x1000, NULL), 0);
	/* and so is all of it */
	ck_assert_int_eq(map(0, UINT64_MAX, RW), 0);
	ck_assert_int_eq(map(UINT64_MAX, 1, RW), 0);
	ck_assert_int_eq(map(5, 1, RW), -EEXIST);
	ck_assert_uint_eq(vgpu_dma_table_find(t, UINT64_MAX)->len, 1);
	ck_assert_int_eq(vgpu_dma_table_translate(t, 0, 0, 0, NULL, 0),
			 -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_translate(t, 2, UINT64_MAX, 0, NULL, 0),
			 -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_translate(t, 1, UINT64_MAX, 0, NULL, 0),
			 2);
	ck_assert_int_eq(vgpu_dma_table_translate(t, 0, UINT64_MAX, 0, NULL, 0),
			 1);
}
END_TEST

START_TEST(test_overlap)
{
	ck_assert_int_eq(map(0x10000, 0x10000, RW), 0);
	ck_assert_int_eq(map(0x10000, 0x10000, RW), -EEXIST); /* same */
	ck_assert_int_eq(map(0x8000, 0x9000, RW), -EEXIST);   /* left */
	ck_assert_int_eq(map(0x1f000, 0x2000, RW), -EEXIST);  /* right */
	ck_assert_int_eq(map(0x12000, 0x1000, RW), -EEXIST);  /* inside */
	ck_assert_int_eq(map(0x0, 0x100000, RW), -EEXIST);    /* around */
	ck_assert_int_eq(map(0x1ffff, 1, RW), -EEXIST);	      /* last byte */
	ck_assert_int_eq(map(0xf000, 0x1000, RW), 0);	      /* adjacent */
	ck_assert_int_eq(map(0x20000, 0x1000, RW), 0);	      /* adjacent */
	ck_assert_uint_eq(vgpu_dma_table_count(t), 3);
	ck_assert_ptr_null(vgpu_dma_table_find(t, 0xefff));
	ck_assert_uint_eq(vgpu_dma_table_find(t, 0xffff)->iova, 0xf000);
	ck_assert_uint_eq(vgpu_dma_table_find(t, 0x10000)->iova, 0x10000);
	ck_assert_uint_eq(vgpu_dma_table_find(t, 0x20fff)->iova, 0x20000);
	ck_assert_ptr_null(vgpu_dma_table_find(t, 0x21000));
}
END_TEST

START_TEST(test_remove)
{
	struct vgpu_dma_window out;
	struct vgpu_dma_window w = {
		.iova = 0x10000,
		.len = 0x10000,
		.prot = RW,
		.fd = 42,
		.offset = 0x5000,
		.vaddr = (void *)0x1234,
		.userdata = &w,
	};

	ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x10000, 0x8000, NULL),
			 -ENOENT);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x18000, 0x8000, NULL),
			 -ENOENT);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x0, 0x100000, NULL),
			 -ENOENT);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x10000, 0x10000, &out), 0);
	ck_assert_int_eq(out.fd, 42);
	ck_assert_uint_eq(out.offset, 0x5000);
	ck_assert_ptr_eq(out.vaddr, (void *)0x1234);
	ck_assert_ptr_eq(out.userdata, &w);
	/* double unmap */
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x10000, 0x10000, &out),
			 -ENOENT);
	ck_assert_uint_eq(vgpu_dma_table_count(t), 0);
	ck_assert_int_eq(vgpu_dma_table_remove(NULL, 0, 1, NULL), -EINVAL);
}
END_TEST

START_TEST(test_translate_pin)
{
	static char mem[0x3000];
	struct vgpu_dma_window w = {
		.iova = 0x1000,
		.len = 0x1000,
		.prot = RW,
		.fd = -1,
		.vaddr = mem,
	};
	struct vgpu_dma_sg sg[4];

	ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
	w.iova = 0x2000;
	w.vaddr = mem + 0x1000;
	ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
	w.iova = 0x3000;
	w.vaddr = NULL;
	w.prot = VGPU_DMA_READ;
	ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
	w.iova = 0x5000; /* a hole at 0x4000 */
	ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);

	ck_assert_int_eq(vgpu_dma_table_translate(t, 0x1800, 0x2000,
						  VGPU_DMA_READ, sg, 4),
			 3);
	ck_assert_uint_eq(sg[0].iova, 0x1800);
	ck_assert_uint_eq(sg[0].len, 0x800);
	ck_assert_ptr_eq(sg[0].vaddr, mem + 0x800);
	ck_assert_uint_eq(sg[1].len, 0x1000);
	ck_assert_ptr_eq(sg[1].vaddr, mem + 0x1000);
	ck_assert_uint_eq(sg[2].iova, 0x3000);
	ck_assert_uint_eq(sg[2].len, 0x800);
	ck_assert_ptr_null(sg[2].vaddr);
	/* too short: the count tells how many are needed */
	ck_assert_int_eq(vgpu_dma_table_translate(t, 0x1800, 0x2000,
						  VGPU_DMA_READ, sg, 1),
			 3);
	ck_assert_int_eq(vgpu_dma_table_translate(t, 0x1800, 0x2000,
						  VGPU_DMA_WRITE, sg, 4),
			 -EACCES);
	ck_assert_int_eq(vgpu_dma_table_translate(t, 0x3000, 0x1001,
						  VGPU_DMA_READ, sg, 4),
			 -EFAULT);
	ck_assert_int_eq(
		vgpu_dma_table_translate(t, 0x0, 0x1001, VGPU_DMA_READ, sg, 4),
		-EFAULT);
	ck_assert_int_eq(
		vgpu_dma_table_translate(t, 0x6000, 1, VGPU_DMA_READ, sg, 4),
		-EFAULT);

	/* pin: unmap refused until the last unpin */
	ck_assert_int_eq(vgpu_dma_table_pin(t, 0x1800, 0x1000, RW, sg, 1),
			 -ENOSPC);
	ck_assert_int_eq(vgpu_dma_table_pin(t, 0x1800, 0x1000, RW, sg, 4), 2);
	ck_assert_int_eq(vgpu_dma_table_pin(t, 0x2000, 0x10, RW, sg + 2, 2), 1);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x1000, 0x1000, NULL),
			 -EBUSY);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x2000, 0x1000, NULL),
			 -EBUSY);
	vgpu_dma_table_unpin(t, sg, 2);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x1000, 0x1000, NULL), 0);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x2000, 0x1000, NULL),
			 -EBUSY);
	vgpu_dma_table_unpin(t, sg + 2, 1);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x2000, 0x1000, NULL), 0);
}
END_TEST

START_TEST(test_dirty)
{
	uint64_t bm[4];

	ck_assert_int_eq(map(0x0, 0x10000, RW), 0);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0, 0x10000, 0x1000, bm,
						   sizeof(bm), false),
			 -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_log_start(t, 1000), -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_log_start(t, 0x1000), 0);
	ck_assert_int_eq(vgpu_dma_table_log_start(t, 0x1000), -EALREADY);
	ck_assert_int_eq(map(0x20000, 0x8000, RW), 0); /* logged too */
	vgpu_dma_table_mark_dirty(t, 0x1fff, 2);       /* pages 1 and 2 */
	vgpu_dma_table_mark_dirty(t, 0x21000, 1);      /* page 0x21 */
	vgpu_dma_table_mark_dirty(t, 0x18000, 0x1000); /* unmapped */
	vgpu_dma_table_mark_dirty(t, UINT64_MAX, 2);   /* wraps: ignored */

	ck_assert_int_eq(
		vgpu_dma_table_log_report(t, 0, 0x50000, 0x1000, bm, 8, false),
		-ENOSPC);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0x800, 0x1000, 0x1000, bm,
						   sizeof(bm), false),
			 -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0, 0x1000, 0x800, bm,
						   sizeof(bm), false),
			 -EINVAL);
	bm[1] = 0xdead; /* 48 pages need one word: the rest is untouched */
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0, 0x30000, 0x1000, bm,
						   sizeof(bm), false),
			 0);
	ck_assert_uint_eq(bm[0], 0x6 | (1ULL << 0x21));
	ck_assert_uint_eq(bm[1], 0xdead);
	/* coarser pages: 0x4000 granularity */
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0, 0x30000, 0x4000, bm,
						   sizeof(bm), true),
			 0);
	ck_assert_uint_eq(bm[0], 0x1 | (1ULL << 8));
	/* cleared */
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0, 0x30000, 0x1000, bm,
						   sizeof(bm), false),
			 0);
	ck_assert_uint_eq(bm[0], 0);
	/* a sub-range report: bit 0 is the range's first page */
	vgpu_dma_table_mark_dirty(t, 0x5000, 0x3000);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0x4000, 0x4000, 0x1000,
						   bm, sizeof(bm), false),
			 0);
	ck_assert_uint_eq(bm[0], 0xe);
	/* whole-word marking */
	vgpu_dma_table_mark_dirty(t, 0x0, 0x10000);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0, 0x10000, 0x1000, bm,
						   sizeof(bm), true),
			 0);
	ck_assert_uint_eq(bm[0], 0xffff);
	vgpu_dma_table_log_stop(t);
	ck_assert(!vgpu_dma_table_logging(t));
}
END_TEST

/*
 * Dirty bitmaps cost what was written, not what was mapped, and at most the
 * budget: a 4 TiB window logged in 4 KiB pages would need 128 MiB of bits.
 */
START_TEST(test_dirty_bounded)
{
	const uint64_t big = 1ULL << 42, at = 1ULL << 44;
	static uint64_t bm[4096];
	uint64_t chunk = 32768ULL * 4096; /* what one 4 KiB bitmap covers */

	ck_assert_int_eq(map(at, big, RW), 0);
	ck_assert_int_eq(vgpu_dma_table_log_start(t, 512), -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_log_start(t, 1ULL << 31), -EINVAL);
	ck_assert_int_eq(vgpu_dma_table_log_start(t, 4096), 0);
	ck_assert_uint_eq(vgpu_dma_table_log_bytes(t), 0);
	/* two pages far apart: two chunks */
	vgpu_dma_table_mark_dirty(t, at + 0x1000, 1);
	vgpu_dma_table_mark_dirty(t, at + big - 0x1000, 0x1000);
	ck_assert_uint_eq(vgpu_dma_table_log_bytes(t), 8192);
	/* a report over the whole window touches those two only */
	ck_assert_int_eq(vgpu_dma_table_log_report(t, at, big, 1ULL << 30, bm,
						   sizeof(bm), false),
			 0);
	ck_assert_uint_eq(bm[0], 1);
	ck_assert_uint_eq(bm[63], 1ULL << 63); /* 4096 pages of 1 GiB */
	ck_assert_int_eq(vgpu_dma_table_log_report(t, at, 0x10000, 0x1000, bm,
						   sizeof(bm), true),
			 0);
	ck_assert_uint_eq(bm[0], 2);
	ck_assert_uint_eq(vgpu_dma_table_log_bytes(t), 4096); /* one freed */
	/* one page in each of more chunks than the budget holds: the window
	 * becomes wholly dirty and its chunks go back */
	for (uint64_t i = 0; i <= VGPU_DMA_LOG_BUDGET / 4096; i++) {
		vgpu_dma_table_mark_dirty(t, at + i * chunk, 1);
		ck_assert_uint_le(vgpu_dma_table_log_bytes(t),
				  VGPU_DMA_LOG_BUDGET);
	}
	ck_assert_uint_eq(vgpu_dma_table_log_bytes(t), 0);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, at + 0x100000, 0x40000,
						   0x1000, bm, sizeof(bm),
						   true),
			 0);
	ck_assert_uint_eq(bm[0], 0xffffffffffffffffULL);
	/* marking all of it at once costs nothing either */
	vgpu_dma_table_log_stop(t);
	ck_assert_int_eq(vgpu_dma_table_log_start(t, 4096), 0);
	vgpu_dma_table_mark_dirty(t, at, big);
	ck_assert_uint_eq(vgpu_dma_table_log_bytes(t), 0);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, at + big - 0x2000, 0x2000,
						   0x1000, bm, sizeof(bm),
						   false),
			 0);
	ck_assert_uint_eq(bm[0], 3);
	/* a removed window takes its bits along */
	ck_assert_int_eq(map(0x10000, 0x10000, RW), 0);
	vgpu_dma_table_mark_dirty(t, 0x10000, 0x10000);
	ck_assert_uint_eq(vgpu_dma_table_log_bytes(t), 4096);
	ck_assert_int_eq(vgpu_dma_table_remove(t, 0x10000, 0x10000, NULL), 0);
	ck_assert_uint_eq(vgpu_dma_table_log_bytes(t), 0);
	ck_assert_int_eq(map(0x10000, 0x10000, RW), 0);
	ck_assert_int_eq(vgpu_dma_table_log_report(t, 0x10000, 0x10000, 0x1000,
						   bm, sizeof(bm), false),
			 0);
	ck_assert_uint_eq(bm[0], 0);
}
END_TEST

/* random operations against a brute-force model */
#define SPACE 8192
START_TEST(test_random_model)
{
	static int owner[SPACE];
	static uint64_t len_of[SPACE];
	unsigned int seed = 1234 + (unsigned int)_i;

	for (int i = 0; i < SPACE; i++)
		owner[i] = -1;
	for (int op = 0; op < 60000; op++) {
		uint64_t a = (uint64_t)rand_r(&seed) % SPACE;
		uint64_t l = 1 + (uint64_t)rand_r(&seed) % 24;
		int kind = rand_r(&seed) % 3;

		if (a + l > SPACE)
			l = SPACE - a;
		if (kind == 0) {
			bool free_range = true;

			for (uint64_t x = a; x < a + l; x++)
				free_range &= owner[x] < 0;
			ck_assert_int_eq(map(a, l, RW),
					 free_range ? 0 : -EEXIST);
			if (free_range) {
				for (uint64_t x = a; x < a + l; x++)
					owner[x] = (int)a;
				len_of[a] = l;
			}
		} else if (kind == 1) {
			int o = owner[a];

			if (o >= 0 && rand_r(&seed) % 4) {
				ck_assert_int_eq(
					vgpu_dma_table_remove(t, (uint64_t)o,
							      len_of[o], NULL),
					0);
				for (uint64_t x = (uint64_t)o;
				     x < (uint64_t)o + len_of[o]; x++)
					owner[x] = -1;
			} else {
				bool exact = o == (int)a && len_of[a] == l;

				ck_assert_int_eq(
					vgpu_dma_table_remove(t, a, l, NULL),
					exact ? 0 : -ENOENT);
				if (exact)
					for (uint64_t x = a; x < a + l; x++)
						owner[x] = -1;
			}
		} else {
			struct vgpu_dma_window *w = vgpu_dma_table_find(t, a);

			if (owner[a] < 0) {
				ck_assert_ptr_null(w);
			} else {
				ck_assert_ptr_nonnull(w);
				ck_assert_uint_eq(w->iova, (uint64_t)owner[a]);
			}
		}
		if (op % 5000 == 0)
			ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	}
}
END_TEST

/*
 * Every window of a three-level tree found by its first and last byte,
 * the gaps between them refused, while windows come and go: the search
 * reads only the summary line and one line of keys per node, so a summary
 * left stale by a split, merge or borrow would send it to the wrong line.
 * The top window ends at 2^64 - 1, where the search meets the padding.
 */
START_TEST(test_search_lines)
{
	const uint64_t n = 3 * 64 * 64, step = 0x3000;
	const uint64_t top = UINT64_MAX - n * step + 1;
	bool *present = calloc(n, sizeof(*present));
	struct vgpu_dma_sg sg;

	ck_assert_ptr_nonnull(present);
	for (uint64_t i = 0; i < n; i++) {
		ck_assert_int_eq(map(top + i * step, 0x2000, RW), 0);
		present[i] = true;
	}
	ck_assert_int_eq(map(top + (n - 1) * step + 0x2000, 0x1000, RW), 0);
	for (int round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < n; i++) {
			uint64_t a = top + i * step;

			if (!present[i]) {
				ck_assert_int_eq(vgpu_dma_table_translate(
							 t, a, 1, RW, &sg, 1),
						 -EFAULT);
				continue;
			}
			ck_assert_int_eq(
				vgpu_dma_table_translate(t, a, 1, RW, &sg, 1),
				1);
			ck_assert_uint_eq(vgpu_dma_sg_win(&sg)->iova, a);
			ck_assert_int_eq(vgpu_dma_table_translate(
						 t, a + 0x1fff, 1, RW, &sg, 1),
					 1);
			ck_assert_uint_eq(vgpu_dma_sg_win(&sg)->iova, a);
			if (i + 1 < n)
				ck_assert_int_eq(
					vgpu_dma_table_translate(t, a + 0x2000,
								 1, RW, &sg, 1),
					-EFAULT);
		}
		ck_assert_int_eq(
			vgpu_dma_table_translate(t, UINT64_MAX, 1, RW, &sg, 1),
			1);
		ck_assert_uint_eq(vgpu_dma_sg_win(&sg)->iova,
				  top + (n - 1) * step + 0x2000);
		ck_assert_int_eq(
			vgpu_dma_table_translate(t, top - 1, 1, RW, &sg, 1),
			-EFAULT);
		/* thin the tree out: merges and borrows at every level */
		for (uint64_t i = (uint64_t)round; i < n - 1; i += 2 + round) {
			if (!present[i])
				continue;
			ck_assert_int_eq(vgpu_dma_table_remove(t,
							       top + i * step,
							       0x2000, NULL),
					 0);
			present[i] = false;
		}
	}
	free(present);
}
END_TEST

START_TEST(test_large)
{
	enum {
		N = 200000
	};
	uint64_t *order = malloc(N * sizeof(*order));
	unsigned int seed = 7;

	ck_assert_ptr_nonnull(order);
	for (uint64_t i = 0; i < N; i++) {
		order[i] = i;
		ck_assert_int_eq(map(i * 0x2000, 0x1000, RW), 0);
	}
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	for (uint64_t i = N - 1; i > 0; i--) {
		uint64_t j = (uint64_t)rand_r(&seed) % (i + 1), x = order[i];

		order[i] = order[j];
		order[j] = x;
	}
	for (uint64_t i = 0; i < N; i++) {
		ck_assert_int_eq(vgpu_dma_table_remove(t, order[i] * 0x2000,
						       0x1000, NULL),
				 0);
		if (i % 20000 == 0)
			ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	}
	ck_assert_uint_eq(vgpu_dma_table_count(t), 0);
	free(order);
}
END_TEST

/*
 * translate against a model, in all its builds (the plain one, the AVX-512
 * one where the CPU has it, and the one the loader picked), while windows
 * come and go at random and in ascending runs (appending splits). Ranges
 * cross windows, holes and windows without the protection asked for;
 * addresses are bytes, so the pieces' lengths and host addresses are
 * checked exactly, and each piece's guarded flag (which translate answers
 * from the leaf's copy, not from the record).
 */
#define TSPACE 60000

struct model {
	int64_t owner[TSPACE]; /* start of the window holding x, or -1 */
	uint64_t len_of[TSPACE];
	uint32_t prot_of[TSPACE];
};

static void *fake_vaddr(uint64_t start)
{
	/* never dereferenced; every third window has none */
	return start % 3 ? (void *)(uintptr_t)(0x40000000 + start * 16) : NULL;
}

/* every fifth window's file could shrink: copied with care, never pinned */
static bool fake_guarded(uint64_t start)
{
	return start % 5 == 1;
}

static int model_map(struct model *m, uint64_t a, uint64_t l, uint32_t prot)
{
	struct vgpu_dma_window w = {
		.iova = a,
		.len = l,
		.prot = prot,
		.fd = -1,
		.vaddr = fake_vaddr(a),
		.guarded = fake_guarded(a),
	};
	bool free_range = a + l <= TSPACE;
	int r;

	for (uint64_t x = a; free_range && x < a + l; x++)
		free_range = m->owner[x] < 0;
	r = vgpu_dma_table_insert(t, &w, NULL);
	if (a + l > TSPACE) {
		/* outside the model: take it out again */
		if (!r)
			ck_assert_int_eq(vgpu_dma_table_remove(t, a, l, NULL),
					 0);
		return r;
	}
	ck_assert_int_eq(r, free_range ? 0 : -EEXIST);
	if (!r) {
		for (uint64_t x = a; x < a + l; x++)
			m->owner[x] = (int64_t)a;
		m->len_of[a] = l;
		m->prot_of[a] = prot;
	}
	return r;
}

/* what translate must answer for [a, a + l) with @prot: pieces or error */
static int model_translate(const struct model *m, uint64_t a, uint64_t l,
			   uint32_t prot, struct vgpu_dma_sg *sg, size_t max)
{
	int n = 0;

	for (uint64_t x = a; x < a + l;) {
		int64_t o = x < TSPACE ? m->owner[x] : -1;
		uint64_t end;

		if (o < 0)
			return -EFAULT;
		if ((m->prot_of[o] & prot) != prot)
			return -EACCES;
		end = (uint64_t)o + m->len_of[o];
		if (end > a + l)
			end = a + l;
		if ((size_t)n < max) {
			sg[n].iova = x;
			sg[n].len = end - x;
			sg[n].vaddr =
				fake_vaddr((uint64_t)o)
					? (char *)fake_vaddr((uint64_t)o) +
						  (x - (uint64_t)o)
					: NULL;
			/* the flag alone: the record is checked apart */
			sg[n].wtag =
				fake_guarded((uint64_t)o) ? WIN_TAG_GUARDED : 0;
		}
		n++;
		x = end;
	}
	return n;
}

/* every build of translate: the one the loader picked, the plain one and
 * the AVX-512 one (only where dma_wide_supported(): see runs_here()) */
static int (*const builds[])(const struct vgpu_dma_table *, uint64_t, uint64_t,
			     uint32_t, struct vgpu_dma_sg *, size_t) = {
	vgpu_dma_table_translate,
	dma_translate_plain,
	dma_translate_wide,
};
#define N_BUILDS (sizeof(builds) / sizeof(builds[0]))

static bool runs_here(size_t b)
{
	return builds[b] != dma_translate_wide || dma_wide_supported();
}

/*
 * The window each build's lookup picks for @addr before translate checks
 * it: the one starting at @start, or none when @start is -1. translate
 * takes the slow way after a wrong pick, so only this shows one.
 */
static void check_picks(uint64_t addr, int64_t start)
{
	struct vgpu_dma_window *(*const picks[])(const struct vgpu_dma_table *,
						 uint64_t) = {
		dma_lookup_plain,
		dma_lookup_wide,
	};

	struct vgpu_dma_window *w;
	bool answered;

	/* the slice index, where it answers, stale or not */
	w = dma_lookup_hint(t, addr, &answered);
	if (answered && start < 0)
		ck_assert_ptr_null(w);
	else if (answered)
		ck_assert_uint_eq(w->iova, (uint64_t)start);
	for (size_t b = 0; b < sizeof(picks) / sizeof(picks[0]); b++) {
		if (picks[b] == dma_lookup_wide && !dma_wide_supported())
			continue;
		w = picks[b](t, addr);
		if (start < 0)
			ck_assert_ptr_null(w);
		else
			ck_assert_uint_eq(w->iova, (uint64_t)start);
	}
}

static void check_translate(const struct model *m, uint64_t a, uint64_t l,
			    uint32_t prot)
{
	struct vgpu_dma_sg want[8], got[8];
	size_t max = 1 + (a % 8);
	int n = model_translate(m, a, l, prot, want, max);

	for (size_t b = 0; b < N_BUILDS; b++) {
		int r;

		if (!runs_here(b))
			continue;
		memset(got, 0, sizeof(got));
		r = builds[b](t, a, l, prot, got, max);
		ck_assert_msg(r == n,
			      "build %zu: [%#llx, +%llu) prot %u: %d, not %d",
			      b, (unsigned long long)a, (unsigned long long)l,
			      prot, r, n);
		for (int i = 0; i < n && (size_t)i < max; i++) {
			ck_assert_uint_eq(got[i].iova, want[i].iova);
			ck_assert_uint_eq(got[i].len, want[i].len);
			ck_assert_ptr_eq(got[i].vaddr, want[i].vaddr);
			ck_assert_int_eq(vgpu_dma_sg_guarded(&got[i]),
					 vgpu_dma_sg_guarded(&want[i]));
			ck_assert_uint_eq(vgpu_dma_sg_win(&got[i])->iova,
					  (uint64_t)m->owner[want[i].iova]);
		}
	}
	if (a < TSPACE && m->owner[a] >= 0)
		check_picks(a, m->owner[a]);
}

START_TEST(test_translate_model)
{
	struct model *m = malloc(sizeof(*m));
	unsigned int seed = 99 + (unsigned int)_i;
	/* random maps below TSPACE / 2, ascending runs above */
	uint64_t top = TSPACE / 2 + 32;

	ck_assert_ptr_nonnull(m);
	for (int i = 0; i < TSPACE; i++)
		m->owner[i] = -1;
	for (int op = 0; op < 40000; op++) {
		uint64_t a = (uint64_t)rand_r(&seed) % TSPACE;
		uint64_t l = 1 + (uint64_t)rand_r(&seed) % 24;
		uint32_t prot = (uint32_t)rand_r(&seed) % 4;
		int kind = rand_r(&seed) % 8;

		if (kind == 0) {
			model_map(m, a / 2, l, prot ? prot : RW);
		} else if (kind == 1 && top + 64 * 10 < TSPACE) {
			/* an ascending run at the top: appending splits */
			for (int k = 0; k < 64; k++) {
				uint64_t len = 1 + (uint64_t)rand_r(&seed) % 8;

				ck_assert_int_eq(model_map(m, top, len, RW), 0);
				top += len + (uint64_t)rand_r(&seed) % 3;
			}
		} else if (kind == 2) {
			int64_t o = m->owner[a];

			if (o < 0)
				continue;
			ck_assert_int_eq(vgpu_dma_table_remove(t, (uint64_t)o,
							       m->len_of[o],
							       NULL),
					 0);
			for (uint64_t x = (uint64_t)o;
			     x < (uint64_t)o + m->len_of[o]; x++)
				m->owner[x] = -1;
		} else {
			/* one window, or a range across several */
			check_translate(m, a, kind == 3 ? 1 + l * 4 : 1 + l % 4,
					prot);
		}
		if (op % 4000 == 0)
			ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	}
	/* every byte once */
	for (uint64_t a = 0; a < TSPACE; a++)
		check_translate(m, a, 1, VGPU_DMA_READ);
	free(m);
}
END_TEST

/* how many of @n addresses, one in each of the windows at @starts, the
 * slice index answers; each answer, and each build's pick, must be right */
static size_t hint_answers(const uint64_t *starts, const uint64_t *lens,
			   size_t n)
{
	size_t answered = 0, wrong = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t a = starts[i] + (lens[i] - 1) * (i % 3) / 2;
		struct vgpu_dma_window *w;
		bool yes;

		w = dma_lookup_hint(t, a, &yes);
		if (yes) {
			wrong += !w || w->iova != starts[i];
			answered++;
		}
		w = dma_lookup_plain(t, a);
		wrong += !w || w->iova != starts[i];
		w = vgpu_dma_table_find(t, a);
		wrong += !w || w->iova != starts[i];
	}
	ck_assert_uint_eq(wrong, 0);
	return answered;
}

/*
 * The slice index (dma-hint.c): built as windows are mapped in order, it
 * answers most lookups; inserts between windows and removals leave it
 * stale, never wrong, and switch it off when they moved many entries; windows in two clusters far apart get no index, as most would be
 * found only through the tree; a table of few windows has none.
 */
START_TEST(test_slice_index)
{
	enum {
		N = 6000
	};
	uint64_t *starts = malloc(N * 2 * sizeof(*starts));
	uint64_t *lens = malloc(N * 2 * sizeof(*lens));
	unsigned int seed = 7;
	size_t n = 0;

	ck_assert_ptr_nonnull(starts);
	ck_assert_ptr_nonnull(lens);
	/* ascending, one page of gap at most between windows */
	for (uint64_t a = 0x100000; n < N; n++) {
		struct vgpu_dma_window w = { .fd = -1, .prot = RW };

		w.iova = a + ((uint64_t)rand_r(&seed) % 2) * 0x1000;
		w.len = (1 + (uint64_t)rand_r(&seed) % 8) * 0x1000;
		w.vaddr = (void *)(uintptr_t)(w.iova * 2);
		ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
		starts[n] = w.iova;
		lens[n] = w.len;
		a = w.iova + w.len + 0x1000; /* a page free after each */
		if (n % 500 == 0)
			ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	}
	ck_assert_ptr_nonnull(t->hint);
	ck_assert_uint_gt(t->hint_slices, 0);
	ck_assert_uint_gt(hint_answers(starts, lens, n), n * 3 / 4);
	/* built anew: every slice names exactly the window the check
	 * expects */
	dma_hint_build(t);
	ck_assert(t->hint_exact);
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	ck_assert_uint_gt(hint_answers(starts, lens, n), n * 3 / 4);
	/* one-page windows in the free pages after every third window, then
	 * every other window removed: stale, never wrong */
	for (size_t i = 0; i < N; i += 3) {
		struct vgpu_dma_window w = { .fd = -1, .prot = RW };

		w.iova = starts[i] + lens[i];
		w.len = 0x1000;
		w.vaddr = (void *)(uintptr_t)(w.iova * 2);
		ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
		if (i % 300 == 0)
			hint_answers(starts, lens, n);
	}
	/* those moved the entries after them in their leaves, which the
	 * slices name: the index is off until a later build */
	ck_assert_uint_eq(t->hint_slices, 0);
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	for (size_t i = 0; i < N; i += 2) {
		ck_assert_int_eq(
			vgpu_dma_table_remove(t, starts[i], lens[i], NULL), 0);
		if (i % 640 == 0) {
			size_t k = 0;

			for (size_t j = i + 1; j < N; j += 2) {
				starts[N + k] = starts[j];
				lens[N + k++] = lens[j];
			}
			hint_answers(&starts[N], &lens[N], k);
			ck_assert_int_eq(vgpu_dma_table_check(t), 0);
		}
	}
	vgpu_dma_table_free(t, NULL, NULL);
	ck_assert_int_eq(vgpu_dma_table_new(&t), 0);
	/* two clusters, 2^40 apart: no index */
	for (n = 0; n < 2000; n++) {
		struct vgpu_dma_window w = { .fd = -1, .prot = RW };

		w.iova = (n % 2 ? (uint64_t)1 << 40 : 0) + n * 0x2000;
		w.len = 0x1000;
		ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
	}
	ck_assert_uint_eq(t->hint_slices, 0);
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	vgpu_dma_table_free(t, NULL, NULL);
	ck_assert_int_eq(vgpu_dma_table_new(&t), 0);
	/* few windows: none */
	for (n = 0; n < 63; n++) {
		struct vgpu_dma_window w = { .fd = -1, .prot = RW };

		w.iova = n * 0x2000;
		w.len = 0x1000;
		ck_assert_int_eq(vgpu_dma_table_insert(t, &w, NULL), 0);
	}
	ck_assert_uint_eq(t->hint_slices, 0);
	free(starts);
	free(lens);
}
END_TEST

/*
 * A leaf keeps each window's protection and guarded flag in the low bits
 * of its record's address. Protection bits the table does not know, the
 * guarded flag's among them, are refused as a window lacking them
 * (-EACCES), on the one-window way and across windows, in every build;
 * the answer's record is the inserted one, untagged.
 */
START_TEST(test_translate_tag_bits)
{
	const uint32_t unknown[] = { WIN_TAG_GUARDED, RW | WIN_TAG_GUARDED,
				     1u << 3, 1u << 31 };
	struct vgpu_dma_window w = {
		.iova = 0x10000,
		.len = 0x1000,
		.prot = RW,
		.fd = -1,
		.vaddr = (void *)0x7000000,
		.guarded = true,
	};
	struct vgpu_dma_window *rec[2];
	struct vgpu_dma_sg sg[2];

	ck_assert_int_eq(vgpu_dma_table_insert(t, &w, &rec[0]), 0);
	w.iova = 0x11000;
	w.vaddr = (void *)0x7001000;
	ck_assert_int_eq(vgpu_dma_table_insert(t, &w, &rec[1]), 0);
	for (size_t b = 0; b < N_BUILDS; b++) {
		if (!runs_here(b))
			continue;
		for (size_t u = 0; u < sizeof(unknown) / sizeof(unknown[0]);
		     u++) {
			ck_assert_int_eq(
				builds[b](t, 0x10800, 0x10, unknown[u], sg, 2),
				-EACCES);
			ck_assert_int_eq(builds[b](t, 0x10800, 0x1000,
						   unknown[u], sg, 2),
					 -EACCES);
		}
		ck_assert_int_eq(builds[b](t, 0x10800, 0x1000, RW, sg, 2), 2);
		for (int i = 0; i < 2; i++) {
			ck_assert_ptr_eq(vgpu_dma_sg_win(&sg[i]), rec[i]);
			ck_assert(vgpu_dma_sg_guarded(&sg[i]));
		}
		ck_assert_ptr_eq(sg[1].vaddr, (void *)0x7001000);
	}
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
}
END_TEST

/*
 * Roots of every size a table of one inner level passes through (2 to 17
 * entries, as 65 to 1,088 windows are mapped in ascending order and
 * unmapped again from the front, which leaves stale low separators):
 * each build finds every window by its first and last byte and refuses
 * the gap after it, and each build's lookup picks the right window (or
 * none). Both builds search a root of up to 16 entries their own way
 * (lookup_fast() in dma-lookup.c).
 */
static void check_every_window(uint64_t from, uint64_t to)
{
	for (size_t b = 0; b < N_BUILDS; b++) {
		if (!runs_here(b))
			continue;
		for (uint64_t i = from; i < to; i++) {
			uint64_t a = i * 0x3000;
			struct vgpu_dma_sg sg;

			ck_assert_int_eq(builds[b](t, a, 1, RW, &sg, 1), 1);
			ck_assert_uint_eq(vgpu_dma_sg_win(&sg)->iova, a);
			ck_assert_int_eq(
				builds[b](t, a + 0x1fff, 1, RW, &sg, 1), 1);
			ck_assert_uint_eq(vgpu_dma_sg_win(&sg)->iova, a);
			ck_assert_int_eq(
				builds[b](t, a + 0x2000, 1, RW, &sg, 1),
				-EFAULT);
		}
		if (from) {
			struct vgpu_dma_sg sg;

			ck_assert_int_eq(
				builds[b](t, from * 0x3000 - 1, 1, RW, &sg, 1),
				-EFAULT);
		}
	}
	for (uint64_t i = from; i < to; i++)
		for (uint64_t off = 0; off < 0x3000; off += 0xfff)
			check_picks(i * 0x3000 + off, (int64_t)(i * 0x3000));
	if (from)
		check_picks(from * 0x3000 - 1, -1);
}

START_TEST(test_small_roots)
{
	const uint64_t n = 17 * NODE_MAX;
	unsigned int last = 0;

	for (uint64_t i = 0; i < n; i++) {
		ck_assert_int_eq(map(i * 0x3000, 0x2000, RW), 0);
		if (t->depth == 1 && t->root->n != last) {
			last = t->root->n;
			check_every_window(0, i + 1);
		}
	}
	ck_assert_uint_eq(t->depth, 1);
	ck_assert_uint_eq(last, 17);
	for (uint64_t i = 0; i < n - 1; i++) {
		ck_assert_int_eq(
			vgpu_dma_table_remove(t, i * 0x3000, 0x2000, NULL), 0);
		if (t->depth == 1 && t->root->n != last) {
			last = t->root->n;
			ck_assert_int_eq(vgpu_dma_table_check(t), 0);
			check_every_window(i + 1, n);
		}
	}
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
}
END_TEST

/* the tree's shape, through the private header */
static unsigned int leaves_below(const struct node *nd, unsigned int depth,
				 unsigned int *min_fill)
{
	unsigned int sum = 0;

	if (!depth) {
		if (nd->next && nd->n < *min_fill)
			*min_fill = nd->n; /* the rightmost may hold fewer */
		return 1;
	}
	for (unsigned int i = 0; i < nd->n; i++)
		sum += leaves_below(nd->child[i], depth - 1, min_fill);
	return sum;
}

/*
 * Ascending maps fill leaves completely: 4096 windows are 64 full leaves
 * under one root, the 4097th starts a new leaf (and a second level). A
 * split in the middle halves a leaf as before.
 */
START_TEST(test_append_full)
{
	unsigned int fill = NODE_MAX;

	for (uint64_t i = 0; i < 4096; i++)
		ck_assert_int_eq(map(i * 0x2000, 0x1000, RW), 0);
	ck_assert_uint_eq(t->depth, 1);
	ck_assert_uint_eq(t->root->n, 64);
	ck_assert_uint_eq(leaves_below(t->root, t->depth, &fill), 64);
	ck_assert_uint_eq(fill, NODE_MAX);
	ck_assert_int_eq(map(4096 * 0x2000, 0x1000, RW), 0);
	ck_assert_uint_eq(t->depth, 2);
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
	/* into the middle of a full leaf: 32/32 */
	ck_assert_int_eq(map(0x1000, 0x1000, RW), 0);
	fill = NODE_MAX;
	ck_assert_uint_eq(leaves_below(t->root, t->depth, &fill), 66);
	ck_assert_uint_eq(fill, NODE_MAX / 2);
	/* and descending maps leave the tree valid too */
	for (uint64_t i = 5000; i > 4100; i--)
		ck_assert_int_eq(map(i * 0x2000, 0x1000, RW), 0);
	ck_assert_int_eq(vgpu_dma_table_check(t), 0);
}
END_TEST

/*
 * The arena: freed nodes and records are reused, so mapping the same
 * number of windows again takes no new memory; the check accounts for
 * every byte (tree or free list), in chunks of every size.
 */
START_TEST(test_arena_reuse)
{
	enum {
		N = 30000 /* 2.4 MiB: 64 KiB to 1 MiB chunks, then a 2 MiB one */
	};
	size_t carved, chunks;
	struct vgpu_dma_sg sg;

	ck_assert_uint_eq(t->arena.chunk_count, 1); /* the root's */
	for (int round = 0; round < 3; round++) {
		for (uint64_t i = 0; i < N; i++)
			ck_assert_int_eq(
				map((i * 7919 % N) * 0x2000, 0x1000, RW), 0);
		ck_assert_int_eq(vgpu_dma_table_check(t), 0);
		if (round == 0) {
			carved = t->arena.carved;
			chunks = t->arena.chunk_count;
			ck_assert_uint_ge(chunks, 6);
		} else {
			ck_assert_uint_le(t->arena.carved, carved);
			ck_assert_uint_eq(t->arena.chunk_count, chunks);
		}
		ck_assert_int_eq(vgpu_dma_table_translate(t, 0x2000 * 123 + 5,
							  1, RW, &sg, 1),
				 1);
		ck_assert_uint_eq(vgpu_dma_sg_win(&sg)->iova, 0x2000 * 123);
		for (uint64_t i = 0; i < N; i++)
			ck_assert_int_eq(vgpu_dma_table_remove(t, i * 0x2000,
							       0x1000, NULL),
					 0);
		ck_assert_int_eq(vgpu_dma_table_check(t), 0);
		ck_assert_int_eq(vgpu_dma_table_translate(t, 0x2000 * 123, 1,
							  RW, &sg, 1),
				 -EFAULT);
	}
}
END_TEST

static void count_release(struct vgpu_dma_window *w, void *data)
{
	(void)w;
	(*(int *)data)++;
}

START_TEST(test_free_release)
{
	int released = 0;

	for (int i = 0; i < 1000; i++)
		ck_assert_int_eq(map((uint64_t)i << 12, 0x1000, RW), 0);
	vgpu_dma_table_free(t, count_release, &released);
	ck_assert_int_eq(released, 1000);
	ck_assert_int_eq(vgpu_dma_table_new(&t), 0);
}
END_TEST

static Suite *dma_suite(void)
{
	Suite *s = suite_create("dma-table");
	TCase *tc = tcase_create("core");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_malformed);
	tcase_add_test(tc, test_overlap);
	tcase_add_test(tc, test_remove);
	tcase_add_test(tc, test_translate_pin);
	tcase_add_test(tc, test_dirty);
	tcase_add_test(tc, test_dirty_bounded);
	tcase_add_loop_test(tc, test_random_model, 0, 3);
	tcase_add_test(tc, test_search_lines);
	tcase_add_test(tc, test_large);
	tcase_add_loop_test(tc, test_translate_model, 0, 3);
	tcase_add_test(tc, test_translate_tag_bits);
	tcase_add_test(tc, test_slice_index);
	tcase_add_test(tc, test_append_full);
	tcase_add_test(tc, test_small_roots);
	tcase_add_test(tc, test_arena_reuse);
	tcase_add_test(tc, test_free_release);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(dma_suite());
}
