/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vgpu-sim's shared copy engine and its scheduler; see vgpu-sim-engine.h. */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgpu-sim-engine.h"

#define CHUNK		 (64u << 10)
#define DEFAULT_SLICE_US 1000
#define PRIORITIES	 3

struct engine_ctx {
	struct engine *e;
	struct engine_ctx *next;
	engine_done_fn done;
	void *data;
	/* the queue; the job at its head is run by the engine thread alone */
	struct engine_job q[ENGINE_QUEUE];
	unsigned int q_head, q_len;
	bool has_job; /* q_len > 0 */
	bool in_done; /* the engine thread is in done() for a job off the queue */
	struct engine_job job; /* the head job, being run */
	int seg_i;
	size_t seg_off, dst_off;
	uint64_t hold_until; /* frame-rate limit: complete no sooner */
	int status;
	/* scheduling */
	uint64_t knob[ENGINE_KNOBS];
	uint64_t vtime;
	uint64_t last_present;
	/* usage */
	uint64_t busy_ns, jobs, bytes, frames;
};

struct engine {
	pthread_mutex_t lock;
	pthread_cond_t work, idle;
	pthread_t thread;
	bool stop;
	struct engine_ctx *ctxs;
	struct engine_ctx *running; /* outside the lock, by the thread */
	struct engine_stats st;
};

uint64_t engine_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static uint64_t weight_of(const struct engine_ctx *c)
{
	return c->knob[ENGINE_WEIGHT] ? c->knob[ENGINE_WEIGHT] : 1;
}

static uint64_t slice_ns(const struct engine_ctx *c)
{
	uint64_t us = c->knob[ENGINE_TIME_SLICE_US];

	return (us ? us : DEFAULT_SLICE_US) * 1000u;
}

/* runnable: a job that is not held back by the frame-rate limit */
static bool runnable(const struct engine_ctx *c, uint64_t now)
{
	return c->has_job && c->hold_until <= now;
}

/* the next to run: the highest class, then the least virtual time; or
 * NULL, with *wake the earliest held job's time (0: none) */
static struct engine_ctx *pick(struct engine *e, uint64_t now, uint64_t *wake)
{
	struct engine_ctx *best = NULL;

	*wake = 0;
	for (struct engine_ctx *c = e->ctxs; c; c = c->next) {
		if (c->has_job && c->hold_until > now &&
		    (!*wake || c->hold_until < *wake))
			*wake = c->hold_until;
		if (!runnable(c, now))
			continue;
		if (!best ||
		    c->knob[ENGINE_PRIORITY] > best->knob[ENGINE_PRIORITY] ||
		    (c->knob[ENGINE_PRIORITY] == best->knob[ENGINE_PRIORITY] &&
		     c->vtime < best->vtime))
			best = c;
	}
	return best;
}

/* make the queue's head the job to run */
static void start_head(struct engine_ctx *c)
{
	c->job = c->q[c->q_head];
	c->seg_i = 0;
	c->seg_off = c->dst_off = 0;
	c->hold_until = 0;
	c->status = 0;
}

/* the least virtual time among the other runnable devices of @c's class */
static uint64_t min_vtime(struct engine *e, const struct engine_ctx *c)
{
	uint64_t m = UINT64_MAX;

	for (struct engine_ctx *o = e->ctxs; o; o = o->next)
		if (o != c && o->has_job &&
		    o->knob[ENGINE_PRIORITY] == c->knob[ENGINE_PRIORITY] &&
		    o->vtime < m)
			m = o->vtime;
	return m;
}

/* copy for up to @budget ns; 1 when the job is done, 0 when the slice
 * ended first, -ETIMEDOUT when a chunk overran the slice too far */
static int run_slice(struct engine_ctx *c, uint64_t start, uint64_t budget,
		     uint64_t preempt_ns, uint64_t *copied)
{
	struct engine_job *j = &c->job;
	uint64_t t = start;

	*copied = 0;
	while (c->seg_i < j->n_seg) {
		struct iovec *s = &j->seg[c->seg_i];
		size_t n = s->iov_len - c->seg_off;

		if (n > CHUNK)
			n = CHUNK;
		memcpy(j->dst + c->dst_off, (uint8_t *)s->iov_base + c->seg_off,
		       n);
		c->seg_off += n;
		c->dst_off += n;
		*copied += n;
		if (c->seg_off == s->iov_len) {
			c->seg_i++;
			c->seg_off = 0;
		}
		t = engine_now_ns();
		if (preempt_ns && t - start > budget + preempt_ns)
			return -ETIMEDOUT;
		if (c->seg_i < j->n_seg && t - start >= budget)
			return 0;
	}
	return 1;
}

