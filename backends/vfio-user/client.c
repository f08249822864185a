/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-user client. See client.h. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "dma-table.h"
#include "libvgpu-private.h"
#include "util-sysfs.h"

struct vfu_client {
	struct vgpu_ctx *ctx;
	int fd;
	uint16_t next_id;
	struct vfu_caps server;
	struct vgpu_dma_table *dma; /* our own mappings, for DMA_READ/WRITE */
	struct vfu_reader rx;
	uint8_t *rcopy; /* a reply's payload, when requests came behind it */
	size_t rcopy_cap;
	int timeout_ms; /* no progress for that long: -ETIMEDOUT */
	int broken;	/* the error every call returns after a timeout, or 0 */
};

int vfu_provider_timeout_ms(void)
{
	const char *env = secure_getenv("VGPU_PROVIDER_TIMEOUT_MS");
	long v;

	if (env && vgpu_parse_long(env, 10, 1, 600000, &v) == 0)
		return (int)v;
	return 5000;
}

/*
 * The bound on every exchange: the socket's own send and receive timeouts,
 * so a blocking sendmsg()/recvmsg() (and connect()) that makes no progress
 * for that long fails with EAGAIN, which call() turns into -ETIMEDOUT.
 * Each system call that moves bytes starts the clock again: a large
 * message that keeps flowing is never cut.
 */
static int set_timeouts(int fd, int ms)
{
	struct timeval tv = { .tv_sec = ms / 1000,
			      .tv_usec = (ms % 1000) * 1000 };

	if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0)
		return -errno;
	return 0;
}

/*
 * A blocking send or receive that failed with -EAGAIN hit the timeout:
 * the provider stopped answering somewhere inside an exchange, so the
 * stream's state is unknown. Every later call fails at once.
 */
static int timed_out(struct vfu_client *c, int r)
{
	if (r == -EAGAIN || r == -ETIMEDOUT) {
		/* the handle logs the error, naming the device */
		if (!c->broken)
			dbg(c->ctx, "vfio-user: no progress for %d ms",
			    c->timeout_ms);
		c->broken = -ETIMEDOUT;
		return -ETIMEDOUT;
	}
	return r;
}

int vfu_client_get_fd(struct vfu_client *c)
{
	return c ? c->fd : -EINVAL;
}

const struct vfu_caps *vfu_client_server_caps(struct vfu_client *c)
{
	return c ? &c->server : NULL;
}

/* serve a DMA_READ/DMA_WRITE the server sent while we wait */
static int serve_dma(struct vfu_client *c, struct vfu_msg *m)
{
	struct vfu_dma_access a;
	const void *data = NULL;
	struct vfu_hdr h = { .msg_id = m->hdr.msg_id,
			     .cmd = m->hdr.cmd,
			     .flags = VFU_F_TYPE_REPLY };
	struct vgpu_dma_sg sg[8];
	uint8_t *buf = NULL;
	uint64_t done = 0;
	int r, n;

	r = vfu_parse_dma_command(&m->hdr, m->payload, m->len, m->nfds,
				  VFU_MAX_DATA_XFER, &a, &data);
	if (r < 0)
		return vfu_send_error(c->fd, &m->hdr, r);
	if (m->hdr.cmd == VFU_CMD_DMA_READ) {
		buf = malloc((size_t)a.count);
		if (!buf)
			return vfu_send_error(c->fd, &m->hdr, -ENOMEM);
	}
	while (done < a.count) {
		n = vgpu_dma_table_translate(
			c->dma, a.addr + done, a.count - done,
			m->hdr.cmd == VFU_CMD_DMA_READ ? VGPU_DMA_READ
						       : VGPU_DMA_WRITE,
			sg, 8);
		if (n < 0) {
			free(buf);
			return vfu_send_error(c->fd, &m->hdr, n);
		}
		for (int i = 0; i < n && i < 8; i++) {
			if (!sg[i].vaddr) {
				free(buf);
				return vfu_send_error(c->fd, &m->hdr, -EFAULT);
			}
			if (buf)
				memcpy(buf + done, sg[i].vaddr, sg[i].len);
			else
				memcpy(sg[i].vaddr,
				       (const uint8_t *)data + done, sg[i].len);
			done += sg[i].len;
		}
	}
	{
		struct iovec iov[2] = {
			{ .iov_base = &a, .iov_len = sizeof(a) },
			{ .iov_base = buf, .iov_len = buf ? a.count : 0 },
		};

		r = vfu_send(c->fd, &h, iov, 2, NULL, 0);
	}
	free(buf);
	return r;
}

