/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * png-check FILE: decode FILE with libpng and compare it, pixel by pixel,
 * with vgpu-sim-demo's test picture (vgpu_sim_test_pixel() at 640x480).
 * Exit 0 when equal; 1 with the first difference otherwise.
 */
#include <png.h>
#include <stdio.h>
#include <stdlib.h>

#include "vgpu-sim.h"

int main(int argc, char **argv)
{
	const unsigned int w = VGPU_SIM_DEMO_WIDTH, h = VGPU_SIM_DEMO_HEIGHT;
	png_image img = { .version = PNG_IMAGE_VERSION };
	unsigned char *buf;
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: png-check FILE\n");
		return 2;
	}
	if (!png_image_begin_read_from_file(&img, argv[1])) {
		fprintf(stderr, "png-check: %s: %s\n", argv[1], img.message);
		return 1;
	}
	img.format = PNG_FORMAT_RGB;
	if (img.width != w || img.height != h) {
		fprintf(stderr, "png-check: %ux%u, expected %ux%u\n", img.width,
			img.height, w, h);
		png_image_free(&img);
		return 1;
	}
	buf = malloc(PNG_IMAGE_SIZE(img));
	if (!buf || !png_image_finish_read(&img, NULL, buf, 0, NULL)) {
		fprintf(stderr, "png-check: cannot decode %s\n", argv[1]);
		free(buf);
		return 1;
	}
	for (unsigned int y = 0; y < h && !bad; y++)
		for (unsigned int x = 0; x < w && !bad; x++) {
			const unsigned char *p = buf + ((size_t)y * w + x) * 3;
			unsigned int want = vgpu_sim_test_pixel(x, y, w, h);
			unsigned int got = (unsigned int)p[0] << 16 |
					   (unsigned int)p[1] << 8 | p[2];

			if (got != want) {
				fprintf(stderr,
					"png-check: pixel %u,%u is %06x, expected %06x\n",
					x, y, got, want);
				bad = 1;
			}
		}
	free(buf);
	if (!bad)
		printf("png-check: %s is the %ux%u test picture\n", argv[1], w,
		       h);
	return bad;
}
