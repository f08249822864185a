/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfio-user client behind the public device handle (struct vgpu_handle):
 * vgpu_handle_open() of an instance of the "vfio-user" backend connects to
 * the instance's socket (its syspath) and fills struct vgpu_handle_ops with
 * the calls below. The core (lib/device.c) keeps the region table, the DMA
 * window table and the argument checks, as for kernel VFIO.
 *
 * A provider that goes away (EOF, a reset connection, a broken pipe, a
 * reply that does not belong to the request) makes the handle dead: that
 * call and every later one return -ENODEV, as the kernel backend does for
 * a vanished device. A provider that stops answering (no progress for
 * VGPU_PROVIDER_TIMEOUT_MS within one message exchange, see client.h)
 * makes it dead the same way, with -ETIMEDOUT instead. Nothing is retried.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "client.h"
#include "device-private.h"

struct vfu_handle {
	struct vfu_client *c;
	int dead; /* what every call returns once the provider is gone, or 0 */
	uint32_t max_xfer;
	int region_fd[VGPU_REGION_PROBE_MAX]; /* mmap fds, -1: none */
};

#define V(h) ((struct vfu_handle *)(h)->priv)

/* errors that mean the connection is gone: -ENODEV from then on, or
 * -ETIMEDOUT from then on when the provider stopped answering */
static int check(struct vgpu_handle *h, int r)
{
	struct vfu_handle *v = V(h);

	if (r == -ETIMEDOUT) {
		if (!v->dead)
			err(h->ctx,
			    "%s: the vfio-user provider made no progress for %d ms (VGPU_PROVIDER_TIMEOUT_MS); the handle is unusable",
			    h->id, vfu_provider_timeout_ms());
		v->dead = -ETIMEDOUT;
		return -ETIMEDOUT;
	}
	if (r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE ||
	    r == -EMSGSIZE || r == -EPROTO || r == -EBADF) {
		if (!v->dead)
			err(h->ctx, "%s: the vfio-user provider is gone (%s)",
			    h->id, strerror(-r));
		v->dead = -ENODEV;
		return -ENODEV;
	}
	return r;
}

#define ALIVE(h)                           \
	do {                               \
		if (V(h)->dead)            \
			return V(h)->dead; \
	} while (0)

static void u_close(struct vgpu_handle *h)
{
	struct vfu_handle *v = V(h);

	if (!v)
		return;
	for (unsigned int i = 0; i < VGPU_REGION_PROBE_MAX; i++)
		if (v->region_fd[i] >= 0)
			close(v->region_fd[i]);
	vfu_client_close(v->c);
	free(v);
	h->priv = NULL;
}

/* the sparse areas and type of a REGION_INFO reply, from its cap chain */
static int u_region_info(struct vgpu_handle *h, unsigned int index,
			 struct vgpu_region *out)
{
	struct vfu_handle *v = V(h);
	struct vfu_sparse_area areas[VFU_MAX_SPARSE_AREAS];
	struct vfu_region_type rt;
	struct vfu_region_info ri;
	unsigned int n = 0;
	int fd = -1, r;

	ALIVE(h);
	if (index >= VGPU_REGION_PROBE_MAX)
		return -ENOENT;
	r = vfu_client_region_info(v->c, index, &ri, &fd, areas,
				   VFU_MAX_SPARSE_AREAS, &n, &rt);
	if (r == -EINVAL)
		return -ENOENT; /* no such region */
	if (r < 0)
		return check(h, r);
	memset(out, 0, sizeof(*out));
	out->index = index;
	out->size = ri.size;
	out->offset = ri.offset;
	out->flags = ri.flags &
		     (VGPU_REGION_READ | VGPU_REGION_WRITE | VGPU_REGION_MMAP);
	out->has_type = rt.present;
	out->type = rt.type;
	out->subtype = rt.subtype;
	if (rt.sparse) {
		out->has_sparse = true;
		if (n) {
			out->sparse = calloc(n, sizeof(*out->sparse));
			if (!out->sparse) {
				if (fd >= 0)
					close(fd);
				return -ENOMEM;
			}
		}
		for (unsigned int i = 0; i < n; i++) {
			out->sparse[i].offset = areas[i].offset;
			out->sparse[i].size = areas[i].size;
		}
		out->n_sparse = n;
		if (!n)
			out->flags &= ~(uint32_t)VGPU_REGION_MMAP;
	}
	if (v->region_fd[index] >= 0)
		close(v->region_fd[index]);
	v->region_fd[index] = fd;
	return 0;
}

