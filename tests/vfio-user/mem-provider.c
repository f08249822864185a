/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <check.h>

#include "client.h"
#include "libvgpu-provider.h"
#include "mem-provider.h"
#include "provider-child.h"

struct memp_dev {
	uint64_t regs[0x48 / 8];
	uint8_t buf[4096];
};

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	(void)sig;
	stop = 1;
}

/* the register write @off of device @d: an errno or 0 */
static int memp_run(struct vgpu_device *dev, struct memp_dev *d, uint64_t off)
{
	uint64_t addr = d->regs[MEMP_ADDR / 8], len = d->regs[MEMP_LEN / 8];
	struct iovec seg[8];
	int n, r;

	if (off == MEMP_DIRTY) {
		vgpu_device_dma_mark_dirty(dev, addr, len);
		return 0;
	}
	if (off == MEMP_PIN) {
		n = vgpu_device_dma_pin(dev, addr, len, VGPU_DMA_READ, seg, 8);
		return n < 0 ? n : 0;
	}
	if (off == MEMP_UNPIN)
		return vgpu_device_dma_unpin(dev, addr, len);
	if (len > sizeof(d->buf))
		return -EINVAL;
	if (off == MEMP_COPY) {
		r = vgpu_device_dma_read(dev, addr, d->buf, len);
		for (uint64_t i = 0; r == 0 && i < len; i++)
			d->buf[i] = (uint8_t)~d->buf[i];
		return r ? r
			 : vgpu_device_dma_write(dev, addr + len, d->buf, len);
	}
	/* MEMP_BLIT: as vgpu-sim's engine does it */
	n = vgpu_device_dma_pin(dev, addr, len, VGPU_DMA_READ, seg, 8);
	if (n == -EREMOTE)
		return vgpu_device_dma_read(dev, addr, d->buf, len);
	if (n < 0)
		return n;
	for (int i = 0, at = 0; i < n; at += (int)seg[i].iov_len, i++)
		memcpy(d->buf + at, seg[i].iov_base, seg[i].iov_len);
	return vgpu_device_dma_unpin(dev, addr, len);
}

static int bar0(struct vgpu_device *dev, unsigned int region, uint64_t off,
		void *buf, uint32_t count, bool is_write, void *userdata)
{
	struct memp_dev *d = vgpu_device_get_userdata(dev);

	(void)region;
	(void)userdata;
	if (count != 8 || (off & 7) || off >= sizeof(d->regs))
		return -EINVAL;
	if (!is_write) {
		memcpy(buf, &d->regs[off / 8], 8);
		return 0;
	}
	memcpy(&d->regs[off / 8], buf, 8);
	if (off >= MEMP_COPY && off < MEMP_ERR)
		d->regs[MEMP_ERR / 8] = (uint64_t)-memp_run(dev, d, off);
	return 0;
}

static int memp_create(struct vgpu_device *dev, const char *type_id,
		       void *userdata)
{
	struct memp_dev *d = calloc(1, sizeof(*d));
	void *mem;
	int r;

	(void)type_id;
	(void)userdata;
	if (!d)
		return -ENOMEM;
	vgpu_device_set_userdata(dev, d);
	r = vgpu_device_setup_region(dev, VGPU_REGION_BAR0, 4096,
				     VGPU_REGION_F_READ | VGPU_REGION_F_WRITE,
				     bar0, NULL);
	if (!r)
		r = vgpu_device_setup_region(
			dev, VGPU_REGION_BAR2, MEMP_BAR2_SIZE,
			VGPU_REGION_F_READ | VGPU_REGION_F_WRITE |
				VGPU_REGION_F_MEM,
			NULL, NULL);
	if (!r)
		r = vgpu_device_region_add_sparse(dev, VGPU_REGION_BAR2, 0,
						  MEMP_BAR2_AREA);
	if (!r)
		r = vgpu_device_setup_region(
			dev, VGPU_REGION_BAR4, MEMP_BAR4_SIZE,
			VGPU_REGION_F_READ | VGPU_REGION_F_MEM, NULL, NULL);
	if (!r)
		r = vgpu_device_region_get_mem(dev, VGPU_REGION_BAR4, &mem);
	if (!r)
		memset(mem, 0xa5, MEMP_BAR4_SIZE);
	return r;
}

static void memp_destroy(struct vgpu_device *dev, void *userdata)
{
	(void)userdata;
	free(vgpu_device_get_userdata(dev));
}

