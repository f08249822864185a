/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vfio-user: parser units, then server and client in separate processes. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "ctl.h"
#include "libvgpu-private.h"
#include "proto.h"
#include "sim-device.h"

/* ---- parser units ---- */

static int parse(uint16_t cmd, const void *p, size_t len, unsigned int nfds,
		 struct vfu_req *req)
{
	struct vfu_hdr h = { .cmd = cmd, .size = (uint32_t)(16 + len) };

	return vfu_parse_command(&h, p, len, nfds, VFU_MAX_DATA_XFER, req);
}

/*
 * Hostile input walked over every command number: one row per kind of bad
 * message, each tried on every command of the wire table (and on the
 * numbers around it, which must be unknown).
 */
START_TEST(test_parse_table)
{
	static const struct {
		const char *what;
		size_t len;    /* payload bytes (all 0xff) */
		int extra_fds; /* fds beyond what the table allows */
		int expect;    /* for every known command */
	} rows[] = {
		{ "one fd too many", 0, 1, -EINVAL },
		{ "one fd too many, with payload", 64, 1, -EINVAL },
		{ "16 fds too many", 32, 16, -EINVAL },
	};
	uint8_t buf[64];
	struct vfu_req req;
	unsigned int known = 0;

	memset(buf, 0xff, sizeof(buf));
	for (unsigned int cmd = 0; cmd < 64; cmd++) {
		const struct vfu_command *c = vfu_command_find((uint16_t)cmd);

		if (!c) {
			ck_assert_int_eq(parse((uint16_t)cmd, buf, 8, 0, &req),
					 -ENOSYS);
			continue;
		}
		known++;
		ck_assert_uint_eq(c->cmd, cmd);
		ck_assert_ptr_nonnull(c->name);
		ck_assert_uint_le(c->max_fds, VFU_MAX_MSG_FDS);
		for (size_t i = 0; i < sizeof(rows) / sizeof(rows[0]); i++) {
			int r = parse((uint16_t)cmd, buf, rows[i].len,
				      c->max_fds +
					      (unsigned int)rows[i].extra_fds,
				      &req);

			ck_assert_msg(r == rows[i].expect,
				      "%s: %s gave %d, not %d", c->name,
				      rows[i].what, r, rows[i].expect);
		}
		/* a payload of garbage is refused or parsed, never more */
		for (size_t len = 0; len <= sizeof(buf); len++) {
			int r = parse((uint16_t)cmd, buf, len, 0, &req);

			ck_assert_msg(r == 0 || r == -EINVAL || r == -E2BIG,
				      "%s: %zu bytes of 0xff gave %d", c->name,
				      len, r);
		}
	}
	/* VERSION .. MIG_DATA_WRITE, without the unused 14 */
	ck_assert_uint_eq(known, 17);
}
END_TEST

START_TEST(test_parse_hostile)
{
	struct vfu_req req;
	struct vfu_hdr h = { .cmd = VFU_CMD_DEVICE_RESET, .size = 20 };
	struct vfu_dma_map m = {
		.argsz = 32, .flags = 3, .addr = 0x1000, .size = 0x1000
	};
	struct vfu_region_access a = { .offset = 0, .region = 7, .count = 4 };
	struct vfu_irq_set s = { .argsz = 20, .flags = 0x4 | 0x20, .count = 2 };
	uint8_t buf[64] = { 0 };

	/* size lies about the payload */
	ck_assert_int_eq(vfu_parse_command(&h, buf, 0, 0, 1 << 20, &req),
			 -EINVAL);
	h.size = 16;
	ck_assert_int_eq(vfu_parse_command(&h, NULL, 0, 0, 1 << 20, &req), 0);
	h.flags = VFU_F_TYPE_REPLY;
	ck_assert_int_eq(vfu_parse_command(&h, NULL, 0, 0, 1 << 20, &req),
			 -EINVAL);
	h.flags = 0x40; /* reserved bit */
	ck_assert_int_eq(vfu_parse_command(&h, NULL, 0, 0, 1 << 20, &req),
			 -EINVAL);
	/* unknown commands */
	ck_assert_int_eq(parse(14, NULL, 0, 0, &req), -ENOSYS);
	ck_assert_int_eq(parse(99, NULL, 0, 0, &req), -ENOSYS);
	ck_assert_int_eq(parse(0, NULL, 0, 0, &req), -ENOSYS);
	/* server-to-client commands from a client */
	ck_assert_int_eq(parse(VFU_CMD_DMA_READ, buf, 16, 0, &req), -EINVAL);
	/* truncated payloads */
	ck_assert_int_eq(parse(VFU_CMD_DMA_MAP, &m, 31, 0, &req), -EINVAL);
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_GET_INFO, buf, 15, 0, &req),
			 -EINVAL);
	ck_assert_int_eq(parse(VFU_CMD_VERSION, buf, 3, 0, &req), -EINVAL);
	/* VERSION: JSON must be NUL-terminated, once, and carry no fds */
	memcpy(buf + 4, "{}", 2);
	ck_assert_int_eq(parse(VFU_CMD_VERSION, buf, 6, 0, &req), -EINVAL);
	buf[6] = 0;
	ck_assert_int_eq(parse(VFU_CMD_VERSION, buf, 7, 0, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_VERSION, buf, 7, 1, &req), -EINVAL);
	ck_assert_int_eq(parse(VFU_CMD_VERSION, buf, 8, 0, &req), -EINVAL);
	/* DMA_MAP */
	ck_assert_int_eq(parse(VFU_CMD_DMA_MAP, &m, 32, 0, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_DMA_MAP, &m, 32, 2, &req), -EINVAL);
	m.addr = UINT64_MAX - 0xfff;
	m.size = 0x2000;
	ck_assert_int_eq(parse(VFU_CMD_DMA_MAP, &m, 32, 0, &req), -EINVAL);
	m.addr = 0;
	m.size = 0;
	ck_assert_int_eq(parse(VFU_CMD_DMA_MAP, &m, 32, 0, &req), -EINVAL);
	m.size = 0x1000;
	m.flags = 0x10;
	ck_assert_int_eq(parse(VFU_CMD_DMA_MAP, &m, 32, 0, &req), -EINVAL);
	m.flags = 3;
	m.argsz = 16;
	ck_assert_int_eq(parse(VFU_CMD_DMA_MAP, &m, 32, 0, &req), -EINVAL);
	/* REGION_READ/WRITE */
	ck_assert_int_eq(parse(VFU_CMD_REGION_READ, &a, 16, 0, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_REGION_READ, &a, 16, 1, &req), -EINVAL);
	ck_assert_int_eq(parse(VFU_CMD_REGION_WRITE, &a, 16, 0, &req),
			 -EINVAL); /* no data */
	a.count = 0;
	ck_assert_int_eq(parse(VFU_CMD_REGION_READ, &a, 16, 0, &req), -EINVAL);
	a.count = (1 << 20) + 1;
	ck_assert_int_eq(parse(VFU_CMD_REGION_READ, &a, 16, 0, &req), -E2BIG);
	a.count = 8;
	a.offset = UINT64_MAX - 3;
	ck_assert_int_eq(parse(VFU_CMD_REGION_READ, &a, 16, 0, &req), -EINVAL);
	/* SET_IRQS: fds must match count, one DATA and one ACTION */
	memcpy(buf, &s, sizeof(s));
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 20, 2, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 20, 0, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 20, 1, &req),
			 -EINVAL);
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 20, 3, &req),
			 -EINVAL);
	s.flags = 0x4 | 0x2 | 0x20;
	memcpy(buf, &s, sizeof(s));
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 20, 2, &req),
			 -EINVAL);
	s.flags = 0x2 | 0x8;
	s.start = UINT32_MAX;
	memcpy(buf, &s, sizeof(s));
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 22, 0, &req),
			 -EINVAL);
	s.start = 0;
	memcpy(buf, &s, sizeof(s));
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 22, 0, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_SET_IRQS, buf, 21, 0, &req),
			 -EINVAL);
	/* DEVICE_RESET carries nothing */
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_RESET, buf, 4, 0, &req), -EINVAL);
}
END_TEST

