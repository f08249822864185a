/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The Intel xe model of the SR-IOV backend (6.19+): the PF has
 * sriov_admin/{pf,vfN}/profile/ files. Types are "xe-default" (the profile
 * as provisioned) and one "xe-<level>" per sched_priority choice, written
 * before the VF is handed out and restored at removal. VFs are enabled
 * on demand.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sriov-private.h"
#include "util-sysfs.h"

#define XE_PRIO "sched_priority"
#define XE_EQ	"exec_quantum_ms"
#define XE_PT	"preempt_timeout_us"

static int xe_restore_uint(struct vgpu_ctx *ctx, struct pf *pf, struct vf *vf,
			   const struct record *rec, const char *file,
			   const char *prev);

/* the choices of sriov_admin/vf1/profile/sched_priority ("[low] normal
 * high"), or NULL when the kernel has no such file */
static char *xe_priorities(struct pf *pf)
{
	char *text = NULL;

	if (vgpu_read_attr_alloc(pf->fd, "sriov_admin/vf1/profile/" XE_PRIO,
				 &text) < 0)
		return NULL;
	return text;
}

/* does the choice list @text offer @level? writes the current choice
 * to @current when non-NULL */
static bool xe_has_level(const char *text, const char *level, char *current,
			 size_t size)
{
	bool found = false;
	const char *p = text;

	if (current)
		current[0] = '\0';
	while (*p) {
		size_t n;
		bool sel = false;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (!n)
			break;
		const char *w = p;
		size_t wn = n;

		if (wn > 2 && w[0] == '[' && w[wn - 1] == ']') {
			w++;
			wn -= 2;
			sel = true;
		}
		if (sel && current && wn < size) {
			memcpy(current, w, wn);
			current[wn] = '\0';
		}
		if (level && strlen(level) == wn && !strncmp(w, level, wn))
			found = true;
		p += n;
	}
	return found;
}

static bool xe_level_ok(const char *s)
{
	if (!*s || strlen(s) > 32)
		return false;
	for (; *s; s++)
		if (!islower((unsigned char)*s) &&
		    !isdigit((unsigned char)*s) && *s != '_')
			return false;
	return true;
}

/* sriov_admin/vf<index + 1>/profile/<file> */
static int xe_profile_path(const struct vf *vf, const char *file, char *buf,
			   size_t size)
{
	return sriov_fmt_path(buf, size, "sriov_admin/vf%u/profile/%s",
			      vf->index + 1, file);
}

static bool xe_probe(const struct pf *pf)
{
	struct stat st;

	return fstatat(pf->fd, "sriov_admin", &st, 0) == 0 &&
	       S_ISDIR(st.st_mode);
}

static int xe_list_types(struct pf *pf, struct vgpu_parent *parent,
			 struct vgpu_vec *out)
{
	long avail = (long)sriov_count_free(pf) + sriov_enableable(pf);
	char *levels = xe_priorities(pf);
	const char *p = levels;
	int r = 0;

	r = sriov_push_type(
		out,
		sriov_new_type(pf, parent, "xe-default",
			       "Intel xe VF, profile as provisioned", avail));
	while (r >= 0 && p && *p) {
		char level[40], tid[48], name[96];
		size_t n;

		p += strspn(p, " \t\n");
		n = strcspn(p, " \t\n");
		if (!n)
			break;
		if (n >= sizeof(level)) {
			p += n;
			continue;
		}
		memcpy(level, p, n);
		level[n] = '\0';
		p += n;
		if (level[0] == '[' && n > 2 && level[n - 1] == ']') {
			memmove(level, level + 1, n - 2);
			level[n - 2] = '\0';
		}
		if (!xe_level_ok(level))
			continue;
		snprintf(tid, sizeof(tid), "xe-%s", level);
		snprintf(name, sizeof(name),
			 "Intel xe VF, %s scheduling priority", level);
		if (!sriov_vec_has_type(out, tid))
			r = sriov_push_type(out, sriov_new_type(pf, parent, tid,
								name, avail));
		if (r >= 0)
			sriov_kv_append(
				(struct vgpu_type *)out->items[out->n - 1],
				XE_PRIO, level);
	}
	free(levels);
	return r;
}

