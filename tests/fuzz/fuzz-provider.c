/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * libFuzzer target for the provider's dispatcher and handlers: every input
 * is a sequence of client messages, with fds, sent to a provider (the
 * public provider API, one device with trapped registers that make DMA,
 * memory regions, sparse and read-only, interrupts and migration) over a
 * connected UNIX socket, after a valid VERSION unless the first byte says
 * otherwise. A thread drains the replies (and closes the fds they carry)
 * so that the single-threaded provider never waits on a full socket.
 *
 * Input: byte 0 (bit 0: send no VERSION first), then records of
 *   u8 fds   bits 0-1 how many fds (0..3); bits 2-7 their kinds, two bits
 *            each: 0 a memfd sealed against shrinking, 1 an unsealed memfd
 *            truncated to nothing once sent, 2 an eventfd, 3 a pipe
 *   u8 cmd   bits 0-6 the command, bit 7 VFU_F_NO_REPLY
 *   u16 len  payload bytes (little endian), then the payload
 * The header's size is the real one; the parsers' fuzzer covers bad ones.
 * Crashes, hangs and leaks (LeakSanitizer, fds by count) are findings.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "libvgpu-provider.h"
#include "proto.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define WIN_SIZE 0x10000

struct fdev {
	uint64_t regs[8];
	uint8_t buf[4096];
	uint8_t mig[16];
	size_t mig_pos;
};

static struct vgpu_provider *prov;
static char sock_path[108];

/* BAR0: 0x08 address, 0x10 length; writes to 0x18 copy (read, write back
 * inverted), 0x20 pin and unpin, 0x28 mark dirty, 0x30 raise MSI */
static int bar0(struct vgpu_device *dev, unsigned int region, uint64_t off,
		void *buf, uint32_t count, bool is_write, void *userdata)
{
	struct fdev *d = vgpu_device_get_userdata(dev);
	uint64_t addr, len, v;
	struct iovec seg[4];
	int n;

	(void)region;
	(void)userdata;
	if (count != 8 || (off & 7) || off >= sizeof(d->regs))
		return -EINVAL;
	if (!is_write) {
		memcpy(buf, &d->regs[off / 8], 8);
		return 0;
	}
	memcpy(&v, buf, 8);
	d->regs[off / 8] = v;
	addr = d->regs[1];
	len = d->regs[2];
	switch (off) {
	case 0x18:
		if (len > sizeof(d->buf))
			return -EINVAL;
		n = vgpu_device_dma_read(dev, addr, d->buf, len);
		return n ? n
			 : vgpu_device_dma_write(dev, addr + len, d->buf, len);
	case 0x20:
		n = vgpu_device_dma_pin(dev, addr, len, VGPU_DMA_READ, seg, 4);
		if (n < 0)
			return n;
		for (int i = 0; i < n; i++)
			memcpy(d->buf, seg[i].iov_base,
			       seg[i].iov_len < 64 ? seg[i].iov_len : 64);
		return vgpu_device_dma_unpin(dev, addr, len);
	case 0x28:
		vgpu_device_dma_mark_dirty(dev, addr, len);
		return 0;
	case 0x30:
		return vgpu_device_irq_trigger(dev, VGPU_IRQ_MSI, 0);
	default:
		return 0;
	}
}

static int mig_state(struct vgpu_device *dev, enum vgpu_migration_state s,
		     void *userdata)
{
	struct fdev *d = vgpu_device_get_userdata(dev);

	(void)s;
	(void)userdata;
	d->mig_pos = 0;
	return 0;
}

static ssize_t mig_read(struct vgpu_device *dev, void *buf, size_t len,
			void *userdata)
{
	struct fdev *d = vgpu_device_get_userdata(dev);
	size_t n = sizeof(d->mig) - d->mig_pos;

	(void)userdata;
	n = n < len ? n : len;
	memcpy(buf, d->mig + d->mig_pos, n);
	d->mig_pos += n;
	return (ssize_t)n;
}

static int mig_write(struct vgpu_device *dev, const void *buf, size_t len,
		     void *userdata)
{
	struct fdev *d = vgpu_device_get_userdata(dev);

	(void)userdata;
	if (len > sizeof(d->mig) - d->mig_pos)
		return -EINVAL;
	memcpy(d->mig + d->mig_pos, buf, len);
	d->mig_pos += len;
	return 0;
}

