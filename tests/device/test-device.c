/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The device API (struct vgpu_handle) over a fake kernel VFIO: the happy
 * path, then malformed answers (argsz lies, capability chains that loop or
 * point outside the answer), short and empty transfers, EINTR, a device
 * that vanishes, and the DMA window table's refusals.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include <check.h>

#include "fake-vfio.h"
#include "iommufd-abi.h"
#include "test-common.h"

static struct fake_vfio f;
static struct vgpu_ctx *ctx;
static struct vgpu_handle *h;

static void setup(void)
{
	fake_vfio_init(&f);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, f.root), 0);
	vgpu_ctx_set_vfio_sys(ctx, &f.sys);
	h = NULL;
}

static void teardown(void)
{
	ck_assert_ptr_null(vgpu_handle_unref(h));
	ck_assert_int_eq(f.open_fds, 0); /* every fd opened was closed */
	vgpu_ctx_unref(ctx);
	fake_vfio_cleanup(&f);
}

static void open_ok(const char *id)
{
	ck_assert_int_eq(vgpu_handle_open(ctx, id, 0, &h), 0);
}

START_TEST(open_by_uuid_and_bdf)
{
	struct vgpu_handle *h2;

	open_ok("0B1D3B6E-4F4E-4D55-9A8F-2F6C3E0A9B11");
	ck_assert_str_eq(vgpu_handle_get_id(h), FAKE_UUID);
	ck_assert_str_eq(vgpu_handle_get_access(h), "vfio-group");
	ck_assert_int_eq(vgpu_handle_get_iommu_group(h), FAKE_GROUP);
	ck_assert(vgpu_handle_is_pci(h));
	ck_assert_ptr_eq(vgpu_handle_ref(h), h);
	ck_assert_ptr_eq(vgpu_handle_unref(h), h);
	ck_assert_ptr_null(vgpu_handle_unref(h));
	/* the short PCI form, without iommufd */
	ck_assert_int_eq(
		vgpu_handle_open(ctx, "01:00.0", VGPU_OPEN_NO_IOMMUFD, &h2), 0);
	ck_assert_str_eq(vgpu_handle_get_id(h2), FAKE_BDF);
	h = h2;
}
END_TEST

START_TEST(open_bad_ids)
{
	ck_assert_int_eq(vgpu_handle_open(ctx, "not-a-device", 0, &h), -EINVAL);
	ck_assert_int_eq(vgpu_handle_open(ctx, "0000:01:00.9", 0, &h), -EINVAL);
	ck_assert_int_eq(vgpu_handle_open(ctx, "0000:02:00.0", 0, &h), -ENODEV);
	ck_assert_int_eq(
		vgpu_handle_open(ctx, "11111111-2222-3333-4444-555555555555", 0,
				 &h),
		-ENODEV);
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_UUID, 1u << 7, &h),
			 -EINVAL);
	ck_assert_int_eq(
		vgpu_handle_open(ctx, FAKE_UUID,
				 VGPU_OPEN_IOMMUFD | VGPU_OPEN_NO_IOMMUFD, &h),
		-EINVAL);
	ck_assert_int_eq(vgpu_handle_open(NULL, FAKE_UUID, 0, &h), -EINVAL);
	/* no iommufd: asking for it is refused, the group is not tried */
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_BDF, VGPU_OPEN_IOMMUFD, &h),
			 -EOPNOTSUPP);
	ck_assert_int_eq(
		vgpu_handle_open(ctx, FAKE_UUID, VGPU_OPEN_IOMMUFD, &h),
		-EOPNOTSUPP);
	ck_assert_ptr_null(h);
	/* NULL handles are misuse, not crashes */
	ck_assert_int_eq(vgpu_handle_get_region_count(NULL), -EINVAL);
	ck_assert_int_eq(vgpu_handle_region_read(NULL, 0, 0, NULL, 0), -EINVAL);
	ck_assert_int_eq(vgpu_handle_dma_unmap(NULL, 0, 4096), -EINVAL);
	ck_assert_int_eq(vgpu_handle_reset(NULL), -EINVAL);
}
END_TEST

START_TEST(group_in_use)
{
	int group;

	ck_assert_int_eq(vgpu_handle_probe_in_use(ctx, FAKE_UUID, &group), 0);
	ck_assert_int_eq(group, FAKE_GROUP);
	f.group_busy = true;
	ck_assert_int_eq(vgpu_handle_probe_in_use(ctx, FAKE_UUID, &group), 1);
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_UUID, 0, &h), -EBUSY);
	ck_assert_int_eq(vgpu_handle_probe_in_use(ctx, "0000:09:00.0", &group),
			 -ENODEV);
	ck_assert_int_eq(group, -1);
}
END_TEST

