/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Kernel VFIO device access: the group/container API with a type1 IOMMU,
 * or the iommufd character device where the kernel has one. Every call to
 * the kernel goes through a struct vgpu_vfio_sys so tests can fake it.
 * Answers from the kernel are checked as untrusted input: argsz values and
 * capability chains are bounded before anything is read through them.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/vfio.h>

#include "device-private.h"
#include "util-sysfs.h"

#include "iommufd-abi.h"

struct kvfio {
	const struct vgpu_vfio_sys *sys;
	int container;
	int group;
	int device;
	int iommufd;
	uint32_t ioas;
	uint32_t devid; /* iommufd's id of the bound device */
	uint32_t hwpt;	/* a dirty-tracking page table attached, or 0 */
	int data_fd;	/* the migration data stream, -1: none */
	enum {
		DIRTY_NONE,
		DIRTY_DEVICE,
		DIRTY_TYPE1,
		DIRTY_HWPT
	} dirty;
	/* device logging: the page read by the trial report at start, and
	 * whether it was dirty (given to the next report that covers it) */
	uint64_t carry_iova;
	bool carry, carry_dirty;
	/* the device's name in its VFIO group: its sysfs directory's name
	 * (an mdev's UUID, a PCI device's address) */
	char name[NAME_MAX + 1];
	char vf_token[37]; /* "": none */
};

/* the largest info answer we accept (argsz); real ones are < 4 KiB */
#define VGPU_VFIO_INFO_MAX (64u * 1024)
/* EINTR retries of one ioctl before giving up */
#define VGPU_VFIO_EINTR_MAX 1000

static const struct vgpu_vfio_sys *sys_of(struct vgpu_ctx *ctx)
{
	return ctx->vfio_sys ? ctx->vfio_sys : &vgpu_vfio_sys_default;
}

static int kopen(const struct vgpu_vfio_sys *sys, const char *path)
{
	for (int i = 0; i < VGPU_VFIO_EINTR_MAX; i++) {
		int fd = sys->open(sys->data, path, O_RDWR | O_CLOEXEC);

		if (fd >= 0)
			return fd;
		if (errno != EINTR)
			return errno ? -errno : -EIO;
	}
	return -EINTR;
}

static void kclose(const struct vgpu_vfio_sys *sys, int *fd)
{
	if (*fd >= 0)
		sys->close(sys->data, *fd);
	*fd = -1;
}

/* an ioctl, retried on EINTR; returns its (>= 0) result or -errno */
static int kioctl(const struct vgpu_vfio_sys *sys, int fd, unsigned long req,
		  void *arg)
{
	for (int i = 0; i < VGPU_VFIO_EINTR_MAX; i++) {
		int r = sys->ioctl(sys->data, fd, req, arg);

		if (r >= 0)
			return r;
		if (errno != EINTR)
			return errno ? -errno : -EIO;
	}
	return -EINTR;
}

static struct kvfio *K(struct vgpu_handle *h)
{
	return h->priv;
}

/*
 * The two-call argsz protocol: ask with @min bytes; when the answer wants
 * more, ask again with exactly that much. Returns a malloc'd answer of
 * *@len_ret bytes (>= @min). @init fills the request (argsz set here).
 */
static int info_call(struct vgpu_handle *h, int fd, unsigned long req,
		     size_t min, void (*init)(void *buf, void *data),
		     void *data, void **ret, size_t *len_ret)
{
	const struct vgpu_vfio_sys *sys = K(h)->sys;
	uint32_t want;
	void *buf = calloc(1, min);
	int r;

	if (!buf)
		return -ENOMEM;
	init(buf, data);
	*(uint32_t *)buf = (uint32_t)min;
	r = kioctl(sys, fd, req, buf);
	if (r < 0)
		goto fail;
	want = *(uint32_t *)buf;
	if (want > min) {
		void *big;

		if (want > VGPU_VFIO_INFO_MAX) {
			err(h->ctx,
			    "%s: the kernel asks for %u bytes of info, more than %u",
			    h->id, want, VGPU_VFIO_INFO_MAX);
			r = -EBADMSG;
			goto fail;
		}
		big = calloc(1, want);
		if (!big) {
			r = -ENOMEM;
			goto fail;
		}
		free(buf);
		buf = big;
		init(buf, data);
		*(uint32_t *)buf = want;
		r = kioctl(sys, fd, req, buf);
		if (r < 0)
			goto fail;
		if (*(uint32_t *)buf > want) {
			err(h->ctx,
			    "%s: info grew from %u to %u bytes between two calls",
			    h->id, want, *(uint32_t *)buf);
			r = -EBADMSG;
			goto fail;
		}
		min = want;
	}
	*ret = buf;
	*len_ret = min;
	return 0;
fail:
	free(buf);
	return r;
}

/*
 * Walk a capability chain inside @buf (@len bytes, chain starting at
 * @first, headers at least @hdr_min bytes past the fixed part @fixed):
 * calls @fn for each. A chain that points outside the buffer, into the
 * fixed part, or that visits more headers than fit is refused.
 */
static int walk_caps(struct vgpu_handle *h, const uint8_t *buf, size_t len,
		     size_t fixed, uint32_t first,
		     int (*fn)(struct vgpu_handle *h, const uint8_t *cap,
			       size_t room, void *data),
		     void *data)
{
	size_t max_hops = len / sizeof(struct vfio_info_cap_header);
	uint32_t off = first;

	for (size_t hops = 0; off; hops++) {
		const struct vfio_info_cap_header *hdr;
		int r;

		if (hops >= max_hops) {
			err(h->ctx, "%s: capability chain loops", h->id);
			return -EBADMSG;
		}
		if (off < fixed || off > len ||
		    len - off < sizeof(struct vfio_info_cap_header) ||
		    off % 4) {
			err(h->ctx,
			    "%s: capability at %u outside the %zu-byte answer",
			    h->id, off, len);
			return -EBADMSG;
		}
		hdr = (const void *)(buf + off);
		r = fn(h, buf + off, len - off, data);
		if (r < 0)
			return r;
		off = hdr->next;
	}
	return 0;
}

static void region_init(void *buf, void *data)
{
	struct vfio_region_info *ri = buf;

	ri->index = *(unsigned int *)data;
}

