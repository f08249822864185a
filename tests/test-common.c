/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fake-mount.h"
#include "test-common.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

struct fixture fx;

static void log_capture(struct vgpu_ctx *ctx, int priority, const char *file,
			int line, const char *fn, const char *format,
			va_list args, void *userdata)
{
	struct fixture *f = userdata;
	int n;

	(void)ctx;
	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	if (f->log_len >= sizeof(f->log) - 1)
		return;
	n = vsnprintf(f->log + f->log_len, sizeof(f->log) - f->log_len, format,
		      args);
	if (n > 0)
		f->log_len += (size_t)n;
	if (f->log_len < sizeof(f->log) - 1)
		f->log[f->log_len++] = '\n';
	if (f->log_len >= sizeof(f->log))
		f->log_len = sizeof(f->log) - 1;
	f->log[f->log_len] = '\0';
}

void fixture_setup(void)
{
	const char *tmp = getenv("TMPDIR");

	memset(&fx, 0, sizeof(fx));
	snprintf(fx.dir, sizeof(fx.dir), "%s/vgpu-test.XXXXXX",
		 tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(fx.dir));
	snprintf(fx.backing, sizeof(fx.backing), "%s/host", fx.dir);
	snprintf(fx.sysroot, sizeof(fx.sysroot), "%s/host/sys", fx.dir);
	snprintf(fx.config, sizeof(fx.config), "%s/mdevctl.d", fx.dir);
	snprintf(fx.runtime, sizeof(fx.runtime), "%s/run", fx.dir);
	ck_assert_int_eq(mkdir(fx.backing, 0755), 0);
	ck_assert_int_eq(fake_tree_new(fx.backing, &fx.tree), 0);
	ck_assert_int_eq(vgpu_ctx_new(&fx.ctx), 0);
	vgpu_ctx_set_log_fn(fx.ctx, log_capture, &fx);
	vgpu_ctx_set_log_priority(fx.ctx, 7);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(fx.ctx, fx.sysroot), 0);
	ck_assert_int_eq(vgpu_ctx_set_config_dir(fx.ctx, fx.config), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(fx.ctx, fx.runtime), 0);
}

static const char *daemon_path(void)
{
	const char *p = getenv("VGPU_FAKESYSFS");

	return p && *p && access(p, X_OK) == 0 ? p : NULL;
}

bool fixture_can_go_live(void)
{
	return daemon_path() && access("/dev/fuse", R_OK | W_OK) == 0;
}

void fixture_go_live(void)
{
	char mnt[PATH_MAX];
	int r;

	if (!fixture_can_go_live())
		exit(EXIT_SKIP);
	snprintf(mnt, sizeof(mnt), "%s/live", fx.dir);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	r = fake_mount_start(fx.backing, mnt, daemon_path(), &fx.daemon);
	if (r == -EOPNOTSUPP)
		exit(EXIT_SKIP);
	ck_assert_int_eq(r, 0);
	fx.live = true;
	snprintf(fx.sysroot, sizeof(fx.sysroot), "%s/sys", mnt);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(fx.ctx, fx.sysroot), 0);
}

void fixture_teardown(void)
{
	char cmd[PATH_MAX + 16];

	vgpu_ctx_unref(fx.ctx);
	if (fx.live) {
		char mnt[PATH_MAX];

		snprintf(mnt, sizeof(mnt), "%s/live", fx.dir);
		fake_mount_stop(mnt, fx.daemon);
	}
	fake_tree_free(fx.tree);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx.dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fx.dir);
}

void fixture_standard_host(void)
{
	struct fake_tree *t = fx.tree;

	ck_assert_int_eq(fake_tree_add_pci_parent(t, "0000:00:02.0", 0x8086,
						  0x3e92, 0x1028, 0x0869,
						  0x030000, "i915", 0),
			 0);
	ck_assert_int_eq(fake_tree_add_type(
				 t, "0000:00:02.0", "i915-GVTg_V5_4",
				 "GVTg_V5_4",
				 "low_gm_size: 128MB\nhigh_gm_size: 512MB\n"
				 "fence: 4\nresolution: 1920x1200\nweight: 4\n",
				 "vfio-pci", 1),
			 0);
	ck_assert_int_eq(fake_tree_add_type(
				 t, "0000:00:02.0", "i915-GVTg_V5_8",
				 "GVTg_V5_8",
				 "low_gm_size: 64MB\nhigh_gm_size: 384MB\n"
				 "fence: 4\nresolution: 1024x768\nweight: 2\n",
				 "vfio-pci", 2),
			 0);
	ck_assert_int_eq(fake_tree_add_pci_parent(t, "0000:3b:00.0", 0x10de,
						  0x1e30, 0x10de, 0x12ba,
						  0x030000, "nvidia", 1),
			 0);
	ck_assert_int_eq(
		fake_tree_add_type(
			t, "0000:3b:00.0", "nvidia-256", "GRID RTX6000-1Q",
			"num_heads=4, frl_config=60, framebuffer=1024M, "
			"max_resolution=5120x2880, max_instance=24",
			"vfio-pci", 24),
		0);
	ck_assert_int_eq(fake_tree_add_instance_attr(
				 t, "0000:3b:00.0", "nvidia-256",
				 "nvidia/vgpu_params", "bad", EINVAL),
			 0);
	ck_assert_int_eq(fake_tree_add_pci_parent(t, "0000:00:05.0", 0x1b36,
						  0x0001, 0x1af4, 0x1100,
						  0x078000, "mtty", -1),
			 0);
	ck_assert_int_eq(fake_tree_add_type(t, "0000:00:05.0", "mtty-2",
					    "Dual port", NULL, "vfio-pci", 2),
			 0);
	ck_assert_int_eq(fake_tree_add_css_parent(t, "0.0.0023"), 0);
	ck_assert_int_eq(fake_tree_add_type(t, "0.0.0023", "vfio_ccw-io",
					    "I/O subchannel (Non-QDIO)", NULL,
					    "vfio-ccw", 1),
			 0);
	ck_assert_int_eq(fake_tree_add_ap_matrix(t), 0);
	ck_assert_int_eq(fake_tree_add_type(t, "matrix", "vfio_ap-passthrough",
					    "VFIO AP Passthrough Device", NULL,
					    "vfio-ap", 65535),
			 0);
}
