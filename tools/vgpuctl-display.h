/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Display sources of vgpuctl (vgpuctl-display.c): what an instance's
 * display shows now, for `screenshot` and `vnc`, whatever reaches it.
 */
#ifndef VGPUCTL_DISPLAY_H
#define VGPUCTL_DISPLAY_H

#include <stdbool.h>
#include <stdint.h>

#include <libvgpu.h>

/* one look at the display; the pixels stay valid until the next
 * dsrc_frame() or dsrc_close() */
struct dsrc_frame {
	uint32_t drm_format, width, height, stride;
	const uint8_t *pixels; /* stride * height bytes, read-only */
	/* changes with every frame the source was told about; 0 when the
	 * source cannot tell (the pixels must be compared) */
	uint64_t seq;
};

struct dsrc;

/*
 * Open the display of @id (an instance UUID or a PCI address): through the
 * instance's provider where it offers a display source (usable while a VMM
 * holds the device), else by opening the device. @kind "provider" or
 * "device" allows only that one, NULL either. Errors are printed.
 * Returns 0 or a negative errno.
 */
int dsrc_open(struct vgpu_ctx *ctx, const char *id, const char *kind,
	      struct dsrc **ret);
/* an fd that becomes readable when the display changed; -1: poll */
int dsrc_get_fd(struct dsrc *s);
/* the current frame; 0, -ENODATA (nothing shown), -ENODEV (the instance
 * went away), -ENOTSUP (a pixel format or plane kind we cannot read) */
int dsrc_frame(struct dsrc *s, struct dsrc_frame *f);
/* "provider" or "device" */
const char *dsrc_kind(struct dsrc *s);
void dsrc_close(struct dsrc *s);

/* bytes per pixel of a DRM fourcc, 0 when unknown */
unsigned int dsrc_format_bpp(uint32_t fourcc);

/*
 * screenshot and vnc run in the private program vgpuctl-display (installed
 * in libexecdir/libvgpu), the only one that links libpng and libvncserver:
 * vgpuctl itself execs it for these two verbs (vgpuctl-display-exec.c), so
 * that no other verb pays for loading them. Both programs show the same
 * help for them, from here.
 */
#define VERB_SCREENSHOT_INFO                                      \
	.name = "screenshot", .args = "UUID|PCI-ADDRESS OUT.png", \
	.summary = "save what the device's display shows as PNG"
#define VERB_VNC_INFO                                                \
	.name = "vnc",                                               \
	.args = "UUID|PCI-ADDRESS [--listen ADDR:PORT] [--rate HZ] " \
		"[--max-fps N] [--source provider|device]",          \
	.summary = "serve the live display to VNC clients (view only)"

#define DSRC_FOURCC(a, b, c, d)                                     \
	((uint32_t)(a) | (uint32_t)(b) << 8 | (uint32_t)(c) << 16 | \
	 (uint32_t)(d) << 24)

#endif
