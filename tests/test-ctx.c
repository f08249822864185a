/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The context: defaults, settings, the environment, logging. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <unistd.h>

#include "test-common.h"

static int logged;
static int last_prio;
static char last_msg[512];

static void count_log(struct vgpu_ctx *ctx, int priority, const char *file,
		      int line, const char *fn, const char *format,
		      va_list args, void *userdata)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)fn;
	vsnprintf(last_msg, sizeof(last_msg), format, args);
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
	ck_assert_int_eq(vgpu_instance_remove(
				 ctx, "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01"),
			 -ENOENT);
	vgpu_ctx_unref(ctx);
	(void)last_prio;
}
END_TEST

/* the default log function says what failed, not where in the library */
START_TEST(default_log_names_no_function)
{
	char path[] = "/tmp/vgpu-log.XXXXXX", buf[512] = "";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	struct vgpu_ctx *ctx;
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	unsetenv("VGPU_LOG");
	setenv("VGPU_SYSFS_ROOT", "relative", 1);
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	unsetenv("VGPU_SYSFS_ROOT");
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, sizeof(buf) - 1, 0);
	ck_assert_int_gt(n, 0);
	ck_assert_str_eq(
		buf,
		"libvgpu: ignoring VGPU_SYSFS_ROOT=relative: not an absolute path\n");
	ck_assert_ptr_null(strstr(buf, "vgpu_ctx_new"));
	close(fd);
	unlink(path);
	vgpu_ctx_unref(ctx);
}
END_TEST

/* a provider control socket that accepts connections (the kernel's
 * backlog) but never answers: a hung provider */
static int hung_provider(const char *runtime, char *sockpath, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char dir[512];
	int fd;

	snprintf(dir, sizeof(dir), "%s/vfio-user", runtime);
	ck_assert_int_eq(mkdir(dir, 0755), 0);
	snprintf(sockpath, size, "%s/hung0.ctl", dir);
	ck_assert_uint_lt(strlen(sockpath), sizeof(sa.sun_path));
	strcpy(sa.sun_path, sockpath);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(listen(fd, 8), 0);
	return fd;
}

/*
 * A context with no sysfs and @runtime (a mkdtemp template) as its runtime
 * directory, where a provider registers whose socket (@sock, its fd in
 * @fd) never answers; provider calls give up after 200 ms.
 */
static struct vgpu_ctx *ctx_with_hung_provider(char *runtime, char *sock,
					       size_t socklen, int *fd)
{
	struct vgpu_ctx *ctx;

	ck_assert_ptr_nonnull(mkdtemp(runtime));
	*fd = hung_provider(runtime, sock, socklen);
	setenv("VGPU_PROVIDER_TIMEOUT_MS", "200", 1);
	unsetenv("VGPU_LOG");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, count_log, &logged);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(ctx, "/nonexistent"), 0);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, runtime), 0);
	return ctx;
}

START_TEST(backends_and_a_hung_provider)
{
	char runtime[] = "/tmp/vgpu-rt.XXXXXX", sock[600], dir[600];
	struct vgpu_parent **list, *p;
	struct vgpu_instance **insts;
	struct vgpu_monitor *m;
	struct vgpu_ctx *ctx;
	size_t n;
	int fd;

	ctx = ctx_with_hung_provider(runtime, sock, sizeof(sock), &fd);

	/* malformed selections */
	ck_assert_int_eq(vgpu_ctx_set_backends(NULL, "mdev"), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, ""), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, "bogus"), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, "mdev,"), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, ",mdev"), -EINVAL);
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, "mdevx"), -EINVAL);

	/* all backends: the hung provider is an error, not an empty list */
	logged = 0;
	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), -ETIMEDOUT);
	ck_assert_int_eq(logged, 1);
	ck_assert_int_eq(last_prio, LOG_ERR);
	ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -ETIMEDOUT);
	ck_assert_int_eq(vgpu_instance_list(ctx, VGPU_LIST_ACTIVE, NULL, NULL,
					    &insts, &n),
			 -ETIMEDOUT);
	/* the monitor goes on without it (logged), instead of failing */
	logged = 0;
	ck_assert_int_eq(vgpu_monitor_new(ctx, &m), 0);
	ck_assert_int_ge(logged, 1);
	ck_assert_ptr_nonnull(
		strstr(last_msg, "provider hung0 is not responding"));
	vgpu_monitor_unref(m);

	/* mdev alone: the provider is not asked */
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, "mdev"), 0);
	logged = 0;
	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	vgpu_parent_list_free(list, n);
	ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -ENODEV);
	ck_assert_int_eq(vgpu_instance_list(ctx, VGPU_LIST_ACTIVE, NULL, NULL,
					    &insts, &n),
			 0);
	vgpu_instance_list_free(insts, n);
	ck_assert_int_eq(logged, 0);
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, "sriov,vfio-user"), 0);
	ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -ETIMEDOUT);
	ck_assert_int_eq(vgpu_ctx_set_backends(ctx, NULL), 0);
	ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -ETIMEDOUT);

	/* the provider gone, its socket stale: absent, quietly */
	close(fd);
	logged = 0;
	ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -ENODEV);
	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), 0);
	vgpu_parent_list_free(list, n);
	ck_assert_int_eq(logged, 0);

	vgpu_ctx_unref(ctx);
	unsetenv("VGPU_PROVIDER_TIMEOUT_MS");
	unlink(sock);
	snprintf(dir, sizeof(dir), "%s/vfio-user", runtime);
	rmdir(dir);
	rmdir(runtime);
}
END_TEST

