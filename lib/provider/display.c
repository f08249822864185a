/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Display sources: a device's current plane, offered to management clients
 * read-only and beside the VMM's connection (include/libvgpu-provider.h,
 * vgpu_device_set_display()).
 *
 * A management client asks "display UUID" on the control socket (so the
 * control socket's peer check applies) and keeps the connection: the reply
 * carries the plane record and a read-only descriptor of the region's
 * memory (the memfd opened again O_RDONLY: the peer can map it PROT_READ
 * only); from then on every frame or mode change sends the latest record.
 * A watcher that does not read is sent the latest record once it does:
 * nothing queues up beyond one line. At most DISPLAY_MAX_WATCHERS per
 * device. The record (see ctl.h): SEQ FMT W H STRIDE OFFSET SIZE,
 * tab-separated decimal.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "provider-private.h"

#define DISPLAY_MAX_WATCHERS 8
#define REC_MAX		     160

/*
 * A watcher is closed under its device's lock from any thread, but an
 * epoll batch being handled may still name it: closed watchers go to the
 * provider's list of dead ones, and the dispatching thread frees them (and
 * drops their device reference) before its next epoll_wait().
 */
struct display_watcher {
	struct watch w; /* first: events come back as this */
	struct display_watcher *next;
	struct vgpu_provider *p;
	int fd;	    /* -1 once closed */
	bool armed; /* EPOLLOUT asked for */
	/* the unsent rest of a line begun, then the latest whole line not
	 * begun (a newer one replaces it) */
	char part[REC_MAX], next_line[REC_MAX];
	size_t part_len, next_len;
};

struct display_state {
	struct vgpu_display_plane plane;
	uint64_t seq;
	struct display_watcher *watchers;
	unsigned int n_watchers;
};

static int record(const struct vgpu_device *dev, char *buf, size_t size)
{
	const struct display_state *s = dev->display;
	const struct vgpu_display_plane *pl = &s->plane;

	return snprintf(buf, size,
			"%" PRIu64 "\t%u\t%u\t%u\t%u\t%" PRIu64 "\t%" PRIu64
			"\n",
			s->seq, pl->drm_format, pl->width, pl->height,
			pl->stride, pl->offset, dev->regions[pl->region].size);
}

static void watcher_close(struct vgpu_device *dev, struct display_watcher *w)
{
	struct display_watcher **pp = &dev->display->watchers;

	while (*pp && *pp != w)
		pp = &(*pp)->next;
	if (*pp)
		*pp = w->next;
	dev->display->n_watchers--;
	epoll_ctl(w->p->epfd, EPOLL_CTL_DEL, w->fd, NULL);
	close(w->fd);
	w->fd = -1;
	/* onto the dead list: freed between epoll batches */
	w->next = __atomic_load_n(&w->p->display_dead, __ATOMIC_RELAXED);
	while (!__atomic_compare_exchange_n(&w->p->display_dead, &w->next, w,
					    false, __ATOMIC_RELEASE,
					    __ATOMIC_RELAXED))
		;
}

void display_reap(struct vgpu_provider *p)
{
	struct display_watcher *w =
		__atomic_exchange_n(&p->display_dead, NULL, __ATOMIC_ACQUIRE);

	while (w) {
		struct display_watcher *next = w->next;

		vgpu_device_unref(w->w.dev);
		free(w);
		w = next;
	}
}

static void watcher_arm(struct vgpu_device *dev, struct display_watcher *w,
			bool out)
{
	struct epoll_event ev = { .events = EPOLLIN | (out ? EPOLLOUT : 0),
				  .data.ptr = &w->w };

	if (w->armed == out)
		return;
	if (epoll_ctl(w->p->epfd, EPOLL_CTL_MOD, w->fd, &ev) == 0)
		w->armed = out;
}

/* send some bytes; how many (0 when the socket is full), or < 0 */
static ssize_t send_some(int fd, const char *buf, size_t len)
{
	for (;;) {
		ssize_t n = send(fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		return n < 0 ? -errno : n;
	}
}

/* send what is pending; < 0: the watcher is gone */
static int watcher_flush(struct vgpu_device *dev, struct display_watcher *w)
{
	ssize_t n;

	if (w->part_len) {
		n = send_some(w->fd, w->part, w->part_len);
		if (n < 0)
			return (int)n;
		memmove(w->part, w->part + n, w->part_len - (size_t)n);
		w->part_len -= (size_t)n;
	}
	if (!w->part_len && w->next_len) {
		n = send_some(w->fd, w->next_line, w->next_len);
		if (n < 0)
			return (int)n;
		if (n > 0) {
			/* begun: the rest must go out as it is */
			w->part_len = w->next_len - (size_t)n;
			memcpy(w->part, w->next_line + n, w->part_len);
			w->next_len = 0;
		}
	}
	watcher_arm(dev, w, w->part_len || w->next_len);
	return 0;
}

/* @line becomes the latest; sent as soon as the watcher reads */
static int watcher_send(struct vgpu_device *dev, struct display_watcher *w,
			const char *line, size_t len)
{
	if (len > sizeof(w->next_line))
		return -ENOBUFS;
	memcpy(w->next_line, line, len);
	w->next_len = len;
	return watcher_flush(dev, w);
}

/* every watcher gets @line; those that fail are dropped */
static void broadcast(struct vgpu_device *dev, const char *line, size_t len)
{
	struct display_watcher *w = dev->display->watchers, *next;

	for (; w; w = next) {
		next = w->next;
		if (watcher_send(dev, w, line, len) < 0)
			watcher_close(dev, w);
	}
}

static void announce(struct vgpu_device *dev)
{
	char line[REC_MAX];
	int n;

	dev->display->seq++;
	n = record(dev, line, sizeof(line));
	if (n > 0 && (size_t)n < sizeof(line))
		broadcast(dev, line, (size_t)n);
}

VGPU_EXPORT int vgpu_device_set_display(struct vgpu_device *dev,
					const struct vgpu_display_plane *plane)
{
	struct vgpu_display_plane pl = { 0 };
	const struct region *rg;
	bool moved;

	if (!dev || !plane ||
	    plane->size < offsetof(struct vgpu_display_plane, offset) +
				  sizeof(plane->offset))
		return -EINVAL;
	memcpy(&pl, plane, sizeof(pl) < plane->size ? sizeof(pl) : plane->size);
	pl.size = sizeof(pl);
	if (pl.region >= VFU_MAX_REGIONS)
		return -EINVAL;
	rg = &dev->regions[pl.region];
	if (rg->memfd < 0 || !rg->mem)
		return -EINVAL;
	if (pl.drm_format) {
		if (!pl.width || !pl.height || pl.stride < pl.width ||
		    (uint64_t)pl.stride * pl.height > rg->size ||
		    pl.offset > rg->size - (uint64_t)pl.stride * pl.height)
			return -EINVAL;
	} else {
		pl.width = pl.height = pl.stride = 0;
		pl.offset = 0;
	}
	pthread_mutex_lock(&dev->lock);
	if (!dev->provider) {
		pthread_mutex_unlock(&dev->lock);
		return -ENODEV;
	}
	if (!dev->display) {
		dev->display = calloc(1, sizeof(*dev->display));
		if (!dev->display) {
			pthread_mutex_unlock(&dev->lock);
			return -ENOMEM;
		}
		moved = false;
	} else {
		moved = dev->display->plane.region != pl.region;
	}
	dev->display->plane = pl;
	if (moved) {
		/* another memory: watchers must open the source again */
		broadcast(dev, "reopen\n", 7);
		while (dev->display->watchers)
			watcher_close(dev, dev->display->watchers);
	}
	announce(dev);
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

VGPU_EXPORT int vgpu_device_display_changed(struct vgpu_device *dev)
{
	int r = 0;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	if (!dev->provider)
		r = -ENODEV;
	else if (!dev->display)
		r = -ENOENT;
	else
		announce(dev);
	pthread_mutex_unlock(&dev->lock);
	return r;
}

/* the memory of the plane's region, opened again read-only */
static int readonly_fd(const struct region *rg)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/self/fd/%d", rg->memfd);
	return open(path, O_RDONLY | O_CLOEXEC);
}

/* "display UUID" on the control connection @fd (checked by the caller):
 * 0 when the connection became a watcher (it is ours now), or -errno for
 * an "err" reply */
int display_attach(struct vgpu_provider *p, struct vgpu_device *dev, int fd)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct display_watcher *w;
	char line[REC_MAX + 8];
	int rofd, n, r = 0;
	union {
		struct cmsghdr h;
		char b[CMSG_SPACE(sizeof(int))];
	} cm;
	struct iovec io;
	struct msghdr mh = { .msg_iov = &io,
			     .msg_iovlen = 1,
			     .msg_control = cm.b,
			     .msg_controllen = sizeof(cm.b) };
	struct cmsghdr *c;

	memset(&cm, 0, sizeof(cm));
	pthread_mutex_lock(&dev->lock);
	if (!dev->display) {
		r = -EOPNOTSUPP; /* the vendor offers no display */
		goto out;
	}
	if (dev->display->n_watchers >= DISPLAY_MAX_WATCHERS) {
		r = -EBUSY;
		goto out;
	}
	rofd = readonly_fd(&dev->regions[dev->display->plane.region]);
	if (rofd < 0) {
		r = -errno;
		goto out;
	}
	w = calloc(1, sizeof(*w));
	if (!w) {
		close(rofd);
		r = -ENOMEM;
		goto out;
	}
	memcpy(line, "ok 1\n", 5);
	n = record(dev, line + 5, sizeof(line) - 5);
	io = (struct iovec){ line, (size_t)n + 5 };
	c = CMSG_FIRSTHDR(&mh);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &rofd, sizeof(int));
	/* never blocks: the first record fits a fresh connection's buffer,
	 * and a peer that cannot take it is dropped */
	if (sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) !=
	    (ssize_t)io.iov_len) {
		close(rofd);
		free(w);
		r = -EPIPE;
		goto out;
	}
	close(rofd);
	w->w.kind = WATCH_DISPLAY;
	w->w.dev = dev;
	w->p = p;
	w->fd = fd;
	ev.data.ptr = &w->w;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		free(w);
		r = -EPIPE; /* nothing more can be said on it */
		goto out;
	}
	vgpu_device_ref(dev); /* until the watcher is freed */
	w->next = dev->display->watchers;
	dev->display->watchers = w;
	dev->display->n_watchers++;
	dbg(p->ctx, "device %s: a display watcher (%u)", dev->uuid,
	    dev->display->n_watchers);