static ssize_t u_region_rw(struct vgpu_handle *h, const struct vgpu_region *r,
			   uint64_t offset, void *buf, size_t len, bool write)
{
	struct vfu_handle *v = V(h);
	uint32_t n = len > v->max_xfer ? v->max_xfer : (uint32_t)len;
	int e;

	ALIVE(h);
	if (write)
		e = vfu_client_region_write(v->c, r->index, offset, buf, n);
	else
		e = vfu_client_region_read(v->c, r->index, offset, buf, n);
	return e < 0 ? check(h, e) : (ssize_t)n;
}

static int u_region_mmap(struct vgpu_handle *h, const struct vgpu_region *r,
			 uint64_t offset, size_t len, int prot, void **ret)
{
	int fd = r->index < VGPU_REGION_PROBE_MAX ? V(h)->region_fd[r->index]
						  : -1;
	void *p;

	ALIVE(h);
	if (fd < 0)
		return -EACCES;
	p = mmap(NULL, len, prot, MAP_SHARED, fd, (off_t)(r->offset + offset));
	if (p == MAP_FAILED)
		return -errno;
	*ret = p;
	return 0;
}

static int u_irq_info(struct vgpu_handle *h, unsigned int index,
		      uint32_t *count, uint32_t *flags)
{
	struct vfu_irq_info ii;
	int r;

	ALIVE(h);
	r = vfu_client_irq_info(V(h)->c, index, &ii);
	if (r == -EINVAL)
		return -ENOENT;
	if (r < 0)
		return check(h, r);
	*count = ii.count;
	*flags = ii.flags & (VGPU_IRQ_EVENTFD | VGPU_IRQ_MASKABLE |
			     VGPU_IRQ_AUTOMASKED | VGPU_IRQ_NORESIZE);
	return 0;
}

/*
 * Eventfds cannot carry "-1" over SCM_RIGHTS: a run of -1 entries is sent
 * as DATA_EVENTFD without fds (de-assign), a run of fds with its fds.
 */
static int attach_runs(struct vgpu_handle *h, unsigned int index,
		       unsigned int start, unsigned int count, const int *fds)
{
	unsigned int i = 0;

	while (i < count) {
		bool none = fds[i] < 0;
		unsigned int j = i + 1;
		int r;

		while (j < count && (fds[j] < 0) == none &&
		       j - i < VFU_MAX_MSG_FDS)
			j++;
		r = vfu_client_set_irq_eventfds(V(h)->c, index, start + i,
						j - i, none ? NULL : fds + i);
		if (r < 0)
			return check(h, r);
		i = j;
	}
	return 0;
}

static int u_set_irqs(struct vgpu_handle *h, unsigned int index,
		      enum vgpu_irq_action action, unsigned int start,
		      unsigned int count, const int *fds)
{
	uint32_t f;
	int r;

	ALIVE(h);
	switch (action) {
	case VGPU_IRQ_ACT_EVENTFDS:
		return attach_runs(h, index, start, count, fds);
	case VGPU_IRQ_ACT_DISABLE:
		if (!count) /* DATA_NONE, count 0: the whole index */
			r = vfu_client_set_irqs(V(h)->c, index,
						VFU_IRQ_ACTION_TRIGGER, 0, 0);
		else
			r = vfu_client_set_irq_eventfds(V(h)->c, index, start,
							count, NULL);
		return check(h, r);
	case VGPU_IRQ_ACT_MASK:
		f = VFU_IRQ_ACTION_MASK;
		break;
	case VGPU_IRQ_ACT_UNMASK:
		f = VFU_IRQ_ACTION_UNMASK;
		break;
	case VGPU_IRQ_ACT_TRIGGER:
		f = VFU_IRQ_ACTION_TRIGGER;
		break;
	default:
		return -EINVAL;
	}
	return check(h, vfu_client_set_irqs(V(h)->c, index, f, start, count));
}

static uint32_t dma_flags(uint32_t prot)
{
	return (prot & VGPU_DMA_READ ? VFU_DMA_MAP_READ : 0) |
	       (prot & VGPU_DMA_WRITE ? VFU_DMA_MAP_WRITE : 0);
}

