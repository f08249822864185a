/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fake kernel VFIO of the device API's unit tests (see fake-vfio.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "fake-vfio.h"
#include "iommufd-abi.h"

#define REGION_OFFSET(i) ((uint64_t)(i) << 40)

static int fail(int e)
{
	errno = e;
	return -1;
}

static bool misbehave(struct fake_vfio *f, int *e)
{
	if (f->vanished) {
		*e = ENODEV;
		return true;
	}
	if (f->eintr > 0) {
		f->eintr--;
		*e = EINTR;
		return true;
	}
	return false;
}

static int f_open(void *data, const char *path, int flags)
{
	struct fake_vfio *f = data;
	char group[32];
	int e, fd = -1;

	(void)flags;
	if (misbehave(f, &e))
		return fail(e);
	snprintf(group, sizeof(group), "/dev/vfio/%d", FAKE_GROUP);
	if (!strcmp(path, "/dev/vfio/vfio"))
		fd = FD_CONTAINER;
	else if (!strcmp(path, group))
		fd = f->group_busy ? fail(EBUSY) : FD_GROUP;
	else if (!strcmp(path, "/dev/iommu") && f->iommufd)
		fd = FD_IOMMUFD;
	else if (!strcmp(path, "/dev/vfio/devices/vfio3") && f->iommufd)
		fd = FD_CDEV;
	else
		return fail(ENOENT);
	if (fd >= 0)
		f->open_fds++;
	return fd;
}

static int f_close(void *data, int fd)
{
	struct fake_vfio *f = data;

	if (fd == FD_DATA)
		f->data_fds--;
	f->open_fds--;
	return 0;
}

/* ---- migration v2: a strict device that takes only direct arcs ---- */

static uint8_t pattern(size_t i)
{
	return (uint8_t)(i * 7 + 3);
}

static bool direct_arc(struct fake_vfio *f, uint32_t from, uint32_t to)
{
	bool p2p = f->mig_flags & 2, pre = f->mig_flags & 4;
	/* the arcs VFIO defines, {from, to, needs p2p, needs pre-copy} */
	static const uint8_t arcs[][4] = {
		{ 2, 1, 0, 0 }, { 1, 2, 0, 0 }, { 1, 3, 0, 0 }, { 3, 1, 0, 0 },
		{ 1, 4, 0, 0 }, { 4, 1, 0, 0 }, { 2, 5, 1, 0 }, { 5, 2, 1, 0 },
		{ 5, 1, 1, 0 }, { 1, 5, 1, 0 }, { 2, 6, 0, 1 }, { 6, 2, 0, 1 },
		{ 6, 7, 1, 1 }, { 7, 6, 1, 1 }, { 7, 5, 1, 1 }, { 5, 7, 1, 1 },
		{ 7, 3, 1, 1 },
	};

	/* without P2P, PRE_COPY goes straight to STOP_COPY; with P2P, RUNNING
	 * and STOP are not adjacent */
	if (from == 6 && to == 3)
		return pre && !p2p;
	if ((from == 2 && to == 1) || (from == 1 && to == 2))
		return !p2p;
	for (size_t i = 0; i < sizeof(arcs) / sizeof(arcs[0]); i++)
		if (arcs[i][0] == from && arcs[i][1] == to &&
		    (!arcs[i][2] || p2p) && (!arcs[i][3] || pre))
			return true;
	return false;
}

static int mig_feature(struct fake_vfio *f, struct vfio_device_feature *q)
{
	struct vfio_device_feature_mig_state *s = (void *)q->data;
	uint32_t to;

	if (q->flags & VFIO_DEVICE_FEATURE_GET) {
		s->device_state = f->mig_state;
		s->data_fd = -1;
		return 0;
	}
	to = s->device_state;
	if (!direct_arc(f, f->mig_state, to))
		return fail(EINVAL);
	if (f->n_arcs < 32)
		f->arcs[f->n_arcs++] = to;
	s->data_fd = -1;
	if (f->mig_state == 4 && to == 1 &&
	    (f->mig_fail_resume || f->mig_pos != FAKE_MIG_BYTES)) {
		f->mig_state = 0; /* ERROR */
		return fail(EINVAL);
	}
	if (f->mig_state == 4 && to == 1) {
		for (size_t i = 0; i < FAKE_MIG_BYTES; i++)
			if (f->loaded[i] != pattern(i)) {
				f->mig_state = 0;
				return fail(EINVAL);
			}
	}
	/* a new stream: into STOP_COPY from STOP, PRE_COPY from RUNNING,
	 * RESUMING */
	if ((to == 3 && f->mig_state == 1) || (to == 6 && f->mig_state == 2) ||
	    to == 4) {
		f->mig_pos = 0;
		f->data_fds++;
		f->open_fds++;
		s->data_fd = FD_DATA;
	}
	f->mig_state = to;
	return 0;
}

