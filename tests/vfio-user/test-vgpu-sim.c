/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The sample vendor driver end to end, server and client in separate
 * processes: vgpu-sim runs as its own program; this process finds it
 * through management (the "vfio-user" backend), creates a device, opens it
 * with the internal client, maps a guest buffer (memfd), programs a DMA
 * blit, waits for the interrupt's eventfd, checks the framebuffer through
 * its mmap, and removes the device. Plus hostile control-socket clients.
 */
#include <check.h>
#include <errno.h>
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

#include "check-run.h"
#include "client.h"
#include "libvgpu-private.h"
#include "libvgpu-provider.h"
#include "vgpu-sim.h"

#define UUID1	   "5a0a7c52-8d0e-4b8e-9f1a-0c2d4e6f8a10"
#define GUEST_IOVA 0x40000000ull
#define GUEST_SIZE (4u << 20)

static char tmp[64], run[96], ctl[160];
static pid_t sim;
static struct vgpu_ctx *ctx;

static void setup(void)
{
	const char *prog = getenv("VGPU_SIM");
	char line[16] = "";
	int out[2];
	FILE *f;

	ck_assert_ptr_nonnull(prog);
	strcpy(tmp, "/tmp/vgpu-sim-test-XXXXXX");
	ck_assert_ptr_nonnull(mkdtemp(tmp));
	snprintf(run, sizeof(run), "%s/run", tmp);
	snprintf(ctl, sizeof(ctl), "%s/vfio-user/vgpu-sim0.ctl", run);
	ck_assert_int_eq(pipe(out), 0);
	sim = fork();
	if (sim == 0) {
		dup2(out[1], 1);
		execl(prog, prog, "--runtime-dir", run, "--pool", "512",
		      (char *)NULL);
		_exit(127);
	}
	close(out[1]);
	f = fdopen(out[0], "r");
	ck_assert_ptr_nonnull(fgets(line, sizeof(line), f));
	fclose(f);
	ck_assert_str_eq(line, "ready\n");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	/* nothing but providers: an empty sysfs */
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, tmp), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, run), 0);
}

static void teardown(void)
{
	int st;
	char cmd[128];

	kill(sim, SIGTERM);
	ck_assert_int_eq(waitpid(sim, &st, 0), sim);
	ck_assert(WIFEXITED(st) && WEXITSTATUS(st) == 0);
	vgpu_ctx_unref(ctx);
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmp);
	ck_assert_int_eq(system(cmd), 0);
}

static int available(const char *type_id)
{
	struct vgpu_parent *p;
	struct vgpu_type *t;
	int n;

	ck_assert_int_eq(vgpu_parent_get(ctx, "vgpu-sim0", &p), 0);
	ck_assert_int_eq(vgpu_type_get(p, type_id, &t), 0);
	n = vgpu_type_get_available_instances(t);
	vgpu_type_unref(t);
	vgpu_parent_unref(p);
	return n;
}

static void reg_write(struct vfu_client *c, uint32_t off, uint32_t v)
{
	ck_assert_int_eq(
		vfu_client_region_write(c, VGPU_SIM_BAR_REGS, off, &v, 4), 0);
}

static uint32_t reg_read(struct vfu_client *c, uint32_t off)
{
	uint32_t v = 0;

	ck_assert_int_eq(
		vfu_client_region_read(c, VGPU_SIM_BAR_REGS, off, &v, 4), 0);
	return v;
}