/* without an fd: the provider reaches the memory by DMA_READ/DMA_WRITE
 * messages, which the client serves from @vaddr while it waits for a reply */
static int u_dma_map(struct vgpu_handle *h, void *vaddr, uint64_t iova,
		     uint64_t len, uint32_t prot)
{
	ALIVE(h);
	return check(h, vfu_client_dma_map(V(h)->c, iova, len, dma_flags(prot),
					   -1, 0, vaddr));
}

static int u_dma_map_fd(struct vgpu_handle *h, void *vaddr, int fd,
			uint64_t offset, uint64_t iova, uint64_t len,
			uint32_t prot)
{
	ALIVE(h);
	return check(h, vfu_client_dma_map(V(h)->c, iova, len, dma_flags(prot),
					   fd, offset, vaddr));
}

static int u_dma_unmap(struct vgpu_handle *h, uint64_t iova, uint64_t len)
{
	ALIVE(h);
	return check(h, vfu_client_dma_unmap(V(h)->c, iova, len));
}

static int u_reset(struct vgpu_handle *h)
{
	ALIVE(h);
	return check(h, vfu_client_reset(V(h)->c));
}

static int u_probe_feature(struct vgpu_handle *h, unsigned int feature,
			   uint64_t *data)
{
	struct vfu_feature f = { .argsz = sizeof(f) };
	void *rep = NULL;
	size_t len = 0;
	int r;

	ALIVE(h);
	if (feature == VGPU_FEATURE_MIGRATION) {
		f.argsz += sizeof(uint64_t);
		f.flags = VFU_FEATURE_GET | VFU_FEATURE_MIGRATION;
	} else {
		f.flags = VFU_FEATURE_PROBE | VFU_FEATURE_SET |
			  VFU_FEATURE_DMA_LOGGING_START;
	}
	r = vfu_client_call(V(h)->c, VFU_CMD_DEVICE_FEATURE, &f, sizeof(f),
			    NULL, 0, &rep, &len, NULL, 0, NULL);
	r = check(h, r);
	if (r == -ENODEV || r == -ENOMEM) {
		free(rep);
		return r;
	}
	if (r < 0) {
		free(rep);
		return 0; /* EINVAL, ENOTSUP, ENOSYS: not offered */
	}
	*data = 0;
	if (feature == VGPU_FEATURE_MIGRATION) {
		if (len < sizeof(f) + sizeof(uint64_t)) {
			free(rep);
			return check(h, -EPROTO);
		}
		memcpy(data, (uint8_t *)rep + sizeof(f), sizeof(*data));
	}
	free(rep);
	return 1;
}

/*
 * The display: vfio-user has no GFX_PLANE command. A device that has a
 * region of type VFIO_REGION_TYPE_GFX / VGPU_VFU_SUBTYPE_PLANE offers its
 * plane there (the layout is struct vgpu_vfu_plane, docs/vfio-user.md).
 * Region planes only.
 */
static int u_query_plane(struct vgpu_handle *h, unsigned int type, bool dmabuf,
			 bool probe, struct vgpu_plane_info *info)
{
	struct vgpu_vfu_plane d;
	const struct vgpu_region *reg = NULL;

	ALIVE(h);
	if (dmabuf || type != VGPU_PLANE_PRIMARY)
		return -ENOTSUP;
	for (size_t i = 0; i < h->n_regions && !reg; i++)
		if (h->regions[i].has_type &&
		    h->regions[i].type == VGPU_VFU_TYPE_GFX &&
		    h->regions[i].subtype == VGPU_VFU_SUBTYPE_PLANE &&
		    h->regions[i].size >= sizeof(d) &&
		    (h->regions[i].flags & VGPU_REGION_READ))
			reg = &h->regions[i];
	if (!reg)
		return -ENOTSUP;
	if (probe)
		return 0;
	for (size_t done = 0; done < sizeof(d);) {
		ssize_t n = u_region_rw(h, reg, done, (uint8_t *)&d + done,
					sizeof(d) - done, false);

		if (n < 0)
			return (int)n;
		done += (size_t)n;
	}
	if (d.version != VGPU_VFU_PLANE_VERSION) {
		err(h->ctx, "%s: plane region: unknown version %u", h->id,
		    d.version);
		return -EBADMSG;
	}
	info->kind = VGPU_PLANE_REGION;
	info->drm_format = d.drm_format;
	info->width = d.width;
	info->height = d.height;
	info->stride = d.stride;
	info->region_index = d.region_index;
	info->plane_size = (uint64_t)d.stride * d.height;
	if (d.drm_format && (!d.width || !d.height || !d.stride ||
			     d.stride > 65536 || d.height > 65536)) {
		err(h->ctx, "%s: plane region: bad mode %ux%u stride %u", h->id,
		    d.width, d.height, d.stride);
		return -EBADMSG;
	}
	return 0;
}