START_TEST(test_parse_unmap_feature)
{
	struct vfu_req req;
	uint8_t buf[128] = { 0 };
	struct vfu_dma_unmap u = { .argsz = 24, .flags = 2 };
	struct vfu_bitmap b = { .pgsize = 1, .size = 8 };
	struct vfu_feature f = { .argsz = 8, .flags = 8 | (1u << 16) };
	struct vfu_log_report rep = { .iova = 0,
				      .length = 0x1000,
				      .page_size = 4096 };

	ck_assert_int_eq(parse(VFU_CMD_DMA_UNMAP, &u, 24, 0, &req), 0);
	u.addr = 5; /* ALL needs address and size 0 */
	ck_assert_int_eq(parse(VFU_CMD_DMA_UNMAP, &u, 24, 0, &req), -EINVAL);
	u.flags = 1; /* dirty bitmap: with a size overflow */
	u.addr = 0;
	u.size = UINT64_MAX;
	u.argsz = 24 + 16 + 8;
	memcpy(buf, &u, sizeof(u));
	memcpy(buf + 24, &b, sizeof(b));
	ck_assert_int_eq(parse(VFU_CMD_DMA_UNMAP, buf, 40, 0, &req), -EINVAL);
	u.size = 0x1000;
	b.pgsize = 4096;
	memcpy(buf, &u, sizeof(u));
	memcpy(buf + 24, &b, sizeof(b));
	ck_assert_int_eq(parse(VFU_CMD_DMA_UNMAP, buf, 40, 0, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_DMA_UNMAP, buf, 39, 0, &req), -EINVAL);
	/* DEVICE_FEATURE */
	memcpy(buf, &f, sizeof(f));
	memcpy(buf + 8, &rep, sizeof(rep));
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_FEATURE, buf, 32, 0, &req), 0);
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_FEATURE, buf, 31, 0, &req),
			 -EINVAL);
	rep.page_size = 3000;
	memcpy(buf + 8, &rep, sizeof(rep));
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_FEATURE, buf, 32, 0, &req),
			 -EINVAL);
	f.flags = 8 | (3u << 16); /* GET and SET without PROBE */
	memcpy(buf, &f, sizeof(f));
	ck_assert_int_eq(parse(VFU_CMD_DEVICE_FEATURE, buf, 32, 0, &req),
			 -EINVAL);
}
END_TEST

START_TEST(test_caps_json)
{
	static const char qemu[] =
		"{\"capabilities\":{\"migration\":{\"pgsize\":4096,"
		"\"max_bitmap_size\":268435456},\"max_msg_fds\":16,"
		"\"max_data_xfer_size\":1048576,\"pgsizes\":4096,"
		"\"max_dma_maps\":65535,\"write_multiple\":true}}";
	struct vfu_caps c;

	vfu_caps_default(&c);
	ck_assert_int_eq(vfu_caps_parse(qemu, sizeof(qemu), &c), 0);
	ck_assert_uint_eq(c.max_msg_fds, 16);
	ck_assert_uint_eq(c.mig_pgsize, 4096);
	ck_assert_uint_eq(c.mig_max_bitmap, 268435456);
	ck_assert(c.write_multiple);
#define CAPS(str) vfu_caps_parse(str, sizeof(str), &c)
	vfu_caps_default(&c);
	ck_assert_int_eq(CAPS("{\"capabilities\":{\"x\":1}}"), 0);
	ck_assert_int_eq(CAPS("{\"capabilities\":{\"max_msg_fds\":-1}}"),
			 -EINVAL);
	ck_assert_int_eq(CAPS("{\"capabilities\":{\"max_msg_fds\":\"a\"}}"),
			 -EINVAL);
	ck_assert_int_eq(
		CAPS("{\"capabilities\":{\"migration\":{\"pgsize\":3}}}"),
		-EINVAL);
	ck_assert_int_eq(CAPS("{\"capabilities\":[]}"), -EINVAL);
	ck_assert_int_eq(CAPS("{\"capabilities\":"), -EINVAL);
	ck_assert_int_eq(CAPS("{}\0{}"), -EINVAL);
	ck_assert_int_eq(CAPS("[]"), -EINVAL);
	ck_assert_int_eq(vfu_caps_parse("{}", 2, &c), -EINVAL); /* no NUL */
#undef CAPS
}
END_TEST

static unsigned int open_fds(void)
{
	unsigned int n = 0;
	struct dirent *de;
	DIR *d = opendir("/proc/self/fd");

	while ((de = readdir(d)))
		n++;
	closedir(d);
	return n;
}

/* send @len bytes of @buf with @nfds copies of @fd attached */
static void send_with_fds(int sock, const void *buf, size_t len, int fd,
			  unsigned int nfds)
{
	int fds[VFU_MAX_MSG_FDS + 4];
	union {
		char b[CMSG_SPACE(sizeof(fds))];
		struct cmsghdr a;
	} ctrl;
	struct iovec iov = { .iov_base = (void *)buf, .iov_len = len };
	struct msghdr mh = { .msg_iov = &iov, .msg_iovlen = 1 };
	struct cmsghdr *c;

	if (nfds) {
		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.b;
		mh.msg_controllen = CMSG_SPACE(sizeof(int) * nfds);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int) * nfds);
		for (unsigned int i = 0; i < nfds; i++)
			fds[i] = fd;
		memcpy(CMSG_DATA(c), fds, sizeof(int) * nfds);
	}
	ck_assert_int_eq(sendmsg(sock, &mh, 0), (ssize_t)len);
}

START_TEST(test_recv_too_many_fds)
{
	unsigned int before = open_fds();
	int sp[2], efd = eventfd(0, EFD_CLOEXEC);
	struct vfu_hdr h = { .cmd = VFU_CMD_DEVICE_RESET, .size = 16 };
	struct vfu_msg m;
	struct vfu_reader rx;

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	vfu_reader_init(&rx);
	send_with_fds(sp[0], &h, sizeof(h), efd, VFU_MAX_MSG_FDS + 4);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), -EMSGSIZE);
	ck_assert_uint_eq(m.nfds, 0);
	vfu_reader_reset(&rx);
	/* a truncated header, then EOF */
	ck_assert_int_eq(write(sp[0], &h, 8), 8);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, MSG_DONTWAIT),
			 -EAGAIN);
	close(sp[0]);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), -ECONNRESET);
	vfu_reader_reset(&rx);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), -ENOTCONN);
	close(sp[1]);
	close(efd);
	vfu_reader_free(&rx);
	ck_assert_uint_eq(open_fds(), before);
}
END_TEST

/* pipelined messages in one read, fds on the right message, partial ones */
START_TEST(test_reader)
{
	struct vfu_hdr a = { .msg_id = 1,
			     .cmd = VFU_CMD_DEVICE_RESET,
			     .size = 16 };
	struct {
		struct vfu_hdr h;
		uint8_t data[40];
	} __attribute__((packed))
	b = { .h = { .msg_id = 2, .cmd = 8, .size = 56 } };
	struct vfu_reader rx;
	struct vfu_msg m;
	unsigned int before = open_fds();
	int sp[2], efd = eventfd(0, EFD_CLOEXEC);

	ck_assert_int_eq(socketpair(AF_UNIX, SOCK_STREAM, 0, sp), 0);
	vfu_reader_init(&rx);
	/* A without fds, B with two: one read takes both */
	send_with_fds(sp[0], &a, sizeof(a), -1, 0);
	send_with_fds(sp[0], &b, sizeof(b), efd, 2);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), 0);
	ck_assert_uint_eq(m.hdr.msg_id, 1);
	ck_assert_uint_eq(m.nfds, 0);
	ck_assert(vfu_reader_has_msg(&rx));
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, MSG_DONTWAIT), 0);
	ck_assert_uint_eq(m.hdr.msg_id, 2);
	ck_assert_uint_eq(m.len, 40);
	ck_assert_uint_eq(m.nfds, 2);
	vfu_msg_close_fds(&m, 0);
	ck_assert(!vfu_reader_has_msg(&rx));
	/* B in pieces: fds with the first piece, the rest later */
	send_with_fds(sp[0], &b, 20, efd, 1);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, MSG_DONTWAIT),
			 -EAGAIN);
	send_with_fds(sp[0], (char *)&b + 20, sizeof(b) - 20, -1, 0);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), 0);
	ck_assert_uint_eq(m.nfds, 1);
	vfu_msg_close_fds(&m, 0);
	/* fds sent with the middle of a message belong to none: closed */
	send_with_fds(sp[0], &b, 20, -1, 0);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, MSG_DONTWAIT),
			 -EAGAIN);
	send_with_fds(sp[0], (char *)&b + 20, sizeof(b) - 20, efd, 3);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), 0);
	ck_assert_uint_eq(m.nfds, 0);
	send_with_fds(sp[0], &a, sizeof(a), -1, 0);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), 0);
	ck_assert_uint_eq(m.nfds, 0);
	/* a bad size is reported from the buffer */
	a.size = 3;
	send_with_fds(sp[0], &a, sizeof(a), -1, 0);
	ck_assert_int_eq(vfu_reader_next(&rx, sp[1], &m, 0), -EMSGSIZE);
	vfu_reader_free(&rx);
	close(sp[0]);
	close(sp[1]);
	close(efd);
	ck_assert_uint_eq(open_fds(), before);
}
END_TEST

