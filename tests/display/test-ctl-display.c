/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The control-protocol parts of display sources, QoS, usage and
 * attributes: request and record parsers against malformed input (tables),
 * attribute encoding, and a hostile provider (a fake control socket
 * written here) whose display replies are malformed in every way we know:
 * the management side must refuse each with a clear error, never crash,
 * hang or map what it was not given.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "check-run.h"
#include "ctl.h"
#include "libvgpu-provider.h"
#include "libvgpu-private.h"
#include "vfio-user-qos.h"

#define U "01234567-89ab-cdef-0123-456789abcdef"

START_TEST(test_requests)
{
	static const struct {
		const char *line;
		int r;
		int op;
	} t[] = {
		{ "display " U, 0, VFU_CTL_DISPLAY },
		{ "usage " U, 0, VFU_CTL_USAGE },
		{ "qos-get " U " weight", 0, VFU_CTL_QOS_GET },
		{ "qos-set " U " frame_rate_limit 60", 0, VFU_CTL_QOS_SET },
		{ "qos-set " U " time_slice_us 0", 0, VFU_CTL_QOS_SET },
		{ "qos-set " U " weight 18446744073709551615", 0,
		  VFU_CTL_QOS_SET },
		{ "create t " U " resolution=800x600", 0, VFU_CTL_CREATE },
		{ "create t " U " a=1 b= c=x%20y%25", 0, VFU_CTL_CREATE },
		{ "display", -EINVAL, 0 },
		{ "display " U " x", -EINVAL, 0 },
		{ "display 01234567-89AB-cdef-0123-456789abcdef", -EINVAL, 0 },
		{ "usage ../../etc", -EINVAL, 0 },
		{ "qos-get " U, -EINVAL, 0 },
		{ "qos-get " U " Weight", -EINVAL, 0 },
		{ "qos-get " U " bogus", -EINVAL, 0 },
		{ "qos-set " U " weight", -EINVAL, 0 },
		{ "qos-set " U " weight -1", -EINVAL, 0 },
		{ "qos-set " U " weight 01", -EINVAL, 0 },
		{ "qos-set " U " weight 1x", -EINVAL, 0 },
		{ "qos-set " U " weight 18446744073709551616", -EINVAL, 0 },
		{ "qos-set " U " weight 99999999999999999999999", -EINVAL, 0 },
		{ "qos-set " U " weight 1 2", -EINVAL, 0 },
		{ "create t " U " novalue", -EINVAL, 0 },
		{ "create t " U " =v", -EINVAL, 0 },
		{ "create t " U " a:b=1", -EINVAL, 0 },
		{ "create t " U " nvidia/vgpu_params=x", 0, VFU_CTL_CREATE },
		{ "create t " U " a=%", -EINVAL, 0 },
		{ "create t " U " a=%4", -EINVAL, 0 },
		{ "create t " U " a=%zz", -EINVAL, 0 },
		{ "create t " U " a=%0a", -EINVAL, 0 }, /* a newline, decoded */
		{ "create t " U " a=%7F", -EINVAL, 0 },
		{ "create t " U " a=1\tb", -EINVAL, 0 },
		{ "create t " U
		  " a=1 a=2 a=3 a=4 a=5 a=6 a=7 a=8 a=9 a=10 a=11 a=12 "
		  "a=13 a=14 a=15 a=16 a=17",
		  -EINVAL, 0 }, /* 17 attributes */
	};
	struct vfu_ctl_req q;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = vfu_ctl_parse_request(t[i].line, strlen(t[i].line), &q);

		ck_assert_msg(r == t[i].r, "\"%s\": %d, want %d", t[i].line, r,
			      t[i].r);
		if (!r)
			ck_assert_int_eq((int)q.op, t[i].op);
	}
	ck_assert_int_eq(vfu_ctl_parse_request("qos-set " U " weight 3",
					       strlen("qos-set " U " weight 3"),
					       &q),
			 0);
	ck_assert_uint_eq(q.knob, 3);
	ck_assert_uint_eq(q.value, 3);
	ck_assert_str_eq(q.uuid, U);
	ck_assert_int_eq(vfu_ctl_parse_request(
				 "create t " U " a=1 b= c=x%20y%25",
				 strlen("create t " U " a=1 b= c=x%20y%25"),
				 &q),
			 0);
	ck_assert_uint_eq(q.n_attrs, 3);
	ck_assert_str_eq(q.attr_key[2], "c");
	ck_assert_str_eq(q.attr_value[2], "x y%");
	ck_assert_str_eq(q.attr_value[1], "");
}
END_TEST

