/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* The mdev backend over static fake trees: enumeration, parsing, and every
 * kind of malformed sysfs content. */
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test-common.h"

#pragma GCC diagnostic ignored "-Wformat-truncation"

#define GVT "0000:00:02.0"
#define NV  "0000:3b:00.0"
#define U1  "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01"
#define U2  "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b02"

static struct vgpu_parent *get_parent(const char *id)
{
	struct vgpu_parent *p = NULL;

	ck_assert_int_eq(vgpu_parent_get(fx.ctx, id, &p), 0);
	return p;
}

START_TEST(parents_listed_sorted_with_identity)
{
	struct vgpu_parent **list;
	size_t n;
	uint16_t ven, dev, sven, sdev;
	uint32_t cls;

	fixture_standard_host();
	ck_assert_int_eq(vgpu_parent_list(fx.ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 5);
	ck_assert_str_eq(vgpu_parent_get_id(list[0]), "0.0.0023");
	ck_assert_str_eq(vgpu_parent_get_id(list[1]), GVT);
	ck_assert_str_eq(vgpu_parent_get_id(list[2]), "0000:00:05.0");
	ck_assert_str_eq(vgpu_parent_get_id(list[3]), NV);
	ck_assert_str_eq(vgpu_parent_get_id(list[4]), "matrix");
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(vgpu_parent_get_backend(list[i]), "mdev");

	ck_assert_str_eq(vgpu_parent_get_bus(list[1]), "pci");
	ck_assert_str_eq(vgpu_parent_get_driver(list[1]), "i915");
	ck_assert_int_eq(vgpu_parent_get_numa_node(list[1]), 0);
	ck_assert_int_eq(vgpu_parent_get_numa_node(list[2]), -1);
	ck_assert_int_eq(vgpu_parent_get_pci_ids(list[1], &ven, &dev, &sven,
						 &sdev, &cls),
			 0);
	ck_assert_uint_eq(ven, 0x8086);
	ck_assert_uint_eq(dev, 0x3e92);
	ck_assert_uint_eq(sven, 0x1028);
	ck_assert_uint_eq(sdev, 0x0869);
	ck_assert_uint_eq(cls, 0x030000);
	ck_assert_ptr_eq(vgpu_parent_get_ctx(list[1]), fx.ctx);
	ck_assert_ptr_nonnull(strstr(vgpu_parent_get_syspath(list[1]),
				     "/devices/pci0000:00/" GVT));

	/* non-PCI parents list correctly, without PCI identity */
	ck_assert_str_eq(vgpu_parent_get_bus(list[0]), "css");
	ck_assert_int_eq(
		vgpu_parent_get_pci_ids(list[0], &ven, NULL, NULL, NULL, NULL),
		-ENODATA);
	ck_assert_ptr_null(vgpu_parent_get_vendor_name(list[0]));
	ck_assert_str_eq(vgpu_parent_get_driver(list[4]), "vfio_ap");
	vgpu_parent_list_free(list, n);
}
END_TEST

START_TEST(pci_names_from_the_id_database)
{
	struct vgpu_parent *p;

	fixture_standard_host();
	p = get_parent(GVT);
	/* pci.ids ships with libpci's package; names only when it is there */
	if (vgpu_parent_get_vendor_name(p))
		ck_assert_str_eq(vgpu_parent_get_vendor_name(p),
				 "Intel Corporation");
	vgpu_parent_unref(p);
}
END_TEST

START_TEST(parent_lookup_errors)
{
	struct vgpu_parent *p = NULL;

	fixture_standard_host();
	ck_assert_int_eq(vgpu_parent_get(fx.ctx, "0000:99:00.0", &p), -ENODEV);
	ck_assert_int_eq(vgpu_parent_get(fx.ctx, "../../etc", &p), -EINVAL);
	ck_assert_int_eq(vgpu_parent_get(fx.ctx, "", &p), -EINVAL);
	ck_assert_int_eq(vgpu_parent_get(fx.ctx, "..", &p), -EINVAL);
	ck_assert_int_eq(vgpu_parent_get(NULL, GVT, &p), -EINVAL);
	ck_assert_int_eq(vgpu_parent_get(fx.ctx, GVT, NULL), -EINVAL);
	ck_assert_ptr_null(p);
}
END_TEST

START_TEST(types_and_vendor_descriptions)
{
	struct vgpu_parent *p = get_parent((fixture_standard_host(), GVT));
	struct vgpu_type **types, *t;
	const char *k, *v;
	size_t n;

	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	ck_assert_uint_eq(n, 2);
	t = types[0];
	ck_assert_str_eq(vgpu_type_get_id(t), "i915-GVTg_V5_4");
	ck_assert_str_eq(vgpu_type_get_name(t), "GVTg_V5_4");
	ck_assert_str_eq(vgpu_type_get_device_api(t), "vfio-pci");
	ck_assert_int_eq(vgpu_type_get_available_instances(t), 1);
	ck_assert_ptr_eq(vgpu_type_get_parent(t), p);
	ck_assert_uint_eq(vgpu_type_get_attr_count(t), 5);
	ck_assert_int_eq(vgpu_type_get_attr(t, 0, &k, &v), 0);
	ck_assert_str_eq(k, "low_gm_size");
	ck_assert_str_eq(v, "128MB");
	ck_assert_str_eq(vgpu_type_get_attr_value(t, "resolution"),
			 "1920x1200");
	ck_assert_ptr_null(vgpu_type_get_attr_value(t, "nope"));
	ck_assert_int_eq(vgpu_type_get_attr(t, 5, &k, &v), -ERANGE);
	/* the raw text is kept, without its final newline */
	ck_assert_str_eq(vgpu_type_get_description(t),
			 "low_gm_size: 128MB\nhigh_gm_size: 512MB\nfence: 4\n"
			 "resolution: 1920x1200\nweight: 4");
	vgpu_type_list_free(types, n);
	vgpu_parent_unref(p);

	p = get_parent(NV);
	ck_assert_int_eq(vgpu_type_get(p, "nvidia-256", &t), 0);
	ck_assert_str_eq(vgpu_type_get_name(t), "GRID RTX6000-1Q");
	ck_assert_uint_eq(vgpu_type_get_attr_count(t), 5);
	ck_assert_str_eq(vgpu_type_get_attr_value(t, "framebuffer"), "1024M");
	ck_assert_str_eq(vgpu_type_get_attr_value(t, "max_instance"), "24");
	ck_assert_int_eq(vgpu_type_get_attr(t, 4, &k, NULL), 0);
	ck_assert_str_eq(k, "max_instance");
	/* the total capacity, from NVIDIA's description */
	ck_assert_int_eq(vgpu_type_get_max_instances(t), 24);
	vgpu_type_unref(t);
	ck_assert_int_eq(vgpu_type_get(p, "nvidia-999", &t), -ENOENT);
	ck_assert_int_eq(vgpu_type_get(p, "../x", &t), -EINVAL);
	vgpu_parent_unref(p);

	/* no description at all */
	p = get_parent("0000:00:05.0");
	ck_assert_int_eq(vgpu_type_get(p, "mtty-2", &t), 0);
	ck_assert_ptr_null(vgpu_type_get_description(t));
	ck_assert_uint_eq(vgpu_type_get_attr_count(t), 0);
	/* kernel mdev has no total in general */
	ck_assert_int_eq(vgpu_type_get_max_instances(t), -ENODATA);
	ck_assert_int_eq(vgpu_type_get_max_instances(NULL), -EINVAL);
	vgpu_type_unref(t);
	vgpu_parent_unref(p);
}
END_TEST

START_TEST(unrecognised_description_keeps_raw_text_only)
{
	static const char *const texts[] = {
		"just some words",
		"key: value\nthis line has no separator\n",
		"a=1, b",
		": novalue",
		"=x",
		"bad key!: 1",
	};
	struct vgpu_parent *p;
	struct vgpu_type *t;

	ck_assert_int_eq(fake_tree_add_pci_parent(fx.tree, GVT, 0x8086, 0x1234,
						  0, 0, 0x030000, "i915", 0),
			 0);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char id[32];

		snprintf(id, sizeof(id), "t-%zu", i);
		ck_assert_int_eq(fake_tree_add_type(fx.tree, GVT, id, NULL,
						    texts[i], "vfio-pci", 1),
				 0);
	}
	p = get_parent(GVT);
	for (size_t i = 0; i < sizeof(texts) / sizeof(texts[0]); i++) {
		char id[32];

		snprintf(id, sizeof(id), "t-%zu", i);
		ck_assert_int_eq(vgpu_type_get(p, id, &t), 0);
		ck_assert_msg(vgpu_type_get_attr_count(t) == 0, "%s parsed",
			      texts[i]);
		ck_assert_ptr_nonnull(vgpu_type_get_description(t));
		vgpu_type_unref(t);
	}
	vgpu_parent_unref(p);
}
END_TEST

