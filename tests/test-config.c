/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Definitions: mdevctl's JSON in and out, attributes, hostile input. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "test-common.h"

static struct vgpu_config *parse(const char *s)
{
	struct vgpu_config *c = NULL;

	ck_assert_int_eq(vgpu_config_new_from_json(s, strlen(s), &c), 0);
	return c;
}

START_TEST(round_trip_exact_bytes)
{
	struct vgpu_config *c;
	char *out;
	const char *k, *v;
	const char *text =
		"{\n  \"mdev_type\": \"nvidia-256\",\n  \"start\": \"auto\",\n  \"attrs\": [\n"
		"    {\n      \"nvidia/vgpu_params\": \"frame_rate_limiter=0\"\n    },\n"
		"    {\n      \"x\": \"quote \\\" back\\\\slash \\n tab\\t\"\n    }\n  ]\n}";

	c = parse(text);
	ck_assert_str_eq(vgpu_config_get_type(c), "nvidia-256");
	ck_assert(vgpu_config_get_autostart(c));
	ck_assert_uint_eq(vgpu_config_get_attr_count(c), 2);
	ck_assert_int_eq(vgpu_config_get_attr(c, 1, &k, &v), 0);
	ck_assert_str_eq(k, "x");
	ck_assert_str_eq(v, "quote \" back\\slash \n tab\t");
	ck_assert_int_eq(vgpu_config_to_json(c, VGPU_JSON_PRETTY, &out), 0);
	ck_assert_str_eq(out, text);
	free(out);
	ck_assert_int_eq(vgpu_config_to_json(c, 0, &out), 0);
	ck_assert_str_eq(
		out,
		"{\"mdev_type\":\"nvidia-256\",\"start\":\"auto\",\"attrs\":["
		"{\"nvidia/vgpu_params\":\"frame_rate_limiter=0\"},"
		"{\"x\":\"quote \\\" back\\\\slash \\n tab\\t\"}]}");
	free(out);
	ck_assert_int_eq(vgpu_config_to_json(c, 0x80, &out), -EINVAL);
	vgpu_config_unref(c);

	c = parse("{\"mdev_type\":\"t\",\"start\":\"manual\",\"attrs\":[]}");
	ck_assert_int_eq(vgpu_config_to_json(c, VGPU_JSON_PRETTY, &out), 0);
	ck_assert_str_eq(
		out,
		"{\n  \"mdev_type\": \"t\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
	free(out);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(lenient_like_mdevctl)
{
	struct vgpu_config *c;

	c = parse(
		"{\"mdev_type\": \"t\", \"start\": \"sometimes\", \"new\": [1, {}]}  \n");
	ck_assert(!vgpu_config_get_autostart(c));
	ck_assert_uint_eq(vgpu_config_get_attr_count(c), 0);
	vgpu_config_unref(c);
	c = parse("{\"mdev_type\": \"t\", \"attrs\": null}");
	vgpu_config_unref(c);
}
END_TEST

START_TEST(hostile_json)
{
	static const char *const bad[] = {
		"",
		" ",
		"null",
		"[]",
		"\"str\"",
		"{",
		"{}",
		"{\"mdev_type\": null}",
		"{\"mdev_type\": 1}",
		"{\"mdev_type\": \"\"}",
		"{\"mdev_type\": \"a/b\"}",
		"{\"mdev_type\": \"..\"}",
		"{\"mdev_type\": \"t\", \"start\": 1}",
		"{\"mdev_type\": \"t\", \"attrs\": {}}",
		"{\"mdev_type\": \"t\", \"attrs\": [1]}",
		"{\"mdev_type\": \"t\", \"attrs\": [{}]}",
		"{\"mdev_type\": \"t\", \"attrs\": [{\"a\": null}]}",
		"{\"mdev_type\": \"t\", \"attrs\": [{\"/abs\": \"1\"}]}",
		"{\"mdev_type\": \"t\", \"attrs\": [{\"a/../../b\": \"1\"}]}",
		"{\"mdev_type\": \"t\", \"attrs\": [{\"a//b\": \"1\"}]}",
		"{\"mdev_type\": \"t\", \"attrs\": [{\"a\\nb\": \"1\"}]}",
		"{\"mdev_type\": \"t\"} {}",
		"{\"mdev_type\": \"t\"",
		"[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[",
	};
	struct vgpu_config *c = NULL;
	char nul[] = "{\"mdev_type\": \"t\"}\0junk";

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vgpu_config_new_from_json(bad[i], strlen(bad[i]),
							&c) == -EBADMSG,
			      "accepted: %s", bad[i]);
	ck_assert_int_eq(vgpu_config_new_from_json(nul, sizeof(nul) - 1, &c),
			 -EBADMSG);
	ck_assert_int_eq(vgpu_config_new_from_json(NULL, 0, &c), -EINVAL);
	ck_assert_int_eq(vgpu_config_new_from_json("{}", 2, NULL), -EINVAL);
	ck_assert_ptr_null(c);
}
END_TEST

START_TEST(attributes)
{
	struct vgpu_config *c;
	const char *k, *v;
	char *out;

	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_to_json(c, 0, &out),
			 -EINVAL); /* no type */
	ck_assert_int_eq(vgpu_config_add_attr(c, "b", "2", -1), 0);
	ck_assert_int_eq(vgpu_config_add_attr(c, "a", "1", 0), 0);
	ck_assert_int_eq(vgpu_config_add_attr(c, "d", "4", 99), 0);
	ck_assert_int_eq(vgpu_config_add_attr(c, "c", "3", 2), 0);
	for (size_t i = 0; i < 4; i++) {
		char want[2] = { (char)('a' + i), 0 };

		ck_assert_int_eq(vgpu_config_get_attr(c, i, &k, &v), 0);
		ck_assert_str_eq(k, want);
	}
	ck_assert_int_eq(vgpu_config_get_attr(c, 4, &k, &v), -ERANGE);
	ck_assert_int_eq(vgpu_config_del_attr(c, 0), 0);
	ck_assert_int_eq(vgpu_config_del_attr(c, -1), 0);
	ck_assert_int_eq(vgpu_config_del_attr(c, 5), -ERANGE);
	ck_assert_uint_eq(vgpu_config_get_attr_count(c), 2);
	ck_assert_int_eq(vgpu_config_get_attr(c, 1, &k, NULL), 0);
	ck_assert_str_eq(k, "c");
	ck_assert_int_eq(vgpu_config_add_attr(c, "../x", "1", -1), -EINVAL);
	ck_assert_int_eq(vgpu_config_add_attr(c, "/x", "1", -1), -EINVAL);
	ck_assert_int_eq(vgpu_config_add_attr(c, "x/", "1", -1), -EINVAL);
	ck_assert_int_eq(vgpu_config_add_attr(c, "x/./y", "1", -1), -EINVAL);
	ck_assert_int_eq(vgpu_config_add_attr(c, "", "1", -1), -EINVAL);
	ck_assert_int_eq(vgpu_config_add_attr(c, "x", NULL, -1), -EINVAL);
	ck_assert_int_eq(vgpu_config_add_attr(c, "nvidia/vgpu_params", "", -1),
			 0);
	ck_assert_int_eq(vgpu_config_del_attr(c, -1), 0);
	ck_assert_int_eq(vgpu_config_del_attr(c, -1), 0);
	ck_assert_int_eq(vgpu_config_del_attr(c, -1), 0);
	ck_assert_int_eq(vgpu_config_del_attr(c, -1), -ERANGE);
	ck_assert_int_eq(vgpu_config_set_type(c, "x/y"), -EINVAL);
	ck_assert_int_eq(vgpu_config_set_type(c, "ok"), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, NULL), 0);
	ck_assert_ptr_null(vgpu_config_get_type(c));
	ck_assert_ptr_eq(vgpu_config_ref(c), c);
	ck_assert_ptr_eq(vgpu_config_unref(c), c);
	ck_assert_ptr_null(vgpu_config_unref(c));
}
END_TEST

int main(void)
{
	Suite *s = suite_create("config");
	TCase *tc = tcase_create("config");

	tcase_add_test(tc, round_trip_exact_bytes);
	tcase_add_test(tc, lenient_like_mdevctl);
	tcase_add_test(tc, hostile_json);
	tcase_add_test(tc, attributes);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
