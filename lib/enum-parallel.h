/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Overlapping the kernel's work in a listing of many parents: the items
 * 0..n-1 of an enumeration are taken one at a time by a few worker threads
 * and the calling thread, which waits for every worker to leave the
 * listing before it returns.  The workers belong to the context: started
 * by the first listing that wants them, they wait for the next one and
 * end after VGPU_ENUM_IDLE_MS with nothing to do, or with the context.  A
 * step run in a worker only reads sysfs or files into memory of its own item (plain buffers, or
 * objects that refer to no context, such as a vgpu_config): it takes no
 * reference and logs nothing, so that the objects, their order, the
 * errors and every log message still come from the calling thread, in the
 * order the sequential code gives them.  See docs/architecture.md.
 */
#ifndef ENUM_PARALLEL_H
#define ENUM_PARALLEL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>

struct vgpu_ctx;
struct vgpu_enum_pool;

/* below this many items no thread is started, unless a caller whose items
 * are cheaper asks for more (the @min_items of the calls below) */
#define VGPU_ENUM_MIN_ITEMS 16
/* items per worker at least, and most workers */
#define VGPU_ENUM_ITEMS_PER_THREAD 8
#define VGPU_ENUM_MAX_THREADS	   8
/* a context's worker that had nothing to do for this long ends */
#define VGPU_ENUM_IDLE_MS 1000

/* how many threads (the calling one included) would read @n items:
 * min(usable CPUs, VGPU_ENUM_MAX_THREADS, n / 8), 1 below @min_items
 * (at least VGPU_ENUM_MIN_ITEMS); VGPU_ENUM_THREADS=N in the environment
 * caps it (1: all sequential, for debugging) or, above the CPU count,
 * raises it (tests of the threaded path on a small machine) */
unsigned int vgpu_enum_threads(struct vgpu_ctx *ctx, size_t n,
			       size_t min_items);

/* one enumeration under way (vgpu_enum_start() to vgpu_enum_finish()) */
struct vgpu_enum_job {
	void (*step)(void *data, size_t i);
	void *data;
	size_t n;
	atomic_size_t next; /* the next item to take */
	/* the context's workers' pool (NULL: the calling thread reads all),
	 * the seats left for them, those inside, the next job in the pool's
	 * queue (under the pool's lock) */
	struct vgpu_enum_pool *pool;
	unsigned int seats, users;
	struct vgpu_enum_job *queued;
	/* vgpu_enum_start_ordered(): which items have run (NULL: not asked
	 * for, or no memory for it) */
	atomic_bool *done;
};

/* start the workers of an enumeration of @n items (none below @min_items,
 * see vgpu_enum_threads()) and return at once, so that the calling thread
 * can do other work before it joins in with vgpu_enum_finish(); signals are
 * blocked in the workers.  @job must stay valid until then. */
void vgpu_enum_start(struct vgpu_ctx *ctx, struct vgpu_enum_job *job, size_t n,
		     size_t min_items, void (*step)(void *data, size_t i),
		     void *data);

/* vgpu_enum_start() for vgpu_enum_finish_ordered(): which items have run
 * is kept */
void vgpu_enum_start_ordered(struct vgpu_ctx *ctx, struct vgpu_enum_job *job,
			     size_t n, size_t min_items,
			     void (*step)(void *data, size_t i), void *data);

/* run one item that no thread has taken yet in the calling thread: false
 * when every item is taken (some may still be running in workers) */
bool vgpu_enum_help(struct vgpu_enum_job *job);

/* vgpu_enum_finish() of a job from vgpu_enum_start_ordered(), and
 * @use(@data, i) for every item in order, in the calling thread: an item
 * is used as soon as it and those before it have run, between the items
 * this thread runs itself, so that making objects of what was read
 * overlaps the workers' reading instead of following it. After a negative
 * answer no more items are used; the first one is returned, else 0. */
int vgpu_enum_finish_ordered(struct vgpu_enum_job *job,
			     int (*use)(void *data, size_t i));

/* run the items no worker took in the calling thread, then join the
 * workers: when it returns, @step has run for every item */
void vgpu_enum_finish(struct vgpu_enum_job *job);

/* call @step(@data, i) for every i < @n, spread over vgpu_enum_threads()
 * threads; returns when all are done.  When a thread cannot be started
 * the others (the calling thread at least) take its share. */
void vgpu_enum_run(struct vgpu_ctx *ctx, size_t n, size_t min_items,
		   void (*step)(void *data, size_t i), void *data);

/* stop and join the workers of a context (vgpu_ctx_unref()); in a child
 * of fork(), where the parent's threads are not, only the memory goes */
void vgpu_enum_pool_free(struct vgpu_enum_pool *pool);

#endif
