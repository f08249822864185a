/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Regions: set-up by the provider, REGION_INFO, REGION_READ/REGION_WRITE
 * and DEVICE_WRITE_MULTI.
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

VGPU_EXPORT int vgpu_device_setup_region(struct vgpu_device *dev,
					 unsigned int index, uint64_t size,
					 uint32_t flags,
					 vgpu_region_access_fn access,
					 void *userdata)
{
	struct region *r;
	bool is_bar;
	char name[64];

	if (!dev || index >= VFU_MAX_REGIONS ||
	    index == VGPU_REGION_CONFIG || !size || (size >> 63) ||
	    (flags & ~0x3fu))
		return -EINVAL;
	/* device-specific regions: no BAR attributes */
	if (index >= VFU_PCI_NUM_REGIONS &&
	    (flags & (VGPU_REGION_F_64BIT | VGPU_REGION_F_PREFETCH |
		      VGPU_REGION_F_IO)))
		return -EINVAL;
	is_bar = index <= VGPU_REGION_BAR5;
	r = &dev->regions[index];
	if (r->size)
		return -EEXIST;
	if (is_bar || index == VGPU_REGION_ROM) {
		if (size < 16 || (size & (size - 1)))
			return -EINVAL;
	}
	if (flags & VGPU_REGION_F_64BIT) {
		if (!is_bar || index == VGPU_REGION_BAR5 ||
		    dev->regions[index + 1].size || (flags & VGPU_REGION_F_IO))
			return -EINVAL;
	} else if (is_bar && size > (1ULL << 32)) {
		return -EINVAL;
	}
	if (index > 0 && index <= VGPU_REGION_BAR5 &&
	    (dev->regions[index - 1].flags & VGPU_REGION_F_64BIT))
		return -EINVAL; /* upper half of a 64-bit BAR */
	if (flags & VGPU_REGION_F_MEM) {
		snprintf(name, sizeof(name), "vgpu-%s-r%u", dev->uuid, index);
		r->memfd = memfd_create(name, MFD_CLOEXEC);
		if (r->memfd < 0)
			return -errno;
		if (ftruncate(r->memfd, (off_t)size) < 0) {
			int e = -errno;

			close(r->memfd);
			r->memfd = -1;
			return e;
		}
		r->mem = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED,
			      r->memfd, 0);
		if (r->mem == MAP_FAILED) {
			int e = -errno;

			r->mem = NULL;
			close(r->memfd);
			r->memfd = -1;
			return e;
		}
	}
	r->size = size;
	r->flags = flags | VGPU_REGION_F_READ |
		   (flags & VGPU_REGION_F_WRITE);
	r->access = access;
	r->data = userdata;
	bars_fixup(dev);
	return 0;
}

VGPU_EXPORT int vgpu_device_region_get_mem(struct vgpu_device *dev,
					   unsigned int index, void **ret)
{
	if (!dev || index >= VFU_MAX_REGIONS || !ret)
		return -EINVAL;
	if (!dev->regions[index].mem)
		return -ENOENT;
	*ret = dev->regions[index].mem;
	return 0;
}

VGPU_EXPORT int vgpu_device_region_set_type(struct vgpu_device *dev,
					   unsigned int index, uint32_t type,
					   uint32_t subtype)
{
	if (!dev || index < VFU_PCI_NUM_REGIONS || index >= VFU_MAX_REGIONS)
		return -EINVAL;
	if (!dev->regions[index].size)
		return -ENOENT;
	dev->regions[index].has_type = true;
	dev->regions[index].type = type;
	dev->regions[index].subtype = subtype;
	return 0;
}

VGPU_EXPORT int vgpu_device_region_add_sparse(struct vgpu_device *dev,
					      unsigned int index,
					      uint64_t offset, uint64_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct region *r;

	if (!dev || index >= VFU_MAX_REGIONS)
		return -EINVAL;
	r = &dev->regions[index];
	if (!r->mem || !size || ((offset | size) & ((uint64_t)pg - 1)) ||
	    offset + size < offset || offset + size > r->size)
		return -EINVAL;
	for (unsigned int i = 0; i < r->n_sparse; i++)
		if (offset < r->sparse[i].offset + r->sparse[i].size &&
		    r->sparse[i].offset < offset + size)
			return -EEXIST;
	if (r->n_sparse == MAX_SPARSE)
		return -ENOMEM;
	r->sparse[r->n_sparse].offset = offset;
	r->sparse[r->n_sparse].size = size;
	r->n_sparse++;
	return 0;
}

/* the PCI regions and the device-specific ones set up after them */
uint32_t num_regions(const struct vgpu_device *dev)
{
	uint32_t n = VFU_PCI_NUM_REGIONS;

	for (uint32_t i = VFU_PCI_NUM_REGIONS; i < VFU_MAX_REGIONS; i++)
		if (dev->regions[i].size)
			n = i + 1;
	return n;
}

