// SPDX-License-Identifier: LGPL-2.1-or-later
/*
 * Self-test of the fake sysfs: fake-tree layout and the vgpu-fakesysfs
 * daemon's kernel behaviour, exercised through a real FUSE mount.
 *
 *   test-fakesysfs PATH/TO/vgpu-fakesysfs
 *
 * Exits 77 (skip) without a daemon path or when FUSE cannot be mounted.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sched.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "check-run.h"
#include "fake-mount.h"
#include "fake-tree.h"

#define GPU	 "0000:00:02.0"
#define GVT_TYPE "i915-GVTg_V5_4"
#define NV_GPU	 "0000:3b:00.0"
#define NV_TYPE	 "nvidia-256"
#define PF	 "0000:05:00.0"
#define UUID1	 "8a1b3a4e-0f4c-4d2c-9b1e-6f3d2a1b0c01"
#define UUID2	 "8a1b3a4e-0f4c-4d2c-9b1e-6f3d2a1b0c02"
#define UUID3	 "8a1b3a4e-0f4c-4d2c-9b1e-6f3d2a1b0c03"

#define GVT_DIR	     "sys/devices/pci0000:00/" GPU
#define GVT_TYPE_DIR GVT_DIR "/mdev_supported_types/" GVT_TYPE
#define PF_DIR	     "sys/devices/pci0000:05/" PF

/* test-program state (not library code) */
static const char *daemon_path;
static char base[PATH_MAX - 64], backing[PATH_MAX], mnt[PATH_MAX];
static struct fake_tree *tree; /* the backing directory */
static struct fake_tree *view; /* the same tree seen through the mount */
static pid_t daemon_pid;

/* ---- fixture ---------------------------------------------------------------- */

