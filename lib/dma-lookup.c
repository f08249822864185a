/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DMA table's read side: the lookup behind vgpu_dma_table_find() and
 * the translation, vgpu_dma_table_translate(), built twice (plain, and
 * AVX-512F and DQ where the CPU has them). These run side by side under the
 * caller's shared lock (dma-table.h). Both ask the slice index first
 * (lookup_hint(); the index and its upkeep are in dma-hint.c) and search
 * the tree where it has no answer. The tree, its invariants, its changes
 * and the copies they keep up to date are in dma-table.c and
 * dma-table-private.h.
 */
#include <errno.h>
#include <stdatomic.h>
#include <stddef.h>

#include "dma-table-private.h"

/* ---- lookup ---- */

/* how many of k[s], k[2s] and k[3s] are <= @addr: a four-way step */
static inline unsigned int step4(const uint64_t *k, unsigned int s,
				 uint64_t addr)
{
	return (unsigned int)(k[s] <= addr) + (k[2 * s] <= addr) +
	       (k[3 * s] <= addr);
}

/*
 * Fetch, for entry @i of @nd and the seven after it, the line of what a
 * lookup reads once it has picked one: a child pointer, or in a leaf the
 * tagged record, last byte and host address.
 */
static inline void node_fetch(const struct node *nd, unsigned int i, bool leaf)
{
	/* one base for every line: each fetch is that register plus a
	 * constant, and needs no register of its own */
	const char *p = (const char *)nd + (size_t)i * 8;

	__builtin_prefetch(p + offsetof(struct node, wtag)); /* = child */
	if (leaf) {
		__builtin_prefetch(p + offsetof(struct node, last));
		__builtin_prefetch(p + offsetof(struct node, host));
	}
}

/*
 * The index of the last key <= @addr among key[1..63] of @nd (0: none),
 * for lookup_fast(), fetching the lines of what the lookup reads next
 * (node_fetch()) while the keys are compared. With AVX-512: the
 * summary's rank picks the line of keys, and that line's rank the key (two
 * compares of eight), the line of each array the answer is in fetched
 * between the two. The plain build takes three four-way steps instead
 * (keys 16, 32 and 48, which are sum[2], sum[4] and sum[6]; then three
 * keys four apart; then three neighbours): nine scalar compares instead of
 * fourteen, the summary line and at most two lines of keys read, and both
 * lines of each array the answer can be in fetched after the first step.
 * A leaf fetches only with @fetch: not in a table of one inner level or
 * none (4,096 windows or fewer mapped in order), whose leaves stay cached
 * and where the fetches only cost instructions (plain build, 1k windows
 * 1.12 -> 1.05 of the floor, 4k equal; the AVX-512F build likewise since,
 * docs/vfio-user.md).
 * With @sized (a root that is a leaf, the only node often that small), a
 * step that could only meet padding (a node of at most 16 or 4 entries)
 * is skipped; any other node takes all three steps, which the padding
 * makes right for a node of any count, without testing it.
 * lookup_fast() takes a small inner root itself, and gives a bigger one
 * the table's copy of its summary line as @sum (else nd->sum: node_pick()).
 */
static inline unsigned int node_pick_with(const struct node *nd,
					  const uint64_t *sum, uint64_t addr,
					  bool wide, bool leaf, bool fetch,
					  bool sized)
{
	const char *keys;
	unsigned int i;
	size_t off;

	if (wide) {
		i = rank(sum, addr, wide) * 8;
		if (fetch)
			node_fetch(nd, i, leaf);
		return i + rank(&nd->key[i], addr, wide);
	}
	/* the steps count in bytes of key[], so that each next address is
	 * the node's plus a shifted count (one instruction), not an index
	 * made into one */
	keys = (const char *)nd->key;
	off = 0;
	if (!sized || sum[0] > 16)
		off = (size_t)step4(sum, 2, addr) << 7; /* 16 keys */
	if (fetch) {
		node_fetch(nd, (unsigned int)(off / 8), leaf);
		node_fetch(nd, (unsigned int)(off / 8) + 8, leaf);
	}
	if (!sized || sum[0] > 4)
		off += (size_t)step4((const uint64_t *)(keys + off), 4, addr)
		       << 5; /* 4 keys */
	off += (size_t)step4((const uint64_t *)(keys + off), 1, addr) << 3;
	return (unsigned int)(off / 8);
}