static ssize_t f_read(void *data, int fd, void *buf, size_t len)
{
	struct fake_vfio *f = data;
	size_t n = FAKE_MIG_BYTES - f->mig_pos;

	if (fd != FD_DATA || f->data_fds <= 0)
		return fail(EBADF);
	if (f->mig_state != 3 && f->mig_state != 6 && f->mig_state != 7)
		return fail(EINVAL);
	if (f->mig_read_too_much)
		return (ssize_t)len + 1;
	if (n > len)
		n = len;
	if (n > 4000)
		n = 4000; /* short reads, like a real driver's */
	if (!n && f->mig_state != 3)
		return fail(ENOMSG);
	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = pattern(f->mig_pos + i);
	f->mig_pos += n;
	return (ssize_t)n;
}

static ssize_t f_write(void *data, int fd, const void *buf, size_t len)
{
	struct fake_vfio *f = data;

	if (fd != FD_DATA || f->data_fds <= 0)
		return fail(EBADF);
	if (f->mig_state != 4)
		return fail(EINVAL);
	if (len > sizeof(f->loaded) - f->mig_pos)
		return fail(EFBIG);
	memcpy(f->loaded + f->mig_pos, buf, len);
	f->mig_pos += len;
	return (ssize_t)len;
}

/* a region info answer with the misbehaviour asked for */
static int region_info(struct fake_vfio *f, struct vfio_region_info *ri)
{
	static const uint32_t rw =
		VFIO_REGION_INFO_FLAG_READ | VFIO_REGION_INFO_FLAG_WRITE;
	uint32_t argsz = ri->argsz;
	uint32_t index = ri->index;
	uint32_t need = sizeof(*ri);
	uint8_t caps[128];
	uint32_t ncaps = 0;

	memset(caps, 0, sizeof(caps));
	memset(ri, 0, sizeof(*ri));
	ri->index = index;
	ri->offset = REGION_OFFSET(index);
	switch (index) {
	case 0: { /* BAR0: 16 KiB, mmap-able in one sparse area */
		struct vfio_region_info_cap_sparse_mmap sp = {
			.header = { .id = VFIO_REGION_INFO_CAP_SPARSE_MMAP,
				    .version = 1 },
			.nr_areas = 1,
		};
		struct vfio_region_sparse_mmap_area a = { .offset = 0x1000,
							  .size = 0x2000 };

		ri->size = 0x4000;
		ri->flags = rw | VFIO_REGION_INFO_FLAG_MMAP |
			    VFIO_REGION_INFO_FLAG_CAPS;
		if (f->fail_region == 0 && f->lie == LIE_SPARSE_OOB)
			a.size = 0x4000;
		if (f->fail_region == 0 && f->lie == LIE_SPARSE_COUNT)
			sp.nr_areas = 1000;
		memcpy(caps, &sp, sizeof(sp));
		memcpy(caps + sizeof(sp), &a, sizeof(a));
		ncaps = sizeof(sp) + sizeof(a);
		break;
	}
	case 2: { /* BAR2: 4 KiB with a type capability */
		struct vfio_region_info_cap_type t = {
			.header = { .id = VFIO_REGION_INFO_CAP_TYPE,
				    .version = 1 },
			.type = 0x8086,
			.subtype = 3,
		};

		ri->size = 0x1000;
		ri->flags = rw | VFIO_REGION_INFO_FLAG_CAPS;
		memcpy(caps, &t, sizeof(t));
		ncaps = sizeof(t);
		break;
	}
	case 7:
		ri->size = sizeof(f->config);
		ri->flags = rw;
		break;
	case 1:
	case 3:
	case 4:
	case 5:
	case 6:
	case 8:
		break; /* unimplemented: size 0 */
	case 16:       /* device specific, beyond num_regions (like mdpy's) */
		ri->size = 0x1000;
		ri->flags = rw | VFIO_REGION_INFO_FLAG_MMAP;
		break;
	default:
		return fail(EINVAL);
	}
	if (ncaps) {
		ri->cap_offset = sizeof(*ri);
		need += ncaps;
	}
	if ((int)index == f->fail_region) {
		switch (f->lie) {
		case LIE_ARGSZ_GROWS:
			need = argsz > sizeof(*ri) ? argsz + 64 : need;
			break;
		case LIE_ARGSZ_HUGE:
			need = 1u << 30;
			break;
		case LIE_CAP_LOOP: {
			struct vfio_info_cap_header *h = (void *)caps;

			h->next = sizeof(*ri); /* points at itself */
			break;
		}
		case LIE_CAP_OOB:
			ri->cap_offset = 4096;
			break;
		default:
			break;
		}
	}
	ri->argsz = need;
	if (argsz >= need && ncaps)
		memcpy((uint8_t *)ri + sizeof(*ri), caps, ncaps);
	if (argsz < need)
		ri->cap_offset = 0;
	return 0;
}