/* what vfu_ctl_append_attr() writes, the parser reads back the same */
START_TEST(test_attr_roundtrip)
{
	static const char *const values[] = { "plain", "with space", "100%",
					      "é ü",   "a=b",	     "",
					      "%41" };
	char long_value[300];
	struct vfu_ctl_req q;
	char buf[VFU_CTL_MAX_REQ];

	for (size_t i = 0; i < sizeof(values) / sizeof(values[0]); i++) {
		snprintf(buf, sizeof(buf), "create t %s", U);
		ck_assert_int_eq(
			vfu_ctl_append_attr(buf, sizeof(buf), "k", values[i]),
			0);
		ck_assert_ptr_null(strchr(buf + 9, '\n'));
		ck_assert_int_eq(vfu_ctl_parse_request(buf, strlen(buf), &q),
				 0);
		ck_assert_uint_eq(q.n_attrs, 1);
		ck_assert_str_eq(q.attr_value[0], values[i]);
	}
	snprintf(buf, sizeof(buf), "create t %s", U);
	ck_assert_int_eq(vfu_ctl_append_attr(buf, sizeof(buf), "bad key", "v"),
			 -EINVAL);
	ck_assert_int_eq(
		vfu_ctl_append_attr(buf, sizeof(buf), "k", "line\nbreak"),
		-EINVAL);
	memset(long_value, 'x', 256);
	long_value[256] = '\0';
	ck_assert_int_eq(vfu_ctl_append_attr(buf, sizeof(buf), "k", long_value),
			 -EINVAL);
	ck_assert_int_eq(vfu_ctl_append_attr(buf, 40, "k", "v"), -ENOSPC);
}
END_TEST

START_TEST(test_plane_records)
{
	static const struct {
		const char *line;
		int r;
	} t[] = {
		{ "1\t875713112\t640\t480\t2560\t0\t16777216", 0 },
		{ "0\t0\t0\t0\t0\t0\t16777216", 0 }, /* off */
		{ "7\t875713112\t1\t1\t1\t16777215\t16777216",
		  0 }, /* last byte */
		{ "1\t875713112\t640\t480\t2560\t0\t1228799",
		  -EBADMSG }, /* too big */
		{ "1\t875713112\t1\t1\t1\t16777216\t16777216",
		  -EBADMSG }, /* offset */
		{ "1\t875713112\t640\t480\t2560\t18446744073709551615\t16777216",
		  -EBADMSG },
		{ "1\t875713112\t4294967295\t2\t4294967295\t0\t8589934589",
		  -EBADMSG },
		{ "1\t875713112\t640\t480\t639\t0\t16777216",
		  -EBADMSG }, /* stride */
		{ "1\t875713112\t0\t480\t2560\t0\t16777216", -EBADMSG },
		{ "1\t0\t640\t480\t2560\t0\t16777216",
		  -EBADMSG }, /* off, with size */
		{ "1\t4294967296\t1\t1\t1\t0\t16", -EBADMSG },
		{ "1\t875713112\t640\t480\t2560\t0", -EBADMSG }, /* short */
		{ "1\t875713112\t640\t480\t2560\t0\t16777216\t9", -EBADMSG },
		{ "1 875713112 640 480 2560 0 16777216", -EBADMSG },
		{ "-1\t875713112\t640\t480\t2560\t0\t16777216", -EBADMSG },
		{ "01\t875713112\t640\t480\t2560\t0\t16777216", -EBADMSG },
		{ "99999999999999999999\t1\t1\t1\t1\t0\t16", -EBADMSG },
		{ "", -EBADMSG },
		{ "gone", -EBADMSG },
	};
	struct vfu_ctl_plane p;

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		int r = vfu_ctl_parse_plane(t[i].line, &p);

		ck_assert_msg(r == t[i].r, "\"%s\": %d, want %d", t[i].line, r,
			      t[i].r);
	}
}
END_TEST

