/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Worker threads for listings of many parents (see enum-parallel.h).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include "enum-parallel.h"
#include "libvgpu-private.h"
#include "util-sysfs.h"

unsigned int vgpu_enum_threads(struct vgpu_ctx *ctx, size_t n, size_t min_items)
{
	const char *env = secure_getenv("VGPU_ENUM_THREADS");
	unsigned int t = VGPU_ENUM_MAX_THREADS;
	bool forced = false;
	cpu_set_t cpus;
	long v;

	if (n < VGPU_ENUM_MIN_ITEMS || n < min_items)
		return 1;
	if (env && *env) {
		if (!vgpu_parse_long(env, 10, 1, VGPU_ENUM_MAX_THREADS, &v)) {
			t = (unsigned int)v;
			forced = true;
		} else {
			dbg(ctx, "VGPU_ENUM_THREADS=%s ignored (1 to %d)", env,
			    VGPU_ENUM_MAX_THREADS);
		}
	}
	/* by default no more threads than CPUs this one may run on; a
	 * number given in the environment is taken as it is (tests) */
	if (!forced && sched_getaffinity(0, sizeof(cpus), &cpus) == 0 &&
	    (unsigned int)CPU_COUNT(&cpus) < t)
		t = (unsigned int)CPU_COUNT(&cpus);
	if (n / VGPU_ENUM_ITEMS_PER_THREAD < t)
		t = (unsigned int)(n / VGPU_ENUM_ITEMS_PER_THREAD);
	return t ? t : 1;
}

/* take items one at a time until none is left: a thread that starts late
 * or meets slow items takes fewer of them */
static void run_items(struct vgpu_enum_job *job)
{
	while (vgpu_enum_help(job))
		;
}

/*
 * The worker threads of a context: started by the first enumeration that
 * wants them, they wait for the next one, and one that has had nothing to
 * do for VGPU_ENUM_IDLE_MS ends (joined by the next enumeration or by the
 * context's end). Jobs are queued; a worker takes a seat in the oldest
 * one that still has items and seats.
 */
struct vgpu_enum_pool {
	pthread_mutex_t lock;
	pthread_cond_t wake;	    /* for workers: a job is queued, or stop */
	pthread_cond_t left;	    /* for callers: a worker left a job */
	struct vgpu_enum_job *jobs; /* with seats left, oldest first */
	pthread_t tid[VGPU_ENUM_MAX_THREADS];
	/* slot state: 0 free, 1 running, 2 ended (to be joined) */
	unsigned char slot[VGPU_ENUM_MAX_THREADS];
	unsigned int n_running;
	bool stop;
	pid_t pid; /* the process the threads belong to */
};

/* a seat in the oldest job with items and seats left; the job leaves the
 * queue with its last seat or item (under the lock) */
static struct vgpu_enum_job *take_seat(struct vgpu_enum_pool *pool)
{
	struct vgpu_enum_job **pj = &pool->jobs, *job;

	while ((job = *pj)) {
		if (job->seats &&
		    atomic_load_explicit(&job->next, memory_order_relaxed) <
			    job->n) {
			if (--job->seats == 0)
				*pj = job->queued;
			job->users++;
			return job;
		}
		*pj = job->queued;
		job->queued = NULL;
	}
	return NULL;
}

struct slot_arg {
	struct vgpu_enum_pool *pool;
	unsigned int k;
};

static void *pool_worker(void *arg)
{
	struct vgpu_enum_pool *pool = ((struct slot_arg *)arg)->pool;
	unsigned int k = ((struct slot_arg *)arg)->k;

	free(arg);
	pthread_mutex_lock(&pool->lock);
	while (!pool->stop) {
		struct vgpu_enum_job *job = take_seat(pool);
		struct timespec until;

		if (job) {
			pthread_mutex_unlock(&pool->lock);
			run_items(job);
			pthread_mutex_lock(&pool->lock);
			if (--job->users == 0)
				pthread_cond_broadcast(&pool->left);
			continue;
		}
		clock_gettime(CLOCK_MONOTONIC, &until);
		until.tv_nsec += VGPU_ENUM_IDLE_MS * 1000000L;
		until.tv_sec += until.tv_nsec / 1000000000L;
		until.tv_nsec %= 1000000000L;
		if (pthread_cond_timedwait(&pool->wake, &pool->lock, &until) ==
			    ETIMEDOUT &&
		    !pool->jobs)
			break;
	}
	pool->slot[k] = 2;
	pool->n_running--;
	pthread_mutex_unlock(&pool->lock);
	return NULL;
}

static struct vgpu_enum_pool *pool_new(void)
{
	struct vgpu_enum_pool *pool = calloc(1, sizeof(*pool));
	pthread_condattr_t ca;

	if (!pool)
		return NULL;
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_mutex_init(&pool->lock, NULL);
	pthread_cond_init(&pool->wake, &ca);
	pthread_cond_init(&pool->left, NULL);
	pthread_condattr_destroy(&ca);
	pool->pid = getpid();
	return pool;
}

/* the pool of @ctx, made on first use; NULL: none can be had */
static struct vgpu_enum_pool *ctx_pool(struct vgpu_ctx *ctx)
{
	if (ctx->enum_pool && ctx->enum_pool->pid != getpid()) {
		/* a child of fork(): the threads stayed in the parent, and
		 * one of them may have held the lock when it forked; the
		 * memory is all that is left of the pool here */
		free(ctx->enum_pool);
		ctx->enum_pool = NULL;
	}
	if (!ctx->enum_pool)
		ctx->enum_pool = pool_new();
	return ctx->enum_pool;
}