START_TEST(active_instances_with_group_and_type)
{
	struct vgpu_instance **list, *in;
	size_t n;

	fixture_standard_host();
	ck_assert_int_eq(fake_tree_add_instance(fx.tree, NV, "nvidia-256", U2),
			 0);
	ck_assert_int_eq(
		fake_tree_add_instance(fx.tree, GVT, "i915-GVTg_V5_8", U1), 0);
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NULL, NULL, &list, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	/* sorted by parent, then UUID */
	ck_assert_str_eq(vgpu_instance_get_uuid(list[0]), U1);
	ck_assert_str_eq(vgpu_instance_get_parent_id(list[0]), GVT);
	ck_assert_str_eq(vgpu_instance_get_type_id(list[0]), "i915-GVTg_V5_8");
	ck_assert(vgpu_instance_is_active(list[0]));
	ck_assert(!vgpu_instance_is_defined(list[0]));
	ck_assert_int_ge(vgpu_instance_get_iommu_group(list[0]), 0);
	ck_assert_int_ne(vgpu_instance_get_iommu_group(list[0]),
			 vgpu_instance_get_iommu_group(list[1]));
	ck_assert_str_eq(vgpu_instance_get_backend(list[1]), "mdev");
	ck_assert_ptr_nonnull(
		strstr(vgpu_instance_get_syspath(list[1]), "/" NV "/" U2));
	vgpu_instance_list_free(list, n);

	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NV, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	vgpu_instance_list_free(list, n);

	/* any case in, lower case out */
	ck_assert_int_eq(vgpu_instance_get(
				 fx.ctx, "8A1F6A8C-0F0B-4C1E-9D6A-3C8C2F6F2B01",
				 NULL, &in),
			 0);
	ck_assert_str_eq(vgpu_instance_get_uuid(in), U1);
	vgpu_instance_unref(in);
	ck_assert_int_eq(vgpu_instance_get(
				 fx.ctx, "8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b0f",
				 NULL, &in),
			 -ENOENT);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, "not-a-uuid", NULL, &in),
			 -EINVAL);
	ck_assert_int_eq(vgpu_instance_get(fx.ctx, U1 "0", NULL, &in), -EINVAL);
	ck_assert_int_eq(vgpu_instance_get(
				 fx.ctx, "8a1f6a8c+0f0b-4c1e-9d6a-3c8c2f6f2b01",
				 NULL, &in),
			 -EINVAL);
	/* every way a name can miss the 8-4-4-4-12 hex form */
	static const char *const bad[] = {
		"",
		"8a1f6a8c",
		"8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b0",	 /* 35 */
		"8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01-", /* 37 */
		"8a1f6a8c0-f0b-4c1e-9d6a-3c8c2f6f2b01",	 /* dash moved */
		"8a1f6a8c-0f0b-4c1e-9d6a3-c8c2f6f2b01",
		"8a1f6a8c-0f0b-4c1e-9d6a--c8c2f6f2b01",
		"8a1f6a8g-0f0b-4c1e-9d6a-3c8c2f6f2b01", /* not hex */
		"8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b0G",
		"8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b0 ",
		"8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b/1",
		"{8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b01}",
		"8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b\xc3\xa9",
		"------------------------------------",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(vgpu_instance_get(fx.ctx, bad[i], NULL, &in) ==
				      -EINVAL,
			      "\"%s\" taken as a UUID", bad[i]);
}
END_TEST

