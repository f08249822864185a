/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The wire format (lib/vfio-user-wire/): parser units under hostile input. */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-run.h"
#include "ctl.h"
#include "proto.h"

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

int main(void)
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
	return run_suite(s);
}
