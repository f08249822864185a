/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DMA table's B+tree, shared by lib/dma-table.c (the tree) and
 * lib/dma-dirty.c (dirty logging). Not installed. See dma-table.c for the
 * invariants.
 */
#ifndef VGPU_DMA_TABLE_PRIVATE_H
#define VGPU_DMA_TABLE_PRIVATE_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "dma-table.h"

#define NODE_MAX  64
#define NODE_MIN  (NODE_MAX / 2)
#define MAX_DEPTH 16 /* 32^16 windows: more than memory can hold */

/*
 * A node's first cache line is a summary of its keys: sum[j] = key[8 * j],
 * the first key of each line of the key array (UINT64_MAX past the end, as
 * the keys are). A search reads the summary line, then the one line of keys
 * it points to: two lines per node whatever the fan-out, so a lookup moves
 * two lines per level instead of the eight a 64-key array spans. A leaf
 * keeps what translate needs of each window (end, host address,
 * protection, the record) in one 32-byte entry next to its keys: a
 * translation reads the summary and one line of keys per level, one
 * entry line, and never the window record. node_sync() refreshes the
 * summary after every change of the keys; vgpu_dma_table_check() verifies
 * it.
 */
struct leaf_entry {
	uint64_t last;
	void *vaddr;
	struct vgpu_dma_window *win;
	uint32_t prot;
};

struct node {
	uint64_t sum[NODE_MAX / 8];
	uint64_t key[NODE_MAX];
	union {
		struct node *child[NODE_MAX];
		struct {
			struct leaf_entry e[NODE_MAX];
			struct node *prev, *next;
		};
	};
	unsigned int n;
	bool leaf;
} __attribute__((aligned(64)));

struct vgpu_dma_table {
	struct node *root;
	size_t count;
	unsigned int depth;	/* inner levels above the leaves */
	unsigned int log_shift; /* 0: dirty logging off */
	/* while logging: the bitmap chunks, as windows of CHUNK_PAGES pages
	 * whose userdata is the bitmap (see dma-table.h) */
	struct vgpu_dma_table *chunks;
	size_t chunk_bytes;
	/* the last window found: a line of its own, as it is written by
	 * lookups that share the rest */
	_Alignas(64) _Atomic(struct vgpu_dma_window *) cache;
};

/* refresh the summary line of @nd from its keys */
static inline void node_sync(struct node *nd)
{
	_Static_assert(NODE_MAX == 64, "eight lines of keys, eight summaries");
	for (unsigned int j = 0; j < NODE_MAX / 8; j++)
		nd->sum[j] = nd->key[8 * j];
}

/* how many of v[1..7] are <= @addr: seven independent compares */
static inline unsigned int line_rank(const uint64_t *v, uint64_t addr)
{
	/* spelled out: compilers keep a loop here at -O2 */
	return (unsigned int)(v[1] <= addr) + (v[2] <= addr) + (v[3] <= addr) +
	       (v[4] <= addr) + (v[5] <= addr) + (v[6] <= addr) +
	       (v[7] <= addr);
}

/*
 * Index of the last key <= @addr among the n keys of @nd (n >= 1), or 0
 * when even key[0] is above it (the caller checks). Keys past n hold
 * UINT64_MAX (see node_pad()) and the keys are sorted, so counting the
 * summaries <= @addr picks the line of keys, and counting the keys of that
 * line <= @addr picks the key: two dependent loads per node, each followed
 * by compares that run side by side, where a binary search chains six
 * load-compare steps. No branch depends on the keys. sum[0] and key[0] are
 * never compared, which is what an inner node (whose key[0] is never
 * maintained) needs. A hit in the padding can only mean addr ==
 * UINT64_MAX: the last real key then.
 */
static inline unsigned int node_search(const struct node *nd, uint64_t addr)
{
	unsigned int i = line_rank(nd->sum, addr) * 8;

	i += line_rank(&nd->key[i], addr);
	return i < nd->n ? i : nd->n - 1;
}

/* index of the last key <= addr among keys[0..n), or -1 */
static inline int node_floor(const struct node *nd, uint64_t addr)
{
	unsigned int i;

	if (!nd->n)
		return -1;
	i = node_search(nd, addr);
	return nd->key[i] <= addr ? (int)i : -1;
}

/* the child of inner node @nd to descend into for @addr */
static inline unsigned int inner_pick(const struct node *nd, uint64_t addr)
{
	return node_search(nd, addr);
}

static inline const struct node *find_leaf(const struct vgpu_dma_table *t,
					   uint64_t addr)
{
	const struct node *nd = t->root;

	while (!nd->leaf) {
		nd = nd->child[inner_pick(nd, addr)];
	}
	return nd;
}

/*
 * The leaf entry with the greatest start <= @addr: returns false when there
 * is none. With stale separators it can be the last entry of the previous
 * leaf.
 */
static inline bool locate(const struct vgpu_dma_table *t, uint64_t addr,
			  const struct node **leaf_ret, int *pos_ret)
{
	const struct node *leaf = find_leaf(t, addr);
	int pos = node_floor(leaf, addr);

	if (pos < 0) {
		if (!leaf->prev)
			return false;
		leaf = leaf->prev;
		pos = (int)leaf->n - 1;
	}
	*leaf_ret = leaf;
	*pos_ret = pos;
	return true;
}

/* dma-dirty.c: a window leaves the table, its dirty pages with it */
void dma_log_forget(struct vgpu_dma_table *t, uint64_t first, uint64_t last);

#endif
