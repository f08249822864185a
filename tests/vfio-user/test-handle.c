/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The public device handle over vfio-user: a provider (sim-device.c) runs
 * in a child process with a control socket; this process opens its device
 * by UUID with vgpu_handle_open() like any VMM would, and checks regions,
 * sparse mmap, config space, IRQ eventfds, DMA (fd-backed and by message),
 * reset, feature probing, and a provider that vanishes mid-request.
 * Migration: a device moved from one provider process to another through
 * two handles, truncated streams, a destination that refuses, dirty
 * tracking, and scripted hostile peers that answer migration wrongly.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sys/socket.h>
#include <sys/un.h>

#include "check-run.h"
#include "device-private.h"
#include "libvgpu.h"
#include "proto.h"
#include "provider-child.h"
#include "sim-device.h"

#define IOVA  0x100000ull
#define GUEST (64u << 10)

static char tmp[64], run[96];
static pid_t sim;
static struct vgpu_ctx *ctx;

static int count_fds(void)
{
	return child_fds(getpid());
}

static void setup(void)
{
	strcpy(tmp, "/tmp/vgpu-handle-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(run, sizeof(run), "%s/run", tmp);
	sim = sim_start_managed(run);
	ck_assert_int_gt(sim, 0);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	/* an empty sysfs: the UUID can only be a provider's instance */
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, tmp), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, run), 0);
}

static void teardown(void)
{
	char cmd[128];

	if (sim > 0)
		child_stop(sim);
	vgpu_ctx_unref(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static struct vgpu_handle *open_sim(void)
{
	struct vgpu_handle *h = NULL;

	ck_assert_int_eq(vgpu_handle_open(ctx, SIM_UUID, 0, &h), 0);
	ck_assert_str_eq(vgpu_handle_get_access(h), "vfio-user");
	return h;
}

static void reg_write(struct vgpu_handle *h, unsigned int off, uint64_t v)
{
	ck_assert_int_eq(
		vgpu_handle_region_write(h, VGPU_REGION_BAR0, off, &v, 8), 0);
}

static bool fired(int efd, int timeout_ms)
{
	struct pollfd p = { .fd = efd, .events = POLLIN };
	uint64_t n;

	if (poll(&p, 1, timeout_ms) != 1)
		return false;
	return read(efd, &n, sizeof(n)) == sizeof(n);
}

START_TEST(test_regions)
{
	struct vgpu_handle *h = open_sim();
	uint64_t size, off, len, addr, v = 0x1122334455667788ull, back = 0;
	uint32_t flags, val;
	unsigned int index;
	uint8_t *map;
	void *p;
	int n;

	ck_assert(vgpu_handle_is_pci(h));
	ck_assert_int_eq(vgpu_handle_get_iommu_group(h), -1);
	n = vgpu_handle_get_region_count(h);
	ck_assert_int_ge(n, 9);
	ck_assert_int_eq(vgpu_handle_get_region(h, 0, &index, &size, &flags),
			 0);
	ck_assert_uint_eq(index, 0);
	ck_assert_uint_eq(size, 4096);
	ck_assert_uint_eq(flags, VGPU_REGION_READ | VGPU_REGION_WRITE);
	/* BAR2: shared memory, mmap-able only in its first half */
	ck_assert_int_eq(vgpu_handle_region_get_sparse_count(h, 2), 1);
	ck_assert_int_eq(vgpu_handle_region_get_sparse(h, 2, 0, &off, &len), 0);
	ck_assert_uint_eq(off, 0);
	ck_assert_uint_eq(len, 1u << 19);
	ck_assert_int_eq(vgpu_handle_region_get_sparse(h, 2, 1, &off, &len),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_region_get_type(h, 2, NULL, NULL),
			 -ENODATA);

	/* trapped register: 8-byte access, then out of range */
	reg_write(h, 0, v);
	ck_assert_int_eq(vgpu_handle_region_read(h, 0, 0, &back, 8), 0);
	ck_assert_uint_eq(back, v);
	ck_assert_int_eq(vgpu_handle_region_read(h, 0, 4092, &back, 8),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_region_read(h, 40, 0, &back, 8), -ENOENT);

	/* mmap inside the sparse area; outside is refused */
	ck_assert_int_eq(vgpu_handle_region_mmap(h, 2, 4096, 8192,
						 PROT_READ | PROT_WRITE, &p),
			 0);
	map = p;
	memcpy(map + 16, "vfio-user", 10);
	{
		char s[10];

		ck_assert_int_eq(
			vgpu_handle_region_read(h, 2, 4096 + 16, s, 10), 0);
		ck_assert_str_eq(s, "vfio-user");
	}
	munmap(p, 8192);
	ck_assert_int_eq(
		vgpu_handle_region_mmap(h, 2, 1u << 19, 4096, PROT_READ, &p),
		-EACCES);
	ck_assert_int_eq(vgpu_handle_region_mmap(h, 0, 0, 4096, PROT_READ, &p),
			 -EACCES);

	/* config space through the provider's emulation */
	ck_assert_int_eq(vgpu_handle_config_read(h, 0, 2, &val), 0);
	ck_assert_uint_eq(val, 0x1af4);
	ck_assert_int_gt(vgpu_handle_config_find_cap(h, 0x05, false, 0), 0);
	ck_assert_int_gt(vgpu_handle_config_find_cap(h, 0x11, false, 0), 0);
	ck_assert_int_eq(vgpu_handle_config_get_bar(h, 2, &addr, &size, &flags),
			 0);
	ck_assert_uint_eq(size, 1u << 20);
	ck_assert(flags & VGPU_BAR_MEM64);
	ck_assert_int_eq(vgpu_handle_config_get_bar(h, 3, NULL, NULL, NULL),
			 -ENOENT);
	vgpu_handle_unref(h);
}
END_TEST

START_TEST(test_irqs)
{
	struct vgpu_handle *h = open_sim();
	uint32_t count, flags;
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK), fds[2];

	ck_assert_int_eq(vgpu_handle_get_irq_count(h), 5);
	ck_assert_int_eq(vgpu_handle_get_irq(h, VGPU_IRQ_MSIX, &count, &flags),
			 0);
	ck_assert_uint_eq(count, 4);
	ck_assert(flags & VGPU_IRQ_EVENTFD);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSIX, 3, 2, &efd),
			 -ERANGE);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSIX, 1, 1, &efd),
			 0);
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_MSIX, 1, 1), 0);
	ck_assert(fired(efd, 2000));
	/* masked: held pending, delivered on unmask */
	ck_assert_int_eq(vgpu_handle_irq_mask(h, VGPU_IRQ_MSIX, 1, 1), 0);
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_MSIX, 1, 1), 0);
	ck_assert(!fired(efd, 50));
	ck_assert_int_eq(vgpu_handle_irq_unmask(h, VGPU_IRQ_MSIX, 1, 1), 0);
	/* a user trigger while masked is dropped (only the device's own
	 * interrupts are held pending) */
	ck_assert(!fired(efd, 50));
	/* -1 entries de-assign: vector 0 gets none, vector 1 keeps efd */
	fds[0] = -1;
	fds[1] = efd;
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSIX, 0, 2, fds),
			 0);
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_MSIX, 0, 1), 0);
	ck_assert(!fired(efd, 50));
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_MSIX, 1, 1), 0);
	ck_assert(fired(efd, 2000));
	ck_assert_int_eq(vgpu_handle_irq_detach(h, VGPU_IRQ_MSIX, 0, 0), 0);
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_MSIX, 1, 1), 0);
	ck_assert(!fired(efd, 50));
	ck_assert_int_eq(vgpu_handle_get_irq(h, 7, &count, &flags), -ERANGE);
	vgpu_handle_unref(h);
	close(efd);
}
END_TEST