static int region_cap(struct vgpu_handle *h, const uint8_t *cap, size_t room,
		      void *data)
{
	const struct vfio_info_cap_header *hdr = (const void *)cap;
	struct vgpu_region *r = data;

	if (hdr->id == VFIO_REGION_INFO_CAP_SPARSE_MMAP) {
		const struct vfio_region_info_cap_sparse_mmap *sp =
			(const void *)cap;
		size_t need;

		if (room < sizeof(*sp))
			goto short_cap;
		need = sizeof(*sp) +
		       (size_t)sp->nr_areas * sizeof(sp->areas[0]);
		if (sp->nr_areas > room / sizeof(sp->areas[0]) || need > room)
			goto short_cap;
		if (r->has_sparse) {
			err(h->ctx, "%s: region %u has two sparse capabilities",
			    h->id, r->index);
			return -EBADMSG;
		}
		r->has_sparse = true;
		if (!sp->nr_areas)
			return 0;
		r->sparse = calloc(sp->nr_areas, sizeof(*r->sparse));
		if (!r->sparse)
			return -ENOMEM;
		for (uint32_t i = 0; i < sp->nr_areas; i++) {
			struct vfio_region_sparse_mmap_area a;

			memcpy(&a, cap + sizeof(*sp) + i * sizeof(a),
			       sizeof(a));
			if (a.size > r->size || a.offset > r->size - a.size) {
				err(h->ctx,
				    "%s: region %u: sparse area %u (+%llu, %llu bytes) outside the region",
				    h->id, r->index, i,
				    (unsigned long long)a.offset,
				    (unsigned long long)a.size);
				return -EBADMSG;
			}
			r->sparse[i].offset = a.offset;
			r->sparse[i].size = a.size;
		}
		r->n_sparse = sp->nr_areas;
	} else if (hdr->id == VFIO_REGION_INFO_CAP_TYPE) {
		const struct vfio_region_info_cap_type *t = (const void *)cap;

		if (room < sizeof(*t))
			goto short_cap;
		r->has_type = true;
		r->type = t->type;
		r->subtype = t->subtype;
	}
	return 0;
short_cap:
	err(h->ctx, "%s: region %u: capability %u does not fit the answer",
	    h->id, r->index, hdr->id);
	return -EBADMSG;
}

static int k_region_info(struct vgpu_handle *h, unsigned int index,
			 struct vgpu_region *out)
{
	struct vfio_region_info *ri;
	void *buf;
	size_t len;
	int r;

	r = info_call(h, K(h)->device, VFIO_DEVICE_GET_REGION_INFO, sizeof(*ri),
		      region_init, &index, &buf, &len);
	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	ri = buf;
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->size = ri->size;
	out->offset = ri->offset;
	if (ri->flags & VFIO_REGION_INFO_FLAG_READ)
		out->flags |= VGPU_REGION_READ;
	if (ri->flags & VFIO_REGION_INFO_FLAG_WRITE)
		out->flags |= VGPU_REGION_WRITE;
	if (ri->flags & VFIO_REGION_INFO_FLAG_MMAP)
		out->flags |= VGPU_REGION_MMAP;
	if ((ri->flags & VFIO_REGION_INFO_FLAG_CAPS) && ri->cap_offset)
		r = walk_caps(h, buf, len, sizeof(*ri), ri->cap_offset,
			      region_cap, out);
	free(buf);
	if (r < 0) {
		vgpu_region_clear(out);
		return r;
	}
	if (out->has_sparse && !out->n_sparse)
		out->flags &= ~(uint32_t)VGPU_REGION_MMAP;
	return 0;
}

static ssize_t k_region_rw(struct vgpu_handle *h, const struct vgpu_region *r,
			   uint64_t offset, void *buf, size_t len, bool write)
{
	const struct vgpu_vfio_sys *sys = K(h)->sys;
	ssize_t n;

	if (r->offset > (uint64_t)INT64_MAX - offset)
		return -ERANGE;
	errno = 0;
	n = write ? sys->pwrite(sys->data, K(h)->device, buf, len,
				(off_t)(r->offset + offset))
		  : sys->pread(sys->data, K(h)->device, buf, len,
			       (off_t)(r->offset + offset));
	if (n < 0)
		return errno ? -errno : -EIO;
	if ((size_t)n > len)
		return -EIO;
	return n;
}

static int k_region_mmap(struct vgpu_handle *h, const struct vgpu_region *r,
			 uint64_t offset, size_t len, int prot, void **ret)
{
	const struct vgpu_vfio_sys *sys = K(h)->sys;
	void *p;

	errno = 0;
	p = sys->mmap(sys->data, len, prot, K(h)->device,
		      (off_t)(r->offset + offset));
	if (p == MAP_FAILED)
		return errno ? -errno : -EIO;
	*ret = p;
	return 0;
}

static int k_irq_info(struct vgpu_handle *h, unsigned int index,
		      uint32_t *count, uint32_t *flags)
{
	struct vfio_irq_info ii = { .argsz = sizeof(ii), .index = index };
	int r = kioctl(K(h)->sys, K(h)->device, VFIO_DEVICE_GET_IRQ_INFO, &ii);

	if (r < 0)
		return r == -EINVAL ? -ENOENT : r;
	*count = ii.count;
	*flags = 0;
	if (ii.flags & VFIO_IRQ_INFO_EVENTFD)
		*flags |= VGPU_IRQ_EVENTFD;
	if (ii.flags & VFIO_IRQ_INFO_MASKABLE)
		*flags |= VGPU_IRQ_MASKABLE;
	if (ii.flags & VFIO_IRQ_INFO_AUTOMASKED)
		*flags |= VGPU_IRQ_AUTOMASKED;
	if (ii.flags & VFIO_IRQ_INFO_NORESIZE)
		*flags |= VGPU_IRQ_NORESIZE;
	return 0;
}

