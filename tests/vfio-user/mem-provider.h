/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small provider for the tests of memory shared with a hostile client,
 * written on the public provider API only and served from a forked child.
 * Two devices, "a.sock" and "b.sock" in a directory, each with:
 *  BAR0 (4 KiB, trapped 8-byte registers): 0x08 DMA address, 0x10 DMA
 *       length (up to 4 KiB), 0x00 scratch; a write to
 *       0x18 reads [addr, +len) with vgpu_device_dma_read() and writes it
 *          back inverted at addr + len with vgpu_device_dma_write();
 *       0x20 copies [addr, +len) the way vgpu-sim's blit does: pinned,
 *          vgpu_device_dma_read() where pinning gives -EREMOTE;
 *       0x28 marks [addr, +len) dirty (len unbounded here);
 *       0x30 pins [addr, +len) and keeps the pin, 0x38 releases it;
 *       reading 0x40 gives the errno of the last of these (0: fine).
 *  BAR2 (64 KiB of memory, read-write): mmap-able only in its first 32 KiB
 *       (a sparse area), the rest trapped (served from the memory).
 *  BAR4 (16 KiB of memory, read-only to the client), filled with 0xa5.
 */
#ifndef MEM_PROVIDER_H
#define MEM_PROVIDER_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#define MEMP_ADDR      0x08
#define MEMP_LEN       0x10
#define MEMP_COPY      0x18
#define MEMP_BLIT      0x20
#define MEMP_DIRTY     0x28
#define MEMP_PIN       0x30
#define MEMP_UNPIN     0x38
#define MEMP_ERR       0x40
#define MEMP_BAR2_SIZE 0x10000
#define MEMP_BAR2_AREA 0x8000
#define MEMP_BAR4_SIZE 0x4000

/* fork the provider serving @dir/a.sock and @dir/b.sock; its pid (see
 * provider-child.h for stopping it, its fds and RSS) */
pid_t memp_start(const char *dir);
struct vgpu_ctx;
struct vfu_client;

/*
 * The fixture of the tests against this provider (Check's checked fixture):
 * memp_setup() starts it in a directory of its own, makes a context and
 * notes the provider's open fds and resident bytes; memp_teardown() stops it
 * (a clean exit: a SIGBUS would show) and removes the directory, with a
 * file "mem" a test may have left there.
 */
struct memp_fixture {
	char dir[64];
	pid_t pid;
	struct vgpu_ctx *ctx;
	int fds;
	uint64_t rss;
};
extern struct memp_fixture memp;
void memp_setup(void);
void memp_teardown(void);

/* connect to device @name ("a" or "b") */
struct vfu_client *memp_connect(const char *name);
uint64_t memp_reg(struct vfu_client *c, uint64_t off);
void memp_set(struct vfu_client *c, uint64_t off, uint64_t v);
/*
 * After an attack: the provider is alive, serves a fresh client on both
 * devices, and is back to the fds noted at set-up (waiting for it to notice
 * the clients that went away) and within a generous bound of its RSS then.
 */
void memp_check_healthy(void);

#endif
