/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim's engine scheduler under saturation: several instances, each
 * with a device client that submits DMA blits back to back, share the one
 * copy engine. Weights are set through the provider's QoS callback (the
 * control socket's qos-set); each instance's engine time comes from its
 * usage (the control socket's usage). Printed: the share each got against
 * its weight (goal: within 5 % at 1:3 and 1:1:2) and the scheduling
 * overhead per time slice (from vgpu-sim's engine statistics), against a
 * floor measured here: the clock reads and the lock round trip a slice
 * switch cannot do without. Then the frame-rate limiter: a client that
 * presents frames as fast as it can, against limits of 30 and 60 frames
 * a second (frames from usage). Figures only: nothing passes or fails on
 * time.
 */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "harness.h"

#define MAXI 3
#define ROWS 1024 /* 4 MiB blits at 1024 pixels a row */

struct client {
	struct drawer d;
	volatile bool stop;
	int err;
};

/* a full queue of blits in flight, so the device always has work */
static void *client_loop(void *data)
{
	struct client *c = data;
	int inflight = 0, r = 0;

	while (!c->stop && r >= 0) {
		while (inflight < 4 && r >= 0) {
			r = drawer_submit(&c->d, 0, ROWS);
			inflight++;
		}
		if (r >= 0)
			r = drawer_wait(&c->d);
		if (r > 0)
			inflight -= r;
	}
	/* the last ones finish before the device is closed */
	while (inflight > 0 && r >= 0) {
		r = drawer_wait(&c->d);
		if (r > 0)
			inflight -= r;
	}
	c->err = r < 0 ? r : 0;
	return NULL;
}

static int usage_busy(struct harness *hs, const char *uuid, uint64_t *busy)
{
	char req[128], rep[256];
	unsigned long long mask, b;

	snprintf(req, sizeof(req), "usage %s\n", uuid);
	if (harness_ctl(hs, req, rep, sizeof(rep)) < 0 ||
	    sscanf(rep, "ok 1\n%llu\t%llu", &mask, &b) != 2 || !(mask & 1))
		return -EBADMSG;
	*busy = b;
	return 0;
}

static int set_weight(struct harness *hs, const char *uuid, unsigned int w)
{
	char req[160], rep[64];

	snprintf(req, sizeof(req), "qos-set %s weight %u\n", uuid, w);
	if (harness_ctl(hs, req, rep, sizeof(rep)) < 0)
		return -EIO;
	return strncmp(rep, "ok 0\n", 5) ? -EBADMSG : 0;
}

static double floor_switch_ns(void)
{
	pthread_mutex_t m = PTHREAD_MUTEX_INITIALIZER;
	struct timespec t0, t1, x;
	const int n = 200000;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < n; i++) {
		pthread_mutex_lock(&m);
		clock_gettime(CLOCK_MONOTONIC, &x);
		pthread_mutex_unlock(&m);
		clock_gettime(CLOCK_MONOTONIC, &x);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	return ((double)(t1.tv_sec - t0.tv_sec) * 1e9 +
		(double)(t1.tv_nsec - t0.tv_nsec)) /
	       n;
}

static int run(const unsigned int *weights, int n)
{
	struct harness hs;
	struct client cl[MAXI];
	pthread_t th[MAXI];
	char uuid[MAXI][37], err[4096];
	uint64_t b0[MAXI], b1[MAXI], total = 0;
	unsigned int wsum = 0;
	unsigned long long slices = 0, busy = 0, sched = 0;
	double worst = 0;
	int r, started = 0;
	char *p;

	memset(cl, 0, sizeof(cl));
	r = harness_start(&hs, "sim-16m");
	if (r < 0)
		goto out;
	memcpy(uuid[0], hs.uuid, 37);
	for (int i = 1; i < n && !r; i++)
		r = harness_add_instance(&hs, "sim-16m", uuid[i]);
	for (int i = 0; i < n && !r; i++) {
		r = drawer_open_uuid(&hs, uuid[i], &cl[i].d);
		if (!r) {
			cl[i].d.w = 1024;
			cl[i].d.hgt = ROWS;
			r = set_weight(&hs, uuid[i], weights[i]);
		}
		wsum += weights[i];
	}
	for (int i = 0; i < n && !r; i++) {
		pthread_create(&th[i], NULL, client_loop, &cl[i]);
		started++;
	}
	if (r)
		goto out;
	usleep(500000); /* settle */
	for (int i = 0; i < n && !r; i++)
		r = usage_busy(&hs, uuid[i], &b0[i]);
	usleep(3000000);
	for (int i = 0; i < n && !r; i++)
		r = usage_busy(&hs, uuid[i], &b1[i]);
out:
	for (int i = 0; i < started; i++) {
		cl[i].stop = true;
		pthread_join(th[i], NULL);
		if (cl[i].err && !r)
			r = cl[i].err;
	}
	for (int i = 0; i < n; i++)
		if (cl[i].d.h)
			drawer_close(&cl[i].d);
	if (!r) {
		printf("weights");
		for (int i = 0; i < n; i++)
			printf("%s%u", i ? ":" : " ", weights[i]);
		printf(": engine shares");
		for (int i = 0; i < n; i++)
			total += b1[i] - b0[i];
		for (int i = 0; i < n; i++) {
			double got = total ? 100.0 * (double)(b1[i] - b0[i]) /
						     (double)total
					   : 0;
			double want = 100.0 * weights[i] / wsum;

			printf(" %.1f%% (weight %.1f%%)", got, want);
			if (got - want > worst || want - got > worst)
				worst = got > want ? got - want : want - got;
		}
		printf("; worst off by %.1f points (goal <= 5)\n", worst);
	}
	if (hs.sim > 0 && harness_stop_sim(&hs, err, sizeof(err)) >= 0 &&
	    (p = strstr(err, "engine: ")) &&
	    sscanf(p, "engine: %llu slices, %llu ns busy, %llu ns scheduling",
		   &slices, &busy, &sched) == 3 &&
	    slices)
		printf("  %llu time slices, scheduling overhead %.0f ns per slice "
		       "(%.2f%% of engine time)\n",
		       slices, (double)sched / (double)slices,
		       busy ? 100.0 * (double)sched / (double)busy : 0);
	harness_stop(&hs);
	return r;
}

static int usage_frames(struct harness *hs, uint64_t *frames)
{
	char req[128], rep[256];
	unsigned long long v[7];

	snprintf(req, sizeof(req), "usage %s\n", hs->uuid);
	if (harness_ctl(hs, req, rep, sizeof(rep)) < 0 ||
	    sscanf(rep, "ok 1\n%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu", &v[0],
		   &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]) != 7 ||
	    !(v[0] & 32))
		return -EBADMSG;
	*frames = v[6];
	return 0;
}

/* frames presented per second by a client that draws flat out */
static int run_frl(unsigned int limit)
{
	struct harness hs;
	struct drawer d;
	char req[160], rep[64];
	uint64_t f0 = 0, f1 = 0;
	struct timespec t0, t1;
	double el;
	int r;

	r = harness_start(&hs, "sim-16m");
	if (!r)
		r = drawer_open(&hs, &d);
	if (!r)
		r = drawer_mode(&d, 320, 240);
	if (!r && limit) {
		snprintf(req, sizeof(req), "qos-set %s frame_rate_limit %u\n",
			 hs.uuid, limit);
		r = harness_ctl(&hs, req, rep, sizeof(rep));
		if (!r && strcmp(rep, "ok 0\n"))
			r = -EBADMSG;
	}
	if (!r)
		r = usage_frames(&hs, &f0);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	do {
		if (!r)
			r = drawer_blit(&d, 0, 240);
		clock_gettime(CLOCK_MONOTONIC, &t1);
		el = (double)(t1.tv_sec - t0.tv_sec) +
		     (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
	} while (!r && el < 2.0);
	if (!r)
		r = usage_frames(&hs, &f1);
	if (!r)
		printf("frame-rate limit %-4s: %7.1f frames/s presented by a client drawing flat out\n",
		       limit ? (snprintf(rep, sizeof(rep), "%u", limit), rep)
			     : "none",
		       (double)(f1 - f0) / el);
	if (d.h)
		drawer_close(&d);
	harness_stop(&hs);
	return r;
}

int main(void)
{
	static const unsigned int w13[] = { 1, 3 }, w112[] = { 1, 1, 2 };
	int r;

	if (!getenv("VGPU_SIM"))
		return 77;
	printf("floor: a slice switch's clock reads and lock round trip: %.0f ns\n",
	       floor_switch_ns());
	r = run(w13, 2);
	if (!r)
		r = run(w112, 3);
	if (!r)
		r = run_frl(0);
	if (!r)
		r = run_frl(30);
	if (!r)
		r = run_frl(60);
	if (r < 0)
		fprintf(stderr, "bench-sched: %s\n", strerror(-r));
	return r < 0 ? 1 : 0;
}
