/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DMA table's B+tree, shared by lib/dma-table.c (the tree and its
 * changes), lib/dma-lookup.c (lookups and translation) and
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
/* the entries of an inner root the table copies (struct vgpu_dma_table):
 * two lines of keys, all of a root of 1k, 64k or 1M windows mapped in
 * order */
#define ROOT_COPY 16

/*
 * A node's first cache line is a summary of its keys: sum[j] = key[8 * j]
 * for j >= 1, the first key of each line of the key array (UINT64_MAX past
 * the end, as the keys are), and sum[0] = n, the entry count (key[0] is
 * never compared, so its place is free). A search reads the summary line,
 * then the one line of keys it points to: two lines per node whatever the
 * fan-out, and nothing else of an inner node but the child pointer (the
 * plain build's lookups read at most two lines of keys after the summary,
 * and a root of two lines or fewer is searched without its summary:
 * node_pick() and lookup_fast() in dma-lookup.c). A leaf keeps, beside its
 * keys, what a translation answers with, in three arrays of 8 bytes a
 * window: the window's last byte, its host address less its start, and
 * its record's address tagged with the protection it lacks, the guarded
 * flag and "no host address" (records are lines of the arena, so the low
 * 6 bits are free). A translation reads
 * the summary and a line or two of keys per level, then at the leaf one
 * line of each array, fetched side by side with the keys: never the
 * record, which would be one more dependent fetch (4 MiB of records at
 * 64k windows, beyond a core's L2). Records are read-only once inserted
 * (but for the pin count and dirty_all, which no lookup needs), so the
 * copies cannot go stale. node_sync() refreshes the summary after every
 * change of the keys or the count; vgpu_dma_table_check() verifies it
 * and the copies.
 */
struct node {
	uint64_t sum[NODE_MAX / 8];
	uint64_t key[NODE_MAX];
	union {
		struct node *child[NODE_MAX];
		struct {
			uintptr_t wtag[NODE_MAX]; /* record | WIN_TAG_* */
			uint64_t last[NODE_MAX];  /* its last byte */
			uintptr_t host[NODE_MAX]; /* host address - start */
			struct node *prev, *next;
		};
	};
	unsigned int n;
	bool leaf;
	/* a leaf: how many slices of the index name it (dma-hint.c) */
	unsigned int hint_refs;
} __attribute__((aligned(64)));

/* @w's tagged address, as its leaf keeps it (@w is 64-byte aligned) */
static inline uintptr_t win_tag(const struct vgpu_dma_window *w)
{
	return (uintptr_t)w | (~w->prot & WIN_TAG_PROT) |
	       (w->guarded ? WIN_TAG_GUARDED : 0u) |
	       (w->vaddr ? 0u : WIN_TAG_NOHOST);
}

/* @w's host address less its start, as its leaf keeps it: the host
 * address of any iova of @w is that plus the iova (mod 2^64) */
static inline uintptr_t win_host(const struct vgpu_dma_window *w)
{
	return (uintptr_t)w->vaddr - (uintptr_t)w->iova;
}

/* the record of entry @i of leaf @nd */
static inline struct vgpu_dma_window *leaf_win(const struct node *nd,
					       unsigned int i)
{
	return tag_win(nd->wtag[i]);
}

/* the last byte of @w (inclusive, so that 2^64 - 1 can be one) */
static inline uint64_t win_last(const struct vgpu_dma_window *w)
{
	return w->iova + (w->len - 1);
}

/*
 * Where a table's nodes and window records live: chunks of address space
 * from mmap(), the first one small (a table of a few windows costs 64 KiB),
 * each next one twice as big up to 2 MiB; the 2 MiB ones (from about 25k
 * windows on) are aligned so and advised as transparent huge pages where
 * the kernel offers them (THP "madvise" mode): a big table's nodes and
 * records then sit on a few hundred TLB entries' worth of huge pages
 * instead of tens of thousands of 4 KiB pages. Freed nodes and records go
 * to a free list of their size and are reused; the chunks return to the
 * system when the table is freed.
 */
