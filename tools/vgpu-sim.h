/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpu-sim's register interface (BAR0, 4 KiB, trapped), shared by the
 * program and the code that drives it (tests, demos). All registers are
 * 32 bits wide.
 *
 * DMA blit: write SRC_LO/SRC_HI (guest IOVA), DST (framebuffer offset),
 * LEN (bytes), then 1 to DOORBELL. The engine copies LEN bytes from guest
 * memory through the DMA pin table into the framebuffer (BAR2), sets
 * STATUS_DONE (or STATUS_ERROR and the errno in ERROR) and raises MSI-X
 * vector 0, or MSI vector 0, or INTx, whichever the client enabled.
 * Writing a STATUS bit clears it. The engine is shared by every device of
 * the process (scheduled by their QoS); up to 4 blits per device may be
 * queued (STATUS_BUSY is set while any is), each completing in order with
 * STATUS_DONE, BLITS + 1 and an interrupt; a fifth doorbell fails with
 * EBUSY.
 *
 * Display: write FORMAT, WIDTH, HEIGHT, STRIDE; the plane descriptor
 * (region 9) then shows that mode over the framebuffer, so
 * vgpu_handle_query_plane() and `vgpuctl screenshot` see it.
 */
#ifndef VGPU_SIM_H
#define VGPU_SIM_H

#define VGPU_SIM_VENDOR 0x1234
#define VGPU_SIM_DEVICE 0x5347
#define VGPU_SIM_CLASS	0x038000 /* display controller */

#define VGPU_SIM_REG_ID	      0x00 /* RO: VGPU_SIM_ID */
#define VGPU_SIM_REG_FB_MB    0x04 /* RO: framebuffer size in MiB */
#define VGPU_SIM_REG_SRC_LO   0x10
#define VGPU_SIM_REG_SRC_HI   0x14
#define VGPU_SIM_REG_DST      0x18
#define VGPU_SIM_REG_LEN      0x1c
#define VGPU_SIM_REG_DOORBELL 0x20
#define VGPU_SIM_REG_STATUS   0x24
#define VGPU_SIM_REG_ERROR    0x28 /* RO: errno of the last failed blit */
#define VGPU_SIM_REG_BLITS    0x2c /* RO: blits done */
/* the display mode: what the framebuffer shows from its offset 0 */
#define VGPU_SIM_REG_FORMAT 0x30 /* DRM fourcc (XR24), 0: display off */
#define VGPU_SIM_REG_WIDTH  0x34 /* pixels */
#define VGPU_SIM_REG_HEIGHT 0x38 /* pixels */
#define VGPU_SIM_REG_STRIDE 0x3c /* bytes per line */

#define VGPU_SIM_ID	      0x5347504bu
#define VGPU_SIM_STATUS_DONE  0x1u
#define VGPU_SIM_STATUS_ERROR 0x2u
#define VGPU_SIM_STATUS_BUSY \
	0x4u /* blits are queued on the engine (read-only) */

#define VGPU_SIM_BAR_REGS 0 /* BAR0: registers, MSI-X table at 0x800 */
#define VGPU_SIM_BAR_FB	  2 /* BAR2: framebuffer, mmap-able */
/* device-specific region 9: libvgpu's display plane descriptor (type
 * VGPU_REGION_TYPE_GFX, subtype VGPU_REGION_SUBTYPE_GFX_PLANE, read-only),
 * the mode registers above as VGPU_PLANE_DESC_* fields; a mode that does
 * not fit the framebuffer reads as display off */
#define VGPU_SIM_REGION_PLANE 9
#define VGPU_SIM_XR24	      0x34325258u /* 'X' 'R' '2' '4' */

/*
 * The demo's test picture (tools/vgpu-sim-demo.c), in XR24 (0x00RRGGBB):
 * red grows left to right, green top to bottom, blue is a checkerboard of
 * 64-pixel squares. Also what the walkthrough test expects in the PNG.
 */
static inline unsigned int vgpu_sim_test_pixel(unsigned int x, unsigned int y,
					       unsigned int w, unsigned int h)
{
	unsigned int r = w > 1 ? x * 255 / (w - 1) : 0;
	unsigned int g = h > 1 ? y * 255 / (h - 1) : 0;
	unsigned int b = ((x / 64 + y / 64) & 1) ? 255 : 0;

	return r << 16 | g << 8 | b;
}

/*
 * Migration stream, version 1 (docs/vfio-user.md, "What a provider saves").
 * A sequence of records, little-endian:
 *
 *   u32 type, u32 len, then len bytes of payload
 *
 * HEADER first: u32 magic (VGPU_SIM_MIG_MAGIC), u32 version, u64 framebuffer
 *   size, u32 tile size, u32 register file size. The destination refuses
 *   another version, size or tile size.
 * TILES (any number, PRE_COPY and STOP_COPY): u64 first tile, u32 count
 *   (1..VGPU_SIM_MIG_TILES_MAX), u32 0, then count tiles of framebuffer.
 * REGS: the register file (BAR0 with the MSI-X table and PBA), 4 KiB.
 * IRQS: for each interrupt index (INTx, MSI, MSI-X, ERR, REQ): u32 count,
 *   then one byte per vector: bit 0 masked, bit 1 pending.
 * JOBS: u32 n (0..4), u32 0, then n blits not run yet, in order:
 *   u64 guest source IOVA, u32 framebuffer offset, u32 length.
 * QOS: the five QoS knobs (time slice, preemption timeout, priority,
 *   weight, frame-rate limit), u64 each.
 * END: no payload, last. REGS, IRQS, JOBS and QOS come once each, in
 *   STOP_COPY, before END.
 *
 * A type with bit 31 set is optional: a reader that does not know it skips
 * it. Any other unknown type, a length that does not fit the type, a record
 * out of place or past END, a value out of range: the stream is refused.
 */
#define VGPU_SIM_MIG_MAGIC     0x4d495356u /* 'V' 'S' 'I' 'M' */
#define VGPU_SIM_MIG_VERSION   1
#define VGPU_SIM_MIG_TILE      4096u
#define VGPU_SIM_MIG_TILES_MAX 16u
#define VGPU_SIM_MIG_OPTIONAL  0x80000000u
/* the largest payload: a TILES record */
#define VGPU_SIM_MIG_REC_MAX (16u + VGPU_SIM_MIG_TILES_MAX * VGPU_SIM_MIG_TILE)
enum {
	VGPU_SIM_MIG_HEADER = 1,
	VGPU_SIM_MIG_TILES = 2,
	VGPU_SIM_MIG_REGS = 3,
	VGPU_SIM_MIG_IRQS = 4,
	VGPU_SIM_MIG_JOBS = 5,
	VGPU_SIM_MIG_QOS = 6,
	VGPU_SIM_MIG_END = 7,
};

#define VGPU_SIM_DEMO_WIDTH  640
#define VGPU_SIM_DEMO_HEIGHT 480

#endif
