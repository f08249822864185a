/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The monitor keeps a snapshot of parents and active instances and reports
 * differences. Triggers: udev (kernel uevents when the sysfs root is /sys)
 * and an optional rescan timer. Both sit behind one epoll descriptor, so the
 * application polls a single fd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/timerfd.h>
#include <unistd.h>
#include <libudev.h>

#include "libvgpu-private.h"

struct snap_item {
	char *backend;
	char *parent;
	char *uuid; /* NULL for parents */
	char *type;
};

struct snapshot {
	struct snap_item *items;
	size_t n;
};

struct vgpu_event {
	int refcount;
	enum vgpu_event_type type;
	struct snap_item item;
};

struct vgpu_monitor {
	int refcount;
	struct vgpu_ctx *ctx;
	int epfd;
	int timerfd;
	int inotifyfd; /* the watch_dir of backends without uevents */
	struct udev *udev;
	struct udev_monitor *umon;
	struct snapshot snap;
	struct vgpu_event **queue;
	size_t q_head, q_len, q_cap;
	struct itimerspec every; /* the rescan timer as set */
	unsigned int deferred;	 /* rescans that held an addition back */
};

/*
 * An mdev's "add" uevent comes before the kernel links the device to its
 * type, so a rescan at that moment finds an instance without a type. Its
 * addition is held back and the timer fires again soon, up to
 * DEFER_MAX times (then it is reported without a type).
 */
#define DEFER_MAX 50
#define DEFER_NS  (20 * 1000000L)

static void item_free(struct snap_item *it)
{
	free(it->backend);
	free(it->parent);
	free(it->uuid);
	free(it->type);
}

static void snapshot_free(struct snapshot *s)
{
	for (size_t i = 0; i < s->n; i++)
		item_free(&s->items[i]);
	free(s->items);
	s->items = NULL;
	s->n = 0;
}

static int cmp_item(const void *a, const void *b)
{
	const struct snap_item *x = a, *y = b;
	int r = strcmp(x->backend, y->backend);

	if (!r)
		r = strcmp(x->parent, y->parent);
	if (!r)
		r = strcmp(x->uuid ? x->uuid : "", y->uuid ? y->uuid : "");
	return r;
}

static int snap_add(struct snapshot *s, const char *backend, const char *parent,
		    const char *uuid, const char *type)
{
	struct snap_item *grown =
		reallocarray(s->items, s->n + 1, sizeof(*grown));
	struct snap_item *it;

	if (!grown)
		return -ENOMEM;
	s->items = grown;
	it = &grown[s->n];
	*it = (struct snap_item){
		.backend = strdup(backend),
		.parent = strdup(parent),
		.uuid = uuid ? strdup(uuid) : NULL,
		.type = type ? strdup(type) : NULL,
	};
	if (!it->backend || !it->parent || (uuid && !it->uuid) ||
	    (type && !it->type)) {
		item_free(it);
		return -ENOMEM;
	}
	s->n++;
	return 0;
}

/* one backend's parents and active instances into @s: all it answered,
 * and the first error */
static int snap_backend(struct vgpu_ctx *ctx, const struct vgpu_backend *b,
			struct snapshot *s)
{
	struct vgpu_vec parents = { 0 }, insts = { 0 };
	int r = b->list_parents(ctx, &parents);
	int ri = r == -ENOMEM ? r : b->list_active(ctx, NULL, &insts);
	int ra = 0;

	for (size_t i = 0; i < parents.n && ra >= 0; i++) {
		struct vgpu_parent *p = parents.items[i];

		ra = snap_add(s, b->name, p->id, NULL, NULL);
	}
	for (size_t i = 0; i < insts.n && ra >= 0; i++) {
		struct vgpu_instance *in = insts.items[i];

		ra = snap_add(s, b->name, in->parent_id, in->uuid, in->type_id);
	}
	vgpu_vec_clear(&parents, (void *(*)(void *))vgpu_parent_unref);
	vgpu_vec_clear(&insts, (void *(*)(void *))vgpu_instance_unref);
	if (ra < 0)
		return ra;
	return r < 0 ? r : ri;
}

/*
 * The parents and active instances of every backend, sorted. A backend that
 * could not answer in full (a provider that does not answer, or shuts us
 * out: it logged why) keeps what @prev knew of it besides what it did
 * answer, so its silence is no removal while a provider that registers
 * meanwhile is still an addition.
 */
