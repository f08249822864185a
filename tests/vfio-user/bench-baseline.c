/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The vfio-user hot paths through the public API of libvgpu 0.1 only, so
 * that the same binary runs against the 0.1 library and against the current
 * one (bench-baseline.sh picks the library with LD_LIBRARY_PATH and compares
 * the two). A provider on the public provider API is served from a forked
 * child; the client is a raw socket speaking the wire format, so nothing of
 * the library's own client is timed on the client side:
 *  roundtrip-loop, roundtrip-thread  REGION_READ of 4 bytes of a trapped
 *      BAR0, against a vgpu_provider_dispatch() loop and against the
 *      runner thread (vgpu_provider_start_thread());
 *  map-unmap-msg-N  DMA_MAP then DMA_UNMAP of one message-only window (no
 *      fd) while N others are mapped: the provider's window table insert
 *      and remove, through the wire;
 *  map-unmap-fd-N   the same with a window backed by a memfd sent with the
 *      DMA_MAP (the provider maps and unmaps it too).
 * Each line is "name WALL CPU": nanoseconds per operation of wall-clock
 * time and of processor time (the client's and the whole provider
 * process's, which a loaded machine disturbs far less), each the best of
 * REPEAT passes; plus "lib PATH" naming the library the dynamic linker
 * chose.
 * Uses only functions, types and constants that libvgpu 0.1 (commit
 * 70c7fc4) declares.
 */
#include <dlfcn.h>
#include <errno.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "libvgpu.h"
#include "libvgpu-provider.h"

#define ROUNDS 10000 /* round trips per pass */
#define MAPS   1000  /* map + unmap pairs per pass */
#define REPEAT 3

/* the wire format (vfio-user protocol), as the spec lays it out */
enum {
	CMD_VERSION = 1,
	CMD_DMA_MAP = 2,
	CMD_DMA_UNMAP = 3,
	CMD_REGION_READ = 9,
};

struct hdr {
	uint16_t msg_id;
	uint16_t cmd;
	uint32_t size;
	uint32_t flags;
	uint32_t error;
};

struct dma_map {
	uint32_t argsz;
	uint32_t flags;
	uint64_t offset;
	uint64_t addr;
	uint64_t size;
};

struct dma_unmap {
	uint32_t argsz;
	uint32_t flags;
	uint64_t addr;
	uint64_t size;
};

struct region_access {
	uint64_t offset;
	uint32_t region;
	uint32_t count;
};

#define WIN	0x1000ULL
#define IOVA(i) (0x100000000ULL + 2 * WIN * (i))
/* below every window: inserted first */
#define PROBE_AT (IOVA(0) - WIN)

static double clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

/* wall-clock and processor time of a pass, best of the passes so far */
struct meter {
	clockid_t provider; /* the provider process's CPU clock */
	double wall0, cpu0;
	double wall, cpu; /* best per operation */
};

static int meter_init(struct meter *m, pid_t provider)
{
	m->wall = m->cpu = 1e18;
	return clock_getcpuclockid(provider, &m->provider) ? -1 : 0;
}

static double cpu_now(struct meter *m)
{
	return clock_ns(CLOCK_PROCESS_CPUTIME_ID) + clock_ns(m->provider);
}

static void meter_start(struct meter *m)
{
	m->cpu0 = cpu_now(m);
	m->wall0 = clock_ns(CLOCK_MONOTONIC);
}

static void meter_stop(struct meter *m, unsigned int ops)
{
	double wall = (clock_ns(CLOCK_MONOTONIC) - m->wall0) / ops;
	double cpu = (cpu_now(m) - m->cpu0) / ops;

	m->wall = wall < m->wall ? wall : m->wall;
	m->cpu = cpu < m->cpu ? cpu : m->cpu;
}

/* ---- the provider (child) ---- */

static uint32_t scratch = 0x12345678;

static int bar0_access(struct vgpu_device *dev, unsigned int region,
		       uint64_t offset, void *buf, uint32_t count,
		       bool is_write, void *userdata)
{
	if (is_write)
		memcpy(&scratch, buf, count < 4 ? count : 4);
	else
		memcpy(buf, &scratch, count < 4 ? count : 4);
	return 0;
}

static int dev_create(struct vgpu_device *dev, const char *type_id,
		      void *userdata)
{
	int r = vgpu_device_set_pci_ids(dev, 0x1af4, 0x10f0, 0x1af4, 1,
					0x030000, 1);

	if (r < 0)
		return r;
	return vgpu_device_setup_region(
		dev, VGPU_REGION_BAR0, 4096,
		VGPU_REGION_F_READ | VGPU_REGION_F_WRITE, bar0_access, NULL);
}

static volatile sig_atomic_t stop;

static void on_term(int sig)
{
	stop = 1;
}

/*
 * Serve one device on @path until SIGTERM; writes a byte to @ready. SIGTERM
 * is blocked while the runner thread starts, so that it is delivered to
 * this thread, in sigsuspend(), not to the runner.
 */
static int provider(const char *path, bool threaded, int ready)
{
	struct vgpu_provider_ops ops = { .size = sizeof(ops),
					 .create = dev_create };
	struct sigaction sa = { .sa_handler = on_term };
	struct vgpu_provider *p;
	struct vgpu_device *dev;
	struct vgpu_ctx *ctx;
	sigset_t term, old;

	sigaction(SIGTERM, &sa, NULL);
	sigemptyset(&term);
	sigaddset(&term, SIGTERM);
	sigprocmask(SIG_BLOCK, &term, &old);
	if (vgpu_ctx_new(&ctx) < 0 ||
	    vgpu_provider_new(ctx, "bench0", &ops, NULL, &p) < 0 ||
	    vgpu_provider_add_type(p, "t1", "bench", NULL, 1) < 0 ||
	    vgpu_provider_create_device(p, "t1",
					"6f0c8e5a-3c1e-4d2b-9a55-0123456789ab",
					path, &dev) < 0)
		return 1;
	if (threaded && vgpu_provider_start_thread(p) < 0)
		return 1;
	if (write(ready, "", 1) != 1)
		return 1;
	close(ready);
	if (threaded) {
		while (!stop)
			sigsuspend(&old);
	} else {
		sigprocmask(SIG_SETMASK, &old, NULL);
		while (!stop)
			vgpu_provider_dispatch(p, 100);
	}
	vgpu_device_unref(dev);
	vgpu_provider_unref(p);
	vgpu_ctx_unref(ctx);
	return 0;
}

static pid_t provider_start(const char *path, bool threaded)
{
	int pp[2];
	char c;
	pid_t pid;

	if (pipe(pp) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(pp[0]);
		_exit(provider(path, threaded, pp[1]));
	}
	close(pp[1]);
	if (pid < 0 || read(pp[0], &c, 1) != 1) {
		close(pp[0]);
		return -1;
	}
	close(pp[0]);
	return pid;
}

static void provider_stop(pid_t pid)
{
	kill(pid, SIGTERM);
	waitpid(pid, NULL, 0);
}

/* ---- the raw client ---- */

static uint16_t next_id;

static int msg_send(int fd, uint16_t cmd, const void *p, size_t len, int sendfd)
{
	struct hdr h = { .msg_id = next_id++,
			 .cmd = cmd,
			 .size = (uint32_t)(sizeof(h) + len) };
	struct iovec iov[2] = { { &h, sizeof(h) }, { (void *)p, len } };
	union {
		char b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr a;
	} ctrl;
	struct msghdr mh = { .msg_iov = iov, .msg_iovlen = len ? 2 : 1 };

	if (sendfd >= 0) {
		struct cmsghdr *c;

		memset(&ctrl, 0, sizeof(ctrl));
		mh.msg_control = ctrl.b;
		mh.msg_controllen = sizeof(ctrl.b);
		c = CMSG_FIRSTHDR(&mh);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(c), &sendfd, sizeof(int));
	}
	return sendmsg(fd, &mh, MSG_NOSIGNAL) == (ssize_t)h.size ? 0 : -EIO;
}