/* node_pick_with() on @nd's own summary line */
static inline unsigned int node_pick(const struct node *nd, uint64_t addr,
				     bool wide, bool leaf, bool fetch,
				     bool sized)
{
	return node_pick_with(nd, nd->sum, addr, wide, leaf, fetch, sized);
}

/* a leaf entry, or none (leaf NULL) */
struct hit {
	const struct node *leaf;
	unsigned int i;
};

/*
 * The leaf entry with the greatest start <= @addr, or none: what locate()
 * finds, for addr < UINT64_MAX only. Then no count reaches the padding
 * (UINT64_MAX > addr), so none needs a bound, and the way down reads
 * nothing of a node but its summary, the keys compared and the pointer
 * taken.
 */
static inline struct hit lookup_fast(const struct vgpu_dma_table *t,
				     uint64_t addr, bool wide)
{
	const struct node *nd;
	unsigned int d = t->depth, i;
	bool fetch = d > 1;

	if (!d) {
		nd = t->root;
		i = node_pick(nd, addr, wide, true, false, true);
		goto leaf;
	}
	/* an inner root of ROOT_COPY entries or fewer (of 1k or 64k windows
	 * mapped in order, of 1M) is searched in the table's copy of it
	 * (rsum, rkey, rchild: root_sync()), so the search starts without
	 * first reading which node the root is: the AVX-512 build compares
	 * both its lines of keys at once, one step instead of the summary's
	 * and a line's; the plain build takes two four-way steps and fetches
	 * nothing, as the copy stays cached. A bigger root starts on the copy
	 * of its summary line (rsum) while its address is fetched */
	_Static_assert(ROOT_COPY == 16,
		       "two lines of keys, two four-way steps");
	if (t->rsum[0] <= ROOT_COPY) {
		if (wide) {
			i = rank(t->rkey, addr, wide) +
			    rank_all(&t->rkey[8], addr, wide);
		} else {
			i = step4(t->rkey, 4, addr) * 4;
			i += step4(&t->rkey[i], 1, addr);
		}
		nd = t->rchild[i];
	} else {
		nd = t->root;
		nd = nd->child[node_pick_with(nd, t->rsum, addr, wide, false,
					      true, false)];
	}
	d--;
	for (; d; d--)
		nd = nd->child[node_pick(nd, addr, wide, false, true, false)];
	i = node_pick(nd, addr, wide, true, fetch, false);
leaf:
	if (__builtin_expect(nd->key[i] <= addr, 1))
		return (struct hit){ nd, i };
	/* below the leaf's first key (or an empty table): the window before
	 * is the last of the previous leaf, reached by a stale separator */
	nd = nd->prev;
	return (struct hit){ nd, nd ? nd->n - 1 : 0 };
}

/*
 * The slice index's answer for @addr (< UINT64_MAX), where it has one
 * (dma-hint.c): the entry its slice names or the next, when the first
 * starts at or before @addr and the one after the next starts after it, all
 * three in one leaf (the third not its padding, which leaves the next leaf
 * unread). False: ask the tree. The entry is in a live leaf, however stale,
 * so the keys say whether it is the answer.
 */
static inline bool lookup_hint(const struct vgpu_dma_table *t, uint64_t addr,
			       struct hit *h)
{
	uint64_t s = (addr - t->hint_base) >> t->hint_shift;
	const uint64_t *k;
	uintptr_t e;

	if (__builtin_expect(s >= t->hint_slices, 0))
		return false;
	e = t->hint[s];
	if (__builtin_expect(entry_pos(e) > NODE_MAX - 3, 0))
		return false;
	/* the lines of the answer, beside the keys' (not in a table of one
	 * inner level or none, whose leaves stay cached: lookup_fast()) */
	if (t->depth > 1)
		node_fetch(entry_leaf(e), entry_pos(e), true);
	k = &entry_leaf(e)->key[entry_pos(e)];
	if (__builtin_expect(
		    (k[0] > addr) | (k[2] <= addr) | (k[2] == UINT64_MAX), 0))
		return false;
	*h = (struct hit){ entry_leaf(e), entry_pos(e) + (k[1] <= addr) };
	return true;
}