struct arena_chunk {
	struct arena_chunk *next;
	size_t size;
};

struct arena {
	struct arena_chunk *chunks;
	char *bump, *end; /* the unused rest of the newest chunk */
	void *free_node;  /* freed nodes, linked through their first word */
	void *free_win;	  /* freed window records, likewise */
	size_t chunk_count;
	size_t carved; /* bytes handed out from chunks, for the check */
};

struct vgpu_dma_table {
	/* what every lookup reads first, in one line: the slice index
	 * (dma-hint.c), then the tree. Slice s covers the 2^hint_shift
	 * addresses from hint_base + (s << hint_shift), and hint[s] is the
	 * entry (entry_word()) of the last window starting at or before the
	 * slice's first address, or of one a little before it, as changes
	 * since the index was built leave it; hint_slices 0: no index */
	uintptr_t *hint;
	uint64_t hint_base;
	size_t hint_slices;
	unsigned int hint_shift;
	unsigned int depth; /* inner levels above the leaves */
	struct node *root;
	size_t count;
	/* the index's upkeep (dma-hint.c) */
	size_t hint_cap;   /* slices allocated */
	size_t hint_stale; /* windows it may miss since the build */
	size_t hint_past;  /* windows mapped past its slices since */
	size_t hint_moved; /* entries moved in or between leaves since */
	size_t hint_due;   /* the staleness that rebuilds it */
	unsigned int hint_backoff; /* its rebuilds after too many moves */
	bool hint_exact;	   /* nothing changed since the build */
	struct arena arena;
	unsigned int log_shift; /* 0: dirty logging off */
	/* while logging: the bitmap chunks, as windows of CHUNK_PAGES pages
	 * whose userdata is the bitmap (see dma-table.h) */
	struct vgpu_dma_table *chunks;
	size_t chunk_bytes;
	/* while the root is an inner node (depth > 0), copies of its summary
	 * line (so rsum[0] is its count), first 16 keys (padding included)
	 * and first 16 children (ROOT_COPY), kept by root_sync() in
	 * dma-table.c: a
	 * lookup starts on the table without first reading t->root, one
	 * dependent load fewer. A root of 16 entries or fewer is searched
	 * in the copy alone; a bigger one's first compare is on rsum while
	 * t->root is fetched */
	_Alignas(64) uint64_t rsum[NODE_MAX / 8];
	uint64_t rkey[ROOT_COPY];
	const struct node *rchild[ROOT_COPY];
	/* the last window found: a line of its own, as it is written by
	 * lookups that share the rest */
	_Alignas(64) _Atomic(struct vgpu_dma_window *) cache;
};

/* refresh the summary line of @nd from its keys and count */
static inline void node_sync(struct node *nd)
{
	_Static_assert(NODE_MAX == 64, "eight lines of keys, eight summaries");
	nd->sum[0] = nd->n;
	for (unsigned int j = 1; j < NODE_MAX / 8; j++)
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
 * The same with AVX-512 on x86-64 (its F and DQ parts): one masked compare
 * of the line's eight keys and a population count instead of seven
 * compare-and-add steps. DQ is for the 8-bit mask move (kmovb), which needs
 * no zero extension before the count: one instruction fewer per compare
 * (1k windows 0.98 -> 0.87 of the floor, docs/vfio-user.md). Every CPU
 * with AVX-512F has DQ but the Xeon Phi, which takes the plain build.
 * translate is compiled twice, with and without it, and the loader picks
 * one by the CPU (DMA_WIDE_VARIANTS, see dma-lookup.c); where that cannot
 * be done (other CPUs, C libraries without ifunc, compilers without the
 * attributes) there is only the plain one. The compare is a "light"
 * 512-bit instruction: on the CPUs that lower their clock for 512-bit
 * work, the lightest step of it.
 */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__has_attribute)
