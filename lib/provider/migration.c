/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Migration: VFIO v2 device states over DEVICE_FEATURE and MIG_DATA_READ/
 * MIG_DATA_WRITE, dirty page logging features.
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

/* ---- migration (VFIO v2 states over DEVICE_FEATURE and MIG_DATA_*) ---- */

static bool mig_valid(uint32_t s)
{
	return s == VGPU_MIG_STOP || s == VGPU_MIG_RUNNING ||
	       s == VGPU_MIG_STOP_COPY || s == VGPU_MIG_RESUMING ||
	       s == VGPU_MIG_PRE_COPY;
}

/*
 * The arcs of the VFIO v2 state machine, as [from][towards] = next state: a
 * direct arc where there is one, else through STOP (from RUNNING, STOP_COPY,
 * RESUMING) or RUNNING (from PRE_COPY), so that no saving state is passed
 * through. VGPU_MIG_ERROR (0): no way.
 */
static const uint8_t mig_arcs[VGPU_MIG_PRE_COPY + 1][VGPU_MIG_PRE_COPY + 1] = {
	[VGPU_MIG_RUNNING] = {
		[VGPU_MIG_STOP] = VGPU_MIG_STOP,
		[VGPU_MIG_STOP_COPY] = VGPU_MIG_STOP,
		[VGPU_MIG_RESUMING] = VGPU_MIG_STOP,
		[VGPU_MIG_PRE_COPY] = VGPU_MIG_PRE_COPY,
	},
	[VGPU_MIG_STOP] = {
		[VGPU_MIG_RUNNING] = VGPU_MIG_RUNNING,
		[VGPU_MIG_STOP_COPY] = VGPU_MIG_STOP_COPY,
		[VGPU_MIG_RESUMING] = VGPU_MIG_RESUMING,
		[VGPU_MIG_PRE_COPY] = VGPU_MIG_RUNNING,
	},
	[VGPU_MIG_STOP_COPY] = {
		[VGPU_MIG_STOP] = VGPU_MIG_STOP,
		[VGPU_MIG_RUNNING] = VGPU_MIG_STOP,
		[VGPU_MIG_RESUMING] = VGPU_MIG_STOP,
	},
	[VGPU_MIG_RESUMING] = {
		[VGPU_MIG_STOP] = VGPU_MIG_STOP,
		[VGPU_MIG_RUNNING] = VGPU_MIG_STOP,
		[VGPU_MIG_STOP_COPY] = VGPU_MIG_STOP,
		[VGPU_MIG_PRE_COPY] = VGPU_MIG_STOP,
	},
	[VGPU_MIG_PRE_COPY] = {
		[VGPU_MIG_STOP] = VGPU_MIG_RUNNING,
		[VGPU_MIG_RUNNING] = VGPU_MIG_RUNNING,
		[VGPU_MIG_STOP_COPY] = VGPU_MIG_STOP_COPY,
		[VGPU_MIG_RESUMING] = VGPU_MIG_RUNNING,
	},
};

static enum vgpu_migration_state mig_next(enum vgpu_migration_state cur,
					  enum vgpu_migration_state want)
{
	if ((unsigned int)cur > VGPU_MIG_PRE_COPY ||
	    (unsigned int)want > VGPU_MIG_PRE_COPY)
		return VGPU_MIG_ERROR;
	return (enum vgpu_migration_state)mig_arcs[cur][want];
}

bool mig_live(const struct vgpu_device *dev)
{
	return dev->mig == VGPU_MIG_RUNNING || dev->mig == VGPU_MIG_PRE_COPY;
}

/* running again: what was latched while stopped, and is not masked, goes
 * out now (dev->lock held) */
static void mig_deliver_pending(struct vgpu_device *dev)
{
	for (unsigned int i = 0; i < VFU_PCI_NUM_IRQS; i++) {
		struct irq *q = &dev->irqs[i];

		for (unsigned int v = 0; v < q->count; v++) {
			if (!q->pending[v] || q->masked[v] || q->efd[v] < 0)
				continue;
			q->pending[v] = false;
			irq_signal(q->efd[v]);
		}
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
		if (mig_live(dev))
			mig_deliver_pending(dev);
	}
	return 0;
}

