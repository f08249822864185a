/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Opened devices: the backend-neutral half of struct vgpu_handle. Finds the
 * device in sysfs, lets a device-access backend open it, keeps the region
 * table and the DMA window table (lib/dma-table), checks every argument
 * before a backend sees it, and implements the PCI config space helpers on
 * top of region access.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <uuid/uuid.h>

#include "device-private.h"
#include "dma-table.h"
#include "util-sysfs.h"
#include "util-uuid.h"

#define PCI_CFG_SPACE	  256u
#define PCI_CFG_SPACE_EXP 4096u

void vgpu_ctx_set_vfio_sys(struct vgpu_ctx *ctx,
			   const struct vgpu_vfio_sys *sys)
{
	if (ctx)
		ctx->vfio_sys = sys;
}

const struct vgpu_access *const vgpu_access_methods[] = {
	&vgpu_access_vfio_kernel,
	&vgpu_access_vfio_user,
	NULL,
};

const struct vgpu_access *vgpu_access_find(const char *name)
{
	for (size_t i = 0; name && vgpu_access_methods[i]; i++)
		if (!strcmp(vgpu_access_methods[i]->name, name))
			return vgpu_access_methods[i];
	return NULL;
}

/* "0000:01:00.1" or "01:00.1" -> the full form in @out */
static int parse_bdf(const char *id, char out[13])
{
	unsigned int dom = 0, bus, dev, fn;
	char tail;

	if (sscanf(id, "%4x:%2x:%2x.%1u%c", &dom, &bus, &dev, &fn, &tail) ==
		    4 &&
	    strlen(id) == 12)
		;
	else if (sscanf(id, "%2x:%2x.%1u%c", &bus, &dev, &fn, &tail) == 3 &&
		 strlen(id) == 7)
		dom = 0;
	else
		return -EINVAL;
	if (dev > 31 || fn > 7)
		return -EINVAL;
	snprintf(out, 13, "%04x:%02x:%02x.%u", dom, bus, dev, fn);
	return 0;
}

/* the IOMMU group of the device at @devdir, or -1 */
static int read_group(const char *devdir)
{
	char link[64], *gl = vgpu_path_join(devdir, "iommu_group");
	long g;
	int group = -1;

	if (gl && vgpu_readlink_base(AT_FDCWD, gl, link, sizeof(link)) >= 0 &&
	    vgpu_parse_long(link, 10, 0, INT_MAX, &g) == 0)
		group = (int)g;
	free(gl);
	return group;
}

/* the sysfs directory (malloc'd) of the PCI device @bdf, normalised into
 * @name; -ENODEV when absent */
static int locate_pci(struct vgpu_ctx *ctx, const char *bdf, char name[37],
		      char **devdir)
{
	if (asprintf(devdir, "%s/bus/pci/devices/%s", ctx->sysfs_root, name) <
	    0)
		return -ENOMEM;
	if (access(*devdir, F_OK) < 0) {
		dbg(ctx, "%s: no %s", bdf, *devdir);
		free(*devdir);
		*devdir = NULL;
		return -ENODEV;
	}
	return 0;
}

/* the active instance named by the UUID @name, from whichever backend */
static int find_active(struct vgpu_ctx *ctx, const char *name,
		       struct vgpu_instance **ret)
{
	struct vgpu_instance *in;
	int r = vgpu_instance_get(ctx, name, NULL, &in);

	if (r < 0)
		return r == -ENOENT ? -ENODEV : r;
	if (!vgpu_instance_is_active(in) || !in->syspath) {
		vgpu_instance_unref(in);
		return -ENODEV;
	}
	*ret = in;
	return 0;
}

/* what resolve() found; release with resolved_clear() */
struct resolved {
	struct vgpu_access_target t;
	const struct vgpu_access *access;
	char *path;
	char name[37];
};

static void resolved_clear(struct resolved *r)
{
	vgpu_instance_unref(r->t.instance);
	free(r->path);
	memset(r, 0, sizeof(*r));
}

/*
 * What @id names: a PCI device (kernel VFIO), or an active instance of any
 * backend, opened by the access method its backend names.
 */
static int resolve(struct vgpu_ctx *ctx, const char *id, struct resolved *out)
{
	struct vgpu_instance *in;
	int r;

	memset(out, 0, sizeof(*out));
	out->t.iommu_group = -1;
	if (parse_bdf(id, out->name) == 0) {
		r = locate_pci(ctx, id, out->name, &out->path);
		if (r < 0)
			return r;
		out->access = &vgpu_access_vfio_kernel;
	} else {
		if (vgpu_uuid_normalize(id, out->name) < 0)
			return -EINVAL;
		r = find_active(ctx, out->name, &in);
		if (r < 0)
			return r;
		out->t.instance = in;
		out->access = vgpu_access_find(in->backend->access);
		if (!out->access) {
			err(ctx,
			    "%s: the %s backend names no known access method",
			    out->name, in->backend->name);
			resolved_clear(out);
			return -EOPNOTSUPP;
		}
		out->path = strdup(in->syspath);
		if (!out->path) {
			resolved_clear(out);
			return -ENOMEM;
		}
	}
	out->t.id = out->name;
	out->t.path = out->path;
	out->t.iommu_group = read_group(out->path);
	return 0;
}

