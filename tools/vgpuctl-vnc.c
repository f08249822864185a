/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl vnc UUID [--listen ADDR:PORT]: the live screen of an instance,
 * served to VNC clients with libvncserver. Part of the private program
 * vgpuctl-display, so that only this verb and screenshot load libvncserver
 * (vgpuctl-display-exec.c).
 *
 * The server's framebuffer is a shadow of the display in the display's own
 * pixel layout. Each pass compares the display with the shadow tile by tile
 * (64x64, in place, row by row) and copies and marks only the tiles that
 * differ, so a frame that changes a little costs a compare and a little
 * copy, never a copy of the whole framebuffer. A source that announces
 * frames (a provider's display source) is read when it says so; a device is
 * polled at --rate. A new size or pixel format gives a new framebuffer
 * (clients that support it are told the new desktop size).
 *
 * The view is read-only: a VFIO display has no input path (a guest's input
 * comes through the VMM's emulated devices), so pointer, key and clipboard
 * events from clients are dropped. We accept connections on our own socket
 * and hand them to libvncserver, so it never opens a port of its own; the
 * default is the loopback address.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <rfb/rfb.h>

#include "vgpuctl.h"
#include "vgpuctl-display.h"

#define TILE	    64
#define MAX_CLIENTS 16

struct vnc {
	struct dsrc *src;
	rfbScreenInfoPtr screen;
	uint8_t *shadow;
	uint32_t fmt, width, height; /* what the shadow holds; fmt 0: blank */
	unsigned int bpp;
	uint64_t seq;
	bool have_seq;
	int listen_fd;
	unsigned int rate, max_fps;
	bool verbose;
	char name[128];
};

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static bool vnc_verbose;

static void rfb_log(const char *fmt, ...)
{
	va_list ap;

	if (!vnc_verbose)
		return;
	va_start(ap, fmt);
	fputs("vgpuctl: vnc: ", stderr);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
}

/* view-only: input from clients goes nowhere */
static void drop_key(rfbBool down, rfbKeySym key, rfbClientPtr cl)
{
	(void)down, (void)key, (void)cl;
}

static void drop_ptr(int mask, int x, int y, rfbClientPtr cl)
{
	(void)mask, (void)x, (void)y, (void)cl;
}

static void drop_cut(char *str, int len, rfbClientPtr cl)
{
	(void)str, (void)len, (void)cl;
}

static void set_format(rfbScreenInfoPtr scr, uint32_t fmt)
{
	rfbPixelFormat *pf = &scr->serverFormat;

	pf->trueColour = TRUE;
	pf->bigEndian = FALSE;
	if (fmt == DSRC_FOURCC('R', 'G', '1', '6')) {
		pf->bitsPerPixel = 16, pf->depth = 16;
		pf->redMax = 31, pf->greenMax = 63, pf->blueMax = 31;
		pf->redShift = 11, pf->greenShift = 5, pf->blueShift = 0;
		return;
	}
	pf->bitsPerPixel = 32, pf->depth = 24;
	pf->redMax = pf->greenMax = pf->blueMax = 255;
	if (fmt == DSRC_FOURCC('X', 'B', '2', '4') ||
	    fmt == DSRC_FOURCC('A', 'B', '2', '4'))
		pf->redShift = 0, pf->greenShift = 8, pf->blueShift = 16;
	else
		pf->redShift = 16, pf->greenShift = 8, pf->blueShift = 0;
}

/* a new shadow for a new mode, filled from @f (or black), and a new
 * framebuffer for the clients */
static int new_mode(struct vnc *v, const struct dsrc_frame *f)
{
	uint32_t fmt = f ? f->drm_format : DSRC_FOURCC('X', 'R', '2', '4');
	uint32_t w = f ? f->width : 640, h = f ? f->height : 480;
	unsigned int bpp = dsrc_format_bpp(fmt);
	uint8_t *shadow, *old = v->shadow;

	if (bpp != 4 && bpp != 2) {
		fail_msg("%s: pixel format %.4s cannot be served over VNC",
			 v->name, (const char *)&fmt);
		return -ENOTSUP;
	}
	shadow = calloc((size_t)w * h, bpp);
	if (!shadow)
		return -ENOMEM;
	if (f)
		for (uint32_t y = 0; y < h; y++)
			memcpy(shadow + (size_t)y * w * bpp,
			       f->pixels + (size_t)y * f->stride,
			       (size_t)w * bpp);
	if (!v->screen) {
		int argc = 1;
		char *argv[] = { (char *)"vgpuctl", NULL };

		v->screen = rfbGetScreen(&argc, argv, (int)w, (int)h, 8, 3,
					 (int)bpp);
		if (!v->screen) {
			free(shadow);
			return -ENOMEM;
		}
		v->screen->frameBuffer = (char *)shadow;
	} else {
		rfbNewFramebuffer(v->screen, (char *)shadow, (int)w, (int)h, 8,
				  3, (int)bpp);
	}
	set_format(v->screen, fmt);
	/* clients keep their own pixel format; their translation follows
	 * ours (rfbNewFramebuffer set it up for the old layout) */
	{
		rfbClientIteratorPtr it = rfbGetClientIterator(v->screen);
		rfbClientPtr cl;

		while ((cl = rfbClientIteratorNext(it)))
			rfbSetTranslateFunction(cl);
		rfbReleaseClientIterator(it);
	}
	free(old);
	v->shadow = shadow;
	v->fmt = f ? fmt : 0;
	v->width = w, v->height = h, v->bpp = bpp;
	rfbMarkRectAsModified(v->screen, 0, 0, (int)w, (int)h);
	if (v->verbose)
		fprintf(stderr, "vgpuctl: vnc: %s: %ux%u %.4s\n", v->name, w, h,
			f ? (const char *)&fmt : "(nothing shown)");
	return 0;
}

/* compare one tile with the shadow; copy and mark it when it differs */
static bool sync_tile(struct vnc *v, const struct dsrc_frame *f, uint32_t tx,
		      uint32_t ty)
{
	uint32_t tw = v->width - tx < TILE ? v->width - tx : TILE;
	uint32_t th = v->height - ty < TILE ? v->height - ty : TILE;
	size_t row = (size_t)tw * v->bpp, sstride = (size_t)v->width * v->bpp;
	const uint8_t *src =
		f->pixels + (size_t)ty * f->stride + (size_t)tx * v->bpp;
	uint8_t *dst = v->shadow + (size_t)ty * sstride + (size_t)tx * v->bpp;
	uint32_t y = 0;

	while (y < th && !memcmp(src + y * f->stride, dst + y * sstride, row))
		y++;
	if (y == th)
		return false;
	/* rows above were equal; from here on copy (as cheap as comparing) */
	for (; y < th; y++)
		memcpy(dst + y * sstride, src + y * f->stride, row);
	rfbMarkRectAsModified(v->screen, (int)tx, (int)ty, (int)(tx + tw),
			      (int)(ty + th));
	return true;
}

/* bring the shadow up to date; < 0 ends the session */
static int sync_display(struct vnc *v)
{
	struct dsrc_frame f;
	int r = dsrc_frame(v->src, &f);

	if (r == -ENODATA) {
		/* the display shows nothing: a black screen of the last size */
		if (v->fmt)
			return new_mode(v, NULL);
		return 0;
	}
	if (r < 0)
		return r;
	if (f.drm_format != v->fmt || f.width != v->width ||
	    f.height != v->height) {
		v->have_seq = f.seq != 0;
		v->seq = f.seq;
		return new_mode(v, &f);
	}
	if (f.seq && v->have_seq && f.seq == v->seq)
		return 0; /* the source says nothing changed */
	v->seq = f.seq;
	v->have_seq = f.seq != 0;
	for (uint32_t ty = 0; ty < v->height; ty += TILE)
		for (uint32_t tx = 0; tx < v->width; tx += TILE)
			sync_tile(v, &f, tx, ty);
	return 0;
}

/* ADDR:PORT, [V6ADDR]:PORT, or PORT alone (loopback) */
static int listen_on(const char *spec, char *shown, size_t shown_len)
{
	char host[256] = "127.0.0.1", port[16], *colon;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
				  .ai_flags = AI_NUMERICHOST | AI_NUMERICSERV };
	struct addrinfo *ai;
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	int fd, one = 1, r;

	if (strlen(spec) >= sizeof(host))
		return -EINVAL;
	if (spec[0] == '[') {
		const char *end = strchr(spec, ']');

		if (!end || end[1] != ':' || end - spec - 1 <= 0)
			return -EINVAL;
		memcpy(host, spec + 1, (size_t)(end - spec - 1));
		host[end - spec - 1] = '\0';
		snprintf(port, sizeof(port), "%.15s", end + 2);
	} else if ((colon = strrchr(spec, ':'))) {
		if (colon == spec || (size_t)(colon - spec) >= sizeof(host))
			return -EINVAL;
		memcpy(host, spec, (size_t)(colon - spec));
		host[colon - spec] = '\0';
		snprintf(port, sizeof(port), "%.15s", colon + 1);
	} else {
		snprintf(port, sizeof(port), "%.15s", spec);
	}
	if (!port[0] || strspn(port, "0123456789") != strlen(port) ||
	    strtoul(port, NULL, 10) > 65535)
		return -EINVAL;
	{
		/* strict numeric forms only (getaddrinfo takes "1.2.3") */
		unsigned char a[16];

		if (inet_pton(AF_INET, host, a) != 1 &&
		    inet_pton(AF_INET6, host, a) != 1)
			return -EINVAL;
	}
	if (getaddrinfo(host, port, &hints, &ai) != 0)
		return -EINVAL;
	fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK,
		    0);
	if (fd < 0) {
		r = -errno;
		freeaddrinfo(ai);
		return r;
	}
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (ai->ai_family == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one));
	if (bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen(fd, 8) < 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) < 0) {
		r = -errno;
		close(fd);
		freeaddrinfo(ai);
		return r;
	}
	freeaddrinfo(ai);
	snprintf(shown, shown_len,
		 ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
		 ntohs(ss.ss_family == AF_INET6
			       ? ((struct sockaddr_in6 *)&ss)->sin6_port
			       : ((struct sockaddr_in *)&ss)->sin_port));
	return fd;
}

