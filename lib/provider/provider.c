/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provider side of the vfio-user backend: devices served over one
 * vfio-user socket each. See include/libvgpu-provider.h and docs/vfio-user.md.
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

#include "dma-table.h"
#include "libvgpu-private.h"
#include "libvgpu-provider.h"
#include "ctl.h"
#include "proto.h"
#include "util-uuid.h"

#define CFG_SPACE 4096
#define CFG_LEGACY 256
#define MAX_IRQ_VECTORS 2048
#define MAX_SPARSE 16
/* client commands kept while a DMA_READ/DMA_WRITE waits for its reply */
#define DMA_QUEUE_MAX 64
#define DMA_QUEUE_BYTES (4u << 20)
#define DMA_TIMEOUT_MS 5000

/* a client command that arrived during a DMA exchange: handled later */
struct qmsg {
	struct qmsg *next;
	struct vfu_hdr hdr;
	int fds[VFU_MAX_MSG_FDS];
	unsigned int nfds;
	size_t len;
	uint8_t payload[];
};

struct ptype {
	char *id, *name, *description;
	unsigned int max, used;
};

struct region {
	uint64_t size;
	uint32_t flags;
	vgpu_region_access_fn access;
	void *data;
	int memfd;
	void *mem;
	unsigned int n_sparse;
	struct vfu_sparse_area sparse[MAX_SPARSE];
	bool has_type;
	uint32_t type, subtype;
};

struct irq {
	unsigned int count;
	int *efd;      /* per vector, -1 when none */
	bool *masked;
	bool *pending;
};

enum watch_kind { WATCH_LISTEN, WATCH_CONN, WATCH_STOP, WATCH_CTL };

struct watch {
	enum watch_kind kind;
	struct vgpu_device *dev;
};

struct vgpu_device {
	int refcount;
	struct vgpu_provider *provider; /* NULL once destroyed */
	char uuid[VGPU_UUID_LEN + 1];
	struct ptype *type;
	char *socket_path;
	void *userdata;
	pthread_mutex_t lock; /* recursive; see the header */
	int listen_fd, conn_fd;
	struct watch wl, wc;
	bool versioned;
	struct vfu_caps client_caps;
	struct vfu_reader rx;
	/*
	 * Message-based DMA (see dma_exchange()). While a command is handled,
	 * its payload lives in rx's buffer, so a DMA exchange reads on in
	 * rx_wait (the unread rest of rx moved there: "stashed") and swaps
	 * the two back when the command is done. Commands that arrive in
	 * the meantime wait in the queue, in order.
	 */
	struct vfu_reader rx_wait;
	bool stashed;
	struct qmsg *q_head, *q_tail;
	unsigned int q_len;
	size_t q_bytes;
	uint16_t dma_id;     /* our own message ids */
	int conn_err;        /* a DMA exchange broke the connection */
	bool serving;        /* a thread is handling this device's messages: */
	pthread_t serving_thread;
	/* with the runner thread, each connection has a thread of its own
	 * that blocks in recvmsg(): one system call in, one out per message */
	pthread_t conn_thread;
	bool has_conn_thread;
	bool dying; /* being destroyed: do not listen again */
	enum vgpu_migration_state mig;
	struct vgpu_dma_table *dma;
	struct region regions[VFU_MAX_REGIONS];
	struct irq irqs[VFU_PCI_NUM_IRQS];
	uint8_t config[CFG_SPACE];
	uint8_t wmask[CFG_SPACE];
	unsigned int cfg_size, cap_next, cap_last;
	vgpu_region_access_fn cfg_access;
	void *cfg_data;
};

struct vgpu_provider {
	int refcount;
	struct vgpu_ctx *ctx;
	char *id;
	struct vgpu_provider_ops ops;
	void *userdata;
	struct ptype *types;
	size_t n_types;
	struct vgpu_vec devices;
	int epfd, stop_fd;
	struct watch wstop;
	int ctl_fd; /* the control socket, or -1 */
	char *ctl_path;
	struct watch wctl;
	pthread_t thread;
	bool thread_running;
	bool threaded; /* connections get threads; set before the runner starts */
	int dma_timeout_ms;
};

static bool valid_id(const char *id)
{
	return vfu_ctl_valid_id(id);
}

/* ------------------------------------------------------------------------ */
/* provider                                                                  */

VGPU_EXPORT int vgpu_provider_new(struct vgpu_ctx *ctx, const char *id,
				  const struct vgpu_provider_ops *ops,
				  void *userdata, struct vgpu_provider **ret)
{
	struct vgpu_provider *p;
	struct epoll_event ev = { .events = EPOLLIN };

	if (!ctx || !valid_id(id) || !ops || !ret ||
	    ops->size < offsetof(struct vgpu_provider_ops, create) +
				sizeof(ops->create))
		return -EINVAL;
	for (size_t i = sizeof(struct vgpu_provider_ops); i < ops->size; i++)
		if (((const uint8_t *)ops)[i])
			return -E2BIG;
	p = calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->refcount = 1;
	p->epfd = p->stop_fd = p->ctl_fd = -1;
	p->dma_timeout_ms = DMA_TIMEOUT_MS;
	memcpy(&p->ops, ops,
	       ops->size < sizeof(p->ops) ? ops->size : sizeof(p->ops));
	p->ops.size = sizeof(p->ops);
	if (!p->ops.create)
		goto einval;
	p->id = strdup(id);
	p->ctx = vgpu_ctx_ref(ctx);
	p->userdata = userdata;
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	p->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (!p->id || p->epfd < 0 || p->stop_fd < 0) {
		int r = !p->id ? -ENOMEM : -errno;

		vgpu_provider_unref(p);
		return r;
	}
	p->wstop.kind = WATCH_STOP;
	ev.data.ptr = &p->wstop;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, p->stop_fd, &ev) < 0) {
		int r = -errno;

		vgpu_provider_unref(p);
		return r;
	}
	*ret = p;
	return 0;
einval:
	free(p);
	return -EINVAL;
}

VGPU_EXPORT struct vgpu_provider *vgpu_provider_ref(struct vgpu_provider *p)
{
	if (p)
		p->refcount++;
	return p;
}

VGPU_EXPORT struct vgpu_provider *vgpu_provider_unref(struct vgpu_provider *p)
{
	if (!p || --p->refcount > 0)
		return p ? p : NULL;
	if (p->thread_running)
		vgpu_provider_stop_thread(p);
	while (p->devices.n)
		vgpu_device_destroy(p->devices.items[p->devices.n - 1]);
	free(p->devices.items);
	for (size_t i = 0; i < p->n_types; i++) {
		free(p->types[i].id);
		free(p->types[i].name);
		free(p->types[i].description);
	}
	free(p->types);
	if (p->ctl_fd >= 0) {
		close(p->ctl_fd);
		unlink(p->ctl_path);
	}
	free(p->ctl_path);
	if (p->epfd >= 0)
		close(p->epfd);
	if (p->stop_fd >= 0)
		close(p->stop_fd);
	vgpu_ctx_unref(p->ctx);
	free(p->id);
	free(p);
	return NULL;
}

VGPU_EXPORT const char *vgpu_provider_get_id(struct vgpu_provider *p)
{
	return p ? p->id : NULL;
}

/* RUNTIME_DIR/vfio-user, created (0755) when missing */
static int runtime_subdir(struct vgpu_provider *p, char **ret)
{
	char *dir;

	if (asprintf(&dir, "%s/vfio-user", p->ctx->runtime_dir) < 0)
		return -ENOMEM;
	if ((mkdir(p->ctx->runtime_dir, 0755) < 0 && errno != EEXIST) ||
	    (mkdir(dir, 0755) < 0 && errno != EEXIST)) {
		int r = -errno;

		free(dir);
		return r;
	}
	*ret = dir;
	return 0;
}

static struct ptype *find_type(struct vgpu_provider *p, const char *id)
{
	for (size_t i = 0; i < p->n_types; i++)
		if (!strcmp(p->types[i].id, id))
			return &p->types[i];
	return NULL;
}

VGPU_EXPORT int vgpu_provider_add_type(struct vgpu_provider *p, const char *id,
				       const char *name,
				       const char *description,
				       unsigned int max_instances)
{
	struct ptype *types, *t;

	if (!p || !valid_id(id) || !max_instances)
		return -EINVAL;
	if (find_type(p, id))
		return -EEXIST;
	/* devices point at their type: refuse to move the array under them */
	if (p->devices.n)
		return -EBUSY;
	types = reallocarray(p->types, p->n_types + 1, sizeof(*types));
	if (!types)
		return -ENOMEM;
	p->types = types;
	t = &types[p->n_types];
	memset(t, 0, sizeof(*t));
	t->id = strdup(id);
	t->name = name ? strdup(name) : NULL;
	t->description = description ? strdup(description) : NULL;
	t->max = max_instances;
	if (!t->id || (name && !t->name) || (description && !t->description)) {
		free(t->id);
		free(t->name);
		free(t->description);
		return -ENOMEM;
	}
	p->n_types++;
	return 0;
}

