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
#include <stdlib.h>
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
	/* the migration data fd's stream */
	ssize_t (*read)(void *data, int fd, void *buf, size_t len);
	ssize_t (*write)(void *data, int fd, const void *buf, size_t len);
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
	uint32_t flags;	 /* VGPU_REGION_* */
	bool has_type;
	uint32_t type, subtype;
	bool has_sparse; /* a sparse capability, possibly with 0 areas */
	unsigned int n_sparse;
	struct vgpu_sparse_area *sparse;
};

struct vgpu_iova_range {
	uint64_t start, last;
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

	/* migration (optional, all or none; the core checks states and
	 * walks the arcs): */
	/* the device's state */
	int (*mig_get_state)(struct vgpu_handle *h);
	/* take one arc of VFIO migration v2 (never a path) */
	int (*mig_set_state)(struct vgpu_handle *h,
			     enum vgpu_migration_state state);
	/* one read of the data stream: bytes, 0 at its end (or nothing for
	 * now in PRE_COPY), or -errno */
	ssize_t (*mig_read)(struct vgpu_handle *h, void *buf, size_t len);
	/* write all @len bytes */
	int (*mig_write)(struct vgpu_handle *h, const void *buf, size_t len);
	/* optional: -EOPNOTSUPP when NULL */
	int (*mig_precopy_info)(struct vgpu_handle *h, uint64_t *initial,
				uint64_t *dirty);

	/* dirty page tracking of DMA windows (optional: -EOPNOTSUPP) */
	int (*dirty_start)(struct vgpu_handle *h, uint64_t page_size,
			   const struct vgpu_iova_range *windows, size_t n);
	int (*dirty_report)(struct vgpu_handle *h, uint64_t iova, uint64_t len,
			    uint64_t page_size, uint64_t *bitmap);
	int (*dirty_stop)(struct vgpu_handle *h);

	/* optional: set the VF token of a PF (-ENOTSUP when NULL) */
	int (*set_vf_token)(struct vgpu_handle *h, const uint8_t uuid[16]);

	/* optional: the fd that polls readable when the device sent requests
	 * (vfio-user: DMA_READ/DMA_WRITE), and serving them without blocking */
	int (*service_fd)(struct vgpu_handle *h);
	int (*service)(struct vgpu_handle *h);
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
	/* migration: the offered VGPU_MIGRATION_* (probed on first use) */
	bool mig_probed;
	uint64_t mig_flags;
	/* dirty tracking: its page size, 0 when not tracking */
	uint64_t dirty_pgsize;
};

/* regions probed beyond num_regions for device-specific ones */
#define VGPU_REGION_PROBE_MAX 64

/* what vgpu_handle_open() resolved an id to, for an access method */
struct vgpu_access_target {
	const char *id;	      /* normalised: a UUID or a PCI address */
	const char *vf_token; /* a normalised UUID, or NULL */
	/* the device's sysfs directory (kernel VFIO), or the instance's
	 * syspath in its backend's terms (a vfio-user socket) */
	const char *path;
	int iommu_group;		/* -1: none */
	struct vgpu_instance *instance; /* NULL for a bare PCI device */
};

/*
 * A way to reach a device: kernel VFIO (the group/container API or the
 * iommufd character device) or a vfio-user socket. Each fills the handle's
 * struct vgpu_handle_ops when it opens a device. Management backends name
 * theirs (struct vgpu_backend.access); a PCI address given to
 * vgpu_handle_open() is a kernel VFIO device.
 */
struct vgpu_access {
	const char *name;
	/* open @t into @h (h->id, h->ctx, h->iommu_group are set); fills
	 * h->ops, h->priv and the device counts. On failure h->ops->close
	 * (if h->ops is set) releases what was taken. */
	int (*open)(struct vgpu_handle *h, const struct vgpu_access_target *t,
		    unsigned int flags);
	/* optional: 1 when the device is open elsewhere, 0 when free, or
	 * -errno; NULL: -EOPNOTSUPP (nothing to probe) */
	int (*in_use)(struct vgpu_ctx *ctx, const struct vgpu_access_target *t);
};

extern const struct vgpu_access vgpu_access_vfio_kernel;
extern const struct vgpu_access vgpu_access_vfio_user;

/* all access methods, NULL-terminated */
extern const struct vgpu_access *const vgpu_access_methods[];

/* open @t with @access: what vgpu_handle_open() does once it has resolved
 * the id (tests reach scripted peers through it) */
int vgpu_handle_open_target(struct vgpu_ctx *ctx,
			    const struct vgpu_access *access,
			    const struct vgpu_access_target *t,
			    unsigned int flags, struct vgpu_handle **ret);

/* the access method called @name, or NULL */
const struct vgpu_access *vgpu_access_find(const char *name);

static inline void vgpu_region_clear(struct vgpu_region *r)
{
	free(r->sparse);
	r->sparse = NULL;
	r->n_sparse = 0;
	r->has_sparse = false;
}

#endif
