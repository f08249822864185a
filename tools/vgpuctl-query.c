/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl verbs that look: parents, types, list, show, inventory. Their
 * --json is one document shape (vgpuctl-json.c, docs/json-schema.md).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuctl.h"
#include "vgpuctl-json.h"

/* ---- parents ---------------------------------------------------------- */

static int cmd_parents(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		       char **argv)
{
	struct vgpu_parent **list;
	struct json_errors errs;
	struct opts o = *go;
	size_t n;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'",
				   argv[optind]);
	json_errors_watch(ctx, &errs);
	r = vgpu_parent_list(ctx, &list, &n);
	if (r < 0) {
		json_errors_finish(&errs);
		return fail_errno(r, "parents");
	}
	if (o.json) {
		struct jw j;

		json_doc_begin(&j, true);
		json_member_parents(&j, list, n);
		json_member_errors(&j, &errs);
		json_doc_end(&j);
	} else {
		struct table t = { .ncols = 5 };

		table_add(&t, "PARENT", "BACKEND", "BUS", "DRIVER", "DEVICE");
		for (size_t i = 0; i < n; i++) {
			struct vgpu_parent *p = list[i];
			uint16_t ven, dev;
			char desc[512] = "-";

			if (vgpu_parent_get_pci_ids(p, &ven, &dev, NULL, NULL,
						    NULL) == 0) {
				const char *vn = vgpu_parent_get_vendor_name(p);
				const char *dn = vgpu_parent_get_device_name(p);

				snprintf(desc, sizeof(desc),
					 "%04x:%04x%s%s%s%s", ven, dev,
					 vn ? " " : "", vn ? vn : "",
					 dn ? " " : "", dn ? dn : "");
			}
			table_add(&t, vgpu_parent_get_id(p),
				  vgpu_parent_get_backend(p),
				  vgpu_parent_get_bus(p),
				  vgpu_parent_get_driver(p), desc);
		}
		table_print(&t);
	}
	vgpu_parent_list_free(list, n);
	return json_errors_finish(&errs);
}

/* ---- types ------------------------------------------------------------ */

static int list_parents_or_one(struct vgpu_ctx *ctx, const char *id,
			       struct vgpu_parent ***list, size_t *n)
{
	int r;

	if (!id)
		return vgpu_parent_list(ctx, list, n);
	*list = calloc(1, sizeof(**list));
	if (!*list)
		return -ENOMEM;
	r = vgpu_parent_get(ctx, id, &(*list)[0]);
	if (r < 0) {
		free(*list);
		*list = NULL;
		return r;
	}
	*n = 1;
	return 0;
}

/* move @types (@nt of them) to the end of *@all (*@n entries) */
static int append_types(struct vgpu_type ***all, size_t *n,
			struct vgpu_type **types, size_t nt)
{
	struct vgpu_type **grown =
		reallocarray(*all, *n + nt + 1, sizeof(**all));

	if (!grown) {
		vgpu_type_list_free(types, nt);
		return -ENOMEM;
	}
	*all = grown;
	memcpy(*all + *n, types, nt * sizeof(*types));
	*n += nt;
	free(types);
	return 0;
}

/* the types of one parent appended to *@all; the exit status */
static int parent_types(struct vgpu_parent *p, struct vgpu_type ***all,
			size_t *n)
{
	struct vgpu_type **types;
	size_t nt;
	int r = vgpu_type_list(p, &types, &nt);

	if (r < 0)
		return fail_errno(r, "parent %s: types", vgpu_parent_get_id(p));
	if (append_types(all, n, types, nt) < 0)
		return fail_errno(-ENOMEM, "types");
	return 0;
}

/* the types of every parent in @parents; the exit status. With @errs (the
 * context's unreachable function, json_errors_watch()), one listing of
 * them all in which a parent that does not answer is noted there (and
 * has no types); without, each parent is asked and must answer */
