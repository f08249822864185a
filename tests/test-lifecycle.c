/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Instance lifecycle against a fake sysfs with the kernel's behaviour
 * (vgpu-fakesysfs over FUSE): create, attributes, rollback, remove,
 * definitions, autostart, capacity races, the monitor. Exits 77 without
 * FUSE. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "test-common.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define GVT "0000:00:02.0"
#define NV  "0000:3b:00.0"
#define U1  "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01"
#define U2  "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b02"
#define U3  "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b03"

static void live_host(void)
{
	fixture_standard_host();
	fixture_go_live();
}

static struct vgpu_config *config_of(const char *type)
{
	struct vgpu_config *c;

	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, type), 0);
	return c;
}

static int available(const char *parent, const char *type)
{
	struct vgpu_parent *p;
	struct vgpu_type *t;
	int a;

	ck_assert_int_eq(vgpu_parent_get(fx.ctx, parent, &p), 0);
	ck_assert_int_eq(vgpu_type_get(p, type, &t), 0);
	a = vgpu_type_get_available_instances(t);
	vgpu_type_unref(t);
	vgpu_parent_unref(p);
	return a;
}

static size_t count_active(void)
{
	struct vgpu_instance **l;
	size_t n;

	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NULL, NULL, &l, &n), 0);
	vgpu_instance_list_free(l, n);
	return n;
}

START_TEST(create_and_remove)
{
	struct vgpu_config *c;
	struct vgpu_instance *in;
	char path[PATH_MAX];

	live_host();
	c = config_of("i915-GVTg_V5_8");
	ck_assert_int_eq(available(GVT, "i915-GVTg_V5_8"), 2);
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, U1, c, &in), 0);
	ck_assert_str_eq(vgpu_instance_get_uuid(in), U1);
	ck_assert_str_eq(vgpu_instance_get_type_id(in), "i915-GVTg_V5_8");
	ck_assert(vgpu_instance_is_active(in));
	ck_assert_int_ge(vgpu_instance_get_iommu_group(in), 0);
	snprintf(path, sizeof(path), "%s/bus/mdev/devices/" U1, fx.sysroot);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(available(GVT, "i915-GVTg_V5_8"), 1);
	vgpu_instance_unref(in);
	{
		struct vgpu_instance **l;
		size_t n;

		ck_assert_int_eq(
			vgpu_instance_list(fx.ctx, 0, NULL, U1, &l, &n), 0);
		ck_assert_uint_eq(n, 1);
		vgpu_instance_list_free(l, n);
		ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NV, U1, &l, &n),
				 0);
		ck_assert_uint_eq(n, 0);
	}

	/* generated UUID */
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, NULL, c, &in), 0);
	ck_assert_uint_eq(strlen(vgpu_instance_get_uuid(in)), 36);
	ck_assert_int_eq(available(GVT, "i915-GVTg_V5_8"), 0);
	ck_assert_int_eq(
		vgpu_instance_remove(fx.ctx, vgpu_instance_get_uuid(in)), 0);
	vgpu_instance_unref(in);

	ck_assert_int_eq(vgpu_instance_remove(fx.ctx, U1), 0);
	ck_assert_int_eq(access(path, F_OK), -1);
	ck_assert_int_eq(available(GVT, "i915-GVTg_V5_8"), 2);
	ck_assert_int_eq(vgpu_instance_remove(fx.ctx, U1), -ENOENT);
	ck_assert_uint_eq(count_active(), 0);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(create_errors_are_the_kernels)
{
	struct vgpu_config *c = config_of("i915-GVTg_V5_4"), *bad;
	struct vgpu_instance *in = (void *)1;

	live_host();
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, U1, c, &in), 0);
	vgpu_instance_unref(in);
	/* the only slot is taken */
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, U2, c, &in),
			 -ENOSPC);
	ck_assert_ptr_null(in);
	/* the UUID is taken, even on another parent */
	bad = config_of("mtty-2");
	ck_assert_int_eq(
		vgpu_instance_create(fx.ctx, "0000:00:05.0", U1, bad, &in),
		-EEXIST);
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, "xyz", c, &in),
			 -EINVAL);
	ck_assert_int_eq(
		vgpu_instance_create(fx.ctx, "0000:99:00.0", U2, c, &in),
		-ENODEV);
	vgpu_config_unref(bad);
	bad = config_of("i915-nope");
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, U2, bad, &in),
			 -ENOENT);
	vgpu_config_unref(bad);
	ck_assert_int_eq(vgpu_config_new(&bad), 0);
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, U2, bad, &in),
			 -EINVAL);
	vgpu_config_unref(bad);
	ck_assert_uint_eq(count_active(), 1);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(kernel_refusal_after_our_check)
{
	/* the library sees capacity, the kernel still refuses (a driver whose
	 * own accounting differs): the kernel's errno comes back, normalised */
	struct vgpu_config *c = config_of("i915-GVTg_V5_8");
	struct vgpu_instance *in;

	fixture_standard_host();
	ck_assert_int_eq(fake_tree_set_full_errno(fx.tree, GVT,
						  "i915-GVTg_V5_8", EUSERS),
			 0);
	ck_assert_int_eq(
		fake_tree_write(
			fx.tree,
			"sys/devices/pci0000:00/" GVT
			"/mdev_supported_types/i915-GVTg_V5_8/available_instances",
			"0\n"),
		0);
	fixture_go_live();
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, U1, c, &in),
			 -ENOSPC);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(attributes_in_order_and_rollback)
{
	struct vgpu_config *c = config_of("nvidia-256");
	struct vgpu_instance *in;
	char path[PATH_MAX], buf[64] = "";
	int fd;

	live_host();
	ck_assert_int_eq(vgpu_config_add_attr(c, "nvidia/vgpu_params",
					      "frame_rate_limiter=0", -1),
			 0);
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, NV, U1, c, &in), 0);
	snprintf(path, sizeof(path), "%s/nvidia/vgpu_params",
		 vgpu_instance_get_syspath(in));
	fd = open(path, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_gt(read(fd, buf, sizeof(buf) - 1), 0);
	close(fd);
	ck_assert_ptr_nonnull(strstr(buf, "frame_rate_limiter=0"));
	/* live write through the public call */
	ck_assert_int_eq(
		vgpu_instance_write_attr(in, "nvidia/vgpu_params", "bad"),
		-EINVAL);
	ck_assert_int_eq(vgpu_instance_write_attr(in, "../../x", "1"), -EINVAL);
	vgpu_instance_unref(in);

	/* the second attribute fails: the instance is removed again */
	ck_assert_int_eq(
		vgpu_config_add_attr(c, "nvidia/vgpu_params", "bad", -1), 0);
	ck_assert_int_eq(available(NV, "nvidia-256"), 23);
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, NV, U2, c, &in), -EINVAL);
	ck_assert_int_eq(available(NV, "nvidia-256"), 23);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U2, NULL, &in), -ENOENT);
	/* an attribute the instance does not have */
	ck_assert_int_eq(vgpu_config_del_attr(c, -1), 0);
	ck_assert_int_eq(vgpu_config_add_attr(c, "no_such_attr", "1", 0), 0);
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, NV, U2, c, &in), -ENOENT);
	ck_assert_int_eq(available(NV, "nvidia-256"), 23);
	ck_assert_ptr_nonnull(strstr(fx.log, "removing the instance again"));
	vgpu_config_unref(c);
}
END_TEST

