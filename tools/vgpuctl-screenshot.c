/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl screenshot UUID|PCI-ADDRESS OUT.png: what the device's display
 * shows, as PNG. Part of the private program vgpuctl-display (libpng is
 * loaded only for the verbs that need it; see vgpuctl-display-exec.c).
 */
#include <errno.h>
#include <png.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuctl.h"
#include "vgpuctl-display.h"
#include "vgpuctl-json.h"

/* bytes per pixel and where R, G, B sit in a little-endian pixel */
static int pixel_layout(uint32_t fourcc, int *bpp, int *ri, int *gi, int *bi)
{
	switch (fourcc) {
	case DSRC_FOURCC('X', 'R', '2', '4'):
	case DSRC_FOURCC('A', 'R', '2', '4'):
		*bpp = 4, *bi = 0, *gi = 1, *ri = 2;
		return 0;
	case DSRC_FOURCC('X', 'B', '2', '4'):
	case DSRC_FOURCC('A', 'B', '2', '4'):
		*bpp = 4, *ri = 0, *gi = 1, *bi = 2;
		return 0;
	case DSRC_FOURCC('R', 'G', '2', '4'):
		*bpp = 3, *bi = 0, *gi = 1, *ri = 2;
		return 0;
	case DSRC_FOURCC('B', 'G', '2', '4'):
		*bpp = 3, *ri = 0, *gi = 1, *bi = 2;
		return 0;
	case DSRC_FOURCC('R', 'G', '1', '6'):
		*bpp = 2, *ri = *gi = *bi = -1;
		return 0;
	default:
		return -ENOTSUP;
	}
}

struct layout {
	int bpp, ri, gi, bi;
};

/* the rows, converted to RGB; libpng longjmps out of here on error */
static int png_rows(FILE *f, const uint8_t *pix,
		    const struct vgpu_plane_info *p, const struct layout *L,
		    uint8_t *row)
{
	png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL,
						  NULL, NULL);
	png_infop info = png ? png_create_info_struct(png) : NULL;

	if (!png || !info) {
		png_destroy_write_struct(&png, &info);
		return -ENOMEM;
	}
	if (setjmp(png_jmpbuf(png))) {
		png_destroy_write_struct(&png, &info);
		return -EIO;
	}
	png_init_io(png, f);
	png_set_IHDR(png, info, p->width, p->height, 8, PNG_COLOR_TYPE_RGB,
		     PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
		     PNG_FILTER_TYPE_DEFAULT);
	png_write_info(png, info);
	for (uint32_t y = 0; y < p->height; y++) {
		const uint8_t *src = pix + (size_t)y * p->stride;

		for (uint32_t x = 0; x < p->width; x++, src += L->bpp) {
			uint8_t *d = row + x * 3;

			if (L->bpp == 2) {
				unsigned int v = src[0] | src[1] << 8;

				d[0] = (uint8_t)(((v >> 11) & 0x1f) << 3);
				d[1] = (uint8_t)(((v >> 5) & 0x3f) << 2);
				d[2] = (uint8_t)((v & 0x1f) << 3);
			} else {
				d[0] = src[L->ri];
				d[1] = src[L->gi];
				d[2] = src[L->bi];
			}
		}
		png_write_row(png, row);
	}
	png_write_end(png, NULL);
	png_destroy_write_struct(&png, &info);
	return 0;
}

static int write_png(const char *path, const uint8_t *pix,
		     const struct vgpu_plane_info *p)
{
	struct layout L;
	uint8_t *row;
	FILE *f;
	int r;

	if (pixel_layout(p->drm_format, &L.bpp, &L.ri, &L.gi, &L.bi) < 0) {
		fail_msg("pixel format %.4s is not supported",
			 (const char *)&p->drm_format);
		return -ENOTSUP;
	}
	if ((uint64_t)p->stride < (uint64_t)p->width * (unsigned)L.bpp) {
		fail_msg("stride %u is shorter than a line of %u pixels",
			 p->stride, p->width);
		return -EBADMSG;
	}
	row = malloc((size_t)p->width * 3);
	if (!row)
		return -ENOMEM;
	f = fopen(path, "wb");
	if (!f) {
		r = -errno;
		fail_msg("%s: %s", path, strerror(-r));
		free(row);
		return r;
	}
	r = png_rows(f, pix, p, &L, row);
	free(row);
	if (fclose(f) != 0 && r == 0)
		r = -errno;
	if (r < 0)
		fail_msg("%s: cannot write PNG: %s", path, strerror(-r));
	return r;
}

static int cmd_screenshot(struct vgpu_ctx *ctx, const struct opts *go, int argc,
			  char **argv)
{
	struct dsrc_frame f;
	struct dsrc *src;
	struct opts o = *go;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (argc - optind != 2)
		return usage_error(argv[0], "%s",
				   "expects a device and an output file");
	r = dsrc_open(ctx, argv[optind], NULL, &src);
	if (r < 0)
		return exit_for(r);
	r = dsrc_frame(src, &f);
	if (r == -ENODATA)
		fail_msg("%s: the display shows nothing (no mode set)",
			 argv[optind]);
	else if (r == -ENODEV)
		fail_msg("%s: the instance went away", argv[optind]);
	if (r == 0) {
		struct vgpu_plane_info p = { .size = sizeof(p),
					     .drm_format = f.drm_format,
					     .width = f.width,
					     .height = f.height,
					     .stride = f.stride };

		r = write_png(argv[optind + 1], f.pixels, &p);
	}
	if (r == 0 && o.json) {
		struct jw j;
		char fourcc[5];

		memcpy(fourcc, &f.drm_format, 4);
		fourcc[4] = '\0';
		json_doc_begin(&j, true);
		jw_key(&j, "frames");
		jw_begin_array(&j);
		jw_begin_object(&j);
		jw_member_string(&j, "device", argv[optind]);
		jw_key(&j, "width");
		jw_int(&j, f.width);
		jw_key(&j, "height");
		jw_int(&j, f.height);
		jw_member_string(&j, "format", fourcc);
		jw_member_string(&j, "source", dsrc_kind(src));
		jw_member_string(&j, "file", argv[optind + 1]);
		jw_end_object(&j);
		jw_end_array(&j);
		json_doc_end(&j);
	} else if (r == 0) {
		printf("%s: %ux%u %.4s through the %s -> %s\n", argv[optind],
		       f.width, f.height, (const char *)&f.drm_format,
		       dsrc_kind(src), argv[optind + 1]);
	}
	dsrc_close(src);
	return r < 0 ? (r == -ENOTSUP || r == -ENODATA ? EXIT_FAILURE
						       : exit_for(r))
		     : 0;
}

const struct verb verb_screenshot = {
	VERB_SCREENSHOT_INFO,
	.run = cmd_screenshot,
};
