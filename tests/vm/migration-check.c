/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * migration-check: migration, dirty tracking and VF tokens through the
 * device handle against the real kernel, run inside the VM by
 * tests/vm/guest.d/50-migration.sh. Links only the public library.
 *
 *   migration-check mtty SRC DST   move an mtty instance's UART (registers,
 *                                  characters waiting in its FIFO) to another
 *                                  instance: PRE_COPY, STOP_COPY, RESUMING
 *   migration-check dirty UUID     dirty page tracking of a DMA window of
 *                                  an mdev (the type1 IOMMU's: what the
 *                                  driver pinned, nothing for mtty)
 *   migration-check vf-token PF    the PF on vfio-pci sets a VF token; its
 *                                  first VF opens only with that token
 *   migration-check iommufd ID     open through /dev/iommu and
 *                                  /dev/vfio/devices/vfioN, DMA map, IOMMU
 *                                  dirty tracking (an mdev UUID: refused;
 *                                  a PCI address: a dirty-tracking HWPT
 *                                  where the IOMMU has dirty bits)
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <libvgpu.h>

static int failures;

#define CHECK(cond, ...)                                                \
	do {                                                            \
		if (cond) {                                             \
			printf("  ok: " __VA_ARGS__);                   \
		} else {                                                \
			printf("  FAIL (%s:%d): ", __FILE__, __LINE__); \
			printf(__VA_ARGS__);                            \
			failures++;                                     \
		}                                                       \
		putchar('\n');                                          \
	} while (0)

static struct vgpu_handle *open_or_die(struct vgpu_ctx *ctx, const char *id,
				       const struct vgpu_open_opts *o)
{
	struct vgpu_handle *h;
	int r = vgpu_handle_open_opts(ctx, id, o, &h);

	if (r < 0) {
		printf("FAIL: open %s: %s\n", id, strerror(-r));
		exit(1);
	}
	printf("opened %s through %s\n", id, vgpu_handle_get_access(h));
	return h;
}

static const char *st(int s)
{
	return s >= 0 ? vgpu_migration_state_name((unsigned int)s)
		      : strerror(-s);
}

/* 16550 registers of mtty's port 0 (BAR0) */
enum {
	RBR = 0,
	IER = 1,
	LCR = 3,
	MCR = 4,
	LSR = 5,
	SCR = 7
};

static uint8_t rd(struct vgpu_handle *h, unsigned int reg)
{
	uint8_t b = 0xee;

	if (vgpu_handle_region_read(h, VGPU_REGION_BAR0, reg, &b, 1) < 0)
		printf("  (read of register %u failed)\n", reg);
	return b;
}

static int wr(struct vgpu_handle *h, unsigned int reg, uint8_t b)
{
	return vgpu_handle_region_write(h, VGPU_REGION_BAR0, reg, &b, 1);
}