/*
 * Send a command and wait for its reply, serving the server's DMA_READ/
 * DMA_WRITE meanwhile. @m receives the reply; its payload lives in the
 * receive buffer until the next call, and its fds are the caller's.
 */
static int call(struct vfu_client *c, uint16_t cmd, const void *req,
		size_t req_len, const int *fds, unsigned int nfds,
		struct vfu_msg *m)
{
	struct vfu_hdr h = { .cmd = cmd, .flags = VFU_F_TYPE_COMMAND };
	struct iovec iov = { .iov_base = (void *)req, .iov_len = req_len };
	int r;

	m->nfds = 0;
	if (c->broken)
		return c->broken;
	h.msg_id = c->next_id++;
	r = vfu_send(c->fd, &h, &iov, 1, fds, nfds);
	if (r < 0)
		return timed_out(c, r);
	for (;;) {
		r = vfu_reader_next(&c->rx, c->fd, m, 0);
		if (r < 0)
			return timed_out(c, r);
		if ((m->hdr.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_COMMAND) {
			r = serve_dma(c, m);
			vfu_msg_close_fds(m, 0);
			if (r < 0)
				return timed_out(c, r);
			continue;
		}
		break;
	}
	if ((m->hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_REPLY ||
	    m->hdr.msg_id != h.msg_id || m->hdr.cmd != cmd) {
		vfu_msg_close_fds(m, 0);
		return -EPROTO;
	}
	/*
	 * Requests of the server that the same read brought in behind the
	 * reply would sit in our buffer, invisible to poll() on our fd: serve
	 * them now (the reply's payload moves to a buffer of ours first, as
	 * reading on reuses the receive buffer).
	 */
	if (vfu_reader_has_msg(&c->rx)) {
		if (m->len > c->rcopy_cap) {
			uint8_t *b = realloc(c->rcopy, m->len);

			if (!b) {
				vfu_msg_close_fds(m, 0);
				return -ENOMEM;
			}
			c->rcopy = b;
			c->rcopy_cap = m->len;
		}
		if (m->len)
			memcpy(c->rcopy, m->payload, m->len);
		m->payload = c->rcopy;
		while (vfu_reader_has_msg(&c->rx)) {
			struct vfu_msg q;

			r = vfu_reader_next(&c->rx, c->fd, &q, MSG_DONTWAIT);
			if (r < 0)
				break;
			r = (q.hdr.flags & VFU_F_TYPE_MASK) ==
					    VFU_F_TYPE_COMMAND
				    ? serve_dma(c, &q)
				    : -EPROTO;
			vfu_msg_close_fds(&q, 0);
			if (r < 0) {
				vfu_msg_close_fds(m, 0);
				return timed_out(c, r);
			}
		}
	}
	if (m->hdr.flags & VFU_F_ERROR) {
		vfu_msg_close_fds(m, 0);
		return m->hdr.error ? -(int)m->hdr.error : -EIO;
	}
	return 0;
}

int vfu_client_service(struct vfu_client *c)
{
	struct vfu_msg m;
	int r, served = 0;

	if (!c)
		return -EINVAL;
	if (c->broken)
		return c->broken;
	for (;;) {
		r = vfu_reader_next(&c->rx, c->fd, &m, MSG_DONTWAIT);
		if (r == -EAGAIN)
			return served;
		if (r < 0)
			return r;
		/* no call of ours is waiting: only the server's requests */
		if ((m.hdr.flags & VFU_F_TYPE_MASK) != VFU_F_TYPE_COMMAND) {
			vfu_msg_close_fds(&m, 0);
			return -EPROTO;
		}
		r = serve_dma(c, &m);
		vfu_msg_close_fds(&m, 0);
		if (r < 0)
			return timed_out(c, r); /* our answer blocked */
		served++;
	}
}

int vfu_client_call(struct vfu_client *c, uint16_t cmd, const void *req,
		    size_t req_len, const int *fds, unsigned int nfds,
		    void **reply, size_t *reply_len, int *rfds,
		    unsigned int max_rfds, unsigned int *n_rfds)
{
	struct vfu_msg m;
	int r;

	if (!c)
		return -EINVAL;
	if (reply)
		*reply = NULL;
	if (reply_len)
		*reply_len = 0;
	if (n_rfds)
		*n_rfds = 0;
	r = call(c, cmd, req, req_len, fds, nfds, &m);
	if (r < 0)
		return r;
	if (n_rfds) {
		unsigned int k = m.nfds < max_rfds ? m.nfds : max_rfds;

		memcpy(rfds, m.fds, k * sizeof(int));
		*n_rfds = k;
		for (unsigned int i = 0; i < k; i++)
			m.fds[i] = -1;
	}
	vfu_msg_close_fds(&m, 0);
	if (reply && m.len) {
		*reply = malloc(m.len);
		if (!*reply)
			return -ENOMEM;
		memcpy(*reply, m.payload, m.len);
	}
	if (reply_len)
		*reply_len = m.len;
	return 0;
}

static int negotiate(struct vfu_client *c)
{
	static const char json[] =
		"{\"capabilities\":{\"max_msg_fds\":16,"
		"\"max_data_xfer_size\":1048576,\"pgsizes\":4096,"
		"\"max_dma_maps\":65535,\"write_multiple\":false}}";
	uint8_t req[sizeof(struct vfu_version) + sizeof(json)];
	struct vfu_version v = { .major = VFU_VERSION_MAJOR,
				 .minor = VFU_VERSION_MINOR };
	void *rep;
	size_t len;
	int r;

	memcpy(req, &v, sizeof(v));
	memcpy(req + sizeof(v), json, sizeof(json));
	r = vfu_client_call(c, VFU_CMD_VERSION, req, sizeof(req), NULL, 0, &rep,
			    &len, NULL, 0, NULL);
	if (r == -EPIPE || r == -ECONNRESET || r == -EPROTO) {
		/* a server that refuses us may answer before our VERSION
		 * arrives (id 0) and hang up: take its reason */
		struct vfu_msg m;

		if (vfu_reader_next(&c->rx, c->fd, &m, MSG_DONTWAIT) == 0 &&
		    m.hdr.cmd == VFU_CMD_VERSION && m.hdr.error &&
		    m.hdr.flags == (VFU_F_TYPE_REPLY | VFU_F_ERROR) &&
		    m.hdr.error < 4096)
			r = -(int)m.hdr.error;
		vfu_msg_close_fds(&m, 0);
	}
	if (r < 0)
		return r;
	vfu_caps_default(&c->server);
	if (len < sizeof(v)) {
		free(rep);
		return -EPROTO;
	}
	memcpy(&v, rep, sizeof(v));
	if (v.major != VFU_VERSION_MAJOR || v.minor > VFU_VERSION_MINOR ||
	    vfu_caps_parse((char *)rep + sizeof(v), len - sizeof(v),
			   &c->server) < 0 ||
	    c->server.max_msg_fds > 1024 || !c->server.max_data_xfer_size) {
		free(rep);
		return -EPROTO;
	}
	free(rep);
	return 0;
}

int vfu_client_connect(struct vgpu_ctx *ctx, const char *path,
		       struct vfu_client **ret)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vfu_client *c;
	int r;

	if (!ctx || !path || !ret || strlen(path) >= sizeof(sa.sun_path))
		return -EINVAL;
	strcpy(sa.sun_path, path);
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->ctx = vgpu_ctx_ref(ctx);
	c->timeout_ms = vfu_provider_timeout_ms();
	c->fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0) {
		r = -errno;
		goto fail;
	}
	r = set_timeouts(c->fd, c->timeout_ms);
	if (r < 0)
		goto fail;
	if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		/* a full backlog for the whole timeout: EAGAIN */
		r = errno == EAGAIN ? -ETIMEDOUT : -errno;
		goto fail;
	}
	r = vgpu_dma_table_new(&c->dma);
	if (r < 0)
		goto fail;
	r = negotiate(c);
	if (r < 0) {
		err(ctx, "vfio-user %s: version negotiation failed: %s", path,
		    strerror(-r));
		goto fail;
	}
	*ret = c;
	return 0;