/* program sim-device's DMA engine: invert [IOVA, +len) into the next len */
static int sim_dma(struct vgpu_handle *h, uint64_t len)
{
	uint64_t one = 1, src = IOVA;

	ck_assert_int_eq(vgpu_handle_region_write(h, 0, 8, &src, 8), 0);
	ck_assert_int_eq(vgpu_handle_region_write(h, 0, 0x10, &len, 8), 0);
	return vgpu_handle_region_write(h, 0, 4, &one, 8);
}

START_TEST(test_dma_fd)
{
	struct vgpu_handle *h = open_sim();
	int mfd = memfd_create("guest", MFD_CLOEXEC);
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint8_t *g;

	ck_assert_int_ge(mfd, 0);
	ck_assert_int_eq(ftruncate(mfd, GUEST), 0);
	g = mmap(NULL, GUEST, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert_ptr_ne(g, MAP_FAILED);
	for (unsigned int i = 0; i < 256; i++)
		g[i] = (uint8_t)i;
	ck_assert_int_eq(
		vgpu_handle_dma_map_fd(h, g, -1, 0, IOVA, GUEST, VGPU_DMA_READ),
		-EBADF);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(h, g, mfd, 100, IOVA, GUEST,
						VGPU_DMA_READ),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(h, g, mfd, 0, IOVA, GUEST,
						VGPU_DMA_READ | VGPU_DMA_WRITE),
			 0);
	ck_assert_int_eq(vgpu_handle_get_dma_count(h), 1);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(h, g, mfd, 0, IOVA + 4096, 4096,
						VGPU_DMA_READ),
			 -EEXIST);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSI, 0, 1, &efd),
			 0);
	ck_assert_int_eq(sim_dma(h, 256), 0);
	ck_assert(fired(efd, 2000));
	for (unsigned int i = 0; i < 256; i++)
		ck_assert_uint_eq(g[256 + i], (uint8_t)~i);
	/* the source is not mapped: the provider's error comes back */
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, IOVA, 4096), -ENOENT);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, IOVA, GUEST), 0);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, IOVA, GUEST), -ENOENT);
	ck_assert_int_lt(sim_dma(h, 256), 0);
	/* a window left mapped is unmapped by unref */
	ck_assert_int_eq(vgpu_handle_dma_map_fd(h, g, mfd, 0, IOVA, GUEST,
						VGPU_DMA_READ),
			 0);
	vgpu_handle_unref(h);
	munmap(g, GUEST);
	close(mfd);
	close(efd);
}
END_TEST

/* plain vgpu_handle_dma_map(): no fd, the provider reads and writes by
 * DMA_READ/DMA_WRITE, which the handle answers while inside a call */
