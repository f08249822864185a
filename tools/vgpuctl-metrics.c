/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl metrics [--output FILE]: usage and QoS of every active instance
 * in the Prometheus text exposition format (version 0.0.4), one sample
 * per instance labelled parent, type, uuid and backend. A counter the
 * backend does not report has no sample (absent, never 0). With --output
 * the file is replaced atomically, as node_exporter's textfile collector
 * wants (name it *.prom in its directory). The names are listed in
 * docs/qos.md. A parent that cannot be asked (a provider that does not
 * answer) leaves its instances out: the others are still written, with a
 * vgpu_parent_up 0 sample for it, and the exit status is 7.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "vgpuctl-json.h"
#include "vgpuctl-usage.h"

enum kind {
	COUNTER,
	GAUGE
};

struct family {
	const char *name;
	enum kind kind;
	const char *help;
	bool qos;     /* a knob; otherwise a usage counter */
	int index;    /* enum vgpu_usage_counter or vgpu_qos_knob */
	double scale; /* value * scale is printed */
};

static const struct family families[] = {
	{ "vgpu_engine_busy_seconds_total", COUNTER,
	  "Time an engine ran the instance's work.", false,
	  VGPU_USAGE_ENGINE_BUSY_NS, 1e-9 },
	{ "vgpu_work_items_total", COUNTER,
	  "Work items (command buffers, jobs) the instance completed.", false,
	  VGPU_USAGE_WORK_ITEMS, 1 },
	{ "vgpu_dma_bytes_total", COUNTER,
	  "Bytes the device moved to and from the guest's memory.", false,
	  VGPU_USAGE_DMA_BYTES, 1 },
	{ "vgpu_interrupts_total", COUNTER, "Interrupts raised to the guest.",
	  false, VGPU_USAGE_INTERRUPTS, 1 },
	{ "vgpu_framebuffer_bytes", GAUGE,
	  "Framebuffer (device-local) memory the instance holds.", false,
	  VGPU_USAGE_FB_BYTES, 1 },
	{ "vgpu_frames_total", COUNTER,
	  "Frames presented on the instance's display.", false,
	  VGPU_USAGE_FRAMES, 1 },
	{ "vgpu_qos_time_slice_seconds", GAUGE,
	  "Scheduling time slice (0: the scheduler's default).", true,
	  VGPU_QOS_TIME_SLICE_US, 1e-6 },
	{ "vgpu_qos_preempt_timeout_seconds", GAUGE,
	  "Preemption timeout (0: unlimited).", true,
	  VGPU_QOS_PREEMPT_TIMEOUT_US, 1e-6 },
	{ "vgpu_qos_priority", GAUGE,
	  "Scheduling priority: 0 low, 1 normal, 2 high.", true,
	  VGPU_QOS_PRIORITY, 1 },
	{ "vgpu_qos_weight", GAUGE,
	  "Relative weight against the parent's other instances.", true,
	  VGPU_QOS_WEIGHT, 1 },
	{ "vgpu_qos_frame_rate_limit", GAUGE,
	  "Display frame-rate limit in frames per second (0: none).", true,
	  VGPU_QOS_FRAME_RATE_LIMIT, 1 },
};

/* a label value: backslash, double quote and newline escaped */
static void label(FILE *f, const char *key, const char *value, bool first)
{
	fprintf(f, "%s%s=\"", first ? "" : ",", key);
	for (const char *p = value ? value : ""; *p; p++) {
		if (*p == '\\' || *p == '"')
			fprintf(f, "\\%c", *p);
		else if (*p == '\n')
			fputs("\\n", f);
		else
			fputc(*p, f);
	}
	fputc('"', f);
}

static void labels(FILE *f, struct vgpu_instance *in)
{
	fputc('{', f);
	label(f, "parent", vgpu_instance_get_parent_id(in), true);
	label(f, "type", vgpu_instance_get_type_id(in), false);
	label(f, "uuid", vgpu_instance_get_uuid(in), false);
	label(f, "backend", vgpu_instance_get_backend(in), false);
	fputc('}', f);
}

static bool sample(const struct usage_row *row, const struct family *fam,
		   uint64_t *v)
{
	if (fam->qos) {
		*v = row->qos[fam->index].value;
		return row->qos[fam->index].r == 0;
	}
	return usage_value(row, fam->index, v) == 0;
}

