/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The display of a running instance over VNC: vgpu-sim in a child process,
 * a device client that draws through DMA blits, `vgpuctl vnc` in a child
 * process, and two VNC clients nobody here wrote: libvncclient (in this
 * process) and Debian's vncsnapshot. What they see must be what the
 * device's framebuffer holds.
 */
#include <check.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <libvgpu-provider.h>

#include "check-run.h"
#include "harness.h"

static struct harness hs;

static void setup(void)
{
	ck_assert_int_eq(harness_start(&hs, "sim-16m"), 0);
}

static void teardown(void)
{
	harness_stop(&hs);
}

/* pump the viewer until it shows @want (w x h); the deadline only ends a
 * test that would otherwise hang, it measures nothing */
static bool viewer_sees(struct viewer *v, const uint32_t *want, uint32_t w,
			uint32_t h)
{
	for (int i = 0; i < 600; i++) {
		uint32_t vw, vh;
		const uint32_t *px = viewer_pixels(v, &vw, &vh);

		if (vw == w && vh == h && px &&
		    !memcmp(px, want, (size_t)w * h * 4))
			return true;
		if (viewer_pump(v, 100) < 0)
			return false;
	}
	return false;
}

static bool have_vncsnapshot(void)
{
	return system("command -v vncsnapshot > /dev/null 2>&1") == 0;
}