/* what vgpu_ctx_set_unreachable_fn() heard */
struct unreachable_log {
	int calls;
	char backend[32];
	char parent[64];
	int error;
	bool logged_first; /* the library's message came before the call */
};

static void note_unreachable(struct vgpu_ctx *ctx, const char *backend,
			     const char *parent_id, int error, void *userdata)
{
	struct unreachable_log *u = userdata;

	ck_assert_ptr_nonnull(ctx);
	u->calls++;
	snprintf(u->backend, sizeof(u->backend), "%s", backend);
	snprintf(u->parent, sizeof(u->parent), "%s", parent_id);
	u->error = error;
	u->logged_first = logged > 0 &&
			  strstr(last_msg, "provider hung0 is not responding");
}

/* with an unreachable function, a listing leaves the hung provider out and
 * reports it; look-ups of one object still fail; NULL restores failures */
START_TEST(listing_leaves_out_a_hung_provider)
{
	char runtime[] = "/tmp/vgpu-rt.XXXXXX", sock[600], dir[600];
	struct unreachable_log u = { 0 };
	struct vgpu_instance **insts, *in;
	struct vgpu_parent **list, *p;
	struct vgpu_ctx *ctx;
	size_t n;
	int fd;

	ctx = ctx_with_hung_provider(runtime, sock, sizeof(sock), &fd);
	vgpu_ctx_set_unreachable_fn(NULL, note_unreachable, &u); /* no-op */
	vgpu_ctx_set_unreachable_fn(ctx, note_unreachable, &u);

	logged = 0;
	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 0);
	vgpu_parent_list_free(list, n);
	ck_assert_int_eq(u.calls, 1);
	ck_assert_str_eq(u.backend, "vfio-user");
	ck_assert_str_eq(u.parent, "hung0");
	ck_assert_int_eq(u.error, -ETIMEDOUT);
	ck_assert(u.logged_first);

	logged = 0;
	ck_assert_int_eq(
		vgpu_instance_list(ctx, VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED,
				   NULL, NULL, &insts, &n),
		0);
	vgpu_instance_list_free(insts, n);
	ck_assert_int_eq(u.calls, 2);
	ck_assert_int_eq(vgpu_instance_list(ctx, VGPU_LIST_ACTIVE, "hung0",
					    NULL, &insts, &n),
			 0);
	ck_assert_uint_eq(n, 0);
	vgpu_instance_list_free(insts, n);
	ck_assert_int_eq(u.calls, 3);

	/* one object: no partial answer to give */
	ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -ETIMEDOUT);
	ck_assert_int_eq(
		vgpu_instance_get(ctx, "11111111-2222-4333-8444-555555555555",
				  NULL, &in),
		-ETIMEDOUT);
	ck_assert_int_eq(
		vgpu_instance_list(ctx, VGPU_LIST_ACTIVE, NULL,
				   "11111111-2222-4333-8444-555555555555",
				   &insts, &n),
		-ETIMEDOUT);
	ck_assert_int_eq(u.calls, 3);

	/* NULL: whole failures again */
	vgpu_ctx_set_unreachable_fn(ctx, NULL, NULL);
	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), -ETIMEDOUT);
	ck_assert_int_eq(u.calls, 3);

	/* a stale socket is absent, quietly: nothing to report */
	vgpu_ctx_set_unreachable_fn(ctx, note_unreachable, &u);
	close(fd);
	ck_assert_int_eq(vgpu_parent_list(ctx, &list, &n), 0);
	vgpu_parent_list_free(list, n);
	ck_assert_int_eq(u.calls, 3);

	vgpu_ctx_unref(ctx);
	unsetenv("VGPU_PROVIDER_TIMEOUT_MS");
	unlink(sock);
	snprintf(dir, sizeof(dir), "%s/vfio-user", runtime);
	rmdir(dir);
	rmdir(runtime);
}
END_TEST