START_TEST(test_dma_message)
{
	struct vgpu_handle *h = open_sim();
	int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	uint8_t *g;

	g = mmap(NULL, GUEST, PROT_READ | PROT_WRITE,
		 MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	ck_assert_ptr_ne(g, MAP_FAILED);
	for (unsigned int i = 0; i < 2048; i++)
		g[i] = (uint8_t)(i * 3);
	ck_assert_int_eq(vgpu_handle_dma_map(h, g, IOVA, GUEST,
					     VGPU_DMA_READ | VGPU_DMA_WRITE),
			 0);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSI, 0, 1, &efd),
			 0);
	ck_assert_int_eq(sim_dma(h, 2048), 0);
	ck_assert(fired(efd, 2000));
	for (unsigned int i = 0; i < 2048; i++)
		ck_assert_uint_eq(g[2048 + i], (uint8_t) ~(uint8_t)(i * 3));
	/* a read-only window: the provider's write is refused before any
	 * message, the error comes back through the doorbell write */
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, IOVA, GUEST), 0);
	ck_assert_int_eq(vgpu_handle_dma_map(h, g, IOVA, GUEST, VGPU_DMA_READ),
			 0);
	ck_assert_int_eq(sim_dma(h, 256), -EACCES);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, IOVA, GUEST), 0);
	vgpu_handle_unref(h);
	munmap(g, GUEST);
	close(efd);
}
END_TEST

START_TEST(test_reset_features)
{
	struct vgpu_handle *h = open_sim();
	struct vgpu_plane_info pi = { .size = sizeof(pi) };
	uint64_t data = 99;

	ck_assert_int_eq(vgpu_handle_reset(h), 0);
	ck_assert_int_eq(
		vgpu_handle_probe_feature(h, VGPU_FEATURE_MIGRATION, &data), 1);
	ck_assert_uint_eq(data, 1 | 4); /* STOP_COPY, PRE_COPY */
	ck_assert_int_eq(
		vgpu_handle_probe_feature(h, VGPU_FEATURE_DMA_LOGGING, &data),
		1);
	ck_assert_int_eq(vgpu_handle_probe_feature(h, 77, &data), -EINVAL);
	/* sim-device has no display region */
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY, &pi),
			 -ENOTSUP);
	vgpu_handle_unref(h);
}
END_TEST

START_TEST(test_open_errors)
{
	struct vgpu_handle *h = NULL;

	ck_assert_int_eq(
		vgpu_handle_open(ctx, "11111111-2222-3333-4444-555555555555", 0,
				 &h),
		-ENODEV);
	ck_assert_int_eq(vgpu_handle_open(ctx, SIM_UUID, VGPU_OPEN_IOMMUFD, &h),
			 -EOPNOTSUPP);
	ck_assert_ptr_null(h);
	/* no provider behind the control socket at all */
	ck_assert_int_eq(child_stop(sim), 0);
	sim = 0;
	ck_assert_int_eq(vgpu_handle_open(ctx, SIM_UUID, 0, &h), -ENODEV);
}
END_TEST

/* the provider exits while it handles our request */
START_TEST(test_vanish_mid_request)
{
	int before = count_fds();
	struct vgpu_handle *h = open_sim();
	int mfd = memfd_create("guest", MFD_CLOEXEC);
	uint64_t v = 1, back;
	void *g;
	int st;

	ck_assert_int_eq(ftruncate(mfd, GUEST), 0);
	g = mmap(NULL, GUEST, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(h, g, mfd, 0, IOVA, GUEST,
						VGPU_DMA_READ),
			 0);
	ck_assert_int_eq(vgpu_handle_region_write(h, 0, 0x20, &v, 8), -ENODEV);
	ck_assert_int_eq(waitpid(sim, &st, 0), sim);
	sim = 0;
	/* dead from now on, without touching the socket again */
	ck_assert_int_eq(vgpu_handle_region_read(h, 0, 0, &back, 8), -ENODEV);
	ck_assert_int_eq(vgpu_handle_reset(h), -ENODEV);
	ck_assert_int_eq(vgpu_handle_irq_trigger(h, VGPU_IRQ_MSI, 0, 1),
			 -ENODEV);
	/* the vanished device's window is forgotten anyway */
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, IOVA, GUEST), 0);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(h, g, mfd, 0, IOVA, GUEST,
						VGPU_DMA_READ),
			 -ENODEV);
	ck_assert_int_eq(vgpu_handle_get_dma_count(h), 0);
	vgpu_handle_unref(h);
	munmap(g, GUEST);
	close(mfd);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

/*
 * A foreign vfio-user server (not a libvgpu provider, no control socket):
 * it announces max_msg_fds 2 and 2 regions, and after answering DMA_MAP it
 * sends a DMA_READ of its own while the client is idle. It exits 0 when
 * the client kept to that: no region index >= 2 asked for, no message
 * with more than 2 fds, the DMA_READ answered with the guest's bytes.
 */
static int foreign_reply(int fd, const struct vfu_hdr *q, const void *p,
			 size_t len)
{
	struct vfu_hdr h = { .msg_id = q->msg_id,
			     .cmd = q->cmd,
			     .size = (uint32_t)(16 + len),
			     .flags = VFU_F_TYPE_REPLY };
	uint8_t buf[256];

	memcpy(buf, &h, 16);
	if (len)
		memcpy(buf + 16, p, len);
	return send(fd, buf, 16 + len, MSG_NOSIGNAL) == (ssize_t)(16 + len) ? 0
									    : 1;
}

