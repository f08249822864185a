/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provider control socket (see ctl.h): types, list, create, remove.
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
/* the control socket (see ctl.h)                                            */

static int ctl_printf(char **buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ctl_printf(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *s, *nb;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	nb = realloc(*buf, *len + (size_t)n + 1);
	if (!nb) {
		free(s);
		return -ENOMEM;
	}
	memcpy(nb + *len, s, (size_t)n + 1);
	*buf = nb;
	*len += (size_t)n;
	free(s);
	return 0;
}

/* a text field: control characters blanked, never empty */
static char *ctl_text(const char *s)
{
	char *t = strdup(s && *s ? s : "-");

	vfu_ctl_clean(t);
	return t;
}

static struct vgpu_device *find_device(struct vgpu_provider *p,
				       const char *uuid)
{
	for (size_t i = 0; i < p->devices.n; i++) {
		struct vgpu_device *d = p->devices.items[i];

		if (!strcmp(d->uuid, uuid))
			return d;
	}
	return NULL;
}

static int ctl_device_line(char **out, size_t *len, struct vgpu_device *d)
{
	char *path = ctl_text(d->socket_path);
	int r = path ? ctl_printf(out, len, "%s\t%s\t%s\n", d->uuid,
				  d->type->id, path)
		     : -ENOMEM;

	free(path);
	return r;
}

/* QoS and usage: the vendor's callbacks; without them, -EOPNOTSUPP */
static int ctl_qos_usage(struct vgpu_provider *p, struct vgpu_device *dev,
			 const struct vfu_ctl_req *q, char **out, size_t *len)
{
	struct vgpu_device_usage u = { .size = sizeof(u) };
	uint64_t v = 0;
	int r;

	switch (q->op) {
	case VFU_CTL_QOS_SET:
		if (!p->ops.qos_set)
			return -EOPNOTSUPP;
		r = p->ops.qos_set(dev, q->knob, q->value, p->userdata);
		return r < 0 ? r : ctl_printf(out, len, "ok 0\n");
	case VFU_CTL_QOS_GET:
		if (!p->ops.qos_get)
			return -EOPNOTSUPP;
		r = p->ops.qos_get(dev, q->knob, &v, p->userdata);
		return r < 0 ? r
			     : ctl_printf(out, len, "ok 1\n%llu\n",
					  (unsigned long long)v);
	case VFU_CTL_USAGE:
		if (!p->ops.usage)
			return -EOPNOTSUPP;
		r = p->ops.usage(dev, &u, p->userdata);
		if (r < 0)
			return r;
		/* only the bits of counters that exist */
		u.reported &= (1u << VFU_CTL_COUNTERS) - 1;
		return ctl_printf(
			out, len,
			"ok 1\n%u\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu\n",
			u.reported, (unsigned long long)u.engine_busy_ns,
			(unsigned long long)u.work_items,
			(unsigned long long)u.dma_bytes,
			(unsigned long long)u.interrupts,
			(unsigned long long)u.fb_bytes,
			(unsigned long long)u.frames);
	default:
		return -EINVAL;
	}
}

/* the reply to one request: "ok N" and records, or -errno */
static int ctl_handle(struct vgpu_provider *p, const struct vfu_ctl_req *q,
		      char **out, size_t *len)
{
	struct vgpu_device *dev;
	int r = 0;

	switch (q->op) {
	case VFU_CTL_TYPES:
		r = ctl_printf(out, len, "ok %zu\n", p->n_types);
		for (size_t i = 0; r == 0 && i < p->n_types; i++) {
			struct ptype *t = &p->types[i];
			char *name = ctl_text(t->name),
			     *desc = ctl_text(t->description);

			r = name && desc
				    ? ctl_printf(out, len,
						 "%s\t%d\t%u\t%s\t%s\n", t->id,
						 vgpu_provider_get_available(
							 p, t->id),
						 t->max, name, desc)
				    : -ENOMEM;
			free(name);
			free(desc);
		}
		return r;
	case VFU_CTL_LIST:
		r = ctl_printf(out, len, "ok %zu\n", p->devices.n);
		for (size_t i = 0; r == 0 && i < p->devices.n; i++)
			r = ctl_device_line(out, len, p->devices.items[i]);
		return r;
	case VFU_CTL_CREATE: {
		struct vgpu_device_attr attrs[VFU_CTL_MAX_ATTRS];

		for (size_t i = 0; i < q->n_attrs; i++)
			attrs[i] =
				(struct vgpu_device_attr){ q->attr_key[i],
							   q->attr_value[i] };
		r = device_create(p, q->type, q->uuid, NULL, attrs, q->n_attrs,
				  &dev);
		if (r < 0)
			return r;
		r = ctl_printf(out, len, "ok 1\n");
		if (r == 0)
			r = ctl_device_line(out, len, dev);
		vgpu_device_unref(dev);
		return r;
	}
	case VFU_CTL_REMOVE:
	case VFU_CTL_REMOVE_FORCE:
		dev = find_device(p, q->uuid);
		if (!dev)
			return -ENOENT;
		/* a device in use stays: destroying it under a running VM
		 * stalls the guest on every access. Forced, the client is
		 * asked to let go, as VFIO does: the REQ interrupt */
		pthread_mutex_lock(&dev->lock);
		r = dev->conn_fd >= 0 && !peer_gone(dev->conn_fd) ? -EBUSY : 0;
		if (r < 0 && q->op == VFU_CTL_REMOVE_FORCE)
			r = vgpu_device_irq_trigger(dev, VGPU_IRQ_REQ, 0) < 0
				    ? -EBUSY
				    : -EINPROGRESS;
		pthread_mutex_unlock(&dev->lock);
		if (r == -EINPROGRESS) {
			info(p->ctx,
			     "device %s: in use, asked the client to "
			     "release it (REQ interrupt)",
			     dev->uuid);
			return r;
		}
		if (r < 0) {
			info(p->ctx,
			     "device %s: not removed, a client uses it%s",
			     dev->uuid,
			     q->op == VFU_CTL_REMOVE_FORCE
				     ? " and registered no REQ interrupt to "
				       "ask it to let go with"
				     : "");
			return r;
		}
		r = vgpu_device_destroy(dev);
		return r < 0 ? r : ctl_printf(out, len, "ok 0\n");
	case VFU_CTL_QOS_SET:
	case VFU_CTL_QOS_GET:
	case VFU_CTL_USAGE:
		dev = find_device(p, q->uuid);
		return dev ? ctl_qos_usage(p, dev, q, out, len) : -ENOENT;
	case VFU_CTL_DISPLAY:
		return -EINVAL; /* answered by serve_control() */
	}
	return -EINVAL;
}

/* wait for @events on @fd until @deadline: 0, or -ETIMEDOUT */
static int ctl_wait(int fd, short events, int64_t deadline)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	for (;;) {
		int64_t left = deadline - now_ms();
		int n;

		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&pfd, 1, (int)left);
		if (n > 0)
			return 0;
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* the request line, read until @deadline: 0 with @q filled, or -errno */
static int ctl_read_request(int fd, int64_t deadline, struct vfu_ctl_req *q)
{
	char line[VFU_CTL_MAX_REQ];
	size_t len = 0;

	while (len < sizeof(line)) {
		ssize_t n =
			recv(fd, line + len, sizeof(line) - len, MSG_DONTWAIT);
		char *nl;
		int r;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			r = ctl_wait(fd, POLLIN, deadline);
			if (r < 0)
				return r;
			continue;
		}
		if (n <= 0)
			return -EINVAL;
		nl = memchr(line + len, '\n', (size_t)n);
		len += (size_t)n;
		/* exactly one line */
		if (nl)
			return nl == line + len - 1
				       ? vfu_ctl_parse_request(line, len - 1, q)
				       : -EINVAL;
	}
	return -EINVAL;
}

