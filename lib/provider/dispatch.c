/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Command dispatch: one parsed message to its handler.
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
int handle_msg(struct vgpu_device *dev, struct vfu_msg *msg)
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
