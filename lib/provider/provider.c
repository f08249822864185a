/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provider object, its event loop and its runner thread.
 * Part of the provider API, see include/libvgpu-provider.h and
 * docs/vfio-user.md.
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "provider-private.h"

/* ------------------------------------------------------------------------ */
/* provider                                                                  */

VGPU_EXPORT int vgpu_provider_new(struct vgpu_ctx *ctx, const char *id,
				  const struct vgpu_provider_ops *ops,
				  void *userdata, struct vgpu_provider **ret)
{
	struct vgpu_provider *p;
	struct epoll_event ev = { .events = EPOLLIN };

	if (!ctx || !valid_id(id) || !ops || !ret ||
	    ops->size < offsetof(struct vgpu_provider_ops, create) +
				sizeof(ops->create))
		return -EINVAL;
	for (size_t i = sizeof(struct vgpu_provider_ops); i < ops->size; i++)
		if (((const uint8_t *)ops)[i])
			return -E2BIG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->refcount = 1;
	p->epfd = p->stop_fd = p->ctl_fd = p->wake_fd = -1;
	p->dma_timeout_ms = DMA_TIMEOUT_MS;
	p->version_timeout_ms = VERSION_TIMEOUT_MS;
	memcpy(&p->ops, ops,
	       ops->size < sizeof(p->ops) ? ops->size : sizeof(p->ops));
	p->ops.size = sizeof(p->ops);
	if (!p->ops.create && !p->ops.create_attrs)
		goto einval;
	p->id = strdup(id);
	p->ctx = vgpu_ctx_ref(ctx);
	p->userdata = userdata;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	p->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!p->id || p->epfd < 0 || p->stop_fd < 0 || p->wake_fd < 0) {
		int r = !p->id ? -ENOMEM : -errno;

		vgpu_provider_unref(p);
		return r;
	}
	p->wstop.kind = WATCH_STOP;
	ev.data.ptr = &p->wstop;
	p->wwake.kind = WATCH_WAKE;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->stop_fd, &ev) < 0 ||
	    (ev.data.ptr = &p->wwake,
	     epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->wake_fd, &ev) < 0)) {
		int r = -errno;

		vgpu_provider_unref(p);
		return r;
	}
	*ret = p;
	return 0;
einval:
	free(p);
	return -EINVAL;
}

VGPU_EXPORT struct vgpu_provider *vgpu_provider_ref(struct vgpu_provider *p)
{
	if (p)
		p->refcount++;
	return p;
}

VGPU_EXPORT struct vgpu_provider *vgpu_provider_unref(struct vgpu_provider *p)
{
	if (!p || --p->refcount > 0)
		return p ? p : NULL;
	if (p->thread_running)
		vgpu_provider_stop_thread(p);
	while (p->devices.n)
		vgpu_device_destroy(p->devices.items[p->devices.n - 1]);
	batch_release(p);
	display_reap(p);
	free(p->devices.items);
	for (size_t i = 0; i < p->n_types; i++) {
		free(p->types[i].id);
		free(p->types[i].name);
		free(p->types[i].description);
	}
	free(p->types);
	if (p->ctl_fd >= 0) {
		close(p->ctl_fd);
		unlink(p->ctl_path);
	}
	free(p->ctl_path);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	if (p->wake_fd >= 0)
		close(p->wake_fd);
	vgpu_ctx_unref(p->ctx);
	free(p->id);
	free(p);
	return NULL;
}

VGPU_EXPORT const char *vgpu_provider_get_id(struct vgpu_provider *p)
{
	return p ? p->id : NULL;
}

