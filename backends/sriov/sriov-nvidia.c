/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The NVIDIA model of the SR-IOV backend: vendor-specific VFIO (vGPU 17+).
 * A VF becomes a vGPU when its nvidia/current_vgpu_type is written; it
 * stays with NVIDIA's driver, which serves VFIO for it. VFs are enabled by
 * NVIDIA's sriov-manage, never by libvgpu.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sriov-private.h"
#include "util-sysfs.h"
#include "vendor-nvidia.h"

#define CURRENT	  "nvidia/current_vgpu_type"
#define CREATABLE "nvidia/creatable_vgpu_types"

/*
 * One entry of nvidia/creatable_vgpu_types: "1414 : NVIDIA H200X-1-18C".
 * The first line is a header ("ID    : vGPU Name"); lines that do not
 * start with a number are skipped. Returns the next line or NULL.
 */
static const char *nv_next(const char *p, long *id, const char **name,
			   size_t *name_len)
{
	while (p && *p) {
		const char *eol = strchr(p, '\n');
		const char *end = eol ? eol : p + strlen(p);
		const char *q = p;
		char *num_end;
		long v;

		while (q < end && isblank((unsigned char)*q))
			q++;
		p = eol ? eol + 1 : NULL;
		if (q == end || !isdigit((unsigned char)*q))
			continue;
		errno = 0;
		v = strtol(q, &num_end, 10);
		if (errno || v <= 0 || v > INT_MAX || num_end > end)
			continue;
		q = num_end;
		while (q < end && isblank((unsigned char)*q))
			q++;
		if (q == end || *q != ':')
			continue;
		q++;
		while (q < end && isblank((unsigned char)*q))
			q++;
		while (end > q && isspace((unsigned char)end[-1]))
			end--;
		*id = v;
		*name = q;
		*name_len = (size_t)(end - q);
		return p ? p : "";
	}
	return NULL;
}

static bool nv_creatable_has(const char *text, long want, char **name_ret)
{
	const char *p = text, *name;
	size_t len;
	long id;

	while ((p = nv_next(p, &id, &name, &len))) {
		if (id == want) {
			if (name_ret && len)
				*name_ret = strndup(name, len);
			return true;
		}
	}
	return false;
}

/* "nvidia-1414" -> 1414 */
static long nv_type_number(const char *type_id)
{
	long v;

	if (strncmp(type_id, "nvidia-", 7) ||
	    vgpu_parse_long(type_id + 7, 10, 1, INT_MAX, &v) < 0 ||
	    type_id[7] == '0' || type_id[7] == ' ')
		return -ENOENT;
	return v;
}

static bool nv_probe(const struct pf *pf)
{
	return !strcmp(pf->driver, "nvidia");
}

static void nv_read_vf(struct pf *pf, struct vf *vf, int vfd)
{
	long cur;
	int r = vgpu_read_attr_long(vfd, CURRENT, 10, 0, INT_MAX, &cur);

	vf->vendor_current = r < 0 ? r : cur;
	if (r < 0 && r != -ENOENT)
		warn(pf->ctx, "%s: " CURRENT ": %s", vf->bdf, strerror(-r));
	r = vgpu_read_attr_alloc(vfd, CREATABLE, &vf->vendor_creatable);
	if (r < 0 && r != -ENOENT)
		warn(pf->ctx, "%s: " CREATABLE ": %s", vf->bdf, strerror(-r));
}

static bool nv_vf_free(const struct pf *pf, const struct vf *vf)
{
	return vf->vendor_current == 0;
}

static int nv_list_types(struct pf *pf, struct vgpu_parent *parent,
			 struct vgpu_vec *out)
{
	bool any_vendor = false;
	int r = 0;

	for (size_t i = 0; i < pf->n_vfs && r >= 0; i++) {
		const struct vf *vf = &pf->vfs[i];
		const char *p, *name;
		size_t len;
		long id;

		any_vendor |= vf->vendor_current >= 0;
		/* the types in use show up too, with their capacity */
		if (vf->vendor_current > 0) {
			char tid[32];

			snprintf(tid, sizeof(tid), "nvidia-%ld",
				 vf->vendor_current);
			if (!sriov_vec_has_type(out, tid))
				r = sriov_push_type(
					out, sriov_new_type(pf, parent, tid,
							    NULL, 0));
		}
		if (!sriov_vf_is_free(pf, vf) || !vf->vendor_creatable)
			continue;
		p = vf->vendor_creatable;
		while (r >= 0 && (p = nv_next(p, &id, &name, &len))) {
			char tid[32];
			char *tname;

			snprintf(tid, sizeof(tid), "nvidia-%ld", id);
			if (sriov_vec_has_type(out, tid))
				continue;
			tname = strndup(name, len);
			if (!tname)
				return -ENOMEM;
			r = sriov_push_type(
				out, sriov_new_type(pf, parent, tid, tname, 0));
			free(tname);
		}
	}
	if (!any_vendor)
		info(pf->ctx,
		     "%s: NVIDIA PF without vendor-specific VFIO VFs; enable them with /usr/lib/nvidia/sriov-manage -e %s",
		     pf->bdf, pf->bdf);
	/* capacity: the free VFs whose creatable list still has the type;
	 * the driver shrinks the lists as the card fills */
	for (size_t i = 0; i < out->n; i++) {
		struct vgpu_type *t = out->items[i];
		long num = nv_type_number(t->id);
		int avail = 0;

		if (t->parent != parent)
			continue;
		for (size_t j = 0; j < pf->n_vfs; j++) {
			const struct vf *vf = &pf->vfs[j];
			char *tname = NULL;

			if (!sriov_vf_is_free(pf, vf) ||
			    !vf->vendor_creatable ||
			    !nv_creatable_has(vf->vendor_creatable, num,
					      t->name ? NULL : &tname))
				continue;
			avail++;
			if (tname && !t->name)
				t->name = tname;
			else
				free(tname);
		}
		t->available = avail;
	}
	return r;
}

