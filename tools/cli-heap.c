/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl's heap: grown in large steps, with transparent huge pages allowed
 * above its first 256 KiB.
 *
 * Listing a big host (thousands of instances) allocates a few MiB in small
 * blocks, and a process that lives for a few tens of milliseconds pays one
 * page fault for every 4 KiB of heap it touches. In a virtual machine a
 * fault costs far more than on bare metal: on the 2-vCPU guest of
 * docs/testing.md, touching fresh memory took 10 us per 4 KiB page, against
 * 0.2 us per 4 KiB inside a 2 MiB page, and the heap's faults were a fifth
 * of the processor time of `vgpuctl mdevctl list` on 4,096 instances. So,
 * before anything is allocated, cli_heap_setup() has glibc's allocator
 *  - grow the heap by CLI_HEAP_STEP at a time (M_TOP_PAD) and keep what it
 *    has while the process runs (M_TRIM_THRESHOLD): no shrinking and
 *    growing again onto fresh pages;
 *  - keep blocks below CLI_HEAP_STEP in the heap (M_MMAP_THRESHOLD) rather
 *    than in mappings of their own, which a realloc() of a growing array
 *    moves to fresh pages each time;
 * and lays the heap out in three parts: the first CLI_HEAP_SMALL bytes on
 * ordinary pages, so that a command that allocates little never has a
 * 2 MiB page cleared for it; a block that is kept and never touched, up to
 * the next 2 MiB boundary; then the rest, where the kernel is asked for
 * huge pages (MADV_HUGEPAGE, honoured in its default "madvise" mode).
 * Memory never touched costs nothing, and where THP is off or the kernel
 * has no huge page at hand, ordinary pages back the heap as before.
 *
 * With another C library or a glibc before 2.33, another allocator
 * (valgrind's, a sanitizer's), or a heap that something set up before
 * main(), it does less or nothing; it never fails.
 */
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>
#ifdef __GLIBC__
#include <malloc.h>
/* mallinfo2() is glibc 2.33's */
#if __GLIBC_PREREQ(2, 33) && defined(M_TOP_PAD) && defined(MADV_HUGEPAGE)
#define CLI_HEAP_GLIBC 1
#endif
#endif

#include "cli.h"

#define CLI_HEAP_STEP ((size_t)8 << 20)
#define CLI_HEAP_HUGE ((uintptr_t)2 << 20)
/* the heap below the huge pages, for commands that allocate little */
#define CLI_HEAP_SMALL ((size_t)256 << 10)
/* what glibc's allocator puts before a block's data (two size_t) */
#define CLI_HEAP_HEADER 16

/* the block that fills the heap up to the first 2 MiB boundary */
static void *heap_spacer;

void cli_heap_setup(void)
{
#ifdef CLI_HEAP_GLIBC
	uintptr_t start = (uintptr_t)sbrk(0), next, first, end;
	void *probe, *small;

	if (start == (uintptr_t)-1 || mallinfo2().arena != 0)
		return; /* no brk heap, or one already in use */
	if (!mallopt(M_MMAP_THRESHOLD, (int)CLI_HEAP_STEP) ||
	    !mallopt(M_TRIM_THRESHOLD, (int)(4 * CLI_HEAP_STEP)) ||
	    !mallopt(M_TOP_PAD, (int)CLI_HEAP_STEP))
		return;
	/* the first block sets the allocator up and grows the heap by a
	 * step; the blocks after it are laid out in order */
	probe = malloc(1);
	end = (uintptr_t)sbrk(0);
	if (!probe || (uintptr_t)probe < start || (uintptr_t)probe >= end ||
	    !(small = malloc(CLI_HEAP_SMALL))) {
		/* not glibc's heap (valgrind, a sanitizer) */
		free(probe);
		return;
	}
	next = (uintptr_t)small + malloc_usable_size(small) -
	       CLI_HEAP_HEADER / 2;
	first = (next + 4 * CLI_HEAP_HEADER + CLI_HEAP_HUGE - 1) &
		~(CLI_HEAP_HUGE - 1);
	/* the spacer takes [next, first - 16): the header of the block
	 * after it, which malloc() writes now, lies below @first, whose 2 MiB
	 * are then untouched (a page touched in a 2 MiB range before
	 * madvise() keeps the whole range on 4 KiB pages) */
	if (first < end)
		heap_spacer = malloc(first - next - 2 * CLI_HEAP_HEADER);
	/* what a command that allocates little needs comes from @small,
	 * on 4 KiB pages */
	free(small);
	free(probe);
	end = (uintptr_t)sbrk(0);
	if (heap_spacer && end > first)
		madvise((void *)first, end - first, MADV_HUGEPAGE);
#endif
}
