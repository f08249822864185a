/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Interrupt fds from a hostile client: only eventfds are taken, and raising
 * an interrupt never blocks and never raises SIGPIPE, whatever the client
 * did to the fd (a pipe, a counter preset to its maximum, O_NONBLOCK
 * cleared again, its own copy closed).
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include "check-run.h"
#include "proto.h"
#include "prov-harness.h"

/* SET_IRQS DATA_EVENTFD|ACTION_TRIGGER for MSI vector 0 with @fd: the
 * reply's errno */
static uint32_t set_irq_fd(int sock, uint16_t id, int fd)
{
	struct vfu_irq_set s = {
		.argsz = sizeof(s),
		.flags = VFU_IRQ_DATA_EVENTFD | VFU_IRQ_ACTION_TRIGGER,
		.index = VGPU_IRQ_MSI,
		.start = 0,
		.count = 1,
	};
	struct vfu_hdr h;
	uint8_t p[64];

	h_send(sock, id, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), &fd, 1);
	ck_assert(h_recv(sock, &h, p, sizeof(p)));
	ck_assert_uint_eq(h.msg_id, id);
	return h.error;
}

/* SET_IRQS DATA_NONE|ACTION_TRIGGER on vector 0: the client raises it
 * itself, through the provider's write to the fd */
static uint32_t client_trigger(int sock, uint16_t id)
{
	struct vfu_irq_set s = {
		.argsz = sizeof(s),
		.flags = VFU_IRQ_DATA_NONE | VFU_IRQ_ACTION_TRIGGER,
		.index = VGPU_IRQ_MSI,
		.start = 0,
		.count = 1,
	};
	struct vfu_hdr h;
	uint8_t p[64];

	h_send(sock, id, VFU_CMD_DEVICE_SET_IRQS, &s, sizeof(s), NULL, 0);
	ck_assert(h_recv(sock, &h, p, sizeof(p)));
	return h.error;
}

static void irq_fds_mode(enum h_mode mode)
{
	struct harness h;
	struct h_usage before;
	struct vgpu_device *d;
	uint64_t v;
	int sock, pfd[2], efd, tfd, mfd;

	/* SIGPIPE kills, as in a provider that did not ignore it */
	signal(SIGPIPE, SIG_DFL);
	h_start(&h, mode, NULL);
	d = h.dev[0];
	h_usage(&before);
	sock = h_raw_client(h.sock[0], NULL);

	/* not eventfds: a pipe (whose reader is gone, too), a timerfd, a
	 * memfd, a socket */
	ck_assert_int_eq(pipe2(pfd, O_CLOEXEC), 0);
	ck_assert_uint_eq(set_irq_fd(sock, 1, pfd[1]), EINVAL);
	close(pfd[0]);
	ck_assert_uint_eq(set_irq_fd(sock, 2, pfd[1]), EINVAL);
	close(pfd[1]);
	tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC);
	ck_assert_uint_eq(set_irq_fd(sock, 3, tfd), EINVAL);
	close(tfd);
	mfd = memfd_create("irq", MFD_CLOEXEC);
	ck_assert_uint_eq(set_irq_fd(sock, 4, mfd), EINVAL);
	close(mfd);
	ck_assert_uint_eq(set_irq_fd(sock, 5, sock), EINVAL);
	/* nothing was taken */
	ck_assert_int_eq(vgpu_device_irq_trigger(d, VGPU_IRQ_MSI, 0),
			 -ENOTCONN);

	/* an eventfd whose counter the client preset to the maximum: the
	 * interrupt is pending already; nothing blocks */
	efd = eventfd(0, EFD_CLOEXEC);
	v = 0xfffffffffffffffeull;
	ck_assert_int_eq(write(efd, &v, 8), 8);
	ck_assert_uint_eq(set_irq_fd(sock, 6, efd), 0);
	ck_assert_int_eq(vgpu_device_irq_trigger(d, VGPU_IRQ_MSI, 0), 0);
	ck_assert_uint_eq(client_trigger(sock, 7), 0);
	/* the client makes its description blocking again */
	ck_assert_int_eq(fcntl(efd, F_SETFL, 0), 0);
	ck_assert_int_eq(vgpu_device_irq_trigger(d, VGPU_IRQ_MSI, 0), 0);
	ck_assert_uint_eq(client_trigger(sock, 8), 0);
	/* the client reads: the next interrupt arrives */
	ck_assert_int_eq(read(efd, &v, 8), 8);
	ck_assert_int_eq(vgpu_device_irq_trigger(d, VGPU_IRQ_MSI, 0), 0);
	ck_assert_int_eq(read(efd, &v, 8), 8);
	ck_assert_uint_eq(v, 1);
	/* the client's copy gone: still harmless */
	close(efd);
	ck_assert_int_eq(vgpu_device_irq_trigger(d, VGPU_IRQ_MSI, 0), 0);

	/* a reader that goes away with replies in flight: no SIGPIPE */
	{
		struct vfu_device_info di = { .argsz = sizeof(di) };

		for (uint16_t i = 0; i < 256; i++)
			h_send(sock, i, VFU_CMD_DEVICE_GET_INFO, &di,
			       sizeof(di), NULL, 0);
	}
	close(sock);
	/* every device serves, the attacked one too */
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_irq_fds_loop)
{
	irq_fds_mode(H_LOOP);
}
END_TEST

START_TEST(test_irq_fds_runner)
{
	irq_fds_mode(H_RUNNER);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("irq");
	TCase *tc = tcase_create("fds");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_irq_fds_loop);
	tcase_add_test(tc, test_irq_fds_runner);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