START_TEST(region_table)
{
	unsigned int index;
	uint64_t size, off;
	uint32_t flags, type, sub;
	int n;

	open_ok(FAKE_UUID);
	n = vgpu_handle_get_region_count(h);
	/* 0..8 and the device-specific 16 beyond num_regions */
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(vgpu_handle_get_region(h, 9, &index, &size, &flags),
			 0);
	ck_assert_uint_eq(index, 16);
	ck_assert_uint_eq(size, 0x1000);
	ck_assert_uint_eq(flags, VGPU_REGION_READ | VGPU_REGION_WRITE |
					 VGPU_REGION_MMAP);
	ck_assert_int_eq(vgpu_handle_get_region(h, 10, &index, &size, &flags),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_region_get_sparse_count(h, 0), 1);
	ck_assert_int_eq(vgpu_handle_region_get_sparse(h, 0, 0, &off, &size),
			 0);
	ck_assert_uint_eq(off, 0x1000);
	ck_assert_uint_eq(size, 0x2000);
	ck_assert_int_eq(vgpu_handle_region_get_sparse(h, 0, 1, &off, &size),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_region_get_type(h, 2, &type, &sub), 0);
	ck_assert_uint_eq(type, 0x8086);
	ck_assert_uint_eq(sub, 3);
	ck_assert_int_eq(vgpu_handle_region_get_type(h, 0, &type, &sub),
			 -ENODATA);
	ck_assert_int_eq(vgpu_handle_region_get_type(h, 40, &type, &sub),
			 -ENOENT);
}
END_TEST

START_TEST(region_access)
{
	uint8_t buf[16];
	uint32_t v;
	void *p;

	open_ok(FAKE_UUID);
	ck_assert_int_eq(vgpu_handle_region_read(h, 7, 0, buf, 4), 0);
	ck_assert_uint_eq(buf[0], 0xf4);
	ck_assert_int_eq(vgpu_handle_region_read(h, 7, 250, buf, 6), 0);
	ck_assert_int_eq(vgpu_handle_region_read(h, 7, 251, buf, 6), -ERANGE);
	ck_assert_int_eq(vgpu_handle_region_read(h, 7, UINT64_MAX, buf, 2),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_region_read(h, 1, 0, buf, 1), -EACCES);
	ck_assert_int_eq(vgpu_handle_region_read(h, 40, 0, buf, 1), -ENOENT);
	ck_assert_int_eq(vgpu_handle_config_write(h, 0x3c, 1, 0x0b), 0);
	ck_assert_int_eq(vgpu_handle_config_read(h, 0x3c, 1, &v), 0);
	ck_assert_uint_eq(v, 0x0b);
	ck_assert_int_eq(vgpu_handle_config_read(h, 0, 4, &v), 0);
	ck_assert_uint_eq(v & 0xffff, 0x1af4);
	ck_assert_int_eq(vgpu_handle_config_read(h, 1, 2, &v), -EINVAL);
	ck_assert_int_eq(vgpu_handle_config_read(h, 0, 3, &v), -EINVAL);
	/* mmap only inside the sparse area */
	ck_assert_int_eq(
		vgpu_handle_region_mmap(h, 0, 0x1000, 0x2000, PROT_READ, &p),
		0);
	munmap(p, 0x2000);
	ck_assert_int_eq(
		vgpu_handle_region_mmap(h, 0, 0, 0x1000, PROT_READ, &p),
		-EACCES);
	ck_assert_int_eq(
		vgpu_handle_region_mmap(h, 0, 0x2000, 0x2000, PROT_READ, &p),
		-EACCES);
	ck_assert_int_eq(
		vgpu_handle_region_mmap(h, 0, 0x1001, 0x1000, PROT_READ, &p),
		-EINVAL);
	ck_assert_int_eq(
		vgpu_handle_region_mmap(h, 7, 0, 0x1000, PROT_READ, &p),
		-EACCES);
	ck_assert_int_eq(vgpu_handle_region_mmap(h, 16, 0, 0x1000,
						 PROT_READ | PROT_WRITE, &p),
			 0);
	munmap(p, 0x1000);
}
END_TEST

START_TEST(config_caps_and_bars)
{
	uint64_t addr, size;
	uint32_t flags;

	open_ok(FAKE_UUID);
	ck_assert_int_eq(vgpu_handle_config_find_cap(h, 0x05, false, 0), 0x40);
	ck_assert_int_eq(vgpu_handle_config_find_cap(h, 0x10, false, 0), 0x50);
	ck_assert_int_eq(vgpu_handle_config_find_cap(h, 0x05, false, 0x40),
			 -ENOENT);
	ck_assert_int_eq(vgpu_handle_config_find_cap(h, 0x11, false, 0),
			 -ENOENT);
	/* config space is 256 bytes: no extended capabilities */
	ck_assert_int_eq(vgpu_handle_config_find_cap(h, 0x01, true, 0),
			 -ENOENT);
	ck_assert_int_eq(vgpu_handle_config_get_bar(h, 0, &addr, &size, &flags),
			 0);
	ck_assert_uint_eq(addr, 0x10000000cULL & ~0xfULL);
	ck_assert_uint_eq(size, 0x4000);
	ck_assert_uint_eq(flags, VGPU_BAR_MEM64 | VGPU_BAR_PREFETCH);
	ck_assert_int_eq(vgpu_handle_config_get_bar(h, 1, &addr, &size, &flags),
			 -ENOENT);
	ck_assert_int_eq(vgpu_handle_config_get_bar(h, 6, &addr, &size, &flags),
			 -EINVAL);
	/* a list that loops is refused, not followed forever */
	f.config[0x51] = 0x40;
	ck_assert_int_eq(vgpu_handle_config_find_cap(h, 0x11, false, 0),
			 -EBADMSG);
	/* one that points into the header */
	f.config[0x51] = 0x20;
	ck_assert_int_eq(vgpu_handle_config_find_cap(h, 0x11, false, 0),
			 -EBADMSG);
}
END_TEST