/*
 * Directories larger than one read of the listing's directory buffer (a
 * parent with 620 instances, a definitions directory with as many files):
 * every entry is found, in order, with its type and its definition.
 */
START_TEST(big_directories_read_whole)
{
	/* 620 entries of 56 bytes: 34 KiB, more than one read */
	enum {
		N = 620
	};
	struct vgpu_instance **list;
	char uuid[40], path[PATH_MAX];
	size_t n;

	fixture_standard_host();
	fake_tree_set_create_delay_ms(fx.tree, 0);
	ck_assert(mkdir(fx.config, 0755) == 0 || errno == EEXIST);
	ck_assert_int_eq(fake_tree_add_type(fx.tree, GVT, "big", "Big", NULL,
					    "vfio-pci", N),
			 0);
	snprintf(path, sizeof(path), "%s/%s", fx.config, GVT);
	ck_assert_int_eq(mkdir(path, 0755), 0);
	for (int i = N - 1; i >= 0; i--) {
		FILE *f;

		snprintf(uuid, sizeof(uuid), "%08x-0000-4000-8000-%012x", i, i);
		ck_assert_int_eq(
			fake_tree_add_instance(fx.tree, GVT, "big", uuid), 0);
		snprintf(path, sizeof(path), "%s/%s/%s", fx.config, GVT, uuid);
		f = fopen(path, "w");
		ck_assert_ptr_nonnull(f);
		fputs("{\"mdev_type\": \"big\", \"start\": "
		      "\"manual\"}\n",
		      f);
		ck_assert_int_eq(fclose(f), 0);
	}
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NULL, NULL, &list, &n),
			 0);
	ck_assert_uint_eq(n, N);
	for (size_t i = 0; i < n; i++) {
		snprintf(uuid, sizeof(uuid), "%08zx-0000-4000-8000-%012zx", i,
			 i);
		ck_assert_str_eq(vgpu_instance_get_uuid(list[i]), uuid);
		ck_assert_str_eq(vgpu_instance_get_parent_id(list[i]), GVT);
		ck_assert_str_eq(vgpu_instance_get_type_id(list[i]), "big");
		ck_assert(vgpu_instance_is_active(list[i]));
		ck_assert(vgpu_instance_is_defined(list[i]));
	}
	vgpu_instance_list_free(list, n);
}
END_TEST

