/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA window table: a B+tree keyed by window start. See dma-table.h for the
 * contract and the reasons for the structure.
 *
 * Invariants:
 *  - every node except the root holds NODE_MIN..NODE_MAX entries, but the
 *    rightmost node of a level may hold fewer (ascending maps fill the
 *    nodes to their left: see split_with()); inner nodes hold at least 2;
 *  - in a leaf, key[i] is the start of the record leaf_win(i), strictly
 *    increasing; last[i] (its last byte, inclusive, so 2^64 - 1 is
 *    representable), host[i] (its host address less its start) and the
 *    tag bits of wtag[i] (the protection it lacks, guarded, no host
 *    address) are copies of the record's;
 *  - in an inner node, every key below child[i - 1] < key[i] <= every key
 *    below child[i]; key[i] may be lower than the subtree's minimum after a
 *    removal ("stale low"), so the floor of an address may sit at the end of
 *    the previous leaf; key[0] is never read;
 *  - leaves are linked in key order (prev/next);
 *  - while the root is inner, the table's rsum[], rkey[] and rchild[]
 *    are copies of its summary line, first 16 keys and first 16
 *    children (root_sync()).
 */
#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "dma-table-private.h"

/*
 * Nodes and records come from the arena, not from malloc, so neither
 * AddressSanitizer nor valgrind would see a use after free inside it: what
 * the arena has not handed out (the rest of a chunk, freed objects but for
 * their free-list link) is marked inaccessible for whichever of the two
 * runs the program. Without either, these are no-ops.
 */
#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#define arena_forbid(p, n) ASAN_POISON_MEMORY_REGION(p, n)
#define arena_allow(p, n)  ASAN_UNPOISON_MEMORY_REGION(p, n)
#elif defined(HAVE_VALGRIND_MEMCHECK_H)
#include <valgrind/memcheck.h>
#define arena_forbid(p, n) ((void)VALGRIND_MAKE_MEM_NOACCESS(p, n))
#define arena_allow(p, n)  ((void)VALGRIND_MAKE_MEM_DEFINED(p, n))
#else
#define arena_forbid(p, n) ((void)(p), (void)(n))
#define arena_allow(p, n)  ((void)(p), (void)(n))
#endif

/* ---- the arena (see struct arena) ---- */

#define ARENA_SMALL (64u << 10)
#define ARENA_BIG   (2u << 20)
/* room before the first object of a chunk: its header, a line */
#define ARENA_HEADER 64

