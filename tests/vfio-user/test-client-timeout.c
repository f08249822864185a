/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The bounded wait of the vfio-user device handle: a provider process
 * that is stopped (SIGSTOP), a scripted server that accepts and never
 * answers, and one that answers half a reply make the call fail with
 * -ETIMEDOUT, as does one that stops reading our request; the handle is then broken (every later call fails at once
 * with the same error), keeps its fds and unrefs cleanly. A server that is
 * slow but keeps sending (a reply trickled over more than the timeout)
 * still works, and so does a 1 MiB reply that takes more than twice the
 * bound to arrive: the bound is on an exchange that makes no progress.
 * VGPU_PROVIDER_TIMEOUT_MS is 2000 ms here. No test measures time.
 */
#include <check.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "check-run.h"
#include "client.h"
#include "libvgpu.h"
#include "proto.h"
#include "provider-child.h"
#include "sim-device.h"

static char tmp[64], run[96];
static struct vgpu_ctx *ctx;

static int count_fds(void)
{
	return child_fds(getpid());
}

static void setup(void)
{
	strcpy(tmp, "/tmp/vgpu-timeout-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(run, sizeof(run), "%s/run", tmp);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, tmp), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, run), 0);
}

static void teardown(void)
{
	char cmd[128];

	vgpu_ctx_unref(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

/* after a timeout: every call fails at once with -ETIMEDOUT, no fd moves */
static void check_broken(struct vgpu_handle *h, int fds)
{
	uint32_t v;

	ck_assert_int_eq(vgpu_handle_reset(h), -ETIMEDOUT);
	ck_assert_int_eq(vgpu_handle_config_read(h, 0, 4, &v), -ETIMEDOUT);
	ck_assert_int_eq(vgpu_handle_service(h), -ETIMEDOUT);
	ck_assert_int_eq(count_fds(), fds);
}

START_TEST(test_stopped_provider)
{
	struct vgpu_handle *h = NULL;
	char path[108];
	int before, fds;
	pid_t sim;

	/* by its socket: no management request, only the device's bound */
	snprintf(path, sizeof(path), "%s/sim.sock", tmp);
	sim = sim_start(path);
	ck_assert_int_gt(sim, 0);
	before = count_fds();
	ck_assert_int_eq(vgpu_handle_open_socket(ctx, path, 0, &h), 0);
	ck_assert_int_eq(vgpu_handle_reset(h), 0);
	fds = count_fds();
	ck_assert_int_eq(kill(sim, SIGSTOP), 0);
	ck_assert_int_eq(vgpu_handle_reset(h), -ETIMEDOUT);
	check_broken(h, fds);
	/* a provider that wakes up does not revive the handle */
	ck_assert_int_eq(kill(sim, SIGCONT), 0);
	ck_assert_int_eq(vgpu_handle_reset(h), -ETIMEDOUT);
	vgpu_handle_unref(h);
	ck_assert_int_eq(count_fds(), before);
	child_stop(sim);
}
END_TEST

/* what the unreachable function heard: "backend parent error" */
static char heard[128];

static void note_unreachable(struct vgpu_ctx *c, const char *backend,
			     const char *parent_id, int error, void *userdata)
{
	(void)c;
	(void)userdata;
	snprintf(heard + strlen(heard), sizeof(heard) - strlen(heard),
		 "%s %s %d\n", backend, parent_id, error);
}

/* a provider that stops answering between its listing and its types: a
 * listing of many parents' types fails with it, or, with an unreachable
 * function, leaves it out and says so */
START_TEST(test_types_of_a_stopped_provider)
{
	struct vgpu_type **types = (struct vgpu_type **)&types;
	struct vgpu_parent *p = NULL;
	size_t n = 7, counts[1] = { 7 };
	pid_t sim = sim_start_managed(run);

	ck_assert_int_gt(sim, 0);
	ck_assert_int_eq(vgpu_parent_get(ctx, "sim0", &p), 0);
	ck_assert_int_eq(vgpu_type_list_many(&p, 1, &types, &n, counts), 0);
	ck_assert_uint_gt(n, 0);
	ck_assert_uint_eq(counts[0], n);
	vgpu_type_list_free(types, n);
	ck_assert_int_eq(kill(sim, SIGSTOP), 0);
	n = 7;
	ck_assert_int_eq(vgpu_type_list_many(&p, 1, &types, &n, counts),
			 -ETIMEDOUT);
	ck_assert_uint_eq(n, 7);
	heard[0] = '\0';
	vgpu_ctx_set_unreachable_fn(ctx, note_unreachable, NULL);
	ck_assert_int_eq(vgpu_type_list_many(&p, 1, &types, &n, counts), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_uint_eq(counts[0], 0);
	vgpu_type_list_free(types, n);
	ck_assert_str_eq(heard, "vfio-user sim0 -110\n");
	/* one parent's types: a look-up, no partial answer to give */
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), -ETIMEDOUT);
	ck_assert_int_eq(kill(sim, SIGCONT), 0);
	vgpu_parent_unref(p);
	child_stop(sim);
}
END_TEST

enum mode {
	SILENT,
	HALF,
	SLOW,
	DEAF
};

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000 };

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void reply(int c, const struct vfu_hdr *req, const void *a, size_t alen,
		  const void *b, size_t blen)
{
	struct vfu_hdr h = { .msg_id = req->msg_id,
			     .cmd = req->cmd,
			     .flags = VFU_F_TYPE_REPLY };
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };

	if (vfu_send(c, &h, iov, 2, NULL, 0) < 0)
		_exit(3);
}

