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
#include <linux/futex.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "provider-private.h"

/* ------------------------------------------------------------------------ */
/* connection handling                                                       */

int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the send lock's slow paths (send-lock.h) ---- */

void send_lock_wait(int *lock, int seen)
{
	if (seen != 2)
		seen = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
	while (seen != 0) {
		syscall(SYS_futex, lock, FUTEX_WAIT_PRIVATE, 2, NULL, NULL, 0);
		seen = __atomic_exchange_n(lock, 2, __ATOMIC_ACQUIRE);
	}
}

void send_lock_wake(int *lock)
{
	syscall(SYS_futex, lock, FUTEX_WAKE_PRIVATE, 1, NULL, NULL, 0);
}

/* ---- the output queue: a client that does not read hurts only itself ---- */

/*
 * The connection's epoll events, from its state; dev->send_lock held
 * (dev->deferred changes on the serving thread only).
 * Dispatch mode: read while no message waits for the provider to quiesce,
 * and EPOLLOUT while the output queue holds something.
 * Runner mode: the connection's thread reads (blocking, see conn_main());
 * the socket is in the provider's epoll set, for EPOLLOUT only, while the
 * output queue holds something, and the dispatching thread sends it on
 * (conn_out_event()). Out of the set otherwise: a hung-up socket would
 * report EPOLLHUP to it over and over until the thread winds up.
 */
int conn_events(struct vgpu_device *dev)
{
	struct epoll_event ev = { .data.ptr = &dev->wc };
	bool want;

	if (!dev->provider || dev->conn_fd < 0)
		return 0;
	if (dev->conn_threaded) {
		want = dev->out_head;
		if (want == dev->out_watched)
			return 0;
		ev.events = EPOLLOUT;
		ev.data.ptr = &dev->wo;
		if (epoll_ctl(dev->provider->epfd,
			      want ? EPOLL_CTL_ADD : EPOLL_CTL_DEL,
			      dev->conn_fd, &ev) < 0)
			return -errno;
		dev->out_watched = want;
		return 0;
	}
	ev.events =
		(dev->deferred ? 0 : EPOLLIN) | (dev->out_head ? EPOLLOUT : 0);
	if (!dev->conn_in_epoll || ev.events == dev->conn_ev)
		return 0;
	if (epoll_ctl(dev->provider->epfd, EPOLL_CTL_MOD, dev->conn_fd, &ev) <
	    0)
		return -errno;
	dev->conn_ev = ev.events;
	return 0;
}

static void out_free(struct vgpu_device *dev)
{
	while (dev->out_head) {
		struct outbuf *o = dev->out_head;

		dev->out_head = o->next;
		if (o->fd >= 0)
			close(o->fd);
		free(o);
	}
	dev->out_tail = NULL;
	dev->out_bytes = 0;
	__atomic_store_n(&dev->out_pending, false, __ATOMIC_RELEASE);
}

/* queue bytes [from, total) of the message; its fd when none went yet.
 * Out of line: inlined, it made every conn_send() save and restore more
 * registers (6 instructions per reply) */
static __attribute__((noinline)) int out_push(struct vgpu_device *dev,
					      const struct vfu_hdr *hdr,
					      const struct iovec *iov,
					      unsigned int n, const int *fds,
					      unsigned int nfds, size_t from)
{
	size_t total = hdr->size, at = 0;
	struct outbuf *o;

	if (nfds > 1)
		return -EINVAL;
	if (dev->out_bytes + (total - from) > CONN_OUTQ_MAX)
		return -ENOBUFS;
	o = malloc(sizeof(*o) + total);
	if (!o)
		return -ENOMEM;
	o->next = NULL;
	o->len = total;
	o->off = from;
	o->fd = -1;
	memcpy(o->data, hdr, sizeof(*hdr));
	at = sizeof(*hdr);
	for (unsigned int i = 0; i < n; i++) {
		if (iov[i].iov_len)
			memcpy(o->data + at, iov[i].iov_base, iov[i].iov_len);
		at += iov[i].iov_len;
	}
	if (nfds && !from) {
		o->fd = fcntl(fds[0], F_DUPFD_CLOEXEC, 3);
		if (o->fd < 0) {
			int r = -errno;

			free(o);
			return r;
		}
	}
	if (dev->out_tail)
		dev->out_tail->next = o;
	else
		dev->out_head = o;
	dev->out_tail = o;
	dev->out_bytes += total - from;
	__atomic_store_n(&dev->out_pending, true, __ATOMIC_RELEASE);
	/* nobody would send it on: the client is dropped */
	return conn_events(dev);
}