#if __has_attribute(ifunc) && __has_attribute(target) && \
	__has_attribute(flatten)
#define DMA_WIDE_VARIANTS 1
#endif
#endif

#ifdef DMA_WIDE_VARIANTS
#include <immintrin.h>

#define DMA_WIDE_TARGET __attribute__((target("avx512f,avx512dq,popcnt")))

/* @keep: the keys that count, 0xfe to leave v[0] out as line_rank() does.
 * Spelled addr >= key (not key <= addr) so that the line is the compare's
 * memory operand: one instruction, no separate load */
DMA_WIDE_TARGET static inline unsigned int
line_rank_wide(const uint64_t *v, uint64_t addr, __mmask8 keep)
{
	__mmask8 m = _mm512_mask_cmpge_epu64_mask(
		keep, _mm512_set1_epi64((long long)addr), _mm512_load_si512(v));

	return (unsigned int)__builtin_popcount(_cvtmask8_u32(m));
}
#endif

/*
 * line_rank() or line_rank_wide(); @wide is a constant in every caller, so
 * only one is compiled in. Callers with wide set are compiled for
 * DMA_WIDE_TARGET with everything inlined (flatten).
 */
static inline unsigned int rank(const uint64_t *v, uint64_t addr, bool wide)
{
#ifdef DMA_WIDE_VARIANTS
	if (wide)
		return line_rank_wide(v, addr, 0xfe);
#endif
	return line_rank(v, addr);
}

/* the same counting v[0] too (for a line of keys after the first) */
static inline unsigned int rank_all(const uint64_t *v, uint64_t addr, bool wide)
{
#ifdef DMA_WIDE_VARIANTS
	if (wide)
		return line_rank_wide(v, addr, 0xff);
#endif
	return (unsigned int)(v[0] <= addr) + line_rank(v, addr);
}

/*
 * Index of the last key <= @addr among the n keys of @nd (n >= 1), or 0
 * when even key[0] is above it (the caller checks). Keys past n hold
 * UINT64_MAX (see node_pad()) and the keys are sorted, so counting the
 * summaries <= @addr picks the line of keys, and counting the keys of that
 * line <= @addr picks the key: two dependent loads per node, each followed
 * by compares that run side by side, where a binary search chains six
 * load-compare steps. No branch depends on the keys. sum[0] (the count)
 * and key[0] are never compared, which is what an inner node (whose key[0]
 * is never maintained) needs. A hit in the padding can only mean addr ==
 * UINT64_MAX: the last real key then.
 */