/* ---- a hostile provider ---- */

static char tmp[64], run[96];
static int lfd = -1;
static pthread_t th;
static volatile int scenario;
static const char *volatile qos_reply = "err 95\n";
static char last_request[512];
static volatile bool stopping;

/* the display reply of each scenario: text, and whether to pass an fd */
static const struct {
	const char *reply;
	int fd; /* 0 none, 1 a memfd of 1 MiB, 2 a memfd of 4 KiB */
	int want;
} scen[] = {
	{ "ok 1\n1\t875713112\t64\t64\t256\t0\t1048576\n", 0,
	  -EBADMSG }, /* no fd */
	{ "ok 1\n1\t875713112\t64\t64\t256\t0\t1048576\n", 2,
	  -EBADMSG }, /* fd smaller */
	{ "ok 1\n1\t875713112\t640\t480\t2560\t0\t1048576\n", 1,
	  -EBADMSG }, /* too big */
	{ "ok 1\ngarbage\n", 1, -EBADMSG },
	{ "ok 2\n", 1, -EBADMSG },
	{ "err 13\n", 0, -EACCES },
	{ "err 22\n", 0, -EOPNOTSUPP }, /* a provider that knows no display */
	{ "", 0, -EACCES },		/* closed on us */
	{ "ok 1\n1\t875713112\t64\t64\t256\t0\t1048576\n", 1, 0 }, /* good */
};

static void reply_display(int c, int s)
{
	char cbuf[CMSG_SPACE(sizeof(int))] = { 0 };
	struct iovec io = { (void *)scen[s].reply, strlen(scen[s].reply) };
	struct msghdr mh = { .msg_iov = &io, .msg_iovlen = 1 };
	int mfd = -1;

	if (scen[s].fd) {
		struct cmsghdr *cm;

		mfd = memfd_create("hostile", MFD_CLOEXEC);
		if (ftruncate(mfd, scen[s].fd == 1 ? 1 << 20 : 4096) < 0)
			return;
		mh.msg_control = cbuf;
		mh.msg_controllen = sizeof(cbuf);
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &mfd, sizeof(int));
	}
	if (io.iov_len || mfd >= 0)
		sendmsg(c, &mh, MSG_NOSIGNAL);
	if (mfd >= 0)
		close(mfd);
	if (s == 8) {
		/* then a malformed announcement */
		usleep(1000);
		static const char bad[] = "1\t875713112\t64\t64\t256\t0\t999\n";

		send(c, bad, sizeof(bad) - 1, MSG_NOSIGNAL);
	}
}

static void *serve(void *data)
{
	(void)data;
	while (!stopping) {
		char line[512];
		ssize_t n;
		int c = accept(lfd, NULL, NULL);

		if (c < 0)
			continue;
		n = recv(c, line, sizeof(line) - 1, 0);
		line[n > 0 ? n : 0] = '\0';
		if (!strncmp(line, "types", 5))
			send(c, "ok 1\nt\t1\t1\tname\tdesc\n", 21,
			     MSG_NOSIGNAL);
		else if (!strncmp(line, "list", 4))
			dprintf(c, "ok 1\n%s\tt\t%s/x.sock\n", U, run);
		else if (!strncmp(line, "display ", 8))
			reply_display(c, scenario);
		else if (!strncmp(line, "qos-", 4) ||
			 !strncmp(line, "usage ", 6)) {
			snprintf(last_request, sizeof(last_request), "%s",
				 line);
			send(c, qos_reply, strlen(qos_reply), MSG_NOSIGNAL);
		}
		close(c);
	}
	return NULL;
}