static int collect_types(struct vgpu_parent **parents, size_t np,
			 struct json_errors *errs, struct vgpu_type ***ret,
			 size_t *n_ret)
{
	struct vgpu_type **all = NULL;
	size_t n = 0;
	int r = 0;

	if (errs) {
		r = vgpu_type_list_many(parents, np, &all, &n, NULL);
		if (r < 0)
			return fail_errno(r, "types");
	}
	for (size_t i = 0; !errs && !r && i < np; i++)
		r = parent_types(parents[i], &all, &n);
	if (r) {
		vgpu_type_list_free(all, n);
		return r;
	}
	*ret = all;
	*n_ret = n;
	return 0;
}

static void count_text(char *buf, size_t size, int v)
{
	snprintf(buf, size, v >= 0 ? "%d" : "-", v);
}

static int cmd_types(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		     char **argv)
{
	struct vgpu_parent **parents;
	struct vgpu_type **types = NULL;
	struct json_errors errs;
	struct opts o = *go;
	size_t np, nt = 0;
	bool all;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (argc - optind > 1)
		return usage_error(argv[0], "unexpected argument '%s'",
				   argv[optind + 1]);
	/* every parent: what answers; one parent: it answers or fails */
	all = optind == argc;
	json_errors_watch(ctx, &errs);
	r = list_parents_or_one(ctx, all ? NULL : argv[optind], &parents, &np);
	if (r < 0) {
		json_errors_finish(&errs);
		return all ? fail_errno(r, "parents")
			   : fail_parent(r, argv[optind]);
	}
	r = collect_types(parents, np, all ? &errs : NULL, &types, &nt);
	vgpu_parent_list_free(parents, np);
	if (r) {
		json_errors_finish(&errs);
		return r;
	}
	if (o.json) {
		struct jw j;

		json_doc_begin(&j, true);
		json_member_types(&j, types, nt);
		if (all)
			json_member_errors(&j, &errs);
		json_doc_end(&j);
	} else {
		struct table t = { .ncols = 6 };

		table_add(&t, "PARENT", "TYPE", "AVAILABLE", "MAX", "API",
			  "NAME");
		for (size_t k = 0; k < nt; k++) {
			char avail[16], max[16];

			count_text(avail, sizeof(avail),
				   vgpu_type_get_available_instances(types[k]));
			count_text(max, sizeof(max),
				   vgpu_type_get_max_instances(types[k]));
			table_add(&t,
				  vgpu_parent_get_id(
					  vgpu_type_get_parent(types[k])),
				  vgpu_type_get_id(types[k]), avail, max,
				  vgpu_type_get_device_api(types[k]),
				  vgpu_type_get_name(types[k]));
		}
		table_print(&t);
	}
	vgpu_type_list_free(types, nt);
	return json_errors_finish(&errs);
}

/* ---- instances -------------------------------------------------------- */

static void state_string(struct vgpu_instance *in, char *buf, size_t size)
{
	struct vgpu_config *c = vgpu_instance_get_config(in);

	snprintf(buf, size, "%s%s%s",
		 vgpu_instance_is_active(in) ? "active" : "inactive",
		 c ? ",defined" : "",
		 c ? (vgpu_config_get_autostart(c) ? ",auto" : ",manual") : "");
}

struct list_args {
	unsigned int flags;
	const char *parent;
};

static int list_opt(int c, const char *arg, void *data)
{
	struct list_args *a = data;

	switch (c) {
	case 'd':
		a->flags |= VGPU_LIST_DEFINED;
		return 0;
	case 'a':
		a->flags |= VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED;
		return 0;
	case 'p':
		a->parent = arg;
		return 0;
	}
	return EXIT_USAGE;
}

/* a listing's instances, left to the exit (cli_keep_until_exit()) */
struct instances {
	struct vgpu_instance **list;
	size_t n;
};

static void instances_destroy(void *p)
{
	struct instances *k = p;

	vgpu_instance_list_free(k->list, k->n);
	free(k);
}

static void keep_instances(struct vgpu_instance **list, size_t n)
{
	struct instances *k = malloc(sizeof(*k));

	if (!k) {
		vgpu_instance_list_free(list, n);
		return;
	}
	*k = (struct instances){ list, n };
	cli_keep_until_exit(k, instances_destroy);
}