static void *engine_main(void *data)
{
	struct engine *e = data;
	uint64_t t_end = 0; /* when the previous slice ended: overhead */

	pthread_mutex_lock(&e->lock);
	while (!e->stop) {
		uint64_t now = engine_now_ns(), wake, t0, t1, copied, fl;
		struct engine_ctx *c = pick(e, now, &wake);
		int r;

		if (!c) {
			t_end = 0; /* idle is not overhead */
			if (wake) {
				struct timespec ts = {
					.tv_sec = (time_t)(wake / 1000000000u),
					.tv_nsec = (long)(wake % 1000000000u)
				};

				pthread_cond_timedwait(&e->work, &e->lock, &ts);
			} else {
				pthread_cond_wait(&e->work, &e->lock);
			}
			continue;
		}
		e->running = c;
		pthread_mutex_unlock(&e->lock);
		t0 = engine_now_ns();
		r = run_slice(c, t0, slice_ns(c),
			      c->knob[ENGINE_PREEMPT_TIMEOUT_US] * 1000u,
			      &copied);
		t1 = engine_now_ns();
		pthread_mutex_lock(&e->lock);
		if (t_end)
			e->st.sched_ns += t0 - t_end;
		e->st.slices++;
		e->st.busy_ns += t1 - t0;
		c->busy_ns += t1 - t0;
		c->bytes += copied;
		c->vtime += (t1 - t0) * 1000u / weight_of(c);
		if (r != 0) {
			c->status = r < 0 ? r : 0;
			fl = c->knob[ENGINE_FRAME_RATE_LIMIT];
			if (r > 0 && c->job.presents && fl) {
				uint64_t due =
					c->last_present + 1000000000u / fl;

				if (due > t1 && !c->hold_until) {
					/* done, but held back: the guest waits */
					c->hold_until = due;
					c->seg_i = c->job.n_seg;
					e->running = NULL;
					pthread_cond_broadcast(&e->idle);
					t_end = engine_now_ns();
					continue;
				}
			}
			if (r > 0 && c->job.presents) {
				c->last_present =
					t1 > c->hold_until ? t1 : c->hold_until;
				c->frames++;
			}
			c->jobs += r > 0;
			r = c->status;
			c->q_head = (c->q_head + 1) % ENGINE_QUEUE;
			c->q_len--;
			c->has_job = c->q_len > 0;
			if (c->has_job)
				start_head(c);
			else
				c->hold_until = 0;
			c->in_done = true;
			/* a drain waiting for this slice may go on now */
			pthread_cond_broadcast(&e->idle);
			pthread_mutex_unlock(&e->lock);
			c->done(c, r, c->data);
			pthread_mutex_lock(&e->lock);
			c->in_done = false;
		}
		e->running = NULL;
		pthread_cond_broadcast(&e->idle);
		t_end = engine_now_ns();
	}
	pthread_mutex_unlock(&e->lock);
	return NULL;
}

int engine_new(struct engine **ret)
{
	struct engine *e = calloc(1, sizeof(*e));
	pthread_condattr_t ca;

	if (!e)
		return -ENOMEM;
	pthread_mutex_init(&e->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&e->work, &ca);
	pthread_condattr_destroy(&ca);
	pthread_cond_init(&e->idle, NULL);
	if (pthread_create(&e->thread, NULL, engine_main, e) != 0) {
		free(e);
		return -EAGAIN;
	}
	*ret = e;
	return 0;
}

void engine_free(struct engine *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&e->lock);
	e->stop = true;
	pthread_cond_broadcast(&e->work);
	pthread_mutex_unlock(&e->lock);
	pthread_join(e->thread, NULL);
	pthread_mutex_destroy(&e->lock);
	pthread_cond_destroy(&e->work);
	pthread_cond_destroy(&e->idle);
	free(e);
}

void engine_get_stats(struct engine *e, struct engine_stats *st)
{
	pthread_mutex_lock(&e->lock);
	*st = e->st;
	pthread_mutex_unlock(&e->lock);
}

