/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim-migrate SRC-PARENT DST-PARENT — move a running vgpu-sim device
 * from one provider process to another through the public device handle's
 * migration API (libvgpu.h) alone, as a VMM would, in the middle of a
 * workload:
 *
 *  - on the source: a display mode, guest memory mapped for DMA, an eventfd
 *    on MSI-X vector 0, one blit done while the vector was masked (its
 *    interrupt pending), a QoS frame-rate limit of 2 set through
 *    management, four more blits rung (held back by it, so still queued
 *    when the source stops);
 *  - the move: the destination in RESUMING, the source in PRE_COPY for a
 *    few passes (the CPU writes into the framebuffer through the BAR after
 *    the first one, so a later pass must resend that), then STOP_COPY, the
 *    rest of the stream, the destination to STOP and RUNNING;
 *  - the checks: the destination's registers and whole framebuffer equal
 *    the source's as it stopped, byte for byte; then, unmasked, the
 *    pending interrupt arrives, the queued blits finish there and the
 *    display shows the whole test picture, pixel by pixel; the QoS limit
 *    came along.
 *
 * See vgpu-sim-migrate(1).
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include <libvgpu.h>

#include "vgpu-sim.h"

#define GUEST_IOVA 0x10000000ull
#define W	   VGPU_SIM_DEMO_WIDTH
#define H	   VGPU_SIM_DEMO_HEIGHT
#define BANDS	   6 /* band 0 before, 1..4 queued, 5 drawn by the CPU */
#define BAND_BYTES ((uint32_t)(W * 4 * (H / BANDS)))
#define PIC_BYTES  ((size_t)W * 4 * H)
#define N_REGS	   16 /* 0x00..0x3c */

static bool quiet;

static void say(const char *what, int r)
{
	if (r < 0)
		fprintf(stderr, "vgpu-sim-migrate: %s: %s\n",
			what ? what : "register access", strerror(-r));
	else if (!quiet && what)
		printf("  ok  %s\n", what);
}

#define STEP(what, expr)           \
	do {                       \
		int r_ = (expr);   \
		say(what, r_);     \
		if (r_ < 0)        \
			return r_; \
	} while (0)

static uint64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

struct side {
	const char *parent;
	char uuid[37];
	struct vgpu_handle *h;
	int efd;
	uint8_t *fb;
	size_t fb_len;
	bool mapped;
	size_t guest_len;
};

static int reg_write(struct vgpu_handle *h, uint32_t off, uint32_t v)
{
	return vgpu_handle_region_write(h, VGPU_SIM_BAR_REGS, off, &v, 4);
}

static int reg_read(struct vgpu_handle *h, uint32_t off, uint32_t *v)
{
	return vgpu_handle_region_read(h, VGPU_SIM_BAR_REGS, off, v, 4);
}

static int new_uuid(char *out)
{
	FILE *f = fopen("/proc/sys/kernel/random/uuid", "re");
	int r = f && fgets(out, 37, f) && strlen(out) == 36 ? 0 : -EIO;

	if (f)
		fclose(f);
	return r;
}

/* an instance of @type on the side's parent, opened, guest memory mapped,
 * the interrupt attached, the framebuffer mapped */
static int side_open(struct vgpu_ctx *ctx, struct side *s, const char *type,
		     int mfd, void *guest, size_t guest_len)
{
	struct vgpu_config *cfg = NULL;
	uint64_t fb_size = 0;
	void *fb;
	int r;

	r = new_uuid(s->uuid);
	if (!r)
		r = vgpu_config_new(&cfg);
	if (!r)
		r = vgpu_config_set_type(cfg, type);
	if (!r)
		r = vgpu_instance_create(ctx, s->parent, s->uuid, cfg, NULL);
	vgpu_config_unref(cfg);
	if (r < 0) {
		s->uuid[0] = 0;
		return r;
	}
	r = vgpu_handle_open(ctx, s->uuid, 0, &s->h);
	if (r < 0)
		return r;
	r = vgpu_handle_dma_map_fd(s->h, guest, mfd, 0, GUEST_IOVA, guest_len,
				   VGPU_DMA_READ | VGPU_DMA_WRITE);
	if (r < 0)
		return r;
	s->mapped = true;
	s->guest_len = guest_len;
	s->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (s->efd < 0)
		return -errno;
	r = vgpu_handle_irq_attach(s->h, VGPU_IRQ_MSIX, 0, 1, &s->efd);
	if (r < 0)
		return r;
	for (int n = vgpu_handle_get_region_count(s->h), i = 0; i < n; i++) {
		unsigned int index;
		uint64_t size;

		if (vgpu_handle_get_region(s->h, (unsigned int)i, &index, &size,
					   NULL) == 0 &&
		    index == VGPU_SIM_BAR_FB)
			fb_size = size;
	}
	if (!fb_size)
		return -ENODEV;
	r = vgpu_handle_region_mmap(s->h, VGPU_SIM_BAR_FB, 0, (size_t)fb_size,
				    PROT_READ | PROT_WRITE, &fb);
	if (r < 0)
		return r;
	s->fb = fb;
	s->fb_len = (size_t)fb_size;
	return 0;
}