static bool nv_type_fits(const char *type_id)
{
	return nv_type_number(type_id) > 0;
}

static bool nv_vf_fits(const struct pf *pf, const struct vf *vf,
		       const char *type_id)
{
	return vf->vendor_creatable &&
	       nv_creatable_has(vf->vendor_creatable, nv_type_number(type_id),
				NULL);
}

static int nv_no_free_vf(const struct pf *pf, const char *type_id)
{
	err(pf->ctx,
	    "%s: no free VF can create %s; VFs are enabled by NVIDIA's sriov-manage, not by libvgpu",
	    pf->bdf, type_id);
	return -ENOSPC;
}

static int nv_configure(struct pf *pf, struct vf *vf, struct record *rec)
{
	struct vgpu_ctx *ctx = pf->ctx;
	char buf[32];
	int fd, r;

	snprintf(buf, sizeof(buf), "%ld", nv_type_number(rec->type));
	/* the profile name, for what it tells (framebuffer size) later */
	if (vf->vendor_creatable) {
		char *name = NULL;

		if (nv_creatable_has(vf->vendor_creatable,
				     nv_type_number(rec->type), &name) &&
		    name)
			snprintf(rec->type_name, sizeof(rec->type_name), "%s",
				 name);
		free(name);
	}
	fd = sriov_vf_open(ctx, vf->bdf);
	if (fd < 0)
		return fd;
	r = vgpu_write_attr(fd, CURRENT, buf);
	close(fd);
	if (r < 0)
		err(ctx, "%s: writing %s to " CURRENT " of %s failed: %s",
		    rec->uuid, buf, vf->bdf, strerror(-r));
	return r;
}

static int nv_unconfigure(struct vgpu_ctx *ctx, struct pf *pf,
			  const struct record *rec)
{
	int fd, r;

	fd = sriov_vf_open(ctx, rec->vf);
	if (fd < 0)
		return fd == -ENOENT ? 0 : fd;
	r = vgpu_write_attr(fd, CURRENT, "0");
	close(fd);
	if (r < 0)
		err(ctx, "%s: resetting " CURRENT " of %s failed: %s",
		    rec->uuid, rec->vf, strerror(-r));
	return r;
}

static bool nv_vf_active(int vfd, const struct record *rec)
{
	long v;

	return vgpu_read_attr_long(vfd, CURRENT, 10, 0, INT_MAX, &v) == 0 &&
	       v == nv_type_number(rec->type);
}

/* the frame-rate limiter through <VF>/nvidia/vgpu_params; the type's own
 * limit (frl_config) is not published for these VFs, so only "off" can be
 * set and "on" cannot be read back as a number */
static int nv_qos_get(struct pf *pf, struct vf *vf, const struct record *rec,
		      struct vgpu_instance *in, enum vgpu_qos_knob knob,
		      uint64_t *value, unsigned int *state)
{
	int fd, r;

	if (knob != VGPU_QOS_FRAME_RATE_LIMIT)
		return -EOPNOTSUPP;
	fd = sriov_vf_open(pf->ctx, vf->bdf);
	if (fd < 0)
		return fd;
	r = vgpu_nvidia_frl_get(pf->ctx, in->uuid, fd, -1, value);
	close(fd);
	if (r == 0)
		*state |= VGPU_QOS_STATE_PENDING;
	return r;
}

static int nv_qos_set(struct pf *pf, struct vf *vf, struct record *rec,
		      struct vgpu_instance *in, enum vgpu_qos_knob knob,
		      uint64_t value)
{
	int fd, r;

	if (knob != VGPU_QOS_FRAME_RATE_LIMIT)
		return vgpu_qos_unsupported(
			in, knob,
			"NVIDIA's vGPU exposes only the frame-rate limiter (nvidia/vgpu_params); its scheduler is set per GPU with nvidia-smi");
	fd = sriov_vf_open(pf->ctx, vf->bdf);
	if (fd < 0)
		return fd;
	r = vgpu_nvidia_frl_set(in, fd, -1, value);
	close(fd);
	return r;
}

static int nv_get_usage(struct pf *pf, struct vf *vf, const struct record *rec,
			struct vgpu_usage *usage)
{
	uint64_t fb;

	if (vgpu_nvidia_profile_fb(rec->type_name, &fb) == 0)
		vgpu_usage_set(usage, VGPU_USAGE_FB_BYTES, fb);
	return 0;
}

const struct sriov_model sriov_model_nvidia = {
	.name = "nvidia",
	.probe = nv_probe,
	.vendor_vfio = true,
	.read_vf = nv_read_vf,
	.vf_free = nv_vf_free,
	.list_types = nv_list_types,
	.type_fits = nv_type_fits,
	.vf_fits = nv_vf_fits,
	.no_free_vf = nv_no_free_vf,
	.configure = nv_configure,
	.unconfigure = nv_unconfigure,
	.vf_active = nv_vf_active,
	.qos_get = nv_qos_get,
	.qos_set = nv_qos_set,
	.get_usage = nv_get_usage,
};