static int u_get_dmabuf(struct vgpu_handle *h, uint32_t id)
{
	(void)h;
	(void)id;
	return -ENOTSUP;
}

/* ---- migration: DEVICE_FEATURE and MIG_DATA_READ/WRITE ---- */

/*
 * A DEVICE_FEATURE call: @flags, @len bytes of @data after the header. A
 * GET's answer (@out_len bytes) replaces @data; its header must echo ours.
 */
static int u_feature(struct vgpu_handle *h, uint32_t flags, const void *data,
		     size_t len, void *out, size_t out_len)
{
	struct vfu_feature f = { .flags = flags };
	uint8_t *req;
	void *rep = NULL;
	size_t rlen = 0;
	int r;

	f.argsz = (uint32_t)(sizeof(f) + (out_len > len ? out_len : len));
	req = malloc(sizeof(f) + len);
	if (!req)
		return -ENOMEM;
	memcpy(req, &f, sizeof(f));
	if (len)
		memcpy(req + sizeof(f), data, len);
	r = vfu_client_call(V(h)->c, VFU_CMD_DEVICE_FEATURE, req,
			    sizeof(f) + len, NULL, 0, &rep, &rlen, NULL, 0,
			    NULL);
	free(req);
	if (r < 0)
		return check(h, r);
	if (out_len) {
		struct vfu_feature rf;

		if (rlen != sizeof(f) + out_len) {
			err(h->ctx,
			    "%s: DEVICE_FEATURE 0x%x: %zu bytes of answer, not %zu",
			    h->id, flags, rlen, sizeof(f) + out_len);
			free(rep);
			return -EBADMSG;
		}
		memcpy(&rf, rep, sizeof(rf));
		if (rf.flags != flags) {
			err(h->ctx,
			    "%s: DEVICE_FEATURE answered for flags 0x%x, asked 0x%x",
			    h->id, rf.flags, flags);
			free(rep);
			return -EBADMSG;
		}
		memcpy(out, (uint8_t *)rep + sizeof(f), out_len);
	}
	free(rep);
	return 0;
}

static int u_mig_get_state(struct vgpu_handle *h)
{
	struct vfu_mig_state st;
	int r;

	ALIVE(h);
	r = u_feature(h, VFU_FEATURE_GET | VFU_FEATURE_MIG_DEVICE_STATE, NULL,
		      0, &st, sizeof(st));
	if (r < 0)
		return r;
	if (st.device_state > VGPU_MIG_PRE_COPY_P2P) {
		err(h->ctx, "%s: unknown migration state %u", h->id,
		    st.device_state);
		return -EBADMSG;
	}
	return (int)st.device_state;
}

static int u_mig_set_state(struct vgpu_handle *h,
			   enum vgpu_migration_state state)
{
	/* data_fd is unused in vfio-user: the data moves in messages */
	struct vfu_mig_state st = { .device_state = state,
				    .data_fd = UINT32_MAX };

	ALIVE(h);
	return u_feature(h, VFU_FEATURE_SET | VFU_FEATURE_MIG_DEVICE_STATE, &st,
			 sizeof(st), NULL, 0);
}