static int create(struct vgpu_device *dev, const char *type_id, void *userdata)
{
	struct fdev *d = calloc(1, sizeof(*d));
	int r;

	(void)type_id;
	(void)userdata;
	if (!d)
		return -ENOMEM;
	vgpu_device_set_userdata(dev, d);
	r = vgpu_device_setup_region(dev, VGPU_REGION_BAR0, 4096,
				     VGPU_REGION_F_READ | VGPU_REGION_F_WRITE,
				     bar0, NULL);
	if (!r)
		r = vgpu_device_setup_region(dev, VGPU_REGION_BAR2, 0x10000,
					     VGPU_REGION_F_READ |
						     VGPU_REGION_F_WRITE |
						     VGPU_REGION_F_MEM,
					     NULL, NULL);
	if (!r)
		r = vgpu_device_region_add_sparse(dev, VGPU_REGION_BAR2, 0,
						  0x8000);
	if (!r)
		r = vgpu_device_setup_region(
			dev, VGPU_REGION_BAR4, 0x4000,
			VGPU_REGION_F_READ | VGPU_REGION_F_MEM, NULL, NULL);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_INTX, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSI, 1);
	if (!r)
		r = vgpu_device_setup_irq(dev, VGPU_IRQ_MSIX, 4);
	if (!r)
		r = vgpu_device_add_cap_msi(dev, 1, NULL);
	if (!r)
		r = vgpu_device_add_cap_msix(dev, 4, 0, 0x800, 0, 0xc00, NULL);
	if (!r)
		r = vgpu_device_add_cap_pcie(dev, NULL);
	return r;
}

static void destroy(struct vgpu_device *dev, void *userdata)
{
	(void)userdata;
	free(vgpu_device_get_userdata(dev));
}

static int init(void)
{
	static const struct vgpu_provider_ops ops = {
		.size = sizeof(ops),
		.create = create,
		.destroy = destroy,
		.migration_state = mig_state,
		.migration_read = mig_read,
		.migration_write = mig_write,
	};
	static char dir[] = "/tmp/vgpu-fuzz-XXXXXX";
	struct vgpu_ctx *ctx;

	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(dir) || vgpu_ctx_new(&ctx) < 0)
		abort();
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	snprintf(sock_path, sizeof(sock_path), "%s/dev.sock", dir);
	if (vgpu_provider_new(ctx, "fuzz0", &ops, NULL, &prov) < 0 ||
	    vgpu_provider_set_dma_timeout(prov, 1) < 0 ||
	    vgpu_provider_add_type(prov, "fuzz", "fuzz", "", 1) < 0 ||
	    vgpu_provider_create_device(prov, "fuzz",
					"4d1f3c2b-0a9e-4b8c-8d7e-6f5a4b3c2d1e",
					sock_path, NULL) < 0)
		abort();
	return 0;
}

/* ---- the client end ---- */

static atomic_bool draining;

/* read and drop whatever the provider sends, closing the fds it passes */
static void *drain(void *data)
{
	int fd = *(int *)data;
	static uint8_t buf[1 << 16];

	while (atomic_load(&draining)) {
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		union {
			char b[CMSG_SPACE(16 * sizeof(int))];
			struct cmsghdr align;
		} u;
		struct iovec iov = { .iov_base = buf, .iov_len = sizeof(buf) };
		struct msghdr mh = { .msg_iov = &iov,
				     .msg_iovlen = 1,
				     .msg_control = u.b,
				     .msg_controllen = sizeof(u.b) };
		ssize_t n;

		if (poll(&pfd, 1, 5) <= 0)
			continue;
		n = recvmsg(fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
		if (n == 0)
			break;
		for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c;
		     c = CMSG_NXTHDR(&mh, c)) {
			size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);

			for (size_t i = 0; i < k; i++) {
				int rfd;

				memcpy(&rfd, CMSG_DATA(c) + i * sizeof(int),
				       sizeof(int));
				close(rfd);
			}
		}
	}
	return NULL;
}

