/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The fixture of the tests against sim-device: see sim-fixture.h. */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "check-run.h"
#include "libvgpu-private.h"
#include "prov-harness.h"
#include "proto.h"
#include "provider-child.h"
#include "sim-device.h"
#include "sim-fixture.h"

char sock_path[108];
static char tmpdir[64];
pid_t sim;
struct vgpu_ctx *ctx;

static bool sim_threaded;

static void sim_setup(void)
{
	strcpy(tmpdir, "/tmp/vgpu-vfu-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	snprintf(sock_path, sizeof(sock_path), "%s/dev.sock", tmpdir);
	sim = sim_start_mode(sock_path, sim_threaded);
	ck_assert_int_gt(sim, 0);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
}

static void sim_teardown(void)
{
	ck_assert_int_eq(child_stop(sim), 0);
	vgpu_ctx_unref(ctx);
	rmdir(tmpdir);
}

/* a raw connection that has negotiated VERSION */
int raw_connect(void)
{
	struct {
		struct vfu_hdr h;
		struct vfu_version v;
	} __attribute__((packed)) msg = {
		.h = { .cmd = VFU_CMD_VERSION, .size = sizeof(msg) },
	};
	uint8_t rep[512];
	int fd = h_connect(sock_path);

	ck_assert_int_eq(write(fd, &msg, sizeof(msg)), sizeof(msg));
	ck_assert_int_gt(read(fd, rep, sizeof(rep)), 16);
	return fd;
}

/* send raw bytes, expect an error reply with @err, or EOF when err == 0 */
void raw_expect(int fd, const void *msg, size_t len, int err)
{
	struct vfu_hdr h;
	ssize_t n;

	ck_assert_int_eq(write(fd, msg, len), (ssize_t)len);
	n = read(fd, &h, sizeof(h));
	if (!err) {
		ck_assert_int_eq(n, 0);
		return;
	}
	ck_assert_int_eq(n, 16);
	ck_assert(h.flags & VFU_F_ERROR);
	ck_assert_int_eq(h.error, err);
}

/* a raw connection; VERSION with @json (NULL: none), the reply's JSON in
 * @rjson (may be NULL) */
int raw_connect_json(const char *json, char *rjson, size_t rmax)
{
	struct timeval tv = { .tv_sec = 5 };
	uint8_t msg[512], rep[512];
	struct vfu_hdr h = { .cmd = VFU_CMD_VERSION };
	struct vfu_version ver = { 0 };
	size_t jl = json ? strlen(json) + 1 : 0;
	int fd = h_connect(sock_path);
	ssize_t n;

	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	h.size = (uint32_t)(sizeof(h) + sizeof(ver) + jl);
	memcpy(msg, &h, sizeof(h));
	memcpy(msg + sizeof(h), &ver, sizeof(ver));
	if (jl)
		memcpy(msg + sizeof(h) + sizeof(ver), json, jl);
	ck_assert_int_eq(write(fd, msg, h.size), h.size);
	n = read(fd, rep, sizeof(rep) - 1);
	ck_assert_int_gt(n, 20);
	rep[n] = 0;
	memcpy(&h, rep, sizeof(h));
	ck_assert_int_eq(h.size, n);
	ck_assert_int_eq(h.flags, VFU_F_TYPE_REPLY);
	if (rjson)
		snprintf(rjson, rmax, "%s", (char *)rep + 20);
	return fd;
}

/* one whole message; false at EOF */
bool raw_recv(int fd, struct vfu_hdr *h, uint8_t *p, size_t max)
{
	ssize_t n = recv(fd, h, sizeof(*h), MSG_WAITALL);

	if (n == 0)
		return false;
	ck_assert_int_eq(n, sizeof(*h));
	ck_assert_uint_ge(h->size, sizeof(*h));
	ck_assert_uint_le(h->size - sizeof(*h), max);
	if (h->size > sizeof(*h))
		ck_assert_int_eq(recv(fd, p, h->size - sizeof(*h), MSG_WAITALL),
				 (ssize_t)(h->size - sizeof(*h)));
	return true;
}

static void threaded_off(void)
{
	sim_threaded = false;
}

static void threaded_on(void)
{
	sim_threaded = true;
}

/* the server-client tests against a provider in one threading mode */
TCase *sim_tcase(const char *name, bool threaded)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, threaded ? threaded_on : threaded_off,
				    NULL);
	tcase_add_checked_fixture(tc, sim_setup, sim_teardown);
	tcase_set_timeout(tc, 60);
	return tc;
}

int sim_run(const char *suite, void (*add_tests)(TCase *tc))
{
	Suite *s = suite_create(suite);
	TCase *tc;

	/* vgpu_provider_dispatch() loop, then a thread per client */
	tc = sim_tcase("server-client", false);
	add_tests(tc);
	suite_add_tcase(s, tc);
	tc = sim_tcase("server-client-threaded", true);
	add_tests(tc);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
