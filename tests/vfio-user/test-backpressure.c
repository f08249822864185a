/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Clients that do not play along with the flow of messages: one that
 * floods requests and never reads a reply, one that connects and never
 * negotiates, one that hangs up with replies queued for it, second
 * clients of a device in use. Each may only hurt itself: it is dropped, the other devices
 * serve on, and remove and provider stop complete.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <linux/sockios.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "check-run.h"
#include "proto.h"
#include "prov-harness.h"

/* REGION_READ of 4 KiB of BAR0: a 32-byte request, a 4 KiB reply */
static int flood_one(int fd, uint16_t id)
{
	struct {
		struct vfu_hdr h;
		struct vfu_region_access a;
	} __attribute__((packed)) m = {
		.h = { .msg_id = id,
		       .cmd = VFU_CMD_REGION_READ,
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

	/* stuck with a full socket and a part-full queue: remove answers at
	 * once (refused: the device is in use), and once the client has hung
	 * up its sending side (still not reading), completes */
	fd = h_raw_client(h.sock[1], NULL);
	for (uint16_t i = 0; i < 400; i++)
		ck_assert_int_eq(flood_one(fd, i), 0);
	snprintf(line, sizeof(line), "remove %s\n", h.uuid[1]);
	h_ctl(&h, line, out, sizeof(out));
	ck_assert_str_eq(out, "err 16\n");
	shutdown(fd, SHUT_WR);
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

/*
 * A client that hangs up while replies wait in the provider's queue for
 * it (it never read): the provider drops it, whichever thread sees the
 * hang-up first (in runner mode the one that sends the queue on, or the
 * connection's own thread), and the device takes a new client.
 */
static void hangup_mode(enum h_mode mode)
{
	struct harness h;
	struct h_usage before;
	int fd, left = 1;

	signal(SIGPIPE, SIG_DFL);
	h_start(&h, mode, NULL);
	h_usage(&before);
	fd = h_raw_client(h.sock[0], NULL);
	/* 1.6 MiB of replies: more than the socket, less than the queue */
	for (uint16_t i = 0; i < 400; i++)
		ck_assert_int_eq(flood_one(fd, i), 0);
	/* until the provider has read every request (bounded: a provider
	 * that stopped reading fails the test instead of hanging it) */
	for (int i = 0; i < 30000 && left; i++) {
		ck_assert_int_eq(ioctl(fd, SIOCOUTQ, &left), 0);
		if (left)
			usleep(1000);
	}
	ck_assert_int_eq(left, 0);
	close(fd);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_hangup_loop)
{
	hangup_mode(H_LOOP);
}
END_TEST

START_TEST(test_hangup_runner)
{
	hangup_mode(H_RUNNER);
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

/* the provider's bound on refused clients kept per device (REFUSE_MAX) */
#define PENDING_MAX 4
#define FLOOD	    32

/* a VERSION request with @id, sent whole or in two parts */
static void send_version(int fd, uint16_t id, bool halves)
{
	struct {
		struct vfu_hdr h;
		struct vfu_version v;
	} __attribute__((packed)) m = {
		.h = { .msg_id = id,
		       .cmd = VFU_CMD_VERSION,
		       .size = sizeof(m) },
		.v = { .major = VFU_VERSION_MAJOR, .minor = VFU_VERSION_MINOR },
	};

	if (halves) {
		ck_assert_int_eq(send(fd, &m, 8, MSG_NOSIGNAL), 8);
		ck_assert_int_eq(
			send(fd, (char *)&m + 8, sizeof(m) - 8, MSG_NOSIGNAL),
			sizeof(m) - 8);
	} else {
		ck_assert_int_eq(send(fd, &m, sizeof(m), MSG_NOSIGNAL),
				 sizeof(m));
	}
}

/* an EBUSY error reply to VERSION @id, then EOF */
static void expect_refusal(int fd, uint16_t id)
{
	struct timeval tv = { .tv_sec = 30 };
	struct vfu_hdr rh;
	uint8_t p[64];

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert(h_recv(fd, &rh, p, sizeof(p)));
	ck_assert_uint_eq(rh.msg_id, id);
	ck_assert_uint_eq(rh.cmd, VFU_CMD_VERSION);
	ck_assert_uint_eq(rh.flags, VFU_F_TYPE_REPLY | VFU_F_ERROR);
	ck_assert_uint_eq(rh.error, EBUSY);
	ck_assert_uint_eq(rh.size, sizeof(rh));
	ck_assert(!h_recv(fd, &rh, p, sizeof(p)));
}

/* the device's client reads its scratch register */
static void first_works(int fd, uint16_t id)
{
	struct vfu_region_access a = { .offset = 0, .region = 0, .count = 8 };
	struct vfu_hdr rh;
	uint8_t p[64];

	h_send(fd, id, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0);
	ck_assert(h_recv(fd, &rh, p, sizeof(p)));
	ck_assert_uint_eq(rh.msg_id, id);
	ck_assert_uint_eq(rh.flags, VFU_F_TYPE_REPLY);
}

/*
 * Second clients of a device in use: the VERSION of one gets an EBUSY
 * error reply under its own id (also when it comes in two parts), one
 * that sends nothing is dropped at the VERSION deadline without an
 * answer, and a flood keeps at most PENDING_MAX of them (the others are
 * answered at once, to id 0) while the first client keeps working.
 */
static void second_mode(enum h_mode mode)
{
	struct timeval tv = { .tv_sec = 30 };
	struct harness h;
	struct h_usage before, during;
	int first, fd, flood[FLOOD];
	uint8_t buf[64];

	h_start(&h, mode, NULL);
	ck_assert_int_eq(vgpu_provider_set_version_timeout(h.p, 60000), 0);
	h_usage(&before);
	first = h_raw_client(h.sock[0], NULL);

	fd = h_connect(h.sock[0]);
	send_version(fd, 7, false);
	expect_refusal(fd, 7);
	close(fd);
	fd = h_connect(h.sock[0]);
	send_version(fd, 9, true);
	expect_refusal(fd, 9);
	close(fd);
	first_works(first, 1);

	/* a flood of silent ones: the first PENDING_MAX wait (the backlog
	 * is accepted in order), the others are refused at once */
	for (unsigned int i = 0; i < FLOOD; i++)
		flood[i] = h_connect(h.sock[0]);
	for (unsigned int i = PENDING_MAX; i < FLOOD; i++) {
		expect_refusal(flood[i], 0);
		close(flood[i]);
	}
	first_works(first, 2);
	h_usage(&during);
	/* ours: the first client and PENDING_MAX; the provider's: a socket
	 * and a timer for each waiting one; slack for the sanitizers */
	ck_assert_msg(during.fds <= before.fds + 1 + 3 * PENDING_MAX + 2,
		      "fds %u -> %u with %u refused clients waiting",
		      before.fds, during.fds, PENDING_MAX);
	for (unsigned int i = 0; i < PENDING_MAX; i++) {
		send_version(flood[i], (uint16_t)(100 + i), false);
		expect_refusal(flood[i], (uint16_t)(100 + i));
		close(flood[i]);
	}

	/* silent: dropped at the deadline, no answer */
	ck_assert_int_eq(vgpu_provider_set_version_timeout(h.p, 200), 0);
	fd = h_connect(h.sock[0]);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
	/* and half a VERSION is none */
	fd = h_connect(h.sock[0]);
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	memset(buf, 0, sizeof(buf));
	ck_assert_int_eq(send(fd, buf, 8, MSG_NOSIGNAL), 8);
	ck_assert_int_eq(recv(fd, buf, sizeof(buf), 0), 0);
	close(fd);
	ck_assert_int_eq(vgpu_provider_set_version_timeout(h.p, 60000), 0);

	first_works(first, 3);
	close(first);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_second_loop)
{
	second_mode(H_LOOP);
}
END_TEST

START_TEST(test_second_runner)
{
	second_mode(H_RUNNER);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("backpressure");
	TCase *tc = tcase_create("clients");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_flood_loop);
	tcase_add_test(tc, test_flood_runner);
	tcase_add_test(tc, test_hangup_loop);
	tcase_add_test(tc, test_hangup_runner);
	tcase_add_test(tc, test_version_loop);
	tcase_add_test(tc, test_version_runner);
	tcase_add_test(tc, test_second_loop);
	tcase_add_test(tc, test_second_runner);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
