/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The migration data path through the device handle over vfio-user: a
 * device whose saved state is STATE_MIB MiB moves from one provider
 * process to another (STOP_COPY, MIG_DATA_READ into this process,
 * MIG_DATA_WRITE out, RESUMING -> RUNNING). Printed: the stop-and-copy
 * time (downtime) and the whole move, against the floor measured in the
 * same run: the same bytes through a pipe from one process to another.
 * Prints figures only.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "device-private.h"
#include "libvgpu-provider.h"

#define STATE_MIB   64
#define STATE_BYTES ((size_t)STATE_MIB << 20)
#define TRIALS	    3

struct dev {
	size_t pos;
	uint8_t *image;
	enum vgpu_migration_state state;
};

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int d_create(struct vgpu_device *dev, const char *type, void *data)
{
	(void)type;
	(void)data;
	return vgpu_device_setup_region(dev, VGPU_REGION_BAR0, 4096,
					VGPU_REGION_F_READ, NULL, NULL);
}

static int d_state(struct vgpu_device *dev, enum vgpu_migration_state s,
		   void *data)
{
	struct dev *d = data;

	(void)dev;
	if (s == VGPU_MIG_STOP_COPY || s == VGPU_MIG_RESUMING)
		d->pos = 0;
	if (d->state == VGPU_MIG_RESUMING && s == VGPU_MIG_STOP &&
	    d->pos != STATE_BYTES)
		return -EINVAL;
	d->state = s;
	return 0;
}

static ssize_t d_read(struct vgpu_device *dev, void *buf, size_t len,
		      void *data)
{
	struct dev *d = data;
	size_t n = STATE_BYTES - d->pos < len ? STATE_BYTES - d->pos : len;

	(void)dev;
	memcpy(buf, d->image + d->pos, n);
	d->pos += n;
	return (ssize_t)n;
}

static int d_write(struct vgpu_device *dev, const void *buf, size_t len,
		   void *data)
{
	struct dev *d = data;

	(void)dev;
	if (len > STATE_BYTES - d->pos)
		return -EFBIG;
	memcpy(d->image + d->pos, buf, len);
	d->pos += len;
	return 0;
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* a provider serving one device on @path, in a child */
static pid_t provider(const char *path)
{
	int pfd[2];
	pid_t pid;
	char c = 1;

	if (pipe(pfd) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		struct vgpu_provider_ops ops = {
			.size = sizeof(ops),
			.create = d_create,
			.migration_state = d_state,
			.migration_read = d_read,
			.migration_write = d_write,
		};
		struct dev d = { .state = VGPU_MIG_RUNNING,
				 .image = malloc(STATE_BYTES) };
		struct vgpu_provider *p;
		struct vgpu_ctx *ctx;

		signal(SIGTERM, on_term);
		for (size_t i = 0; d.image && i < STATE_BYTES; i += 4096)
			d.image[i] = (uint8_t)i;
		if (!d.image || vgpu_ctx_new(&ctx) < 0 ||
		    vgpu_provider_new(ctx, "bench", &ops, &d, &p) < 0 ||
		    vgpu_provider_add_type(p, "t", "t", "", 1) < 0 ||
		    vgpu_provider_create_device(
			    p, "t", "11111111-2222-3333-4444-555555555555",
			    path, NULL) < 0 ||
		    write(pfd[1], &c, 1) != 1)
			_exit(1);
		while (!stop)
			vgpu_provider_dispatch(p, 100);
		_exit(0);
	}
	close(pfd[1]);
	if (pid < 0 || read(pfd[0], &c, 1) != 1)
		pid = -1;
	close(pfd[0]);
	return pid;
}

static struct vgpu_handle *open_path(struct vgpu_ctx *ctx, const char *path)
{
	struct vgpu_access_target t = { .id = "bench",
					.path = path,
					.iommu_group = -1 };
	struct vgpu_handle *h = NULL;

	if (vgpu_handle_open_target(ctx, &vgpu_access_vfio_user, &t, 0, &h) < 0)
		return NULL;
	return h;
}

/* the same bytes through a pipe between two processes */
static double pipe_floor(void)
{
	static uint8_t buf[1 << 20];
	int pfd[2];
	pid_t pid;
	double t0;

	if (pipe(pfd) < 0)
		return -1;
	t0 = now_ns();
	pid = fork();
	if (pid == 0) {
		close(pfd[0]);
		for (size_t done = 0; done < STATE_BYTES;) {
			ssize_t n = write(pfd[1], buf, sizeof(buf));

			if (n <= 0)
				_exit(1);
			done += (size_t)n;
		}
		_exit(0);
	}
	close(pfd[1]);
	for (;;) {
		ssize_t n = read(pfd[0], buf, sizeof(buf));

		if (n <= 0)
			break;
	}
	close(pfd[0]);
	waitpid(pid, NULL, 0);
	return now_ns() - t0;
}

int main(void)
{
	char dir[] = "/tmp/vgpu-bench-mig-XXXXXX", a[128], b[128];
	double best_down = 1e30, best_total = 1e30, best_floor = 1e30;
	struct vgpu_ctx *ctx;

	if (!mkdtemp(dir) || vgpu_ctx_new(&ctx) < 0)
		return 1;
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	snprintf(a, sizeof(a), "%s/a.sock", dir);
	snprintf(b, sizeof(b), "%s/b.sock", dir);
	for (int t = 0; t < TRIALS; t++) {
		pid_t pa = provider(a), pb = provider(b);
		struct vgpu_handle *src, *dst;
		double t0, t1, t2, f;
		uint64_t moved = 0;
		int r;

		if (pa < 0 || pb < 0)
			return 1;
		src = open_path(ctx, a);
		dst = open_path(ctx, b);
		if (!src || !dst)
			return 1;
		t0 = now_ns();
		r = vgpu_handle_migration_set_state(dst, VGPU_MIG_RESUMING);
		t1 = now_ns();
		if (!r)
			r = vgpu_handle_migration_set_state(src,
							    VGPU_MIG_STOP_COPY);
		if (!r)
			r = vgpu_handle_migration_copy(src, dst, &moved);
		if (!r)
			r = vgpu_handle_migration_set_state(dst,
							    VGPU_MIG_RUNNING);
		t2 = now_ns();
		if (r < 0 || moved != STATE_BYTES) {
			fprintf(stderr, "migration failed: %s (%llu bytes)\n",
				strerror(-r), (unsigned long long)moved);
			return 1;
		}
		vgpu_handle_unref(src);
		vgpu_handle_unref(dst);
		kill(pa, SIGTERM);
		kill(pb, SIGTERM);
		waitpid(pa, NULL, 0);
		waitpid(pb, NULL, 0);
		f = pipe_floor();
		best_down = t2 - t1 < best_down ? t2 - t1 : best_down;
		best_total = t2 - t0 < best_total ? t2 - t0 : best_total;
		best_floor = f < best_floor ? f : best_floor;
	}
	printf("migration of a %d MiB device state between two vfio-user providers through the handle: "
	       "downtime (STOP_COPY to RUNNING) %.1f ms, total %.1f ms, %.0f MiB/s; "
	       "pipe floor for the same bytes %.1f ms, %.0f MiB/s; %.2f of the floor (best of %d)\n",
	       STATE_MIB, best_down / 1e6, best_total / 1e6,
	       STATE_MIB / (best_down / 1e9), best_floor / 1e6,
	       STATE_MIB / (best_floor / 1e9), best_floor / best_down, TRIALS);
	vgpu_ctx_unref(ctx);
	unlink(a);
	unlink(b);
	rmdir(dir);
	return 0;
}
