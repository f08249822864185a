/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl's shared helpers (tools/cli.c): the exit code of every cause, one
 * message per failure with the library's cause, files, option values.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-common.h"
#include "vgpuctl.h"

/* stderr of @fn(), in @buf */
static void capture_stderr(void (*fn)(void *), void *data, char *buf,
			   size_t size)
{
	char path[] = "/tmp/vgpu-cli-err.XXXXXX";
	int fd = mkstemp(path), saved = dup(STDERR_FILENO);
	ssize_t n;

	ck_assert_int_ge(fd, 0);
	fflush(stderr);
	dup2(fd, STDERR_FILENO);
	fn(data);
	fflush(stderr);
	dup2(saved, STDERR_FILENO);
	close(saved);
	n = pread(fd, buf, size - 1, 0);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	unlink(path);
}

START_TEST(exit_codes)
{
	static const struct {
		int err, code;
	} table[] = {
		{ 0, 0 },
		{ ENOENT, EXIT_NOTFOUND },
		{ ENODEV, EXIT_NOTFOUND },
		{ EEXIST, EXIT_CONFLICT },
		{ ENOSPC, EXIT_CONFLICT },
		{ EBUSY, EXIT_CONFLICT },
		{ ENOTUNIQ, EXIT_CONFLICT },
		{ EINVAL, EXIT_USAGE },
		{ EACCES, EXIT_PERMISSION },
		{ EPERM, EXIT_PERMISSION },
		{ ETIMEDOUT, EXIT_UNRESPONSIVE },
		{ EIO, EXIT_FAILURE },
		{ EBADMSG, EXIT_FAILURE },
		{ ENOMEM, EXIT_FAILURE },
	};

	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		ck_assert_msg(exit_for(-table[i].err) == table[i].code, "%s",
			      strerror(table[i].err));
	ck_assert_int_eq(EXIT_USAGE, 2);
	ck_assert_int_eq(EXIT_NOTFOUND, 3);
	ck_assert_int_eq(EXIT_CONFLICT, 4);
	ck_assert_int_eq(EXIT_PERMISSION, 5);
	ck_assert_int_eq(EXIT_UNRESPONSIVE, 6);
}
END_TEST

static struct vgpu_ctx *ctx;

static void fail_after_library_error(void *data)
{
	struct vgpu_config *c;
	int *code = data;

	/* the library logs why (a bad UUID), the verb reports the failure */
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "t"), 0);
	ck_assert_int_eq(vgpu_instance_create(ctx, "p", "not-a-uuid", c, NULL),
			 -EINVAL);
	vgpu_config_unref(c);
	code[0] = fail_errno(-EIO, "instance %s", "x");
	code[1] = fail_parent(-ENODEV, "0000:99:00.0");
	code[2] = fail_instance(-ENOENT, "11111111-2222-4333-8444-555555555555",
				"not defined");
	code[3] = fail_errno(-EACCES, "parent %s", "p");
}

START_TEST(one_message_per_failure)
{
	char err[2048];
	int code[4];

	unsetenv("VGPU_LOG");
	ck_assert_int_eq(cli_ctx_new(NULL, true, &ctx), 0);
	capture_stderr(fail_after_library_error, code, err, sizeof(err));
	vgpu_ctx_unref(ctx);
	/* the library's message is the cause, printed once, in our name;
	 * the causes we know better are ours */
	ck_assert_str_eq(
		err,
		"vgpuctl: \"not-a-uuid\" is not a UUID\n"
		"vgpuctl: parent 0000:99:00.0: no such parent\n"
		"vgpuctl: instance 11111111-2222-4333-8444-555555555555: not defined\n"
		"vgpuctl: parent p: permission denied\n");
	ck_assert_int_eq(code[0], EXIT_FAILURE);
	ck_assert_int_eq(code[1], EXIT_NOTFOUND);
	ck_assert_int_eq(code[2], EXIT_NOTFOUND);
	ck_assert_int_eq(code[3], EXIT_PERMISSION);
}
END_TEST

static void bad_dirs(void *data)
{
	struct opts o = { .sysfs_root = "relative" };
	struct vgpu_ctx *c = NULL;

	*(int *)data = cli_ctx_new(&o, true, &c);
	ck_assert_ptr_null(c);
}