static inline unsigned int node_search(const struct node *nd, uint64_t addr)
{
	unsigned int n = (unsigned int)nd->sum[0];
	unsigned int i = line_rank(nd->sum, addr) * 8;

	i += line_rank(&nd->key[i], addr);
	return i < n ? i : n - 1;
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

/* the first leaf of the tree, or with @last the last one */
static inline const struct node *edge_leaf(const struct vgpu_dma_table *t,
					   bool last)
{
	const struct node *nd = t->root;

	while (!nd->leaf)
		nd = nd->child[last ? nd->n - 1 : 0];
	return nd;
}

/* the leaf whose key range holds @addr */
static inline const struct node *find_leaf(const struct vgpu_dma_table *t,
					   uint64_t addr)
{
	const struct node *nd = t->root;

	for (unsigned int d = t->depth; d; d--)
		nd = nd->child[inner_pick(nd, addr)];
	return nd;
}

/*
 * The leaf entry with the greatest start <= @addr: returns false when there
 * is none. With stale separators it can be the last entry of the previous
 * leaf. (translate and find take lookup_fast() in dma-lookup.c.)
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

/* leaf entry @i as one word: the leaf's address, whose low 6 bits are free
 * (nodes are 64-byte aligned), or'ed with @i (< NODE_MAX); entry_leaf()
 * and entry_pos() take it apart */
#define ENTRY_POS_MASK ((uintptr_t)63)

static inline uintptr_t entry_word(const struct node *leaf, unsigned int i)
{
	_Static_assert(NODE_MAX - 1 <= ENTRY_POS_MASK &&
			       _Alignof(struct node) > ENTRY_POS_MASK,
		       "an entry index fits below a node's alignment");
	return (uintptr_t)leaf | i;
}

static inline const struct node *entry_leaf(uintptr_t entry)
{
	return (const struct node *)(entry & ~ENTRY_POS_MASK);
}

static inline unsigned int entry_pos(uintptr_t entry)
{
	return (unsigned int)(entry & ENTRY_POS_MASK);
}

/*
 * dma-hint.c: the slice index. dma_hint_build() makes it anew from the
 * tree (or none, for a table of few windows or windows that it would not
 * spread). The tree's changes report to it: dma_hint_insert() a new
 * window, leaf entry @pos of @leaf, once the insert is done;
 * dma_hint_unname() the window at entry @pos of @leaf about to be removed,
 * dma_hint_removed() the end of that removal; dma_hint_moved() @count
 * entries moved out of @leaf or shifted in it (splits, rebalancing);
 * dma_hint_drop() a leaf about to be freed, which the index must not name
 * then. They count what they make stale; insert and removed rebuild the
 * index when that is enough. dma_hint_check() is part of
 * vgpu_dma_table_check().
 */
void dma_hint_build(struct vgpu_dma_table *t);
void dma_hint_insert(struct vgpu_dma_table *t, struct node *leaf,
		     unsigned int pos);
void dma_hint_unname(struct vgpu_dma_table *t, const struct node *leaf,
		     unsigned int pos);
void dma_hint_removed(struct vgpu_dma_table *t);
void dma_hint_moved(struct vgpu_dma_table *t, const struct node *leaf,
		    unsigned int count);
void dma_hint_drop(struct vgpu_dma_table *t, const struct node *leaf);
void dma_hint_free(struct vgpu_dma_table *t);
int dma_hint_check(const struct vgpu_dma_table *t);

/*
 * The two builds of vgpu_dma_table_translate() (dma-lookup.c), by name for
 * the test suite; dma_translate_wide() is the plain one where there is no
 * other, and may only be called where dma_wide_supported().
 */
int dma_translate_plain(const struct vgpu_dma_table *t, uint64_t iova,
			uint64_t len, uint32_t prot, struct vgpu_dma_sg *sg,
			size_t max);
int dma_translate_wide(const struct vgpu_dma_table *t, uint64_t iova,
		       uint64_t len, uint32_t prot, struct vgpu_dma_sg *sg,
		       size_t max);
bool dma_wide_supported(void);

/*
 * The window with the greatest start <= @addr (addr < UINT64_MAX), or
 * NULL, as each build of translate finds it before checking the window's
 * end: by name for the test suite, as a wrong pick there would only cost
 * time (translate takes the slow way when the window found does not hold
 * the address). Likewise dma_lookup_wide() only where dma_wide_supported().
 */
struct vgpu_dma_window *dma_lookup_plain(const struct vgpu_dma_table *t,
					 uint64_t addr);
struct vgpu_dma_window *dma_lookup_wide(const struct vgpu_dma_table *t,
					uint64_t addr);

/* the slice index's answer for @addr (< UINT64_MAX), *@answered telling
 * whether it had one, for the test suite: the window it names must then be
 * the one with the greatest start <= @addr (NULL where none is) */
struct vgpu_dma_window *dma_lookup_hint(const struct vgpu_dma_table *t,
					uint64_t addr, bool *answered);

/* dma-dirty.c: a window leaves the table, its dirty pages with it */
void dma_log_forget(struct vgpu_dma_table *t, uint64_t first, uint64_t last);

#endif