static void side_close(struct vgpu_ctx *ctx, struct side *s, bool remove)
{
	if (s->fb)
		munmap(s->fb, s->fb_len);
	if (s->h && s->efd >= 0)
		vgpu_handle_irq_detach(s->h, VGPU_IRQ_MSIX, 0, 0);
	if (s->efd >= 0)
		close(s->efd);
	if (s->mapped)
		vgpu_handle_dma_unmap(s->h, GUEST_IOVA, s->guest_len);
	vgpu_handle_unref(s->h);
	if (remove && s->uuid[0])
		vgpu_instance_remove(ctx, s->uuid);
}

static int ring(struct vgpu_handle *h, unsigned int band)
{
	uint32_t off = band * BAND_BYTES;
	int r = reg_write(h, VGPU_SIM_REG_SRC_LO, (uint32_t)(GUEST_IOVA + off));

	if (!r)
		r = reg_write(h, VGPU_SIM_REG_SRC_HI,
			      (uint32_t)((GUEST_IOVA + off) >> 32));
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_DST, off);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_LEN, BAND_BYTES);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_DOORBELL, 1);
	return r;
}

/* wait until BLITS reaches @want (the interrupt, or a poll every 10 ms
 * while the vector is masked); counts the interrupts seen */
static int wait_blits(struct side *s, uint32_t want, unsigned int *irqs)
{
	for (int waited = 0; waited < 60000; waited += 10) {
		struct pollfd p = { .fd = s->efd, .events = POLLIN };
		uint32_t blits = 0, status = 0;
		uint64_t n;
		int r = reg_read(s->h, VGPU_SIM_REG_BLITS, &blits);

		if (!r)
			r = reg_read(s->h, VGPU_SIM_REG_STATUS, &status);
		if (r < 0)
			return r;
		if (status & VGPU_SIM_STATUS_ERROR) {
			uint32_t e = EIO;

			reg_read(s->h, VGPU_SIM_REG_ERROR, &e);
			return -(int)e;
		}
		if (blits >= want)
			return 0;
		if (poll(&p, 1, 10) == 1 &&
		    read(s->efd, &n, sizeof(n)) == sizeof(n))
			*irqs += (unsigned int)n;
	}
	return -ETIMEDOUT;
}

struct opts {
	const char *type;
	unsigned int precopy;
	bool fill, keep, bench;
};

/* QoS through management: the instance's frame-rate limit */
static int fps_set(struct vgpu_ctx *ctx, const char *uuid, uint64_t fps)
{
	struct vgpu_instance *in;
	int r = vgpu_instance_get(ctx, uuid, NULL, &in);

	if (r < 0)
		return r;
	r = vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, fps,
				  VGPU_QOS_LIVE);
	vgpu_instance_unref(in);
	return r < 0 ? r : 0;
}

static int fps_get(struct vgpu_ctx *ctx, const char *uuid, uint64_t *fps)
{
	struct vgpu_instance *in;
	int r = vgpu_instance_get(ctx, uuid, NULL, &in);

	if (r < 0)
		return r;
	r = vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, VGPU_QOS_LIVE,
				  fps, NULL);
	vgpu_instance_unref(in);
	return r;
}