/* @size bytes of fresh zeroed memory aligned to @size, or NULL */
static void *chunk_map(size_t size)
{
	char *p = mmap(NULL, 2 * size, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	size_t head;

	if (p == MAP_FAILED)
		return NULL;
	head = (size - ((uintptr_t)p & (size - 1))) & (size - 1);
	if (head)
		munmap(p, head);
	munmap(p + head + size, size - head);
	p += head;
#ifdef MADV_HUGEPAGE
	/* a hint: without THP the chunk is 4 KiB pages, which works too */
	if (size >= ARENA_BIG)
		madvise(p, size, MADV_HUGEPAGE);
#endif
	return p;
}

/* @size (a multiple of 64) bytes from the arena, zeroed, aligned to 64 */
static void *arena_alloc(struct arena *a, size_t size, void **free_list)
{
	void *p = *free_list;

	if (p) {
		*free_list = *(void **)p;
		arena_allow(p, size);
		memset(p, 0, size);
		return p;
	}
	if ((size_t)(a->end - a->bump) < size) {
		/* 64 KiB, 128 KiB, ... 1 MiB, then 2 MiB: a small
		 * table never takes a huge page */
		size_t csize = a->chunk_count < 5
				       ? (size_t)ARENA_SMALL << a->chunk_count
				       : ARENA_BIG;
		struct arena_chunk *c = chunk_map(csize);

		if (!c)
			return NULL;
		c->next = a->chunks;
		c->size = csize;
		a->chunks = c;
		a->chunk_count++;
		a->bump = (char *)c + ARENA_HEADER;
		a->end = (char *)c + csize;
		arena_forbid(a->bump, csize - ARENA_HEADER);
	}
	p = a->bump;
	a->bump += size;
	a->carved += size;
	arena_allow(p, size);
	return p; /* fresh from mmap: zero */
}

/* whether [p, p + size) lies in a chunk of @a, aligned to a line */
static bool arena_holds(const struct arena *a, const void *p, size_t size)
{
	const char *c = p;

	if ((uintptr_t)p & 63)
		return false;
	for (const struct arena_chunk *k = a->chunks; k; k = k->next)
		if (c >= (const char *)k + ARENA_HEADER &&
		    c + size <= (const char *)k + k->size)
			return true;
	return false;
}

/* the first word of a freed object links the free list and stays
 * accessible; the rest is forbidden until it is handed out again */
static void arena_free(void *p, size_t size, void **free_list)
{
	*(void **)p = *free_list;
	*free_list = p;
	arena_forbid((char *)p + sizeof(void *), size - sizeof(void *));
}

static void arena_release(struct arena *a)
{
	while (a->chunks) {
		struct arena_chunk *c = a->chunks;

		a->chunks = c->next;
		/* the addresses may be mapped again by anyone */
		arena_allow(c, c->size);
		munmap(c, c->size);
	}
}

_Static_assert(sizeof(struct node) % 64 == 0 &&
		       sizeof(struct node) <= ARENA_SMALL - ARENA_HEADER,
	       "nodes are whole lines and fit a small chunk");

static struct node *node_alloc(struct vgpu_dma_table *t)
{
	return arena_alloc(&t->arena, sizeof(struct node), &t->arena.free_node);
}

static void node_release(struct vgpu_dma_table *t, struct node *nd)
{
	arena_free(nd, sizeof(struct node), &t->arena.free_node);
}

/* window records: a line each, so that reading one touches one line */
#define WIN_SIZE ((sizeof(struct vgpu_dma_window) + 63) & ~(size_t)63)
_Static_assert(ARENA_HEADER % 64 == 0 && WIN_SIZE % 64 == 0 &&
		       sizeof(struct node) % 64 == 0,
	       "records sit on line boundaries: a leaf tags their addresses "
	       "in the low 6 bits (win_tag())");

static struct vgpu_dma_window *win_alloc(struct vgpu_dma_table *t)
{
	return arena_alloc(&t->arena, WIN_SIZE, &t->arena.free_win);
}

static void win_release(struct vgpu_dma_table *t, struct vgpu_dma_window *w)
{
	arena_free(w, WIN_SIZE, &t->arena.free_win);
}

/* ---- nodes ---- */

/* the keys past the end: UINT64_MAX, for node_search() */
static void node_pad(struct node *nd)
{
	for (unsigned int i = nd->n; i < NODE_MAX; i++)
		nd->key[i] = UINT64_MAX;
	node_sync(nd);
}

static struct node *node_new(struct vgpu_dma_table *t, bool leaf)
{
	struct node *nd = node_alloc(t);

	if (!nd)
		return NULL;
	nd->leaf = leaf;
	nd->hint_refs = 0;
	node_pad(nd);
	return nd;
}

int vgpu_dma_table_new(struct vgpu_dma_table **ret)
{
	struct vgpu_dma_table *t;

	if (!ret)
		return -EINVAL;
	if (posix_memalign((void **)&t, 64, sizeof(*t)))
		return -ENOMEM;
	memset(t, 0, sizeof(*t));
	t->root = node_new(t, true);
	if (!t->root) {
		arena_release(&t->arena);
		free(t);
		return -ENOMEM;
	}
	atomic_init(&t->cache, NULL);
	*ret = t;
	return 0;
}

static void node_free(struct node *nd,
		      void (*release)(struct vgpu_dma_window *, void *),
		      void *data)
{
	for (unsigned int i = 0; i < nd->n; i++) {
		if (!nd->leaf)
			node_free(nd->child[i], release, data);
		else if (release)
			release(leaf_win(nd, i), data);
	}
}

void vgpu_dma_table_free(struct vgpu_dma_table *t,
			 void (*release)(struct vgpu_dma_window *, void *),
			 void *data)
{
	if (!t)
		return;
	vgpu_dma_table_log_stop(t);
	/* the windows go to @release; their memory and the nodes' goes
	 * with the arena */
	node_free(t->root, release, data);
	dma_hint_free(t);
	arena_release(&t->arena);
	free(t);
}

size_t vgpu_dma_table_count(const struct vgpu_dma_table *t)
{
	return t ? t->count : 0;
}

int vgpu_dma_table_foreach(const struct vgpu_dma_table *t,
			   int (*fn)(struct vgpu_dma_window *, void *),
			   void *data)
{
	const struct node *leaf;

	if (!t || !fn)
		return -EINVAL;
	for (leaf = edge_leaf(t, false); leaf; leaf = leaf->next)
		for (unsigned int i = 0; i < leaf->n; i++) {
			int r = fn(leaf_win(leaf, i), data);

			if (r)
				return r;
		}
	return 0;
}

/* ---- insert ---- */

struct path {
	struct node *node[MAX_DEPTH + 1];
	unsigned int idx[MAX_DEPTH + 1]; /* child index taken in node[level] */
};

/* descend to the leaf for @addr, recording the way down */
static struct node *descend(struct vgpu_dma_table *t, uint64_t addr,
			    struct path *p)
{
	struct node *nd = t->root;
	unsigned int level = 0;

	while (!nd->leaf) {
		unsigned int i = inner_pick(nd, addr);

		p->node[level] = nd;
		p->idx[level] = i;
		level++;
		nd = nd->child[i];
	}
	p->node[level] = nd;
	return nd;
}

/* insert (key, ptr) at @pos of inner node @nd, which has room */
static void inner_put(struct node *nd, unsigned int pos, uint64_t key,
		      struct node *child)
{
	memmove(&nd->key[pos + 1], &nd->key[pos],
		(nd->n - pos) * sizeof(nd->key[0]));
	memmove(&nd->child[pos + 1], &nd->child[pos],
		(nd->n - pos) * sizeof(nd->child[0]));
	nd->key[pos] = key;
	nd->child[pos] = child;
	nd->n++;
	node_sync(nd);
}

/*
 * move @n leaf entries (keys and entries) from @src[@spos] to @dst[@dpos];
 * the caller refreshes @dst's summary
 */
static void leaf_move(struct node *dst, unsigned int dpos,
		      const struct node *src, unsigned int spos, unsigned int n)
{
	if (!n)
		return; /* the usual insert and remove: at the end of a leaf */
	memmove(&dst->key[dpos], &src->key[spos], n * sizeof(src->key[0]));
	memmove(&dst->wtag[dpos], &src->wtag[spos], n * sizeof(src->wtag[0]));
	memmove(&dst->last[dpos], &src->last[spos], n * sizeof(src->last[0]));
	memmove(&dst->host[dpos], &src->host[spos], n * sizeof(src->host[0]));
	/* no node_sync(): every caller syncs once it is done with the keys */
}

static void leaf_put(struct node *nd, unsigned int pos,
		     struct vgpu_dma_window *w)
{
	leaf_move(nd, pos + 1, nd, pos, nd->n - pos);
	nd->key[pos] = w->iova;
	nd->wtag[pos] = win_tag(w);
	nd->last[pos] = win_last(w);
	nd->host[pos] = win_host(w);
	nd->n++;
	node_sync(nd);
}

/*
 * Pre-allocate the nodes an insert may need (one per level plus a new
 * root), so that a failed allocation leaves the tree untouched.
 */
static int reserve(struct vgpu_dma_table *t, struct node **spare,
		   unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		spare[i] = node_new(t, false);
		if (!spare[i]) {
			while (i--)
				node_release(t, spare[i]);
			return -ENOMEM;
		}
	}
	return 0;
}