START_TEST(malformed_region_info)
{
	static const struct {
		int lie;
		int region;
	} cases[] = {
		{ LIE_ARGSZ_GROWS, 0 }, { LIE_ARGSZ_HUGE, 0 },
		{ LIE_CAP_LOOP, 2 },	{ LIE_CAP_OOB, 0 },
		{ LIE_SPARSE_OOB, 0 },	{ LIE_SPARSE_COUNT, 0 },
	};

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		uint8_t b;

		f.lie = cases[i].lie;
		f.fail_region = cases[i].region;
		/* the device still opens; the malformed region is left out */
		open_ok(FAKE_UUID);
		ck_assert_int_eq(vgpu_handle_get_region_count(h), 9);
		ck_assert_int_eq(
			vgpu_handle_region_read(h, cases[i].region, 0, &b, 1),
			-EBADMSG);
		ck_assert_int_eq(vgpu_handle_region_read(h, 7, 0, &b, 1), 0);
		ck_assert_ptr_null(vgpu_handle_unref(h));
		h = NULL;
	}
}
END_TEST

START_TEST(short_and_empty_transfers)
{
	uint32_t v;
	uint8_t buf[64];

	open_ok(FAKE_UUID);
	f.max_xfer = 1; /* the device moves one byte per call */
	ck_assert_int_eq(vgpu_handle_config_read(h, 0, 4, &v), 0);
	ck_assert_uint_eq(v & 0xffff, 0x1af4);
	ck_assert_int_eq(vgpu_handle_region_read(h, 7, 0, buf, sizeof(buf)), 0);
	ck_assert_int_eq(vgpu_handle_region_write(h, 7, 0x3c, buf, 4), 0);
	f.max_xfer = 0;
	f.zero_reads = 2; /* two empty reads are tolerated... */
	ck_assert_int_eq(vgpu_handle_region_read(h, 7, 0, buf, 4), 0);
	f.zero_reads = 100; /* ...a device that never moves data is EIO */
	ck_assert_int_eq(vgpu_handle_region_read(h, 7, 0, buf, 4), -EIO);
}
END_TEST

START_TEST(eintr_everywhere)
{
	uint32_t v, count;

	f.eintr = 3; /* open, ioctl and reads are retried */
	open_ok(FAKE_UUID);
	f.eintr = 5;
	ck_assert_int_eq(vgpu_handle_config_read(h, 0, 2, &v), 0);
	ck_assert_uint_eq(v, 0x1af4);
	f.eintr = 2;
	ck_assert_int_eq(vgpu_handle_get_irq(h, VGPU_IRQ_MSI, &count, NULL), 0);
	ck_assert_uint_eq(count, 4);
	f.eintr = 1000000; /* forever: given up on, not spun on */
	ck_assert_int_eq(vgpu_handle_reset(h), -EINTR);
	f.eintr = 0;
}
END_TEST

START_TEST(device_vanishes)
{
	static uint8_t mem[3 * 4096] __attribute__((aligned(4096)));
	uint32_t v;
	void *p;

	open_ok(FAKE_UUID);
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0x100000, 4096, VGPU_DMA_READ), 0);
	f.vanished = true;
	ck_assert_int_eq(vgpu_handle_config_read(h, 0, 4, &v), -ENODEV);
	ck_assert_int_eq(vgpu_handle_reset(h), -ENODEV);
	ck_assert_int_eq(vgpu_handle_get_irq(h, 0, NULL, NULL), -ENODEV);
	ck_assert_int_eq(vgpu_handle_region_mmap(h, 16, 0, 4096, PROT_READ, &p),
			 -ENODEV);
	ck_assert_int_eq(
		vgpu_handle_probe_feature(h, VGPU_FEATURE_MIGRATION, NULL),
		-ENODEV);
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem + 4096, 0x200000, 4096,
					     VGPU_DMA_READ),
			 -ENODEV);
	ck_assert_int_eq(vgpu_handle_get_dma_count(h), 1);
	/* the mapping went with the device: the window is forgotten */
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, 0x100000, 4096), 0);
	ck_assert_int_eq(vgpu_handle_get_dma_count(h), 0);
	/* opening a vanished device */
	ck_assert_int_eq(
		vgpu_handle_open(ctx, FAKE_BDF, 0,
				 &p == NULL ? NULL : (struct vgpu_handle **)&p),
		-ENODEV);
}
END_TEST

