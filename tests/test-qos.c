/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QoS and usage over mdev: knob names and ranges, NVIDIA's vgpu_params,
 * GVT-g's type-fixed weight, drivers without knobs, the "not reported"
 * counters, and QoS as part of a persistent definition (kept out of
 * mdevctl's files, applied at start, kept by modify, malformed files).
 * The tests that create instances need the FUSE fake sysfs and skip
 * without it.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-common.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define GVT  "0000:00:02.0"
#define NV   "0000:3b:00.0"
#define MTTY "0000:00:05.0"
#define U1   "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01"
#define U2   "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b02"
#define U3   "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b03"

static struct vgpu_instance *get_instance(const char *uuid)
{
	struct vgpu_instance *in = NULL;

	ck_assert_int_eq(vgpu_instance_get(fx.ctx, uuid, NULL, &in), 0);
	return in;
}

static char *slurp(const char *path)
{
	static char buf[4096];
	ssize_t n;
	int fd = open(path, O_RDONLY);

	if (fd < 0)
		return NULL;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return buf;
}

static void put(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	ck_assert_ptr_nonnull(f);
	fputs(text, f);
	fclose(f);
}

static const char *instance_file(const char *parent, const char *uuid,
				 const char *rel)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/bus/mdev/devices/%s/%s", fx.sysroot,
		 uuid, rel);
	(void)parent;
	return path;
}

START_TEST(names_and_ranges)
{
	static const char *const names[] = {
		"time_slice_us", "preempt_timeout_us", "priority",
		"weight",	 "frame_rate_limit",
	};
	static const char *const counters[] = {
		"engine_busy_ns", "work_items", "dma_bytes",
		"interrupts",	  "fb_bytes",	"frames",
	};

	for (int k = 0; k < 5; k++) {
		ck_assert_str_eq(vgpu_qos_knob_name(k), names[k]);
		ck_assert_int_eq(vgpu_qos_knob_from_name(names[k]), k);
	}
	ck_assert_ptr_null(vgpu_qos_knob_name(5));
	ck_assert_ptr_null(vgpu_qos_knob_name(-1));
	ck_assert_int_eq(vgpu_qos_knob_from_name("Weight"), -EINVAL);
	ck_assert_int_eq(vgpu_qos_knob_from_name(""), -EINVAL);
	ck_assert_int_eq(vgpu_qos_knob_from_name(NULL), -EINVAL);
	for (int c = 0; c < 6; c++)
		ck_assert_str_eq(vgpu_usage_counter_name(c), counters[c]);
	ck_assert_ptr_null(vgpu_usage_counter_name(6));

	ck_assert_int_eq(vgpu_qos_check_value(VGPU_QOS_WEIGHT, 0), -ERANGE);
	ck_assert_int_eq(vgpu_qos_check_value(VGPU_QOS_WEIGHT, 1), 0);
	ck_assert_int_eq(vgpu_qos_check_value(VGPU_QOS_WEIGHT, 1000001),
			 -ERANGE);
	ck_assert_int_eq(vgpu_qos_check_value(VGPU_QOS_PRIORITY, 2), 0);
	ck_assert_int_eq(vgpu_qos_check_value(VGPU_QOS_PRIORITY, 3), -ERANGE);
	ck_assert_int_eq(
		vgpu_qos_check_value(VGPU_QOS_TIME_SLICE_US, 4294967295ull), 0);
	ck_assert_int_eq(
		vgpu_qos_check_value(VGPU_QOS_TIME_SLICE_US, 4294967296ull),
		-ERANGE);
	ck_assert_int_eq(vgpu_qos_check_value(VGPU_QOS_FRAME_RATE_LIMIT, 1001),
			 -ERANGE);
	ck_assert_int_eq(vgpu_qos_check_value(9, 1), -EINVAL);
}
END_TEST