static char *read_file(const char *path)
{
	static char buf[4096];
	int fd = open(path, O_RDONLY);
	ssize_t n;

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n < 0)
		return NULL;
	buf[n] = '\0';
	return buf;
}

START_TEST(define_start_stop_undefine)
{
	struct vgpu_config *c = config_of("i915-GVTg_V5_8");
	struct vgpu_instance *in, **l;
	char path[PATH_MAX];
	size_t n;

	live_host();
	vgpu_config_set_autostart(c, true);
	ck_assert_int_eq(vgpu_config_add_attr(c, "a", "1", -1), 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U1, c, 0, &in), 0);
	ck_assert(vgpu_instance_is_defined(in));
	ck_assert(!vgpu_instance_is_active(in));
	vgpu_instance_unref(in);
	/* mdevctl's exact bytes */
	snprintf(path, sizeof(path), "%s/" GVT "/" U1, fx.config);
	ck_assert_str_eq(
		read_file(path),
		"{\n  \"mdev_type\": \"i915-GVTg_V5_8\",\n  \"start\": \"auto\",\n"
		"  \"attrs\": [\n    {\n      \"a\": \"1\"\n    }\n  ]\n}");
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U1, c, 0, NULL),
			 -EEXIST);
	ck_assert_int_eq(vgpu_config_del_attr(c, 0), 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U1, c,
					      VGPU_DEFINE_FORCE, NULL),
			 0);

	ck_assert_int_eq(vgpu_instance_start(fx.ctx, U1, NULL, &in), 0);
	ck_assert(vgpu_instance_is_active(in));
	ck_assert(vgpu_instance_is_defined(in));
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_instance_start(fx.ctx, U1, NULL, NULL), -EEXIST);

	ck_assert_int_eq(vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED, NULL,
					    NULL, &l, &n),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert(vgpu_instance_is_active(l[0]) &&
		  vgpu_instance_is_defined(l[0]));
	ck_assert(vgpu_config_get_autostart(vgpu_instance_get_config(l[0])));
	vgpu_instance_list_free(l, n);

	/* modify keeps the active instance as it is */
	vgpu_config_set_autostart(c, false);
	ck_assert_int_eq(vgpu_instance_modify(fx.ctx, U1, NULL, c), 0);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1, NULL, &in), 0);
	ck_assert(!vgpu_config_get_autostart(vgpu_instance_get_config(in)));
	ck_assert(vgpu_instance_is_active(in));
	vgpu_instance_unref(in);

	ck_assert_int_eq(vgpu_instance_remove(fx.ctx, U1), 0);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1, NULL, &in), 0);
	ck_assert(!vgpu_instance_is_active(in));
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_instance_undefine(fx.ctx, U1, NULL), 0);
	ck_assert_int_eq(vgpu_instance_undefine(fx.ctx, U1, NULL), -ENOENT);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1, NULL, &in), -ENOENT);
	ck_assert_int_eq(vgpu_instance_start(fx.ctx, U1, NULL, NULL), -ENOENT);
	ck_assert_int_eq(vgpu_instance_modify(fx.ctx, U1, NULL, c), -ENOENT);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(same_uuid_under_two_parents)
{
	struct vgpu_config *c = config_of("i915-GVTg_V5_8");
	struct vgpu_instance *in;

	live_host();
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U1, c, 0, NULL), 0);
	ck_assert_int_eq(
		vgpu_instance_define(fx.ctx, "0000:00:05.0", U1, c, 0, NULL),
		0);
	ck_assert_int_eq(vgpu_instance_start(fx.ctx, U1, NULL, NULL),
			 -ENOTUNIQ);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1, NULL, &in), -ENOTUNIQ);
	ck_assert_int_eq(vgpu_instance_start(fx.ctx, U1, GVT, NULL), 0);
	/* once active, the active one decides */
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1, NULL, &in), 0);
	ck_assert_str_eq(vgpu_instance_get_parent_id(in), GVT);
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_instance_undefine(fx.ctx, U1, NULL), 0);
	ck_assert_int_eq(vgpu_instance_undefine(fx.ctx, U1, NULL), -ENOENT);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(malformed_definitions)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"mdev_type\": 5}",
		"{\"start\": \"auto\"}",
		"{\"mdev_type\": \"x\", \"attrs\": [{\"a\": 1}]}",
		"{\"mdev_type\": \"x\", \"attrs\": [{\"a\": \"1\", \"b\": \"2\"}]}",
		"{\"mdev_type\": \"x\", \"attrs\": [{\"../a\": \"1\"}]}",
		"{\"mdev_type\": \"../x\"}",
		"{\"mdev_type\": \"x\"} trailing",
	};
	char dir[PATH_MAX], path[PATH_MAX + 64];
	struct vgpu_instance **l;
	size_t n;

	fixture_standard_host();
	snprintf(dir, sizeof(dir), "%s/" GVT, fx.config);
	ck_assert_int_eq(mkdir(fx.config, 0755), 0);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		FILE *f;

		snprintf(path, sizeof(path),
			 "%s/8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2c%02zu", dir, i);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs(bad[i], f);
		fclose(f);
	}
	/* one good one, without "start" (mdevctl wants it: strict refuses) */
	snprintf(path, sizeof(path), "%s/" U3, dir);
	{
		FILE *f = fopen(path, "w");

		fputs("{\"mdev_type\": \"mtty-2\", \"future_key\": {}}", f);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/not-a-uuid", dir);
	fclose(fopen(path, "w"));
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED, NULL,
					    NULL, &l, &n),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(vgpu_instance_get_uuid(l[0]), U3);
	ck_assert(!vgpu_config_get_autostart(vgpu_instance_get_config(l[0])));
	vgpu_instance_list_free(l, n);
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED | VGPU_LIST_STRICT,
				   NULL, NULL, &l, &n),
		-EBADMSG);
	/* narrowed to one UUID, only its definition counts: strict passes
	 * for the good one and fails for a malformed one */
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED | VGPU_LIST_STRICT,
				   NULL, U3, &l, &n),
		-EBADMSG); /* no "start" */
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED, NULL,
				   "8A1F6A8C-0F0B-4C1E-9D6A-3C8C2F6F2B03", &l,
				   &n),
		0);
	ck_assert_uint_eq(n, 1);
	vgpu_instance_list_free(l, n);
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED | VGPU_LIST_STRICT,
				   NULL, "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2c01",
				   &l, &n),
		-EBADMSG);
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED | VGPU_LIST_STRICT,
				   NULL, U1, &l, &n),
		0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, 0, NULL, "not-a-uuid", &l, &n),
		-EINVAL);
}
END_TEST

