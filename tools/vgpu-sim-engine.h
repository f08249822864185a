/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim's engine: one copy engine shared by every device of the
 * process, run by a thread of its own and shared out by a scheduler
 * (vgpu-sim-engine.c):
 *
 *  - strict priority classes (high, normal, low); within a class, weighted
 *    fair queueing by virtual time: a device that ran t ns advances by
 *    t / weight, and the runnable device furthest behind runs next;
 *  - a job runs for at most the device's time slice, then yields (the
 *    engine works in chunks and checks the clock between them); a chunk
 *    that overruns the slice by more than the preemption timeout fails the
 *    job (ETIMEDOUT), as a GPU resets an engine that does not yield;
 *  - a device that comes back from idle starts no further behind than one
 *    slice, so idling earns no credit;
 *  - a frame-rate limit holds back the completion of a job that presents a
 *    frame until 1/limit after the previous one: the guest is throttled.
 */
#ifndef VGPU_SIM_ENGINE_H
#define VGPU_SIM_ENGINE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

struct engine;
struct engine_ctx;

/* a copy job: the segments (pinned guest memory) into @dst, in order */
struct engine_job {
	struct iovec seg[64];
	int n_seg;
	uint8_t *dst;
	bool presents; /* writes what the display shows */
};

/* jobs a device may have queued, the running one included */
#define ENGINE_QUEUE 4

/* called on the engine thread when a job is over (in queue order) (0 or -errno), with no
 * engine lock held */
typedef void (*engine_done_fn)(struct engine_ctx *c, int status, void *data);

struct engine_stats {
	uint64_t slices;   /* time slices run */
	uint64_t sched_ns; /* time spent choosing and switching */
	uint64_t busy_ns;  /* time spent copying */
};

int engine_new(struct engine **ret);
/* stops the thread; every ctx must be gone */
void engine_free(struct engine *e);
void engine_get_stats(struct engine *e, struct engine_stats *st);

struct engine_ctx *engine_ctx_new(struct engine *e, engine_done_fn done,
				  void *data);
/* waits until the engine no longer runs @c; queued jobs are dropped
 * without their done calls */
void engine_ctx_free(struct engine_ctx *c);

/* migration: wait until the engine no longer copies for @c, then take
 * every queued job off it without their done calls; returns how many there
 * were, and in *head_done how many bytes of the first were already copied.
 * A done call in progress (its job already off the queue) may still run. */
unsigned int engine_ctx_drain(struct engine_ctx *c, size_t *head_done);

/* queue @job (copied); -EBUSY when ENGINE_QUEUE are queued */
int engine_submit(struct engine_ctx *c, const struct engine_job *job);
/* account work done outside the engine (a job copied inline) */
void engine_account(struct engine_ctx *c, uint64_t ns, uint64_t bytes,
		    bool presents);

enum engine_knob {
	ENGINE_TIME_SLICE_US,
	ENGINE_PREEMPT_TIMEOUT_US,
	ENGINE_PRIORITY,
	ENGINE_WEIGHT,
	ENGINE_FRAME_RATE_LIMIT,
	ENGINE_KNOBS
};
int engine_set(struct engine_ctx *c, enum engine_knob k, uint64_t value);
uint64_t engine_get(struct engine_ctx *c, enum engine_knob k);

struct engine_usage {
	uint64_t busy_ns, jobs, bytes, frames;
};
void engine_ctx_usage(struct engine_ctx *c, struct engine_usage *u);

uint64_t engine_now_ns(void);

#endif