START_TEST(config_knobs)
{
	struct vgpu_config *c;
	uint64_t v = 5;

	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_get_qos(c, VGPU_QOS_WEIGHT, &v), -ENODATA);
	ck_assert_uint_eq(v, 5);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_WEIGHT, 0), -ERANGE);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_WEIGHT, 3), 0);
	ck_assert_int_eq(vgpu_config_get_qos(c, VGPU_QOS_WEIGHT, &v), 0);
	ck_assert_uint_eq(v, 3);
	ck_assert_int_eq(vgpu_config_unset_qos(c, VGPU_QOS_WEIGHT), 0);
	ck_assert_int_eq(vgpu_config_get_qos(c, VGPU_QOS_WEIGHT, &v), -ENODATA);
	ck_assert_int_eq(vgpu_config_set_qos(NULL, VGPU_QOS_WEIGHT, 3),
			 -EINVAL);
	ck_assert_int_eq(vgpu_config_set_qos(c, 7, 3), -EINVAL);
	ck_assert_int_eq(vgpu_config_unset_qos(c, 7), -EINVAL);
	ck_assert_int_eq(vgpu_config_get_qos(c, VGPU_QOS_WEIGHT, NULL),
			 -EINVAL);
	vgpu_config_unref(c);

	/* misuse of the instance and usage calls */
	ck_assert_int_eq(vgpu_instance_set_qos(NULL, VGPU_QOS_WEIGHT, 1, 0),
			 -EINVAL);
	ck_assert_int_eq(
		vgpu_instance_get_qos(NULL, VGPU_QOS_WEIGHT, 0, &v, NULL),
		-EINVAL);
	ck_assert_int_eq(vgpu_instance_get_usage(NULL, NULL), -EINVAL);
	ck_assert_int_eq(vgpu_usage_get(NULL, 0, &v), -EINVAL);
	ck_assert_uint_eq(vgpu_usage_get_timestamp(NULL), 0);
	ck_assert_ptr_null(vgpu_usage_unref(NULL));
	ck_assert_ptr_null(vgpu_usage_ref(NULL));
}
END_TEST

/* GVT-g: the weight comes from the type and cannot change */
START_TEST(gvtg_weight_fixed)
{
	struct vgpu_instance *in;
	struct vgpu_usage *u;
	unsigned int state;
	uint64_t v;

	fixture_standard_host();
	ck_assert_int_eq(
		fake_tree_add_instance(fx.tree, GVT, "i915-GVTg_V5_4", U1), 0);
	in = get_instance(U1);
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_WEIGHT, 0, &v, &state), 0);
	ck_assert_uint_eq(v, 4);
	ck_assert_uint_eq(state, VGPU_QOS_STATE_FIXED);
	fx.log_len = 0;
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_WEIGHT, 8, 0),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(fx.log, "mdev backend"));
	ck_assert_ptr_nonnull(strstr(fx.log, "i915-GVTg_V5_4"));
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_TIME_SLICE_US, 1000, 0),
		-EOPNOTSUPP);
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_PRIORITY, 0, &v, NULL),
		-EOPNOTSUPP);
	/* usage: the type's graphics memory; nothing else is exposed */
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FB_BYTES, &v), 0);
	ck_assert_uint_eq(v, 640ull << 20);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_ENGINE_BUSY_NS, &v),
			 -ENODATA);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FRAMES, &v), -ENODATA);
	ck_assert_ptr_eq(vgpu_usage_ref(u), u);
	ck_assert_ptr_eq(vgpu_usage_unref(u), u);
	ck_assert_ptr_null(vgpu_usage_unref(u));
	vgpu_instance_unref(in);
}
END_TEST

/* types whose description has no (or a malformed) weight or size */
START_TEST(gvtg_weight_malformed)
{
	static const char *const texts[] = {
		"low_gm_size: 128MB\nhigh_gm_size: 512MB\nweight: x\n",
		"low_gm_size: 128MB\nhigh_gm_size: 512MB\nweight: -4\n",
		"low_gm_size: 128MB\nhigh_gm_size: 512XB\n",
		"garbage without structure",
	};

	ck_assert_int_eq(fake_tree_add_pci_parent(fx.tree, GVT, 0x8086, 0x3e92,
						  0x1028, 0x0869, 0x030000,
						  "i915", 0),
			 0);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char id[32], uuid[40];
		struct vgpu_instance *in;
		struct vgpu_usage *u;
		uint64_t v;

		snprintf(id, sizeof(id), "i915-GVTg_V5_%zu", i + 1);
		ck_assert_int_eq(fake_tree_add_type(fx.tree, GVT, id, id,
						    texts[i], "vfio-pci", 1),
				 0);
		snprintf(uuid, sizeof(uuid),
			 "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2c%02zu", i);
		ck_assert_int_eq(fake_tree_add_instance(fx.tree, GVT, id, uuid),
				 0);
		in = get_instance(uuid);
		ck_assert_int_eq(
			vgpu_instance_get_qos(in, VGPU_QOS_WEIGHT, 0, &v, NULL),
			-ENODATA);
		ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
		if (i >= 2)
			ck_assert_int_eq(
				vgpu_usage_get(u, VGPU_USAGE_FB_BYTES, &v),
				-ENODATA);
		vgpu_usage_unref(u);
		vgpu_instance_unref(in);
	}
}
END_TEST