static int iommu_info(struct vfio_iommu_type1_info *ii)
{
	struct vfio_iommu_type1_info_cap_iova_range c = {
		.header = { .id = VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE,
			    .version = 1 },
		.nr_iovas = 2,
	};
	struct vfio_iova_range rg[2] = {
		{ 0, 0xfedfffffULL },
		{ 0xfef00000ULL, (1ULL << 48) - 1 },
	};
	uint32_t need = sizeof(*ii) + sizeof(c) + sizeof(rg);
	uint32_t argsz = ii->argsz;

	ii->flags = VFIO_IOMMU_INFO_PGSIZES | VFIO_IOMMU_INFO_CAPS;
	ii->iova_pgsizes = 4096 | (2u << 20);
	ii->argsz = need;
	if (argsz < need) {
		ii->cap_offset = 0;
		return 0;
	}
	ii->cap_offset = sizeof(*ii);
	memcpy((uint8_t *)ii + sizeof(*ii), &c, sizeof(c));
	memcpy((uint8_t *)ii + sizeof(*ii) + sizeof(c), rg, sizeof(rg));
	return 0;
}

static int irq_info(struct vfio_irq_info *ii)
{
	switch (ii->index) {
	case VFIO_PCI_INTX_IRQ_INDEX:
		ii->count = 1;
		ii->flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_MASKABLE |
			    VFIO_IRQ_INFO_AUTOMASKED;
		return 0;
	case VFIO_PCI_MSI_IRQ_INDEX:
		ii->count = 4;
		ii->flags = VFIO_IRQ_INFO_EVENTFD | VFIO_IRQ_INFO_NORESIZE;
		return 0;
	case VFIO_PCI_REQ_IRQ_INDEX:
		ii->count = 1;
		ii->flags = VFIO_IRQ_INFO_EVENTFD;
		return 0;
	default: /* MSI-X and ERR: not implemented, like mtty */
		return fail(EINVAL);
	}
}

