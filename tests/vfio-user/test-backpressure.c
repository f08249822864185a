/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clients that do not play along with the flow of messages: one that
 * floods requests and never reads a reply, one that connects and never
 * negotiates. Each may only hurt itself: it is dropped, the other devices
 * serve on, and remove and provider stop complete.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "proto.h"
#include "prov-harness.h"

/* REGION_READ of 4 KiB of BAR0: a 32-byte request, a 4 KiB reply */
static int flood_one(int fd, uint16_t id)
{
	struct {
		struct vfu_hdr h;
		struct vfu_region_access a;
	} __attribute__((packed)) m = {
		.h = { .msg_id = id, .cmd = VFU_CMD_REGION_READ,
		       .size = sizeof(m) },
		.a = { .offset = 0, .region = 0, .count = 4096 },
	};

	return send(fd, &m, sizeof(m), MSG_NOSIGNAL) == sizeof(m) ? 0 : -errno;
}

/* never reads: sends until the provider drops it; the replies it did not
 * take are far more than the provider's per-connection queue */
static void flood_until_dropped(int fd)
{
	struct timeval tv = { .tv_sec = 30 };
	int r = 0;

	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	for (unsigned int i = 0; i < 100000 && r == 0; i++)
		r = flood_one(fd, (uint16_t)i);
	ck_assert_msg(r == -EPIPE || r == -ECONNRESET,
		      "a client that never reads was not dropped (%d)", r);
}

static void flood_mode(enum h_mode mode)
{
	struct harness h;
	struct h_usage before;
	char out[256], line[80];
	int fd;

	signal(SIGPIPE, SIG_DFL);
	h_start(&h, mode, NULL);
	h_usage(&before);
	fd = h_raw_client(h.sock[0], NULL);
	flood_until_dropped(fd);
	close(fd);
	h_check_after(&h, &before, H_DEVS);

	/* stuck with a full socket and a part-full queue: remove completes */
	fd = h_raw_client(h.sock[1], NULL);
	for (uint16_t i = 0; i < 400; i++)
		ck_assert_int_eq(flood_one(fd, i), 0);
	snprintf(line, sizeof(line), "remove %s\n", h.uuid[1]);
	h_ctl(&h, line, out, sizeof(out));
	ck_assert_str_eq(out, "ok 0\n");
	close(fd);

	/* and again on device 2, then the provider stops */
	fd = h_raw_client(h.sock[2], NULL);
	for (uint16_t i = 0; i < 400; i++)
		ck_assert_int_eq(flood_one(fd, i), 0);
	ck_assert(h_fresh_ok(&h, 0));
	h_stop(&h);
	close(fd);
}

START_TEST(test_flood_loop)
{
	flood_mode(H_LOOP);
}
END_TEST

START_TEST(test_flood_runner)
{
	flood_mode(H_RUNNER);
}
END_TEST

/* a client that connects and never (or only half) sends VERSION */
static void version_mode(enum h_mode mode)
{
	struct harness h;
	struct h_usage before;
	struct timeval tv = { .tv_sec = 30 };
	uint8_t buf[64];
	int fd;

	h_start(&h, mode, NULL);
	ck_assert_int_eq(vgpu_provider_set_version_timeout(h.p, 0), -EINVAL);
	ck_assert_int_eq(vgpu_provider_set_version_timeout(NULL, 10), -EINVAL);
	ck_assert_int_eq(vgpu_provider_set_version_timeout(h.p, 200), 0);
	h_usage(&before);
	/* silent */
	fd = h_connect(h.sock[0]);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
	/* half a header */
	fd = h_connect(h.sock[0]);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(buf, 0, 8);
	ck_assert_int_eq(send(fd, buf, 8, MSG_NOSIGNAL), 8);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
	/* back to a limit no loaded machine misses, for the checks after */
	ck_assert_int_eq(vgpu_provider_set_version_timeout(h.p, 60000), 0);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_version_loop)
{
	version_mode(H_LOOP);
}
END_TEST

START_TEST(test_version_runner)
{
	version_mode(H_RUNNER);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backpressure");
	TCase *tc = tcase_create("clients");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_flood_loop);
	tcase_add_test(tc, test_flood_runner);
	tcase_add_test(tc, test_version_loop);
	tcase_add_test(tc, test_version_runner);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
