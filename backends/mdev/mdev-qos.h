/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* QoS and usage of mdev instances (mdev-qos.c). Never installed. */
#ifndef LIBVGPU_MDEV_QOS_H
#define LIBVGPU_MDEV_QOS_H

#include "libvgpu-private.h"

int mdev_qos_get(struct vgpu_instance *instance, enum vgpu_qos_knob knob,
		 uint64_t *value, unsigned int *state);
int mdev_qos_set(struct vgpu_instance *instance, enum vgpu_qos_knob knob,
		 uint64_t value);
int mdev_get_usage(struct vgpu_instance *instance, struct vgpu_usage *usage);

#endif