static int foreign_server(int lfd, int go)
{
	int fd = accept(lfd, NULL, NULL), bad = 0;
	char c;

	for (;;) {
		uint8_t p[512];
		union {
			char b[CMSG_SPACE(sizeof(int) * 32)];
			struct cmsghdr a;
		} ctrl;
		struct vfu_hdr h;
		struct iovec iov = { .iov_base = &h, .iov_len = 16 };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = ctrl.b,
				     .msg_controllen = sizeof(ctrl.b) };
		struct cmsghdr *cm;
		unsigned int nfds = 0;
		size_t len;

		if (recvmsg(fd, &mh, MSG_WAITALL) != 16)
			break;
		for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm))
			if (cm->cmsg_type == SCM_RIGHTS) {
				nfds = (unsigned int)((cm->cmsg_len -
						       CMSG_LEN(0)) /
						      sizeof(int));
				for (unsigned int i = 0; i < nfds; i++) {
					int x;

					memcpy(&x,
					       CMSG_DATA(cm) + i * sizeof(int),
					       sizeof(x));
					close(x);
				}
			}
		if (nfds > 2 || (mh.msg_flags & MSG_CTRUNC))
			bad |= 2;
		len = h.size - 16;
		if (len > sizeof(p) ||
		    recv(fd, p, len, MSG_WAITALL) != (ssize_t)len)
			return 10;
		switch (h.cmd) {
		case VFU_CMD_VERSION: {
			static const char json[] =
				"{\"capabilities\":{\"max_msg_fds\":2}}";
			uint8_t r[4 + sizeof(json)] = { 0 };

			memcpy(r + 4, json, sizeof(json));
			bad |= foreign_reply(fd, &h, r, sizeof(r));
			break;
		}
		case VFU_CMD_DEVICE_GET_INFO: {
			struct vfu_device_info di = {
				.argsz = 16,
				.flags = VFU_DEV_FLAG_PCI | VFU_DEV_FLAG_RESET,
				.num_regions = 2,
				.num_irqs = 5
			};

			bad |= foreign_reply(fd, &h, &di, sizeof(di));
			break;
		}
		case VFU_CMD_DEVICE_GET_REGION_INFO: {
			struct vfu_region_info ri;

			memcpy(&ri, p, sizeof(ri));
			if (ri.index >= 2)
				bad |= 4;
			ri = (struct vfu_region_info){
				.argsz = 32,
				.flags = VFU_REGION_READ | VFU_REGION_WRITE,
				.index = ri.index,
				.size = 4096
			};
			bad |= foreign_reply(fd, &h, &ri, sizeof(ri));
			break;
		}
		case VFU_CMD_DEVICE_GET_IRQ_INFO: {
			struct vfu_irq_info ii;

			memcpy(&ii, p, sizeof(ii));
			ii.argsz = 16;
			ii.flags = VFU_IRQ_INFO_EVENTFD;
			ii.count = ii.index == VGPU_IRQ_MSIX ? 8 : 1;
			bad |= foreign_reply(fd, &h, &ii, sizeof(ii));
			break;
		}
		case VFU_CMD_DMA_MAP: {
			struct {
				struct vfu_hdr h;
				struct vfu_dma_access a;
			} __attribute__((packed)) rd = {
				.h = { .msg_id = 900,
				       .cmd = VFU_CMD_DMA_READ,
				       .size = 32,
				       .flags = VFU_F_TYPE_COMMAND },
				.a = { .addr = IOVA + 8, .count = 16 },
			};
			struct vfu_hdr rh;
			uint8_t data[32];

			bad |= foreign_reply(fd, &h, NULL, 0);
			/* our own request, once the client has nothing
			 * outstanding (it says so through @go) */
			if (read(go, &c, 1) != 1)
				return 12;
			send(fd, &rd, sizeof(rd), MSG_NOSIGNAL);
			if (recv(fd, &rh, 16, MSG_WAITALL) != 16 ||
			    rh.msg_id != 900 || rh.size != 16 + 32 ||
			    recv(fd, data, 32, MSG_WAITALL) != 32)
				return 11;
			for (int i = 0; i < 16; i++)
				if (data[16 + i] != (uint8_t)(8 + i))
					bad |= 8;
			break;
		}
		default:
			bad |= foreign_reply(fd, &h, NULL, 0);
			break;
		}
	}
	close(fd);
	return bad;
}