START_TEST(dma_table)
{
	static uint8_t mem[8 * 4096] __attribute__((aligned(4096)));
	uint64_t s, l;

	open_ok(FAKE_UUID);
	ck_assert_int_eq(vgpu_handle_get_iova_range_count(h), 2);
	ck_assert_int_eq(vgpu_handle_get_iova_range(h, 1, &s, &l), 0);
	ck_assert_uint_eq(s, 0xfef00000ULL);
	ck_assert_uint_eq(l, (1ULL << 48) - 1);
	ck_assert_int_eq(vgpu_handle_get_iova_range(h, 2, &s, &l), -ERANGE);
	ck_assert_uint_eq(vgpu_handle_get_iommu_pgsizes(h), 4096 | (2u << 20));

	ck_assert_int_eq(vgpu_handle_dma_map(h, mem, 0x10000, 4 * 4096,
					     VGPU_DMA_READ | VGPU_DMA_WRITE),
			 0);
	/* overlaps, at the start, inside, and straddling the end */
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0x10000, 4096, VGPU_DMA_READ),
		-EEXIST);
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0x12000, 4096, VGPU_DMA_READ),
		-EEXIST);
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0xf000, 2 * 4096, VGPU_DMA_READ),
		-EEXIST);
	/* bad arguments */
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem + 1, 0x40000, 4096, VGPU_DMA_READ),
		-EINVAL);
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0x40001, 4096, VGPU_DMA_READ),
		-EINVAL);
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem, 0x40000, 0, VGPU_DMA_READ),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem, 0x40000, 4096, 0),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem, 0x40000, 4096, 8),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem, UINT64_MAX & ~4095ULL,
					     8192, VGPU_DMA_READ),
			 -EINVAL);
	/* in the hole between the two valid ranges */
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0xfee00000ULL, 4096, VGPU_DMA_READ),
		-ERANGE);
	ck_assert_int_eq(f.dma_maps, 1);
	/* the kernel refuses: the table does not keep the window */
	f.fail_req = VFIO_IOMMU_MAP_DMA;
	f.fail_errno = ENOMEM;
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem + 4 * 4096, 0x80000, 4096,
					     VGPU_DMA_READ),
			 -ENOMEM);
	ck_assert_int_eq(vgpu_handle_get_dma_count(h), 1);
	f.fail_req = 0;
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem + 4 * 4096, 0x80000, 4096,
					     VGPU_DMA_READ),
			 0);
	/* partial and double unmaps */
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, 0x10000, 4096), -ENOENT);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, 0x11000, 4096), -ENOENT);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, 0x10000, 4 * 4096), 0);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, 0x10000, 4 * 4096), -ENOENT);
	ck_assert_int_eq(f.dma_unmaps, 1);
	/* the window still mapped is unmapped when the handle goes */
	ck_assert_ptr_null(vgpu_handle_unref(h));
	h = NULL;
	ck_assert_int_eq(f.dma_unmaps, 2);
}
END_TEST

START_TEST(irqs)
{
	uint32_t count, flags;
	int fds[2] = { 42, -1 };

	open_ok(FAKE_UUID);
	ck_assert_int_eq(vgpu_handle_get_irq_count(h), 5);
	ck_assert_int_eq(vgpu_handle_get_irq(h, VGPU_IRQ_INTX, &count, &flags),
			 0);
	ck_assert_uint_eq(count, 1);
	ck_assert_uint_eq(flags, VGPU_IRQ_EVENTFD | VGPU_IRQ_MASKABLE |
					 VGPU_IRQ_AUTOMASKED);
	/* a partial table: MSI-X and ERR are not implemented */
	ck_assert_int_eq(vgpu_handle_get_irq(h, VGPU_IRQ_MSIX, &count, &flags),
			 -ENOENT);
	ck_assert_int_eq(vgpu_handle_get_irq(h, VGPU_IRQ_ERR, &count, &flags),
			 -ENOENT);
	ck_assert_int_eq(vgpu_handle_get_irq(h, 5, &count, &flags), -ERANGE);

	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_INTX, 0, 1, fds),
			 0);
	ck_assert_uint_eq(f.last_irq_flags,
			  VFIO_IRQ_SET_DATA_EVENTFD |
				  VFIO_IRQ_SET_ACTION_TRIGGER);
	ck_assert_int_eq(f.last_irq_fd, 42);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_INTX, 0, 2, fds),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSI, 3, 2, fds),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSI, 2, 2, fds), 0);
	ck_assert_uint_eq(f.last_irq_start, 2);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSIX, 0, 1, fds),
			 -ENOENT);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSI, 0, 0, fds),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_irq_unmask(h, VGPU_IRQ_INTX, 0, 1), 0);
	ck_assert_uint_eq(f.last_irq_flags,
			  VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK);
	ck_assert_int_eq(vgpu_handle_irq_mask(h, VGPU_IRQ_INTX, 0, 1), 0);
	ck_assert_int_eq(vgpu_handle_irq_mask(h, VGPU_IRQ_MSI, 0, 1), -ENOTSUP);
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_MSI, 1, 1), 0);
	ck_assert_uint_eq(f.last_irq_flags,
			  VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
	/* detach a range: eventfd -1 for each; detach all: count 0 */
	ck_assert_int_eq(vgpu_handle_irq_detach(h, VGPU_IRQ_MSI, 2, 2), 0);
	ck_assert_int_eq(f.last_irq_fd, -1);
	ck_assert_int_eq(vgpu_handle_irq_detach(h, VGPU_IRQ_MSI, 0, 0), 0);
	ck_assert_uint_eq(f.last_irq_count, 0);
	ck_assert_uint_eq(f.last_irq_flags,
			  VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER);
	f.fail_req = VFIO_DEVICE_SET_IRQS;
	f.fail_errno = EINVAL;
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_INTX, 0, 1),
			 -EINVAL);
	f.fail_req = 0;
}
END_TEST

