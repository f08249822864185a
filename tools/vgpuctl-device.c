/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl verbs that open a device through the device API: regions, irqs,
 * migration (screenshot: vgpuctl-screenshot.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "vgpuctl.h"
#include "vgpuctl-json.h"

static int open_device(struct vgpu_ctx *ctx, const char *id,
		       struct vgpu_handle **h)
{
	int r = vgpu_handle_open(ctx, id, 0, h);

	if (r < 0) {
		switch (-r) {
		case EINVAL:
			fail_msg("%s: not a UUID or PCI address", id);
			break;
		case ENODEV:
			fail_msg("%s: no such VFIO device", id);
			break;
		case EBUSY:
			fail_msg(
				"%s: in use (its VFIO group is open elsewhere)",
				id);
			break;
		default:
			fail_msg("%s: cannot open: %s", id, strerror(-r));
		}
	}
	return r;
}

/* the argument of a verb that takes one device */
static int one_device(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		      char **argv, struct opts *o, struct vgpu_handle **h)
{
	int r;

	*o = *go;
	r = parse_common(argc, argv, NULL, "j", NULL, NULL, o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s",
				   "expects one UUID or PCI address");
	r = open_device(ctx, argv[optind], h);
	return r < 0 ? exit_for(r) : 0;
}

static const char *region_name(struct vgpu_handle *h, unsigned int index)
{
	static const char *const pci[] = { "BAR0", "BAR1",   "BAR2",
					   "BAR3", "BAR4",   "BAR5",
					   "ROM",  "CONFIG", "VGA" };

	if (vgpu_handle_is_pci(h) && index < sizeof(pci) / sizeof(pci[0]))
		return pci[index];
	return "device-specific";
}

static void flag_text(char *buf, size_t size, uint32_t flags,
		      const char *const *names, size_t n)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < n; i++)
		if (flags & (1u << i))
			len += (size_t)snprintf(buf + len, size - len, "%s%s",
						len ? "," : "", names[i]);
	if (!len)
		snprintf(buf, size, "-");
}

static const char *const region_flag_names[] = { "read", "write", "mmap" };
static const char *const irq_flag_names[] = { "eventfd", "maskable",
					      "automasked", "noresize" };

/*
 * A document about one opened device (docs/json-schema.md): "devices"
 * with that one, then @key: [ ... of objects that name it by "device"
 */
static void json_start(struct jw *j, struct vgpu_handle *h, const char *key)
{
	int group = vgpu_handle_get_iommu_group(h);

	json_doc_begin(j, true);
	jw_key(j, "devices");
	jw_begin_array(j);
	jw_begin_object(j);
	jw_member_string(j, "id", vgpu_handle_get_id(h));
	jw_member_string(j, "access", vgpu_handle_get_access(h));
	jw_key(j, "iommu_group");
	if (group >= 0)
		jw_int(j, group);
	else
		jw_null(j);
	jw_key(j, "pci");
	jw_bool(j, vgpu_handle_is_pci(h));
	jw_end_object(j);
	jw_end_array(j);
	jw_key(j, key);
	jw_begin_array(j);
}

/* ... ]} printed */
static void json_end(struct jw *j)
{
	jw_end_array(j);
	json_doc_end(j);
}

static void json_flags(struct jw *j, uint32_t flags, const char *const *names,
		       size_t n)
{
	jw_key(j, "flags");
	jw_begin_array(j);
	for (size_t b = 0; b < n; b++)
		if (flags & (1u << b))
			jw_string(j, names[b]);
	jw_end_array(j);
}

