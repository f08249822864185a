/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The generic model of the SR-IOV backend: any PF no vendor model claims
 * (NICs, NVMe, ...). One type, "VF"; VFs are enabled on demand and bound
 * to vfio-pci.
 */
#include <string.h>

#include "sriov-private.h"

static bool generic_probe(const struct pf *pf)
{
	return true;
}

static int generic_list_types(struct pf *pf, struct vgpu_parent *parent,
			      struct vgpu_vec *out)
{
	return sriov_push_type(
		out, sriov_new_type(pf, parent, "VF", "SR-IOV virtual function",
				    (long)sriov_count_free(pf) +
					    sriov_enableable(pf)));
}

static bool generic_type_fits(const char *type_id)
{
	return !strcmp(type_id, "VF");
}

const struct sriov_model sriov_model_generic = {
	.name = "generic",
	.probe = generic_probe,
	.enables_vfs = true,
	.list_types = generic_list_types,
	.type_fits = generic_type_fits,
};