VGPU_EXPORT int vgpu_provider_get_available(struct vgpu_provider *p,
					    const char *type_id)
{
	struct ptype *t;

	if (!p || !type_id)
		return -EINVAL;
	t = find_type(p, type_id);
	if (!t)
		return -ENOENT;
	if (p->ops.available) {
		int v = p->ops.available(p, type_id, p->userdata);

		if (v < 0)
			return 0;
		if ((unsigned int)v < t->max - t->used)
			return v;
	}
	return (int)(t->max - t->used);
}

VGPU_EXPORT int vgpu_provider_get_fd(struct vgpu_provider *p)
{
	return p ? p->epfd : -EINVAL;
}

VGPU_EXPORT int vgpu_provider_set_dma_timeout(struct vgpu_provider *p,
					      unsigned int ms)
{
	if (!p || !ms || ms > 3600000)
		return -EINVAL;
	__atomic_store_n(&p->dma_timeout_ms, (int)ms, __ATOMIC_RELAXED);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* device objects and configuration                                          */

static void config_init(struct vgpu_device *dev)
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

VGPU_EXPORT struct vgpu_device *vgpu_device_ref(struct vgpu_device *dev)
{
	if (dev)
		__atomic_add_fetch(&dev->refcount, 1, __ATOMIC_RELAXED);
	return dev;
}

static void device_free(struct vgpu_device *dev)
{
	for (unsigned int i = 0; i < VFU_MAX_REGIONS; i++) {
		struct region *r = &dev->regions[i];

		if (r->mem)
			munmap(r->mem, r->size);
		if (r->memfd >= 0)
			close(r->memfd);
	}
	for (unsigned int i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		struct irq *q = &dev->irqs[i];

		for (unsigned int v = 0; v < q->count; v++)
			if (q->efd[v] >= 0)
				close(q->efd[v]);
		free(q->efd);
		free(q->masked);
		free(q->pending);
	}
	vgpu_dma_table_free(dev->dma, NULL, NULL);
	pthread_mutex_destroy(&dev->lock);
	vfu_reader_free(&dev->rx);
	vfu_reader_free(&dev->rx_wait);
	free(dev->socket_path);
	free(dev);
}

VGPU_EXPORT struct vgpu_device *vgpu_device_unref(struct vgpu_device *dev)
{
	if (!dev)
		return NULL;
	if (__atomic_sub_fetch(&dev->refcount, 1, __ATOMIC_ACQ_REL) > 0)
		return dev;
	device_free(dev);
	return NULL;
}

VGPU_EXPORT const char *vgpu_device_get_uuid(struct vgpu_device *dev)
{
	return dev ? dev->uuid : NULL;
}

VGPU_EXPORT const char *vgpu_device_get_type_id(struct vgpu_device *dev)
{
	return dev && dev->type ? dev->type->id : NULL;
}

VGPU_EXPORT const char *vgpu_device_get_socket_path(struct vgpu_device *dev)
{
	return dev ? dev->socket_path : NULL;
}

VGPU_EXPORT void vgpu_device_set_userdata(struct vgpu_device *dev, void *data)
{
	if (dev)
		dev->userdata = data;
}

VGPU_EXPORT void *vgpu_device_get_userdata(struct vgpu_device *dev)
{
	return dev ? dev->userdata : NULL;
}

VGPU_EXPORT bool vgpu_device_is_connected(struct vgpu_device *dev)
{
	return dev && dev->conn_fd >= 0;
}

static void put16(uint8_t *p, uint16_t v)
{
	memcpy(p, &v, sizeof(v));
}

static void put32(uint8_t *p, uint32_t v)
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
static void bars_fixup(struct vgpu_device *dev)
{
	for (unsigned int i = 0; i < 6; i++) {
		struct region *r = &dev->regions[i];
		uint8_t *reg = &dev->config[0x10 + 4 * i];
		uint64_t mask;
		uint32_t lo;

		if (!r->size) {
			/* unused, or the upper half of a 64-bit BAR */
			if (i && (dev->regions[i - 1].flags & VGPU_REGION_F_64BIT))
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

		rom &= (uint32_t)~(dev->regions[VGPU_REGION_ROM].size - 1) |
		       1u;
		put32(&dev->config[0x30], rom & ~0x7feu);
	} else {
		put32(&dev->config[0x30], 0);
	}
}

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
	dev->wmask[off + 2] = 0x71;            /* enable, MME */
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
	put16(&dev->config[off + 2], 0x0002); /* version 2, endpoint */
	memset(&dev->wmask[off + 8], 0xff, 2); /* device control */
	dev->cfg_size = CFG_SPACE;
	if (ret)
		*ret = off;
	return 0;
}

VGPU_EXPORT int vgpu_device_setup_irq(struct vgpu_device *dev,
				      unsigned int index, unsigned int count)
{
	static const unsigned int limit[VFU_PCI_NUM_IRQS] = { 1, 32, 2048, 1,
							      1 };
	struct irq *q;
	int *efd;

	if (!dev || index >= VFU_PCI_NUM_IRQS || count > limit[index])
		return -EINVAL;
	q = &dev->irqs[index];
	if (q->count)
		return -EEXIST;
	if (!count)
		return 0;
	efd = malloc(count * sizeof(*efd));
	q->masked = calloc(count, sizeof(bool));
	q->pending = calloc(count, sizeof(bool));
	if (!efd || !q->masked || !q->pending) {
		free(efd);
		free(q->masked);
		free(q->pending);
		q->masked = q->pending = NULL;
		return -ENOMEM;
	}
	for (unsigned int i = 0; i < count; i++)
		efd[i] = -1;
	q->efd = efd;
	q->count = count;
	if (index == VGPU_IRQ_INTX)
		dev->config[0x3d] = 1; /* INTA# */
	return 0;
}

/* ------------------------------------------------------------------------ */
/* interrupts and DMA, callable from any thread                              */

static int irq_signal(int fd)
{
	uint64_t one = 1;

	return write(fd, &one, sizeof(one)) == sizeof(one) ? 0 : -errno;
}

VGPU_EXPORT int vgpu_device_irq_trigger(struct vgpu_device *dev,
					unsigned int index, unsigned int vector)
{
	struct irq *q;
	int r;

	if (!dev || index >= VFU_PCI_NUM_IRQS)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	q = &dev->irqs[index];
	if (vector >= q->count) {
		r = -EINVAL;
	} else if (q->masked[vector]) {
		q->pending[vector] = true;
		r = -EAGAIN;
	} else if (q->efd[vector] < 0) {
		r = -ENOTCONN;
	} else {
		r = irq_signal(q->efd[vector]);
	}
	pthread_mutex_unlock(&dev->lock);
	return r;
}

/* ---- message-based DMA: DMA_READ/DMA_WRITE to the client ---- */

/*
 * The threading rule: the connection's messages are read by one thread,
 * the one handling them (the dispatcher, or the client's thread with the
 * runner). So a DMA exchange is made only by that thread, from inside a
 * callback of this device; anywhere else a window without an fd gives
 * -EREMOTE. Called with dev->lock held.
 */
static bool on_conn_thread(const struct vgpu_device *dev)
{
	return dev->serving && pthread_equal(dev->serving_thread, pthread_self());
}

/* the exchange failed in a way that loses the connection: drop the client
 * once the current command is done (serve_one() sees conn_err) */
static int conn_broken(struct vgpu_device *dev, int err)
{
	if (!dev->conn_err) {
		dev->conn_err = err;
		if (dev->conn_fd >= 0)
			shutdown(dev->conn_fd, SHUT_RDWR);
	}
	return err;
}

static void queue_free(struct vgpu_device *dev)
{
	while (dev->q_head) {
		struct qmsg *q = dev->q_head;

		dev->q_head = q->next;
		for (unsigned int i = 0; i < q->nfds; i++)
			close(q->fds[i]);
		free(q);
	}
	dev->q_tail = NULL;
	dev->q_len = 0;
	dev->q_bytes = 0;
}

/* keep a client command for later: a copy, with its fds */
static int enqueue(struct vgpu_device *dev, struct vfu_msg *m)
{
	struct qmsg *q;

	if (dev->q_len >= DMA_QUEUE_MAX || dev->q_bytes + m->len > DMA_QUEUE_BYTES)
		return -ENOBUFS;
	q = malloc(sizeof(*q) + m->len);
	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->hdr = m->hdr;
	q->len = m->len;
	if (m->len)
		memcpy(q->payload, m->payload, m->len);
	memcpy(q->fds, m->fds, m->nfds * sizeof(int));
	q->nfds = m->nfds;
	m->nfds = 0; /* the queue owns them now */
	if (dev->q_tail)
		dev->q_tail->next = q;
	else
		dev->q_head = q;
	dev->q_tail = q;
	dev->q_len++;
	dev->q_bytes += m->len;
	return 0;
}

/* read on in rx_wait; rx's buffer (the current command) stays untouched */
static int stash(struct vgpu_device *dev)
{
	int r;

	if (dev->stashed)
		return 0;
	r = vfu_reader_move(&dev->rx_wait, &dev->rx);
	if (r == 0)
		dev->stashed = true;
	return r;
}

/* the current command is done: rx_wait becomes the reader again */
static void unstash(struct vgpu_device *dev)
{
	struct vfu_reader t;

	if (!dev->stashed)
		return;
	t = dev->rx;
	dev->rx = dev->rx_wait;
	dev->rx_wait = t;
	vfu_reader_reset(&dev->rx_wait);
	dev->stashed = false;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/*
 * Check the client's reply to our request @h for [a.addr, a.count).
 * Returns 0 (data copied into @buf for reads), the client's errno from an
 * error reply, or -EPROTO for anything malformed.
 */
static int check_dma_reply(const struct vfu_hdr *h,
			   const struct vfu_dma_access *a, struct vfu_msg *m,
			   void *buf)
{
	bool read = h->cmd == VFU_CMD_DMA_READ;
	struct vfu_dma_access echo;

	if ((m->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_REPLY ||
	    (m->hdr.flags & ~(VFU_F_TYPE_MASK | VFU_F_ERROR)) ||
	    m->hdr.msg_id != h->msg_id || m->hdr.cmd != h->cmd || m->nfds)
		return -EPROTO;
	if (m->hdr.flags & VFU_F_ERROR) {
		/* header only; an errno we can pass on */
		if (m->len || m->hdr.error >= 4096)
			return -EPROTO;
		return m->hdr.error ? -(int)m->hdr.error : -EIO;
	}
	if (m->hdr.error ||
	    m->len != sizeof(echo) + (read ? (size_t)a->count : 0))
		return -EPROTO;
	memcpy(&echo, m->payload, sizeof(echo));
	if (echo.addr != a->addr || echo.count != a->count)
		return -EPROTO;
	if (read)
		memcpy(buf, m->payload + sizeof(echo), (size_t)a->count);
	return 0;
}

/*
 * One DMA_READ (@write false: into @buf) or DMA_WRITE (from @buf) of
 * @count bytes at @addr, at most the client's max_data_xfer_size. Client
 * commands that arrive first are queued. No answer within the provider's
 * time limit: -ETIMEDOUT; a malformed reply or one that is not ours:
 * -EPROTO; the client gone: -ECONNRESET; too many commands meanwhile:
 * -ENOBUFS. Those drop the client. An error reply gives its errno.
 */
static int dma_exchange(struct vgpu_device *dev, uint64_t addr, void *buf,
			uint64_t count, bool write)
{
	struct vfu_dma_access a = { .addr = addr, .count = count };
	struct vfu_hdr h = {
		.msg_id = dev->dma_id++,
		.cmd = write ? VFU_CMD_DMA_WRITE : VFU_CMD_DMA_READ,
		.flags = VFU_F_TYPE_COMMAND,
	};
	struct iovec iov[2] = {
		{ .iov_base = &a, .iov_len = sizeof(a) },
		{ .iov_base = buf, .iov_len = write ? (size_t)count : 0 },
	};
	int64_t deadline =
		now_ms() + __atomic_load_n(&dev->provider->dma_timeout_ms,
					   __ATOMIC_RELAXED);
	struct vfu_msg m;
	int r;

	r = stash(dev);
	if (r < 0)
		return r;
	r = vfu_send(dev->conn_fd, &h, iov, 2, NULL, 0);
	if (r < 0)
		return conn_broken(dev, -ECONNRESET);
	for (;;) {
		r = vfu_reader_next(&dev->rx_wait, dev->conn_fd, &m,
				    MSG_DONTWAIT);
		if (r == -EAGAIN) {
			struct pollfd pfd = { .fd = dev->conn_fd,
					      .events = POLLIN };
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return conn_broken(dev, -ETIMEDOUT);
			if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
				return conn_broken(dev, -ECONNRESET);
			continue;
		}
		if (r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE)
			return conn_broken(dev, -ECONNRESET);
		if (r < 0)
			return conn_broken(dev, r == -ENOMEM ? r : -EPROTO);
		if ((m.hdr.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_COMMAND) {
			r = enqueue(dev, &m);
			vfu_msg_close_fds(&m, 0);
			if (r < 0)
				return conn_broken(dev, r);
			continue;
		}
		r = check_dma_reply(&h, &a, &m, buf);
		vfu_msg_close_fds(&m, 0);
		return r == -EPROTO ? conn_broken(dev, r) : r;
	}
}

/* [iova, iova + len) of a window without an fd, in exchanges the client
 * accepts */
static int dma_by_message(struct vgpu_device *dev, uint64_t iova, void *buf,
			  uint64_t len, bool write)
{
	uint64_t max = dev->client_caps.max_data_xfer_size;

	if (!on_conn_thread(dev))
		return -EREMOTE;
	if (dev->conn_err)
		return dev->conn_err;
	if (dev->conn_fd < 0)
		return -ENOTCONN;
	if (!max || max > VFU_MAX_DATA_XFER)
		max = VFU_MAX_DATA_XFER;
	for (uint64_t done = 0; done < len;) {
		uint64_t n = len - done < max ? len - done : max;
		int r = dma_exchange(dev, iova + done, (uint8_t *)buf + done, n,
				     write);

		if (r < 0)
			return r;
		done += n;
	}
	return 0;
}

static int dma_copy(struct vgpu_device *dev, uint64_t iova, void *buf,
		    size_t len, bool write)
{
	struct vgpu_dma_sg sg[16];
	size_t done = 0;
	int n, r = 0;

	if (!dev || (!buf && len))
		return -EINVAL;
	if (!len)
		return 0;
	pthread_mutex_lock(&dev->lock);
	if (!dev->dma) {
		r = -EFAULT;
		goto out;
	}
	/* the whole range is checked first (done == 0, no pieces taken): no
	 * partial copy for a hole or a missing permission */
	for (bool check = true; done < len; check = false) {
		n = vgpu_dma_table_translate(dev->dma, iova + done, len - done,
					     write ? VGPU_DMA_PROT_WRITE :
						     VGPU_DMA_PROT_READ,
					     sg, check ? 0 : 16);
		if (n < 0) {
			r = n;
			goto out;
		}
		if (check)
			continue;
		for (int i = 0; i < n && i < 16; i++) {
			uint8_t *b = (uint8_t *)buf + done;

			if (!sg[i].vaddr)
				r = dma_by_message(dev, sg[i].iova, b,
						   sg[i].len, write);
			else if (write)
				memcpy(sg[i].vaddr, b, sg[i].len);
			else
				memcpy(b, sg[i].vaddr, sg[i].len);
			if (r < 0)
				goto out;
			done += sg[i].len;
		}
	}
	if (write)
		vgpu_dma_table_mark_dirty(dev->dma, iova, len);
out:
	pthread_mutex_unlock(&dev->lock);
	return r;
}

VGPU_EXPORT int vgpu_device_dma_read(struct vgpu_device *dev, uint64_t iova,
				     void *buf, size_t len)
{
	return dma_copy(dev, iova, buf, len, false);
}

VGPU_EXPORT int vgpu_device_dma_write(struct vgpu_device *dev, uint64_t iova,
				      const void *buf, size_t len)
{
	return dma_copy(dev, iova, (void *)buf, len, true);
}

VGPU_EXPORT int vgpu_device_dma_pin(struct vgpu_device *dev, uint64_t iova,
				    uint64_t len, uint32_t prot,
				    struct iovec *iov, size_t max)
{
	struct vgpu_dma_sg *sg;
	int n;

	if (!dev || !iov || !max || max > 4096 ||
	    (prot & ~(VGPU_DMA_READ | VGPU_DMA_WRITE)))
		return -EINVAL;
	sg = calloc(max, sizeof(*sg));
	if (!sg)
		return -ENOMEM;
	pthread_mutex_lock(&dev->lock);
	n = dev->dma ? vgpu_dma_table_translate(dev->dma, iova, len, prot, sg,
						max) :
		       -EFAULT;
	if (n > 0 && (size_t)n > max)
		n = -ENOSPC;
	for (int i = 0; i > -1 && i < n; i++)
		if (!sg[i].vaddr)
			n = -EREMOTE;
	if (n > 0) {
		n = vgpu_dma_table_pin(dev->dma, iova, len, prot, sg, max);
		for (int i = 0; i < n; i++) {
			iov[i].iov_base = sg[i].vaddr;
			iov[i].iov_len = (size_t)sg[i].len;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	free(sg);
	return n;
}

VGPU_EXPORT int vgpu_device_dma_unpin(struct vgpu_device *dev, uint64_t iova,
				      uint64_t len)
{
	struct vgpu_dma_sg sg[16];
	uint64_t done = 0;
	int r = 0;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	while (dev->dma && done < len) {
		int n = vgpu_dma_table_translate(dev->dma, iova + done,
						 len - done, 0, sg, 16);

		if (n < 0) {
			r = -EINVAL;
			break;
		}
		if (n > 16)
			n = 16;
		vgpu_dma_table_unpin(dev->dma, sg, (size_t)n);
		for (int i = 0; i < n; i++)
			done += sg[i].len;
	}
	pthread_mutex_unlock(&dev->lock);
	return dev->dma || !len ? r : -EINVAL;
}

VGPU_EXPORT void vgpu_device_dma_mark_dirty(struct vgpu_device *dev,
					    uint64_t iova, uint64_t len)
{
	if (!dev)
		return;
	pthread_mutex_lock(&dev->lock);
	if (dev->dma)
		vgpu_dma_table_mark_dirty(dev->dma, iova, len);
	pthread_mutex_unlock(&dev->lock);
}

/* ------------------------------------------------------------------------ */
/* connection handling                                                       */

static void release_window(struct vgpu_dma_window *w, void *data)
{
	struct vgpu_device *dev = data;
	struct vgpu_provider *p = dev->provider;

	if (p && p->ops.dma_unmap)
		p->ops.dma_unmap(dev, w->iova, w->len, p->userdata);
	if (w->vaddr)
		munmap(w->vaddr, w->len);
}

/* drop the client: its windows, its eventfds; keep the device state */
static void disconnect(struct vgpu_device *dev)
{
	struct vgpu_provider *p = dev->provider;

	pthread_mutex_lock(&dev->lock);
	if (dev->conn_fd >= 0) {
		if (p)
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, dev->conn_fd, NULL);
		close(dev->conn_fd);
		dev->conn_fd = -1;
	}
	/* pins die with the connection: the mappings go away */
	vgpu_dma_table_free(dev->dma, release_window, dev);
	dev->dma = NULL;
	for (unsigned int i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		struct irq *q = &dev->irqs[i];

		for (unsigned int v = 0; v < q->count; v++) {
			if (q->efd[v] >= 0)
				close(q->efd[v]);
			q->efd[v] = -1;
			q->masked[v] = q->pending[v] = false;
		}
	}
	dev->versioned = false;
	vfu_reader_reset(&dev->rx);
	vfu_reader_reset(&dev->rx_wait);
	dev->stashed = false;
	queue_free(dev);
	dev->conn_err = 0;
	dev->dma_id = 0;
	if (p && dev->listen_fd >= 0 && !dev->dying) {
		struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dev->wl };

		epoll_ctl(p->epfd, EPOLL_CTL_ADD, dev->listen_fd, &ev);
	}
	pthread_mutex_unlock(&dev->lock);
	if (p)
		dbg(p->ctx, "device %s: client gone", dev->uuid);
}

static void conn_lost(struct vgpu_device *dev, int r)
{
	if (r != -ENOTCONN && r != -ECONNRESET && !dev->dying)
		info(dev->provider->ctx, "device %s: dropping client: %s",
		     dev->uuid, strerror(-r));
	disconnect(dev);
}

static int serve_one(struct vgpu_device *dev, int flags);

/* the blocking loop of one connection (runner mode) */
static void *conn_main(void *data)
{
	struct vgpu_device *dev = data;
	int r;

	do
		r = serve_one(dev, 0);
	while (r >= 0);
	conn_lost(dev, r);
	return NULL;
}

/* stop a connection thread: its client is dropped */
static void join_conn_thread(struct vgpu_device *dev)
{
	if (!dev->has_conn_thread)
		return;
	pthread_mutex_lock(&dev->lock);
	if (dev->conn_fd >= 0)
		shutdown(dev->conn_fd, SHUT_RDWR);
	pthread_mutex_unlock(&dev->lock);
	pthread_join(dev->conn_thread, NULL);
	dev->has_conn_thread = false;
}

static int accept_client(struct vgpu_device *dev)
{
	struct vgpu_provider *p = dev->provider;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dev->wc };
	int fd, r;

	fd = accept4(dev->listen_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	pthread_mutex_lock(&dev->lock);
	if (dev->conn_fd >= 0) {
		pthread_mutex_unlock(&dev->lock);
		close(fd); /* one client at a time */
		return 0;
	}
	pthread_mutex_unlock(&dev->lock);
	/* the previous client's thread has finished, or is about to */
	if (dev->has_conn_thread) {
		pthread_join(dev->conn_thread, NULL);
		dev->has_conn_thread = false;
	}
	r = vgpu_dma_table_new(&dev->dma);
	if (r < 0) {
		close(fd);
		return r;
	}
	vfu_caps_default(&dev->client_caps);
	dev->conn_fd = fd;
	/* one client at a time: others wait in the backlog */
	epoll_ctl(p->epfd, EPOLL_CTL_DEL, dev->listen_fd, NULL);
	r = p->threaded ? -pthread_create(&dev->conn_thread, NULL, conn_main,
					  dev) :
			  epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno :
									  0;
	if (r < 0) {
		disconnect(dev);
		return r;
	}
	dev->has_conn_thread = p->threaded;
	dbg(p->ctx, "device %s: client connected", dev->uuid);
	return 1;
}

static int reply(struct vgpu_device *dev, const struct vfu_req *req,
		 const void *a, size_t alen, const void *b, size_t blen,
		 const int *fds, unsigned int nfds)
{
	struct vfu_hdr h = {
		.msg_id = req->msg_id,
		.cmd = req->cmd,
		.flags = VFU_F_TYPE_REPLY,
	};
	struct iovec iov[2] = {
		{ .iov_base = (void *)a, .iov_len = alen },
		{ .iov_base = (void *)b, .iov_len = blen },
	};

	if (req->no_reply)
		return 0;
	return vfu_send(dev->conn_fd, &h, iov, 2, fds, nfds);
}

static int handle_version(struct vgpu_device *dev, const struct vfu_req *req)
{
	struct vfu_caps ours;
	struct vfu_version v = { .major = VFU_VERSION_MAJOR,
				 .minor = VFU_VERSION_MINOR };
	char *json;
	int r;

	if (dev->versioned || req->u.version.major != VFU_VERSION_MAJOR)
		return -EINVAL;
	vfu_caps_default(&dev->client_caps);
	r = vfu_caps_parse(req->u.version.json, req->u.version.json_len,
			   &dev->client_caps);
	if (r < 0)
		return r;
	vfu_caps_default(&ours);
	ours.max_msg_fds = VFU_MAX_MSG_FDS;
	ours.max_data_xfer_size = VFU_MAX_DATA_XFER;
	ours.max_dma_maps = dev->client_caps.max_dma_maps < VFU_MAX_DMA_MAPS ?
				    dev->client_caps.max_dma_maps :
				    VFU_MAX_DMA_MAPS;
	ours.write_multiple = dev->client_caps.write_multiple;
	/*
	 * migration: only when the provider can migrate and the client
	 * offered it (the reply is a subset of the offer). The client's dirty
	 * page size is used as is; a report bitmap must fit in one reply.
	 */
	if (dev->provider->ops.migration_state && dev->client_caps.mig_pgsize) {
		ours.mig_pgsize = dev->client_caps.mig_pgsize;
		ours.mig_max_bitmap =
			dev->client_caps.mig_max_bitmap < VFU_MAX_DATA_XFER ?
				dev->client_caps.mig_max_bitmap :
				VFU_MAX_DATA_XFER;
	}
	r = vfu_caps_format(&ours, &json);
	if (r < 0)
		return r;
	r = reply(dev, req, &v, sizeof(v), json, strlen(json) + 1, NULL, 0);
	free(json);
	if (r == 0)
		dev->versioned = true;
	return r < 0 ? r : 1;
}

static int handle_dma_map(struct vgpu_device *dev, const struct vfu_req *req,
			  const int *fds)
{
	struct vgpu_provider *p = dev->provider;
	const struct vfu_dma_map *m = &req->u.dma_map;
	struct vgpu_dma_window w = {
		.iova = m->addr, .len = m->size, .offset = m->offset,
		.fd = -1,
		.prot = m->flags & (VFU_DMA_MAP_READ | VFU_DMA_MAP_WRITE),
	};
	int r;

	if (vgpu_dma_table_count(dev->dma) >= dev->client_caps.max_dma_maps &&
	    vgpu_dma_table_count(dev->dma) >= VFU_MAX_DMA_MAPS)
		return -ENOSPC;
	if (req->nfds) {
		int prot = (w.prot & VGPU_DMA_PROT_READ ? PROT_READ : 0) |
			   (w.prot & VGPU_DMA_PROT_WRITE ? PROT_WRITE : 0);

		if ((size_t)m->size != m->size || m->offset > INT64_MAX)
			return -EINVAL;
		w.vaddr = mmap(NULL, (size_t)m->size, prot ? prot : PROT_NONE,
			       MAP_SHARED, fds[0], (off_t)m->offset);
		if (w.vaddr == MAP_FAILED)
			return -errno;
	}
	r = vgpu_dma_table_insert(dev->dma, &w, NULL);
	if (r < 0) {
		if (w.vaddr)
			munmap(w.vaddr, (size_t)m->size);
		return r;
	}
	if (p->ops.dma_map)
		p->ops.dma_map(dev, w.iova, w.len, w.prot, p->userdata);
	return 0;
}

static int unmap_one(struct vgpu_device *dev, uint64_t iova, uint64_t len)
{
	struct vgpu_provider *p = dev->provider;
	struct vgpu_dma_window *w = vgpu_dma_table_find(dev->dma, iova);
	struct vgpu_dma_window out;
	int r;

	if (!w || w->iova != iova || w->len != len)
		return -ENOENT;
	if (w->pins)
		return -EBUSY;
	if (p->ops.dma_unmap)
		p->ops.dma_unmap(dev, iova, len, p->userdata);
	r = vgpu_dma_table_remove(dev->dma, iova, len, &out);
	if (r == 0 && out.vaddr)
		munmap(out.vaddr, out.len);
	return r;
}

static int collect_window(struct vgpu_dma_window *w, void *data)
{
	return vgpu_vec_push(data, w);
}

static int handle_dma_unmap(struct vgpu_device *dev, const struct vfu_req *req)
{
	const struct vfu_dma_unmap *u = &req->u.dma_unmap.u;
	struct vfu_dma_unmap echo = *u;
	uint64_t *bitmap = NULL;
	size_t bsize = 0;
	int r;

	if (u->flags & VFU_DMA_UNMAP_ALL) {
		struct vgpu_vec all = { 0 };

		r = vgpu_dma_table_foreach(dev->dma, collect_window, &all);
		for (size_t i = 0; r == 0 && i < all.n; i++)
			if (((struct vgpu_dma_window *)all.items[i])->pins)
				r = -EBUSY;
		for (size_t i = 0; r == 0 && i < all.n; i++) {
			struct vgpu_dma_window *w = all.items[i];

			r = unmap_one(dev, w->iova, w->len);
		}
		free(all.items);
		if (r)
			return r;
		echo.argsz = sizeof(echo);
		return reply(dev, req, &echo, sizeof(echo), NULL, 0, NULL, 0);
	}
	if (u->flags & VFU_DMA_UNMAP_GET_DIRTY_BITMAP) {
		const struct vfu_bitmap *b = &req->u.dma_unmap.bitmap;

		if (!vgpu_dma_table_logging(dev->dma))
			return -EINVAL;
		bsize = (size_t)b->size;
		bitmap = calloc(1, bsize ? bsize : 8);
		if (!bitmap)
			return -ENOMEM;
		r = vgpu_dma_table_log_report(dev->dma, u->addr, u->size,
					      b->pgsize, bitmap, bsize, true);
		if (r < 0) {
			free(bitmap);
			return r;
		}
	}
	r = unmap_one(dev, u->addr, u->size);
	if (r == 0) {
		echo.argsz = (uint32_t)(sizeof(echo) +
					(bitmap ? sizeof(struct vfu_bitmap) +
							  bsize :
						  0));
		if (bitmap) {
			uint8_t *buf = malloc(sizeof(struct vfu_bitmap) + bsize);

			if (!buf) {
				r = -ENOMEM;
			} else {
				memcpy(buf, &req->u.dma_unmap.bitmap,
				       sizeof(struct vfu_bitmap));
				memcpy(buf + sizeof(struct vfu_bitmap), bitmap,
				       bsize);
				r = reply(dev, req, &echo, sizeof(echo), buf,
					  sizeof(struct vfu_bitmap) + bsize,
					  NULL, 0);
				free(buf);
			}
		} else {
			r = reply(dev, req, &echo, sizeof(echo), NULL, 0, NULL,
				  0);
		}
	}
	free(bitmap);
	return r < 0 ? r : 1;
}

/* the PCI regions and the device-specific ones set up after them */
static uint32_t num_regions(const struct vgpu_device *dev)
{
	uint32_t n = VFU_PCI_NUM_REGIONS;

	for (uint32_t i = VFU_PCI_NUM_REGIONS; i < VFU_MAX_REGIONS; i++)
		if (dev->regions[i].size)
			n = i + 1;
	return n;
}

static int handle_region_info(struct vgpu_device *dev,
			      const struct vfu_req *req)
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
	return reply(dev, req, &ri, sizeof(ri), caps, caps_len,
		     fd >= 0 ? &fd : NULL, fd >= 0 ? 1 : 0);
}

static int handle_irq_info(struct vgpu_device *dev, const struct vfu_req *req)
{
	struct vfu_irq_info ii = { .argsz = sizeof(ii),
				   .index = req->u.irq_info.index };

	if (ii.index >= VFU_PCI_NUM_IRQS)
		return -EINVAL;
	ii.count = dev->irqs[ii.index].count;
	ii.flags = VFU_IRQ_INFO_EVENTFD | VFU_IRQ_INFO_MASKABLE;
	if (ii.index == VGPU_IRQ_INTX)
		ii.flags |= VFU_IRQ_INFO_AUTOMASKED;
	else
		ii.flags |= VFU_IRQ_INFO_NORESIZE;
	return reply(dev, req, &ii, sizeof(ii), NULL, 0, NULL, 0);
}

static int handle_set_irqs(struct vgpu_device *dev, const struct vfu_req *req,
			   int *fds)
{
	struct vgpu_provider *p = dev->provider;
	const struct vfu_irq_set *s = &req->u.set_irqs.s;
	uint32_t data = s->flags & VFU_IRQ_DATA_MASK;
	uint32_t action = s->flags & VFU_IRQ_ACTION_MASKBITS;
	struct irq *q;
	uint32_t start = s->start, count = s->count;

	if (s->index >= VFU_PCI_NUM_IRQS)
		return -EINVAL;
	q = &dev->irqs[s->index];
	/* count 0 + DATA_NONE: disable the whole index */
	if (!count && data == VFU_IRQ_DATA_NONE &&
	    action == VFU_IRQ_ACTION_TRIGGER) {
		start = 0;
		count = q->count;
	} else if (start >= q->count || count > q->count - start) {
		return -EINVAL;
	}
	if (!count)
		return 0;
	if (action == VFU_IRQ_ACTION_TRIGGER) {
		for (uint32_t i = 0; i < count; i++) {
			unsigned int v = start + i;

			if (data == VFU_IRQ_DATA_EVENTFD) {
				if (q->efd[v] >= 0)
					close(q->efd[v]);
				q->efd[v] = req->nfds ? fds[i] : -1;
				if (req->nfds)
					fds[i] = -1; /* taken */
			} else if (data == VFU_IRQ_DATA_NONE &&
				   !s->count) {
				if (q->efd[v] >= 0)
					close(q->efd[v]);
				q->efd[v] = -1;
			} else if (data == VFU_IRQ_DATA_NONE ||
				   req->u.set_irqs.bools[i]) {
				if (q->efd[v] >= 0 && !q->masked[v])
					irq_signal(q->efd[v]);
			}
		}
		return 0;
	}
	if (data == VFU_IRQ_DATA_EVENTFD)
		return -EINVAL; /* mask-state eventfds are not offered */
	for (uint32_t i = 0; i < count; i++) {
		unsigned int v = start + i;
		bool set = data == VFU_IRQ_DATA_NONE || req->u.set_irqs.bools[i];

		if (!set)
			continue;
		q->masked[v] = action == VFU_IRQ_ACTION_MASK;
		if (!q->masked[v] && q->pending[v]) {
			q->pending[v] = false;
			if (q->efd[v] >= 0)
				irq_signal(q->efd[v]);
		}
	}
	if (p->ops.irq_mask)
		p->ops.irq_mask(dev, s->index, start, count,
				action == VFU_IRQ_ACTION_MASK, p->userdata);
	return 0;
}

static int config_access(struct vgpu_device *dev, uint64_t off, void *buf,
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

static int handle_region_rw(struct vgpu_device *dev, const struct vfu_req *req)
{
	const struct vfu_region_access *a = &req->u.region.a;
	uint8_t small[64], *buf = small;
	int r;

	/* register-sized accesses, the common case, need no allocation */
	if (a->count > sizeof(small) && !(buf = malloc(a->count)))
		return -ENOMEM;
	if (req->cmd == VFU_CMD_REGION_WRITE) {
		memcpy(buf, req->u.region.data, a->count);
		r = region_access(dev, a->region, a->offset, buf, a->count,
				  true);
		if (r == 0)
			r = reply(dev, req, a, sizeof(*a), NULL, 0, NULL, 0);
	} else {
		r = region_access(dev, a->region, a->offset, buf, a->count,
				  false);
		if (r == 0)
			r = reply(dev, req, a, sizeof(*a), buf, a->count, NULL,
				  0);
	}
	if (buf != small)
		free(buf);
	return r < 0 ? r : 1;
}

static int handle_write_multi(struct vgpu_device *dev,
			      const struct vfu_req *req)
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
	return reply(dev, req, &n, sizeof(n), NULL, 0, NULL, 0);
}

/* ---- migration (VFIO v2 states over DEVICE_FEATURE and MIG_DATA_*) ---- */

static bool mig_valid(uint32_t s)
{
	return s == VGPU_MIG_STOP || s == VGPU_MIG_RUNNING ||
	       s == VGPU_MIG_STOP_COPY || s == VGPU_MIG_RESUMING ||
	       s == VGPU_MIG_PRE_COPY;
}

/*
 * The next arc from @cur towards @want: a direct arc when there is one,
 * else through STOP (from RUNNING, STOP_COPY, RESUMING) or RUNNING (from
 * PRE_COPY), so that no saving state is passed through. 0 when forbidden.
 */
static enum vgpu_migration_state mig_next(enum vgpu_migration_state cur,
					  enum vgpu_migration_state want)
{
	switch (cur) {
	case VGPU_MIG_RUNNING:
		return want == VGPU_MIG_PRE_COPY ? VGPU_MIG_PRE_COPY : VGPU_MIG_STOP;
	case VGPU_MIG_STOP:
		return want == VGPU_MIG_PRE_COPY ? VGPU_MIG_RUNNING : want;
	case VGPU_MIG_STOP_COPY:
		return want == VGPU_MIG_PRE_COPY ? VGPU_MIG_ERROR : VGPU_MIG_STOP;
	case VGPU_MIG_RESUMING:
		return VGPU_MIG_STOP;
	case VGPU_MIG_PRE_COPY:
		return want == VGPU_MIG_STOP_COPY ? VGPU_MIG_STOP_COPY :
						    VGPU_MIG_RUNNING;
	default:
		return VGPU_MIG_ERROR;
	}
}

static int mig_set(struct vgpu_device *dev, uint32_t want)
{
	struct vgpu_provider *p = dev->provider;

	if (!mig_valid(want) || dev->mig == VGPU_MIG_ERROR)
		return -EINVAL;
	while (dev->mig != want) {
		enum vgpu_migration_state next = mig_next(dev->mig, want);
		int r;

		if (next == VGPU_MIG_ERROR)
			return -EINVAL;
		r = p->ops.migration_state(dev, next, p->userdata);
		if (r < 0) {
			dev->mig = VGPU_MIG_ERROR;
			return r;
		}
		dev->mig = next;
	}
	return 0;
}

static int handle_mig_data(struct vgpu_device *dev, const struct vfu_req *req)
{
	struct vgpu_provider *p = dev->provider;
	struct vfu_mig_data m = req->u.mig.m;
	uint8_t *buf;
	ssize_t n;
	int r;

	if (!p->ops.migration_state)
		return -EINVAL;
	if (req->cmd == VFU_CMD_MIG_DATA_WRITE) {
		if (dev->mig != VGPU_MIG_RESUMING || !p->ops.migration_write)
			return -EINVAL;
		r = p->ops.migration_write(dev, req->u.mig.data, m.size,
					   p->userdata);
		return r < 0 ? r : reply(dev, req, NULL, 0, NULL, 0, NULL, 0);
	}
	if ((dev->mig != VGPU_MIG_PRE_COPY && dev->mig != VGPU_MIG_STOP_COPY) ||
	    !p->ops.migration_read)
		return -EINVAL;
	buf = malloc(m.size ? m.size : 1);
	if (!buf)
		return -ENOMEM;
	n = p->ops.migration_read(dev, buf, m.size, p->userdata);
	if (n < 0 || (size_t)n > m.size) {
		free(buf);
		return n < 0 ? (int)n : -EIO;
	}
	m.size = (uint32_t)n;
	m.argsz = (uint32_t)(sizeof(m) + (size_t)n);
	r = reply(dev, req, &m, sizeof(m), buf, (size_t)n, NULL, 0);
	free(buf);
	return r;
}

static int handle_feature(struct vgpu_device *dev, const struct vfu_req *req)
{
	const struct vfu_feature *f = &req->u.feature.f;
	unsigned int feature = f->flags & VFU_FEATURE_MASK;
	bool probe = f->flags & VFU_FEATURE_PROBE;
	bool get = f->flags & VFU_FEATURE_GET, set = f->flags & VFU_FEATURE_SET;
	int r;

	switch (feature) {
	case VFU_FEATURE_DMA_LOGGING_START:
	case VFU_FEATURE_DMA_LOGGING_STOP:
		if (get)
			return -EINVAL;
		if (probe)
			break;
		if (feature == VFU_FEATURE_DMA_LOGGING_STOP) {
			vgpu_dma_table_log_stop(dev->dma);
			break;
		} else {
			struct vfu_log_start st;

			memcpy(&st, req->u.feature.data, sizeof(st));
			/* ranges are advisory: every window is logged */
			r = vgpu_dma_table_log_start(dev->dma, st.page_size);
			if (r < 0)
				return r;
		}
		break;
	case VFU_FEATURE_DMA_LOGGING_REPORT: {
		struct vfu_log_report rep;
		uint64_t pages, words;
		uint8_t *buf;
		size_t blen;

		if (set)
			return -EINVAL;
		if (probe)
			break;
		memcpy(&rep, req->u.feature.data, sizeof(rep));
		pages = rep.length / rep.page_size +
			!!(rep.length % rep.page_size);
		words = pages / 64 + !!(pages % 64);
		if (words > VFU_MAX_DATA_XFER / 8 ||
		    f->argsz < sizeof(*f) + sizeof(rep) + words * 8)
			return -EINVAL;
		blen = sizeof(*f) + sizeof(rep) + (size_t)words * 8;
		buf = calloc(1, blen);
		if (!buf)
			return -ENOMEM;
		r = vgpu_dma_table_log_report(
			dev->dma, rep.iova, rep.length, rep.page_size,
			(uint64_t *)(void *)(buf + sizeof(*f) + sizeof(rep)),
			(size_t)words * 8, true);
		if (r == 0) {
			struct vfu_feature hf = { .argsz = (uint32_t)blen,
						  .flags = f->flags };

			memcpy(buf, &hf, sizeof(hf));
			memcpy(buf + sizeof(hf), &rep, sizeof(rep));
			r = reply(dev, req, buf, blen, NULL, 0, NULL, 0);
		}
		free(buf);
		return r < 0 ? r : 1;
	}
	case VFU_FEATURE_MIGRATION:
	case VFU_FEATURE_MIG_DEVICE_STATE: {
		struct vgpu_provider *p = dev->provider;
		struct vfu_feature hf = *f;
		uint64_t mflags = 1 | 4; /* STOP_COPY, PRE_COPY */
		struct vfu_mig_state st = { .device_state = dev->mig,
					    .data_fd = UINT32_MAX };

		if (!p->ops.migration_state ||
		    (feature == VFU_FEATURE_MIGRATION && set))
			return -EINVAL;
		if (probe)
			break;
		if (set) {
			memcpy(&st, req->u.feature.data, sizeof(st));
			r = mig_set(dev, st.device_state);
			if (r < 0)
				return r;
			break;
		}
		/* GET: the data follows the echoed header */
		hf.argsz = (uint32_t)(sizeof(hf) +
				      (feature == VFU_FEATURE_MIGRATION ?
					       sizeof(mflags) :
					       sizeof(st)));
		if (f->argsz < hf.argsz)
			return -EINVAL;
		if (feature == VFU_FEATURE_MIGRATION)
			return reply(dev, req, &hf, sizeof(hf), &mflags,
				     sizeof(mflags), NULL, 0);
		return reply(dev, req, &hf, sizeof(hf), &st, sizeof(st), NULL,
			     0);
	}
	default:
		return -EINVAL;
	}
	return reply(dev, req, f, sizeof(*f), req->u.feature.data,
		     req->u.feature.data_len, NULL, 0);
}

/* handle one request; <0 is an errno for an error reply */
static int handle(struct vgpu_device *dev, struct vfu_req *req, int *fds)
{
	struct vgpu_provider *p = dev->provider;
	int r;

	if (!dev->versioned && req->cmd != VFU_CMD_VERSION)
		return -EINVAL;
	switch (req->cmd) {
	case VFU_CMD_VERSION:
		return handle_version(dev, req);
	case VFU_CMD_DMA_MAP:
		r = handle_dma_map(dev, req, fds);
		break;
	case VFU_CMD_DMA_UNMAP:
		return handle_dma_unmap(dev, req);
	case VFU_CMD_DEVICE_GET_INFO: {
		struct vfu_device_info di = {
			.argsz = sizeof(di),
			.flags = VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET,
			.num_regions = num_regions(dev),
			.num_irqs = VFU_PCI_NUM_IRQS,
		};

		return reply(dev, req, &di, sizeof(di), NULL, 0, NULL, 0);
	}
	case VFU_CMD_DEVICE_GET_REGION_INFO:
		return handle_region_info(dev, req);
	case VFU_CMD_DEVICE_GET_REGION_IO_FDS: {
		struct vfu_io_fds io = { .argsz = sizeof(io),
					 .index = req->u.io_fds.index };

		if (io.index >= VFU_MAX_REGIONS)
			return -EINVAL;
		return reply(dev, req, &io, sizeof(io), NULL, 0, NULL, 0);
	}
	case VFU_CMD_DEVICE_GET_IRQ_INFO:
		return handle_irq_info(dev, req);
	case VFU_CMD_DEVICE_SET_IRQS:
		r = handle_set_irqs(dev, req, fds);
		break;
	case VFU_CMD_REGION_READ:
	case VFU_CMD_REGION_WRITE:
		return handle_region_rw(dev, req);
	case VFU_CMD_REGION_WRITE_MULTI:
		return handle_write_multi(dev, req);
	case VFU_CMD_DEVICE_RESET:
		r = p->ops.reset ? p->ops.reset(dev, p->userdata) : 0;
		/* the way out of ERROR: back to RUNNING */
		if (r == 0 && dev->mig != VGPU_MIG_RUNNING &&
		    p->ops.migration_state) {
			r = p->ops.migration_state(dev, VGPU_MIG_RUNNING,
						   p->userdata);
			dev->mig = r < 0 ? VGPU_MIG_ERROR : VGPU_MIG_RUNNING;
		}
		break;
	case VFU_CMD_DEVICE_FEATURE:
		return handle_feature(dev, req);
	case VFU_CMD_MIG_DATA_READ:
	case VFU_CMD_MIG_DATA_WRITE:
		return handle_mig_data(dev, req);
	default:
		return -ENOSYS;
	}
	if (r < 0)
		return r;
	return reply(dev, req, NULL, 0, NULL, 0, NULL, 0);
}

/* parse and handle one message, with dev->lock held; <0 disconnects */
static int handle_msg(struct vgpu_device *dev, struct vfu_msg *msg)
{
	struct vgpu_provider *p = dev->provider;
	struct vfu_req req;
	int r;

	r = vfu_parse_command(&msg->hdr, msg->payload, msg->len, msg->nfds,
			      VFU_MAX_DATA_XFER, &req);
	if (r == 0)
		r = handle(dev, &req, msg->fds);
	/* fds a handler did not take, or that the command did not use */
	vfu_msg_close_fds(msg, 0);
	if (dev->conn_err)
		return dev->conn_err; /* a DMA exchange lost the client */
	if (r < 0) {
		dbg(p->ctx, "device %s: command %u failed: %s", dev->uuid,
		    msg->hdr.cmd, strerror(-r));
		if (!(msg->hdr.flags & VFU_F_NO_REPLY) ||
		    msg->hdr.cmd == VFU_CMD_VERSION)
			r = vfu_send_error(dev->conn_fd, &msg->hdr, r);
		else
			r = 0;
		/* a failed negotiation ends the connection */
		if (!dev->versioned)
			r = -EPROTO;
	}
	return r;
}

/*
 * Read and handle one message, then the commands that arrived while it
 * made DMA exchanges, in order; <0 disconnects, except -EAGAIN: a
 * MSG_DONTWAIT read found no whole message (the part stays buffered).
 */
static int serve_one(struct vgpu_device *dev, int flags)
{
	struct vfu_msg msg;
	int r;

	r = vfu_reader_next(&dev->rx, dev->conn_fd, &msg, flags);
	if (r < 0)
		return r;
	pthread_mutex_lock(&dev->lock);
	dev->serving = true;
	dev->serving_thread = pthread_self();
	r = handle_msg(dev, &msg);
	unstash(dev);
	while (r >= 0 && dev->q_head) {
		struct qmsg *q = dev->q_head;

		dev->q_head = q->next;
		if (!dev->q_head)
			dev->q_tail = NULL;
		dev->q_len--;
		dev->q_bytes -= q->len;
		msg.hdr = q->hdr;
		msg.payload = q->payload;
		msg.len = q->len;
		memcpy(msg.fds, q->fds, q->nfds * sizeof(int));
		msg.nfds = q->nfds;
		r = handle_msg(dev, &msg);
		free(q);
		unstash(dev);
	}
	dev->serving = false;
	pthread_mutex_unlock(&dev->lock);
	return r < 0 ? r : 0;
}

/* ------------------------------------------------------------------------ */
/* the control socket (see ctl.h)                                            */

static int ctl_printf(char **buf, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int ctl_printf(char **buf, size_t *len, const char *fmt, ...)
{
	va_list ap;
	char *s, *nb;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -ENOMEM;
	nb = realloc(*buf, *len + (size_t)n + 1);
	if (!nb) {
		free(s);
		return -ENOMEM;
	}
	memcpy(nb + *len, s, (size_t)n + 1);
	*buf = nb;
	*len += (size_t)n;
	free(s);
	return 0;
}

/* a text field: control characters blanked, never empty */
static char *ctl_text(const char *s)
{
	char *t = strdup(s && *s ? s : "-");

	vfu_ctl_clean(t);
	return t;
}

static struct vgpu_device *find_device(struct vgpu_provider *p,
				       const char *uuid)
{
	for (size_t i = 0; i < p->devices.n; i++) {
		struct vgpu_device *d = p->devices.items[i];

		if (!strcmp(d->uuid, uuid))
			return d;
	}
	return NULL;
}

static int ctl_device_line(char **out, size_t *len, struct vgpu_device *d)
{
	char *path = ctl_text(d->socket_path);
	int r = path ? ctl_printf(out, len, "%s\t%s\t%s\n", d->uuid,
				  d->type->id, path) :
		       -ENOMEM;

	free(path);
	return r;
}

/* the reply to one request: "ok N" and records, or -errno */
static int ctl_handle(struct vgpu_provider *p, const struct vfu_ctl_req *q,
		      char **out, size_t *len)
{
	struct vgpu_device *dev;
	int r = 0;

	switch (q->op) {
	case VFU_CTL_TYPES:
		r = ctl_printf(out, len, "ok %zu\n", p->n_types);
		for (size_t i = 0; r == 0 && i < p->n_types; i++) {
			struct ptype *t = &p->types[i];
			char *name = ctl_text(t->name), *desc = ctl_text(t->description);

			r = name && desc ?
				    ctl_printf(out, len, "%s\t%d\t%u\t%s\t%s\n",
					       t->id,
					       vgpu_provider_get_available(p, t->id),
					       t->max, name, desc) :
				    -ENOMEM;
			free(name);
			free(desc);
		}
		return r;
	case VFU_CTL_LIST:
		r = ctl_printf(out, len, "ok %zu\n", p->devices.n);
		for (size_t i = 0; r == 0 && i < p->devices.n; i++)
			r = ctl_device_line(out, len, p->devices.items[i]);
		return r;
	case VFU_CTL_CREATE:
		r = vgpu_provider_create_device(p, q->type, q->uuid, NULL, &dev);
		if (r < 0)
			return r;
		r = ctl_printf(out, len, "ok 1\n");
		if (r == 0)
			r = ctl_device_line(out, len, dev);
		vgpu_device_unref(dev);
		return r;
	case VFU_CTL_REMOVE:
		dev = find_device(p, q->uuid);
		if (!dev)
			return -ENOENT;
		r = vgpu_device_destroy(dev);
		return r < 0 ? r : ctl_printf(out, len, "ok 0\n");
	}
	return -EINVAL;
}

/*
 * One control connection, served synchronously: the peer must be root or
 * our user, and has one second to send its line.
 */
static void serve_control(struct vgpu_provider *p)
{
	struct timeval tv = { .tv_sec = 1 };
	struct ucred cred;
	socklen_t cl = sizeof(cred);
	char line[VFU_CTL_MAX_REQ], *out = NULL;
	size_t len = 0, olen = 0;
	struct vfu_ctl_req q;
	int fd, r;

	fd = accept4(p->ctl_fd, NULL, NULL, SOCK_CLOEXEC);
	if (fd < 0)
		return;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &cl) < 0 ||
	    (cred.uid != 0 && cred.uid != geteuid())) {
		info(p->ctx, "provider %s: control connection from uid %u refused",
		     p->id, (unsigned int)cred.uid);
		close(fd);
		return;
	}
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	r = -EINVAL;
	while (len < sizeof(line)) {
		ssize_t n = recv(fd, line + len, sizeof(line) - len, 0);
		char *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		nl = memchr(line + len, '\n', (size_t)n);
		len += (size_t)n;
		if (nl) {
			/* exactly one line */
			if (nl == line + len - 1)
				r = vfu_ctl_parse_request(line, len - 1, &q);
			break;
		}
	}
	if (r == 0)
		r = ctl_handle(p, &q, &out, &olen);
	if (r < 0) {
		free(out);
		out = NULL;
		olen = 0;
		if (ctl_printf(&out, &olen, "err %d\n", -r) < 0)
			olen = 0;
	}
	dbg(p->ctx, "provider %s: control request: %s", p->id,
	    r < 0 ? strerror(-r) : "ok");
	for (size_t done = 0; done < olen;) {
		ssize_t n = send(fd, out + done, olen - done, MSG_NOSIGNAL);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		done += (size_t)n;
	}
	free(out);
	close(fd);
}

VGPU_EXPORT int vgpu_provider_listen_control(struct vgpu_provider *p,
					     const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &p->wctl };
	char *where;
	int fd, r;

	if (!p)
		return -EINVAL;
	if (p->ctl_fd >= 0)
		return -EALREADY;
	if (path) {
		where = strdup(path);
		r = where ? 0 : -ENOMEM;
	} else {
		r = runtime_subdir(p, &where);
		if (r == 0) {
			char *full;

			r = asprintf(&full, "%s/%s.ctl", where, p->id) < 0 ?
				    -ENOMEM :
				    0;
			free(where);
			where = r == 0 ? full : NULL;
		}
	}
	if (r < 0)
		return r;
	if (strlen(where) >= sizeof(sa.sun_path)) {
		free(where);
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, where);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		free(where);
		return -errno;
	}
	unlink(where);
	/* 0600; the peer check stands guard over the moment before chmod */
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    chmod(where, 0600) < 0 || listen(fd, 8) < 0 ||
	    epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
		r = -errno;
		close(fd);
		unlink(where);
		free(where);
		return r;
	}
	p->wctl.kind = WATCH_CTL;
	p->ctl_fd = fd;
	p->ctl_path = where;
	info(p->ctx, "provider %s: control socket %s", p->id, where);
	return 0;
}

