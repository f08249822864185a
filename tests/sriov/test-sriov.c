/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The SR-IOV backend over fake sysfs trees.
 *
 *   test-sriov [PATH/TO/vgpu-fakesysfs]
 *
 * Static trees are plain directories built with fake-tree; the "kernel"
 * there does nothing on writes, which is what the failure and rollback
 * tests need. Kernel-like behaviour (sriov_numvfs creating VFs,
 * bind/unbind) comes from the vgpu-fakesysfs FUSE daemon: those tests are
 * skipped (the whole program exits 77 when nothing else runs) without it.
 */
#include <check.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include "check-run.h"
#include "fake-mount.h"
#include "fake-tree.h"
#include "libvgpu-private.h"
#include "util-file.h"
#include "util-sysfs.h"

#define PF	   "0000:05:00.0"
#define PF_DIR	   "sys/devices/pci0000:05/" PF
#define VF0	   "0000:05:01.0"
#define VF1	   "0000:05:01.2"
#define VF2	   "0000:05:01.4"
#define VF_DIR(vf) "sys/devices/pci0000:05/" vf
#define UUID1	   "11111111-2222-4333-8444-555555555501"
#define UUID2	   "11111111-2222-4333-8444-555555555502"
#define UUID3	   "11111111-2222-4333-8444-555555555503"

/* test-program state */
static const char *daemon_path;
static char base[PATH_MAX], backing[PATH_MAX], mnt[PATH_MAX];
static struct fake_tree *tree;
static struct vgpu_ctx *ctx;
static pid_t daemon_pid;
static char logbuf[16384];

static void log_capture(struct vgpu_ctx *c, int priority, const char *file,
			int line, const char *fn, const char *format,
			va_list args, void *userdata)
{
	size_t len = strlen(logbuf);

	(void)c;
	(void)priority;
	(void)file;
	(void)line;
	(void)fn;
	(void)userdata;
	if (len + 2 < sizeof(logbuf)) {
		vsnprintf(logbuf + len, sizeof(logbuf) - len - 1, format, args);
		strcat(logbuf, "\n");
	}
}

static int rm_one(const char *path, const struct stat *st, int flag,
		  struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void setup(void)
{
	const char *tmp = getenv("TMPDIR");
	char p[PATH_MAX];

	snprintf(base, sizeof(base), "%s/test-sriov-XXXXXX",
		 tmp && *tmp ? tmp : "/tmp");
	ck_assert_ptr_nonnull(mkdtemp(base));
	snprintf(backing, sizeof(backing), "%s/tree", base);
	snprintf(mnt, sizeof(mnt), "%s/mnt", base);
	ck_assert_int_eq(fake_tree_new(backing, &tree), 0);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	logbuf[0] = '\0';
	vgpu_ctx_set_log_fn(ctx, log_capture, NULL);
	vgpu_ctx_set_log_priority(ctx, LOG_DEBUG);
	snprintf(p, sizeof(p), "%s/sys", backing);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, p), 0);
	snprintf(p, sizeof(p), "%s/etc/mdevctl.d", base);
	ck_assert_int_eq(vgpu_ctx_set_config_dir(ctx, p), 0);
	snprintf(p, sizeof(p), "%s/run", base);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, p), 0);
	daemon_pid = 0;
	unsetenv("VGPU_SRIOV_CONFIG_DIR");
}

static void teardown(void)
{
	int r = 0;

	if (daemon_pid > 0)
		r = fake_mount_stop(mnt, daemon_pid);
	daemon_pid = 0;
	vgpu_ctx_unref(ctx);
	ctx = NULL;
	fake_tree_free(tree);
	tree = NULL;
	nftw(base, rm_one, 16, FTW_DEPTH | FTW_PHYS);
	ck_assert_msg(r == 0, "daemon did not exit cleanly: %s", strerror(-r));
}

/* serve the tree through vgpu-fakesysfs and point the context at it */
static void mount_up(void)
{
	char p[PATH_MAX];
	int r;

	ck_assert_int_eq(mkdir(mnt, 0755), 0);
	r = fake_mount_start(backing, mnt, daemon_path, &daemon_pid);
	ck_assert_msg(r == 0, "fake_mount_start: %s", strerror(-r));
	snprintf(p, sizeof(p), "%s/sys", mnt);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, p), 0);
}

static void w(const char *rel, const char *content)
{
	int r = fake_tree_write(tree, rel, content);

	ck_assert_msg(r == 0, "write %s: %s", rel, strerror(-r));
}

static void ck_content(const char *rel, const char *want)
{
	char *s = NULL;
	int r = fake_tree_read(tree, rel, &s);

	ck_assert_msg(r == 0, "read %s: %s", rel, strerror(-r));
	ck_assert_msg(!strcmp(s, want), "%s: \"%s\", want \"%s\"", rel, s,
		      want);
	free(s);
}

/* writes to plain files do not truncate (sysfs attributes need no
 * O_TRUNC), so static trees are checked by what a file starts with */
static void ck_prefix(const char *rel, const char *want)
{
	char *s = NULL;
	int r = fake_tree_read(tree, rel, &s);

	ck_assert_msg(r == 0, "read %s: %s", rel, strerror(-r));
	ck_assert_msg(!strncmp(s, want, strlen(want)),
		      "%s: \"%s\", want \"%s...\"", rel, s, want);
	free(s);
}

static bool exists(const char *rel)
{
	return fake_tree_exists(tree, rel);
}

static bool run_exists(const char *rel)
{
	char p[PATH_MAX];

	snprintf(p, sizeof(p), "%s/run/%s", base, rel);
	return access(p, F_OK) == 0;
}

static void add_pf(const char *driver, unsigned int vendor, unsigned int device,
		   unsigned int total)
{
	struct fake_pci_info info = {
		.vendor = vendor,
		.device = device,
		.subsystem_vendor = vendor,
		.subsystem_device = 0x1234,
		.class = 0x020000,
		.driver = driver,
		.numa_node = 1,
	};

	ck_assert_int_eq(fake_tree_add_sriov_pf(tree, PF, &info, total, 8, 2,
						device + 1),
			 0);
}

/* the "kernel": enable VFs in the backing tree directly */
static void enable_vfs(unsigned int n)
{
	ck_assert_int_eq(fake_tree_sriov_set_numvfs(tree, PF_DIR, n), 0);
}

/* the same with autoprobe off: the VFs come up unbound */
static void enable_vfs_unbound(unsigned int n)
{
	w(PF_DIR "/sriov_drivers_autoprobe", "0\n");
	enable_vfs(n);
}

static void add_vfio_driver(void)
{
	w("sys/bus/pci/drivers/vfio-pci/bind", "");
	w("sys/bus/pci/drivers/vfio-pci/unbind", "");
}

static struct vgpu_parent *get_parent(const char *id)
{
	struct vgpu_parent *p = NULL;

	ck_assert_int_eq(vgpu_parent_get(ctx, id, &p), 0);
	return p;
}

static struct vgpu_type *get_type(const char *pid, const char *tid)
{
	struct vgpu_parent *p = get_parent(pid);
	struct vgpu_type *t = NULL;
	int r = vgpu_type_get(p, tid, &t);

	ck_assert_msg(r == 0, "type %s: %s", tid, strerror(-r));
	vgpu_parent_unref(p);
	return t;
}

static int avail(const char *tid)
{
	struct vgpu_type *t = get_type(PF, tid);
	int n = vgpu_type_get_available_instances(t);

	vgpu_type_unref(t);
	return n;
}

static int create(const char *uuid, const char *tid)
{
	struct vgpu_config *c;
	int r;

	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, tid), 0);
	r = vgpu_instance_create(ctx, PF, uuid, c, NULL);
	vgpu_config_unref(c);
	return r;
}

