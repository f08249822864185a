/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The DMA table's slice index: a shortcut past the tree for lookups.
 *
 * The addresses from the first window's start on are cut into slices of
 * 2^hint_shift bytes, up to four per window, and hint[s] names the leaf
 * entry (entry_word()) of the last window starting at or before slice s's
 * first address. A lookup for @addr reads hint[(addr - hint_base) >>
 * hint_shift] and that entry's key and the two after it in its leaf: where
 * the entry starts at or before @addr and the second after it starts past
 * it, the answer is the entry or the next, found with one load of the
 * index and one line of keys instead of a search of every level
 * (dma-lookup.c, lookup_hint()). Anything else falls back to the tree.
 *
 * That test only needs the entry to be in a live leaf: a leaf's keys are
 * consecutive windows of the table, so whatever an entry has become since
 * the index was built, the test finds the right window or no answer. So
 * changes may leave the index stale, never wrong, and each counts in
 * hint_stale the windows it may have made the index miss:
 * - an insert points the slices its window starts (up to HINT_FIX) at its
 *   entry; it counts one where its window spans more, or where it moved
 *   the entries after it in its leaf up by one (the test follows a slice
 *   one window behind, not two);
 * - an insert past the slices counts one in hint_past, and its removal
 *   takes it back; any other removal points the slices naming its window
 *   at the window before (dma_hint_unname()), and counts one where it
 *   moves the entries after it down;
 * - a split of a leaf the index names (leaf->hint_refs, the slices naming
 *   it) counts the entries it moves to the new leaf, a rebalance one per
 *   leaf it shifts;
 * - a leaf the index names is never freed under it: a merge that would
 *   free one switches the index off first (dma_hint_drop()).
 * An unmap or a map between windows also moves the entries after it in its
 * leaf, so that the slices naming them fail the test until the next build;
 * hint_moved counts those entries, and when they reach one in HINT_MOVED
 * the index is switched off rather than left to cost a wrong guess on most
 * lookups, and built again later, twice as late each time up to
 * 2^HINT_BACKOFF (tables changed at random places: the tree alone serves).
 * When the count reaches count/4 + HINT_MIN, or hint_past count/HINT_PAST
 * + HINT_MIN/4 (a table mapped in ascending order outgrows its slices at
 * the end, where the next lookups go), or with the index off after count/2
 * + HINT_MIN changes, it is built anew: one pass over the leaves and the
 * slices, so O(1) per change over time. Maps and unmaps that leave the rest
 * in place (windows mapped and unmapped past the others, the usual order)
 * cost a few slice writes and never a rebuild. It is built with room for
 * the table to grow as much again past its last window, so that windows
 * mapped in ascending order find slices ready for them.
 *
 * Where the CPU runs the AVX-512 build, a table of HINT_DEEP inner levels
 * or more gets no index, and one that grows so deep drops it
 * (dma_hint_build(), hint_settle()).
 *
 * Memory: at most four slices of 8 bytes per window, twice that between a
 * shrink of the table and the next build (hint_cap), freed with the table.
 * A table of fewer than HINT_MIN windows has none (its tree is a leaf or
 * two levels), nor does one whose windows the slices would not spread:
 * where more than one window in HINT_SPILL would be found only through the
 * tree (windows in dense clusters far apart), the index would cost a wrong
 * guess per lookup.
 */
#include <errno.h>
#include <stdlib.h>

#include "dma-table-private.h"

#define HINT_MIN     64 /* windows below which there is no index */
#define HINT_DEEP    3	/* inner levels from which AVX-512 needs none */
#define HINT_SPILL   4	/* at most one window in 4 only through the tree */
#define HINT_FIX     4	/* slices an insert points at its window */
#define HINT_UNNAME  64 /* slices a removal points away from its window */
#define HINT_PAST    16 /* rebuild with one window in 16 past the slices */
#define HINT_MOVED   8	/* off when entries moved reach one in 8 */
#define HINT_BACKOFF 4	/* and wait up to 16 times longer to rebuild */