int handle_region_info(struct vgpu_device *dev, const struct vfu_req *req,
		       int *fds, struct prov_reply *rep)
{
	const struct vfu_region_info *q = &req->u.region_info;
	struct vfu_region_info ri = { .index = q->index };
	uint8_t caps[sizeof(struct vfu_cap_sparse) +
		     MAX_SPARSE * sizeof(struct vfu_sparse_area) +
		     sizeof(struct vfu_cap_type)];
	size_t caps_len = 0;
	struct region *r;
	int fd = -1;

	if (q->index >= VFU_MAX_REGIONS)
		return -EINVAL;
	r = &dev->regions[q->index];
	if (q->index == VGPU_REGION_CONFIG) {
		ri.size = dev->cfg_size;
		ri.flags = VFU_REGION_READ | VFU_REGION_WRITE;
	} else if (r->size) {
		ri.size = r->size;
		ri.flags = VFU_REGION_READ |
			   (r->flags & VGPU_REGION_F_WRITE ? VFU_REGION_WRITE : 0);
		if (r->memfd >= 0) {
			ri.flags |= VFU_REGION_MMAP;
			fd = r->memfd;
		}
	}
	if (r->n_sparse) {
		struct vfu_cap_sparse sp = {
			.hdr = { .id = VFU_CAP_SPARSE_MMAP, .version = 1 },
			.nr_areas = r->n_sparse,
		};

		memcpy(caps, &sp, sizeof(sp));
		memcpy(caps + sizeof(sp), r->sparse,
		       r->n_sparse * sizeof(r->sparse[0]));
		caps_len = sizeof(sp) + r->n_sparse * sizeof(r->sparse[0]);
	}
	if (r->has_type) {
		struct vfu_cap_type ct = {
			.hdr = { .id = VFU_CAP_TYPE, .version = 1 },
			.type = r->type, .subtype = r->subtype,
		};

		if (caps_len) /* chain it behind the sparse cap */
			put32(caps + 4, (uint32_t)(sizeof(ri) + caps_len));
		memcpy(caps + caps_len, &ct, sizeof(ct));
		caps_len += sizeof(ct);
	}
	ri.argsz = (uint32_t)(sizeof(ri) + caps_len);
	if (caps_len && q->argsz >= ri.argsz) {
		ri.flags |= VFU_REGION_CAPS;
		ri.cap_offset = sizeof(ri);
	} else {
		caps_len = 0;
	}
	reply_head(rep, &ri, sizeof(ri));
	rep->fd = fd; /* the device keeps it */
	return reply_body_copy(rep, caps, caps_len);
}

static int region_access(struct vgpu_device *dev, unsigned int index,
			 uint64_t off, void *buf, uint32_t count, bool write)
{
	struct region *r;

	if (index >= VFU_MAX_REGIONS)
		return -EINVAL;
	if (index == VGPU_REGION_CONFIG) {
		if (off >= dev->cfg_size || count > dev->cfg_size - off)
			return -EINVAL;
		return config_access(dev, off, buf, count, write);
	}
	r = &dev->regions[index];
	if (!r->size || off >= r->size || count > r->size - off)
		return -EINVAL;
	if (write && !(r->flags & VGPU_REGION_F_WRITE))
		return -EPERM;
	if (r->access)
		return r->access(dev, index, off, buf, count, write, r->data);
	if (r->mem) {
		if (write)
			memcpy((char *)r->mem + off, buf, count);
		else
			memcpy(buf, (char *)r->mem + off, count);
	} else if (!write) {
		memset(buf, 0, count);
	}
	return 0;
}

int handle_region_rw(struct vgpu_device *dev, const struct vfu_req *req,
		     int *fds, struct prov_reply *rep)
{
	const struct vfu_region_access *a = &req->u.region.a;
	uint8_t *buf;
	int r;

	/* register-sized accesses, the common case, need no allocation */
	buf = reply_body_alloc(rep, a->count);
	if (!buf)
		return -ENOMEM;
	if (req->cmd == VFU_CMD_REGION_WRITE) {
		memcpy(buf, req->u.region.data, a->count);
		r = region_access(dev, a->region, a->offset, buf, a->count,
				  true);
		rep->body_len = 0; /* a write's reply carries no data */
	} else {
		r = region_access(dev, a->region, a->offset, buf, a->count,
				  false);
	}
	reply_head(rep, a, sizeof(*a));
	return r;
}

int handle_write_multi(struct vgpu_device *dev, const struct vfu_req *req,
		       int *fds, struct prov_reply *rep)
{
	uint64_t n = req->u.write_multi.count;

	for (uint64_t i = 0; i < n; i++) {
		struct vfu_write_multi_entry e;
		int r;

		memcpy(&e, &req->u.write_multi.entries[i], sizeof(e));
		r = region_access(dev, e.region, e.offset, e.data, e.count,
				  true);
		if (r < 0)
			return r;
	}
	reply_head(rep, &n, sizeof(n));
	return 0;
}