static size_t count_active(void)
{
	struct vgpu_instance **list;
	size_t n;

	ck_assert_int_eq(vgpu_instance_list(ctx, VGPU_LIST_ACTIVE, NULL, NULL,
					    &list, &n),
			 0);
	vgpu_instance_list_free(list, n);
	return n;
}

/* ---- parents ------------------------------------------------------------ */

START_TEST(test_parents)
{
	struct fake_pci_info plain = { .vendor = 0x8086,
				       .device = 0x10fb,
				       .class = 0x020000,
				       .driver = "ixgbe",
				       .numa_node = -1 };
	struct vgpu_parent **list, *p;
	uint16_t ven, dev;
	uint32_t cls;
	size_t n;

	add_pf("i40e", 0x8086, 0x1572, 4);
	/* not SR-IOV, totalvfs 0, totalvfs garbage, dangling bus link */
	ck_assert_int_eq(fake_tree_add_pci_device(tree, "0000:00:19.0", &plain),
			 0);
	ck_assert_int_eq(fake_tree_add_sriov_pf(tree, "0000:06:00.0", &plain, 0,
						1, 1, 0x10ed),
			 0);
	ck_assert_int_eq(fake_tree_add_sriov_pf(tree, "0000:07:00.0", &plain, 8,
						1, 1, 0x10ed),
			 0);
	w("sys/devices/pci0000:07/0000:07:00.0/sriov_totalvfs", "lots\n");
	ck_assert_int_eq(fake_tree_symlink(tree,
					   "sys/bus/pci/devices/0000:08:00.0",
					   "../../../devices/nowhere"),
			 0);

	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	p = list[0];
	ck_assert_str_eq(vgpu_parent_get_id(p), PF);
	ck_assert_str_eq(vgpu_parent_get_backend(p), "sriov");
	ck_assert_str_eq(vgpu_parent_get_bus(p), "pci");
	ck_assert_str_eq(vgpu_parent_get_driver(p), "i40e");
	ck_assert_int_eq(vgpu_parent_get_numa_node(p), 1);
	ck_assert_ptr_nonnull(strstr(vgpu_parent_get_syspath(p), PF_DIR));
	ck_assert_int_eq(
		vgpu_parent_get_pci_ids(p, &ven, &dev, NULL, NULL, &cls), 0);
	ck_assert_uint_eq(ven, 0x8086);
	ck_assert_uint_eq(dev, 0x1572);
	ck_assert_uint_eq(cls, 0x020000);
	vgpu_parent_list_free(list, n);
	ck_assert_ptr_nonnull(strstr(logbuf, "0000:07:00.0: sriov_totalvfs"));

	ck_assert_int_eq(vgpu_parent_get(ctx, "0000:00:19.0", &p), -ENODEV);
	ck_assert_int_eq(vgpu_parent_get(ctx, "0000:07:00.0", &p), -ENODEV);
	ck_assert_int_eq(vgpu_parent_get(ctx, "0000:08:00.0", &p), -ENODEV);
	ck_assert_int_eq(vgpu_parent_get(ctx, "junk", &p), -ENODEV);
	p = get_parent("sriov:" PF);
	ck_assert_str_eq(vgpu_parent_get_id(p), PF);
	vgpu_parent_unref(p);
}
END_TEST

/* a PF that is an mdev parent too is listed by both backends */
START_TEST(test_pf_also_mdev_parent)
{
	struct vgpu_parent **list, *p;
	size_t n;

	add_pf("i915", 0x8086, 0x3e92, 7);
	ck_assert_int_eq(fake_tree_register_mdev_parent(tree, PF), 0);
	ck_assert_int_eq(fake_tree_add_type(tree, PF, "i915-GVTg_V5_4", NULL,
					    NULL, "vfio-pci", 2),
			 0);
	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(vgpu_parent_get_backend(list[0]), "mdev");
	ck_assert_str_eq(vgpu_parent_get_backend(list[1]), "sriov");
	ck_assert_str_eq(vgpu_parent_get_id(list[0]), PF);
	ck_assert_str_eq(vgpu_parent_get_id(list[1]), PF);
	vgpu_parent_list_free(list, n);
	/* the plain id finds the mdev side, the alias the SR-IOV side */
	p = get_parent(PF);
	ck_assert_str_eq(vgpu_parent_get_backend(p), "mdev");
	vgpu_parent_unref(p);
	p = get_parent("sriov:" PF);
	ck_assert_str_eq(vgpu_parent_get_backend(p), "sriov");
	vgpu_parent_unref(p);
}
END_TEST

/* ---- generic types ------------------------------------------------------- */

START_TEST(test_generic_type)
{
	struct vgpu_type **types;
	struct vgpu_parent *p;
	size_t n;

	add_pf("i40e", 0x8086, 0x1572, 4);
	p = get_parent(PF);
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(vgpu_type_get_id(types[0]), "VF");
	ck_assert_str_eq(vgpu_type_get_device_api(types[0]), "vfio-pci");
	/* nothing enabled: every VF can still be brought up */
	ck_assert_int_eq(vgpu_type_get_available_instances(types[0]), 4);
	ck_assert_str_eq(vgpu_type_get_attr_value(types[0], "model"),
			 "generic");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[0], "sriov_totalvfs"),
			 "4");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[0], "sriov_numvfs"),
			 "0");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[0], "sriov_offset"),
			 "8");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[0], "sriov_stride"),
			 "2");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[0], "sriov_vf_device"),
			 "1573");
	ck_assert_str_eq(
		vgpu_type_get_attr_value(types[0], "sriov_drivers_autoprobe"),
		"1");
	vgpu_type_list_free(types, n);
	{
		struct vgpu_type *t;

		ck_assert_int_eq(vgpu_type_get(p, "nvidia-1", &t), -ENOENT);
	}
	vgpu_parent_unref(p);
}
END_TEST

START_TEST(test_generic_capacity)
{
	add_pf("i40e", 0x8086, 0x1572, 4);
	ck_assert_int_eq(
		fake_tree_write(tree, PF_DIR "/sriov_drivers_autoprobe", "1\n"),
		0);
	enable_vfs(3); /* autoprobe: all bound to i40e */
	add_vfio_driver();
	/* VF0 bound to the host driver: claimable; VF1 on vfio-pci
	 * (someone else's); VF2 reserved with driver_override */
	ck_assert_int_eq(fake_tree_unbind(tree, "pci", "i40e", VF1), 0);
	ck_assert_int_eq(fake_tree_bind(tree, "pci", "vfio-pci", VF1), 0);
	ck_assert_int_eq(fake_tree_unbind(tree, "pci", "i40e", VF2), 0);
	w(VF_DIR(VF2) "/driver_override", "vfio-pci\n");
	/* a dangling virtfn link is ignored */
	ck_assert_int_eq(
		fake_tree_symlink(tree, PF_DIR "/virtfn3", "../0000:05:01.6"),
		0);
	ck_assert_int_eq(avail("VF"), 1);
	ck_assert_ptr_nonnull(strstr(logbuf, "dangling"));
	/* a VF that is an mdev parent belongs to the mdev backend */
	ck_assert_int_eq(fake_tree_register_mdev_parent(tree, VF0), 0);
	ck_assert_int_eq(avail("VF"), 0);
	ck_assert_int_eq(create(UUID1, "VF"), -ENOSPC);
}
END_TEST