/*
 * A listing finds active instances in their parents' directories; what
 * no listed parent holds still comes through the bus link, and a UUID
 * directory the bus does not list is no instance.
 */
START_TEST(active_instances_found_through_parents_and_bus)
{
	struct vgpu_instance **list;
	size_t n;

	fixture_standard_host();
	ck_assert_int_eq(fake_tree_add_instance(fx.tree, NV, "nvidia-256", U2),
			 0);
	ck_assert_int_eq(
		fake_tree_add_instance(fx.tree, GVT, "i915-GVTg_V5_8", U1), 0);
	/* a stray UUID directory in a parent, not on the bus */
	ck_assert_int_eq(
		fake_tree_mkdir(fx.tree,
				"sys/devices/pci0000:00/" GVT
				"/8a1f6a8c-0f0b-4c1e-9d6a-3c8c2f6f2b03"),
		0);
	/* NV no longer in the class directory: its instance via the bus */
	ck_assert_int_eq(fake_tree_remove(fx.tree, "sys/class/mdev_bus/" NV),
			 0);
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NULL, NULL, &list, &n),
			 0);
	ck_assert_uint_eq(n, 2);
	ck_assert_str_eq(vgpu_instance_get_uuid(list[0]), U1);
	ck_assert_str_eq(vgpu_instance_get_parent_id(list[0]), GVT);
	ck_assert_str_eq(vgpu_instance_get_type_id(list[0]), "i915-GVTg_V5_8");
	ck_assert_ptr_nonnull(
		strstr(vgpu_instance_get_syspath(list[0]), "/" GVT "/" U1));
	ck_assert_str_eq(vgpu_instance_get_uuid(list[1]), U2);
	ck_assert_str_eq(vgpu_instance_get_parent_id(list[1]), NV);
	ck_assert_str_eq(vgpu_instance_get_type_id(list[1]), "nvidia-256");
	ck_assert_int_ge(vgpu_instance_get_iommu_group(list[1]), 0);
	vgpu_instance_list_free(list, n);
	/* the parent filter on both paths */
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NV, NULL, &list, &n), 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(vgpu_instance_get_uuid(list[0]), U2);
	vgpu_instance_list_free(list, n);
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, GVT, NULL, &list, &n),
			 0);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(vgpu_instance_get_uuid(list[0]), U1);
	vgpu_instance_list_free(list, n);
}
END_TEST

