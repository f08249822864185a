/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the usage and QoS verbs of vgpuctl share (vgpuctl-usage.c): a
 * snapshot of every active instance with its usage and QoS, and how
 * values are printed ("-" is "not reported", never 0).
 */
#ifndef VGPUCTL_USAGE_H
#define VGPUCTL_USAGE_H

#include <stdint.h>

#include "vgpuctl.h"

#define QOS_KNOBS      5
#define USAGE_COUNTERS 6

struct qos_value {
	int r; /* 0, -ENODATA (no value), -EOPNOTSUPP (no such knob), ... */
	uint64_t value;
	unsigned int state;
};

struct usage_row {
	struct vgpu_instance *in;
	struct vgpu_usage *usage; /* NULL when it could not be read */
	int usage_error;
	struct qos_value qos[QOS_KNOBS];
};

/* the active instances (only @uuid when non-NULL), sorted by parent and
 * UUID, with usage and QoS read now; -ENOENT when @uuid is not active */
int usage_collect(struct vgpu_ctx *ctx, const char *uuid, bool with_qos,
		  struct usage_row **rows, size_t *n);
void usage_rows_free(struct usage_row *rows, size_t n);
/* a counter of a row: 0 and *value, or -ENODATA */
int usage_value(const struct usage_row *row, enum vgpu_usage_counter c,
		uint64_t *value);
/* "1.5G", "640M", "12K", "512" */
void format_bytes(char *buf, size_t size, uint64_t bytes);
/* a QoS value as vgpuctl prints it ("high" for priorities); "-" when
 * there is none */
void format_qos(char *buf, size_t size, enum vgpu_qos_knob knob,
		const struct qos_value *q);

int cmd_stats(struct vgpu_ctx *ctx, const struct opts *go, int argc,
	      char **argv);
int cmd_qos(struct vgpu_ctx *ctx, const struct opts *go, int argc, char **argv);
int cmd_top(struct vgpu_ctx *ctx, const struct opts *go, int argc, char **argv);
int cmd_metrics(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		char **argv);

#endif