START_TEST(test_malformed_facts)
{
	struct vgpu_type *t;

	add_pf("i40e", 0x8086, 0x1572, 4);
	w(PF_DIR "/sriov_numvfs", "many\n");
	w(PF_DIR "/sriov_offset", "-3\n");
	ck_assert_int_eq(fake_tree_remove(tree, PF_DIR "/sriov_stride"), 0);
	w(PF_DIR "/sriov_vf_device", "zz\n");
	w(PF_DIR "/vendor", "0x123456789\n");
	t = get_type(PF, "VF");
	ck_assert_ptr_null(vgpu_type_get_attr_value(t, "sriov_numvfs"));
	ck_assert_ptr_null(vgpu_type_get_attr_value(t, "sriov_offset"));
	ck_assert_ptr_null(vgpu_type_get_attr_value(t, "sriov_stride"));
	ck_assert_ptr_null(vgpu_type_get_attr_value(t, "sriov_vf_device"));
	ck_assert_str_eq(vgpu_type_get_attr_value(t, "sriov_totalvfs"), "4");
	/* numvfs unknown: nothing is enabled on a guess */
	ck_assert_int_eq(vgpu_type_get_available_instances(t), 0);
	ck_assert_int_eq(vgpu_parent_get_pci_ids(vgpu_type_get_parent(t), NULL,
						 NULL, NULL, NULL, NULL),
			 -ENODATA);
	vgpu_type_unref(t);
	/* a huge attribute is refused, not truncated */
	{
		char big[VGPU_ATTR_MAX + 100];

		memset(big, '7', sizeof(big) - 1);
		big[sizeof(big) - 1] = '\0';
		struct vgpu_parent *p;

		w(PF_DIR "/sriov_totalvfs", big);
		ck_assert_int_eq(vgpu_parent_get(ctx, PF, &p), -ENODEV);
	}
}
END_TEST

/* ---- lifecycle on static trees: failures and rollback ---------------------- */

/* on a static tree nothing binds: create must fail and undo everything,
 * including the VFs it enabled itself */
START_TEST(test_static_rollback_enable)
{
	add_pf("i40e", 0x8086, 0x1572, 4);
	add_vfio_driver();
	ck_assert_int_eq(create(UUID1, "VF"), -EIO);
	ck_assert_ptr_nonnull(strstr(logbuf, "none appeared free"));
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "1\n");
	ck_assert(!run_exists("sriov/enabled/" PF));
	ck_assert(!run_exists("sriov/instances/" UUID1));
	ck_assert_uint_eq(count_active(), 0);
}
END_TEST

START_TEST(test_static_rollback_bind)
{
	add_pf("i40e", 0x8086, 0x1572, 4);
	enable_vfs(2);
	add_vfio_driver();
	ck_assert_int_eq(create(UUID1, "VF"), -EIO);
	ck_assert_ptr_nonnull(
		strstr(logbuf, "did not end up bound to vfio-pci"));
	/* driver_override cleared again, record gone, VFs left as found */
	ck_prefix(VF_DIR(VF0) "/driver_override", "\n");
	ck_content(PF_DIR "/sriov_numvfs", "2\n");
	ck_assert(!run_exists("sriov/instances/" UUID1));
	ck_assert(!run_exists("sriov/enabled/" PF));

	/* no vfio-pci driver at all */
	logbuf[0] = '\0';
	ck_assert_int_eq(fake_tree_remove(tree, "sys/bus/pci/drivers/vfio-pci"),
			 0);
	w(VF_DIR(VF0) "/driver_override", "(null)\n");
	ck_assert_int_eq(create(UUID1, "VF"), -ENODEV);
	ck_assert_ptr_nonnull(strstr(logbuf, "is the module loaded"));
	ck_assert(!run_exists("sriov/instances/" UUID1));

	/* the runtime directory cannot be written */
	add_vfio_driver();
	w(VF_DIR(VF0) "/driver_override", "(null)\n");
	{
		char p[PATH_MAX];

		snprintf(p, sizeof(p), "%s/run/sriov", base);
		ck_assert_int_eq(vgpu_mkdir_p(p, 0755), 0);
		snprintf(p, sizeof(p), "%s/run/sriov/instances", base);
		ck_assert_int_eq(rmdir(p), 0); /* empty after the rollbacks */
		ck_assert_int_eq(close(open(p, O_CREAT | O_WRONLY, 0644)), 0);
	}
	ck_assert_int_lt(create(UUID1, "VF"), 0);
	ck_content(VF_DIR(VF0) "/driver_override", "(null)\n");
}
END_TEST

START_TEST(test_bad_requests)
{
	add_pf("i40e", 0x8086, 0x1572, 4);
	ck_assert_int_eq(create(UUID1, "VX"), -ENOENT);
	ck_assert_int_eq(create(UUID1, "nvidia-1414"), -ENOENT);
	ck_assert_int_eq(create("not-a-uuid", "VF"), -EINVAL);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), -ENOENT);
	ck_assert_int_eq(vgpu_instance_remove(ctx, "x"), -EINVAL);
}
END_TEST

/* malformed and stale records in the runtime directory */
START_TEST(test_records)
{
	struct vgpu_instance *in;
	char p[PATH_MAX];
	FILE *f;

	add_pf("i40e", 0x8086, 0x1572, 4);
	enable_vfs_unbound(2);
	add_vfio_driver();
	snprintf(p, sizeof(p), "%s/run/sriov/instances", base);
	ck_assert_int_eq(vgpu_mkdir_p(p, 0755), 0);
	/* a good record whose VF is bound to vfio-pci: active */
	snprintf(p, sizeof(p), "%s/run/sriov/instances/" UUID1, base);
	f = fopen(p, "w");
	fprintf(f, "parent=" PF "\nvf=" VF0
		   "\ntype=VF\nmodel=generic\nnew_key=1\n");
	fclose(f);
	ck_assert_int_eq(fake_tree_bind(tree, "pci", "vfio-pci", VF0), 0);
	/* garbage, a bad VF name, a non-UUID name, a stale one */
	snprintf(p, sizeof(p), "%s/run/sriov/instances/" UUID2, base);
	f = fopen(p, "w");
	fprintf(f, "garbage without equals\n");
	fclose(f);
	snprintf(p, sizeof(p), "%s/run/sriov/instances/not-a-uuid", base);
	f = fopen(p, "w");
	fprintf(f, "parent=" PF "\nvf=" VF1 "\ntype=VF\nmodel=generic\n");
	fclose(f);
	snprintf(p, sizeof(p), "%s/run/sriov/instances/" UUID3, base);
	f = fopen(p, "w");
	fprintf(f, "parent=" PF "\nvf=../../x\ntype=VF\nmodel=generic\n");
	fclose(f);

	ck_assert_uint_eq(count_active(), 1);
	ck_assert_int_eq(vgpu_instance_get(ctx, UUID1, NULL, &in), 0);
	ck_assert_str_eq(vgpu_instance_get_backend(in), "sriov");
	ck_assert_str_eq(vgpu_instance_get_parent_id(in), PF);
	ck_assert_str_eq(vgpu_instance_get_type_id(in), "VF");
	ck_assert(vgpu_instance_is_active(in));
	ck_assert_ptr_nonnull(strstr(vgpu_instance_get_syspath(in), VF0));
	ck_assert_int_ge(vgpu_instance_get_iommu_group(in), 0);
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_instance_get(ctx, UUID2, NULL, &in), -ENOENT);
	ck_assert_int_eq(avail("VF"), 1);

	/* VF0 unbound behind our back: the record is stale, not active */
	ck_assert_int_eq(fake_tree_unbind(tree, "pci", "vfio-pci", VF0), 0);
	ck_assert_uint_eq(count_active(), 0);
	ck_assert_int_eq(avail("VF"), 2);
	/* the next create on the PF prunes it */
	ck_assert_int_eq(create(UUID2, "VF"), -EIO);
	ck_assert(!run_exists("sriov/instances/" UUID1));
}
END_TEST

/* ---- NVIDIA vendor-specific VFIO ------------------------------------------ */

#define NV_HDR "ID    : vGPU Name\n"