/* the first address of slice @s */
static uint64_t slice_start(const struct vgpu_dma_table *t, size_t s)
{
	return t->hint_base + ((uint64_t)s << t->hint_shift);
}

/*
 * The slices for @count windows from @lo to @hi and room to grow as much
 * again: their shift and count, at most four per window (so 1 to 2 per
 * window over the windows' own span).
 */
static size_t slice_plan(uint64_t lo, uint64_t hi, size_t count,
			 unsigned int *shift)
{
	uint64_t span = hi - lo, want = 4 * (uint64_t)count;

	span += span < UINT64_MAX - lo - span ? span : UINT64_MAX - lo - span;
	*shift = 0;
	while ((span >> *shift) >= want)
		++*shift;
	return (size_t)(span >> *shift) + 1;
}

/* the first slice starting at or after @addr (hint_slices: none) */
static size_t slice_from(const struct vgpu_dma_table *t, uint64_t addr)
{
	uint64_t off = addr - t->hint_base, s;

	if (addr < t->hint_base)
		return 0;
	s = (off >> t->hint_shift) +
	    ((off & (((uint64_t)1 << t->hint_shift) - 1)) != 0);
	return s < t->hint_slices ? (size_t)s : t->hint_slices;
}

/*
 * Fill t->hint from the leaves, window by window: each names the slices
 * that start from its start to the next window's, and its leaf counts
 * them. Returns how many windows only the tree finds: in a run of windows
 * that no slice names, all but the first, which the lookup reaches from
 * the window before.
 */
static size_t slice_fill(struct vgpu_dma_table *t, struct node *first)
{
	size_t spill = 0, s = 0, run = 0;

	for (struct node *leaf = first; leaf; leaf = leaf->next) {
		for (unsigned int i = 0; i < leaf->n; i++) {
			uintptr_t e = entry_word(leaf, i);
			size_t end = t->hint_slices;

			if (i + 1 < leaf->n)
				end = slice_from(t, leaf->key[i + 1]);
			else if (leaf->next)
				end = slice_from(t, leaf->next->key[0]);
			if (end <= s) {
				spill += run++ > 0;
				continue;
			}
			run = 0;
			leaf->hint_refs += (unsigned int)(end - s);
			while (s < end)
				t->hint[s++] = e;
		}
	}
	return spill;
}

/* no index (for now): the next build after count/2 + HINT_MIN changes */
static void hint_off(struct vgpu_dma_table *t)
{
	t->hint_slices = 0;
	t->hint_stale = 0;
	t->hint_past = 0;
	t->hint_moved = 0;
	t->hint_due = t->count / 2 + HINT_MIN;
}

void dma_hint_build(struct vgpu_dma_table *t)
{
	struct node *first = (struct node *)edge_leaf(t, false);
	const struct node *last;
	size_t slices;
	unsigned int shift;

	hint_off(t);
	for (struct node *l = first; l; l = l->next)
		l->hint_refs = 0;
	/* with three inner levels or more, the AVX-512 search of the tree
	 * (its lines fetched ahead) is as fast as the index's one load at
	 * random into an array of megabytes, which maps and unmaps would
	 * keep up to date for nothing */
	if (t->count < HINT_MIN ||
	    (t->depth >= HINT_DEEP && dma_wide_supported()))
		return;
	last = edge_leaf(t, true);
	slices = slice_plan(first->key[0], last->key[last->n - 1], t->count,
			    &shift);
	if (slices > t->hint_cap || slices < t->hint_cap / 2) {
		uintptr_t *h = realloc(t->hint, slices * sizeof(*h));

		if (!h)
			return; /* the tree alone serves: no error */
		t->hint = h;
		t->hint_cap = slices;
	}
	t->hint_base = first->key[0];
	t->hint_shift = shift;
	t->hint_slices = slices;
	if (slice_fill(t, first) * HINT_SPILL > t->count) {
		hint_off(t);
		return;
	}
	t->hint_due = t->count / 4 + HINT_MIN;
	t->hint_exact = true;
}

