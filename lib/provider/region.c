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

#ifndef F_SEAL_FUTURE_WRITE
#define F_SEAL_FUTURE_WRITE 0x0010 /* Linux 5.1 */
#endif

VGPU_EXPORT int vgpu_device_setup_region(struct vgpu_device *dev,
					 unsigned int index, uint64_t size,
					 uint32_t flags,
					 vgpu_region_access_fn access,
					 void *userdata)
{
	struct region *r;
	bool is_bar;
	char name[64];

	if (!dev || index >= VFU_MAX_REGIONS || index == VGPU_REGION_CONFIG ||
	    !size || (size >> 63) || (flags & ~0x3fu))
		return -EINVAL;
	/* device-specific regions: no BAR attributes */
	if (index >= VFU_PCI_NUM_REGIONS &&
	    (flags &
	     (VGPU_REGION_F_64BIT | VGPU_REGION_F_PREFETCH | VGPU_REGION_F_IO)))
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
		r->memfd = memfd_create(name, MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (r->memfd < 0)
			return -errno;
		/* the client gets this fd: it must not shrink under us */
		if (ftruncate(r->memfd, (off_t)size) < 0 ||
		    fcntl(r->memfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW) <
			    0) {
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
	r->flags = flags | VGPU_REGION_F_READ | (flags & VGPU_REGION_F_WRITE);
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

/*
 * A sparse region's fd must give the client only its mmap-able areas. One
 * memfd cannot refuse writes to a part of itself, so the trapped parts do
 * not live in it: the first area moves the provider's view of the region to
 * shared anonymous memory of its own (the data copied, extent by extent),
 * and each area is then mapped from the memfd over that view. What the
 * client writes to the memfd outside the areas reaches nothing; the
 * trapped ranges of the memfd are emptied when it is handed out.
 */
static int split_region(struct region *r)
{
	void *anon;
	off_t at = 0;

	if (r->split)
		return 0;
	anon = mmap(NULL, r->size, PROT_READ | PROT_WRITE,
		    MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (anon == MAP_FAILED)
		return -errno;
	for (;;) {
		off_t data = lseek(r->memfd, at, SEEK_DATA), hole;

		if (data < 0)
			break; /* ENXIO: no data after @at */
		hole = lseek(r->memfd, data, SEEK_HOLE);
		if (hole < 0 ||
		    pread(r->memfd, (uint8_t *)anon + data,
			  (size_t)(hole - data), data) != hole - data) {
			munmap(anon, r->size);
			return -EIO;
		}
		at = hole;
	}
	if (mremap(anon, r->size, r->size, MREMAP_MAYMOVE | MREMAP_FIXED,
		   r->mem) == MAP_FAILED) {
		int e = -errno;

		munmap(anon, r->size);
		return e;
	}
	r->split = true;
	return 0;
}

VGPU_EXPORT int vgpu_device_region_add_sparse(struct vgpu_device *dev,
					      unsigned int index,
					      uint64_t offset, uint64_t size)
{
	long pg = sysconf(_SC_PAGESIZE);
	struct region *r;
	int e;

	if (!dev || index >= VFU_MAX_REGIONS)
		return -EINVAL;
	r = &dev->regions[index];
	if (!r->mem || !size || ((offset | size) & ((uint64_t)pg - 1)) ||
	    offset + size < offset || offset + size > r->size)
		return -EINVAL;
	if (r->sealed)
		return -EBUSY; /* a client has the fd already */
	for (unsigned int i = 0; i < r->n_sparse; i++)
		if (offset < r->sparse[i].offset + r->sparse[i].size &&
		    r->sparse[i].offset < offset + size)
			return -EEXIST;
	if (r->n_sparse == MAX_SPARSE)
		return -ENOMEM;
	e = split_region(r);
	if (e < 0)
		return e;
	if (mmap((uint8_t *)r->mem + offset, size, PROT_READ | PROT_WRITE,
		 MAP_SHARED | MAP_FIXED, r->memfd, (off_t)offset) == MAP_FAILED)
		return -errno;
	r->sparse[r->n_sparse].offset = offset;
	r->sparse[r->n_sparse].size = size;
	r->n_sparse++;
	return 0;
}

/* empty [from, to) of the memfd: not the provider's memory any more */
static int punch(int fd, uint64_t from, uint64_t to)
{
	if (from >= to)
		return 0;
	return fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
			 (off_t)from, (off_t)(to - from)) < 0
		       ? -errno
		       : 0;
}

/*
 * The fd a client may have for region @r, or -1 when it gets none (the
 * region is then served by REGION_READ/WRITE only). The first time: the
 * trapped ranges of a sparse region's memfd emptied, F_SEAL_FUTURE_WRITE
 * when the client may only read (a seal, unlike a read-only reopen through
 * /proc, holds for any fd of the file), and F_SEAL_SEAL so that no client
 * adds seals of its own. Shrinking and growing were sealed at creation.
 */
int region_client_fd(struct region *r)
{
	uint64_t at = 0;
	int seals = F_SEAL_SEAL;

	if (r->memfd < 0)
		return -1;
	if (r->sealed)
		return r->memfd;
	if (r->split) {
		/* the areas in offset order */
		for (unsigned int done = 0; done < r->n_sparse; done++) {
			const struct vfu_sparse_area *next = NULL;

			for (unsigned int i = 0; i < r->n_sparse; i++)
				if (r->sparse[i].offset >= at &&
				    (!next ||
				     r->sparse[i].offset < next->offset))
					next = &r->sparse[i];
			if (punch(r->memfd, at, next->offset) < 0)
				return -1;
			at = next->offset + next->size;
		}
		if (punch(r->memfd, at, r->size) < 0)
			return -1;
	}
	if (!(r->flags & VGPU_REGION_F_WRITE))
		seals |= F_SEAL_FUTURE_WRITE;
	if (fcntl(r->memfd, F_ADD_SEALS, seals) < 0)
		return -1; /* a kernel without F_SEAL_FUTURE_WRITE: trapped */
	r->sealed = true;
	return r->memfd;
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
		ri.flags =
			VFU_REGION_READ |
			(r->flags & VGPU_REGION_F_WRITE ? VFU_REGION_WRITE : 0);
		fd = region_client_fd(r);
		if (fd >= 0)
			ri.flags |= VFU_REGION_MMAP;
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
			.type = r->type,
			.subtype = r->subtype,
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
	} else if (caps_len) {
		/* truncated: the client asks again with room for the caps,
		 * and gets the fd with that full reply only (a client that
		 * read the short one has no room for an fd) */
		caps_len = 0;
		fd = -1;
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