static void nvidia_tree(void)
{
	const char *vfs[] = { VF0, VF1, VF2 };

	add_pf("nvidia", 0x10de, 0x2335, 3);
	enable_vfs(3);
	for (size_t i = 0; i < 3; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p),
			 "sys/bus/pci/devices/%s/nvidia/"
			 "creatable_vgpu_types",
			 vfs[i]);
		w(p, NV_HDR "1414  : NVIDIA H200X-1-18C\n"
			    "1415  : NVIDIA H200X-2-35C\n"
			    "junk line\n"
			    "0 : zero is not a type\n"
			    "99999999999999999999 : too big\n"
			    "12x : bad\n");
		snprintf(p, sizeof(p),
			 "sys/bus/pci/devices/%s/nvidia/"
			 "current_vgpu_type",
			 vfs[i]);
		w(p, "0\n");
	}
}

START_TEST(test_nvidia)
{
	struct vgpu_type **types;
	struct vgpu_instance *in;
	struct vgpu_parent *p;
	size_t n;

	nvidia_tree();
	p = get_parent(PF);
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(vgpu_type_get_id(types[0]), "nvidia-1414");
	ck_assert_str_eq(vgpu_type_get_name(types[0]), "NVIDIA H200X-1-18C");
	ck_assert_int_eq(vgpu_type_get_available_instances(types[0]), 3);
	ck_assert_str_eq(vgpu_type_get_id(types[1]), "nvidia-1415");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[1], "model"), "nvidia");
	vgpu_type_list_free(types, n);
	vgpu_parent_unref(p);

	ck_assert_int_eq(create(UUID1, "nvidia-1415"), 0);
	ck_content(VF_DIR(VF0) "/nvidia/current_vgpu_type", "1415");
	/* the VF stays on NVIDIA's VFIO driver */
	{
		char buf[PATH_MAX];

		ck_assert_int_eq(fake_tree_resolve_link(tree,
							VF_DIR(VF0) "/driver",
							buf, sizeof(buf)),
				 0);
		ck_assert_str_eq(buf, "sys/bus/pci/drivers/nvidia");
	}
	ck_content(VF_DIR(VF0) "/driver_override", "(null)\n");
	ck_assert_int_eq(vgpu_instance_get(ctx, UUID1, NULL, &in), 0);
	ck_assert_str_eq(vgpu_instance_get_type_id(in), "nvidia-1415");
	vgpu_instance_unref(in);
	ck_assert_int_eq(avail("nvidia-1414"), 2);
	ck_assert_int_eq(avail("nvidia-1415"), 2);

	/* the card fills: the driver shrinks the other VFs' lists */
	w(VF_DIR(VF1) "/nvidia/creatable_vgpu_types",
	  NV_HDR "1415  : NVIDIA H200X-2-35C\n");
	w(VF_DIR(VF2) "/nvidia/creatable_vgpu_types", NV_HDR);
	ck_assert_int_eq(avail("nvidia-1415"), 1);
	ck_assert_int_eq(create(UUID2, "nvidia-1414"), -ENOENT);
	ck_assert_int_eq(create(UUID2, "nvidia-1415"), 0);
	ck_content(VF_DIR(VF1) "/nvidia/current_vgpu_type", "1415");
	w(VF_DIR(VF2) "/nvidia/creatable_vgpu_types", NV_HDR);
	ck_assert_int_eq(avail("nvidia-1415"), 0);
	ck_assert_int_eq(create(UUID3, "nvidia-1415"), -ENOSPC);
	ck_assert_uint_eq(count_active(), 2);

	/* remove writes 0 and releases the VF */
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_prefix(VF_DIR(VF0) "/nvidia/current_vgpu_type", "0");
	ck_assert(!run_exists("sriov/instances/" UUID1));
	ck_assert_uint_eq(count_active(), 1);
	/* numvfs is never touched for NVIDIA */
	ck_content(PF_DIR "/sriov_numvfs", "3\n");
}
END_TEST

START_TEST(test_nvidia_no_vfs)
{
	struct vgpu_type **types;
	struct vgpu_parent *p;
	size_t n;

	add_pf("nvidia", 0x10de, 0x2335, 3);
	p = get_parent(PF);
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	ck_assert_uint_eq(n, 0);
	vgpu_type_list_free(types, n);
	ck_assert_ptr_nonnull(strstr(logbuf, "sriov-manage"));
	ck_assert_int_eq(vgpu_backend_sriov.create(p, "nvidia-1414", UUID1),
			 -ENOSPC);
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
	vgpu_parent_unref(p);
}
END_TEST

/* ---- Intel xe ---------------------------------------------------------- */

static void xe_tree(bool vfs)
{
	add_pf("xe", 0x8086, 0x56c0, 2);
	for (int i = 1; i <= 2; i++) {
		char p[PATH_MAX];

		snprintf(p, sizeof(p),
			 PF_DIR "/sriov_admin/vf%d/profile/"
				"sched_priority",
			 i);
		w(p, "[low] normal high\n");
		snprintf(p, sizeof(p),
			 PF_DIR "/sriov_admin/vf%d/profile/"
				"exec_quantum_ms",
			 i);
		w(p, "0\n");
	}
	if (vfs) {
		enable_vfs_unbound(2);
	}
}

START_TEST(test_xe_types)
{
	struct vgpu_type **types;
	struct vgpu_parent *p;
	size_t n;

	xe_tree(false);
	p = get_parent(PF);
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	ck_assert_uint_eq(n, 4);
	ck_assert_str_eq(vgpu_type_get_id(types[0]), "xe-default");
	ck_assert_str_eq(vgpu_type_get_id(types[1]), "xe-high");
	ck_assert_str_eq(vgpu_type_get_id(types[2]), "xe-low");
	ck_assert_str_eq(vgpu_type_get_id(types[3]), "xe-normal");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[1], "sched_priority"),
			 "high");
	ck_assert_str_eq(vgpu_type_get_attr_value(types[1], "model"), "xe");
	ck_assert_int_eq(vgpu_type_get_available_instances(types[1]), 2);
	vgpu_type_list_free(types, n);
	/* garbage choices are not types */
	w(PF_DIR "/sriov_admin/vf1/profile/sched_priority",
	  "[low] ../x HIGH\n");
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	ck_assert_uint_eq(n, 2);
	vgpu_type_list_free(types, n);
	vgpu_parent_unref(p);
}
END_TEST

/* the profile is written before binding and restored on rollback */
START_TEST(test_xe_rollback)
{
	xe_tree(true);
	add_vfio_driver();
	ck_assert_int_eq(create(UUID1, "xe-high"), -EIO);
	ck_prefix(PF_DIR "/sriov_admin/vf1/profile/sched_priority", "low");
	ck_assert(!run_exists("sriov/instances/" UUID1));
	/* a level the kernel does not offer */
	ck_assert_int_eq(create(UUID1, "xe-urgent"), -ENOENT);
	ck_assert_int_eq(create(UUID1, "xe-URGENT"), -ENOENT);
}
END_TEST

/* ---- AMD GIM ------------------------------------------------------------- */

START_TEST(test_gim)
{
	struct vgpu_parent *p;
	struct vgpu_type *t;

	add_pf("gim", 0x1002, 0x74a1, 4);
	enable_vfs(1); /* autoprobe: bound to gim */
	w("sys/module/gim/parameters/vf_num", "1\n");
	w("sys/module/gim/parameters/accelerator_partition_mode", "1\n");
	t = get_type(PF, "gim-vf");
	ck_assert_str_eq(vgpu_type_get_attr_value(t, "gim.vf_num"), "1");
	ck_assert_str_eq(
		vgpu_type_get_attr_value(t, "gim.accelerator_partition_mode"),
		"1");
	ck_assert_ptr_nonnull(strstr(vgpu_type_get_description(t), "fixed"));
	vgpu_type_unref(t);

	/* VF0 taken by someone else: GIM never enables more VFs */
	add_vfio_driver();
	ck_assert_int_eq(fake_tree_unbind(tree, "pci", "gim", VF0), 0);
	ck_assert_int_eq(fake_tree_bind(tree, "pci", "vfio-pci", VF0), 0);
	ck_assert_int_eq(avail("gim-vf"), 0);
	ck_assert_int_eq(create(UUID1, "gim-vf"), -ENOSPC);
	p = get_parent(PF);
	logbuf[0] = '\0';
	ck_assert_int_eq(vgpu_backend_sriov.create(p, "gim-vf", UUID1),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(logbuf, "/etc/gim_config"));
	vgpu_parent_unref(p);
	ck_content(PF_DIR "/sriov_numvfs", "1\n");
}
END_TEST