static int mtty(struct vgpu_ctx *ctx, const char *a, const char *b)
{
	struct vgpu_handle *src = open_or_die(ctx, a, NULL);
	struct vgpu_handle *dst = open_or_die(ctx, b, NULL);
	const char text[] = "vGPU";
	uint64_t flags = 0, initial = 0, dirty = 0, pre = 0, rest = 0;
	int r;

	r = vgpu_handle_probe_feature(src, VGPU_FEATURE_MIGRATION, &flags);
	CHECK(r == 1, "mtty offers migration, flags 0x%" PRIx64, flags);
	if (r != 1) {
		printf("  (this kernel's mtty has no migration)\n");
		return 77;
	}
	/* a UART with settings and three characters waiting in its FIFO */
	CHECK(wr(src, LCR, 0x1b) == 0 && wr(src, MCR, 0x0b) == 0 &&
		      wr(src, SCR, 0x5a) == 0 && wr(src, IER, 0x01) == 0,
	      "source: LCR 0x1b, MCR 0x0b, SCR 0x5a, IER 0x01");
	for (size_t i = 0; i + 1 < sizeof(text); i++)
		r = wr(src, RBR, (uint8_t)text[i]);
	CHECK(r == 0 && (rd(src, LSR) & 1),
	      "source: \"%s\" written, data ready", text);
	/* the destination differs before */
	CHECK(wr(dst, SCR, 0x11) == 0 && rd(dst, SCR) == 0x11 &&
		      !(rd(dst, LSR) & 1),
	      "destination: SCR 0x11, no data");

	CHECK(vgpu_handle_migration_get_state(src) == VGPU_MIG_RUNNING,
	      "source RUNNING");
	if (flags & VGPU_MIGRATION_PRE_COPY) {
		r = vgpu_handle_migration_set_state(src, VGPU_MIG_PRE_COPY);
		CHECK(r == 0, "source -> PRE_COPY: %s", strerror(-r));
		r = vgpu_handle_migration_precopy_info(src, &initial, &dirty);
		CHECK(r == 0 && initial > 0,
		      "pre-copy estimate: %" PRIu64 " initial, %" PRIu64
		      " dirty bytes (%s)",
		      initial, dirty, strerror(-r));
	}
	r = vgpu_handle_migration_set_state(dst, VGPU_MIG_RESUMING);
	CHECK(r == 0, "destination RUNNING -> RESUMING: %s", strerror(-r));
	if (flags & VGPU_MIGRATION_PRE_COPY) {
		r = vgpu_handle_migration_copy(src, dst, &pre);
		CHECK(r == 0 && pre == initial,
		      "pre-copy: %" PRIu64 " bytes moved while running (%s)",
		      pre, strerror(-r));
	}
	r = vgpu_handle_migration_set_state(src, VGPU_MIG_STOP_COPY);
	CHECK(r == 0, "source -> STOP_COPY: %s (now %s)", strerror(-r),
	      st(vgpu_handle_migration_get_state(src)));
	r = vgpu_handle_migration_copy(src, dst, &rest);
	CHECK(r == 0 && rest > 0, "stop-and-copy: %" PRIu64 " bytes moved (%s)",
	      rest, strerror(-r));
	r = vgpu_handle_migration_set_state(dst, VGPU_MIG_RUNNING);
	CHECK(r == 0, "destination RESUMING -> RUNNING: %s (now %s)",
	      strerror(-r), st(vgpu_handle_migration_get_state(dst)));

	/* the destination is the source's UART now */
	CHECK(rd(dst, LCR) == 0x1b, "destination LCR 0x%02x", rd(dst, LCR));
	CHECK(rd(dst, MCR) == 0x0b, "destination MCR 0x%02x", rd(dst, MCR));
	CHECK(rd(dst, SCR) == 0x5a, "destination SCR 0x%02x", rd(dst, SCR));
	CHECK(rd(dst, IER) == 0x01, "destination IER 0x%02x", rd(dst, IER));
	CHECK(rd(dst, LSR) & 1, "destination: data ready");
	for (size_t i = 0; i + 1 < sizeof(text); i++) {
		uint8_t c = rd(dst, RBR);

		CHECK(c == (uint8_t)text[i], "pending character %zu: '%c'", i,
		      c >= 32 && c < 127 ? c : '?');
	}
	CHECK(!(rd(dst, LSR) & 1), "destination: FIFO drained");

	/* the source goes back to work; a second RESUMING with a stream that
	 * ends early is refused and the reset path recovers */
	r = vgpu_handle_migration_set_state(src, VGPU_MIG_RUNNING);
	CHECK(r == 0, "source STOP_COPY -> RUNNING: %s", strerror(-r));
	r = vgpu_handle_migration_set_state(dst, VGPU_MIG_RESUMING);
	CHECK(r == 0, "destination -> RESUMING again");
	{
		uint8_t junk[8] = { 0 };

		r = vgpu_handle_migration_write(dst, junk, sizeof(junk));
		printf("  8 bytes that are no mtty stream: %s\n",
		       r ? strerror(-r) : "taken");
	}
	r = vgpu_handle_migration_set_state(dst, VGPU_MIG_RUNNING);
	CHECK(r < 0, "a truncated stream is refused: %s, device %s",
	      strerror(-r), st(vgpu_handle_migration_get_state(dst)));
	r = vgpu_handle_migration_get_state(dst);
	if (r == VGPU_MIG_ERROR) {
		CHECK(vgpu_handle_migration_set_state(dst, VGPU_MIG_RUNNING) ==
			      -EIO,
		      "ERROR: only a reset leads out");
		r = vgpu_handle_reset(dst);
		CHECK(r == 0, "reset: %s", strerror(-r));
	}
	r = vgpu_handle_migration_get_state(dst);
	CHECK(r == VGPU_MIG_RUNNING || r == VGPU_MIG_RESUMING,
	      "destination afterwards: %s", st(r));
	if (r == VGPU_MIG_RESUMING)
		vgpu_handle_reset(dst);
	vgpu_handle_unref(src);
	vgpu_handle_unref(dst);
	return failures ? 1 : 0;
}