static int cmd_list(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		    char **argv)
{
	static const struct option lo[] = {
		{ "defined", no_argument, NULL, 'd' },
		{ "all", no_argument, NULL, 'a' },
		{ "parent", required_argument, NULL, 'p' },
		{ 0 },
	};
	struct list_args a = { 0 };
	struct vgpu_instance **list;
	struct json_errors errs;
	struct opts o = *go;
	size_t n;
	int r;

	r = parse_common(argc, argv, lo, "dap:j", list_opt, &a, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'",
				   argv[optind]);
	json_errors_watch(ctx, &errs);
	r = vgpu_instance_list(ctx, a.flags, a.parent, NULL, &list, &n);
	/* the one parent asked for did not answer: no answer at all */
	if (r >= 0 && a.parent && errs.n) {
		vgpu_instance_list_free(list, n);
		r = errs.e[0].error;
		json_errors_finish(&errs);
		return exit_for(r);
	}
	if (r < 0) {
		json_errors_finish(&errs);
		return fail_errno(r, "instances");
	}
	/* nothing of an unknown parent: say it is unknown (its definitions
	 * would be listed even while it is absent) */
	if (!n && a.parent) {
		struct vgpu_parent *p = NULL;

		r = vgpu_parent_get(ctx, a.parent, &p);
		vgpu_parent_unref(p);
		if (r < 0) {
			vgpu_instance_list_free(list, n);
			json_errors_finish(&errs);
			return fail_parent(r, a.parent);
		}
	}
	if (o.json) {
		struct jw j;

		json_doc_begin(&j, true);
		json_member_instances(&j, list, n);
		json_member_errors(&j, &errs);
		json_doc_end(&j);
	} else {
		struct table t = { .ncols = 4 };

		table_add(&t, "UUID", "PARENT", "TYPE", "STATE");
		for (size_t i = 0; i < n; i++) {
			char state[64];

			state_string(list[i], state, sizeof(state));
			table_add(&t, vgpu_instance_get_uuid(list[i]),
				  vgpu_instance_get_parent_id(list[i]),
				  vgpu_instance_get_type_id(list[i]), state);
		}
		table_print(&t);
	}
	keep_instances(list, n);
	return json_errors_finish(&errs);
}

static int show_instance(struct vgpu_ctx *ctx, const struct opts *o,
			 const char *uuid, const char *parent)
{
	struct vgpu_instance *in;
	struct vgpu_config *c;
	int in_use = -1;
	int r = vgpu_instance_get(ctx, uuid, parent, &in);

	if (r < 0)
		return fail_instance(r, uuid, NULL);
	/* whether someone holds the device open (active instances only;
	 * -EACCES etc. leave it unknown) */
	if (vgpu_instance_is_active(in))
		in_use = vgpu_handle_probe_in_use(
			ctx, vgpu_instance_get_uuid(in), NULL);
	cli_clear_cause();
	if (o->json) {
		json_print_instance(in, in_use);
		vgpu_instance_unref(in);
		return 0;
	}
	c = vgpu_instance_get_config(in);
	printf("UUID:        %s\n", vgpu_instance_get_uuid(in));
	printf("Parent:      %s\n", vgpu_instance_get_parent_id(in));
	printf("Type:        %s\n", vgpu_instance_get_type_id(in)
					    ? vgpu_instance_get_type_id(in)
					    : "-");
	printf("Backend:     %s\n", vgpu_instance_get_backend(in));
	printf("Active:      %s\n", vgpu_instance_is_active(in) ? "yes" : "no");
	printf("Defined:     %s\n", c ? "yes" : "no");
	if (c)
		printf("Autostart:   %s\n",
		       vgpu_config_get_autostart(c) ? "yes" : "no");
	if (vgpu_instance_get_iommu_group(in) >= 0)
		printf("IOMMU group: %d\n", vgpu_instance_get_iommu_group(in));
	if (in_use >= 0)
		printf("In use:      %s\n",
		       in_use ? "yes (its VFIO group is open)" : "no");
	if (vgpu_instance_get_syspath(in) &&
	    !strcmp(vgpu_instance_get_backend(in), "vfio-user")) {
		/* a provider's device: its syspath is its vfio-user socket */
		printf("Socket:      %s\n", vgpu_instance_get_syspath(in));
		/* the whole set-up that works: the device reads guest
		 * memory through the fds of a shared memory backend (its
		 * size is the -m size) */
		if (!strpbrk(vgpu_instance_get_syspath(in), "\"'\\"))
			printf("QEMU:        -m 4G -machine q35,memory-backend=mem "
			       "-object memory-backend-memfd,id=mem,size=4G,share=on "
			       "-device '{\"driver\":\"vfio-user-pci\","
			       "\"socket\":{\"type\":\"unix\",\"path\":\"%s\"}}'\n",
			       vgpu_instance_get_syspath(in));
	} else if (vgpu_instance_get_syspath(in)) {
		printf("Sysfs:       %s\n", vgpu_instance_get_syspath(in));
	}
	for (size_t i = 0; c && i < vgpu_config_get_attr_count(c); i++) {
		const char *k, *v;

		vgpu_config_get_attr(c, i, &k, &v);
		printf("%s %s=%s\n", i ? "            " : "Attributes: ", k, v);
	}
	vgpu_instance_unref(in);
	return 0;
}