/* under dev->send_lock (nothing here waits): a provider thread that starts
 * an asynchronous transfer sends next to the connection's own thread;
 * what the socket does not take is sent on by the dispatching thread
 * (conn_events()); a reply goes out after the device lock is dropped, so
 * senders never hold up its users */
int conn_send(struct vgpu_device *dev, struct vfu_hdr *hdr,
	      const struct iovec *iov, unsigned int n, const int *fds,
	      unsigned int nfds)
{
	ssize_t sent = 0;
	int r;

	send_lock(dev);
	if (dev->conn_fd < 0) {
		r = -ENOTCONN;
		goto out;
	}
	if (!dev->out_head) {
		sent = vfu_send_some(dev->conn_fd, hdr, iov, n, fds, nfds);
		if (sent < 0 || (size_t)sent == hdr->size) {
			r = sent < 0 ? (int)sent : 0;
			goto out;
		}
	} else {
		size_t total = sizeof(*hdr);

		for (unsigned int i = 0; i < n; i++)
			total += iov[i].iov_len;
		if (total > UINT32_MAX) {
			r = -EMSGSIZE;
			goto out;
		}
		hdr->size = (uint32_t)total;
	}
	r = out_push(dev, hdr, iov, n, fds, nfds, (size_t)sent);
out:
	send_unlock(dev);
	return r;
}

static int flush_locked(struct vgpu_device *dev);

int conn_flush(struct vgpu_device *dev)
{
	int r;

	send_lock(dev);
	r = dev->conn_fd >= 0 ? flush_locked(dev) : -ENOTCONN;
	send_unlock(dev);
	return r;
}

/* no lock: whatever a sender queues after this read, the dispatching
 * thread sends on once the socket takes it (conn_events()) */
bool conn_queued(struct vgpu_device *dev)
{
	return __atomic_load_n(&dev->out_pending, __ATOMIC_ACQUIRE);
}

static int flush_locked(struct vgpu_device *dev)
{
	while (dev->out_head) {
		struct outbuf *o = dev->out_head;
		union {
			char b[CMSG_SPACE(sizeof(int))];
			struct cmsghdr align;
		} ctrl;
		struct iovec iov = { .iov_base = o->data + o->off,
				     .iov_len = o->len - o->off };
		struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
		ssize_t k;

		if (o->fd >= 0) {
			struct cmsghdr *c;

			memset(&ctrl, 0, sizeof(ctrl));
			mh.msg_control = ctrl.b;
			mh.msg_controllen = sizeof(ctrl.b);
			c = CMSG_FIRSTHDR(&mh);
			c->cmsg_level = SOL_SOCKET;
			c->cmsg_type = SCM_RIGHTS;
			c->cmsg_len = CMSG_LEN(sizeof(int));
			memcpy(CMSG_DATA(c), &o->fd, sizeof(int));
		}
		k = sendmsg(dev->conn_fd, &mh, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (k < 0 && errno == EINTR)
			continue;
		if (k < 0)
			return errno == EAGAIN ? -EAGAIN : -errno;
		if (o->fd >= 0) {
			close(o->fd);
			o->fd = -1;
		}
		o->off += (size_t)k;
		dev->out_bytes -= (size_t)k;
		if (o->off < o->len)
			continue;
		dev->out_head = o->next;
		if (!dev->out_head)
			dev->out_tail = NULL;
		free(o);
	}
	__atomic_store_n(&dev->out_pending, false, __ATOMIC_RELEASE);
	return conn_events(dev);
}

/*
 * Runner mode, on the dispatching thread: the socket of a connection
 * thread's client takes bytes again. What the queue holds goes on; when
 * the client cannot take it any more (it hung up, a reset) the queue is
 * dropped and the socket shut down, which ends the connection thread's
 * read, and that thread drops the client.
 */
void conn_out_event(struct vgpu_device *dev)
{
	send_lock(dev);
	if (dev->conn_fd >= 0 && dev->out_watched &&
	    flush_locked(dev) < -EAGAIN) {
		out_free(dev);
		(void)conn_events(dev); /* out of the epoll set */
		shutdown(dev->conn_fd, SHUT_RDWR);
	}
	send_unlock(dev);
}

/* ---- the VERSION deadline ---- */

static void version_timer_stop(struct vgpu_device *dev)
{
	if (dev->timer_fd < 0)
		return;
	if (dev->provider)
		epoll_ctl(dev->provider->epfd, EPOLL_CTL_DEL, dev->timer_fd,
			  NULL);
	close(dev->timer_fd);
	dev->timer_fd = -1;
}

/* dispatch mode: a timerfd in the provider's epoll set */
static int version_timer_start(struct vgpu_device *dev)
{
	int ms = __atomic_load_n(&dev->provider->version_timeout_ms,
				 __ATOMIC_RELAXED);
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000 },
	};
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dev->wt };

	dev->timer_fd =
		timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (dev->timer_fd < 0)
		return -errno;
	if (timerfd_settime(dev->timer_fd, 0, &its, NULL) < 0 ||
	    epoll_ctl(dev->provider->epfd, EPOLL_CTL_ADD, dev->timer_fd, &ev) <
		    0) {
		int r = -errno;

		close(dev->timer_fd);
		dev->timer_fd = -1;
		return r;
	}
	return 0;
}

