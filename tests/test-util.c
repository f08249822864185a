/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The small helpers every listing leans on: UUID names, room in arrays.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

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

int main(void)
{
	Suite *s = suite_create("util");
	TCase *tc = tcase_create("uuid");

	tcase_add_test(tc, uuid_names);
	tcase_add_test(tc, array_room);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
