/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The provider of the hostile-client tests; see prov-harness.h. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "proto.h"
#include "prov-harness.h"

static int bar0_access(struct vgpu_device *dev, unsigned int region,
		       uint64_t off, void *buf, uint32_t count, bool is_write,
		       void *userdata)
{
	uint64_t *scratch = userdata;

	if (off != 0 || count > 8)
		return is_write ? 0 : (memset(buf, 0, count), 0);
	if (is_write)
		memcpy(scratch, buf, count);
	else
		memcpy(buf, scratch, count);
	return 0;
}

static int h_create(struct vgpu_device *dev, const char *type_id,
		    void *userdata)
{
	struct harness *h = userdata;
	unsigned int i;
	int r;

	for (i = 0; i < H_DEVS; i++)
		if (!strcmp(h->uuid[i], vgpu_device_get_uuid(dev)))
			break;
	if (i == H_DEVS)
		return -EINVAL;
	vgpu_device_set_userdata(dev, (void *)(uintptr_t)i);
	r = vgpu_device_set_pci_ids(dev, 0x1af4, 0x10f0, 0x1af4, 1, 0x030000,
				    1);
	if (r == 0)
		r = vgpu_device_setup_region(dev, VGPU_REGION_BAR0, 4096,
					     VGPU_REGION_F_READ |
						     VGPU_REGION_F_WRITE,
					     bar0_access, &h->scratch[i]);
	if (r == 0)
		r = vgpu_device_add_cap_msi(dev, 1, NULL);
	if (r == 0)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSI, 1);
	return r;
}

unsigned int h_index(struct harness *h, struct vgpu_device *dev)
{
	(void)h;
	return (unsigned int)(uintptr_t)vgpu_device_get_userdata(dev);
}

static void *loop_main(void *data)
{
	struct harness *h = data;

	while (!__atomic_load_n(&h->stop, __ATOMIC_ACQUIRE)) {
		int r = vgpu_provider_dispatch(h->p, 50);

		ck_assert_int_ge(r, 0);
	}
	return NULL;
}

void h_loop_start(struct harness *h)
{
	ck_assert(!h->looping);
	__atomic_store_n(&h->stop, 0, __ATOMIC_RELEASE);
	ck_assert_int_eq(pthread_create(&h->loop, NULL, loop_main, h), 0);
	h->looping = true;
}

void h_loop_stop(struct harness *h)
{
	if (!h->looping)
		return;
	__atomic_store_n(&h->stop, 1, __ATOMIC_RELEASE);
	pthread_join(h->loop, NULL);
	h->looping = false;
}

void h_start(struct harness *h, enum h_mode mode,
	     const struct vgpu_provider_ops *ops)
{
	h_start_quiesce(h, mode, ops, NULL);
}

void h_start_quiesce(struct harness *h, enum h_mode mode,
		     const struct vgpu_provider_ops *ops, vgpu_quiesce_fn fn)
{
	memset(h, 0, sizeof(*h));
	h->mode = mode;
	if (ops)
		h->ops = *ops;
	h->ops.size = sizeof(h->ops);
	h->ops.create = h_create;
	strcpy(h->dir, "/tmp/vgpu-harness-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(h->dir));
	ck_assert_int_eq(vgpu_ctx_new(&h->ctx), 0);
	if (!getenv("H_LOG"))
		vgpu_ctx_set_log_fn(h->ctx, NULL, NULL);
	ck_assert_int_eq(
		vgpu_provider_new(h->ctx, "harness0", &h->ops, h, &h->p), 0);
	ck_assert_int_eq(vgpu_provider_add_type(h->p, "t1", "test", NULL, 8),
			 0);
	ck_assert_int_eq(vgpu_provider_set_quiesce(h->p, fn), 0);
	snprintf(h->ctl, sizeof(h->ctl), "%s/ctl", h->dir);
	ck_assert_int_eq(vgpu_provider_listen_control(h->p, h->ctl), 0);
	for (unsigned int i = 0; i < H_DEVS; i++) {
		snprintf(h->uuid[i], sizeof(h->uuid[i]),
			 "6f0c8e5a-3c1e-4d2b-9a55-%012x", i + 1);
		snprintf(h->sock[i], sizeof(h->sock[i]), "%s/%u.sock", h->dir,
			 i);
		ck_assert_int_eq(
			vgpu_provider_create_device(h->p, "t1", h->uuid[i],
						    h->sock[i], &h->dev[i]),
			0);
	}
	if (mode == H_LOOP)
		h_loop_start(h);
	else if (mode == H_RUNNER)
		ck_assert_int_eq(vgpu_provider_start_thread(h->p), 0);
}

void h_stop(struct harness *h)
{
	h_loop_stop(h);
	if (h->mode == H_RUNNER)
		ck_assert_int_eq(vgpu_provider_stop_thread(h->p), 0);
	for (unsigned int i = 0; i < H_DEVS; i++)
		vgpu_device_unref(h->dev[i]);
	ck_assert_ptr_null(vgpu_provider_unref(h->p));
	vgpu_ctx_unref(h->ctx);
	unlink(h->ctl);
	rmdir(h->dir);
}

bool h_fresh_ok(struct harness *h, unsigned int i)
{
	struct vfu_client *c;
	uint64_t v = 0x5a5a0000u + i, back = 0;
	bool ok;

	if (vfu_client_connect(h->ctx, h->sock[i], &c) < 0)
		return false;
	ok = vfu_client_region_write(c, 0, 0, &v, 8) == 0 &&
	     vfu_client_region_read(c, 0, 0, &back, 8) == 0 && back == v;
	vfu_client_close(c);
	return ok;
}

void h_usage(struct h_usage *u)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	unsigned long pages = 0, rss = 0;
	FILE *f;

	ck_assert_ptr_nonnull(d);
	u->fds = 0;
	while ((e = readdir(d)))
		if (e->d_name[0] != '.')
			u->fds++;
	closedir(d);
	f = fopen("/proc/self/statm", "re");
	ck_assert_ptr_nonnull(f);
	ck_assert_int_eq(fscanf(f, "%lu %lu", &pages, &rss), 2);
	fclose(f);
	u->rss_kib = rss * (unsigned long)(sysconf(_SC_PAGESIZE) / 1024);
}