/* ---- QoS and usage ------------------------------------------------------- */

/* an active instance as libvgpu leaves one: its record, and the VF bound
 * to vfio-pci */
static void active_record(const char *uuid, const char *vf, const char *type,
			  const char *model)
{
	char p[PATH_MAX];
	FILE *f;

	add_vfio_driver();
	snprintf(p, sizeof(p), "%s/run/sriov/instances", base);
	ck_assert_int_eq(vgpu_mkdir_p(p, 0755), 0);
	snprintf(p, sizeof(p), "%s/run/sriov/instances/%s", base, uuid);
	f = fopen(p, "w");
	ck_assert_ptr_nonnull(f);
	fprintf(f, "parent=" PF "\nvf=%s\ntype=%s\nmodel=%s\n", vf, type,
		model);
	fclose(f);
	ck_assert_int_eq(fake_tree_bind(tree, "pci", "vfio-pci", vf), 0);
}

/* an active xe-default instance on VF0 */
static void xe_active_instance(void)
{
	xe_tree(true);
	active_record(UUID1, VF0, "xe-default", "xe");
}

static struct vgpu_instance *get_instance(const char *uuid)
{
	struct vgpu_instance *in = NULL;

	ck_assert_int_eq(vgpu_instance_get(ctx, uuid, NULL, &in), 0);
	return in;
}

#define XE_PROFILE(file) PF_DIR "/sriov_admin/vf1/profile/" file

START_TEST(test_xe_qos)
{
	struct vgpu_instance *in;
	unsigned int state;
	uint64_t v;

	xe_active_instance();
	in = get_instance(UUID1);

	/* the time slice is exec_quantum_ms, in whole milliseconds */
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_TIME_SLICE_US, 0,
					       &v, &state),
			 0);
	ck_assert_uint_eq(v, 0);
	ck_assert_uint_eq(state, 0);
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_TIME_SLICE_US, 25000, 0), 0);
	ck_prefix(XE_PROFILE("exec_quantum_ms"), "25");
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_TIME_SLICE_US, 25500, 0),
		-EINVAL);
	ck_assert_ptr_nonnull(strstr(logbuf, "whole milliseconds"));
	w(XE_PROFILE("exec_quantum_ms"), "40\n");
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_TIME_SLICE_US, 0, &v, NULL),
		0);
	ck_assert_uint_eq(v, 40000);

	/* this kernel has no preempt_timeout_us yet: refused, naming it */
	logbuf[0] = '\0';
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_PREEMPT_TIMEOUT_US, 1000, 0),
		-EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(logbuf, "sriov backend"));
	ck_assert_ptr_nonnull(strstr(logbuf, "preempt_timeout_us"));
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_PREEMPT_TIMEOUT_US,
					       0, &v, NULL),
			 -EOPNOTSUPP);
	w(XE_PROFILE("preempt_timeout_us"), "640000\n");
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_PREEMPT_TIMEOUT_US,
					       100000, 0),
			 0);
	ck_prefix(XE_PROFILE("preempt_timeout_us"), "100000");

	/* priority is sched_priority's selected level */
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_PRIORITY, 0, &v, NULL), 0);
	ck_assert_uint_eq(v, VGPU_QOS_PRIORITY_LOW);
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_PRIORITY,
					       VGPU_QOS_PRIORITY_HIGH, 0),
			 0);
	ck_prefix(XE_PROFILE("sched_priority"), "high");
	w(XE_PROFILE("sched_priority"), "low normal [high]\n");
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_PRIORITY, 0, &v, NULL), 0);
	ck_assert_uint_eq(v, VGPU_QOS_PRIORITY_HIGH);
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_PRIORITY, 3, 0),
			 -ERANGE);
	/* a kernel that offers fewer levels */
	w(XE_PROFILE("sched_priority"), "[low] normal\n");
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_PRIORITY,
					       VGPU_QOS_PRIORITY_HIGH, 0),
			 -EOPNOTSUPP);

	/* knobs xe does not have */
	logbuf[0] = '\0';
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_WEIGHT, 2, 0),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(
		strstr(logbuf, "sriov backend cannot set weight"));
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 30, 0),
		-EOPNOTSUPP);
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_WEIGHT, 0, &v, NULL),
		-EOPNOTSUPP);
	/* not defined: VGPU_QOS_CONFIG has nowhere to go */
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_TIME_SLICE_US, 1000,
					       VGPU_QOS_CONFIG),
			 -ENOENT);
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_TIME_SLICE_US, 1000, 0x80),
		-EINVAL);

	/* removal gives the VF its profile back (static files are not
	 * truncated by a write: what was written is the prefix) */
	w(XE_PROFILE("exec_quantum_ms"), "99999\n");
	w(XE_PROFILE("preempt_timeout_us"), "9999999\n");
	w(XE_PROFILE("sched_priority"), "xxxxxxxxxxxxxxx\n");
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_prefix(XE_PROFILE("exec_quantum_ms"), "09999");
	ck_prefix(XE_PROFILE("preempt_timeout_us"), "6400009");
	ck_prefix(XE_PROFILE("sched_priority"), "lowxx");
	vgpu_instance_unref(in);
}
END_TEST

/* malformed profile files are errors, never values */
START_TEST(test_xe_qos_malformed)
{
	static const struct {
		const char *file, *content;
		enum vgpu_qos_knob knob;
	} bad[] = {
		{ "exec_quantum_ms", "abc\n", VGPU_QOS_TIME_SLICE_US },
		{ "exec_quantum_ms", "-5\n", VGPU_QOS_TIME_SLICE_US },
		{ "exec_quantum_ms", "99999999999\n", VGPU_QOS_TIME_SLICE_US },
		{ "exec_quantum_ms", "\n", VGPU_QOS_TIME_SLICE_US },
		{ "preempt_timeout_us", "12 34\n",
		  VGPU_QOS_PREEMPT_TIMEOUT_US },
		{ "sched_priority", "low normal high\n", VGPU_QOS_PRIORITY },
		{ "sched_priority", "[urgent] low\n", VGPU_QOS_PRIORITY },
		{ "sched_priority", "\n", VGPU_QOS_PRIORITY },
	};
	struct vgpu_instance *in;

	xe_active_instance();
	in = get_instance(UUID1);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char rel[PATH_MAX];
		uint64_t v = 77;

		snprintf(rel, sizeof(rel), XE_PROFILE("%s"), bad[i].file);
		ck_assert_int_eq(fake_tree_remove(tree, rel), 0);
		w(rel, bad[i].content);
		ck_assert_msg(vgpu_instance_get_qos(in, bad[i].knob, 0, &v,
						    NULL) == -EBADMSG,
			      "%s = \"%s\" was read", bad[i].file,
			      bad[i].content);
		ck_assert_uint_eq(v, 77);
		/* a write needs the old value first (it is restored later) */
		if (bad[i].knob != VGPU_QOS_PRIORITY)
			ck_assert_int_eq(
				vgpu_instance_set_qos(in, bad[i].knob, 1000, 0),
				-EBADMSG);
	}
	vgpu_instance_unref(in);
}
END_TEST

