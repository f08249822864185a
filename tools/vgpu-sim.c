/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim — a sample vendor driver: a display vGPU written in user space
 * on libvgpu-provider.h alone, served over vfio-user. Its parent appears to
 * management (vgpuctl parents/types/create/remove/list) through the
 * provider's control socket; every device gets its own vfio-user socket
 * that QEMU (-device vfio-user-pci) or libvgpu's client connects to.
 *
 * The device: BAR0 registers (trapped, see vgpu-sim.h), BAR2 framebuffer
 * (shared memory the client may mmap), MSI, MSI-X, INTx and a DMA engine
 * that copies pixels from guest memory into the framebuffer. Types are
 * sized by framebuffer; they all draw on one memory pool, so the available
 * instances of every type shrink as devices are created.
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include <libvgpu-provider.h>

#include "vgpu-sim.h"

#define MAX_SEGS 64

struct sim_type {
	const char *id, *name;
	unsigned int fb_mb, max;
};

static const struct sim_type types[] = {
	{ "sim-16m", "vgpu-sim 16M", 16, 32 },
	{ "sim-64m", "vgpu-sim 64M", 64, 16 },
	{ "sim-256m", "vgpu-sim 256M", 256, 4 },
};

struct sim {
	unsigned int pool_mb, used_mb;
};

struct simdev {
	struct sim *sim;
	unsigned int fb_mb;
	uint32_t regs[1024];
	uint8_t *fb;
	uint64_t fb_size;
	bool busy; /* a blit by message is under way */
};

static const struct sim_type *find_type(const char *id)
{
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(types[i].id, id))
			return &types[i];
	return NULL;
}

static int sim_available(struct vgpu_provider *p, const char *type_id,
			 void *userdata)
{
	struct sim *s = userdata;
	const struct sim_type *t = find_type(type_id);

	return t ? (int)((s->pool_mb - s->used_mb) / t->fb_mb) : 0;
}

/* raise the completion interrupt on whatever the client enabled */
static void raise_irq(struct vgpu_device *dev)
{
	if (vgpu_device_irq_trigger(dev, VGPU_IRQ_MSIX, 0) == 0)
		return;
	if (vgpu_device_irq_trigger(dev, VGPU_IRQ_MSI, 0) == 0)
		return;
	vgpu_device_irq_trigger(dev, VGPU_IRQ_INTX, 0);
}

/* a blit is over: status, counter, completion interrupt */
static void blit_end(struct vgpu_device *dev, struct simdev *d, int r)
{
	if (r < 0) {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_ERROR;
		d->regs[VGPU_SIM_REG_ERROR / 4] = (uint32_t)-r;
	} else {
		d->regs[VGPU_SIM_REG_STATUS / 4] |= VGPU_SIM_STATUS_DONE;
		d->regs[VGPU_SIM_REG_BLITS / 4]++;
	}
	raise_irq(dev);
}

/* the end of a blit that went by DMA_READ messages */
static void blit_done(struct vgpu_device *dev, int status, void *userdata)
{
	struct simdev *d = userdata;

	d->busy = false;
	blit_end(dev, d, status);
}

/*
 * The DMA engine: guest [src, src + len) -> framebuffer [dst, dst + len).
 * Returns 0 when done, 1 when it goes on by message (blit_done() ends it),
 * or a negative errno.
 */
static int blit(struct vgpu_device *dev, struct simdev *d)
{
	uint64_t src = d->regs[VGPU_SIM_REG_SRC_LO / 4] |
		       (uint64_t)d->regs[VGPU_SIM_REG_SRC_HI / 4] << 32;
	uint32_t dst = d->regs[VGPU_SIM_REG_DST / 4];
	uint32_t len = d->regs[VGPU_SIM_REG_LEN / 4];
	struct iovec seg[MAX_SEGS];
	size_t off = dst;
	int n;

	if (d->busy)
		return -EBUSY;
	if (!len || len > d->fb_size || dst > d->fb_size - len)
		return -EINVAL;
	/* pinned: the client cannot unmap the pages while we copy */
	n = vgpu_device_dma_pin(dev, src, len, VGPU_DMA_READ, seg, MAX_SEGS);
	/*
	 * Guest memory the client shared no fd for (QEMU: ROM, or all of RAM
	 * without a shared memory backend) is read by message. We are inside
	 * the doorbell write, and the client waits for its answer before it
	 * serves our requests: so start the transfer, answer, and finish in
	 * blit_done().
	 */
	if (n == -EREMOTE) {
		d->busy = true;
		n = vgpu_device_dma_read_async(dev, src, d->fb + off, len,
					       blit_done, d);
		if (n < 0) {
			d->busy = false;
			return n;
		}
		return 1;
	}
	if (n < 0)
		return n;
	for (int i = 0; i < n; i++) {
		memcpy(d->fb + off, seg[i].iov_base, seg[i].iov_len);
		off += seg[i].iov_len;
	}
	return vgpu_device_dma_unpin(dev, src, len);
}