struct vnc_args {
	const char *listen;
	const char *source;
	unsigned int rate, max_fps;
};

static int vnc_opt(int c, const char *arg, void *data)
{
	struct vnc_args *a = data;
	char *end;
	unsigned long n;

	switch (c) {
	case 'l':
		a->listen = arg;
		return 0;
	case 's':
		if (strcmp(arg, "provider") && strcmp(arg, "device"))
			return usage_error(
				"vnc", "bad --source '%s' (provider or device)",
				arg);
		a->source = arg;
		return 0;
	case 'r':
	case 'f':
		errno = 0;
		n = strtoul(arg, &end, 10);
		if (errno || *end || n < 1 || n > 1000)
			return usage_error(
				"vnc", "bad --%s '%s' (1 to 1000 per second)",
				c == 'r' ? "rate" : "max-fps", arg);
		*(c == 'r' ? &a->rate : &a->max_fps) = (unsigned int)n;
		return 0;
	}
	return EXIT_USAGE;
}

static uint64_t now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void accept_clients(struct vnc *v)
{
	for (;;) {
		rfbClientIteratorPtr it;
		unsigned int n = 0;
		int fd = accept4(v->listen_fd, NULL, NULL, SOCK_CLOEXEC);

		if (fd < 0)
			return;
		it = rfbGetClientIterator(v->screen);
		while (rfbClientIteratorNext(it))
			n++;
		rfbReleaseClientIterator(it);
		if (n >= MAX_CLIENTS) {
			close(fd); /* enough viewers */
			continue;
		}
		if (!rfbNewClient(v->screen, fd))
			close(fd);
	}
}