static bool xe_type_fits(const char *type_id)
{
	return !strncmp(type_id, "xe-", 3) && xe_level_ok(type_id + 3);
}

/* write the VF's sched_priority for an "xe-<level>" type */
static int xe_configure(struct pf *pf, struct vf *vf, struct record *rec)
{
	struct vgpu_ctx *ctx = pf->ctx;
	char path[PATH_MAX], *levels = NULL;
	int r;

	if (!strcmp(rec->type, "xe-default"))
		return 0;
	r = xe_profile_path(vf, XE_PRIO, path, sizeof(path));
	if (r == 0)
		r = vgpu_read_attr_alloc(pf->fd, path, &levels);
	if (r < 0) {
		err(ctx, "%s: %s/%s: %s", rec->uuid, pf->bdf, path,
		    strerror(-r));
		return r;
	}
	if (!xe_has_level(levels, rec->type + 3, rec->prev_setting,
			  sizeof(rec->prev_setting))) {
		err(ctx, "%s: %s does not offer %s \"%s\"", rec->uuid, vf->bdf,
		    XE_PRIO, rec->type + 3);
		free(levels);
		return -ENOENT;
	}
	free(levels);
	r = vgpu_write_attr(pf->fd, path, rec->type + 3);
	if (r < 0) {
		err(ctx, "%s: writing %s to %s/%s failed: %s", rec->uuid,
		    rec->type + 3, pf->bdf, path, strerror(-r));
		rec->prev_setting[0] = '\0';
	}
	return r;
}

static int xe_unconfigure(struct vgpu_ctx *ctx, struct pf *pf,
			  const struct record *rec)
{
	struct vf *vf = pf->fd >= 0 ? sriov_find_vf(pf, rec->vf) : NULL;
	char path[PATH_MAX];
	int r;

	if (!vf)
		return 0;
	xe_restore_uint(ctx, pf, vf, rec, XE_EQ, rec->prev_exec_quantum_ms);
	xe_restore_uint(ctx, pf, vf, rec, XE_PT, rec->prev_preempt_timeout_us);
	if (!rec->prev_setting[0])
		return 0;
	r = xe_profile_path(vf, XE_PRIO, path, sizeof(path));
	if (r == 0)
		r = vgpu_write_attr(pf->fd, path, rec->prev_setting);
	if (r < 0)
		warn(ctx, "%s: restoring %s of %s failed: %s", rec->uuid,
		     XE_PRIO, rec->vf, strerror(-r));
	return r;
}

/* ---- QoS: sriov_admin/vfN/profile/{exec_quantum_ms,preempt_timeout_us,
 * sched_priority} -------------------------------------------------------- */

static const char *const xe_levels[] = {
	[VGPU_QOS_PRIORITY_LOW] = "low",
	[VGPU_QOS_PRIORITY_NORMAL] = "normal",
	[VGPU_QOS_PRIORITY_HIGH] = "high",
};

/* a uint profile file ("0" = unlimited) */
static int xe_read_uint(struct pf *pf, const struct vf *vf, const char *file,
			uint64_t *value)
{
	char path[PATH_MAX];
	long v;
	int r = xe_profile_path(vf, file, path, sizeof(path));

	if (r == 0)
		r = vgpu_read_attr_long(pf->fd, path, 10, 0, UINT32_MAX, &v);
	if (r == -EINVAL || r == -ERANGE) {
		err(pf->ctx, "%s: %s/%s is not an unsigned number", vf->bdf,
		    pf->bdf, path);
		return -EBADMSG;
	}
	if (r < 0) {
		if (r != -ENOENT)
			err(pf->ctx, "%s: %s/%s: %s", vf->bdf, pf->bdf, path,
			    strerror(-r));
		return r;
	}
	*value = (uint64_t)v;
	return 0;
}