static int region_cmp(const void *a, const void *b)
{
	const struct vgpu_region *x = a, *y = b;

	return (x->index > y->index) - (x->index < y->index);
}

/* read one region's info into the table (kept sorted by index) */
static int table_add(struct vgpu_handle *h, unsigned int index,
		     struct vgpu_region **ret)
{
	struct vgpu_region r, *n;
	int e = h->ops->region_info(h, index, &r);

	if (e < 0)
		return e;
	n = realloc(h->regions, (h->n_regions + 1) * sizeof(*n));
	if (!n) {
		vgpu_region_clear(&r);
		return -ENOMEM;
	}
	h->regions = n;
	n[h->n_regions++] = r;
	qsort(h->regions, h->n_regions, sizeof(*n), region_cmp);
	if (ret) {
		for (size_t i = 0; i < h->n_regions; i++)
			if (h->regions[i].index == index)
				*ret = &h->regions[i];
	}
	return 0;
}

static int build_region_table(struct vgpu_handle *h)
{
	unsigned int last =
		h->num_regions > VGPU_REGION_PROBE_MAX || h->regions_counted
			? h->num_regions
			: VGPU_REGION_PROBE_MAX;

	for (unsigned int i = 0; i < last; i++) {
		int r = table_add(h, i, NULL);

		if (r == -ENOENT || (r == -EBADMSG && i < h->num_regions)) {
			/* regions the device does not implement, and ones
			 * whose answer is malformed, are left out */
			continue;
		}
		if (r < 0 && i >= h->num_regions)
			continue; /* beyond the count: only probing */
		if (r < 0)
			return r;
	}
	return 0;
}

static struct vgpu_region *find_region(struct vgpu_handle *h,
				       unsigned int index)
{
	for (size_t i = 0; i < h->n_regions; i++)
		if (h->regions[i].index == index)
			return &h->regions[i];
	return NULL;
}

static void release_window(struct vgpu_dma_window *w, void *data)
{
	struct vgpu_handle *h = data;

	if (h->ops && h->ops->dma_unmap)
		h->ops->dma_unmap(h, w->iova, w->len);
}

static void handle_free(struct vgpu_handle *h)
{
	if (h->dirty_pgsize && h->ops->dirty_stop)
		h->ops->dirty_stop(h);
	if (h->dma)
		vgpu_dma_table_free(h->dma, release_window, h);
	if (h->ops && h->ops->close)
		h->ops->close(h);
	for (size_t i = 0; i < h->n_regions; i++)
		vgpu_region_clear(&h->regions[i]);
	free(h->regions);
	free(h->iova);
	free(h->id);
	vgpu_ctx_unref(h->ctx);
	free(h);
}

/* options the caller compiled with a larger struct must be zero there */
static int check_opts_tail(const void *opts, size_t size, size_t known)
{
	for (size_t i = known; i < size; i++)
		if (((const uint8_t *)opts)[i])
			return -E2BIG;
	return 0;
}

VGPU_EXPORT int vgpu_handle_open(struct vgpu_ctx *ctx, const char *id,
				 unsigned int flags, struct vgpu_handle **ret)
{
	struct vgpu_open_opts o = { .size = sizeof(o), .flags = flags };

	return vgpu_handle_open_opts(ctx, id, &o, ret);
}

VGPU_EXPORT int vgpu_handle_open_opts(struct vgpu_ctx *ctx, const char *id,
				      const struct vgpu_open_opts *opts,
				      struct vgpu_handle **ret)
{
	struct vgpu_open_opts o = { .size = sizeof(o) };
	char token[VGPU_UUID_LEN + 1];
	struct resolved res;
	unsigned int flags;
	int r;

	if (opts) {
		if (opts->size <
		    offsetof(struct vgpu_open_opts, flags) + sizeof(o.flags))
			return -EINVAL;
		r = check_opts_tail(opts, opts->size, sizeof(o));
		if (r < 0)
			return r;
		memcpy(&o, opts,
		       opts->size < sizeof(o) ? opts->size : sizeof(o));
	}
	flags = o.flags;
	if (!ctx || !id || !ret ||
	    (flags &
	     ~(unsigned int)(VGPU_OPEN_NO_IOMMUFD | VGPU_OPEN_IOMMUFD)) ||
	    (flags & VGPU_OPEN_NO_IOMMUFD && flags & VGPU_OPEN_IOMMUFD))
		return -EINVAL;
	if (o.vf_token && vgpu_uuid_normalize(o.vf_token, token) < 0) {
		err(ctx, "%s: the VF token '%s' is not a UUID", id, o.vf_token);
		return -EINVAL;
	}
	r = resolve(ctx, id, &res);
	if (r < 0) {
		if (r == -EINVAL)
			err(ctx, "%s: neither a UUID nor a PCI address", id);
		else if (r == -ENODEV)
			err(ctx, "%s: no such device", id);
		return r;
	}
	res.t.vf_token = o.vf_token ? token : NULL;
	r = vgpu_handle_open_target(ctx, res.access, &res.t, flags, ret);
	resolved_clear(&res);
	return r;
}