struct engine_ctx *engine_ctx_new(struct engine *e, engine_done_fn done,
				  void *data)
{
	struct engine_ctx *c = calloc(1, sizeof(*c));

	if (!c)
		return NULL;
	c->e = e;
	c->done = done;
	c->data = data;
	c->knob[ENGINE_PRIORITY] = 1; /* normal */
	c->knob[ENGINE_WEIGHT] = 1;
	pthread_mutex_lock(&e->lock);
	c->next = e->ctxs;
	e->ctxs = c;
	pthread_mutex_unlock(&e->lock);
	return c;
}

void engine_ctx_free(struct engine_ctx *c)
{
	struct engine *e;
	struct engine_ctx **pp;

	if (!c)
		return;
	e = c->e;
	pthread_mutex_lock(&e->lock);
	while (e->running == c)
		pthread_cond_wait(&e->idle, &e->lock);
	for (pp = &e->ctxs; *pp && *pp != c; pp = &(*pp)->next)
		;
	if (*pp)
		*pp = c->next;
	pthread_mutex_unlock(&e->lock);
	free(c);
}

unsigned int engine_ctx_drain(struct engine_ctx *c, size_t *head_done)
{
	struct engine *e = c->e;
	unsigned int n;

	pthread_mutex_lock(&e->lock);
	/* a slice in progress ends first; a done call in progress is not
	 * waited for (it may wait for the device's lock, which our caller may
	 * hold): its job is off the queue already */
	while (e->running == c && !c->in_done)
		pthread_cond_wait(&e->idle, &e->lock);
	n = c->q_len;
	*head_done = n ? c->dst_off : 0;
	c->q_len = 0;
	c->has_job = false;
	c->hold_until = 0;
	pthread_mutex_unlock(&e->lock);
	return n;
}

int engine_submit(struct engine_ctx *c, const struct engine_job *job)
{
	struct engine *e = c->e;
	uint64_t m;

	if (job->n_seg < 0 || job->n_seg > 64)
		return -EINVAL;
	pthread_mutex_lock(&e->lock);
	if (c->q_len == ENGINE_QUEUE) {
		pthread_mutex_unlock(&e->lock);
		return -EBUSY;
	}
	c->q[(c->q_head + c->q_len) % ENGINE_QUEUE] = *job;
	c->q_len++;
	if (c->has_job) {
		/* behind the running one */
		pthread_mutex_unlock(&e->lock);
		return 0;
	}
	start_head(c);
	/* back from idle: no further behind than a slice of the others */
	m = min_vtime(e, c);
	if (m != UINT64_MAX) {
		uint64_t credit = slice_ns(c) * 1000u / weight_of(c);

		if (c->vtime + credit < m)
			c->vtime = m - credit;
	}
	c->has_job = true;
	pthread_cond_signal(&e->work);
	pthread_mutex_unlock(&e->lock);
	return 0;
}

void engine_account(struct engine_ctx *c, uint64_t ns, uint64_t bytes,
		    bool presents)
{
	pthread_mutex_lock(&c->e->lock);
	c->busy_ns += ns;
	c->bytes += bytes;
	c->jobs++;
	c->frames += presents;
	pthread_mutex_unlock(&c->e->lock);
}

int engine_set(struct engine_ctx *c, enum engine_knob k, uint64_t value)
{
	if ((unsigned int)k >= ENGINE_KNOBS)
		return -EOPNOTSUPP;
	if ((k == ENGINE_PRIORITY && value >= PRIORITIES) ||
	    (k == ENGINE_WEIGHT && !value))
		return -ERANGE;
	pthread_mutex_lock(&c->e->lock);
	c->knob[k] = value;
	pthread_cond_signal(&c->e->work);
	pthread_mutex_unlock(&c->e->lock);
	return 0;
}

uint64_t engine_get(struct engine_ctx *c, enum engine_knob k)
{
	uint64_t v;

	pthread_mutex_lock(&c->e->lock);
	v = c->knob[k];
	pthread_mutex_unlock(&c->e->lock);
	return v;
}

void engine_ctx_usage(struct engine_ctx *c, struct engine_usage *u)
{
	pthread_mutex_lock(&c->e->lock);
	u->busy_ns = c->busy_ns;
	u->jobs = c->jobs;
	u->bytes = c->bytes;
	u->frames = c->frames;
	pthread_mutex_unlock(&c->e->lock);
}
