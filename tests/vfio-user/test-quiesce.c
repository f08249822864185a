/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Pinned windows and the quiesce callback: a provider engine thread that
 * holds a pin keeps its mapping across the client's DMA_UNMAP attempts and
 * its disconnect, and the window goes (dma_unmap called, memory unmapped)
 * only after the provider lets go: unpin, and vgpu_device_quiesced() when
 * its quiesce callback answered -EBUSY. Asynchronous transfers across a
 * quiesce, one from another thread that the socket does not take at
 * once, and many from another thread between the client's commands.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check-run.h"
#include "proto.h"
#include "prov-harness.h"

#define IOVA 0x100000ull
#define WLEN 0x10000ull

static int quiesce_answer; /* what the callback returns */
static int quiesce_calls;  /* atomic */
static int unmap_calls;	   /* atomic */

static int on_quiesce(struct vgpu_device *dev, void *userdata)
{
	__atomic_add_fetch(&quiesce_calls, 1, __ATOMIC_SEQ_CST);
	return quiesce_answer;
}

static void on_dma_unmap(struct vgpu_device *dev, uint64_t iova, uint64_t len,
			 void *userdata)
{
	__atomic_add_fetch(&unmap_calls, 1, __ATOMIC_SEQ_CST);
}

/* wait (no time limit but the test's) until *@v reaches @want */
static void wait_for(int *v, int want)
{
	while (__atomic_load_n(v, __ATOMIC_SEQ_CST) < want)
		usleep(1000);
}

static void wait_disconnected(struct vgpu_device *dev)
{
	while (vgpu_device_is_connected(dev))
		usleep(1000);
}

/* the client: a 64 KiB window of a memfd at IOVA; the memfd's mapping */
static int map_window(int sock, uint8_t **mem, int *mfd)
{
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = 3, .addr = IOVA, .size = WLEN
	};
	struct vfu_hdr h;
	uint8_t p[64];

	/* sealed against shrinking, like QEMU's memory-backend-memfd: the
	 * provider may pin and touch it directly */
	*mfd = memfd_create("guest", MFD_CLOEXEC | MFD_ALLOW_SEALING);
	ck_assert_int_ge(*mfd, 0);
	ck_assert_int_eq(ftruncate(*mfd, WLEN), 0);
	ck_assert_int_eq(fcntl(*mfd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW),
			 0);
	*mem = mmap(NULL, WLEN, PROT_READ | PROT_WRITE, MAP_SHARED, *mfd, 0);
	ck_assert_ptr_ne(*mem, MAP_FAILED);
	h_send(sock, 1, VFU_CMD_DMA_MAP, &m, sizeof(m), mfd, 1);
	ck_assert(h_recv(sock, &h, p, sizeof(p)));
	return (int)h.error;
}

/* the provider's engine: pins the window, writes through it when told,
 * unpins when told */
struct engine {
	struct vgpu_device *dev;
	pthread_t t;
	int step; /* atomic: 1 pinned, 2 write, 3 written, 4 unpin, 5 done */
	bool call_quiesced;
};

static void engine_wait(struct engine *e, int step)
{
	while (__atomic_load_n(&e->step, __ATOMIC_SEQ_CST) < step)
		usleep(1000);
}

static void engine_go(struct engine *e, int step)
{
	__atomic_store_n(&e->step, step, __ATOMIC_SEQ_CST);
}

static void *engine_main(void *data)
{
	struct engine *e = data;
	struct iovec iov[2];

	ck_assert_int_eq(vgpu_device_dma_pin(e->dev, IOVA, WLEN,
					     VGPU_DMA_READ | VGPU_DMA_WRITE,
					     iov, 2),
			 1);
	engine_go(e, 1);
	engine_wait(e, 2);
	/* the client may be gone: the mapping is still ours */
	memset(iov[0].iov_base, 0xa5, (size_t)iov[0].iov_len);
	engine_go(e, 3);
	engine_wait(e, 4);
	ck_assert_int_eq(vgpu_device_dma_unpin(e->dev, IOVA, WLEN), 0);
	if (e->call_quiesced)
		ck_assert_int_eq(vgpu_device_quiesced(e->dev), 0);
	engine_go(e, 5);
	return NULL;
}

