/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The provider control socket against slow and silent peers: the time limit
 * is per request, not per recv(), so a peer dribbling its line one byte at
 * a time is dropped once the limit has passed.
 */
#include <check.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-run.h"
#include "prov-harness.h"

/* each byte 400 ms after the last: the line takes 2 s, twice the limit of
 * the whole request; the old per-recv() limit let it through */
static int dribble(struct harness *h, const char *line, char *out, size_t max)
{
	int fd = h_connect(h->ctl);
	size_t len = 0;

	for (const char *c = line; *c; c++) {
		usleep(400 * 1000);
		if (send(fd, c, 1, MSG_NOSIGNAL) != 1)
			break; /* dropped already */
	}
	while (len + 1 < max) {
		ssize_t n = recv(fd, out + len, max - 1 - len, 0);

		if (n <= 0)
			break;
		len += (size_t)n;
	}
	out[len] = '\0';
	close(fd);
	return (int)len;
}

static void test_dribble_mode(enum h_mode mode)
{
	struct harness h;
	struct h_usage before;
	char out[256];

	h_start(&h, mode, NULL);
	h_usage(&before);
	dribble(&h, "list\n", out, sizeof(out));
	/* dropped: nothing, or the timeout; never served */
	ck_assert_msg(out[0] == '\0' || !strcmp(out, "err 110\n"),
		      "a 2-second request line was answered: %s", out);
	/* a prompt request is still answered */
	h_ctl(&h, "list\n", out, sizeof(out));
	ck_assert_int_eq(strncmp(out, "ok 3\n", 5), 0);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_dribble_loop)
{
	test_dribble_mode(H_LOOP);
}
END_TEST

START_TEST(test_dribble_runner)
{
	test_dribble_mode(H_RUNNER);
}
END_TEST

/* a peer that connects and sends nothing is dropped too */
START_TEST(test_silent)
{
	struct harness h;
	struct h_usage before;
	char out[64];
	int fd;
	ssize_t n;

	h_start(&h, H_LOOP, NULL);
	h_usage(&before);
	fd = h_connect(h.ctl);
	n = recv(fd, out, sizeof(out) - 1, 0);
	ck_assert_int_ge(n, 0);
	out[n] = '\0';
	ck_assert(n == 0 || !strcmp(out, "err 110\n"));
	close(fd);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("control");
	TCase *tc = tcase_create("deadline");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_dribble_loop);
	tcase_add_test(tc, test_dribble_runner);
	tcase_add_test(tc, test_silent);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