static int memp_main(const char *dir, int ready_fd)
{
	struct vgpu_provider_ops ops = { .size = sizeof(ops),
					 .create = memp_create,
					 .destroy = memp_destroy };
	struct vgpu_provider *p;
	struct vgpu_ctx *ctx;
	char a[256], b[256], ok = 1;
	int r;

	signal(SIGTERM, on_term);
	snprintf(a, sizeof(a), "%s/a.sock", dir);
	snprintf(b, sizeof(b), "%s/b.sock", dir);
	if (vgpu_ctx_new(&ctx) < 0)
		return 2;
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	r = vgpu_provider_new(ctx, "memp0", &ops, NULL, &p);
	if (!r)
		r = vgpu_provider_add_type(p, "memp", "memp", "", 2);
	if (!r)
		r = vgpu_provider_create_device(
			p, "memp", "0e9c3b1a-51d4-4f0e-8f7a-1c2d3e4f5a01", a,
			NULL);
	if (!r)
		r = vgpu_provider_create_device(
			p, "memp", "0e9c3b1a-51d4-4f0e-8f7a-1c2d3e4f5a02", b,
			NULL);
	if (r < 0) {
		fprintf(stderr, "memp: %s\n", strerror(-r));
		return 3;
	}
	if (write(ready_fd, &ok, 1) != 1)
		return 4;
	close(ready_fd);
	while (!stop) {
		r = vgpu_provider_dispatch(p, 100);
		if (r < 0 && r != -EINTR)
			return 5;
	}
	vgpu_provider_unref(p);
	vgpu_ctx_unref(ctx);
	return 0;
}

static int memp_child(void *arg, int ready_fd)
{
	return memp_main(arg, ready_fd);
}

pid_t memp_start(const char *dir)
{
	return child_start(memp_child, (void *)dir);
}

struct memp_fixture memp;

void memp_setup(void)
{
	strcpy(memp.dir, "/tmp/vgpu-memp-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(memp.dir));
	memp.pid = memp_start(memp.dir);
	ck_assert_int_gt(memp.pid, 0);
	ck_assert_int_eq(vgpu_ctx_new(&memp.ctx), 0);
	vgpu_ctx_set_log_fn(memp.ctx, NULL, NULL);
	memp.fds = child_fds(memp.pid);
	memp.rss = child_rss(memp.pid);
}

void memp_teardown(void)
{
	char p[128];

	/* 0: no signal (SIGBUS would be 135) */
	ck_assert_int_eq(child_stop(memp.pid), 0);
	vgpu_ctx_unref(memp.ctx);
	snprintf(p, sizeof(p), "%s/mem", memp.dir);
	unlink(p);
	rmdir(memp.dir);
}

struct vfu_client *memp_connect(const char *name)
{
	struct vfu_client *c;
	char path[256];

	snprintf(path, sizeof(path), "%s/%s.sock", memp.dir, name);
	ck_assert_int_eq(vfu_client_connect(memp.ctx, path, &c), 0);
	return c;
}

uint64_t memp_reg(struct vfu_client *c, uint64_t off)
{
	uint64_t v = 0;

	ck_assert_int_eq(vfu_client_region_read(c, 0, off, &v, 8), 0);
	return v;
}

void memp_set(struct vfu_client *c, uint64_t off, uint64_t v)
{
	ck_assert_int_eq(vfu_client_region_write(c, 0, off, &v, 8), 0);
}

void memp_check_healthy(void)
{
	const char *names[] = { "a", "b" };

	ck_assert_int_eq(kill(memp.pid, 0), 0);
	for (int i = 0; i < 2; i++) {
		struct vfu_client *c = memp_connect(names[i]);

		memp_set(c, 0, 0x5a5a0000u + (unsigned int)i);
		ck_assert_uint_eq(memp_reg(c, 0),
				  0x5a5a0000u + (unsigned int)i);
		vfu_client_close(c);
	}
	/* the provider drops a connection when it reads its end: wait for
	 * that (bounded), then compare */
	for (int i = 0; i < 1000 && child_fds(memp.pid) != memp.fds; i++)
		usleep(10000);
	ck_assert_int_eq(child_fds(memp.pid), memp.fds);
	ck_assert_uint_lt(child_rss(memp.pid), memp.rss + (32u << 20));
}