START_TEST(test_sriov_usage)
{
	struct vgpu_instance *in;
	struct vgpu_usage *u;
	uint64_t v;

	xe_active_instance();
	in = get_instance(UUID1);
	/* nothing exposed: every counter "not reported", none 0 */
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	for (int c = 0; c < 6; c++)
		ck_assert_int_eq(vgpu_usage_get(u, c, &v), -ENODATA);
	ck_assert_int_eq(vgpu_usage_get(u, 6, &v), -EINVAL);
	ck_assert_uint_gt(vgpu_usage_get_timestamp(u), 0);
	vgpu_usage_unref(u);

	/* vram_quota and the host's vfio-msix counts of the VF */
	w(XE_PROFILE("vram_quota"), "1073741824\n");
	w("proc/interrupts",
	  "           CPU0       CPU1       \n"
	  "  16:         10          0   IO-APIC   16-fasteoi   i801_smbus\n"
	  " 150:          3          4   IR-PCI-MSIX-" VF0
	  "    0-edge      vfio-msix[0](" VF0 ")\n"
	  " 151:          0        100   IR-PCI-MSIX-" VF0
	  "    1-edge      vfio-msix[1](" VF0 ")\n"
	  " 152:          9          9   IR-PCI-MSIX-" VF1
	  "    0-edge      vfio-msix[0](" VF1 ")\n"
	  " 153:          1          1   IR-PCI-MSIX-" VF0
	  "    2-edge      xe(" VF0 ")\n"
	  " NMI:          0          0   Non-maskable interrupts\n");
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FB_BYTES, &v), 0);
	ck_assert_uint_eq(v, 1073741824);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_INTERRUPTS, &v), 0);
	ck_assert_uint_eq(v, 107);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_ENGINE_BUSY_NS, &v),
			 -ENODATA);
	vgpu_usage_unref(u);

	/* a malformed line for the VF: not reported, not a wrong number;
	 * auto-provisioned VRAM (0): not reported */
	ck_assert_int_eq(fake_tree_remove(tree, "proc/interrupts"), 0);
	w("proc/interrupts", "           CPU0       CPU1\n"
			     " 150:          3   x   vfio-msix[0](" VF0 ")\n");
	ck_assert_int_eq(fake_tree_remove(tree, XE_PROFILE("vram_quota")), 0);
	w(XE_PROFILE("vram_quota"), "0\n");
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_INTERRUPTS, &v),
			 -ENODATA);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FB_BYTES, &v), -ENODATA);
	vgpu_usage_unref(u);
	vgpu_instance_unref(in);
}
END_TEST

#define NV_PARAMS VF_DIR(VF0) "/nvidia/vgpu_params"

START_TEST(test_nvidia_qos)
{
	struct vgpu_instance *in;
	struct vgpu_usage *u;
	uint64_t v;

	nvidia_tree();
	ck_assert_int_eq(create(UUID1, "nvidia-1415"), 0);
	in = get_instance(UUID1);

	/* a driver without vgpu_params */
	logbuf[0] = '\0';
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0, 0),
		-EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(logbuf, "nvidia/vgpu_params"));

	/* off: frame_rate_limiter=0, in effect from the next VM start */
	w(NV_PARAMS, "\n");
	logbuf[0] = '\0';
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0, 0),
		VGPU_QOS_APPLIED_AT_NEXT_START);
	ck_content(NV_PARAMS, "frame_rate_limiter=0");
	ck_assert_ptr_nonnull(strstr(logbuf, "next VM start"));
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					       &v, NULL),
			 0);
	ck_assert_uint_eq(v, 0);
	/* other parameters are kept */
	ck_assert_int_eq(fake_tree_remove(tree, NV_PARAMS), 0);
	w(NV_PARAMS, "enable_uvm=1, frame_rate_limiter=1\n");
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0, 0),
		VGPU_QOS_APPLIED_AT_NEXT_START);
	ck_prefix(NV_PARAMS, "enable_uvm=1,frame_rate_limiter=0");
	/* these VFs publish no frl_config: a number cannot be set or read */
	logbuf[0] = '\0';
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 30, 0),
		-EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(logbuf, "sriov backend"));
	ck_assert_int_eq(fake_tree_remove(tree, NV_PARAMS), 0);
	w(NV_PARAMS, "enable_uvm=1\n");
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					       &v, NULL),
			 -ENODATA);
	/* malformed parameter files */
	{
		static const char *const bad[] = {
			"frame_rate_limiter=abc\n",
			"frame_rate_limiter\n",
			"=1\n",
			"a b=1\n",
			"frame_rate_limiter=99999\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			ck_assert_int_eq(fake_tree_remove(tree, NV_PARAMS), 0);
			w(NV_PARAMS, bad[i]);
			ck_assert_msg(vgpu_instance_get_qos(
					      in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					      &v, NULL) == -EBADMSG,
				      "\"%s\" accepted", bad[i]);
		}
	}
	/* the scheduler is NVIDIA's per GPU */
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_TIME_SLICE_US, 1000, 0),
		-EOPNOTSUPP);

	/* usage: the profile's framebuffer; the vendor driver's VFIO counts
	 * no interrupts we can see */
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FB_BYTES, &v), 0);
	ck_assert_uint_eq(v, 35ull << 30);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_INTERRUPTS, &v),
			 -ENODATA);
	vgpu_usage_unref(u);
	vgpu_instance_unref(in);
}
END_TEST

START_TEST(test_generic_qos)
{
	struct vgpu_instance *in;
	uint64_t v;

	add_pf("i40e", 0x8086, 0x1572, 4);
	enable_vfs_unbound(2);
	active_record(UUID1, VF0, "VF", "generic");
	in = get_instance(UUID1);
	for (int k = 0; k < 5; k++) {
		logbuf[0] = '\0';
		ck_assert_int_eq(vgpu_instance_set_qos(in, k, 1, 0),
				 -EOPNOTSUPP);
		ck_assert_ptr_nonnull(strstr(logbuf, "generic model"));
		ck_assert_int_eq(vgpu_instance_get_qos(in, k, 0, &v, NULL),
				 -EOPNOTSUPP);
	}
	vgpu_instance_unref(in);
}
END_TEST

/* ---- definitions -------------------------------------------------------- */