/*
 * Split full node @nd, the right half going to a spare node. @append: the
 * entry that made it overflow goes past the end of the rightmost node of
 * its level (windows mapped in ascending order): a leaf keeps them all
 * and the new leaf starts with the new window alone, so that ascending
 * maps fill leaves completely (64 leaves of 64 windows under one root for
 * 4096 windows, not a second level for the 4033rd); an inner node keeps
 * all but one, as it must hand the new one two children.
 */
static struct node *split_with(struct node *nd, struct node **spare,
			       unsigned int *used, bool append)
{
	struct node *r = spare[(*used)++];
	unsigned int keep = !append    ? NODE_MAX / 2
			    : nd->leaf ? NODE_MAX
				       : NODE_MAX - 1;
	unsigned int move = NODE_MAX - keep;

	r->leaf = nd->leaf;
	if (nd->leaf) {
		leaf_move(r, 0, nd, keep, move);
		r->next = nd->next;
		if (r->next)
			r->next->prev = r;
		r->prev = nd;
		nd->next = r;
	} else {
		memcpy(r->key, &nd->key[keep], move * sizeof(nd->key[0]));
		memcpy(r->child, &nd->child[keep], move * sizeof(nd->child[0]));
	}
	r->n = move;
	nd->n = keep;
	node_pad(nd);
	node_pad(r);
	return r;
}