/* RUNTIME_DIR/vfio-user, created (0755) when missing */
int runtime_subdir(struct vgpu_provider *p, char **ret)
{
	char *dir;

	if (asprintf(&dir, "%s/vfio-user", p->ctx->runtime_dir) < 0)
		return -ENOMEM;
	if ((mkdir(p->ctx->runtime_dir, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
		int r = -errno;

		free(dir);
		return r;
	}
	*ret = dir;
	return 0;
}

struct ptype *find_type(struct vgpu_provider *p, const char *id)
{
	for (size_t i = 0; i < p->n_types; i++)
		if (!strcmp(p->types[i].id, id))
			return &p->types[i];
	return NULL;
}

VGPU_EXPORT int vgpu_provider_add_type(struct vgpu_provider *p, const char *id,
				       const char *name,
				       const char *description,
				       unsigned int max_instances)
{
	struct ptype *types, *t;

	if (!p || !valid_id(id) || !max_instances)
		return -EINVAL;
	if (find_type(p, id))
		return -EEXIST;
	/* devices point at their type: refuse to move the array under them */
	if (p->devices.n)
		return -EBUSY;
	types = reallocarray(p->types, p->n_types + 1, sizeof(*types));
	if (!types)
		return -ENOMEM;
	p->types = types;
	t = &types[p->n_types];
	memset(t, 0, sizeof(*t));
	t->id = strdup(id);
	t->name = name ? strdup(name) : NULL;
	t->description = description ? strdup(description) : NULL;
	t->max = max_instances;
	if (!t->id || (name && !t->name) || (description && !t->description)) {
		free(t->id);
		free(t->name);
		free(t->description);
		return -ENOMEM;
	}
	p->n_types++;
	return 0;
}

VGPU_EXPORT int vgpu_provider_get_available(struct vgpu_provider *p,
					    const char *type_id)
{
	struct ptype *t;

	if (!p || !type_id)
		return -EINVAL;
	t = find_type(p, type_id);
	if (!t)
		return -ENOENT;
	if (p->ops.available) {
		int v = p->ops.available(p, type_id, p->userdata);

		if (v < 0)
			return 0;
		if ((unsigned int)v < t->max - t->used)
			return v;
	}
	return (int)(t->max - t->used);
}

VGPU_EXPORT int vgpu_provider_get_fd(struct vgpu_provider *p)
{
	return p ? p->epfd : -EINVAL;
}

VGPU_EXPORT int vgpu_provider_set_dma_timeout(struct vgpu_provider *p,
					      unsigned int ms)
{
	if (!p || !ms || ms > 3600000)
		return -EINVAL;
	__atomic_store_n(&p->dma_timeout_ms, (int)ms, __ATOMIC_RELAXED);
	return 0;
}

VGPU_EXPORT int vgpu_provider_set_quiesce(struct vgpu_provider *p,
					  vgpu_quiesce_fn fn)
{
	if (!p)
		return -EINVAL;
	p->quiesce = fn;
	return 0;
}

VGPU_EXPORT int vgpu_provider_set_version_timeout(struct vgpu_provider *p,
						  unsigned int ms)
{
	if (!p || !ms || ms > 3600000)
		return -EINVAL;
	__atomic_store_n(&p->version_timeout_ms, (int)ms, __ATOMIC_RELAXED);
	return 0;
}

/* vgpu_device_quiesced() was called: run the messages that waited */
static void wake_devices(struct vgpu_provider *p)
{
	uint64_t n;

	if (read(p->wake_fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		return;
	for (size_t i = 0; i < p->devices.n; i++) {
		struct vgpu_device *dev = p->devices.items[i];
		int r;

		if (!dev->deferred || !dev->quiesce_done || dev->conn_fd < 0)
			continue;
		r = serve_deferred(dev);
		/* and what came behind it, read already */
		while (r >= 0 && !dev->deferred && vfu_reader_has_msg(&dev->rx))
			r = serve_one(dev, MSG_DONTWAIT);
		if (r < 0 && r != -EAGAIN && dev->conn_fd >= 0)
			conn_lost(dev, r);
	}
}

static int handle_event(struct vgpu_provider *p, struct watch *w,
			uint32_t events)
{
	struct vgpu_device *dev = w->dev;
	int r;

	/* destroyed by an earlier event of the same batch: nothing to do */
	if (dev && !dev->provider)
		return 0;
	switch (w->kind) {
	case WATCH_STOP:
		return -ECANCELED;
	case WATCH_LISTEN:
		r = accept_client(dev);
		return r < 0 ? r : 0;
	case WATCH_CTL:
		serve_control(p);
		return 0;
	case WATCH_TIMER:
		version_timer_fired(dev);
		return 0;
	case WATCH_WAKE:
		wake_devices(p);
		return 0;
	case WATCH_DISPLAY:
		display_event(p, w);
		return 0;
	case WATCH_REFUSE:
	case WATCH_REFUSE_TIMER:
		refusal_event(w);
		return 0;
	case WATCH_CONN_OUT:
		conn_out_event(dev);
		return 0;
	case WATCH_CONN:
		/* a client gone while its message waits for quiesce */
		if (dev->deferred && (events & (EPOLLHUP | EPOLLERR))) {
			conn_lost(dev, -ECONNRESET);
			return 0;
		}
		/* what the client can take now, then one read and whatever
		 * it brought that is complete */
		r = events & EPOLLOUT ? conn_flush(dev) : 0;
		if ((r == 0 || r == -EAGAIN) && (events & ~EPOLLOUT))
			do
				r = serve_one(dev, MSG_DONTWAIT);
			while (r >= 0 && vfu_reader_has_msg(&dev->rx));
		if (r < 0 && r != -EAGAIN && dev->conn_fd >= 0)
			conn_lost(dev, r);
		return 0;
	}
	return 0;
}

#define DISPATCH_BATCH 16

/* the devices destroyed during a dispatch batch: their last reference
 * of the provider's */
void batch_release(struct vgpu_provider *p)
{
	while (p->batch_dead) {
		struct vgpu_device *dev = p->batch_dead;

		p->batch_dead = dev->batch_next;
		vgpu_device_unref(dev);
	}
}

/*
 * One batch of events. An event may destroy a device (a control-socket
 * remove) whose events come later in the same batch: a device destroyed
 * during a batch keeps the provider's reference until the batch is done
 * (vgpu_device_destroy() hands it to batch_dead), so it stays in memory
 * (and is skipped: handle_event() sees it has no provider) until then.
 * A device not destroyed is held by the provider's own reference,
 * whatever its other holders do meanwhile.
 * (Referencing every device of the batch around it instead cost two
 * atomic operations and some 40 instructions per message.)
 */
VGPU_EXPORT int vgpu_provider_dispatch(struct vgpu_provider *p, int timeout_ms)
{
	struct epoll_event ev[DISPATCH_BATCH];
	int n, r = 0, handled = 0;

	if (!p)
		return -EINVAL;
	/* display watchers closed by other threads: rarely any */
	if (__atomic_load_n(&p->display_dead, __ATOMIC_RELAXED))
		display_reap(p);
	n = epoll_wait(p->epfd, ev, DISPATCH_BATCH, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	p->batch_depth++;
	for (int i = 0; i < n && r >= 0; i++) {
		r = handle_event(p, ev[i].data.ptr, ev[i].events);
		if (r >= 0)
			handled++;
	}
	if (--p->batch_depth == 0 && p->batch_dead)
		batch_release(p);
	return r < 0 ? r : handled;
}

static void *runner(void *data)
{
	struct vgpu_provider *p = data;

	for (;;) {
		int r = vgpu_provider_dispatch(p, -1);

		if (r == -ECANCELED)
			break;
		if (r < 0) {
			err(p->ctx, "provider %s: dispatch failed: %s", p->id,
			    strerror(-r));
			break;
		}
	}
	return NULL;
}

VGPU_EXPORT int vgpu_provider_start_thread(struct vgpu_provider *p)
{
	int r;

	if (!p)
		return -EINVAL;
	if (p->thread_running)
		return -EALREADY;
	p->threaded = true;
	r = pthread_create(&p->thread, NULL, runner, p);
	if (r) {
		p->threaded = false;
		return -r;
	}
	p->thread_running = true;
	return 0;
}

VGPU_EXPORT int vgpu_provider_stop_thread(struct vgpu_provider *p)
{
	uint64_t one = 1, drain;

	if (!p)
		return -EINVAL;
	if (!p->thread_running)
		return -ESRCH;
	if (write(p->stop_fd, &one, sizeof(one)) < 0)
		return -errno;
	pthread_join(p->thread, NULL);
	p->thread_running = false;
	p->threaded = false;
	/* connections served by threads are dropped; the devices listen again */
	for (size_t i = 0; i < p->devices.n; i++)
		join_conn_thread(p->devices.items[i]);
	if (read(p->stop_fd, &drain, sizeof(drain)) < 0)
		return 0;
	return 0;
}