/* vncsnapshot's picture (a JPEG at quality 100) against @want */
static void check_vncsnapshot(int port, const uint32_t *want, uint32_t w,
			      uint32_t h)
{
	char cmd[256], path[128];
	uint32_t *pix, pw, ph;
	unsigned int worst;
	double mean;

	snprintf(path, sizeof(path), "%s/snap.jpg", hs.tmp);
	snprintf(
		cmd, sizeof(cmd),
		"vncsnapshot -quiet -nocursor -nojpeg -encodings raw -quality 100 "
		"127.0.0.1::%d %s > /dev/null 2>&1",
		port, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(jpeg_load(path, &pix, &pw, &ph), 0);
	ck_assert_uint_eq(pw, w);
	ck_assert_uint_eq(ph, h);
	picture_diff(pix, want, (size_t)w * h, &mean, &worst);
	/* JPEG is lossy even at quality 100 (chroma subsampling at the
	 * pattern's edges): the mean difference is what says "same picture" */
	ck_assert_msg(mean < 3.0,
		      "vncsnapshot's picture differs: mean %.2f worst %u", mean,
		      worst);
	free(pix);
}

/* remove the instance once the provider has seen its client go (the
 * hang-up and our request travel on different sockets) */
static int remove_when_free(struct vgpu_ctx *ctx, const char *uuid)
{
	int r;

	for (int i = 0; i < 3000; i++) {
		r = vgpu_instance_remove(ctx, uuid);
		if (r != -EBUSY)
			return r;
		usleep(10000);
	}
	return r;
}

START_TEST(test_vnc_device_source)
{
	struct drawer d;
	struct vncd v;
	struct viewer *vw;
	uint32_t *truth;

	ck_assert_int_eq(drawer_open(&hs, &d), 0);
	ck_assert_int_eq(drawer_mode(&d, 640, 480), 0);
	pattern_fill(&d, 3);
	ck_assert_int_eq(drawer_blit(&d, 0, 480), 0);
	truth = malloc(640 * 480 * 4);
	memcpy(truth, d.fb, 640 * 480 * 4);
	ck_assert(!memcmp(truth, d.guest, 640 * 480 * 4));
	drawer_close(&d); /* the device is free again */

	ck_assert_int_eq(vncd_start(&hs, &v, "device"), 0);
	ck_assert_int_eq(viewer_open(&vw, v.port), 0);
	ck_assert_msg(viewer_sees(vw, truth, 640, 480),
		      "libvncclient never saw the device's picture");
	if (have_vncsnapshot())
		check_vncsnapshot(v.port, truth, 640, 480);
	else
		fprintf(stderr,
			"vncsnapshot missing: checked with libvncclient only\n");
	viewer_close(vw);
	/* with the device source vgpuctl vnc is itself the device's client:
	 * removing a device in use is refused until it lets go */
	ck_assert_int_eq(vgpu_instance_remove(hs.ctx, hs.uuid), -EBUSY);
	vncd_stop(&v);
	ck_assert_int_eq(remove_when_free(hs.ctx, hs.uuid), 0);
	free(truth);
}
END_TEST

/* a device client that keeps redrawing one picture, on a thread */
struct redraw {
	struct drawer *d;
	volatile bool stop;
	int err;
	unsigned int blits;
};

static void *redraw_loop(void *data)
{
	struct redraw *rd = data;

	while (!rd->stop) {
		int r = drawer_blit(rd->d, 0, rd->d->hgt);

		if (r < 0) {
			rd->err = r;
			break;
		}
		rd->blits++;
	}
	return NULL;
}

static uint32_t *copy_fb(struct drawer *d)
{
	size_t n = (size_t)d->w * d->hgt * 4;
	uint32_t *t = malloc(n);

	memcpy(t, d->fb, n);
	return t;
}

/* vgpuctl screenshot while the device is in use: through the provider */
static void check_screenshot(const uint32_t *want, uint32_t w, uint32_t h)
{
	const char *prog = getenv("VGPUCTL");
	char cmd[512], path[128];
	uint32_t *pix, pw, ph;

	snprintf(path, sizeof(path), "%s/shot.png", hs.tmp);
	snprintf(cmd, sizeof(cmd),
		 "%s --sysfs-root %s --runtime-dir %s screenshot %s %s "
		 "| grep -q 'through the provider'",
		 prog, hs.tmp, hs.run, hs.uuid, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(png_load(path, &pix, &pw, &ph), 0);
	ck_assert_uint_eq(pw, w);
	ck_assert_uint_eq(ph, h);
	ck_assert(!memcmp(pix, want, (size_t)w * h * 4));
	free(pix);
}

START_TEST(test_vnc_live_provider)
{
	struct redraw rd = { 0 };
	struct drawer d;
	struct vncd v;
	struct viewer *vw;
	pthread_t th;
	uint32_t *truth;

	ck_assert_int_eq(drawer_open(&hs, &d), 0);
	ck_assert_int_eq(drawer_mode(&d, 640, 480), 0);
	pattern_fill(&d, 1);
	ck_assert_int_eq(drawer_blit(&d, 0, 480), 0);
	/* the device stays open (a VMM's place): the provider serves */
	ck_assert_int_eq(vncd_start(&hs, &v, "provider"), 0);
	ck_assert_int_eq(viewer_open(&vw, v.port), 0);
	/* a run of different frames, the viewer reading along */
	for (unsigned int k = 2; k < 12; k++) {
		pattern_fill(&d, k);
		ck_assert_int_eq(drawer_blit(&d, 0, 480), 0);
		ck_assert_int_ge(viewer_pump(vw, 10), 0);
	}
	truth = copy_fb(&d);
	ck_assert(!memcmp(truth, d.guest, 640 * 480 * 4));
	/* the client keeps drawing (the same picture) while VNC clients
	 * nobody here wrote look */
	rd.d = &d;
	pthread_create(&th, NULL, redraw_loop, &rd);
	ck_assert_msg(viewer_sees(vw, truth, 640, 480),
		      "libvncclient never saw the device's picture");
	if (have_vncsnapshot())
		check_vncsnapshot(v.port, truth, 640, 480);
	check_screenshot(truth, 640, 480);
	rd.stop = true;
	pthread_join(th, NULL);
	ck_assert_int_eq(rd.err, 0);
	ck_assert_uint_gt(rd.blits, 0);
	free(truth);

	/* a mode change: the viewer follows to the new size */
	ck_assert_int_eq(drawer_mode(&d, 800, 600), 0);
	pattern_fill(&d, 20);
	ck_assert_int_eq(drawer_blit(&d, 0, 600), 0);
	truth = copy_fb(&d);
	ck_assert_msg(viewer_sees(vw, truth, 800, 600),
		      "libvncclient did not follow the mode change");
	/* a small change: one square */
	for (uint32_t y = 100; y < 140; y++)
		for (uint32_t x = 300; x < 340; x++)
			d.guest[y * 800 + x] = 0x123456;
	ck_assert_int_eq(drawer_blit(&d, 100, 40), 0);
	free(truth);
	truth = copy_fb(&d);
	ck_assert_msg(viewer_sees(vw, truth, 800, 600),
		      "the small change never arrived");
	free(truth);
	viewer_close(vw);

	/* removing the device is refused while the VMM's client is there
	 * (the provider's display source does not count as a user); once it
	 * has left, the instance goes away and vgpuctl vnc ends by itself,
	 * status 0 */
	ck_assert_int_eq(vgpu_instance_remove(hs.ctx, hs.uuid), -EBUSY);
	drawer_close(&d);
	ck_assert_int_eq(remove_when_free(hs.ctx, hs.uuid), 0);
	ck_assert_int_eq(vncd_wait_exit(&v, 30000), 0);
	vncd_stop(&v);
}
END_TEST

/* the display source through the library, beside the device's client */
START_TEST(test_display_api)
{
	struct vgpu_display_frame f = { .size = sizeof(f) };
	struct vgpu_display *disp;
	struct drawer d;
	uint64_t seq;

	ck_assert_int_eq(vgpu_display_open(hs.ctx, hs.uuid, &disp), 0);
	ck_assert_int_ge(vgpu_display_get_fd(disp), 0);
	ck_assert_int_eq(vgpu_display_get_frame(disp, &f), 0);
	ck_assert_uint_eq(f.drm_format, 0); /* no mode yet */
	ck_assert_ptr_null(f.pixels);
	ck_assert_int_eq(drawer_open(&hs, &d), 0);
	ck_assert_int_eq(drawer_mode(&d, 320, 200), 0);
	pattern_fill(&d, 5);
	ck_assert_int_eq(drawer_blit(&d, 0, 200), 0);
	/* the announcements arrive in order on the socket: read until the
	 * blit's (the deadline only ends a hang) */
	for (int i = 0; i < 3000; i++) {
		ck_assert_int_eq(vgpu_display_get_frame(disp, &f), 0);
		if (f.drm_format && f.pixels &&
		    !memcmp(f.pixels, d.guest, 320 * 200 * 4))
			break;
		usleep(10000);
	}
	ck_assert_uint_eq(f.drm_format, 0x34325258);
	ck_assert_uint_eq(f.width, 320);
	ck_assert_uint_eq(f.height, 200);
	ck_assert_uint_eq(f.stride, 1280);
	ck_assert(!memcmp(f.pixels, d.guest, 320 * 200 * 4));
	seq = f.seq;
	ck_assert_int_eq(drawer_blit(&d, 0, 200), 0);
	for (int i = 0; i < 3000 && f.seq == seq; i++) {
		ck_assert_int_eq(vgpu_display_get_frame(disp, &f), 0);
		usleep(10000);
	}
	ck_assert_uint_gt(f.seq, seq);
	/* read-only: the memory cannot be written through the mapping */
	ck_assert_int_ne(
		mprotect((void *)((uintptr_t)f.pixels & ~(uintptr_t)4095), 4096,
			 PROT_READ | PROT_WRITE),
		0);
	/* a too small size is misuse */
	f.size = 4;
	ck_assert_int_eq(vgpu_display_get_frame(disp, &f), -EINVAL);
	drawer_close(&d);
	ck_assert_int_eq(remove_when_free(hs.ctx, hs.uuid), 0);
	f.size = sizeof(f);
	for (int i = 0; i < 3000; i++) {
		int r = vgpu_display_get_frame(disp, &f);

		if (r == -ENODEV)
			break;
		ck_assert_int_eq(r, 0);
		usleep(10000);
	}
	ck_assert_int_eq(vgpu_display_get_frame(disp, &f), -ENODEV);
	vgpu_display_unref(disp);
	/* and nothing to open now */
	ck_assert_int_eq(vgpu_display_open(hs.ctx, hs.uuid, &disp), -ENODEV);
	ck_assert_int_eq(vgpu_display_open(hs.ctx, "not-a-uuid", &disp),
			 -EINVAL);
}
END_TEST

/* a management client of another user is refused by the provider (the
 * control socket's rule): even with the socket opened up to everyone, the
 * provider closes the connection and passes no memory */
START_TEST(test_display_other_user)
{
	char path[200];
	pid_t pid;
	int st;

	if (geteuid() != 0)
		return; /* needs root to become someone else */
	snprintf(path, sizeof(path), "%s/vfio-user/vgpu-sim0.ctl", hs.run);
	ck_assert_int_eq(chmod(hs.tmp, 0755), 0);
	ck_assert_int_eq(chmod(hs.run, 0755), 0);
	ck_assert_int_eq(chmod(path, 0666), 0);
	{
		char dir[160];

		snprintf(dir, sizeof(dir), "%s/vfio-user", hs.run);
		ck_assert_int_eq(chmod(dir, 0755), 0);
	}
	pid = fork();
	if (pid == 0) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		char req[64], buf[64], cbuf[CMSG_SPACE(sizeof(int))];
		struct iovec io = { buf, sizeof(buf) };
		struct msghdr mh = { .msg_iov = &io,
				     .msg_iovlen = 1,
				     .msg_control = cbuf,
				     .msg_controllen = sizeof(cbuf) };
		int fd;

		if (setgid(65534) < 0 || setuid(65534) < 0)
			_exit(99);
		fd = socket(AF_UNIX, SOCK_STREAM, 0);
		strcpy(sa.sun_path, path);
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
			_exit(2);
		snprintf(req, sizeof(req), "display %s\n", hs.uuid);
		if (send(fd, req, strlen(req), MSG_NOSIGNAL) < 0)
			_exit(0); /* already closed on us */
		/* refused: closed (EOF, or a reset as our request was left
		 * unread), no reply, no descriptor */
		{
			ssize_t n = recvmsg(fd, &mh, 0);

			_exit(n < 0 || (n == 0 && mh.msg_controllen == 0) ? 0
									  : 3);
		}
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert_int_eq(WEXITSTATUS(st), 0);
}
END_TEST

/* QoS and usage through the provider's callbacks (control socket) */
START_TEST(test_qos_usage)
{
	char req[160], rep[256];
	unsigned long long v[7];
	struct drawer d;

	snprintf(req, sizeof(req), "qos-set %s weight 3\n", hs.uuid);
	ck_assert_int_eq(harness_ctl(&hs, req, rep, sizeof(rep)), 0);
	ck_assert_str_eq(rep, "ok 0\n");
	snprintf(req, sizeof(req), "qos-get %s weight\n", hs.uuid);
	ck_assert_int_eq(harness_ctl(&hs, req, rep, sizeof(rep)), 0);
	ck_assert_str_eq(rep, "ok 1\n3\n");
	/* the engine has three priorities: 9 is out of range */
	snprintf(req, sizeof(req), "qos-set %s priority 9\n", hs.uuid);
	ck_assert_int_eq(harness_ctl(&hs, req, rep, sizeof(rep)), 0);
	ck_assert_str_eq(rep, "err 34\n");
	snprintf(req, sizeof(req), "qos-set %s weight 0\n", hs.uuid);
	ck_assert_int_eq(harness_ctl(&hs, req, rep, sizeof(rep)), 0);
	ck_assert_str_eq(rep, "err 34\n");
	snprintf(req, sizeof(req), "qos-get %s loudness\n", hs.uuid);
	ck_assert_int_eq(harness_ctl(&hs, req, rep, sizeof(rep)), 0);
	ck_assert_str_eq(rep, "err 22\n");
	ck_assert_int_eq(
		harness_ctl(
			&hs,
			"qos-get 11111111-2222-3333-4444-555555555555 weight\n",
			rep, sizeof(rep)),
		0);
	ck_assert_str_eq(rep, "err 2\n");

	/* three blits, two of them on the screen */
	ck_assert_int_eq(drawer_open(&hs, &d), 0);
	ck_assert_int_eq(drawer_mode(&d, 64, 64), 0);
	pattern_fill(&d, 1);
	ck_assert_int_eq(drawer_blit(&d, 0, 64), 0);
	ck_assert_int_eq(drawer_blit(&d, 0, 64), 0);
	d.hgt = 200; /* below the 64 visible lines too */
	ck_assert_int_eq(drawer_blit(&d, 100, 50), 0);
	snprintf(req, sizeof(req), "usage %s\n", hs.uuid);
	ck_assert_int_eq(harness_ctl(&hs, req, rep, sizeof(rep)), 0);
	ck_assert_int_eq(
		sscanf(rep, "ok 1\n%llu\t%llu\t%llu\t%llu\t%llu\t%llu\t%llu",
		       &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6]),
		7);
	ck_assert_uint_eq(v[0], 0x3f); /* all reported */
	ck_assert_uint_gt(v[1], 0);    /* engine time */
	ck_assert_uint_eq(v[2], 3);    /* blits */
	ck_assert_uint_eq(v[3], 2 * 64 * 64 * 4 + 50 * 64 * 4); /* DMA bytes */
	ck_assert_uint_eq(v[4], 3);				/* interrupts */
	ck_assert_uint_eq(v[5], 16u << 20); /* framebuffer */
	ck_assert_uint_eq(v[6], 2);	    /* frames */
	drawer_close(&d);
}
END_TEST

/* attributes at creation reach the provider's vendor */
START_TEST(test_create_attrs)
{
	struct vgpu_display_frame f = { .size = sizeof(f) };
	struct vgpu_config *cfg;
	struct vgpu_instance *in;
	struct vgpu_display *disp;
	const char *u2 = "aaaaaaaa-2222-3333-4444-555555555555";

	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "sim-16m"), 0);
	ck_assert_int_eq(
		vgpu_config_add_attr(cfg, "resolution", "1024x768", -1), 0);
	ck_assert_int_eq(
		vgpu_instance_create(hs.ctx, "vgpu-sim0", u2, cfg, &in), 0);
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_display_open(hs.ctx, u2, &disp), 0);
	ck_assert_int_eq(vgpu_display_get_frame(disp, &f), 0);
	ck_assert_uint_eq(f.width, 1024);
	ck_assert_uint_eq(f.height, 768);
	vgpu_display_unref(disp);
	ck_assert_int_eq(vgpu_instance_remove(hs.ctx, u2), 0);
	vgpu_config_unref(cfg);

	/* one the vendor does not know, a malformed value, one too big:
	 * refused, and nothing is left behind */
	{
		static const char *const bad[][2] = {
			{ "colour", "blue" },
			{ "resolution", "wide" },
			{ "resolution", "8192x8192" },
			{ "resolution", "0x10" },
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ck_assert_int_eq(vgpu_config_new(&cfg), 0);
			ck_assert_int_eq(vgpu_config_set_type(cfg, "sim-16m"),
					 0);
			ck_assert_int_eq(vgpu_config_add_attr(cfg, bad[i][0],
							      bad[i][1], -1),
					 0);
			ck_assert_int_eq(vgpu_instance_create(hs.ctx,
							      "vgpu-sim0", u2,
							      cfg, &in),
					 -EINVAL);
			ck_assert_int_eq(
				vgpu_instance_get(hs.ctx, u2, NULL, &in),
				-ENOENT);
			vgpu_config_unref(cfg);
		}
	}
}
END_TEST