/* the control socket format: requests and replies from a hostile peer */
static int reply_of(const char *text, size_t len, unsigned int nf,
		    struct vfu_ctl_reply *r)
{
	char *buf = malloc(len ? len : 1);

	memcpy(buf, text, len);
	return vfu_ctl_parse_reply(buf, len, nf, r);
}

START_TEST(test_ctl_format)
{
	struct vfu_ctl_req q;
	struct vfu_ctl_reply r;
#define REQ(lit)     vfu_ctl_parse_request(lit, sizeof(lit) - 1, &q)
#define REP(lit, nf) reply_of(lit, sizeof(lit) - 1, nf, &r)
	ck_assert_int_eq(REQ("types"), 0);
	ck_assert_int_eq(q.op, VFU_CTL_TYPES);
	ck_assert_int_eq(REQ("create t-1 01234567-89ab-cdef-0123-456789abcdef"),
			 0);
	ck_assert_str_eq(q.type, "t-1");
	ck_assert_int_eq(REQ(""), -EINVAL);
	ck_assert_int_eq(REQ(" types"), -EINVAL);
	ck_assert_int_eq(REQ("types "), -EINVAL);
	ck_assert_int_eq(REQ("list x"), -EINVAL);
	ck_assert_int_eq(REQ("remove"), -EINVAL);
	ck_assert_int_eq(REQ("remove 01234567-89ab-cdef-0123-456789abcdeg"),
			 -EINVAL);
	ck_assert_int_eq(
		REQ("create t\t1 01234567-89ab-cdef-0123-456789abcdef"),
		-EINVAL);
	ck_assert_int_eq(REQ("create a/b 01234567-89ab-cdef-0123-456789abcdef"),
			 -EINVAL);
	ck_assert_int_eq(REQ("list\0"), -EINVAL);
	ck_assert_int_eq(REQ("a b c d e"), -EINVAL);

	ck_assert_int_eq(REP("ok 1\na\tb\tc\n", 3), 0);
	ck_assert_uint_eq(r.n_records, 1);
	ck_assert_str_eq(r.fields[2], "c");
	vfu_ctl_reply_free(&r);
	ck_assert_int_eq(REP("ok 0\n", 3), 0);
	vfu_ctl_reply_free(&r);
	ck_assert_int_eq(REP("err 2\n", 3), -ENOENT);
	ck_assert_int_eq(REP("err 0\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("err 99999\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("err 2\nx\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("ok 2\na\tb\tc\n", 3), -EBADMSG);	  /* short */
	ck_assert_int_eq(REP("ok 1\na\tb\tc\nd\n", 3), -EBADMSG); /* extra */
	ck_assert_int_eq(REP("ok 1\na\tb\n", 3), -EBADMSG);	  /* fields */
	ck_assert_int_eq(REP("ok 1\na\tb\tc\td\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("ok 1\na\t\tc\n", 3), -EBADMSG); /* empty */
	ck_assert_int_eq(REP("ok 1\na\tb\x01\tc\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("ok 1\na\tb\tc", 3), -EBADMSG); /* no \n */
	ck_assert_int_eq(REP("ok 01\na\tb\tc\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("ok 99999999999999999999\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("ok 1\na\0\tb\tc\n", 3), -EBADMSG);
	ck_assert_int_eq(REP("OK 0\n", 3), -EBADMSG);
	ck_assert_int_eq(reply_of("", 0, 3, &r), -EBADMSG);
#undef REQ
#undef REP
}
END_TEST

/* ---- server and client in separate processes ---- */

static char sock_path[108];
static char tmpdir[64];
static pid_t sim;
static struct vgpu_ctx *ctx;

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
	ck_assert_int_eq(sim_stop(sim), 0);
	vgpu_ctx_unref(ctx);
	rmdir(tmpdir);
}

static uint32_t cfg32(struct vfu_client *c, uint64_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(vfu_client_region_read(c, 7, off, &v, 4), 0);
	return v;
}

START_TEST(test_device_discovery)
{
	struct vfu_client *c;
	struct vfu_device_info di;
	struct vfu_region_info ri;
	struct vfu_irq_info ii;
	struct vfu_sparse_area areas[4];
	unsigned int n;
	uint32_t v;
	int fd;
	void *map;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	ck_assert_uint_eq(vfu_client_server_caps(c)->max_msg_fds, 16);
	ck_assert_int_eq(vfu_client_get_info(c, &di), 0);
	ck_assert_uint_eq(di.num_regions, 9);
	ck_assert_uint_eq(di.num_irqs, 5);
	ck_assert_uint_eq(di.flags, VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET);

	/* config space: identity, capabilities, BAR sizing */
	ck_assert_int_eq(
		vfu_client_region_info(c, 7, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 4096); /* PCIe */
	ck_assert_int_eq(fd, -1);
	ck_assert_uint_eq(cfg32(c, 0), 0x10f01af4);
	ck_assert_uint_eq(cfg32(c, 8) >> 8, 0x030000);
	ck_assert_uint_eq(cfg32(c, 0x34) & 0xff, 0x40);
	ck_assert_uint_eq(cfg32(c, 0x40) & 0xff, 0x05); /* MSI */
	v = 0xffffffff;
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x10, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0x10), 0xfffff000);
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x18, &v, 4), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x1c, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0x18), 0xfff0000c); /* 64-bit prefetch */
	ck_assert_uint_eq(cfg32(c, 0x1c), 0xffffffff);
	/* BAR4: 64-bit, 8 GiB: the high dword carries the size */
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x20, &v, 4), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0x24, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0x20), 0x00000004);
	ck_assert_uint_eq(cfg32(c, 0x24), 0xfffffffe);
	ck_assert_int_eq(
		vfu_client_region_info(c, 4, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 8ULL << 30);
	ck_assert_int_eq(fd, -1);
	v = 0;
	ck_assert_int_eq(
		vfu_client_region_read(c, 4, (6ULL << 30) + 0x40, &v, 4), 0);
	ck_assert_uint_eq(v, 1u ^ 0x80000040u);
	ck_assert_int_ne(vfu_client_region_read(c, 4, 8ULL << 30, &v, 4), 0);
	v = 0xffffffff;
	/* vendor id is read-only */
	ck_assert_int_eq(vfu_client_region_write(c, 7, 0, &v, 4), 0);
	ck_assert_uint_eq(cfg32(c, 0), 0x10f01af4);

	/* trapped BAR0 */
	ck_assert_int_eq(
		vfu_client_region_info(c, 0, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 4096);
	ck_assert_int_eq(fd, -1);
	ck_assert(!(ri.flags & VFU_REGION_MMAP));
	v = 0x12345678;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 4), 0);
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0, &v, 4), 0);
	ck_assert_uint_eq(v, 0x12345678);

	/* memory BAR2 with a sparse area, through the fd and messages */
	ck_assert_int_eq(
		vfu_client_region_info(c, 2, &ri, &fd, areas, 4, &n, NULL), 0);
	ck_assert_uint_eq(ri.size, 1 << 20);
	ck_assert(ri.flags & VFU_REGION_MMAP);
	ck_assert(ri.flags & VFU_REGION_CAPS);
	ck_assert_int_ge(fd, 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(areas[0].offset, 0);
	ck_assert_uint_eq(areas[0].size, 1 << 19);
	map = mmap(NULL, areas[0].size, PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		   (off_t)(ri.offset + areas[0].offset));
	ck_assert_ptr_ne(map, MAP_FAILED);
	memcpy((char *)map + 100, "hello", 6);
	{
		char got[6];

		ck_assert_int_eq(vfu_client_region_read(c, 2, 100, got, 6), 0);
		ck_assert_str_eq(got, "hello");
		ck_assert_int_eq(vfu_client_region_write(c, 2, 200, "world", 6),
				 0);
		ck_assert_str_eq((char *)map + 200, "world");
	}
	munmap(map, areas[0].size);
	close(fd);

	/* IRQs */
	ck_assert_int_eq(vfu_client_irq_info(c, 2, &ii), 0);
	ck_assert_uint_eq(ii.count, 4);
	ck_assert_int_eq(vfu_client_irq_info(c, 3, &ii), 0);
	ck_assert_uint_eq(ii.count, 0);
	ck_assert_int_eq(vfu_client_irq_info(c, 5, &ii), -EINVAL);
	ck_assert_int_eq(vfu_client_reset(c), 0);
	vfu_client_close(c);
}
END_TEST