static void engine_start(struct engine *e, struct vgpu_device *dev,
			 bool call_quiesced)
{
	memset(e, 0, sizeof(*e));
	e->dev = dev;
	e->call_quiesced = call_quiesced;
	ck_assert_int_eq(pthread_create(&e->t, NULL, engine_main, e), 0);
	engine_wait(e, 1);
}

static void reset_counters(int answer)
{
	quiesce_answer = answer;
	__atomic_store_n(&quiesce_calls, 0, __ATOMIC_SEQ_CST);
	__atomic_store_n(&unmap_calls, 0, __ATOMIC_SEQ_CST);
}

/* a pin held across a disconnect, with or without a quiesce callback that
 * answers -EBUSY */
static void disconnect_case(enum h_mode mode, bool with_quiesce)
{
	struct vgpu_provider_ops ops = { .dma_unmap = on_dma_unmap };
	struct harness h;
	struct h_usage before;
	struct engine e;
	uint8_t *mem;
	int sock, mfd;

	reset_counters(-EBUSY);
	h_start_quiesce(&h, mode, &ops, with_quiesce ? on_quiesce : NULL);
	h_usage(&before);
	sock = h_raw_client(h.sock[0], NULL);
	ck_assert_int_eq(map_window(sock, &mem, &mfd), 0);
	engine_start(&e, h.dev[0], with_quiesce);
	close(sock);
	wait_disconnected(h.dev[0]);
	/* the device shows no client as soon as the provider drops it; the
	 * quiesce callback comes after, in the same step */
	if (with_quiesce)
		wait_for(&quiesce_calls, 1);
	ck_assert_int_eq(__atomic_load_n(&quiesce_calls, __ATOMIC_SEQ_CST),
			 with_quiesce ? 1 : 0);
	/* the window is still mapped for the engine, unknown to the library's
	 * translation (a new client starts empty) */
	engine_go(&e, 2);
	engine_wait(&e, 3);
	ck_assert_uint_eq(mem[0], 0xa5);
	ck_assert_uint_eq(mem[WLEN - 1], 0xa5);
	ck_assert_int_eq(__atomic_load_n(&unmap_calls, __ATOMIC_SEQ_CST), 0);
	ck_assert(h_fresh_ok(&h, 0));
	/* let go: released now */
	engine_go(&e, 4);
	engine_wait(&e, 5);
	pthread_join(e.t, NULL);
	ck_assert_int_eq(__atomic_load_n(&unmap_calls, __ATOMIC_SEQ_CST), 1);
	munmap(mem, WLEN);
	close(mfd);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_pin_disconnect_loop)
{
	disconnect_case(H_LOOP, false);
	disconnect_case(H_LOOP, true);
}
END_TEST

START_TEST(test_pin_disconnect_runner)
{
	disconnect_case(H_RUNNER, false);
	disconnect_case(H_RUNNER, true);
}
END_TEST