/* QoS and usage through the library (vgpu_instance_set_qos(),
 * vgpu_instance_get_usage()), answered by vgpu-sim's callbacks */
START_TEST(test_qos_api)
{
	struct vgpu_instance *in;
	struct vgpu_usage *u;
	struct drawer d;
	uint64_t v = 0;

	ck_assert_int_eq(vgpu_instance_get(hs.ctx, hs.uuid, NULL, &in), 0);
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_WEIGHT, 5, VGPU_QOS_LIVE),
		0);
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_WEIGHT,
					       VGPU_QOS_LIVE, &v, NULL),
			 0);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT,
					       1000, VGPU_QOS_LIVE),
			 0);
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_PRIORITY,
					       VGPU_QOS_PRIORITY_HIGH,
					       VGPU_QOS_LIVE),
			 0);
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_PRIORITY,
					       VGPU_QOS_LIVE, &v, NULL),
			 0);
	ck_assert_uint_eq(v, VGPU_QOS_PRIORITY_HIGH);
	ck_assert_int_eq(drawer_open(&hs, &d), 0);
	ck_assert_int_eq(drawer_mode(&d, 64, 64), 0);
	ck_assert_int_eq(drawer_blit(&d, 0, 64), 0);
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_WORK_ITEMS, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_DMA_BYTES, &v), 0);
	ck_assert_uint_eq(v, 64 * 64 * 4);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FRAMES, &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FB_BYTES, &v), 0);
	ck_assert_uint_eq(v, 16u << 20);
	vgpu_usage_unref(u);
	drawer_close(&d);
	vgpu_instance_unref(in);
}
END_TEST