/* connect, 64 KiB of guest RAM (a memfd) at iova 0x100000 in two
 * windows; the second one without the fd unless @fd2 */
static uint8_t *guest_setup(struct vfu_client **c, int *mem, bool fd2)
{
	uint8_t *guest;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, c), 0);
	*mem = memfd_create("guest", MFD_CLOEXEC);
	ck_assert_int_ge(*mem, 0);
	ck_assert_int_eq(ftruncate(*mem, 0x10000), 0);
	guest = mmap(NULL, 0x10000, PROT_READ | PROT_WRITE, MAP_SHARED, *mem,
		     0);
	ck_assert_ptr_ne(guest, MAP_FAILED);
	ck_assert_int_eq(
		vfu_client_dma_map(*c, 0x100000, 0x8000, 3, *mem, 0, guest), 0);
	ck_assert_int_eq(vfu_client_dma_map(*c, 0x108000, 0x8000, 3,
					    fd2 ? *mem : -1, 0x8000,
					    guest + 0x8000),
			 0);
	return guest;
}

START_TEST(test_dma_and_irq)
{
	struct vfu_client *c;
	int mem, efd;
	uint8_t *guest;
	uint64_t v, cnt;
	struct pollfd pfd;

	/* guest RAM at iova 0x100000, fd-backed, in two windows */
	guest = guest_setup(&c, &mem, true);
	/* overlap and wrap are refused, the table is unchanged */
	ck_assert_int_eq(
		vfu_client_dma_map(c, 0x104000, 0x1000, 3, mem, 0, NULL),
		-EEXIST);
	{
		struct vfu_dma_map m = { .argsz = 32,
					 .flags = 3,
					 .addr = UINT64_MAX - 0xfff,
					 .size = 0x2000 };

		ck_assert_int_eq(vfu_client_call(c, VFU_CMD_DMA_MAP, &m,
						 sizeof(m), NULL, 0, NULL, NULL,
						 NULL, 0, NULL),
				 -EINVAL);
	}

	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(vfu_client_set_irq_eventfds(c, 1, 0, 1, &efd), 0);
	/* too many eventfds for the vectors */
	{
		int two[2] = { efd, efd };

		ck_assert_int_eq(vfu_client_set_irq_eventfds(c, 1, 0, 2, two),
				 -EINVAL);
	}

	/* a DMA crossing both windows: 0x107f00 .. +0x200 */
	for (int i = 0; i < 0x200; i++)
		guest[0x7f00 + i] = (uint8_t)i;
	v = 0x107f00;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &v, 8), 0);
	v = 0x100;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0x10, &v, 8), 0);
	v = 1;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 4, &v, 4), 0);
	for (int i = 0; i < 0x100; i++)
		ck_assert_uint_eq(guest[0x8000 + i], (uint8_t)~i);
	pfd.fd = efd;
	pfd.events = POLLIN;
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(read(efd, &cnt, 8), 8);
	ck_assert_uint_eq(cnt, 1);

	/* DMA to an unmapped address fails the doorbell write */
	v = 0x200000;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &v, 8), 0);
	v = 1;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 4, &v, 4), -EFAULT);

	/* unmap: exact only; double unmap fails */
	ck_assert_int_eq(vfu_client_dma_unmap(c, 0x100000, 0x4000), -ENOENT);
	ck_assert_int_eq(vfu_client_dma_unmap(c, 0x100000, 0x8000), 0);
	ck_assert_int_eq(vfu_client_dma_unmap(c, 0x100000, 0x8000), -ENOENT);
	ck_assert_int_eq(vfu_client_dma_unmap_all(c), 0);
	vfu_client_close(c);
	munmap(guest, 0x10000);
	close(mem);
	close(efd);
}
END_TEST

/* a raw connection that has negotiated VERSION */
static int raw_connect(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct {
		struct vfu_hdr h;
		struct vfu_version v;
	} __attribute__((packed)) msg = {
		.h = { .cmd = VFU_CMD_VERSION, .size = sizeof(msg) },
	};
	uint8_t rep[512];
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(write(fd, &msg, sizeof(msg)), sizeof(msg));
	ck_assert_int_gt(read(fd, rep, sizeof(rep)), 16);
	return fd;
}

/* send raw bytes, expect an error reply with @err, or EOF when err == 0 */
static void expect(int fd, const void *msg, size_t len, int err)
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

START_TEST(test_hostile_client)
{
	struct vfu_hdr h = { .cmd = 99, .size = 16 };
	struct vfu_client *c;
	int fd, before;
	uint32_t v;

	/* unknown command: error reply, the connection stays */
	fd = raw_connect();
	expect(fd, &h, sizeof(h), ENOSYS);
	/* out-of-range region accesses */
	{
		struct {
			struct vfu_hdr h;
			struct vfu_region_access a;
		} __attribute__((packed)) m = {
			.h = { .cmd = VFU_CMD_REGION_READ, .size = 32 },
			.a = { .offset = 4094, .region = 0, .count = 4 },
		};

		expect(fd, &m, sizeof(m), EINVAL);
		m.a.offset = 0;
		m.a.region = 9;
		expect(fd, &m, sizeof(m), EINVAL);
		m.a.region = 7;
		m.a.offset = 4096;
		expect(fd, &m, sizeof(m), EINVAL);
		m.a.region = 3; /* not set up */
		m.a.offset = 0;
		expect(fd, &m, sizeof(m), EINVAL);
	}
	/* extra fds on a command that takes none are closed */
	before = sim_count_fds(sim);
	{
		struct {
			struct vfu_hdr h;
			struct vfu_device_info i;
		} __attribute__((packed)) m = {
			.h = { .cmd = VFU_CMD_DEVICE_GET_INFO, .size = 32 },
			.i = { .argsz = 16 },
		};
		int efd = eventfd(0, EFD_CLOEXEC), fds[3] = { efd, efd, efd };
		struct iovec iov = { .iov_base = &m, .iov_len = sizeof(m) };
		union {
			char b[CMSG_SPACE(sizeof(fds))];
			struct cmsghdr a;
		} ctrl;
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctrl.b,
				     .msg_controllen = sizeof(ctrl.b) };
		struct cmsghdr *cm;
		struct vfu_hdr rh;

		memset(&ctrl, 0, sizeof(ctrl));
		cm = CMSG_FIRSTHDR(&mh);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(fds));
		memcpy(CMSG_DATA(cm), fds, sizeof(fds));
		ck_assert_int_eq(sendmsg(fd, &mh, 0), sizeof(m));
		ck_assert_int_eq(read(fd, &rh, sizeof(rh)), 16);
		ck_assert_int_eq(rh.error, EINVAL);
		close(efd);
	}
	ck_assert_int_eq(sim_count_fds(sim), before);
	/* a size below the header breaks framing: disconnected */
	h.cmd = VFU_CMD_DEVICE_RESET;
	h.size = 8;
	expect(fd, &h, sizeof(h), 0);
	close(fd);

	/* a size above the limit: disconnected */
	fd = raw_connect();
	h.size = VFU_MAX_MSG_SIZE + 1;
	expect(fd, &h, sizeof(h), 0);
	close(fd);

	/* commands before VERSION: error, then disconnected */
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		struct vfu_hdr rh;

		strcpy(sa.sun_path, sock_path);
		fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		ck_assert_int_eq(
			connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		h.size = 16;
		ck_assert_int_eq(write(fd, &h, 16), 16);
		ck_assert_int_eq(read(fd, &rh, 16), 16);
		ck_assert_int_eq(rh.error, EINVAL);
		ck_assert_int_eq(read(fd, &rh, 16), 0);
		close(fd);
	}

	/* a peer that vanishes mid-message */
	fd = raw_connect();
	h.size = 64;
	ck_assert_int_eq(write(fd, &h, 16), 16);
	close(fd);

	/* the device still serves the next client, state kept */
	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	v = 77;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 4), 0);
	vfu_client_close(c);
	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0, &v, 4), 0);
	ck_assert_uint_eq(v, 77);
	vfu_client_close(c);
}
END_TEST