/* a reply sent in pieces of @piece bytes, @gap ms apart */
static void reply_slowly(int c, const struct vfu_hdr *req, size_t piece,
			 long gap)
{
	struct vfu_hdr h = { .msg_id = req->msg_id,
			     .cmd = req->cmd,
			     .flags = VFU_F_TYPE_REPLY,
			     .size = sizeof(h) };
	const uint8_t *p = (const uint8_t *)&h;

	for (size_t done = 0; done < sizeof(h); done += piece) {
		size_t n = sizeof(h) - done < piece ? sizeof(h) - done : piece;

		sleep_ms(gap);
		if (write(c, p + done, n) != (ssize_t)n)
			_exit(3);
	}
}

/* a REGION_READ of up to 1 MiB answered in 32 KiB pieces 150 ms apart:
 * 4.8 s for 1 MiB, more than twice the bound, never silent for long */
static void read_slowly(int c, const struct vfu_msg *m)
{
	struct vfu_region_access a;
	struct vfu_hdr h = { .msg_id = m->hdr.msg_id,
			     .cmd = m->hdr.cmd,
			     .flags = VFU_F_TYPE_REPLY };
	uint8_t *buf;
	size_t len, piece = 32 << 10;

	memcpy(&a, m->payload, sizeof(a));
	if (a.count > VFU_MAX_DATA_XFER)
		_exit(4);
	len = sizeof(h) + sizeof(a) + a.count;
	buf = malloc(len);
	if (!buf)
		_exit(4);
	h.size = (uint32_t)len;
	memcpy(buf, &h, sizeof(h));
	memcpy(buf + sizeof(h), &a, sizeof(a));
	for (uint32_t i = 0; i < a.count; i++)
		buf[sizeof(h) + sizeof(a) + i] = (uint8_t)(a.offset + i);
	for (size_t done = 0; done < len;) {
		size_t n = len - done < piece ? len - done : piece;
		ssize_t w;

		sleep_ms(150);
		w = write(c, buf + done, n);
		if (w <= 0)
			_exit(3);
		done += (size_t)w;
	}
	free(buf);
}

static void serve(int lfd, enum mode mode)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8,"
				   "\"max_data_xfer_size\":1048576}}";
	struct vfu_reader rx;
	int c = accept(lfd, NULL, NULL);

	if (c < 0)
		_exit(2);
	vfu_reader_init(&rx);
	if (mode == SILENT)
		for (;;)
			pause();
	for (;;) {
		struct vfu_msg m;

		if (vfu_reader_next(&rx, c, &m, 0) < 0)
			_exit(0);
		vfu_msg_close_fds(&m, 0);
		switch (m.hdr.cmd) {
		case VFU_CMD_VERSION: {
			struct vfu_version v = { 0, 0 };

			reply(c, &m.hdr, &v, sizeof(v), json, sizeof(json));
			break;
		}
		case VFU_CMD_DEVICE_GET_INFO: {
			struct vfu_device_info di = {
				.argsz = sizeof(di),
				.flags = VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET,
			};

			reply(c, &m.hdr, &di, sizeof(di), NULL, 0);
			if (mode == DEAF) /* reads nothing more */
				for (;;)
					pause();
			break;
		}
		case VFU_CMD_DEVICE_RESET:
			if (mode == HALF) {
				/* half a header, then nothing */
				if (write(c, &m.hdr, 8) != 8)
					_exit(3);
				for (;;)
					pause();
			}
			/* 16 bytes, 1 a time, 150 ms apart: over the
			 * 2000 ms bound in all, never silent for long */
			reply_slowly(c, &m.hdr, 1, 150);
			break;
		case VFU_CMD_REGION_READ:
			if (mode == SLOW &&
			    m.len == sizeof(struct vfu_region_access)) {
				read_slowly(c, &m);
				break;
			}
			/* fall through */
		default:
			vfu_send_error(c, &m.hdr, -EINVAL);
		}
	}
}