START_TEST(autostart_starts_auto_only)
{
	struct vgpu_config *c = config_of("i915-GVTg_V5_8");

	live_host();
	vgpu_config_set_autostart(c, true);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U1, c, 0, NULL), 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U2, c, 0, NULL), 0);
	vgpu_config_set_autostart(c, false);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U3, c, 0, NULL), 0);
	ck_assert_int_eq(vgpu_parent_autostart(fx.ctx, GVT), 2);
	ck_assert_uint_eq(count_active(), 2);
	/* again: both active already, nothing to do */
	ck_assert_int_eq(vgpu_parent_autostart(fx.ctx, GVT), 0);
	ck_assert_int_eq(vgpu_parent_autostart(fx.ctx, "0000:00:05.0"), 0);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(race_for_the_last_slot)
{
	/* many processes, each with its own context, race for one slot:
	 * exactly one wins, the others get ENOSPC, nothing is half made */
	enum {
		N = 6
	};
	pid_t pids[N];
	int wins = 0, full = 0;

	fixture_standard_host();
	fake_tree_set_create_delay_ms(fx.tree, 20);
	fixture_go_live();
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		ck_assert_int_ge(pids[i], 0);
		if (pids[i] == 0) {
			struct vgpu_ctx *ctx;
			struct vgpu_config *c;
			char uuid[37];
			int r;

			snprintf(uuid, sizeof(uuid),
				 "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2c%02d", i);
			vgpu_ctx_new(&ctx);
			vgpu_ctx_set_log_fn(ctx, NULL, NULL);
			vgpu_ctx_set_sysfs_root(ctx, fx.sysroot);
			vgpu_ctx_set_config_dir(ctx, fx.config);
			vgpu_ctx_set_runtime_dir(ctx, fx.runtime);
			vgpu_config_new(&c);
			vgpu_config_set_type(c, "i915-GVTg_V5_4");
			r = vgpu_instance_create(ctx, GVT, uuid, c, NULL);
			_exit(r == 0 ? 0 : r == -ENOSPC ? 1 : 2);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		ck_assert_int_eq(waitpid(pids[i], &status, 0), pids[i]);
		ck_assert(WIFEXITED(status));
		wins += WEXITSTATUS(status) == 0;
		full += WEXITSTATUS(status) == 1;
	}
	ck_assert_int_eq(wins, 1);
	ck_assert_int_eq(full, N - 1);
	ck_assert_uint_eq(count_active(), 1);
	ck_assert_int_eq(available(GVT, "i915-GVTg_V5_4"), 0);
}
END_TEST

