/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QoS and usage of a provider's device over the control socket (qos.c),
 * for the backend operations in mgmt.c. Knobs in libvgpu's order (enum
 * vgpu_qos_knob), counters likewise (enum vgpu_usage_counter).
 */
#ifndef VGPU_VFIO_USER_QOS_H
#define VGPU_VFIO_USER_QOS_H

#include <stdint.h>

#include "ctl.h"

struct vgpu_instance;

/* 0, -EOPNOTSUPP (the provider or its vendor has no such knob), -ERANGE
 * (the vendor cannot honour the value), -ENOENT, or another errno */
int vu_provider_qos_set(struct vgpu_instance *in, unsigned int knob,
			uint64_t value);
int vu_provider_qos_get(struct vgpu_instance *in, unsigned int knob,
			uint64_t *value);
/* every counter into @value, bit n of *reported set when counter n is
 * reported; -EOPNOTSUPP when the provider reports no usage */
int vu_provider_usage(struct vgpu_instance *in,
		      uint64_t value[VFU_CTL_COUNTERS], unsigned int *reported);

#endif