/* a provider written against 0.1: a create callback only, no display, no
 * QoS, no usage; in this process, on its runner thread */
static int plain_create(struct vgpu_device *dev, const char *type_id,
			void *userdata)
{
	(void)type_id;
	(void)userdata;
	return vgpu_device_setup_region(dev, 0, 4096,
					VGPU_REGION_F_READ | VGPU_REGION_F_MEM,
					NULL, NULL);
}

START_TEST(test_plain_provider)
{
	struct vgpu_provider_ops ops = {
		.size = offsetof(struct vgpu_provider_ops, qos_set),
		.create = plain_create
	};
	struct vgpu_provider *p;
	struct vgpu_config *cfg;
	struct vgpu_instance *in;
	struct vgpu_display *disp;
	const char *u = "bbbbbbbb-2222-3333-4444-555555555555";
	char req[160], rep[64];

	ck_assert_int_eq(vgpu_provider_new(hs.ctx, "plain0", &ops, NULL, &p),
			 0);
	ck_assert_int_eq(vgpu_provider_add_type(p, "t", "plain", "", 4), 0);
	ck_assert_int_eq(vgpu_provider_listen_control(p, NULL), 0);
	ck_assert_int_eq(vgpu_provider_start_thread(p), 0);

	/* attributes it cannot take: refused, nothing left behind */
	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "t"), 0);
	ck_assert_int_eq(vgpu_config_add_attr(cfg, "k", "v", -1), 0);
	ck_assert_int_eq(vgpu_instance_create(hs.ctx, "plain0", u, cfg, &in),
			 -EOPNOTSUPP);
	ck_assert_int_eq(vgpu_instance_get(hs.ctx, u, NULL, &in), -ENOENT);
	vgpu_config_unref(cfg);
	/* without attributes it works, with no display source */
	ck_assert_int_eq(vgpu_config_new(&cfg), 0);
	ck_assert_int_eq(vgpu_config_set_type(cfg, "t"), 0);
	ck_assert_int_eq(vgpu_instance_create(hs.ctx, "plain0", u, cfg, &in),
			 0);
	vgpu_instance_unref(in);
	vgpu_config_unref(cfg);
	ck_assert_int_eq(vgpu_display_open(hs.ctx, u, &disp), -EOPNOTSUPP);
	/* QoS refused, usage "not reported", through the library */
	{
		struct vgpu_usage *us;
		uint64_t v;

		ck_assert_int_eq(vgpu_instance_get(hs.ctx, u, NULL, &in), 0);
		ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_WEIGHT, 2,
						       VGPU_QOS_LIVE),
				 -EOPNOTSUPP);
		ck_assert_int_eq(vgpu_instance_get_usage(in, &us), 0);
		ck_assert_int_eq(
			vgpu_usage_get(us, VGPU_USAGE_ENGINE_BUSY_NS, &v),
			-ENODATA);
		vgpu_usage_unref(us);
		vgpu_instance_unref(in);
	}
	/* no QoS, no usage: the control socket says so */
	snprintf(req, sizeof(req), "usage %s\n", u);
	{
		struct sockaddr_un sa = { .sun_family = AF_UNIX };
		int fd = socket(AF_UNIX, SOCK_STREAM, 0);
		ssize_t n;

		snprintf(sa.sun_path, sizeof(sa.sun_path),
			 "%.80s/vfio-user/plain0.ctl", hs.run);
		ck_assert_int_eq(
			connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
		ck_assert_int_eq(send(fd, req, strlen(req), 0),
				 (ssize_t)strlen(req));
		n = recv(fd, rep, sizeof(rep) - 1, MSG_WAITALL);
		ck_assert_int_gt(n, 0);
		rep[n] = '\0';
		ck_assert_str_eq(rep, "err 95\n");
		close(fd);
	}
	ck_assert_int_eq(vgpu_instance_remove(hs.ctx, u), 0);
	vgpu_provider_unref(p);
}
END_TEST