static int regs_access(struct vgpu_device *dev, unsigned int region,
		       uint64_t offset, void *buf, uint32_t count,
		       bool is_write, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	uint32_t v;

	if (!d)
		return -ENODEV;
	/* registers: aligned 32-bit accesses; the MSI-X table and PBA
	 * (0x800 up) take any size */
	if (offset < 0x800 && (count != 4 || offset % 4))
		return -EINVAL;
	if (offset >= 0x800) {
		if (is_write)
			memcpy((uint8_t *)d->regs + offset, buf, count);
		else
			memcpy(buf, (uint8_t *)d->regs + offset, count);
		return 0;
	}
	if (!is_write) {
		memcpy(buf, &d->regs[offset / 4], 4);
		return 0;
	}
	memcpy(&v, buf, 4);
	switch (offset) {
	case VGPU_SIM_REG_ID:
	case VGPU_SIM_REG_FB_MB:
	case VGPU_SIM_REG_ERROR:
	case VGPU_SIM_REG_BLITS:
		return 0; /* read-only */
	case VGPU_SIM_REG_STATUS:
		d->regs[offset / 4] &= ~v;
		return 0;
	case VGPU_SIM_REG_DOORBELL:
		if (v & 1) {
			int r = blit(dev, d);

			if (r <= 0)
				blit_end(dev, d, r);
		}
		return 0;
	default:
		d->regs[offset / 4] = v;
		return 0;
	}
}

/* region 9, libvgpu's display plane descriptor (read-only) */
static int plane_access(struct vgpu_device *dev, unsigned int region,
			uint64_t offset, void *buf, uint32_t count,
			bool is_write, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);
	uint32_t desc[VGPU_PLANE_DESC_SIZE / 4] = { 0 };
	uint32_t fmt, w, h, stride;

	if (!d)
		return -ENODEV;
	if (is_write)
		return -EPERM;
	fmt = d->regs[VGPU_SIM_REG_FORMAT / 4];
	w = d->regs[VGPU_SIM_REG_WIDTH / 4];
	h = d->regs[VGPU_SIM_REG_HEIGHT / 4];
	stride = d->regs[VGPU_SIM_REG_STRIDE / 4];
	desc[VGPU_PLANE_DESC_VERSION / 4] = 1;
	desc[VGPU_PLANE_DESC_REGION / 4] = VGPU_SIM_BAR_FB;
	/* only XR24, and only a mode that fits the framebuffer */
	if (fmt == VGPU_SIM_XR24 && w && h && (uint64_t)w * 4 <= stride &&
	    (uint64_t)stride * h <= d->fb_size) {
		desc[VGPU_PLANE_DESC_FORMAT / 4] = fmt;
		desc[VGPU_PLANE_DESC_WIDTH / 4] = w;
		desc[VGPU_PLANE_DESC_HEIGHT / 4] = h;
		desc[VGPU_PLANE_DESC_STRIDE / 4] = stride;
	}
	memset(buf, 0, count);
	if (offset < sizeof(desc))
		memcpy(buf, (uint8_t *)desc + offset,
		       count < sizeof(desc) - offset ? count
						     : sizeof(desc) - offset);
	return 0;
}

static int sim_create(struct vgpu_device *dev, const char *type_id,
		      void *userdata)
{
	struct sim *s = userdata;
	const struct sim_type *t = find_type(type_id);
	struct simdev *d;
	void *fb;
	int r;

	if (!t)
		return -ENOENT;
	if (s->pool_mb - s->used_mb < t->fb_mb)
		return -ENOSPC;
	r = vgpu_device_set_pci_ids(dev, VGPU_SIM_VENDOR, VGPU_SIM_DEVICE,
				    VGPU_SIM_VENDOR, VGPU_SIM_DEVICE,
				    VGPU_SIM_CLASS, 1);
	if (!r)
		r = vgpu_device_setup_region(dev, VGPU_SIM_BAR_REGS, 4096,
					     VGPU_REGION_F_READ |
						     VGPU_REGION_F_WRITE,
					     regs_access, NULL);
	if (!r)
		r = vgpu_device_setup_region(
			dev, VGPU_SIM_BAR_FB, (uint64_t)t->fb_mb << 20,
			VGPU_REGION_F_READ | VGPU_REGION_F_WRITE |
				VGPU_REGION_F_MEM | VGPU_REGION_F_64BIT |
				VGPU_REGION_F_PREFETCH,
			NULL, NULL);
	if (!r)
		r = vgpu_device_region_get_mem(dev, VGPU_SIM_BAR_FB, &fb);
	if (!r)
		r = vgpu_device_setup_region(dev, VGPU_SIM_REGION_PLANE, 4096,
					     VGPU_REGION_F_READ, plane_access,
					     NULL);
	if (!r)
		r = vgpu_device_region_set_type(dev, VGPU_SIM_REGION_PLANE,
						VGPU_REGION_TYPE_GFX,
						VGPU_REGION_SUBTYPE_GFX_PLANE);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_INTX, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSI, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSIX, 4);
	/* error and request interrupts: QEMU wires both up (without ERR it
	 * warns that it cannot enable error recovery) */
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_ERR, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_REQ, 1);
	if (!r)
		r = vgpu_device_add_cap_msi(dev, 1, NULL);
	if (!r)
		r = vgpu_device_add_cap_msix(dev, 4, VGPU_SIM_BAR_REGS, 0x800,
					     VGPU_SIM_BAR_REGS, 0xc00, NULL);
	if (!r)
		r = vgpu_device_add_cap_pcie(dev, NULL);
	if (r < 0)
		return r;
	d = calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->sim = s;
	d->fb_mb = t->fb_mb;
	d->fb = fb;
	d->fb_size = (uint64_t)t->fb_mb << 20;
	d->regs[VGPU_SIM_REG_ID / 4] = VGPU_SIM_ID;
	d->regs[VGPU_SIM_REG_FB_MB / 4] = t->fb_mb;
	vgpu_device_set_userdata(dev, d);
	s->used_mb += t->fb_mb;
	return 0;
}