static void build_tree(void)
{
	struct fake_pci_info pf = {
		.vendor = 0x8086,
		.device = 0x56c0,
		.subsystem_vendor = 0x8086,
		.subsystem_device = 0x4905,
		.class = 0x030000,
		.driver = "xe",
		.numa_node = 1,
	};

	ck_assert_int_eq(fake_tree_add_pci_parent(tree, GPU, 0x8086, 0x3e92,
						  0x8086, 0x2212, 0x030000,
						  "i915", 0),
			 0);
	ck_assert_int_eq(fake_tree_add_type(tree, GPU, GVT_TYPE, "GVTg_V5_4",
					    "low_gm_size: 128MB\n", "vfio-pci",
					    2),
			 0);
	ck_assert_int_eq(fake_tree_add_type(tree, GPU, "i915-GVTg_V5_8", NULL,
					    NULL, "vfio-pci", 4),
			 0);
	ck_assert_int_eq(fake_tree_add_pci_parent(tree, NV_GPU, 0x10de, 0x1e30,
						  0x10de, 0x12ba, 0x030000,
						  "nvidia", 0),
			 0);
	ck_assert_int_eq(fake_tree_add_type(tree, NV_GPU, NV_TYPE,
					    "GRID RTX6000-1Q",
					    "num_heads=4, max_instance=24\n",
					    "vfio-pci", 24),
			 0);
	ck_assert_int_eq(fake_tree_add_instance_attr(
				 tree, NV_GPU, NV_TYPE, "nvidia/vgpu_params",
				 "frame_rate_limiter=9", EINVAL),
			 0);
	ck_assert_int_eq(fake_tree_add_instance_attr(tree, NV_GPU, NV_TYPE,
						     "vendor_knob", NULL, 0),
			 0);
	ck_assert_int_eq(fake_tree_add_sriov_pf(tree, PF, &pf, 4, 8, 2, 0x56c1),
			 0);
	ck_assert_int_eq(fake_tree_add_driver(tree, "pci", "vfio-pci"), 0);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	int r;

	snprintf(base, sizeof(base), "%s/fakesysfs-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(backing, sizeof(backing), "%s/backing", base);
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	r = fake_tree_new(backing, &tree);
	ck_assert_int_eq(r, 0);
	ck_assert_int_eq(fake_tree_open(mnt, &view), 0);
	build_tree();
	daemon_pid = 0;
}

static void mount_up(const char *const *extra)
{
	int r = fake_mount_start_args(backing, mnt, daemon_path, extra,
				      &daemon_pid);

	ck_assert_msg(r == 0, "fake_mount_start: %s", strerror(-r));
}

static void teardown(void)
{
	int r = 0;

	if (daemon_pid > 0)
		r = fake_mount_stop(mnt, daemon_pid);
	daemon_pid = 0;
	fake_tree_free(view);
	view = NULL;
	if (tree)
		fake_tree_remove(tree, "");
	fake_tree_free(tree);
	tree = NULL;
	rmdir(mnt);
	rmdir(base);
	/* the daemon must exit cleanly (valgrind/ASan wrappers included) */
	ck_assert_msg(r == 0, "daemon did not exit cleanly: %s", strerror(-r));
}

/* ---- helpers ----------------------------------------------------------------- */

static void mpath(const char *rel, char *buf, size_t len)
{
	int n = snprintf(buf, len, "%s/%s", mnt, rel);

	ck_assert(n > 0 && (size_t)n < len);
}

/* One write(2) of LEN bytes at OFF; 0 or -errno.  Short writes fail. */
static int wr_raw(const char *rel, const void *buf, size_t len, off_t off)
{
	char p[PATH_MAX];
	ssize_t n;
	int fd, r = 0;

	mpath(rel, p, sizeof(p));
	fd = open(p, O_WRONLY | O_TRUNC);
	if (fd < 0)
		return -errno;
	n = pwrite(fd, buf, len, off);
	if (n < 0)
		r = -errno;
	else if ((size_t)n != len)
		r = -EMSGSIZE;
	close(fd);
	return r;
}

static int wr(const char *rel, const char *s)
{
	return wr_raw(rel, s, strlen(s), 0);
}

/* Read through the mount; the caller frees. */
static char *rd(const char *rel)
{
	char *s = NULL;
	int r = fake_tree_read(view, rel, &s);

	ck_assert_msg(r == 0, "read %s: %s", rel, strerror(-r));
	return s;
}

static void ck_content(const char *rel, const char *want)
{
	char *s = rd(rel);

	ck_assert_msg(!strcmp(s, want), "%s: got \"%s\", want \"%s\"", rel, s,
		      want);
	free(s);
}

static void ck_link(const char *rel, const char *want)
{
	char p[PATH_MAX], buf[PATH_MAX];
	ssize_t n;

	mpath(rel, p, sizeof(p));
	n = readlink(p, buf, sizeof(buf) - 1);
	ck_assert_msg(n > 0, "readlink %s: %s", rel, strerror(errno));
	buf[n] = '\0';
	ck_assert_msg(!strcmp(buf, want), "%s -> \"%s\", want \"%s\"", rel, buf,
		      want);
}

static bool mexists(const char *rel)
{
	return fake_tree_exists(view, rel);
}

/* stat() through the link: the target must exist (no dangling links). */
static void ck_resolves(const char *rel)
{
	char p[PATH_MAX];
	struct stat st;

	mpath(rel, p, sizeof(p));
	ck_assert_msg(stat(p, &st) == 0, "%s does not resolve: %s", rel,
		      strerror(errno));
}

#define GVT_CREATE \
	"sys/class/mdev_bus/" GPU "/mdev_supported_types/" GVT_TYPE "/create"
#define GVT_AVAIL GVT_TYPE_DIR "/available_instances"

/* ---- pure helpers ---------------------------------------------------------- */

START_TEST(test_helpers)
{
	char buf[PATH_MAX];
	unsigned long v;

	ck_assert_int_eq(fake_relpath("sys/devices/pci0000:00/" GPU,
				      "sys/bus/pci/drivers/i915", buf,
				      sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "../../../bus/pci/drivers/i915");
	ck_assert_int_eq(fake_relpath("sys/class/mdev_bus",
				      "sys/devices/pci0000:00/" GPU, buf,
				      sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "../../devices/pci0000:00/" GPU);
	ck_assert_int_eq(fake_relpath("a/b", "a/b/c", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "c");
	ck_assert_int_eq(fake_relpath("a/b", "a/b", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, ".");
	ck_assert_int_eq(fake_relpath("a/b/c", "a", buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "../..");
	ck_assert_int_eq(fake_relpath("a/b/c", "a/x", buf, 4), -ENAMETOOLONG);

	ck_assert_int_eq(fake_path_normalize("/a/./b//../c/", buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "a/c");
	ck_assert_int_eq(fake_path_normalize("a/../..", buf, sizeof(buf)),
			 -EINVAL);

	ck_assert_int_eq(fake_parse_ul("1\n", &v), 0);
	ck_assert_uint_eq(v, 1);
	ck_assert_int_eq(fake_parse_ul("+0x10", &v), 0);
	ck_assert_uint_eq(v, 16);
	ck_assert_int_eq(fake_parse_ul("010", &v), 0);
	ck_assert_uint_eq(v, 8);
	ck_assert_int_eq(fake_parse_ul("0", &v), 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_int_eq(fake_parse_ul("", &v), -EINVAL);
	ck_assert_int_eq(fake_parse_ul("-1", &v), -EINVAL);
	ck_assert_int_eq(fake_parse_ul("1\n\n", &v), -EINVAL);
	ck_assert_int_eq(fake_parse_ul("1 ", &v), -EINVAL);
	ck_assert_int_eq(fake_parse_ul("09", &v), -EINVAL);
	ck_assert_int_eq(fake_parse_ul("99999999999999999999999", &v), -ERANGE);

	ck_assert_int_eq(fake_vf_bdf(PF, 8, 2, 0, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0000:05:01.0");
	ck_assert_int_eq(fake_vf_bdf(PF, 8, 2, 3, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, "0000:05:01.6");
	ck_assert_int_eq(fake_vf_bdf("0000:05:1f.7", 1, 1, 0, buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "0000:06:00.0");
	ck_assert_int_eq(fake_vf_bdf("0000:ff:1f.7", 1, 1, 0, buf, sizeof(buf)),
			 -ERANGE);
	ck_assert_int_eq(fake_vf_bdf("junk", 1, 1, 0, buf, sizeof(buf)),
			 -EINVAL);

	ck_assert_int_eq(fake_errno_parse("EBUSY"), EBUSY);
	ck_assert_int_eq(fake_errno_parse("5"), 5);
	ck_assert_int_eq(fake_errno_parse("EWHAT"), -EINVAL);
}
END_TEST

/* ---- static tree layout ----------------------------------------------------- */

START_TEST(test_static_layout)
{
	const char *inst = GVT_DIR "/" UUID1;
	char buf[PATH_MAX];

	ck_assert_int_eq(fake_tree_add_instance(tree, GPU, GVT_TYPE, UUID1), 0);
	ck_assert_int_eq(fake_tree_add_instance(tree, GPU, GVT_TYPE, UUID1),
			 -EEXIST);
	ck_assert_int_eq(fake_tree_add_instance(tree, GPU, "nope", UUID2),
			 -ENODEV);
	ck_assert_int_eq(
		fake_tree_add_instance(tree, "0000:99:00.0", GVT_TYPE, UUID2),
		-ENODEV);
	ck_assert_int_eq(fake_tree_parent_path(tree, GPU, buf, sizeof(buf)), 0);
	ck_assert_str_eq(buf, GVT_DIR);
	mount_up(NULL);

	ck_content(GVT_DIR "/vendor", "0x8086\n");
	ck_content(GVT_DIR "/device", "0x3e92\n");
	ck_content(GVT_DIR "/subsystem_vendor", "0x8086\n");
	ck_content(GVT_DIR "/subsystem_device", "0x2212\n");
	ck_content(GVT_DIR "/class", "0x030000\n");
	ck_content(GVT_DIR "/numa_node", "0\n");
	ck_link(GVT_DIR "/driver", "../../../bus/pci/drivers/i915");
	ck_link(GVT_DIR "/subsystem", "../../../bus/pci");
	ck_link("sys/bus/pci/devices/" GPU, "../../../devices/pci0000:00/" GPU);
	ck_link("sys/class/mdev_bus/" GPU, "../../devices/pci0000:00/" GPU);
	ck_resolves("sys/bus/pci/drivers/i915/" GPU);

	ck_content(GVT_TYPE_DIR "/name", "GVTg_V5_4\n");
	ck_content(GVT_TYPE_DIR "/description", "low_gm_size: 128MB\n");
	ck_content(GVT_TYPE_DIR "/device_api", "vfio-pci\n");
	ck_content(GVT_AVAIL, "1\n");
	ck_assert(
		!mexists(GVT_DIR "/mdev_supported_types/i915-GVTg_V5_8/name"));
	ck_assert(!mexists(GVT_DIR
			   "/mdev_supported_types/i915-GVTg_V5_8/description"));

	ck_assert_int_eq(fake_tree_resolve_link(view,
						"sys/bus/mdev/devices/" UUID1,
						buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, inst);
	ck_link("sys/bus/mdev/devices/" UUID1,
		"../../../devices/pci0000:00/" GPU "/" UUID1);
	ck_link(GVT_DIR "/" UUID1 "/mdev_type",
		"../mdev_supported_types/" GVT_TYPE);
	ck_link(GVT_DIR "/" UUID1 "/driver",
		"../../../../bus/mdev/drivers/vfio_mdev");
	ck_link(GVT_DIR "/" UUID1 "/subsystem", "../../../../bus/mdev");
	ck_link(GVT_TYPE_DIR "/devices/" UUID1, "../../../" UUID1);
	ck_resolves(GVT_DIR "/" UUID1 "/iommu_group");
	ck_assert_int_eq(
		fake_tree_resolve_link(view, GVT_DIR "/" UUID1 "/iommu_group",
				       buf, sizeof(buf)),
		0);
	ck_assert(!strncmp(buf, "sys/kernel/iommu_groups/", 24));
	strcat(buf, "/devices/" UUID1);
	ck_link(buf, "../../../../devices/pci0000:00/" GPU "/" UUID1);
	ck_assert(mexists(GVT_DIR "/" UUID1 "/remove"));
	ck_assert(mexists(GVT_DIR "/" UUID1 "/uevent"));
}
END_TEST

START_TEST(test_nonpci_parents)
{
	char buf[PATH_MAX], grp[PATH_MAX];
	ssize_t n;

	ck_assert_int_eq(fake_tree_add_css_parent(tree, "0.0.0023"), 0);
	ck_assert_int_eq(fake_tree_add_type(tree, "0.0.0023", "vfio_ccw-io",
					    "I/O subchannel (Non-QDIO)", NULL,
					    "vfio-ccw", 1),
			 0);
	ck_assert_int_eq(fake_tree_add_ap_matrix(tree), 0);
	ck_assert_int_eq(fake_tree_add_type(tree, "matrix",
					    "vfio_ap-passthrough",
					    "VFIO AP Passthrough Device", NULL,
					    "vfio-ap", 65536),
			 0);
	ck_assert_int_eq(
		fake_tree_add_platform_parent(tree, "fake-plat.0", "fakeplat"),
		0);
	ck_assert_int_eq(fake_tree_add_type(tree, "fake-plat.0", "plat-1", NULL,
					    NULL, "vfio-platform", 1),
			 0);
	ck_assert_int_eq(fake_tree_add_css_parent(tree, "0.0.0023"), -EEXIST);
	ck_assert_int_eq(fake_tree_add_css_parent(tree, "../x"), -EINVAL);
	mount_up(NULL);

	ck_link("sys/class/mdev_bus/0.0.0023", "../../devices/css0/0.0.0023");
	ck_link("sys/devices/css0/0.0.0023/subsystem", "../../../bus/css");
	ck_link("sys/devices/css0/0.0.0023/driver",
		"../../../bus/css/drivers/vfio_ccw");
	ck_link("sys/class/mdev_bus/matrix", "../../devices/vfio_ap/matrix");
	ck_link("sys/devices/vfio_ap/matrix/driver",
		"../../../bus/matrix/drivers/vfio_ap");
	ck_link("sys/devices/platform/fake-plat.0/subsystem",
		"../../../bus/platform");

	ck_assert_int_eq(wr("sys/bus/css/devices/0.0.0023/mdev_supported_types"
			    "/vfio_ccw-io/create",
			    UUID1 "\n"),
			 0);
	mpath("sys/devices/css0/0.0.0023/" UUID1 "/iommu_group", buf,
	      sizeof(buf));
	n = readlink(buf, grp, sizeof(grp) - 1);
	ck_assert_int_gt(n, 0);
	grp[n] = '\0';
	ck_assert(!strncmp(grp, "../../../../kernel/iommu_groups/", 32));
	ck_resolves("sys/bus/mdev/devices/" UUID1 "/iommu_group");
	ck_assert_int_eq(fake_tree_resolve_link(view,
						"sys/bus/mdev/devices/" UUID1
						"/iommu_group",
						grp, sizeof(grp)),
			 0);
	ck_assert_int_eq(wr("sys/class/mdev_bus/matrix/mdev_supported_types"
			    "/vfio_ap-passthrough/create",
			    UUID2),
			 0);
	ck_content("sys/devices/vfio_ap/matrix/mdev_supported_types/"
		   "vfio_ap-passthrough/available_instances",
		   "65535\n");
	ck_assert_int_eq(fake_tree_resolve_link(view,
						"sys/bus/mdev/devices/" UUID2,
						buf, sizeof(buf)),
			 0);
	ck_assert_str_eq(buf, "sys/devices/vfio_ap/matrix/" UUID2);
	ck_assert_int_eq(wr("sys/class/mdev_bus/fake-plat.0/"
			    "mdev_supported_types/plat-1/create",
			    UUID3),
			 0);
	ck_assert_int_eq(wr("sys/bus/mdev/devices/" UUID1 "/remove", "1"), 0);
	ck_assert(!mexists("sys/devices/css0/0.0.0023/" UUID1));
	ck_assert(!mexists(grp));
}
END_TEST

/* ---- mdev create / remove ----------------------------------------------------- */

START_TEST(test_create_remove)
{
	char grp[PATH_MAX];

	mount_up(NULL);
	ck_content(GVT_AVAIL, "2\n");
	ck_assert_int_eq(wr(GVT_CREATE, UUID1 "\n"), 0);
	ck_content(GVT_AVAIL, "1\n");
	ck_assert(mexists("sys/bus/mdev/devices/" UUID1));
	ck_link(GVT_DIR "/" UUID1 "/mdev_type",
		"../mdev_supported_types/" GVT_TYPE);
	ck_link(GVT_TYPE_DIR "/devices/" UUID1, "../../../" UUID1);
	ck_resolves("sys/bus/mdev/devices/" UUID1 "/iommu_group");
	ck_resolves("sys/bus/mdev/devices/" UUID1 "/driver");
	ck_resolves("sys/bus/mdev/devices/" UUID1 "/subsystem");
	ck_assert_int_eq(
		fake_tree_resolve_link(view, GVT_DIR "/" UUID1 "/iommu_group",
				       grp, sizeof(grp)),
		0);

	/* no trailing newline is fine too; uppercase is normalized */
	ck_assert_int_eq(wr(GVT_CREATE, "8A1B3A4E-0F4C-4D2C-9B1E-6F3D2A1B0C02"),
			 0);
	ck_assert(mexists(GVT_DIR "/" UUID2));
	ck_content(GVT_AVAIL, "0\n");

	/* remove through the bus link; "0" is a no-op */
	ck_assert_int_eq(wr("sys/bus/mdev/devices/" UUID1 "/remove", "0\n"), 0);
	ck_assert(mexists("sys/bus/mdev/devices/" UUID1));
	ck_assert_int_eq(wr("sys/bus/mdev/devices/" UUID1 "/remove", "1\n"), 0);
	ck_content(GVT_AVAIL, "1\n");
	ck_assert(!mexists("sys/bus/mdev/devices/" UUID1));
	ck_assert(!mexists(GVT_DIR "/" UUID1));
	ck_assert(!mexists(GVT_TYPE_DIR "/devices/" UUID1));
	ck_assert(!mexists("sys/bus/mdev/drivers/vfio_mdev/" UUID1));
	ck_assert(!mexists(grp));
	/* kstrtoul base 0 */
	ck_assert_int_eq(wr(GVT_DIR "/" UUID2 "/remove", "0x1"), 0);
	ck_content(GVT_AVAIL, "2\n");

	/* the uuid can be reused after removal */
	ck_assert_int_eq(wr(GVT_CREATE, UUID1), 0);
	ck_content(GVT_AVAIL, "1\n");
}
END_TEST

START_TEST(test_create_errors)
{
	char big[5000];

	mount_up(NULL);
	ck_assert_int_eq(wr(GVT_CREATE, ""), 0); /* empty: no store */
	ck_assert_int_eq(wr(GVT_CREATE, "garbage"), -EINVAL);
	ck_assert_int_eq(wr(GVT_CREATE, "8a1b3a4e-0f4c-4d2c-9b1e-6f3d2a1b0c0"),
			 -EINVAL); /* 35 chars */
	ck_assert_int_eq(wr(GVT_CREATE, UUID1 "x"), -EINVAL);
	ck_assert_int_eq(wr(GVT_CREATE, UUID1 "\n\n"), -EINVAL);
	ck_assert_int_eq(wr(GVT_CREATE, " " UUID1), -EINVAL);
	ck_assert_int_eq(wr(GVT_CREATE, "8a1b3a4e-0f4c-4d2c-9b1e-6f3d2a1b0cxx"),
			 -EINVAL); /* not hex */
	ck_assert_int_eq(wr(GVT_CREATE, "8a1b3a4e00f4c-4d2c-9b1e-6f3d2a1b0c01"),
			 -EINVAL); /* dash misplaced */
	ck_assert_int_eq(wr_raw(GVT_CREATE, UUID1 "\0", 37, 0), -EINVAL);
	memset(big, 'a', sizeof(big));
	/* sysfs caps one store at a page: that store fails */
	ck_assert_int_eq(wr_raw(GVT_CREATE, big, sizeof(big), 0), -EINVAL);
	ck_content(GVT_AVAIL, "2\n");

	ck_assert_int_eq(wr(GVT_CREATE, UUID1), 0);
	ck_assert_int_eq(wr(GVT_CREATE, UUID1), -EEXIST);
	/* a uuid is unique across all parents and types */
	ck_assert_int_eq(wr("sys/class/mdev_bus/" NV_GPU
			    "/mdev_supported_types/" NV_TYPE "/create",
			    UUID1),
			 -EEXIST);
	ck_assert_int_eq(wr(GVT_CREATE, UUID2), 0);
	ck_content(GVT_AVAIL, "0\n");
	ck_assert_int_eq(wr(GVT_CREATE, UUID3), -ENOSPC);
	ck_assert(!mexists("sys/bus/mdev/devices/" UUID3));
	/* duplicates are reported before capacity, as in mdev_device_create */
	ck_assert_int_eq(wr(GVT_CREATE, UUID1), -EEXIST);

	/* kernel-counter parents report EUSERS */
	ck_assert_int_eq(fake_tree_set_full_errno(tree, GPU, GVT_TYPE, EUSERS),
			 0);
	ck_assert_int_eq(wr(GVT_CREATE, UUID3), -EUSERS);

	/* an offset write is still one store */
	ck_assert_int_eq(wr("sys/bus/mdev/devices/" UUID2 "/remove", "1"), 0);
	ck_assert_int_eq(wr_raw(GVT_CREATE, UUID3, 36, 4096), 0);
	ck_content(GVT_AVAIL, "0\n");
}
END_TEST

START_TEST(test_remove_errors)
{
	const char *rm = "sys/bus/mdev/devices/" UUID1 "/remove";

	ck_assert_int_eq(fake_tree_add_instance(tree, GPU, GVT_TYPE, UUID1), 0);
	mount_up(NULL);
	ck_assert_int_eq(wr(rm, "x"), -EINVAL);
	ck_assert_int_eq(wr(rm, "-1"), -EINVAL);
	ck_assert_int_eq(wr(rm, "1\n\n"), -EINVAL);
	ck_assert_int_eq(wr(rm, "1 "), -EINVAL);
	ck_assert_int_eq(wr(rm, "\n"), -EINVAL);
	ck_assert_int_eq(wr(rm, "99999999999999999999999"), -EINVAL);
	ck_assert_int_eq(wr(rm, "0"), 0);
	ck_assert(mexists("sys/bus/mdev/devices/" UUID1));

	ck_assert_int_eq(
		fake_tree_write(tree, GVT_DIR "/" UUID1 "/.in-use", ""), 0);
	ck_assert_int_eq(wr(rm, "1"), -EBUSY);
	ck_assert(mexists("sys/bus/mdev/devices/" UUID1));
	ck_content(GVT_AVAIL, "1\n");
	ck_assert_int_eq(fake_tree_remove(tree, GVT_DIR "/" UUID1 "/.in-use"),
			 0);
	ck_assert_int_eq(wr(rm, "2"), 0);
	ck_content(GVT_AVAIL, "2\n");
	ck_assert(!mexists("sys/bus/mdev/devices/" UUID1));

	/* the same fd after the attribute went away: ENODEV like kernfs */
	{
		char p[PATH_MAX];
		int fd;

		ck_assert_int_eq(wr(GVT_CREATE, UUID2), 0);
		mpath("sys/bus/mdev/devices/" UUID2 "/remove", p, sizeof(p));
		fd = open(p, O_WRONLY);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, "1", 1), 1);
		ck_assert_int_eq(write(fd, "1", 1), -1);
		ck_assert_int_eq(errno, ENODEV);
		close(fd);
		ck_content(GVT_AVAIL, "2\n");
	}
}
END_TEST

START_TEST(test_permissions)
{
	char p[PATH_MAX];
	int fd;

	ck_assert_int_eq(fake_tree_add_instance(tree, GPU, GVT_TYPE, UUID1), 0);
	mount_up(NULL);
	/* kernfs: no show() -> EACCES on read-open, even for root */
	mpath(GVT_CREATE, p, sizeof(p));
	fd = open(p, O_RDONLY);
	ck_assert_int_eq(fd, -1);
	ck_assert_int_eq(errno, EACCES);
	mpath("sys/bus/mdev/devices/" UUID1 "/remove", p, sizeof(p));
	ck_assert_int_eq(open(p, O_RDWR), -1);
	ck_assert_int_eq(errno, EACCES);
	mpath("sys/bus/pci/drivers/i915/bind", p, sizeof(p));
	ck_assert_int_eq(open(p, O_RDONLY), -1);
	/* no store() -> EACCES on write-open */
	ck_assert_int_eq(wr(GVT_AVAIL, "5"), -EACCES);
	ck_assert_int_eq(wr(GVT_TYPE_DIR "/name", "x"), -EACCES);
	ck_content(GVT_AVAIL, "1\n");
}
END_TEST

/* ---- vendor instance attributes ------------------------------------------------ */

START_TEST(test_instance_attrs)
{
	const char *params =
		"sys/bus/mdev/devices/" UUID1 "/nvidia/vgpu_params";
	char *s;

	mount_up(NULL);
	ck_assert_int_eq(wr("sys/class/mdev_bus/" NV_GPU
			    "/mdev_supported_types/" NV_TYPE "/create",
			    UUID1),
			 0);
	ck_content(params, "");
	ck_content("sys/bus/mdev/devices/" UUID1 "/vendor_knob", "");
	ck_assert_int_eq(wr(params, "frame_rate_limiter=0\n"), 0);
	ck_content(params, "frame_rate_limiter=0\n");
	ck_assert_int_eq(wr(params, "frame_rate_limiter=9\n"), -EINVAL);
	ck_assert_int_eq(wr(params, "frame_rate_limiter=9"), -EINVAL);
	ck_content(params, "frame_rate_limiter=0\n");
	/* a store replaces the content whatever the offset */
	ck_assert_int_eq(wr_raw(params, "a=1", 3, 10), 0);
	ck_content(params, "a=1");
	ck_assert_int_eq(
		wr("sys/bus/mdev/devices/" UUID1 "/vendor_knob", "anything"),
		0);
	/* the metadata is hidden from readdir but readable by name */
	s = rd("sys/devices/pci0000:3b/" NV_GPU "/mdev_supported_types/" NV_TYPE
	       "/.fake-instance-attrs");
	ck_assert_ptr_nonnull(strstr(s, "nvidia/vgpu_params "
					"frame_rate_limiter=9 22"));
	free(s);
	ck_assert_int_eq(wr("sys/bus/mdev/devices/" UUID1 "/remove", "1"), 0);
	ck_assert(!mexists("sys/devices/pci0000:3b/" NV_GPU "/" UUID1));
	ck_content("sys/devices/pci0000:3b/" NV_GPU
		   "/mdev_supported_types/" NV_TYPE "/available_instances",
		   "24\n");
	ck_assert_int_eq(fake_tree_add_instance_attr(tree, NV_GPU, NV_TYPE,
						     "../escape", NULL, 0),
			 -EINVAL);
	ck_assert_int_eq(
		fake_tree_add_instance_attr(tree, NV_GPU, NV_TYPE, "x", "v", 0),
		-EINVAL);
}
END_TEST

/* ---- the last-slot race --------------------------------------------------------- */

static pid_t racer(const int gate[2], const char *rel, const char *uuid)
{
	pid_t pid = fork();

	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		char c;
		int r;

		/* wait for the gate to open (EOF) */
		close(gate[1]);
		while (read(gate[0], &c, 1) < 0 && errno == EINTR)
			;
		r = wr(rel, uuid);
		_exit(r < 0 ? -r : 0);
	}
	return pid;
}

static int racer_result(pid_t pid)
{
	int st;

	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	ck_assert(WIFEXITED(st));
	return WEXITSTATUS(st);
}

static void race(const char *u1, const char *u2, int *r1, int *r2)
{
	int gate[2];
	pid_t a, b;

	ck_assert_int_eq(pipe(gate), 0);
	a = racer(gate, GVT_CREATE, u1);
	b = racer(gate, GVT_CREATE, u2);
	close(gate[0]);
	usleep(50000);
	close(gate[1]);
	*r1 = racer_result(a);
	*r2 = racer_result(b);
}

START_TEST(test_race_last_slot)
{
	static const char *const args[] = { "--create-delay-ms", "300", NULL };
	int r1, r2;

	ck_assert_int_eq(fake_tree_add_instance(tree, GPU, GVT_TYPE, UUID3), 0);
	mount_up(args);
	ck_content(GVT_AVAIL, "1\n");
	race(UUID1, UUID2, &r1, &r2);
	ck_assert_msg((r1 == 0 && r2 == ENOSPC) || (r1 == ENOSPC && r2 == 0),
		      "results %d/%d", r1, r2);
	ck_content(GVT_AVAIL, "0\n");
	ck_assert(mexists("sys/bus/mdev/devices/" UUID1) !=
		  mexists("sys/bus/mdev/devices/" UUID2));

	/* same uuid from both sides with room for two: one EEXIST */
	ck_assert_int_eq(wr("sys/bus/mdev/devices/" UUID3 "/remove", "1"), 0);
	ck_assert_int_eq(wr(r1 == 0 ? "sys/bus/mdev/devices/" UUID1 "/remove"
				    : "sys/bus/mdev/devices/" UUID2 "/remove",
			    "1"),
			 0);
	ck_content(GVT_AVAIL, "2\n");
	race(UUID1, UUID1, &r1, &r2);
	ck_assert_msg((r1 == 0 && r2 == EEXIST) || (r1 == EEXIST && r2 == 0),
		      "results %d/%d", r1, r2);
	ck_content(GVT_AVAIL, "1\n");
}
END_TEST

/* ---- SR-IOV ----------------------------------------------------------------------- */

#define NUMVFS PF_DIR "/sriov_numvfs"
#define VF0    "0000:05:01.0"
#define VF1    "0000:05:01.2"
#define VF2    "0000:05:01.4"

START_TEST(test_sriov_numvfs)
{
	char grp[PATH_MAX];

	mount_up(NULL);
	ck_content(PF_DIR "/sriov_totalvfs", "4\n");
	ck_content(NUMVFS, "0\n");
	ck_content(PF_DIR "/sriov_offset", "8\n");
	ck_content(PF_DIR "/sriov_stride", "2\n");
	ck_content(PF_DIR "/sriov_vf_device", "56c1\n");
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "1\n");

	ck_assert_int_eq(wr(NUMVFS, "abc"), -EINVAL);
	ck_assert_int_eq(wr(NUMVFS, "-1"), -EINVAL);
	ck_assert_int_eq(wr(NUMVFS, "70000"), -EINVAL); /* kstrtou16 */
	ck_assert_int_eq(wr(NUMVFS, "5"), -ERANGE);
	ck_assert_int_eq(wr(NUMVFS, "0"), 0); /* same: no-op */

	ck_assert_int_eq(wr("sys/bus/pci/devices/" PF "/sriov_numvfs", "3\n"),
			 0);
	ck_content(NUMVFS, "3\n");
	ck_link(PF_DIR "/virtfn0", "../" VF0);
	ck_link(PF_DIR "/virtfn1", "../" VF1);
	ck_link(PF_DIR "/virtfn2", "../" VF2);
	ck_assert(!mexists(PF_DIR "/virtfn3"));
	ck_link("sys/devices/pci0000:05/" VF1 "/physfn", "../" PF);
	ck_link("sys/bus/pci/devices/" VF2, "../../../devices/pci0000:05/" VF2);
	ck_content("sys/bus/pci/devices/" VF0 "/vendor", "0x8086\n");
	ck_content("sys/bus/pci/devices/" VF0 "/device", "0x56c1\n");
	ck_content("sys/bus/pci/devices/" VF0 "/numa_node", "1\n");
	ck_content("sys/bus/pci/devices/" VF0 "/driver_override", "(null)\n");
	ck_link("sys/devices/pci0000:05/" VF0 "/driver",
		"../../../bus/pci/drivers/xe"); /* autoprobe */
	ck_resolves("sys/bus/pci/drivers/xe/" VF0);
	ck_resolves("sys/bus/pci/devices/" VF0 "/iommu_group");
	ck_assert_int_eq(fake_tree_resolve_link(view,
						"sys/bus/pci/devices/" VF0
						"/iommu_group",
						grp, sizeof(grp)),
			 0);

	ck_assert_int_eq(wr(NUMVFS, "2"), -EBUSY);
	ck_assert_int_eq(wr(NUMVFS, "3"), 0);

	ck_assert_int_eq(
		fake_tree_write(tree, "sys/devices/pci0000:05/" VF1 "/.in-use",
				""),
		0);
	ck_assert_int_eq(wr(NUMVFS, "0"), -EBUSY);
	ck_content(NUMVFS, "3\n");
	ck_assert(mexists("sys/bus/pci/devices/" VF0));
	ck_assert_int_eq(fake_tree_remove(tree, "sys/devices/pci0000:05/" VF1
						"/.in-use"),
			 0);

	ck_assert_int_eq(wr(NUMVFS, "0"), 0);
	ck_content(NUMVFS, "0\n");
	ck_assert(!mexists(PF_DIR "/virtfn0"));
	ck_assert(!mexists("sys/bus/pci/devices/" VF0));
	ck_assert(!mexists("sys/devices/pci0000:05/" VF0));
	ck_assert(!mexists("sys/bus/pci/drivers/xe/" VF0));
	ck_assert(!mexists(grp));
	ck_assert(mexists("sys/bus/pci/drivers/xe/" PF));

	/* autoprobe off: VFs come up unbound */
	ck_assert_int_eq(wr(PF_DIR "/sriov_drivers_autoprobe", "maybe"),
			 -EINVAL);
	ck_assert_int_eq(wr(PF_DIR "/sriov_drivers_autoprobe", "0\n"), 0);
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "0\n");
	ck_assert_int_eq(wr(NUMVFS, "0x2"), 0);
	ck_assert(mexists("sys/bus/pci/devices/" VF1));
	ck_assert(!mexists("sys/bus/pci/devices/" VF0 "/driver"));
	ck_assert_int_eq(wr(NUMVFS, "0"), 0);
	ck_assert_int_eq(wr(PF_DIR "/sriov_drivers_autoprobe", "on"), 0);
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "1\n");

	/* no PF driver: cannot configure SR-IOV */
	ck_assert_int_eq(wr("sys/bus/pci/drivers/xe/unbind", PF), 0);
	ck_assert_int_eq(wr(NUMVFS, "1"), -ENOENT);
	ck_content(NUMVFS, "0\n");
}
END_TEST

START_TEST(test_bind_unbind)
{
	const char *ovr = "sys/bus/pci/devices/" VF0 "/driver_override";

	mount_up(NULL);
	ck_assert_int_eq(wr(PF_DIR "/sriov_drivers_autoprobe", "0"), 0);
	ck_assert_int_eq(wr(NUMVFS, "2"), 0);

	ck_assert_int_eq(
		wr("sys/bus/pci/drivers/vfio-pci/bind", "0000:05:09.0"),
		-ENODEV); /* no such device */
	ck_assert_int_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", ""), 0);
	ck_assert_int_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", "\n"),
			 -ENODEV);
	ck_assert_int_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", "../../x"),
			 -ENODEV);
	ck_assert_int_eq(wr("sys/bus/pci/drivers/vfio-pci/unbind", VF0),
			 -ENODEV); /* not bound */

	ck_assert_int_eq(wr(ovr, "vfio-pci\n"), 0);
	ck_content(ovr, "vfio-pci\n");
	ck_assert_int_eq(wr("sys/bus/pci/drivers/xe/bind", VF0 "\n"), -ENODEV);
	ck_assert_int_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", VF0 "\n"), 0);
	ck_link("sys/devices/pci0000:05/" VF0 "/driver",
		"../../../bus/pci/drivers/vfio-pci");
	ck_link("sys/bus/pci/drivers/vfio-pci/" VF0,
		"../../../../devices/pci0000:05/" VF0);
	ck_assert_int_eq(wr("sys/bus/pci/drivers/vfio-pci/bind", VF0), -EBUSY);
	ck_assert_int_eq(wr("sys/bus/pci/drivers/xe/unbind", VF0), -ENODEV);

	/* driver_override does not unbind; clearing it restores "(null)" */
	ck_assert_int_eq(wr(ovr, "\n"), 0);
	ck_content(ovr, "(null)\n");
	ck_assert(mexists("sys/bus/pci/devices/" VF0 "/driver"));
	ck_assert_int_eq(wr("sys/bus/pci/drivers/vfio-pci/unbind", VF0 "\n"),
			 0);
	ck_assert(!mexists("sys/bus/pci/devices/" VF0 "/driver"));
	ck_assert(!mexists("sys/bus/pci/drivers/vfio-pci/" VF0));
	ck_assert_int_eq(wr("sys/bus/pci/drivers/xe/bind", VF0), 0);

	/* a bound VF goes away cleanly with numvfs=0 */
	ck_assert_int_eq(wr(NUMVFS, "0"), 0);
	ck_assert(!mexists("sys/bus/pci/drivers/xe/" VF0));
	ck_assert(mexists("sys/bus/pci/drivers/xe/" PF));

	/* the unbind/bind dance on the PF */
	ck_assert_int_eq(wr("sys/bus/pci/devices/" PF "/driver/unbind", PF), 0);
	ck_assert(!mexists(PF_DIR "/driver"));
	ck_assert_int_eq(wr("sys/bus/pci/drivers/xe/bind", PF), 0);
}
END_TEST

/* ---- passthrough and robustness ------------------------------------------------------- */

START_TEST(test_passthrough)
{
	char a[PATH_MAX], b[PATH_MAX];
	char *s;
	int fd;

	mount_up(NULL);
	/* mdevctl-style atomic config write */
	mpath("etc/mdevctl.d/" GPU, a, sizeof(a));
	ck_assert_int_eq(mkdir(a, 0755), 0);
	mpath("etc/mdevctl.d/" GPU "/.tmp", a, sizeof(a));
	mpath("etc/mdevctl.d/" GPU "/" UUID1, b, sizeof(b));
	fd = open(a, O_WRONLY | O_CREAT | O_TRUNC, 0644);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(write(fd, "{\"mdev_type\":\"x\"}\n", 18), 18);
	ck_assert_int_eq(fsync(fd), 0);
	ck_assert_int_eq(close(fd), 0);
	ck_assert_int_eq(rename(a, b), 0);
	ck_content("etc/mdevctl.d/" GPU "/" UUID1, "{\"mdev_type\":\"x\"}\n");
	/* plain files keep normal semantics (O_TRUNC, offsets, truncate) */
	ck_assert_int_eq(wr("etc/mdevctl.d/" GPU "/" UUID1, "{}"), 0);
	ck_content("etc/mdevctl.d/" GPU "/" UUID1, "{}");
	ck_assert_int_eq(truncate(b, 1), 0);
	ck_content("etc/mdevctl.d/" GPU "/" UUID1, "{");
	ck_assert_int_eq(chmod(b, 0600), 0);
	ck_assert_int_eq(symlink("../x", a), 0);
	ck_link("etc/mdevctl.d/" GPU "/.tmp", "../x");
	ck_assert_int_eq(unlink(a), 0);
	ck_assert_int_eq(unlink(b), 0);
	mpath("etc/mdevctl.d/" GPU, a, sizeof(a));
	ck_assert_int_eq(rmdir(a), 0);

	/* a writable non-dynamic sysfs file is a plain file */
	ck_assert_int_eq(fake_tree_write(tree, GVT_DIR "/reset_me", "0\n"), 0);
	ck_assert_int_eq(wr(GVT_DIR "/reset_me", "1\n"), 0);
	ck_content(GVT_DIR "/reset_me", "1\n");

	/* dynamic files ignore truncation: numvfs keeps its value */
	mpath(NUMVFS, a, sizeof(a));
	ck_assert_int_eq(truncate(a, 0), 0);
	ck_content(NUMVFS, "0\n");

	/* hidden metadata does not show up in listings */
	ck_assert_int_eq(fake_tree_set_full_errno(tree, GPU, GVT_TYPE, EUSERS),
			 0);
	ck_assert(mexists(GVT_TYPE_DIR "/.fake-full-errno"));
	{
		char d[PATH_MAX];
		FILE *f;
		char cmd[PATH_MAX + 32];

		mpath(GVT_TYPE_DIR, d, sizeof(d));
		snprintf(cmd, sizeof(cmd), "ls -a '%s'", d);
		f = popen(cmd, "r");
		ck_assert_ptr_nonnull(f);
		s = calloc(1, 4096);
		ck_assert_uint_gt(fread(s, 1, 4095, f), 0);
		pclose(f);
		ck_assert_ptr_null(strstr(s, ".fake-"));
		ck_assert_ptr_nonnull(strstr(s, "available_instances"));
		free(s);
	}
}
END_TEST

START_TEST(test_malformed_and_odd)
{
	size_t bigsz = 1 << 20;
	char *big = malloc(bigsz);
	char p[PATH_MAX];
	ssize_t n;
	int fd;

	/* garbage in the tree must give errors, not crashes */
	ck_assert_int_eq(fake_tree_add_type(tree, GPU, "i915-bad", NULL, NULL,
					    "vfio-pci", 1),
			 0);
	ck_assert_int_eq(fake_tree_write(tree,
					 GVT_DIR "/mdev_supported_types/"
						 "i915-bad/available_instances",
					 "lots\n"),
			 0);
	ck_assert_int_eq(fake_tree_write(tree, PF_DIR "/sriov_totalvfs", "x"),
			 0);
	ck_assert_int_eq(fake_tree_symlink(tree,
					   "sys/bus/pci/devices/"
					   "0000:07:00.0",
					   "../../../nowhere"),
			 0);
	ck_assert_int_eq(fake_tree_write(tree, "sys/huge", ""), 0);
	mount_up(NULL);

	ck_assert_int_eq(
		wr(GVT_DIR "/mdev_supported_types/i915-bad/create", UUID1),
		-EIO);
	ck_assert_int_eq(wr(NUMVFS, "1"), -EIO);
	ck_assert_int_eq(
		wr("sys/bus/pci/drivers/vfio-pci/bind", "0000:07:00.0"),
		-ENODEV); /* dangling */

	/* huge plain write goes through completely */
	ck_assert_ptr_nonnull(big);
	memset(big, 'z', bigsz);
	mpath("sys/huge", p, sizeof(p));
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	n = write(fd, big, bigsz);
	ck_assert_int_eq(n, (ssize_t)bigsz);
	close(fd);
	/* huge dynamic write: one short page-sized store that fails */
	mpath(GVT_CREATE, p, sizeof(p));
	fd = open(p, O_WRONLY);
	ck_assert_int_ge(fd, 0);
	n = write(fd, big, bigsz);
	ck_assert_int_eq(n, -1);
	ck_assert_int_eq(errno, EINVAL);
	/* a UUID split over two writes is two bad stores */
	ck_assert_int_eq(write(fd, UUID1, 10), -1);
	ck_assert_int_eq(errno, EINVAL);
	ck_assert_int_eq(write(fd, UUID1 + 10, 26), -1);
	ck_assert_int_eq(errno, EINVAL);
	close(fd);
	n = (ssize_t)wr_raw("sys/bus/pci/drivers/vfio-pci/bind", big, 5000, 7);
	ck_assert_int_eq(n, -ENODEV); /* one page-sized bad name */
	ck_assert_int_eq(wr(GVT_CREATE, "\xff\xfe"), -EINVAL);
	free(big);
	/* the daemon survived */
	ck_assert_int_eq(wr(GVT_CREATE, UUID1), 0);
}
END_TEST

START_TEST(test_log)
{
	char logf[PATH_MAX];
	const char *args[] = { "--log", logf, NULL };
	char *s;

	snprintf(logf, sizeof(logf), "%s/fake.log", base);
	mount_up(args);
	ck_assert_int_eq(wr(GVT_CREATE, UUID1 "\n"), 0);
	ck_assert_int_eq(wr(GVT_CREATE, "x"), -EINVAL);
	ck_assert_int_eq(fake_mount_stop(mnt, daemon_pid), 0);
	daemon_pid = 0;
	ck_assert_int_eq(fake_tree_read(tree, "../fake.log", &s), 0);
	ck_assert_ptr_nonnull(strstr(s,
				     "create /" GVT_TYPE_DIR "/create \"" UUID1
				     "\\n\" len=37 -> 0\n"));
	ck_assert_ptr_nonnull(strstr(s, "\"x\" len=1 -> -22"));
	free(s);
	unlink(logf);
}
END_TEST

START_TEST(test_daemon_cli)
{
	char cmd[PATH_MAX * 2];

	snprintf(cmd, sizeof(cmd), "'%s' --help >/dev/null", daemon_path);
	ck_assert_int_eq(system(cmd), 0);
	snprintf(cmd, sizeof(cmd), "'%s' onlyone 2>/dev/null", daemon_path);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "'%s' a b --bogus 2>/dev/null", daemon_path);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 2);
	snprintf(cmd, sizeof(cmd), "'%s' /nonexistent '%s' -f 2>/dev/null",
		 daemon_path, mnt);
	ck_assert_int_eq(WEXITSTATUS(system(cmd)), 1);
	ck_assert_int_eq(
		fake_mount_start(backing, mnt, "/nonexistent", &daemon_pid),
		-ENOENT);
	daemon_pid = 0;
}
END_TEST

/* ---- real mdevctl against the mount (private mount namespace) ---------------- */

/*
 * Run SCRIPT with sh in a child that has MNT/sys bind-mounted on /sys and
 * MNT/etc/mdevctl.d on /etc/mdevctl.d in its own mount namespace.
 * Returns the exit status; 77 if the namespace cannot be set up.
 */
static int in_ns(const char *script)
{
	char sys[PATH_MAX], etc[PATH_MAX];
	pid_t pid;
	int st;

	mpath("sys", sys, sizeof(sys));
	mpath("etc/mdevctl.d", etc, sizeof(etc));
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		if (unshare(CLONE_NEWNS) < 0 ||
		    mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0 ||
		    mount(sys, "/sys", NULL, MS_BIND, NULL) < 0 ||
		    mount(etc, "/etc/mdevctl.d", NULL, MS_BIND, NULL) < 0)
			_exit(77);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(126);
	}
	ck_assert_int_eq(waitpid(pid, &st, 0), pid);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128;
}

START_TEST(test_mdevctl)
{
	int r;

	if (system("command -v mdevctl >/dev/null 2>&1") != 0 ||
	    access("/etc/mdevctl.d", F_OK) < 0) {
		fprintf(stderr, "test_mdevctl: no mdevctl here, skipped\n");
		return;
	}
	mount_up(NULL);
	r = in_ns("exec >/dev/null 2>&1; "
		  "mdevctl start -p " GPU " -t " GVT_TYPE " -u " UUID1 " && "
		  "mdevctl define -u " UUID1 " && "
		  "mdevctl list | grep -q " UUID1);
	if (r == 77) {
		fprintf(stderr, "test_mdevctl: no mount namespace, skipped\n");
		return;
	}
	ck_assert_int_eq(r, 0);
	ck_assert(mexists("sys/bus/mdev/devices/" UUID1));
	ck_content(GVT_AVAIL, "1\n");
	ck_assert(fake_tree_exists(tree, "etc/mdevctl.d/" GPU "/" UUID1));

	/* a rejected vendor attribute makes mdevctl roll the device back */
	r = in_ns("exec >/dev/null 2>&1; "
		  "mdevctl define -p " NV_GPU " -t " NV_TYPE " -u " UUID2
		  " && mdevctl modify -u " UUID2 " --addattr=nvidia/vgpu_params"
		  " --value=frame_rate_limiter=9 && ! mdevctl start -u " UUID2);
	ck_assert_int_eq(r, 0);
	ck_assert(!mexists("sys/bus/mdev/devices/" UUID2));
	ck_content("sys/devices/pci0000:3b/" NV_GPU
		   "/mdev_supported_types/" NV_TYPE "/available_instances",
		   "24\n");

	r = in_ns("exec >/dev/null 2>&1; mdevctl stop -u " UUID1 " && "
		  "mdevctl undefine -u " UUID1);
	ck_assert_int_eq(r, 0);
	ck_assert(!mexists("sys/bus/mdev/devices/" UUID1));
	ck_assert(!fake_tree_exists(tree, "etc/mdevctl.d/" GPU "/" UUID1));
	ck_content(GVT_AVAIL, "2\n");
}
END_TEST

/* ---- main ----------------------------------------------------------------------------- */

/* 0 if a mount works here, 77 if FUSE is unavailable, 1 on other errors. */
static int probe_fuse(void)
{
	char b[PATH_MAX - 64], m[PATH_MAX];
	struct fake_tree *t;
	pid_t pid;
	int r, ret;

	snprintf(b, sizeof(b), "/tmp/fakesysfs-probe-XXXXXX");
	if (!mkdtemp(b))
		return 1;
	snprintf(m, sizeof(m), "%s/m", b);
	if (mkdir(m, 0755) < 0 || fake_tree_new(b, &t) < 0) {
		rmdir(b);
		return 1;
	}
	r = fake_mount_start(b, m, daemon_path, &pid);
	if (r == 0)
		ret = fake_mount_stop(m, pid) == 0 ? 0 : 1;
	else
		ret = r == -EOPNOTSUPP ? 77 : 1;
	if (r < 0 && ret == 1)
		fprintf(stderr, "fuse probe: %s\n", strerror(-r));
	rmdir(m);
	fake_tree_remove(t, "");
	fake_tree_free(t);
	rmdir(b);
	return ret;
}

int main(int argc, char **argv)
{
	Suite *s;
	TCase *tc;
	int r;

	if (argc < 2) {
		fprintf(stderr, "no vgpu-fakesysfs given: skipping\n");
		return 77;
	}
	daemon_path = argv[1];
	r = probe_fuse();
	if (r == 77)
		fprintf(stderr, "FUSE unavailable: skipping\n");
	if (r)
		return r;

	s = suite_create("fakesysfs");
	tc = tcase_create("pure");
	tcase_add_test(tc, test_helpers);
	suite_add_tcase(s, tc);

	tc = tcase_create("mounted");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, test_static_layout);
	tcase_add_test(tc, test_nonpci_parents);
	tcase_add_test(tc, test_create_remove);
	tcase_add_test(tc, test_create_errors);
	tcase_add_test(tc, test_remove_errors);
	tcase_add_test(tc, test_permissions);
	tcase_add_test(tc, test_instance_attrs);
	tcase_add_test(tc, test_race_last_slot);
	tcase_add_test(tc, test_sriov_numvfs);
	tcase_add_test(tc, test_bind_unbind);
	tcase_add_test(tc, test_passthrough);
	tcase_add_test(tc, test_malformed_and_odd);
	tcase_add_test(tc, test_log);
	tcase_add_test(tc, test_daemon_cli);
	tcase_add_test(tc, test_mdevctl);
	suite_add_tcase(s, tc);

	return run_suite(s);
}