START_TEST(reset_features_plane)
{
	struct vgpu_plane_info p = { .size = sizeof(p) };
	struct {
		size_t size;
		uint32_t kind;
	} small = { sizeof(small), 0 };
	uint64_t data = 7;
	int fd;

	open_ok(FAKE_UUID);
	ck_assert_int_eq(vgpu_handle_reset(h), 0);
	ck_assert_int_eq(
		vgpu_handle_probe_feature(h, VGPU_FEATURE_MIGRATION, &data), 0);
	ck_assert_uint_eq(data, 0);
	ck_assert_int_eq(
		vgpu_handle_probe_feature(h, VGPU_FEATURE_DMA_LOGGING, &data),
		0);
	ck_assert_int_eq(vgpu_handle_probe_feature(h, 99, &data), -EINVAL);
	f.migration = true;
	ck_assert_int_eq(
		vgpu_handle_probe_feature(h, VGPU_FEATURE_MIGRATION, &data), 1);
	ck_assert_uint_eq(data, VFIO_MIGRATION_STOP_COPY);

	f.plane_enomem = 1; /* mbochs' first query after a mode change */
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY, &p), 0);
	ck_assert_uint_eq(p.kind, VGPU_PLANE_REGION);
	ck_assert_uint_eq(p.drm_format, 0x34325258);
	ck_assert_uint_eq(p.width, 640);
	ck_assert_uint_eq(p.region_index, 16);
	ck_assert_uint_eq(p.size, sizeof(p));
	f.plane_enomem = 2;
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY, &p),
			 -ENOMEM);
	/* an older, smaller struct gets only its fields */
	ck_assert_int_eq(
		vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY,
					(struct vgpu_plane_info *)&small),
		0);
	ck_assert_uint_eq(small.kind, VGPU_PLANE_REGION);
	p.size = 4;
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY, &p),
			 -EINVAL);
	p.size = sizeof(p);
	ck_assert_int_eq(vgpu_handle_query_plane(h, 3, &p), -EINVAL);
	fd = vgpu_handle_get_plane_dmabuf(h, 1);
	ck_assert_int_eq(fd, -ENOTTY);
}
END_TEST

START_TEST(iommufd_cdev)
{
	static uint8_t mem[4096] __attribute__((aligned(4096)));
	uint64_t s, l;

	f.iommufd = true;
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_BDF, VGPU_OPEN_IOMMUFD, &h),
			 0);
	ck_assert_str_eq(vgpu_handle_get_access(h), "iommufd");
	ck_assert_int_eq(vgpu_handle_get_iova_range_count(h), 1);
	ck_assert_int_eq(vgpu_handle_get_iova_range(h, 0, &s, &l), 0);
	ck_assert_uint_eq(s, 0x10000);
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0x10000, 4096, VGPU_DMA_WRITE), 0);
	ck_assert_int_eq(f.ioas_maps, 1);
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0x1000, 4096, VGPU_DMA_WRITE),
		-ERANGE);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, 0x10000, 4096), 0);
	ck_assert_ptr_null(vgpu_handle_unref(h));
	/* the group API when asked, and as a fallback when binding fails */
	ck_assert_int_eq(
		vgpu_handle_open(ctx, FAKE_BDF, VGPU_OPEN_NO_IOMMUFD, &h), 0);
	ck_assert_str_eq(vgpu_handle_get_access(h), "vfio-group");
	ck_assert_ptr_null(vgpu_handle_unref(h));
	f.fail_req = VFIO_DEVICE_BIND_IOMMUFD;
	f.fail_errno = EPERM;
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_BDF, 0, &h), 0);
	ck_assert_str_eq(vgpu_handle_get_access(h), "vfio-group");
	ck_assert_ptr_null(vgpu_handle_unref(h));
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_BDF, VGPU_OPEN_IOMMUFD, &h),
			 -EPERM);
	h = NULL;
}
END_TEST

