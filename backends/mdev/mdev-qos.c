/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QoS and usage of mdev instances, from what the vendor drivers expose in
 * sysfs:
 *  - NVIDIA (types "nvidia-<n>"): the frame-rate limit through the
 *    instance's nvidia/vgpu_params (in effect from the next VM start); the
 *    type's description gives frl_config and the framebuffer size;
 *  - Intel GVT-g (types "i915-GVTg_*"): the weight, fixed by the type's
 *    description ("weight: 4"), reported and never settable; the graphics
 *    memory (low_gm_size + high_gm_size) as framebuffer bytes.
 * Nothing else is exposed by these drivers: the other knobs are refused
 * and the other counters are "not reported".
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mdev-qos.h"
#include "util-sysfs.h"
#include "vendor-nvidia.h"

enum vendor {
	VENDOR_OTHER,
	VENDOR_NVIDIA,
	VENDOR_GVTG,
};

static enum vendor vendor_of(const struct vgpu_instance *in)
{
	const char *t = in->type_id ? in->type_id : "";

	if (!strncmp(t, "nvidia-", 7))
		return VENDOR_NVIDIA;
	if (!strncmp(t, "i915-GVTg_", 10))
		return VENDOR_GVTG;
	return VENDOR_OTHER;
}

/* the instance's type description as key/value pairs; @fd the device dir */
static int type_facts(struct vgpu_instance *in, int fd, struct vgpu_kv **kv,
		      size_t *n)
{
	char *text = NULL;
	int r = vgpu_read_attr_alloc(fd, "mdev_type/description", &text);

	*kv = NULL;
	*n = 0;
	if (r < 0) {
		dbg(in->ctx, "%s: mdev_type/description: %s", in->uuid,
		    strerror(-r));
		return r;
	}
	r = vgpu_parse_description(text, kv, n);
	free(text);
	return r;
}

static long fact_long(const struct vgpu_kv *kv, size_t n, const char *key)
{
	const char *v = vgpu_kv_get(kv, n, key);
	long x;

	return v && vgpu_parse_long(v, 10, 0, 1000000, &x) == 0 ? x : -1;
}

static int open_instance(struct vgpu_instance *in)
{
	int fd = open(in->syspath, O_RDONLY | O_DIRECTORY | O_CLOEXEC);

	return fd < 0 ? (errno == ENOENT ? -ENOENT : -errno) : fd;
}

int mdev_qos_get(struct vgpu_instance *in, enum vgpu_qos_knob knob,
		 uint64_t *value, unsigned int *state)
{
	enum vendor v = vendor_of(in);
	struct vgpu_kv *kv;
	size_t n;
	long x;
	int fd, r = -EOPNOTSUPP;

	if (v == VENDOR_OTHER ||
	    (v == VENDOR_NVIDIA && knob != VGPU_QOS_FRAME_RATE_LIMIT) ||
	    (v == VENDOR_GVTG && knob != VGPU_QOS_WEIGHT))
		return -EOPNOTSUPP;
	fd = open_instance(in);
	if (fd < 0)
		return fd;
	type_facts(in, fd, &kv, &n);
	if (v == VENDOR_NVIDIA) {
		r = vgpu_nvidia_frl_get(in->ctx, in->uuid, fd,
					fact_long(kv, n, "frl_config"), value);
		if (r == 0)
			*state |= VGPU_QOS_STATE_PENDING;
	} else {
		x = fact_long(kv, n, "weight");
		r = x > 0 ? 0 : -ENODATA;
		if (r == 0) {
			*value = (uint64_t)x;
			*state |= VGPU_QOS_STATE_FIXED;
		}
	}
	vgpu_kv_free(kv, n);
	close(fd);
	return r;
}

int mdev_qos_set(struct vgpu_instance *in, enum vgpu_qos_knob knob,
		 uint64_t value)
{
	enum vendor v = vendor_of(in);
	struct vgpu_kv *kv;
	size_t n;
	char why[160];
	int fd, r;

	if (v == VENDOR_OTHER) {
		snprintf(why, sizeof(why),
			 "the driver of type %s exposes no QoS knob",
			 in->type_id ? in->type_id : "(unknown)");
		return vgpu_qos_unsupported(in, knob, why);
	}
	if (v == VENDOR_GVTG) {
		if (knob != VGPU_QOS_WEIGHT)
			return vgpu_qos_unsupported(
				in, knob,
				"Intel GVT-g exposes only the weight, which its type fixes");
		snprintf(
			why, sizeof(why),
			"Intel GVT-g fixes the weight by the type (%s); create the instance with another type",
			in->type_id);
		return vgpu_qos_unsupported(in, knob, why);
	}
	if (knob != VGPU_QOS_FRAME_RATE_LIMIT)
		return vgpu_qos_unsupported(
			in, knob,
			"NVIDIA's mdev vGPU exposes only the frame-rate limiter (nvidia/vgpu_params); its scheduler is set per GPU with nvidia-smi");
	fd = open_instance(in);
	if (fd < 0)
		return fd;
	type_facts(in, fd, &kv, &n);
	r = vgpu_nvidia_frl_set(in, fd, fact_long(kv, n, "frl_config"), value);
	vgpu_kv_free(kv, n);
	close(fd);
	return r;
}

int mdev_get_usage(struct vgpu_instance *in, struct vgpu_usage *usage)
{
	enum vendor v = vendor_of(in);
	struct vgpu_kv *kv;
	uint64_t lo, hi;
	size_t n;
	int fd;

	if (v == VENDOR_OTHER)
		return 0;
	fd = open_instance(in);
	if (fd < 0)
		return fd;
	type_facts(in, fd, &kv, &n);
	close(fd);
	if (v == VENDOR_NVIDIA &&
	    vgpu_parse_size(vgpu_kv_get(kv, n, "framebuffer"), &lo) == 0)
		vgpu_usage_set(usage, VGPU_USAGE_FB_BYTES, lo);
	if (v == VENDOR_GVTG &&
	    vgpu_parse_size(vgpu_kv_get(kv, n, "low_gm_size"), &lo) == 0 &&
	    vgpu_parse_size(vgpu_kv_get(kv, n, "high_gm_size"), &hi) == 0)
		vgpu_usage_set(usage, VGPU_USAGE_FB_BYTES, lo + hi);
	vgpu_kv_free(kv, n);
	return 0;
}