static int show_parent(const struct opts *o, struct vgpu_parent *p)
{
	struct vgpu_type **types = NULL;
	size_t nt = 0;
	uint16_t ven, dev, sven, sdev;
	uint32_t cls;
	int r;

	r = collect_types(&p, 1, NULL, &types, &nt);
	if (r)
		return r;
	if (o->json) {
		struct jw j;

		json_doc_begin(&j, true);
		json_member_parents(&j, &p, 1);
		json_member_types(&j, types, nt);
		json_doc_end(&j);
		vgpu_type_list_free(types, nt);
		return 0;
	}
	printf("Parent:      %s\n", vgpu_parent_get_id(p));
	printf("Backend:     %s\n", vgpu_parent_get_backend(p));
	printf("Bus:         %s\n",
	       vgpu_parent_get_bus(p) ? vgpu_parent_get_bus(p) : "-");
	printf("Driver:      %s\n",
	       vgpu_parent_get_driver(p) ? vgpu_parent_get_driver(p) : "-");
	if (vgpu_parent_get_syspath(p))
		printf("Sysfs:       %s\n", vgpu_parent_get_syspath(p));
	if (vgpu_parent_get_numa_node(p) >= 0)
		printf("NUMA node:   %d\n", vgpu_parent_get_numa_node(p));
	if (vgpu_parent_get_pci_ids(p, &ven, &dev, &sven, &sdev, &cls) == 0) {
		printf("PCI ids:     %04x:%04x (subsystem %04x:%04x, class %06x)\n",
		       ven, dev, sven, sdev, cls);
		if (vgpu_parent_get_vendor_name(p))
			printf("Vendor:      %s\n",
			       vgpu_parent_get_vendor_name(p));
		if (vgpu_parent_get_device_name(p))
			printf("Device:      %s\n",
			       vgpu_parent_get_device_name(p));
	}
	for (size_t i = 0; i < nt; i++) {
		struct vgpu_type *t = types[i];
		int avail = vgpu_type_get_available_instances(t);

		printf("Type %s\n", vgpu_type_get_id(t));
		if (vgpu_type_get_name(t))
			printf("  Name:        %s\n", vgpu_type_get_name(t));
		printf("  Device API:  %s\n",
		       vgpu_type_get_device_api(t) ? vgpu_type_get_device_api(t)
						   : "-");
		if (avail >= 0)
			printf("  Available:   %d\n", avail);
		else
			printf("  Available:   unknown (%s)\n",
			       strerror(-avail));
		if (vgpu_type_get_max_instances(t) >= 0)
			printf("  Max:         %d\n",
			       vgpu_type_get_max_instances(t));
		for (size_t k = 0; k < vgpu_type_get_attr_count(t); k++) {
			const char *key, *val;

			vgpu_type_get_attr(t, k, &key, &val);
			printf("  %-12s %s\n", key, val);
		}
		if (!vgpu_type_get_attr_count(t) &&
		    vgpu_type_get_description(t))
			printf("  Description: %s\n",
			       vgpu_type_get_description(t));
	}
	vgpu_type_list_free(types, nt);
	return 0;
}