static int k_set_irqs(struct vgpu_handle *h, unsigned int index,
		      enum vgpu_irq_action action, unsigned int start,
		      unsigned int count, const int *fds)
{
	size_t data =
		action == VGPU_IRQ_ACT_EVENTFDS ? count * sizeof(int32_t) : 0;
	struct vfio_irq_set *s = calloc(1, sizeof(*s) + data);
	int r;

	if (!s)
		return -ENOMEM;
	s->argsz = (uint32_t)(sizeof(*s) + data);
	s->index = index;
	s->start = start;
	s->count = count;
	switch (action) {
	case VGPU_IRQ_ACT_EVENTFDS:
		s->flags =
			VFIO_IRQ_SET_DATA_EVENTFD | VFIO_IRQ_SET_ACTION_TRIGGER;
		for (unsigned int i = 0; i < count; i++) {
			int32_t fd = fds[i];

			memcpy(s->data + i * sizeof(fd), &fd, sizeof(fd));
		}
		break;
	case VGPU_IRQ_ACT_DISABLE:
		if (count) { /* eventfd -1 for each vector of the range */
			free(s);
			int *none = malloc(count * sizeof(int));

			if (!none)
				return -ENOMEM;
			for (unsigned int i = 0; i < count; i++)
				none[i] = -1;
			r = k_set_irqs(h, index, VGPU_IRQ_ACT_EVENTFDS, start,
				       count, none);
			free(none);
			return r;
		}
		s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
		s->start = 0;
		break;
	case VGPU_IRQ_ACT_MASK:
		s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_MASK;
		break;
	case VGPU_IRQ_ACT_UNMASK:
		s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_UNMASK;
		break;
	case VGPU_IRQ_ACT_TRIGGER:
		s->flags = VFIO_IRQ_SET_DATA_NONE | VFIO_IRQ_SET_ACTION_TRIGGER;
		break;
	}
	r = kioctl(K(h)->sys, K(h)->device, VFIO_DEVICE_SET_IRQS, s);
	free(s);
	return r < 0 ? r : 0;
}

static int k_dma_map(struct vgpu_handle *h, void *vaddr, uint64_t iova,
		     uint64_t len, uint32_t prot)
{
	struct kvfio *k = K(h);
	int r;

	if (k->iommufd >= 0) {
		struct vgpu_iommu_ioas_map m = {
			.size = sizeof(m),
			.flags = VGPU_IOAS_MAP_FIXED_IOVA,
			.ioas_id = k->ioas,
			.user_va = (uintptr_t)vaddr,
			.length = len,
			.iova = iova,
		};

		if (prot & VGPU_DMA_READ)
			m.flags |= VGPU_IOAS_MAP_READABLE;
		if (prot & VGPU_DMA_WRITE)
			m.flags |= VGPU_IOAS_MAP_WRITEABLE;
		r = kioctl(k->sys, k->iommufd, VGPU_IOMMU_IOAS_MAP, &m);
	} else {
		struct vfio_iommu_type1_dma_map m = {
			.argsz = sizeof(m),
			.vaddr = (uintptr_t)vaddr,
			.iova = iova,
			.size = len,
		};

		if (prot & VGPU_DMA_READ)
			m.flags |= VFIO_DMA_MAP_FLAG_READ;
		if (prot & VGPU_DMA_WRITE)
			m.flags |= VFIO_DMA_MAP_FLAG_WRITE;
		r = kioctl(k->sys, k->container, VFIO_IOMMU_MAP_DMA, &m);
	}
	return r < 0 ? r : 0;
}

static int k_dma_unmap(struct vgpu_handle *h, uint64_t iova, uint64_t len)
{
	struct kvfio *k = K(h);
	uint64_t done;
	int r;

	if (k->iommufd >= 0) {
		struct vgpu_iommu_ioas_unmap u = {
			.size = sizeof(u),
			.ioas_id = k->ioas,
			.iova = iova,
			.length = len,
		};

		r = kioctl(k->sys, k->iommufd, VGPU_IOMMU_IOAS_UNMAP, &u);
		done = u.length;
	} else {
		struct vfio_iommu_type1_dma_unmap u = {
			.argsz = sizeof(u),
			.iova = iova,
			.size = len,
		};

		r = kioctl(k->sys, k->container, VFIO_IOMMU_UNMAP_DMA, &u);
		done = u.size;
	}
	if (r < 0)
		return r;
	if (done != len) {
		err(h->ctx,
		    "%s: the kernel unmapped %llu of %llu bytes at 0x%llx",
		    h->id, (unsigned long long)done, (unsigned long long)len,
		    (unsigned long long)iova);
		return -EIO;
	}
	return 0;
}

static int k_reset(struct vgpu_handle *h)
{
	int r = kioctl(K(h)->sys, K(h)->device, VFIO_DEVICE_RESET, NULL);

	if (r < 0)
		return r;
	/* a reset device is RUNNING: its migration stream is over */
	kclose(K(h)->sys, &K(h)->data_fd);
	return 0;
}

/* ---- migration v2 ---- */

/* a VFIO_DEVICE_FEATURE call with @len bytes of @data after the header */
static int feature(struct vgpu_handle *h, uint32_t flags, void *data,
		   size_t len)
{
	struct {
		struct vfio_device_feature f;
		uint8_t data[64];
	} q;
	int r;

	if (len > sizeof(q.data))
		return -EINVAL;
	memset(&q, 0, sizeof(q));
	q.f.argsz = (uint32_t)(sizeof(q.f) + len);
	q.f.flags = flags;
	if (len)
		memcpy(q.data, data, len);
	r = kioctl(K(h)->sys, K(h)->device, VFIO_DEVICE_FEATURE, &q);
	if (r < 0)
		return r;
	if (len)
		memcpy(data, q.data, len);
	return 0;
}

static int k_mig_get_state(struct vgpu_handle *h)
{
	struct vfio_device_feature_mig_state s = { .data_fd = -1 };
	int r = feature(h,
			VFIO_DEVICE_FEATURE_GET |
				VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			&s, sizeof(s));

	if (r < 0)
		return r;
	if (s.device_state > VGPU_MIG_PRE_COPY_P2P) {
		err(h->ctx, "%s: unknown migration state %u", h->id,
		    s.device_state);
		return -EBADMSG;
	}
	return (int)s.device_state;
}

static bool has_stream(enum vgpu_migration_state s)
{
	return s == VGPU_MIG_STOP_COPY || s == VGPU_MIG_PRE_COPY ||
	       s == VGPU_MIG_PRE_COPY_P2P || s == VGPU_MIG_RESUMING;
}

/*
 * One arc. The kernel hands out a new data fd when an arc starts a stream
 * (into STOP_COPY from STOP, into PRE_COPY, into RESUMING) and keeps the
 * old one for arcs inside one (PRE_COPY -> PRE_COPY_P2P -> STOP_COPY).
 */
static int k_mig_set_state(struct vgpu_handle *h,
			   enum vgpu_migration_state state)
{
	struct kvfio *k = K(h);
	struct vfio_device_feature_mig_state s = {
		.device_state = state,
		.data_fd = -1,
	};
	int r = feature(h,
			VFIO_DEVICE_FEATURE_SET |
				VFIO_DEVICE_FEATURE_MIG_DEVICE_STATE,
			&s, sizeof(s));

