/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The AMD MxGPU (GIM) model of the SR-IOV backend: the gim module enables
 * the VFs and fixes their count and partitioning when it loads, so there is
 * one type, "gim-vf", and libvgpu never changes sriov_numvfs.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "sriov-private.h"
#include "util-sysfs.h"

static bool gim_probe(const struct pf *pf)
{
	return !strcmp(pf->driver, "gim");
}

/* the gim module parameters that shape the VFs, as type attributes */
static void gim_params(struct pf *pf, struct vgpu_type *t)
{
	static const char *const params[] = {
		"vf_num",
		"sch_policy",
		"fb_sharing_mode",
		"pf_fb_size",
		"accelerator_partition_mode",
		"memory_partition_mode",
	};
	int fd = sriov_open_rel(pf->ctx, "module/gim", "parameters");

	if (fd < 0)
		return;
	for (size_t i = 0; i < sizeof(params) / sizeof(params[0]); i++) {
		char buf[256], key[64];

		if (vgpu_read_attr(fd, params[i], buf, sizeof(buf)) < 0)
			continue;
		snprintf(key, sizeof(key), "gim.%s", params[i]);
		sriov_kv_append(t, key, buf);
	}
	close(fd);
}

static int gim_list_types(struct pf *pf, struct vgpu_parent *parent,
			  struct vgpu_vec *out)
{
	struct vgpu_type *t;

	t = sriov_new_type(pf, parent, "gim-vf", "AMD MxGPU VF",
			   (long)sriov_count_free(pf));
	if (t) {
		t->description = strdup(
			"VF count and partitioning are fixed when the gim module loads");
		gim_params(pf, t);
	}
	return sriov_push_type(out, t);
}

static bool gim_type_fits(const char *type_id)
{
	return !strcmp(type_id, "gim-vf");
}

static int gim_no_free_vf(const struct pf *pf, const char *type_id)
{
	err(pf->ctx,
	    "%s: no free VF, and AMD GIM fixes the VF count and partitioning when it loads: change vf_num (and the partition modes) in /etc/gim_config or the gim module parameters, then reload gim",
	    pf->bdf);
	return -EOPNOTSUPP;
}

const struct sriov_model sriov_model_gim = {
	.name = "gim",
	.probe = gim_probe,
	.list_types = gim_list_types,
	.type_fits = gim_type_fits,
	.no_free_vf = gim_no_free_vf,
};
