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

#define NODE_MAX 64
#define NODE_MIN (NODE_MAX / 2)
#define MAX_DEPTH 16 /* 32^16 windows: more than memory can hold */

/*
 * The key array comes first and the node is cache-line aligned, so that
 * the 64 keys are exactly 8 lines, searched on their own. A leaf keeps
 * what translate needs of each window (end, host address, protection, the
 * record) in one 32-byte entry next to them: a translation reads its
 * key lines and one more line, and never the window record.
 */
struct leaf_entry {
	uint64_t last;
	void *vaddr;
	struct vgpu_dma_window *win;
	uint32_t prot;
};

struct node {
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
	unsigned int depth; /* inner levels above the leaves */
	unsigned int log_shift; /* 0: dirty logging off */
	/* while logging: the bitmap chunks, as windows of CHUNK_PAGES pages
	 * whose userdata is the bitmap (see dma-table.h) */
	struct vgpu_dma_table *chunks;
	size_t chunk_bytes;
	/* the last window found: a line of its own, as it is written by
	 * lookups that share the rest */
	_Alignas(64) _Atomic(struct vgpu_dma_window *) cache;
};

/*
 * Searching a node: prefetch every cache line of its key array, then binary
 * search it. The prefetches go out together, so a node costs about one
 * memory latency instead of one per probe; that is what lets a 64-way node
 * beat a plain binary search (one dependent miss per probe) at a million
 * windows.
 */
static inline void prefetch_keys(const uint64_t *keys)
{
	_Static_assert(NODE_MAX == 64, "eight lines of keys");
	__builtin_prefetch(&keys[0]);
	__builtin_prefetch(&keys[8]);
	__builtin_prefetch(&keys[16]);
	__builtin_prefetch(&keys[24]);
	__builtin_prefetch(&keys[32]);
	__builtin_prefetch(&keys[40]);
	__builtin_prefetch(&keys[48]);
	__builtin_prefetch(&keys[56]);
}

/*
 * Index of the last key <= @addr among keys[0..n) (n >= 1), or 0 when even
 * keys[0] is above it (the caller checks). keys[n..NODE_MAX) hold
 * UINT64_MAX (see node_pad()), so the search has a fixed width: six
 * branch-free steps the compiler unrolls, and keys[0] itself is never
 * compared, which is what an inner node (whose key[0] is never maintained)
 * needs. A hit in the padding can only mean addr == UINT64_MAX: the last
 * real key then.
 */
static inline unsigned int node_search(const uint64_t *keys, unsigned int n,
				       uint64_t addr)
{
	const uint64_t *base = keys;
	unsigned int i;

	/*
	 * Unrolled (compilers keep the loop at -O2), as many steps as n
	 * needs (the padding makes a search over the next power of two
	 * exact; the jump is predicted well, a level's nodes being mostly
	 * full), and arithmetic rather than a conditional, which compilers
	 * turn into unpredictable branches.
	 */
#define STEP(half) base += (size_t)(base[half] <= addr) * (half)
	switch (n > 1 ? 32 - __builtin_clz(n - 1) : 0) {
	default:
		STEP(32);
		/* fall through */
	case 5:
		STEP(16);
		/* fall through */
	case 4:
		STEP(8);
		/* fall through */
	case 3:
		STEP(4);
		/* fall through */
	case 2:
		STEP(2);
		/* fall through */
	case 1:
		STEP(1);
		/* fall through */
	case 0:
		break;
	}
#undef STEP
	i = (unsigned int)(base - keys);
	return i < n ? i : n - 1;
}

/* index of the last key <= addr among keys[0..n), or -1 */
static inline int node_floor(const uint64_t *keys, unsigned int n,
			     uint64_t addr)
{
	unsigned int i;

	if (!n)
		return -1;
	i = node_search(keys, n, addr);
	return keys[i] <= addr ? (int)i : -1;
}

/* the child of inner node @nd to descend into for @addr */
static inline unsigned int inner_pick(const struct node *nd, uint64_t addr)
{
	return node_search(nd->key, nd->n, addr);
}

static inline const struct node *find_leaf(const struct vgpu_dma_table *t,
				    uint64_t addr)
{
	const struct node *nd = t->root;

	while (!nd->leaf) {
		nd = nd->child[inner_pick(nd, addr)];
		prefetch_keys(nd->key);
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
	int pos = node_floor(leaf->key, leaf->n, addr);

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
