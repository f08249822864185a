/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA table dirty logging: bitmaps in chunks allocated on first marking,
 * bounded per table. See dma-table.h for the contract.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "dma-table-private.h"

#define CHUNK_PAGES_SHIFT 15
#define CHUNK_PAGES	  (1ULL << CHUNK_PAGES_SHIFT)
#define CHUNK_BYTES	  (CHUNK_PAGES / 8)
#define MAX_CHUNKS	  (VGPU_DMA_LOG_BUDGET / CHUNK_BYTES)

static bool pgsize_ok(uint64_t pgsize)
{
	return pgsize >= 4096 && pgsize <= (1ULL << 30) &&
	       !(pgsize & (pgsize - 1));
}

/* the first window of @t that ends at or after @addr, or NULL */
static struct vgpu_dma_window *window_from(const struct vgpu_dma_table *t,
					   uint64_t addr)
{
	const struct node *leaf;
	int pos;

	if (!locate(t, addr, &leaf, &pos)) {
		leaf = find_leaf(t, addr);
		pos = 0;
	} else if (leaf->last[pos] < addr) {
		pos++;
	}
	while (leaf && (unsigned int)pos >= leaf->n) {
		leaf = leaf->next;
		pos = 0;
	}
	return leaf ? leaf_win(leaf, (unsigned int)pos) : NULL;
}

static void chunk_release(struct vgpu_dma_window *c, void *data)
{
	(void)data;
	free(c->userdata);
}

static void chunk_drop(struct vgpu_dma_table *t, struct vgpu_dma_window *c)
{
	uint64_t *bits = c->userdata;

	vgpu_dma_table_remove(t->chunks, c->iova, c->len, NULL);
	free(bits);
	t->chunk_bytes -= CHUNK_BYTES;
}

static bool chunk_empty(const uint64_t *bits)
{
	for (size_t i = 0; i < CHUNK_PAGES / 64; i++)
		if (bits[i])
			return false;
	return true;
}

/* the bitmap of chunk number @c, allocated when missing and the budget
 * allows; NULL otherwise */
static uint64_t *chunk_get(struct vgpu_dma_table *t, uint64_t c)
{
	unsigned int cs = t->log_shift + CHUNK_PAGES_SHIFT;
	struct vgpu_dma_window tmpl = { .iova = c << cs,
					.len = 1ULL << cs,
					.fd = -1 };
	struct vgpu_dma_window *w = vgpu_dma_table_find(t->chunks, c << cs);

	if (w)
		return w->userdata;
	if (t->chunk_bytes + CHUNK_BYTES > VGPU_DMA_LOG_BUDGET)
		return NULL;
	tmpl.userdata = calloc(1, CHUNK_BYTES);
	if (!tmpl.userdata)
		return NULL;
	if (vgpu_dma_table_insert(t->chunks, &tmpl, NULL) < 0) {
		free(tmpl.userdata);
		return NULL;
	}
	t->chunk_bytes += CHUNK_BYTES;
	return tmpl.userdata;
}

/* clear pages [p0, p1] in the chunks, freeing the ones left empty */
static void chunks_clear(struct vgpu_dma_table *t, uint64_t p0, uint64_t p1)
{
	unsigned int s = t->log_shift;
	struct vgpu_dma_window *c;

	for (uint64_t at = p0 << s;
	     (c = window_from(t->chunks, at)) && (c->iova >> s) <= p1;) {
		uint64_t cp = c->iova >> s, last = c->iova + (c->len - 1);
		uint64_t *bits = c->userdata;

		uint64_t first = (p0 > cp ? p0 : cp) - cp;
		uint64_t lastb =
			(p1 < cp + CHUNK_PAGES - 1 ? p1
						   : cp + CHUNK_PAGES - 1) -
			cp;

		for (uint64_t b = first; b <= lastb;) {
			if (!(b & 63) && lastb - b >= 63) {
				bits[b / 64] = 0;
				b += 64;
			} else {
				bits[b / 64] &= ~(1ULL << (b & 63));
				b++;
			}
		}
		if (chunk_empty(bits))
			chunk_drop(t, c);
		if (last == UINT64_MAX)
			break;
		at = last + 1;
	}
}