/* bad command lines: clear errors, usage status 2, nothing served */
START_TEST(test_vnc_bad_args)
{
	static const char *const bad[] = {
		"--listen 127.0.0.1:99999",
		"--listen 1.2.3:5900",
		"--listen [::1",
		"--listen host.example:5900",
		"--listen ''",
		"--rate 0",
		"--rate 5000",
		"--rate x",
		"--source x",
		"--source ''",
		"--max-fps 0",
		"--max-fps 1001",
	};
	const char *prog = getenv("VGPUCTL");
	char cmd[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st;

		snprintf(cmd, sizeof(cmd),
			 "%s --sysfs-root %s --runtime-dir %s vnc %s %s "
			 "> /dev/null 2>&1",
			 prog, hs.tmp, hs.run, hs.uuid, bad[i]);
		st = system(cmd);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2,
			      "%s: status %d", bad[i], st);
	}
	/* an instance that does not exist: not found, 3 */
	snprintf(cmd, sizeof(cmd),
		 "%s --sysfs-root %s --runtime-dir %s vnc "
		 "11111111-2222-3333-4444-555555555555 --listen 127.0.0.1:0 "
		 "> /dev/null 2>&1",
		 prog, hs.tmp, hs.run);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 3);
}
END_TEST

static Suite *display_suite(void)
{
	Suite *s = suite_create("display");
	TCase *tc = tcase_create("vnc");

	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_vnc_device_source);
	tcase_add_test(tc, test_vnc_live_provider);
	tcase_add_test(tc, test_display_api);
	tcase_add_test(tc, test_display_other_user);
	tcase_add_test(tc, test_qos_usage);
	tcase_add_test(tc, test_create_attrs);
	tcase_add_test(tc, test_plain_provider);
	tcase_add_test(tc, test_qos_api);
	tcase_add_test(tc, test_vnc_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	if (!getenv("VGPU_SIM") || !getenv("VGPUCTL")) {
		fprintf(stderr,
			"VGPU_SIM and VGPUCTL must name the programs\n");
		return 77;
	}
	return run_suite(display_suite());
}
