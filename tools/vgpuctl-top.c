/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl top [--interval MS] [--iterations N] [--batch]: a refreshing view
 * of every active instance (utilisation, share of its parent, interrupt
 * and frame rates, framebuffer, QoS), like top(1) or nvidia-smi vgpu -l.
 * On a terminal it draws with plain ANSI sequences (fine over SSH) and
 * quits on 'q'; otherwise, or with --batch, it prints one frame after the
 * other. The UUID comes last, so a narrow terminal cuts the least useful
 * part. Rates need two samples: the first frame shows "-" for them, as
 * it does for everything a backend does not report.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "vgpuctl-json.h"
#include "vgpuctl-usage.h"

struct prev {
	char uuid[40];
	uint64_t ts;
	uint64_t value[USAGE_COUNTERS];
	unsigned int have; /* bit per counter */
};

struct top_args {
	long interval_ms;
	long iterations; /* 0: until 'q' */
	bool batch;
	const char *verb;
};

static volatile sig_atomic_t stop_requested;
static struct termios saved_tio;
static bool tio_saved;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void on_winch(int sig)
{
	(void)sig; /* poll() returns early; the next frame fits the size */
}

static int top_opt(int c, const char *arg, void *data)
{
	struct top_args *a = data;
	char *end;
	long v;

	switch (c) {
	case 'b':
		a->batch = true;
		return 0;
	case 'i':
	case 'n':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || !*arg || v < (c == 'i' ? 50 : 1) ||
		    v > 86400000)
			return usage_error(
				a->verb, "%s '%s'",
				c == 'i'
					? "--interval takes milliseconds (50 or more), not"
					: "--iterations takes a positive count, not",
				arg);
		if (c == 'i')
			a->interval_ms = v;
		else
			a->iterations = v;
		return 0;
	default:
		return usage_error(a->verb, "%s", "bad option");
	}
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 20)
		return ws.ws_col;
	return 200;
}

static const struct prev *find_prev(const struct prev *p, size_t n,
				    const char *uuid)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(p[i].uuid, uuid))
			return &p[i];
	return NULL;
}

/* the rate of a counter between the previous sample and now; false when
 * either is missing */
static bool delta(const struct usage_row *row, const struct prev *p, int c,
		  double *per_second, uint64_t *diff)
{
	uint64_t v, ts;

	if (!p || !(p->have & (1u << c)) || usage_value(row, c, &v) < 0 ||
	    v < p->value[c])
		return false;
	ts = vgpu_usage_get_timestamp(row->usage);
	if (ts <= p->ts)
		return false;
	*diff = v - p->value[c];
	*per_second = (double)*diff * 1e9 / (double)(ts - p->ts);
	return true;
}

static void line(char *buf, int width, bool tty)
{
	if (tty && (int)strlen(buf) > width)
		buf[width] = '\0';
	fputs(buf, stdout);
	fputs(tty ? "\033[K\n" : "\n", stdout);
}

