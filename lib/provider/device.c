/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device objects: reference counting, accessors, creation and
 * destruction (the device's vfio-user socket).
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
/* device objects and configuration                                          */

VGPU_EXPORT struct vgpu_device *vgpu_device_ref(struct vgpu_device *dev)
{
	if (dev)
		__atomic_add_fetch(&dev->refcount, 1, __ATOMIC_RELAXED);
	return dev;
}

static void device_free(struct vgpu_device *dev)
{
	refusals_drop(dev);
	for (unsigned int i = 0; i < VFU_MAX_REGIONS; i++) {
		struct region *r = &dev->regions[i];

		if (r->mem)
			munmap(r->mem, r->size);
		if (r->memfd >= 0)
			close(r->memfd);
	}
	for (unsigned int i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		struct irq *q = &dev->irqs[i];

		for (unsigned int v = 0; v < q->count; v++)
			if (q->efd[v] >= 0)
				close(q->efd[v]);
		free(q->efd);
		free(q->masked);
		free(q->pending);
	}
	vgpu_dma_table_free(dev->dma, NULL, NULL);
	display_free(dev);
	dev->provider = NULL; /* no callbacks: the provider is done with it */
	dma_reap(dev, true);
	free(dev->orphans.items);
	free(dev->deferred);
	pthread_cond_destroy(&dev->quiesce_cond);
	pthread_mutex_destroy(&dev->lock);
	vfu_reader_free(&dev->rx);
	vfu_reader_free(&dev->rx_wait);
	free(dev->socket_path);
	free(dev);
}

VGPU_EXPORT struct vgpu_device *vgpu_device_unref(struct vgpu_device *dev)
{
	if (!dev)
		return NULL;
	if (__atomic_sub_fetch(&dev->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return dev;
	device_free(dev);
	return NULL;
}

VGPU_EXPORT const char *vgpu_device_get_uuid(struct vgpu_device *dev)
{
	return dev ? dev->uuid : NULL;
}

VGPU_EXPORT const char *vgpu_device_get_type_id(struct vgpu_device *dev)
{
	return dev && dev->type ? dev->type->id : NULL;
}

VGPU_EXPORT const char *vgpu_device_get_socket_path(struct vgpu_device *dev)
{
	return dev ? dev->socket_path : NULL;
}

VGPU_EXPORT void vgpu_device_set_userdata(struct vgpu_device *dev, void *data)
{
	if (dev)
		dev->userdata = data;
}

VGPU_EXPORT void *vgpu_device_get_userdata(struct vgpu_device *dev)
{
	return dev ? dev->userdata : NULL;
}

VGPU_EXPORT bool vgpu_device_is_connected(struct vgpu_device *dev)
{
	return dev && dev->conn_fd >= 0;
}

/* ------------------------------------------------------------------------ */
/* device creation and destruction                                          */

static int default_socket_path(struct vgpu_provider *p, const char *uuid,
			       char **ret)
{
	char *dir;
	int r = runtime_subdir(p, &dir);

	if (r < 0)
		return r;
	if (asprintf(ret, "%s/%s.sock", dir, uuid) < 0)
		r = -ENOMEM;
	free(dir);
	return r;
}

static int listen_on(struct vgpu_device *dev, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	dev->listen_fd = fd;
	return 0;
}

VGPU_EXPORT int vgpu_provider_create_device(struct vgpu_provider *p,
					    const char *type_id,
					    const char *uuid,
					    const char *socket_path,
					    struct vgpu_device **ret)
{
	return device_create(p, type_id, uuid, socket_path, NULL, 0, ret);
}

/* a new device; @attrs go to the vendor's create_attrs, and without it a
 * creation with attributes is refused (-EOPNOTSUPP) */
int device_create(struct vgpu_provider *p, const char *type_id,
		  const char *uuid, const char *socket_path,
		  const struct vgpu_device_attr *attrs, size_t n_attrs,
		  struct vgpu_device **ret)
{
	pthread_mutexattr_t ma;
	struct vgpu_device *dev;
	struct epoll_event ev = { .events = EPOLLIN };
	struct ptype *t;
	char norm[VGPU_UUID_LEN + 1];
	int r;

	if (!p || !type_id || !uuid)
		return -EINVAL;
	if (vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	t = find_type(p, type_id);
	if (!t)
		return -ENOENT;
	if (vgpu_provider_get_available(p, type_id) <= 0)
		return -ENOSPC;
	for (size_t i = 0; i < p->devices.n; i++)
		if (!strcmp(((struct vgpu_device *)p->devices.items[i])->uuid,
			    norm))
			return -EEXIST;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->refcount = 1;
	memcpy(dev->uuid, norm, sizeof(norm));
	dev->type = t;
	dev->listen_fd = dev->conn_fd = -1;
	vfu_reader_init(&dev->rx);
	vfu_reader_init(&dev->rx_wait);
	dev->mig = VGPU_MIG_RUNNING;
	for (unsigned int i = 0; i < VFU_MAX_REGIONS; i++)
		dev->regions[i].memfd = -1;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	pthread_cond_init(&dev->quiesce_cond, NULL);
	dev->wl.kind = WATCH_LISTEN;
	dev->wl.dev = dev;
	dev->wc.kind = WATCH_CONN;
	dev->wc.dev = dev;
	dev->wt.kind = WATCH_TIMER;
	dev->wt.dev = dev;
	dev->wo.kind = WATCH_CONN_OUT;
	dev->wo.dev = dev;
	dev->timer_fd = -1;
	refusals_init(dev);
	config_init(dev);
	dev->provider = p;

	if (p->ops.create_attrs)
		r = p->ops.create_attrs(dev, type_id, attrs, n_attrs,
					p->userdata);
	else if (n_attrs)
		r = -EOPNOTSUPP;
	else
		r = p->ops.create(dev, type_id, p->userdata);
	if (r < 0) {
		if (r == -EOPNOTSUPP && n_attrs && !p->ops.create_attrs)
			info(p->ctx,
			     "provider %s: device %s: the vendor takes no attributes",
			     p->id, norm);
		dev->provider = NULL;
		device_free(dev);
		return r;
	}
	r = socket_path
		    ? ((dev->socket_path = strdup(socket_path)) ? 0 : -ENOMEM)
		    : default_socket_path(p, norm, &dev->socket_path);
	if (r == 0)
		r = listen_on(dev, dev->socket_path);
	if (r == 0) {
		ev.data.ptr = &dev->wl;
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, dev->listen_fd, &ev) < 0)
			r = -errno;
	}
	if (r == 0)
		r = vgpu_vec_push(&p->devices, dev);
	if (r < 0) {
		if (dev->listen_fd >= 0) {
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, dev->listen_fd, NULL);
			close(dev->listen_fd);
			unlink(dev->socket_path);
		}
		if (p->ops.destroy)
			p->ops.destroy(dev, p->userdata);
		dev->provider = NULL;
		device_free(dev);
		return r;
	}
	t->used++;
	info(p->ctx, "device %s (%s) listening on %s", dev->uuid, type_id,
	     dev->socket_path);
	if (ret)
		*ret = vgpu_device_ref(dev);
	return 0;
}

VGPU_EXPORT int vgpu_device_destroy(struct vgpu_device *dev)
{
	struct vgpu_provider *p;

	if (!dev)
		return -EINVAL;
	p = dev->provider;
	if (!p)
		return -ENODEV;
	pthread_mutex_lock(&dev->lock);
	dev->dying = true;
	pthread_mutex_unlock(&dev->lock);
	display_gone(dev);
	join_conn_thread(dev);
	disconnect(dev);
	refusals_drop(dev);
	if (dev->listen_fd >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, dev->listen_fd, NULL);
		close(dev->listen_fd);
		dev->listen_fd = -1;
		unlink(dev->socket_path);
	}
	if (p->ops.destroy)
		p->ops.destroy(dev, p->userdata);
	for (size_t i = 0; i < p->devices.n; i++)
		if (p->devices.items[i] == dev) {
			memmove(&p->devices.items[i], &p->devices.items[i + 1],
				(p->devices.n - i - 1) * sizeof(void *));
			p->devices.n--;
			break;
		}
	dev->type->used--;
	dev->provider = NULL;
	/* a later event of the dispatch batch under way may name it: the
	 * provider's reference goes when the batch is done */
	if (p->batch_depth) {
		dev->batch_next = p->batch_dead;
		p->batch_dead = dev;
		return 0;
	}
	vgpu_device_unref(dev);
	return 0;
}