/* the reply: its error as -errno; the payload into @p */
static int msg_reply(int fd, void *p, size_t max)
{
	struct hdr h;
	size_t n;

	if (recv(fd, &h, sizeof(h), MSG_WAITALL) != sizeof(h) ||
	    h.size < sizeof(h) || h.size - sizeof(h) > max)
		return -EIO;
	n = h.size - sizeof(h);
	if (n && recv(fd, p, n, MSG_WAITALL) != (ssize_t)n)
		return -EIO;
	return h.error ? -(int)h.error : 0;
}

static int call(int fd, uint16_t cmd, const void *p, size_t len, int sendfd)
{
	uint8_t rep[512];
	int r = msg_send(fd, cmd, p, len, sendfd);

	return r < 0 ? r : msg_reply(fd, rep, sizeof(rep));
}

static int client(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint16_t ver[2] = { 0, 1 };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    call(fd, CMD_VERSION, ver, sizeof(ver), -1) < 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	return fd;
}

static int dma_map(int fd, uint64_t iova, int memfd)
{
	struct dma_map m = { .argsz = sizeof(m),
			     .flags = VGPU_DMA_READ | VGPU_DMA_WRITE,
			     .addr = iova,
			     .size = WIN };

	return call(fd, CMD_DMA_MAP, &m, sizeof(m), memfd);
}