static int xe_qos_get(struct pf *pf, struct vf *vf, const struct record *rec,
		      struct vgpu_instance *in, enum vgpu_qos_knob knob,
		      uint64_t *value, unsigned int *state)
{
	char path[PATH_MAX], cur[40], *levels = NULL;
	int r;

	switch (knob) {
	case VGPU_QOS_TIME_SLICE_US:
		r = xe_read_uint(pf, vf, XE_EQ, value);
		if (r == 0)
			*value *= 1000;
		return r == -ENOENT ? -EOPNOTSUPP : r;
	case VGPU_QOS_PREEMPT_TIMEOUT_US:
		r = xe_read_uint(pf, vf, XE_PT, value);
		return r == -ENOENT ? -EOPNOTSUPP : r;
	case VGPU_QOS_PRIORITY:
		r = xe_profile_path(vf, XE_PRIO, path, sizeof(path));
		if (r == 0)
			r = vgpu_read_attr_alloc(pf->fd, path, &levels);
		if (r < 0)
			return r == -ENOENT ? -EOPNOTSUPP : r;
		xe_has_level(levels, NULL, cur, sizeof(cur));
		free(levels);
		for (size_t i = 0; i < 3; i++) {
			if (!strcmp(cur, xe_levels[i])) {
				*value = i;
				return 0;
			}
		}
		err(pf->ctx, "%s: %s/%s has no selected level we know (\"%s\")",
		    vf->bdf, pf->bdf, path, cur);
		return -EBADMSG;
	default:
		return -EOPNOTSUPP;
	}
}

/* write @value to profile/@file, noting the value before in @prev once */
static int xe_write_uint(struct pf *pf, struct vf *vf, struct vgpu_instance *in,
			 const char *file, uint64_t value, char *prev,
			 size_t prev_size)
{
	char path[PATH_MAX], buf[32];
	uint64_t old;
	int r = xe_read_uint(pf, vf, file, &old);

	if (r == -ENOENT) {
		char why[128];

		snprintf(why, sizeof(why),
			 "this xe kernel has no sriov_admin/vfN/profile/%s",
			 file);
		return vgpu_qos_unsupported(
			in,
			!strcmp(file, XE_EQ) ? VGPU_QOS_TIME_SLICE_US
					     : VGPU_QOS_PREEMPT_TIMEOUT_US,
			why);
	}
	if (r < 0)
		return r;
	xe_profile_path(vf, file, path, sizeof(path));
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)value);
	r = vgpu_write_attr(pf->fd, path, buf);
	if (r < 0) {
		err(pf->ctx, "%s: writing %s to %s/%s failed: %s%s", in->uuid,
		    buf, pf->bdf, path, strerror(-r),
		    r == -EPERM || r == -EACCES ? " (the PF refuses it now)"
						: "");
		return r;
	}
	if (!prev[0])
		snprintf(prev, prev_size, "%llu", (unsigned long long)old);
	return 0;
}