void version_timer_fired(struct vgpu_device *dev)
{
	version_timer_stop(dev);
	if (dev->conn_fd >= 0 && !dev->versioned)
		conn_lost(dev, -ETIMEDOUT);
}

/* drop the client: its windows, its eventfds; keep the device state */
void disconnect(struct vgpu_device *dev)
{
	struct vgpu_provider *p = dev->provider;

	pthread_mutex_lock(&dev->lock);
	/* no send of another thread is under way, and none will start */
	send_lock(dev);
	if (dev->conn_fd >= 0) {
		if (p && (dev->conn_in_epoll || dev->out_watched))
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, dev->conn_fd, NULL);
		close(dev->conn_fd);
		dev->conn_fd = -1;
	}
	dev->conn_in_epoll = dev->out_watched = false;
	out_free(dev);
	send_unlock(dev);
	version_timer_stop(dev);
	/* asynchronous transfers end first (-ECONNRESET), so the quiesce
	 * callback below finds none in flight */
	dma_async_fail_all(dev, -ECONNRESET);
	dev->dma_layout = VFU_DMA_LAYOUT_UNKNOWN;
	/* the provider quiesces first; what it pins stays mapped */
	if (dev->dma && vgpu_dma_table_count(dev->dma) &&
	    quiesce_begin(dev) == -EINPROGRESS)
		dev->orphan_wait = true;
	dma_retire(dev);
	free(dev->deferred);
	dev->deferred = NULL;
	dev->quiesce_done = false;
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

/* runner mode: wait for vgpu_device_quiesced(), the thread's stop, or the
 * client hanging up (looked at every 200 ms) */
static int wait_quiesced(struct vgpu_device *dev)
{
	int r = 0;

	pthread_mutex_lock(&dev->lock);
	while (!dev->quiesce_done && !dev->conn_stopping && r == 0) {
		struct pollfd pfd = { .fd = dev->conn_fd, .events = POLLRDHUP };
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 200 * 1000000;
		if (ts.tv_nsec >= 1000000000) {
			ts.tv_sec++;
			ts.tv_nsec -= 1000000000;
		}
		pthread_cond_timedwait(&dev->quiesce_cond, &dev->lock, &ts);
		if (poll(&pfd, 1, 0) > 0 &&
		    (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR)))
			r = -ECONNRESET;
	}
	if (dev->conn_stopping)
		r = -ECONNRESET;
	pthread_mutex_unlock(&dev->lock);
	return r;
}

/*
 * The loop of one connection (runner mode). Until VERSION is done it waits
 * in poll(), for the VERSION deadline; then it blocks in recvmsg() (one
 * system call in, one out per message, as in 0.1). Nothing else needs to
 * wake it: what the socket did not take is sent on by the dispatching
 * thread (conn_events()), a thread that sees the connection break, and
 * vgpu_provider_stop_thread(), shut the socket down, which ends the read,
 * and a message that waits for a quiesce waits in wait_quiesced(), on a
 * condition variable.
 */
