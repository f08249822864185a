/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Regions against sim-device (server and client in separate processes):
 * device info, config space and BAR sizing, trapped and memory BARs with
 * a sparse area, IRQ info; the argsz rule as foreign clients use it.
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

static uint32_t cfg32(struct vfu_client *c, uint64_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(vfu_client_region_read(c, 7, off, &v, 4), 0);
	return v;
}

START_TEST(test_device_discovery)
{
	struct vfu_client *c;
	struct vfu_device_info di;
	struct vfu_region_info ri;
	struct vfu_irq_info ii;
	struct vfu_sparse_area areas[4];
	unsigned int n;
	uint32_t v;
	int fd;
	void *map;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	ck_assert_uint_eq(vfu_client_server_caps(c)->max_msg_fds, 16);
	ck_assert_int_eq(vfu_client_get_info(c, &di), 0);
	ck_assert_uint_eq(di.num_regions, 9);
	ck_assert_uint_eq(di.num_irqs, 5);
	ck_assert_uint_eq(di.flags, VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET);

	/* config space: identity, capabilities, BAR sizing */
	ck_assert_int_eq(
		vfu_client_region_info(c, 7, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 4096); /* PCIe */
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(cfg32(c, 0), 0x10f01af4);
	ck_assert_uint_eq(cfg32(c, 8) >> 8, 0x030000);
	ck_assert_uint_eq(cfg32(c, 0x34) & 0xff, 0x40);
	ck_assert_uint_eq(cfg32(c, 0x40) & 0xff, 0x05); /* MSI */
	v = 0xffffffff;
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x10, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0x10), 0xfffff000);
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x18, &v, 4), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x1c, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0x18), 0xfff0000c); /* 64-bit prefetch */
	ck_assert_uint_eq(cfg32(c, 0x1c), 0xffffffff);
	/* BAR4: 64-bit, 8 GiB: the high dword carries the size */
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x20, &v, 4), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x24, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0x20), 0x00000004);
	ck_assert_uint_eq(cfg32(c, 0x24), 0xfffffffe);
	ck_assert_int_eq(
		vfu_client_region_info(c, 4, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 8ULL << 30);
	ck_assert_int_eq(fd, -1);
	v = 0;
	ck_assert_int_eq(
		vfu_client_region_read(c, 4, (6ULL << 30) + 0x40, &v, 4), 0);
	ck_assert_uint_eq(v, 1u ^ 0x80000040u);
	ck_assert_int_ne(vfu_client_region_read(c, 4, 8ULL << 30, &v, 4), 0);
	v = 0xffffffff;
	/* vendor id is read-only */
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0), 0x10f01af4);

	/* trapped BAR0 */
	ck_assert_int_eq(
		vfu_client_region_info(c, 0, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 4096);
	ck_assert_int_eq(fd, -1);
	ck_assert(!(ri.flags & VFU_REGION_MMAP));
	v = 0x12345678;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 4), 0);
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0, &v, 4), 0);
	ck_assert_uint_eq(v, 0x12345678);

	/* memory BAR2 with a sparse area, through the fd and messages */
	ck_assert_int_eq(
		vfu_client_region_info(c, 2, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 1 << 20);
	ck_assert(ri.flags & VFU_REGION_MMAP);
	ck_assert(ri.flags & VFU_REGION_CAPS);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(areas[0].offset, 0);
	ck_assert_uint_eq(areas[0].size, 1 << 19);
	map = mmap(NULL, areas[0].size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)(ri.offset + areas[0].offset));
	ck_assert_ptr_ne(map, MAP_FAILED);
	memcpy((char *)map + 100, "hello", 6);
	{
		char got[6];

		ck_assert_int_eq(vfu_client_region_read(c, 2, 100, got, 6), 0);
		ck_assert_str_eq(got, "hello");
		ck_assert_int_eq(vfu_client_region_write(c, 2, 200, "world", 6),
				 0);
		ck_assert_str_eq((char *)map + 200, "world");
	}
	munmap(map, areas[0].size);
	close(fd);

	/* IRQs */
	ck_assert_int_eq(vfu_client_irq_info(c, 2, &ii), 0);
	ck_assert_uint_eq(ii.count, 4);
	ck_assert_int_eq(vfu_client_irq_info(c, 3, &ii), 0);
	ck_assert_uint_eq(ii.count, 0);
	ck_assert_int_eq(vfu_client_irq_info(c, 5, &ii), -EINVAL);
	ck_assert_int_eq(vfu_client_reset(c), 0);
	vfu_client_close(c);
}
END_TEST