START_TEST(context_directories)
{
	struct opts o = { .sysfs_root = "/s",
			  .config_dir = "/c",
			  .runtime_dir = "/r" };
	char err[256];
	int code;

	ck_assert_int_eq(cli_ctx_new(&o, true, &ctx), 0);
	ck_assert_str_eq(vgpu_ctx_get_sysfs_root(ctx), "/s");
	ck_assert_str_eq(vgpu_ctx_get_config_dir(ctx), "/c");
	ck_assert_str_eq(vgpu_ctx_get_runtime_dir(ctx), "/r");
	vgpu_ctx_unref(ctx);
	capture_stderr(bad_dirs, &code, err, sizeof(err));
	ck_assert_int_eq(code, EXIT_USAGE);
	ck_assert_str_eq(err, "vgpuctl: directories must be absolute paths\n");
}
END_TEST

static void write_file(const char *path, const char *text, size_t len)
{
	FILE *f = fopen(path, "we");

	ck_assert_ptr_nonnull(f);
	ck_assert_uint_eq(fwrite(text, 1, len, f), len);
	fclose(f);
}

START_TEST(read_file)
{
	char dir[] = "/tmp/vgpu-cli.XXXXXX", path[64], *text;
	static char big[20000];
	size_t len;

	ck_assert_ptr_nonnull(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/f", dir);
	ck_assert_int_eq(cli_read_file(path, false, 100, &text, &len), -ENOENT);
	write_file(path, "", 0);
	ck_assert_int_eq(cli_read_file(path, false, 100, &text, &len), 0);
	ck_assert_uint_eq(len, 0);
	ck_assert_str_eq(text, "");
	free(text);
	write_file(path, "a\0b", 3);
	ck_assert_int_eq(cli_read_file(path, false, 3, &text, &len), 0);
	ck_assert_uint_eq(len, 3);
	ck_assert_int_eq(memcmp(text, "a\0b", 4), 0);
	free(text);
	ck_assert_int_eq(cli_read_file(path, false, 2, &text, &len), -EFBIG);
	memset(big, 'x', sizeof(big));
	write_file(path, big, sizeof(big));
	ck_assert_int_eq(cli_read_file(path, false, sizeof(big), &text, &len),
			 0);
	ck_assert_uint_eq(len, sizeof(big));
	ck_assert_uint_eq(strlen(text), sizeof(big));
	free(text);
	ck_assert_int_eq(
		cli_read_file(path, false, sizeof(big) - 1, &text, &len),
		-EFBIG);
	/* "-" is a file name unless stdin is allowed */
	ck_assert_int_eq(chdir(dir), 0);
	ck_assert_int_eq(cli_read_file("-", false, 100, &text, &len), -ENOENT);
	/* a directory opens, but cannot be read */
	ck_assert_int_eq(cli_read_file(dir, false, 100, &text, &len), -EISDIR);
	unlink(path);
	ck_assert_int_eq(chdir("/"), 0);
	rmdir(dir);
}
END_TEST

START_TEST(arguments)
{
	char *help[] = { "list", "-a", "--help" };
	char *after[] = { "list", "--", "--help" };
	char *none[] = { "list", "-h1" };
	long v = -1;

	ck_assert(cli_want_help(3, help));
	ck_assert(!cli_want_help(3, after));
	ck_assert(!cli_want_help(2, none));
	ck_assert(!cli_want_help(0, NULL));
	ck_assert_int_eq(cli_parse_count("--count", "12", &v), 0);
	ck_assert_int_eq(v, 12);
	ck_assert_int_eq(cli_parse_count("--count", "0", &v), 0);
	ck_assert_int_eq(v, 0);
	/* malformed: a message and the usage status, the value untouched */
	v = 7;
	freopen("/dev/null", "w", stderr);
	ck_assert_int_eq(cli_parse_count("--count", "", &v), EXIT_USAGE);
	ck_assert_int_eq(cli_parse_count("--count", "-1", &v), EXIT_USAGE);
	ck_assert_int_eq(cli_parse_count("--count", "1x", &v), EXIT_USAGE);
	ck_assert_int_eq(cli_parse_count("--count", " 1", &v), EXIT_USAGE);
	ck_assert_int_eq(cli_parse_count("--count", "+1", &v), EXIT_USAGE);
	ck_assert_int_eq(v, 7);
	ck_assert_int_eq(
		cli_parse_count("--count", "99999999999999999999999", &v),
		EXIT_USAGE);
	ck_assert(looks_like_uuid("11111111-2222-4333-8444-555555555555"));
	ck_assert(!looks_like_uuid("0000:00:02.0"));
	ck_assert(!looks_like_uuid(""));
	ck_assert(!looks_like_uuid("11111111-2222-4333-8444-5555555555556"));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("cli");
	TCase *tc = tcase_create("cli");

	tcase_add_test(tc, exit_codes);
	tcase_add_test(tc, one_message_per_failure);
	tcase_add_test(tc, context_directories);
	tcase_add_test(tc, read_file);
	tcase_add_test(tc, arguments);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