int vgpu_handle_open_target(struct vgpu_ctx *ctx,
			    const struct vgpu_access *access,
			    const struct vgpu_access_target *t,
			    unsigned int flags, struct vgpu_handle **ret)
{
	struct vgpu_handle *h;
	int r;

	h = calloc(1, sizeof(*h));
	if (!h || !(h->id = strdup(t->id)) || vgpu_dma_table_new(&h->dma) < 0) {
		if (h)
			free(h->id);
		free(h);
		return -ENOMEM;
	}
	h->refcount = 1;
	h->ctx = vgpu_ctx_ref(ctx);
	h->pgsizes = 4096;
	h->iommu_group = t->iommu_group;
	r = access->open(h, t, flags);
	if (r >= 0)
		r = build_region_table(h);
	if (r >= 0 && !h->n_iova) {
		h->iova = calloc(1, sizeof(*h->iova));
		if (!h->iova)
			r = -ENOMEM;
		else {
			h->iova[0].last = UINT64_MAX;
			h->n_iova = 1;
		}
	}
	if (r < 0) {
		handle_free(h);
		return r;
	}
	info(ctx, "%s: opened through %s (group %d, %u regions, %u IRQs)",
	     h->id, h->ops->access, h->iommu_group, h->num_regions,
	     h->num_irqs);
	*ret = h;
	return 0;
}

VGPU_EXPORT int vgpu_handle_open_socket(struct vgpu_ctx *ctx, const char *path,
					unsigned int flags,
					struct vgpu_handle **ret)
{
	struct vgpu_access_target t = { .id = path,
					.path = path,
					.iommu_group = -1 };

	if (!ctx || !path || !*path || flags || !ret)
		return -EINVAL;
	return vgpu_handle_open_target(ctx, &vgpu_access_vfio_user, &t, 0, ret);
}

VGPU_EXPORT int vgpu_handle_get_service_fd(struct vgpu_handle *h)
{
	if (!h)
		return -EINVAL;
	return h->ops->service_fd ? h->ops->service_fd(h) : -ENOTSUP;
}

VGPU_EXPORT int vgpu_handle_service(struct vgpu_handle *h)
{
	if (!h)
		return -EINVAL;
	return h->ops->service ? h->ops->service(h) : 0;
}

VGPU_EXPORT struct vgpu_handle *vgpu_handle_ref(struct vgpu_handle *h)
{
	if (h)
		h->refcount++;
	return h;
}

VGPU_EXPORT struct vgpu_handle *vgpu_handle_unref(struct vgpu_handle *h)
{
	if (!h || --h->refcount > 0)
		return h;
	handle_free(h);
	return NULL;
}

VGPU_EXPORT const char *vgpu_handle_get_id(struct vgpu_handle *h)
{
	return h ? h->id : NULL;
}

VGPU_EXPORT const char *vgpu_handle_get_access(struct vgpu_handle *h)
{
	return h ? h->ops->access : NULL;
}

VGPU_EXPORT int vgpu_handle_get_iommu_group(struct vgpu_handle *h)
{
	return h ? h->iommu_group : -1;
}

VGPU_EXPORT bool vgpu_handle_is_pci(struct vgpu_handle *h)
{
	return h && h->is_pci;
}

VGPU_EXPORT int vgpu_handle_get_region_count(struct vgpu_handle *h)
{
	return h ? (int)h->n_regions : -EINVAL;
}

VGPU_EXPORT int vgpu_handle_get_region(struct vgpu_handle *h, unsigned int n,
				       unsigned int *index, uint64_t *size,
				       uint32_t *flags)
{
	if (!h)
		return -EINVAL;
	if (n >= h->n_regions)
		return -ERANGE;
	if (index)
		*index = h->regions[n].index;
	if (size)
		*size = h->regions[n].size;
	if (flags)
		*flags = h->regions[n].flags;
	return 0;
}

/* a region by index; asks the device for indexes not in the table yet
 * (a plane's region may only be announced by the plane query) */
static int get_region(struct vgpu_handle *h, unsigned int index,
		      struct vgpu_region **ret)
{
	if (!h)
		return -EINVAL;
	*ret = find_region(h, index);
	if (*ret)
		return 0;
	return table_add(h, index, ret);
}

