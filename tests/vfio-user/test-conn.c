/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Connections: a second client refused, VERSION negotiation (the reply
 * names only what the client offered).
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
#include "sim-device.h"
#include "sim-fixture.h"

/* a second client is refused (EBUSY to its VERSION, under its id), not
 * left in the backlog; the first keeps working, and after it a new one
 * gets in */
START_TEST(test_second_client)
{
	struct {
		struct vfu_hdr h;
		struct vfu_version v;
	} __attribute__((packed)) msg = {
		.h = { .msg_id = 7,
		       .cmd = VFU_CMD_VERSION,
		       .size = sizeof(msg) },
	};
	struct vfu_client *c, *c2;
	struct vfu_hdr rh;
	uint8_t p[64];
	uint64_t v = 0;
	int fd;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	fd = h_connect(sock_path);
	/* the refusal answers our VERSION */
	ck_assert_int_eq(send(fd, &msg, sizeof(msg), MSG_NOSIGNAL),
			 sizeof(msg));
	ck_assert(raw_recv(fd, &rh, p, sizeof(p)));
	ck_assert_uint_eq(rh.msg_id, 7);
	ck_assert_uint_eq(rh.cmd, VFU_CMD_VERSION);
	ck_assert_uint_eq(rh.flags, VFU_F_TYPE_REPLY | VFU_F_ERROR);
	ck_assert_uint_eq(rh.error, EBUSY);
	ck_assert_uint_eq(rh.size, 16);
	ck_assert(!raw_recv(fd, &rh, p, sizeof(p)));
	close(fd);
	/* the library's own client: the same refusal, as an error */
	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c2), -EBUSY);
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0, &v, 8), 0);
	vfu_client_close(c);
	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	vfu_client_close(c);
}
END_TEST

/* the VERSION reply names only capabilities the client offered */
START_TEST(test_version_subset)
{
	char json[512];
	int fd;

	fd = raw_connect_json("{\"capabilities\":{\"max_msg_fds\":8}}", json,
			      sizeof(json));
	close(fd);
	ck_assert_str_eq(json, "{\"capabilities\":{\"max_msg_fds\":16}}");
	fd = raw_connect_json("{\"capabilities\":{\"pgsizes\":4096,"
			      "\"write_multiple\":true}}",
			      json, sizeof(json));
	close(fd);
	ck_assert_str_eq(json, "{\"capabilities\":{\"pgsizes\":4096,"
			       "\"write_multiple\":true}}");
	fd = raw_connect_json("{\"capabilities\":{\"write_multiple\":false}}",
			      json, sizeof(json));
	close(fd);
	ck_assert_str_eq(json, "{\"capabilities\":{}}");
}
END_TEST

/* VERSION: "migration" only when the client offers it and the provider
 * has the callbacks (sim-device has them) */
START_TEST(test_version_migration)
{
	char json[512];
	struct vfu_caps caps;
	int fd;

	fd = raw_connect_json(
		"{\"capabilities\":{\"migration\":{\"pgsize\":4096,"
		"\"max_bitmap_size\":268435456},\"max_msg_fds\":16,"
		"\"max_data_xfer_size\":1048576,\"pgsizes\":4096,"
		"\"max_dma_maps\":65535,\"write_multiple\":true}}",
		json, sizeof(json));
	close(fd);
	vfu_caps_default(&caps);
	ck_assert_int_eq(vfu_caps_parse(json, strlen(json) + 1, &caps), 0);
	ck_assert_uint_eq(caps.mig_pgsize, 4096);
	ck_assert_uint_eq(caps.mig_max_bitmap, 1u << 20);
	ck_assert(strstr(json, "\"migration\":{\"pgsize\":4096,"
			       "\"max_bitmap_size\":1048576}"));
	/* not offered: not in the reply */
	fd = raw_connect_json("{\"capabilities\":{\"max_msg_fds\":16}}", json,
			      sizeof(json));
	close(fd);
	ck_assert_ptr_null(strstr(json, "migration"));
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_second_client);
	tcase_add_test(tc, test_version_subset);
	tcase_add_test(tc, test_version_migration);
}

int main(void)
{
	return sim_run("conn", add_tests);
}