/* DMA_UNMAP waits while the provider quiesces, the messages behind it too */
static void unmap_case(enum h_mode mode)
{
	struct vgpu_provider_ops ops = { .dma_unmap = on_dma_unmap };
	struct vfu_dma_unmap u = { .argsz = sizeof(u),
				   .addr = IOVA,
				   .size = WLEN };
	struct vfu_device_info di = { .argsz = sizeof(di) };
	struct harness h;
	struct h_usage before;
	struct engine e;
	struct vfu_hdr rh;
	uint8_t *mem, p[64];
	int sock, mfd;

	reset_counters(-EBUSY);
	h_start_quiesce(&h, mode, &ops, on_quiesce);
	ck_assert_int_eq(vgpu_provider_set_quiesce(NULL, on_quiesce), -EINVAL);
	h_usage(&before);
	sock = h_raw_client(h.sock[0], NULL);
	ck_assert_int_eq(map_window(sock, &mem, &mfd), 0);
	engine_start(&e, h.dev[0], true);
	h_send(sock, 2, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0);
	h_send(sock, 3, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di), NULL, 0);
	wait_for(&quiesce_calls, 1);
	/* nothing answered while the provider quiesces; other devices serve */
	ck_assert_int_eq(recv(sock, p, sizeof(p), MSG_DONTWAIT), -1);
	ck_assert(h_fresh_ok(&h, 1));
	engine_go(&e, 2);
	engine_wait(&e, 3);
	engine_go(&e, 4); /* unpin, then vgpu_device_quiesced() */
	engine_wait(&e, 5);
	pthread_join(e.t, NULL);
	ck_assert(h_recv(sock, &rh, p, sizeof(p)));
	ck_assert_uint_eq(rh.msg_id, 2);
	ck_assert_uint_eq(rh.error, 0);
	ck_assert(h_recv(sock, &rh, p, sizeof(p)));
	ck_assert_uint_eq(rh.msg_id, 3);
	ck_assert_uint_eq(rh.error, 0);
	ck_assert_int_eq(__atomic_load_n(&unmap_calls, __ATOMIC_SEQ_CST), 1);
	/* quiesce answered at once: the unmap goes on; nothing to call */
	reset_counters(0);
	ck_assert_int_eq(vgpu_device_quiesced(h.dev[0]), -EINVAL);
	h_send(sock, 4, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0);
	ck_assert(h_recv(sock, &rh, p, sizeof(p)));
	ck_assert_uint_eq(rh.error, 0);
	ck_assert_int_eq(quiesce_calls, 1);
	/* a client that leaves while its unmap waits */
	reset_counters(-EBUSY);
	ck_assert_int_eq(vgpu_device_quiesced(h.dev[0]), -EINVAL);
	h_send(sock, 5, VFU_CMD_DEVICE_RESET, NULL, 0, NULL, 0);
	wait_for(&quiesce_calls, 1);
	close(sock);
	wait_disconnected(h.dev[0]);
	ck_assert_int_eq(vgpu_device_quiesced(h.dev[0]), 0);
	munmap(mem, WLEN);
	close(mfd);
	h_check_after(&h, &before, H_DEVS);
	h_stop(&h);
}

START_TEST(test_unmap_quiesce_loop)
{
	unmap_case(H_LOOP);
}
END_TEST

START_TEST(test_unmap_quiesce_runner)
{
	unmap_case(H_RUNNER);
}
END_TEST

/* ---- asynchronous transfers and quiesce ---- */

struct xfer {
	int calls; /* atomic */
	int status;
};

static void on_done(struct vgpu_device *dev, int status, void *userdata)
{
	struct xfer *x = userdata;

	x->status = status;
	__atomic_add_fetch(&x->calls, 1, __ATOMIC_SEQ_CST);
}

/* the client's answer to one of the provider's requests */
static void send_reply(int fd, uint16_t id, uint16_t cmd, const void *p1,
		       size_t l1, const void *p2, size_t l2)
{
	struct vfu_hdr h = { .msg_id = id,
			     .cmd = cmd,
			     .flags = VFU_F_TYPE_REPLY,
			     .size = (uint32_t)(sizeof(h) + l1 + l2) };
	struct iovec iov[3] = { { &h, sizeof(h) },
				{ (void *)p1, l1 },
				{ (void *)p2, l2 } };
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 3 };
	ssize_t want = (ssize_t)h.size, done = 0;

	while (done < want) {
		ssize_t k = sendmsg(fd, &mh, MSG_NOSIGNAL);

		ck_assert_int_gt(k, 0);
		done += k;
		/* the rest of the iovecs */
		while (mh.msg_iovlen && (size_t)k >= mh.msg_iov->iov_len) {
			k -= (ssize_t)mh.msg_iov->iov_len;
			mh.msg_iov++;
			mh.msg_iovlen--;
		}
		if (mh.msg_iovlen) {
			mh.msg_iov->iov_base =
				(uint8_t *)mh.msg_iov->iov_base + k;
			mh.msg_iov->iov_len -= (size_t)k;
		}
	}
}