/* join the workers that ended, then start some until @want run (under
 * the lock) */
static void pool_grow(struct vgpu_enum_pool *pool, unsigned int want)
{
	sigset_t all, old;

	for (unsigned int k = 0; k < VGPU_ENUM_MAX_THREADS; k++) {
		if (pool->slot[k] == 2) {
			pthread_join(pool->tid[k], NULL);
			pool->slot[k] = 0;
		}
	}
	if (pool->n_running >= want)
		return;
	/* no signal of the application is handled in a library thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned int k = 0;
	     k < VGPU_ENUM_MAX_THREADS && pool->n_running < want; k++) {
		struct slot_arg *arg;

		if (pool->slot[k])
			continue;
		arg = malloc(sizeof(*arg));
		if (!arg)
			break;
		*arg = (struct slot_arg){ pool, k };
		if (pthread_create(&pool->tid[k], NULL, pool_worker, arg)) {
			free(arg);
			break;
		}
		pool->slot[k] = 1;
		pool->n_running++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void vgpu_enum_pool_free(struct vgpu_enum_pool *pool)
{
	if (!pool)
		return;
	if (pool->pid != getpid()) {
		/* a child of fork(): no thread to stop, a lock not to touch */
		free(pool);
		return;
	}
	pthread_mutex_lock(&pool->lock);
	pool->stop = true;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
	for (unsigned int k = 0; k < VGPU_ENUM_MAX_THREADS; k++)
		if (pool->slot[k])
			pthread_join(pool->tid[k], NULL);
	pthread_cond_destroy(&pool->wake);
	pthread_cond_destroy(&pool->left);
	pthread_mutex_destroy(&pool->lock);
	free(pool);
}

static void start_job(struct vgpu_ctx *ctx, struct vgpu_enum_job *job, size_t n,
		      size_t min_items, void (*step)(void *data, size_t i),
		      void *data, atomic_bool *done)
{
	unsigned int t = vgpu_enum_threads(ctx, n, min_items);
	struct vgpu_enum_pool *pool;
	struct vgpu_enum_job **pj;

	*job = (struct vgpu_enum_job){
		.step = step, .data = data, .n = n, .done = done
	};
	atomic_init(&job->next, 0);
	/* without a pool the calling thread reads everything */
	pool = t > 1 && ctx ? ctx_pool(ctx) : NULL;
	if (!pool)
		return;
	job->pool = pool;
	pthread_mutex_lock(&pool->lock);
	pool_grow(pool, t - 1);
	job->seats = t - 1;
	for (pj = &pool->jobs; *pj; pj = &(*pj)->queued)
		;
	*pj = job;
	pthread_cond_broadcast(&pool->wake);
	pthread_mutex_unlock(&pool->lock);
}

void vgpu_enum_start(struct vgpu_ctx *ctx, struct vgpu_enum_job *job, size_t n,
		     size_t min_items, void (*step)(void *data, size_t i),
		     void *data)
{
	start_job(ctx, job, n, min_items, step, data, NULL);
}

void vgpu_enum_start_ordered(struct vgpu_ctx *ctx, struct vgpu_enum_job *job,
			     size_t n, size_t min_items,
			     void (*step)(void *data, size_t i), void *data)
{
	/* without memory for it the items are used after the join */
	start_job(ctx, job, n, min_items, step, data,
		  calloc(n ? n : 1, sizeof(atomic_bool)));
}

bool vgpu_enum_help(struct vgpu_enum_job *job)
{
	size_t i =
		atomic_fetch_add_explicit(&job->next, 1, memory_order_relaxed);

	if (i >= job->n)
		return false;
	job->step(job->data, i);
	if (job->done)
		atomic_store_explicit(&job->done[i], true,
				      memory_order_release);
	return true;
}

int vgpu_enum_finish_ordered(struct vgpu_enum_job *job,
			     int (*use)(void *data, size_t i))
{
	size_t used = 0;
	int r = 0;

	do {
		while (r >= 0 && used < job->n && job->done &&
		       atomic_load_explicit(&job->done[used],
					    memory_order_acquire))
			r = use(job->data, used++);
	} while (vgpu_enum_help(job));
	vgpu_enum_finish(job);
	while (r >= 0 && used < job->n)
		r = use(job->data, used++);
	return r < 0 ? r : 0;
}

void vgpu_enum_finish(struct vgpu_enum_job *job)
{
	struct vgpu_enum_pool *pool = job->pool;

	run_items(job);
	if (!pool)
		goto done;
	/* every item is taken: out of the queue, then wait for the workers
	 * still in it */
	pthread_mutex_lock(&pool->lock);
	for (struct vgpu_enum_job **pj = &pool->jobs; *pj;
	     pj = &(*pj)->queued) {
		if (*pj == job) {
			*pj = job->queued;
			break;
		}
	}
	while (job->users)
		pthread_cond_wait(&pool->left, &pool->lock);
	pthread_mutex_unlock(&pool->lock);
	job->pool = NULL;
done:
	free(job->done);
	job->done = NULL;
}

void vgpu_enum_run(struct vgpu_ctx *ctx, size_t n, size_t min_items,
		   void (*step)(void *data, size_t i), void *data)
{
	struct vgpu_enum_job job;

	vgpu_enum_start(ctx, &job, n, min_items, step, data);
	vgpu_enum_finish(&job);
}