static pid_t start_server(enum mode mode, char *path, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	pid_t pid;

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/server.sock", tmp);
	snprintf(path, size, "%s", sa.sun_path);
	ck_assert_int_ge(lfd, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		signal(SIGTERM, SIG_DFL);
		serve(lfd, mode);
		_exit(0);
	}
	close(lfd);
	return pid;
}

static void stop_server(pid_t pid)
{
	int st;

	kill(pid, SIGKILL);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
}

START_TEST(test_silent_server)
{
	struct vgpu_handle *h = NULL;
	char path[108];
	int before = count_fds();
	pid_t pid = start_server(SILENT, path, sizeof(path));

	/* VERSION is never answered: the open fails, nothing leaks */
	ck_assert_int_eq(vgpu_handle_open_socket(ctx, path, 0, &h), -ETIMEDOUT);
	ck_assert_ptr_null(h);
	ck_assert_int_eq(count_fds(), before);
	stop_server(pid);
}
END_TEST

START_TEST(test_half_reply)
{
	struct vgpu_handle *h = NULL;
	char path[108];
	int before = count_fds(), fds;
	pid_t pid = start_server(HALF, path, sizeof(path));

	ck_assert_int_eq(vgpu_handle_open_socket(ctx, path, 0, &h), 0);
	fds = count_fds();
	ck_assert_int_eq(vgpu_handle_reset(h), -ETIMEDOUT);
	check_broken(h, fds);
	vgpu_handle_unref(h);
	ck_assert_int_eq(count_fds(), before);
	stop_server(pid);
}
END_TEST

START_TEST(test_slow_server)
{
	struct vgpu_handle *h = NULL;
	char path[108];
	int before = count_fds();
	pid_t pid = start_server(SLOW, path, sizeof(path));

	ck_assert_int_eq(vgpu_handle_open_socket(ctx, path, 0, &h), 0);
	ck_assert_int_eq(vgpu_handle_reset(h), 0);
	ck_assert_int_eq(vgpu_handle_reset(h), 0);
	vgpu_handle_unref(h);
	ck_assert_int_eq(count_fds(), before);
	stop_server(pid);
}
END_TEST

/* the bound is per exchange without progress, not per call: 1 MiB that
 * keeps coming over more than twice the bound is read whole */
START_TEST(test_slow_large_transfer)
{
	struct vfu_client *c = NULL;
	char path[108];
	int before = count_fds();
	pid_t pid = start_server(SLOW, path, sizeof(path));
	uint8_t *buf = malloc(VFU_MAX_DATA_XFER);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(vfu_client_connect(ctx, path, &c), 0);
	ck_assert_int_eq(
		vfu_client_region_read(c, 0, 7, buf, VFU_MAX_DATA_XFER), 0);
	for (uint32_t i = 0; i < VFU_MAX_DATA_XFER; i++)
		if (buf[i] != (uint8_t)(7 + i))
			ck_abort_msg("byte %u differs", i);
	ck_assert_int_eq(vfu_client_reset(c), 0);
	vfu_client_close(c);
	free(buf);
	ck_assert_int_eq(count_fds(), before);
	stop_server(pid);
}
END_TEST

/* a provider that stops reading: our 1 MiB request cannot be sent whole */
START_TEST(test_deaf_server)
{
	struct vfu_client *c = NULL;
	struct vfu_device_info di;
	char path[108];
	int before = count_fds(), fds;
	pid_t pid = start_server(DEAF, path, sizeof(path));
	uint8_t *buf = calloc(1, VFU_MAX_DATA_XFER);

	ck_assert_ptr_nonnull(buf);
	ck_assert_int_eq(vfu_client_connect(ctx, path, &c), 0);
	ck_assert_int_eq(vfu_client_get_info(c, &di), 0);
	fds = count_fds();
	ck_assert_int_eq(
		vfu_client_region_write(c, 0, 0, buf, VFU_MAX_DATA_XFER),
		-ETIMEDOUT);
	ck_assert_int_eq(vfu_client_reset(c), -ETIMEDOUT);
	ck_assert_int_eq(vfu_client_service(c), -ETIMEDOUT);
	ck_assert_int_eq(count_fds(), fds);
	vfu_client_close(c);
	free(buf);
	ck_assert_int_eq(count_fds(), before);
	stop_server(pid);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfio-user-client-timeout");
	TCase *tc = tcase_create("timeout");

	setenv("VGPU_PROVIDER_TIMEOUT_MS", "2000", 1);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_stopped_provider);
	tcase_add_test(tc, test_types_of_a_stopped_provider);
	tcase_add_test(tc, test_silent_server);
	tcase_add_test(tc, test_half_reply);
	tcase_add_test(tc, test_slow_server);
	tcase_add_test(tc, test_slow_large_transfer);
	tcase_add_test(tc, test_deaf_server);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