out:
	pthread_mutex_unlock(&dev->lock);
	return r;
}

/* a watcher's connection is readable (it left, or sent something it
 * should not) or writable (it reads again) */
void display_event(struct vgpu_provider *p, struct watch *ww)
{
	struct display_watcher *w = (struct display_watcher *)ww;
	struct vgpu_device *dev = ww->dev; /* referenced by the watcher */
	char junk[64];
	ssize_t n;

	(void)p;
	pthread_mutex_lock(&dev->lock);
	if (w->fd < 0) {
		/* closed since this epoll batch began */
		pthread_mutex_unlock(&dev->lock);
		return;
	}
	n = recv(w->fd, junk, sizeof(junk), MSG_DONTWAIT);
	if (n >= 0 ||
	    (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR)) {
		/* EOF, an error, or talk: watchers only listen */
		watcher_close(dev, w);
	} else if (watcher_flush(dev, w) < 0) {
		watcher_close(dev, w);
	}
	pthread_mutex_unlock(&dev->lock);
}

/* the device is going away: watchers are told and let go */
void display_gone(struct vgpu_device *dev)
{
	if (!dev->display)
		return;
	pthread_mutex_lock(&dev->lock);
	broadcast(dev, "gone\n", 5);
	while (dev->display->watchers)
		watcher_close(dev, dev->display->watchers);
	pthread_mutex_unlock(&dev->lock);
}

/* the last reference is gone, so no watcher is left (each holds one) */
void display_free(struct vgpu_device *dev)
{
	free(dev->display);
	dev->display = NULL;
}
