/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Asynchronous DMA: vgpu_device_dma_read_async()/_write_async(). The parts
 * of a range in windows with an fd are copied at once; the rest goes out
 * as DMA_READ/DMA_WRITE messages, one in flight per device, and the
 * replies are taken by the thread that reads the connection, between the
 * client's commands. Nothing waits: a trapped access can start a transfer
 * and answer its command, which is what QEMU needs (its vCPU holds the big
 * lock while it waits for the answer, and it serves our requests only from
 * its main loop). Requests go out through conn_send(), which never waits
 * (a provider thread may start a transfer too). A quiesce ends the
 * transfers with -ECANCELED before the provider's callback runs, a
 * disconnect with -ECONNRESET. Also the DMA_READ/DMA_WRITE layout (the spec's or
 * QEMU's), learnt per connection with a probe, for both DMA paths.
 * Part of the provider API, see include/libvgpu-provider.h and
 * docs/vfio-user.md.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "provider-private.h"

/* a piece of the range that goes by message */
struct dma_piece {
	uint64_t iova, len;
	size_t off; /* into the caller's buffer */
};

struct dma_op {
	struct dma_op *next;
	bool write;
	uint8_t *buf;
	struct dma_piece *pieces;
	size_t n, cur;
	uint64_t done_in_cur; /* bytes of pieces[cur] already moved */
	int status;
	vgpu_dma_done_fn done;
	void *userdata;
};

int dma_send_request(struct vgpu_device *dev, struct vfu_hdr *h, uint64_t addr,
		     void *buf, uint64_t count, bool write)
{
	static const uint8_t zeros[4];
	uint8_t head[16];
	size_t tail, hl;

	hl = vfu_dma_request_head(dev->dma_layout, addr, count, head, &tail);
	{
		struct iovec iov[3] = {
			{ .iov_base = head, .iov_len = hl },
			{ .iov_base = buf,
			  .iov_len = write ? (size_t)count : 0 },
			{ .iov_base = (void *)zeros, .iov_len = tail },
		};

		/* never waits: what the socket does not take is queued,
		 * bounded (-ENOBUFS drops the client) */
		return conn_send(dev, h, iov, 3, NULL, 0);
	}
}

/* the probe that tells the layout: a DMA_WRITE of 0 bytes at @addr */
int dma_send_probe(struct vgpu_device *dev, struct vfu_hdr *h, uint64_t addr)
{
	enum vfu_dma_layout saved = dev->dma_layout;
	int r;

	*h = (struct vfu_hdr){ .msg_id = dev->dma_id++,
			       .cmd = VFU_CMD_DMA_WRITE,
			       .flags = VFU_F_TYPE_COMMAND };
	dev->dma_layout = VFU_DMA_LAYOUT_SPEC;
	r = dma_send_request(dev, h, addr, NULL, 0, true);
	dev->dma_layout = saved;
	return r;
}

static uint64_t max_xfer(const struct vgpu_device *dev)
{
	uint64_t max = dev->client_caps.max_data_xfer_size;

	return !max || max > VFU_MAX_DATA_XFER ? VFU_MAX_DATA_XFER : max;
}

static void done_push(struct vgpu_device *dev, struct dma_op *op, int status)
{
	op->status = status;
	op->next = NULL;
	if (dev->done_tail)
		dev->done_tail->next = op;
	else
		dev->done_head = op;
	dev->done_tail = op;
}

/* the transfer at the head of the queue is over */
static void op_finish(struct vgpu_device *dev, struct dma_op *op, int status)
{
	dev->aq_head = op->next;
	if (!dev->aq_head)
		dev->aq_tail = NULL;
	done_push(dev, op, status);
}

/* send the next message of the transfer at the head of the queue */
static void async_kick(struct vgpu_device *dev)
{
	struct dma_op *op = dev->aq_head;
	const struct dma_piece *pc;
	int r;

	if (!op || dev->aq_sent || dev->conn_fd < 0 || dev->conn_err)
		return;
	pc = &op->pieces[op->cur];
	if (dev->dma_layout == VFU_DMA_LAYOUT_UNKNOWN) {
		r = dma_send_probe(dev, &dev->aq_hdr, pc->iova);
		dev->aq_probe = true;
	} else {
		uint64_t left = pc->len - op->done_in_cur;

		dev->aq_addr = pc->iova + op->done_in_cur;
		dev->aq_count = left < max_xfer(dev) ? left : max_xfer(dev);
		dev->aq_hdr = (struct vfu_hdr){
			.msg_id = dev->dma_id++,
			.cmd = op->write ? VFU_CMD_DMA_WRITE : VFU_CMD_DMA_READ,
			.flags = VFU_F_TYPE_COMMAND,
		};
		dev->aq_probe = false;
		r = dma_send_request(dev, &dev->aq_hdr, dev->aq_addr,
				     op->buf + pc->off + op->done_in_cur,
				     dev->aq_count, op->write);
	}
	if (r < 0) {
		/* the connection is gone, or the client does not read (a
		 * full output queue): its thread sees it, drops the client
		 * and fails every transfer */
		dev->conn_err = r == -ENOBUFS ? r : -ECONNRESET;
		shutdown(dev->conn_fd, SHUT_RDWR);
		return;
	}
	dev->aq_sent = true;
}

int dma_async_reply(struct vgpu_device *dev, struct vfu_msg *m)
{
	struct dma_op *op = dev->aq_head;
	int r;

	if (!dev->aq_sent || m->hdr.msg_id != dev->aq_hdr.msg_id ||
	    m->hdr.cmd != dev->aq_hdr.cmd)
		return 0;
	dev->aq_sent = false;
	if (dev->aq_stale) {
		/* its transfer was ended by a quiesce: dropped */
		dev->aq_stale = false;
		async_kick(dev);
		return 1;
	}
	if (!op)
		return 0;
	if (dev->aq_probe) {
		r = vfu_dma_probe_layout(&dev->aq_hdr, &m->hdr, m->payload,
					 m->len, m->nfds);
		if (r < 0)
			return r;
		dev->dma_layout = r;
		async_kick(dev);
		return 1;
	}
	r = vfu_dma_check_reply(
		dev->dma_layout, &dev->aq_hdr, dev->aq_addr, dev->aq_count,
		&m->hdr, m->payload, m->len, m->nfds,
		op->buf + op->pieces[op->cur].off + op->done_in_cur);
	if (r == -EPROTO)
		return r;
	if (r < 0) {
		op_finish(dev, op, r); /* the client refused: it stays */
	} else {
		op->done_in_cur += dev->aq_count;
		if (op->done_in_cur == op->pieces[op->cur].len) {
			op->cur++;
			op->done_in_cur = 0;
		}
		if (op->cur == op->n)
			op_finish(dev, op, 0);
	}
	async_kick(dev);
	return 1;
}

void dma_async_run_done(struct vgpu_device *dev)
{
	while (dev->done_head) {
		struct dma_op *op = dev->done_head;

		dev->done_head = op->next;
		if (!dev->done_head)
			dev->done_tail = NULL;
		op->done(dev, op->status, op->userdata);
		free(op->pieces);
		free(op);
	}
}

void dma_async_fail_all(struct vgpu_device *dev, int err)
{
	while (dev->aq_head)
		op_finish(dev, dev->aq_head, err);
	/* with the client still there, the reply to the message in flight
	 * comes and is dropped; no other message goes out before it */
	dev->aq_stale = dev->aq_sent && dev->conn_fd >= 0 && !dev->conn_err;
	dev->aq_sent = dev->aq_stale;
	dma_async_run_done(dev);
}

/* copy what is mapped; list what goes by message in @op */
static int split_range(struct vgpu_device *dev, uint64_t iova, uint8_t *buf,
		       uint64_t len, bool write, struct dma_op *op)
{
	uint32_t prot = write ? VGPU_DMA_WRITE : VGPU_DMA_READ;
	struct vgpu_dma_sg sg[16];
	uint64_t done = 0;
	int n;

	/* the whole range first (translate checks all of it, whatever it
	 * fills in): nothing is copied for a hole */
	n = vgpu_dma_table_translate(dev->dma, iova, len, prot, sg, 16);
	if (n < 0)
		return n;
	op->pieces = calloc((size_t)n, sizeof(*op->pieces));
	if (!op->pieces)
		return -ENOMEM;
	for (;;) {
		for (int i = 0; i < n && i < 16; i++) {
			uint8_t *b = buf + done;
			int r = 0;

			if (!sg[i].vaddr)
				op->pieces[op->n++] = (struct dma_piece){
					.iova = sg[i].iova,
					.len = sg[i].len,
					.off = (size_t)done
				};
			else
				r = dma_copy_piece(&sg[i], b, write);
			if (r < 0)
				return r;
			done += sg[i].len;
		}
		if (done >= len)
			break;
		n = vgpu_dma_table_translate(dev->dma, iova + done, len - done,
					     prot, sg, 16);
		if (n < 0)
			return n;
	}
	if (write)
		vgpu_dma_table_mark_dirty(dev->dma, iova, len);
	return 0;
}

static int dma_async(struct vgpu_device *dev, uint64_t iova, void *buf,
		     size_t len, bool write, vgpu_dma_done_fn done,
		     void *userdata)
{
	struct dma_op *op;
	int r;

	if (!dev || !buf || !len || !done)
		return -EINVAL;
	op = calloc(1, sizeof(*op));
	if (!op)
		return -ENOMEM;
	op->write = write;
	op->buf = buf;
	op->done = done;
	op->userdata = userdata;
	pthread_mutex_lock(&dev->lock);
	/* no DMA while the provider is asked to quiesce (or has not yet
	 * called vgpu_device_quiesced()), nor on a device being destroyed */
	if (dev->dying || !dev->provider)
		r = -ENODEV;
	else if (dev->quiescing)
		r = -EBUSY;
	else
		r = dev->dma ? split_range(dev, iova, buf, len, write, op)
			     : -EFAULT;
	if (r == 0 && op->n && (dev->conn_fd < 0 || dev->conn_err))
		r = dev->conn_err ? dev->conn_err : -ENOTCONN;
	if (r < 0) {
		pthread_mutex_unlock(&dev->lock);
		free(op->pieces);
		free(op);
		return r;
	}
	if (!op->n) {
		/* all of it was mapped: done now */
		done_push(dev, op, 0);
		dma_async_run_done(dev);
	} else {
		if (dev->aq_tail)
			dev->aq_tail->next = op;
		else
			dev->aq_head = op;
		dev->aq_tail = op;
		async_kick(dev);
	}
	pthread_mutex_unlock(&dev->lock);
	return 0;
}

VGPU_EXPORT int vgpu_device_dma_read_async(struct vgpu_device *dev,
					   uint64_t iova, void *buf, size_t len,
					   vgpu_dma_done_fn done,
					   void *userdata)
{
	return dma_async(dev, iova, buf, len, false, done, userdata);
}

VGPU_EXPORT int vgpu_device_dma_write_async(struct vgpu_device *dev,
					    uint64_t iova, const void *buf,
					    size_t len, vgpu_dma_done_fn done,
					    void *userdata)
{
	return dma_async(dev, iova, (void *)buf, len, true, done, userdata);
}
