/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * PCI configuration space: IDs, BARs, capabilities (MSI, MSI-X, PCIe) and
 * the client's config space accesses.
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

void config_init(struct vgpu_device *dev)
{
	dev->cfg_size = CFG_LEGACY;
	dev->cap_next = 0x40;
	/* command: I/O, memory, bus master, SERR, INTx disable */
	dev->wmask[0x04] = 0x47;
	dev->wmask[0x05] = 0x05;
	dev->wmask[0x0c] = 0xff; /* cache line size */
	dev->wmask[0x0d] = 0xff; /* latency timer */
	dev->wmask[0x3c] = 0xff; /* interrupt line */
	/* BARs and ROM: written, then masked to their size */
	memset(&dev->wmask[0x10], 0xff, 24);
	memset(&dev->wmask[0x30], 0xff, 4);
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

void put32(uint8_t *p, uint32_t v)
{
	memcpy(p, &v, sizeof(v));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

VGPU_EXPORT int vgpu_device_set_pci_ids(struct vgpu_device *dev,
					uint16_t vendor, uint16_t device,
					uint16_t subsystem_vendor,
					uint16_t subsystem_device,
					uint32_t class_code, uint8_t revision)
{
	if (!dev || class_code > 0xffffff)
		return -EINVAL;
	put16(&dev->config[0x00], vendor);
	put16(&dev->config[0x02], device);
	dev->config[0x08] = revision;
	dev->config[0x09] = class_code & 0xff;
	dev->config[0x0a] = (class_code >> 8) & 0xff;
	dev->config[0x0b] = (class_code >> 16) & 0xff;
	put16(&dev->config[0x2c], subsystem_vendor);
	put16(&dev->config[0x2e], subsystem_device);
	return 0;
}

/* the value a BAR register holds after the client wrote it */
void bars_fixup(struct vgpu_device *dev)
{
	for (unsigned int i = 0; i < 6; i++) {
		struct region *r = &dev->regions[i];
		uint8_t *reg = &dev->config[0x10 + 4 * i];
		uint64_t mask;
		uint32_t lo;

		if (!r->size) {
			/* unused, or the upper half of a 64-bit BAR */
			if (i &&
			    (dev->regions[i - 1].flags & VGPU_REGION_F_64BIT))
				continue;
			put32(reg, 0);
			continue;
		}
		mask = ~(r->size - 1);
		lo = get32(reg) & (uint32_t)mask;
		if (r->flags & VGPU_REGION_F_IO) {
			lo = (lo & ~3u) | 1u;
		} else {
			lo &= ~0xfu;
			if (r->flags & VGPU_REGION_F_64BIT)
				lo |= 0x4;
			if (r->flags & VGPU_REGION_F_PREFETCH)
				lo |= 0x8;
		}
		put32(reg, lo);
		if ((r->flags & VGPU_REGION_F_64BIT) && i < 5)
			put32(reg + 4, get32(reg + 4) & (uint32_t)(mask >> 32));
	}
	if (dev->regions[VGPU_REGION_ROM].size) {
		uint32_t rom = get32(&dev->config[0x30]);

		rom &= (uint32_t) ~(dev->regions[VGPU_REGION_ROM].size - 1) |
		       1u;
		put32(&dev->config[0x30], rom & ~0x7feu);
	} else {
		put32(&dev->config[0x30], 0);
	}
}

VGPU_EXPORT int vgpu_device_set_config_access(struct vgpu_device *dev,
					      vgpu_region_access_fn access,
					      void *userdata)
{
	if (!dev)
		return -EINVAL;
	dev->cfg_access = access;
	dev->cfg_data = userdata;
	return 0;
}

VGPU_EXPORT int vgpu_device_get_config(struct vgpu_device *dev, uint8_t **ret)
{
	if (!dev || !ret)
		return -EINVAL;
	*ret = dev->config;
	return 0;
}

VGPU_EXPORT int vgpu_device_add_cap(struct vgpu_device *dev, uint8_t cap_id,
				    size_t size, unsigned int *ret)
{
	unsigned int off;

	if (!dev || size < 2 || size > CFG_LEGACY)
		return -EINVAL;
	off = (dev->cap_next + 3) & ~3u;
	if (off + size > CFG_LEGACY)
		return -ENOSPC;
	dev->config[off] = cap_id;
	dev->config[off + 1] = 0;
	if (dev->cap_last)
		dev->config[dev->cap_last + 1] = (uint8_t)off;
	else
		dev->config[0x34] = (uint8_t)off;
	dev->config[0x06] |= 0x10; /* status: capability list */
	dev->cap_last = off;
	dev->cap_next = off + (unsigned int)size;
	if (ret)
		*ret = off;
	return 0;
}

VGPU_EXPORT int vgpu_device_add_cap_msi(struct vgpu_device *dev,
					unsigned int nvec, unsigned int *ret)
{
	unsigned int off, mmc;
	int r;

	if (!dev || !nvec || nvec > 32 || (nvec & (nvec - 1)))
		return -EINVAL;
	mmc = (unsigned int)__builtin_ctz(nvec);
	r = vgpu_device_add_cap(dev, 0x05, 14, &off);
	if (r < 0)
		return r;
	put16(&dev->config[off + 2], (uint16_t)(0x80 | (mmc << 1)));
	dev->wmask[off + 2] = 0x71;	       /* enable, MME */
	memset(&dev->wmask[off + 4], 0xff, 8); /* address */
	dev->wmask[off + 4] = 0xfc;
	memset(&dev->wmask[off + 12], 0xff, 2); /* data */
	if (ret)
		*ret = off;
	return 0;
}

VGPU_EXPORT int vgpu_device_add_cap_msix(struct vgpu_device *dev,
					 unsigned int nvec,
					 unsigned int table_bar,
					 uint32_t table_offset,
					 unsigned int pba_bar,
					 uint32_t pba_offset, unsigned int *ret)
{
	unsigned int off;
	int r;

	if (!dev || !nvec || nvec > 2048 || table_bar > 5 || pba_bar > 5 ||
	    (table_offset & 7) || (pba_offset & 7))
		return -EINVAL;
	r = vgpu_device_add_cap(dev, 0x11, 12, &off);
	if (r < 0)
		return r;
	put16(&dev->config[off + 2], (uint16_t)(nvec - 1));
	put32(&dev->config[off + 4], table_offset | table_bar);
	put32(&dev->config[off + 8], pba_offset | pba_bar);
	dev->wmask[off + 3] = 0xc0; /* enable, function mask */
	if (ret)
		*ret = off;
	return 0;
}

VGPU_EXPORT int vgpu_device_add_cap_pcie(struct vgpu_device *dev,
					 unsigned int *ret)
{
	unsigned int off;
	int r;

	if (!dev)
		return -EINVAL;
	r = vgpu_device_add_cap(dev, 0x10, 0x3c, &off);
	if (r < 0)
		return r;
	put16(&dev->config[off + 2], 0x0002);  /* version 2, endpoint */
	memset(&dev->wmask[off + 8], 0xff, 2); /* device control */
	dev->cfg_size = CFG_SPACE;
	if (ret)
		*ret = off;
	return 0;
}

int config_access(struct vgpu_device *dev, uint64_t off, void *buf,
		  uint32_t count, bool write)
{
	uint8_t *b = buf;
	int r;

	if (!write) {
		memcpy(buf, &dev->config[off], count);
		if (dev->cfg_access)
			return dev->cfg_access(dev, VGPU_REGION_CONFIG, off,
					       buf, count, false,
					       dev->cfg_data);
		return 0;
	}
	for (uint32_t i = 0; i < count; i++) {
		uint8_t m = dev->wmask[off + i];

		dev->config[off + i] =
			(uint8_t)((dev->config[off + i] & ~m) | (b[i] & m));
	}
	if (off < 0x34 && off + count > 0x10)
		bars_fixup(dev);
	if (dev->cfg_access) {
		r = dev->cfg_access(dev, VGPU_REGION_CONFIG, off, buf, count,
				    true, dev->cfg_data);
		if (r < 0)
			return r;
	}
	return 0;
}