/* track a 16-page window of @h; the report must be @want */
static void track(struct vgpu_handle *h, uint64_t want)
{
	uint8_t *mem = mmap(NULL, 16 * 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t bm[1] = { 0 };
	int r;

	CHECK(vgpu_handle_dma_map(h, mem, 0x100000, 16 * 4096,
				  VGPU_DMA_READ | VGPU_DMA_WRITE) == 0,
	      "DMA map 64 KiB");
	r = vgpu_handle_dirty_start(h, 4096);
	CHECK(r == 0, "dirty tracking start: %s", strerror(-r));
	if (r == 0) {
		r = vgpu_handle_dirty_report(h, 0x100000, 16 * 4096, bm,
					     sizeof(bm));
		CHECK(r == 0 && bm[0] == want,
		      "report: %s, bitmap 0x%04" PRIx64 " (want 0x%04" PRIx64
		      ")",
		      strerror(-r), bm[0], want);
		CHECK(vgpu_handle_dma_unmap(h, 0x100000, 16 * 4096) == -EBUSY,
		      "no unmap while tracking");
		CHECK(vgpu_handle_dirty_stop(h) == 0, "dirty tracking stop");
	}
	CHECK(vgpu_handle_dma_unmap(h, 0x100000, 16 * 4096) == 0, "DMA unmap");
	munmap(mem, 16 * 4096);
}

static int dirty(struct vgpu_ctx *ctx, const char *id)
{
	/* the group path: type1's tracking (iommufd has none here) */
	struct vgpu_open_opts o = { .size = sizeof(o),
				    .flags = VGPU_OPEN_NO_IOMMUFD };
	struct vgpu_handle *h = open_or_die(ctx, id, &o);

	/* an mdev container tracks what the vendor driver pinned; mtty pins
	 * nothing */
	track(h, 0);
	vgpu_handle_unref(h);
	return failures ? 1 : 0;
}

static int write_file(const char *dir, const char *name, const char *val)
{
	char path[512];
	int fd, r = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0 || write(fd, val, strlen(val)) < 0)
		r = -errno;
	if (fd >= 0)
		close(fd);
	return r;
}

/* the PF is bound to vfio-pci (enable_sriov=Y) by the caller */
static int vf_token(struct vgpu_ctx *ctx, const char *pf)
{
	static const char tok[] = "2c7e6d9a-51b4-4d0e-8f31-6a5b4c3d2e1f";
	static const char other[] = "00000000-1111-2222-3333-444444444444";
	struct vgpu_open_opts o = { .size = sizeof(o) };
	struct vgpu_handle *p = open_or_die(ctx, pf, NULL), *v = NULL;
	char dir[256], link[300], vf[64];
	ssize_t n;
	uint32_t vendor = 0;
	int r;

	r = vgpu_handle_set_vf_token(p, tok);
	CHECK(r == 0, "the PF set a VF token: %s", strerror(-r));
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", pf);
	r = write_file(dir, "sriov_numvfs", "1");
	CHECK(r == 0, "one VF enabled while the PF is open: %s", strerror(-r));
	snprintf(link, sizeof(link), "%s/virtfn0", dir);
	n = readlink(link, vf, sizeof(vf) - 1);
	if (n <= 0) {
		printf("FAIL: no virtfn0\n");
		return 1;
	}
	vf[n] = '\0';
	memmove(vf, strrchr(vf, '/') + 1, strlen(strrchr(vf, '/')));
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", vf);
	write_file(dir, "driver_override", "vfio-pci");
	write_file("/sys/bus/pci", "drivers_probe", vf);
	o.flags = VGPU_OPEN_NO_IOMMUFD;
	r = vgpu_handle_open_opts(ctx, vf, &o, &v);
	CHECK(r == -EACCES, "VF %s without the token: %s", vf, strerror(-r));
	vgpu_handle_unref(v);
	v = NULL;
	/* Linux 6.12 checks the token in VFIO_GROUP_GET_DEVICE_FD only: a
	 * VF bound through its character device opens without one (the
	 * token came to VFIO_DEVICE_BIND_IOMMUFD later). Say what it does. */
	o.flags = VGPU_OPEN_IOMMUFD;
	r = vgpu_handle_open_opts(ctx, vf, &o, &v);
	printf("  through iommufd without a token: %s\n",
	       r == 0 ? "opens (this kernel does not check it there)"
		      : strerror(-r));
	vgpu_handle_unref(v);
	v = NULL;
	o.flags = 0;
	o.vf_token = other;
	r = vgpu_handle_open_opts(ctx, vf, &o, &v);
	CHECK(r == -EACCES, "with another token: %s", strerror(-r));
	vgpu_handle_unref(v);
	v = NULL;
	o.vf_token = tok;
	r = vgpu_handle_open_opts(ctx, vf, &o, &v);
	CHECK(r == 0, "with the PF's token: %s", strerror(-r));
	if (v) {
		CHECK(vgpu_handle_config_read(v, 0, 2, &vendor) == 0 &&
			      vendor == 0x1b36,
		      "the VF's config space: vendor 0x%04x", vendor);
		/* behind a real IOMMU domain type1 cannot see device writes:
		 * every mapped page is reported */
		track(v, 0xffff);
		vgpu_handle_unref(v);
	}
	write_file(dir, "driver_override", "\n");
	snprintf(dir, sizeof(dir), "/sys/bus/pci/devices/%s", pf);
	r = write_file(dir, "sriov_numvfs", "0");
	CHECK(r == 0, "VFs disabled: %s", strerror(-r));
	vgpu_handle_unref(p);
	return failures ? 1 : 0;
}