/* ---- message-based DMA (windows without an fd) ---- */

/* sim-device's DMA: [src, src + len) inverted to src + len; the doorbell
 * write's result */
static int sim_copy(struct vfu_client *c, uint64_t src, uint64_t len)
{
	uint64_t one = 1;

	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &src, 8), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0x10, &len, 8), 0);
	return vfu_client_region_write(c, 0, 4, &one, 4);
}

START_TEST(test_dma_message)
{
	struct vfu_client *c;
	int mem;
	uint8_t *guest;
	uint64_t v;

	/* the first window fd-backed, the second by message only */
	guest = guest_setup(&c, &mem, false);
	for (int i = 0; i < 0x10000; i++)
		guest[i] = (uint8_t)(i * 7);
	/* mixed: read 0x107f00..+0x200 across both, write into the second */
	ck_assert_int_eq(sim_copy(c, 0x107f00, 0x200), 0);
	for (int i = 0; i < 0x200; i++)
		ck_assert_uint_eq(guest[0x8100 + i],
				  (uint8_t) ~(uint8_t)((0x7f00 + i) * 7));
	/* message only: 4 KiB read and written by DMA_READ/DMA_WRITE */
	ck_assert_int_eq(sim_copy(c, 0x109000, 0x1000), 0);
	for (int i = 0; i < 0x1000; i++)
		ck_assert_uint_eq(guest[0xa000 + i],
				  (uint8_t) ~(uint8_t)((0x9000 + i) * 7));
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0x30, &v, 4), 0);
	ck_assert_uint_eq(v, 0);
	/* a hole after a message window: refused before any message */
	ck_assert_int_eq(sim_copy(c, 0x10f800, 0x1000), -EFAULT);
	/* from a thread that is not serving the connection: -EREMOTE */
	v = 0x109000;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 8, &v, 8), 0);
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0x28, &v, 4), 0);
	for (int i = 0; i < 500; i++) {
		v = 0;
		ck_assert_int_eq(vfu_client_region_read(c, 0, 0x28, &v, 8), 0);
		if (v != 1)
			break;
		usleep(10000);
	}
	ck_assert_int_eq((int64_t)v, -EREMOTE);
	/* the connection is still in step */
	v = 0;
	ck_assert_int_eq(vfu_client_region_read(c, 0, 8, &v, 8), 0);
	ck_assert_uint_eq(v, 0x109000);
	ck_assert_int_eq(vfu_client_dma_unmap_all(c), 0);
	vfu_client_close(c);
	munmap(guest, 0x10000);
	close(mem);
}
END_TEST

/* a raw connection; VERSION with @json (NULL: none), the reply's JSON in
 * @rjson (may be NULL) */
static int raw_connect_json(const char *json, char *rjson, size_t rmax)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 5 };
	uint8_t msg[512], rep[512];
	struct vfu_hdr h = { .cmd = VFU_CMD_VERSION };
	struct vfu_version ver = { 0 };
	size_t jl = json ? strlen(json) + 1 : 0;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ssize_t n;

	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
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

static void raw_send(int fd, uint16_t id, uint16_t cmd, uint32_t flags,
		     uint32_t error, const void *p, size_t len)
{
	struct vfu_hdr h = { .msg_id = id,
			     .cmd = cmd,
			     .size = (uint32_t)(sizeof(h) + len),
			     .flags = flags,
			     .error = error };
	uint8_t buf[2048];

	ck_assert_uint_le(len, sizeof(buf) - sizeof(h));
	memcpy(buf, &h, sizeof(h));
	if (len)
		memcpy(buf + sizeof(h), p, len);
	ck_assert_int_eq(send(fd, buf, h.size, MSG_NOSIGNAL), (ssize_t)h.size);
}

/* one whole message; false at EOF */
static bool raw_recv(int fd, struct vfu_hdr *h, uint8_t *p, size_t max)
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

/* REGION_WRITE of 8 bytes (4 for the doorbell) to BAR0, without waiting */
static void raw_bar0_write(int fd, uint16_t id, uint64_t off, uint64_t v)
{
	struct {
		struct vfu_region_access a;
		uint64_t v;
	} __attribute__((packed)) m = {
		.a = { .offset = off, .region = 0, .count = off == 4 ? 4 : 8 },
		.v = v,
	};

	raw_send(fd, id, VFU_CMD_REGION_WRITE, 0, 0, &m,
		 sizeof(m.a) + m.a.count);
}

static void raw_expect_reply(int fd, uint16_t id, uint16_t cmd, uint32_t err)
{
	struct vfu_hdr h;
	uint8_t p[64];

	ck_assert(raw_recv(fd, &h, p, sizeof(p)));
	ck_assert_uint_eq(h.msg_id, id);
	ck_assert_uint_eq(h.cmd, cmd);
	ck_assert_uint_eq(h.flags & VFU_F_TYPE_MASK, VFU_F_TYPE_REPLY);
	ck_assert_uint_eq(h.error, err);
}

/* a raw client with max_data_xfer_size 64 and a message-only window of
 * 4 KiB at 0x100000, the DMA source and length set */
static int raw_dma_client(uint64_t len)
{
	struct vfu_dma_map m = {
		.argsz = 32, .flags = 3, .addr = 0x100000, .size = 0x1000
	};
	int fd = raw_connect_json(
		"{\"capabilities\":{\"max_data_xfer_size\":64}}", NULL, 0);

	raw_send(fd, 1, VFU_CMD_DMA_MAP, 0, 0, &m, sizeof(m));
	raw_expect_reply(fd, 1, VFU_CMD_DMA_MAP, 0);
	raw_bar0_write(fd, 2, 8, 0x100000);
	raw_expect_reply(fd, 2, VFU_CMD_REGION_WRITE, 0);
	raw_bar0_write(fd, 3, 0x10, len);
	raw_expect_reply(fd, 3, VFU_CMD_REGION_WRITE, 0);
	return fd;
}

/* the layout probe a connection's first message DMA starts with (a
 * DMA_WRITE of 0 bytes), answered as a peer of the spec's layout (@qemu
 * false: the 16 bytes echoed) or as QEMU 10.2 does (the header alone) */
static void raw_answer_probe(int fd, bool qemu)
{
	struct vfu_dma_access a;
	struct vfu_hdr h;
	uint8_t p[64];

	ck_assert(raw_recv(fd, &h, p, sizeof(p)));
	ck_assert_uint_eq(h.cmd, VFU_CMD_DMA_WRITE);
	ck_assert_uint_eq(h.flags, VFU_F_TYPE_COMMAND);
	ck_assert_uint_eq(h.size, 32);
	memcpy(&a, p, sizeof(a));
	ck_assert_uint_eq(a.count, 0);
	raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, &a, qemu ? 0 : 16);
}

/* the next server-to-client request: checked, its (addr, count) */
static void raw_dma_request(int fd, uint16_t cmd, struct vfu_hdr *h,
			    struct vfu_dma_access *a, uint8_t *data)
{
	uint8_t p[1024];