static int handle_event(struct vgpu_provider *p, struct watch *w)
{
	struct vgpu_device *dev = w->dev;
	int r;

	switch (w->kind) {
	case WATCH_STOP:
		return -ECANCELED;
	case WATCH_LISTEN:
		r = accept_client(dev);
		return r < 0 ? r : 0;
	case WATCH_CTL:
		serve_control(p);
		return 0;
	case WATCH_CONN:
		/* one read, then whatever it brought that is complete */
		do
			r = serve_one(dev, MSG_DONTWAIT);
		while (r >= 0 && vfu_reader_has_msg(&dev->rx));
		if (r < 0 && r != -EAGAIN && dev->conn_fd >= 0)
			conn_lost(dev, r);
		return 0;
	}
	return 0;
}

VGPU_EXPORT int vgpu_provider_dispatch(struct vgpu_provider *p, int timeout_ms)
{
	struct epoll_event ev[16];
	int n, handled = 0;

	if (!p)
		return -EINVAL;
	n = epoll_wait(p->epfd, ev, 16, timeout_ms);
	if (n < 0)
		return errno == EINTR ? 0 : -errno;
	for (int i = 0; i < n; i++) {
		int r = handle_event(p, ev[i].data.ptr);

		if (r == -ECANCELED)
			return r;
		if (r < 0)
			return r;
		handled++;
	}
	return handled;
}

