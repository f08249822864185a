/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A table of DMA windows [iova, iova + len): the client's (or the kernel
 * IOMMU's) view of which I/O virtual addresses are mapped, and to what.
 *
 * Backend-neutral: the table stores the attributes it is given (protection,
 * a file descriptor and offset, a host mapping, user data) and never closes,
 * maps or unmaps anything itself; whoever inserts a window releases its
 * resources after removing it (vgpu_dma_table_remove() hands the attributes
 * back) or from the release callback of vgpu_dma_table_free().
 *
 * Structure: a B+tree with 64-way nodes whose keys sit in one array per
 * node, leaves linked in address order. A lookup touches 4 nodes at 1M
 * windows, two cache lines each (see dma-table-private.h), and at the leaf
 * the lines that hold the window's end, host address and tagged record
 * address; translate does not read the record. Before the tree, a lookup
 * asks the slice index (dma-hint.c): one load of an array indexed by the
 * address's slice, then one line of keys, which answers most lookups in
 * a table whose windows are spread out and mapped in order, kept
 * stale-but-safe by inserts and removals, switched off where changes at
 * random places move the entries it names, rebuilt in O(1) per change
 * over time; up to 32 bytes per window (64 after the table shrinks). tests/bench-dma times
 * translate against a binary search over a sorted array of the window
 * starts. Insert and remove are O(log n) (a sorted array would need O(n)
 * moves). Window records are allocated apart from the nodes (from the
 * table's arena) so that pointers to them stay valid while the tree
 * rebalances, which is what pinning relies on.
 *
 * Thread safety: none inside. Writers (insert, remove, pin, unpin, dirty
 * logging) need exclusive access; vgpu_dma_table_find() and
 * vgpu_dma_table_translate() may run concurrently with each other under a
 * shared lock (their one-entry cache is updated with relaxed atomics).
 */
#ifndef VGPU_DMA_TABLE_H
#define VGPU_DMA_TABLE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "libvgpu.h"

/*
 * Protection is VGPU_DMA_READ / VGPU_DMA_WRITE (libvgpu.h) everywhere inside
 * the library: one name for one thing. The vfio-user wire bits
 * (VFU_DMA_MAP_READ/WRITE) and the kernel's VFIO_DMA_MAP_FLAG_* and PROT_*
 * are converted where the message or system call is made.
 */

struct vgpu_dma_table;

struct vgpu_dma_window {
	/* set by the caller of vgpu_dma_table_insert(), then read-only */
	uint64_t iova;
	uint64_t len;
	uint64_t offset; /* of the window inside fd */
	void *vaddr;	 /* host mapping of iova, or NULL (message access) */
	void *userdata;
	int fd;	       /* -1 when none */
	uint32_t prot; /* VGPU_DMA_READ | VGPU_DMA_WRITE */
	/* vaddr may fault (SIGBUS): the file behind it can shrink. Copy
	 * with a call that fails instead (process_vm_readv), never pin */
	bool guarded;
	/* owned by the table */
	uint32_t pins;
	bool dirty_all; /* logging: every page counts as dirty (see log_start) */
};

/*
 * A window's tagged address, as the table's leaves keep it and as translate
 * answers with it: the address of its record (64-byte aligned) with, in the
 * low bits, the protection the window lacks (so that a translation tests
 * tag & prot: one instruction), whether it is guarded, and whether it has
 * no host address.
 */
#define WIN_TAG_PROT	(VGPU_DMA_READ | VGPU_DMA_WRITE)
#define WIN_TAG_GUARDED (1u << 2)
#define WIN_TAG_NOHOST	(1u << 3) /* no host address: message-only */
#define WIN_TAG_MASK	((uintptr_t)63)

_Static_assert((WIN_TAG_PROT | WIN_TAG_GUARDED | WIN_TAG_NOHOST) <=
		       WIN_TAG_MASK,
	       "the tag bits fit below a record's 64-byte alignment");

/* the record of tagged address @tag */
static inline struct vgpu_dma_window *tag_win(uintptr_t tag)
{
	return (struct vgpu_dma_window *)(tag & ~WIN_TAG_MASK);
}

/*
 * One piece of a translated range, entirely inside one window. The window
 * is given by its tagged address, read with vgpu_dma_sg_win() and
 * vgpu_dma_sg_guarded(): translate stores the word as its leaf holds it.
 * The record's address and a guarded flag as fields of their own took
 * three instructions and a store more to take the word apart, on every
 * translation (1k windows: AVX-512 0.87 -> 0.75 of the floor, plain 1.32 ->
 * 1.21, docs/vfio-user.md).
 */
struct vgpu_dma_sg {
	uintptr_t wtag; /* the window's tagged address (WIN_TAG_*) */
	uint64_t iova;
	uint64_t len;
	void *vaddr; /* host address of iova, or NULL when the window has none */
};

/* the record of @sg's window (NULL for a zeroed piece) */
static inline struct vgpu_dma_window *
vgpu_dma_sg_win(const struct vgpu_dma_sg *sg)
{
	return tag_win(sg->wtag);
}

/* whether @sg's window is guarded: copy with care, never pin (see above) */
static inline bool vgpu_dma_sg_guarded(const struct vgpu_dma_sg *sg)
{
	return sg->wtag & WIN_TAG_GUARDED;
}

int vgpu_dma_table_new(struct vgpu_dma_table **ret);
/* remove every window, calling @release (may be NULL) on each; free */
void vgpu_dma_table_free(struct vgpu_dma_table *t,
			 void (*release)(struct vgpu_dma_window *w, void *data),
			 void *data);
size_t vgpu_dma_table_count(const struct vgpu_dma_table *t);

/*
 * Insert a copy of @tmpl (iova, len, offset, vaddr, userdata, fd, prot).
 * Returns 0, -EINVAL for a zero length, a range that wraps past 2^64 - 1 or
 * unknown prot bits, -EEXIST when it overlaps a window, -ENOMEM.
 * While dirty logging is on, the new window is logged too.
 */
int vgpu_dma_table_insert(struct vgpu_dma_table *t,
			  const struct vgpu_dma_window *tmpl,
			  struct vgpu_dma_window **ret);

/*
 * Remove the window that starts at @iova and is exactly @len long. Partial
 * unmaps are refused. @out (may be NULL) receives the window's attributes so
 * the caller can release its fd and mapping.
 * Returns 0, -ENOENT when no window matches exactly (including a second
 * remove of the same window), -EBUSY while the window is pinned.
 */
int vgpu_dma_table_remove(struct vgpu_dma_table *t, uint64_t iova, uint64_t len,
			  struct vgpu_dma_window *out);

/* the window containing @addr, or NULL */
struct vgpu_dma_window *vgpu_dma_table_find(const struct vgpu_dma_table *t,
					    uint64_t addr);

/* call @fn on every window in address order; stops at a non-zero return */
int vgpu_dma_table_foreach(const struct vgpu_dma_table *t,
			   int (*fn)(struct vgpu_dma_window *w, void *data),
			   void *data);

/*
 * Translate [iova, iova + len) into pieces, one per window crossed, each
 * window allowing @prot. Fills at most @max entries of @sg.
 * Returns the number of pieces (> @max means @sg was too short and only the
 * first @max are filled), -EINVAL for a zero length or a wrapping range,
 * -EFAULT when part of the range is unmapped, -EACCES when a window lacks
 * @prot.
 */
int vgpu_dma_table_translate(const struct vgpu_dma_table *t, uint64_t iova,
			     uint64_t len, uint32_t prot,
			     struct vgpu_dma_sg *sg, size_t max);

/*
 * Translate as above and take one pin on every window of the result; a
 * pinned window cannot be removed (-EBUSY) until vgpu_dma_table_unpin().
 * Returns the number of pieces, or the errors of translate, or -ENOSPC when
 * @max is too small (nothing is pinned then).
 */
int vgpu_dma_table_pin(struct vgpu_dma_table *t, uint64_t iova, uint64_t len,
		       uint32_t prot, struct vgpu_dma_sg *sg, size_t max);
void vgpu_dma_table_unpin(struct vgpu_dma_table *t,
			  const struct vgpu_dma_sg *sg, size_t n);

/*
 * Dirty logging with pages of @pgsize bytes (a power of two, 4 KiB to
 * 1 GiB), aligned to address 0. The bits are kept in chunks of 32768 pages
 * (a 4 KiB bitmap each), allocated when a page of the chunk is first marked
 * and freed when a report clears it: memory follows what was written, not
 * what was mapped. At most VGPU_DMA_LOG_BUDGET bytes of chunks per table; a
 * marking that would need more marks the windows it touches wholly dirty
 * (dirty_all) instead, which costs no memory and only makes a migration
 * copy more. Start allocates nothing; stop frees the chunks.
 * Returns 0, -EINVAL for a bad page size, -EALREADY when logging is on,
 * -ENOMEM.
 */
#define VGPU_DMA_LOG_BUDGET (16u << 20)
int vgpu_dma_table_log_start(struct vgpu_dma_table *t, uint64_t pgsize);
void vgpu_dma_table_log_stop(struct vgpu_dma_table *t);
bool vgpu_dma_table_logging(const struct vgpu_dma_table *t);
/* mark [iova, iova + len) written; unmapped parts are ignored */
void vgpu_dma_table_mark_dirty(struct vgpu_dma_table *t, uint64_t iova,
			       uint64_t len);
/*
 * Report the dirty pages of [iova, iova + len) as a bitmap of @pgsize pages
 * (a power of two >= the logging page size): bit k of @bitmap (an array of
 * u64) stands for the page at iova + k * pgsize. @bitmap_size is in bytes
 * and must hold DIV_ROUND_UP(len / pgsize, 64) words. @clear resets the
 * reported bits. Only the chunks in the range are read: the cost follows
 * the bitmap asked for and what was written, not the windows' sizes.
 * Returns 0, -EINVAL (not logging, bad page size or alignment, wrap), -ENOSPC
 * when the bitmap is too small.
 */
int vgpu_dma_table_log_report(struct vgpu_dma_table *t, uint64_t iova,
			      uint64_t len, uint64_t pgsize, uint64_t *bitmap,
			      size_t bitmap_size, bool clear);

/* bytes of dirty bitmap chunks allocated (for tests) */
size_t vgpu_dma_table_log_bytes(const struct vgpu_dma_table *t);

/* verify the tree's invariants (for tests): 0 or -EUCLEAN */
int vgpu_dma_table_check(const struct vgpu_dma_table *t);

#endif