fail:
	vfu_client_close(c);
	return r;
}

void vfu_client_close(struct vfu_client *c)
{
	if (!c)
		return;
	if (c->fd >= 0)
		close(c->fd);
	vgpu_dma_table_free(c->dma, NULL, NULL);
	vgpu_ctx_unref(c->ctx);
	vfu_reader_free(&c->rx);
	free(c->rcopy);
	free(c);
}

/* a call whose reply is exactly one fixed-size struct */
static int call_fixed(struct vfu_client *c, uint16_t cmd, const void *req,
		      size_t len, void *out, size_t out_len)
{
	void *rep;
	size_t rlen;
	int r;

	r = vfu_client_call(c, cmd, req, len, NULL, 0, &rep, &rlen, NULL, 0,
			    NULL);
	if (r < 0)
		return r;
	if (rlen < out_len) {
		free(rep);
		return -EPROTO;
	}
	memcpy(out, rep, out_len);
	free(rep);
	return 0;
}

int vfu_client_get_info(struct vfu_client *c, struct vfu_device_info *ret)
{
	struct vfu_device_info q = { .argsz = sizeof(q) };

	return call_fixed(c, VFU_CMD_DEVICE_GET_INFO, &q, sizeof(q), ret,
			  sizeof(*ret));
}

int vfu_client_region_info(struct vfu_client *c, unsigned int index,
			   struct vfu_region_info *ret, int *fd_ret,
			   struct vfu_sparse_area *areas, unsigned int max,
			   unsigned int *n_areas, struct vfu_region_type *rt)
{
	struct vfu_region_info q = { .argsz = sizeof(q), .index = index };
	uint32_t want = sizeof(q);
	void *rep = NULL;
	size_t len;
	int fds[1], r;
	unsigned int nfds = 0;

	*fd_ret = -1;
	*n_areas = 0;
	if (rt)
		memset(rt, 0, sizeof(*rt));
	for (int attempt = 0; attempt < 2; attempt++) {
		q.argsz = want;
		free(rep);
		if (nfds)
			close(fds[0]);
		r = vfu_client_call(c, VFU_CMD_DEVICE_GET_REGION_INFO, &q,
				    sizeof(q), NULL, 0, &rep, &len, fds, 1,
				    &nfds);
		if (r < 0)
			return r;
		if (len < sizeof(*ret) || vfu_check_region_info(rep, len) < 0) {
			r = -EPROTO;
			goto out;
		}
		memcpy(ret, rep, sizeof(*ret));
		if (ret->argsz <= want || ret->argsz > 65536)
			break;
		want = ret->argsz;
	}
	if ((ret->flags & VFU_REGION_MMAP) && !nfds) {
		r = -EPROTO;
		goto out;
	}
	if (ret->flags & VFU_REGION_CAPS) {
		const uint8_t *p = rep;
		uint32_t off = ret->cap_offset;

		/* checked by vfu_check_region_info(): in bounds, forwards */
		while (off) {
			struct vfu_cap_header ch;

			memcpy(&ch, p + off, sizeof(ch));
			if (ch.id == VFU_CAP_SPARSE_MMAP) {
				struct vfu_cap_sparse sp;

				memcpy(&sp, p + off, sizeof(sp));
				for (uint32_t i = 0; i < sp.nr_areas && i < max;
				     i++)
					memcpy(&areas[i],
					       p + off + sizeof(sp) +
						       i * sizeof(areas[i]),
					       sizeof(areas[i]));
				*n_areas =
					sp.nr_areas < max ? sp.nr_areas : max;
				if (rt)
					rt->sparse = true;
			} else if (ch.id == VFU_CAP_TYPE && rt) {
				struct vfu_cap_type ct;

				memcpy(&ct, p + off, sizeof(ct));
				rt->present = true;
				rt->type = ct.type;
				rt->subtype = ct.subtype;
			}
			off = ch.next;
		}
	}
	if (nfds) {
		*fd_ret = fds[0];
		nfds = 0;
	}
	r = 0;
out:
	if (nfds)
		close(fds[0]);
	free(rep);
	return r;
}