START_TEST(test_open_socket_foreign)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vgpu_handle *h;
	int lfd, efd[8], st, served = 0, go[2];
	uint8_t *guest = mmap(NULL, 4096, PROT_READ | PROT_WRITE,
			      MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	pid_t pid;

	ck_assert_ptr_ne(guest, MAP_FAILED);
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/foreign.sock", tmp);
	lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	ck_assert_int_eq(pipe(go), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0)
		_exit(foreign_server(lfd, go[0]));
	close(lfd);
	close(go[0]);
	ck_assert_int_eq(vgpu_handle_open_socket(ctx, sa.sun_path, 0, &h), 0);
	ck_assert_str_eq(vgpu_handle_get_access(h), "vfio-user");
	/* 8 vectors, to a server that takes 2 fds a message */
	for (int i = 0; i < 8; i++)
		efd[i] = eventfd(0, EFD_CLOEXEC);
	ck_assert_int_eq(vgpu_handle_irq_attach(h, VGPU_IRQ_MSIX, 0, 8, efd),
			 0);
	for (int i = 0; i < 8; i++)
		close(efd[i]);
	/* guest memory without an fd; the server reads it after answering */
	for (int i = 0; i < 4096; i++)
		guest[i] = (uint8_t)i;
	ck_assert_int_eq(
		vgpu_handle_dma_map(h, guest, IOVA, 4096, VGPU_DMA_READ), 0);
	ck_assert_int_ge(vgpu_handle_get_service_fd(h), 0);
	ck_assert_int_eq(vgpu_handle_service(h), 0); /* nothing yet */
	ck_assert_int_eq(write(go[1], "g", 1), 1);
	close(go[1]);
	while (!served) {
		struct pollfd pfd = { .fd = vgpu_handle_get_service_fd(h),
				      .events = POLLIN };

		ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
		served = vgpu_handle_service(h);
		ck_assert_int_ge(served, 0);
	}
	vgpu_handle_unref(h);
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	ck_assert_int_eq(WEXITSTATUS(st), 0);
	/* nothing listens: -ENODEV */
	ck_assert_int_eq(vgpu_handle_open_socket(ctx, sa.sun_path, 0, &h),
			 -ENODEV);
	ck_assert_int_eq(vgpu_handle_open_socket(ctx, sa.sun_path, 1, &h),
			 -EINVAL);
	munmap(guest, 4096);
}
END_TEST

/* killed between two requests */
START_TEST(test_killed)
{
	int before = count_fds();
	struct vgpu_handle *h = open_sim();
	uint64_t back;

	kill(sim, SIGKILL);
	waitpid(sim, NULL, 0);
	sim = 0;
	ck_assert_int_eq(vgpu_handle_region_read(h, 0, 0, &back, 8), -ENODEV);
	ck_assert_int_eq(vgpu_handle_region_read(h, 0, 0, &back, 8), -ENODEV);
	vgpu_handle_unref(h);
	ck_assert_int_eq(count_fds(), before);
}
END_TEST

static uint64_t reg_read(struct vgpu_handle *h, unsigned int off)
{
	uint64_t v = 0;

	ck_assert_int_eq(
		vgpu_handle_region_read(h, VGPU_REGION_BAR0, off, &v, 8), 0);
	return v;
}

/* a second provider, in its own runtime directory and context */
static pid_t sim2;
static struct vgpu_ctx *ctx2;

static struct vgpu_handle *open_second(void)
{
	char run2[128];
	struct vgpu_handle *h = NULL;

	snprintf(run2, sizeof(run2), "%s/run2", tmp);
	sim2 = sim_start_managed(run2);
	ck_assert_int_gt(sim2, 0);
	ck_assert_int_eq(vgpu_ctx_new(&ctx2), 0);
	vgpu_ctx_set_log_fn(ctx2, NULL, NULL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx2, tmp), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx2, run2), 0);
	ck_assert_int_eq(vgpu_handle_open(ctx2, SIM_UUID, 0, &h), 0);
	return h;
}

static void close_second(struct vgpu_handle *h)
{
	vgpu_handle_unref(h);
	vgpu_ctx_unref(ctx2);
	ck_assert_int_eq(child_stop(sim2), 0);
}

START_TEST(test_migrate_between_providers)
{
	struct vgpu_handle *src = open_sim(), *dst = open_second();
	uint64_t moved = 0, arcs0 = reg_read(src, 0x18);
	uint8_t buf[64];

	reg_write(src, 0, 0xfeedface12345678ull);
	reg_write(dst, 0, 1);
	ck_assert_int_eq(vgpu_handle_migration_get_state(src),
			 VGPU_MIG_RUNNING);
	/* no P2P on this device: RUNNING -> STOP -> STOP_COPY */
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(src, VGPU_MIG_STOP_COPY), 0);
	ck_assert_uint_eq(reg_read(src, 0x18) - arcs0, 2);
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(dst, VGPU_MIG_RESUMING), 0);
	ck_assert_int_eq(vgpu_handle_migration_copy(src, dst, &moved), 0);
	ck_assert_uint_eq(moved, 16);
	/* RESUMING -> STOP (the provider checks) -> RUNNING */
	ck_assert_int_eq(vgpu_handle_migration_set_state(dst, VGPU_MIG_RUNNING),
			 0);
	ck_assert_uint_eq(reg_read(dst, 0), 0xfeedface12345678ull);
	ck_assert_int_eq(vgpu_handle_migration_set_state(src, VGPU_MIG_RUNNING),
			 0);
	/* pre-copy: data while running; vfio-user has no estimate */
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(src, VGPU_MIG_PRE_COPY), 0);
	ck_assert_int_eq(vgpu_handle_migration_precopy_info(src, NULL, NULL),
			 -EOPNOTSUPP);
	ck_assert_int_eq(vgpu_handle_migration_read(src, buf, sizeof(buf)), 16);
	ck_assert_int_eq(vgpu_handle_migration_read(src, buf, sizeof(buf)), 0);
	/* PRE_COPY -> STOP_COPY directly; STOP_COPY -> PRE_COPY never */
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(src, VGPU_MIG_STOP_COPY), 0);
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(src, VGPU_MIG_PRE_COPY),
		-EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_get_state(src),
			 VGPU_MIG_STOP_COPY);
	ck_assert_int_eq(vgpu_handle_migration_set_state(src, VGPU_MIG_RUNNING),
			 0);
	vgpu_handle_unref(src);
	close_second(dst);
}
END_TEST