static void render(struct usage_row *rows, size_t n, const struct prev *prev,
		   size_t n_prev, const struct top_args *a, bool tty,
		   const struct json_errors *errs)
{
	char buf[512], busy_busy[16];
	double *parent_busy = calloc(n ? n : 1, sizeof(*parent_busy));
	size_t *parent_of = calloc(n ? n : 1, sizeof(*parent_of));
	int width = term_width();
	time_t now = time(NULL);
	struct tm tm;

	if (!parent_busy || !parent_of)
		n = 0;
	/* each parent's total busy time in the interval, for the shares */
	for (size_t i = 0; i < n; i++) {
		const char *pid = vgpu_instance_get_parent_id(rows[i].in);
		double rate;
		uint64_t d;

		parent_of[i] = i;
		for (size_t j = 0; j < i; j++) {
			if (!strcmp(pid,
				    vgpu_instance_get_parent_id(rows[j].in))) {
				parent_of[i] = parent_of[j];
				break;
			}
		}
		if (delta(&rows[i],
			  find_prev(prev, n_prev,
				    vgpu_instance_get_uuid(rows[i].in)),
			  VGPU_USAGE_ENGINE_BUSY_NS, &rate, &d))
			parent_busy[parent_of[i]] += (double)d;
	}
	if (!parent_busy || !parent_of) {
		free(parent_busy);
		free(parent_of);
		return;
	}
	localtime_r(&now, &tm);
	if (tty)
		fputs("\033[H", stdout);
	snprintf(
		buf, sizeof(buf),
		"vgpuctl top - %02d:%02d:%02d  %zu active instance%s  every %.1fs%s",
		tm.tm_hour, tm.tm_min, tm.tm_sec, n, n == 1 ? "" : "s",
		(double)a->interval_ms / 1000, tty ? "  (q quits)" : "");
	line(buf, width, tty);
	line(strcpy(buf, ""), width, tty);
	snprintf(
		buf, sizeof(buf),
		"%-12s  %-16s  %-9s  %5s  %5s  %7s  %6s  %5s  %9s  %6s  %6s  %4s  %s",
		"PARENT", "TYPE", "BACKEND", "BUSY%", "SHARE", "IRQ/s", "FB",
		"FPS", "SLICE_US", "PRIO", "WEIGHT", "FRL", "UUID");
	line(buf, width, tty);
	for (size_t i = 0; i < n; i++) {
		const struct usage_row *r = &rows[i];
		const struct prev *p =
			find_prev(prev, n_prev, vgpu_instance_get_uuid(r->in));
		char share[16], irq[16], fb[16], fps[16], q[QOS_KNOBS][24];
		const char *type = vgpu_instance_get_type_id(r->in);
		double rate;
		uint64_t v, d;

		snprintf(busy_busy, sizeof(busy_busy), "-");
		snprintf(share, sizeof(share), "-");
		if (delta(r, p, VGPU_USAGE_ENGINE_BUSY_NS, &rate, &d)) {
			snprintf(busy_busy, sizeof(busy_busy), "%.0f",
				 rate / 1e7);
			if (parent_busy[parent_of[i]] > 0)
				snprintf(share, sizeof(share), "%.0f%%",
					 100.0 * (double)d /
						 parent_busy[parent_of[i]]);
		}
		snprintf(irq, sizeof(irq), "-");
		if (delta(r, p, VGPU_USAGE_INTERRUPTS, &rate, &d))
			snprintf(irq, sizeof(irq), "%.0f", rate);
		snprintf(fps, sizeof(fps), "-");
		if (delta(r, p, VGPU_USAGE_FRAMES, &rate, &d))
			snprintf(fps, sizeof(fps), "%.0f", rate);
		snprintf(fb, sizeof(fb), "-");
		if (usage_value(r, VGPU_USAGE_FB_BYTES, &v) == 0)
			format_bytes(fb, sizeof(fb), v);
		for (int k = 0; k < QOS_KNOBS; k++)
			format_qos(q[k], sizeof(q[k]), k, &r->qos[k]);
		snprintf(
			buf, sizeof(buf),
			"%-12.12s  %-16.16s  %-9.9s  %5s  %5s  %7s  %6s  %5s  %9s  %6s  %6s  %4s  %s",
			vgpu_instance_get_parent_id(r->in), type ? type : "-",
			vgpu_instance_get_backend(r->in), busy_busy, share, irq,
			fb, fps, q[VGPU_QOS_TIME_SLICE_US],
			q[VGPU_QOS_PRIORITY], q[VGPU_QOS_WEIGHT],
			q[VGPU_QOS_FRAME_RATE_LIMIT],
			vgpu_instance_get_uuid(r->in));
		line(buf, width, tty);
	}
	/* the parents that did not answer: their instances are missing
	 * (shown here on a terminal, where stderr would spoil the view) */
	for (size_t i = 0; tty && i < errs->n; i++) {
		snprintf(buf, sizeof(buf), "! %s", errs->e[i].message);
		line(buf, width, tty);
	}
	if (tty)
		fputs("\033[J", stdout);
	else
		fputs("\n", stdout);
	fflush(stdout);
	free(parent_busy);
	free(parent_of);
}

/* remember this frame's counters for the next one's rates */
static struct prev *remember(struct usage_row *rows, size_t n)
{
	struct prev *p = calloc(n ? n : 1, sizeof(*p));

	for (size_t i = 0; p && i < n; i++) {
		snprintf(p[i].uuid, sizeof(p[i].uuid), "%s",
			 vgpu_instance_get_uuid(rows[i].in));
		p[i].ts = vgpu_usage_get_timestamp(rows[i].usage);
		for (int c = 0; c < USAGE_COUNTERS; c++)
			if (usage_value(&rows[i], c, &p[i].value[c]) == 0)
				p[i].have |= 1u << c;
	}
	return p;
}

static void term_restore(void)
{
	if (!tio_saved)
		return;
	tcsetattr(STDIN_FILENO, TCSAFLUSH, &saved_tio);
	fputs("\033[?25h\033[?1049l", stdout);
	fflush(stdout);
	tio_saved = false;
}