int vfu_client_irq_info(struct vfu_client *c, unsigned int index,
			struct vfu_irq_info *ret)
{
	struct vfu_irq_info q = { .argsz = sizeof(q), .index = index };

	return call_fixed(c, VFU_CMD_DEVICE_GET_IRQ_INFO, &q, sizeof(q), ret,
			  sizeof(*ret));
}

int vfu_client_set_irq_eventfds(struct vfu_client *c, unsigned int index,
				unsigned int start, unsigned int count,
				const int *fds)
{
	struct vfu_irq_set s = {
		.argsz = sizeof(s),
		.flags = VFU_IRQ_DATA_EVENTFD | VFU_IRQ_ACTION_TRIGGER,
		.index = index,
		.start = start,
		.count = count,
	};
	unsigned int max, done = 0;
	int r;

	if (!c || !fds)
		return vfu_client_call(c, VFU_CMD_DEVICE_SET_IRQS, &s,
				       sizeof(s), NULL, 0, NULL, NULL, NULL, 0,
				       NULL);
	/* never more fds in one message than the server takes (its
	 * max_msg_fds; 1 when it did not say): chunks of vectors */
	max = c->server.max_msg_fds ? c->server.max_msg_fds : 1;
	if (max > VFU_MAX_MSG_FDS)
		max = VFU_MAX_MSG_FDS;
	do {
		s.start = start + done;
		s.count = count - done < max ? count - done : max;
		r = vfu_client_call(c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s),
				    fds + done, s.count, NULL, NULL, NULL, 0,
				    NULL);
		done += s.count;
	} while (r == 0 && done < count);
	return r;
}

