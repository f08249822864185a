/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interrupts: set-up, signalling, IRQ_INFO and SET_IRQS.
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

/*
 * Interrupt fds come from the client, which may be hostile: only eventfds
 * are taken (a pipe could block us or raise SIGPIPE), made non-blocking,
 * and written without ever waiting. The file description is shared with
 * the client, which could clear O_NONBLOCK again: irq_signal() checks the
 * flag before each write.
 */
static bool is_eventfd(int fd)
{
	char path[64], target[32];
	struct stat st;
	ssize_t n;

	if (fstat(fd, &st) < 0 || (st.st_mode & S_IFMT))
		return false; /* anonymous inodes have no file type */
	snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
	n = readlink(path, target, sizeof(target) - 1);
	if (n < 0)
		return false;
	target[n] = '\0';
	return !strcmp(target, "anon_inode:[eventfd]");
}

/* a client's fd for an interrupt: an eventfd, now non-blocking */
static int irq_fd_check(int fd)
{
	int fl;

	if (!is_eventfd(fd))
		return -EINVAL;
	fl = fcntl(fd, F_GETFL);
	if (fl < 0 ||
	    (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0))
		return -errno;
	return 0;
}

/* raise: add 1 to the counter; a full counter (EAGAIN) means the client
 * has not consumed what is pending, so the interrupt is pending already */
int irq_signal(int fd)
{
	uint64_t one = 1;
	int fl = fcntl(fd, F_GETFL);

	if (fl < 0)
		return -errno;
	if (!(fl & O_NONBLOCK) && fcntl(fd, F_SETFL, fl | O_NONBLOCK) < 0)
		return -errno;
	if (write(fd, &one, sizeof(one)) == sizeof(one) || errno == EAGAIN)
		return 0;
	return -errno;
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
	} else if (!mig_live(dev)) {
		/* stopped for migration: latched, signalled when the device
		 * runs again (migration.c) or carried to the destination */
		q->pending[vector] = true;
		r = -EAGAIN;
	} else {
		r = irq_signal(q->efd[vector]);
	}
	pthread_mutex_unlock(&dev->lock);
	return r;
}

int handle_irq_info(struct vgpu_device *dev, const struct vfu_req *req,
		    int *fds, struct prov_reply *rep)
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
	reply_head(rep, &ii, sizeof(ii));
	return 0;
}

int handle_set_irqs(struct vgpu_device *dev, const struct vfu_req *req,
		    int *fds, struct prov_reply *rep)
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
	/* every fd is checked before any is taken: all or nothing */
	for (uint32_t i = 0; data == VFU_IRQ_DATA_EVENTFD && i < req->nfds;
	     i++) {
		int r = irq_fd_check(fds[i]);

		if (r < 0)
			return r;
	}
	if (action == VFU_IRQ_ACTION_TRIGGER) {
		for (uint32_t i = 0; i < count; i++) {
			unsigned int v = start + i;

			if (data == VFU_IRQ_DATA_EVENTFD) {
				if (q->efd[v] >= 0)
					close(q->efd[v]);
				q->efd[v] = req->nfds ? fds[i] : -1;
				if (req->nfds)
					fds[i] = -1; /* taken */
			} else if (data == VFU_IRQ_DATA_NONE && !s->count) {
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
		bool set =
			data == VFU_IRQ_DATA_NONE || req->u.set_irqs.bools[i];

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