VGPU_EXPORT int vgpu_handle_region_get_type(struct vgpu_handle *h,
					    unsigned int index, uint32_t *type,
					    uint32_t *subtype)
{
	struct vgpu_region *r;
	int e = get_region(h, index, &r);

	if (e < 0)
		return e;
	if (!r->has_type)
		return -ENODATA;
	if (type)
		*type = r->type;
	if (subtype)
		*subtype = r->subtype;
	return 0;
}

VGPU_EXPORT int vgpu_handle_region_get_sparse_count(struct vgpu_handle *h,
						    unsigned int index)
{
	struct vgpu_region *r;
	int e = get_region(h, index, &r);

	return e < 0 ? e : (int)r->n_sparse;
}

VGPU_EXPORT int vgpu_handle_region_get_sparse(struct vgpu_handle *h,
					      unsigned int index,
					      unsigned int n, uint64_t *offset,
					      uint64_t *size)
{
	struct vgpu_region *r;
	int e = get_region(h, index, &r);

	if (e < 0)
		return e;
	if (n >= r->n_sparse)
		return -ERANGE;
	if (offset)
		*offset = r->sparse[n].offset;
	if (size)
		*size = r->sparse[n].size;
	return 0;
}

/* how many zero-byte transfers in a row we accept before calling it EIO */
#define RW_STALL_MAX 3
#define RW_EINTR_MAX 1000

static int region_rw(struct vgpu_handle *h, unsigned int index, uint64_t offset,
		     void *buf, size_t len, bool write)
{
	struct vgpu_region *r;
	size_t done = 0;
	int stalls = 0, intr = 0;
	int e;

	if (!h || (!buf && len))
		return -EINVAL;
	e = get_region(h, index, &r);
	if (e < 0)
		return e;
	if (!(r->flags & (write ? VGPU_REGION_WRITE : VGPU_REGION_READ)))
		return -EACCES;
	if (offset > r->size || len > r->size - offset)
		return -ERANGE;
	while (done < len) {
		ssize_t n = h->ops->region_rw(h, r, offset + done,
					      (char *)buf + done, len - done,
					      write);

		if (n == -EINTR || n == -EAGAIN) {
			if (++intr > RW_EINTR_MAX)
				return -EINTR;
			continue;
		}
		if (n < 0) {
			dbg(h->ctx,
			    "%s: region %u: %s of %zu bytes at 0x%llx: %s",
			    h->id, index, write ? "write" : "read", len - done,
			    (unsigned long long)(offset + done),
			    strerror((int)-n));
			return (int)n;
		}
		if (n == 0) {
			if (++stalls >= RW_STALL_MAX) {
				err(h->ctx,
				    "%s: region %u: the device transfers nothing at 0x%llx",
				    h->id, index,
				    (unsigned long long)(offset + done));
				return -EIO;
			}
			continue;
		}
		stalls = 0;
		done += (size_t)n;
	}
	return 0;
}

VGPU_EXPORT int vgpu_handle_region_read(struct vgpu_handle *h,
					unsigned int index, uint64_t offset,
					void *buf, size_t len)
{
	return region_rw(h, index, offset, buf, len, false);
}

VGPU_EXPORT int vgpu_handle_region_write(struct vgpu_handle *h,
					 unsigned int index, uint64_t offset,
					 const void *buf, size_t len)
{
	return region_rw(h, index, offset, (void *)buf, len, true);
}

VGPU_EXPORT int vgpu_handle_region_mmap(struct vgpu_handle *h,
					unsigned int index, uint64_t offset,
					size_t len, int prot, void **ret)
{
	long page = sysconf(_SC_PAGESIZE);
	struct vgpu_region *r;
	bool inside = false;
	int e;

	if (!h || !ret || !len || offset % (uint64_t)page ||
	    (prot & ~(PROT_READ | PROT_WRITE)))
		return -EINVAL;
	e = get_region(h, index, &r);
	if (e < 0)
		return e;
	if (!(r->flags & VGPU_REGION_MMAP) ||
	    ((prot & PROT_READ) && !(r->flags & VGPU_REGION_READ)) ||
	    ((prot & PROT_WRITE) && !(r->flags & VGPU_REGION_WRITE)))
		return -EACCES;
	if (offset > r->size || len > r->size - offset)
		return -EACCES;
	if (!r->has_sparse)
		inside = true;
	for (unsigned int i = 0; i < r->n_sparse && !inside; i++) {
		const struct vgpu_sparse_area *a = &r->sparse[i];

		inside = offset >= a->offset && len <= a->size &&
			 offset - a->offset <= a->size - len;
	}
	if (!inside)
		return -EACCES;
	return h->ops->region_mmap(h, r, offset, len, prot, ret);
}