START_TEST(no_mdev_at_all)
{
	struct vgpu_parent **parents;
	struct vgpu_instance **insts;
	size_t n;

	/* an empty host, then one without even class/ and bus/ */
	ck_assert_int_eq(vgpu_parent_list(fx.ctx, &parents, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_ptr_null(parents);
	ck_assert_int_eq(vgpu_ctx_set_sysfs_root(fx.ctx, "/nonexistent-sysfs"),
			 0);
	ck_assert_int_eq(vgpu_parent_list(fx.ctx, &parents, &n), 0);
	ck_assert_uint_eq(n, 0);
	ck_assert_int_eq(
		vgpu_instance_list(fx.ctx, VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED,
				   NULL, NULL, &insts, &n),
		0);
	ck_assert_uint_eq(n, 0);
}
END_TEST

START_TEST(malformed_trees_give_clean_errors)
{
	struct vgpu_parent **list, *p;
	struct vgpu_type *t;
	struct vgpu_instance **insts;
	char big[20000];
	size_t n;

	fixture_standard_host();
	/* garbage numbers */
	ck_assert_int_eq(
		fake_tree_write(
			fx.tree,
			"sys/devices/pci0000:00/" GVT
			"/mdev_supported_types/i915-GVTg_V5_4/available_instances",
			"lots\n"),
		0);
	ck_assert_int_eq(
		fake_tree_write(
			fx.tree,
			"sys/devices/pci0000:00/" GVT
			"/mdev_supported_types/i915-GVTg_V5_8/available_instances",
			"99999999999999999999999\n"),
		0);
	ck_assert_int_eq(fake_tree_write(fx.tree,
					 "sys/devices/pci0000:00/" GVT
					 "/vendor",
					 "0xzz\n"),
			 0);
	/* a huge description */
	memset(big, 'x', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	{
		char path[4096];

		ck_assert_int_eq(fake_tree_parent_path(fx.tree, NV, path, 3900),
				 0);
		strcat(path, "/mdev_supported_types/nvidia-256/description");
		ck_assert_int_eq(fake_tree_write(fx.tree, path, big), 0);
	}
	/* a missing device_api */
	ck_assert_int_eq(
		fake_tree_remove(
			fx.tree,
			"sys/devices/pci0000:00/0000:00:05.0/mdev_supported_types/mtty-2/device_api"),
		0);
	/* dangling parent link, a parent without types, a stray regular file */
	ck_assert_int_eq(
		fake_tree_symlink(fx.tree, "sys/class/mdev_bus/0000:77:00.0",
				  "../../devices/pci0000:77/0000:77:00.0"),
		0);
	ck_assert_int_eq(
		fake_tree_mkdir(fx.tree, "sys/devices/platform/nothing"), 0);
	ck_assert_int_eq(fake_tree_symlink(fx.tree,
					   "sys/class/mdev_bus/nothing",
					   "../../devices/platform/nothing"),
			 0);
	ck_assert_int_eq(
		fake_tree_write(fx.tree, "sys/class/mdev_bus/stray", "x"), 0);
	/* junk in bus/mdev/devices */
	ck_assert_int_eq(
		fake_tree_write(fx.tree, "sys/bus/mdev/devices/not-a-uuid", ""),
		0);
	ck_assert_int_eq(fake_tree_symlink(fx.tree, "sys/bus/mdev/devices/" U1,
					   "../../../devices/gone/" U1),
			 0);

	ck_assert_int_eq(vgpu_parent_list(fx.ctx, &list, &n), 0);
	ck_assert_uint_eq(n, 5); /* the five good ones */
	vgpu_parent_list_free(list, n);

	p = get_parent(GVT);
	ck_assert_int_eq(
		vgpu_parent_get_pci_ids(p, NULL, NULL, NULL, NULL, NULL),
		-ENODATA);
	ck_assert_int_eq(vgpu_type_get(p, "i915-GVTg_V5_4", &t), 0);
	ck_assert_int_eq(vgpu_type_get_available_instances(t), -EINVAL);
	vgpu_type_unref(t);
	ck_assert_int_eq(vgpu_type_get(p, "i915-GVTg_V5_8", &t), 0);
	ck_assert_int_eq(vgpu_type_get_available_instances(t), -ERANGE);
	vgpu_type_unref(t);
	vgpu_parent_unref(p);

	p = get_parent(NV);
	ck_assert_int_eq(vgpu_type_get(p, "nvidia-256", &t), 0);
	ck_assert_ptr_null(vgpu_type_get_description(t));
	ck_assert_int_eq(vgpu_type_get_available_instances(t), 24);
	vgpu_type_unref(t);
	vgpu_parent_unref(p);

	p = get_parent("0000:00:05.0");
	ck_assert_int_eq(vgpu_type_get(p, "mtty-2", &t), 0);
	ck_assert_ptr_null(vgpu_type_get_device_api(t));
	vgpu_type_unref(t);
	vgpu_parent_unref(p);

	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, NULL, NULL, &insts, &n),
			 0);
	/* the dangling link still names a parent ("gone"); the junk is skipped */
	for (size_t i = 0; i < n; i++)
		ck_assert_str_eq(vgpu_instance_get_uuid(insts[i]), U1);
	vgpu_instance_list_free(insts, n);
	ck_assert_ptr_nonnull(strstr(fx.log, "not a UUID"));
}
END_TEST

/* types are read through the types directory without opening each type's
 * own directory: a type without "name", a regular file among the types
 * and an unknown type must still be told apart */
START_TEST(type_files_read_without_the_type_dir)
{
	struct vgpu_parent *p;
	struct vgpu_type *t, **types;
	size_t n, before;

	fixture_standard_host();
	p = get_parent("0000:00:05.0");
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	vgpu_type_list_free(types, n);
	before = n;
	ck_assert_int_eq(
		fake_tree_remove(
			fx.tree,
			"sys/devices/pci0000:00/0000:00:05.0/mdev_supported_types/mtty-2/name"),
		0);
	ck_assert_int_eq(
		fake_tree_write(
			fx.tree,
			"sys/devices/pci0000:00/0000:00:05.0/mdev_supported_types/stray",
			"x"),
		0);
	ck_assert_int_eq(vgpu_type_get(p, "mtty-2", &t), 0);
	ck_assert_ptr_null(vgpu_type_get_name(t));
	ck_assert_int_ge(vgpu_type_get_available_instances(t), 0);
	vgpu_type_unref(t);
	ck_assert_int_eq(vgpu_type_get(p, "stray", &t), -ENOENT);
	ck_assert_int_eq(vgpu_type_get(p, "nope", &t), -ENOENT);
	ck_assert_int_eq(vgpu_type_list(p, &types, &n), 0);
	ck_assert_uint_eq(n, before);
	vgpu_type_list_free(types, n);
	vgpu_parent_unref(p);
}
END_TEST

START_TEST(empty_and_binary_attributes)
{
	static const char nul_text[] = "GVT\0g";
	struct vgpu_parent *p;
	struct vgpu_type *t;
	const char *dir = "sys/devices/pci0000:00/" GVT
			  "/mdev_supported_types/i915-GVTg_V5_4";
	char path[512];

	fixture_standard_host();
	snprintf(path, sizeof(path), "%s/available_instances", dir);
	ck_assert_int_eq(fake_tree_write(fx.tree, path, ""), 0);
	snprintf(path, sizeof(path), "%s/name", dir);
	ck_assert_int_eq(fake_tree_write_mode(fx.tree, path, nul_text,
					      sizeof(nul_text), 0644),
			 0);
	snprintf(path, sizeof(path), "%s/device_api", dir);
	ck_assert_int_eq(fake_tree_write(fx.tree, path, "-5\n"), 0);
	p = get_parent(GVT);
	ck_assert_int_eq(vgpu_type_get(p, "i915-GVTg_V5_4", &t), 0);
	ck_assert_int_eq(vgpu_type_get_available_instances(t), -EINVAL);
	ck_assert_ptr_null(vgpu_type_get_name(t)); /* NUL bytes: not text */
	ck_assert_str_eq(vgpu_type_get_device_api(t), "-5");
	vgpu_type_unref(t);
	vgpu_parent_unref(p);
}
END_TEST

START_TEST(define_for_absent_parents)
{
	struct vgpu_config *c;
	struct vgpu_instance *in;
	char path[PATH_MAX];

	ck_assert_int_eq(vgpu_config_new(&c), 0);
	ck_assert_int_eq(vgpu_config_set_type(c, "VF"), 0);
	/* named by its backend: that backend's directory, not mdevctl's */
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, "sriov:0000:3b:00.0", U1,
					      c, 0, &in),
			 0);
	ck_assert_str_eq(vgpu_instance_get_parent_id(in), "0000:3b:00.0");
	vgpu_instance_unref(in);
	snprintf(path, sizeof(path), "%s/vgpu-sriov.d/0000:3b:00.0/" U1,
		 fx.dir);
	ck_assert_int_eq(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/0000:3b:00.0/" U1, fx.config);
	ck_assert_int_eq(access(path, F_OK), -1);
	/* unqualified: mdevctl's directory, as mdevctl does */
	ck_assert_int_eq(
		vgpu_instance_define(fx.ctx, "0000:3c:00.0", U2, c, 0, NULL),
		0);
	snprintf(path, sizeof(path), "%s/0000:3c:00.0/" U2, fx.config);
	ck_assert_int_eq(access(path, F_OK), 0);
	ck_assert_int_eq(vgpu_instance_define(fx.ctx, "sriov:", U2, c, 0, NULL),
			 -EINVAL);
	ck_assert_int_eq(
		vgpu_instance_define(fx.ctx, "sriov:..", U2, c, 0, NULL),
		-EINVAL);
	vgpu_config_unref(c);
}
END_TEST

