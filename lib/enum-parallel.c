/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Worker threads for listings of many parents (see enum-parallel.h).
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
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

struct range {
	void (*step)(void *data, size_t i);
	void *data;
	size_t first, end;
};

static void run_range(const struct range *r)
{
	for (size_t i = r->first; i < r->end; i++)
		r->step(r->data, i);
}

static void *worker(void *arg)
{
	run_range(arg);
	return NULL;
}

void vgpu_enum_run(struct vgpu_ctx *ctx, size_t n, size_t min_items,
		   void (*step)(void *data, size_t i), void *data)
{
	unsigned int t = vgpu_enum_threads(ctx, n, min_items);
	struct range r[VGPU_ENUM_MAX_THREADS];
	pthread_t tid[VGPU_ENUM_MAX_THREADS];
	bool started[VGPU_ENUM_MAX_THREADS] = { false };

	for (unsigned int k = 0; k < t; k++) {
		r[k] = (struct range){ step, data, n * k / t, n * (k + 1) / t };
		/* range 0 is the calling thread's */
		started[k] = k > 0 &&
			     pthread_create(&tid[k], NULL, worker, &r[k]) == 0;
	}
	for (unsigned int k = 0; k < t; k++)
		if (!started[k])
			run_range(&r[k]);
	for (unsigned int k = 1; k < t; k++)
		if (started[k])
			pthread_join(tid[k], NULL);
}