static void hostile_setup(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[160];

	strcpy(tmp, "/tmp/vgpu-hostile-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(run, sizeof(run), "%s/run", tmp);
	snprintf(dir, sizeof(dir), "%s/vfio-user", run);
	ck_assert_int_eq(mkdir(run, 0700), 0);
	ck_assert_int_eq(mkdir(dir, 0700), 0);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%.90s/evil.ctl", dir);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 8), 0);
	stopping = false;
	pthread_create(&th, NULL, serve, NULL);
}

static void hostile_teardown(void)
{
	char cmd[128];
	int c;

	stopping = true;
	/* wake the accept() */
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		snprintf(sa.sun_path, sizeof(sa.sun_path),
			 "%.80s/vfio-user/evil.ctl", run);
		connect(c, (struct sockaddr *)&sa, sizeof(sa));
	}
	close(c);
	pthread_join(th, NULL);
	close(lfd);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

START_TEST(test_hostile_provider)
{
	struct vgpu_ctx *ctx;

	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, tmp), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, run), 0);
	for (size_t s = 0; s < sizeof(scen) / sizeof(scen[0]); s++) {
		struct vgpu_display *d = NULL;
		int r;

		scenario = (int)s;
		r = vgpu_display_open(ctx, U, &d);
		ck_assert_msg(r == scen[s].want, "scenario %zu: %d, want %d", s,
			      r, scen[s].want);
		if (r == 0) {
			struct vgpu_display_frame f = { .size = sizeof(f) };

			/* the malformed announcement that follows: refused */
			for (int i = 0; i < 1000 && r == 0; i++) {
				r = vgpu_display_get_frame(d, &f);
				usleep(1000);
			}
			ck_assert_int_eq(r, -EBADMSG);
			vgpu_display_unref(d);
		}
	}
	vgpu_ctx_unref(ctx);
}
END_TEST

/* QoS and usage replies, good and malformed, through the backend's calls */
START_TEST(test_hostile_qos)
{
	static const struct {
		const char *reply;
		int get, usage;
	} t[] = {
		{ "ok 1\n7\n", 0, -EBADMSG },
		{ "ok 1\n1\t2\t3\t4\t5\t6\t7\n", -EBADMSG, 0 },
		{ "ok 1\n-7\n", -EBADMSG, -EBADMSG },
		{ "ok 1\n99999999999999999999\n", -EBADMSG, -EBADMSG },
		{ "ok 1\n128\t2\t3\t4\t5\t6\t7\n", -EBADMSG,
		  -EBADMSG }, /* mask */
		{ "ok 1\n1\t2\tx\t4\t5\t6\t7\n", -EBADMSG, -EBADMSG },
		{ "ok 0\n", -EBADMSG, -EBADMSG },
		{ "err 95\n", -EOPNOTSUPP, -EOPNOTSUPP },
		{ "err 22\n", -EOPNOTSUPP,
		  -EOPNOTSUPP }, /* a provider before QoS */
		{ "err 34\n", -ERANGE, -ERANGE },
		{ "garbage", -EBADMSG, -EBADMSG },
	};
	struct vgpu_instance *in;
	struct vgpu_ctx *ctx;

	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, tmp), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, run), 0);
	ck_assert_int_eq(vgpu_instance_get(ctx, U, NULL, &in), 0);
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		uint64_t v = 0, u[VFU_CTL_COUNTERS];
		unsigned int mask = 0;

		qos_reply = t[i].reply;
		ck_assert_msg(vu_provider_qos_get(in, 3, &v) == t[i].get,
			      "%zu get", i);
		ck_assert_str_eq(last_request, "qos-get " U " weight\n");
		if (!t[i].get)
			ck_assert_uint_eq(v, 7);
		ck_assert_msg(vu_provider_usage(in, u, &mask) == t[i].usage,
			      "%zu usage", i);
		if (!t[i].usage) {
			ck_assert_uint_eq(mask, 1);
			ck_assert_uint_eq(u[5], 7);
		}
	}
	qos_reply = "ok 0\n";
	ck_assert_int_eq(vu_provider_qos_set(in, 4, 60), 0);
	ck_assert_str_eq(last_request, "qos-set " U " frame_rate_limit 60\n");
	ck_assert_int_eq(vu_provider_qos_set(in, 5, 1), -EOPNOTSUPP);
	vgpu_instance_unref(in);
	vgpu_ctx_unref(ctx);
}
END_TEST

