/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What a hostile client can make the provider hold through DMA_MAP and
 * dirty logging: the window limit as advertised, dirty bitmaps bounded
 * whatever the windows' sizes, and dirty bits that survive a failed
 * DMA_UNMAP. Against a small provider on the public API (mem-provider.c)
 * in a child process.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "check-run.h"
#include "client.h"
#include "libvgpu-private.h"
#include "mem-provider.h"
#include "provider-child.h"
#include "proto.h"
#include "prov-harness.h"

/* ---- a raw client ---- */

/* the reply to @id: its error, the payload in @p (NUL-terminated) */
static uint32_t raw_reply(int fd, uint16_t id, char *p, size_t max)
{
	struct vfu_hdr h;
	size_t n;

	ck_assert_int_eq(recv(fd, &h, sizeof(h), MSG_WAITALL), sizeof(h));
	ck_assert_uint_eq(h.msg_id, id);
	ck_assert_uint_eq(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
	n = h.size - sizeof(h);
	ck_assert_uint_lt(n, max);
	if (n)
		ck_assert_int_eq(recv(fd, p, n, MSG_WAITALL), (ssize_t)n);
	p[n] = 0;
	return h.flags & VFU_F_ERROR ? h.error : 0;
}

/* VERSION announcing @max_dma_maps; the limit the provider answered */
static int raw_connect(uint64_t max_dma_maps, uint64_t *answered)
{
	struct timeval tv = { .tv_sec = 10 };
	uint8_t msg[256];
	char rep[1024], *at;
	struct vfu_version v = { .major = VFU_VERSION_MAJOR };
	char path[128];
	int fd, jl;

	snprintf(path, sizeof(path), "%s/a.sock", memp.dir);
	fd = h_connect(path);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memcpy(msg, &v, sizeof(v));
	jl = snprintf((char *)msg + sizeof(v), sizeof(msg) - sizeof(v),
		      "{\"capabilities\":{\"max_dma_maps\":%llu}}",
		      (unsigned long long)max_dma_maps);
	h_send(fd, 0, VFU_CMD_VERSION, msg, sizeof(v) + (size_t)jl + 1, NULL,
	       0);
	ck_assert_uint_eq(raw_reply(fd, 0, rep, sizeof(rep)), 0);
	at = strstr(rep + sizeof(v), "\"max_dma_maps\":");
	ck_assert_ptr_nonnull(at);
	*answered = strtoull(at + strlen("\"max_dma_maps\":"), NULL, 10);
	return fd;
}

/* a message-only window of 4 KiB number @i; the error */
static uint32_t raw_map(int fd, uint16_t id, uint64_t i)
{
	struct vfu_dma_map m = { .argsz = sizeof(m),
				 .flags = 3,
				 .addr = 0x100000 + i * 0x1000,
				 .size = 0x1000 };
	char rep[64];

	h_send(fd, id, VFU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0);
	return raw_reply(fd, id, rep, sizeof(rep));
}

/* the limit a client announced holds, and the provider's own caps it */
START_TEST(test_dma_map_limit)
{
	uint64_t lim;
	int fd = raw_connect(4, &lim);

	ck_assert_uint_eq(lim, 4);
	for (uint16_t i = 0; i < 4; i++)
		ck_assert_uint_eq(raw_map(fd, i + 1, i), 0);
	ck_assert_uint_eq(raw_map(fd, 5, 4), ENOSPC);
	ck_assert_uint_eq(raw_map(fd, 6, 5), ENOSPC);
	close(fd);
	fd = raw_connect(UINT32_MAX, &lim);
	ck_assert_uint_eq(lim, VFU_MAX_DMA_MAPS);
	close(fd);
	memp_check_healthy();
}
END_TEST

/* ---- dirty logging through the client ---- */

static int log_start(struct vfu_client *c, uint64_t pgsize)
{
	struct {
		struct vfu_feature f;
		struct vfu_log_start st;
	} __attribute__((packed)) m = {
		.f = { .argsz = sizeof(m),
		       .flags = VFU_FEATURE_SET |
				VFU_FEATURE_DMA_LOGGING_START },
		.st = { .page_size = pgsize },
	};

	return vfu_client_call(c, VFU_CMD_DEVICE_FEATURE, &m, sizeof(m), NULL,
			       0, NULL, NULL, NULL, 0, NULL);
}

/* LOGGING_REPORT of [iova, +len) in 4 KiB pages: the first word of the
 * bitmap, and whether all of its words are ~0 */
static int log_report(struct vfu_client *c, uint64_t iova, uint64_t len,
		      uint64_t *first, bool *all)
{
	uint64_t words = (len / 4096 + 63) / 64;
	struct {
		struct vfu_feature f;
		struct vfu_log_report r;
	} __attribute__((packed)) m = {
		.f = { .argsz = (uint32_t)(sizeof(m) + words * 8),
		       .flags = VFU_FEATURE_GET |
				VFU_FEATURE_DMA_LOGGING_REPORT },
		.r = { .iova = iova, .length = len, .page_size = 4096 },
	};
	uint8_t *rep = NULL;
	size_t rlen = 0;
	int r = vfu_client_call(c, VFU_CMD_DEVICE_FEATURE, &m, sizeof(m), NULL,
				0, (void **)&rep, &rlen, NULL, 0, NULL);

	if (r == 0) {
		ck_assert_uint_eq(rlen, sizeof(m) + words * 8);
		memcpy(first, rep + sizeof(m), 8);
		*all = true;
		for (uint64_t i = 0; i < words; i++) {
			uint64_t w;

			memcpy(&w, rep + sizeof(m) + i * 8, 8);
			*all = *all && w == ~0ULL;
		}
	}
	free(rep);
	return r;
}

/*
 * One message-only window of 2^42 bytes with dirty logging on: neither
 * starting, nor reporting, nor the device writing all of it makes the
 * provider hold memory by the window's size. 512-byte pages are refused.
 */
START_TEST(test_dirty_log_bounded)
{
	const uint64_t iova = 1ULL << 44, big = 1ULL << 42;
	struct vfu_client *c = memp_connect("a");
	uint64_t first;
	bool all;

	ck_assert_int_eq(vfu_client_dma_map(c, iova, big, 3, -1, 0, NULL), 0);
	ck_assert_int_eq(log_start(c, 512), -EINVAL);
	ck_assert_int_eq(log_start(c, 4096), 0);
	/* a report of 8 GiB (a 256 KiB bitmap) of a clean window */
	ck_assert_int_eq(log_report(c, iova, 1ULL << 33, &first, &all), 0);
	ck_assert_uint_eq(first, 0);
	/* the device writes a page, then all of the window */
	memp_set(c, MEMP_ADDR, iova + 0x1000);
	memp_set(c, MEMP_LEN, 1);
	memp_set(c, MEMP_DIRTY, 1);
	ck_assert_int_eq(log_report(c, iova, 1ULL << 33, &first, &all), 0);
	ck_assert_uint_eq(first, 2);
	memp_set(c, MEMP_ADDR, iova);
	memp_set(c, MEMP_LEN, big);
	memp_set(c, MEMP_DIRTY, 1);
	ck_assert_int_eq(log_report(c, iova + big - (1ULL << 33), 1ULL << 33,
				    &first, &all),
			 0);
	ck_assert(all);
	ck_assert_uint_lt(child_rss(memp.pid), memp.rss + (32u << 20));
	vfu_client_close(c);
	memp_check_healthy();
}
END_TEST

/* DMA_UNMAP with GET_DIRTY_BITMAP; the error, the first bitmap word */
static int unmap_dirty(struct vfu_client *c, uint64_t iova, uint64_t size,
		       uint64_t *bits)
{
	struct {
		struct vfu_dma_unmap u;
		struct vfu_bitmap b;
	} __attribute__((packed)) m = {
		.u = { .argsz = sizeof(m) + 8,
		       .flags = VFU_DMA_UNMAP_GET_DIRTY_BITMAP,
		       .addr = iova,
		       .size = size },
		.b = { .pgsize = 4096, .size = 8 },
	};
	uint8_t *rep = NULL;
	size_t rlen = 0;
	int r = vfu_client_call(c, VFU_CMD_DMA_UNMAP, &m, sizeof(m), NULL, 0,
				(void **)&rep, &rlen, NULL, 0, NULL);

	if (r == 0) {
		ck_assert_uint_eq(rlen, sizeof(m) + 8);
		memcpy(bits, rep + sizeof(m), 8);
	}
	free(rep);
	return r;
}

/* an unmap that fails (window pinned, or no such window) keeps the bits */
START_TEST(test_dirty_unmap_fails)
{
	const uint64_t iova = 0x100000, len = 0x10000;
	struct vfu_client *c = memp_connect("a");
	int fd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	uint64_t bits = 0;

	ck_assert_int_eq(ftruncate(fd, (off_t)len), 0);
	ck_assert_int_eq(fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW),
			 0);
	ck_assert_int_eq(vfu_client_dma_map(c, iova, len, 3, fd, 0, NULL), 0);
	ck_assert_int_eq(log_start(c, 4096), 0);
	/* the device copies 0x100 bytes to iova + 0x3000: page 3 dirty */
	memp_set(c, MEMP_ADDR, iova + 0x2f00);
	memp_set(c, MEMP_LEN, 0x100);
	memp_set(c, MEMP_COPY, 1);
	ck_assert_uint_eq(memp_reg(c, MEMP_ERR), 0);
	/* pinned: EBUSY */
	memp_set(c, MEMP_PIN, 1);
	ck_assert_uint_eq(memp_reg(c, MEMP_ERR), 0);
	ck_assert_int_eq(unmap_dirty(c, iova, len, &bits), -EBUSY);
	memp_set(c, MEMP_UNPIN, 1);
	/* not a window: ENOENT */
	ck_assert_int_eq(unmap_dirty(c, iova, len / 2, &bits), -ENOENT);
	/* the bits are still there for the unmap that works */
	ck_assert_int_eq(unmap_dirty(c, iova, len, &bits), 0);
	ck_assert_uint_eq(bits, 1u << 3);
	vfu_client_close(c);
	close(fd);
	memp_check_healthy();
}
END_TEST

static Suite *limits_suite(void)
{
	Suite *s = suite_create("dma-limits");
	TCase *tc = tcase_create("dma-limits");

	tcase_add_checked_fixture(tc, memp_setup, memp_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dma_map_limit);
	tcase_add_test(tc, test_dirty_log_bounded);
	tcase_add_test(tc, test_dirty_unmap_fails);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	return run_suite(limits_suite());
}