START_TEST(monitor_wakes_on_provider_sockets)
{
	struct vgpu_monitor *m;
	struct vgpu_event *e;
	struct pollfd pfd;
	char path[PATH_MAX];

	ck_assert_int_eq(vgpu_monitor_new(fx.ctx, &m), 0);
	ck_assert_int_eq(vgpu_monitor_set_rescan_interval(m, 0), 0);
	pfd = (struct pollfd){ .fd = vgpu_monitor_get_fd(m), .events = POLLIN };
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	/* a provider's socket appears: no uevent, no timer, still a wake-up */
	snprintf(path, sizeof(path), "%s/vfio-user/p.ctl", fx.runtime);
	fclose(fopen(path, "w"));
	ck_assert_int_eq(poll(&pfd, 1, 5000), 1);
	ck_assert_int_eq(vgpu_monitor_receive(m, &e), 0);
	ck_assert_ptr_null(e); /* it does not answer: no parent */
	ck_assert_int_eq(poll(&pfd, 1, 0), 0);
	vgpu_monitor_unref(m);
}
END_TEST

START_TEST(misuse_returns_einval)
{
	struct vgpu_parent **pl;
	struct vgpu_type **tl;
	struct vgpu_instance **il;
	size_t n;

	ck_assert_int_eq(vgpu_parent_list(NULL, &pl, &n), -EINVAL);
	ck_assert_int_eq(vgpu_parent_list(fx.ctx, NULL, &n), -EINVAL);
	ck_assert_int_eq(vgpu_type_list(NULL, &tl, &n), -EINVAL);
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0x100, NULL, NULL, &il, &n),
			 -EINVAL);
	ck_assert_int_eq(vgpu_instance_list(fx.ctx, 0, "../x", NULL, &il, &n),
			 -EINVAL);
	ck_assert_ptr_null(vgpu_parent_get_id(NULL));
	ck_assert_ptr_null(vgpu_type_get_id(NULL));
	ck_assert_ptr_null(vgpu_instance_get_uuid(NULL));
	ck_assert_ptr_null(vgpu_parent_unref(NULL));
	ck_assert_ptr_null(vgpu_type_unref(NULL));
	ck_assert_ptr_null(vgpu_instance_unref(NULL));
	vgpu_parent_list_free(NULL, 0);
	vgpu_type_list_free(NULL, 0);
	vgpu_instance_list_free(NULL, 0);
	ck_assert_int_eq(vgpu_parent_autostart(fx.ctx, NULL), -EINVAL);
	ck_assert_int_eq(vgpu_instance_remove(fx.ctx, "x"), -EINVAL);
	ck_assert_int_eq(vgpu_instance_undefine(fx.ctx, NULL, NULL), -EINVAL);
}
END_TEST