static int f_ioctl(void *data, int fd, unsigned long req, void *arg)
{
	struct fake_vfio *f = data;
	int e;

	if (misbehave(f, &e))
		return fail(e);
	if (f->fail_req && req == f->fail_req)
		return fail(f->fail_errno);
	/* the same number means different things on different fds */
	if (fd == FD_CONTAINER && req == VFIO_IOMMU_UNMAP_DMA) {
		f->dma_unmaps++;
		return 0;
	}
	if (fd == FD_DATA && req == VFIO_MIG_GET_PRECOPY_INFO) {
		struct vfio_precopy_info *pi = arg;

		if (f->mig_state != 6 && f->mig_state != 7)
			return fail(EINVAL);
		pi->initial_bytes = FAKE_MIG_BYTES - f->mig_pos;
		pi->dirty_bytes = 123;
		return 0;
	}
	if (fd == FD_CONTAINER && req == VFIO_IOMMU_DIRTY_PAGES) {
		struct vfio_iommu_type1_dirty_bitmap *d = arg;

		if (!f->type1_dirty)
			return fail(EINVAL);
		if (d->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_START) {
			f->dirty_on = true;
			return 0;
		}
		if (d->flags == VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP) {
			f->dirty_on = false;
			return 0;
		}
		if (d->flags != VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP ||
		    !f->dirty_on ||
		    d->argsz <
			    sizeof(*d) +
				    sizeof(struct
					   vfio_iommu_type1_dirty_bitmap_get))
			return fail(EINVAL);
		struct vfio_iommu_type1_dirty_bitmap_get *g = (void *)d->data;

		if (g->bitmap.pgsize != 4096 ||
		    g->bitmap.size < (g->size / 4096 + 63) / 64 * 8)
			return fail(EINVAL);
		/* every third page written */
		for (uint64_t p = 0; p < g->size / 4096; p += 3)
			g->bitmap.data[p / 64] |= 1ull << (p % 64);
		return 0;
	}
	switch (req) {
	case VFIO_GET_API_VERSION:
		return VFIO_API_VERSION;
	case VFIO_CHECK_EXTENSION:
		return 1;
	case VFIO_GROUP_GET_STATUS:
		((struct vfio_group_status *)arg)->flags =
			VFIO_GROUP_FLAGS_VIABLE;
		return 0;
	case VFIO_GROUP_SET_CONTAINER:
	case VFIO_SET_IOMMU:
		return 0;
	case VFIO_GROUP_GET_DEVICE_FD: {
		const char *tok = strstr(arg, " vf_token=");
		size_t n =
			tok ? (size_t)(tok - (const char *)arg) : strlen(arg);

		if (!(n == strlen(FAKE_UUID) && !strncmp(arg, FAKE_UUID, n)) &&
		    !(n == strlen(FAKE_BDF) && !strncmp(arg, FAKE_BDF, n)))
			return fail(ENODEV);
		if (f->need_token[0] &&
		    (!tok || strcmp(tok + strlen(" vf_token="), f->need_token)))
			return fail(EACCES);
	}
		f->open_fds++;
		return FD_DEVICE;
	case VFIO_IOMMU_GET_INFO:
		return iommu_info(arg);
	case VFIO_DEVICE_GET_INFO: {
		struct vfio_device_info *di = arg;

		di->flags = VFIO_DEVICE_FLAGS_PCI | VFIO_DEVICE_FLAGS_RESET;
		di->num_regions = 9;
		di->num_irqs = 5;
		return 0;
	}
	case VFIO_DEVICE_GET_REGION_INFO:
		return region_info(f, arg);
	case VFIO_DEVICE_GET_IRQ_INFO:
		return irq_info(arg);
	case VFIO_DEVICE_SET_IRQS: {
		struct vfio_irq_set *s = arg;

		f->last_irq_flags = s->flags;
		f->last_irq_index = s->index;
		f->last_irq_start = s->start;
		f->last_irq_count = s->count;
		if (s->flags & VFIO_IRQ_SET_DATA_EVENTFD && s->count)
			memcpy(&f->last_irq_fd, s->data, sizeof(int32_t));
		return 0;
	}
	case VFIO_IOMMU_MAP_DMA:
		f->dma_maps++;
		return 0;
	case VFIO_DEVICE_RESET:
		f->mig_state = 2; /* RUNNING */
		return 0;
	case VFIO_DEVICE_FEATURE: {
		struct vfio_device_feature *q = arg;

		uint32_t feat = q->flags & VFIO_DEVICE_FEATURE_MASK;

		if (feat == VFIO_DEVICE_FEATURE_MIGRATION && f->migration) {
			uint64_t flags =
				VFIO_MIGRATION_STOP_COPY | f->mig_flags;

			memcpy(q->data, &flags, sizeof(flags));
			return 0;
		}
		if (feat == VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE &&
		    f->migration)
			return mig_feature(f, q);
		if (feat == VFIO_DEVICE_FEATURE_PCI_VF_TOKEN &&
		    q->flags & VFIO_DEVICE_FEATURE_SET &&
		    q->argsz >= sizeof(*q) + 16) {
			memcpy(f->pf_token, q->data, 16);
			return 0;
		}
		if (f->dma_logging && !(q->flags & VFIO_DEVICE_FEATURE_PROBE)) {
			if (feat == VFIO_DEVICE_FEATURE_DMA_LOGGING_START) {
				struct vfio_device_feature_dma_logging_control
					*c = (void *)q->data;

				if (!c->num_ranges || c->page_size != 4096)
					return fail(EINVAL);
				f->dirty_on = true;
				f->dirty_pgsize = c->page_size;
				return 0;
			}
			if (feat == VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP) {
				f->dirty_on = false;
				return 0;
			}
			if (feat == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT &&
			    f->dma_log_no_report)
				return fail(EOPNOTSUPP);
			if (feat == VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT &&
			    f->dirty_on) {
				struct vfio_device_feature_dma_logging_report
					*r = (void *)q->data;
				uint64_t *bm = (uint64_t *)(uintptr_t)r->bitmap;

				/* the first page of the range */
				bm[0] |= 1;
				return 0;
			}
		}
		return fail(ENOTTY);
	}
	case VFIO_DEVICE_QUERY_GFX_PLANE: {
		struct vfio_device_gfx_plane_info *p = arg;

		if (!(p->flags & VFIO_GFX_PLANE_TYPE_REGION))
			return fail(EINVAL);
		if (p->flags & VFIO_GFX_PLANE_TYPE_PROBE)
			return 0;
		if (f->plane_enomem > 0) {
			f->plane_enomem--;
			return fail(ENOMEM);
		}
		p->drm_format = 0x34325258; /* XR24 */
		p->width = 640;
		p->height = 480;
		p->stride = 640 * 4;
		p->size = 640 * 480 * 4;
		p->region_index = 16;
		return 0;
	}
	case VFIO_DEVICE_BIND_IOMMUFD:
		((struct vfio_device_bind_iommufd *)arg)->out_devid = 4;
		return 0;
	case VFIO_DEVICE_ATTACH_IOMMUFD_PT: {
		uint32_t pt =
			((struct vfio_device_attach_iommufd_pt *)arg)->pt_id;

		if (pt != 5 && !(pt == 9 && f->hwpts))
			return fail(ENOENT);
		f->attached_pt = pt;
		return 0;
	}
	case VGPU_IOMMU_DESTROY:
		if (((struct vgpu_iommu_destroy *)arg)->id == 9) {
			if (!f->hwpts || f->attached_pt == 9)
				return fail(EBUSY);
			f->hwpts--;
		}
		return 0;
	case VGPU_IOMMU_HWPT_ALLOC: {
		struct vgpu_iommu_hwpt_alloc *a = arg;

		if (a->dev_id == 4 && !f->hwpt_dirty)
			return fail(EOPNOTSUPP);
		if (a->dev_id != 4 || a->pt_id != 5 ||
		    a->flags != VGPU_HWPT_ALLOC_DIRTY_TRACKING)
			return fail(EINVAL);
		a->out_hwpt_id = 9;
		f->hwpts++;
		return 0;
	}
	case VGPU_IOMMU_HWPT_SET_DIRTY_TRACKING: {
		struct vgpu_iommu_hwpt_set_dirty_tracking *d = arg;

		if (d->hwpt_id != 9 || !f->hwpts)
			return fail(ENOENT);
		f->dirty_on = d->flags & VGPU_HWPT_DIRTY_TRACKING_ENABLE;
		return 0;
	}
	case VGPU_IOMMU_HWPT_GET_DIRTY_BITMAP: {
		struct vgpu_iommu_hwpt_get_dirty_bitmap *g = arg;
		uint64_t *bm = (uint64_t *)(uintptr_t)g->data;

		if (g->hwpt_id != 9 || !f->dirty_on || g->page_size != 4096)
			return fail(EINVAL);
		/* every other page written */
		for (uint64_t p = 0; p < g->length / 4096; p += 2)
			bm[p / 64] |= 1ull << (p % 64);
		return 0;
	}
	case VGPU_IOMMU_IOAS_ALLOC:
		((struct vgpu_iommu_ioas_alloc *)arg)->out_ioas_id = 5;
		return 0;
	case VGPU_IOMMU_IOAS_IOVA_RANGES: {
		struct vgpu_iommu_ioas_iova_ranges *q = arg;

		if (q->num_iovas < 1) {
			q->num_iovas = 1;
			return fail(EMSGSIZE);
		}
		struct {
			uint64_t start, last;
		} rg = { 0x10000, (1ULL << 39) - 1 };
		memcpy((void *)(uintptr_t)q->allowed_iovas, &rg, sizeof(rg));
		q->num_iovas = 1;
		q->out_iova_alignment = 4096;
		return 0;
	}
	case VGPU_IOMMU_IOAS_MAP:
		f->ioas_maps++;
		return 0;
	case VGPU_IOMMU_IOAS_UNMAP:
		f->dma_unmaps++;
		return 0;
	default:
		return fail(ENOTTY);
	}
}

