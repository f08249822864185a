/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A provider's display source, management side (see ctl.h, "display"):
 * one control connection that stays open. The first reply brings the plane
 * and, with it, a read-only descriptor of the memory the plane lives in;
 * after it the provider writes one plane record per frame or mode change,
 * "reopen" when the plane moved to other memory, "gone" when the device
 * went away. The memory is mapped read-only once; a record is checked
 * against it before its pixels are handed out.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "ctl.h"
#include "display-private.h"

/* the longest record line we accept */
#define REC_MAX VFU_CTL_PLANE_MAX

struct vu_display {
	char *path; /* the provider's control socket */
	int fd;	    /* the watch connection, non-blocking */
	void *mem;  /* the plane's memory, read-only */
	size_t mem_len;
	struct vfu_ctl_plane cur;
	char buf[4 * REC_MAX];
	size_t len;
	bool dead;
};

#define V(d) ((struct vu_display *)(d)->priv)

/* connect to @path (5 s for each send and receive) and send @req's line */
static int display_send(const char *path, const char *req)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	size_t len = strlen(req);
	int fd, r;

	if (strlen(path) >= sizeof(sa.sun_path))
		return -ENAMETOOLONG;
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    send(fd, req, len, MSG_NOSIGNAL) != (ssize_t)len) {
		r = -errno;
		close(fd);
		return r;
	}
	return fd;
}

/* connect, ask, and read "ok 1\n" plus the record, with the memory fd */
static int vu_display_connect(struct vgpu_display *d, struct vu_display *v,
			      int *memfd)
{
	char req[64], line[2 * REC_MAX], *nl, *rec;
	size_t got = 0;
	int fd, r;

	*memfd = -1;
	snprintf(req, sizeof(req), "display %s\n", d->uuid);
	fd = display_send(v->path, req);
	if (fd < 0)
		return fd == -ENOENT || fd == -ECONNREFUSED ? -ENODEV : fd;
	/* up to the end of the record (two lines), or of an "err" line */
	for (;;) {
		union {
			struct cmsghdr h;
			char b[CMSG_SPACE(sizeof(int))];
		} cm;
		struct iovec io = { line + got, sizeof(line) - 1 - got };
		struct msghdr mh = { .msg_iov = &io,
				     .msg_iovlen = 1,
				     .msg_control = cm.b,
				     .msg_controllen = sizeof(cm.b) };
		struct cmsghdr *c;
		ssize_t n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			/* a provider closes on peers it refuses, saying
			 * nothing; closing after a partial reply is malformed */
			r = n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)
				    ? -ETIMEDOUT
			    : got ? -EBADMSG
				  : -EACCES;
			goto fail;
		}
		for (c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
			if (c->cmsg_level == SOL_SOCKET &&
			    c->cmsg_type == SCM_RIGHTS) {
				int nfd = (int)((c->cmsg_len - CMSG_LEN(0)) /
						sizeof(int));
				int fds[4];

				memcpy(fds, CMSG_DATA(c),
				       (size_t)(nfd < 4 ? nfd : 4) *
					       sizeof(int));
				for (int i = 0; i < nfd && i < 4; i++) {
					if (*memfd < 0 && i == 0)
						*memfd = fds[i];
					else
						close(fds[i]);
				}
			}
		got += (size_t)n;
		line[got] = '\0';
		if (!strncmp(line, "err ", 4) && strchr(line, '\n')) {
			long e = strtol(line + 4, NULL, 10);

			r = e > 0 && e < 4096 ? -(int)e : -EBADMSG;
			goto fail;
		}
		nl = strchr(line, '\n');
		if (nl && strchr(nl + 1, '\n'))
			break;
		if (got >= sizeof(line) - 1) {
			r = -EBADMSG;
			goto fail;
		}
	}
	if (strncmp(line, "ok 1\n", 5)) {
		r = -EBADMSG;
		goto fail;
	}
	rec = line + 5;
	nl = strchr(rec, '\n');
	*nl = '\0';
	r = vfu_ctl_parse_plane(rec, &v->cur);
	if (r < 0 || *memfd < 0) {
		r = -EBADMSG;
		goto fail;
	}
	/* what came after the record belongs to the announcements */
	got -= (size_t)(nl + 1 - line);
	if (got > sizeof(v->buf))
		got = 0;
	memcpy(v->buf, nl + 1, got);
	v->len = got;
	if (fcntl(fd, F_SETFL, O_NONBLOCK) < 0) {
		r = -errno;
		goto fail;
	}
	v->fd = fd;
	return 0;
fail:
	if (*memfd >= 0)
		close(*memfd);
	*memfd = -1;
	close(fd);
	return r;
}