/* the leaf entry for @addr (< UINT64_MAX) as lookup_fast() finds it, by
 * the slice index where it answers */
static inline struct hit lookup(const struct vgpu_dma_table *t, uint64_t addr,
				bool wide)
{
	struct hit h;

	if (lookup_hint(t, addr, &h))
		return h;
	return lookup_fast(t, addr, wide);
}

struct vgpu_dma_window *dma_lookup_hint(const struct vgpu_dma_table *t,
					uint64_t addr, bool *answered)
{
	struct hit h;

	*answered = lookup_hint(t, addr, &h);
	return *answered ? leaf_win(h.leaf, h.i) : NULL;
}

struct vgpu_dma_window *vgpu_dma_table_find(const struct vgpu_dma_table *t,
					    uint64_t addr)
{
	struct vgpu_dma_window *w;
	const struct node *leaf;
	int i;

	if (!t)
		return NULL;
	w = atomic_load_explicit(&((struct vgpu_dma_table *)t)->cache,
				 memory_order_relaxed);
	if (w && addr - w->iova < w->len)
		return w;
	if (__builtin_expect(addr != UINT64_MAX, 1)) {
		struct hit h = lookup(t, addr, false);

		if (!h.leaf || addr > h.leaf->last[h.i])
			return NULL;
		w = leaf_win(h.leaf, h.i);
	} else {
		if (!locate(t, addr, &leaf, &i) || addr > leaf->last[i])
			return NULL;
		w = leaf_win(leaf, (unsigned int)i);
	}
	atomic_store_explicit(&((struct vgpu_dma_table *)t)->cache, w,
			      memory_order_relaxed);
	return w;
}

/* ---- translation ---- */

/*
 * A piece of a translation: [addr, piece_last] of the window of entry @i
 * of @leaf, from the leaf's copies of its record (dma-table-private.h);
 * @tag is the entry's wtag, which the caller has read for the protection
 */
static inline void sg_fill(struct vgpu_dma_sg *sg, const struct node *leaf,
			   unsigned int i, uintptr_t tag, uint64_t addr,
			   uint64_t piece_last)
{
	sg->wtag = tag;
	sg->iova = addr;
	sg->len = piece_last - addr + 1;
	sg->vaddr = __builtin_expect(tag & WIN_TAG_NOHOST, 0)
			    ? NULL
			    : (char *)(leaf->host[i] + addr);
}

/* whether a window of wtag @tag allows @prot (bits it does not know: no) */
static inline bool tag_allows(uintptr_t tag, uint32_t prot)
{
	/* two tests: where the compiler knows @prot has no unknown bits
	 * (translate's one-window path), the second folds away */
	return !(prot & tag) && !(prot & ~(uint32_t)WIN_TAG_PROT);
}

/*
 * The way for a range that crosses windows, kept out of line so that
 * translate's one-window path reaches it by a jump (a tail call) and
 * carries none of its loop. It takes at most six arguments, all in
 * registers, and not the table: so translate needs the table only until
 * its search is done, and the register that held it serves the search
 * instead of one saved on the stack (1k windows: AVX-512F 1.01 -> 0.98 of
 * the floor, plain 1.35 -> 1.32, docs/vfio-user.md). A seventh argument,
 * passed on the stack, cost more than a second search (1.02 -> 1.17).
 */
#if defined(__has_attribute) && __has_attribute(noipa)
#define NOT_INLINED __attribute__((noipa)) /* no clone with other arguments */
#else
#define NOT_INLINED __attribute__((noinline))
#endif

/*
 * The pieces of [addr, end] from leaf entry @entry (entry_word()) on:
 * that window must start at or before @addr, and the pieces go on into the
 * windows after it, which must follow without a gap and allow @prot.
 */
static NOT_INLINED int translate_walk(uintptr_t entry, uint64_t addr,
				      uint64_t end, uint32_t prot,
				      struct vgpu_dma_sg *sg, size_t max)
{
	const struct node *leaf = entry_leaf(entry);
	unsigned int pos = entry_pos(entry);
	size_t n = 0;