START_TEST(test_migrate_refusals)
{
	struct vgpu_handle *src = open_sim(), *dst = open_second();
	uint8_t buf[64] = { 0 };

	/* data in the wrong state never reaches the provider */
	ck_assert_int_eq(vgpu_handle_migration_write(dst, buf, 8), -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_read(src, buf, 8), -EINVAL);
	/* a truncated stream: the destination refuses it when RESUMING ends,
	 * and stays in ERROR until reset */
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(src, VGPU_MIG_STOP_COPY), 0);
	ck_assert_int_eq(vgpu_handle_migration_read(src, buf, 8), 8);
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(dst, VGPU_MIG_RESUMING), 0);
	ck_assert_int_eq(vgpu_handle_migration_write(dst, buf, 8), 0);
	ck_assert_int_eq(vgpu_handle_migration_set_state(dst, VGPU_MIG_RUNNING),
			 -EINVAL);
	ck_assert_int_eq(vgpu_handle_migration_get_state(dst), VGPU_MIG_ERROR);
	ck_assert_int_eq(vgpu_handle_migration_set_state(dst, VGPU_MIG_RUNNING),
			 -EIO);
	ck_assert_int_eq(vgpu_handle_reset(dst), 0);
	ck_assert_int_eq(vgpu_handle_migration_get_state(dst),
			 VGPU_MIG_RUNNING);
	/* a destination that refuses more than its state's size */
	ck_assert_int_eq(
		vgpu_handle_migration_set_state(dst, VGPU_MIG_RESUMING), 0);
	ck_assert_int_eq(vgpu_handle_migration_write(dst, buf, 17), -EFBIG);
	ck_assert_int_eq(vgpu_handle_reset(dst), 0);
	ck_assert_int_eq(vgpu_handle_migration_set_state(src, VGPU_MIG_RUNNING),
			 0);
	/* a handle whose provider died */
	ck_assert_int_eq(child_stop(sim), 0);
	sim = -1;
	ck_assert_int_eq(vgpu_handle_migration_set_state(src, VGPU_MIG_STOP),
			 -ENODEV);
	vgpu_handle_unref(src);
	close_second(dst);
}
END_TEST

START_TEST(test_dirty_logging)
{
	struct vgpu_handle *h = open_sim();
	int mfd = memfd_create("guest", MFD_CLOEXEC);
	uint64_t bm[1];
	uint8_t *g;

	ck_assert_int_eq(ftruncate(mfd, GUEST), 0);
	g = mmap(NULL, GUEST, PROT_READ | PROT_WRITE, MAP_SHARED, mfd, 0);
	ck_assert_ptr_ne(g, MAP_FAILED);
	ck_assert_int_eq(vgpu_handle_dma_map_fd(h, g, mfd, 0, IOVA, GUEST,
						VGPU_DMA_READ | VGPU_DMA_WRITE),
			 0);
	ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), 0);
	memset(bm, 0xff, sizeof(bm));
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, IOVA, GUEST, bm, sizeof(bm)), 0);
	ck_assert_uint_eq(bm[0], 0);
	/* the device copies 4 KiB at IOVA to IOVA + 4 KiB: page 1 written */
	ck_assert_int_eq(sim_dma(h, 4096), 0);
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, IOVA, GUEST, bm, sizeof(bm)), 0);
	ck_assert_uint_eq(bm[0], 2);
	/* a report clears what it reported */
	ck_assert_int_eq(
		vgpu_handle_dirty_report(h, IOVA, GUEST, bm, sizeof(bm)), 0);
	ck_assert_uint_eq(bm[0], 0);
	ck_assert_int_eq(vgpu_handle_dirty_stop(h), 0);
	ck_assert_int_eq(vgpu_handle_dma_unmap(h, IOVA, GUEST), 0);
	vgpu_handle_unref(h);
	munmap(g, GUEST);
	close(mfd);
}
END_TEST

/* ---- scripted hostile peers ---- */

enum peer_mode {
	PEER_READ_TOO_MUCH, /* MIG_DATA_READ: more bytes than asked */
	PEER_READ_SHORT,    /* MIG_DATA_READ: size says more than sent */
	PEER_BAD_STATE,	    /* MIG_DEVICE_STATE GET: state 9 */
	PEER_REFUSE_WRITE,  /* MIG_DATA_WRITE: an error reply */
	PEER_WRONG_FLAGS,   /* GET answers with another feature's flags */
	PEER_HANG_UP,	    /* closes the socket on MIG_DATA_READ */
	PEER_LOG_SHORT,	    /* DMA_LOGGING_REPORT: half the bitmap */
	PEER_LOG_OTHER,	    /* DMA_LOGGING_REPORT: for another range */
};

