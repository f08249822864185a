/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The small helpers every listing leans on: UUID names, room in arrays,
 * definition files read with one reader for many.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "libvgpu-private.h"
#include "test-common.h"
#include "util-uuid.h"

START_TEST(uuid_names)
{
	static const struct {
		const char *in, *out; /* out NULL: refused */
	} cases[] = {
		{ "00000000-0000-4000-8000-000000000000",
		  "00000000-0000-4000-8000-000000000000" },
		{ "ABCDEF01-2345-6789-AbCd-ef0123456789",
		  "abcdef01-2345-6789-abcd-ef0123456789" },
		{ "00000000-0000-4000-8000-00000000000", NULL },   /* short */
		{ "00000000-0000-4000-8000-0000000000000", NULL }, /* long */
		{ "00000000-0000-4000-80000000000000000", NULL },  /* no dash */
		{ "0000000-00000-4000-8000-000000000000", NULL },  /* moved */
		{ "0000000g-0000-4000-8000-000000000000", NULL },  /* not hex */
		{ "00000000-0000-4000-8000-00000000000-", NULL },
		{ "00000000_0000-4000-8000-000000000000", NULL },
		{ "-0000000-0000-4000-8000-000000000000", NULL },
		{ "", NULL },
		{ "00000000", NULL },
		{ "00000000-0000-4000-8000-00000000000\xc3", NULL },
	};
	char out[VGPU_UUID_LEN + 1];

	for (size_t i = 0; i < sizeof(cases) / sizeof(*cases); i++) {
		memset(out, 'x', sizeof(out));
		if (cases[i].out) {
			ck_assert_int_eq(vgpu_uuid_normalize(cases[i].in, out),
					 0);
			ck_assert_str_eq(out, cases[i].out);
		} else {
			ck_assert_int_eq(vgpu_uuid_normalize(cases[i].in, out),
					 -EINVAL);
			/* nothing written on failure */
			ck_assert_int_eq(out[0], 'x');
		}
	}
	ck_assert_int_eq(vgpu_uuid_normalize(NULL, out), -EINVAL);
}
END_TEST

/* the array grows by doubling from the first size and keeps what it held */
START_TEST(array_room)
{
	uint32_t *a = NULL;
	size_t cap = 0;

	for (uint32_t i = 0; i < 100; i++) {
		ck_assert_int_eq(vgpu_array_reserve(&a, &cap, i, sizeof(*a), 4),
				 0);
		ck_assert_uint_gt(cap, i);
		a[i] = i * 3;
	}
	ck_assert_uint_eq(cap, 128);
	for (uint32_t i = 0; i < 100; i++)
		ck_assert_uint_eq(a[i], i * 3);
	/* room already: nothing changes */
	ck_assert_int_eq(vgpu_array_reserve(&a, &cap, 100, sizeof(*a), 4), 0);
	ck_assert_uint_eq(cap, 128);
	free(a);
}
END_TEST

/*
 * One reader for many definition files (vgpu_config_read_with(), as the
 * definition scan uses it): each file gives what vgpu_config_new_from_json()
 * gives for its bytes, whatever came before in the same reader: a file
 * bigger than the first buffer, malformed ones, an empty one.
 */
START_TEST(one_reader_many_files)
{
	static char big[6000];
	static const char *const docs[] = {
		big,
		"{\"mdev_type\": ",
		"{\"mdev_type\": \"nvidia-1\", \"start\": \"auto\"}",
		"",
		"{\"mdev_type\": \"a\"} trailing",
		"[1, 2",
		"{\"mdev_type\": \"nvidia-2\", \"start\": \"manual\", "
		"\"attrs\": [{\"k\": \"v\"}]}",
	};
	struct vgpu_config_reader rd = { 0 };
	char dir[] = "/tmp/vgpu-reader-XXXXXX", path[64];
	int dfd;

	/* a valid definition of 6,000 bytes: blanks inside */
	memset(big, ' ', sizeof(big) - 1);
	memcpy(big, "{\"mdev_type\": \"x\"", 18);
	big[sizeof(big) - 2] = '}';
	ck_assert_ptr_nonnull(mkdtemp(dir));
	dfd = open(dir, O_RDONLY | O_DIRECTORY);
	ck_assert_int_ge(dfd, 0);
	for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
		struct vgpu_config *got = NULL, *want = NULL;
		char *gj = NULL, *wj = NULL;
		int fd, rg, rw;

		snprintf(path, sizeof(path), "%zu", i);
		fd = openat(dfd, path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(write(fd, docs[i], strlen(docs[i])),
				 (ssize_t)strlen(docs[i]));
		close(fd);
		rg = vgpu_config_read_with(&rd, dfd, path, &got);
		rw = vgpu_config_new_from_json(docs[i], strlen(docs[i]), &want);
		ck_assert_msg(rg == rw, "file %zu: %d, from memory %d", i, rg,
			      rw);
		if (rw < 0)
			continue;
		ck_assert_int_eq(vgpu_config_to_json(got, 0, &gj), 0);
		ck_assert_int_eq(vgpu_config_to_json(want, 0, &wj), 0);
		ck_assert_str_eq(gj, wj);
		free(gj);
		free(wj);
		vgpu_config_unref(got);
		vgpu_config_unref(want);
	}
	/* the valid ones were read: not every answer an error */
	ck_assert_ptr_nonnull(rd.tok);
	ck_assert_int_eq(vgpu_config_read_with(&rd, dfd, "missing",
					       &(struct vgpu_config *){ NULL }),
			 -ENOENT);
	vgpu_config_reader_clear(&rd);
	for (size_t i = 0; i < sizeof(docs) / sizeof(*docs); i++) {
		snprintf(path, sizeof(path), "%zu", i);
		unlinkat(dfd, path, 0);
	}
	close(dfd);
	rmdir(dir);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("uuid");

	tcase_add_test(tc, uuid_names);
	tcase_add_test(tc, array_room);
	tcase_add_test(tc, one_reader_many_files);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