static void *runner(void *data)
{
	struct vgpu_provider *p = data;

	for (;;) {
		int r = vgpu_provider_dispatch(p, -1);

		if (r == -ECANCELED)
			break;
		if (r < 0) {
			err(p->ctx, "provider %s: dispatch failed: %s", p->id,
			    strerror(-r));
			break;
		}
	}
	return NULL;
}

VGPU_EXPORT int vgpu_provider_start_thread(struct vgpu_provider *p)
{
	int r;

	if (!p)
		return -EINVAL;
	if (p->thread_running)
		return -EALREADY;
	p->threaded = true;
	r = pthread_create(&p->thread, NULL, runner, p);
	if (r) {
		p->threaded = false;
		return -r;
	}
	p->thread_running = true;
	return 0;
}

VGPU_EXPORT int vgpu_provider_stop_thread(struct vgpu_provider *p)
{
	uint64_t one = 1, drain;

	if (!p)
		return -EINVAL;
	if (!p->thread_running)
		return -ESRCH;
	if (write(p->stop_fd, &one, sizeof(one)) < 0)
		return -errno;
	pthread_join(p->thread, NULL);
	p->thread_running = false;
	p->threaded = false;
	/* connections served by threads are dropped; the devices listen again */
	for (size_t i = 0; i < p->devices.n; i++)
		join_conn_thread(p->devices.items[i]);
	if (read(p->stop_fd, &drain, sizeof(drain)) < 0)
		return 0;
	return 0;
}