	for (;;) {
		uint64_t piece_last;

		if (pos >= leaf->n) {
			leaf = leaf->next;
			pos = 0;
			if (!leaf)
				return -EFAULT;
		}
		if (leaf->key[pos] > addr || leaf->last[pos] < addr)
			return -EFAULT;
		if (!tag_allows(leaf->wtag[pos], prot))
			return -EACCES;
		piece_last = leaf->last[pos] < end ? leaf->last[pos] : end;
		if (n < max)
			sg_fill(&sg[n], leaf, pos, leaf->wtag[pos], addr,
				piece_last);
		if (n == (size_t)INT32_MAX)
			return -E2BIG;
		n++;
		if (piece_last == end)
			break;
		addr = piece_last + 1;
		pos++;
	}
	return (int)n;
}

/* translate_walk() from locate()'s answer for @addr: the way of the rare
 * cases, which translate tests before it searches */
static NOT_INLINED int translate_span(const struct vgpu_dma_table *t,
				      uint64_t addr, uint64_t end,
				      uint32_t prot, struct vgpu_dma_sg *sg,
				      size_t max)
{
	const struct node *leaf;
	int pos;

	if (!locate(t, addr, &leaf, &pos))
		return -EFAULT;
	return translate_walk(entry_word(leaf, (unsigned int)pos), addr, end,
			      prot, sg, max);
}

static inline int translate_with(const struct vgpu_dma_table *t, uint64_t iova,
				 uint64_t len, uint32_t prot,
				 struct vgpu_dma_sg *sg, size_t max, bool wide,
				 bool hinted)
{
	struct hit h;
	uintptr_t tag;
	uint64_t end;

	if (!t || (!sg && max))
		return -EINVAL;
	end = iova + (len - 1);
	/* the rare cases, tested before the search so that none of them
	 * waits for it: no length, a range past the end of the space, and
	 * one that ends at its last byte, which takes the way with bounds
	 * checks (len - 1 > ~iova, == ~iova, and len 0); protection bits
	 * the table does not know, which that way refuses */
	if (__builtin_expect((len - 1 >= ~iova) | (prot > WIN_TAG_PROT), 0)) {
		/* len and iova, not end < iova: the compiler would keep
		 * that flag, from the addition, in a register across the
		 * search */
		if (!len || len - 1 > ~iova)
			return -EINVAL;
		return translate_span(t, iova, end, prot, sg, max);
	}
	h = hinted ? lookup(t, iova, wide) : lookup_fast(t, iova, wide);
	if (!h.leaf)
		return -EFAULT;
	/*
	 * The common case, one window. lookup_fast() found the last window
	 * starting at or before iova, so only its end needs checking; all
	 * of the answer is in the leaf, the record is not read.
	 */
	if (__builtin_expect(end > h.leaf->last[h.i], 0))
		return translate_walk(entry_word(h.leaf, h.i), iova, end, prot,
				      sg, max);
	tag = h.leaf->wtag[h.i];
	if (__builtin_expect(!tag_allows(tag, prot), 0))
		return -EACCES;
	if (max)
		sg_fill(sg, h.leaf, h.i, tag, iova, end);
	return 1;
}

/*
 * translate compiled twice where DMA_WIDE_VARIANTS: for any x86-64 and for
 * AVX-512; the dynamic loader calls translate_pick() once and binds the
 * symbol to the one the CPU (and the kernel's saving of its registers)
 * supports. Both are callable by name for the test suite, which compares
 * them.
 */
/*
 * Each build is two functions, one with the slice index in front of the
 * tree and one without, and the exported one jumps to the one the table
 * needs (a tail call): inlined into one function, the index's way made
 * the tree's save two callee-saved registers more, 5-10 % on tables that
 * have no index (AVX-512 build, docs/vfio-user.md).
 */
static NOT_INLINED __attribute__((flatten)) int
translate_plain_tree(const struct vgpu_dma_table *t, uint64_t iova,
		     uint64_t len, uint32_t prot, struct vgpu_dma_sg *sg,
		     size_t max)
{
	return translate_with(t, iova, len, prot, sg, max, false, false);
}