static int make_fd(unsigned int kind, int *trunc)
{
	int fd, p[2];

	switch (kind) {
	case 0:
	case 1:
		fd = memfd_create("fuzz", MFD_CLOEXEC | MFD_ALLOW_SEALING);
		if (fd < 0 || ftruncate(fd, WIN_SIZE) < 0)
			abort();
		if (kind == 0)
			fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW);
		else
			*trunc = 1;
		return fd;
	case 2:
		return eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	default:
		if (pipe2(p, O_CLOEXEC) < 0)
			abort();
		close(p[0]);
		return p[1];
	}
}

static void send_msg(int fd, uint16_t id, uint16_t cmd, uint32_t flags,
		     const uint8_t *p, size_t len, unsigned int spec)
{
	struct vfu_hdr h = { .msg_id = id,
			     .cmd = cmd,
			     .flags = flags,
			     .size = (uint32_t)(sizeof(h) + len) };
	struct iovec iov[2] = { { .iov_base = &h, .iov_len = sizeof(h) },
				{ .iov_base = (void *)p, .iov_len = len } };
	union {
		char b[CMSG_SPACE(3 * sizeof(int))];
		struct cmsghdr align;
	} u;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = 2 };
	unsigned int nfds = spec & 3;
	int fds[3], trunc[3] = { 0 };

	for (unsigned int i = 0; i < nfds; i++)
		fds[i] = make_fd((spec >> (2 + 2 * i)) & 3, &trunc[i]);
	if (nfds) {
		struct cmsghdr *c;

		memset(u.b, 0, sizeof(u.b));
		mh.msg_control = u.b;
		mh.msg_controllen = CMSG_SPACE(nfds * sizeof(int));
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(nfds * sizeof(int));
		memcpy(CMSG_DATA(c), fds, nfds * sizeof(int));
	}
	/* the provider may have dropped us: that ends the sequence */
	(void)!sendmsg(fd, &mh, MSG_NOSIGNAL);
	for (unsigned int i = 0; i < nfds; i++) {
		if (trunc[i]) /* the attack: shrink what the provider mapped */
			(void)!ftruncate(fds[i], 0);
		close(fds[i]);
	}
}

/* let the provider handle what is queued: a UNIX socket's data is there
 * as soon as sendmsg() returns, so no waiting */
static void pump(void)
{
	while (vgpu_provider_dispatch(prov, 0) > 0)
		;
}

/* ---- seeds: one sequence per concern, written into an empty corpus ---- */

struct seed {
	uint8_t b[1024];
	size_t n;
};

static void rec(struct seed *sd, unsigned int spec, unsigned int cmd,
		const void *p, size_t len)
{
	sd->b[sd->n++] = (uint8_t)spec;
	sd->b[sd->n++] = (uint8_t)cmd;
	sd->b[sd->n++] = (uint8_t)len;
	sd->b[sd->n++] = (uint8_t)(len >> 8);
	memcpy(sd->b + sd->n, p, len);
	sd->n += len;
}

static void bar0_write(struct seed *sd, uint64_t off, uint64_t v)
{
	struct {
		struct vfu_region_access a;
		uint64_t v;
	} __attribute__((packed)) m = { { off, 0, 8 }, v };

	rec(sd, 0, VFU_CMD_REGION_WRITE, &m, sizeof(m));
}

static void dma_map(struct seed *sd, unsigned int spec, uint64_t addr)
{
	struct vfu_dma_map m = {
		.argsz = sizeof(m), .flags = 3, .addr = addr, .size = WIN_SIZE
	};

	rec(sd, spec, VFU_CMD_DMA_MAP, &m, sizeof(m));
}

static void feature(struct seed *sd, uint32_t flags, const void *p, size_t len,
		    size_t extra)
{
	uint8_t b[64];
	struct vfu_feature f = { .argsz = (uint32_t)(sizeof(f) + len + extra),
				 .flags = flags };

	memcpy(b, &f, sizeof(f));
	memcpy(b + sizeof(f), p, len);
	rec(sd, 0, VFU_CMD_DEVICE_FEATURE, b, sizeof(f) + len);
}

