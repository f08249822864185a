/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The snapshot the usage and QoS verbs print (stats, top, metrics). */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuctl-usage.h"

static void read_row(struct usage_row *row, bool with_qos)
{
	row->usage_error = vgpu_instance_get_usage(row->in, &row->usage);
	for (int k = 0; with_qos && k < QOS_KNOBS; k++) {
		struct qos_value *q = &row->qos[k];

		q->r = vgpu_instance_get_qos(row->in, k, 0, &q->value,
					     &q->state);
	}
}

int usage_collect(struct vgpu_ctx *ctx, const char *uuid, bool with_qos,
		  struct usage_row **rows, size_t *n)
{
	struct vgpu_instance **list;
	size_t count;
	int r;

	*rows = NULL;
	*n = 0;
	r = vgpu_instance_list(ctx, VGPU_LIST_ACTIVE, NULL, uuid, &list,
			       &count);
	if (r < 0)
		return r;
	if (uuid && count == 0) {
		free(list);
		return -ENOENT;
	}
	*rows = calloc(count ? count : 1, sizeof(**rows));
	if (!*rows) {
		vgpu_instance_list_free(list, count);
		return -ENOMEM;
	}
	for (size_t i = 0; i < count; i++) {
		(*rows)[i].in = list[i];
		read_row(&(*rows)[i], with_qos);
	}
	free(list); /* the references moved into the rows */
	*n = count;
	return 0;
}

void usage_rows_free(struct usage_row *rows, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		vgpu_usage_unref(rows[i].usage);
		vgpu_instance_unref(rows[i].in);
	}
	free(rows);
}

int usage_value(const struct usage_row *row, enum vgpu_usage_counter c,
		uint64_t *value)
{
	return row->usage ? vgpu_usage_get(row->usage, c, value) : -ENODATA;
}

void format_bytes(char *buf, size_t size, uint64_t bytes)
{
	static const char units[] = "KMGTP";
	double v = (double)bytes;
	int u = -1;

	if (bytes < 1024) {
		snprintf(buf, size, "%" PRIu64, bytes);
		return;
	}
	while (v >= 1024 && u < 4) {
		v /= 1024;
		u++;
	}
	snprintf(buf, size, v < 10 && v != (uint64_t)v ? "%.1f%c" : "%.0f%c", v,
		 units[u]);
}

void format_qos(char *buf, size_t size, enum vgpu_qos_knob knob,
		const struct qos_value *q)
{
	static const char *const prio[] = { "low", "normal", "high" };

	if (q->r < 0)
		snprintf(buf, size, "-");
	else if (knob == VGPU_QOS_PRIORITY && q->value < 3)
		snprintf(buf, size, "%s", prio[q->value]);
	else
		snprintf(buf, size, "%" PRIu64, q->value);
}