/* rebuild the index when what is stale (or, with none, the changes since)
 * reached its due */
static void hint_settle(struct vgpu_dma_table *t)
{
	if (t->hint_slices && t->depth >= HINT_DEEP && dma_wide_supported()) {
		hint_off(t); /* grown past what AVX-512 needs it for */
		return;
	}
	if (t->hint_slices &&
	    t->hint_moved > t->count / HINT_MOVED + HINT_MIN) {
		/* maps and unmaps between windows moved the entries the
		 * slices name: most lookups would fail the test and pay for
		 * a wrong guess before the tree. Off, and built again later
		 * each time this happens (up to 2^HINT_BACKOFF times the
		 * wait), so that random changes cost neither */
		hint_off(t);
		t->hint_due <<= t->hint_backoff;
		t->hint_backoff += t->hint_backoff < HINT_BACKOFF;
		return;
	}
	/* windows past the slices: sooner, as a table mapped in ascending
	 * order outgrows them at its end, where the next lookups go; that
	 * growth also ends the backoff */
	if (t->hint_past > t->count / HINT_PAST + HINT_MIN / 4) {
		t->hint_backoff = 0;
		dma_hint_build(t);
	} else if (t->hint_stale >= t->hint_due) {
		dma_hint_build(t);
	}
}

/* the slice of @addr, or hint_slices where it has none */
static size_t slice_of(const struct vgpu_dma_table *t, uint64_t addr)
{
	uint64_t s = (addr - t->hint_base) >> t->hint_shift;

	return s < t->hint_slices ? (size_t)s : t->hint_slices;
}

/* slice @s names @entry, of leaf @leaf */
static void slice_set(struct vgpu_dma_table *t, size_t s, struct node *leaf,
		      uintptr_t entry)
{
	((struct node *)entry_leaf(t->hint[s]))->hint_refs--;
	t->hint[s] = entry;
	leaf->hint_refs++;
}

void dma_hint_insert(struct vgpu_dma_table *t, struct node *leaf,
		     unsigned int pos)
{
	uint64_t key = leaf->key[pos], next = UINT64_MAX;
	size_t s;

	if (!t->hint_slices) {
		t->hint_stale++;
		hint_settle(t);
		return;
	}
	if (slice_of(t, key) == t->hint_slices) {
		/* a window past the slices (taken back when it goes:
		 * dma_hint_unname()) */
		t->hint_past++;
		hint_settle(t);
		return;
	}
	if (pos + 1 < leaf->n)
		next = leaf->key[pos + 1];
	else if (leaf->next)
		next = leaf->next->key[0];
	/* the slices whose first address is in [key, next) name it, the
	 * first HINT_FIX of them: past those, the slices name the window
	 * before, which the lookup's test follows to this one */
	s = slice_from(t, key);
	for (unsigned int k = 0; k < HINT_FIX && s < t->hint_slices; k++, s++) {
		if (slice_start(t, s) >= next)
			break;
		slice_set(t, s, leaf, entry_word(leaf, pos));
	}
	/* slices of the window itself left naming the window before, or the
	 * entries after it moved up by one: the test follows some */
	t->hint_exact = false;
	t->hint_stale += (s < t->hint_slices && slice_start(t, s) < next &&
			  slice_start(t, s) <= leaf->last[pos]) ||
			 pos + 1 < leaf->n;
	t->hint_moved += leaf->n - pos - 1;
	hint_settle(t);
}

void dma_hint_unname(struct vgpu_dma_table *t, const struct node *leaf,
		     unsigned int pos)
{
	uintptr_t gone = entry_word(leaf, pos), before;
	struct node *bl;
	size_t s;

	if (!t->hint_slices) {
		t->hint_stale++;
		return;
	}
	if (slice_of(t, leaf->key[pos]) == t->hint_slices) {
		/* past the slices: counted when it came */
		t->hint_past -= t->hint_past > 0;
		return;
	}
	t->hint_exact = false;
	/* the slices naming it, from its first, name the window before:
	 * its leaf can then be freed (a merge) without the index's
	 * noticing, where no other slice names it */
	bl = (struct node *)(pos ? leaf : leaf->prev);
	if (bl) {
		before = entry_word(bl, pos ? pos - 1 : bl->n - 1);
		s = slice_from(t, leaf->key[pos]);
		for (unsigned int k = 0;
		     k < HINT_UNNAME && s < t->hint_slices &&
		     t->hint[s] == gone;
		     k++, s++)
			slice_set(t, s, bl, before);
	}
	/* the entries after it move down by one, which the test refuses */
	t->hint_stale += pos + 1 < leaf->n;
	t->hint_moved += leaf->n - pos - 1;
}

