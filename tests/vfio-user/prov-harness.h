/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small provider written on the public provider API only, served in the
 * test process, for the hostile-client tests (test-<concern>.c): H_DEVS
 * devices of one type, each with BAR0 (4 KiB, trapped: a scratch register
 * at 0) and one MSI vector, plus a control socket. The tests attack one
 * device with a raw client and then check, with h_fresh_ok() on another
 * device and h_usage() before and after, that the provider still serves
 * and did not leak.
 */
#ifndef PROV_HARNESS_H
#define PROV_HARNESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <pthread.h>

#include "libvgpu-provider.h"

#define H_DEVS 3

enum h_mode {
	H_MANUAL, /* the test calls vgpu_provider_dispatch() itself */
	H_LOOP,	  /* a thread of the harness calls vgpu_provider_dispatch() */
	H_RUNNER, /* vgpu_provider_start_thread() */
};

struct harness {
	struct vgpu_ctx *ctx;
	struct vgpu_provider *p;
	struct vgpu_provider_ops ops;
	enum h_mode mode;
	char dir[64];
	char ctl[128];
	char sock[H_DEVS][128];
	char uuid[H_DEVS][40];
	struct vgpu_device *dev[H_DEVS];
	pthread_t loop;
	bool looping;
	int stop; /* atomic */
	/* per device: BAR0 scratch register */
	uint64_t scratch[H_DEVS];
};

struct h_usage {
	unsigned int fds;
	unsigned long rss_kib;
};

/* @ops may be NULL (the harness's own create callback); its create is
 * replaced by the harness's own, which then calls @extra_create if set */
void h_start(struct harness *h, enum h_mode mode,
	     const struct vgpu_provider_ops *ops);
/* the same with a quiesce callback */
void h_start_quiesce(struct harness *h, enum h_mode mode,
		     const struct vgpu_provider_ops *ops, vgpu_quiesce_fn fn);
void h_stop(struct harness *h);
/* H_MANUAL: start/stop a dispatch thread for a while */
void h_loop_start(struct harness *h);
void h_loop_stop(struct harness *h);
/* the index of @dev in h->dev[] */
unsigned int h_index(struct harness *h, struct vgpu_device *dev);

/* a fresh client negotiates on device @i and its BAR0 scratch register
 * reads back what it wrote */
bool h_fresh_ok(struct harness *h, unsigned int i);
void h_usage(struct h_usage *u);
/* fds and RSS are back near @before (generous bounds), and every device but
 * @attacked (H_DEVS: none) serves a fresh client */
void h_check_after(struct harness *h, const struct h_usage *before,
		   unsigned int attacked);

/* raw wire helpers */
int h_connect(const char *path);
/* connect and negotiate VERSION (with @json or none) */
int h_raw_client(const char *path, const char *json);
void h_send(int fd, uint16_t id, uint16_t cmd, const void *p, size_t len,
	    const int *fds, unsigned int nfds);
/* one message; false at EOF or error */
bool h_recv(int fd, void *hdr16, void *p, size_t max);
/* a control request line, answer read to EOF into @out */
int h_ctl(struct harness *h, const char *line, char *out, size_t max);

#endif