	if (r < 0)
		return r;
	if (s.data_fd >= 0) {
		if (!has_stream(state)) {
			err(h->ctx,
			    "%s: the kernel gave a data fd for state %s", h->id,
			    vgpu_migration_state_name(state));
			k->sys->close(k->sys->data, s.data_fd);
			return -EBADMSG;
		}
		kclose(k->sys, &k->data_fd);
		k->data_fd = s.data_fd;
	}
	if (!has_stream(state))
		kclose(k->sys, &k->data_fd);
	else if (k->data_fd < 0) {
		err(h->ctx, "%s: no data fd for migration state %s", h->id,
		    vgpu_migration_state_name(state));
		return -EBADMSG;
	}
	return 0;
}

static ssize_t k_mig_read(struct vgpu_handle *h, void *buf, size_t len)
{
	struct kvfio *k = K(h);

	if (k->data_fd < 0)
		return -EINVAL;
	for (int i = 0; i < VGPU_VFIO_EINTR_MAX; i++) {
		ssize_t n;

		errno = 0;
		n = k->sys->read(k->sys->data, k->data_fd, buf, len);
		if (n >= 0)
			return (size_t)n > len ? -EIO : n;
		if (errno == ENOMSG)
			return 0; /* PRE_COPY: nothing more for now */
		if (errno != EINTR)
			return errno ? -errno : -EIO;
	}
	return -EINTR;
}

static int k_mig_write(struct vgpu_handle *h, const void *buf, size_t len)
{
	struct kvfio *k = K(h);
	size_t done = 0;
	int intr = 0, stalls = 0;

	if (k->data_fd < 0)
		return -EINVAL;
	while (done < len) {
		ssize_t n;

		errno = 0;
		n = k->sys->write(k->sys->data, k->data_fd,
				  (const uint8_t *)buf + done, len - done);
		if (n < 0 && errno == EINTR && ++intr < VGPU_VFIO_EINTR_MAX)
			continue;
		if (n < 0)
			return errno ? -errno : -EIO;
		if ((size_t)n > len - done)
			return -EIO;
		if (n == 0 && ++stalls >= 3) {
			err(h->ctx,
			    "%s: the device takes no more migration data",
			    h->id);
			return -EIO;
		}
		done += (size_t)n;
	}
	return 0;
}

static int k_mig_precopy_info(struct vgpu_handle *h, uint64_t *initial,
			      uint64_t *dirty)
{
	struct vfio_precopy_info pi = { .argsz = sizeof(pi) };
	int r;

	if (K(h)->data_fd < 0)
		return -EINVAL;
	r = kioctl(K(h)->sys, K(h)->data_fd, VFIO_MIG_GET_PRECOPY_INFO, &pi);
	if (r < 0)
		return r;
	*initial = pi.initial_bytes;
	*dirty = pi.dirty_bytes;
	return 0;
}

/* ---- dirty page tracking: the device's DMA logging, else type1's ---- */

static int dev_logging_start(struct vgpu_handle *h, uint64_t pgsize,
			     const struct vgpu_iova_range *w, size_t n)
{
	struct vfio_device_feature_dma_logging_range *rg;
	struct vfio_device_feature_dma_logging_control c = {
		.page_size = pgsize,
		.num_ranges = (uint32_t)n,
	};
	int r;

	rg = calloc(n, sizeof(*rg));
	if (!rg)
		return -ENOMEM;
	for (size_t i = 0; i < n; i++) {
		rg[i].iova = w[i].start;
		rg[i].length = w[i].last - w[i].start + 1;
	}
	c.ranges = (uintptr_t)rg;
	r = feature(h,
		    VFIO_DEVICE_FEATURE_SET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_START,
		    &c, sizeof(c));
	free(rg);
	return r;
}

static int dev_logging_report(struct vgpu_handle *h, uint64_t iova,
			      uint64_t len, uint64_t pgsize, uint64_t *bitmap)
{
	struct vfio_device_feature_dma_logging_report rep = {
		.iova = iova,
		.length = len,
		.page_size = pgsize,
		.bitmap = (uintptr_t)bitmap,
	};

	return feature(h,
		       VFIO_DEVICE_FEATURE_GET |
			       VFIO_DEVICE_FEATURE_DMA_LOGGING_REPORT,
		       &rep, sizeof(rep));
}