/*
 * Refresh the table's copies of an inner root (rsum[], rkey[], rchild[]:
 * struct vgpu_dma_table in dma-table-private.h) after a change that may
 * have reached the root: a split (insert) or a rebalance that changed it
 * (remove). Every other change of the tree leaves the root as it was (a
 * leaf's first key may change without its separator: the separators may
 * be stale low).
 * vgpu_dma_table_check() compares the copies with the root.
 */
static void root_sync(struct vgpu_dma_table *t)
{
	const struct node *r = t->root;

	if (!t->depth)
		return; /* a leaf root: lookups read it, not the copies */
	memcpy(t->rsum, r->sum, sizeof(t->rsum));
	memcpy(t->rkey, r->key, sizeof(t->rkey));
	memcpy(t->rchild, r->child, sizeof(t->rchild));
}

int vgpu_dma_table_insert(struct vgpu_dma_table *t,
			  const struct vgpu_dma_window *tmpl,
			  struct vgpu_dma_window **ret)
{
	struct node *spare[MAX_DEPTH + 2];
	unsigned int level, used = 0, need;
	struct vgpu_dma_window *w;
	struct node *leaf, *nd, *dst;
	struct path p;
	uint64_t last;
	int pos, r;

	if (!t || !tmpl)
		return -EINVAL;
	if (!tmpl->len || tmpl->iova + (tmpl->len - 1) < tmpl->iova ||
	    (tmpl->prot & ~(VGPU_DMA_READ | VGPU_DMA_WRITE)))
		return -EINVAL;
	last = tmpl->iova + (tmpl->len - 1);

	leaf = descend(t, tmpl->iova, &p);
	pos = node_floor(leaf, tmpl->iova);
	/* predecessor: the window starting at or before iova */
	if (pos >= 0) {
		if (leaf->last[pos] >= tmpl->iova)
			return -EEXIST;
	} else if (leaf->prev &&
		   leaf->prev->last[leaf->prev->n - 1] >= tmpl->iova) {
		return -EEXIST;
	}
	/* successor: the first window starting after iova */
	pos++;
	if ((unsigned int)pos < leaf->n) {
		if (leaf->key[pos] <= last)
			return -EEXIST;
	} else if (leaf->next && leaf->next->n && leaf->next->key[0] <= last) {
		return -EEXIST;
	}

	w = win_alloc(t);
	if (!w)
		return -ENOMEM;
	*w = *tmpl;
	w->pins = 0;
	w->dirty_all = false;
	/* how many nodes splitting may need: full nodes from the leaf up */
	need = 0;
	for (level = t->depth + 1; level-- > 0;) {
		if (p.node[level]->n < NODE_MAX)
			break;
		need++;
	}
	if (need == t->depth + 1)
		need++; /* a new root */
	r = reserve(t, spare, need);
	if (r < 0) {
		win_release(t, w);
		return r;
	}

