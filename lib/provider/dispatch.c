/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Command dispatch: every message goes through handle_msg(), which parses
 * it, runs its handler from the table and sends the one reply.
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

/* ---- the commands without a concern of their own ---- */

static int handle_device_info(struct vgpu_device *dev,
			      const struct vfu_req *req, int *fds,
			      struct prov_reply *rep)
{
	struct vfu_device_info di = {
		.argsz = sizeof(di),
		.flags = VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET,
		.num_regions = num_regions(dev),
		.num_irqs = VFU_PCI_NUM_IRQS,
	};

	reply_head(rep, &di, sizeof(di));
	return 0;
}

static int handle_region_io_fds(struct vgpu_device *dev,
				const struct vfu_req *req, int *fds,
				struct prov_reply *rep)
{
	struct vfu_io_fds io = { .argsz = sizeof(io),
				 .index = req->u.io_fds.index };

	if (io.index >= VFU_MAX_REGIONS)
		return -EINVAL;
	reply_head(rep, &io, sizeof(io));
	return 0;
}

static int handle_reset(struct vgpu_device *dev, const struct vfu_req *req,
			int *fds, struct prov_reply *rep)
{
	struct vgpu_provider *p = dev->provider;
	int r;

	r = p->ops.reset ? p->ops.reset(dev, p->userdata) : 0;
	/* the way out of ERROR: back to RUNNING */
	if (r == 0 && dev->mig != VGPU_MIG_RUNNING && p->ops.migration_state) {
		r = p->ops.migration_state(dev, VGPU_MIG_RUNNING, p->userdata);
		dev->mig = r < 0 ? VGPU_MIG_ERROR : VGPU_MIG_RUNNING;
	}
	return r;
}

/*
 * What each command does. How it is parsed (and its name, and how many fds
 * may come with it) is the wire table's business: vfu_command_find(). A
 * handler returns 0 with the reply filled in (an empty reply if it filled in
 * nothing), or a negative errno for an error reply; it never writes to the
 * socket.
 */
static const prov_handler_fn handlers[VFU_CMD_MAX + 1] = {
	[VFU_CMD_VERSION] = handle_version,
	[VFU_CMD_DMA_MAP] = handle_dma_map,
	[VFU_CMD_DMA_UNMAP] = handle_dma_unmap,
	[VFU_CMD_DEVICE_GET_INFO] = handle_device_info,
	[VFU_CMD_DEVICE_GET_REGION_INFO] = handle_region_info,
	[VFU_CMD_DEVICE_GET_REGION_IO_FDS] = handle_region_io_fds,
	[VFU_CMD_DEVICE_GET_IRQ_INFO] = handle_irq_info,
	[VFU_CMD_DEVICE_SET_IRQS] = handle_set_irqs,
	[VFU_CMD_REGION_READ] = handle_region_rw,
	[VFU_CMD_REGION_WRITE] = handle_region_rw,
	[VFU_CMD_REGION_WRITE_MULTI] = handle_write_multi,
	[VFU_CMD_DEVICE_RESET] = handle_reset,
	[VFU_CMD_DEVICE_FEATURE] = handle_feature,
	[VFU_CMD_MIG_DATA_READ] = handle_mig_data,
	[VFU_CMD_MIG_DATA_WRITE] = handle_mig_data,
};

/* run one parsed request; <0 is an errno for an error reply */
static int run(struct vgpu_device *dev, const struct vfu_req *req, int *fds,
	       struct prov_reply *rep)
{
	if (!dev->versioned && req->cmd != VFU_CMD_VERSION)
		return -EINVAL;
	/* parsed, so a command of the wire table; DMA_READ and DMA_WRITE
	 * (server to client) have no handler */
	if (req->cmd > VFU_CMD_MAX || !handlers[req->cmd])
		return -ENOSYS;
	/* the provider stops its DMA first (or says it will) */
	if (req->cmd == VFU_CMD_DMA_UNMAP || req->cmd == VFU_CMD_DEVICE_RESET) {
		int r = quiesce_begin(dev);

		if (r < 0)
			return r;
	}
	return handlers[req->cmd](dev, req, fds, rep);
}

/* an empty answer to @msg; the big parts (head, small) are not cleared,
 * their lengths say what is in them */
static void answer_init(struct prov_answer *ans, const struct vfu_msg *msg)
{
	ans->hdr = (struct vfu_hdr){ .msg_id = msg->hdr.msg_id,
				     .cmd = msg->hdr.cmd,
				     .flags = VFU_F_TYPE_REPLY };
	ans->rep.head_len = 0;
	ans->rep.body = NULL;
	ans->rep.body_len = 0;
	ans->rep.body_owned = NULL;
	ans->rep.fd = -1;
	ans->send = false;
}

/*
 * Parse and run one message, with dev->lock held: @ans receives exactly one
 * reply or error reply (none for VFU_F_NO_REPLY, except to VERSION's
 * error; none for the client's reply to an asynchronous DMA request),
 * sent by answer_send() once the lock is dropped; <0 disconnects,
 * except -EINPROGRESS: the provider is quiescing, the message waits.
 */
int handle_msg(struct vgpu_device *dev, struct vfu_msg *msg,
	       struct prov_answer *ans)
{
	struct vgpu_provider *p = dev->provider;
	struct vfu_req req;
	int r;

	answer_init(ans, msg);
	if ((msg->hdr.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_REPLY) {
		/* the answer to an asynchronous DMA_READ/DMA_WRITE (or the
		 * layout probe): no answer of ours; anything else that
		 * claims to be a reply breaks the protocol */
		r = dma_async_reply(dev, msg);
		vfu_msg_close_fds(msg, 0);
		if (dev->conn_err)
			return dev->conn_err;
		return r == 1 ? 0 : -EPROTO;
	}
	r = vfu_parse_command(&msg->hdr, msg->payload, msg->len, msg->nfds,
			      VFU_MAX_DATA_XFER, &req);
	if (r == 0)
		r = run(dev, &req, msg->fds, &ans->rep);
	/* fds a handler did not take, or that the command did not use */
	if (msg->nfds)
		vfu_msg_close_fds(msg, 0);
	if (dev->conn_err)
		return dev->conn_err; /* a DMA exchange lost the client */
	if (r == -EINPROGRESS)
		return r; /* waits for vgpu_device_quiesced(), unanswered */
	if (r < 0) {
		const struct vfu_command *c = vfu_command_find(msg->hdr.cmd);

		dbg(p->ctx, "device %s: command %u (%s) failed: %s", dev->uuid,
		    msg->hdr.cmd, c ? c->name : "unknown", strerror(-r));
		free(ans->rep.body_owned);
		answer_init(ans, msg);
		ans->hdr.flags |= VFU_F_ERROR;
		ans->hdr.error = (uint32_t)-r;
		ans->send = !(msg->hdr.flags & VFU_F_NO_REPLY) ||
			    msg->hdr.cmd == VFU_CMD_VERSION;
		/* a failed negotiation ends the connection */
		return dev->versioned ? 0 : -EPROTO;
	}
	ans->send = !req.no_reply;
	return 0;
}