static int cmd_show(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		    char **argv)
{
	struct opts o = *go;
	const char *parent = NULL;
	struct vgpu_parent *p;
	int r;

	r = parse_common(argc, argv, parent_only, "p:j", parent_opt, &parent,
			 &o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s",
				   "expects one UUID or parent id");
	if (looks_like_uuid(argv[optind]))
		return show_instance(ctx, &o, argv[optind], parent);
	r = vgpu_parent_get(ctx, argv[optind], &p);
	if (r < 0)
		return fail_parent(r, argv[optind]);
	r = show_parent(&o, p);
	vgpu_parent_unref(p);
	return r;
}

/* ---- inventory -------------------------------------------------------- */

/* the whole host in one document: what a scheduler consumes */
static int cmd_inventory(struct vgpu_ctx *ctx, const struct opts *go, int argc,
			 char **argv)
{
	struct vgpu_parent **parents = NULL;
	struct vgpu_type **types = NULL;
	struct vgpu_instance **insts = NULL;
	size_t np = 0, nt = 0, ni = 0;
	struct json_errors errs;
	struct opts o = *go;
	char now[40];
	struct jw j;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'",
				   argv[optind]);
	if (!o.json)
		return usage_error(argv[0], "%s",
				   "is JSON only: vgpuctl inventory --json");
	json_time_now(now, sizeof(now));
	json_errors_watch(ctx, &errs);
	r = vgpu_parent_list(ctx, &parents, &np);
	if (r < 0) {
		json_errors_finish(&errs);
		return fail_errno(r, "parents");
	}
	r = collect_types(parents, np, &errs, &types, &nt);
	if (r) {
		vgpu_parent_list_free(parents, np);
		json_errors_finish(&errs);
		return r;
	}
	/* a parent that stopped answering since it was listed is left out
	 * too: it is in "errors", not in "parents" */
	size_t kept = 0;

	for (size_t i = 0; i < np; i++) {
		if (json_errors_has(&errs, vgpu_parent_get_id(parents[i])))
			vgpu_parent_unref(parents[i]);
		else
			parents[kept++] = parents[i];
	}
	np = kept;
	r = vgpu_instance_list(ctx, VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED, NULL,
			       NULL, &insts, &ni);
	if (r < 0) {
		vgpu_type_list_free(types, nt);
		vgpu_parent_list_free(parents, np);
		json_errors_finish(&errs);
		return fail_errno(r, "instances");
	}
	json_doc_begin(&j, true);
	jw_member_string(&j, "time", now);
	json_member_parents(&j, parents, np);
	json_member_types(&j, types, nt);
	json_member_instances(&j, insts, ni);
	json_member_errors(&j, &errs);
	json_doc_end(&j);
	vgpu_instance_list_free(insts, ni);
	vgpu_type_list_free(types, nt);
	vgpu_parent_list_free(parents, np);
	return json_errors_finish(&errs);
}

const struct verb verb_parents = {
	.name = "parents",
	.run = cmd_parents,
	.args = "",
	.summary =
		"list the parents (devices that host instances) of every backend",
};

const struct verb verb_types = {
	.name = "types",
	.run = cmd_types,
	.args = "[PARENT]",
	.summary =
		"list the types of every parent, or of PARENT, with their free capacity",
};

const struct verb verb_list = {
	.name = "list",
	.run = cmd_list,
	.args = "[-d|--defined] [-a|--all] [-p PARENT]",
	.summary = "list instances (the active ones unless -d or -a)",
	.options =
		"  -d, --defined      the instances with a persistent definition\n"
		"  -a, --all          active and defined instances\n"
		"  -p, --parent P     only the instances of parent P\n",
};

const struct verb verb_show = {
	.name = "show",
	.run = cmd_show,
	.args = "UUID|PARENT [-p PARENT]",
	.summary = "show one instance (by UUID) or one parent with its types",
	.options =
		"  -p, --parent P     the parent of the definition to show when the\n"
		"                     UUID is defined under several parents\n",
};

const struct verb verb_inventory = {
	.name = "inventory",
	.run = cmd_inventory,
	.args = "--json",
	.summary =
		"the whole host in one JSON document: parents, types with their capacity, instances",
};
