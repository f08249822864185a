/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl — manage vGPU parents, types and instances through libvgpu.
 * Links only against the public library, like any other user.
 */
#include <errno.h>
#include <getopt.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <libvgpu.h>

#include "mdevctl-compat.h"
#include "vgpuctl.h"
#include "vgpuctl-usage.h"
#include "util-json.h"


struct verb {
	const char *name;
	int (*fn)(struct vgpu_ctx *ctx, const struct opts *o, int argc,
		  char **argv);
	const char *args;
	const char *help;
};

static const struct verb verbs[];

static const char *prog = "vgpuctl";

/* the library's messages, prefixed like ours */
static void log_to_stderr(struct vgpu_ctx *ctx, int priority, const char *file,
			  int line, const char *fn, const char *format,
			  va_list args, void *userdata)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)userdata;
	if (priority >= LOG_DEBUG)
		fprintf(stderr, "%s: debug: %s: ", prog, fn);
	else if (priority >= LOG_INFO)
		fprintf(stderr, "%s: ", prog);
	else
		fprintf(stderr, "%s: %s", prog, priority >= LOG_WARNING ? "warning: " : "");
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

void __attribute__((format(printf, 1, 2))) fail_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* the exit status for a library error */
int exit_for(int r)
{
	switch (-r) {
	case 0:
		return EXIT_SUCCESS;
	case ENOENT:
	case ENODEV:
		return EXIT_NOTFOUND;
	case EEXIST:
	case ENOSPC:
	case EBUSY:
	case ENOTUNIQ:
		return EXIT_CONFLICT;
	case EINVAL:
		return EXIT_USAGE;
	default:
		return EXIT_FAILURE;
	}
}

int __attribute__((format(printf, 2, 3)))
usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", prog, verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help'.\n", prog, verb);
	return EXIT_USAGE;
}

