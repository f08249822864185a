/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Opened devices (struct vgpu_handle): the core keeps the region table, the
 * DMA window table and the argument checks; a device-access backend (kernel
 * VFIO or vfio-user) fills one struct vgpu_handle_ops. The kernel
 * backend reaches the kernel only through a struct vgpu_vfio_sys, so tests
 * can replace open/ioctl/pread/pwrite/mmap with fakes.
 */
#ifndef VGPU_DEVICE_PRIVATE_H
#define VGPU_DEVICE_PRIVATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "libvgpu-private.h"

struct vgpu_dma_table;

/*
 * The system calls the kernel VFIO backend makes. Each behaves like the
 * system call of the same name: -1 (MAP_FAILED for mmap) and errno on
 * failure. @data is the table's own pointer.
 */
struct vgpu_vfio_sys {
	int (*open)(void *data, const char *path, int flags);
	int (*close)(void *data, int fd);
	int (*ioctl)(void *data, int fd, unsigned long request, void *arg);
	ssize_t (*pread)(void *data, int fd, void *buf, size_t len, off_t off);
	ssize_t (*pwrite)(void *data, int fd, const void *buf, size_t len,
			  off_t off);
	void *(*mmap)(void *data, size_t len, int prot, int fd, off_t off);
	void *data;
};

/* the real system calls */
extern const struct vgpu_vfio_sys vgpu_vfio_sys_default;
/* tests: make @ctx's devices use @sys (NULL: the real system calls) */
void vgpu_ctx_set_vfio_sys(struct vgpu_ctx *ctx,
			   const struct vgpu_vfio_sys *sys);

struct vgpu_sparse_area {
	uint64_t offset;
	uint64_t size;
};

struct vgpu_region {
	unsigned int index;
	uint64_t size;
	uint64_t offset; /* backend-specific: the kernel's file offset */
	uint32_t flags;  /* VGPU_REGION_* */
	bool has_type;
	uint32_t type, subtype;
	bool has_sparse; /* a sparse capability, possibly with 0 areas */
	unsigned int n_sparse;
	struct vgpu_sparse_area *sparse;
};

/* what vgpu_handle_ops.set_irqs does */
enum vgpu_irq_action {
	VGPU_IRQ_ACT_EVENTFDS, /* attach @fds (-1: none) */
	VGPU_IRQ_ACT_DISABLE,  /* count 0: the whole index */
	VGPU_IRQ_ACT_MASK,
	VGPU_IRQ_ACT_UNMASK,
	VGPU_IRQ_ACT_TRIGGER,
};

/* Every function returns 0 (or a count) or a negative errno. */
struct vgpu_handle_ops {
	const char *access; /* "vfio-group", "iommufd", "vfio-user" */
	void (*close)(struct vgpu_handle *h);
	/* -ENOENT (or -EINVAL from the device) when there is no such region */
	int (*region_info)(struct vgpu_handle *h, unsigned int index,
			   struct vgpu_region *out);
	/* one transfer attempt: bytes moved, or -errno (EINTR included) */
	ssize_t (*region_rw)(struct vgpu_handle *h, const struct vgpu_region *r,
			     uint64_t offset, void *buf, size_t len,
			     bool write);
	int (*region_mmap)(struct vgpu_handle *h, const struct vgpu_region *r,
			   uint64_t offset, size_t len, int prot, void **ret);
	int (*irq_info)(struct vgpu_handle *h, unsigned int index,
			uint32_t *count, uint32_t *flags);
	int (*set_irqs)(struct vgpu_handle *h, unsigned int index,
			enum vgpu_irq_action action, unsigned int start,
			unsigned int count, const int *fds);
	int (*dma_map)(struct vgpu_handle *h, void *vaddr, uint64_t iova,
		       uint64_t len, uint32_t prot);
	/* optional: the caller also gave the fd behind @vaddr (NULL: the
	 * core calls dma_map, which finds the memory from @vaddr itself) */
	int (*dma_map_fd)(struct vgpu_handle *h, void *vaddr, int fd,
			  uint64_t offset, uint64_t iova, uint64_t len,
			  uint32_t prot);
	int (*dma_unmap)(struct vgpu_handle *h, uint64_t iova, uint64_t len);
	int (*reset)(struct vgpu_handle *h);
	int (*probe_feature)(struct vgpu_handle *h, unsigned int feature,
			     uint64_t *data);
	/* @flags: VFIO_GFX_PLANE_TYPE_PROBE|REGION|DMABUF semantics */
	int (*query_plane)(struct vgpu_handle *h, unsigned int type,
			   bool dmabuf, bool probe,
			   struct vgpu_plane_info *info);
	int (*get_dmabuf)(struct vgpu_handle *h, uint32_t id);
	/* optional: the fd that polls readable when the device sent requests
	 * (vfio-user: DMA_READ/DMA_WRITE), and serving them without blocking */
	int (*service_fd)(struct vgpu_handle *h);
	int (*service)(struct vgpu_handle *h);
};

struct vgpu_iova_range {
	uint64_t start, last;
};

struct vgpu_handle {
	int refcount;
	struct vgpu_ctx *ctx;
	const struct vgpu_handle_ops *ops;
	void *priv; /* the backend's */
	char *id;
	int iommu_group;
	/* filled by the backend's open */
	bool is_pci;
	bool can_reset;
	uint32_t num_regions;
	bool regions_counted; /* num_regions counts them all: no probing */
	uint32_t num_irqs;
	struct vgpu_iova_range *iova;
	size_t n_iova;
	uint64_t pgsizes;
	/* filled by the core */
	struct vgpu_region *regions;
	size_t n_regions;
	struct vgpu_dma_table *dma;
};

/* regions probed beyond num_regions for device-specific ones */
#define VGPU_REGION_PROBE_MAX 64

/* the kernel VFIO backend (backends/vfio/vfio.c): open the device whose
 * sysfs directory is @devdir and whose VFIO name is h->id */
int vgpu_vfio_kernel_open(struct vgpu_handle *h, const char *devdir,
			  unsigned int flags);
/* the vfio-user backend (backends/vfio-user/handle.c): connect to the
 * instance's socket */
int vgpu_vfu_handle_open(struct vgpu_handle *h, const char *socket_path);
/* 1 when the group is open elsewhere, 0 when free, or -errno */
int vgpu_vfio_kernel_group_busy(struct vgpu_ctx *ctx, int group);

void vgpu_region_clear(struct vgpu_region *r);

#endif
