/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Display sources: what an instance's display shows, for `screenshot` and
 * `vnc`. Two kinds behind one table of operations:
 *
 *  - device: the device is opened (vgpu_handle_open()) and its primary
 *    plane queried (VFIO_DEVICE_QUERY_GFX_PLANE or libvgpu's plane region);
 *    the pixels are mapped (a region or a dma-buf) or, where the device
 *    allows no mapping, read. Works only while nobody else holds the device
 *    (a kernel VFIO device is exclusive). No notification: callers poll.
 *  - provider: a user-space provider's display source (vgpu_display_open()),
 *    read-only and alongside the VMM's connection, with a notification fd.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vgpuctl.h"
#include "vgpuctl-display.h"

struct dsrc_ops {
	const char *kind;
	int (*get_fd)(struct dsrc *s);
	int (*frame)(struct dsrc *s, struct dsrc_frame *f);
	void (*close)(struct dsrc *s);
};

struct dsrc {
	const struct dsrc_ops *ops;
	char *id;
	/* device */
	struct vgpu_handle *h;
	void *map; /* mapped pixels, or NULL */
	size_t map_len;
	int map_region; /* the region mapped, -1: a dma-buf */
	uint32_t map_dmabuf;
	uint8_t *copy; /* read pixels, where nothing can be mapped */
	size_t copy_len;
	/* provider */
	struct vgpu_display *d;
};

unsigned int dsrc_format_bpp(uint32_t fourcc)
{
	switch (fourcc) {
	case DSRC_FOURCC('X', 'R', '2', '4'):
	case DSRC_FOURCC('A', 'R', '2', '4'):
	case DSRC_FOURCC('X', 'B', '2', '4'):
	case DSRC_FOURCC('A', 'B', '2', '4'):
		return 4;
	case DSRC_FOURCC('R', 'G', '2', '4'):
	case DSRC_FOURCC('B', 'G', '2', '4'):
		return 3;
	case DSRC_FOURCC('R', 'G', '1', '6'):
		return 2;
	default:
		return 0;
	}
}

/* a plane's geometry must fit the memory it is read from */
static int check_geometry(const char *id, uint32_t fmt, uint32_t w, uint32_t h,
			  uint32_t stride)
{
	unsigned int bpp = dsrc_format_bpp(fmt);

	if (!bpp) {
		fail_msg("%s: pixel format %.4s is not supported", id,
			 (const char *)&fmt);
		return -ENOTSUP;
	}
	if ((uint64_t)stride < (uint64_t)w * bpp) {
		fail_msg("%s: stride %u is shorter than a line of %u pixels",
			 id, stride, w);
		return -EBADMSG;
	}
	(void)h;
	return 0;
}

/* ---- device ---- */

static void dev_unmap(struct dsrc *s)
{
	if (s->map)
		munmap(s->map, s->map_len);
	s->map = NULL;
	s->map_len = 0;
	s->map_region = -1;
}

static int dev_gone(int r)
{
	return r == -ENODEV || r == -EIO || r == -ENOTCONN ? -ENODEV : r;
}

/* the pixels of a region plane: mapped once, or read each time */
static int dev_region(struct dsrc *s, unsigned int region, size_t len,
		      const uint8_t **pix)
{
	long page = sysconf(_SC_PAGESIZE);
	size_t mlen = (len + (size_t)page - 1) & ~((size_t)page - 1);
	void *map;
	int r;

	if (s->map && s->map_region == (int)region && s->map_len >= mlen) {
		*pix = s->map;
		return 0;
	}
	dev_unmap(s);
	if (vgpu_handle_region_mmap(s->h, region, 0, mlen, PROT_READ, &map) ==
	    0) {
		s->map = map;
		s->map_len = mlen;
		s->map_region = (int)region;
		*pix = map;
		return 0;
	}
	if (s->copy_len < len) {
		uint8_t *n = realloc(s->copy, len);

		if (!n)
			return -ENOMEM;
		s->copy = n;
		s->copy_len = len;
	}
	r = vgpu_handle_region_read(s->h, region, 0, s->copy, len);
	if (r < 0) {
		r = dev_gone(r);
		if (r != -ENODEV)
			fail_msg("%s: reading region %u: %s", s->id, region,
				 strerror(-r));
		return r;
	}
	*pix = s->copy;
	return 0;
}

static int dev_dmabuf(struct dsrc *s, const struct vgpu_plane_info *p,
		      size_t len, const uint8_t **pix)
{
	void *map;
	int fd;

	if (s->map && s->map_region < 0 && s->map_dmabuf == p->dmabuf_id &&
	    s->map_len >= len) {
		*pix = s->map;
		return 0;
	}
	dev_unmap(s);
	fd = vgpu_handle_get_plane_dmabuf(s->h, p->dmabuf_id);
	if (fd < 0) {
		fd = dev_gone(fd);
		if (fd != -ENODEV)
			fail_msg("%s: GET_GFX_DMABUF: %s", s->id,
				 strerror(-fd));
		return fd;
	}
	map = mmap(NULL, len, PROT_READ, MAP_SHARED, fd, 0);
	close(fd);
	if (map == MAP_FAILED) {
		/* mbochs (Linux 6.1) exports its dma-buf without mmap; its
		 * pixels are its VRAM, BAR0, at the offset of the display
		 * start (0 unless panned) */
		static bool told;

		if (!told)
			fprintf(stderr,
				"vgpuctl: warning: the dma-buf cannot be mapped (%s); "
				"reading the framebuffer from BAR0 instead\n",
				strerror(errno));
		told = true;
		return dev_region(s, VGPU_REGION_BAR0, len, pix);
	}
	s->map = map;
	s->map_len = len;
	s->map_region = -1;
	s->map_dmabuf = p->dmabuf_id;
	*pix = map;
	return 0;
}

static int dev_frame(struct dsrc *s, struct dsrc_frame *f)
{
	struct vgpu_plane_info p = { .size = sizeof(p) };
	const uint8_t *pix = NULL;
	size_t len;
	int r;

	r = vgpu_handle_query_plane(s->h, VGPU_PLANE_PRIMARY, &p);
	if (r < 0) {
		r = dev_gone(r);
		if (r == -ENOTSUP)
			fail_msg("%s: has no display", s->id);
		else if (r != -ENODEV)
			fail_msg("%s: %s", s->id, strerror(-r));
		return r;
	}
	if (!p.drm_format || !p.width || !p.height)
		return -ENODATA;
	r = check_geometry(s->id, p.drm_format, p.width, p.height, p.stride);
	if (r < 0)
		return r;
	len = (size_t)p.stride * p.height;
	r = p.kind == VGPU_PLANE_REGION
		    ? dev_region(s, p.region_index, len, &pix)
		    : dev_dmabuf(s, &p, len, &pix);
	if (r < 0)
		return r;
	*f = (struct dsrc_frame){ .drm_format = p.drm_format,
				  .width = p.width,
				  .height = p.height,
				  .stride = p.stride,
				  .pixels = pix };
	return 0;
}

static int dev_get_fd(struct dsrc *s)
{
	(void)s;
	return -1;
}

static void dev_close(struct dsrc *s)
{
	dev_unmap(s);
	free(s->copy);
	vgpu_handle_unref(s->h);
}

static const struct dsrc_ops dev_ops = {
	.kind = "device",
	.get_fd = dev_get_fd,
	.frame = dev_frame,
	.close = dev_close,
};

static int dev_open(struct vgpu_ctx *ctx, struct dsrc *s)
{
	int r = vgpu_handle_open(ctx, s->id, 0, &s->h);

	switch (-r) {
	case 0:
		s->ops = &dev_ops;
		s->map_region = -1;
		return 0;
	case EINVAL:
		fail_msg("%s: not a UUID or PCI address", s->id);
		break;
	case ENODEV:
	case ENOENT:
		fail_msg("%s: no such device", s->id);
		break;
	case EBUSY:
		fail_msg(
			"%s: in use (a VMM holds the device, and its backend offers "
			"no display source beside it): its display can be read only "
			"while the device is free",
			s->id);
		break;
	case EACCES:
	case EPERM:
		fail_msg("%s: permission denied opening the device", s->id);
		break;
	default:
		fail_msg("%s: cannot open: %s", s->id, strerror(-r));
	}
	return r;
}

/* ---- provider ---- */

static int prov_get_fd(struct dsrc *s)
{
	return vgpu_display_get_fd(s->d);
}

static int prov_frame(struct dsrc *s, struct dsrc_frame *f)
{
	struct vgpu_display_frame df = { .size = sizeof(df) };
	int r = vgpu_display_get_frame(s->d, &df);

	if (r == -EBADMSG)
		fail_msg("%s: the provider sent a malformed display record",
			 s->id);
	if (r < 0)
		return r;
	if (!df.drm_format || !df.pixels)
		return -ENODATA;
	r = check_geometry(s->id, df.drm_format, df.width, df.height,
			   df.stride);
	if (r < 0)
		return r;
	*f = (struct dsrc_frame){ .drm_format = df.drm_format,
				  .width = df.width,
				  .height = df.height,
				  .stride = df.stride,
				  .pixels = df.pixels,
				  .seq = df.seq };
	return 0;
}

static void prov_close(struct dsrc *s)
{
	vgpu_display_unref(s->d);
}

static const struct dsrc_ops prov_ops = {
	.kind = "provider",
	.get_fd = prov_get_fd,
	.frame = prov_frame,
	.close = prov_close,
};

/* 0, or -EOPNOTSUPP when the device must be opened instead */
static int prov_open(struct vgpu_ctx *ctx, struct dsrc *s, bool must)
{
	int r = vgpu_display_open(ctx, s->id, &s->d);

	switch (-r) {
	case 0:
		s->ops = &prov_ops;
		return 0;
	case EOPNOTSUPP:
	case EINVAL: /* a PCI address */
		if (must)
			fail_msg(
				"%s: no display source beside the VMM (its provider offers "
				"none, or it is a kernel instance)",
				s->id);
		return -EOPNOTSUPP;
	case ENODEV:
		fail_msg("%s: no such active instance", s->id);
		return r;
	case EACCES:
		fail_msg(
			"%s: permission denied: the provider serves its display only "
			"to root and its own user",
			s->id);
		return r;
	case EBUSY:
		fail_msg(
			"%s: the provider has as many display watchers as it takes",
			s->id);
		return r;
	default:
		fail_msg("%s: display source: %s", s->id, strerror(-r));
		return r;
	}
}

/* ---- the table ---- */

int dsrc_open(struct vgpu_ctx *ctx, const char *id, const char *kind,
	      struct dsrc **ret)
{
	struct dsrc *s = calloc(1, sizeof(*s));
	int r;

	if (!s)
		return -ENOMEM;
	s->id = strdup(id);
	if (!s->id) {
		free(s);
		return -ENOMEM;
	}
	r = -EOPNOTSUPP;
	if (!kind || !strcmp(kind, "provider"))
		r = prov_open(ctx, s, kind != NULL);
	if (r == -EOPNOTSUPP && !kind) {
		struct vgpu_instance *in;

		/* a provider without a display source: its device has one
		 * client at a time, and a second one waits its turn */
		if (vgpu_instance_get(ctx, id, NULL, &in) == 0) {
			if (!strcmp(vgpu_instance_get_backend(in), "vfio-user"))
				fprintf(stderr,
					"vgpuctl: warning: %s: its provider offers no display "
					"source; opening the device, which waits while a VMM uses "
					"it\n",
					id);
			vgpu_instance_unref(in);
		}
	}
	if (r == -EOPNOTSUPP && (!kind || !strcmp(kind, "device")))
		r = dev_open(ctx, s);
	if (r < 0) {
		free(s->id);
		free(s);
		return r;
	}
	*ret = s;
	return 0;
}

int dsrc_get_fd(struct dsrc *s)
{
	return s->ops->get_fd(s);
}

int dsrc_frame(struct dsrc *s, struct dsrc_frame *f)
{
	return s->ops->frame(s, f);
}

const char *dsrc_kind(struct dsrc *s)
{
	return s->ops->kind;
}

void dsrc_close(struct dsrc *s)
{
	if (!s)
		return;
	s->ops->close(s);
	free(s->id);
	free(s);
}