/* ---- migration v2 over the fake kernel ---- */

/* read the whole STOP_COPY stream into @buf; its length */
static size_t read_stream(struct vgpu_handle *hd, uint8_t *buf, size_t cap)
{
	size_t got = 0;

	for (;;) {
		ssize_t n =
			vgpu_handle_migration_read(hd, buf + got, cap - got);

		ck_assert_int_ge(n, 0);
		if (n == 0)
			return got;
		got += (size_t)n;
	}
}

static void arcs_are(const uint32_t *want, int n)
{
	ck_assert_int_eq(f.n_arcs, n);
	for (int i = 0; i < n; i++)
		ck_assert_uint_eq(f.arcs[i], want[i]);
	f.n_arcs = 0;
}

START_TEST(migration_arcs_p2p)
{
	static uint8_t buf[FAKE_MIG_BYTES + 100];
	uint64_t flags;

	f.migration = true;
	f.mig_flags = VGPU_MIGRATION_P2P | VGPU_MIGRATION_PRE_COPY;
	open_ok(FAKE_UUID);
	ck_assert_int_eq(
		vgpu_handle_probe_feature(h, VGPU_FEATURE_MIGRATION, &flags),
		1);
	ck_assert_uint_eq(flags, 7);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), VGPU_MIG_RUNNING);
	/* RUNNING -> RUNNING_P2P -> STOP -> STOP_COPY */
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	arcs_are((const uint32_t[]){ 5, 1, 3 }, 3);
	ck_assert_uint_eq(read_stream(h, buf, sizeof(buf)), FAKE_MIG_BYTES);
	/* STOP_COPY -> STOP -> RESUMING: a new stream */
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RESUMING),
			 0);
	arcs_are((const uint32_t[]){ 1, 4 }, 2);
	ck_assert_int_eq(f.data_fds, 1);
	ck_assert_int_eq(vgpu_handle_migration_write(h, buf, 3000), 0);
	ck_assert_int_eq(vgpu_handle_migration_write(h, buf + 3000,
						     FAKE_MIG_BYTES - 3000),
			 0);
	/* RESUMING -> STOP (the device checks) -> RUNNING_P2P -> RUNNING */
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RUNNING),
			 0);
	arcs_are((const uint32_t[]){ 1, 5, 2 }, 3);
	ck_assert_int_eq(f.data_fds, 0); /* the stream's fd is closed */
	/* PRE_COPY -> PRE_COPY_P2P -> STOP_COPY keeps one stream */
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_PRE_COPY),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	arcs_are((const uint32_t[]){ 6, 7, 3 }, 3);
	ck_assert_int_eq(f.data_fds, 1);
	/* STOP_COPY -> PRE_COPY is forbidden; nothing is tried */
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_PRE_COPY),
			 -EINVAL);
	ck_assert_int_eq(f.n_arcs, 0);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_ERROR),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, 8), -EINVAL);
}
END_TEST

START_TEST(migration_arcs_plain_and_precopy)
{
	static uint8_t buf[FAKE_MIG_BYTES];
	uint64_t initial = 0, dirty = 0;
	uint64_t moved = 0;

	f.migration = true;
	open_ok(FAKE_UUID);
	/* STOP_COPY only: no P2P states, no PRE_COPY */
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(h, VGPU_MIG_RUNNING_P2P),
		-EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_PRE_COPY),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	arcs_are((const uint32_t[]){ 1, 3 }, 2);
	ck_assert_int_eq(
		vgpu_handle_migration_precopy_info(h, &initial, &dirty),
		-EINVAL);
	/* the stream into the same device, through copy() between two
	 * handles is tested over vfio-user; here read it all */
	ck_assert_uint_eq(read_stream(h, buf, sizeof(buf)), FAKE_MIG_BYTES);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RUNNING),
			 0);
	arcs_are((const uint32_t[]){ 1, 2 }, 2);
	vgpu_handle_unref(h);
	h = NULL;

	/* PRE_COPY without P2P: estimates, then straight to STOP_COPY */
	f.mig_flags = VGPU_MIGRATION_PRE_COPY;
	open_ok(FAKE_UUID);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_PRE_COPY),
			 0);
	ck_assert_int_eq(
		vgpu_handle_migration_precopy_info(h, &initial, &dirty), 0);
	ck_assert_uint_eq(initial, FAKE_MIG_BYTES);
	ck_assert_uint_eq(dirty, 123);
	ck_assert_int_eq(vgpu_handle_migration_read(h, buf, 1000), 1000);
	ck_assert_int_eq(vgpu_handle_migration_precopy_info(h, &initial, NULL),
			 0);
	ck_assert_uint_eq(initial, FAKE_MIG_BYTES - 1000);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	arcs_are((const uint32_t[]){ 6, 3 }, 2);
	ck_assert_uint_eq(read_stream(h, buf, sizeof(buf)),
			  FAKE_MIG_BYTES - 1000);
	/* copy() refuses one handle as both ends */
	ck_assert_int_eq(vgpu_handle_migration_copy(h, h, &moved), -EINVAL);
}
END_TEST

