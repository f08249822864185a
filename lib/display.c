/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The display of a running instance, read-only, beside the VMM: the public
 * vgpu_display_* functions over a backend's open_display operation.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "display-private.h"
#include "util-uuid.h"

VGPU_EXPORT int vgpu_display_open(struct vgpu_ctx *ctx, const char *uuid,
				  struct vgpu_display **ret)
{
	struct vgpu_instance *in = NULL;
	struct vgpu_display *d;
	char name[VGPU_UUID_LEN + 1];
	int r;

	if (!ctx || !uuid || !ret)
		return -EINVAL;
	if (vgpu_uuid_normalize(uuid, name) < 0)
		return -EINVAL;
	r = vgpu_instance_get(ctx, name, NULL, &in);
	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;
	if (!vgpu_instance_is_active(in)) {
		vgpu_instance_unref(in);
		return -ENODEV;
	}
	if (!in->backend->open_display) {
		dbg(ctx, "%s: the %s backend offers no display source", name,
		    in->backend->name);
		vgpu_instance_unref(in);
		return -EOPNOTSUPP;
	}
	d = calloc(1, sizeof(*d));
	if (!d) {
		vgpu_instance_unref(in);
		return -ENOMEM;
	}
	d->refcount = 1;
	d->ctx = vgpu_ctx_ref(ctx);
	memcpy(d->uuid, name, sizeof(d->uuid));
	r = in->backend->open_display(in, d);
	vgpu_instance_unref(in);
	if (r < 0) {
		vgpu_ctx_unref(d->ctx);
		free(d);
		return r;
	}
	*ret = d;
	return 0;
}

VGPU_EXPORT struct vgpu_display *vgpu_display_ref(struct vgpu_display *d)
{
	if (d)
		__atomic_add_fetch(&d->refcount, 1, __ATOMIC_RELAXED);
	return d;
}

VGPU_EXPORT struct vgpu_display *vgpu_display_unref(struct vgpu_display *d)
{
	if (!d)
		return NULL;
	if (__atomic_sub_fetch(&d->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return d;
	d->ops->close(d);
	vgpu_ctx_unref(d->ctx);
	free(d);
	return NULL;
}

VGPU_EXPORT int vgpu_display_get_fd(struct vgpu_display *d)
{
	if (!d)
		return -EINVAL;
	return d->ops->get_fd(d);
}

VGPU_EXPORT int vgpu_display_get_frame(struct vgpu_display *d,
				       struct vgpu_display_frame *frame)
{
	struct vgpu_display_frame f = { .size = sizeof(f) };
	int r;

	if (!d || !frame ||
	    frame->size < offsetof(struct vgpu_display_frame, seq))
		return -EINVAL;
	r = d->ops->get_frame(d, &f);
	if (r < 0)
		return r;
	memcpy((uint8_t *)frame + sizeof(frame->size),
	       (uint8_t *)&f + sizeof(f.size),
	       (frame->size < sizeof(f) ? frame->size : sizeof(f)) -
		       sizeof(f.size));
	return 0;
}
