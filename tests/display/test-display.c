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
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

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

		if (vw == w && vh == h && px && !memcmp(px, want, (size_t)w * h * 4))
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
	snprintf(cmd, sizeof(cmd),
		 "vncsnapshot -quiet -nocursor -nojpeg -encodings raw -quality 100 "
		 "127.0.0.1::%d %s > /dev/null 2>&1", port, path);
	ck_assert_int_eq(system(cmd), 0);
	ck_assert_int_eq(jpeg_load(path, &pix, &pw, &ph), 0);
	ck_assert_uint_eq(pw, w);
	ck_assert_uint_eq(ph, h);
	picture_diff(pix, want, (size_t)w * h, &mean, &worst);
	/* JPEG is lossy even at quality 100 (chroma subsampling at the
	 * pattern's edges): the mean difference is what says "same picture" */
	ck_assert_msg(mean < 3.0, "vncsnapshot's picture differs: mean %.2f worst %u",
		      mean, worst);
	free(pix);
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
		fprintf(stderr, "vncsnapshot missing: checked with libvncclient only\n");
	viewer_close(vw);
	/* the instance goes away: vgpuctl vnc ends by itself, status 0 */
	ck_assert_int_eq(vgpu_instance_remove(hs.ctx, hs.uuid), 0);
	ck_assert_int_eq(vncd_wait_exit(&v, 30000), 0);
	vncd_stop(&v);
	free(truth);
}
END_TEST

/* bad command lines: clear errors, usage status 2, nothing served */
START_TEST(test_vnc_bad_args)
{
	static const char *const bad[] = {
		"--listen 127.0.0.1:99999", "--listen 1.2.3:5900", "--listen [::1",
		"--listen host.example:5900", "--listen ''", "--rate 0",
		"--rate 5000", "--rate x",
	};
	const char *prog = getenv("VGPUCTL");
	char cmd[512];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		int st;

		snprintf(cmd, sizeof(cmd), "%s --sysfs-root %s --runtime-dir %s vnc %s %s "
			 "> /dev/null 2>&1", prog, hs.tmp, hs.run, hs.uuid, bad[i]);
		st = system(cmd);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 2, "%s: status %d",
			      bad[i], st);
	}
	/* an instance that does not exist: not found, 3 */
	snprintf(cmd, sizeof(cmd), "%s --sysfs-root %s --runtime-dir %s vnc "
		 "11111111-2222-3333-4444-555555555555 --listen 127.0.0.1:0 "
		 "> /dev/null 2>&1", prog, hs.tmp, hs.run);
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
	tcase_add_test(tc, test_vnc_bad_args);
	suite_add_tcase(s, tc);
	return s;
}

int main(void)
{
	SRunner *sr = srunner_create(display_suite());
	int failed;

	if (!getenv("VGPU_SIM") || !getenv("VGPUCTL")) {
		fprintf(stderr, "VGPU_SIM and VGPUCTL must name the programs\n");
		return 77;
	}
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? EXIT_FAILURE : EXIT_SUCCESS;
}