VGPU_EXPORT int vgpu_device_irq_get_state(struct vgpu_device *dev,
					  unsigned int index,
					  unsigned int vector, bool *masked,
					  bool *pending)
{
	int r = 0;

	if (!dev || index >= VFU_PCI_NUM_IRQS || !masked || !pending)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	if (vector >= dev->irqs[index].count) {
		r = -ERANGE;
	} else {
		*masked = dev->irqs[index].masked[vector];
		*pending = dev->irqs[index].pending[vector];
	}
	pthread_mutex_unlock(&dev->lock);
	return r;
}

VGPU_EXPORT int vgpu_device_irq_set_state(struct vgpu_device *dev,
					  unsigned int index,
					  unsigned int vector, bool masked,
					  bool pending)
{
	int r = 0;

	if (!dev || index >= VFU_PCI_NUM_IRQS)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	if (vector >= dev->irqs[index].count) {
		r = -ERANGE;
	} else if (mig_live(dev)) {
		r = -EBUSY; /* only while stopped: nothing is signalled here */
	} else {
		dev->irqs[index].masked[vector] = masked;
		dev->irqs[index].pending[vector] = pending;
	}
	pthread_mutex_unlock(&dev->lock);
	return r;
}

int handle_mig_data(struct vgpu_device *dev, const struct vfu_req *req,
		    int *fds, struct prov_reply *rep)
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
		return r < 0 ? r : 0;
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
	reply_head(rep, &m, sizeof(m));
	reply_body_take(rep, buf, (size_t)n);
	return 0;
}

/* DMA_LOGGING_REPORT GET: the dirty bitmap of a range, cleared as read */
static int feature_log_report(struct vgpu_device *dev,
			      const struct vfu_req *req, struct prov_reply *rep)
{
	const struct vfu_feature *f = &req->u.feature.f;
	struct vfu_log_report lr;
	uint64_t pages, words;
	uint8_t *buf;
	size_t blen;
	int r;

	memcpy(&lr, req->u.feature.data, sizeof(lr));
	pages = lr.length / lr.page_size + !!(lr.length % lr.page_size);
	words = pages / 64 + !!(pages % 64);
	if (words > VFU_MAX_DATA_XFER / 8 ||
	    f->argsz < sizeof(*f) + sizeof(lr) + words * 8)
		return -EINVAL;
	blen = sizeof(*f) + sizeof(lr) + (size_t)words * 8;
	buf = calloc(1, blen);
	if (!buf)
		return -ENOMEM;
	r = vgpu_dma_table_log_report(
		dev->dma, lr.iova, lr.length, lr.page_size,
		(uint64_t *)(void *)(buf + sizeof(*f) + sizeof(lr)),
		(size_t)words * 8, true);
	if (r == 0) {
		struct vfu_feature hf = { .argsz = (uint32_t)blen,
					  .flags = f->flags };

		memcpy(buf, &hf, sizeof(hf));
		memcpy(buf + sizeof(hf), &lr, sizeof(lr));
		reply_body_take(rep, buf, blen);
		return 0;
	}
	free(buf);
	return r;
}

int handle_feature(struct vgpu_device *dev, const struct vfu_req *req, int *fds,
		   struct prov_reply *rep)
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
	case VFU_FEATURE_DMA_LOGGING_REPORT:
		if (set)
			return -EINVAL;
		if (probe)
			break;
		return feature_log_report(dev, req, rep);
	case VFU_FEATURE_MIGRATION:
	case VFU_FEATURE_MIG_DEVICE_STATE: {
		struct vgpu_provider *p = dev->provider;
		struct vfu_feature hf = *f;
		uint64_t mflags =
			VFU_MIGRATION_STOP_COPY | VFU_MIGRATION_PRE_COPY;
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
				      (feature == VFU_FEATURE_MIGRATION
					       ? sizeof(mflags)
					       : sizeof(st)));
		if (f->argsz < hf.argsz)
			return -EINVAL;
		reply_head(rep, &hf, sizeof(hf));
		if (feature == VFU_FEATURE_MIGRATION)
			return reply_body_copy(rep, &mflags, sizeof(mflags));
		return reply_body_copy(rep, &st, sizeof(st));
	}
	default:
		return -EINVAL;
	}
	/* the payload lives in the message until the reply is sent */
	reply_head(rep, f, sizeof(*f));
	reply_body(rep, req->u.feature.data, req->u.feature.data_len);
	return 0;
}
