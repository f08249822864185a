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
	size_t i;

	while ((i = atomic_fetch_add_explicit(&job->next, 1,
					      memory_order_relaxed)) < job->n)
		job->step(job->data, i);
}

static void *worker(void *arg)
{
	run_items(arg);
	return NULL;
}

void vgpu_enum_start(struct vgpu_ctx *ctx, struct vgpu_enum_job *job, size_t n,
		     size_t min_items, void (*step)(void *data, size_t i),
		     void *data)
{
	unsigned int t = vgpu_enum_threads(ctx, n, min_items);
	sigset_t all, old;

	*job = (struct vgpu_enum_job){ .step = step, .data = data, .n = n };
	atomic_init(&job->next, 0);
	if (t < 2)
		return;
	/* no signal of the application is handled in a library thread */
	sigfillset(&all);
	pthread_sigmask(SIG_SETMASK, &all, &old);
	for (unsigned int k = 1; k < t; k++) {
		if (pthread_create(&job->tid[job->n_threads], NULL, worker,
				   job))
			break;
		job->n_threads++;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

void vgpu_enum_finish(struct vgpu_enum_job *job)
{
	run_items(job);
	for (unsigned int k = 0; k < job->n_threads; k++)
		pthread_join(job->tid[k], NULL);
	job->n_threads = 0;
}

void vgpu_enum_run(struct vgpu_ctx *ctx, size_t n, size_t min_items,
		   void (*step)(void *data, size_t i), void *data)
{
	struct vgpu_enum_job job;

	vgpu_enum_start(ctx, &job, n, min_items, step, data);
	vgpu_enum_finish(&job);
}