/* a window leaves the table: its pages (those wholly inside it) with it */
void dma_log_forget(struct vgpu_dma_table *t, uint64_t first, uint64_t last)
{
	unsigned int s = t->log_shift;
	uint64_t p0, p1;

	if (!s)
		return;
	p0 = (first >> s) + !!(first & ((1ULL << s) - 1));
	p1 = last == UINT64_MAX ? last >> s : ((last + 1) >> s);
	if (last != UINT64_MAX) {
		if (!p1)
			return;
		p1--;
	}
	if (p0 <= p1)
		chunks_clear(t, p0, p1);
}

int vgpu_dma_table_log_start(struct vgpu_dma_table *t, uint64_t pgsize)
{
	int r;

	if (!t || !pgsize_ok(pgsize))
		return -EINVAL;
	if (t->log_shift)
		return -EALREADY;
	r = vgpu_dma_table_new(&t->chunks);
	if (r < 0)
		return r;
	t->chunk_bytes = 0;
	t->log_shift = (unsigned int)__builtin_ctzll(pgsize);
	return 0;
}

static int clear_all_flag(struct vgpu_dma_window *w, void *data)
{
	(void)data;
	w->dirty_all = false;
	return 0;
}

void vgpu_dma_table_log_stop(struct vgpu_dma_table *t)
{
	if (!t || !t->log_shift)
		return;
	vgpu_dma_table_free(t->chunks, chunk_release, NULL);
	t->chunks = NULL;
	t->chunk_bytes = 0;
	vgpu_dma_table_foreach(t, clear_all_flag, NULL);
	t->log_shift = 0;
}

bool vgpu_dma_table_logging(const struct vgpu_dma_table *t)
{
	return t && t->log_shift;
}

size_t vgpu_dma_table_log_bytes(const struct vgpu_dma_table *t)
{
	return t ? t->chunk_bytes : 0;
}

/* set bits [first, last] of @map */
static void bits_set(uint64_t *map, uint64_t first, uint64_t last)
{
	for (uint64_t b = first; b <= last;) {
		if (!(b & 63) && last - b >= 63) {
			map[b / 64] = ~0ULL;
			b += 64;
		} else {
			map[b / 64] |= 1ULL << (b & 63);
			b++;
		}
	}
}

/* mark [lo, hi] of window @w; over budget: the whole window instead */
static void mark_window(struct vgpu_dma_table *t, struct vgpu_dma_window *w,
			uint64_t lo, uint64_t hi)
{
	unsigned int s = t->log_shift;
	uint64_t p0 = lo >> s, p1 = hi >> s;
	uint64_t c0 = p0 >> CHUNK_PAGES_SHIFT, c1 = p1 >> CHUNK_PAGES_SHIFT;

	if (w->dirty_all)
		return;
	for (uint64_t c = c0; c1 - c0 < MAX_CHUNKS; c++) {
		uint64_t *bits = chunk_get(t, c);
		uint64_t base = c << CHUNK_PAGES_SHIFT;

		if (!bits)
			break;
		bits_set(bits, (p0 > base ? p0 : base) - base,
			 (p1 < base + CHUNK_PAGES - 1
				  ? p1
				  : base + CHUNK_PAGES - 1) -
				 base);
		if (c == c1)
			return;
	}
	/* the budget is spent: this window counts as written all over, and
	 * its chunks go back to the budget */
	w->dirty_all = true;
	dma_log_forget(t, w->iova, w->iova + (w->len - 1));
}

