/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl monitor: parents and instances as they come and go.
 */
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgpuctl.h"
#include "vgpuctl-json.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct monitor_args {
	long interval;
	long count;
	long timeout_ms;
};

static int monitor_opt(int c, const char *arg, void *data)
{
	struct monitor_args *a = data;

	switch (c) {
	case 'i':
		return cli_parse_count("--interval", arg, &a->interval);
	case 'n':
		return cli_parse_count("--count", arg, &a->count);
	case 'T':
		return cli_parse_count("--timeout", arg, &a->timeout_ms);
	}
	return EXIT_USAGE;
}

static const char *event_name(enum vgpu_event_type t)
{
	switch (t) {
	case VGPU_EVENT_PARENT_ADDED:
		return "parent-added";
	case VGPU_EVENT_PARENT_REMOVED:
		return "parent-removed";
	case VGPU_EVENT_INSTANCE_ADDED:
		return "instance-added";
	case VGPU_EVENT_INSTANCE_REMOVED:
		return "instance-removed";
	}
	return "unknown";
}

static void print_event(struct vgpu_event *e, bool json)
{
	if (json) {
		struct jw j;

		jw_init(&j, false);
		jw_begin_object(&j);
		jw_member_string(&j, "event", event_name(vgpu_event_get_type(e)));
		jw_member_string(&j, "backend", vgpu_event_get_backend(e));
		jw_member_string(&j, "parent", vgpu_event_get_parent_id(e));
		if (vgpu_event_get_uuid(e)) {
			jw_member_string(&j, "uuid", vgpu_event_get_uuid(e));
			jw_member_string(&j, "type", vgpu_event_get_type_id(e));
		}
		jw_end_object(&j);
		print_json(&j);
	} else if (vgpu_event_get_uuid(e)) {
		printf("%s %s %s %s %s\n", event_name(vgpu_event_get_type(e)),
		       vgpu_event_get_backend(e), vgpu_event_get_parent_id(e),
		       vgpu_event_get_uuid(e),
		       vgpu_event_get_type_id(e) ? vgpu_event_get_type_id(e) : "-");
	} else {
		printf("%s %s %s\n", event_name(vgpu_event_get_type(e)),
		       vgpu_event_get_backend(e), vgpu_event_get_parent_id(e));
	}
	fflush(stdout);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int cmd_monitor(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		       char **argv)
{
	static const struct option lo[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ 0 },
	};
	struct monitor_args a = { .interval = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct vgpu_monitor *m;
	struct opts o = *go;
	long seen = 0, deadline;
	int r;

	r = parse_common(argc, argv, lo, "i:n:T:j", monitor_opt, &a, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
	r = vgpu_monitor_new(ctx, &m);
	if (r < 0) {
		fail_msg("monitor: %s", strerror(-r));
		return exit_for(r);
	}
	if (a.interval >= 0)
		vgpu_monitor_set_rescan_interval(m, (unsigned int)a.interval);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	deadline = a.timeout_ms ? now_ms() + a.timeout_ms : 0;
	/* tell a waiting script that the snapshot is taken */
	if (!o.json)
		fprintf(stderr, "%s: monitoring\n", cli_prog);
	while (!stop_requested && (!a.count || seen < a.count)) {
		struct pollfd pfd = { .fd = vgpu_monitor_get_fd(m), .events = POLLIN };
		int wait = -1;
		struct vgpu_event *e;

		if (deadline) {
			long left = deadline - now_ms();

			if (left <= 0)
				break;
			wait = (int)(left > INT_MAX ? INT_MAX : left);
		}
		if (poll(&pfd, 1, wait) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		while ((r = vgpu_monitor_receive(m, &e)) == 0 && e) {
			print_event(e, o.json);
			vgpu_event_unref(e);
			if (a.count && ++seen >= a.count)
				break;
		}
		if (r < 0)
			break;
	}
	vgpu_monitor_unref(m);
	if (r < 0) {
		fail_msg("monitor: %s", strerror(-r));
		return exit_for(r);
	}
	return 0;
}


const struct verb verb_monitor = {
	.name = "monitor",
	.run = cmd_monitor,
	.args = "[--interval MS] [--count N] [--timeout MS]",
	.summary = "print parents and instances as they come and go",
	.options = "  -i, --interval MS  also rescan every MS milliseconds (for trees that\n"
		   "                     raise no uevents); 0 turns rescans off\n"
		   "  -n, --count N      exit after N events\n"
		   "  -T, --timeout MS   exit after MS milliseconds\n",
};