START_TEST(test_definitions)
{
	struct vgpu_instance **list, *in;
	struct vgpu_config *c;
	char p[PATH_MAX];
	size_t n;

	add_pf("i40e", 0x8086, 0x1572, 4);
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "VF"), 0);
	vgpu_config_set_autostart(c, true);
	ck_assert_int_eq(vgpu_instance_define(ctx, PF, UUID1, c, 0, &in), 0);
	ck_assert_str_eq(vgpu_instance_get_backend(in), "sriov");
	ck_assert(vgpu_instance_is_defined(in));
	ck_assert(!vgpu_instance_is_active(in));
	vgpu_instance_unref(in);
	/* next to mdevctl's directory, never inside it */
	snprintf(p, sizeof(p), "%s/etc/vgpu-sriov.d/" PF "/" UUID1, base);
	ck_assert_int_eq(access(p, F_OK), 0);
	snprintf(p, sizeof(p), "%s/etc/mdevctl.d/" PF, base);
	ck_assert_int_ne(access(p, F_OK), 0);
	/* through the alias too, stored under the canonical id */
	ck_assert_int_eq(
		vgpu_instance_define(ctx, "sriov:" PF, UUID2, c, 0, NULL), 0);
	snprintf(p, sizeof(p), "%s/etc/vgpu-sriov.d/" PF "/" UUID2, base);
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert_int_eq(vgpu_instance_define(ctx, PF, UUID1, c, 0, NULL),
			 -EEXIST);

	ck_assert_int_eq(vgpu_instance_list(ctx, VGPU_LIST_DEFINED, NULL, NULL,
					    &list, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(vgpu_instance_get_backend(list[0]), "sriov");
	ck_assert_str_eq(vgpu_instance_get_type_id(list[0]), "VF");
	vgpu_instance_list_free(list, n);

	vgpu_config_set_autostart(c, false);
	ck_assert_int_eq(vgpu_instance_modify(ctx, UUID1, NULL, c), 0);
	ck_assert_int_eq(vgpu_instance_get(ctx, UUID1, NULL, &in), 0);
	ck_assert(!vgpu_config_get_autostart(vgpu_instance_get_config(in)));
	vgpu_instance_unref(in);
	/* starting on a static tree fails and rolls back */
	ck_assert_int_lt(vgpu_instance_start(ctx, UUID1, NULL, NULL), 0);
	ck_assert_int_eq(vgpu_instance_undefine(ctx, UUID1, NULL), 0);
	ck_assert_int_eq(vgpu_instance_undefine(ctx, UUID1, NULL), -ENOENT);
	snprintf(p, sizeof(p), "%s/etc/vgpu-sriov.d/" PF "/" UUID1, base);
	ck_assert_int_ne(access(p, F_OK), 0);

	/* the directory is settable */
	snprintf(p, sizeof(p), "%s/elsewhere", base);
	setenv("VGPU_SRIOV_CONFIG_DIR", p, 1);
	ck_assert_int_eq(vgpu_instance_define(ctx, PF, UUID3, c, 0, NULL), 0);
	snprintf(p, sizeof(p), "%s/elsewhere/" PF "/" UUID3, base);
	ck_assert_int_eq(access(p, F_OK), 0);
	ck_assert_int_eq(vgpu_instance_list(ctx, VGPU_LIST_DEFINED, NULL, NULL,
					    &list, &n),
			 0);
	ck_assert_uint_eq(n, 1);
	vgpu_instance_list_free(list, n);
	unsetenv("VGPU_SRIOV_CONFIG_DIR");
	vgpu_config_unref(c);
}
END_TEST

/* ---- dynamic: through vgpu-fakesysfs ------------------------------------- */

START_TEST(test_fuse_generic)
{
	struct vgpu_instance *in;

	add_pf("nvme", 0x1b36, 0x0010, 3);
	add_vfio_driver();
	mount_up();
	ck_assert_int_eq(avail("VF"), 3);
	ck_assert_int_eq(create(UUID1, "VF"), 0);
	/* enabled on demand with autoprobe off, VF0 handed to vfio-pci */
	ck_content(PF_DIR "/sriov_numvfs", "3\n");
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "0\n");
	ck_assert(run_exists("sriov/enabled/" PF));
	ck_content(VF_DIR(VF0) "/driver_override", "vfio-pci\n");
	ck_assert_int_eq(vgpu_instance_get(ctx, UUID1, NULL, &in), 0);
	ck_assert(vgpu_instance_is_active(in));
	ck_assert_str_eq(vgpu_instance_get_type_id(in), "VF");
	ck_assert_ptr_nonnull(strstr(vgpu_instance_get_syspath(in), VF0));
	ck_assert_int_ge(vgpu_instance_get_iommu_group(in), 0);
	vgpu_instance_unref(in);
	ck_assert_int_eq(avail("VF"), 2);
	ck_assert_int_eq(create(UUID1, "VF"), -EEXIST);
	ck_assert_int_eq(create(UUID2, "VF"), 0);
	ck_assert_int_eq(create(UUID3, "VF"), 0);
	ck_assert_int_eq(avail("VF"), 0);
	ck_assert_int_eq(create("11111111-2222-4333-8444-555555555504", "VF"),
			 -ENOSPC);
	ck_assert_uint_eq(count_active(), 3);

	/* a new context (another process) sees the same mapping */
	{
		struct vgpu_ctx *saved = ctx;
		char p[PATH_MAX];

		ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
		vgpu_ctx_set_log_fn(ctx, log_capture, NULL);
		ck_assert_int_eq(vgpu_ctx_set_sysfs_root(
					 ctx, vgpu_ctx_get_sysfs_root(saved)),
				 0);
		snprintf(p, sizeof(p), "%s/run", base);
		ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, p), 0);
		ck_assert_int_eq(vgpu_instance_get(ctx, UUID2, NULL, &in), 0);
		ck_assert_ptr_nonnull(
			strstr(vgpu_instance_get_syspath(in), VF1));
		vgpu_instance_unref(in);
		vgpu_ctx_unref(ctx);
		ctx = saved;
	}

	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID2), 0);
	ck_content(VF_DIR(VF1) "/driver_override", "(null)\n");
	ck_assert(!exists(VF_DIR(VF1) "/driver"));
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	/* VFs stay while one is in use */
	ck_content(PF_DIR "/sriov_numvfs", "3\n");
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID3), 0);
	/* the last one gone: back to the state before */
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "1\n");
	ck_assert(!run_exists("sriov/enabled/" PF));
	ck_assert(!exists(VF_DIR(VF0)));
	ck_assert_uint_eq(count_active(), 0);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID3), -ENOENT);
}
END_TEST

/* VFs enabled by the admin with autoprobe on: the host driver is swapped
 * for vfio-pci and back, and the VFs stay enabled */
START_TEST(test_fuse_host_driver)
{
	add_pf("nvme", 0x1b36, 0x0010, 2);
	add_vfio_driver();
	enable_vfs(2); /* autoprobe 1: both bound to nvme */
	mount_up();
	ck_assert_int_eq(avail("VF"), 2);
	ck_assert_int_eq(create(UUID1, "VF"), 0);
	{
		char buf[PATH_MAX];

		ck_assert_int_eq(fake_tree_resolve_link(tree,
							VF_DIR(VF0) "/driver",
							buf, sizeof(buf)),
				 0);
		ck_assert_str_eq(buf, "sys/bus/pci/drivers/vfio-pci");
	}
	ck_assert(!run_exists("sriov/enabled/" PF));
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	{
		char buf[PATH_MAX];

		ck_assert_int_eq(fake_tree_resolve_link(tree,
							VF_DIR(VF0) "/driver",
							buf, sizeof(buf)),
				 0);
		ck_assert_str_eq(buf, "sys/bus/pci/drivers/nvme");
	}
	ck_content(PF_DIR "/sriov_numvfs", "2\n");
}
END_TEST

/* the bind fails mid-way: the VFs enabled for it are disabled again */
START_TEST(test_fuse_rollback)
{
	add_pf("nvme", 0x1b36, 0x0010, 2);
	mount_up(); /* no vfio-pci driver */
	ck_assert_int_eq(create(UUID1, "VF"), -ENODEV);
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "1\n");
	ck_assert(!exists(VF_DIR(VF0)));
	ck_assert(!run_exists("sriov/enabled/" PF));
	ck_assert(!run_exists("sriov/instances/" UUID1));

	/* a VF that cannot be torn down keeps the VFs up, and says so */
	add_vfio_driver();
	ck_assert_int_eq(create(UUID1, "VF"), 0);
	ck_assert_int_eq(fake_tree_bind(tree, "pci", "nvme", VF1), 0);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_content(PF_DIR "/sriov_numvfs", "2\n");
	ck_assert(run_exists("sriov/enabled/" PF));
}
END_TEST

/* a PF without a driver cannot enable VFs: the kernel's ENOENT */
START_TEST(test_fuse_no_pf_driver)
{
	add_pf(NULL, 0x1b36, 0x0010, 2);
	add_vfio_driver();
	mount_up();
	ck_assert_int_eq(create(UUID1, "VF"), -ENOENT);
	ck_assert_ptr_nonnull(strstr(logbuf, "no PF driver"));
	ck_content(PF_DIR "/sriov_drivers_autoprobe", "1\n");
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
}
END_TEST

