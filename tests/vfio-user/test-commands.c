/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Hostile input through the dispatcher: a table of {bytes, fds, expected
 * errno} rows, each sent as every command number of the wire table (and
 * the unknown numbers around it) to a live provider by a raw client. Every
 * message gets exactly one answer with its id, the connection stays in
 * step, no fd it carried is kept, and the other devices serve on.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-run.h"
#include "proto.h"
#include "prov-harness.h"

#define ANY 0 /* any answer: an error reply or a reply */

static const struct row {
	const char *what;
	uint8_t fill;  /* payload byte */
	size_t len;    /* payload bytes */
	int extra_fds; /* fds beyond what the command allows */
	int expect;    /* errno for every known command, or ANY */
} rows[] = {
	{ "one fd too many", 0, 0, 1, EINVAL },
	{ "one fd too many, 64 bytes of 0xff", 0xff, 64, 1, EINVAL },
	{ "four fds too many, 24 bytes of 0", 0, 24, 4, EINVAL },
	{ "1 byte", 0xff, 1, 0, ANY },
	{ "7 bytes of 0", 0, 7, 0, ANY },
	{ "64 bytes of 0xff", 0xff, 64, 0, ANY },
	{ "64 bytes of 0", 0, 64, 0, ANY },
	{ "4 KiB of 0xff", 0xff, 4096, 0, ANY },
	{ "allowed fds, 32 bytes of 0xff", 0xff, 32, 0, ANY },
};

/* send @cmd as @r describes; the answer's errno (0 for a reply) */
static int send_row(int sock, uint16_t id, uint16_t cmd, unsigned int nfds,
		    const struct row *r)
{
	static uint8_t payload[4096];
	int fds[16];
	struct vfu_hdr h;
	uint8_t p[256];

	ck_assert_uint_le(nfds, 16);
	ck_assert_uint_le(r->len, sizeof(payload));
	memset(payload, r->fill, r->len);
	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = eventfd(0, EFD_CLOEXEC);
	h_send(sock, id, cmd, payload, r->len, fds, nfds);
	for (unsigned int i = 0; i < nfds; i++)
		close(fds[i]);
	ck_assert_msg(h_recv(sock, &h, p, sizeof(p)),
		      "command %u, %s: no answer", cmd, r->what);
	ck_assert_uint_eq(h.msg_id, id);
	ck_assert_uint_eq(h.cmd, cmd);
	ck_assert_uint_eq(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
	return (int)h.error;
}

/* the connection is in step: GET_INFO is answered as itself */
static void in_step(int sock)
{
	struct vfu_device_info di = { .argsz = sizeof(di) };
	struct vfu_hdr h;
	uint8_t p[64];

	h_send(sock, 0xbeef, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0);
	ck_assert(h_recv(sock, &h, p, sizeof(p)));
	ck_assert_uint_eq(h.msg_id, 0xbeef);
	ck_assert_uint_eq(h.error, 0);
}

static void walk(enum h_mode mode)
{
	struct harness h;
	struct h_usage before;
	unsigned int known = 0;
	uint16_t id = 1;
	int sock;

	h_start(&h, mode, NULL);
	h_usage(&before);
	sock = h_raw_client(h.sock[0], NULL);
	for (unsigned int cmd = 0; cmd <= VFU_CMD_MAX + 4; cmd++) {
		const struct vfu_command *c = vfu_command_find((uint16_t)cmd);

		if (!c) {
			struct row r = { "unknown command", 0, 8, 0, ENOSYS };

			ck_assert_int_eq(
				send_row(sock, id++, (uint16_t)cmd, 0, &r),
				ENOSYS);
			in_step(sock);
			continue;
		}
		known++;
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			const struct row *r = &rows[i];
			unsigned int nfds = c->max_fds > 16 ? 16 : c->max_fds;
			int e;

			if (r->extra_fds &&
			    nfds + (unsigned int)r->extra_fds > 16)
				continue;
			e = send_row(sock, id++, (uint16_t)cmd,
				     r->extra_fds
					     ? nfds + (unsigned int)r->extra_fds
					     : (r->len == 32 ? nfds : 0),
				     r);
			if (r->expect != ANY)
				ck_assert_msg(e == r->expect,
					      "%s: %s gave %d, not %d", c->name,
					      r->what, e, r->expect);
			in_step(sock);
		}
	}
	ck_assert_uint_eq(known, 17);
	close(sock);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_walk_loop)
{
	walk(H_LOOP);
}
END_TEST

START_TEST(test_walk_runner)
{
	walk(H_RUNNER);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("commands");
	TCase *tc = tcase_create("table");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_walk_loop);
	tcase_add_test(tc, test_walk_runner);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