static int iommufd(struct vgpu_ctx *ctx, const char *id, bool emulated)
{
	struct vgpu_open_opts o = { .size = sizeof(o),
				    .flags = VGPU_OPEN_IOMMUFD };
	struct vgpu_handle *h = open_or_die(ctx, id, &o);
	uint8_t *mem = mmap(NULL, 4 * 4096, PROT_READ | PROT_WRITE,
			    MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t start = 0, last = 0;
	uint32_t v = 0;
	int r;

	CHECK(!strcmp(vgpu_handle_get_access(h), "iommufd"), "access: %s",
	      vgpu_handle_get_access(h));
	CHECK(vgpu_handle_get_iova_range(h, 0, &start, &last) == 0,
	      "IOVA range 0x%" PRIx64 "-0x%" PRIx64, start, last);
	CHECK(vgpu_handle_config_read(h, 0, 2, &v) == 0, "config vendor 0x%04x",
	      v);
	CHECK(vgpu_handle_dma_map(h, mem, 0x100000, 4 * 4096, VGPU_DMA_READ) ==
		      0,
	      "IOAS map");
	r = vgpu_handle_dirty_start(h, 4096);
	if (emulated) {
		CHECK(r == -EOPNOTSUPP,
		      "no IOMMU dirty tracking for an emulated device through iommufd: %s",
		      strerror(-r));
	} else {
		/* a physical device: a dirty-tracking page table, where the
		 * (here: emulated intel-iommu) IOMMU has dirty bits */
		printf("  dirty-tracking page table: %s\n",
		       r == 0 ? "allocated and attached" : strerror(-r));
		CHECK(r == 0 || r == -EOPNOTSUPP,
		      "dirty tracking through iommufd: %s",
		      r ? strerror(-r) : "tracking");
		if (r == 0) {
			uint64_t bm[1] = { 0 };

			CHECK(vgpu_handle_dirty_report(h, 0x100000, 4 * 4096,
						       bm, sizeof(bm)) == 0,
			      "report 0x%" PRIx64, bm[0]);
			CHECK(vgpu_handle_dirty_stop(h) == 0, "stop");
		}
	}
	CHECK(vgpu_handle_dma_unmap(h, 0x100000, 4 * 4096) == 0, "IOAS unmap");
	CHECK(vgpu_handle_probe_in_use(ctx, id, NULL) == 1,
	      "in use while open through iommufd");
	vgpu_handle_unref(h);
	munmap(mem, 4 * 4096);
	return failures ? 1 : 0;
}

int main(int argc, char **argv)
{
	struct vgpu_ctx *ctx;
	int r = 2;

	if (argc < 3 || vgpu_ctx_new(&ctx) < 0) {
		fprintf(stderr,
			"usage: migration-check mtty SRC DST | dirty ID | vf-token PF | iommufd ID\n");
		return 2;
	}
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (!strcmp(argv[1], "mtty") && argc == 4)
		r = mtty(ctx, argv[2], argv[3]);
	else if (!strcmp(argv[1], "dirty"))
		r = dirty(ctx, argv[2]);
	else if (!strcmp(argv[1], "vf-token"))
		r = vf_token(ctx, argv[2]);
	else if (!strcmp(argv[1], "iommufd"))
		r = iommufd(ctx, argv[2], !strchr(argv[2], ':'));
	vgpu_ctx_unref(ctx);
	return r;
}