int cmd_regions(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		char **argv)
{
	struct vgpu_handle *h;
	struct opts o;
	struct jw j;
	int r, n;

	r = one_device(ctx, go, argc, argv, &o, &h);
	if (r)
		return r;
	n = vgpu_handle_get_region_count(h);
	if (o.json) {
		json_start(&j, h, "regions");
	} else {
		printf("%s: %s, IOMMU group %d, %d regions\n",
		       vgpu_handle_get_id(h), vgpu_handle_get_access(h),
		       vgpu_handle_get_iommu_group(h), n);
		printf("INDEX  NAME             SIZE        FLAGS            DETAILS\n");
	}
	for (int i = 0; i < n; i++) {
		unsigned int index;
		uint64_t size;
		uint32_t flags, type, subtype;
		char fl[64], details[256] = "";
		size_t dl = 0;
		int ns, has_type;

		vgpu_handle_get_region(h, (unsigned int)i, &index, &size,
				       &flags);
		if (!size && !o.json)
			continue;
		ns = vgpu_handle_region_get_sparse_count(h, index);
		has_type = vgpu_handle_region_get_type(h, index, &type,
						       &subtype) == 0;
		flag_text(fl, sizeof(fl), flags, region_flag_names, 3);
		if (o.json) {
			jw_begin_object(&j);
			jw_member_string(&j, "device", vgpu_handle_get_id(h));
			jw_key(&j, "index");
			jw_int(&j, index);
			jw_member_string(&j, "name", region_name(h, index));
			jw_key(&j, "size");
			jw_int(&j, (long long)size);
			json_flags(&j, flags, region_flag_names, 3);
			jw_key(&j, "type");
			if (has_type)
				jw_int(&j, type);
			else
				jw_null(&j);
			jw_key(&j, "subtype");
			if (has_type)
				jw_int(&j, subtype);
			else
				jw_null(&j);
			jw_key(&j, "sparse_mmap");
			if (ns > 0) {
				jw_begin_array(&j);
				for (int a = 0; a < ns; a++) {
					uint64_t off, len;

					vgpu_handle_region_get_sparse(
						h, index, (unsigned int)a, &off,
						&len);
					jw_begin_object(&j);
					jw_key(&j, "offset");
					jw_int(&j, (long long)off);
					jw_key(&j, "size");
					jw_int(&j, (long long)len);
					jw_end_object(&j);
				}
				jw_end_array(&j);
			} else {
				jw_null(&j);
			}
			jw_end_object(&j);
			continue;
		}
		if (has_type)
			dl += (size_t)snprintf(
				details + dl, sizeof(details) - dl,
				"type 0x%x/0x%x ", type, subtype);
		for (int a = 0; a < ns && dl < sizeof(details) - 40; a++) {
			uint64_t off, len;

			vgpu_handle_region_get_sparse(h, index, (unsigned int)a,
						      &off, &len);
			dl += (size_t)snprintf(
				details + dl, sizeof(details) - dl,
				"%smmap 0x%" PRIx64 "+0x%" PRIx64 " ",
				a ? "" : "sparse: ", off, len);
		}
		printf("%-5u  %-15s  0x%-8" PRIx64 "  %-15s  %s\n", index,
		       region_name(h, index), size, fl, details);
	}
	if (o.json)
		json_end(&j);
	vgpu_handle_unref(h);
	return 0;
}

int cmd_irqs(struct vgpu_ctx *ctx, const struct opts *go, int argc, char **argv)
{
	static const char *const names[] = { "INTx", "MSI", "MSI-X", "ERR",
					     "REQ" };
	struct vgpu_handle *h;
	struct opts o;
	struct jw j;
	int r, n;

	r = one_device(ctx, go, argc, argv, &o, &h);
	if (r)
		return r;
	n = vgpu_handle_get_irq_count(h);
	if (o.json) {
		json_start(&j, h, "irqs");
	} else {
		printf("INDEX  NAME    COUNT  FLAGS\n");
	}
	for (int i = 0; i < n; i++) {
		const char *name =
			vgpu_handle_is_pci(h) && i < 5 ? names[i] : "-";
		uint32_t count = 0, flags = 0;
		char fl[80];

		r = vgpu_handle_get_irq(h, (unsigned int)i, &count, &flags);
		flag_text(fl, sizeof(fl), flags, irq_flag_names, 4);
		if (o.json) {
			jw_begin_object(&j);
			jw_member_string(&j, "device", vgpu_handle_get_id(h));
			jw_key(&j, "index");
			jw_int(&j, i);
			jw_member_string(&j, "name",
					 strcmp(name, "-") ? name : NULL);
			jw_key(&j, "implemented");
			jw_bool(&j, r == 0);
			jw_key(&j, "count");
			jw_int(&j, r == 0 ? count : 0);
			json_flags(&j, flags, irq_flag_names, 4);
			jw_end_object(&j);
		} else if (r < 0) {
			printf("%-5d  %-6s  -      %s\n", i, name,
			       r == -ENOENT ? "(absent: the device has none)"
					    : strerror(-r));
		} else {
			printf("%-5d  %-6s  %-5u  %s\n", i, name, count, fl);
		}
	}
	if (o.json)
		json_end(&j);
	vgpu_handle_unref(h);
	return 0;
}