void dma_hint_removed(struct vgpu_dma_table *t)
{
	hint_settle(t);
}

void dma_hint_moved(struct vgpu_dma_table *t, const struct node *leaf,
		    unsigned int count)
{
	if (t->hint_slices && leaf->hint_refs) {
		t->hint_exact = false;
		t->hint_stale += count;
		t->hint_moved += count;
	}
}

void dma_hint_drop(struct vgpu_dma_table *t, const struct node *leaf)
{
	if (t->hint_slices && leaf->hint_refs)
		hint_off(t);
}

void dma_hint_free(struct vgpu_dma_table *t)
{
	free(t->hint);
	t->hint = NULL;
	t->hint_cap = 0;
	t->hint_slices = 0;
}

static int ptr_cmp(const void *a, const void *b)
{
	uintptr_t x = (uintptr_t) * (const void *const *)a;
	uintptr_t y = (uintptr_t) * (const void *const *)b;

	return (x > y) - (x < y);
}

/* the entry after @e, or 0 at the last window */
static uintptr_t entry_next(uintptr_t e)
{
	const struct node *l = entry_leaf(e);
	unsigned int i = entry_pos(e) + 1;

	if (i < l->n)
		return entry_word(l, i);
	return l->next ? entry_word(l->next, 0) : 0;
}

static uint64_t entry_key(uintptr_t e)
{
	return entry_leaf(e)->key[entry_pos(e)];
}

/*
 * Every slice names an entry of a live leaf, and each leaf's count of the
 * slices naming it is right; right after a build, each slice names the
 * last window starting at or before its first address.
 */
int dma_hint_check(const struct vgpu_dma_table *t)
{
	const struct node **leaves;
	unsigned int *refs;
	size_t n = 0;
	int r = 0;

	if (!t->hint_slices)
		return 0;
	if (t->hint_slices > t->hint_cap || t->hint_stale >= t->hint_due)
		return -EUCLEAN;
	for (const struct node *l = edge_leaf(t, false); l; l = l->next)
		n++;
	leaves = malloc(n * sizeof(*leaves));
	refs = calloc(n, sizeof(*refs));
	if (!leaves || !refs) {
		free(leaves);
		free(refs);
		return -ENOMEM;
	}
	n = 0;
	for (const struct node *l = edge_leaf(t, false); l; l = l->next)
		leaves[n++] = l;
	qsort(leaves, n, sizeof(*leaves), ptr_cmp);
	for (size_t s = 0; s < t->hint_slices && !r; s++) {
		const struct node *l = entry_leaf(t->hint[s]);
		const struct node **at =
			bsearch(&l, leaves, n, sizeof(*leaves), ptr_cmp);
		uintptr_t e = t->hint[s], nx;
		uint64_t a = slice_start(t, s);

		if (!at) {
			r = -EUCLEAN;
			break;
		}
		refs[at - leaves]++;
		if (!t->hint_exact)
			continue; /* past the leaf's end, too */
		/* right after the build: the floor of a */
		nx = entry_next(e);
		if (entry_pos(e) >= l->n || entry_key(e) > a)
			r = -EUCLEAN;
		else if (nx && entry_key(nx) <= a)
			r = -EUCLEAN;
	}
	for (size_t i = 0; i < n && !r; i++)
		if (refs[i] != leaves[i]->hint_refs)
			r = -EUCLEAN;
	free(leaves);
	free(refs);
	return r;
}