static int mode_set(struct vgpu_handle *h)
{
	int r = reg_write(h, VGPU_SIM_REG_FORMAT, VGPU_SIM_XR24);

	if (!r)
		r = reg_write(h, VGPU_SIM_REG_WIDTH, W);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_HEIGHT, H);
	if (!r)
		r = reg_write(h, VGPU_SIM_REG_STRIDE, W * 4);
	return r;
}

static int copy(struct side *src, struct side *dst, uint64_t *total)
{
	uint64_t n = 0;
	int r = vgpu_handle_migration_copy(src->h, dst->h, &n);

	*total += n;
	return r;
}

static int move(struct vgpu_ctx *ctx, struct side *src, struct side *dst,
		const struct opts *o, const uint32_t *pic, int mfd,
		size_t guest_len)
{
	uint32_t regs_src[N_REGS], regs_dst[N_REGS], blits_at_stop;
	uint64_t t0, t_stop, t_loaded, t_run0, t_run, bytes = 0, n;
	unsigned int irqs = 0, bad = 0;
	uint8_t *snap;

	STEP("source: instance created, opened, guest memory and MSI-X 0 attached",
	     side_open(ctx, src, o->type, mfd, (void *)pic, guest_len));
	STEP("source: display mode 640x480 XR24", mode_set(src->h));
	if (o->fill) {
		/* the whole framebuffer through the BAR: every byte moves */
		for (size_t i = 0; i < src->fb_len; i += 4)
			*(uint32_t *)(void *)(src->fb + i) =
				(uint32_t)(i * 2654435761u);
		say("source: whole framebuffer written through the BAR", 0);
	}
	STEP("source: MSI-X vector 0 masked",
	     vgpu_handle_irq_mask(src->h, VGPU_IRQ_MSIX, 0, 1));
	STEP("source: blit 1 of 5 rung", ring(src->h, 0));
	STEP("source: blit 1 done (its interrupt pending, masked)",
	     wait_blits(src, 1, &irqs));
	if (!o->bench)
		STEP("source: QoS frame-rate limit 2 (vgpu_instance_set_qos)",
		     fps_set(ctx, src->uuid, 2));
	for (unsigned int b = 1; b <= 4; b++)
		STEP(b == 4 ? "source: blits 2..5 rung" : NULL,
		     ring(src->h, b));

	t0 = now_ns();
	STEP("destination: instance created, opened, guest memory and MSI-X 0 attached",
	     side_open(ctx, dst, o->type, mfd, (void *)pic, guest_len));
	if (dst->fb_len != src->fb_len)
		return -EINVAL;
	STEP("destination: RESUMING",
	     vgpu_handle_migration_set_state(dst->h, VGPU_MIG_RESUMING));
	for (unsigned int i = 0; i < o->precopy; i++) {
		if (i == 0)
			STEP("source: PRE_COPY",
			     vgpu_handle_migration_set_state(
				     src->h, VGPU_MIG_PRE_COPY));
		STEP(i ? "pre-copy pass (what changed)"
		       : "pre-copy pass (everything)",
		     copy(src, dst, &bytes));
		if (i == 0) {
			/* band 5 drawn by the CPU, straight into the BAR */
			memcpy(src->fb + 5 * BAND_BYTES,
			       (const uint8_t *)pic + 5 * BAND_BYTES,
			       BAND_BYTES);
			say("CPU: last band drawn through the BAR mapping", 0);
		}
	}
	if (!o->precopy) {
		memcpy(src->fb + 5 * BAND_BYTES,
		       (const uint8_t *)pic + 5 * BAND_BYTES, BAND_BYTES);
		say("CPU: last band drawn through the BAR mapping", 0);
	}
	t_stop = now_ns();
	STEP("source: STOP_COPY",
	     vgpu_handle_migration_set_state(src->h, VGPU_MIG_STOP_COPY));
	STEP("stop-and-copy", copy(src, dst, &bytes));
	STEP("destination: STOP (stream checked and loaded)",
	     vgpu_handle_migration_set_state(dst->h, VGPU_MIG_STOP));
	t_loaded = now_ns();
	/* before and after, both stopped: registers and the whole
	 * framebuffer, byte for byte */
	for (unsigned int i = 0; i < N_REGS; i++) {
		STEP(NULL, reg_read(src->h, i * 4, &regs_src[i]));
		STEP(NULL, reg_read(dst->h, i * 4, &regs_dst[i]));
	}
	if (memcmp(regs_src, regs_dst, sizeof(regs_src))) {
		for (unsigned int i = 0; i < N_REGS; i++)
			if (regs_src[i] != regs_dst[i])
				fprintf(stderr,
					"vgpu-sim-migrate: register 0x%02x: "
					"source 0x%08x, destination 0x%08x\n",
					i * 4, regs_src[i], regs_dst[i]);
		return -EIO;
	}
	say("registers equal on both sides", 0);
	blits_at_stop = regs_src[VGPU_SIM_REG_BLITS / 4];
	snap = src->fb;
	for (size_t i = 0; i < src->fb_len; i += 4) {
		uint32_t a, b;

		memcpy(&a, snap + i, 4);
		memcpy(&b, dst->fb + i, 4);
		if (a != b && !bad++)
			fprintf(stderr,
				"vgpu-sim-migrate: framebuffer offset 0x%zx "
				"(pixel %zu,%zu): source 0x%08x, destination 0x%08x\n",
				i, (i / 4) % W, (i / 4) / W, a, b);
	}
	if (bad) {
		fprintf(stderr, "vgpu-sim-migrate: %u pixels differ\n", bad);
		return -EIO;
	}
	say("framebuffer equal on both sides, pixel by pixel", 0);
	t_run0 = now_ns();
	STEP("destination: RUNNING",
	     vgpu_handle_migration_set_state(dst->h, VGPU_MIG_RUNNING));
	t_run = now_ns();
	STEP("source: STOP (stream over)",
	     vgpu_handle_migration_set_state(src->h, VGPU_MIG_STOP));
	if (!quiet)
		printf("      %u of 5 blits done at the switch, %u moved queued\n",
		       blits_at_stop, 5 - blits_at_stop);

	/* the destination carries on: the pending interrupt, then the rest */
	STEP("destination: MSI-X vector 0 unmasked",
	     vgpu_handle_irq_unmask(dst->h, VGPU_IRQ_MSIX, 0, 1));
	irqs = 0;
	STEP("destination: all 5 blits done", wait_blits(dst, 5, &irqs));
	if (!irqs) {
		struct pollfd p = { .fd = dst->efd, .events = POLLIN };

		if (poll(&p, 1, 10000) == 1 &&
		    read(dst->efd, &n, sizeof(n)) == sizeof(n))
			irqs += (unsigned int)n;
	}
	STEP("destination: interrupt delivered", irqs ? 0 : -ETIMEDOUT);
	if (!o->bench) {
		uint64_t fps = 0;

		STEP("destination: QoS read back",
		     fps_get(ctx, dst->uuid, &fps));
		STEP("destination: frame-rate limit 2 came along",
		     fps == 2 ? 0 : -EPROTO);
	}
	if (read(src->efd, &n, sizeof(n)) == sizeof(n))
		STEP("source: no interrupt while masked", -EPROTO);
	bad = 0;
	for (unsigned int y = 0; y < H; y++)
		for (unsigned int x = 0; x < W; x++) {
			uint32_t v, want = vgpu_sim_test_pixel(x, y, W, H);

			memcpy(&v, dst->fb + ((size_t)y * W + x) * 4, 4);
			if (v != want && !bad++)
				fprintf(stderr,
					"vgpu-sim-migrate: pixel %u,%u is 0x%08x, "
					"not 0x%08x\n",
					x, y, v, want);
		}
	if (bad) {
		fprintf(stderr, "vgpu-sim-migrate: %u pixels wrong\n", bad);
		return -EIO;
	}
	say("destination shows the whole test picture, pixel by pixel", 0);
	if (o->bench)
		printf("bytes=%llu downtime_ns=%llu total_ns=%llu\n",
		       (unsigned long long)bytes,
		       (unsigned long long)((t_loaded - t_stop) +
					    (t_run - t_run0)),
		       (unsigned long long)((t_loaded - t0) +
					    (t_run - t_run0)));
	else
		printf("moved %s (%s) to %s (%s): %llu bytes, downtime %.1f ms, "
		       "total %.1f ms\n",
		       src->uuid, src->parent, dst->uuid, dst->parent,
		       (unsigned long long)bytes,
		       (double)((t_loaded - t_stop) + (t_run - t_run0)) / 1e6,
		       (double)((t_loaded - t0) + (t_run - t_run0)) / 1e6);
	return 0;
}

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: vgpu-sim-migrate [OPTIONS] SRC-PARENT DST-PARENT\n"
		"Move a running vgpu-sim device from one provider to another, mid-workload,\n"
		"through the device handle's migration API, and check it there.\n\n"
		"  --type TYPE        instance type (default sim-16m)\n"
		"  --precopy N        pre-copy passes before stop-and-copy (default 2)\n"
		"  --fill             write the whole framebuffer first (every byte moves)\n"
		"  --keep             keep the destination instance\n"
		"  --bench            print bytes=, downtime_ns=, total_ns= only\n"
		"  --runtime-dir DIR  the providers' runtime directory\n"
		"  --sysfs-root DIR   where sysfs is (tests)\n"
		"  -h, --help         this text\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "precopy", required_argument, NULL, 'p' },
		{ "fill", no_argument, NULL, 'f' },
		{ "keep", no_argument, NULL, 'k' },
		{ "bench", no_argument, NULL, 'b' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "sysfs-root", required_argument, NULL, 'S' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	struct opts o = { .type = "sim-16m", .precopy = 2 };
	const char *runtime = NULL, *sysfs = NULL;
	struct side src = { .efd = -1 }, dst = { .efd = -1 };
	struct vgpu_ctx *ctx = NULL;
	size_t guest_len = (PIC_BYTES + 0xfffff) & ~(size_t)0xfffff;
	uint32_t *pic = MAP_FAILED;
	unsigned long v;
	char *end;
	int c, r, mfd = -1;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 't':
			o.type = optarg;
			break;
		case 'p':
			errno = 0;
			v = strtoul(optarg, &end, 10);
			if (errno || *end || !*optarg || v > 100) {
				fprintf(stderr,
					"vgpu-sim-migrate: bad --precopy %s (0..100)\n",
					optarg);
				return 2;
			}
			o.precopy = (unsigned int)v;
			break;
		case 'f':
			o.fill = true;
			break;
		case 'k':
			o.keep = true;
			break;
		case 'b':
			o.bench = quiet = true;
			break;
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
	if (argc - optind != 2) {
		usage(stderr);
		return 2;
	}
	src.parent = argv[optind];
	dst.parent = argv[optind + 1];
	r = vgpu_ctx_new(&ctx);
	if (!r && runtime)
		r = vgpu_ctx_set_runtime_dir(ctx, runtime);
	if (!r && sysfs)
		r = vgpu_ctx_set_sysfs_root(ctx, sysfs);
	if (r < 0) {
		fprintf(stderr, "vgpu-sim-migrate: %s\n", strerror(-r));
		vgpu_ctx_unref(ctx);
		return 1;
	}
	/* the guest's memory: the test picture */
	mfd = memfd_create("vgpu-sim-migrate-guest", MFD_CLOEXEC);
	if (mfd >= 0 && ftruncate(mfd, (off_t)guest_len) == 0)
		pic = mmap(NULL, guest_len, PROT_READ | PROT_WRITE, MAP_SHARED,
			   mfd, 0);
	if (pic == MAP_FAILED) {
		r = -errno;
		fprintf(stderr, "vgpu-sim-migrate: guest memory: %s\n",
			strerror(errno));
	} else {
		for (unsigned int y = 0; y < H; y++)
			for (unsigned int x = 0; x < W; x++)
				pic[y * W + x] =
					vgpu_sim_test_pixel(x, y, W, H);
		r = move(ctx, &src, &dst, &o, pic, mfd, guest_len);
	}
	side_close(ctx, &src, true);
	side_close(ctx, &dst, !o.keep || r < 0);
	if (o.keep && r == 0)
		printf("%s\n", dst.uuid);
	if (pic != MAP_FAILED)
		munmap(pic, guest_len);
	if (mfd >= 0)
		close(mfd);
	vgpu_ctx_unref(ctx);
	return r < 0 ? 1 : 0;
}