/* NVIDIA: the frame-rate limiter through nvidia/vgpu_params */
START_TEST(nvidia_frame_rate_limiter)
{
	struct vgpu_instance *in;
	struct vgpu_usage *u;
	unsigned int state;
	uint64_t v;
	int fd;

	fixture_standard_host();
	ck_assert_int_eq(fake_tree_add_instance(fx.tree, NV, "nvidia-256", U2),
			 0);
	in = get_instance(U2);
	/* no frame_rate_limiter key: the type's frl_config, from the next
	 * VM start on */
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					       &v, &state),
			 0);
	ck_assert_uint_eq(v, 60);
	ck_assert_uint_eq(state, VGPU_QOS_STATE_PENDING);
	fx.log_len = 0;
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0, 0),
		VGPU_QOS_APPLIED_AT_NEXT_START);
	ck_assert_ptr_nonnull(strstr(fx.log, "next VM start"));
	ck_assert_str_eq(slurp(instance_file(NV, U2, "nvidia/vgpu_params")),
			 "frame_rate_limiter=0");
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					       &v, NULL),
			 0);
	ck_assert_uint_eq(v, 0);
	/* back to the type's limit: the key goes, the others stay */
	put(instance_file(NV, U2, "nvidia/vgpu_params"),
	    "frame_rate_limiter=0,enable_uvm=1\n");
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 60, 0),
		VGPU_QOS_APPLIED_AT_NEXT_START);
	/* (a static file: the write does not truncate it) */
	ck_assert_int_eq(
		strncmp(slurp(instance_file(NV, U2, "nvidia/vgpu_params")),
			"enable_uvm=1imiter", 18),
		0);
	/* NVIDIA has no other limits than off and frl_config */
	fx.log_len = 0;
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 30, 0),
		-EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(fx.log, "mdev backend"));
	ck_assert_ptr_nonnull(strstr(fx.log, "frl_config (60 fps)"));
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_PRIORITY, 1, 0),
			 -EOPNOTSUPP);
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_WEIGHT, 1, 0),
			 -EOPNOTSUPP);
	/* malformed parameter files are not read as values */
	{
		static const char *const bad[] = {
			"frame_rate_limiter=x\n",
			"=0\n",
			"frame_rate_limiter\n",
			"a\x01=1\n",
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			put(instance_file(NV, U2, "nvidia/vgpu_params"),
			    bad[i]);
			ck_assert_int_eq(vgpu_instance_get_qos(
						 in, VGPU_QOS_FRAME_RATE_LIMIT,
						 0, &v, NULL),
					 -EBADMSG);
			/* a bad value of our own key is replaced; a file that
			 * is not key=value is not rewritten */
			ck_assert_int_eq(
				vgpu_instance_set_qos(
					in, VGPU_QOS_FRAME_RATE_LIMIT, 0, 0),
				i == 0 ? VGPU_QOS_APPLIED_AT_NEXT_START
				       : -EBADMSG);
		}
	}
	/* a huge file is refused, not truncated */
	fd = open(instance_file(NV, U2, "nvidia/vgpu_params"),
		  O_WRONLY | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 200; i++)
		ck_assert_int_eq(write(fd, "abcdefghi=1,", 12), 12);
	close(fd);
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					       &v, NULL),
			 -EBADMSG);
	/* without vgpu_params at all */
	ck_assert_int_eq(unlink(instance_file(NV, U2, "nvidia/vgpu_params")),
			 0);
	ck_assert_int_eq(
		vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0, 0),
		-EOPNOTSUPP);

	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_FB_BYTES, &v), 0);
	ck_assert_uint_eq(v, 1ull << 30);
	ck_assert_int_eq(vgpu_usage_get(u, VGPU_USAGE_INTERRUPTS, &v),
			 -ENODATA);
	vgpu_usage_unref(u);
	vgpu_instance_unref(in);
}
END_TEST

