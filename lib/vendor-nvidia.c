/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * NVIDIA's per-vGPU parameters, shared by the mdev backend (vGPU 16 and
 * older: <mdev>/nvidia/vgpu_params) and the SR-IOV backend's NVIDIA model
 * (vGPU 17+: <VF>/nvidia/vgpu_params). The file takes comma-separated
 * key=value pairs; the driver reads them when a VM starts on the vGPU, so
 * a change is in effect from the next VM start. frame_rate_limiter=0
 * turns the type's frame-rate limiter (its frl_config) off; without the
 * key the limiter runs at frl_config.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "libvgpu-private.h"
#include "util-sysfs.h"
#include "vendor-nvidia.h"

#define PARAMS	   "nvidia/vgpu_params"
#define FRL_KEY	   "frame_rate_limiter"
#define PARAMS_MAX 1024

/* one "key=value" item of @text, trimmed; false at the end */
static bool next_item(const char **p, const char **k, size_t *kn,
		      const char **v, size_t *vn)
{
	const char *s = *p, *e, *eq;

	while (*s && (*s == ',' || isspace((unsigned char)*s)))
		s++;
	if (!*s)
		return false;
	e = s + strcspn(s, ",");
	*p = e;
	while (e > s && isspace((unsigned char)e[-1]))
		e--;
	eq = memchr(s, '=', (size_t)(e - s));
	*k = s;
	*kn = eq ? (size_t)(eq - s) : (size_t)(e - s);
	*v = eq ? eq + 1 : e;
	*vn = eq ? (size_t)(e - eq - 1) : 0;
	return true;
}

static bool item_ok(const char *k, size_t kn, const char *v, size_t vn)
{
	if (!kn || vn == 0)
		return false;
	for (size_t i = 0; i < kn; i++)
		if (!isalnum((unsigned char)k[i]) && k[i] != '_')
			return false;
	for (size_t i = 0; i < vn; i++)
		if (!isgraph((unsigned char)v[i]) || v[i] == ',')
			return false;
	return true;
}

/* read and check the parameters; "" when the file is empty */
static int read_params(struct vgpu_ctx *ctx, const char *who, int devfd,
		       char *buf, size_t size)
{
	const char *p, *k, *v;
	size_t kn, vn;
	int r = vgpu_read_attr(devfd, PARAMS, buf, size);

	if (r == -ENOENT) {
		err(ctx, "%s: the NVIDIA driver offers no " PARAMS, who);
		return -EOPNOTSUPP;
	}
	if (r < 0) {
		err(ctx, "%s: cannot read " PARAMS ": %s", who,
		    strerror(r == -EFBIG ? EBADMSG : -r));
		return r == -EFBIG ? -EBADMSG : r;
	}
	p = buf;
	while (next_item(&p, &k, &kn, &v, &vn)) {
		if (!item_ok(k, kn, v, vn)) {
			err(ctx,
			    "%s: " PARAMS
			    " reads \"%s\", which is not key=value[,key=value...]",
			    who, buf);
			return -EBADMSG;
		}
	}
	return 0;
}

int vgpu_nvidia_frl_get(struct vgpu_ctx *ctx, const char *who, int devfd,
			long frl_config, uint64_t *value)
{
	char buf[PARAMS_MAX];
	const char *p = buf, *k, *v;
	size_t kn, vn;
	int r = read_params(ctx, who, devfd, buf, sizeof(buf));

	if (r < 0)
		return r;
	while (next_item(&p, &k, &kn, &v, &vn)) {
		long n;
		char num[32];

		if (kn != strlen(FRL_KEY) || strncmp(k, FRL_KEY, kn))
			continue;
		if (vn >= sizeof(num))
			return -EBADMSG;
		memcpy(num, v, vn);
		num[vn] = '\0';
		if (vgpu_parse_long(num, 10, 0, 1000, &n) < 0) {
			err(ctx,
			    "%s: " PARAMS ": " FRL_KEY "=%s is not a number",
			    who, num);
			return -EBADMSG;
		}
		if (n == 0) {
			*value = 0;
			return 0;
		}
		break;
	}
	if (frl_config <= 0)
		return -ENODATA;
	*value = (uint64_t)frl_config;
	return 0;
}

int vgpu_nvidia_frl_set(struct vgpu_instance *in, int devfd, long frl_config,
			uint64_t value)
{
	char buf[PARAMS_MAX], out[PARAMS_MAX + 32];
	const char *p = buf, *k, *v;
	size_t kn, vn, len = 0;
	int r;

	if (value != 0 && (frl_config <= 0 || value != (uint64_t)frl_config)) {
		char why[160];

		if (frl_config > 0)
			snprintf(
				why, sizeof(why),
				"NVIDIA's limiter is off (0) or at the type's frl_config (%ld fps)",
				frl_config);
		else
			snprintf(
				why, sizeof(why),
				"NVIDIA's limiter can only be turned off (0) here; the type publishes no frl_config");
		return vgpu_qos_unsupported(in, VGPU_QOS_FRAME_RATE_LIMIT, why);
	}
	r = read_params(in->ctx, in->uuid, devfd, buf, sizeof(buf));
	if (r < 0)
		return r;
	/* keep the other parameters, drop ours, add it back for "off" */
	while (next_item(&p, &k, &kn, &v, &vn)) {
		if (kn == strlen(FRL_KEY) && !strncmp(k, FRL_KEY, kn))
			continue;
		len += (size_t)snprintf(out + len, sizeof(out) - len, "%s%.*s",
					len ? "," : "", (int)(kn + 1 + vn), k);
	}
	if (value == 0)
		len += (size_t)snprintf(out + len, sizeof(out) - len,
					"%s" FRL_KEY "=0", len ? "," : "");
	if (len >= sizeof(out))
		return -EFBIG;
	/* an empty write clears the parameters; the driver wants a blank */
	r = vgpu_write_attr(devfd, PARAMS, len ? out : " ");
	if (r < 0) {
		err(in->ctx, "%s: writing \"%s\" to " PARAMS " failed: %s",
		    in->uuid, len ? out : " ", strerror(-r));
		return r;
	}
	return VGPU_QOS_APPLIED_AT_NEXT_START;
}

/* "NVIDIA H200X-1-18C", "GRID RTX6000-4Q", "NVIDIA A100-0B": the
 * framebuffer of the profile, from its last "-<GB><letter>" (0 = 512 MiB) */
int vgpu_nvidia_profile_fb(const char *name, uint64_t *bytes)
{
	const char *dash = name ? strrchr(name, '-') : NULL;
	unsigned long gb = 0;
	const char *q;

	if (!dash || !isdigit((unsigned char)dash[1]))
		return -EINVAL;
	for (q = dash + 1; isdigit((unsigned char)*q) && gb < 100000; q++)
		gb = gb * 10 + (unsigned long)(*q - '0');
	if (!isupper((unsigned char)*q) || gb >= 100000)
		return -EINVAL;
	*bytes = gb ? (uint64_t)gb << 30 : 512ull << 20;
	return 0;
}
