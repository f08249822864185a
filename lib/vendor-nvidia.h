/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NVIDIA's per-vGPU nvidia/vgpu_params, shared by the mdev backend and the
 * SR-IOV backend's NVIDIA model (vendor-nvidia.c). Never installed.
 */
#ifndef LIBVGPU_VENDOR_NVIDIA_H
#define LIBVGPU_VENDOR_NVIDIA_H

#include <stdint.h>

#include "libvgpu-private.h"

/* the frame-rate limit the vGPU runs with from its next VM start: 0 when
 * vgpu_params turns the limiter off, else @frl_config (the type's limit);
 * -ENODATA when that is unknown (@frl_config <= 0), -EOPNOTSUPP when the
 * device has no vgpu_params, -EBADMSG when it is malformed. @who names the
 * device in messages */
int vgpu_nvidia_frl_get(struct vgpu_ctx *ctx, const char *who, int devfd,
			long frl_config, uint64_t *value);
/* 0: frame_rate_limiter=0 into vgpu_params (other keys kept); @frl_config:
 * the key removed (limiter back on); anything else -EOPNOTSUPP. Returns
 * VGPU_QOS_APPLIED_AT_NEXT_START on success */
int vgpu_nvidia_frl_set(struct vgpu_instance *in, int devfd, long frl_config,
			uint64_t value);
/* the framebuffer size of a profile name ("NVIDIA H200X-1-18C"); -EINVAL */
int vgpu_nvidia_profile_fb(const char *name, uint64_t *bytes);

#endif