/* ------------------------------------------------------------------------ */
/* device creation and destruction                                          */

static int default_socket_path(struct vgpu_provider *p, const char *uuid,
			       char **ret)
{
	char *dir;
	int r = runtime_subdir(p, &dir);

	if (r < 0)
		return r;
	if (asprintf(ret, "%s/%s.sock", dir, uuid) < 0)
		r = -ENOMEM;
	free(dir);
	return r;
}

static int listen_on(struct vgpu_device *dev, const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	unlink(path);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 1) < 0) {
		int r = -errno;

		close(fd);
		return r;
	}
	dev->listen_fd = fd;
	return 0;
}

VGPU_EXPORT int vgpu_provider_create_device(struct vgpu_provider *p,
					    const char *type_id,
					    const char *uuid,
					    const char *socket_path,
					    struct vgpu_device **ret)
{
	pthread_mutexattr_t ma;
	struct vgpu_device *dev;
	struct epoll_event ev = { .events = EPOLLIN };
	struct ptype *t;
	char norm[VGPU_UUID_LEN + 1];
	int r;

	if (!p || !type_id || !uuid)
		return -EINVAL;
	if (vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	t = find_type(p, type_id);
	if (!t)
		return -ENOENT;
	if (vgpu_provider_get_available(p, type_id) <= 0)
		return -ENOSPC;
	for (size_t i = 0; i < p->devices.n; i++)
		if (!strcmp(((struct vgpu_device *)p->devices.items[i])->uuid,
			    norm))
			return -EEXIST;
	dev = calloc(1, sizeof(*dev));
	if (!dev)
		return -ENOMEM;
	dev->refcount = 1;
	memcpy(dev->uuid, norm, sizeof(norm));
	dev->type = t;
	dev->listen_fd = dev->conn_fd = -1;
	vfu_reader_init(&dev->rx);
	vfu_reader_init(&dev->rx_wait);
	dev->mig = VGPU_MIG_RUNNING;
	for (unsigned int i = 0; i < VFU_MAX_REGIONS; i++)
		dev->regions[i].memfd = -1;
	pthread_mutexattr_init(&ma);
	pthread_mutexattr_settype(&ma, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&dev->lock, &ma);
	pthread_mutexattr_destroy(&ma);
	dev->wl.kind = WATCH_LISTEN;
	dev->wl.dev = dev;
	dev->wc.kind = WATCH_CONN;
	dev->wc.dev = dev;
	config_init(dev);
	dev->provider = p;

	r = p->ops.create(dev, type_id, p->userdata);
	if (r < 0) {
		dev->provider = NULL;
		device_free(dev);
		return r;
	}
	r = socket_path ? ((dev->socket_path = strdup(socket_path)) ? 0 :
								       -ENOMEM) :
			  default_socket_path(p, norm, &dev->socket_path);
	if (r == 0)
		r = listen_on(dev, dev->socket_path);
	if (r == 0) {
		ev.data.ptr = &dev->wl;
		if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, dev->listen_fd, &ev) < 0)
			r = -errno;
	}
	if (r == 0)
		r = vgpu_vec_push(&p->devices, dev);
	if (r < 0) {
		if (dev->listen_fd >= 0) {
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, dev->listen_fd, NULL);
			close(dev->listen_fd);
			unlink(dev->socket_path);
		}
		if (p->ops.destroy)
			p->ops.destroy(dev, p->userdata);
		dev->provider = NULL;
		device_free(dev);
		return r;
	}
	t->used++;
	info(p->ctx, "device %s (%s) listening on %s", dev->uuid, type_id,
	     dev->socket_path);
	if (ret)
		*ret = vgpu_device_ref(dev);
	return 0;
}

VGPU_EXPORT int vgpu_device_destroy(struct vgpu_device *dev)
{
	struct vgpu_provider *p;

	if (!dev)
		return -EINVAL;
	p = dev->provider;
	if (!p)
		return -ENODEV;
	pthread_mutex_lock(&dev->lock);
	dev->dying = true;
	pthread_mutex_unlock(&dev->lock);
	join_conn_thread(dev);
	disconnect(dev);
	if (dev->listen_fd >= 0) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, dev->listen_fd, NULL);
		close(dev->listen_fd);
		dev->listen_fd = -1;
		unlink(dev->socket_path);
	}
	if (p->ops.destroy)
		p->ops.destroy(dev, p->userdata);
	for (size_t i = 0; i < p->devices.n; i++)
		if (p->devices.items[i] == dev) {
			memmove(&p->devices.items[i], &p->devices.items[i + 1],
				(p->devices.n - i - 1) * sizeof(void *));
			p->devices.n--;
			break;
		}
	dev->type->used--;
	dev->provider = NULL;
	vgpu_device_unref(dev);
	return 0;
}