static int term_setup(void)
{
	struct termios raw;

	if (tcgetattr(STDIN_FILENO, &saved_tio) < 0)
		return -errno;
	raw = saved_tio;
	raw.c_lflag &= ~(tcflag_t)(ICANON | ECHO);
	raw.c_cc[VMIN] = 0;
	raw.c_cc[VTIME] = 0;
	if (tcsetattr(STDIN_FILENO, TCSAFLUSH, &raw) < 0)
		return -errno;
	tio_saved = true;
	/* the alternate screen, cursor hidden: the shell comes back as it was */
	fputs("\033[?1049h\033[?25l\033[2J", stdout);
	return 0;
}

/* wait one interval; true when the user asked to quit */
static bool wait_key(long ms, bool tty)
{
	struct timespec end, now;

	clock_gettime(CLOCK_MONOTONIC, &end);
	end.tv_sec += ms / 1000;
	end.tv_nsec += (ms % 1000) * 1000000;
	if (end.tv_nsec >= 1000000000) {
		end.tv_sec++;
		end.tv_nsec -= 1000000000;
	}
	for (;;) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		long left;
		char c;

		if (stop_requested)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &now);
		left = (end.tv_sec - now.tv_sec) * 1000 +
		       (end.tv_nsec - now.tv_nsec) / 1000000;
		if (left <= 0)
			return false;
		if (!tty) {
			poll(NULL, 0, (int)left);
			continue;
		}
		if (poll(&pfd, 1, (int)left) <= 0)
			continue; /* timeout, or a signal (a resize) */
		if (read(STDIN_FILENO, &c, 1) != 1)
			return true; /* the terminal went away */
		if (c == 'q' || c == 'Q')
			return true;
		if (c == ' ')
			return false; /* refresh now */
	}
}

int cmd_top(struct vgpu_ctx *ctx, const struct opts *go, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "iterations", required_argument, NULL, 'n' },
		{ "batch", no_argument, NULL, 'b' },
		{ 0 },
	};
	struct top_args a = { .interval_ms = 1000, .verb = argv[0] };
	struct sigaction sa = { .sa_handler = on_signal };
	struct sigaction sw = { .sa_handler = on_winch };
	struct prev *prev = NULL;
	struct opts o = *go;
	size_t n_prev = 0;
	bool tty;
	int r, status = 0;

	r = parse_common(argc, argv, opts, "i:n:b", top_opt, &a, &o);
	if (r)
		return r;
	if (argc != optind)
		return usage_error(argv[0], "%s", "takes no arguments");
	if (o.json)
		return usage_error(
			argv[0], "%s",
			"is a terminal view; use 'stats --json' or 'metrics'");
	tty = !a.batch && isatty(STDIN_FILENO) && isatty(STDOUT_FILENO);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	sigaction(SIGWINCH, &sw, NULL);
	if (tty && term_setup() < 0)
		tty = false;
	for (long frame = 0; !stop_requested; frame++) {
		struct usage_row *rows;
		size_t n;

		struct json_errors errs;

		/* the instances of the parents that answer; the others are
		 * named (under the table on a terminal, else on stderr), and
		 * the last frame's decide the exit status (7) */
		json_errors_watch(ctx, &errs);
		r = usage_collect(ctx, NULL, true, &rows, &n);
		if (r < 0) {
			json_errors_forget(&errs);
			term_restore();
			fail_msg("top: listing the instances failed: %s",
				 strerror(-r));
			status = exit_for(r);
			break;
		}
		render(rows, n, prev, n_prev, &a, tty, &errs);
		/* on a terminal under the table, else on stderr */
		status = tty ? json_errors_forget(&errs)
			     : json_errors_finish(&errs);
		free(prev);
		prev = remember(rows, n);
		n_prev = prev ? n : 0;
		usage_rows_free(rows, n);
		if (a.iterations && frame + 1 >= a.iterations)
			break;
		if (wait_key(a.interval_ms, tty))
			break;
	}
	free(prev);
	term_restore();
	return status;
}

const struct verb verb_top = {
	.name = "top",
	.run = cmd_top,
	.args = "[--interval MS] [--iterations N] [--batch]",
	.summary = "live view of every instance's use and QoS ('q' quits)",
	.options = "  -i, --interval MS  refresh every MS milliseconds\n"
		   "  -n, --iterations N exit after N refreshes\n"
		   "  -b, --batch        plain output, no terminal control\n",
};
