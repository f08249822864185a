/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl verbs that change instances and definitions: create, define,
 * undefine, start, stop, remove, modify, autostart.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuctl.h"
#include "vgpuctl-json.h"

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
		fprintf(stderr, "%s: attribute '%s' is not KEY=VALUE\n",
			cli_prog, kv);
		return EXIT_USAGE;
	}
	key = strndup(kv, (size_t)(eq - kv));
	if (!key)
		return EXIT_FAILURE;
	r = vgpu_config_add_attr(s->config, key, eq + 1, -1);
	if (r < 0)
		fprintf(stderr, "%s: attribute '%s': %s\n", cli_prog, key,
			r == -EINVAL ? "not a path inside the instance"
				     : strerror(-r));
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
			fprintf(stderr, "%s: --index '%s' is not a position\n",
				cli_prog, arg);
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

/* a definition in mdevctl's JSON format, from a file or stdin ("-") */
static int read_jsonfile(const char *path, struct vgpu_config **ret)
{
	char *text;
	size_t len;
	int r;

	r = cli_read_file(path, true, 1u << 20, &text, &len);
	if (r < 0) {
		fail_msg("%s: %s", path,
			 r == -EFBIG ? "larger than 1 MiB" : cli_strerror(r));
		return r;
	}
	r = vgpu_config_new_from_json(text, len, ret);
	free(text);
	if (r < 0)
		fail_msg("%s: not a definition in mdevctl's format", path);
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
		r = usage_error(argv[0], "unexpected argument '%s'",
				argv[optind]);
	if (!r)
		r = spec_to_config(argv[0], s);
	if (!r && (!s->parent || !vgpu_config_get_type(s->config)))
		r = usage_error(argv[0], "%s",
				"needs --parent and --type (or --jsonfile)");
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
			return usage_error(
				verb, "%s",
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

/* the ids of @p's types, ", " between them; NULL without any */
static char *type_names(struct vgpu_parent *p)
{
	struct vgpu_type **types;
	char *out = NULL;
	size_t nt, len = 0;

	if (vgpu_type_list(p, &types, &nt) < 0)
		return NULL;
	for (size_t i = 0; i < nt; i++) {
		const char *id = vgpu_type_get_id(types[i]);
		char *grown = realloc(out, len + strlen(id) + 3);

		if (!grown)
			break;
		out = grown;
		len += (size_t)sprintf(out + len, "%s%s", i ? ", " : "", id);
	}
	vgpu_type_list_free(types, nt);
	return out;
}

/*
 * One message for a failed create or define of @s, naming the object: the
 * parent, the type (with the types there are), the UUID. The exit status.
 */
static int spec_failed(struct vgpu_ctx *ctx, const struct spec *s, int r)
{
	const char *type = vgpu_config_get_type(s->config);
	struct vgpu_parent *p;

	switch (-r) {
	case ENODEV:
		fail_msg("parent %s: no such parent", s->parent);
		return exit_for(r);
	case ENOENT:
		if (vgpu_parent_get(ctx, s->parent, &p) == 0) {
			char *types = type_names(p);

			fail_msg("parent %s has no type %s (types: %s)",
				 s->parent, type, types ? types : "none");
			free(types);
			vgpu_parent_unref(p);
			return exit_for(r);
		}
		break;
	case ENOSPC:
		fail_msg("parent %s: type %s has no capacity left", s->parent,
			 type);
		return exit_for(r);
	case EEXIST:
		fail_msg("instance %s exists already", s->uuid);
		return exit_for(r);
	}
	return fail_errno(r, "parent %s: type %s", s->parent, type);
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
	if (r < 0)
		r = spec_failed(ctx, &s, r);
	vgpu_config_unref(s.config);
	if (r)
		return r;
	if (o.json)
		json_print_instance(in, -1);
	else
		puts(vgpu_instance_get_uuid(in));
	vgpu_instance_unref(in);
	return 0;
}

/* a definition is allowed for a type its parent lacks (the parent may change
 * its types), but when the parent is present, say so */
static void warn_missing_type(struct vgpu_ctx *ctx, const char *parent,
			      const char *type)
{
	struct vgpu_parent *p;
	struct vgpu_type *t;
	char *types;

	if (vgpu_parent_get(ctx, parent, &p) < 0)
		return;
	if (vgpu_type_get(p, type, &t) == 0) {
		vgpu_type_unref(t);
	} else {
		types = type_names(p);
		warn_msg(
			"parent %s has no type %s (types: %s); it cannot start until it has",
			parent, type, types ? types : "none");
		free(types);
	}
	cli_clear_cause();
	vgpu_parent_unref(p);
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
	if (r == -EEXIST) {
		fail_msg("instance %s is defined already (--force replaces it)",
			 s.uuid);
		r = exit_for(r);
	} else if (r < 0) {
		r = fail_errno(r, "parent %s: define", s.parent);
	} else {
		warn_missing_type(ctx, s.parent,
				  vgpu_config_get_type(s.config));
	}
	vgpu_config_unref(s.config);
	if (r)
		return r;
	if (o.json)
		json_print_instance(in, -1);
	else
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

static int cmd_start(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		     char **argv)
{
	const char *uuid, *parent;
	struct opts o = *go;
	int r = uuid_verb(argc, argv, &o, &uuid, &parent);

	if (r)
		return r;
	r = vgpu_instance_start(ctx, uuid, parent, NULL);
	if (r == -ENODEV) {
		struct vgpu_instance *in;

		/* its parent is absent */
		if (vgpu_instance_get(ctx, uuid, parent, &in) == 0) {
			r = fail_parent(r, vgpu_instance_get_parent_id(in));
			vgpu_instance_unref(in);
			return r;
		}
	}
	if (r == -EEXIST) {
		fail_msg("instance %s is active already", uuid);
		return exit_for(r);
	}
	return r < 0 ? fail_instance(r, uuid, "not defined") : 0;
}

static int cmd_stop(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		    char **argv)
{
	const char *uuid, *parent;
	struct vgpu_instance *in;
	struct opts o = *go;
	int r = uuid_verb(argc, argv, &o, &uuid, &parent);

	if (r)
		return r;
	r = vgpu_instance_remove(ctx, uuid);
	/* not active: say whether it is defined */
	if (r == -ENOENT && vgpu_instance_get(ctx, uuid, parent, &in) == 0) {
		vgpu_instance_unref(in);
		return fail_instance(r, uuid, "not active");
	}
	return r < 0 ? fail_instance(r, uuid, NULL) : 0;
}

static int cmd_undefine(struct vgpu_ctx *ctx, const struct opts *go, int argc,
			char **argv)
{
	const char *uuid, *parent;
	struct opts o = *go;
	int r = uuid_verb(argc, argv, &o, &uuid, &parent);

	if (r)
		return r;
	r = vgpu_instance_undefine(ctx, uuid, parent);
	return r < 0 ? fail_instance(r, uuid, "not defined") : 0;
}

/* stop it if active, then delete its definition if it has one */
struct remove_args {
	const char *parent;
	bool force;
};

static int remove_opt(int c, const char *arg, void *data)
{
	struct remove_args *a = data;

	if (c == 'f')
		a->force = true;
	else if (c == 'p')
		a->parent = arg;
	else
		return EXIT_USAGE;
	return 0;
}

static int cmd_remove(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		      char **argv)
{
	static const struct option longopts[] = {
		{ "parent", required_argument, NULL, 'p' },
		{ "force", no_argument, NULL, 'f' },
		{ 0 },
	};
	struct remove_args a = { 0 };
	struct vgpu_instance *in;
	struct opts o = *go;
	const char *uuid;
	int r = parse_common(argc, argv, longopts, "p:fj", remove_opt, &a, &o);

	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s", "expects one UUID");
	uuid = argv[optind];
	r = vgpu_instance_get(ctx, uuid, a.parent, &in);
	if (r < 0)
		return fail_instance(r, uuid, NULL);
	/* in use: refused (EBUSY, exit 4), unless forced: then the user is
	 * asked to let go first (the REQ interrupt) */
	if (vgpu_instance_is_active(in))
		r = a.force ? vgpu_instance_remove_force(ctx, uuid)
			    : vgpu_instance_remove(ctx, uuid);
	if (r == 0 && vgpu_instance_is_defined(in))
		r = vgpu_instance_undefine(ctx, uuid,
					   vgpu_instance_get_parent_id(in));
	vgpu_instance_unref(in);
	return r < 0 ? fail_instance(r, uuid, NULL) : 0;
}

/* the changes of `modify`, applied to the definition as it is on disk
 * while the library holds its lock */
static int modify_edit(struct vgpu_config *c, void *userdata)
{
	const struct spec *s = userdata;
	int r = 0;

	if (s->type)
		r = vgpu_config_set_type(c, s->type);
	if (!r && s->autostart >= 0)
		vgpu_config_set_autostart(c, s->autostart);
	if (!r && s->add_attr) {
		const char *eq = strchr(s->add_attr, '=');
		char *key = eq && eq != s->add_attr
				    ? strndup(s->add_attr,
					      (size_t)(eq - s->add_attr))
				    : NULL;

		r = key ? vgpu_config_add_attr(c, key, eq + 1,
					       s->has_index ? s->index : -1)
			: -EINVAL;
		free(key);
	}
	if (!r && s->del_attr)
		r = vgpu_config_del_attr(c, s->has_index ? s->index : -1);
	return r;
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
		r = usage_error(argv[0], "%s",
				"--add-attr and --del-attr exclude each other");
	if (!r && s.has_index && !s.add_attr && !s.del_attr)
		r = usage_error(argv[0], "%s",
				"--index goes with --add-attr or --del-attr");
	vgpu_config_unref(s.config);
	if (r)
		return r;
	uuid = argv[optind];
	if (s.jsonfile) {
		/* a whole new definition: the changes apply to it, then it
		 * replaces the old one */
		r = read_jsonfile(s.jsonfile, &c);
		if (r < 0)
			return exit_for(r);
		r = modify_edit(c, &s);
		if (!r)
			r = vgpu_instance_modify(ctx, uuid, s.parent, c);
		vgpu_config_unref(c);
	} else {
		r = vgpu_instance_get(ctx, uuid, s.parent, &in);
		if (r == 0 && !vgpu_instance_is_defined(in))
			r = -ENOENT;
		if (r < 0) {
			vgpu_instance_unref(in);
			return fail_instance(r, uuid, "not defined");
		}
		/* read, change and write under the definition's lock:
		 * concurrent modifications all survive */
		r = vgpu_instance_edit(ctx, uuid,
				       vgpu_instance_get_parent_id(in),
				       modify_edit, &s);
		vgpu_instance_unref(in);
	}
	if (r == -ERANGE) {
		fail_msg("instance %s: --index %ld: no such attribute position",
			 uuid, s.index);
		return EXIT_FAILURE;
	}
	return r < 0 ? fail_instance(r, uuid, "not defined") : 0;
}

static int cmd_autostart(struct vgpu_ctx *ctx, const struct opts *go, int argc,
			 char **argv)
{
	struct vgpu_parent *p;
	struct opts o = *go;
	int r;

	r = parse_common(argc, argv, NULL, "j", NULL, NULL, &o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s", "expects one parent id");
	r = vgpu_parent_get(ctx, argv[optind], &p);
	if (r < 0)
		return fail_parent(r, argv[optind]);
	vgpu_parent_unref(p);
	r = vgpu_parent_autostart(ctx, argv[optind]);
	return r < 0 ? fail_errno(r, "parent %s: autostart", argv[optind]) : 0;
}

#define PARENT_OPTION                                                           \
	"  -p, --parent P     the parent of the definition, when the UUID is\n" \
	"                     defined under several parents\n"

#define SPEC_OPTIONS                                                              \
	"  -p, --parent P     the parent device (see 'vgpuctl parents')\n"        \
	"  -t, --type T       the instance's type (see 'vgpuctl types P')\n"      \
	"  -u, --uuid U       the instance's UUID (default: a new random one)\n"  \
	"  -A, --attr K=V     a vendor attribute written into the instance's\n"   \
	"                     sysfs directory after creation, in order; repeat\n" \
	"      --jsonfile F   type, attributes and start policy from F, a\n"      \
	"                     definition in mdevctl's JSON format ('-': stdin)\n"

const struct verb verb_create = {
	.name = "create",
	.run = cmd_create,
	.args = "-p PARENT (-t TYPE [--attr KEY=VALUE]... | --jsonfile FILE) [-u UUID]",
	.summary =
		"create a transient instance (gone at reboot); prints its UUID",
	.options = SPEC_OPTIONS,
};

const struct verb verb_define = {
	.name = "define",
	.run = cmd_define,
	.args = "-p PARENT (-t TYPE [--attr KEY=VALUE]... | --jsonfile FILE) [-u UUID] [--auto|--manual] [--force]",
	.summary =
		"store a persistent definition (not started); prints its UUID",
	.options = SPEC_OPTIONS
	"  -a, --auto         start it whenever its parent appears (at boot, or\n"
	"                     when a provider registers)\n"
	"  -m, --manual       start it only with 'vgpuctl start' (the default)\n"
	"  -f, --force        replace an existing definition of this UUID\n",
};

const struct verb verb_remove = {
	.name = "remove",
	.run = cmd_remove,
	.args = "UUID [-p PARENT] [--force]",
	.summary =
		"stop an instance if it is active and delete its definition if it has one",
	.options = PARENT_OPTION
	"  -f, --force        an instance in use (a VMM holds it) is refused (exit 4)\n"
	"                     unless forced: its user is then asked to let go (the\n"
	"                     device's REQ interrupt, a hot-unplug request in QEMU)\n"
	"                     before it is removed\n",
};

const struct verb verb_undefine = {
	.name = "undefine",
	.run = cmd_undefine,
	.args = "UUID [-p PARENT]",
	.summary =
		"delete a persistent definition (an active instance keeps running)",
	.options = PARENT_OPTION,
};

const struct verb verb_start = {
	.name = "start",
	.run = cmd_start,
	.args = "UUID [-p PARENT]",
	.summary = "create an instance from its persistent definition",
	.options = PARENT_OPTION,
};

const struct verb verb_stop = {
	.name = "stop",
	.run = cmd_stop,
	.args = "UUID [-p PARENT]",
	.summary = "remove an active instance, keep its definition",
	.options = PARENT_OPTION,
};

const struct verb verb_modify = {
	.name = "modify",
	.run = cmd_modify,
	.args = "UUID [-p PARENT] ([-t TYPE] [--auto|--manual] [--add-attr KEY=VALUE|--del-attr] [--index N] | --jsonfile FILE)",
	.summary =
		"change a persistent definition (the active instance is not changed)",
	.options = PARENT_OPTION
	"  -t, --type T       a new type\n"
	"  -a, --auto         start it whenever its parent appears\n"
	"  -m, --manual       start it only with 'vgpuctl start'\n"
	"      --add-attr K=V add an attribute (at the end, or at --index)\n"
	"      --del-attr     delete an attribute (the last, or at --index)\n"
	"  -i, --index N      the position (from 0) for --add-attr/--del-attr\n"
	"      --jsonfile F   replace type, attributes and start policy by F\n",
};

const struct verb verb_autostart = {
	.name = "autostart",
	.run = cmd_autostart,
	.args = "PARENT",
	.summary =
		"start the parent's \"auto\" definitions (run by udev, and by the monitor for providers)",
};
