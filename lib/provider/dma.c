/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA: DMA_MAP/DMA_UNMAP (with dirty bitmaps), pinning, and
 * vgpu_device_dma_read/write, by mapping or by DMA_READ/DMA_WRITE messages.
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
#include <sys/uio.h>
#include <sys/un.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <linux/magic.h>

#include "provider-private.h"

/* ---- the client's DMA fds ---- */

/*
 * May the provider load and store through a mapping of the client's DMA fd?
 * Only when the client cannot pull the pages away under it: a memfd (shmem)
 * sealed with F_SEAL_SHRINK, as QEMU's default memory-backend-memfd is, that
 * covers the window. Any other fd (hugetlbfs, a plain file, an unsealed
 * memfd) can be truncated by the client at any time, and a load from the
 * truncated part raises SIGBUS, which would end every tenant of the process:
 * such a window is mapped but @guarded, copied only by dma_guarded_copy() and
 * never pinned. A sealed memfd shorter than the window is refused.
 */
static int dma_fd_policy(int fd, uint64_t offset, uint64_t size, bool *guarded)
{
	int seals = fcntl(fd, F_GET_SEALS);
	struct statfs sfs;
	struct stat st;

	/* the common refusal first: one call decides an unsealed memfd or
	 * a file that cannot be sealed at all (guarded), the size and the
	 * file system are asked only for a sealed one */
	*guarded = true;
	if (seals < 0 || !(seals & F_SEAL_SHRINK))
		return 0;
	if (fstatfs(fd, &sfs) < 0 || sfs.f_type != TMPFS_MAGIC)
		return 0;
	if (fstat(fd, &st) < 0)
		return -errno;
	if ((uint64_t)st.st_size < offset ||
	    (uint64_t)st.st_size - offset < size)
		return -EINVAL;
	*guarded = false;
	return 0;
}

/*
 * Copy between @buf and @win, a mapping of a guarded window, through the
 * kernel: process_vm_readv/writev on our own address space report a page
 * the file no longer has as EFAULT instead of raising SIGBUS.
 */