static ssize_t f_rw(struct fake_vfio *f, void *buf, size_t len, off_t off,
		    bool write)
{
	uint64_t index = (uint64_t)off >> 40,
		 o = (uint64_t)off & ((1ULL << 40) - 1);
	int e;

	if (misbehave(f, &e))
		return fail(e);
	if (!write && f->zero_reads > 0) {
		f->zero_reads--;
		return 0;
	}
	if (f->max_xfer && len > f->max_xfer)
		len = f->max_xfer;
	if (index == 7) {
		if (o >= sizeof(f->config))
			return 0;
		if (len > sizeof(f->config) - o)
			len = sizeof(f->config) - o;
		if (write)
			memcpy(f->config + o, buf, len);
		else
			memcpy(buf, f->config + o, len);
		return (ssize_t)len;
	}
	if (!write)
		memset(buf, 0xab, len);
	return (ssize_t)len;
}

static ssize_t f_pread(void *data, int fd, void *buf, size_t len, off_t off)
{
	(void)fd;
	return f_rw(data, buf, len, off, false);
}

static ssize_t f_pwrite(void *data, int fd, const void *buf, size_t len,
			off_t off)
{
	(void)fd;
	return f_rw(data, (void *)buf, len, off, true);
}

static void *f_mmap(void *data, size_t len, int prot, int fd, off_t off)
{
	struct fake_vfio *f = data;
	int e;

	(void)fd;
	(void)off;
	if (misbehave(f, &e)) {
		errno = e;
		return MAP_FAILED;
	}
	return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void mkdirs(const char *root, const char *rel)
{
	char path[512];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	for (char *p = path + strlen(root) + 1; *p; p++) {
		if (*p == '/') {
			*p = '\0';
			mkdir(path, 0755);
			*p = '/';
		}
	}
	mkdir(path, 0755);
}

static void fake_symlink(const char *root, const char *rel, const char *target)
{
	char path[1200];

	snprintf(path, sizeof(path), "%s/%s", root, rel);
	if (symlink(target, path) < 0)
		abort();
}

/* only the link's last component is read */
static void link_group(const char *root, const char *dev)
{
	char rel[600], target[64];

	snprintf(rel, sizeof(rel), "%s/iommu_group", dev);
	snprintf(target, sizeof(target), "../../../kernel/iommu_groups/%d",
		 FAKE_GROUP);
	fake_symlink(root, rel, target);
}

void fake_vfio_init(struct fake_vfio *f)
{
	memset(f, 0, sizeof(*f));
	snprintf(f->root, sizeof(f->root), "/tmp/fake-vfio-XXXXXX");
	if (!mkdtemp(f->root))
		abort();
	/* an mdev laid out like the kernel's: the device under its parent,
	 * a link to it in bus/mdev/devices */
	mkdirs(f->root, "devices/virtual/mtty/mtty/" FAKE_UUID);
	mkdirs(f->root, "bus/mdev/devices");
	fake_symlink(f->root, "bus/mdev/devices/" FAKE_UUID,
		     "../../../devices/virtual/mtty/mtty/" FAKE_UUID);
	fake_symlink(f->root,
		     "devices/virtual/mtty/mtty/" FAKE_UUID "/mdev_type",
		     "../mdev_supported_types/mtty-1");
	mkdirs(f->root, "bus/pci/devices/" FAKE_BDF "/vfio-dev/vfio3");
	link_group(f->root, "devices/virtual/mtty/mtty/" FAKE_UUID);
	link_group(f->root, "bus/pci/devices/" FAKE_BDF);
	f->sys = (struct vgpu_vfio_sys){ .open = f_open,
					 .close = f_close,
					 .ioctl = f_ioctl,
					 .pread = f_pread,
					 .pwrite = f_pwrite,
					 .mmap = f_mmap,
					 .read = f_read,
					 .write = f_write,
					 .data = f };
	f->mig_state = 2; /* RUNNING */
	f->fail_region = -1;
	/* config space: vendor 0x1af4, capability list at 0x40 (MSI) ->
	 * 0x50 (PCIe), a 64-bit prefetchable BAR0 at 0x1_0000_000c */
	f->config[0] = 0xf4;
	f->config[1] = 0x1a;
	f->config[6] = 0x10;
	f->config[0x10] = 0x0c;
	f->config[0x14] = 0x01;
	f->config[0x34] = 0x40;
	f->config[0x40] = 0x05;
	f->config[0x41] = 0x50;
	f->config[0x50] = 0x10;
	f->config[0x51] = 0x00;
}

void fake_vfio_cleanup(struct fake_vfio *f)
{
	char cmd[600];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", f->root);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", f->root);
}