/*
 * Serve until a signal or until the instance goes away. A source that
 * announces frames is read when it does, at most --max-fps times a second
 * (announcements in between wait, and are taken together), and looked at
 * once a second anyway (it may have gone); a device is polled --rate times
 * a second while someone watches, once a second otherwise.
 */
static int serve(struct vnc *v)
{
	uint64_t last = 0;
	int r = 0;

	while (!stop_signal) {
		struct pollfd pfd[2 + MAX_CLIENTS + 1];
		rfbClientIteratorPtr it;
		rfbClientPtr cl;
		unsigned int n = 0, nclients = 0;
		int sfd = dsrc_get_fd(v->src), sidx = -1;
		uint64_t now = now_us(), gap, period, wait;
		bool due;

		pfd[n++] =
			(struct pollfd){ .fd = v->listen_fd, .events = POLLIN };
		it = rfbGetClientIterator(v->screen);
		while ((cl = rfbClientIteratorNext(it)) &&
		       n < sizeof(pfd) / sizeof(pfd[0]) - 1) {
			if (cl->sock < 0)
				continue;
			pfd[n++] = (struct pollfd){ .fd = cl->sock,
						    .events = POLLIN };
			nclients++;
		}
		rfbReleaseClientIterator(it);
		gap = 1000000 / (sfd >= 0 ? v->max_fps : v->rate);
		period = sfd < 0 && nclients ? gap : 1000000;
		if (sfd >= 0 && now - last >= gap) {
			sidx = (int)n;
			pfd[n++] =
				(struct pollfd){ .fd = sfd, .events = POLLIN };
		}
		wait = now - last >= period ? 0 : period - (now - last);
		if (sfd >= 0 && sidx < 0 && gap - (now - last) < wait)
			wait = gap -
			       (now -
				last); /* then the source is listened to */
		if (poll(pfd, n, (int)((wait + 999) / 1000)) < 0 &&
		    errno != EINTR) {
			r = -errno;
			break;
		}
		if (pfd[0].revents & POLLIN) {
			accept_clients(v);
			last = 0; /* a new viewer gets a fresh picture */
		}
		now = now_us();
		due = now - last >= period ||
		      (sidx >= 0 && (pfd[sidx].revents & POLLIN));
		if (due) {
			last = now;
			r = sync_display(v);
			if (r < 0)
				break;
		}
		rfbProcessEvents(v->screen, 0);
	}
	return r;
}