/* one sample for each parent the listing could not ask */
static void write_unreachable(FILE *f, const struct json_errors *errs)
{
	if (!errs->n)
		return;
	fprintf(f, "# HELP vgpu_parent_up Whether the parent answered (0: its "
		   "instances are missing).\n"
		   "# TYPE vgpu_parent_up gauge\n");
	for (size_t i = 0; i < errs->n; i++) {
		fputs("vgpu_parent_up{", f);
		label(f, "parent", errs->e[i].parent, true);
		label(f, "backend", errs->e[i].backend, false);
		label(f, "errno", json_errno_name(errs->e[i].error), false);
		fputs("} 0\n", f);
	}
}

static void write_metrics(FILE *f, struct usage_row *rows, size_t n,
			  const struct json_errors *errs)
{
	fprintf(f,
		"# HELP vgpu_instance_info An active vGPU instance (always 1).\n"
		"# TYPE vgpu_instance_info gauge\n");
	for (size_t i = 0; i < n; i++) {
		fputs("vgpu_instance_info", f);
		labels(f, rows[i].in);
		fputs(" 1\n", f);
	}
	for (size_t k = 0; k < sizeof(families) / sizeof(families[0]); k++) {
		const struct family *fam = &families[k];
		bool header = false;

		for (size_t i = 0; i < n; i++) {
			uint64_t v;

			if (!sample(&rows[i], fam, &v))
				continue;
			if (!header)
				fprintf(f, "# HELP %s %s\n# TYPE %s %s\n",
					fam->name, fam->help, fam->name,
					fam->kind == COUNTER ? "counter"
							     : "gauge");
			header = true;
			fputs(fam->name, f);
			labels(f, rows[i].in);
			if (fam->scale == 1)
				fprintf(f, " %" PRIu64 "\n", v);
			else
				fprintf(f, " %.9g\n", (double)v * fam->scale);
		}
	}
	write_unreachable(f, errs);
}

/* FILE atomically: a temporary beside it, then rename */
static int write_file(const char *path, struct usage_row *rows, size_t n,
		      const struct json_errors *errs)
{
	char *tmp;
	FILE *f;
	int fd, r = 0;

	if (asprintf(&tmp, "%s.XXXXXX", path) < 0)
		return -ENOMEM;
	fd = mkstemp(tmp);
	if (fd < 0) {
		r = -errno;
		free(tmp);
		return r;
	}
	f = fdopen(fd, "w");
	if (!f) {
		r = -errno;
		close(fd);
	} else {
		write_metrics(f, rows, n, errs);
		if (fflush(f) != 0 || fsync(fileno(f)) < 0)
			r = -errno;
		if (fchmod(fileno(f), 0644) < 0 && !r)
			r = -errno;
		if (fclose(f) != 0 && !r)
			r = -errno;
	}
	if (!r && rename(tmp, path) < 0)
		r = -errno;
	if (r)
		unlink(tmp);
	free(tmp);
	return r;
}

static int metrics_opt(int c, const char *arg, void *data)
{
	*(const char **)data = arg;
	return c == 'o' ? 0 : EXIT_USAGE;
}

int cmd_metrics(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		char **argv)
{
	static const struct option opts[] = {
		{ "output", required_argument, NULL, 'o' },
		{ 0 },
	};
	struct usage_row *rows;
	struct json_errors errs;
	const char *output = NULL;
	struct opts o = *go;
	size_t n;
	int r, status;

	r = parse_common(argc, argv, opts, "o:", metrics_opt, &output, &o);
	if (r)
		return r;
	if (argc != optind)
		return usage_error(argv[0], "%s", "takes no arguments");
	if (o.json)
		return usage_error(
			argv[0], "%s",
			"writes the Prometheus text format, not JSON");
	/* the instances of the parents that answer */
	json_errors_watch(ctx, &errs);
	r = usage_collect(ctx, NULL, true, &rows, &n);
	if (r < 0) {
		json_errors_finish(&errs);
		fail_msg("metrics: %s", strerror(-r));
		return exit_for(r);
	}
	for (size_t i = 0; i < n; i++)
		if (rows[i].usage_error < 0)
			fail_msg("metrics: %s: usage not readable: %s",
				 vgpu_instance_get_uuid(rows[i].in),
				 strerror(-rows[i].usage_error));
	if (output) {
		r = write_file(output, rows, n, &errs);
		if (r < 0)
			fail_msg("metrics: cannot write %s: %s", output,
				 strerror(-r));
	} else {
		write_metrics(stdout, rows, n, &errs);
	}
	usage_rows_free(rows, n);
	status = json_errors_finish(&errs);
	return r < 0 ? 1 : status;
}

const struct verb verb_metrics = {
	.name = "metrics",
	.run = cmd_metrics,
	.args = "[--output FILE]",
	.summary = "usage and QoS in the Prometheus text format",
	.options =
		"  -o, --output FILE  write FILE atomically (for node_exporter's\n"
		"                     textfile collector) instead of stdout\n",
};