/* a window of @size without fd at IOVA: every access to it is a message */
static void map_message_window(int sock, uint16_t id, uint64_t size)
{
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = 3, .addr = IOVA, .size = size
	};
	struct vfu_hdr h;
	uint8_t p[64];

	h_send(sock, id, VFU_CMD_DMA_MAP, &m, sizeof(m), NULL, 0);
	ck_assert(h_recv(sock, &h, p, sizeof(p)));
	ck_assert_uint_eq(h.msg_id, id);
	ck_assert_uint_eq(h.error, 0);
}

/* the layout probe (a DMA_WRITE of 0 bytes); answered as the spec's when
 * @answer; its id */
static uint16_t take_probe(int sock, bool answer)
{
	struct vfu_hdr h;
	uint64_t a[2];

	ck_assert(h_recv(sock, &h, a, sizeof(a)));
	ck_assert_uint_eq(h.cmd, VFU_CMD_DMA_WRITE);
	ck_assert_uint_eq(h.size, sizeof(h) + 16);
	ck_assert_uint_eq(a[0], IOVA);
	ck_assert_uint_eq(a[1], 0);
	if (answer)
		send_reply(sock, h.msg_id, h.cmd, a, sizeof(a), NULL, 0);
	return h.msg_id;
}

/* a provider in @mode and a raw client of its first device, with the
 * process's usage before the client came */
struct session {
	struct harness h;
	struct h_usage before;
	int sock;
};

static void session_start(struct session *se, enum h_mode mode,
			  const struct vgpu_provider_ops *ops,
			  vgpu_quiesce_fn quiesce)
{
	h_start_quiesce(&se->h, mode, ops, quiesce);
	h_usage(&se->before);
	se->sock = h_raw_client(se->h.sock[0], NULL);
}

/* the client leaves: nothing of it stays behind, every device serves */
static void session_end(struct session *se)
{
	close(se->sock);
	wait_disconnected(se->h.dev[0]);
	h_check_after(&se->h, &se->before, H_DEVS);
	h_stop(&se->h);
}

/*
 * A quiesce ends the transfers in flight (-ECANCELED, before the quiesce
 * callback), refuses new ones (-EBUSY) until vgpu_device_quiesced(), and
 * the client's late answer to the cancelled message is dropped, not taken
 * for a protocol error: the connection goes on and the next transfer works.
 */
