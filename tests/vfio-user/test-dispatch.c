/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Dispatch against a raw, hostile client: unknown commands, out-of-range
 * accesses, extra fds, broken framing, commands before VERSION, a peer
 * that vanishes mid-message; the device keeps serving.
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
#include "prov-harness.h"
#include "provider-child.h"
#include "sim-device.h"
#include "sim-fixture.h"

START_TEST(test_hostile_client)
{
	struct vfu_hdr h = { .cmd = 99, .size = 16 };
	struct vfu_client *c;
	int fd, before;
	uint32_t v;

	/* unknown command: error reply, the connection stays */
	fd = raw_connect();
	raw_expect(fd, &h, sizeof(h), ENOSYS);
	/* out-of-range region accesses */
	{
		struct {
			struct vfu_hdr h;
			struct vfu_region_access a;
		} __attribute__((packed)) m = {
			.h = { .cmd = VFU_CMD_REGION_READ, .size = 32 },
			.a = { .offset = 4094, .region = 0, .count = 4 },
		};

		raw_expect(fd, &m, sizeof(m), EINVAL);
		m.a.offset = 0;
		m.a.region = 9;
		raw_expect(fd, &m, sizeof(m), EINVAL);
		m.a.region = 7;
		m.a.offset = 4096;
		raw_expect(fd, &m, sizeof(m), EINVAL);
		m.a.region = 3; /* not set up */
		m.a.offset = 0;
		raw_expect(fd, &m, sizeof(m), EINVAL);
	}
	/* extra fds on a command that takes none are closed */
	before = child_fds(sim);
	{
		struct {
			struct vfu_hdr h;
			struct vfu_device_info i;
		} __attribute__((packed)) m = {
			.h = { .cmd = VFU_CMD_DEVICE_GET_INFO, .size = 32 },
			.i = { .argsz = 16 },
		};
		int efd = eventfd(0, EFD_CLOEXEC), fds[3] = { efd, efd, efd };
		struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
		union {
			char b[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr a;
		} ctrl;
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctrl.b,
				     .msg_controllen = sizeof(ctrl.b) };
		struct cmsghdr *cm;
		struct vfu_hdr rh;

		memset(&ctrl, 0, sizeof(ctrl));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		ck_assert_int_eq(sendmsg(fd, &mh, 0), sizeof(m));
		ck_assert_int_eq(read(fd, &rh, sizeof(rh)), 16);
		ck_assert_int_eq(rh.error, EINVAL);
		close(efd);
	}
	ck_assert_int_eq(child_fds(sim), before);
	/* a size below the header breaks framing: disconnected */
	h.cmd = VFU_CMD_DEVICE_RESET;
	h.size = 8;
	raw_expect(fd, &h, sizeof(h), 0);
	close(fd);

	/* a size above the limit: disconnected */
	fd = raw_connect();
	h.size = VFU_MAX_MSG_SIZE + 1;
	raw_expect(fd, &h, sizeof(h), 0);
	close(fd);

	/* commands before VERSION: error, then disconnected */
	{
		struct vfu_hdr rh;

		fd = h_connect(sock_path);
		h.size = 16;
		ck_assert_int_eq(write(fd, &h, 16), 16);
		ck_assert_int_eq(read(fd, &rh, 16), 16);
		ck_assert_int_eq(rh.error, EINVAL);
		ck_assert_int_eq(read(fd, &rh, 16), 0);
		close(fd);
	}

	/* a peer that vanishes mid-message */
	fd = raw_connect();
	h.size = 64;
	ck_assert_int_eq(write(fd, &h, 16), 16);
	close(fd);

	/* the device still serves the next client, state kept */
	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	v = 77;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 4), 0);
	vfu_client_close(c);
	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0, &v, 4), 0);
	ck_assert_uint_eq(v, 77);
	vfu_client_close(c);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_hostile_client);
}

int main(void)
{
	return sim_run("dispatch", add_tests);
}