int dma_guarded_copy(void *win, void *buf, size_t len, bool write)
{
	pid_t self = getpid();

	while (len) {
		struct iovec local = { .iov_base = buf, .iov_len = len };
		struct iovec remote = { .iov_base = win, .iov_len = len };
		ssize_t n = write ? process_vm_writev(self, &local, 1, &remote,
						      1, 0)
				  : process_vm_readv(self, &local, 1, &remote,
						     1, 0);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return errno == ENOMEM ? -EFAULT : -errno;
		if (n == 0)
			return -EFAULT;
		buf = (uint8_t *)buf + n;
		win = (uint8_t *)win + n;
		len -= (size_t)n;
	}
	return 0;
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
	return dev->serving &&
	       pthread_equal(dev->serving_thread, pthread_self());
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

void queue_free(struct vgpu_device *dev)
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

	if (dev->q_len >= DMA_QUEUE_MAX ||
	    dev->q_bytes + m->len > DMA_QUEUE_BYTES)
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
void unstash(struct vgpu_device *dev)
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

/*
 * Send the request @h (@count bytes at @addr, from @buf for a write; the
 * 0-byte layout probe when @probe) and wait for its reply, into *m. Client
 * commands that arrive first are queued, replies to asynchronous transfers
 * handed on. No answer within the provider's time limit: -ETIMEDOUT; the
 * client gone: -ECONNRESET; too many commands meanwhile: -ENOBUFS; a reply
 * that is nobody's: -EPROTO. Those drop the client.
 */
static int wait_reply(struct vgpu_device *dev, struct vfu_hdr *h, bool probe,
		      uint64_t addr, void *buf, uint64_t count, bool write,
		      struct vfu_msg *m)
{
	int64_t deadline =
		now_ms() + __atomic_load_n(&dev->provider->dma_timeout_ms,
					   __ATOMIC_RELAXED);
	int r;

	r = stash(dev);
	if (r < 0)
		return r;
	r = probe ? dma_send_probe(dev, h, addr)
		  : dma_send_request(dev, h, addr, buf, count, write);
	if (r < 0)
		return conn_broken(dev, r == -ENOBUFS ? r : -ECONNRESET);
	for (;;) {
		r = vfu_reader_next(&dev->rx_wait, dev->conn_fd, m,
				    MSG_DONTWAIT);
		if (r == -EAGAIN) {
			/* and send on what the client has not taken yet */
			struct pollfd pfd = {
				.fd = dev->conn_fd,
				.events = POLLIN |
					  (conn_queued(dev) ? POLLOUT : 0),
			};
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return conn_broken(dev, -ETIMEDOUT);
			if (poll(&pfd, 1, (int)left) < 0 && errno != EINTR)
				return conn_broken(dev, -ECONNRESET);
			if ((pfd.revents & POLLOUT) &&
			    conn_flush(dev) < -EAGAIN)
				return conn_broken(dev, -ECONNRESET);
			continue;
		}
		if (r == -ENOTCONN || r == -ECONNRESET || r == -EPIPE)
			return conn_broken(dev, -ECONNRESET);
		if (r < 0)
			return conn_broken(dev, r == -ENOMEM ? r : -EPROTO);
		if ((m->hdr.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_COMMAND) {
			r = enqueue(dev, m);
			vfu_msg_close_fds(m, 0);
			if (r < 0)
				return conn_broken(dev, r);
			continue;
		}
		if (m->hdr.msg_id == h->msg_id && m->hdr.cmd == h->cmd)
			return 0;
		r = dma_async_reply(dev, m);
		vfu_msg_close_fds(m, 0);
		if (r <= 0)
			return conn_broken(dev, -EPROTO);
	}
}

/*
 * One DMA_READ (@write false: into @buf) or DMA_WRITE (from @buf) of
 * @count bytes at @addr, at most the client's max_data_xfer_size, in the
 * client's layout (probed first when not known yet). Errors as
 * wait_reply(); a malformed reply: -EPROTO (dropped); an error reply gives
 * its errno and the client stays.
 */
static int dma_exchange(struct vgpu_device *dev, uint64_t addr, void *buf,
			uint64_t count, bool write)
{
	struct vfu_hdr h;
	struct vfu_msg m;
	int r;

	if (dev->dma_layout == VFU_DMA_LAYOUT_UNKNOWN) {
		r = wait_reply(dev, &h, true, addr, NULL, 0, true, &m);
		if (r < 0)
			return r;
		r = vfu_dma_probe_layout(&h, &m.hdr, m.payload, m.len, m.nfds);
		vfu_msg_close_fds(&m, 0);
		if (r < 0)
			return conn_broken(dev, -EPROTO);
		dev->dma_layout = r;
	}
	h = (struct vfu_hdr){
		.msg_id = dev->dma_id++,
		.cmd = write ? VFU_CMD_DMA_WRITE : VFU_CMD_DMA_READ,
		.flags = VFU_F_TYPE_COMMAND,
	};
	r = wait_reply(dev, &h, false, addr, buf, count, write, &m);
	if (r < 0)
		return r;
	r = vfu_dma_check_reply(dev->dma_layout, &h, addr, count, &m.hdr,
				m.payload, m.len, m.nfds, buf);
	vfu_msg_close_fds(&m, 0);
	return r == -EPROTO ? conn_broken(dev, r) : r;
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

int dma_copy_piece(const struct vgpu_dma_sg *sg, void *buf, bool write)
{
	if (vgpu_dma_sg_guarded(sg))
		return dma_guarded_copy(sg->vaddr, buf, (size_t)sg->len, write);
	if (write)
		memcpy(sg->vaddr, buf, sg->len);
	else
		memcpy(buf, sg->vaddr, sg->len);
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
	/*
	 * translate checks all of the range it is given, whatever number of
	 * pieces it fills in: the first call finds a hole or a missing
	 * permission anywhere before anything is copied. Another call is
	 * only needed past the 16th piece.
	 */
	do {
		n = vgpu_dma_table_translate(
			dev->dma, iova + done, len - done,
			write ? VGPU_DMA_WRITE : VGPU_DMA_READ, sg, 16);
		if (n < 0) {
			r = n;
			goto out;
		}
		for (int i = 0; i < n && i < 16; i++) {
			uint8_t *b = (uint8_t *)buf + done;

			if (!sg[i].vaddr)
				r = dma_by_message(dev, sg[i].iova, b,
						   sg[i].len, write);
			else
				r = dma_copy_piece(&sg[i], b, write);
			if (r < 0)
				goto out;
			done += sg[i].len;
		}
	} while (done < len);
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

/* ---- quiesce, and windows the provider holds past their client ---- */

int quiesce_begin(struct vgpu_device *dev)
{
	struct vgpu_provider *p = dev->provider;
	int r;

	if (dev->quiesce_done) {
		dev->quiesce_done = false; /* the deferred operation's turn */
		return 0;
	}
	if (!p || !p->quiesce)
		return 0;
	if (dev->quiescing)
		return -EINPROGRESS; /* asked already, no answer yet */
	/* quiesced means no DMA in flight: the asynchronous transfers end
	 * (-ECANCELED to their callbacks) before the provider is asked */
	dma_async_fail_all(dev, -ECANCELED);
	r = p->quiesce(dev, p->userdata);
	if (r == -EBUSY) {
		dev->quiescing = true;
		return -EINPROGRESS;
	}
	return r < 0 ? r : 0;
}

static void release_window(struct vgpu_dma_window *w, void *data)
{
	struct vgpu_device *dev = data;
	struct vgpu_provider *p = dev->provider;

	if (p && p->ops.dma_unmap)
		p->ops.dma_unmap(dev, w->iova, w->len, p->userdata);
	if (w->vaddr)
		munmap(w->vaddr, w->len);
}

static int add_pins(struct vgpu_dma_window *w, void *data)
{
	*(uint64_t *)data += w->pins;
	return 0;
}

static uint64_t table_pins(const struct vgpu_dma_table *t)
{
	uint64_t n = 0;

	vgpu_dma_table_foreach(t, add_pins, &n);
	return n;
}

void dma_retire(struct vgpu_device *dev)
{
	struct vgpu_dma_table *t = dev->dma;

	dev->dma = NULL;
	if (!t)
		return;
	if ((dev->orphan_wait || table_pins(t)) &&
	    vgpu_vec_push(&dev->orphans, t) == 0)
		return;
	vgpu_dma_table_free(t, release_window, dev);
}

void dma_reap(struct vgpu_device *dev, bool all)
{
	for (size_t i = 0; i < dev->orphans.n;) {
		struct vgpu_dma_table *t = dev->orphans.items[i];

		if (!all && (dev->orphan_wait || table_pins(t))) {
			i++;
			continue;
		}
		vgpu_dma_table_free(t, release_window, dev);
		dev->orphans.items[i] = dev->orphans.items[--dev->orphans.n];
	}
}

/* unpin [iova, iova + len) in @t when all of it is mapped there (and,
 * with @pinned, pinned) */
static bool unpin_in(struct vgpu_dma_table *t, uint64_t iova, uint64_t len,
		     bool pinned)
{
	struct vgpu_dma_sg sg[16];

	/* a check pass, then the unpin pass */
	for (int pass = 0; pass < 2; pass++) {
		for (uint64_t done = 0; done < len;) {
			int n = vgpu_dma_table_translate(t, iova + done,
							 len - done, 0, sg, 16);

			if (n < 0)
				return false;
			if (n > 16)
				n = 16;
			for (int i = 0; i < n; i++) {
				if (!pass && pinned &&
				    !vgpu_dma_sg_win(&sg[i])->pins)
					return false;
				done += sg[i].len;
			}
			if (pass)
				vgpu_dma_table_unpin(t, sg, (size_t)n);
		}
	}
	return true;
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
						max)
		     : -EFAULT;
	if (n > 0 && (size_t)n > max)
		n = -ENOSPC;
	/* no host pointer to a window without an fd or with one the
	 * client can truncate (guarded): those are copied, never pinned */
	for (int i = 0; i > -1 && i < n; i++)
		if (!sg[i].vaddr || vgpu_dma_sg_guarded(&sg[i]))
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
	int r = -EINVAL;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	/* a former client's windows first: pins older than the current
	 * client's; the last unpin releases them */
	for (size_t i = 0; i < dev->orphans.n && r < 0; i++)
		if (unpin_in(dev->orphans.items[i], iova, len, true)) {
			r = 0;
			dma_reap(dev, false);
		}
	if (r < 0 &&
	    (!len || (dev->dma && unpin_in(dev->dma, iova, len, false))))
		r = 0;
	pthread_mutex_unlock(&dev->lock);
	return r;
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

int handle_dma_map(struct vgpu_device *dev, const struct vfu_req *req, int *fds,
		   struct prov_reply *rep)
{
	struct vgpu_provider *p = dev->provider;
	const struct vfu_dma_map *m = &req->u.dma_map;
	struct vgpu_dma_window w = {
		.iova = m->addr,
		.len = m->size,
		.offset = m->offset,
		.fd = -1,
		.prot = (m->flags & VFU_DMA_MAP_READ ? VGPU_DMA_READ : 0) |
			(m->flags & VFU_DMA_MAP_WRITE ? VGPU_DMA_WRITE : 0),
	};
	int r;

	/* the limit VERSION answered: the lower of the client's and ours */
	if (vgpu_dma_table_count(dev->dma) >= dev->client_caps.max_dma_maps ||
	    vgpu_dma_table_count(dev->dma) >= VFU_MAX_DMA_MAPS)
		return -ENOSPC;
	if (req->nfds) {
		int prot = (w.prot & VGPU_DMA_READ ? PROT_READ : 0) |
			   (w.prot & VGPU_DMA_WRITE ? PROT_WRITE : 0);

		if ((size_t)m->size != m->size || m->offset > INT64_MAX)
			return -EINVAL;
		r = dma_fd_policy(fds[0], m->offset, m->size, &w.guarded);
		if (r < 0)
			return r;
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

int handle_dma_unmap(struct vgpu_device *dev, const struct vfu_req *req,
		     int *fds, struct prov_reply *rep)
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
		reply_head(rep, &echo, sizeof(echo));
		return 0;
	}
	if (u->flags & VFU_DMA_UNMAP_GET_DIRTY_BITMAP) {
		const struct vfu_bitmap *b = &req->u.dma_unmap.bitmap;

		if (!vgpu_dma_table_logging(dev->dma))
			return -EINVAL;
		bsize = (size_t)b->size;
		bitmap = calloc(1, bsize ? bsize : 8);
		if (!bitmap)
			return -ENOMEM;
		/* not cleared here: the bits go with the window when the
		 * unmap succeeds, and stay for the next report when it fails */
		r = vgpu_dma_table_log_report(dev->dma, u->addr, u->size,
					      b->pgsize, bitmap, bsize, false);
		if (r < 0) {
			free(bitmap);
			return r;
		}
	}
	r = unmap_one(dev, u->addr, u->size);
	if (r == 0) {
		echo.argsz =
			(uint32_t)(sizeof(echo) +
				   (bitmap ? sizeof(struct vfu_bitmap) + bsize
					   : 0));
		if (bitmap) {
			uint8_t *buf =
				malloc(sizeof(struct vfu_bitmap) + bsize);

			if (!buf) {
				r = -ENOMEM;
			} else {
				memcpy(buf, &req->u.dma_unmap.bitmap,
				       sizeof(struct vfu_bitmap));
				memcpy(buf + sizeof(struct vfu_bitmap), bitmap,
				       bsize);
				reply_head(rep, &echo, sizeof(echo));
				reply_body_take(rep, buf,
						sizeof(struct vfu_bitmap) +
							bsize);
			}
		} else {
			reply_head(rep, &echo, sizeof(echo));
		}
	}
	free(bitmap);
	return r;
}