static int xe_qos_set(struct pf *pf, struct vf *vf, struct record *rec,
		      struct vgpu_instance *in, enum vgpu_qos_knob knob,
		      uint64_t value)
{
	char path[PATH_MAX], cur[40], *levels = NULL;
	const char *level;
	int r;

	switch (knob) {
	case VGPU_QOS_TIME_SLICE_US:
		if (value % 1000) {
			err(pf->ctx,
			    "%s: xe sets the execution quantum in whole milliseconds; %llu µs is not",
			    in->uuid, (unsigned long long)value);
			return -EINVAL;
		}
		return xe_write_uint(pf, vf, in, XE_EQ, value / 1000,
				     rec->prev_exec_quantum_ms,
				     sizeof(rec->prev_exec_quantum_ms));
	case VGPU_QOS_PREEMPT_TIMEOUT_US:
		return xe_write_uint(pf, vf, in, XE_PT, value,
				     rec->prev_preempt_timeout_us,
				     sizeof(rec->prev_preempt_timeout_us));
	case VGPU_QOS_PRIORITY:
		level = xe_levels[value];
		r = xe_profile_path(vf, XE_PRIO, path, sizeof(path));
		if (r == 0)
			r = vgpu_read_attr_alloc(pf->fd, path, &levels);
		if (r == -ENOENT)
			return vgpu_qos_unsupported(
				in, knob,
				"this xe kernel has no sriov_admin/vfN/profile/sched_priority");
		if (r < 0)
			return r;
		if (!xe_has_level(levels, level, cur, sizeof(cur))) {
			char why[SRIOV_FIELD_MAX + 512];

			snprintf(
				why, sizeof(why),
				"xe offers the levels \"%.256s\" for %s, not \"%s\"",
				levels, vf->bdf, level);
			free(levels);
			return vgpu_qos_unsupported(in, knob, why);
		}
		free(levels);
		r = vgpu_write_attr(pf->fd, path, level);
		if (r < 0) {
			err(pf->ctx, "%s: writing %s to %s/%s failed: %s",
			    in->uuid, level, pf->bdf, path, strerror(-r));
			return r;
		}
		if (!rec->prev_setting[0])
			snprintf(rec->prev_setting, sizeof(rec->prev_setting),
				 "%s", cur);
		return 0;
	case VGPU_QOS_WEIGHT:
		return vgpu_qos_unsupported(
			in, knob,
			"xe SR-IOV schedules VFs by execution quantum and priority, without weights");
	default:
		return vgpu_qos_unsupported(
			in, knob, "xe SR-IOV has no frame-rate limiter");
	}
}

/* restore the profile values QoS changed */
static int xe_restore_uint(struct vgpu_ctx *ctx, struct pf *pf, struct vf *vf,
			   const struct record *rec, const char *file,
			   const char *prev)
{
	char path[PATH_MAX];
	int r;

	if (!prev[0])
		return 0;
	r = xe_profile_path(vf, file, path, sizeof(path));
	if (r == 0)
		r = vgpu_write_attr(pf->fd, path, prev);
	if (r < 0)
		warn(ctx, "%s: restoring %s=%s of %s failed: %s", rec->uuid,
		     file, prev, rec->vf, strerror(-r));
	return r;
}

/* sriov_admin/vfN/profile/vram_quota (bytes, 0 = auto-provisioned) */
static int xe_get_usage(struct pf *pf, struct vf *vf, const struct record *rec,
			struct vgpu_usage *usage)
{
	char path[PATH_MAX], buf[32];
	uint64_t v;

	if (xe_profile_path(vf, "vram_quota", path, sizeof(path)) == 0 &&
	    vgpu_read_attr(pf->fd, path, buf, sizeof(buf)) > 0 &&
	    vgpu_parse_size(buf, &v) == 0 && v > 0)
		vgpu_usage_set(usage, VGPU_USAGE_FB_BYTES, v);
	return 0;
}

/* "profile/<knob>" goes to the PF's sriov_admin/vfN/profile/<knob> */
static int xe_write_attr(struct vgpu_ctx *ctx, const struct record *rec,
			 const char *key, const char *value)
{
	char path[PATH_MAX];
	struct pf pf;
	struct vf *vf;
	int r;

	if (strncmp(key, "profile/", 8))
		return 1;
	r = sriov_pf_open(ctx, rec->parent, &pf);
	if (r < 0)
		return r;
	r = sriov_pf_load_vfs(&pf);
	vf = r < 0 ? NULL : sriov_find_vf(&pf, rec->vf);
	if (!vf)
		r = r < 0 ? r : -ENOENT;
	else
		r = xe_profile_path(vf, key + 8, path, sizeof(path));
	if (r == 0)
		r = vgpu_write_attr(pf.fd, path, value);
	sriov_pf_clear(&pf);
	return r;
}

const struct sriov_model sriov_model_xe = {
	.name = "xe",
	.probe = xe_probe,
	.enables_vfs = true,
	.list_types = xe_list_types,
	.type_fits = xe_type_fits,
	.configure = xe_configure,
	.unconfigure = xe_unconfigure,
	.write_attr = xe_write_attr,
	.qos_get = xe_qos_get,
	.qos_set = xe_qos_set,
	.get_usage = xe_get_usage,
};