/* ---- migration ---- */

int cmd_migration(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		  char **argv)
{
	static const char *const flag_names[] = { "STOP_COPY", "P2P",
						  "PRE_COPY" };
	static const unsigned int states[] = {
		VGPU_MIG_RUNNING,      VGPU_MIG_STOP,	     VGPU_MIG_STOP_COPY,
		VGPU_MIG_RESUMING,     VGPU_MIG_RUNNING_P2P, VGPU_MIG_PRE_COPY,
		VGPU_MIG_PRE_COPY_P2P,
	};
	static const uint64_t needs[] = { 0,
					  0,
					  0,
					  0,
					  VGPU_MIGRATION_P2P,
					  VGPU_MIGRATION_PRE_COPY,
					  VGPU_MIGRATION_P2P |
						  VGPU_MIGRATION_PRE_COPY };
	struct vgpu_handle *h;
	struct opts o;
	struct jw j;
	uint64_t flags = 0;
	char fl[80] = "";
	int r, mig, logging, state = -ENOTSUP;

	r = one_device(ctx, go, argc, argv, &o, &h);
	if (r)
		return r;
	mig = vgpu_handle_probe_feature(h, VGPU_FEATURE_MIGRATION, &flags);
	logging = vgpu_handle_probe_feature(h, VGPU_FEATURE_DMA_LOGGING, NULL);
	if (mig < 0 || logging < 0) {
		fail_msg("%s: %s", argv[optind],
			 strerror(-(mig < 0 ? mig : logging)));
		vgpu_handle_unref(h);
		return exit_for(mig < 0 ? mig : logging);
	}
	if (mig > 0) {
		state = vgpu_handle_migration_get_state(h);
		flag_text(fl, sizeof(fl), (uint32_t)flags, flag_names, 3);
	}
	if (o.json) {
		json_start(&j, h, "migration");
		jw_begin_object(&j);
		jw_member_string(&j, "device", vgpu_handle_get_id(h));
		jw_key(&j, "supported");
		jw_bool(&j, mig > 0);
		json_flags(&j, (uint32_t)flags, flag_names, 3);
		jw_key(&j, "states");
		jw_begin_array(&j);
		for (size_t i = 0;
		     mig > 0 && i < sizeof(states) / sizeof(states[0]); i++)
			if ((flags & needs[i]) == needs[i])
				jw_string(&j,
					  vgpu_migration_state_name(states[i]));
		jw_end_array(&j);
		jw_key(&j, "state");
		if (state >= 0)
			jw_string(&j, vgpu_migration_state_name(
					      (unsigned int)state));
		else
			jw_null(&j);
		jw_key(&j, "dma_logging");
		jw_bool(&j, logging > 0);
		jw_end_object(&j);
		json_end(&j);
	} else {
		printf("Device:       %s\n", vgpu_handle_get_id(h));
		printf("Access:       %s\n", vgpu_handle_get_access(h));
		printf("Migration:    %s%s%s%s\n", mig > 0 ? "yes" : "no",
		       mig > 0 ? " (" : "", fl, mig > 0 ? ")" : "");
		if (mig > 0) {
			printf("States:      ");
			for (size_t i = 0;
			     i < sizeof(states) / sizeof(states[0]); i++)
				if ((flags & needs[i]) == needs[i])
					printf(" %s", vgpu_migration_state_name(
							      states[i]));
			printf("\nState:        %s\n",
			       state >= 0 ? vgpu_migration_state_name(
						    (unsigned int)state)
					  : strerror(-state));
		}
		printf("DMA logging:  %s\n",
		       logging > 0
			       ? "yes (the device tracks its writes)"
			       : "no (the IOMMU's tracking, where it has one)");
	}
	vgpu_handle_unref(h);
	return 0;
}

const struct verb verb_regions = {
	.name = "regions",
	.run = cmd_regions,
	.args = "UUID|PCI-ADDRESS",
	.summary = "open a device and list its regions (VFIO)",
};

const struct verb verb_irqs = {
	.name = "irqs",
	.run = cmd_irqs,
	.args = "UUID|PCI-ADDRESS",
	.summary = "open a device and list its interrupts (VFIO)",
};

const struct verb verb_migration = {
	.name = "migration",
	.run = cmd_migration,
	.args = "UUID|PCI-ADDRESS",
	.summary = "what the device offers for live migration, and its state",
};
