/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl stats [UUID] [--json]: what every active instance (or one) has
 * used. A counter the backend does not report prints "-" (JSON null),
 * never 0.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "vgpuctl-json.h"
#include "vgpuctl-usage.h"

static void print_text(struct usage_row *rows, size_t n)
{
	printf("%-36s  %-14s  %-16s  %-9s  %12s  %10s  %10s  %10s  %8s  %10s\n",
	       "UUID", "PARENT", "TYPE", "BACKEND", "BUSY_MS", "WORK", "DMA",
	       "IRQS", "FB", "FRAMES");
	for (size_t i = 0; i < n; i++) {
		char cell[USAGE_COUNTERS][32];
		uint64_t v;

		for (int c = 0; c < USAGE_COUNTERS; c++) {
			if (usage_value(&rows[i], c, &v) < 0)
				snprintf(cell[c], sizeof(cell[c]), "-");
			else if (c == VGPU_USAGE_ENGINE_BUSY_NS)
				snprintf(cell[c], sizeof(cell[c]), "%" PRIu64,
					 v / 1000000);
			else if (c == VGPU_USAGE_FB_BYTES ||
				 c == VGPU_USAGE_DMA_BYTES)
				format_bytes(cell[c], sizeof(cell[c]), v);
			else
				snprintf(cell[c], sizeof(cell[c]), "%" PRIu64,
					 v);
		}
		printf("%-36s  %-14s  %-16s  %-9s  %12s  %10s  %10s  %10s  %8s  %10s\n",
		       vgpu_instance_get_uuid(rows[i].in),
		       vgpu_instance_get_parent_id(rows[i].in),
		       vgpu_instance_get_type_id(rows[i].in)
			       ? vgpu_instance_get_type_id(rows[i].in)
			       : "-",
		       vgpu_instance_get_backend(rows[i].in),
		       cell[VGPU_USAGE_ENGINE_BUSY_NS],
		       cell[VGPU_USAGE_WORK_ITEMS], cell[VGPU_USAGE_DMA_BYTES],
		       cell[VGPU_USAGE_INTERRUPTS], cell[VGPU_USAGE_FB_BYTES],
		       cell[VGPU_USAGE_FRAMES]);
	}
}

/* one document: "time", "usage" (one entry per instance), "errors" */
static void print_json_rows(struct usage_row *rows, size_t n,
			    const struct json_errors *errs)
{
	char now[40];
	struct jw j;

	json_time_now(now, sizeof(now));
	json_doc_begin(&j, true);
	jw_member_string(&j, "time", now);
	jw_key(&j, "usage");
	jw_begin_array(&j);
	for (size_t i = 0; i < n; i++) {
		struct vgpu_instance *in = rows[i].in;

		jw_begin_object(&j);
		jw_member_string(&j, "uuid", vgpu_instance_get_uuid(in));
		jw_member_string(&j, "parent", vgpu_instance_get_parent_id(in));
		jw_member_string(&j, "type", vgpu_instance_get_type_id(in));
		jw_member_string(&j, "backend", vgpu_instance_get_backend(in));
		jw_key(&j, "timestamp_ns");
		if (rows[i].usage)
			jw_int(&j, (long long)vgpu_usage_get_timestamp(
					   rows[i].usage));
		else
			jw_null(&j);
		jw_key(&j, "counters");
		jw_begin_object(&j);
		for (int c = 0; c < USAGE_COUNTERS; c++) {
			uint64_t v;

			jw_key(&j, vgpu_usage_counter_name(c));
			if (usage_value(&rows[i], c, &v) == 0)
				jw_int(&j, (long long)v);
			else
				jw_null(&j);
		}
		jw_end_object(&j);
		jw_key(&j, "errno");
		if (rows[i].usage_error < 0)
			jw_string(&j, json_errno_name(rows[i].usage_error));
		else
			jw_null(&j);
		jw_end_object(&j);
	}
	jw_end_array(&j);
	json_member_errors(&j, errs);
	json_doc_end(&j);
}

int cmd_stats(struct vgpu_ctx *ctx, const struct opts *go, int argc,
	      char **argv)
{
	struct usage_row *rows;
	struct json_errors errs;
	struct opts o = *go;
	const char *uuid;
	size_t n;
	int r, status = 0;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (argc - optind > 1)
		return usage_error(argv[0], "%s", "expects at most one UUID");
	uuid = argc - optind == 1 ? argv[optind] : NULL;
	if (uuid && !looks_like_uuid(uuid))
		return usage_error(argv[0], "'%s' is not a UUID", uuid);
	/* every instance: those of the parents that answer */
	json_errors_watch(ctx, &errs);
	r = usage_collect(ctx, uuid, false, &rows, &n);
	if (r < 0) {
		json_errors_finish(&errs);
		if (r == -ENOENT)
			fail_msg("stats %s: not active", uuid);
		else
			fail_msg("stats: %s", strerror(-r));
		return exit_for(r);
	}
	for (size_t i = 0; i < n; i++) {
		if (rows[i].usage_error < 0) {
			fail_msg("stats %s: reading its usage failed: %s",
				 vgpu_instance_get_uuid(rows[i].in),
				 strerror(-rows[i].usage_error));
			status = 1;
		}
	}
	if (o.json)
		print_json_rows(rows, n, &errs);
	else
		print_text(rows, n);
	usage_rows_free(rows, n);
	r = json_errors_finish(&errs);
	return status ? status : r;
}

const struct verb verb_stats = {
	.name = "stats",
	.run = cmd_stats,
	.args = "[UUID]",
	.summary = "usage of every active instance, or of one (docs/qos.md)",
};
