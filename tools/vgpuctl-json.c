/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl's JSON objects for parents, types, instances and events, shared by
 * every verb's --json.
 */
#include <stdio.h>
#include <string.h>

#include "vgpuctl-json.h"

void json_parent(struct jw *j, struct vgpu_parent *p, bool names)
{
	uint16_t ven, dev, sven, sdev;
	uint32_t cls;
	int numa = vgpu_parent_get_numa_node(p);

	jw_begin_object(j);
	jw_member_string(j, "id", vgpu_parent_get_id(p));
	jw_member_string(j, "backend", vgpu_parent_get_backend(p));
	jw_member_string(j, "bus", vgpu_parent_get_bus(p));
	jw_member_string(j, "driver", vgpu_parent_get_driver(p));
	jw_member_string(j, "syspath", vgpu_parent_get_syspath(p));
	jw_key(j, "numa_node");
	if (numa >= 0)
		jw_int(j, numa);
	else
		jw_null(j);
	if (vgpu_parent_get_pci_ids(p, &ven, &dev, &sven, &sdev, &cls) == 0) {
		char buf[16];

		jw_key(j, "pci");
		jw_begin_object(j);
		snprintf(buf, sizeof(buf), "%04x", ven);
		jw_member_string(j, "vendor_id", buf);
		snprintf(buf, sizeof(buf), "%04x", dev);
		jw_member_string(j, "device_id", buf);
		snprintf(buf, sizeof(buf), "%04x", sven);
		jw_member_string(j, "subsystem_vendor_id", buf);
		snprintf(buf, sizeof(buf), "%04x", sdev);
		jw_member_string(j, "subsystem_device_id", buf);
		snprintf(buf, sizeof(buf), "%06x", cls);
		jw_member_string(j, "class", buf);
		if (names) {
			jw_member_string(j, "vendor_name",
					 vgpu_parent_get_vendor_name(p));
			jw_member_string(j, "device_name",
					 vgpu_parent_get_device_name(p));
		}
		jw_end_object(j);
	}
	jw_end_object(j);
}

void json_type(struct jw *j, struct vgpu_type *t)
{
	int avail = vgpu_type_get_available_instances(t);

	jw_begin_object(j);
	jw_member_string(j, "id", vgpu_type_get_id(t));
	jw_member_string(j, "name", vgpu_type_get_name(t));
	jw_member_string(j, "device_api", vgpu_type_get_device_api(t));
	jw_key(j, "available_instances");
	if (avail >= 0)
		jw_int(j, avail);
	else
		jw_null(j);
	jw_member_string(j, "description", vgpu_type_get_description(t));
	jw_key(j, "attributes");
	jw_begin_object(j);
	for (size_t i = 0; i < vgpu_type_get_attr_count(t); i++) {
		const char *k, *v;

		vgpu_type_get_attr(t, i, &k, &v);
		jw_member_string(j, k, v);
	}
	jw_end_object(j);
	jw_end_object(j);
}

static void json_attrs(struct jw *j, struct vgpu_config *c)
{
	jw_key(j, "attrs");
	jw_begin_array(j);
	for (size_t i = 0; c && i < vgpu_config_get_attr_count(c); i++) {
		const char *k, *v;

		vgpu_config_get_attr(c, i, &k, &v);
		jw_begin_object(j);
		jw_member_string(j, k, v);
		jw_end_object(j);
	}
	jw_end_array(j);
}

/* @in_use: 1/0 to report it, < 0 to leave it out */
void json_instance(struct jw *j, struct vgpu_instance *in, int in_use)
{
	struct vgpu_config *c = vgpu_instance_get_config(in);
	int group = vgpu_instance_get_iommu_group(in);

	jw_begin_object(j);
	jw_member_string(j, "uuid", vgpu_instance_get_uuid(in));
	jw_member_string(j, "parent", vgpu_instance_get_parent_id(in));
	jw_member_string(j, "type", vgpu_instance_get_type_id(in));
	jw_member_string(j, "backend", vgpu_instance_get_backend(in));
	jw_key(j, "active");
	jw_bool(j, vgpu_instance_is_active(in));
	jw_key(j, "defined");
	jw_bool(j, c != NULL);
	jw_key(j, "autostart");
	jw_bool(j, c && vgpu_config_get_autostart(c));
	jw_key(j, "iommu_group");
	if (group >= 0)
		jw_int(j, group);
	else
		jw_null(j);
	if (in_use >= 0) {
		jw_key(j, "in_use");
		jw_bool(j, in_use > 0);
	}
	jw_member_string(j, "syspath", vgpu_instance_get_syspath(in));
	json_attrs(j, c);
	jw_end_object(j);
}