void vgpu_dma_table_mark_dirty(struct vgpu_dma_table *t, uint64_t iova,
			       uint64_t len)
{
	struct vgpu_dma_window *w;
	uint64_t end;

	if (!t || !t->log_shift || !len || iova + (len - 1) < iova)
		return;
	end = iova + (len - 1);
	for (uint64_t at = iova; (w = window_from(t, at)) && w->iova <= end;) {
		uint64_t last = w->iova + (w->len - 1);

		mark_window(t, w, iova > w->iova ? iova : w->iova,
			    end < last ? end : last);
		if (last >= end)
			break;
		at = last + 1;
	}
}

/*
 * Report the chunk bits of pages [p0, p1] into @bitmap (bit k: the report
 * page k after @iova, of 1 << @rshift bytes), clearing them if asked.
 */
static void report_chunks(struct vgpu_dma_table *t, uint64_t p0, uint64_t p1,
			  uint64_t iova, unsigned int rshift, uint64_t *bitmap,
			  bool clear)
{
	unsigned int s = t->log_shift;
	struct vgpu_dma_window *c;

	for (uint64_t at = p0 << s;
	     (c = window_from(t->chunks, at)) && (c->iova >> s) <= p1;) {
		uint64_t cp = c->iova >> s, last = c->iova + (c->len - 1);
		uint64_t first = (p0 > cp ? p0 : cp) - cp;
		uint64_t lastb =
			(p1 < cp + CHUNK_PAGES - 1 ? p1
						   : cp + CHUNK_PAGES - 1) -
			cp;
		uint64_t *map = c->userdata;

		for (uint64_t wd = first / 64; wd <= lastb / 64; wd++) {
			uint64_t bits = map[wd];

			if (wd == first / 64)
				bits &= ~0ULL << (first & 63);
			if (wd == lastb / 64 && (lastb & 63) != 63)
				bits &= (2ULL << (lastb & 63)) - 1;
			if (clear)
				map[wd] &= ~bits;
			while (bits) {
				unsigned int b =
					(unsigned int)__builtin_ctzll(bits);
				uint64_t addr = (cp + wd * 64 + b) << s;
				uint64_t k = (addr - iova) >> rshift;

				bitmap[k / 64] |= 1ULL << (k & 63);
				bits &= bits - 1;
			}
		}
		if (clear && chunk_empty(map))
			chunk_drop(t, c);
		if (last == UINT64_MAX)
			break;
		at = last + 1;
	}
}

int vgpu_dma_table_log_report(struct vgpu_dma_table *t, uint64_t iova,
			      uint64_t len, uint64_t pgsize, uint64_t *bitmap,
			      size_t bitmap_size, bool clear)
{
	struct vgpu_dma_window *w;
	uint64_t end, pages;
	unsigned int rshift, s;

	if (!t || !t->log_shift || !bitmap || !pgsize ||
	    (pgsize & (pgsize - 1)) || pgsize < (1ULL << t->log_shift))
		return -EINVAL;
	if (!len || iova + (len - 1) < iova || (iova | len) & (pgsize - 1))
		return -EINVAL;
	pages = len / pgsize;
	if ((pages + 63) / 64 > bitmap_size / sizeof(uint64_t))
		return -ENOSPC;
	memset(bitmap, 0, (size_t)((pages + 63) / 64) * sizeof(uint64_t));
	rshift = (unsigned int)__builtin_ctzll(pgsize);
	s = t->log_shift;
	end = iova + (len - 1);
	for (uint64_t at = iova; (w = window_from(t, at)) && w->iova <= end;) {
		uint64_t last = w->iova + (w->len - 1);
		uint64_t lo = iova > w->iova ? iova : w->iova;
		uint64_t hi = end < last ? end : last;

		if (w->dirty_all) {
			bits_set(bitmap, (lo - iova) >> rshift,
				 (hi - iova) >> rshift);
			if (clear && lo == w->iova && hi == last)
				w->dirty_all = false;
		} else {
			report_chunks(t, lo >> s, hi >> s, iova, rshift, bitmap,
				      clear);
		}
		if (last >= end)
			break;
		at = last + 1;
	}
	return 0;
}