	ck_assert(raw_recv(fd, h, p, sizeof(p)));
	ck_assert_uint_eq(h->cmd, cmd);
	ck_assert_uint_eq(h->flags, VFU_F_TYPE_COMMAND);
	memcpy(a, p, sizeof(*a));
	ck_assert_uint_le(a->count, 64);
	ck_assert_uint_eq(h->size,
			  32 + (cmd == VFU_CMD_DMA_WRITE ? a->count : 0));
	if (data && cmd == VFU_CMD_DMA_WRITE)
		memcpy(data, p + sizeof(*a), a->count);
}

/* the same in QEMU's layout: {u64 addr, u32 count}, data at 12, 4 bytes
 * of padding after it */
static void raw_dma_request_qemu(int fd, uint16_t cmd, struct vfu_hdr *h,
				 uint64_t *addr, uint32_t *count, uint8_t *data)
{
	uint8_t p[1024];

	ck_assert(raw_recv(fd, h, p, sizeof(p)));
	ck_assert_uint_eq(h->cmd, cmd);
	ck_assert_uint_eq(h->flags, VFU_F_TYPE_COMMAND);
	memcpy(addr, p, 8);
	memcpy(count, p + 8, 4);
	ck_assert_uint_le(*count, 64);
	ck_assert_uint_eq(h->size,
			  32 + (cmd == VFU_CMD_DMA_WRITE ? *count : 0));
	if (data && cmd == VFU_CMD_DMA_WRITE)
		memcpy(data, p + 12, *count);
}

/* after a dropped connection: the device serves the next client and
 * reports the DMA error @err of the doorbell */
static void check_dma_err(uint32_t err)
{
	struct vfu_client *c;
	uint64_t v = 0;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	ck_assert_int_eq(vfu_client_region_read(c, 0, 0x30, &v, 4), 0);
	ck_assert_uint_eq(v, err);
	vfu_client_close(c);
}

/* a raw client whose doorbell made the device send a DMA_READ of 16
 * bytes, not answered yet: @h and @a */
static int raw_pending_dma(struct vfu_hdr *h, struct vfu_dma_access *a)
{
	int fd = raw_dma_client(16);

	raw_bar0_write(fd, 10, 4, 1);
	raw_answer_probe(fd, false);
	raw_dma_request(fd, VFU_CMD_DMA_READ, h, a, NULL);
	return fd;
}

/* the server hangs up on @fd; the doorbell's DMA failed with @err */
static void raw_dropped(int fd, uint32_t err)
{
	struct vfu_hdr rh;
	uint8_t p[64];

	ck_assert(!raw_recv(fd, &rh, p, sizeof(p)));
	close(fd);
	check_dma_err(err);
}

START_TEST(test_dma_hostile)
{
	struct vfu_dma_access a;
	struct vfu_hdr h, rh;
	uint8_t guest[256], p[64];
	uint16_t last_id = 0;
	int fd;

	for (int i = 0; i < 256; i++)
		guest[i] = (uint8_t)(i ^ 0x5a);

	/* well behaved, with commands pipelined while the DMA waits: 128
	 * bytes in chunks of 64, ids in sequence, commands handled after */
	fd = raw_dma_client(128);
	raw_bar0_write(fd, 10, 4, 1);
	raw_answer_probe(fd, false);
	for (int k = 0; k < 2; k++) {
		raw_dma_request(fd, VFU_CMD_DMA_READ, &h, &a, NULL);
		ck_assert_uint_eq(a.addr, 0x100000 + 64 * k);
		ck_assert_uint_eq(a.count, 64);
		if (k)
			ck_assert_uint_eq(h.msg_id, (uint16_t)(last_id + 1));
		last_id = h.msg_id;
		if (k == 0) {
			/* a command before the reply: queued */
			raw_bar0_write(fd, 11, 0, 0x1234);
			raw_send(fd, 12, VFU_CMD_DEVICE_GET_INFO, 0, 0,
				 &(struct vfu_device_info){ .argsz = 16 }, 16);
		}
		{
			uint8_t rep[16 + 64];

			memcpy(rep, &a, sizeof(a));
			memcpy(rep + 16, guest + 64 * k, 64);
			raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, rep,
				 sizeof(rep));
		}
	}
	for (int k = 0; k < 2; k++) {
		uint8_t data[64];

		raw_dma_request(fd, VFU_CMD_DMA_WRITE, &h, &a, data);
		ck_assert_uint_eq(a.addr, 0x100080 + 64 * k);
		ck_assert_uint_eq(h.msg_id, (uint16_t)(last_id + 1));
		last_id = h.msg_id;
		for (int i = 0; i < 64; i++)
			ck_assert_uint_eq(data[i], (uint8_t)~guest[64 * k + i]);
		raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, &a,
			 sizeof(a));
	}
	/* the doorbell's reply, then the queued commands, in order */
	raw_expect_reply(fd, 10, VFU_CMD_REGION_WRITE, 0);
	raw_expect_reply(fd, 11, VFU_CMD_REGION_WRITE, 0);
	raw_expect_reply(fd, 12, VFU_CMD_DEVICE_GET_INFO, 0);

	/* an error reply: its errno fails the doorbell, the client stays */
	raw_bar0_write(fd, 13, 4, 1);
	raw_dma_request(fd, VFU_CMD_DMA_READ, &h, &a, NULL);
	raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY | VFU_F_ERROR, EFAULT,
		 NULL, 0);
	raw_expect_reply(fd, 13, VFU_CMD_REGION_WRITE, EFAULT);
	{
		struct vfu_region_access ra = { .offset = 0,
						.region = 0,
						.count = 8 };

		raw_send(fd, 14, VFU_CMD_REGION_READ, 0, 0, &ra, sizeof(ra));
		ck_assert(raw_recv(fd, &rh, p, sizeof(p)));
		ck_assert_uint_eq(rh.msg_id, 14);
		ck_assert_uint_eq(rh.error, 0);
		ck_assert_uint_eq(*(uint64_t *)(void *)(p + 16), 0x1234);
	}
	close(fd);

	/* the wrong id: dropped, -EPROTO */
	fd = raw_pending_dma(&h, &a);
	{
		uint8_t rep[32];

		memcpy(rep, &a, sizeof(a));
		memset(rep + 16, 0, 16);
		raw_send(fd, (uint16_t)(h.msg_id + 1), h.cmd, VFU_F_TYPE_REPLY,
			 0, rep, sizeof(rep));
	}
	raw_dropped(fd, EPROTO);

	/* malformed replies: dropped, -EPROTO */
	for (int bad = 0; bad < 5; bad++) {
		uint8_t rep[48] = { 0 };
		size_t len = 32;
		uint32_t flags = VFU_F_TYPE_REPLY;
		uint16_t cmd;

		fd = raw_pending_dma(&h, &a);
		cmd = h.cmd;
		if (bad == 0)
			a.count = 8; /* count not echoed */
		else if (bad == 1)
			len = 24; /* short data */
		else if (bad == 2)
			len = 48; /* too much data */
		else if (bad == 3)
			cmd = VFU_CMD_DMA_WRITE; /* another command */
		else
			flags |= 0x100; /* reserved flag */
		memcpy(rep, &a, sizeof(a));
		raw_send(fd, h.msg_id, cmd, flags, 0, rep, len);
		raw_dropped(fd, EPROTO);
	}

	/* no answer: dropped after the time limit, -ETIMEDOUT */
	fd = raw_pending_dma(&h, &a);
	raw_dropped(fd, ETIMEDOUT);

	/* gone in the middle of the wait: -ECONNRESET */
	fd = raw_pending_dma(&h, &a);
	close(fd);
	check_dma_err(ECONNRESET);

	/* too many commands while waiting: dropped, -ENOBUFS */
	fd = raw_pending_dma(&h, &a);
	for (int i = 0; i < 65; i++)
		raw_send(fd, (uint16_t)(100 + i), VFU_CMD_DEVICE_GET_INFO, 0, 0,
			 &(struct vfu_device_info){ .argsz = 16 }, 16);
	raw_dropped(fd, ENOBUFS);
}
END_TEST