void h_check_after(struct harness *h, const struct h_usage *before,
		   unsigned int attacked)
{
	struct h_usage now;

	for (unsigned int i = 0; i < H_DEVS; i++)
		if (i != attacked && h->dev[i] &&
		    vgpu_device_get_socket_path(h->dev[i]))
			ck_assert_msg(h_fresh_ok(h, i),
				      "device %u does not serve a fresh client",
				      i);
	/* the provider sees the fresh clients go in its own time */
	for (unsigned int i = 0; i < H_DEVS; i++)
		while (h->dev[i] && vgpu_device_is_connected(h->dev[i]))
			usleep(1000);
	h_usage(&now);
	/* generous: a few fds of the sanitizers, and allocator slack; a leak
	 * per message of the attacks is far above this */
	ck_assert_msg(now.fds <= before->fds + 2, "fds %u -> %u", before->fds,
		      now.fds);
	ck_assert_msg(now.rss_kib <= before->rss_kib + 96 * 1024,
		      "RSS %lu -> %lu KiB", before->rss_kib, now.rss_kib);
}

int h_connect(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	ck_assert_int_ge(fd, 0);
	ck_assert_uint_lt(strlen(path), sizeof(sa.sun_path));
	strcpy(sa.sun_path, path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	return fd;
}

void h_send(int fd, uint16_t id, uint16_t cmd, const void *p, size_t len,
	    const int *fds, unsigned int nfds)
{
	struct vfu_hdr h = { .msg_id = id,
			     .cmd = cmd,
			     .size = (uint32_t)(sizeof(h) + len) };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };
	union {
		char b[CMSG_SPACE(sizeof(int) * 16)];
		struct cmsghdr a;
	} ctrl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	ck_assert_uint_le(nfds, 16);
	if (nfds) {
		struct cmsghdr *c;

		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ck_assert_int_eq(sendmsg(fd, &mh, MSG_NOSIGNAL),
			 (ssize_t)(sizeof(h) + len));
}

bool h_recv(int fd, void *hdr16, void *p, size_t max)
{
	struct vfu_hdr h;
	ssize_t n = recv(fd, &h, sizeof(h), MSG_WAITALL);
	size_t len;
	uint8_t sink[4096];

	if (n != (ssize_t)sizeof(h) || h.size < sizeof(h))
		return false;
	memcpy(hdr16, &h, sizeof(h));
	len = h.size - sizeof(h);
	while (len) {
		size_t room = max ? max : sizeof(sink);
		size_t k = len <= room ? len : room;
		void *to = max ? p : sink;

		n = recv(fd, to, k, MSG_WAITALL);
		if (n != (ssize_t)k)
			return false;
		len -= k;
		if (max) {
			p = (uint8_t *)p + k;
			max -= k;
		}
	}
	return true;
}

int h_raw_client(const char *path, const char *json)
{
	struct timeval tv = { .tv_sec = 30 };
	uint8_t buf[512];
	struct vfu_version v = { .major = VFU_VERSION_MAJOR,
				 .minor = VFU_VERSION_MINOR };
	size_t jl = json ? strlen(json) + 1 : 0;
	struct vfu_hdr rh;
	int fd = h_connect(path);

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memcpy(buf, &v, sizeof(v));
	if (jl)
		memcpy(buf + sizeof(v), json, jl);
	h_send(fd, 0, VFU_CMD_VERSION, buf, sizeof(v) + jl, NULL, 0);
	ck_assert(h_recv(fd, &rh, buf, sizeof(buf)));
	ck_assert_uint_eq(rh.flags & VFU_F_ERROR, 0);
	return fd;
}

int h_ctl(struct harness *h, const char *line, char *out, size_t max)
{
	size_t len = 0;
	int fd = h_connect(h->ctl);

	ck_assert_int_eq(send(fd, line, strlen(line), MSG_NOSIGNAL),
			 (ssize_t)strlen(line));
	while (len + 1 < max) {
		ssize_t n = recv(fd, out + len, max - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fd);
	return (int)len;
}