/* ---- PCI config space ---- */

VGPU_EXPORT int vgpu_handle_config_read(struct vgpu_handle *h,
					unsigned int offset, unsigned int width,
					uint32_t *val)
{
	uint8_t b[4] = { 0 };
	int e;

	if (!h || !val || (width != 1 && width != 2 && width != 4) ||
	    offset % width)
		return -EINVAL;
	if (!h->is_pci)
		return -ENOTSUP;
	e = vgpu_handle_region_read(h, VGPU_REGION_CONFIG, offset, b, width);
	if (e < 0)
		return e;
	*val = (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 |
	       (uint32_t)b[3] << 24;
	return 0;
}

VGPU_EXPORT int vgpu_handle_config_write(struct vgpu_handle *h,
					 unsigned int offset,
					 unsigned int width, uint32_t val)
{
	uint8_t b[4] = { val & 0xff, (val >> 8) & 0xff, (val >> 16) & 0xff,
			 val >> 24 };

	if (!h || (width != 1 && width != 2 && width != 4) || offset % width)
		return -EINVAL;
	if (!h->is_pci)
		return -ENOTSUP;
	return vgpu_handle_region_write(h, VGPU_REGION_CONFIG, offset, b,
					width);
}

VGPU_EXPORT int vgpu_handle_config_find_cap(struct vgpu_handle *h,
					    unsigned int cap_id, bool extended,
					    unsigned int after)
{
	uint32_t v, status;
	unsigned int pos;
	int e;

	if (!h)
		return -EINVAL;
	if (!extended) {
		e = vgpu_handle_config_read(h, 0x06, 2, &status);
		if (e < 0)
			return e;
		if (!(status & 0x10)) /* no capability list */
			return -ENOENT;
		e = vgpu_handle_config_read(h, 0x34, 1, &v);
		if (e < 0)
			return e;
		pos = v & 0xfc;
		/* at most (256 - 64) / 4 entries fit: more hops is a loop */
		for (int hops = 0; pos; hops++) {
			uint32_t hdr;

			if (pos < 0x40 || hops >= 48) {
				err(h->ctx,
				    "%s: malformed capability list (entry at 0x%x)",
				    h->id, pos);
				return -EBADMSG;
			}
			e = vgpu_handle_config_read(h, pos, 2, &hdr);
			if (e < 0)
				return e;
			if ((hdr & 0xff) == cap_id && pos > after)
				return (int)pos;
			pos = (hdr >> 8) & 0xfc;
		}
		return -ENOENT;
	}
	pos = 0x100;
	for (int hops = 0; pos; hops++) {
		uint32_t hdr;
		struct vgpu_region *cfg;

		if (get_region(h, VGPU_REGION_CONFIG, &cfg) < 0 ||
		    cfg->size < PCI_CFG_SPACE_EXP)
			return -ENOENT;
		if (pos < 0x100 || pos > PCI_CFG_SPACE_EXP - 4 ||
		    hops >= (int)((PCI_CFG_SPACE_EXP - 0x100) / 4)) {
			err(h->ctx,
			    "%s: malformed extended capability list (entry at 0x%x)",
			    h->id, pos);
			return -EBADMSG;
		}
		e = vgpu_handle_config_read(h, pos, 4, &hdr);
		if (e < 0)
			return e;
		if (hdr == 0 || hdr == 0xffffffff)
			return -ENOENT;
		if ((hdr & 0xffff) == cap_id && pos > after)
			return (int)pos;
		pos = (hdr >> 20) & 0xffc;
	}
	return -ENOENT;
}

VGPU_EXPORT int vgpu_handle_config_get_bar(struct vgpu_handle *h,
					   unsigned int bar, uint64_t *addr,
					   uint64_t *size, uint32_t *flags)
{
	struct vgpu_region *r = NULL;
	uint32_t lo, hi = 0, f = 0;
	int e;

	if (!h || bar > 5)
		return -EINVAL;
	if (!h->is_pci)
		return -ENOTSUP;
	/* the upper half of a 64-bit BAR is not a BAR */
	if (bar > 0) {
		uint32_t prev;

		e = vgpu_handle_config_read(h, 0x10 + 4 * (bar - 1), 4, &prev);
		if (e < 0)
			return e;
		if (!(prev & 1) && ((prev >> 1) & 3) == 2 &&
		    get_region(h, bar - 1, &r) == 0 && r->size)
			return -ENOENT;
	}
	if (get_region(h, bar, &r) < 0 || !r->size)
		return -ENOENT;
	e = vgpu_handle_config_read(h, 0x10 + 4 * bar, 4, &lo);
	if (e < 0)
		return e;
	if (lo & 1) {
		f |= VGPU_BAR_IO;
		lo &= ~3u;
	} else {
		if (((lo >> 1) & 3) == 2 && bar < 5) {
			f |= VGPU_BAR_MEM64;
			e = vgpu_handle_config_read(h, 0x10 + 4 * (bar + 1), 4,
						    &hi);
			if (e < 0)
				return e;
		}
		if (lo & 8)
			f |= VGPU_BAR_PREFETCH;
		lo &= ~0xfu;
	}
	if (addr)
		*addr = (uint64_t)hi << 32 | lo;
	if (size)
		*size = r->size;
	if (flags)
		*flags = f;
	return 0;
}

/* ---- interrupts ---- */

VGPU_EXPORT int vgpu_handle_get_irq_count(struct vgpu_handle *h)
{
	return h ? (int)h->num_irqs : -EINVAL;
}

VGPU_EXPORT int vgpu_handle_get_irq(struct vgpu_handle *h, unsigned int index,
				    uint32_t *count, uint32_t *flags)
{
	uint32_t c, f;
	int e;

	if (!h)
		return -EINVAL;
	if (index >= h->num_irqs)
		return -ERANGE;
	e = h->ops->irq_info(h, index, &c, &f);
	if (e < 0)
		return e;
	if (count)
		*count = c;
	if (flags)
		*flags = f;
	return 0;
}

static int irq_check(struct vgpu_handle *h, unsigned int index,
		     unsigned int start, unsigned int count, bool allow_zero,
		     uint32_t *flags)
{
	uint32_t c;
	int e;

	if (!h || (!count && !allow_zero))
		return -EINVAL;
	e = vgpu_handle_get_irq(h, index, &c, flags);
	if (e < 0)
		return e;
	if (start > c || count > c - start) {
		err(h->ctx, "%s: IRQ index %u has %u vectors, not %u..%u",
		    h->id, index, c, start, start + count);
		return -ERANGE;
	}
	return 0;
}

VGPU_EXPORT int vgpu_handle_irq_attach(struct vgpu_handle *h,
				       unsigned int index, unsigned int start,
				       unsigned int count, const int *fds)
{
	int e;

	if (!fds)
		return -EINVAL;
	e = irq_check(h, index, start, count, false, NULL);
	if (e < 0)
		return e;
	return h->ops->set_irqs(h, index, VGPU_IRQ_ACT_EVENTFDS, start, count,
				fds);
}

VGPU_EXPORT int vgpu_handle_irq_detach(struct vgpu_handle *h,
				       unsigned int index, unsigned int start,
				       unsigned int count)
{
	int e = irq_check(h, index, start, count, true, NULL);

	if (e < 0)
		return e;
	return h->ops->set_irqs(h, index, VGPU_IRQ_ACT_DISABLE, start, count,
				NULL);
}

static int irq_mask_op(struct vgpu_handle *h, unsigned int index,
		       unsigned int start, unsigned int count,
		       enum vgpu_irq_action act)
{
	uint32_t f;
	int e = irq_check(h, index, start, count, false, &f);

	if (e < 0)
		return e;
	if (!(f & VGPU_IRQ_MASKABLE))
		return -ENOTSUP;
	return h->ops->set_irqs(h, index, act, start, count, NULL);
}

VGPU_EXPORT int vgpu_handle_irq_mask(struct vgpu_handle *h, unsigned int index,
				     unsigned int start, unsigned int count)
{
	return irq_mask_op(h, index, start, count, VGPU_IRQ_ACT_MASK);
}

VGPU_EXPORT int vgpu_handle_irq_unmask(struct vgpu_handle *h,
				       unsigned int index, unsigned int start,
				       unsigned int count)
{
	return irq_mask_op(h, index, start, count, VGPU_IRQ_ACT_UNMASK);
}

VGPU_EXPORT int vgpu_handle_irq_trigger(struct vgpu_handle *h,
					unsigned int index, unsigned int start,
					unsigned int count)
{
	int e = irq_check(h, index, start, count, false, NULL);

	if (e < 0)
		return e;
	return h->ops->set_irqs(h, index, VGPU_IRQ_ACT_TRIGGER, start, count,
				NULL);
}

/* ---- DMA ---- */

static bool in_valid_ranges(struct vgpu_handle *h, uint64_t iova, uint64_t len)
{
	uint64_t last = iova + len - 1;

	for (size_t i = 0; i < h->n_iova; i++)
		if (iova >= h->iova[i].start && last <= h->iova[i].last)
			return true;
	return false;
}

static int dma_map(struct vgpu_handle *h, void *vaddr, int fd, uint64_t offset,
		   uint64_t iova, uint64_t len, uint32_t prot)
{
	uint64_t page = (uint64_t)sysconf(_SC_PAGESIZE);
	struct vgpu_dma_window tmpl = { 0 }, *w;
	int e;

	if (!h || !vaddr || !len || !prot ||
	    (prot & ~(uint32_t)(VGPU_DMA_READ | VGPU_DMA_WRITE)) ||
	    (uintptr_t)vaddr % page || iova % page || len % page ||
	    iova + len - 1 < iova) {
		if (h)
			err(h->ctx,
			    "%s: DMA map of %llu bytes at IOVA 0x%llx: unaligned, empty, wrapping or bad protection",
			    h->id, (unsigned long long)len,
			    (unsigned long long)iova);
		return -EINVAL;
	}
	if (h->dirty_pgsize) {
		err(h->ctx,
		    "%s: DMA map while dirty tracking runs; stop it first",
		    h->id);
		return -EBUSY;
	}
	if (!in_valid_ranges(h, iova, len)) {
		err(h->ctx,
		    "%s: IOVA 0x%llx+0x%llx is outside the IOMMU's valid ranges",
		    h->id, (unsigned long long)iova, (unsigned long long)len);
		return -ERANGE;
	}
	tmpl.iova = iova;
	tmpl.len = len;
	tmpl.vaddr = vaddr;
	tmpl.fd = -1;
	tmpl.prot = prot & (VGPU_DMA_READ | VGPU_DMA_WRITE);
	e = vgpu_dma_table_insert(h->dma, &tmpl, &w);
	if (e == -EEXIST) {
		struct vgpu_dma_window *o = vgpu_dma_table_find(h->dma, iova);

		if (!o) {
			/* the overlap starts inside [iova, iova + len) */
			for (uint64_t a = iova; a - iova < len && !o; a += page)
				o = vgpu_dma_table_find(h->dma, a);
		}
		if (o)
			err(h->ctx,
			    "%s: DMA window 0x%llx+0x%llx overlaps the mapped window 0x%llx+0x%llx",
			    h->id, (unsigned long long)iova,
			    (unsigned long long)len,
			    (unsigned long long)o->iova,
			    (unsigned long long)o->len);
		return -EEXIST;
	}
	if (e < 0)
		return e;
	if (fd >= 0 && h->ops->dma_map_fd)
		e = h->ops->dma_map_fd(h, vaddr, fd, offset, iova, len, prot);
	else
		e = h->ops->dma_map(h, vaddr, iova, len, prot);
	if (e < 0) {
		err(h->ctx, "%s: DMA map of 0x%llx+0x%llx: %s", h->id,
		    (unsigned long long)iova, (unsigned long long)len,
		    strerror(-e));
		vgpu_dma_table_remove(h->dma, iova, len, NULL);
		return e;
	}
	return 0;
}

VGPU_EXPORT int vgpu_handle_dma_map(struct vgpu_handle *h, void *vaddr,
				    uint64_t iova, uint64_t len, uint32_t prot)
{
	return dma_map(h, vaddr, -1, 0, iova, len, prot);
}

VGPU_EXPORT int vgpu_handle_dma_map_fd(struct vgpu_handle *h, void *vaddr,
				       int fd, uint64_t offset, uint64_t iova,
				       uint64_t len, uint32_t prot)
{
	if (!h)
		return -EINVAL;
	if (fd < 0)
		return -EBADF;
	if (offset % (uint64_t)sysconf(_SC_PAGESIZE)) {
		err(h->ctx, "%s: DMA map: fd offset 0x%llx is not page aligned",
		    h->id, (unsigned long long)offset);
		return -EINVAL;
	}
	return dma_map(h, vaddr, fd, offset, iova, len, prot);
}

VGPU_EXPORT int vgpu_handle_dma_unmap(struct vgpu_handle *h, uint64_t iova,
				      uint64_t len)
{
	struct vgpu_dma_window *w;
	int e;

	if (!h || !len)
		return -EINVAL;
	if (h->dirty_pgsize) {
		err(h->ctx,
		    "%s: DMA unmap while dirty tracking runs; stop it first",
		    h->id);
		return -EBUSY;
	}
	w = vgpu_dma_table_find(h->dma, iova);
	if (!w || w->iova != iova || w->len != len) {
		if (w)
			err(h->ctx,
			    "%s: DMA unmap of 0x%llx+0x%llx does not match the window 0x%llx+0x%llx; partial unmaps are refused",
			    h->id, (unsigned long long)iova,
			    (unsigned long long)len,
			    (unsigned long long)w->iova,
			    (unsigned long long)w->len);
		else
			err(h->ctx,
			    "%s: DMA unmap of 0x%llx+0x%llx: nothing is mapped there (unmapped twice?)",
			    h->id, (unsigned long long)iova,
			    (unsigned long long)len);
		return -ENOENT;
	}
	e = h->ops->dma_unmap(h, iova, len);
	if (e < 0) {
		err(h->ctx, "%s: DMA unmap of 0x%llx+0x%llx: %s", h->id,
		    (unsigned long long)iova, (unsigned long long)len,
		    strerror(-e));
		if (e != -ENODEV)
			return e;
		/* the device has gone and its mappings with it */
	}
	return vgpu_dma_table_remove(h->dma, iova, len, NULL);
}

VGPU_EXPORT int vgpu_handle_get_dma_count(struct vgpu_handle *h)
{
	return h ? (int)vgpu_dma_table_count(h->dma) : -EINVAL;
}

VGPU_EXPORT int vgpu_handle_get_iova_range_count(struct vgpu_handle *h)
{
	return h ? (int)h->n_iova : -EINVAL;
}

VGPU_EXPORT int vgpu_handle_get_iova_range(struct vgpu_handle *h,
					   unsigned int n, uint64_t *start,
					   uint64_t *last)
{
	if (!h)
		return -EINVAL;
	if (n >= h->n_iova)
		return -ERANGE;
	if (start)
		*start = h->iova[n].start;
	if (last)
		*last = h->iova[n].last;
	return 0;
}

VGPU_EXPORT uint64_t vgpu_handle_get_iommu_pgsizes(struct vgpu_handle *h)
{
	return h && h->pgsizes ? h->pgsizes : 4096;
}

/* ---- reset, features, display ---- */

VGPU_EXPORT int vgpu_handle_reset(struct vgpu_handle *h)
{
	int r;

	if (!h)
		return -EINVAL;
	if (!h->can_reset)
		return -ENOTSUP;
	r = h->ops->reset(h);
	if (r == 0 && h->mig_probed && h->mig_flags) {
		/* VFIO: a reset device is RUNNING, its data stream is gone */
		int s = h->ops->mig_get_state(h);

		if (s >= 0 && s != VGPU_MIG_RUNNING)
			warn(h->ctx, "%s: in migration state %s after a reset",
			     h->id, vgpu_migration_state_name((unsigned int)s));
	}
	return r;
}

VGPU_EXPORT int vgpu_handle_probe_feature(struct vgpu_handle *h,
					  unsigned int feature, uint64_t *data)
{
	uint64_t d = 0;
	int r;

	if (!h || (feature != VGPU_FEATURE_MIGRATION &&
		   feature != VGPU_FEATURE_DMA_LOGGING))
		return -EINVAL;
	r = h->ops->probe_feature(h, feature, &d);
	if (r > 0 && data)
		*data = d;
	else if (data)
		*data = 0;
	return r;
}

VGPU_EXPORT int vgpu_handle_set_vf_token(struct vgpu_handle *h,
					 const char *uuid)
{
	uuid_t u;

	if (!h || !uuid || uuid_parse(uuid, u) < 0)
		return -EINVAL;
	if (!h->ops->set_vf_token)
		return -ENOTSUP;
	return h->ops->set_vf_token(h, u);
}

VGPU_EXPORT int vgpu_handle_query_plane(struct vgpu_handle *h,
					unsigned int type,
					struct vgpu_plane_info *info)
{
	struct vgpu_plane_info p;
	bool dmabuf;
	int r;

	if (!h || !info ||
	    info->size <
		    offsetof(struct vgpu_plane_info, kind) + sizeof(uint32_t) ||
	    (type != VGPU_PLANE_PRIMARY && type != VGPU_PLANE_CURSOR))
		return -EINVAL;
	if (h->ops->query_plane(h, type, false, true, NULL) == 0)
		dmabuf = false;
	else if (h->ops->query_plane(h, type, true, true, NULL) == 0)
		dmabuf = true;
	else
		return -ENOTSUP;
	memset(&p, 0, sizeof(p));
	r = h->ops->query_plane(h, type, dmabuf, false, &p);
	if (r == -ENOMEM) {
		dbg(h->ctx, "%s: plane query failed with ENOMEM, retrying",
		    h->id);
		r = h->ops->query_plane(h, type, dmabuf, false, &p);
	}
	if (r < 0)
		return r;
	p.size = info->size < sizeof(p) ? info->size : sizeof(p);
	memcpy(info, &p, p.size);
	return 0;
}

VGPU_EXPORT int vgpu_handle_get_plane_dmabuf(struct vgpu_handle *h,
					     uint32_t dmabuf_id)
{
	if (!h)
		return -EINVAL;
	return h->ops->get_dmabuf(h, dmabuf_id);
}

VGPU_EXPORT int vgpu_handle_probe_in_use(struct vgpu_ctx *ctx, const char *id,
					 int *group)
{
	struct resolved res;
	int r;

	if (group)
		*group = -1;
	if (!ctx || !id)
		return -EINVAL;
	r = resolve(ctx, id, &res);
	if (r < 0)
		return r;
	/* a user-space provider's device has no VFIO group to probe */
	if (!res.access->in_use) {
		resolved_clear(&res);
		return -EOPNOTSUPP;
	}
	if (group)
		*group = res.t.iommu_group;
	r = res.access->in_use(ctx, &res.t);
	resolved_clear(&res);
	return r;
}