START_TEST(concurrent_defines_never_tear)
{
	/* two writers of the same definition: one EEXIST, the file whole */
	enum {
		N = 4
	};
	pid_t pids[N];
	int ok = 0, exists = 0;
	char path[PATH_MAX];
	struct dirent *de;
	DIR *d;

	fixture_standard_host();
	for (int i = 0; i < N; i++) {
		pids[i] = fork();
		if (pids[i] == 0) {
			struct vgpu_config *c;
			int r;

			vgpu_config_new(&c);
			vgpu_config_set_type(c, i % 2 ? "i915-GVTg_V5_4"
						      : "i915-GVTg_V5_8");
			vgpu_ctx_set_log_fn(fx.ctx, NULL, NULL);
			r = vgpu_instance_define(fx.ctx, GVT, U1, c, 0, NULL);
			_exit(r == 0 ? 0 : r == -EEXIST ? 1 : 2);
		}
	}
	for (int i = 0; i < N; i++) {
		int status;

		waitpid(pids[i], &status, 0);
		ok += WEXITSTATUS(status) == 0;
		exists += WEXITSTATUS(status) == 1;
	}
	ck_assert_int_eq(ok, 1);
	ck_assert_int_eq(exists, N - 1);
	snprintf(path, sizeof(path), "%s/" GVT, fx.config);
	d = opendir(path);
	ck_assert_ptr_nonnull(d);
	while ((de = readdir(d)))
		ck_assert_msg(de->d_name[0] != '.' ||
				      !strcmp(de->d_name, ".") ||
				      !strcmp(de->d_name, ".."),
			      "left over %s", de->d_name);
	closedir(d);
}
END_TEST