int vfu_client_set_irqs(struct vfu_client *c, unsigned int index,
			uint32_t flags, unsigned int start, unsigned int count)
{
	struct vfu_irq_set s = {
		.argsz = sizeof(s),
		.flags = flags | VFU_IRQ_DATA_NONE,
		.index = index,
		.start = start,
		.count = count,
	};

	return vfu_client_call(c, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL,
			       0, NULL, NULL, NULL, 0, NULL);
}

int vfu_client_region_read(struct vfu_client *c, unsigned int index,
			   uint64_t offset, void *buf, uint32_t count)
{
	struct vfu_region_access a = { .offset = offset,
				       .region = index,
				       .count = count };
	struct vfu_msg m;
	int r;

	if (!c)
		return -EINVAL;
	r = call(c, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0, &m);
	if (r < 0)
		return r;
	vfu_msg_close_fds(&m, 0);
	if (m.len != sizeof(a) + count)
		return -EPROTO;
	memcpy(buf, m.payload + sizeof(a), count);
	return 0;
}

int vfu_client_region_write(struct vfu_client *c, unsigned int index,
			    uint64_t offset, const void *buf, uint32_t count)
{
	struct vfu_region_access a = { .offset = offset,
				       .region = index,
				       .count = count };
	uint8_t small[sizeof(a) + 64], *req = small;
	int r;

	if (count > VFU_MAX_DATA_XFER)
		return -E2BIG;
	if (count > 64) {
		req = malloc(sizeof(a) + count);
		if (!req)
			return -ENOMEM;
	}
	memcpy(req, &a, sizeof(a));
	memcpy(req + sizeof(a), buf, count);
	r = vfu_client_call(c, VFU_CMD_REGION_WRITE, req, sizeof(a) + count,
			    NULL, 0, NULL, NULL, NULL, 0, NULL);
	if (req != small)
		free(req);
	return r;
}

int vfu_client_dma_map(struct vfu_client *c, uint64_t iova, uint64_t size,
		       uint32_t prot, int fd, uint64_t offset, void *vaddr)
{
	struct vfu_dma_map m = { .argsz = sizeof(m),
				 .flags = prot,
				 .offset = fd >= 0 ? offset : 0,
				 .addr = iova,
				 .size = size };
	struct vgpu_dma_window w = { .iova = iova,
				     .len = size,
				     .fd = -1,
				     .vaddr = vaddr,
				     .prot = prot & 3 };
	int r;

	if (!c)
		return -EINVAL;
	r = vgpu_dma_table_insert(c->dma, &w, NULL);
	if (r < 0)
		return r;
	r = vfu_client_call(c, VFU_CMD_DMA_MAP, &m, sizeof(m),
			    fd >= 0 ? &fd : NULL, fd >= 0, NULL, NULL, NULL, 0,
			    NULL);
	if (r < 0)
		vgpu_dma_table_remove(c->dma, iova, size, NULL);
	return r;
}

int vfu_client_dma_unmap(struct vfu_client *c, uint64_t iova, uint64_t size)
{
	struct vfu_dma_unmap u = { .argsz = sizeof(u),
				   .addr = iova,
				   .size = size };
	int r;

	if (!c)
		return -EINVAL;
	r = vfu_client_call(c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, NULL,
			    NULL, NULL, 0, NULL);
	if (r == 0)
		vgpu_dma_table_remove(c->dma, iova, size, NULL);
	return r;
}

int vfu_client_dma_unmap_all(struct vfu_client *c)
{
	struct vfu_dma_unmap u = { .argsz = sizeof(u),
				   .flags = VFU_DMA_UNMAP_ALL };
	int r;

	if (!c)
		return -EINVAL;
	r = vfu_client_call(c, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0, NULL,
			    NULL, NULL, 0, NULL);
	if (r == 0) {
		vgpu_dma_table_free(c->dma, NULL, NULL);
		c->dma = NULL;
		r = vgpu_dma_table_new(&c->dma);
	}
	return r;
}

int vfu_client_reset(struct vfu_client *c)
{
	return vfu_client_call(c, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0, NULL,
			       NULL, NULL, 0, NULL);
}