static void *conn_main(void *data)
{
	struct vgpu_device *dev = data;
	int64_t deadline =
		now_ms() + __atomic_load_n(&dev->provider->version_timeout_ms,
					   __ATOMIC_RELAXED);
	int r;

	for (;;) {
		if (dev->deferred) {
			r = wait_quiesced(dev);
			if (r == 0)
				r = serve_deferred(dev);
		} else if (dev->versioned) {
			r = serve_one(dev, 0);
		} else if (vfu_reader_has_msg(&dev->rx)) {
			/* read already: poll() would not see it */
			r = serve_one(dev, MSG_DONTWAIT);
		} else {
			struct pollfd pfd = { .fd = dev->conn_fd,
					      .events = POLLIN };
			int64_t left = deadline - now_ms();

			if (left <= 0) {
				r = -ETIMEDOUT;
				break;
			}
			r = poll(&pfd, 1, (int)left);
			if (r < 0 && errno != EINTR) {
				r = -errno;
				break;
			}
			r = r > 0 ? serve_one(dev, MSG_DONTWAIT) : 0;
		}
		if (r < 0 && r != -EAGAIN)
			break;
	}
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
	dev->conn_stopping = true;
	pthread_cond_broadcast(&dev->quiesce_cond);
	pthread_mutex_unlock(&dev->lock);
	pthread_join(dev->conn_thread, NULL);
	dev->conn_stopping = false;
	dev->has_conn_thread = false;
}

/* whether the peer of @fd has hung up (its connection is over) */
bool peer_gone(int fd)
{
	struct pollfd pfd = { .fd = fd, .events = POLLRDHUP };

	return poll(&pfd, 1, 0) == 1 &&
	       (pfd.revents & (POLLRDHUP | POLLHUP | POLLERR));
}

/*
 * One client at a time: another one is refused at once, not left waiting
 * in the backlog until it times out. It is kept (a "pending refusal", in
 * the provider's epoll set in both modes: connections are accepted by the
 * dispatching thread) until its first message is whole, which gets an
 * error reply with EBUSY under its own id, or until the VERSION deadline;
 * then the socket is closed. At most REFUSE_MAX per device wait; beyond,
 * one is answered at once (an EBUSY error reply to a VERSION with id 0)
 * and closed. Nothing here waits, and the device's client is not touched.
 */
void refusals_init(struct vgpu_device *dev)
{
	for (unsigned int i = 0; i < REFUSE_MAX; i++) {
		struct refusal *f = &dev->refusals[i];

		f->ws.kind = WATCH_REFUSE;
		f->wt.kind = WATCH_REFUSE_TIMER;
		f->ws.dev = f->wt.dev = dev;
		f->fd = f->timer_fd = -1;
	}
}

/* answer @h (the whole first message, or a header of our own) with EBUSY
 * if @answer, then close; what the client sent meanwhile is read first, so
 * the close does not turn into a reset that could overtake the answer */
static void refuse_close(int fd, const struct vfu_hdr *h, bool answer)
{
	if (answer) {
		struct vfu_hdr e = {
			.msg_id = h->msg_id,
			.cmd = h->cmd,
			.flags = VFU_F_TYPE_REPLY | VFU_F_ERROR,
			.error = EBUSY,
		};

		/* a fresh socket we never wrote to: 16 bytes fit; if they
		 * do not, the client gets EOF, nothing waits */
		vfu_send_some(fd, &e, NULL, 0, NULL, 0);
		shutdown(fd, SHUT_WR);
		for (int i = 0; i < 16; i++) {
			uint8_t junk[4096];

			if (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) <= 0)
				break;
		}
	}
	close(fd);
}

static void refusal_end(struct vgpu_device *dev, struct refusal *f, bool answer)
{
	struct vgpu_provider *p = dev->provider;

	if (f->fd < 0)
		return;
	if (p) {
		epoll_ctl(p->epfd, EPOLL_CTL_DEL, f->fd, NULL);
		if (f->timer_fd >= 0)
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, f->timer_fd, NULL);
	}
	if (f->timer_fd >= 0)
		close(f->timer_fd);
	refuse_close(f->fd, &f->hdr, answer);
	f->fd = f->timer_fd = -1;
	f->got = 0;
}

