/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Migration against sim-device: VFIO migration v2 over DEVICE_FEATURE and
 * MIG_DATA_READ/MIG_DATA_WRITE.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "client.h"
#include "libvgpu-private.h"
#include "proto.h"
#include "sim-device.h"
#include "sim-fixture.h"

/* DEVICE_FEATURE on migration; returns the call's result */
static int mig_feature(struct vfu_client *c, uint32_t flags, const void *data,
		       size_t len, void *out, size_t out_len)
{
	uint8_t req[64];
	struct vfu_feature f = { .argsz = 64, .flags = flags };
	void *rep = NULL;
	size_t rlen = 0;
	int r;

	memcpy(req, &f, sizeof(f));
	if (len)
		memcpy(req + sizeof(f), data, len);
	r = vfu_client_call(c, VFU_CMD_DEVICE_FEATURE, req, sizeof(f) + len,
			    NULL, 0, &rep, &rlen, NULL, 0, NULL);
	if (r == 0 && out) {
		ck_assert_uint_eq(rlen, sizeof(f) + out_len);
		memcpy(out, (uint8_t *)rep + sizeof(f), out_len);
	}
	free(rep);
	return r;
}

static int mig_set(struct vfu_client *c, uint32_t state)
{
	struct vfu_mig_state st = { .device_state = state };

	return mig_feature(c, VFU_FEATURE_SET | VFU_FEATURE_MIG_DEVICE_STATE,
			   &st, sizeof(st), NULL, 0);
}

static uint32_t mig_get(struct vfu_client *c)
{
	struct vfu_mig_state st;

	ck_assert_int_eq(
		mig_feature(c, VFU_FEATURE_GET | VFU_FEATURE_MIG_DEVICE_STATE,
			    NULL, 0, &st, sizeof(st)),
		0);
	return st.device_state;
}

/* MIG_DATA_READ of up to @want bytes into @buf; the count, or -errno */
static int mig_read(struct vfu_client *c, void *buf, uint32_t want)
{
	struct vfu_mig_data m = { .argsz = sizeof(m) + want, .size = want };
	void *rep;
	size_t len;
	int r;

	r = vfu_client_call(c, VFU_CMD_MIG_DATA_READ, &m, sizeof(m), NULL, 0,
			    &rep, &len, NULL, 0, NULL);
	if (r < 0)
		return r;
	ck_assert_uint_ge(len, sizeof(m));
	memcpy(&m, rep, sizeof(m));
	ck_assert_uint_eq(len, sizeof(m) + m.size);
	memcpy(buf, (uint8_t *)rep + sizeof(m), m.size);
	free(rep);
	return (int)m.size;
}

static int mig_write(struct vfu_client *c, const void *data, uint32_t len)
{
	uint8_t req[64];
	struct vfu_mig_data m = { .argsz = sizeof(m) + len, .size = len };

	memcpy(req, &m, sizeof(m));
	memcpy(req + sizeof(m), data, len);
	return vfu_client_call(c, VFU_CMD_MIG_DATA_WRITE, req, sizeof(m) + len,
			       NULL, 0, NULL, NULL, NULL, 0, NULL);
}

static uint64_t bar0(struct vfu_client *c, uint64_t off)
{
	uint64_t v = 0;

	ck_assert_int_eq(vfu_client_region_read(c, 0, off, &v, 8), 0);
	return v;
}

/* VFIO migration v2 over DEVICE_FEATURE and MIG_DATA_READ/WRITE */
START_TEST(test_migration)
{
	struct vfu_client *c;
	uint64_t flags, v, arcs;
	uint8_t saved[64], chunk[8] = { 0 };
	int n, total = 0;

	ck_assert_int_eq(vfu_client_connect(ctx, sock_path, &c), 0);
	ck_assert_int_eq(mig_feature(c, VFU_FEATURE_GET | VFU_FEATURE_MIGRATION,
				     NULL, 0, &flags, sizeof(flags)),
			 0);
	ck_assert_uint_eq(flags, 5); /* STOP_COPY | PRE_COPY */
	ck_assert_int_eq(mig_feature(c,
				     VFU_FEATURE_PROBE | VFU_FEATURE_SET |
					     VFU_FEATURE_MIG_DEVICE_STATE,
				     NULL, 0, NULL, 0),
			 0);
	ck_assert_int_eq(mig_feature(c, VFU_FEATURE_SET | VFU_FEATURE_MIGRATION,
				     NULL, 0, NULL, 0),
			 -EINVAL);
	ck_assert_uint_eq(mig_get(c), 2); /* RUNNING */
	/* no data outside the saving and resuming states */
	ck_assert_int_eq(mig_read(c, chunk, 8), -EINVAL);
	ck_assert_int_eq(mig_write(c, chunk, 8), -EINVAL);

	/* save: RUNNING -> STOP -> STOP_COPY, in 8-byte reads to the end */
	v = 0xfeedface;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 8), 0);
	arcs = bar0(c, 0x18);
	ck_assert_int_eq(mig_set(c, 3), 0);
	ck_assert_uint_eq(mig_get(c), 3);
	ck_assert_uint_eq(bar0(c, 0x18), arcs + 2);
	while ((n = mig_read(c, chunk, sizeof(chunk))) > 0) {
		memcpy(saved + total, chunk, (size_t)n);
		total += n;
	}
	ck_assert_int_eq(n, 0);
	ck_assert_int_eq(total, 16);
	/* STOP_COPY -> PRE_COPY is forbidden; the state stays */
	ck_assert_int_eq(mig_set(c, 6), -EINVAL);
	ck_assert_uint_eq(mig_get(c), 3);
	ck_assert_int_eq(mig_set(c, 0), -EINVAL); /* ERROR cannot be asked */
	ck_assert_int_eq(mig_set(c, 5), -EINVAL); /* P2P not offered */

	/* load into a changed device: ... -> STOP -> RESUMING, write, RUNNING */
	ck_assert_int_eq(mig_set(c, 2), 0);
	v = 1;
	ck_assert_int_eq(vfu_client_region_write(c, 0, 0, &v, 8), 0);
	ck_assert_int_eq(mig_set(c, 4), 0);
	ck_assert_int_eq(mig_write(c, saved, 10), 0);
	ck_assert_int_eq(mig_write(c, saved + 10, 6), 0);
	ck_assert_int_eq(mig_set(c, 2), 0);
	ck_assert_uint_eq(bar0(c, 0), 0xfeedface);

	/* PRE_COPY from RUNNING directly, then to STOP through RUNNING */
	ck_assert_int_eq(mig_set(c, 6), 0);
	ck_assert_int_eq(mig_read(c, chunk, 8), 8);
	ck_assert_int_eq(mig_set(c, 1), 0);
	ck_assert_uint_eq(mig_get(c), 1);

	/* a bad image: leaving RESUMING fails, ERROR until a reset */
	ck_assert_int_eq(mig_set(c, 4), 0);
	ck_assert_int_eq(mig_write(c, "garbage!", 8), 0);
	ck_assert_int_eq(mig_set(c, 2), -EINVAL);
	ck_assert_uint_eq(mig_get(c), 0);
	ck_assert_int_eq(mig_set(c, 2), -EINVAL);
	ck_assert_int_eq(vfu_client_reset(c), 0);
	ck_assert_uint_eq(mig_get(c), 2);
	vfu_client_close(c);
}
END_TEST

static void add_tests(TCase *tc)
{
	tcase_add_test(tc, test_migration);
}

int main(void)
{
	return sim_run("migration", add_tests);
}
