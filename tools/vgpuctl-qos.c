/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl qos UUID [-p PARENT] [--set KNOB=VALUE]... [--live|--config]
 * [--json]: show or change an instance's QoS knobs. Every --set is checked
 * before the first one is applied.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vgpuctl-json.h"
#include "vgpuctl-usage.h"

#define MAX_SETS 16

static const char *const prio_names[] = { "low", "normal", "high" };

struct qos_args {
	const char *parent;
	unsigned int flags;
	size_t n_sets;
	int knob[MAX_SETS];
	uint64_t value[MAX_SETS];
	const char *verb;
};

static int parse_value(enum vgpu_qos_knob knob, const char *s, uint64_t *ret)
{
	unsigned long long v;
	char *end;

	if (knob == VGPU_QOS_PRIORITY) {
		for (uint64_t i = 0; i < 3; i++) {
			if (!strcmp(s, prio_names[i])) {
				*ret = i;
				return 0;
			}
		}
	}
	if (*s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno || *end)
		return -EINVAL;
	*ret = v;
	return 0;
}

static int qos_opt(int c, const char *arg, void *data)
{
	struct qos_args *a = data;
	const char *eq;
	char name[32];
	int k, r;

	switch (c) {
	case 'p':
		a->parent = arg;
		return 0;
	case 'L':
		a->flags |= VGPU_QOS_LIVE;
		return 0;
	case 'C':
		a->flags |= VGPU_QOS_CONFIG;
		return 0;
	case 's':
		break;
	default:
		return usage_error(a->verb, "%s", "bad option");
	}
	if (a->n_sets == MAX_SETS)
		return usage_error(a->verb, "at most %d --set", MAX_SETS);
	eq = strchr(arg, '=');
	if (!eq || (size_t)(eq - arg) >= sizeof(name))
		return usage_error(a->verb, "--set takes KNOB=VALUE, not '%s'",
				   arg);
	memcpy(name, arg, (size_t)(eq - arg));
	name[eq - arg] = '\0';
	k = vgpu_qos_knob_from_name(name);
	if (k < 0)
		return usage_error(
			a->verb,
			"unknown knob '%s' (time_slice_us, preempt_timeout_us, priority, weight, frame_rate_limit)",
			name);
	r = parse_value(k, eq + 1, &a->value[a->n_sets]);
	if (r == 0)
		r = vgpu_qos_check_value(k, a->value[a->n_sets]);
	if (r < 0)
		return usage_error(a->verb, "%s: '%s' is not a valid value%s",
				   name, eq + 1,
				   k == VGPU_QOS_PRIORITY
					   ? " (low, normal, high)"
				   : r == -ERANGE ? " (out of range)"
						  : "");
	a->knob[a->n_sets++] = k;
	return 0;
}

static const char *note_of(struct vgpu_instance *in, const struct qos_value *q,
			   char *buf, size_t size)
{
	if (q->r == -EOPNOTSUPP) {
		snprintf(buf, size, "not available on the %s backend",
			 vgpu_instance_get_backend(in));
		return buf;
	}
	if (q->r == -ENODATA)
		return q->state & VGPU_QOS_STATE_DEFINED ||
				       !vgpu_instance_is_active(in)
			       ? "not set"
			       : "not reported";
	if (q->r < 0)
		return strerror(-q->r);
	if (q->state & VGPU_QOS_STATE_FIXED)
		return "fixed by the type";
	if (q->state & VGPU_QOS_STATE_PENDING)
		return "in effect from the next VM start";
	if (q->state & VGPU_QOS_STATE_DEFINED)
		return "from the definition";
	return "";
}