static int take_snapshot(struct vgpu_ctx *ctx, const struct snapshot *prev,
			 struct snapshot *s)
{
	size_t kept = 0;
	int r = 0;

	*s = (struct snapshot){ 0 };
	for (size_t i = 0; vgpu_backends[i] && r != -ENOMEM; i++) {
		const char *name = vgpu_backends[i]->name;

		if (!vgpu_backend_on(ctx, i))
			continue;
		r = snap_backend(ctx, vgpu_backends[i], s);
		if (r >= 0 || r == -ENOMEM)
			continue;
		dbg(ctx,
		    "monitor: %s answered in part (%s); keeping what it had",
		    name, strerror(-r));
		for (size_t k = 0; prev && k < prev->n && r != -ENOMEM; k++) {
			const struct snap_item *it = &prev->items[k];

			if (!strcmp(it->backend, name)) {
				r = snap_add(s, it->backend, it->parent,
					     it->uuid, it->type);
				kept++;
			}
		}
	}
	if (r == -ENOMEM) {
		snapshot_free(s);
		return r;
	}
	if (s->n > 1)
		qsort(s->items, s->n, sizeof(*s->items), cmp_item);
	/* what was kept and answered again is there twice */
	for (size_t i = 1; kept && i < s->n;) {
		if (cmp_item(&s->items[i - 1], &s->items[i])) {
			i++;
			continue;
		}
		item_free(&s->items[i]);
		memmove(&s->items[i], &s->items[i + 1],
			(s->n - i - 1) * sizeof(*s->items));
		s->n--;
	}
	return 0;
}

static int queue_event(struct vgpu_monitor *m, enum vgpu_event_type type,
		       const struct snap_item *it)
{
	struct vgpu_event *e;

	if (m->q_head + m->q_len == m->q_cap) {
		if (m->q_head) {
			memmove(m->queue, m->queue + m->q_head,
				m->q_len * sizeof(*m->queue));
			m->q_head = 0;
		} else {
			size_t cap = m->q_cap ? m->q_cap * 2 : 32;
			struct vgpu_event **q =
				reallocarray(m->queue, cap, sizeof(*q));

			if (!q)
				return -ENOMEM;
			m->queue = q;
			m->q_cap = cap;
		}
	}
	e = calloc(1, sizeof(*e));
	if (!e)
		return -ENOMEM;
	e->refcount = 1;
	e->type = type;
	e->item = (struct snap_item){
		.backend = strdup(it->backend),
		.parent = strdup(it->parent),
		.uuid = it->uuid ? strdup(it->uuid) : NULL,
		.type = it->type ? strdup(it->type) : NULL,
	};
	if (!e->item.backend || !e->item.parent ||
	    (it->uuid && !e->item.uuid) || (it->type && !e->item.type)) {
		vgpu_event_unref(e);
		return -ENOMEM;
	}
	m->queue[m->q_head + m->q_len++] = e;
	return 0;
}

/* rescan and queue the differences: removals of instances before removals
 * of their parents, additions of parents before their instances */
static int rescan(struct vgpu_monitor *m)
{
	struct snapshot now;
	size_t i = 0, j = 0;
	bool held = false;
	int r;

	r = take_snapshot(m->ctx, &m->snap, &now);
	if (r < 0)
		return r;
	/* both sorted: a merge walk; parents sort before their instances */
	struct snap_item **gone = calloc(m->snap.n + 1, sizeof(*gone));

	if (!gone) {
		snapshot_free(&now);
		return -ENOMEM;
	}
	size_t n_gone = 0;

	while (r >= 0 && (i < m->snap.n || j < now.n)) {
		int c;

		if (i == m->snap.n)
			c = 1;
		else if (j == now.n)
			c = -1;
		else
			c = cmp_item(&m->snap.items[i], &now.items[j]);
		if (c < 0) {
			gone[n_gone++] = &m->snap.items[i++];
		} else if (c > 0 && now.items[j].uuid && !now.items[j].type &&
			   m->deferred < DEFER_MAX) {
			/* not complete yet: not in this snapshot */
			item_free(&now.items[j]);
			memmove(&now.items[j], &now.items[j + 1],
				(now.n - j - 1) * sizeof(*now.items));
			now.n--;
			held = true;
		} else if (c > 0) {
			const struct snap_item *it = &now.items[j++];

			r = queue_event(m,
					it->uuid ? VGPU_EVENT_INSTANCE_ADDED
						 : VGPU_EVENT_PARENT_ADDED,
					it);
		} else {
			i++;
			j++;
		}
	}
	/* report removals child first */
	while (r >= 0 && n_gone) {
		const struct snap_item *it = gone[--n_gone];

		r = queue_event(m,
				it->uuid ? VGPU_EVENT_INSTANCE_REMOVED
					 : VGPU_EVENT_PARENT_REMOVED,
				it);
	}
	free(gone);
	if (r < 0) {
		snapshot_free(&now);
		return r;
	}
	snapshot_free(&m->snap);
	m->snap = now;
	if (!held) {
		m->deferred = 0;
	} else {
		/* soon, then as set */
		struct itimerspec soon = m->every;

		m->deferred++;
		soon.it_value = (struct timespec){ .tv_nsec = DEFER_NS };
		if (timerfd_settime(m->timerfd, 0, &soon, NULL) < 0)
			return -errno;
	}
	return 0;
}