static int cmd_vnc(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		   char **argv)
{
	static const struct option lo[] = {
		{ "listen", required_argument, NULL, 'l' },
		{ "rate", required_argument, NULL, 'r' },
		{ "source", required_argument, NULL, 's' },
		{ "max-fps", required_argument, NULL, 'f' },
		{ 0 },
	};
	struct vnc_args a = { "127.0.0.1:5900", NULL, 30, 240 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct vnc v = { .listen_fd = -1 };
	struct opts o = *go;
	char where[300];
	int r;

	r = parse_common(argc, argv, lo, "l:r:s:f:", vnc_opt, &a, &o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s",
				   "expects one UUID or PCI address");
	v.rate = a.rate;
	v.max_fps = a.max_fps;
	v.verbose = vnc_verbose = go->verbose > 0;
	snprintf(v.name, sizeof(v.name), "%s", argv[optind]);
	v.listen_fd = listen_on(a.listen, where, sizeof(where));
	if (v.listen_fd < 0) {
		if (v.listen_fd == -EINVAL)
			return usage_error(
				argv[0],
				"bad --listen '%s' (ADDR:PORT, [ADDR]:PORT "
				"or PORT, numeric)",
				a.listen);
		fail_msg("cannot listen on %s: %s", a.listen,
			 strerror(-v.listen_fd));
		return exit_for(v.listen_fd);
	}
	r = dsrc_open(ctx, argv[optind], a.source, &v.src);
	if (r < 0) {
		close(v.listen_fd);
		return exit_for(r);
	}
	rfbLog = rfb_log;
	rfbErr = rfb_log;
	r = new_mode(&v, NULL);
	if (r == 0)
		r = sync_display(&v);
	if (r < 0) {
		if (r == -ENODEV)
			fail_msg("%s: the instance went away", v.name);
		goto out;
	}
	snprintf(v.screen->thisHost, sizeof(v.screen->thisHost), "%s",
		 "localhost");
	v.screen->desktopName = v.name;
	v.screen->alwaysShared = TRUE;
	v.screen->deferUpdateTime = 0;
	v.screen->kbdAddEvent = drop_key;
	v.screen->ptrAddEvent = drop_ptr;
	v.screen->setXCutText = drop_cut;
	v.screen->cursor = NULL;
	/* no listening socket of libvncserver's own: ours hands clients in */
	v.screen->autoPort = FALSE;
	v.screen->port = 0;
	v.screen->ipv6port = 0;
	v.screen->httpPort = 0;
	v.screen->httpDir = NULL;
	rfbInitServer(v.screen);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	printf("%s: VNC on %s (display source: %s, view only)\n", v.name, where,
	       dsrc_kind(v.src));
	fflush(stdout);
	r = serve(&v);
	if (r == -ENODEV) {
		printf("%s: the instance went away\n", v.name);
		r = 0;
	}
	rfbShutdownServer(v.screen, TRUE);
out:
	if (v.screen)
		rfbScreenCleanup(v.screen);
	free(v.shadow);
	dsrc_close(v.src);
	close(v.listen_fd);
	return r < 0 ? exit_for(r) : 0;
}

const struct verb verb_vnc = {
	VERB_VNC_INFO,
	.run = cmd_vnc,
};