static void show(struct vgpu_instance *in, unsigned int flags, bool json)
{
	struct qos_value q[QOS_KNOBS];
	struct jw j;

	for (int k = 0; k < QOS_KNOBS; k++)
		q[k].r = vgpu_instance_get_qos(in, k, flags, &q[k].value,
					       &q[k].state);
	if (!json) {
		printf("%-20s  %-8s  %s\n", "KNOB", "VALUE", "NOTE");
		for (int k = 0; k < QOS_KNOBS; k++) {
			char val[32], note[96];

			format_qos(val, sizeof(val), k, &q[k]);
			printf("%-20s  %-8s  %s\n", vgpu_qos_knob_name(k), val,
			       note_of(in, &q[k], note, sizeof(note)));
		}
		return;
	}
	/* one document: "qos", one entry (docs/json-schema.md) */
	json_doc_begin(&j, true);
	jw_key(&j, "qos");
	jw_begin_array(&j);
	jw_begin_object(&j);
	jw_member_string(&j, "uuid", vgpu_instance_get_uuid(in));
	jw_member_string(&j, "parent", vgpu_instance_get_parent_id(in));
	jw_member_string(&j, "type", vgpu_instance_get_type_id(in));
	jw_member_string(&j, "backend", vgpu_instance_get_backend(in));
	jw_member_string(&j, "scope",
			 flags == VGPU_QOS_LIVE	    ? "live"
			 : flags == VGPU_QOS_CONFIG ? "config"
						    : "effective");
	jw_key(&j, "knobs");
	jw_begin_object(&j);
	for (int k = 0; k < QOS_KNOBS; k++) {
		jw_key(&j, vgpu_qos_knob_name(k));
		jw_begin_object(&j);
		jw_key(&j, "value");
		if (q[k].r == 0)
			jw_int(&j, (long long)q[k].value);
		else
			jw_null(&j);
		jw_key(&j, "supported");
		jw_bool(&j, q[k].r != -EOPNOTSUPP);
		jw_key(&j, "fixed");
		jw_bool(&j, q[k].r == 0 && (q[k].state & VGPU_QOS_STATE_FIXED));
		jw_key(&j, "next_vm_start");
		jw_bool(&j,
			q[k].r == 0 && (q[k].state & VGPU_QOS_STATE_PENDING));
		jw_key(&j, "from_definition");
		jw_bool(&j,
			q[k].r == 0 && (q[k].state & VGPU_QOS_STATE_DEFINED));
		jw_end_object(&j);
	}
	jw_end_object(&j);
	jw_end_object(&j);
	jw_end_array(&j);
	json_doc_end(&j);
}

int cmd_qos(struct vgpu_ctx *ctx, const struct opts *go, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "parent", required_argument, NULL, 'p' },
		{ "set", required_argument, NULL, 's' },
		{ "live", no_argument, NULL, 'L' },
		{ "config", no_argument, NULL, 'C' },
		{ 0 },
	};
	struct qos_args a = { .verb = argv[0] };
	struct vgpu_instance *in;
	struct opts o = *go;
	const char *uuid;
	int r;

	r = parse_common(argc, argv, opts, "p:s:j", qos_opt, &a, &o);
	if (r)
		return r;
	if (argc - optind != 1)
		return usage_error(argv[0], "%s", "expects one UUID");
	uuid = argv[optind];
	if (!looks_like_uuid(uuid))
		return usage_error(argv[0], "'%s' is not a UUID", uuid);
	if (!a.n_sets && a.flags == (VGPU_QOS_LIVE | VGPU_QOS_CONFIG))
		return usage_error(argv[0], "%s",
				   "shows either --live or --config values");
	r = vgpu_instance_get(ctx, uuid, a.parent, &in);
	if (r < 0) {
		fail_msg(
			"qos %s: %s", uuid,
			r == -ENOENT
				? "no such instance (neither active nor defined)"
			: r == -ENOTUNIQ
				? "defined under several parents; name one with --parent"
				: strerror(-r));
		return exit_for(r);
	}
	for (size_t i = 0; i < a.n_sets; i++) {
		const char *name = vgpu_qos_knob_name(a.knob[i]);

		r = vgpu_instance_set_qos(in, a.knob[i], a.value[i], a.flags);
		if (r == VGPU_QOS_APPLIED_AT_NEXT_START) {
			printf("%s=%" PRIu64
			       ": stored; the device applies it when the VM starts next\n",
			       name, a.value[i]);
			continue;
		}
		if (r == 0)
			continue;
		if (r == -ENOENT)
			fail_msg("qos %s: %s", uuid,
				 a.flags & VGPU_QOS_LIVE ? "not active"
							 : "not defined");
		else if (r != -EOPNOTSUPP) /* the library's reason, or ours */
			fail_errno(r, "qos %s: setting %s=%" PRIu64, uuid, name,
				   a.value[i]);
		else
			cli_flush_cause(); /* the library said why */
		if (i)
			fail_msg(
				"qos %s: the %zu setting(s) before %s were applied",
				uuid, i, name);
		vgpu_instance_unref(in);
		return exit_for(r);
	}
	if (!a.n_sets)
		show(in, a.flags, o.json);
	vgpu_instance_unref(in);
	return 0;
}

const struct verb verb_qos = {
	.name = "qos",
	.run = cmd_qos,
	.args = "UUID [-p PARENT] [--set KNOB=VALUE]... [--live|--config]",
	.summary = "show or set an instance's QoS (docs/qos.md)",
	.options =
		"  -p, --parent P     the parent of the definition, when the UUID is\n"
		"                     defined under several parents\n"
		"  -s, --set K=V      set knob K: time_slice_us, preempt_timeout_us,\n"
		"                     priority (low|normal|high), weight,\n"
		"                     frame_rate_limit; repeat for several\n"
		"      --live         only the running instance (not its definition)\n"
		"      --config       only the definition (from the next start)\n",
};