static void write_seed(const char *dir, int i, const struct seed *sd)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/seed-%d", dir, i);
	f = fopen(path, "we");
	if (f) {
		fputc(0, f); /* VERSION first */
		fwrite(sd->b, 1, sd->n, f);
		fclose(f);
	}
}

/* dirty logging: start, dirty, report, unmap with bitmap, stop */
static void seed_logging(struct seed *sd)
{
	struct vfu_log_start ls = { .page_size = 4096 };
	struct vfu_log_report lr = { 0x100000, WIN_SIZE, 4096 };
	struct {
		struct vfu_dma_unmap u;
		struct vfu_bitmap b;
	} __attribute__((packed)) ub = {
		{ sizeof(ub) + 8, VFU_DMA_UNMAP_GET_DIRTY_BITMAP, 0x100000,
		  WIN_SIZE },
		{ 4096, 8 },
	};

	dma_map(sd, 1, 0x100000);
	feature(sd, VFU_FEATURE_SET | VFU_FEATURE_DMA_LOGGING_START, &ls,
		sizeof(ls), 0);
	bar0_write(sd, 0x08, 0x100000);
	bar0_write(sd, 0x10, 0x3000);
	bar0_write(sd, 0x28, 1);
	feature(sd, VFU_FEATURE_GET | VFU_FEATURE_DMA_LOGGING_REPORT, &lr,
		sizeof(lr), 8);
	rec(sd, 0, VFU_CMD_DMA_UNMAP, &ub, sizeof(ub));
	feature(sd, VFU_FEATURE_SET | VFU_FEATURE_DMA_LOGGING_STOP, NULL, 0, 0);
}

/* migration: state, data out, resume, data in */
static void seed_migration(struct seed *sd)
{
	struct vfu_mig_state ms = { .device_state = VGPU_MIG_STOP_COPY };
	struct vfu_mig_data md = { .argsz = sizeof(md), .size = 64 };
	uint8_t b[sizeof(md) + 16] = { 0 };

	feature(sd, VFU_FEATURE_GET | VFU_FEATURE_MIGRATION, NULL, 0, 8);
	feature(sd, VFU_FEATURE_SET | VFU_FEATURE_MIG_DEVICE_STATE, &ms,
		sizeof(ms), 0);
	rec(sd, 0, VFU_CMD_MIG_DATA_READ, &md, sizeof(md));
	ms.device_state = VGPU_MIG_RESUMING;
	feature(sd, VFU_FEATURE_SET | VFU_FEATURE_MIG_DEVICE_STATE, &ms,
		sizeof(ms), 0);
	md.size = 16;
	md.argsz = sizeof(md) + 16;
	memcpy(b, &md, sizeof(md));
	rec(sd, 0, VFU_CMD_MIG_DATA_WRITE, b, sizeof(b));
}