START_TEST(migration_wrong_state_and_refusals)
{
	static uint8_t buf[FAKE_MIG_BYTES];

	/* no migration at all */
	open_ok(FAKE_UUID);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), -ENOTSUP);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP),
			 -ENOTSUP);
	vgpu_handle_unref(h);
	h = NULL;

	f.migration = true;
	open_ok(FAKE_UUID);
	/* data in the wrong state is refused before the device sees it */
	ck_assert_int_eq(vgpu_handle_migration_read(h, buf, 16), -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_write(h, buf, 16), -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_read(NULL, buf, 16), -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_write(h, buf, 16), -EINVAL);
	/* a truncated stream: the destination refuses it on RESUMING -> STOP
	 * and lands in ERROR; only a reset leads out */
	ck_assert_int_eq(vgpu_handle_migration_read(h, buf, 4000), 4000);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RESUMING),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_write(h, buf, 4000), 0);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RUNNING),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), VGPU_MIG_ERROR);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RUNNING),
			 -EIO);
	ck_assert_int_eq(vgpu_handle_reset(h), 0);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), VGPU_MIG_RUNNING);
	ck_assert_int_eq(f.data_fds, 0);
	/* a kernel whose read() claims more than it was asked */
	f.mig_read_too_much = true;
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_read(h, buf, 64), -EIO);
	/* a vanished device */
	f.vanished = true;
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RUNNING),
			 -ENODEV);
	f.vanished = false;
}
END_TEST

START_TEST(dirty_tracking)
{
	void *mem = mmap(NULL, 1 << 20, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	uint64_t bm[4];

	ck_assert_ptr_ne(mem, MAP_FAILED);
	open_ok(FAKE_UUID);
	/* nothing mapped, nothing to track */
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), -ENOENT);
	ck_assert_int_eq(vgpu_handle_dma_map(h, mem, 0x100000, 64 * 4096,
					     VGPU_DMA_READ | VGPU_DMA_WRITE),
			 0);
	/* neither the device nor the IOMMU tracks */
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), -EOPNOTSUPP);
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 3000), -EINVAL);
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, 0x100000, 4096, bm, sizeof(bm)),
		-EINVAL);
	/* the type1 IOMMU's tracking, in its smallest page only */
	f.type1_dirty = true;
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 8192), -EINVAL);
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), 0);
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), -EBUSY);
	ck_assert_int_eq(vgpu_handle_dma_map(h, (uint8_t *)mem + (512 << 10),
					     0x400000, 4096, VGPU_DMA_READ),
			 -EBUSY);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, 0x100000, 64 * 4096), -EBUSY);
	memset(bm, 0xff, sizeof(bm));
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, 0x100000, 64 * 4096, bm, 8), 0);
	ck_assert_uint_eq(bm[0], 0x9249249249249249ull); /* every third page */
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, 0x100000, 64 * 4096, bm, 4),
		-EINVAL);
	ck_assert_int_eq(vgpu_handle_dirty_report(h, 0x0, 4096, bm, 8),
			 -EINVAL);
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, 0x100000, 65 * 4096, bm, 16),
		-EINVAL);
	ck_assert_int_eq(vgpu_handle_dirty_stop(h), 0);
	ck_assert_int_eq(vgpu_handle_dirty_stop(h), -EINVAL);
	/* the device's own DMA logging comes first */
	f.dma_logging = true;
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), 0);
	ck_assert_int_eq(vgpu_handle_dirty_report(h, 0x100000, 4 * 4096, bm, 8),
			 0);
	ck_assert_uint_eq(bm[0], 1);
	ck_assert_int_eq(vgpu_handle_dirty_stop(h), 0);
	/* a device that logs while the kernel cannot report its log (6.12
	 * without CONFIG_IOMMUFD_DRIVER): the IOMMU's tracking instead */
	f.dma_log_no_report = true;
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), 0);
	ck_assert(!f.dirty_on || f.type1_dirty);
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, 0x100000, 64 * 4096, bm, 8), 0);
	ck_assert_uint_eq(bm[0], 0x9249249249249249ull);
	/* left running: closing the handle stops it */
	vgpu_handle_unref(h);
	h = NULL;
	ck_assert(!f.dirty_on);
	munmap(mem, 1 << 20);
}
END_TEST