/* ---- the provider's side, dispatched by hand ---- */

static int disp_create(struct vgpu_device *dev, const char *type_id,
		       void *userdata)
{
	struct vgpu_display_plane pl = { .size = sizeof(pl),
					 .drm_format = 0x34325258,
					 .width = 16,
					 .height = 16,
					 .stride = 64,
					 .region = 2 };
	int r = vgpu_device_setup_region(dev, 2, 1 << 20,
					 VGPU_REGION_F_READ | VGPU_REGION_F_MEM,
					 NULL, NULL);

	return r < 0 ? r : vgpu_device_set_display(dev, &pl);
}

static int raw_request(const char *path, const char *line)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(send(fd, line, strlen(line), 0),
			 (ssize_t)strlen(line));
	return fd;
}

/*
 * A watcher that speaks in the same epoll batch as the removal of its
 * device: the removal closes the watcher, and the batch's next event still
 * names it. It must not be freed under the batch (found by valgrind and
 * ASan when it was).
 */
START_TEST(test_watcher_removed_in_batch)
{
	struct vgpu_provider_ops ops = { .size = sizeof(ops),
					 .create = disp_create };
	struct vgpu_provider *p;
	struct vgpu_device *dev;
	struct vgpu_ctx *ctx;
	char path[128], buf[256];
	ssize_t n;
	int a, b;

	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, run), 0);
	ck_assert_int_eq(vgpu_provider_new(ctx, "byhand", &ops, NULL, &p), 0);
	ck_assert_int_eq(vgpu_provider_add_type(p, "t", "t", "", 2), 0);
	snprintf(path, sizeof(path), "%.80s/byhand.ctl", tmp);
	ck_assert_int_eq(vgpu_provider_listen_control(p, path), 0);
	ck_assert_int_eq(vgpu_provider_create_device(p, "t", U, NULL, &dev), 0);
	vgpu_device_unref(dev);

	a = raw_request(path, "display " U "\n");
	ck_assert_int_eq(vgpu_provider_dispatch(p, 5000), 1);
	n = recv(a, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 5);
	ck_assert(!strncmp(buf, "ok 1\n", 5));
	/* the removal first, then the watcher's junk: one batch */
	b = raw_request(path, "remove " U "\n");
	ck_assert_int_eq(send(a, "x", 1, 0), 1);
	usleep(100000);
	ck_assert_int_ge(vgpu_provider_dispatch(p, 5000), 1);
	vgpu_provider_dispatch(p, 0);
	n = recv(b, buf, sizeof(buf) - 1, 0);
	ck_assert_int_eq(n, 5);
	ck_assert(!strncmp(buf, "ok 0\n", 5));
	/* the watcher was told, then let go */
	n = recv(a, buf, sizeof(buf) - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	ck_assert_ptr_nonnull(strstr(buf, "gone\n"));
	close(a);
	close(b);
	vgpu_provider_unref(p);
	vgpu_ctx_unref(ctx);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctl-display");
	TCase *tc = tcase_create("format");
	TCase *th_ = tcase_create("hostile");

	tcase_add_test(tc, test_requests);
	tcase_add_test(tc, test_attr_roundtrip);
	tcase_add_test(tc, test_plane_records);
	suite_add_tcase(s, tc);
	tcase_add_checked_fixture(th_, hostile_setup, hostile_teardown);
	tcase_set_timeout(th_, 60);
	tcase_add_test(th_, test_hostile_provider);
	tcase_add_test(th_, test_hostile_qos);
	tcase_add_test(th_, test_watcher_removed_in_batch);
	suite_add_tcase(s, th_);
	return run_suite(s);
}