static void write_seeds(const char *dir)
{
	struct seed sd[6] = { 0 };
	struct vfu_region_info ri = { .argsz = 256 };
	struct vfu_irq_info ii = { .argsz = sizeof(ii), .index = 1 };
	struct vfu_irq_set is = { .argsz = sizeof(is) + 0,
				  .index = 1,
				  .flags = VFU_IRQ_DATA_EVENTFD |
					   VFU_IRQ_ACTION_TRIGGER,
				  .count = 1 };
	struct vfu_dma_unmap un = { .argsz = sizeof(un),
				    .addr = 0x100000,
				    .size = WIN_SIZE };
	struct vfu_region_access ra = { 0x10000 - 8, 2, 8 };
	struct vfu_device_info di = { .argsz = sizeof(di) };

	/* discovery: info, regions, irqs, eventfds, an interrupt */
	rec(&sd[0], 0, VFU_CMD_DEVICE_GET_INFO, &di, sizeof(di));
	for (uint32_t r = 0; r < 9; r++) {
		ri.index = r;
		rec(&sd[0], 0, VFU_CMD_DEVICE_GET_REGION_INFO, &ri, 32);
	}
	rec(&sd[0], 0, VFU_CMD_DEVICE_GET_IRQ_INFO, &ii, sizeof(ii));
	rec(&sd[0], 1 | (2 << 2), VFU_CMD_DEVICE_SET_IRQS, &is, sizeof(is));
	bar0_write(&sd[0], 0x30, 1);
	rec(&sd[0], 0, VFU_CMD_REGION_READ, &ra, sizeof(ra));
	ra = (struct vfu_region_access){ 0x40, VGPU_REGION_CONFIG, 4 };
	rec(&sd[0], 0, VFU_CMD_REGION_READ, &ra, sizeof(ra));
	{
		struct {
			uint64_t n;
			struct vfu_write_multi_entry e[2];
		} __attribute__((packed))
		wm = { 2, { { 0x08, 0, 8, { 0 } }, { 0x10, 0, 8, { 1 } } } };

		rec(&sd[0], 0, VFU_CMD_REGION_WRITE_MULTI, &wm, sizeof(wm));
	}
	rec(&sd[0], 0, VFU_CMD_DEVICE_RESET, NULL, 0);
	/* DMA through a sealed memfd: copy, pin, unmap */
	dma_map(&sd[1], 1 | (0 << 2), 0x100000);
	bar0_write(&sd[1], 0x08, 0x100000);
	bar0_write(&sd[1], 0x10, 256);
	bar0_write(&sd[1], 0x18, 1);
	bar0_write(&sd[1], 0x20, 1);
	rec(&sd[1], 0, VFU_CMD_DMA_UNMAP, &un, sizeof(un));
	dma_map(&sd[1], 0, 0x200000);
	un = (struct vfu_dma_unmap){ .argsz = sizeof(un),
				     .flags = VFU_DMA_UNMAP_ALL };
	rec(&sd[1], 0, VFU_CMD_DMA_UNMAP, &un, sizeof(un));
	/* the same through an unsealed memfd the client truncates */
	sd[2] = sd[1];
	sd[2].b[0] = 1 | (1 << 2);
	/* message-only DMA (the client never answers) */
	dma_map(&sd[3], 0, 0x100000);
	bar0_write(&sd[3], 0x08, 0x100000);
	bar0_write(&sd[3], 0x10, 16);
	bar0_write(&sd[3], 0x18, 1);
	seed_logging(&sd[4]);
	seed_migration(&sd[5]);
	for (int i = 0; i < 6; i++)
		write_seed(dir, i, &sd[i]);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);

/* VGPU_FUZZ_SEEDS=dir: write the seeds there first (run-fuzz.sh does,
 * into an empty corpus) */
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	const char *dir = getenv("VGPU_FUZZ_SEEDS");

	(void)argc;
	(void)argv;
	if (dir && *dir)
		write_seeds(dir);
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	pthread_t t;
	size_t at = 1;
	uint16_t id = 1;
	int fd;

	if (!prov)
		init();
	if (!size)
		return 0;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	memcpy(sa.sun_path, sock_path, strlen(sock_path) + 1);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	atomic_store(&draining, true);
	if (pthread_create(&t, NULL, drain, &fd))
		abort();
	pump();
	if (!(data[0] & 1)) {
		static const char json[] =
			"{\"capabilities\":{\"max_msg_fds\":8,"
			"\"max_data_xfer_size\":4096,\"write_multiple\":true,"
			"\"migration\":{\"pgsize\":4096,"
			"\"max_bitmap_size\":1048576}}}";
		struct vfu_version ver = { .major = VFU_VERSION_MAJOR };
		uint8_t v[sizeof(ver) + sizeof(json)];

		memcpy(v, &ver, sizeof(ver));
		memcpy(v + sizeof(struct vfu_version), json, sizeof(json));
		send_msg(fd, 0, VFU_CMD_VERSION, 0, v, sizeof(v), 0);
		pump();
	}
	while (size - at >= 4) {
		unsigned int spec = data[at], cmd = data[at + 1];
		size_t len = data[at + 2] | (size_t)data[at + 3] << 8;

		at += 4;
		if (len > size - at)
			len = size - at;
		send_msg(fd, id++, cmd & 0x7f, cmd & 0x80 ? VFU_F_NO_REPLY : 0,
			 data + at, len, spec);
		at += len;
		pump();
	}
	shutdown(fd, SHUT_WR);
	pump();
	atomic_store(&draining, false);
	pthread_join(t, NULL);
	close(fd);
	pump();
	return 0;
}