/*
 * A peer that speaks QEMU 10.2's DMA_READ/DMA_WRITE layout (data at 12, a
 * header-only DMA_WRITE reply) is recognised by the probe and spoken to in
 * it. The guest data starts with zero bytes, the case where a reply in
 * QEMU's layout read as the spec's passes with the data shifted by 4.
 */
START_TEST(test_dma_qemu_layout)
{
	struct vfu_hdr h;
	uint8_t guest[128], data[64], rep[12 + 64 + 4];
	uint64_t addr;
	uint32_t count;
	int fd;

	for (int i = 0; i < 128; i++)
		guest[i] = i < 8 ? 0 : (uint8_t)(i * 7);
	fd = raw_dma_client(128);
	raw_bar0_write(fd, 10, 4, 1);
	raw_answer_probe(fd, true);
	for (int k = 0; k < 2; k++) {
		raw_dma_request_qemu(fd, VFU_CMD_DMA_READ, &h, &addr, &count,
				     NULL);
		ck_assert_uint_eq(addr, 0x100000 + 64 * k);
		ck_assert_uint_eq(count, 64);
		memset(rep, 0, sizeof(rep));
		memcpy(rep, &addr, 8);
		memcpy(rep + 8, &count, 4);
		memcpy(rep + 12, guest + 64 * k, 64);
		raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, rep,
			 sizeof(rep));
	}
	/* sim-device writes back the complement of what it read */
	for (int k = 0; k < 2; k++) {
		raw_dma_request_qemu(fd, VFU_CMD_DMA_WRITE, &h, &addr, &count,
				     data);
		ck_assert_uint_eq(addr, 0x100080 + 64 * k);
		for (int i = 0; i < 64; i++)
			ck_assert_uint_eq(data[i], (uint8_t)~guest[64 * k + i]);
		raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, NULL, 0);
	}
	raw_expect_reply(fd, 10, VFU_CMD_REGION_WRITE, 0);

	/* a spec-layout reply after QEMU's was learnt: malformed, dropped */
	raw_bar0_write(fd, 13, 4, 1);
	raw_dma_request_qemu(fd, VFU_CMD_DMA_READ, &h, &addr, &count, NULL);
	{
		uint8_t spec[16 + 64] = { 0 };
		uint64_t c64 = count;

		memcpy(spec, &addr, 8);
		memcpy(spec + 8, &c64, 8);
		raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, spec,
			 16 + count - 4);
	}
	raw_dropped(fd, EPROTO);

	/* probe answers that fit neither layout: dropped */
	for (int bad = 0; bad < 3; bad++) {
		struct vfu_dma_access a = { .addr = 0x100000, .count = 0 };

		fd = raw_dma_client(16);
		raw_bar0_write(fd, 10, 4, 1);
		ck_assert(raw_recv(fd, &h, rep, sizeof(rep)));
		ck_assert_uint_eq(h.cmd, VFU_CMD_DMA_WRITE);
		if (bad == 0)
			a.count = 16; /* a count that was not asked for */
		raw_send(fd, h.msg_id, h.cmd, VFU_F_TYPE_REPLY, 0, &a,
			 bad == 1   ? 12
			 : bad == 2 ? 8
				    : 16);
		raw_dropped(fd, EPROTO);
	}
}
END_TEST

/* a second client is refused (EBUSY to its VERSION, under its id), not
 * left in the backlog; the first keeps working, and after it a new one
 * gets in */
START_TEST(test_second_client)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
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
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	strcpy(sa.sun_path, sock_path);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
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

/* REGION_INFO of @region with @argsz in a request of @len bytes (80, as
 * libvfio-user's client retries); the reply's size, and whether an fd came */
static size_t raw_region_info(int fd, uint32_t region, uint32_t argsz,
			      size_t len, bool *got_fd)
{
	uint8_t req[16 + 80] = { 0 }, rep[512];
	struct vfu_region_info ri = { .argsz = argsz, .index = region };
	struct vfu_hdr h = { .msg_id = 3,
			     .cmd = VFU_CMD_DEVICE_GET_REGION_INFO,
			     .size = (uint32_t)(16 + len) };
	union {
		char b[CMSG_SPACE(sizeof(int) * 4)];
		struct cmsghdr a;
	} ctrl;
	struct iovec iov = { .iov_base = rep, .iov_len = sizeof(rep) };
	struct msghdr mh = { .msg_iov = &iov,
			     .msg_iovlen = 1,
			     .msg_control = ctrl.b,
			     .msg_controllen = sizeof(ctrl.b) };
	struct cmsghdr *cm;
	ssize_t n;

	memcpy(req, &h, 16);
	memcpy(req + 16, &ri, sizeof(ri));
	ck_assert_int_eq(send(fd, req, 16 + len, MSG_NOSIGNAL),
			 (ssize_t)(16 + len));
	n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
	ck_assert_int_ge(n, 16);
	memcpy(&h, rep, 16);
	ck_assert_uint_eq(h.size, n);
	ck_assert_uint_eq(h.error, 0);
	*got_fd = false;
	for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
		if (cm->cmsg_type == SCM_RIGHTS) {
			int rfd;

			memcpy(&rfd, CMSG_DATA(cm), sizeof(rfd));
			close(rfd);
			*got_fd = true;
		}
	return (size_t)n;
}

/*
 * The argsz rule as libvfio-user's client uses it: a request longer than
 * its structure is served (the rest ignored); a REGION_INFO reply cut
 * short by a small argsz carries no fd (the client has no room for one),
 * the full reply does.
 */
