/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vgpuctl's JSON objects (vgpuctl-json.c). */
#ifndef VGPUCTL_JSON_H
#define VGPUCTL_JSON_H

#include <stdbool.h>

#include <libvgpu.h>

#include "util-json.h"

void json_parent(struct jw *j, struct vgpu_parent *p, bool names);
void json_type(struct jw *j, struct vgpu_type *t);
/* @in_use: 1/0 to report it, < 0 to leave it out */
void json_instance(struct jw *j, struct vgpu_instance *in, int in_use);

#endif