static struct vgpu_event *next_event(struct vgpu_monitor *m)
{
	struct vgpu_event *e = NULL;

	for (int i = 0; i < 100 && !e; i++) {
		struct pollfd pfd = { .fd = vgpu_monitor_get_fd(m),
				      .events = POLLIN };

		poll(&pfd, 1, 50);
		ck_assert_int_eq(vgpu_monitor_receive(m, &e), 0);
	}
	return e;
}

START_TEST(monitor_reports_changes)
{
	struct vgpu_config *c = config_of("i915-GVTg_V5_8");
	struct vgpu_monitor *m;
	struct vgpu_event *e;

	live_host();
	ck_assert_int_eq(vgpu_monitor_new(fx.ctx, &m), 0);
	ck_assert_int_eq(vgpu_monitor_set_rescan_interval(m, 20), 0);
	ck_assert_int_eq(vgpu_monitor_receive(m, &e), 0);
	ck_assert_ptr_null(e);

	ck_assert_int_eq(vgpu_instance_create(fx.ctx, GVT, U1, c, NULL), 0);
	e = next_event(m);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(vgpu_event_get_type(e), VGPU_EVENT_INSTANCE_ADDED);
	ck_assert_str_eq(vgpu_event_get_uuid(e), U1);
	ck_assert_str_eq(vgpu_event_get_parent_id(e), GVT);
	ck_assert_str_eq(vgpu_event_get_type_id(e), "i915-GVTg_V5_8");
	ck_assert_str_eq(vgpu_event_get_backend(e), "mdev");
	vgpu_event_unref(e);

	/* a parent goes away with its instance: instance first, then parent */
	ck_assert_int_eq(fake_tree_remove(fx.tree, "sys/class/mdev_bus/" GVT),
			 0);
	e = next_event(m);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(vgpu_event_get_type(e), VGPU_EVENT_PARENT_REMOVED);
	ck_assert_str_eq(vgpu_event_get_parent_id(e), GVT);
	ck_assert_ptr_null(vgpu_event_get_uuid(e));
	vgpu_event_unref(e);
	ck_assert_int_eq(fake_tree_symlink(fx.tree, "sys/class/mdev_bus/" GVT,
					   "../../devices/pci0000:00/" GVT),
			 0);
	e = next_event(m);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(vgpu_event_get_type(e), VGPU_EVENT_PARENT_ADDED);
	vgpu_event_unref(e);

	ck_assert_int_eq(vgpu_instance_remove(fx.ctx, U1), 0);
	e = next_event(m);
	ck_assert_ptr_nonnull(e);
	ck_assert_int_eq(vgpu_event_get_type(e), VGPU_EVENT_INSTANCE_REMOVED);
	vgpu_event_unref(e);
	ck_assert_ptr_null(vgpu_monitor_unref(m));
	vgpu_config_unref(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("lifecycle");
	TCase *tc = tcase_create("live");

	if (!fixture_can_go_live()) {
		fprintf(stderr, "no FUSE or no vgpu-fakesysfs: skipping\n");
		return EXIT_SKIP;
	}
	tcase_set_timeout(tc, 60);
	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, create_and_remove);
	tcase_add_test(tc, create_errors_are_the_kernels);
	tcase_add_test(tc, kernel_refusal_after_our_check);
	tcase_add_test(tc, attributes_in_order_and_rollback);
	tcase_add_test(tc, define_start_stop_undefine);
	tcase_add_test(tc, same_uuid_under_two_parents);
	tcase_add_test(tc, malformed_definitions);
	tcase_add_test(tc, autostart_starts_auto_only);
	tcase_add_test(tc, race_for_the_last_slot);
	tcase_add_test(tc, concurrent_defines_never_tear);
	tcase_add_test(tc, monitor_reports_changes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
