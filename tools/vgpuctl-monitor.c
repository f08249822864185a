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
	bool autostart;
};

static int monitor_opt(int c, const char *arg, void *data)
{
	struct monitor_args *a = data;

	switch (c) {
	case 'a':
		a->autostart = true;
		return 0;
	case 'i':
		return cli_parse_count("--interval", arg, &a->interval);
	case 'n':
		return cli_parse_count("--count", arg, &a->count);
	case 'T':
		return cli_parse_count("--timeout", arg, &a->timeout_ms);
	}
	return EXIT_USAGE;
}

static void print_event(struct vgpu_event *e, bool json)
{
	const char *name = json_event_name(vgpu_event_get_type(e));

	if (json) {
		char now[40];
		struct jw j;

		json_time_now(now, sizeof(now));
		json_doc_begin(&j, false);
		jw_key(&j, "events");
		jw_begin_array(&j);
		json_event(&j, e, now);
		jw_end_array(&j);
		json_doc_end(&j);
	} else if (vgpu_event_get_uuid(e)) {
		printf("%s %s %s %s %s\n", name, vgpu_event_get_backend(e),
		       vgpu_event_get_parent_id(e), vgpu_event_get_uuid(e),
		       vgpu_event_get_type_id(e) ? vgpu_event_get_type_id(e)
						 : "-");
	} else {
		printf("%s %s %s\n", name, vgpu_event_get_backend(e),
		       vgpu_event_get_parent_id(e));
	}
	fflush(stdout);
}

/* start the "auto" definitions of a parent that appeared (user-space
 * providers raise no uevent for udev's rule to run `vgpuctl autostart`) */
static void autostart(struct vgpu_ctx *ctx, const char *parent)
{
	int r = vgpu_parent_autostart(ctx, parent);

	if (r < 0)
		fail_errno(r, "parent %s: autostart", parent);
	else if (r > 0)
		fprintf(stderr, "%s: parent %s: started %d instance%s\n",
			cli_prog, parent, r, r == 1 ? "" : "s");
}

static void autostart_present(struct vgpu_ctx *ctx)
{
	struct vgpu_parent **list;
	size_t n;
	int r = vgpu_parent_list(ctx, &list, &n);

	if (r < 0) {
		fail_errno(r, "parents");
		return;
	}
	for (size_t i = 0; i < n; i++)
		autostart(ctx, vgpu_parent_get_id(list[i]));
	vgpu_parent_list_free(list, n);
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
		{ "autostart", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct monitor_args a = { .interval = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct vgpu_monitor *m;
	struct opts o = *go;
	long seen = 0, deadline;
	int r;

	r = parse_common(argc, argv, lo, "i:n:T:aj", monitor_opt, &a, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'",
				   argv[optind]);
	r = vgpu_monitor_new(ctx, &m);
	if (r < 0)
		return fail_errno(r, "monitor");
	cli_flush_cause();
	if (a.autostart)
		autostart_present(ctx);
	if (a.interval >= 0)
		vgpu_monitor_set_rescan_interval(m, (unsigned int)a.interval);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	deadline = a.timeout_ms ? now_ms() + a.timeout_ms : 0;
	/* tell a waiting script that the snapshot is taken (on stderr, out
	 * of the JSON stream) */
	fprintf(stderr, "%s: monitoring\n", cli_prog);
	while (!stop_requested && (!a.count || seen < a.count)) {
		struct pollfd pfd = { .fd = vgpu_monitor_get_fd(m),
				      .events = POLLIN };
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
			if (a.autostart &&
			    vgpu_event_get_type(e) == VGPU_EVENT_PARENT_ADDED)
				autostart(ctx, vgpu_event_get_parent_id(e));
			vgpu_event_unref(e);
			if (a.count && ++seen >= a.count)
				break;
		}
		/* a provider that does not answer, or shuts us out, was
		 * logged by the rescan, which went on without it */
		cli_flush_cause();
		if (r < 0)
			break;
	}
	vgpu_monitor_unref(m);
	return r < 0 ? fail_errno(r, "monitor") : 0;
}

const struct verb verb_monitor = {
	.name = "monitor",
	.run = cmd_monitor,
	.args = "[--interval MS] [--count N] [--timeout MS] [--autostart]",
	.summary = "print parents and instances as they come and go",
	.options =
		"  -i, --interval MS  also rescan every MS milliseconds (for trees that\n"
		"                     raise no uevents); 0 turns rescans off\n"
		"  -n, --count N      exit after N events\n"
		"  -T, --timeout MS   exit after MS milliseconds\n"
		"  -a, --autostart    start the \"auto\" definitions of every parent\n"
		"                     present, and of each parent that appears: how\n"
		"                     definitions on user-space providers start when\n"
		"                     the provider registers (vgpu-autostart.service)\n",
};