/* the whole reply, or as much as the peer takes before @deadline */
static void ctl_write_reply(int fd, const char *out, size_t olen,
			    int64_t deadline)
{
	for (size_t done = 0; done < olen;) {
		ssize_t n = send(fd, out + done, olen - done,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno == EAGAIN) {
			if (ctl_wait(fd, POLLOUT, deadline) < 0)
				return;
			continue;
		}
		if (n <= 0)
			return;
		done += (size_t)n;
	}
}

/*
 * One control connection, served synchronously: the peer must be root or
 * our user, and has CTL_DEADLINE_MS for its whole request line (however it
 * dribbles it in) and as long again to take the reply; then it is dropped.
 */
void serve_control(struct vgpu_provider *p)
{
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char *out = NULL;
	size_t olen = 0;
	struct vfu_ctl_req q;
	int fd, r;

	fd = accept4(p->ctl_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		info(p->ctx,
		     "provider %s: control connection from uid %u refused",
		     p->id, (unsigned int)cred.uid);
		close(fd);
		return;
	}
	r = ctl_read_request(fd, now_ms() + CTL_DEADLINE_MS, &q);
	if (r == 0 && q.op == VFU_CTL_DISPLAY) {
		struct vgpu_device *dev = find_device(p, q.uuid);

		/* the connection becomes the display watcher's */
		r = dev ? display_attach(p, dev, fd) : -ENOENT;
		if (r == 0)
			return;
	} else if (r == 0) {
		r = ctl_handle(p, &q, &out, &olen);
	}
	if (r < 0) {
		free(out);
		out = NULL;
		olen = 0;
		if (ctl_printf(&out, &olen, "err %d\n", -r) < 0)
			olen = 0;
	}
	if (r == -ETIMEDOUT)
		info(p->ctx,
		     "provider %s: control request not sent within %d ms, dropped",
		     p->id, CTL_DEADLINE_MS);
	dbg(p->ctx, "provider %s: control request: %s", p->id,
	    r < 0 ? strerror(-r) : "ok");
	ctl_write_reply(fd, out, olen, now_ms() + CTL_DEADLINE_MS);
	free(out);
	close(fd);
}

VGPU_EXPORT int vgpu_provider_listen_control(struct vgpu_provider *p,
					     const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &p->wctl };
	char *where;
	int fd, r;

	if (!p)
		return -EINVAL;
	if (p->ctl_fd >= 0)
		return -EALREADY;
	if (path) {
		where = strdup(path);
		r = where ? 0 : -ENOMEM;
	} else {
		r = runtime_subdir(p, &where);
		if (r == 0) {
			char *full;

			r = asprintf(&full, "%s/%s.ctl", where, p->id) < 0
				    ? -ENOMEM
				    : 0;
			free(where);
			where = r == 0 ? full : NULL;
		}
	}
	if (r < 0)
		return r;
	if (strlen(where) >= sizeof(sa.sun_path)) {
		free(where);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, where);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		free(where);
		return -errno;
	}
	unlink(where);
	/* 0600; the peer check stands guard over the moment before chmod */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(where, 0600) < 0 || listen(fd, 8) < 0 ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		close(fd);
		unlink(where);
		free(where);
		return r;
	}
	p->wctl.kind = WATCH_CTL;
	p->ctl_fd = fd;
	p->ctl_path = where;
	info(p->ctx, "provider %s: control socket %s", p->id, where);
	return 0;
}
