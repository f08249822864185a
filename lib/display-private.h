/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Display sources (vgpu_display_*, libvgpu.h): the core keeps the object,
 * a backend that offers display sources fills its operations from its
 * open_display operation (struct vgpu_backend).
 */
#ifndef VGPU_DISPLAY_PRIVATE_H
#define VGPU_DISPLAY_PRIVATE_H

#include "libvgpu-private.h"

struct vgpu_display;

struct vgpu_display_ops {
	/* the notification fd */
	int (*get_fd)(struct vgpu_display *d);
	/* the latest plane; pixels mapped read-only */
	int (*get_frame)(struct vgpu_display *d, struct vgpu_display_frame *f);
	void (*close)(struct vgpu_display *d);
};

struct vgpu_display {
	int refcount;
	struct vgpu_ctx *ctx;
	char uuid[VGPU_UUID_LEN + 1];
	const struct vgpu_display_ops *ops;
	void *priv;
};

#endif
