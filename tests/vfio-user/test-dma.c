/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * DMA against sim-device: DMA_MAP/DMA_UNMAP, the device's DMA through
 * windows with an fd and through message-only windows (DMA_READ/DMA_WRITE),
 * across more windows than one translation takes pieces, the interrupt that
 * ends it.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "libvgpu-private.h"
#include "proto.h"
#include "sim-device.h"
#include "sim-fixture.h"

/* connect, 64 KiB of guest RAM (a memfd) at iova 0x100000 in two
 * windows; the second one without the fd unless @fd2 */
static uint8_t *guest_setup(struct vfu_client **c, int *mem, bool fd2)
{
	uint8_t *guest;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, c), 0);
	*mem = memfd_create("guest", MFD_CLOEXEC);
	ck_assert_int_ge(*mem, 0);
	ck_assert_int_eq(ftruncate(*mem, 0x10000), 0);
	guest = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, *mem,
		     0);
	ck_assert_ptr_ne(guest, MAP_FAILED);
	ck_assert_int_eq(
		vfu_client_dma_map(*c, 0x100000, 0x8000, 3, *mem, 0, guest), 0);
	ck_assert_int_eq(vfu_client_dma_map(*c, 0x108000, 0x8000, 3,
					    fd2 ? *mem : -1, 0x8000,
					    guest + 0x8000),
			 0);
	return guest;
}

START_TEST(test_dma_and_irq)
{
	struct vfu_client *c;
	int mem, efd;
	uint8_t *guest;
	uint64_t v, cnt;
	struct pollfd pfd;

	/* guest RAM at iova 0x100000, fd-backed, in two windows */
	guest = guest_setup(&c, &mem, true);
	/* overlap and wrap are refused, the table is unchanged */
	ck_assert_int_eq(
		vfu_client_dma_map(c, 0x104000, 0x1000, 3, mem, 0, NULL),
		-EEXIST);
	{
		struct vfu_dma_map m = { .argsz = 32,
					 .flags = 3,
					 .addr = UINT64_MAX - 0xfff,
					 .size = 0x2000 };

		ck_assert_int_eq(vfu_client_call(c, VFU_CMD_DMA_MAP, &m,
						 sizeof(m), NULL, 0, NULL, NULL,
						 NULL, 0, NULL),
				 -EINVAL);
	}

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(vfu_client_set_irq_eventfds(c, 1, 0, 1, &efd), 0);
	/* too many eventfds for the vectors */
	{
		int two[2] = { efd, efd };

		ck_assert_int_eq(vfu_client_set_irq_eventfds(c, 1, 0, 2, two),
				 -EINVAL);
	}

	/* a DMA crossing both windows: 0x107f00 .. +0x200 */
	for (int i = 0; i < 0x200; i++)
		guest[0x7f00 + i] = (uint8_t)i;
	v = 0x107f00;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &v, 8), 0);
	v = 0x100;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0x10, &v, 8), 0);
	v = 1;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 4, &v, 4), 0);
	for (int i = 0; i < 0x100; i++)
		ck_assert_uint_eq(guest[0x8000 + i], (uint8_t)~i);
	pfd.fd = efd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(read(efd, &cnt, 8), 8);
	ck_assert_uint_eq(cnt, 1);

	/* DMA to an unmapped address fails the doorbell write */
	v = 0x200000;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &v, 8), 0);
	v = 1;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 4, &v, 4), -EFAULT);

	/* unmap: exact only; double unmap fails */
	ck_assert_int_eq(vfu_client_dma_unmap(c, 0x100000, 0x4000), -ENOENT);
	ck_assert_int_eq(vfu_client_dma_unmap(c, 0x100000, 0x8000), 0);
	ck_assert_int_eq(vfu_client_dma_unmap(c, 0x100000, 0x8000), -ENOENT);
	ck_assert_int_eq(vfu_client_dma_unmap_all(c), 0);
	vfu_client_close(c);
	munmap(guest, 0x10000);
	close(mem);
	close(efd);
}
END_TEST

/* ---- message-based DMA (windows without an fd) ---- */

/* sim-device's DMA: [src, src + len) inverted to src + len; the doorbell
 * write's result */
static int sim_copy(struct vfu_client *c, uint64_t src, uint64_t len)
{
	uint64_t one = 1;

	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &src, 8), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0x10, &len, 8), 0);
	return vfu_client_region_write(c, 0, 4, &one, 4);
}