START_TEST(test_management)
{
	struct vgpu_parent **ps;
	struct vgpu_type **ts;
	struct vgpu_instance **is, *in;
	struct vgpu_config *cfg;
	size_t n;

	ck_assert_int_eq(vgpu_parent_list(ctx, &ps, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(vgpu_parent_get_id(ps[0]), "vgpu-sim0");
	ck_assert_str_eq(vgpu_parent_get_backend(ps[0]), "vfio-user");
	ck_assert_int_eq(vgpu_type_list(ps[0], &ts, &n), 0);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(vgpu_type_get_id(ts[1]), "sim-256m");
	ck_assert_str_eq(vgpu_type_get_device_api(ts[1]), "vfio-pci");
	vgpu_type_list_free(ts, n);
	vgpu_parent_list_free(ps, 1);
	ck_assert_int_eq(available("sim-256m"), 2);
	ck_assert_int_eq(available("sim-16m"), 32);

	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "sim-256m"), 0);
	ck_assert_int_eq(
		vgpu_instance_create(ctx, "vgpu-sim0", UUID1, cfg, &in), 0);
	ck_assert_str_eq(vgpu_instance_get_backend(in), "vfio-user");
	ck_assert_str_eq(vgpu_instance_get_type_id(in), "sim-256m");
	ck_assert_ptr_nonnull(strstr(vgpu_instance_get_syspath(in),
				     "/vfio-user/" UUID1 ".sock"));
	vgpu_instance_unref(in);
	/* the pool shrinks for every type */
	ck_assert_int_eq(available("sim-256m"), 1);
	ck_assert_int_eq(available("sim-16m"), 16);
	/* the same UUID twice, an unknown type, a full pool */
	ck_assert_int_lt(
		vgpu_instance_create(ctx, "vgpu-sim0", UUID1, cfg, NULL), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "sim-1t"), 0);
	ck_assert_int_lt(
		vgpu_instance_create(ctx, "vgpu-sim0",
				     "00000000-0000-0000-0000-000000000001",
				     cfg, NULL),
		0);
	vgpu_config_unref(cfg);
	ck_assert_int_eq(vgpu_instance_list(ctx, 0, NULL, NULL, &is, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(vgpu_instance_get_uuid(is[0]), UUID1);
	vgpu_instance_list_free(is, n);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_assert_int_eq(available("sim-256m"), 2);
	ck_assert_int_eq(vgpu_instance_get(ctx, UUID1, NULL, &in), -ENOENT);
}
END_TEST

START_TEST(test_dma_blit)
{
	struct vgpu_config *cfg;
	struct vgpu_instance *in;
	struct vfu_client *c;
	struct vfu_region_info ri;
	struct vfu_sparse_area areas[2];
	unsigned int na;
	int fbfd, guest, efd;
	uint8_t *fb, *mem;
	uint64_t cnt;
	struct pollfd pfd;

	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "sim-16m"), 0);
	ck_assert_int_eq(
		vgpu_instance_create(ctx, "vgpu-sim0", UUID1, cfg, &in), 0);
	vgpu_config_unref(cfg);
	ck_assert_int_eq(
		vfu_client_connect(ctx, vgpu_instance_get_syspath(in), &c), 0);
	vgpu_instance_unref(in);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_ID), VGPU_SIM_ID);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_FB_MB), 16);

	/* the framebuffer, mapped from the region's fd */
	ck_assert_int_eq(vfu_client_region_info(c, VGPU_SIM_BAR_FB, &ri, &fbfd,
						areas, 2, &na, NULL),
			 0);
	ck_assert_uint_eq(ri.size, 16u << 20);
	ck_assert(ri.flags & VFU_REGION_MMAP);
	fb = mmap(NULL, ri.size, PROT_READ, MAP_SHARED, fbfd, (off_t)ri.offset);
	ck_assert_ptr_ne(fb, MAP_FAILED);
	close(fbfd);

	/* guest memory: a memfd with a pattern, mapped at GUEST_IOVA */
	guest = memfd_create("guest", MFD_CLOEXEC);
	ck_assert_int_ge(guest, 0);
	ck_assert_int_eq(ftruncate(guest, GUEST_SIZE), 0);
	mem = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, guest,
		   0);
	ck_assert_ptr_ne(mem, MAP_FAILED);
	for (size_t i = 0; i < GUEST_SIZE; i++)
		mem[i] = (uint8_t)(i * 7 + (i >> 12));
	ck_assert_int_eq(
		vfu_client_dma_map(c, GUEST_IOVA, GUEST_SIZE,
				   VFU_DMA_MAP_READ | VFU_DMA_MAP_WRITE, guest,
				   0, mem),
		0);

	/* the completion interrupt: MSI-X vector 0 */
	efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ck_assert_int_eq(
		vfu_client_set_irq_eventfds(c, 2 /* MSI-X */, 0, 1, &efd), 0);

	/* blit 1 MiB + 123 bytes from guest offset 4096 to fb offset 64 */
	reg_write(c, VGPU_SIM_REG_SRC_LO, (uint32_t)(GUEST_IOVA + 4096));
	reg_write(c, VGPU_SIM_REG_SRC_HI,
		  (uint32_t)((GUEST_IOVA + 4096) >> 32));
	reg_write(c, VGPU_SIM_REG_DST, 64);
	reg_write(c, VGPU_SIM_REG_LEN, (1u << 20) + 123);
	reg_write(c, VGPU_SIM_REG_DOORBELL, 1);
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	ck_assert_int_eq(read(efd, &cnt, 8), 8);
	ck_assert_uint_eq(cnt, 1);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_STATUS),
			  VGPU_SIM_STATUS_DONE);
	ck_assert_int_eq(memcmp(fb + 64, mem + 4096, (1u << 20) + 123), 0);
	ck_assert_uint_eq(fb[63], 0);
	ck_assert_uint_eq(fb[64 + (1u << 20) + 123], 0);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_BLITS), 1);

	/* the guest memfd is not sealed: the client truncates it under the
	 * provider. The blit fails with EFAULT (no SIGBUS), vgpu-sim lives */
	ck_assert_int_eq(ftruncate(guest, 0), 0);
	reg_write(c, VGPU_SIM_REG_STATUS, VGPU_SIM_STATUS_DONE);
	reg_write(c, VGPU_SIM_REG_DOORBELL, 1);
	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	ck_assert_int_eq(read(efd, &cnt, 8), 8);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_STATUS),
			  VGPU_SIM_STATUS_ERROR);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_ERROR), EFAULT);
	ck_assert_int_eq(ftruncate(guest, GUEST_SIZE), 0);

	/* a blit from unmapped guest memory: error status, still an irq */
	reg_write(c, VGPU_SIM_REG_STATUS, VGPU_SIM_STATUS_DONE);
	reg_write(c, VGPU_SIM_REG_SRC_HI, 0x7);
	reg_write(c, VGPU_SIM_REG_DOORBELL, 1);
	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	ck_assert_int_eq(read(efd, &cnt, 8), 8);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_STATUS),
			  VGPU_SIM_STATUS_ERROR);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_ERROR), EFAULT);
	/* past the framebuffer's end */
	reg_write(c, VGPU_SIM_REG_SRC_HI,
		  (uint32_t)((GUEST_IOVA + 4096) >> 32));
	reg_write(c, VGPU_SIM_REG_DST, (16u << 20) - 8);
	reg_write(c, VGPU_SIM_REG_DOORBELL, 1);
	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	ck_assert_int_eq(read(efd, &cnt, 8), 8);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_ERROR), EINVAL);

	/* guest memory shared without an fd: vgpu-sim's pin gives -EREMOTE
	 * and it reads by DMA_READ messages (1 MiB each) after answering the
	 * doorbell write; the client serves them when its fd polls readable,
	 * as a VMM's main loop does */
	{
		uint8_t *anon = mmap(NULL, GUEST_SIZE, PROT_READ | PROT_WRITE,
				     MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
		uint64_t iova2 = GUEST_IOVA + GUEST_SIZE;

		ck_assert_ptr_ne(anon, MAP_FAILED);
		for (size_t i = 0; i < GUEST_SIZE; i++)
			anon[i] = (uint8_t)(i * 13 + 5);
		ck_assert_int_eq(vfu_client_dma_map(c, iova2, GUEST_SIZE,
						    VFU_DMA_MAP_READ, -1, 0,
						    anon),
				 0);
		reg_write(c, VGPU_SIM_REG_STATUS,
			  VGPU_SIM_STATUS_DONE | VGPU_SIM_STATUS_ERROR);
		reg_write(c, VGPU_SIM_REG_SRC_LO, (uint32_t)(iova2 + 77));
		reg_write(c, VGPU_SIM_REG_SRC_HI,
			  (uint32_t)((iova2 + 77) >> 32));
		reg_write(c, VGPU_SIM_REG_DST, 0);
		reg_write(c, VGPU_SIM_REG_LEN, (2u << 20) + 5);
		reg_write(c, VGPU_SIM_REG_DOORBELL, 1);
		for (;;) {
			struct pollfd two[2] = {
				{ .fd = efd, .events = POLLIN },
				{ .fd = vfu_client_get_fd(c),
				  .events = POLLIN },
			};

			ck_assert_int_ge(poll(two, 2, 10000), 1);
			if (two[0].revents)
				break;
			ck_assert_int_ge(vfu_client_service(c), 0);
		}
		ck_assert_int_eq(read(efd, &cnt, 8), 8);
		ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_STATUS),
				  VGPU_SIM_STATUS_DONE);
		ck_assert_int_eq(memcmp(fb, anon + 77, (2u << 20) + 5), 0);
		ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_BLITS), 2);
		ck_assert_int_eq(vfu_client_dma_unmap(c, iova2, GUEST_SIZE), 0);
		munmap(anon, GUEST_SIZE);
	}

	ck_assert_int_eq(vfu_client_dma_unmap(c, GUEST_IOVA, GUEST_SIZE), 0);
	/* in use: removal refused, the device keeps working */
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), -EBUSY);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_ID), VGPU_SIM_ID);
	vfu_client_close(c);
	munmap(mem, GUEST_SIZE);
	munmap(fb, 16u << 20);
	close(guest);
	close(efd);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_assert_int_eq(available("sim-16m"), 32);
}
END_TEST