	level = t->depth;
	dst = leaf;
	if (leaf->n < NODE_MAX) {
		leaf_put(leaf, (unsigned int)pos, w);
	} else {
		bool append = !leaf->next && (unsigned int)pos == leaf->n;
		struct node *right = split_with(leaf, spare, &used, append);
		uint64_t sep;

		dma_hint_moved(t, leaf, right->n);
		/* an appending split left @leaf full */
		if ((unsigned int)pos <= leaf->n && leaf->n < NODE_MAX) {
			leaf_put(leaf, (unsigned int)pos, w);
		} else {
			pos -= (int)leaf->n;
			dst = right;
			leaf_put(right, (unsigned int)pos, w);
		}
		sep = right->key[0];
		nd = right;
		/* push (sep, nd) into the parents, splitting full ones */
		for (;;) {
			struct node *parent, *pr;
			unsigned int at;

			if (level == 0) {
				struct node *root = spare[used++];

				root->leaf = false;
				root->n = 2;
				root->key[0] = 0; /* never read */
				root->child[0] = t->root;
				root->key[1] = sep;
				root->child[1] = nd;
				node_sync(root);
				t->root = root;
				t->depth++;
				break;
			}
			level--;
			parent = p.node[level];
			at = p.idx[level] + 1;
			if (parent->n < NODE_MAX) {
				inner_put(parent, at, sep, nd);
				break;
			}
			pr = split_with(parent, spare, &used,
					append && at == parent->n);
			if (at <= parent->n && parent->n < NODE_MAX)
				inner_put(parent, at, sep, nd);
			else
				inner_put(pr, at - parent->n, sep, nd);
			sep = pr->key[0];
			nd = pr;
		}
		root_sync(t); /* the split may have reached the root */
	}
	while (used < need)
		node_release(t, spare[used++]); /* never in the tree */
	t->count++;
	dma_hint_insert(t, dst, (unsigned int)pos);
	if (ret)
		*ret = w;
	return 0;
}

/* ---- remove ---- */

static void node_del(struct node *nd, unsigned int pos)
{
	unsigned int tail = nd->n - pos - 1;

	if (nd->leaf) {
		leaf_move(nd, pos, nd, pos + 1, tail);
	} else {
		memmove(&nd->key[pos], &nd->key[pos + 1],
			tail * sizeof(nd->key[0]));
		memmove(&nd->child[pos], &nd->child[pos + 1],
			tail * sizeof(nd->child[0]));
	}
	nd->n--;
	nd->key[nd->n] = UINT64_MAX; /* padding again */
	node_sync(nd);
}

/* the first key below inner/leaf node @nd */
static uint64_t min_key(const struct node *nd)
{
	while (!nd->leaf)
		nd = nd->child[0];
	return nd->key[0];
}

/* move entry @from_pos of @from to position @to_pos of @to */
static void move_entry(struct node *to, unsigned int to_pos, struct node *from,
		       unsigned int from_pos)
{
	if (to->leaf) {
		struct vgpu_dma_window *w = leaf_win(from, from_pos);

		node_del(from, from_pos);
		leaf_put(to, to_pos, w);
	} else {
		struct node *c = from->child[from_pos];

		node_del(from, from_pos);
		inner_put(to, to_pos, min_key(c), c);
		/* key[0] is never maintained: give the shifted one a real key */
		if (to_pos + 1 < to->n)
			to->key[to_pos + 1] = min_key(to->child[to_pos + 1]);
		node_sync(to);
	}
}

/* append all of @r to @l and free @r */
static void merge(struct vgpu_dma_table *t, struct node *l, struct node *r)
{
	if (l->leaf) {
		leaf_move(l, l->n, r, 0, r->n);
		l->next = r->next;
		if (l->next)
			l->next->prev = l;
	} else {
		memcpy(&l->key[l->n], r->key, r->n * sizeof(r->key[0]));
		memcpy(&l->child[l->n], r->child, r->n * sizeof(r->child[0]));
		/* the separator of r's first child was stale in r (key[0]) */
		l->key[l->n] = min_key(r->child[0]);
	}
	l->n += r->n;
	node_sync(l);
	dma_hint_drop(t, r);
	node_release(t, r);
}

/* restore the fill of node p->node[level] after a deletion; whether that
 * changed the root (its entries, or which node it is) */
