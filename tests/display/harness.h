/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the display tests and benchmarks share: vgpu-sim in a child
 * process with one instance, a device client that draws into it through
 * the public device API (DMA blits), `vgpuctl vnc` in a child process, and
 * a libvncclient viewer.
 */
#ifndef DISPLAY_HARNESS_H
#define DISPLAY_HARNESS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <libvgpu.h>

struct harness {
	char tmp[64], run[96];
	pid_t sim;
	struct vgpu_ctx *ctx;
	char uuid[37];
};

/* vgpu-sim (path from $VGPU_SIM) with one instance of @type; < 0 on error */
int harness_start(struct harness *hs, const char *type);
void harness_stop(struct harness *hs);
/* stop vgpu-sim only: its exit status (or -1), what it wrote to stderr */
int harness_stop_sim(struct harness *hs, char *err, size_t size);
/* one more instance of @type; its UUID into @uuid */
int harness_add_instance(struct harness *hs, const char *type, char uuid[37]);
/* one request line (with its \n) to vgpu-sim's control socket; the whole
 * reply, NUL-terminated, into @reply */
int harness_ctl(struct harness *hs, const char *req, char *reply, size_t size);

/* a device client that draws XR24 frames */
struct drawer {
	struct vgpu_handle *h;
	uint32_t *guest; /* the guest buffer, one frame */
	size_t guest_len;
	const uint32_t *fb; /* the device's framebuffer (BAR2), mapped */
	size_t fb_len;
	int mfd, efd;
	uint32_t w, hgt;
};

int drawer_open(struct harness *hs, struct drawer *d);
int drawer_open_uuid(struct harness *hs, const char *uuid, struct drawer *d);
/* set a mode (framebuffer offset 0, stride w * 4) */
int drawer_mode(struct drawer *d, uint32_t w, uint32_t h);
/* DMA rows [y0, y0 + rows) of the guest buffer to the framebuffer, wait
 * for the interrupt */
int drawer_blit(struct drawer *d, uint32_t y0, uint32_t rows);
/* the same without waiting; then wait for interrupts: how many came */
int drawer_submit(struct drawer *d, uint32_t y0, uint32_t rows);
int drawer_wait(struct drawer *d);
void drawer_close(struct drawer *d);

/* picture @k: every pixel depends on @k and its place */
uint32_t pattern_pixel(unsigned int k, uint32_t x, uint32_t y);
void pattern_fill(struct drawer *d, unsigned int k);

/* `vgpuctl vnc UUID --listen 127.0.0.1:0` in a child; its port */
struct vncd {
	pid_t pid;
	int port;
	int out; /* its stdout, after the first line */
};
int vncd_start(struct harness *hs, struct vncd *v, const char *source_kind);
/* SIGTERM unless it already exited; its exit status, or -1 */
int vncd_stop(struct vncd *v);
/* wait up to @ms for the child to exit by itself; its status, or -1 */
int vncd_wait_exit(struct vncd *v, int ms);

/* a libvncclient viewer that asks for raw XR24 */
struct viewer;
int viewer_open(struct viewer **ret, int port);
/* handle messages for up to @ms; the number of framebuffer updates that
 * were completed, or < 0 */
int viewer_pump(struct viewer *v, int ms);
const uint32_t *viewer_pixels(struct viewer *v, uint32_t *w, uint32_t *h);
void viewer_close(struct viewer *v);

/* the mean and worst per-channel difference of two XR24 pictures */
void picture_diff(const uint32_t *a, const uint32_t *b, size_t n, double *mean,
		  unsigned int *worst);
/* a JPEG file as XR24 (malloc'd) */
int jpeg_load(const char *path, uint32_t **pix, uint32_t *w, uint32_t *h);
/* a PNG file as XR24 (malloc'd) */
int png_load(const char *path, uint32_t **pix, uint32_t *w, uint32_t *h);

#endif