static void hreg_write(struct vgpu_handle *h, uint32_t off, uint32_t v)
{
	ck_assert_int_eq(
		vgpu_handle_region_write(h, VGPU_SIM_BAR_REGS, off, &v, 4), 0);
}

/* the display plane through the public handle: the descriptor region */
START_TEST(test_display)
{
	struct vgpu_plane_info pi = { .size = sizeof(pi) };
	struct vgpu_config *cfg;
	struct vgpu_handle *h;
	uint32_t type, subtype, v = 1;

	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "sim-16m"), 0);
	ck_assert_int_eq(
		vgpu_instance_create(ctx, "vgpu-sim0", UUID1, cfg, NULL), 0);
	vgpu_config_unref(cfg);
	ck_assert_int_eq(vgpu_handle_open(ctx, UUID1, 0, &h), 0);
	ck_assert_int_eq(vgpu_handle_region_get_type(h, VGPU_SIM_REGION_PLANE,
						     &type, &subtype),
			 0);
	ck_assert_uint_eq(type, VGPU_REGION_TYPE_GFX);
	ck_assert_uint_eq(subtype, VGPU_REGION_SUBTYPE_GFX_PLANE);
	ck_assert_int_eq(
		vgpu_handle_region_write(h, VGPU_SIM_REGION_PLANE, 0, &v, 4),
		-EACCES);
	/* no mode set: a plane that shows nothing */
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY, &pi),
			 0);
	ck_assert_uint_eq(pi.kind, VGPU_PLANE_REGION);
	ck_assert_uint_eq(pi.drm_format, 0);
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_CURSOR, &pi),
			 -ENOTSUP);
	hreg_write(h, VGPU_SIM_REG_FORMAT, VGPU_SIM_XR24);
	hreg_write(h, VGPU_SIM_REG_WIDTH, 640);
	hreg_write(h, VGPU_SIM_REG_HEIGHT, 480);
	hreg_write(h, VGPU_SIM_REG_STRIDE, 2560);
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY, &pi),
			 0);
	ck_assert_uint_eq(pi.drm_format, VGPU_SIM_XR24);
	ck_assert_uint_eq(pi.width, 640);
	ck_assert_uint_eq(pi.height, 480);
	ck_assert_uint_eq(pi.stride, 2560);
	ck_assert_uint_eq(pi.region_index, VGPU_SIM_BAR_FB);
	ck_assert_uint_eq(pi.plane_size, 2560 * 480);
	/* a mode bigger than the 16 MiB framebuffer: display off */
	hreg_write(h, VGPU_SIM_REG_HEIGHT, 8000);
	ck_assert_int_eq(vgpu_handle_query_plane(h, VGPU_PLANE_PRIMARY, &pi),
			 0);
	ck_assert_uint_eq(pi.drm_format, 0);
	vgpu_handle_unref(h);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
}
END_TEST