static bool rebalance(struct vgpu_dma_table *t, struct path *p,
		      unsigned int level)
{
	while (level > 0) {
		struct node *nd = p->node[level];
		struct node *parent = p->node[level - 1];
		unsigned int idx = p->idx[level - 1];
		struct node *l = idx > 0 ? parent->child[idx - 1] : NULL;
		struct node *r =
			idx + 1 < parent->n ? parent->child[idx + 1] : NULL;

		if (nd->n >= NODE_MIN)
			return false;
		if (l && l->n > NODE_MIN) {
			move_entry(nd, 0, l, l->n - 1);
			dma_hint_moved(t, l, 1);
			dma_hint_moved(t, nd, 1);
			parent->key[idx] = min_key(nd);
			node_sync(parent);
			return level == 1;
		}
		if (r && r->n > NODE_MIN) {
			move_entry(nd, nd->n, r, 0);
			dma_hint_moved(t, r, 1);
			parent->key[idx + 1] = min_key(r);
			node_sync(parent);
			return level == 1;
		}
		if (l) {
			merge(t, l, nd);
			node_del(parent, idx);
		} else if (r) {
			merge(t, nd, r);
			node_del(parent, idx + 1);
		} else {
			return false; /* only child: not below the root */
		}
		level--;
	}
	/* the root: collapse an inner root with one child */
	while (!t->root->leaf && t->root->n == 1) {
		struct node *old = t->root;

		t->root = old->child[0];
		node_release(t, old);
		t->depth--;
	}
	return true;
}

int vgpu_dma_table_remove(struct vgpu_dma_table *t, uint64_t iova, uint64_t len,
			  struct vgpu_dma_window *out)
{
	struct vgpu_dma_window *w;
	struct node *leaf;
	struct path p;
	int pos;

	if (!t)
		return -EINVAL;
	leaf = descend(t, iova, &p);
	pos = node_floor(leaf, iova);
	if (pos < 0 || leaf->key[pos] != iova ||
	    leaf->last[pos] - iova != len - 1)
		return -ENOENT;
	w = leaf_win(leaf, pos);
	if (w->pins)
		return -EBUSY;
	dma_hint_unname(t, leaf, (unsigned int)pos);
	node_del(leaf, (unsigned int)pos);
	if (rebalance(t, &p, t->depth))
		root_sync(t);
	t->count--;
	dma_hint_removed(t);
	atomic_store_explicit(&t->cache, NULL, memory_order_relaxed);
	dma_log_forget(t, w->iova, w->iova + (w->len - 1));
	if (out)
		*out = *w;
	win_release(t, w);
	return 0;
}

/* ---- pinning (translation: dma-lookup.c) ---- */

int vgpu_dma_table_pin(struct vgpu_dma_table *t, uint64_t iova, uint64_t len,
		       uint32_t prot, struct vgpu_dma_sg *sg, size_t max)
{
	int n = vgpu_dma_table_translate(t, iova, len, prot, sg, max);

	if (n < 0)
		return n;
	if ((size_t)n > max)
		return -ENOSPC;
	for (int i = 0; i < n; i++)
		vgpu_dma_sg_win(&sg[i])->pins++;
	return n;
}

void vgpu_dma_table_unpin(struct vgpu_dma_table *t,
			  const struct vgpu_dma_sg *sg, size_t n)
{
	if (!t || !sg)
		return;
	for (size_t i = 0; i < n; i++) {
		struct vgpu_dma_window *w = vgpu_dma_sg_win(&sg[i]);

		if (w && w->pins)
			w->pins--;
	}
}

/* ---- consistency check, for the test suite ---- */