static void sim_destroy(struct vgpu_device *dev, void *userdata)
{
	struct sim *s = userdata;
	struct simdev *d = vgpu_device_get_userdata(dev);

	if (!d)
		return;
	s->used_mb -= d->fb_mb;
	vgpu_device_set_userdata(dev, NULL);
	free(d);
}

static int sim_reset(struct vgpu_device *dev, void *userdata)
{
	struct simdev *d = vgpu_device_get_userdata(dev);

	if (d) {
		/* a blit under way ends on its own (blit_done) */
		d->regs[VGPU_SIM_REG_STATUS / 4] = 0;
		d->regs[VGPU_SIM_REG_ERROR / 4] = 0;
	}
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vgpu-sim [OPTIONS]\n"
		"A sample display vGPU served over vfio-user.\n\n"
		"  --parent ID        the parent id (default vgpu-sim0)\n"
		"  --pool MIB         framebuffer memory shared by all devices "
		"(default 512)\n"
		"  --runtime-dir DIR  where the sockets go (default /run/vgpu, "
		"or $VGPU_RUNTIME_DIR)\n"
		"  -h, --help         this text\n\n"
		"Runs until SIGTERM or SIGINT. Prints \"ready\" once management "
		"can reach it.\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "parent", required_argument, NULL, 'p' },
		{ "pool", required_argument, NULL, 'm' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct vgpu_provider_ops ops = {
		.size = sizeof(ops),
		.create = sim_create,
		.destroy = sim_destroy,
		.reset = sim_reset,
		.available = sim_available,
	};
	const char *parent = "vgpu-sim0", *runtime = NULL;
	struct sim s = { .pool_mb = 512 };
	struct vgpu_provider *p = NULL;
	struct vgpu_ctx *ctx = NULL;
	sigset_t stop;
	char *end;
	int c, sig, r;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'p':
			parent = optarg;
			break;
		case 'm':
			errno = 0;
			s.pool_mb = (unsigned int)strtoul(optarg, &end, 10);
			if (errno || *end || !s.pool_mb || s.pool_mb > 1u << 20) {
				fprintf(stderr, "vgpu-sim: bad --pool %s\n", optarg);
				return 2;
			}
			break;
		case 'R':
			runtime = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc) {
		usage(stderr);
		return 2;
	}
	/* the runner's threads inherit the mask: signals come to sigwait() */
	sigemptyset(&stop);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGINT);
	pthread_sigmask(SIG_BLOCK, &stop, NULL);
	r = vgpu_ctx_new(&ctx);
	if (!r && runtime)
		r = vgpu_ctx_set_runtime_dir(ctx, runtime);
	if (!r)
		r = vgpu_provider_new(ctx, parent, &ops, &s, &p);
	for (size_t i = 0; !r && i < sizeof(types) / sizeof(types[0]); i++) {
		char desc[64];

		snprintf(desc, sizeof(desc), "framebuffer=%uM, max_instance=%u",
			 types[i].fb_mb, types[i].max);
		r = vgpu_provider_add_type(p, types[i].id, types[i].name, desc,
					   types[i].max);
	}
	if (!r)
		r = vgpu_provider_listen_control(p, NULL);
	if (!r)
		r = vgpu_provider_start_thread(p);
	if (r < 0) {
		fprintf(stderr, "vgpu-sim: %s\n", strerror(-r));
		vgpu_provider_unref(p);
		vgpu_ctx_unref(ctx);
		return 1;
	}
	printf("ready\n");
	fflush(stdout);
	sigwait(&stop, &sig);
	vgpu_provider_unref(p);
	vgpu_ctx_unref(ctx);
	return 0;
}