START_TEST(test_dma_message)
{
	struct vfu_client *c;
	int mem;
	uint8_t *guest;
	uint64_t v;

	/* the first window fd-backed, the second by message only */
	guest = guest_setup(&c, &mem, false);
	for (int i = 0; i < 0x10000; i++)
		guest[i] = (uint8_t)(i * 7);
	/* mixed: read 0x107f00..+0x200 across both, write into the second */
	ck_assert_int_eq(sim_copy(c, 0x107f00, 0x200), 0);
	for (int i = 0; i < 0x200; i++)
		ck_assert_uint_eq(guest[0x8100 + i],
				  (uint8_t) ~(uint8_t)((0x7f00 + i) * 7));
	/* message only: 4 KiB read and written by DMA_READ/DMA_WRITE */
	ck_assert_int_eq(sim_copy(c, 0x109000, 0x1000), 0);
	for (int i = 0; i < 0x1000; i++)
		ck_assert_uint_eq(guest[0xa000 + i],
				  (uint8_t) ~(uint8_t)((0x9000 + i) * 7));
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0x30, &v, 4), 0);
	ck_assert_uint_eq(v, 0);
	/* a hole after a message window: refused before any message */
	ck_assert_int_eq(sim_copy(c, 0x10f800, 0x1000), -EFAULT);
	/* from a thread that is not serving the connection: -EREMOTE */
	v = 0x109000;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &v, 8), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0x28, &v, 4), 0);
	for (int i = 0; i < 500; i++) {
		v = 0;
		ck_assert_int_eq(vfu_client_region_read(c, 0, 0x28, &v, 8), 0);
		if (v != 1)
			break;
		usleep(10000);
	}
	ck_assert_int_eq((int64_t)v, -EREMOTE);
	/* the connection is still in step */
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 8, &v, 8), 0);
	ck_assert_uint_eq(v, 0x109000);
	ck_assert_int_eq(vfu_client_dma_unmap_all(c), 0);
	vfu_client_close(c);
	munmap(guest, 0x10000);
	close(mem);
}
END_TEST

/*
 * A copy across more windows than the device's DMA takes pieces at once
 * (16): windows of 256 bytes, by message (a window with an fd is at least
 * a page, and the sample device copies at most one page). The whole range
 * is checked before a byte moves, so a window without write permission
 * near the end of the destination refuses the copy and leaves every byte
 * as it was.
 */
START_TEST(test_dma_many_windows)
{
	const size_t size = 0x4000;
	const uint64_t base = 0x200000;
	uint8_t *guest, *before;
	struct vfu_client *c;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	guest = malloc(size);
	before = malloc(size);
	ck_assert_ptr_nonnull(guest);
	ck_assert_ptr_nonnull(before);
	/* window 55 read-only, the others read-write */
	for (unsigned int k = 0; k < size / 0x100; k++)
		ck_assert_int_eq(vfu_client_dma_map(c, base + k * 0x100u, 0x100,
						    k == 55 ? 1 : 3, -1, 0,
						    guest + k * 0x100),
				 0);
	for (size_t i = 0; i < size; i++)
		guest[i] = (uint8_t)(i * 13 + i / 256);
	/* 4 KiB from 0x80 in: read from 17 windows, written to 17 */
	ck_assert_int_eq(sim_copy(c, base + 0x80, 0x1000), 0);
	for (size_t i = 0; i < 0x1000; i++) {
		size_t from = 0x80 + i;

		ck_assert_uint_eq(guest[from + 0x1000],
				  (uint8_t) ~(uint8_t)(from * 13 + from / 256));
	}
	/* the destination (0x2800 on) ends in the read-only window 55:
	 * nothing moves */
	memcpy(before, guest, size);
	ck_assert_int_eq(sim_copy(c, base + 0x1800, 0x1000), -EACCES);
	ck_assert_int_eq(memcmp(before, guest, size), 0);
	ck_assert_int_eq(vfu_client_dma_unmap_all(c), 0);
	vfu_client_close(c);
	free(guest);
	free(before);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_dma_and_irq);
	tcase_add_test(tc, test_dma_message);
	tcase_add_test(tc, test_dma_many_windows);
}

int main(void)
{
	return sim_run("dma", add_tests);
}