START_TEST(dirty_tracking_iommufd)
{
	void *mem = mmap(NULL, 1 << 16, PROT_READ | PROT_WRITE,
			 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	uint64_t bm[1];

	f.iommufd = true;
	f.type1_dirty = true;
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_BDF, VGPU_OPEN_IOMMUFD, &h),
			 0);
	ck_assert_uint_eq(f.attached_pt, 5);
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, mem, 0x100000, 1 << 16, VGPU_DMA_READ),
		0);
	/* an IOMMU without dirty bits refuses the page table */
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), -EOPNOTSUPP);
	ck_assert_int_eq(f.hwpts, 0);
	/* one with: the device moves to a dirty-tracking page table and back */
	f.hwpt_dirty = true;
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), 0);
	ck_assert_uint_eq(f.attached_pt, 9);
	ck_assert(f.dirty_on);
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, 0x100000, 1 << 16, bm, sizeof(bm)),
		0);
	ck_assert_uint_eq(bm[0], 0x5555);
	ck_assert_int_eq(vgpu_handle_dirty_stop(h), 0);
	ck_assert(!f.dirty_on);
	ck_assert_uint_eq(f.attached_pt, 5);
	ck_assert_int_eq(f.hwpts, 0);
	/* left running: closing the handle destroys the page table */
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), 0);
	ck_assert_int_eq(f.hwpts, 1);
	vgpu_handle_unref(h);
	h = NULL;
	ck_assert_int_eq(f.hwpts, 0);
	munmap(mem, 1 << 16);
}
END_TEST

START_TEST(vf_token)
{
	struct vgpu_open_opts o = { .size = sizeof(o) };
	struct {
		struct vgpu_open_opts o;
		uint64_t future;
	} big = { .o = { .size = sizeof(big) }, .future = 1 };
	static const uint8_t want[16] = { 0x5b, 0x8e, 0x2c, 0x1a, 0x90, 0x3d,
					  0x4f, 0x6e, 0xa1, 0xb2, 0xc3, 0xd4,
					  0xe5, 0xf6, 0x07, 0x18 };
	const char *tok = "5b8e2c1a-903d-4f6e-a1b2-c3d4e5f60718";

	strcpy(f.need_token, tok);
	/* without the token the kernel refuses */
	ck_assert_int_eq(vgpu_handle_open(ctx, FAKE_BDF, 0, &h), -EACCES);
	o.vf_token = "not-a-uuid";
	ck_assert_int_eq(vgpu_handle_open_opts(ctx, FAKE_BDF, &o, &h), -EINVAL);
	ck_assert_int_eq(vgpu_handle_open_opts(ctx, FAKE_BDF, &big.o, &h),
			 -E2BIG);
	o.vf_token = "5B8E2C1A-903D-4F6E-A1B2-C3D4E5F60718"; /* normalised */
	ck_assert_int_eq(vgpu_handle_open_opts(ctx, FAKE_BDF, &o, &h), 0);
	/* as a PF: set a token for its VFs */
	ck_assert_int_eq(vgpu_handle_set_vf_token(h, "nope"), -EINVAL);
	ck_assert_int_eq(vgpu_handle_set_vf_token(h, tok), 0);
	ck_assert_mem_eq(f.pf_token, want, 16);
}
END_TEST

START_TEST(migration_state_names)
{
	ck_assert_str_eq(vgpu_migration_state_name(VGPU_MIG_RUNNING),
			 "RUNNING");
	ck_assert_str_eq(vgpu_migration_state_name(VGPU_MIG_PRE_COPY_P2P),
			 "PRE_COPY_P2P");
	ck_assert_str_eq(vgpu_migration_state_name(VGPU_MIG_ERROR), "ERROR");
	ck_assert_ptr_null(vgpu_migration_state_name(8));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("device");
	TCase *tc = tcase_create("fake-vfio");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, open_by_uuid_and_bdf);
	tcase_add_test(tc, open_bad_ids);
	tcase_add_test(tc, group_in_use);
	tcase_add_test(tc, region_table);
	tcase_add_test(tc, region_access);
	tcase_add_test(tc, config_caps_and_bars);
	tcase_add_test(tc, malformed_region_info);
	tcase_add_test(tc, short_and_empty_transfers);
	tcase_add_test(tc, eintr_everywhere);
	tcase_add_test(tc, device_vanishes);
	tcase_add_test(tc, dma_table);
	tcase_add_test(tc, irqs);
	tcase_add_test(tc, reset_features_plane);
	tcase_add_test(tc, iommufd_cdev);
	tcase_add_test(tc, migration_arcs_p2p);
	tcase_add_test(tc, migration_arcs_plain_and_precopy);
	tcase_add_test(tc, migration_wrong_state_and_refusals);
	tcase_add_test(tc, dirty_tracking);
	tcase_add_test(tc, dirty_tracking_iommufd);
	tcase_add_test(tc, vf_token);
	tcase_add_test(tc, migration_state_names);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