static bool sysfs_is_live(struct vgpu_ctx *ctx)
{
	return !strcmp(ctx->sysfs_root, "/sys");
}

/*
 * Backends whose changes raise no uevent name a directory to watch
 * (ops->watch_dir); one inotify descriptor watches them all. Without it,
 * only the timer helps.
 */
static void watch_backends(struct vgpu_monitor *m)
{
	struct epoll_event ev = { .events = EPOLLIN };
	int fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC), watches = 0;

	if (fd < 0)
		return;
	for (size_t i = 0; vgpu_backends[i]; i++) {
		char *dir;

		if (!vgpu_backends[i]->watch_dir || !vgpu_backend_on(m->ctx, i))
			continue;
		dir = vgpu_backends[i]->watch_dir(m->ctx);
		if (!dir)
			continue;
		if (inotify_add_watch(fd, dir,
				      IN_CREATE | IN_DELETE | IN_MOVED_FROM |
					      IN_MOVED_TO) < 0)
			dbg(m->ctx, "cannot watch %s: %s", dir,
			    strerror(errno));
		else
			watches++;
		free(dir);
	}
	ev.data.fd = fd;
	if (!watches || epoll_ctl(m->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		close(fd);
		return;
	}
	m->inotifyfd = fd;
}

VGPU_EXPORT int vgpu_monitor_new(struct vgpu_ctx *ctx,
				 struct vgpu_monitor **ret)
{
	struct epoll_event ev = { .events = EPOLLIN };
	struct vgpu_monitor *m;
	int r;

	if (!ctx || !ret)
		return -EINVAL;
	m = calloc(1, sizeof(*m));
	if (!m)
		return -ENOMEM;
	m->refcount = 1;
	m->ctx = vgpu_ctx_ref(ctx);
	m->timerfd = -1;
	m->inotifyfd = -1;
	m->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (m->epfd < 0) {
		r = -errno;
		goto fail;
	}
	m->timerfd =
		timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (m->timerfd < 0) {
		r = -errno;
		goto fail;
	}
	ev.data.fd = m->timerfd;
	if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, m->timerfd, &ev) < 0) {
		r = -errno;
		goto fail;
	}
	if (sysfs_is_live(ctx)) {
		/* udevd's events when it runs, else the kernel's own */
		m->udev = udev_new();
		if (m->udev) {
			const char *src = access("/run/udev/control", F_OK) == 0
						  ? "udev"
						  : "kernel";

			m->umon = udev_monitor_new_from_netlink(m->udev, src);
			if (m->umon &&
			    udev_monitor_enable_receiving(m->umon) < 0)
				m->umon = udev_monitor_unref(m->umon);
		}
		if (m->umon) {
			ev.data.fd = udev_monitor_get_fd(m->umon);
			if (epoll_ctl(m->epfd, EPOLL_CTL_ADD, ev.data.fd, &ev) <
			    0)
				m->umon = udev_monitor_unref(m->umon);
		}
		if (!m->umon)
			warn(ctx,
			     "no uevents can be received; rescanning instead");
	}
	watch_backends(m);
	r = take_snapshot(ctx, NULL, &m->snap);
	if (r < 0)
		goto fail;
	if (!m->umon) {
		r = vgpu_monitor_set_rescan_interval(m, 1000);
		if (r < 0)
			goto fail;
	}
	*ret = m;
	return 0;
fail:
	vgpu_monitor_unref(m);
	return r;
}