/* a driver without any knob, and instances that are not active */
START_TEST(no_knobs_and_inactive)
{
	struct vgpu_instance *in;
	struct vgpu_usage *u = NULL;
	struct vgpu_config *c;
	uint64_t v;

	fixture_standard_host();
	ck_assert_int_eq(fake_tree_add_instance(fx.tree, MTTY, "mtty-2", U1),
			 0);
	in = get_instance(U1);
	for (int k = 0; k < 5; k++) {
		fx.log_len = 0;
		ck_assert_int_eq(vgpu_instance_set_qos(in, k, 1, 0),
				 -EOPNOTSUPP);
		ck_assert_ptr_nonnull(strstr(fx.log, "mdev backend"));
		ck_assert_ptr_nonnull(strstr(fx.log, "mtty-2"));
	}
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), 0);
	for (int k = 0; k < 6; k++)
		ck_assert_int_eq(vgpu_usage_get(u, k, &v), -ENODATA);
	vgpu_usage_unref(u);
	vgpu_instance_unref(in);

	/* defined, not active: the definition answers, live asks fail */
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "nvidia-256"), 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, NV, U3, c, 0, &in), 0);
	vgpu_config_unref(c);
	ck_assert_int_eq(vgpu_instance_get_usage(in, &u), -ENOENT);
	ck_assert_ptr_null(u);
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					       VGPU_QOS_LIVE),
			 -ENOENT);
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT,
					       VGPU_QOS_LIVE, &v, NULL),
			 -ENOENT);
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT, 0,
					       &v, NULL),
			 -ENODATA);
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_FRAME_RATE_LIMIT,
					       VGPU_QOS_LIVE | VGPU_QOS_CONFIG,
					       &v, NULL),
			 -EINVAL);
	vgpu_instance_unref(in);
}
END_TEST

static const char *qos_file(const char *parent, const char *uuid)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/vgpu-qos.d/%s/%s", fx.dir, parent,
		 uuid);
	return path;
}

static const char *def_file(const char *parent, const char *uuid)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s/%s", fx.config, parent, uuid);
	return path;
}

