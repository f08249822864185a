/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl's JSON: one versioned document shape for every verb's --json,
 * described in docs/json-schema.md and checked against
 * docs/vgpuctl.schema.json by the tests. A document is an object with
 * "version" and the arrays a verb has to say: "parents", "types",
 * "instances", "events". An object refers to another by id ("parent" is
 * always the parent's id, a string); absent values are null, never -1.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vgpuctl-json.h"

static void member_int_or_null(struct jw *j, const char *key, int v)
{
	jw_key(j, key);
	if (v >= 0)
		jw_int(j, v);
	else
		jw_null(j);
}

static void member_attr(struct jw *j, const char *key, const char *value)
{
	jw_begin_object(j);
	jw_member_string(j, "key", key);
	jw_member_string(j, "value", value);
	jw_end_object(j);
}

void json_doc_begin(struct jw *j, bool pretty)
{
	jw_init(j, pretty);
	jw_begin_object(j);
	jw_key(j, "version");
	jw_int(j, VGPUCTL_JSON_VERSION);
}

void json_doc_end(struct jw *j)
{
	jw_end_object(j);
	print_json(j);
}

void json_time_now(char *buf, size_t size)
{
	struct timespec ts;
	struct tm tm;
	size_t n;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03ldZ", ts.tv_nsec / 1000000);
}

void json_parent(struct jw *j, struct vgpu_parent *p)
{
	uint16_t ven, dev, sven, sdev;
	uint32_t cls;

	jw_begin_object(j);
	jw_member_string(j, "id", vgpu_parent_get_id(p));
	jw_member_string(j, "backend", vgpu_parent_get_backend(p));
	jw_member_string(j, "bus", vgpu_parent_get_bus(p));
	jw_member_string(j, "driver", vgpu_parent_get_driver(p));
	jw_member_string(j, "syspath", vgpu_parent_get_syspath(p));
	member_int_or_null(j, "numa_node", vgpu_parent_get_numa_node(p));
	jw_key(j, "pci");
	if (vgpu_parent_get_pci_ids(p, &ven, &dev, &sven, &sdev, &cls) == 0) {
		char buf[16];

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
		jw_member_string(j, "vendor_name",
				 vgpu_parent_get_vendor_name(p));
		jw_member_string(j, "device_name",
				 vgpu_parent_get_device_name(p));
		jw_end_object(j);
	} else {
		jw_null(j);
	}
	jw_end_object(j);
}

void json_type(struct jw *j, struct vgpu_type *t)
{
	struct vgpu_parent *p = vgpu_type_get_parent(t);

	jw_begin_object(j);
	jw_member_string(j, "id", vgpu_type_get_id(t));
	jw_member_string(j, "parent", vgpu_parent_get_id(p));
	jw_member_string(j, "backend", vgpu_parent_get_backend(p));
	jw_member_string(j, "name", vgpu_type_get_name(t));
	jw_member_string(j, "description", vgpu_type_get_description(t));
	jw_member_string(j, "device_api", vgpu_type_get_device_api(t));
	member_int_or_null(j, "available",
			   vgpu_type_get_available_instances(t));
	member_int_or_null(j, "max", vgpu_type_get_max_instances(t));
	jw_key(j, "attributes");
	jw_begin_array(j);
	for (size_t i = 0; i < vgpu_type_get_attr_count(t); i++) {
		const char *k, *v;

		vgpu_type_get_attr(t, i, &k, &v);
		member_attr(j, k, v);
	}
	jw_end_array(j);
	jw_end_object(j);
}

void json_instance(struct jw *j, struct vgpu_instance *in, int in_use)
{
	struct vgpu_config *c = vgpu_instance_get_config(in);

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
	member_int_or_null(j, "iommu_group", vgpu_instance_get_iommu_group(in));
	jw_key(j, "in_use");
	if (in_use >= 0)
		jw_bool(j, in_use > 0);
	else
		jw_null(j);
	jw_member_string(j, "syspath", vgpu_instance_get_syspath(in));
	jw_key(j, "attributes");
	jw_begin_array(j);
	for (size_t i = 0; c && i < vgpu_config_get_attr_count(c); i++) {
		const char *k, *v;

		vgpu_config_get_attr(c, i, &k, &v);
		member_attr(j, k, v);
	}
	jw_end_array(j);
	jw_end_object(j);
}

const char *json_event_name(enum vgpu_event_type t)
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

void json_event(struct jw *j, struct vgpu_event *e, const char *time)
{
	jw_begin_object(j);
	jw_member_string(j, "event", json_event_name(vgpu_event_get_type(e)));
	jw_member_string(j, "time", time);
	jw_member_string(j, "backend", vgpu_event_get_backend(e));
	jw_member_string(j, "parent", vgpu_event_get_parent_id(e));
	jw_member_string(j, "uuid", vgpu_event_get_uuid(e));
	jw_member_string(j, "type", vgpu_event_get_type_id(e));
	jw_end_object(j);
}

void json_member_parents(struct jw *j, struct vgpu_parent **list, size_t n)
{
	jw_key(j, "parents");
	jw_begin_array(j);
	for (size_t i = 0; i < n; i++)
		json_parent(j, list[i]);
	jw_end_array(j);
}

void json_member_types(struct jw *j, struct vgpu_type **list, size_t n)
{
	jw_key(j, "types");
	jw_begin_array(j);
	for (size_t i = 0; i < n; i++)
		json_type(j, list[i]);
	jw_end_array(j);
}

void json_member_instances(struct jw *j, struct vgpu_instance **list, size_t n)
{
	jw_key(j, "instances");
	jw_begin_array(j);
	for (size_t i = 0; i < n; i++)
		json_instance(j, list[i], -1);
	jw_end_array(j);
}

void json_print_instance(struct vgpu_instance *in, int in_use)
{
	struct jw j;

	json_doc_begin(&j, true);
	jw_key(&j, "instances");
	jw_begin_array(&j);
	json_instance(&j, in, in_use);
	jw_end_array(&j);
	json_doc_end(&j);
}

const char *json_errno_name(int error)
{
	const char *name = strerrorname_np(-error);

	return name ? name : "EIO";
}

static void unreachable(struct vgpu_ctx *ctx, const char *backend,
			const char *parent, int error, void *userdata)
{
	/* the library logged why just before: that is the message */
	char *cause = cli_take_cause();

	(void)ctx;
	json_errors_add(userdata, backend, parent, error, cause);
	free(cause);
}

void json_errors_watch(struct vgpu_ctx *ctx, struct json_errors *errs)
{
	*errs = (struct json_errors){ .ctx = ctx };
	vgpu_ctx_set_unreachable_fn(ctx, unreachable, errs);
}

bool json_errors_has(const struct json_errors *errs, const char *id)
{
	for (size_t i = 0; i < errs->n; i++)
		if (!strcmp(errs->e[i].parent, id))
			return true;
	return false;
}

void json_errors_add(struct json_errors *errs, const char *backend,
		     const char *parent, int error, const char *message)
{
	struct json_error *grown, *e;
	char text[512];

	if (json_errors_has(errs, parent))
		return;
	if (!message) {
		snprintf(text, sizeof(text), "%s %s: %s",
			 strcmp(backend, "vfio-user") ? "parent" : "provider",
			 parent, cli_strerror(error));
		message = text;
	}
	grown = reallocarray(errs->e, errs->n + 1, sizeof(*errs->e));
	if (!grown)
		return;
	errs->e = grown;
	e = &errs->e[errs->n];
	e->backend = strdup(backend);
	e->parent = strdup(parent);
	e->message = strdup(message);
	e->error = error;
	if (!e->backend || !e->parent || !e->message) {
		free(e->backend);
		free(e->parent);
		free(e->message);
		return;
	}
	errs->n++;
}

void json_member_errors(struct jw *j, const struct json_errors *errs)
{
	jw_key(j, "errors");
	jw_begin_array(j);
	for (size_t i = 0; i < errs->n; i++) {
		jw_begin_object(j);
		jw_member_string(j, "backend", errs->e[i].backend);
		jw_member_string(j, "parent", errs->e[i].parent);
		jw_member_string(j, "errno", json_errno_name(errs->e[i].error));
		jw_member_string(j, "message", errs->e[i].message);
		jw_end_object(j);
	}
	jw_end_array(j);
}

int json_errors_forget(struct json_errors *errs)
{
	int status = errs->n ? EXIT_PARTIAL : 0;

	if (errs->ctx)
		vgpu_ctx_set_unreachable_fn(errs->ctx, NULL, NULL);
	for (size_t i = 0; i < errs->n; i++) {
		free(errs->e[i].backend);
		free(errs->e[i].parent);
		free(errs->e[i].message);
	}
	free(errs->e);
	*errs = (struct json_errors){ 0 };
	return status;
}

int json_errors_finish(struct json_errors *errs)
{
	for (size_t i = 0; i < errs->n; i++)
		fail_msg("%s", errs->e[i].message);
	return json_errors_forget(errs);
}