VGPU_EXPORT struct vgpu_monitor *vgpu_monitor_ref(struct vgpu_monitor *monitor)
{
	if (monitor)
		monitor->refcount++;
	return monitor;
}

VGPU_EXPORT struct vgpu_monitor *
vgpu_monitor_unref(struct vgpu_monitor *monitor)
{
	if (!monitor)
		return NULL;
	if (--monitor->refcount > 0)
		return monitor;
	for (size_t i = 0; i < monitor->q_len; i++)
		vgpu_event_unref(monitor->queue[monitor->q_head + i]);
	free(monitor->queue);
	snapshot_free(&monitor->snap);
	udev_monitor_unref(monitor->umon);
	udev_unref(monitor->udev);
	if (monitor->timerfd >= 0)
		close(monitor->timerfd);
	if (monitor->inotifyfd >= 0)
		close(monitor->inotifyfd);
	if (monitor->epfd >= 0)
		close(monitor->epfd);
	vgpu_ctx_unref(monitor->ctx);
	free(monitor);
	return NULL;
}

VGPU_EXPORT int vgpu_monitor_set_rescan_interval(struct vgpu_monitor *monitor,
						 unsigned int msec)
{
	struct itimerspec its = { 0 };

	if (!monitor)
		return -EINVAL;
	its.it_value.tv_sec = msec / 1000;
	its.it_value.tv_nsec = (long)(msec % 1000) * 1000000L;
	its.it_interval = its.it_value;
	if (timerfd_settime(monitor->timerfd, 0, &its, NULL) < 0)
		return -errno;
	monitor->every = its;
	return 0;
}

VGPU_EXPORT int vgpu_monitor_get_fd(struct vgpu_monitor *monitor)
{
	return monitor ? monitor->epfd : -EINVAL;
}

/* drain the triggers; true when a rescan is due */
static bool drain_triggers(struct vgpu_monitor *m)
{
	bool due = false;
	uint64_t ticks;

	while (read(m->timerfd, &ticks, sizeof(ticks)) == sizeof(ticks))
		due = true;
	if (m->inotifyfd >= 0) {
		char buf[4096] __attribute__((
			aligned(__alignof__(struct inotify_event))));

		while (read(m->inotifyfd, buf, sizeof(buf)) > 0)
			due = true;
	}
	if (m->umon) {
		struct udev_device *d;

		while ((d = udev_monitor_receive_device(m->umon))) {
			dbg(m->ctx, "uevent %s %s",
			    udev_device_get_action(d)
				    ? udev_device_get_action(d)
				    : "?",
			    udev_device_get_syspath(d));
			due = true;
			udev_device_unref(d);
		}
	}
	return due;
}

VGPU_EXPORT int vgpu_monitor_receive(struct vgpu_monitor *monitor,
				     struct vgpu_event **ret)
{
	int r;

	if (!monitor || !ret)
		return -EINVAL;
	*ret = NULL;
	if (!monitor->q_len && drain_triggers(monitor)) {
		r = rescan(monitor);
		if (r < 0)
			return r;
	}
	if (!monitor->q_len)
		return 0;
	*ret = monitor->queue[monitor->q_head++];
	if (--monitor->q_len == 0)
		monitor->q_head = 0;
	return 0;
}

VGPU_EXPORT struct vgpu_event *vgpu_event_ref(struct vgpu_event *event)
{
	if (event)
		event->refcount++;
	return event;
}

VGPU_EXPORT struct vgpu_event *vgpu_event_unref(struct vgpu_event *event)
{
	if (!event)
		return NULL;
	if (--event->refcount > 0)
		return event;
	item_free(&event->item);
	free(event);
	return NULL;
}

VGPU_EXPORT enum vgpu_event_type vgpu_event_get_type(struct vgpu_event *event)
{
	return event ? event->type : 0;
}

VGPU_EXPORT const char *vgpu_event_get_parent_id(struct vgpu_event *event)
{
	return event ? event->item.parent : NULL;
}

VGPU_EXPORT const char *vgpu_event_get_uuid(struct vgpu_event *event)
{
	return event ? event->item.uuid : NULL;
}

VGPU_EXPORT const char *vgpu_event_get_backend(struct vgpu_event *event)
{
	return event ? event->item.backend : NULL;
}

VGPU_EXPORT const char *vgpu_event_get_type_id(struct vgpu_event *event)
{
	return event ? event->item.type : NULL;
}