START_TEST(test_fuse_xe)
{
	struct vgpu_instance *in;
	struct vgpu_config *c;

	xe_tree(false);
	add_vfio_driver();
	mount_up();
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "xe-high"), 0);
	ck_assert_int_eq(
		vgpu_config_add_attr(c, "profile/exec_quantum_ms", "25", -1),
		0);
	ck_assert_int_eq(vgpu_instance_create(ctx, PF, UUID1, c, &in), 0);
	ck_prefix(PF_DIR "/sriov_admin/vf1/profile/sched_priority", "high");
	ck_prefix(PF_DIR "/sriov_admin/vf1/profile/exec_quantum_ms", "25");
	ck_content(VF_DIR(VF0) "/driver_override", "vfio-pci\n");
	vgpu_instance_unref(in);
	/* an attribute that fails removes the instance again */
	ck_assert_int_eq(vgpu_config_set_type(c, "xe-default"), 0);
	ck_assert_int_eq(
		vgpu_config_add_attr(c, "profile/no_such_knob", "1", -1), 0);
	w(PF_DIR "/sriov_admin/vf2/profile/no_such_knob/x", "");
	ck_assert_int_lt(vgpu_instance_create(ctx, PF, UUID2, c, NULL), 0);
	ck_assert_uint_eq(count_active(), 1);
	vgpu_config_unref(c);

	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_prefix(PF_DIR "/sriov_admin/vf1/profile/sched_priority", "low");
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
}
END_TEST

/* QoS of a definition is applied when it starts */
START_TEST(test_fuse_xe_qos_definition)
{
	struct vgpu_instance *in;
	struct vgpu_config *c;

	xe_tree(false);
	w(PF_DIR "/sriov_admin/vf1/profile/preempt_timeout_us", "0\n");
	add_vfio_driver();
	mount_up();
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "xe-default"), 0);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_TIME_SLICE_US, 20000),
			 0);
	ck_assert_int_eq(
		vgpu_config_set_qos(c, VGPU_QOS_PREEMPT_TIMEOUT_US, 50000), 0);
	ck_assert_int_eq(vgpu_instance_define(ctx, PF, UUID1, c, 0, NULL), 0);
	ck_assert_int_eq(vgpu_instance_start(ctx, UUID1, NULL, &in), 0);
	ck_content(PF_DIR "/sriov_admin/vf1/profile/exec_quantum_ms", "20");
	ck_content(PF_DIR "/sriov_admin/vf1/profile/preempt_timeout_us",
		   "50000");
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	/* restored: "0" written over "20" */
	ck_content(PF_DIR "/sriov_admin/vf1/profile/exec_quantum_ms", "00");
	/* a knob the backend refuses fails the start and removes it again */
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_WEIGHT, 3), 0);
	ck_assert_int_eq(vgpu_instance_modify(ctx, UUID1, NULL, c), 0);
	ck_assert_int_eq(vgpu_instance_start(ctx, UUID1, NULL, NULL),
			 -EOPNOTSUPP);
	ck_assert_uint_eq(count_active(), 0);
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
	vgpu_config_unref(c);
}
END_TEST

START_TEST(test_fuse_gim)
{
	add_pf("gim", 0x1002, 0x74a1, 4);
	add_vfio_driver();
	enable_vfs_unbound(2); /* GIM enabled them at load */
	mount_up();
	ck_assert_int_eq(avail("gim-vf"), 2);
	ck_assert_int_eq(create(UUID1, "gim-vf"), 0);
	ck_assert_int_eq(create(UUID2, "gim-vf"), 0);
	ck_assert_int_eq(create(UUID3, "gim-vf"), -ENOSPC);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID2), 0);
	/* the VF count is GIM's: never changed */
	ck_content(PF_DIR "/sriov_numvfs", "2\n");
}
END_TEST

/* the SR-IOV side of a PF that is an mdev parent too, through the alias */
START_TEST(test_fuse_dual_parent)
{
	struct vgpu_instance *in;
	struct vgpu_config *c;

	add_pf("nvme", 0x1b36, 0x0010, 2);
	add_vfio_driver();
	ck_assert_int_eq(fake_tree_register_mdev_parent(tree, PF), 0);
	mount_up();
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "VF"), 0);
	/* the plain id is the mdev parent, which has no type "VF" */
	ck_assert_int_eq(vgpu_instance_create(ctx, PF, UUID1, c, NULL),
			 -ENOENT);
	ck_assert_int_eq(vgpu_instance_create(ctx, "sriov:" PF, UUID1, c, &in),
			 0);
	ck_assert_str_eq(vgpu_instance_get_parent_id(in), PF);
	ck_assert_str_eq(vgpu_instance_get_backend(in), "sriov");
	vgpu_instance_unref(in);
	vgpu_config_unref(c);
	ck_assert_int_eq(vgpu_instance_remove(ctx, UUID1), 0);
	ck_content(PF_DIR "/sriov_numvfs", "0\n");
}
END_TEST

/* ---- main ------------------------------------------------------------------ */

/* 0 if a mount works here, 77 if FUSE is unavailable */
static int probe_fuse(void)
{
	char b[PATH_MAX], m[PATH_MAX];
	struct fake_tree *t;
	pid_t pid;
	int r, ret;

	if (!daemon_path)
		return 77;
	snprintf(b, sizeof(b), "/tmp/test-sriov-probe-XXXXXX");
	if (!mkdtemp(b))
		return 77;
	snprintf(m, sizeof(m), "%s/m", b);
	if (mkdir(m, 0755) < 0 || fake_tree_new(b, &t) < 0) {
		rmdir(b);
		return 77;
	}
	r = fake_mount_start(b, m, daemon_path, &pid);
	ret = r == 0 && fake_mount_stop(m, pid) == 0 ? 0 : 77;
	if (r < 0)
		fprintf(stderr, "FUSE probe: %s\n", strerror(-r));
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

	daemon_path = argc > 1 ? argv[1] : NULL;
	s = suite_create("sriov");

	tc = tcase_create("static");
	tcase_add_checked_fixture(tc, setup, teardown);
	tcase_add_test(tc, test_parents);
	tcase_add_test(tc, test_pf_also_mdev_parent);
	tcase_add_test(tc, test_generic_type);
	tcase_add_test(tc, test_generic_capacity);
	tcase_add_test(tc, test_malformed_facts);
	tcase_add_test(tc, test_static_rollback_enable);
	tcase_add_test(tc, test_static_rollback_bind);
	tcase_add_test(tc, test_bad_requests);
	tcase_add_test(tc, test_records);
	tcase_add_test(tc, test_nvidia);
	tcase_add_test(tc, test_nvidia_no_vfs);
	tcase_add_test(tc, test_xe_types);
	tcase_add_test(tc, test_xe_rollback);
	tcase_add_test(tc, test_gim);
	tcase_add_test(tc, test_definitions);
	tcase_add_test(tc, test_xe_qos);
	tcase_add_test(tc, test_xe_qos_malformed);
	tcase_add_test(tc, test_sriov_usage);
	tcase_add_test(tc, test_nvidia_qos);
	tcase_add_test(tc, test_generic_qos);
	suite_add_tcase(s, tc);

	if (probe_fuse() == 0) {
		tc = tcase_create("fuse");
		tcase_add_checked_fixture(tc, setup, teardown);
		tcase_set_timeout(tc, 120);
		tcase_add_test(tc, test_fuse_generic);
		tcase_add_test(tc, test_fuse_host_driver);
		tcase_add_test(tc, test_fuse_rollback);
		tcase_add_test(tc, test_fuse_no_pf_driver);
		tcase_add_test(tc, test_fuse_xe);
		tcase_add_test(tc, test_fuse_xe_qos_definition);
		tcase_add_test(tc, test_fuse_gim);
		tcase_add_test(tc, test_fuse_dual_parent);
		suite_add_tcase(s, tc);
	} else {
		fprintf(stderr, "no FUSE fake sysfs: dynamic tests skipped\n");
	}

	return run_suite(s);
}