void refusals_drop(struct vgpu_device *dev)
{
	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < REFUSE_MAX; i++)
		refusal_end(dev, &dev->refusals[i], false);
	pthread_mutex_unlock(&dev->lock);
}

/*
 * Read on in the first message: the header, then the rest of hdr.size
 * (thrown away; fds that come with it are closed by the kernel, as recv()
 * takes no ancillary data). 1: whole, 0: not yet, <0: drop without answer.
 */
static int refusal_read(struct refusal *f)
{
	for (;;) {
		uint8_t junk[4096];
		size_t want;
		ssize_t n;

		if (f->got < sizeof(f->hdr))
			n = recv(f->fd, (uint8_t *)&f->hdr + f->got,
				 sizeof(f->hdr) - f->got, MSG_DONTWAIT);
		else if (f->hdr.size < sizeof(f->hdr) ||
			 f->hdr.size > VFU_MAX_MSG_SIZE)
			return -EMSGSIZE;
		else if (f->got == f->hdr.size)
			return 1;
		else {
			want = f->hdr.size - f->got;
			n = recv(f->fd, junk,
				 want < sizeof(junk) ? want : sizeof(junk),
				 MSG_DONTWAIT);
		}
		if (n == 0)
			return -ENOTCONN; /* half a message counts as none */
		if (n < 0)
			return errno == EAGAIN || errno == EINTR ? 0 : -errno;
		f->got += (size_t)n;
	}
}

/* an event of a pending refusal; after an earlier event of the same batch
 * ended it (the slot may even hold a new one) it finds nothing to do */
void refusal_event(struct watch *w)
{
	struct vgpu_device *dev = w->dev;
	struct refusal *f =
		w->kind == WATCH_REFUSE
			? (struct refusal *)((char *)w -
					     offsetof(struct refusal, ws))
			: (struct refusal *)((char *)w -
					     offsetof(struct refusal, wt));
	int r;

	pthread_mutex_lock(&dev->lock);
	if (f->fd < 0)
		goto out;
	if (w->kind == WATCH_REFUSE_TIMER) {
		uint64_t n;

		if (read(f->timer_fd, &n, sizeof(n)) == (ssize_t)sizeof(n)) {
			dbg(dev->provider->ctx,
			    "device %s: a refused client sent no VERSION in time",
			    dev->uuid);
			refusal_end(dev, f, false);
		}
		goto out;
	}
	r = refusal_read(f);
	if (r != 0)
		refusal_end(dev, f, r > 0);
out:
	pthread_mutex_unlock(&dev->lock);
}

static void refuse_client(struct vgpu_device *dev, int fd)
{
	struct vgpu_provider *p = dev->provider;
	int ms = __atomic_load_n(&p->version_timeout_ms, __ATOMIC_RELAXED);
	struct itimerspec its = {
		.it_value = { .tv_sec = ms / 1000,
			      .tv_nsec = (long)(ms % 1000) * 1000000 },
	};
	struct refusal *f = NULL;

	info(p->ctx, "device %s: refusing a second client (it has one already)",
	     dev->uuid);
	pthread_mutex_lock(&dev->lock);
	for (unsigned int i = 0; i < REFUSE_MAX && !f; i++)
		if (dev->refusals[i].fd < 0)
			f = &dev->refusals[i];
	if (f) {
		struct epoll_event es = { .events = EPOLLIN,
					  .data.ptr = &f->ws };
		struct epoll_event et = { .events = EPOLLIN,
					  .data.ptr = &f->wt };

		f->got = 0;
		f->timer_fd = timerfd_create(CLOCK_MONOTONIC,
					     TFD_CLOEXEC | TFD_NONBLOCK);
		if (f->timer_fd >= 0 &&
		    timerfd_settime(f->timer_fd, 0, &its, NULL) == 0 &&
		    epoll_ctl(p->epfd, EPOLL_CTL_ADD, f->timer_fd, &et) == 0) {
			if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &es) == 0) {
				f->fd = fd;
				/* what came with the connection already */
				refusal_event(&f->ws);
				pthread_mutex_unlock(&dev->lock);
				return;
			}
			epoll_ctl(p->epfd, EPOLL_CTL_DEL, f->timer_fd, NULL);
		}
		if (f->timer_fd >= 0)
			close(f->timer_fd);
		f->timer_fd = -1;
	}
	pthread_mutex_unlock(&dev->lock);
	/* too many waiting (or no fds left): the answer it can get now */
	{
		struct vfu_hdr h = { .cmd = VFU_CMD_VERSION };

		refuse_close(fd, &h, true);
	}
}

