/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Overlapping the kernel's work in a listing of many parents: the items
 * 0..n-1 of an enumeration are split into contiguous ranges, one per worker
 * thread, and the calling thread joins every worker before returning.  No
 * thread outlives the call.  A step run in a worker may only read sysfs
 * into memory of its own item: it allocates no library object, takes no
 * reference and logs nothing, so that the objects, their order, the errors
 * and every log message still come from the calling thread, in the order
 * the sequential code gives them.  See docs/architecture.md.
 */
#ifndef ENUM_PARALLEL_H
#define ENUM_PARALLEL_H

#include <stddef.h>

struct vgpu_ctx;

/* below this many items no thread is started, unless a caller whose items
 * are cheaper asks for more (the @min_items of the calls below) */
#define VGPU_ENUM_MIN_ITEMS 16
/* items per worker at least, and most workers */
#define VGPU_ENUM_ITEMS_PER_THREAD 8
#define VGPU_ENUM_MAX_THREADS	   8

/* how many threads (the calling one included) would read @n items:
 * min(usable CPUs, VGPU_ENUM_MAX_THREADS, n / 8), 1 below @min_items
 * (at least VGPU_ENUM_MIN_ITEMS); VGPU_ENUM_THREADS=N in the environment
 * caps it (1: all sequential, for debugging) or, above the CPU count,
 * raises it (tests of the threaded path on a small machine) */
unsigned int vgpu_enum_threads(struct vgpu_ctx *ctx, size_t n,
			       size_t min_items);

/* call @step(@data, i) for every i < @n, spread over vgpu_enum_threads()
 * threads; returns when all are done.  When a thread cannot be started
 * its range runs in the calling thread. */
void vgpu_enum_run(struct vgpu_ctx *ctx, size_t n, size_t min_items,
		   void (*step)(void *data, size_t i), void *data);

#endif