static NOT_INLINED __attribute__((flatten)) int
translate_plain_hint(const struct vgpu_dma_table *t, uint64_t iova,
		     uint64_t len, uint32_t prot, struct vgpu_dma_sg *sg,
		     size_t max)
{
	return translate_with(t, iova, len, prot, sg, max, false, true);
}

int dma_translate_plain(const struct vgpu_dma_table *t, uint64_t iova,
			uint64_t len, uint32_t prot, struct vgpu_dma_sg *sg,
			size_t max)
{
	if (t && t->hint_slices)
		return translate_plain_hint(t, iova, len, prot, sg, max);
	return translate_plain_tree(t, iova, len, prot, sg, max);
}

/* the record of lookup_fast()'s answer, or NULL */
static inline struct vgpu_dma_window *lookup_win(const struct vgpu_dma_table *t,
						 uint64_t addr, bool wide)
{
	struct hit h = lookup_fast(t, addr, wide);

	return h.leaf ? leaf_win(h.leaf, h.i) : NULL;
}

struct vgpu_dma_window *dma_lookup_plain(const struct vgpu_dma_table *t,
					 uint64_t addr)
{
	return lookup_win(t, addr, false);
}

#ifdef DMA_WIDE_VARIANTS
DMA_WIDE_TARGET static NOT_INLINED __attribute__((flatten)) int
translate_wide_tree(const struct vgpu_dma_table *t, uint64_t iova, uint64_t len,
		    uint32_t prot, struct vgpu_dma_sg *sg, size_t max)
{
	return translate_with(t, iova, len, prot, sg, max, true, false);
}

DMA_WIDE_TARGET static NOT_INLINED __attribute__((flatten)) int
translate_wide_hint(const struct vgpu_dma_table *t, uint64_t iova, uint64_t len,
		    uint32_t prot, struct vgpu_dma_sg *sg, size_t max)
{
	return translate_with(t, iova, len, prot, sg, max, true, true);
}

DMA_WIDE_TARGET int dma_translate_wide(const struct vgpu_dma_table *t,
				       uint64_t iova, uint64_t len,
				       uint32_t prot, struct vgpu_dma_sg *sg,
				       size_t max)
{
	if (t && t->hint_slices)
		return translate_wide_hint(t, iova, len, prot, sg, max);
	return translate_wide_tree(t, iova, len, prot, sg, max);
}

DMA_WIDE_TARGET __attribute__((flatten)) struct vgpu_dma_window *
dma_lookup_wide(const struct vgpu_dma_table *t, uint64_t addr)
{
	return lookup_win(t, addr, true);
}

/* no sanitizer: runs during relocation, before any is set up */
__attribute__((no_sanitize_address)) bool dma_wide_supported(void)
{
	__builtin_cpu_init();
	return __builtin_cpu_supports("avx512f") &&
	       __builtin_cpu_supports("avx512dq") &&
	       __builtin_cpu_supports("popcnt");
}

typedef int translate_fn(const struct vgpu_dma_table *, uint64_t, uint64_t,
			 uint32_t, struct vgpu_dma_sg *, size_t);

__attribute__((no_sanitize_address)) static translate_fn *translate_pick(void)
{
	return dma_wide_supported() ? dma_translate_wide : dma_translate_plain;
}

int vgpu_dma_table_translate(const struct vgpu_dma_table *t, uint64_t iova,
			     uint64_t len, uint32_t prot,
			     struct vgpu_dma_sg *sg, size_t max)
	__attribute__((ifunc("translate_pick")));
#else
bool dma_wide_supported(void)
{
	return false;
}

int dma_translate_wide(const struct vgpu_dma_table *t, uint64_t iova,
		       uint64_t len, uint32_t prot, struct vgpu_dma_sg *sg,
		       size_t max)
{
	return dma_translate_plain(t, iova, len, prot, sg, max);
}

struct vgpu_dma_window *dma_lookup_wide(const struct vgpu_dma_table *t,
					uint64_t addr)
{
	return lookup_win(t, addr, false);
}

int vgpu_dma_table_translate(const struct vgpu_dma_table *t, uint64_t iova,
			     uint64_t len, uint32_t prot,
			     struct vgpu_dma_sg *sg, size_t max)
{
	return dma_translate_plain(t, iova, len, prot, sg, max);
}
#endif