#define RAW(lit) lit, sizeof(lit) - 1

/* send @req raw to the control socket; the reply, or "" */
static void ctl_raw(const void *req, size_t len, char *reply, size_t max)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t got = 0;
	ssize_t n;
	int fd;

	strcpy(sa.sun_path, ctl);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	if (len)
		ck_assert_int_eq(send(fd, req, len, MSG_NOSIGNAL),
				 (ssize_t)len);
	while (got + 1 < max && (n = read(fd, reply + got, max - 1 - got)) > 0)
		got += (size_t)n;
	reply[got] = '\0';
	close(fd);
}

/*
 * Removal of a device in use: refused; forced, the client is asked to let
 * go through its REQ interrupt (EINPROGRESS) or, with no REQ eventfd,
 * refused; once the client has gone, removed.
 */
START_TEST(test_remove_in_use)
{
	struct vgpu_config *cfg;
	struct vfu_client *c;
	struct pollfd pfd;
	char rep[64], path[160];
	uint64_t cnt;
	int efd = eventfd(0, EFD_CLOEXEC);

	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "sim-16m"), 0);
	ck_assert_int_eq(
		vgpu_instance_create(ctx, "vgpu-sim0", UUID1, cfg, NULL), 0);
	vgpu_config_unref(cfg);
	snprintf(path, sizeof(path), "%s/vfio-user/" UUID1 ".sock", run);
	ck_assert_int_eq(vfu_client_connect(ctx, path, &c), 0);
	ctl_raw(RAW("remove " UUID1 "\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 16\n");
	/* no REQ eventfd: nobody to ask */
	ctl_raw(RAW("remove-force " UUID1 "\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 16\n");
	ck_assert_int_eq(
		vfu_client_set_irq_eventfds(c, VGPU_IRQ_REQ, 0, 1, &efd), 0);
	ctl_raw(RAW("remove-force " UUID1 "\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 115\n");
	pfd = (struct pollfd){ .fd = efd, .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 10000), 1);
	ck_assert_int_eq(read(efd, &cnt, 8), 8);
	ck_assert_uint_eq(reg_read(c, VGPU_SIM_REG_ID), VGPU_SIM_ID);
	/* the client lets go: now it goes */
	vfu_client_close(c);
	ctl_raw(RAW("remove-force " UUID1 "\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "ok 0\n");
	ck_assert_int_eq(available("sim-16m"), 32);
	close(efd);
}
END_TEST

START_TEST(test_control_hostile)
{
	char big[4096], rep[512];

	ctl_raw(RAW("types\n"), rep, sizeof(rep));
	ck_assert(!strncmp(rep, "ok 3\n", 5));
	ctl_raw(RAW("typesx\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 22\n");
	ctl_raw(RAW("types\nlist\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 22\n");
	ctl_raw(RAW("create  sim-16m " UUID1 "\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 22\n");
	ctl_raw(RAW("create sim-16m 5A0A7C52-8D0E-4B8E-9F1A-0C2D4E6F8A10\n"),
		rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 22\n");
	ctl_raw(RAW("create ../x " UUID1 "\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 22\n");
	ctl_raw(RAW("remove " UUID1 "\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 2\n");
	ctl_raw(RAW("list\0\n"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 22\n");
	memset(big, 'a', sizeof(big));
	ctl_raw(big, sizeof(big), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 22\n");
	/* a line that never ends: the provider gives up after a second */
	ctl_raw(RAW("list"), rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 110\n");
	/* nothing at all */
	ctl_raw(NULL, 0, rep, sizeof(rep));
	ck_assert_str_eq(rep, "err 110\n");
	/* and it still serves */
	ck_assert_int_eq(available("sim-64m"), 8);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("vgpu-sim");
	TCase *tc = tcase_create("vgpu-sim");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, test_management);
	tcase_add_test(tc, test_dma_blit);
	tcase_add_test(tc, test_display);
	tcase_add_test(tc, test_control_hostile);
	tcase_add_test(tc, test_remove_in_use);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
