/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * QoS and usage of a provider's device, management side: the control
 * socket's qos-set, qos-get and usage requests (see ctl.h), which the
 * provider answers from its vendor's callbacks (libvgpu-provider.h:
 * qos_set, qos_get, usage). Knobs and counters travel in libvgpu's order
 * (enum vgpu_qos_knob, enum vgpu_usage_counter); the backend operations in
 * mgmt.c map them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ctl.h"
#include "libvgpu-private.h"
#include "vfio-user-qos.h"

/* as long as management waits for any control request */
#define VU_QOS_TIMEOUT_MS 5000

static int ask_provider(struct vgpu_instance *in, const char *request,
			unsigned int n_fields, struct vfu_ctl_reply *rep)
{
	char *path;
	int r;

	if (asprintf(&path, "%s/vfio-user/%s.ctl", in->ctx->runtime_dir,
		     in->parent_id) < 0)
		return -ENOMEM;
	r = vfu_ctl_call(path, request, n_fields, VU_QOS_TIMEOUT_MS, rep);
	if (r == -EBADMSG)
		err(in->ctx, "%s: malformed reply from provider %s to \"%s\"",
		    in->uuid, in->parent_id, request);
	free(path);
	return r;
}

/* a decimal u64 field of a reply */
static int field_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return -EBADMSG;
	errno = 0;
	*v = strtoull(s, &end, 10);
	return errno || *end ? -EBADMSG : 0;
}

int vu_provider_qos_set(struct vgpu_instance *in, unsigned int knob,
			uint64_t value)
{
	struct vfu_ctl_reply rep;
	char req[VFU_CTL_MAX_REQ];
	int r;

	if (knob >= VFU_CTL_KNOBS)
		return -EOPNOTSUPP;
	snprintf(req, sizeof(req), "qos-set %s %s %" PRIu64, in->uuid,
		 vfu_ctl_knob_names[knob], value);
	r = ask_provider(in, req, 1, &rep);
	if (r == 0)
		vfu_ctl_reply_free(&rep);
	/* a provider from before QoS does not know the request */
	return r == -EINVAL ? -EOPNOTSUPP : r;
}

int vu_provider_qos_get(struct vgpu_instance *in, unsigned int knob,
			uint64_t *value)
{
	struct vfu_ctl_reply rep;
	char req[VFU_CTL_MAX_REQ];
	int r;

	if (knob >= VFU_CTL_KNOBS)
		return -EOPNOTSUPP;
	snprintf(req, sizeof(req), "qos-get %s %s", in->uuid,
		 vfu_ctl_knob_names[knob]);
	r = ask_provider(in, req, 1, &rep);
	if (r < 0)
		return r == -EINVAL ? -EOPNOTSUPP : r;
	r = rep.n_records == 1 ? field_u64(rep.fields[0], value) : -EBADMSG;
	vfu_ctl_reply_free(&rep);
	return r;
}

int vu_provider_usage(struct vgpu_instance *in,
		      uint64_t value[VFU_CTL_COUNTERS], unsigned int *reported)
{
	struct vfu_ctl_reply rep;
	char req[VFU_CTL_MAX_REQ];
	uint64_t mask;
	int r;

	snprintf(req, sizeof(req), "usage %s", in->uuid);
	r = ask_provider(in, req, 1 + VFU_CTL_COUNTERS, &rep);
	if (r < 0)
		return r == -EINVAL ? -EOPNOTSUPP : r;
	r = rep.n_records == 1 ? field_u64(rep.fields[0], &mask) : -EBADMSG;
	for (unsigned int i = 0; r == 0 && i < VFU_CTL_COUNTERS; i++)
		r = field_u64(rep.fields[1 + i], &value[i]);
	if (r == 0 && mask >> VFU_CTL_COUNTERS)
		r = -EBADMSG;
	vfu_ctl_reply_free(&rep);
	if (r == -EBADMSG)
		err(in->ctx, "%s: malformed usage from provider %s", in->uuid,
		    in->parent_id);
	if (r == 0)
		*reported = (unsigned int)mask;
	return r;
}