static void peer_reply(int c, const struct vfu_hdr *req, const void *a,
		       size_t alen, const void *b, size_t blen)
{
	struct vfu_hdr h = { .msg_id = req->msg_id,
			     .cmd = req->cmd,
			     .flags = VFU_F_TYPE_REPLY };
	struct iovec iov[2] = { { (void *)a, alen }, { (void *)b, blen } };

	if (vfu_send(c, &h, iov, 2, NULL, 0) < 0)
		_exit(3);
}

static void peer_feature(int c, struct vfu_msg *m, enum peer_mode mode,
			 uint32_t *state)
{
	struct vfu_feature f;
	struct vfu_mig_state st = { 0 };
	uint64_t flags = 1; /* STOP_COPY */

	if (m->len < sizeof(f)) {
		vfu_send_error(c, &m->hdr, -EINVAL);
		return;
	}
	memcpy(&f, m->payload, sizeof(f));
	switch (f.flags & VFU_FEATURE_MASK) {
	case VFU_FEATURE_MIGRATION:
		f.argsz = sizeof(f) + sizeof(flags);
		peer_reply(c, &m->hdr, &f, sizeof(f), &flags, sizeof(flags));
		return;
	case VFU_FEATURE_MIG_DEVICE_STATE:
		if (f.flags & VFU_FEATURE_SET) {
			if (m->len >= sizeof(f) + sizeof(st))
				memcpy(&st, m->payload + sizeof(f), sizeof(st));
			*state = st.device_state;
			peer_reply(c, &m->hdr, m->payload, m->len, NULL, 0);
			return;
		}
		st.device_state = mode == PEER_BAD_STATE ? 9 : *state;
		f.argsz = sizeof(f) + sizeof(st);
		if (mode == PEER_WRONG_FLAGS)
			f.flags = VFU_FEATURE_GET | VFU_FEATURE_MIGRATION;
		peer_reply(c, &m->hdr, &f, sizeof(f), &st, sizeof(st));
		return;
	case VFU_FEATURE_DMA_LOGGING_START:
	case VFU_FEATURE_DMA_LOGGING_STOP:
		if (mode != PEER_LOG_SHORT && mode != PEER_LOG_OTHER)
			break;
		peer_reply(c, &m->hdr, m->payload, m->len, NULL, 0);
		return;
	case VFU_FEATURE_DMA_LOGGING_REPORT: {
		struct vfu_log_report rep;
		uint8_t out[sizeof(rep) + 64] = { 0 };
		size_t bytes;

		if (m->len < sizeof(f) + sizeof(rep))
			break;
		memcpy(&rep, m->payload + sizeof(f), sizeof(rep));
		bytes = (size_t)((rep.length / rep.page_size + 63) / 64 * 8);
		if (bytes > 64)
			break;
		if (mode == PEER_LOG_OTHER)
			rep.iova +=
				rep.page_size; /* a full bitmap, another range */
		else
			bytes /= 2; /* half the bitmap */
		memcpy(out, &rep, sizeof(rep));
		memset(out + sizeof(rep), 0xff, bytes);
		peer_reply(c, &m->hdr, &f, sizeof(f), out, sizeof(rep) + bytes);
		return;
	}
	default:
		break;
	}
	vfu_send_error(c, &m->hdr, -EINVAL);
}

static void peer_serve(int lfd, enum peer_mode mode)
{
	static const char json[] = "{\"capabilities\":{\"max_msg_fds\":8,"
				   "\"max_data_xfer_size\":1048576}}";
	static uint8_t data[4096];
	struct vfu_reader rx;
	uint32_t state = VGPU_MIG_RUNNING;
	int c = accept(lfd, NULL, NULL);

	if (c < 0)
		_exit(2);
	vfu_reader_init(&rx);
	for (;;) {
		struct vfu_msg m;

		if (vfu_reader_next(&rx, c, &m, 0) < 0)
			_exit(0);
		vfu_msg_close_fds(&m, 0);
		switch (m.hdr.cmd) {
		case VFU_CMD_VERSION: {
			struct vfu_version v = { 0, 0 };

			peer_reply(c, &m.hdr, &v, sizeof(v), json,
				   sizeof(json));
			break;
		}
		case VFU_CMD_DEVICE_GET_INFO: {
			struct vfu_device_info di = {
				.argsz = sizeof(di),
				.flags = VFU_DEV_FLAG_PCI,
				.num_regions = 9,
				.num_irqs = 5,
			};

			peer_reply(c, &m.hdr, &di, sizeof(di), NULL, 0);
			break;
		}
		case VFU_CMD_DEVICE_FEATURE:
			peer_feature(c, &m, mode, &state);
			break;
		case VFU_CMD_DMA_MAP:
		case VFU_CMD_DMA_UNMAP:
			peer_reply(c, &m.hdr, NULL, 0, NULL, 0);
			break;
		case VFU_CMD_MIG_DATA_READ: {
			struct vfu_mig_data d;

			if (mode == PEER_HANG_UP)
				_exit(0);
			memcpy(&d, m.payload, sizeof(d));
			if (d.size > sizeof(data) - 64)
				d.size = sizeof(data) - 64;
			if (mode == PEER_READ_TOO_MUCH) {
				d.size += 10;
				peer_reply(c, &m.hdr, &d, sizeof(d), data,
					   d.size);
			} else {
				peer_reply(c, &m.hdr, &d, sizeof(d), data,
					   d.size / 2);
			}
			break;
		}
		case VFU_CMD_MIG_DATA_WRITE:
			if (mode == PEER_REFUSE_WRITE)
				vfu_send_error(c, &m.hdr, -EIO);
			else
				peer_reply(c, &m.hdr, NULL, 0, NULL, 0);
			break;
		default: /* regions, IRQs: none */
			vfu_send_error(c, &m.hdr, -EINVAL);
		}
	}
}