/* QoS is part of the definition but outside mdevctl's file */
START_TEST(definition_keeps_qos_beside_mdevctl)
{
	struct vgpu_instance *in;
	struct vgpu_config *c, *c2;
	unsigned int state;
	char before[4096];
	uint64_t v;

	fixture_standard_host();
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "nvidia-256"), 0);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_FRAME_RATE_LIMIT, 0),
			 0);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_TIME_SLICE_US, 2000),
			 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, NV, U1, c, 0, NULL), 0);
	/* mdevctl's file is exactly what mdevctl writes */
	ck_assert_str_eq(
		slurp(def_file(NV, U1)),
		"{\n  \"mdev_type\": \"nvidia-256\",\n  \"start\": \"manual\",\n  \"attrs\": []\n}");
	ck_assert_str_eq(
		slurp(qos_file(NV, U1)),
		"{\n  \"time_slice_us\": 2000,\n  \"frame_rate_limit\": 0\n}");
	in = get_instance(U1);
	ck_assert_int_eq(vgpu_instance_get_qos(in, VGPU_QOS_TIME_SLICE_US, 0,
					       &v, &state),
			 0);
	ck_assert_uint_eq(v, 2000);
	ck_assert_uint_eq(state, VGPU_QOS_STATE_DEFINED);
	ck_assert_int_eq(vgpu_config_get_qos(vgpu_instance_get_config(in),
					     VGPU_QOS_FRAME_RATE_LIMIT, &v),
			 0);
	ck_assert_uint_eq(v, 0);

	/* setting a knob of a defined, inactive instance stores it */
	ck_assert_int_eq(vgpu_instance_set_qos(in, VGPU_QOS_WEIGHT, 7, 0), 0);
	vgpu_instance_unref(in);
	in = get_instance(U1);
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_WEIGHT, 0, &v, NULL), 0);
	ck_assert_uint_eq(v, 7);
	vgpu_instance_unref(in);

	/* a modify that does not speak of QoS (mdevctl's JSON) keeps it */
	{
		const char *j =
			"{\"mdev_type\": \"nvidia-256\", \"start\": \"auto\", \"attrs\": []}";

		ck_assert_int_eq(vgpu_config_new_from_json(j, strlen(j), &c2),
				 0);
	}
	strcpy(before, slurp(qos_file(NV, U1)));
	ck_assert_int_eq(vgpu_instance_modify(fx.ctx, U1, NULL, c2), 0);
	ck_assert_str_eq(slurp(qos_file(NV, U1)), before);
	vgpu_config_unref(c2);
	/* mdevctl rewriting its own file leaves QoS alone too */
	put(def_file(NV, U1),
	    "{\"mdev_type\": \"nvidia-256\", \"start\": \"manual\"}");
	in = get_instance(U1);
	ck_assert_int_eq(
		vgpu_instance_get_qos(in, VGPU_QOS_WEIGHT, 0, &v, NULL), 0);
	/* a modify from the loaded definition carries its QoS */
	c2 = vgpu_config_ref(vgpu_instance_get_config(in));
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_config_unset_qos(c2, VGPU_QOS_WEIGHT), 0);
	ck_assert_int_eq(vgpu_instance_modify(fx.ctx, U1, NULL, c2), 0);
	ck_assert_str_eq(
		slurp(qos_file(NV, U1)),
		"{\n  \"time_slice_us\": 2000,\n  \"frame_rate_limit\": 0\n}");
	ck_assert_int_eq(vgpu_config_unset_qos(c2, VGPU_QOS_TIME_SLICE_US), 0);
	ck_assert_int_eq(vgpu_config_unset_qos(c2, VGPU_QOS_FRAME_RATE_LIMIT),
			 0);
	ck_assert_int_eq(vgpu_instance_modify(fx.ctx, U1, NULL, c2), 0);
	ck_assert_int_eq(access(qos_file(NV, U1), F_OK), -1);
	vgpu_config_unref(c2);

	/* undefine takes it along; a define without QoS leaves none behind */
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, NV, U2, c, 0, NULL), 0);
	ck_assert_int_eq(access(qos_file(NV, U2), F_OK), 0);
	ck_assert_int_eq(vgpu_instance_undefine(fx.ctx, U2, NULL), 0);
	ck_assert_int_eq(access(qos_file(NV, U2), F_OK), -1);
	put(qos_file(NV, U3), "{\"weight\": 3}");
	ck_assert_int_eq(vgpu_config_unset_qos(c, VGPU_QOS_TIME_SLICE_US), 0);
	ck_assert_int_eq(vgpu_config_unset_qos(c, VGPU_QOS_FRAME_RATE_LIMIT),
			 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, NV, U3, c, 0, NULL), 0);
	ck_assert_int_eq(access(qos_file(NV, U3), F_OK), -1);
	vgpu_config_unref(c);
}
END_TEST