static int check_node(const struct vgpu_dma_table *t, const struct node *nd,
		      unsigned int depth, bool root, bool rightmost,
		      uint64_t lo, bool has_lo, uint64_t hi, bool has_hi,
		      const struct node **prev_leaf, size_t *count,
		      size_t *nodes)
{
	if (!arena_holds(&t->arena, nd, sizeof(*nd)))
		return -EUCLEAN;
	++*nodes;
	if (nd->n > NODE_MAX ||
	    (!root && (rightmost ? !nd->n : nd->n < NODE_MIN)))
		return -EUCLEAN;
	if (nd->leaf != (depth == 0))
		return -EUCLEAN;
	for (unsigned int i = nd->n; i < NODE_MAX; i++)
		if (nd->key[i] != UINT64_MAX)
			return -EUCLEAN;
	if (nd->sum[0] != nd->n)
		return -EUCLEAN;
	for (unsigned int j = 1; j < NODE_MAX / 8; j++)
		if (nd->sum[j] != nd->key[8 * j])
			return -EUCLEAN;
	if (nd->leaf) {
		if (nd->prev != *prev_leaf ||
		    (*prev_leaf && (*prev_leaf)->next != nd))
			return -EUCLEAN;
		for (unsigned int i = 0; i < nd->n; i++) {
			const struct vgpu_dma_window *w = leaf_win(nd, i);

			if (!arena_holds(&t->arena, w, WIN_SIZE) ||
			    nd->key[i] != w->iova || !w->len ||
			    win_last(w) < w->iova ||
			    (has_lo && nd->key[i] < lo) ||
			    (has_hi && nd->key[i] >= hi))
				return -EUCLEAN;
			/* the leaf's copies of the record */
			if (nd->last[i] != win_last(w) ||
			    nd->host[i] != win_host(w) ||
			    nd->wtag[i] != win_tag(w))
				return -EUCLEAN;
			if (i && nd->last[i - 1] >= nd->key[i])
				return -EUCLEAN;
		}
		if (*prev_leaf && (*prev_leaf)->n && nd->n &&
		    (*prev_leaf)->last[(*prev_leaf)->n - 1] >= nd->key[0])
			return -EUCLEAN;
		*prev_leaf = nd;
		*count += nd->n;
		return 0;
	}
	if (nd->n < 2)
		return -EUCLEAN;
	for (unsigned int i = 0; i < nd->n; i++) {
		uint64_t clo = i ? nd->key[i] : lo;
		bool chas_lo = i ? true : has_lo;
		uint64_t chi = i + 1 < nd->n ? nd->key[i + 1] : hi;
		bool chas_hi = i + 1 < nd->n ? true : has_hi;
		int r;

		if (i > 1 && nd->key[i - 1] >= nd->key[i])
			return -EUCLEAN;
		r = check_node(t, nd->child[i], depth - 1, false,
			       rightmost && i + 1 == nd->n, clo, chas_lo, chi,
			       chas_hi, prev_leaf, count, nodes);
		if (r)
			return r;
	}
	return 0;
}

int vgpu_dma_table_check(const struct vgpu_dma_table *t)
{
	const struct node *prev = NULL;
	size_t count = 0, nodes = 0, free_nodes = 0, free_wins = 0;
	int r;

	if (!t)
		return -EINVAL;
	r = check_node(t, t->root, t->depth, true, true, 0, false, 0, false,
		       &prev, &count, &nodes);
	if (r)
		return r;
	if ((prev && prev->next) || count != t->count)
		return -EUCLEAN;
	/* the copies of an inner root */
	if (t->depth && memcmp(t->rsum, t->root->sum, sizeof(t->rsum)))
		return -EUCLEAN;
	for (unsigned int i = 0; t->depth && i < ROOT_COPY; i++)
		if ((i && t->rkey[i] != t->root->key[i]) ||
		    (i < t->root->n && t->rchild[i] != t->root->child[i]))
			return -EUCLEAN;
	r = dma_hint_check(t);
	if (r)
		return r;
	/* the arena: what the free lists hold is in its chunks, and every
	 * byte handed out is a node or record of the tree or on a free list */
	for (void *p = t->arena.free_node; p; p = *(void **)p, free_nodes++)
		if (!arena_holds(&t->arena, p, sizeof(struct node)))
			return -EUCLEAN;
	for (void *p = t->arena.free_win; p; p = *(void **)p, free_wins++)
		if (!arena_holds(&t->arena, p, WIN_SIZE))
			return -EUCLEAN;
	if (t->arena.carved != (nodes + free_nodes) * sizeof(struct node) +
				       (count + free_wins) * WIN_SIZE)
		return -EUCLEAN;
	return 0;
}
