/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim-demo UUID — drive a vgpu-sim device through the public device
 * API (libvgpu.h) as a VMM would: open it by UUID, map a guest buffer
 * (a memfd) for DMA, draw a test picture into it, set a display mode,
 * program a DMA blit through the register BAR, wait for the MSI-X
 * interrupt on an eventfd, and check that the framebuffer holds the
 * picture. The mode stays set, so `vgpuctl screenshot UUID out.png`
 * afterwards saves the picture.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libvgpu.h>

#include "vgpu-sim.h"

#define GUEST_IOVA 0x10000000ull

static int step(const char *what, int r)
{
	if (r < 0)
		fprintf(stderr, "vgpu-sim-demo: %s: %s\n", what, strerror(-r));
	else
		printf("  ok  %s\n", what);
	return r;
}

static int reg_write(struct vgpu_handle *h, uint32_t off, uint32_t v)
{
	return vgpu_handle_region_write(h, VGPU_SIM_BAR_REGS, off, &v, 4);
}

static int reg_read(struct vgpu_handle *h, uint32_t off, uint32_t *v)
{
	return vgpu_handle_region_read(h, VGPU_SIM_BAR_REGS, off, v, 4);
}

/* the blit, its interrupt and the status it leaves */
static int blit(struct vgpu_handle *h, int efd, uint32_t len)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint32_t status = 0;
	uint64_t n;
	int r;

	r = reg_write(h, VGPU_SIM_REG_SRC_LO, (uint32_t)GUEST_IOVA);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_SRC_HI,
			      (uint32_t)(GUEST_IOVA >> 32));
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_DST, 0);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_LEN, len);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_DOORBELL, 1);
	if (step("DMA blit programmed through BAR0", r) < 0)
		return r;
	r = poll(&p, 1, 5000);
	if (r != 1 || read(efd, &n, sizeof(n)) != sizeof(n))
		return step("MSI-X interrupt", r == 0 ? -ETIMEDOUT : -errno);
	step("MSI-X interrupt arrived on the eventfd", 0);
	r = reg_read(h, VGPU_SIM_REG_STATUS, &status);
	if (r < 0)
		return step("STATUS", r);
	if (status != VGPU_SIM_STATUS_DONE) {
		uint32_t e = 0;

		reg_read(h, VGPU_SIM_REG_ERROR, &e);
		return step("blit status", -(int)(e ? e : EIO));
	}
	return step("STATUS says done",
		    reg_write(h, VGPU_SIM_REG_STATUS, status));
}

static int demo(struct vgpu_handle *h)
{
	const uint32_t w = VGPU_SIM_DEMO_WIDTH, hgt = VGPU_SIM_DEMO_HEIGHT;
	const uint32_t stride = w * 4, len = stride * hgt;
	const size_t guest_len = ((size_t)len + 0xfffff) & ~(size_t)0xfffff;
	uint32_t id = 0, *pix = MAP_FAILED;
	void *fb = MAP_FAILED;
	int mfd = -1, efd = -1, r, mapped = 0;

	r = reg_read(h, VGPU_SIM_REG_ID, &id);
	if (!r && id != VGPU_SIM_ID)
		r = -ENODEV;
	if (step("BAR0 ID register reads vgpu-sim", r) < 0)
		return r;
	mfd = memfd_create("vgpu-sim-demo-guest", MFD_CLOEXEC);
	if (mfd < 0 || ftruncate(mfd, (off_t)guest_len) < 0) {
		r = step("guest memory (memfd)", -errno);
		goto out;
	}
	pix = mmap(NULL, guest_len, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	if (pix == MAP_FAILED) {
		r = step("guest memory (mmap)", -errno);
		goto out;
	}
	for (uint32_t y = 0; y < hgt; y++)
		for (uint32_t x = 0; x < w; x++)
			pix[y * w + x] = vgpu_sim_test_pixel(x, y, w, hgt);
	step("test picture drawn into a memfd guest buffer", 0);
	r = vgpu_handle_dma_map_fd(h, pix, mfd, 0, GUEST_IOVA, guest_len,
				   VGPU_DMA_READ | VGPU_DMA_WRITE);
	if (step("guest buffer mapped for DMA at IOVA 0x10000000", r) < 0)
		goto out;
	mapped = 1;
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	r = efd < 0 ? -errno
		    : vgpu_handle_irq_attach(h, VGPU_IRQ_MSIX, 0, 1, &efd);
	if (step("eventfd attached to MSI-X vector 0", r) < 0)
		goto out;
	r = reg_write(h, VGPU_SIM_REG_FORMAT, VGPU_SIM_XR24);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_WIDTH, w);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_HEIGHT, hgt);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_STRIDE, stride);
	if (step("display mode 640x480 XR24 set", r) < 0)
		goto out;
	r = blit(h, efd, len);
	if (r < 0)
		goto out;
	r = vgpu_handle_region_mmap(h, VGPU_SIM_BAR_FB, 0, len, PROT_READ, &fb);
	if (step("framebuffer (BAR2) mapped", r) < 0)
		goto out;
	r = memcmp(fb, pix, len) ? -EIO : 0;
	step("framebuffer holds the picture", r);
	munmap(fb, len);
out:
	if (efd >= 0) {
		vgpu_handle_irq_detach(h, VGPU_IRQ_MSIX, 0, 0);
		close(efd);
	}
	if (mapped && vgpu_handle_dma_unmap(h, GUEST_IOVA, guest_len) < 0 && !r)
		r = -EIO;
	if (pix != MAP_FAILED)
		munmap(pix, guest_len);
	if (mfd >= 0)
		close(mfd);
	return r;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vgpu-sim-demo [--runtime-dir DIR] [--sysfs-root DIR] UUID\n"
		"Open a vgpu-sim device, DMA a test picture into its framebuffer, wait\n"
		"for the interrupt and check the result.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "sysfs-root", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *runtime = NULL, *sysfs = NULL;
	struct vgpu_handle *h = NULL;
	struct vgpu_ctx *ctx = NULL;
	int c, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'R':
			runtime = optarg;
			break;
		case 'S':
			sysfs = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 1) {
		usage(stderr);
		return 2;
	}
	r = vgpu_ctx_new(&ctx);
	if (!r && runtime)
		r = vgpu_ctx_set_runtime_dir(ctx, runtime);
	if (!r && sysfs)
		r = vgpu_ctx_set_sysfs_root(ctx, sysfs);
	if (!r)
		r = vgpu_handle_open(ctx, argv[optind], 0, &h);
	if (step("opened through vgpu_handle_open()", r) >= 0) {
		printf("      access %s\n", vgpu_handle_get_access(h));
		r = demo(h);
	}
	vgpu_handle_unref(h);
	vgpu_ctx_unref(ctx);
	if (r == 0)
		printf("demo passed\n");
	return r < 0 ? 1 : 0;
}