static void async_quiesce_case(enum h_mode mode)
{
	struct vgpu_provider_ops ops = { .dma_unmap = on_dma_unmap };
	struct vfu_dma_unmap u = { .argsz = sizeof(u),
				   .addr = IOVA,
				   .size = WLEN };
	struct xfer x1 = { 0 }, x2 = { 0 };
	struct session se;
	struct vfu_hdr rh;
	uint8_t buf[8] = { 0 }, p[64];
	const uint8_t data[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	uint64_t a[2];
	uint16_t probe;
	struct vgpu_device *dev;
	int sock;

	reset_counters(-EBUSY);
	session_start(&se, mode, &ops, on_quiesce);
	sock = se.sock;
	dev = se.h.dev[0];
	map_message_window(sock, 1, WLEN);
	/* started by this thread (not the connection's) */
	ck_assert_int_eq(
		vgpu_device_dma_read_async(dev, IOVA, buf, 8, on_done, &x1), 0);
	probe = take_probe(sock, false);
	h_send(sock, 2, VFU_CMD_DMA_UNMAP, &u, sizeof(u), NULL, 0);
	wait_for(&quiesce_calls, 1);
	ck_assert_int_eq(__atomic_load_n(&x1.calls, __ATOMIC_SEQ_CST), 1);
	ck_assert_int_eq(x1.status, -ECANCELED);
	ck_assert_int_eq(
		vgpu_device_dma_read_async(dev, IOVA, buf, 8, on_done, &x2),
		-EBUSY);
	/* the late answer to the cancelled probe */
	a[0] = IOVA;
	a[1] = 0;
	send_reply(sock, probe, VFU_CMD_DMA_WRITE, a, sizeof(a), NULL, 0);
	ck_assert_int_eq(vgpu_device_quiesced(dev), 0);
	ck_assert(h_recv(sock, &rh, p, sizeof(p)));
	ck_assert_uint_eq(rh.msg_id, 2);
	ck_assert_uint_eq(rh.error, 0);
	/* the connection goes on: a new window, a transfer that works */
	reset_counters(0);
	map_message_window(sock, 3, WLEN);
	ck_assert_int_eq(
		vgpu_device_dma_read_async(dev, IOVA, buf, 8, on_done, &x2), 0);
	take_probe(sock, true);
	ck_assert(h_recv(sock, &rh, a, sizeof(a)));
	ck_assert_uint_eq(rh.cmd, VFU_CMD_DMA_READ);
	ck_assert_uint_eq(a[0], IOVA);
	ck_assert_uint_eq(a[1], 8);
	send_reply(sock, rh.msg_id, rh.cmd, a, sizeof(a), data, sizeof(data));
	wait_for(&x2.calls, 1);
	ck_assert_int_eq(x2.status, 0);
	ck_assert_mem_eq(buf, data, sizeof(data));
	ck_assert(vgpu_device_is_connected(dev));
	session_end(&se);
}

START_TEST(test_async_quiesce_loop)
{
	async_quiesce_case(H_LOOP);
}
END_TEST

START_TEST(test_async_quiesce_runner)
{
	async_quiesce_case(H_RUNNER);
}
END_TEST

/*
 * A transfer started by another thread whose request the socket does not
 * take at once: the rest waits in the connection's queue and goes out
 * when the client reads (in runner mode the runner's dispatching thread
 * sends it on: the connection's thread is blocked in recvmsg()).
 */
static void async_big_case(enum h_mode mode)
{
	const size_t big = 1 << 20;
	struct session se;
	struct xfer x1 = { 0 }, x2 = { 0 };
	struct vfu_hdr rh;
	uint8_t *src = malloc(big), *got = malloc(big + 16);
	uint64_t a[2];
	size_t done = 0;
	struct vgpu_device *dev;
	int sock;

	ck_assert_ptr_nonnull(src);
	ck_assert_ptr_nonnull(got);
	for (size_t i = 0; i < big; i++)
		src[i] = (uint8_t)(i * 7);
	reset_counters(0);
	session_start(&se, mode, NULL, NULL);
	sock = se.sock;
	dev = se.h.dev[0];
	map_message_window(sock, 1, 2 * big);
	/* learn the layout with a small transfer */
	ck_assert_int_eq(
		vgpu_device_dma_write_async(dev, IOVA, src, 8, on_done, &x1),
		0);
	take_probe(sock, true);
	ck_assert(h_recv(sock, &rh, got, 24));
	ck_assert_uint_eq(rh.cmd, VFU_CMD_DMA_WRITE);
	memcpy(a, got, sizeof(a));
	send_reply(sock, rh.msg_id, rh.cmd, a, sizeof(a), NULL, 0);
	wait_for(&x1.calls, 1);
	ck_assert_int_eq(x1.status, 0);
	/* the big one: more than the socket takes; the client reads late */
	ck_assert_int_eq(
		vgpu_device_dma_write_async(dev, IOVA, src, big, on_done, &x2),
		0);
	usleep(1000);
	while (done < big) {
		ck_assert(h_recv(sock, &rh, got, big + 16));
		ck_assert_uint_eq(rh.cmd, VFU_CMD_DMA_WRITE);
		memcpy(a, got, sizeof(a));
		ck_assert_uint_eq(a[0], IOVA + done);
		ck_assert_mem_eq(got + 16, src + done, (size_t)a[1]);
		done += (size_t)a[1];
		send_reply(sock, rh.msg_id, rh.cmd, a, sizeof(a), NULL, 0);
	}
	wait_for(&x2.calls, 1);
	ck_assert_int_eq(x2.status, 0);
	session_end(&se);
	free(src);
	free(got);
}

START_TEST(test_async_big_loop)
{
	async_big_case(H_LOOP);
}
END_TEST

START_TEST(test_async_big_runner)
{
	async_big_case(H_RUNNER);
}
END_TEST

/*
 * Replies and the requests another thread sends never interleave on the
 * socket (the connection's send lock and its queue): a provider thread
 * starts transfers one after the other, in turn of 8 bytes and of 192 KiB
 * (more than the socket takes at once, so the rest waits in the queue
 * while replies are sent), while the client reads BAR0 in a loop and
 * answers every request that comes; each message it gets is whole and one
 * it expects, and every transfer ends well.
 */
#define RACE_XFERS 200
#define RACE_BIG   (192u << 10)

struct racer {
	struct vgpu_device *dev;
	struct xfer x;
	int finished; /* atomic */
};

static void *racer_main(void *data)
{
	struct racer *r = data;
	static uint8_t src[RACE_BIG];

	for (int i = 0; i < RACE_XFERS; i++) {
		ck_assert_int_eq(vgpu_device_dma_write_async(
					 r->dev, IOVA, src,
					 i % 2 ? RACE_BIG : 8, on_done, &r->x),
				 0);
		while (__atomic_load_n(&r->x.calls, __ATOMIC_SEQ_CST) <= i)
			sched_yield();
		ck_assert_int_eq(r->x.status, 0);
	}
	__atomic_store_n(&r->finished, 1, __ATOMIC_SEQ_CST);
	return NULL;
}

static void async_race_case(enum h_mode mode)
{
	struct vfu_region_access a = { .region = 0, .count = 4 };
	struct racer r = { 0 };
	struct session se;
	pthread_t t;
	uint16_t id = 2;
	unsigned int reqs = 0;
	int sock;

	session_start(&se, mode, NULL, NULL);
	sock = se.sock;
	map_message_window(sock, 1, RACE_BIG);
	r.dev = se.h.dev[0];
	ck_assert_int_eq(pthread_create(&t, NULL, racer_main, &r), 0);
	while (!__atomic_load_n(&r.finished, __ATOMIC_SEQ_CST)) {
		bool replied = false;

		h_send(sock, id, VFU_CMD_REGION_READ, &a, sizeof(a), NULL, 0);
		while (!replied) {
			struct vfu_hdr rh;
			uint64_t p[4];

			/* the data of a big one goes to h_recv()'s sink */
			ck_assert(h_recv(sock, &rh, p, sizeof(p)));
			if ((rh.flags & VFU_F_TYPE_MASK) == VFU_F_TYPE_REPLY) {
				ck_assert_uint_eq(rh.msg_id, id);
				ck_assert_uint_eq(rh.cmd, VFU_CMD_REGION_READ);
				ck_assert_uint_eq(rh.error, 0);
				ck_assert_uint_eq(rh.size,
						  sizeof(rh) + sizeof(a) + 4);
				replied = true;
				continue;
			}
			/* the layout probe (0 bytes), then the transfers */
			ck_assert_uint_eq(rh.cmd, VFU_CMD_DMA_WRITE);
			ck_assert_uint_eq(p[0], IOVA);
			ck_assert_uint_eq(rh.size, sizeof(rh) + 16 + p[1]);
			ck_assert(p[1] == 0 || p[1] == 8 || p[1] == RACE_BIG);
			send_reply(sock, rh.msg_id, rh.cmd, p, 16, NULL, 0);
			reqs++;
		}
		id++;
	}
	pthread_join(t, NULL);
	ck_assert_uint_eq(reqs, RACE_XFERS + 1);
	session_end(&se);
}

START_TEST(test_async_race_loop)
{
	async_race_case(H_LOOP);
}
END_TEST

START_TEST(test_async_race_runner)
{
	async_race_case(H_RUNNER);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("quiesce");
	TCase *tc = tcase_create("pins");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_pin_disconnect_loop);
	tcase_add_test(tc, test_pin_disconnect_runner);
	tcase_add_test(tc, test_unmap_quiesce_loop);
	tcase_add_test(tc, test_unmap_quiesce_runner);
	tcase_add_test(tc, test_async_quiesce_loop);
	tcase_add_test(tc, test_async_quiesce_runner);
	tcase_add_test(tc, test_async_big_loop);
	tcase_add_test(tc, test_async_big_runner);
	tcase_add_test(tc, test_async_race_loop);
	tcase_add_test(tc, test_async_race_runner);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