/* a handle on a scripted peer behaving as @mode */
static struct vgpu_handle *open_peer(enum peer_mode mode, pid_t *pid)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct vgpu_access_target t = { .id = "peer", .iommu_group = -1 };
	struct vgpu_handle *h = NULL;
	int lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/peer.sock", tmp);
	unlink(sa.sun_path);
	ck_assert_int_eq(bind(lfd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(lfd, 1), 0);
	*pid = fork();
	ck_assert_int_ge(*pid, 0);
	if (*pid == 0) {
		/* not the test runner's handler, which signals its group */
		signal(SIGTERM, SIG_DFL);
		peer_serve(lfd, mode);
	}
	close(lfd);
	t.path = sa.sun_path;
	ck_assert_int_eq(
		vgpu_handle_open_target(ctx, &vgpu_access_vfio_user, &t, 0, &h),
		0);
	return h;
}

static void close_peer(struct vgpu_handle *h, pid_t pid)
{
	int st;

	vgpu_handle_unref(h);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
}

START_TEST(test_hostile_migration_peers)
{
	static uint8_t buf[4096];
	struct vgpu_handle *h;
	pid_t pid;
	int fds = count_fds();

	/* more data than asked for, and less than announced */
	h = open_peer(PEER_READ_TOO_MUCH, &pid);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_read(h, buf, 100), -EBADMSG);
	close_peer(h, pid);
	h = open_peer(PEER_READ_SHORT, &pid);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_read(h, buf, 100), -EBADMSG);
	close_peer(h, pid);
	/* a state that does not exist */
	h = open_peer(PEER_BAD_STATE, &pid);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), -EBADMSG);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP),
			 -EBADMSG);
	close_peer(h, pid);
	/* an answer for another feature */
	h = open_peer(PEER_WRONG_FLAGS, &pid);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), -EBADMSG);
	close_peer(h, pid);
	/* a destination that refuses the data */
	h = open_peer(PEER_REFUSE_WRITE, &pid);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_RESUMING),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_write(h, buf, sizeof(buf)),
			 -EIO);
	close_peer(h, pid);
	/* a source that hangs up in the middle of the stream */
	h = open_peer(PEER_HANG_UP, &pid);
	ck_assert_int_eq(vgpu_handle_migration_set_state(h, VGPU_MIG_STOP_COPY),
			 0);
	ck_assert_int_eq(vgpu_handle_migration_read(h, buf, 100), -ENODEV);
	ck_assert_int_eq(vgpu_handle_migration_get_state(h), -ENODEV);
	close_peer(h, pid);
	/* DMA logging: half a bitmap, a bitmap for another range */
	{
		uint8_t *g = mmap(NULL, GUEST, PROT_READ | PROT_WRITE,
				  MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t bm[1];

		for (int mode = PEER_LOG_SHORT; mode <= PEER_LOG_OTHER;
		     mode++) {
			h = open_peer((enum peer_mode)mode, &pid);
			ck_assert_int_eq(
				vgpu_handle_dma_map(h, g, IOVA, GUEST,
						    VGPU_DMA_READ |
							    VGPU_DMA_WRITE),
				0);
			ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), 0);
			bm[0] = 7;
			ck_assert_int_eq(vgpu_handle_dirty_report(h, IOVA,
								  GUEST, bm,
								  sizeof(bm)),
					 -EBADMSG);
			ck_assert_uint_eq(bm[0],
					  0); /* nothing of the bad answer */
			close_peer(h, pid);
		}
		/* a peer without DMA logging */
		h = open_peer(PEER_BAD_STATE, &pid);
		ck_assert_int_eq(
			vgpu_handle_dma_map(h, g, IOVA, GUEST, VGPU_DMA_READ),
			0);
		ck_assert_int_eq(vgpu_handle_dirty_start(h, 4096), -EOPNOTSUPP);
		close_peer(h, pid);
		munmap(g, GUEST);
	}
	/* nothing leaked */
	ck_assert_int_eq(count_fds(), fds);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vfio-user-handle");
	TCase *tc = tcase_create("handle");

	signal(SIGPIPE, SIG_IGN);
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 30);
	tcase_add_test(tc, test_regions);
	tcase_add_test(tc, test_irqs);
	tcase_add_test(tc, test_dma_fd);
	tcase_add_test(tc, test_dma_message);
	tcase_add_test(tc, test_reset_features);
	tcase_add_test(tc, test_open_errors);
	tcase_add_test(tc, test_vanish_mid_request);
	tcase_add_test(tc, test_killed);
	tcase_add_test(tc, test_migrate_between_providers);
	tcase_add_test(tc, test_migrate_refusals);
	tcase_add_test(tc, test_dirty_logging);
	tcase_add_test(tc, test_hostile_migration_peers);
	tcase_add_test(tc, test_open_socket_foreign);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