/* a malformed QoS file makes its definition malformed */
START_TEST(malformed_qos_files)
{
	static const char *const bad[] = {
		"",
		"{",
		"[]",
		"{\"weight\": 0}",
		"{\"weight\": \"4\"}",
		"{\"bogus\": 1}",
		"{\"priority\": 3}",
		"{\"time_slice_us\": -1}",
		"{\"weight\": 1.5}",
		"{\"weight\": 4} x",
		"{\"weight\": true}",
		"{\"time_slice_us\": 18446744073709551615}",
		"{\"weight\": null}",
	};
	struct vgpu_instance **l;
	struct vgpu_config *c;
	size_t n;

	fixture_standard_host();
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "nvidia-256"), 0);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_FRAME_RATE_LIMIT, 0),
			 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, NV, U1, c, 0, NULL), 0);
	vgpu_config_unref(c);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		put(qos_file(NV, U1), bad[i]);
		fx.log_len = 0;
		ck_assert_int_eq(vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED,
						    NULL, NULL, &l, &n),
				 0);
		ck_assert_msg(n == 0, "QoS \"%s\" accepted", bad[i]);
		ck_assert_ptr_nonnull(strstr(fx.log, "QoS of the definition"));
		ck_assert_int_eq(
			vgpu_instance_list(fx.ctx,
					   VGPU_LIST_DEFINED | VGPU_LIST_STRICT,
					   NULL, NULL, &l, &n),
			-EBADMSG);
		ck_assert_int_eq(vgpu_instance_start(fx.ctx, U1, NULL, NULL),
				 -ENOENT);
	}
	/* a symlink is not followed (like a definition file), and a file
	 * larger than any QoS file is refused */
	unlink(qos_file(NV, U1));
	ck_assert_int_eq(symlink("/etc/hostname", qos_file(NV, U1)), 0);
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED | VGPU_LIST_STRICT,
				   NULL, NULL, &l, &n),
		-EBADMSG);
	unlink(qos_file(NV, U1));
	{
		FILE *f = fopen(qos_file(NV, U1), "w");

		ck_assert_ptr_nonnull(f);
		fputs("{\"weight\": 4", f);
		for (int i = 0; i < 5000; i++)
			fputc(' ', f);
		fputs("}", f);
		fclose(f);
	}
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED | VGPU_LIST_STRICT,
				   NULL, NULL, &l, &n),
		-EBADMSG);
	/* trailing whitespace is fine */
	put(qos_file(NV, U1), "{\"weight\": 4}\n\n");
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, VGPU_LIST_DEFINED, NULL,
					    NULL, &l, &n),
			 0);
	ck_assert_uint_eq(n, 1);
	vgpu_instance_list_free(l, n);
}
END_TEST

/* QoS of a definition applied at start (FUSE fake sysfs) */
START_TEST(start_applies_qos)
{
	struct vgpu_instance *in;
	struct vgpu_config *c;

	fixture_standard_host();
	fixture_go_live();
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "nvidia-256"), 0);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_FRAME_RATE_LIMIT, 0),
			 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, NV, U1, c, 0, NULL), 0);
	ck_assert_int_eq(vgpu_instance_start(fx.ctx, U1, NULL, &in), 0);
	ck_assert_str_eq(slurp(instance_file(NV, U1, "nvidia/vgpu_params")),
			 "frame_rate_limiter=0");
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_instance_remove(fx.ctx, U1), 0);

	/* a transient create carries its QoS too */
	ck_assert_int_eq(vgpu_instance_create(fx.ctx, NV, U2, c, NULL), 0);
	ck_assert_str_eq(slurp(instance_file(NV, U2, "nvidia/vgpu_params")),
			 "frame_rate_limiter=0");
	ck_assert_int_eq(vgpu_instance_remove(fx.ctx, U2), 0);
	vgpu_config_unref(c);

	/* GVT-g refuses a weight: the start fails, nothing is left behind */
	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "i915-GVTg_V5_8"), 0);
	ck_assert_int_eq(vgpu_config_set_qos(c, VGPU_QOS_WEIGHT, 2), 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, GVT, U3, c, 0, NULL), 0);
	fx.log_len = 0;
	ck_assert_int_eq(vgpu_instance_start(fx.ctx, U3, NULL, NULL),
			 -EOPNOTSUPP);
	ck_assert_ptr_nonnull(strstr(fx.log, "removing the instance again"));
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U3, NULL, &in), 0);
	ck_assert(!vgpu_instance_is_active(in));
	vgpu_instance_unref(in);
	vgpu_config_unref(c);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("qos");
	TCase *tc = tcase_create("static");

	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, names_and_ranges);
	tcase_add_test(tc, config_knobs);
	tcase_add_test(tc, gvtg_weight_fixed);
	tcase_add_test(tc, gvtg_weight_malformed);
	tcase_add_test(tc, nvidia_frame_rate_limiter);
	tcase_add_test(tc, no_knobs_and_inactive);
	tcase_add_test(tc, definition_keeps_qos_beside_mdevctl);
	tcase_add_test(tc, malformed_qos_files);
	suite_add_tcase(s, tc);
	if (fixture_can_go_live()) {
		tc = tcase_create("live");
		tcase_set_timeout(tc, 60);
		tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
		tcase_add_test(tc, start_applies_qos);
		suite_add_tcase(s, tc);
	} else {
		fprintf(stderr,
			"no FUSE or no vgpu-fakesysfs: live test skipped\n");
	}
	return run_suite(s);
}