/* REGION_INFO of @region with @argsz in a request of @len bytes (80, as
 * libvfio-user's client retries); the reply's size, and whether an fd came */
static size_t raw_region_info(int fd, uint32_t region, uint32_t argsz,
			      size_t len, bool *got_fd)
{
	uint8_t req[16 + 80] = { 0 }, rep[512];
	struct vfu_region_info ri = { .argsz = argsz, .index = region };
	struct vfu_hdr h = { .msg_id = 3,
			     .cmd = VFU_CMD_DEVICE_GET_REGION_INFO,
			     .size = (uint32_t)(16 + len) };
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr a;
	} ctrl;
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl.b,
			     .msg_controllen = sizeof(ctrl.b) };
	struct cmsghdr *cm;
	ssize_t n;

	memcpy(req, &h, 16);
	memcpy(req + 16, &ri, sizeof(ri));
	ck_assert_int_eq(send(fd, req, 16 + len, MSG_NOSIGNAL),
			 (ssize_t)(16 + len));
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	ck_assert_int_ge(n, 16);
	memcpy(&h, rep, 16);
	ck_assert_uint_eq(h.size, n);
	ck_assert_uint_eq(h.error, 0);
	*got_fd = false;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_type == SCM_RIGHTS) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(cm), sizeof(rfd));
			close(rfd);
			*got_fd = true;
		}
	return (size_t)n;
}

/*
 * The argsz rule as libvfio-user's client uses it: a request longer than
 * its structure is served (the rest ignored); a REGION_INFO reply cut
 * short by a small argsz carries no fd (the client has no room for one),
 * the full reply does.
 */
START_TEST(test_argsz_foreign)
{
	int fd = raw_connect();
	bool got_fd;
	size_t n;

	/* BAR2: memory with a sparse cap; 32 bytes of room: no caps, no fd */
	n = raw_region_info(fd, VGPU_REGION_BAR2, 32, 32, &got_fd);
	ck_assert_uint_eq(n, 16 + 32);
	ck_assert(!got_fd);
	/* asked again, in an 80-byte request with room: caps and the fd */
	n = raw_region_info(fd, VGPU_REGION_BAR2, 512, 80, &got_fd);
	ck_assert_uint_gt(n, 16 + 32);
	ck_assert(got_fd);
	/* shorter than the structure: still refused */
	{
		uint8_t req[16 + 16] = { 0 };
		struct vfu_hdr h = { .msg_id = 4,
				     .cmd = VFU_CMD_DEVICE_GET_REGION_INFO,
				     .size = sizeof(req) };

		memcpy(req, &h, 16);
		raw_expect(fd, req, sizeof(req), EINVAL);
	}
	/* longer GET_INFO and IRQ_INFO requests */
	{
		uint8_t req[16 + 40] = { 0 }, rep[64];
		struct vfu_hdr h = { .msg_id = 5,
				     .cmd = VFU_CMD_DEVICE_GET_INFO,
				     .size = sizeof(req) },
			       rh;
		uint32_t argsz = 16;

		memcpy(req, &h, 16);
		memcpy(req + 16, &argsz, 4);
		ck_assert_int_eq(send(fd, req, sizeof(req), MSG_NOSIGNAL),
				 sizeof(req));
		ck_assert(raw_recv(fd, &rh, rep, sizeof(rep)));
		ck_assert_uint_eq(rh.error, 0);
		ck_assert_uint_eq(rh.size, 32);
		h.cmd = VFU_CMD_DEVICE_GET_IRQ_INFO;
		h.msg_id = 6;
		memcpy(req, &h, 16);
		ck_assert_int_eq(send(fd, req, sizeof(req), MSG_NOSIGNAL),
				 sizeof(req));
		ck_assert(raw_recv(fd, &rh, rep, sizeof(rep)));
		ck_assert_uint_eq(rh.error, 0);
		ck_assert_uint_eq(rh.size, 32);
	}
	close(fd);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_device_discovery);
	tcase_add_test(tc, test_argsz_foreign);
}

int main(void)
{
	return sim_run("region", add_tests);
}