static bool want_help(int argc, char **argv)
{
	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

void print_json(struct jw *j)
{
	char *text;

	if (jw_finish(j, &text) < 0) {
		fail_msg("out of memory");
		return;
	}
	puts(text);
	free(text);
}

/* a column table: rows of cells, printed with widths fitted to the content */
struct table {
	size_t ncols;
	char **cells;
	size_t nrows;
};

static void table_add(struct table *t, ...)
{
	va_list ap;
	char **grown = reallocarray(t->cells, (t->nrows + 1) * t->ncols,
				    sizeof(char *));

	if (!grown)
		return;
	t->cells = grown;
	va_start(ap, t);
	for (size_t c = 0; c < t->ncols; c++) {
		const char *s = va_arg(ap, const char *);

		grown[t->nrows * t->ncols + c] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

static void table_print(struct table *t)
{
	size_t width[16] = { 0 };

	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		size_t len = t->cells[i] ? strlen(t->cells[i]) : 0;

		if (len > width[i % t->ncols])
			width[i % t->ncols] = len;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 == t->ncols)
				printf("%s\n", s ? s : "");
			else
				printf("%-*s  ", (int)width[c], s ? s : "");
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
}

/* ---- parents ---------------------------------------------------------- */

static void json_parent(struct jw *j, struct vgpu_parent *p, bool names)
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

int parse_common(int argc, char **argv, const struct option *extra,
			const char *shortopts,
			int (*handle)(int c, const char *arg, void *data),
			void *data, struct opts *o)
{
	struct option all[24];
	size_t n = 0;
	int c;

	for (; extra && extra[n].name; n++)
		all[n] = extra[n];
	all[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n] = (struct option){ 0 };
	optind = 0; /* 0, not 1: glibc re-reads the ordering mode (permute) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		int r;

		if (c == 'j') {
			o->json = true;
			continue;
		}
		if (c == '?' || c == ':')
			return usage_error(argv[0], "bad option '%s'",
					   argv[optind - 1]);
		r = handle ? handle(c, optarg, data) : EXIT_USAGE;
		if (r)
			return r;
	}
	return 0;
}

static int cmd_parents(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		       char **argv)
{
	struct vgpu_parent **list;
	struct opts o = *go;
	size_t n;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
	r = vgpu_parent_list(ctx, &list, &n);
	if (r < 0) {
		fail_msg("cannot list parents: %s", strerror(-r));
		return exit_for(r);
	}
	if (o.json) {
		struct jw j;

		jw_init(&j, true);
		jw_begin_array(&j);
		for (size_t i = 0; i < n; i++)
			json_parent(&j, list[i], true);
		jw_end_array(&j);
		print_json(&j);
	} else {
		struct table t = { .ncols = 5 };

		table_add(&t, "PARENT", "BACKEND", "BUS", "DRIVER", "DEVICE");
		for (size_t i = 0; i < n; i++) {
			struct vgpu_parent *p = list[i];
			uint16_t ven, dev;
			char desc[512] = "-";

			if (vgpu_parent_get_pci_ids(p, &ven, &dev, NULL, NULL, NULL) == 0) {
				const char *vn = vgpu_parent_get_vendor_name(p);
				const char *dn = vgpu_parent_get_device_name(p);

				snprintf(desc, sizeof(desc), "%04x:%04x%s%s%s%s", ven, dev,
					 vn ? " " : "", vn ? vn : "", dn ? " " : "",
					 dn ? dn : "");
			}
			table_add(&t, vgpu_parent_get_id(p),
				  vgpu_parent_get_backend(p), vgpu_parent_get_bus(p),
				  vgpu_parent_get_driver(p), desc);
		}
		table_print(&t);
	}
	vgpu_parent_list_free(list, n);
	return 0;
}

/* ---- types ------------------------------------------------------------ */

static void json_type(struct jw *j, struct vgpu_type *t)
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

static int cmd_types(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		     char **argv)
{
	struct vgpu_parent **parents;
	struct opts o = *go;
	struct table t = { .ncols = 5 };
	struct jw j;
	size_t np;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (argc - optind > 1)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind + 1]);
	r = list_parents_or_one(ctx, optind < argc ? argv[optind] : NULL,
				&parents, &np);
	if (r < 0) {
		fail_msg("%s: %s", optind < argc ? argv[optind] : "parents",
			 r == -ENODEV ? "no such parent" : strerror(-r));
		return exit_for(r);
	}
	if (o.json) {
		jw_init(&j, true);
		jw_begin_array(&j);
	} else {
		table_add(&t, "PARENT", "TYPE", "AVAILABLE", "API", "NAME");
	}
	for (size_t i = 0; i < np; i++) {
		struct vgpu_type **types;
		size_t nt;

		r = vgpu_type_list(parents[i], &types, &nt);
		if (r < 0) {
			fail_msg("%s: cannot list types: %s",
				 vgpu_parent_get_id(parents[i]), strerror(-r));
			continue;
		}
		if (o.json) {
			jw_begin_object(&j);
			jw_member_string(&j, "parent", vgpu_parent_get_id(parents[i]));
			jw_member_string(&j, "backend",
					 vgpu_parent_get_backend(parents[i]));
			jw_key(&j, "types");
			jw_begin_array(&j);
			for (size_t k = 0; k < nt; k++)
				json_type(&j, types[k]);
			jw_end_array(&j);
			jw_end_object(&j);
		} else {
			for (size_t k = 0; k < nt; k++) {
				char avail[16];
				int a = vgpu_type_get_available_instances(types[k]);

				snprintf(avail, sizeof(avail), a >= 0 ? "%d" : "?", a);
				table_add(&t, vgpu_parent_get_id(parents[i]),
					  vgpu_type_get_id(types[k]), avail,
					  vgpu_type_get_device_api(types[k]),
					  vgpu_type_get_name(types[k]));
			}
		}
		vgpu_type_list_free(types, nt);
	}
	if (o.json) {
		jw_end_array(&j);
		print_json(&j);
	} else {
		table_print(&t);
	}
	vgpu_parent_list_free(parents, np);
	return 0;
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
static void json_instance(struct jw *j, struct vgpu_instance *in, int in_use)
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
	struct opts o = *go;
	size_t n;
	int r;

	r = parse_common(argc, argv, lo, "dap:j", list_opt, &a, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
	r = vgpu_instance_list(ctx, a.flags, a.parent, NULL, &list, &n);
	if (r < 0) {
		fail_msg("cannot list instances: %s", strerror(-r));
		return exit_for(r);
	}
	if (o.json) {
		struct jw j;

		jw_init(&j, true);
		jw_begin_array(&j);
		for (size_t i = 0; i < n; i++)
			json_instance(&j, list[i], -1);
		jw_end_array(&j);
		print_json(&j);
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
	vgpu_instance_list_free(list, n);
	return 0;
}

static int show_instance(struct vgpu_ctx *ctx, const struct opts *o,
			 const char *uuid, const char *parent)
{
	struct vgpu_instance *in;
	struct vgpu_config *c;
	int in_use = -1;
	int r = vgpu_instance_get(ctx, uuid, parent, &in);

	if (r < 0) {
		fail_msg("%s: %s", uuid,
			 r == -ENOENT ? "no such instance" : strerror(-r));
		return exit_for(r);
	}
	/* whether someone holds the device open (active instances only;
	 * -EACCES etc. leave it unknown) */
	if (vgpu_instance_is_active(in))
		in_use = vgpu_handle_probe_in_use(ctx, vgpu_instance_get_uuid(in),
						  NULL);
	if (o->json) {
		struct jw j;

		jw_init(&j, true);
		json_instance(&j, in, in_use);
		print_json(&j);
		vgpu_instance_unref(in);
		return 0;
	}
	c = vgpu_instance_get_config(in);
	printf("UUID:        %s\n", vgpu_instance_get_uuid(in));
	printf("Parent:      %s\n", vgpu_instance_get_parent_id(in));
	printf("Type:        %s\n", vgpu_instance_get_type_id(in) ?
					   vgpu_instance_get_type_id(in) : "-");
	printf("Backend:     %s\n", vgpu_instance_get_backend(in));
	printf("Active:      %s\n", vgpu_instance_is_active(in) ? "yes" : "no");
	printf("Defined:     %s\n", c ? "yes" : "no");
	if (c)
		printf("Autostart:   %s\n", vgpu_config_get_autostart(c) ? "yes" : "no");
	if (vgpu_instance_get_iommu_group(in) >= 0)
		printf("IOMMU group: %d\n", vgpu_instance_get_iommu_group(in));
	if (in_use >= 0)
		printf("In use:      %s\n", in_use ? "yes (its VFIO group is open)" : "no");
	if (vgpu_instance_get_syspath(in) &&
	    !strcmp(vgpu_instance_get_backend(in), "vfio-user")) {
		/* a provider's device: its syspath is its vfio-user socket */
		printf("Socket:      %s\n", vgpu_instance_get_syspath(in));
		if (!strpbrk(vgpu_instance_get_syspath(in), "\"'\\"))
			printf("QEMU:        -device '{\"driver\":\"vfio-user-pci\","
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

static int show_parent(struct vgpu_ctx *ctx, const struct opts *o,
		       struct vgpu_parent *p)
{
	struct vgpu_type **types = NULL;
	size_t nt = 0;
	uint16_t ven, dev, sven, sdev;
	uint32_t cls;
	int r;

	r = vgpu_type_list(p, &types, &nt);
	if (r < 0)
		fail_msg("%s: cannot list types: %s", vgpu_parent_get_id(p),
			 strerror(-r));
	if (o->json) {
		struct jw j;

		jw_init(&j, true);
		jw_begin_object(&j);
		jw_key(&j, "parent");
		json_parent(&j, p, true);
		jw_key(&j, "types");
		jw_begin_array(&j);
		for (size_t i = 0; i < nt; i++)
			json_type(&j, types[i]);
		jw_end_array(&j);
		jw_end_object(&j);
		print_json(&j);
		vgpu_type_list_free(types, nt);
		return 0;
	}
	printf("Parent:      %s\n", vgpu_parent_get_id(p));
	printf("Backend:     %s\n", vgpu_parent_get_backend(p));
	printf("Bus:         %s\n", vgpu_parent_get_bus(p) ? vgpu_parent_get_bus(p) : "-");
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
			printf("Vendor:      %s\n", vgpu_parent_get_vendor_name(p));
		if (vgpu_parent_get_device_name(p))
			printf("Device:      %s\n", vgpu_parent_get_device_name(p));
	}
	for (size_t i = 0; i < nt; i++) {
		struct vgpu_type *t = types[i];
		int avail = vgpu_type_get_available_instances(t);

		printf("Type %s\n", vgpu_type_get_id(t));
		if (vgpu_type_get_name(t))
			printf("  Name:        %s\n", vgpu_type_get_name(t));
		printf("  Device API:  %s\n", vgpu_type_get_device_api(t) ?
						      vgpu_type_get_device_api(t) : "-");
		if (avail >= 0)
			printf("  Available:   %d\n", avail);
		else
			printf("  Available:   unknown (%s)\n", strerror(-avail));
		for (size_t k = 0; k < vgpu_type_get_attr_count(t); k++) {
			const char *key, *val;

			vgpu_type_get_attr(t, k, &key, &val);
			printf("  %-12s %s\n", key, val);
		}
		if (!vgpu_type_get_attr_count(t) && vgpu_type_get_description(t))
			printf("  Description: %s\n", vgpu_type_get_description(t));
	}
	vgpu_type_list_free(types, nt);
	(void)ctx;
	return 0;
}

static int parent_opt(int c, const char *arg, void *data)
{
	if (c != 'p')
		return EXIT_USAGE;
	*(const char **)data = arg;
	return 0;
}

static const struct option parent_only[] = {
	{ "parent", required_argument, NULL, 'p' },
	{ 0 },
};

bool looks_like_uuid(const char *s)
{
	return strlen(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' &&
	       s[23] == '-';
}

static int cmd_show(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		    char **argv)
{
	struct opts o = *go;
	const char *parent = NULL;
	struct vgpu_parent *p;
	int r;

	r = parse_common(argc, argv, parent_only, "p:j", parent_opt, &parent, &o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s", "expects one UUID or parent id");
	if (looks_like_uuid(argv[optind]))
		return show_instance(ctx, &o, argv[optind], parent);
	r = vgpu_parent_get(ctx, argv[optind], &p);
	if (r < 0) {
		fail_msg("%s: %s", argv[optind],
			 r == -ENODEV ? "no such parent or instance" : strerror(-r));
		return exit_for(r == -EINVAL ? -ENODEV : r);
	}
	r = show_parent(ctx, &o, p);
	vgpu_parent_unref(p);
	return r;
}

/* ---- lifecycle -------------------------------------------------------- */

struct spec {
	const char *parent;
	const char *uuid;
	const char *type;
	const char *jsonfile;
	int autostart; /* -1 unchanged, 0 manual, 1 auto */
	bool force;
	struct vgpu_config *config; /* attrs collected here */
	int error;
	/* modify */
	const char *add_attr;
	bool del_attr;
	long index;
	bool has_index;
};

static int add_attr_arg(struct spec *s, const char *kv)
{
	const char *eq = strchr(kv, '=');
	char *key;
	int r;

	if (!eq || eq == kv) {
		fprintf(stderr, "%s: attribute '%s' is not KEY=VALUE\n", prog, kv);
		return EXIT_USAGE;
	}
	key = strndup(kv, (size_t)(eq - kv));
	if (!key)
		return EXIT_FAILURE;
	r = vgpu_config_add_attr(s->config, key, eq + 1, -1);
	if (r < 0)
		fprintf(stderr, "%s: attribute '%s': %s\n", prog, key,
			r == -EINVAL ? "not a path inside the instance" : strerror(-r));
	free(key);
	return r < 0 ? EXIT_USAGE : 0;
}

static int spec_opt(int c, const char *arg, void *data)
{
	struct spec *s = data;
	long v;
	char *end;

	switch (c) {
	case 'p':
		s->parent = arg;
		return 0;
	case 'u':
		s->uuid = arg;
		return 0;
	case 't':
		s->type = arg;
		return 0;
	case 'a':
		s->autostart = 1;
		return 0;
	case 'm':
		s->autostart = 0;
		return 0;
	case 'f':
		s->force = true;
		return 0;
	case 'J':
		s->jsonfile = arg;
		return 0;
	case 'A':
		return add_attr_arg(s, arg);
	case 'X':
		s->add_attr = arg;
		return 0;
	case 'D':
		s->del_attr = true;
		return 0;
	case 'i':
		errno = 0;
		v = strtol(arg, &end, 10);
		if (errno || *end || end == arg || v < 0) {
			fprintf(stderr, "%s: --index '%s' is not a position\n", prog, arg);
			return EXIT_USAGE;
		}
		s->index = v;
		s->has_index = true;
		return 0;
	}
	return EXIT_USAGE;
}

static const struct option spec_options[] = {
	{ "parent", required_argument, NULL, 'p' },
	{ "uuid", required_argument, NULL, 'u' },
	{ "type", required_argument, NULL, 't' },
	{ "attr", required_argument, NULL, 'A' },
	{ "auto", no_argument, NULL, 'a' },
	{ "manual", no_argument, NULL, 'm' },
	{ "force", no_argument, NULL, 'f' },
	{ "jsonfile", required_argument, NULL, 'J' },
	{ "add-attr", required_argument, NULL, 'X' },
	{ "del-attr", no_argument, NULL, 'D' },
	{ "index", required_argument, NULL, 'i' },
	{ 0 },
};

static int read_jsonfile(const char *path, struct vgpu_config **ret)
{
	char buf[65536];
	size_t len;
	FILE *f = strcmp(path, "-") ? fopen(path, "re") : stdin;
	int r;

	if (!f) {
		fail_msg("%s: %s", path, strerror(errno));
		return -errno;
	}
	len = fread(buf, 1, sizeof(buf), f);
	if (ferror(f) || (len == sizeof(buf) && !feof(f))) {
		fail_msg("%s: %s", path, ferror(f) ? "read error" : "too large");
		if (f != stdin)
			fclose(f);
		return -EFBIG;
	}
	if (f != stdin)
		fclose(f);
	r = vgpu_config_new_from_json(buf, len, ret);
	if (r < 0)
		fail_msg("%s: not a definition in mdevctl's format: %s", path,
			 strerror(-r));
	return r;
}

static int spec_to_config(const char *verb, struct spec *s);

/* parse the options of create/define into s->config; on failure the
 * config is gone and the exit status returned */
static int parse_spec(int argc, char **argv, struct spec *s, struct opts *o)
{
	int r;

	*s = (struct spec){ .autostart = -1 };
	if (vgpu_config_new(&s->config) < 0)
		return EXIT_FAILURE;
	r = parse_common(argc, argv, spec_options, "p:u:t:A:amfJ:j", spec_opt,
			 s, o);
	if (!r && optind < argc)
		r = usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
	if (!r)
		r = spec_to_config(argv[0], s);
	if (!r && (!s->parent || !vgpu_config_get_type(s->config)))
		r = usage_error(argv[0], "%s", "needs --parent and --type (or --jsonfile)");
	if (r)
		s->config = vgpu_config_unref(s->config);
	return r;
}

/* the type, attributes and start policy the options gave */
static int spec_to_config(const char *verb, struct spec *s)
{
	int r;

	if (s->jsonfile) {
		struct vgpu_config *c;

		if (s->type || vgpu_config_get_attr_count(s->config))
			return usage_error(verb, "%s",
					   "--jsonfile excludes --type and --attr");
		r = read_jsonfile(s->jsonfile, &c);
		if (r < 0)
			return exit_for(r);
		vgpu_config_unref(s->config);
		s->config = c;
	} else if (s->type) {
		r = vgpu_config_set_type(s->config, s->type);
		if (r < 0)
			return usage_error(verb, "bad type '%s'", s->type);
	}
	if (s->autostart >= 0)
		vgpu_config_set_autostart(s->config, s->autostart);
	return 0;
}

static int cmd_create(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		      char **argv)
{
	struct vgpu_instance *in;
	struct opts o = *go;
	struct spec s;
	int r;

	r = parse_spec(argc, argv, &s, &o);
	if (r)
		return r;
	r = vgpu_instance_create(ctx, s.parent, s.uuid, s.config, &in);
	vgpu_config_unref(s.config);
	if (r < 0) {
		fail_msg("create: %s", strerror(-r));
		return exit_for(r);
	}
	if (o.json) {
		struct jw j;

		jw_init(&j, true);
		json_instance(&j, in, -1);
		print_json(&j);
	} else {
		puts(vgpu_instance_get_uuid(in));
	}
	vgpu_instance_unref(in);
	return 0;
}

static int cmd_define(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		      char **argv)
{
	struct vgpu_instance *in;
	struct opts o = *go;
	struct spec s;
	int r;

	r = parse_spec(argc, argv, &s, &o);
	if (r)
		return r;
	r = vgpu_instance_define(ctx, s.parent, s.uuid, s.config,
				 s.force ? VGPU_DEFINE_FORCE : 0, &in);
	vgpu_config_unref(s.config);
	if (r < 0) {
		fail_msg("define: %s", r == -EEXIST ? "already defined (use --force to replace)" :
							strerror(-r));
		return exit_for(r);
	}
	puts(vgpu_instance_get_uuid(in));
	vgpu_instance_unref(in);
	return 0;
}

/* verbs taking one UUID and an optional --parent */
static int uuid_verb(int argc, char **argv, struct opts *o, const char **uuid,
		     const char **parent)
{
	int r;

	*parent = NULL;
	r = parse_common(argc, argv, parent_only, "p:j", parent_opt, parent, o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s", "expects one UUID");
	*uuid = argv[optind];
	return 0;
}

static int report(const char *verb, const char *uuid, int r)
{
	if (r < 0) {
		const char *why = strerror(-r);

		if (r == -EINVAL)
			why = "not a valid UUID";
		else if (r == -ENOTUNIQ)
			why = "defined under several parents; name one with --parent";
		fail_msg("%s %s: %s", verb, uuid, why);
	}
	return exit_for(r);
}

static int cmd_start(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		     char **argv)
{
	const char *uuid, *parent;
	struct opts o = *go;
	int r = uuid_verb(argc, argv, &o, &uuid, &parent);

	if (r)
		return r;
	return report("start", uuid, vgpu_instance_start(ctx, uuid, parent, NULL));
}

static int cmd_stop(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		    char **argv)
{
	const char *uuid, *parent;
	struct opts o = *go;
	int r = uuid_verb(argc, argv, &o, &uuid, &parent);

	if (r)
		return r;
	return report("stop", uuid, vgpu_instance_remove(ctx, uuid));
}

static int cmd_undefine(struct vgpu_ctx *ctx, const struct opts *go, int argc,
			char **argv)
{
	const char *uuid, *parent;
	struct opts o = *go;
	int r = uuid_verb(argc, argv, &o, &uuid, &parent);

	if (r)
		return r;
	return report("undefine", uuid, vgpu_instance_undefine(ctx, uuid, parent));
}

/* stop it if active, then delete its definition if it has one */
static int cmd_remove(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		      char **argv)
{
	const char *uuid, *parent;
	struct vgpu_instance *in;
	struct opts o = *go;
	int r = uuid_verb(argc, argv, &o, &uuid, &parent);

	if (r)
		return r;
	r = vgpu_instance_get(ctx, uuid, parent, &in);
	if (r < 0)
		return report("remove", uuid, r);
	if (vgpu_instance_is_active(in))
		r = vgpu_instance_remove(ctx, uuid);
	if (r == 0 && vgpu_instance_is_defined(in))
		r = vgpu_instance_undefine(ctx, uuid,
					   vgpu_instance_get_parent_id(in));
	vgpu_instance_unref(in);
	return report("remove", uuid, r);
}

static int cmd_modify(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		      char **argv)
{
	static const char *const shortopts = "p:t:amJ:X:Di:j";
	struct vgpu_instance *in = NULL;
	struct vgpu_config *c;
	struct opts o = *go;
	struct spec s = { .autostart = -1 };
	const char *uuid;
	int r;

	if (vgpu_config_new(&s.config) < 0)
		return EXIT_FAILURE;
	r = parse_common(argc, argv, spec_options, shortopts, spec_opt, &s, &o);
	if (!r && argc - optind != 1)
		r = usage_error(argv[0], "%s", "expects one UUID");
	if (!r && s.add_attr && s.del_attr)
		r = usage_error(argv[0], "%s", "--add-attr and --del-attr exclude each other");
	if (!r && s.has_index && !s.add_attr && !s.del_attr)
		r = usage_error(argv[0], "%s", "--index goes with --add-attr or --del-attr");
	vgpu_config_unref(s.config);
	if (r)
		return r;
	uuid = argv[optind];
	if (s.jsonfile) {
		r = read_jsonfile(s.jsonfile, &c);
		if (r < 0)
			return exit_for(r);
	} else {
		r = vgpu_instance_get(ctx, uuid, s.parent, &in);
		if (r == 0 && !vgpu_instance_is_defined(in))
			r = -ENOENT;
		if (r < 0) {
			vgpu_instance_unref(in);
			if (r == -ENOENT)
				fail_msg("modify %s: not defined", uuid);
			return r == -ENOENT ? EXIT_NOTFOUND : report("modify", uuid, r);
		}
		c = vgpu_config_ref(vgpu_instance_get_config(in));
		if (!s.parent)
			s.parent = NULL;
	}
	if (!r && s.type)
		r = vgpu_config_set_type(c, s.type);
	if (!r && s.autostart >= 0)
		vgpu_config_set_autostart(c, s.autostart);
	if (!r && s.add_attr) {
		const char *eq = strchr(s.add_attr, '=');
		char *key = eq && eq != s.add_attr ?
				    strndup(s.add_attr, (size_t)(eq - s.add_attr)) :
				    NULL;

		r = key ? vgpu_config_add_attr(c, key, eq + 1,
					       s.has_index ? s.index : -1) :
			  -EINVAL;
		free(key);
	}
	if (!r && s.del_attr)
		r = vgpu_config_del_attr(c, s.has_index ? s.index : -1);
	if (!r)
		r = vgpu_instance_modify(ctx, uuid,
					 in ? vgpu_instance_get_parent_id(in) : s.parent,
					 c);
	vgpu_config_unref(c);
	vgpu_instance_unref(in);
	return report("modify", uuid, r);
}

static int cmd_autostart(struct vgpu_ctx *ctx, const struct opts *go,
			 int argc, char **argv)
{
	struct opts o = *go;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s", "expects one parent id");
	r = vgpu_parent_autostart(ctx, argv[optind]);
	if (r < 0) {
		fail_msg("autostart %s: %s", argv[optind], strerror(-r));
		return exit_for(r);
	}
	return 0;
}

/* ---- monitor ---------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

struct monitor_args {
	long interval;
	long count;
	long timeout_ms;
};

static int monitor_opt(int c, const char *arg, void *data)
{
	struct monitor_args *a = data;
	long *slot = c == 'i' ? &a->interval : c == 'n' ? &a->count :
		     c == 'T' ? &a->timeout_ms : NULL;
	char *end;

	if (!slot)
		return EXIT_USAGE;
	errno = 0;
	*slot = strtol(arg, &end, 10);
	if (errno || *end || end == arg || *slot < 0) {
		fprintf(stderr, "%s: '%s' is not a non-negative number\n", prog, arg);
		return EXIT_USAGE;
	}
	return 0;
}

static const char *event_name(enum vgpu_event_type t)
{
	switch (t) {
	case VGPU_EVENT_PARENT_ADDED:
		return "parent-added";
	case VGPU_EVENT_PARENT_REMOVED:
		return "parent-removed";
	case VGPU_EVENT_INSTANCE_ADDED:
		return "instance-added";
	case VGPU_EVENT_INSTANCE_REMOVED:
		return "instance-removed";
	}
	return "unknown";
}

static void print_event(struct vgpu_event *e, bool json)
{
	if (json) {
		struct jw j;

		jw_init(&j, false);
		jw_begin_object(&j);
		jw_member_string(&j, "event", event_name(vgpu_event_get_type(e)));
		jw_member_string(&j, "backend", vgpu_event_get_backend(e));
		jw_member_string(&j, "parent", vgpu_event_get_parent_id(e));
		if (vgpu_event_get_uuid(e)) {
			jw_member_string(&j, "uuid", vgpu_event_get_uuid(e));
			jw_member_string(&j, "type", vgpu_event_get_type_id(e));
		}
		jw_end_object(&j);
		print_json(&j);
	} else if (vgpu_event_get_uuid(e)) {
		printf("%s %s %s %s %s\n", event_name(vgpu_event_get_type(e)),
		       vgpu_event_get_backend(e), vgpu_event_get_parent_id(e),
		       vgpu_event_get_uuid(e),
		       vgpu_event_get_type_id(e) ? vgpu_event_get_type_id(e) : "-");
	} else {
		printf("%s %s %s\n", event_name(vgpu_event_get_type(e)),
		       vgpu_event_get_backend(e), vgpu_event_get_parent_id(e));
	}
	fflush(stdout);
}

static long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000L + ts.tv_nsec / 1000000L;
}

static int cmd_monitor(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		       char **argv)
{
	static const struct option lo[] = {
		{ "interval", required_argument, NULL, 'i' },
		{ "count", required_argument, NULL, 'n' },
		{ "timeout", required_argument, NULL, 'T' },
		{ 0 },
	};
	struct monitor_args a = { .interval = -1 };
	struct sigaction sa = { .sa_handler = on_signal };
	struct vgpu_monitor *m;
	struct opts o = *go;
	long seen = 0, deadline;
	int r;

	r = parse_common(argc, argv, lo, "i:n:T:j", monitor_opt, &a, &o);
	if (r)
		return r;
	if (optind < argc)
		return usage_error(argv[0], "unexpected argument '%s'", argv[optind]);
	r = vgpu_monitor_new(ctx, &m);
	if (r < 0) {
		fail_msg("monitor: %s", strerror(-r));
		return exit_for(r);
	}
	if (a.interval >= 0)
		vgpu_monitor_set_rescan_interval(m, (unsigned int)a.interval);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	deadline = a.timeout_ms ? now_ms() + a.timeout_ms : 0;
	/* tell a waiting script that the snapshot is taken */
	if (!o.json)
		fprintf(stderr, "%s: monitoring\n", prog);
	while (!stop_requested && (!a.count || seen < a.count)) {
		struct pollfd pfd = { .fd = vgpu_monitor_get_fd(m), .events = POLLIN };
		int wait = -1;
		struct vgpu_event *e;

		if (deadline) {
			long left = deadline - now_ms();

			if (left <= 0)
				break;
			wait = (int)(left > INT_MAX ? INT_MAX : left);
		}
		if (poll(&pfd, 1, wait) < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			break;
		}
		while ((r = vgpu_monitor_receive(m, &e)) == 0 && e) {
			print_event(e, o.json);
			vgpu_event_unref(e);
			if (a.count && ++seen >= a.count)
				break;
		}
		if (r < 0)
			break;
	}
	vgpu_monitor_unref(m);
	if (r < 0) {
		fail_msg("monitor: %s", strerror(-r));
		return exit_for(r);
	}
	return 0;
}

static int cmd_mdevctl(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		       char **argv)
{
	(void)ctx;
	(void)go;
	return mdevctl_compat_main(argc, argv, false);
}

static int cmd_help(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		    char **argv);

static const struct verb verbs[] = {
	{ "list", cmd_list, "[-d|--defined] [-a|--all] [-p PARENT]",
	  "list instances (active ones unless -d or -a)" },
	{ "parents", cmd_parents, "", "list parents" },
	{ "types", cmd_types, "[PARENT]", "list the types of every parent, or of one" },
	{ "show", cmd_show, "UUID|PARENT [-p PARENT]", "show one instance or parent" },
	{ "create", cmd_create, "-p PARENT -t TYPE [-u UUID] [--attr KEY=VALUE]...",
	  "create a transient instance; prints its UUID" },
	{ "remove", cmd_remove, "UUID [-p PARENT]",
	  "stop an instance and delete its definition" },
	{ "define", cmd_define,
	  "-p PARENT (-t TYPE [--attr KEY=VALUE]... | --jsonfile FILE) [-u UUID] [--auto] [--force]",
	  "store a persistent definition; prints its UUID" },
	{ "undefine", cmd_undefine, "UUID [-p PARENT]", "delete a persistent definition" },
	{ "start", cmd_start, "UUID [-p PARENT]", "create an instance from its definition" },
	{ "stop", cmd_stop, "UUID", "remove an active instance, keep its definition" },
	{ "modify", cmd_modify,
	  "UUID [-p PARENT] [-t TYPE] [--auto|--manual] [--add-attr KEY=VALUE|--del-attr] [--index N] | --jsonfile FILE",
	  "change a persistent definition" },
	{ "autostart", cmd_autostart, "PARENT",
	  "start the parent's \"auto\" definitions (run by udev)" },
	{ "monitor", cmd_monitor, "[--interval MS] [--count N] [--timeout MS]",
	  "print parents and instances as they come and go" },
	{ "mdevctl", cmd_mdevctl, "MDEVCTL-ARGS...",
	  "behave exactly like mdevctl 1.2" },
	{ "regions", cmd_regions, "UUID|PCI-ADDRESS",
	  "open a device and list its regions (VFIO)" },
	{ "irqs", cmd_irqs, "UUID|PCI-ADDRESS",
	  "open a device and list its interrupts (VFIO)" },
	{ "screenshot", cmd_screenshot, "UUID|PCI-ADDRESS OUT.png",
	  "save what the device's display shows as PNG" },
	{ "vnc", cmd_vnc, "UUID|PCI-ADDRESS [--listen ADDR:PORT] [--rate HZ] [--max-fps N] [--source provider|device]",
	  "serve the live display to VNC clients (view only)" },
	{ "migration", cmd_migration, "UUID|PCI-ADDRESS",
	  "what the device offers for live migration, and its state" },
	{ "stats", cmd_stats, "[UUID]", "usage of every active instance, or of one" },
	{ "qos", cmd_qos, "UUID [-p PARENT] [--set KNOB=VALUE]... [--live|--config]", "show or set an instance's QoS" },
	{ "top", cmd_top, "[--interval MS] [--iterations N] [--batch]", "live view of every instance's use and QoS ('q' quits)" },
	{ "metrics", cmd_metrics, "[--output FILE]", "usage and QoS in the Prometheus text format" },
	{ "help", cmd_help, "", "show this help" },
	{ NULL, NULL, NULL, NULL },
};

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] VERB [VERB OPTIONS]\n\n"
		"Options:\n"
		"  --sysfs-root DIR   where sysfs is mounted (default /sys)\n"
		"  --config-dir DIR   persistent definitions (default /etc/mdevctl.d)\n"
		"  --runtime-dir DIR  locks and sockets (default /run/vgpu)\n"
		"  -j, --json         JSON output\n"
		"  -v, --verbose      log more (repeat for debug)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n\n"
		"Verbs:\n",
		prog);
	for (const struct verb *v = verbs; v->name; v++)
		fprintf(f, "  %-10s %s\n  %-10s   %s\n", v->name, v->help, "", v->args);
	fprintf(f, "\nExit status: 0 success, 1 failure, 2 usage error, 3 not found,\n"
		   "4 conflict (exists, in use, no capacity left). See vgpuctl(8).\n");
}

static int cmd_help(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		    char **argv)
{
	(void)ctx;
	(void)go;
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

static const struct verb *find_verb(const char *name)
{
	for (const struct verb *v = verbs; v->name; v++)
		if (!strcmp(v->name, name))
			return v;
	return NULL;
}

static void verb_help(const struct verb *v)
{
	printf("Usage: %s %s %s\n%s\n", prog, v->name, v->args, v->help);
}

int main(int argc, char **argv)
{
	static const struct option go[] = {
		{ "sysfs-root", required_argument, NULL, 'S' },
		{ "config-dir", required_argument, NULL, 'C' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	const char *base = strrchr(argv[0], '/');
	struct opts o = { 0 };
	const struct verb *v;
	struct vgpu_ctx *ctx;
	int c, r;

	base = base ? base + 1 : argv[0];
	switch (mdevctl_compat_personality(base)) {
	case 1:
		return mdevctl_compat_main(argc, argv, false);
	case 2:
		return mdevctl_compat_main(argc, argv, true);
	}

	while ((c = getopt_long(argc, argv, "+jvhV", go, NULL)) != -1) {
		switch (c) {
		case 'S':
			o.sysfs_root = optarg;
			break;
		case 'C':
			o.config_dir = optarg;
			break;
		case 'R':
			o.runtime_dir = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vgpuctl %s\n", VGPU_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	v = find_verb(argv[optind]);
	if (!v) {
		fprintf(stderr, "%s: unknown verb '%s'\n", prog, argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (v->fn == cmd_mdevctl) {
		/* the personality reads its settings like mdevctl does, with our
		 * directories passed through the environment */
		if ((o.sysfs_root && setenv("VGPU_SYSFS_ROOT", o.sysfs_root, 1)) ||
		    (o.config_dir && setenv("VGPU_CONFIG_DIR", o.config_dir, 1)) ||
		    (o.runtime_dir && setenv("VGPU_RUNTIME_DIR", o.runtime_dir, 1)))
			return EXIT_FAILURE;
		return mdevctl_compat_main(argc, argv, false);
	}
	if (want_help(argc, argv)) {
		verb_help(v);
		return 0;
	}
	r = vgpu_ctx_new(&ctx);
	if (r < 0) {
		fail_msg("cannot create a context: %s", strerror(-r));
		return EXIT_FAILURE;
	}
	vgpu_ctx_set_log_fn(ctx, log_to_stderr, NULL);
	if (o.verbose)
		vgpu_ctx_set_log_priority(ctx, o.verbose > 1 ? LOG_DEBUG : LOG_INFO);
	if ((o.sysfs_root && (r = vgpu_ctx_set_sysfs_root(ctx, o.sysfs_root)) < 0) ||
	    (o.config_dir && (r = vgpu_ctx_set_config_dir(ctx, o.config_dir)) < 0) ||
	    (o.runtime_dir && (r = vgpu_ctx_set_runtime_dir(ctx, o.runtime_dir)) < 0)) {
		fail_msg("directories must be absolute paths");
		vgpu_ctx_unref(ctx);
		return EXIT_USAGE;
	}
	r = v->fn(ctx, &o, argc, argv);
	vgpu_ctx_unref(ctx);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fail_msg("write error: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	return r;
}
