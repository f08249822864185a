/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Device lifetime across a dispatch batch: a control-socket remove handled
 * by one event of a vgpu_provider_dispatch() batch must not leave a later
 * event of the same batch (the device's connection, its listening socket)
 * reading the freed device. The bug showed under ASan and valgrind.
 */
#include <check.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-run.h"
#include "proto.h"
#include "prov-harness.h"

static void ctl_send(struct harness *h, const char *line, int *fd)
{
	*fd = h_connect(h->ctl);
	ck_assert_int_eq(send(*fd, line, strlen(line), MSG_NOSIGNAL),
			 (ssize_t)strlen(line));
}

static void ctl_expect(int fd, const char *want)
{
	char buf[64] = { 0 };

	ck_assert_int_gt(recv(fd, buf, sizeof(buf) - 1, MSG_WAITALL), 0);
	ck_assert_str_eq(buf, want);
	close(fd);
}

/* the events queued so far, the first batch holding them all */
static void dispatch_all(struct harness *h)
{
	/* every event is queued before the first call: one batch */
	ck_assert_int_ge(vgpu_provider_dispatch(h->p, 1000), 1);
	while (vgpu_provider_dispatch(h->p, 0) > 0)
		;
}

START_TEST(test_remove_then_message)
{
	struct harness h;
	struct h_usage before;
	struct vfu_device_info di = { .argsz = sizeof(di) };
	uint8_t buf[64];
	char line[80];
	int client, ctl;

	h_start(&h, H_MANUAL, NULL);
	/* the provider's own references only: a remove frees the device */
	for (unsigned int i = 0; i < 2; i++) {
		vgpu_device_unref(h.dev[i]);
		h.dev[i] = NULL;
	}
	h_usage(&before);
	/* a client on device 0, negotiated */
	client = h_connect(h.sock[0]);
	{
		struct vfu_version v = { .major = VFU_VERSION_MAJOR,
					 .minor = VFU_VERSION_MINOR };

		h_send(client, 0, VFU_CMD_VERSION, &v, sizeof(v), NULL, 0);
	}
	dispatch_all(&h);
	ck_assert(h_recv(client, buf, buf + 16, sizeof(buf) - 16));
	/* a device in use is not removed */
	snprintf(line, sizeof(line), "remove %s\n", h.uuid[0]);
	ctl_send(&h, line, &ctl);
	dispatch_all(&h);
	ctl_expect(ctl, "err 16\n");
	/* the remove first, then a message on the device's connection: both
	 * events in one batch, in that order. The client has hung up its
	 * sending side with the message, so the remove goes ahead */
	ctl_send(&h, line, &ctl);
	usleep(1000);
	h_send(client, 1, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0);
	shutdown(client, SHUT_WR);
	dispatch_all(&h);
	ctl_expect(ctl, "ok 0\n");
	/* the client was dropped with its device */
	ck_assert(!h_recv(client, buf, buf + 16, sizeof(buf) - 16));
	close(client);

	/* a remove and a client connecting to that device, one batch */
	snprintf(line, sizeof(line), "remove %s\n", h.uuid[1]);
	ctl_send(&h, line, &ctl);
	usleep(1000);
	client = h_connect(h.sock[1]);
	dispatch_all(&h);
	ctl_expect(ctl, "ok 0\n");
	ck_assert(!h_recv(client, buf, buf + 16, sizeof(buf) - 16));
	close(client);

	h_loop_start(&h);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lifetime");
	TCase *tc = tcase_create("batch");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_remove_then_message);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
