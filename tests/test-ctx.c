/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context: defaults, settings, the environment, logging. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "test-common.h"

static int logged;
static int last_prio;

static void count_log(struct vgpu_ctx *ctx, int priority, const char *file,
		      int line, const char *fn, const char *format,
		      va_list args, void *userdata)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)fn;
	(void)format;
	(void)args;
	ck_assert_ptr_eq(userdata, &logged);
	logged++;
	last_prio = priority;
}

START_TEST(defaults)
{
	struct vgpu_ctx *ctx;

	unsetenv("VGPU_SYSFS_ROOT");
	unsetenv("VGPU_CONFIG_DIR");
	unsetenv("VGPU_RUNTIME_DIR");
	unsetenv("VGPU_LOG");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	ck_assert_str_eq(vgpu_ctx_get_sysfs_root(ctx), "/sys");
	ck_assert_str_eq(vgpu_ctx_get_config_dir(ctx), "/etc/mdevctl.d");
	ck_assert_str_eq(vgpu_ctx_get_runtime_dir(ctx), "/run/vgpu");
	ck_assert_int_eq(vgpu_ctx_get_log_priority(ctx), LOG_ERR);
	ck_assert_ptr_eq(vgpu_ctx_ref(ctx), ctx);
	ck_assert_ptr_eq(vgpu_ctx_unref(ctx), ctx);
	ck_assert_ptr_null(vgpu_ctx_unref(ctx));
}
END_TEST

START_TEST(environment)
{
	struct vgpu_ctx *ctx;

	setenv("VGPU_SYSFS_ROOT", "/host/sys/", 1);
	setenv("VGPU_CONFIG_DIR", "relative/is/ignored", 1);
	setenv("VGPU_RUNTIME_DIR", "/tmp/rt", 1);
	setenv("VGPU_LOG", "debug", 1);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	ck_assert_str_eq(vgpu_ctx_get_sysfs_root(ctx), "/host/sys");
	ck_assert_str_eq(vgpu_ctx_get_config_dir(ctx), "/etc/mdevctl.d");
	ck_assert_str_eq(vgpu_ctx_get_runtime_dir(ctx), "/tmp/rt");
	ck_assert_int_eq(vgpu_ctx_get_log_priority(ctx), LOG_DEBUG);
	vgpu_ctx_unref(ctx);
	setenv("VGPU_LOG", "6", 1);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	ck_assert_int_eq(vgpu_ctx_get_log_priority(ctx), LOG_INFO);
	vgpu_ctx_unref(ctx);
	setenv("VGPU_LOG", "loud", 1);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	ck_assert_int_eq(vgpu_ctx_get_log_priority(ctx), LOG_ERR);
	vgpu_ctx_unref(ctx);
}
END_TEST

START_TEST(settings)
{
	struct vgpu_ctx *ctx;
	int data;

	unsetenv("VGPU_SYSFS_ROOT");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, "relative"), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, ""), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, NULL), -EINVAL);
	ck_assert_str_eq(vgpu_ctx_get_sysfs_root(ctx), "/sys");
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, "/"), 0);
	ck_assert_str_eq(vgpu_ctx_get_sysfs_root(ctx), "/");
	ck_assert_int_eq(vgpu_ctx_set_config_dir(ctx, "/x//"), 0);
	ck_assert_str_eq(vgpu_ctx_get_config_dir(ctx), "/x");
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, "/r"), 0);
	ck_assert_str_eq(vgpu_ctx_get_runtime_dir(ctx), "/r");
	vgpu_ctx_set_userdata(ctx, &data);
	ck_assert_ptr_eq(vgpu_ctx_get_userdata(ctx), &data);
	vgpu_ctx_unref(ctx);
	ck_assert_int_eq(vgpu_ctx_new(NULL), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(NULL, "/"), -EINVAL);
	ck_assert_ptr_null(vgpu_ctx_get_sysfs_root(NULL));
	ck_assert_int_eq(vgpu_ctx_get_log_priority(NULL), -EINVAL);
}
END_TEST

START_TEST(log_function_and_priority)
{
	struct vgpu_ctx *ctx;
	struct vgpu_parent *p;

	unsetenv("VGPU_LOG");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, count_log, &logged);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, "/nonexistent"), 0);
	/* a missing parent is not an error worth logging at LOG_ERR */
	logged = 0;
	ck_assert_int_eq(vgpu_parent_get(ctx, "0000:00:02.0", &p), -ENODEV);
	ck_assert_int_eq(logged, 0);
	vgpu_ctx_set_log_priority(ctx, LOG_DEBUG);
	ck_assert_int_eq(vgpu_instance_remove(ctx, "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01"), -ENOENT);
	vgpu_ctx_unref(ctx);
	(void)last_prio;
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctx");
	TCase *tc = tcase_create("ctx");

	tcase_add_test(tc, defaults);
	tcase_add_test(tc, environment);
	tcase_add_test(tc, settings);
	tcase_add_test(tc, log_function_and_priority);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