static void hwpt_drop(struct vgpu_handle *h)
{
	struct kvfio *k = K(h);
	struct vgpu_iommu_destroy d = { .size = sizeof(d), .id = k->hwpt };

	if (!k->hwpt)
		return;
	if (k->device >= 0) {
		/* back to the IOAS's own page table */
		struct vfio_device_attach_iommufd_pt at = {
			.argsz = sizeof(at),
			.pt_id = k->ioas,
		};

		kioctl(k->sys, k->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	}
	kioctl(k->sys, k->iommufd, VGPU_IOMMU_DESTROY, &d);
	k->hwpt = 0;
}

/*
 * The IOMMU's dirty tracking through iommufd: a hardware page table over
 * the same IOAS, allocated with dirty tracking, takes the device's place;
 * the IOMMU driver refuses it where the hardware (or an emulated IOMMU)
 * cannot track.
 */
static int hwpt_dirty_start(struct vgpu_handle *h)
{
	struct kvfio *k = K(h);
	struct vgpu_iommu_hwpt_alloc a = {
		.size = sizeof(a),
		.flags = VGPU_HWPT_ALLOC_DIRTY_TRACKING,
		.dev_id = k->devid,
		.pt_id = k->ioas,
	};
	struct vfio_device_attach_iommufd_pt at = { .argsz = sizeof(at) };
	struct vgpu_iommu_hwpt_set_dirty_tracking on = {
		.size = sizeof(on),
		.flags = VGPU_HWPT_DIRTY_TRACKING_ENABLE,
	};
	int r = kioctl(k->sys, k->iommufd, VGPU_IOMMU_HWPT_ALLOC, &a);

	if (r < 0) {
		/* ENOENT: the bound object is no physical device (an mdev
		 * binds as an emulated access, with no IOMMU behind it);
		 * EOPNOTSUPP: an IOMMU without dirty bits (QEMU's intel-iommu) */
		bool no = r == -ENOENT || r == -EOPNOTSUPP || r == -EINVAL ||
			  r == -ENOTTY;

		err(h->ctx,
		    "%s: no dirty tracking: the device has no DMA logging, and %s (%s)",
		    h->id,
		    r == -ENOENT
			    ? "an emulated device has no IOMMU page table to track"
			    : "its IOMMU refuses a dirty-tracking page table",
		    strerror(-r));
		return no ? -EOPNOTSUPP : r;
	}
	k->hwpt = a.out_hwpt_id;
	at.pt_id = k->hwpt;
	r = kioctl(k->sys, k->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	if (r < 0) {
		struct vgpu_iommu_destroy d = { .size = sizeof(d),
						.id = k->hwpt };

		err(h->ctx,
		    "%s: cannot attach the dirty-tracking page table: %s",
		    h->id, strerror(-r));
		kioctl(k->sys, k->iommufd, VGPU_IOMMU_DESTROY, &d);
		k->hwpt = 0;
		return r;
	}
	on.hwpt_id = k->hwpt;
	r = kioctl(k->sys, k->iommufd, VGPU_IOMMU_HWPT_SET_DIRTY_TRACKING, &on);
	if (r < 0) {
		err(h->ctx, "%s: the IOMMU does not start tracking: %s", h->id,
		    strerror(-r));
		hwpt_drop(h);
		return r;
	}
	k->dirty = DIRTY_HWPT;
	return 0;
}

static int k_dirty_start(struct vgpu_handle *h, uint64_t pgsize,
			 const struct vgpu_iova_range *w, size_t n)
{
	struct kvfio *k = K(h);
	struct vfio_iommu_type1_dirty_bitmap d = {
		.argsz = sizeof(d),
		.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_START,
	};
	int r = dev_logging_start(h, pgsize, w, n);

	if (r == 0) {
		/* a device can log while the kernel cannot hand the log out
		 * (a kernel without CONFIG_IOMMUFD_DRIVER has no iova_bitmap:
		 * EOPNOTSUPP); read one page now, keep its bit for later */
		uint64_t word = 0;

		r = dev_logging_report(h, w[0].start, pgsize, pgsize, &word);
		if (r == 0) {
			k->dirty = DIRTY_DEVICE;
			k->carry = true;
			k->carry_iova = w[0].start;
			k->carry_dirty = word & 1;
			return 0;
		}
		feature(h,
			VFIO_DEVICE_FEATURE_SET |
				VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
			NULL, 0);
		if (r != -EOPNOTSUPP)
			return r;
		info(h->ctx,
		     "%s: the device logs DMA but the kernel cannot report the log (EOPNOTSUPP)",
		     h->id);
	}
	if (r != -ENOTTY && r != -EINVAL && r != -EOPNOTSUPP)
		return r;
	info(h->ctx,
	     "%s: the device has no DMA logging (%s); trying the IOMMU's",
	     h->id, strerror(-r));
	if (k->iommufd >= 0)
		return hwpt_dirty_start(h);
	if (pgsize != (h->pgsizes & -h->pgsizes)) {
		err(h->ctx,
		    "%s: the type1 IOMMU tracks in its smallest page, %llu bytes, not %llu",
		    h->id, (unsigned long long)(h->pgsizes & -h->pgsizes),
		    (unsigned long long)pgsize);
		return -EINVAL;
	}
	r = kioctl(k->sys, k->container, VFIO_IOMMU_DIRTY_PAGES, &d);
	if (r < 0) {
		err(h->ctx,
		    "%s: no dirty tracking: the device has no DMA logging and the type1 IOMMU refuses to track (%s)",
		    h->id, strerror(-r));
		return r == -ENOTTY || r == -EINVAL ? -EOPNOTSUPP : r;
	}
	k->dirty = DIRTY_TYPE1;
	return 0;
}

static int k_dirty_report(struct vgpu_handle *h, uint64_t iova, uint64_t len,
			  uint64_t pgsize, uint64_t *bitmap)
{
	struct kvfio *k = K(h);
	uint64_t bytes = (len / pgsize + 63) / 64 * 8;

	if (k->dirty == DIRTY_DEVICE) {
		int r = dev_logging_report(h, iova, len, pgsize, bitmap);

		if (r == 0 && k->carry && k->carry_iova >= iova &&
		    k->carry_iova - iova < len) {
			uint64_t p = (k->carry_iova - iova) / pgsize;

			if (k->carry_dirty)
				bitmap[p / 64] |= 1ull << (p % 64);
			k->carry = false;
		}
		return r;
	}
	if (k->dirty == DIRTY_HWPT) {
		struct vgpu_iommu_hwpt_get_dirty_bitmap g = {
			.size = sizeof(g),
			.hwpt_id = k->hwpt,
			.iova = iova,
			.length = len,
			.page_size = pgsize,
			.data = (uintptr_t)bitmap,
		};
		int r = kioctl(k->sys, k->iommufd,
			       VGPU_IOMMU_HWPT_GET_DIRTY_BITMAP, &g);

		return r < 0 ? r : 0;
	}
	struct {
		struct vfio_iommu_type1_dirty_bitmap d;
		struct vfio_iommu_type1_dirty_bitmap_get g;
	} q;
	int r;

	memset(&q, 0, sizeof(q));
	q.d.argsz = sizeof(q);
	q.d.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_GET_BITMAP;
	q.g.iova = iova;
	q.g.size = len;
	q.g.bitmap.pgsize = pgsize;
	q.g.bitmap.size = bytes;
	q.g.bitmap.data = (__u64 *)bitmap;
	r = kioctl(k->sys, k->container, VFIO_IOMMU_DIRTY_PAGES, &q);
	if (r == -EINVAL)
		err(h->ctx,
		    "%s: the type1 IOMMU reports whole DMA windows only (0x%llx+0x%llx refused)",
		    h->id, (unsigned long long)iova, (unsigned long long)len);
	return r < 0 ? r : 0;
}

static int k_dirty_stop(struct vgpu_handle *h)
{
	struct kvfio *k = K(h);
	int r;

	if (k->dirty == DIRTY_DEVICE) {
		r = feature(h,
			    VFIO_DEVICE_FEATURE_SET |
				    VFIO_DEVICE_FEATURE_DMA_LOGGING_STOP,
			    NULL, 0);
	} else if (k->dirty == DIRTY_HWPT) {
		struct vgpu_iommu_hwpt_set_dirty_tracking off = {
			.size = sizeof(off),
			.hwpt_id = k->hwpt,
		};

		r = kioctl(k->sys, k->iommufd,
			   VGPU_IOMMU_HWPT_SET_DIRTY_TRACKING, &off);
		hwpt_drop(h);
	} else {
		struct vfio_iommu_type1_dirty_bitmap d = {
			.argsz = sizeof(d),
			.flags = VFIO_IOMMU_DIRTY_PAGES_FLAG_STOP,
		};

		r = kioctl(k->sys, k->container, VFIO_IOMMU_DIRTY_PAGES, &d);
	}
	k->dirty = DIRTY_NONE;
	return r < 0 ? r : 0;
}

static int k_set_vf_token(struct vgpu_handle *h, const uint8_t uuid[16])
{
	uint8_t u[16];
	int r;

	memcpy(u, uuid, sizeof(u));
	r = feature(h,
		    VFIO_DEVICE_FEATURE_SET | VFIO_DEVICE_FEATURE_PCI_VF_TOKEN,
		    u, sizeof(u));
	if (r == -ENOTTY || r == -EINVAL)
		return -ENOTSUP;
	return r;
}

static int k_probe_feature(struct vgpu_handle *h, unsigned int feature,
			   uint64_t *data)
{
	struct {
		struct vfio_device_feature f;
		uint64_t payload[2];
	} q;
	int r;

	memset(&q, 0, sizeof(q));
	q.f.argsz = sizeof(q.f);
	switch (feature) {
	case VGPU_FEATURE_MIGRATION:
		q.f.argsz = sizeof(q.f) +
			    sizeof(struct vfio_device_feature_migration);
		q.f.flags =
			VFIO_DEVICE_FEATURE_GET | VFIO_DEVICE_FEATURE_MIGRATION;
		break;
	case VGPU_FEATURE_DMA_LOGGING:
		q.f.flags = VFIO_DEVICE_FEATURE_PROBE |
			    VFIO_DEVICE_FEATURE_SET |
			    VFIO_DEVICE_FEATURE_DMA_LOGGING_START;
		break;
	default:
		return -EINVAL;
	}
	r = kioctl(K(h)->sys, K(h)->device, VFIO_DEVICE_FEATURE, &q);
	if (r == -ENODEV || r == -ENOMEM || r == -EFAULT)
		return r;
	if (r < 0)
		return 0; /* ENOTTY, EINVAL, ENOTSUP: not offered */
	if (feature == VGPU_FEATURE_MIGRATION)
		memcpy(data, q.payload, sizeof(*data));
	else
		*data = 0;
	return 1;
}

static int k_query_plane(struct vgpu_handle *h, unsigned int type, bool dmabuf,
			 bool probe, struct vgpu_plane_info *info)
{
	struct vfio_device_gfx_plane_info p = {
		.argsz = sizeof(p),
		.flags = (dmabuf ? VFIO_GFX_PLANE_TYPE_DMABUF
				 : VFIO_GFX_PLANE_TYPE_REGION) |
			 (probe ? VFIO_GFX_PLANE_TYPE_PROBE : 0),
		.drm_plane_type = type,
	};
	int r = kioctl(K(h)->sys, K(h)->device, VFIO_DEVICE_QUERY_GFX_PLANE,
		       &p);

	if (r < 0 || probe)
		return r < 0 ? r : 0;
	info->kind = dmabuf ? VGPU_PLANE_DMABUF : VGPU_PLANE_REGION;
	info->drm_format = p.drm_format;
	info->drm_format_mod = p.drm_format_mod;
	info->width = p.width;
	info->height = p.height;
	info->stride = p.stride;
	info->x_pos = p.x_pos;
	info->y_pos = p.y_pos;
	info->x_hot = p.x_hot;
	info->y_hot = p.y_hot;
	info->plane_size = p.size;
	if (dmabuf)
		info->dmabuf_id = p.dmabuf_id;
	else
		info->region_index = p.region_index;
	return 0;
}

static int k_get_dmabuf(struct vgpu_handle *h, uint32_t id)
{
	__u32 arg = id;

	return kioctl(K(h)->sys, K(h)->device, VFIO_DEVICE_GET_GFX_DMABUF,
		      &arg);
}

static void k_close(struct vgpu_handle *h)
{
	struct kvfio *k = K(h);

	if (!k)
		return;
	kclose(k->sys, &k->data_fd);
	kclose(k->sys, &k->device);
	hwpt_drop(h);
	if (k->iommufd >= 0 && k->ioas) {
		struct vgpu_iommu_destroy d = { .size = sizeof(d),
						.id = k->ioas };

		kioctl(k->sys, k->iommufd, VGPU_IOMMU_DESTROY, &d);
	}
	kclose(k->sys, &k->iommufd);
	kclose(k->sys, &k->group);
	kclose(k->sys, &k->container);
	free(k);
	h->priv = NULL;
}

#define K_OPS(acc)                                                             \
	{                                                                      \
		.access = acc, .close = k_close, .region_info = k_region_info, \
		.region_rw = k_region_rw, .region_mmap = k_region_mmap,        \
		.irq_info = k_irq_info, .set_irqs = k_set_irqs,                \
		.dma_map = k_dma_map, .dma_unmap = k_dma_unmap,                \
		.reset = k_reset, .probe_feature = k_probe_feature,            \
		.query_plane = k_query_plane, .get_dmabuf = k_get_dmabuf,      \
		.mig_get_state = k_mig_get_state,                              \
		.mig_set_state = k_mig_set_state, .mig_read = k_mig_read,      \
		.mig_write = k_mig_write,                                      \
		.mig_precopy_info = k_mig_precopy_info,                        \
		.dirty_start = k_dirty_start, .dirty_report = k_dirty_report,  \
		.dirty_stop = k_dirty_stop, .set_vf_token = k_set_vf_token,    \
	}
static const struct vgpu_handle_ops k_group_ops = K_OPS("vfio-group");
static const struct vgpu_handle_ops k_iommufd_ops = K_OPS("iommufd");

static int add_range(struct vgpu_handle *h, uint64_t start, uint64_t last)
{
	struct vgpu_iova_range *n;

	if (last < start)
		return -EBADMSG;
	n = realloc(h->iova, (h->n_iova + 1) * sizeof(*n));
	if (!n)
		return -ENOMEM;
	h->iova = n;
	n[h->n_iova].start = start;
	n[h->n_iova].last = last;
	h->n_iova++;
	return 0;
}

static int iommu_cap(struct vgpu_handle *h, const uint8_t *cap, size_t room,
		     void *data)
{
	const struct vfio_info_cap_header *hdr = (const void *)cap;
	const struct vfio_iommu_type1_info_cap_iova_range *c =
		(const void *)cap;

	(void)data;
	if (hdr->id != VFIO_IOMMU_TYPE1_INFO_CAP_IOVA_RANGE)
		return 0;
	if (room < sizeof(*c) ||
	    c->nr_iovas > (room - sizeof(*c)) / sizeof(c->iova_ranges[0])) {
		err(h->ctx, "%s: IOVA range capability does not fit the answer",
		    h->id);
		return -EBADMSG;
	}
	if (h->n_iova) {
		err(h->ctx, "%s: two IOVA range capabilities", h->id);
		return -EBADMSG;
	}
	for (uint32_t i = 0; i < c->nr_iovas; i++) {
		struct vfio_iova_range rg;
		int r;

		memcpy(&rg, cap + sizeof(*c) + i * sizeof(rg), sizeof(rg));
		r = add_range(h, rg.start, rg.end);
		if (r < 0) {
			err(h->ctx, "%s: malformed IOVA range %u", h->id, i);
			return r;
		}
	}
	return 0;
}

static void nothing(void *buf, void *data)
{
	(void)buf;
	(void)data;
}

static int type1_info(struct vgpu_handle *h)
{
	struct vfio_iommu_type1_info *ii;
	void *buf;
	size_t len;
	int r;

	r = info_call(h, K(h)->container, VFIO_IOMMU_GET_INFO, sizeof(*ii),
		      nothing, NULL, &buf, &len);
	if (r < 0)
		return r;
	ii = buf;
	if (ii->flags & VFIO_IOMMU_INFO_PGSIZES)
		h->pgsizes = ii->iova_pgsizes;
	if ((ii->flags & VFIO_IOMMU_INFO_CAPS) && ii->cap_offset)
		r = walk_caps(h, buf, len, sizeof(*ii), ii->cap_offset,
			      iommu_cap, NULL);
	free(buf);
	return r;
}

static int open_group(struct vgpu_handle *h)
{
	struct kvfio *k = K(h);
	struct vfio_group_status st = { .argsz = sizeof(st) };
	char path[64];
	int r, type;

	k->container = r = kopen(k->sys, "/dev/vfio/vfio");
	if (r < 0) {
		err(h->ctx, "%s: cannot open /dev/vfio/vfio: %s", h->id,
		    strerror(-r));
		return r == -ENOENT ? -ENODEV : r;
	}
	r = kioctl(k->sys, k->container, VFIO_GET_API_VERSION, NULL);
	if (r != VFIO_API_VERSION) {
		err(h->ctx, "%s: VFIO API version %d, not %d", h->id, r,
		    VFIO_API_VERSION);
		return r < 0 ? r : -ENOTSUP;
	}
	type = VFIO_TYPE1v2_IOMMU;
	if (kioctl(k->sys, k->container, VFIO_CHECK_EXTENSION,
		   (void *)(uintptr_t)VFIO_TYPE1v2_IOMMU) <= 0) {
		type = VFIO_TYPE1_IOMMU;
		if (kioctl(k->sys, k->container, VFIO_CHECK_EXTENSION,
			   (void *)(uintptr_t)VFIO_TYPE1_IOMMU) <= 0) {
			err(h->ctx, "%s: the kernel has no type1 IOMMU", h->id);
			return -ENOTSUP;
		}
	}
	snprintf(path, sizeof(path), "/dev/vfio/%d", h->iommu_group);
	k->group = r = kopen(k->sys, path);
	if (r < 0) {
		err(h->ctx, "%s: cannot open %s: %s%s", h->id, path,
		    strerror(-r), r == -EBUSY ? " (the device is in use)" : "");
		return r == -ENOENT ? -ENODEV : r;
	}
	r = kioctl(k->sys, k->group, VFIO_GROUP_GET_STATUS, &st);
	if (r < 0)
		return r;
	if (!(st.flags & VFIO_GROUP_FLAGS_VIABLE)) {
		err(h->ctx,
		    "%s: IOMMU group %d is not viable: another device in it is bound to a host driver",
		    h->id, h->iommu_group);
		return -EBUSY;
	}
	r = kioctl(k->sys, k->group, VFIO_GROUP_SET_CONTAINER, &k->container);
	if (r < 0)
		return r;
	r = kioctl(k->sys, k->container, VFIO_SET_IOMMU,
		   (void *)(uintptr_t)type);
	if (r < 0)
		return r;
	if (k->vf_token[0]) {
		/* "<name> vf_token=<uuid>": the kernel's syntax */
		char arg[sizeof(k->name) + 48];

		snprintf(arg, sizeof(arg), "%s vf_token=%s", k->name,
			 k->vf_token);
		r = kioctl(k->sys, k->group, VFIO_GROUP_GET_DEVICE_FD, arg);
	} else {
		r = kioctl(k->sys, k->group, VFIO_GROUP_GET_DEVICE_FD, k->name);
	}
	if (r == -EACCES)
		err(h->ctx, "%s: the kernel refuses the device%s", h->id,
		    k->vf_token[0]
			    ? ": wrong VF token?"
			    : " (a VF of a PF on vfio-pci needs its VF token)");
	if (r < 0) {
		err(h->ctx, "%s: VFIO_GROUP_GET_DEVICE_FD: %s", h->id,
		    strerror(-r));
		return r;
	}
	k->device = r;
	r = type1_info(h);
	if (r < 0)
		return r;
	h->ops = &k_group_ops;
	return 0;
}

/* the N of <devdir>/vfio-dev/vfioN, or -ENOENT */
static int cdev_number(const char *devdir)
{
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;
	int n = -ENOENT;

	if (snprintf(path, sizeof(path), "%s/vfio-dev", devdir) >=
	    (int)sizeof(path))
		return -ENAMETOOLONG;
	d = opendir(path);
	if (!d)
		return -ENOENT;
	while ((de = readdir(d))) {
		long v;

		if (!strncmp(de->d_name, "vfio", 4) &&
		    vgpu_parse_long(de->d_name + 4, 10, 0, INT_MAX, &v) == 0) {
			n = (int)v;
			break;
		}
	}
	closedir(d);
	return n;
}

static void ranges_init(void *buf, void *data)
{
	struct vgpu_iommu_ioas_iova_ranges *q = buf;

	q->ioas_id = *(uint32_t *)data;
}

static int open_iommufd(struct vgpu_handle *h, int cdev)
{
	struct kvfio *k = K(h);
	struct vgpu_iommu_ioas_alloc alloc = { .size = sizeof(alloc) };
	struct vgpu_iommu_ioas_iova_ranges q;
	char path[64];
	int r;

	k->iommufd = r = kopen(k->sys, "/dev/iommu");
	if (r < 0)
		return r;
	snprintf(path, sizeof(path), "/dev/vfio/devices/vfio%d", cdev);
	k->device = r = kopen(k->sys, path);
	if (r < 0)
		return r;
	struct vfio_device_bind_iommufd bind = {
		.argsz = sizeof(bind),
		.iommufd = k->iommufd,
	};
	r = kioctl(k->sys, k->device, VFIO_DEVICE_BIND_IOMMUFD, &bind);
	if (r < 0)
		return r;
	k->devid = bind.out_devid;
	r = kioctl(k->sys, k->iommufd, VGPU_IOMMU_IOAS_ALLOC, &alloc);
	if (r < 0)
		return r;
	k->ioas = alloc.out_ioas_id;
	struct vfio_device_attach_iommufd_pt at = {
		.argsz = sizeof(at),
		.pt_id = k->ioas,
	};
	r = kioctl(k->sys, k->device, VFIO_DEVICE_ATTACH_IOMMUFD_PT, &at);
	if (r < 0)
		return r;
	/* the ranges: first the count, then the array */
	memset(&q, 0, sizeof(q));
	q.size = sizeof(q);
	q.ioas_id = k->ioas;
	r = kioctl(k->sys, k->iommufd, VGPU_IOMMU_IOAS_IOVA_RANGES, &q);
	if (r < 0 && r != -EMSGSIZE)
		return r;
	if (q.num_iovas > VGPU_VFIO_INFO_MAX / sizeof(struct vgpu_iova_range)) {
		err(h->ctx, "%s: %u IOVA ranges", h->id, q.num_iovas);
		return -EBADMSG;
	}
	if (q.num_iovas) {
		uint32_t n = q.num_iovas;
		struct vgpu_iova_range *rg = calloc(n, sizeof(*rg));

		if (!rg)
			return -ENOMEM;
		ranges_init(&q, &k->ioas);
		q.size = sizeof(q);
		q.num_iovas = n;
		q.allowed_iovas = (uintptr_t)rg;
		r = kioctl(k->sys, k->iommufd, VGPU_IOMMU_IOAS_IOVA_RANGES, &q);
		for (uint32_t i = 0; r >= 0 && i < n && i < q.num_iovas; i++)
			r = add_range(h, rg[i].start, rg[i].last);
		free(rg);
		if (r < 0)
			return r;
	}
	if (q.out_iova_alignment)
		h->pgsizes = ~(q.out_iova_alignment - 1);
	h->ops = &k_iommufd_ops;
	return 0;
}

static void k_reset_fds(struct kvfio *k)
{
	kclose(k->sys, &k->device);
	kclose(k->sys, &k->iommufd);
	kclose(k->sys, &k->group);
	kclose(k->sys, &k->container);
	k->ioas = 0;
}

/* open the device whose sysfs directory is t->path and whose VFIO name is
 * that directory's name */
static int k_open(struct vgpu_handle *h, const struct vgpu_access_target *t,
		  unsigned int flags)
{
	struct vfio_device_info di = { .argsz = sizeof(di) };
	const char *devdir = t->path;
	struct kvfio *k = calloc(1, sizeof(*k));
	int r = -ENOENT, cdev;

	if (!k)
		return -ENOMEM;
	k->sys = sys_of(h->ctx);
	k->container = k->group = k->device = k->iommufd = k->data_fd = -1;
	if (t->vf_token)
		snprintf(k->vf_token, sizeof(k->vf_token), "%s", t->vf_token);
	{
		const char *base = strrchr(devdir, '/');

		snprintf(k->name, sizeof(k->name), "%s",
			 base ? base + 1 : devdir);
	}
	h->priv = k;
	h->ops = &k_group_ops; /* for k_close until one succeeds */

	/* binding a VF with a token through iommufd needs a newer uAPI than
	 * this code speaks: tokens go the group's way */
	cdev = (flags & VGPU_OPEN_NO_IOMMUFD) || t->vf_token
		       ? -ENOENT
		       : cdev_number(devdir);
	if (cdev >= 0) {
		r = open_iommufd(h, cdev);
		if (r < 0) {
			info(h->ctx, "%s: iommufd unusable (%s)%s", h->id,
			     strerror(-r),
			     flags & VGPU_OPEN_IOMMUFD
				     ? ""
				     : ", using the VFIO group");
			k_reset_fds(k);
			free(h->iova);
			h->iova = NULL;
			h->n_iova = 0;
		}
	}
	if (r < 0 && (flags & VGPU_OPEN_IOMMUFD))
		return cdev < 0 || r == -ENOENT ? -EOPNOTSUPP : r;
	if (r < 0) {
		if (h->iommu_group < 0) {
			err(h->ctx, "%s: has no IOMMU group", h->id);
			return -ENODEV;
		}
		r = open_group(h);
		if (r < 0)
			return r;
	}
	r = kioctl(k->sys, k->device, VFIO_DEVICE_GET_INFO, &di);
	if (r < 0)
		return r;
	h->is_pci = di.flags & VFIO_DEVICE_FLAGS_PCI;
	h->can_reset = di.flags & VFIO_DEVICE_FLAGS_RESET;
	h->num_regions = di.num_regions;
	h->num_irqs = di.num_irqs;
	if (h->num_regions > 4096 || h->num_irqs > 4096) {
		err(h->ctx, "%s: implausible device info (%u regions, %u IRQs)",
		    h->id, h->num_regions, h->num_irqs);
		return -EBADMSG;
	}
	return 0;
}

/* 1 when the device's group is open elsewhere, 0 when free, or -errno */
static int k_in_use(struct vgpu_ctx *ctx, const struct vgpu_access_target *t)
{
	const struct vgpu_vfio_sys *sys = sys_of(ctx);
	char path[64];
	int fd;

	if (t->iommu_group < 0)
		return -ENODEV;
	snprintf(path, sizeof(path), "/dev/vfio/%d", t->iommu_group);
	fd = kopen(sys, path);
	if (fd == -EBUSY)
		return 1;
	if (fd < 0)
		return fd == -ENOENT ? -ENODEV : fd;
	kclose(sys, &fd);
	return 0;
}

const struct vgpu_access vgpu_access_vfio_kernel = {
	.name = "vfio",
	.open = k_open,
	.in_use = k_in_use,
};