/* map the memory the record lives in, read-only */
static int vu_display_map(struct vu_display *v, int memfd)
{
	struct stat st;
	void *m;

	if (fstat(memfd, &st) < 0)
		return -errno;
	if (st.st_size < 0 || (uint64_t)st.st_size < v->cur.size ||
	    !v->cur.size || v->cur.size > SIZE_MAX)
		return -EBADMSG;
	m = mmap(NULL, (size_t)v->cur.size, PROT_READ, MAP_SHARED, memfd, 0);
	if (m == MAP_FAILED)
		return -errno;
	if (v->mem)
		munmap(v->mem, v->mem_len);
	v->mem = m;
	v->mem_len = (size_t)v->cur.size;
	return 0;
}

static int vu_display_attach(struct vgpu_display *d, struct vu_display *v)
{
	int memfd, r = vu_display_connect(d, v, &memfd);

	if (r < 0)
		return r;
	r = vu_display_map(v, memfd);
	close(memfd);
	if (r < 0) {
		close(v->fd);
		v->fd = -1;
	}
	return r;
}

/* read what arrived; keep the latest record */
static int vu_display_drain(struct vgpu_display *d, struct vu_display *v)
{
	for (;;) {
		ssize_t n = recv(v->fd, v->buf + v->len,
				 sizeof(v->buf) - v->len, MSG_DONTWAIT);
		char *line = v->buf, *nl;

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0) {
			v->dead = true; /* the provider went away */
			return -ENODEV;
		}
		v->len += (size_t)n;
		while ((nl = memchr(line, '\n',
				    v->len - (size_t)(line - v->buf)))) {
			struct vfu_ctl_plane rec;

			*nl = '\0';
			if (!strcmp(line, "gone")) {
				v->dead = true;
				return -ENODEV;
			}
			if (!strcmp(line, "reopen")) {
				int r;

				close(v->fd);
				v->fd = -1;
				v->len = 0;
				r = vu_display_attach(d, v);
				if (r < 0)
					v->dead = true;
				return r < 0 ? (r == -ENOENT ? -ENODEV : r) : 0;
			}
			if (vfu_ctl_parse_plane(line, &rec) < 0 ||
			    rec.size != v->cur.size)
				return -EBADMSG;
			v->cur = rec;
			line = nl + 1;
		}
		v->len -= (size_t)(line - v->buf);
		memmove(v->buf, line, v->len);
		if (v->len == sizeof(v->buf))
			return -EBADMSG; /* a line longer than any record */
	}
}

static int vu_display_get_fd(struct vgpu_display *d)
{
	return V(d)->fd;
}

static int vu_display_get_frame(struct vgpu_display *d,
				struct vgpu_display_frame *f)
{
	struct vu_display *v = V(d);
	int r;

	if (v->dead)
		return -ENODEV;
	r = vu_display_drain(d, v);
	if (r < 0) {
		if (r == -EBADMSG)
			err(d->ctx,
			    "%s: malformed display announcement from %s",
			    d->uuid, v->path);
		return r;
	}
	f->drm_format = v->cur.fmt;
	f->width = v->cur.w;
	f->height = v->cur.h;
	f->stride = v->cur.stride;
	f->seq = v->cur.seq;
	f->pixels = v->cur.fmt ? (const uint8_t *)v->mem + v->cur.offset : NULL;
	return 0;
}

static void vu_display_close(struct vgpu_display *d)
{
	struct vu_display *v = V(d);

	if (v->fd >= 0)
		close(v->fd);
	if (v->mem)
		munmap(v->mem, v->mem_len);
	free(v->path);
	free(v);
}

static const struct vgpu_display_ops vu_display_ops = {
	.get_fd = vu_display_get_fd,
	.get_frame = vu_display_get_frame,
	.close = vu_display_close,
};

int vu_open_display(struct vgpu_instance *in, struct vgpu_display *d);

int vu_open_display(struct vgpu_instance *in, struct vgpu_display *d)
{
	struct vu_display *v = calloc(1, sizeof(*v));
	int r;

	if (!v)
		return -ENOMEM;
	v->fd = -1;
	if (asprintf(&v->path, "%s/vfio-user/%s.ctl", in->ctx->runtime_dir,
		     in->parent_id) < 0) {
		free(v);
		return -ENOMEM;
	}
	r = vu_display_attach(d, v);
	if (r < 0) {
		if (r == -EINVAL)
			r = -EOPNOTSUPP; /* a provider that knows no "display" */
		else if (r == -ENOENT)
			r = -ENODEV;
		dbg(in->ctx, "%s: display source from %s: %s", d->uuid, v->path,
		    strerror(-r));
		free(v->path);
		free(v);
		return r;
	}
	d->ops = &vu_display_ops;
	d->priv = v;
	return 0;
}