static int dma_unmap(int fd, uint64_t iova)
{
	struct dma_unmap u = { .argsz = sizeof(u), .addr = iova, .size = WIN };

	return call(fd, CMD_DMA_UNMAP, &u, sizeof(u), -1);
}

/* ---- the workloads ---- */

static int roundtrip(int fd, struct meter *m)
{
	struct region_access a = { .region = VGPU_REGION_BAR0, .count = 4 };
	uint8_t rep[64];

	for (int pass = 0; pass < REPEAT; pass++) {
		meter_start(m);
		for (int i = 0; i < ROUNDS; i++)
			if (msg_send(fd, CMD_REGION_READ, &a, sizeof(a), -1) <
				    0 ||
			    msg_reply(fd, rep, sizeof(rep)) < 0)
				return -1;
		meter_stop(m, ROUNDS);
	}
	return 0;
}

/* map + unmap of one window below the mapped ones; @memfd < 0: message
 * only */
static int map_unmap(int fd, int memfd, struct meter *m)
{
	for (int pass = 0; pass < REPEAT; pass++) {
		meter_start(m);
		for (int i = 0; i < MAPS; i++)
			if (dma_map(fd, PROBE_AT, memfd) < 0 ||
			    dma_unmap(fd, PROBE_AT) < 0)
				return -1;
		meter_stop(m, 2 * MAPS);
	}
	return 0;
}

static int bench_roundtrip(const char *path, bool threaded)
{
	pid_t pid = provider_start(path, threaded);
	struct meter m;
	int fd, r = -1;

	if (pid < 0)
		return -1;
	fd = client(path);
	if (fd >= 0) {
		r = meter_init(&m, pid) < 0 ? -1 : roundtrip(fd, &m);
		close(fd);
	}
	provider_stop(pid);
	if (r < 0)
		return -1;
	printf("roundtrip-%s %.1f %.1f\n", threaded ? "thread" : "loop", m.wall,
	       m.cpu);
	return 0;
}

static int bench_dma(const char *path)
{
	static const unsigned int sizes[] = { 1, 256, 4096, 16384 };
	pid_t pid = provider_start(path, false);
	unsigned int mapped = 0;
	int fd, memfd, r = -1;

	if (pid < 0)
		return -1;
	memfd = memfd_create("guest", MFD_CLOEXEC);
	if (memfd < 0 || ftruncate(memfd, WIN) < 0)
		goto out;
	fd = client(path);
	if (fd < 0)
		goto out;
	for (unsigned int s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct meter msg, withfd;

		for (; mapped < sizes[s]; mapped++)
			if (dma_map(fd, IOVA(mapped), -1) < 0)
				goto close;
		if (meter_init(&msg, pid) < 0 || meter_init(&withfd, pid) < 0 ||
		    map_unmap(fd, -1, &msg) < 0 ||
		    map_unmap(fd, memfd, &withfd) < 0)
			goto close;
		printf("map-unmap-msg-%u %.1f %.1f\n", sizes[s], msg.wall,
		       msg.cpu);
		printf("map-unmap-fd-%u %.1f %.1f\n", sizes[s], withfd.wall,
		       withfd.cpu);
	}
	r = 0;
close:
	close(fd);
out:
	if (memfd >= 0)
		close(memfd);
	provider_stop(pid);
	return r;
}

int main(void)
{
	char dir[] = "/tmp/vgpu-bench-XXXXXX", path[128];
	Dl_info info;
	int r;

	if (!mkdtemp(dir))
		return 1;
	snprintf(path, sizeof(path), "%s/dev.sock", dir);
	if (dladdr((void *)vgpu_provider_new, &info) && info.dli_fname)
		printf("lib %s\n", info.dli_fname);
	r = bench_roundtrip(path, false) < 0 ||
	    bench_roundtrip(path, true) < 0 || bench_dma(path) < 0;
	unlink(path);
	rmdir(dir);
	if (r)
		fprintf(stderr, "bench-baseline: a workload failed\n");
	return r;
}