static ssize_t u_mig_read(struct vgpu_handle *h, void *buf, size_t len)
{
	struct vfu_handle *v = V(h);
	uint32_t want = len > v->max_xfer ? v->max_xfer : (uint32_t)len;
	struct vfu_mig_data m = { .argsz = (uint32_t)sizeof(m) + want,
				  .size = want };
	void *rep = NULL;
	size_t rlen = 0;
	int r;

	ALIVE(h);
	r = vfu_client_call(v->c, VFU_CMD_MIG_DATA_READ, &m, sizeof(m), NULL, 0,
			    &rep, &rlen, NULL, 0, NULL);
	if (r < 0)
		return check(h, r);
	if (rlen < sizeof(m)) {
		free(rep);
		err(h->ctx, "%s: MIG_DATA_READ: a %zu-byte answer", h->id,
		    rlen);
		return -EBADMSG;
	}
	memcpy(&m, rep, sizeof(m));
	if (m.size > want || rlen != sizeof(m) + m.size) {
		err(h->ctx,
		    "%s: MIG_DATA_READ: %u bytes announced, %zu sent, %u asked",
		    h->id, m.size, rlen - sizeof(m), want);
		free(rep);
		return -EBADMSG;
	}
	memcpy(buf, (uint8_t *)rep + sizeof(m), m.size);
	free(rep);
	return (ssize_t)m.size;
}

static int u_mig_write(struct vgpu_handle *h, const void *buf, size_t len)
{
	struct vfu_handle *v = V(h);
	size_t done = 0;
	uint8_t *req;
	int r = 0;

	ALIVE(h);
	req = malloc(sizeof(struct vfu_mig_data) +
		     (len > v->max_xfer ? v->max_xfer : len));
	if (!req)
		return -ENOMEM;
	while (done < len && r == 0) {
		uint32_t n = len - done > v->max_xfer ? v->max_xfer
						      : (uint32_t)(len - done);
		struct vfu_mig_data m = { .argsz = (uint32_t)sizeof(m) + n,
					  .size = n };

		memcpy(req, &m, sizeof(m));
		memcpy(req + sizeof(m), (const uint8_t *)buf + done, n);
		r = check(h, vfu_client_call(v->c, VFU_CMD_MIG_DATA_WRITE, req,
					     sizeof(m) + n, NULL, 0, NULL, NULL,
					     NULL, 0, NULL));
		done += n;
	}
	free(req);
	return r;
}

/* ---- dirty page tracking: vfio-user's DMA logging ---- */

static int u_dirty_start(struct vgpu_handle *h, uint64_t pgsize,
			 const struct vgpu_iova_range *w, size_t n)
{
	struct vfu_log_start st = { .page_size = pgsize,
				    .num_ranges = (uint32_t)n };
	size_t len = sizeof(st) + n * sizeof(struct vfu_log_range);
	uint8_t *data;
	int r;

	ALIVE(h);
	if (n > VFU_MAX_LOG_RANGES) {
		err(h->ctx, "%s: %zu DMA windows, vfio-user logs at most %u",
		    h->id, n, VFU_MAX_LOG_RANGES);
		return -E2BIG;
	}
	data = malloc(len);
	if (!data)
		return -ENOMEM;
	memcpy(data, &st, sizeof(st));
	for (size_t i = 0; i < n; i++) {
		struct vfu_log_range rg = {
			.iova = w[i].start, .length = w[i].last - w[i].start + 1
		};

		memcpy(data + sizeof(st) + i * sizeof(rg), &rg, sizeof(rg));
	}
	r = u_feature(h, VFU_FEATURE_SET | VFU_FEATURE_DMA_LOGGING_START, data,
		      len, NULL, 0);
	free(data);
	if (r == -EINVAL || r == -ENOSYS || r == -ENOTSUP) {
		err(h->ctx, "%s: the provider has no DMA logging (%s)", h->id,
		    strerror(-r));
		return -EOPNOTSUPP;
	}
	return r;
}

static int u_dirty_report(struct vgpu_handle *h, uint64_t iova, uint64_t len,
			  uint64_t pgsize, uint64_t *bitmap)
{
	struct vfu_log_report rep = { .iova = iova,
				      .length = len,
				      .page_size = pgsize };
	size_t bytes = (size_t)((len / pgsize + 63) / 64 * 8);
	uint8_t *out;
	int r;

	ALIVE(h);
	if (bytes > VFU_MAX_DATA_XFER) {
		err(h->ctx,
		    "%s: a dirty report of %llu pages is more than one message; report smaller ranges",
		    h->id, (unsigned long long)(len / pgsize));
		return -E2BIG;
	}
	out = malloc(sizeof(rep) + bytes);
	if (!out)
		return -ENOMEM;
	r = u_feature(h, VFU_FEATURE_GET | VFU_FEATURE_DMA_LOGGING_REPORT, &rep,
		      sizeof(rep), out, sizeof(rep) + bytes);
	if (r == 0) {
		struct vfu_log_report back;

		memcpy(&back, out, sizeof(back));
		if (back.iova != iova || back.length != len ||
		    back.page_size != pgsize) {
			err(h->ctx, "%s: DMA logging report for another range",
			    h->id);
			r = -EBADMSG;
		} else {
			memcpy(bitmap, out + sizeof(rep), bytes);
		}
	}
	free(out);
	return r;
}