START_TEST(test_argsz_foreign)
{
	int fd = raw_connect();
	bool got_fd;
	size_t n;

	/* BAR2: memory with a sparse cap; 32 bytes of room: no caps, no fd */
	n = raw_region_info(fd, VGPU_REGION_BAR2, 32, 32, &got_fd);
	ck_assert_uint_eq(n, 16 + 32);
	ck_assert(!got_fd);
	/* asked again, in an 80-byte request with room: caps and the fd */
	n = raw_region_info(fd, VGPU_REGION_BAR2, 512, 80, &got_fd);
	ck_assert_uint_gt(n, 16 + 32);
	ck_assert(got_fd);
	/* shorter than the structure: still refused */
	{
		uint8_t req[16 + 16] = { 0 };
		struct vfu_hdr h = { .msg_id = 4,
				     .cmd = VFU_CMD_DEVICE_GET_REGION_INFO,
				     .size = sizeof(req) };

		memcpy(req, &h, 16);
		expect(fd, req, sizeof(req), EINVAL);
	}
	/* longer GET_INFO and IRQ_INFO requests */
	{
		uint8_t req[16 + 40] = { 0 }, rep[64];
		struct vfu_hdr h = { .msg_id = 5,
				     .cmd = VFU_CMD_DEVICE_GET_INFO,
				     .size = sizeof(req) },
			       rh;
		uint32_t argsz = 16;

		memcpy(req, &h, 16);
		memcpy(req + 16, &argsz, 4);
		ck_assert_int_eq(send(fd, req, sizeof(req), MSG_NOSIGNAL),
				 sizeof(req));
		ck_assert(raw_recv(fd, &rh, rep, sizeof(rep)));
		ck_assert_uint_eq(rh.error, 0);
		ck_assert_uint_eq(rh.size, 32);
		h.cmd = VFU_CMD_DEVICE_GET_IRQ_INFO;
		h.msg_id = 6;
		memcpy(req, &h, 16);
		ck_assert_int_eq(send(fd, req, sizeof(req), MSG_NOSIGNAL),
				 sizeof(req));
		ck_assert(raw_recv(fd, &rh, rep, sizeof(rep)));
		ck_assert_uint_eq(rh.error, 0);
		ck_assert_uint_eq(rh.size, 32);
	}
	close(fd);
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

/* DEVICE_FEATURE on migration; returns the call's result */
static int mig_feature(struct vfu_client *c, uint32_t flags, const void *data,
		       size_t len, void *out, size_t out_len)
{
	uint8_t req[64];
	struct vfu_feature f = { .argsz = 64, .flags = flags };
	void *rep = NULL;
	size_t rlen = 0;
	int r;

	memcpy(req, &f, sizeof(f));
	if (len)
		memcpy(req + sizeof(f), data, len);
	r = vfu_client_call(c, VFU_CMD_DEVICE_FEATURE, req, sizeof(f) + len,
			    NULL, 0, &rep, &rlen, NULL, 0, NULL);
	if (r == 0 && out) {
		ck_assert_uint_eq(rlen, sizeof(f) + out_len);
		memcpy(out, (uint8_t *)rep + sizeof(f), out_len);
	}
	free(rep);
	return r;
}

static int mig_set(struct vfu_client *c, uint32_t state)
{
	struct vfu_mig_state st = { .device_state = state };

	return mig_feature(c, VFU_FEATURE_SET | VFU_FEATURE_MIG_DEVICE_STATE,
			   &st, sizeof(st), NULL, 0);
}

static uint32_t mig_get(struct vfu_client *c)
{
	struct vfu_mig_state st;

	ck_assert_int_eq(
		mig_feature(c, VFU_FEATURE_GET | VFU_FEATURE_MIG_DEVICE_STATE,
			    NULL, 0, &st, sizeof(st)),
		0);
	return st.device_state;
}

/* MIG_DATA_READ of up to @want bytes into @buf; the count, or -errno */
static int mig_read(struct vfu_client *c, void *buf, uint32_t want)
{
	struct vfu_mig_data m = { .argsz = sizeof(m) + want, .size = want };
	void *rep;
	size_t len;
	int r;

	r = vfu_client_call(c, VFU_CMD_MIG_DATA_READ, &m, sizeof(m), NULL, 0,
			    &rep, &len, NULL, 0, NULL);
	if (r < 0)
		return r;
	ck_assert_uint_ge(len, sizeof(m));
	memcpy(&m, rep, sizeof(m));
	ck_assert_uint_eq(len, sizeof(m) + m.size);
	memcpy(buf, (uint8_t *)rep + sizeof(m), m.size);
	free(rep);
	return (int)m.size;
}

static int mig_write(struct vfu_client *c, const void *data, uint32_t len)
{
	uint8_t req[64];
	struct vfu_mig_data m = { .argsz = sizeof(m) + len, .size = len };

	memcpy(req, &m, sizeof(m));
	memcpy(req + sizeof(m), data, len);
	return vfu_client_call(c, VFU_CMD_MIG_DATA_WRITE, req, sizeof(m) + len,
			       NULL, 0, NULL, NULL, NULL, 0, NULL);
}

static uint64_t bar0(struct vfu_client *c, uint64_t off)
{
	uint64_t v = 0;

	ck_assert_int_eq(vfu_client_region_read(c, 0, off, &v, 8), 0);
	return v;
}

/* VFIO migration v2 over DEVICE_FEATURE and MIG_DATA_READ/WRITE */
START_TEST(test_migration)
{
	struct vfu_client *c;
	uint64_t flags, v, arcs;
	uint8_t saved[64], chunk[8] = { 0 };
	int n, total = 0;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	ck_assert_int_eq(mig_feature(c, VFU_FEATURE_GET | VFU_FEATURE_MIGRATION,
				     NULL, 0, &flags, sizeof(flags)),
			 0);
	ck_assert_uint_eq(flags, 5); /* STOP_COPY | PRE_COPY */
	ck_assert_int_eq(mig_feature(c,
				     VFU_FEATURE_PROBE | VFU_FEATURE_SET |
					     VFU_FEATURE_MIG_DEVICE_STATE,
				     NULL, 0, NULL, 0),
			 0);
	ck_assert_int_eq(mig_feature(c, VFU_FEATURE_SET | VFU_FEATURE_MIGRATION,
				     NULL, 0, NULL, 0),
			 -EINVAL);
	ck_assert_uint_eq(mig_get(c), 2); /* RUNNING */
	/* no data outside the saving and resuming states */
	ck_assert_int_eq(mig_read(c, chunk, 8), -EINVAL);
	ck_assert_int_eq(mig_write(c, chunk, 8), -EINVAL);

	/* save: RUNNING -> STOP -> STOP_COPY, in 8-byte reads to the end */
	v = 0xfeedface;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 8), 0);
	arcs = bar0(c, 0x18);
	ck_assert_int_eq(mig_set(c, 3), 0);
	ck_assert_uint_eq(mig_get(c), 3);
	ck_assert_uint_eq(bar0(c, 0x18), arcs + 2);
	while ((n = mig_read(c, chunk, sizeof(chunk))) > 0) {
		memcpy(saved + total, chunk, (size_t)n);
		total += n;
	}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(total, 16);
	/* STOP_COPY -> PRE_COPY is forbidden; the state stays */
	ck_assert_int_eq(mig_set(c, 6), -EINVAL);
	ck_assert_uint_eq(mig_get(c), 3);
	ck_assert_int_eq(mig_set(c, 0), -EINVAL); /* ERROR cannot be asked */
	ck_assert_int_eq(mig_set(c, 5), -EINVAL); /* P2P not offered */

	/* load into a changed device: ... -> STOP -> RESUMING, write, RUNNING */
	ck_assert_int_eq(mig_set(c, 2), 0);
	v = 1;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 8), 0);
	ck_assert_int_eq(mig_set(c, 4), 0);
	ck_assert_int_eq(mig_write(c, saved, 10), 0);
	ck_assert_int_eq(mig_write(c, saved + 10, 6), 0);
	ck_assert_int_eq(mig_set(c, 2), 0);
	ck_assert_uint_eq(bar0(c, 0), 0xfeedface);

	/* PRE_COPY from RUNNING directly, then to STOP through RUNNING */
	ck_assert_int_eq(mig_set(c, 6), 0);
	ck_assert_int_eq(mig_read(c, chunk, 8), 8);
	ck_assert_int_eq(mig_set(c, 1), 0);
	ck_assert_uint_eq(mig_get(c), 1);

	/* a bad image: leaving RESUMING fails, ERROR until a reset */
	ck_assert_int_eq(mig_set(c, 4), 0);
	ck_assert_int_eq(mig_write(c, "garbage!", 8), 0);
	ck_assert_int_eq(mig_set(c, 2), -EINVAL);
	ck_assert_uint_eq(mig_get(c), 0);
	ck_assert_int_eq(mig_set(c, 2), -EINVAL);
	ck_assert_int_eq(vfu_client_reset(c), 0);
	ck_assert_uint_eq(mig_get(c), 2);
	vfu_client_close(c);
}
END_TEST

static void threaded_off(void)
{
	sim_threaded = false;
}

static void threaded_on(void)
{
	sim_threaded = true;
}

/* the server-client tests against a provider in one threading mode */
static TCase *server_client_tcase(const char *name, bool threaded)
{
	TCase *tc = tcase_create(name);

	tcase_add_unchecked_fixture(tc, threaded ? threaded_on : threaded_off,
				    NULL);
	tcase_add_checked_fixture(tc, sim_setup, sim_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_device_discovery);
	tcase_add_test(tc, test_dma_and_irq);
	tcase_add_test(tc, test_hostile_client);
	tcase_add_test(tc, test_migration);
	tcase_add_test(tc, test_dma_message);
	tcase_add_test(tc, test_dma_hostile);
	tcase_add_test(tc, test_dma_qemu_layout);
	tcase_add_test(tc, test_second_client);
	tcase_add_test(tc, test_version_subset);
	tcase_add_test(tc, test_argsz_foreign);
	tcase_add_test(tc, test_version_migration);
	return tc;
}

static Suite *vfu_suite(void)
{
	Suite *s = suite_create("vfio-user");
	TCase *tc = tcase_create("parser");

	tcase_add_test(tc, test_parse_table);
	tcase_add_test(tc, test_parse_hostile);
	tcase_add_test(tc, test_parse_unmap_feature);
	tcase_add_test(tc, test_caps_json);
	tcase_add_test(tc, test_recv_too_many_fds);
	tcase_add_test(tc, test_reader);
	tcase_add_test(tc, test_ctl_format);
	suite_add_tcase(s, tc);
	/* vgpu_provider_dispatch() loop, then a thread per client */
	suite_add_tcase(s, server_client_tcase("server-client", false));
	suite_add_tcase(s, server_client_tcase("server-client-threaded", true));
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(vfu_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
