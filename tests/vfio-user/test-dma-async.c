/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Message DMA (DMA_READ/DMA_WRITE sent to the client) against a raw,
 * hostile client: pipelined commands while a transfer waits, error and
 * malformed replies, silence, hang-ups, a flood; the layout probe (the
 * spec's or QEMU 10.2's).
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "libvgpu-private.h"
#include "proto.h"
#include "sim-device.h"
#include "sim-fixture.h"

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

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_dma_hostile);
	tcase_add_test(tc, test_dma_qemu_layout);
}

int main(void)
{
	return sim_run("dma-async", add_tests);
}