/* VGPU_PROVIDER_TIMEOUT_MS: 1..600000, anything else the default; the
 * message of a hung provider says which */
START_TEST(provider_timeout_setting)
{
	static const struct {
		const char *env;
		const char *says;
	} cases[] = {
		{ "150", "no answer in 150 ms" },
		{ "abc", "no answer in 5000 ms" },
		{ "0", "no answer in 5000 ms" },
	};
	char runtime[] = "/tmp/vgpu-rt.XXXXXX", sock[600], dir[600];
	struct vgpu_parent *p;
	struct vgpu_ctx *ctx;
	int fd;

	ck_assert_ptr_nonnull(mkdtemp(runtime));
	fd = hung_provider(runtime, sock, sizeof(sock));
	unsetenv("VGPU_LOG");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, count_log, &logged);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, runtime), 0);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		setenv("VGPU_PROVIDER_TIMEOUT_MS", cases[i].env, 1);
		ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -ETIMEDOUT);
		ck_assert_msg(
			strstr(last_msg, "provider hung0 is not responding") &&
				strstr(last_msg, cases[i].says),
			"%s: %s", cases[i].env, last_msg);
	}
	unsetenv("VGPU_PROVIDER_TIMEOUT_MS");
	vgpu_ctx_unref(ctx);
	close(fd);
	unlink(sock);
	snprintf(dir, sizeof(dir), "%s/vfio-user", runtime);
	rmdir(dir);
	rmdir(runtime);
}
END_TEST

/* a provider that closes a permitted caller's connection without a word is
 * broken (-EIO), not absent and not a permission problem */
START_TEST(provider_closes_without_answer)
{
	char runtime[] = "/tmp/vgpu-rt.XXXXXX", sock[600], dir[600];
	struct vgpu_parent *p;
	struct vgpu_ctx *ctx;
	pid_t child;
	int fd, status;

	ck_assert_ptr_nonnull(mkdtemp(runtime));
	fd = hung_provider(runtime, sock, sizeof(sock));
	child = fork();
	ck_assert_int_ge(child, 0);
	if (child == 0) {
		int c = accept(fd, NULL, NULL);

		close(c);
		_exit(c < 0);
	}
	unsetenv("VGPU_LOG");
	ck_assert_int_eq(vgpu_ctx_new(&ctx), 0);
	vgpu_ctx_set_log_fn(ctx, count_log, &logged);
	ck_assert_int_eq(vgpu_ctx_set_runtime_dir(ctx, runtime), 0);
	logged = 0;
	ck_assert_int_eq(vgpu_parent_get(ctx, "hung0", &p), -EIO);
	ck_assert_int_eq(logged, 1);
	ck_assert_ptr_nonnull(
		strstr(last_msg, "provider hung0 closed the connection"));
	ck_assert_int_eq(waitpid(child, &status, 0), child);
	ck_assert_int_eq(status, 0);
	vgpu_ctx_unref(ctx);
	close(fd);
	unlink(sock);
	snprintf(dir, sizeof(dir), "%s/vfio-user", runtime);
	rmdir(dir);
	rmdir(runtime);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("ctx");
	TCase *tc = tcase_create("ctx");

	/* a hung provider takes the default 5 s to give up on */
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, defaults);
	tcase_add_test(tc, environment);
	tcase_add_test(tc, settings);
	tcase_add_test(tc, log_function_and_priority);
	tcase_add_test(tc, default_log_names_no_function);
	tcase_add_test(tc, backends_and_a_hung_provider);
	tcase_add_test(tc, listing_leaves_out_a_hung_provider);
	tcase_add_test(tc, provider_timeout_setting);
	tcase_add_test(tc, provider_closes_without_answer);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