int accept_client(struct vgpu_device *dev)
{
	struct vgpu_provider *p = dev->provider;
	struct epoll_event ev = { .events = EPOLLIN, .data.ptr = &dev->wc };
	int fd, r;

	fd = accept4(dev->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (fd < 0)
		return errno == EAGAIN || errno == EINTR ? 0 : -errno;
	pthread_mutex_lock(&dev->lock);
	if (dev->conn_fd >= 0 && !peer_gone(dev->conn_fd)) {
		pthread_mutex_unlock(&dev->lock);
		refuse_client(dev, fd);
		return 0;
	}
	if (dev->conn_fd >= 0) {
		/* the client hung up and reconnected before its connection
		 * was wound up: wind it up now */
		pthread_mutex_unlock(&dev->lock);
		if (dev->has_conn_thread)
			join_conn_thread(dev);
		else
			conn_lost(dev, -ENOTCONN);
		pthread_mutex_lock(&dev->lock);
	}
	pthread_mutex_unlock(&dev->lock);
	/* the connection's own socket blocks for reads that were asked to
	 * wait; every send is MSG_DONTWAIT (conn_send()) */
	if (fcntl(fd, F_SETFL, 0) < 0) {
		r = -errno;
		close(fd);
		return r;
	}
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
	/* before conn_fd: a sender that sees the connection sees its mode */
	dev->conn_threaded = p->threaded;
	dev->conn_fd = fd;
	/* one client at a time: the listening socket stays watched, and
	 * another client is refused (refuse_client()) */
	if (p->threaded) {
		r = -pthread_create(&dev->conn_thread, NULL, conn_main, dev);
	} else {
		r = epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
		dev->conn_in_epoll = r == 0;
		dev->conn_ev = EPOLLIN;
		if (r == 0)
			r = version_timer_start(dev);
	}
	if (r < 0) {
		disconnect(dev);
		return r;
	}
	dev->has_conn_thread = p->threaded;
	dbg(p->ctx, "device %s: client connected", dev->uuid);
	return 1;
}

int handle_version(struct vgpu_device *dev, const struct vfu_req *req, int *fds,
		   struct prov_reply *rep)
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
	ours.max_dma_maps = dev->client_caps.max_dma_maps < VFU_MAX_DMA_MAPS
				    ? dev->client_caps.max_dma_maps
				    : VFU_MAX_DMA_MAPS;
	ours.write_multiple = dev->client_caps.write_multiple;
	/* a subset of the offer: only the keys the client named */
	ours.present = dev->client_caps.present;
	/*
	 * migration: only when the provider can migrate and the client
	 * offered it (the reply is a subset of the offer). The client's dirty
	 * page size is used as is; a report bitmap must fit in one reply.
	 */
	if (dev->provider->ops.migration_state && dev->client_caps.mig_pgsize) {
		ours.mig_pgsize = dev->client_caps.mig_pgsize;
		ours.mig_max_bitmap =
			dev->client_caps.mig_max_bitmap < VFU_MAX_DATA_XFER
				? dev->client_caps.mig_max_bitmap
				: VFU_MAX_DATA_XFER;
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

/* keep @msg (no fds: DMA_UNMAP and DEVICE_RESET carry none) until the
 * provider has quiesced */
static int defer(struct vgpu_device *dev, const struct vfu_msg *msg)
{
	struct qmsg *q = malloc(sizeof(*q) + msg->len);

	if (!q)
		return -ENOMEM;
	q->next = NULL;
	q->hdr = msg->hdr;
	q->nfds = 0;
	q->len = msg->len;
	if (msg->len)
		memcpy(q->payload, msg->payload, msg->len);
	dev->deferred = q;
	send_lock(dev);
	conn_events(dev);
	send_unlock(dev);
	return 0;
}

/* send @ans through conn_send() and free what it owns */
static int answer_send(struct vgpu_device *dev, struct prov_answer *ans)
{
	struct iovec iov[2] = {
		{ .iov_base = ans->rep.head, .iov_len = ans->rep.head_len },
		{ .iov_base = (void *)ans->rep.body,
		  .iov_len = ans->rep.body_len },
	};
	int r = 0;

	if (ans->send && dev->conn_fd >= 0)
		r = conn_send(dev, &ans->hdr, iov, 2,
			      ans->rep.fd >= 0 ? &ans->rep.fd : NULL,
			      ans->rep.fd >= 0 ? 1 : 0);
	if (ans->rep.body_owned) {
		free(ans->rep.body_owned);
		ans->rep.body_owned = NULL;
	}
	ans->send = false;
	return r;
}

/* handle one message (@msg) and send its answer, the lock dropped first */
static int serve_msg(struct vgpu_device *dev, struct vfu_msg *msg)
{
	struct prov_answer ans;
	int r, s;

	pthread_mutex_lock(&dev->lock);
	dev->serving = true;
	dev->serving_thread = pthread_self();
	r = handle_msg(dev, msg, &ans);
	/* asynchronous transfers that finished meanwhile: their callbacks
	 * run here, on the thread reading the connection */
	if ((r >= 0 || r == -EINPROGRESS) && dev->done_head)
		dma_async_run_done(dev);
	if (dev->stashed) /* a DMA exchange read on in rx_wait */
		unstash(dev);
	if (r == -EINPROGRESS)
		r = defer(dev, msg);
	dev->serving = false;
	pthread_mutex_unlock(&dev->lock);
	s = answer_send(dev, &ans);
	return r < 0 ? r : s;
}

/* the commands that came during DMA exchanges, in order, unless one has
 * to wait for the provider to quiesce */
static int serve_queued(struct vgpu_device *dev, int r)
{
	while (r >= 0 && dev->q_head && !dev->deferred) {
		struct qmsg *q = dev->q_head;
		struct vfu_msg msg;

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
		r = serve_msg(dev, &msg);
		free(q);
	}
	return r < 0 ? r : 0;
}

int serve_one(struct vgpu_device *dev, int flags)
{
	struct vfu_msg msg;
	int r;

	if (dev->deferred)
		return -EAGAIN; /* nothing is read while a message waits */
	r = vfu_reader_next(&dev->rx, dev->conn_fd, &msg, flags);
	if (r < 0)
		return r;
	r = serve_msg(dev, &msg);
	/* commands that came during a DMA exchange of this one */
	if (dev->q_head)
		return serve_queued(dev, r);
	return r < 0 ? r : 0;
}

int serve_deferred(struct vgpu_device *dev)
{
	struct qmsg *q;
	struct vfu_msg msg = { .nfds = 0 };
	int r;

	pthread_mutex_lock(&dev->lock);
	q = dev->quiesce_done ? dev->deferred : NULL;
	if (q)
		dev->deferred = NULL;
	pthread_mutex_unlock(&dev->lock);
	if (!q)
		return 0;
	msg.hdr = q->hdr;
	msg.payload = q->payload;
	msg.len = q->len;
	r = serve_msg(dev, &msg);
	free(q);
	r = serve_queued(dev, r);
	send_lock(dev);
	conn_events(dev);
	send_unlock(dev);
	return r;
}

VGPU_EXPORT int vgpu_device_quiesced(struct vgpu_device *dev)
{
	struct vgpu_provider *p;
	uint64_t one = 1;
	int r = 0;

	if (!dev)
		return -EINVAL;
	pthread_mutex_lock(&dev->lock);
	p = dev->provider;
	if (!dev->quiescing) {
		r = -EINVAL;
	} else {
		dev->quiescing = false;
		if (dev->orphan_wait) {
			dev->orphan_wait = false;
			dma_reap(dev, false);
		}
		if (dev->deferred) {
			dev->quiesce_done = true;
			pthread_cond_broadcast(&dev->quiesce_cond);
			/* dispatch mode: the loop runs it */
			if (p && dev->conn_in_epoll &&
			    write(p->wake_fd, &one, sizeof(one)) < 0)
				r = -errno;
		}
	}
	pthread_mutex_unlock(&dev->lock);
	return r;
}