int main(void)
{
	Suite *s = suite_create("mdev");
	TCase *tc = tcase_create("static");

	/* big_directories_read_whole builds 620 instances: seconds on a
	 * loaded machine */
	tcase_set_timeout(tc, 300);

	tcase_add_checked_fixture(tc, fixture_setup, fixture_teardown);
	tcase_add_test(tc, parents_listed_sorted_with_identity);
	tcase_add_test(tc, big_directories_read_whole);
	tcase_add_test(tc, pci_names_from_the_id_database);
	tcase_add_test(tc, parent_lookup_errors);
	tcase_add_test(tc, types_and_vendor_descriptions);
	tcase_add_test(tc, unrecognised_description_keeps_raw_text_only);
	tcase_add_test(tc, active_instances_with_group_and_type);
	tcase_add_test(tc, active_instances_found_through_parents_and_bus);
	tcase_add_test(tc, no_mdev_at_all);
	tcase_add_test(tc, malformed_trees_give_clean_errors);
	tcase_add_test(tc, type_files_read_without_the_type_dir);
	tcase_add_test(tc, empty_and_binary_attributes);
	tcase_add_test(tc, define_for_absent_parents);
	tcase_add_test(tc, monitor_wakes_on_provider_sockets);
	tcase_add_test(tc, misuse_returns_einval);
	suite_add_tcase(s, tc);
	return run_suite(s);
}
