/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections: accept, VERSION negotiation, the reply writer, message
 * reading, connection threads and disconnect.
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
void disconnect(struct vgpu_device *dev)
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

void conn_lost(struct vgpu_device *dev, int r)
{
	if (r != -ENOTCONN && r != -ECONNRESET && !dev->dying)
		info(dev->provider->ctx, "device %s: dropping client: %s",
		     dev->uuid, strerror(-r));
	disconnect(dev);
}


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
void join_conn_thread(struct vgpu_device *dev)
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

int accept_client(struct vgpu_device *dev)
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

int handle_version(struct vgpu_device *dev, const struct vfu_req *req,
		   int *fds, struct prov_reply *rep)
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
	reply_head(rep, &v, sizeof(v));
	reply_body_take(rep, json, strlen(json) + 1);
	/* if the reply cannot be sent, the connection is dropped */
	dev->versioned = true;
	return 0;
}

int serve_one(struct vgpu_device *dev, int flags)
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