static int u_dirty_stop(struct vgpu_handle *h)
{
	ALIVE(h);
	return u_feature(h, VFU_FEATURE_SET | VFU_FEATURE_DMA_LOGGING_STOP,
			 NULL, 0, NULL, 0);
}

static int u_service_fd(struct vgpu_handle *h)
{
	return vfu_client_get_fd(V(h)->c);
}

static int u_service(struct vgpu_handle *h)
{
	int r = vfu_client_service(V(h)->c);

	/* the client fails at once after a timeout; other errors as they
	 * were documented (-ENOTCONN, -EPROTO) */
	return r == -ETIMEDOUT ? check(h, r) : r;
}

static const struct vgpu_handle_ops u_ops = {
	.access = "vfio-user",
	.close = u_close,
	.region_info = u_region_info,
	.region_rw = u_region_rw,
	.region_mmap = u_region_mmap,
	.irq_info = u_irq_info,
	.set_irqs = u_set_irqs,
	.dma_map = u_dma_map,
	.dma_map_fd = u_dma_map_fd,
	.dma_unmap = u_dma_unmap,
	.reset = u_reset,
	.probe_feature = u_probe_feature,
	.query_plane = u_query_plane,
	.get_dmabuf = u_get_dmabuf,
	.mig_get_state = u_mig_get_state,
	.mig_set_state = u_mig_set_state,
	.mig_read = u_mig_read,
	.mig_write = u_mig_write,
	.dirty_start = u_dirty_start,
	.dirty_report = u_dirty_report,
	.dirty_stop = u_dirty_stop,
	.service_fd = u_service_fd,
	.service = u_service,
};

/* connect to the instance's socket, t->path */
static int u_open(struct vgpu_handle *h, const struct vgpu_access_target *t,
		  unsigned int flags)
{
	const char *socket_path = t->path;
	struct vfu_device_info di;
	struct vfu_handle *v;
	uint64_t max;
	int r;

	/* no IOMMU in between: the iommufd flags do not apply */
	if (flags & VGPU_OPEN_IOMMUFD)
		return -EOPNOTSUPP;
	if (t->vf_token) {
		err(h->ctx, "%s: a vfio-user device takes no VF token", h->id);
		return -EINVAL;
	}
	v = calloc(1, sizeof(*v));
	if (!v)
		return -ENOMEM;
	for (unsigned int i = 0; i < VGPU_REGION_PROBE_MAX; i++)
		v->region_fd[i] = -1;
	h->priv = v;
	h->ops = &u_ops;
	r = vfu_client_connect(h->ctx, socket_path, &v->c);
	if (r < 0) {
		err(h->ctx, "%s: cannot connect to %s: %s", h->id, socket_path,
		    strerror(-r));
		/* no provider behind the socket: the device is not there */
		return r == -ENOENT || r == -ECONNREFUSED ? -ENODEV
							  : check(h, r);
	}
	r = vfu_client_get_info(v->c, &di);
	if (r < 0)
		return check(h, r);
	if (di.num_regions > VGPU_REGION_PROBE_MAX || di.num_irqs > 64) {
		err(h->ctx, "%s: %u regions, %u IRQ types: too many", h->id,
		    di.num_regions, di.num_irqs);
		return -EBADMSG;
	}
	max = vfu_client_server_caps(v->c)->max_data_xfer_size;
	v->max_xfer =
		max < VFU_MAX_DATA_XFER ? (uint32_t)max : VFU_MAX_DATA_XFER;
	h->is_pci = di.flags & VFU_DEV_FLAG_PCI;
	h->can_reset = di.flags & VFU_DEV_FLAG_RESET;
	h->num_regions = di.num_regions;
	/* vfio-user counts device-specific regions in num_regions */
	h->regions_counted = true;
	h->num_irqs = di.num_irqs;
	h->iommu_group = -1;
	return 0;
}

const struct vgpu_access vgpu_access_vfio_user = {
	.name = "vfio-user",
	.open = u_open,
};
