/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The "vfio-user" backend: providers (libvgpu-provider.h) as parents. A
 * provider that called vgpu_provider_listen_control() has a control socket
 * RUNTIME_DIR/vfio-user/PARENT.ctl; parents are those sockets that answer,
 * types and devices come from the provider over it (see ctl.h). An
 * instance's syspath is its vfio-user socket.
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <time.h>

#include "client.h"
#include "ctl.h"
#include "vfio-user-qos.h"
#include "device-private.h"
#include "libvgpu-private.h"
#include "util-sysfs.h"
#include "util-uuid.h"

static char *ctl_path(struct vgpu_ctx *ctx, const char *id)
{
	char *path;

	if (asprintf(&path, "%s/vfio-user/%s.ctl", ctx->runtime_dir, id) < 0)
		return NULL;
	return path;
}

/*
 * One request to provider @id. The errors that mean "no such provider" (no
 * socket, or a stale one nobody listens on: -ENOENT, -ECONNREFUSED) are
 * returned quietly; every other failure is logged once, naming the
 * provider: -EACCES (its socket or its peer check shuts us out),
 * -ETIMEDOUT (it does not answer in time), -EBADMSG/-EIO (a broken
 * answer).
 */
static int ask(struct vgpu_ctx *ctx, const char *id, const char *request,
	       unsigned int n_fields, struct vfu_ctl_reply *ret)
{
	char *path = ctl_path(ctx, id);
	struct stat st;
	int r;

	if (!path)
		return -ENOMEM;
	r = vfu_ctl_call(path, request, n_fields, vfu_provider_timeout_ms(),
			 ret);
	/* a provider serves root and its own user only, and closes on
	 * anyone else without a word */
	if (r == -ECONNRESET && geteuid() != 0 && stat(path, &st) == 0 &&
	    st.st_uid != geteuid())
		r = -EACCES;
	switch (-r) {
	case 0:
	case ENOENT:
	case ECONNREFUSED:
	case ENOMEM:
		break;
	case EACCES:
	case EPERM:
		r = -EACCES;
		err(ctx,
		    "provider %s: permission denied (%s serves root and the provider's user)",
		    id, path);
		break;
	case ETIMEDOUT:
		err(ctx,
		    "provider %s is not responding (no answer in %d ms on %s)",
		    id, vfu_provider_timeout_ms(), path);
		break;
	case EBADMSG:
		err(ctx, "provider %s: malformed reply to \"%s\"", id, request);
		break;
	case ECONNRESET:
		r = -EIO;
		err(ctx,
		    "provider %s closed the connection without answering \"%s\"",
		    id, request);
		break;
	default:
		/* the provider's own answer ("err N") to a request */
		dbg(ctx, "provider %s: %s: %s", id, request, strerror(-r));
	}
	free(path);
	return r;
}

/* no such provider: no socket, or a stale one (see docs/vfio-user.md) */
static bool absent(int r)
{
	return r == -ENOENT || r == -ECONNREFUSED;
}

static int new_parent(struct vgpu_ctx *ctx, const char *id,
		      struct vgpu_parent **ret)
{
	struct vgpu_parent *p =
		vgpu_parent_alloc(ctx, &vgpu_backend_vfio_user, id);

	if (!p)
		return -ENOMEM;
	p->bus = strdup("vfio-user");
	p->syspath = ctl_path(ctx, id);
	if (!p->bus || !p->syspath) {
		vgpu_parent_unref(p);
		return -ENOMEM;
	}
	*ret = p;
	return 0;
}

/* a parent exists while its control socket answers */
static int vu_get_parent(struct vgpu_ctx *ctx, const char *id,
			 struct vgpu_parent **ret)
{
	struct vfu_ctl_reply rep;
	int r;

	if (!vfu_ctl_valid_id(id))
		return -ENODEV;
	r = ask(ctx, id, "types", 5, &rep);
	if (r < 0)
		return absent(r) ? -ENODEV : r;
	vfu_ctl_reply_free(&rep);
	return new_parent(ctx, id, ret);
}

/* a listing's failure to ask provider @id (see vgpu_ctx_leave_out()) */
static int leave_out(struct vgpu_ctx *ctx, const char *id, int r)
{
	return vgpu_ctx_leave_out(ctx, &vgpu_backend_vfio_user, id, r);
}

/* call @fn for every provider with a control socket; all of them are
 * visited, the first failure is returned */
static int for_each_provider(struct vgpu_ctx *ctx,
			     int (*fn)(struct vgpu_ctx *, const char *, void *),
			     void *data)
{
	char *dir;
	DIR *d;
	struct dirent *de;
	int r = 0, first = 0;

	if (asprintf(&dir, "%s/vfio-user", ctx->runtime_dir) < 0)
		return -ENOMEM;
	d = opendir(dir);
	if (!d) {
		r = errno == ENOENT ? 0 : -errno;
		if (r < 0)
			err(ctx, "cannot read %s: %s", dir, strerror(-r));
		free(dir);
		return r;
	}
	free(dir);
	while (first != -ENOMEM && (de = readdir(d))) {
		size_t n = strlen(de->d_name);
		char id[65];

		if (n < 5 || n - 4 >= sizeof(id) ||
		    strcmp(de->d_name + n - 4, ".ctl") ||
		    (de->d_type != DT_SOCK && de->d_type != DT_UNKNOWN))
			continue;
		memcpy(id, de->d_name, n - 4);
		id[n - 4] = '\0';
		if (!vfu_ctl_valid_id(id))
			continue;
		r = fn(ctx, id, data);
		if (r < 0 && !first)
			first = r;
	}
	closedir(d);
	return first;
}

static int add_parent(struct vgpu_ctx *ctx, const char *id, void *data)
{
	struct vgpu_parent *p;
	int r = vu_get_parent(ctx, id, &p);

	if (r == -ENODEV)
		return 0; /* gone, or a stale socket */
	if (r < 0)
		return leave_out(ctx, id, r);
	r = vgpu_vec_push(data, p);
	if (r < 0)
		vgpu_parent_unref(p);
	return r;
}

static int vu_list_parents(struct vgpu_ctx *ctx, struct vgpu_vec *out)
{
	return for_each_provider(ctx, add_parent, out);
}

/* a decimal int in [0, INT_MAX] */
static int parse_int(const char *s, int *out)
{
	char *end;
	long v;

	if (*s < '0' || *s > '9')
		return -EBADMSG;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > 0x7fffffff)
		return -EBADMSG;
	*out = (int)v;
	return 0;
}

static int make_type(struct vgpu_parent *parent, char **f,
		     struct vgpu_type **ret)
{
	struct vgpu_type *t;
	int avail, max;

	if (!vfu_ctl_valid_id(f[0]) || parse_int(f[1], &avail) < 0 ||
	    parse_int(f[2], &max) < 0)
		return -EBADMSG;
	t = vgpu_type_alloc(parent, f[0]);
	if (!t)
		return -ENOMEM;
	t->available = avail;
	t->max = max;
	t->device_api = strdup("vfio-pci");
	t->name = strcmp(f[3], "-") ? strdup(f[3]) : NULL;
	t->description = strcmp(f[4], "-") ? strdup(f[4]) : NULL;
	if (!t->device_api || (strcmp(f[3], "-") && !t->name) ||
	    (strcmp(f[4], "-") && !t->description)) {
		vgpu_type_unref(t);
		return -ENOMEM;
	}
	/* "key=value, ..." becomes attributes; other text stays text */
	if (t->description &&
	    vgpu_parse_description(t->description, &t->attrs, &t->n_attrs) < 0)
		t->n_attrs = 0;
	*ret = t;
	return 0;
}

static int vu_list_types(struct vgpu_parent *parent, struct vgpu_vec *out)
{
	struct vfu_ctl_reply rep;
	int r = ask(parent->ctx, parent->id, "types", 5, &rep);

	for (size_t i = 0; r >= 0 && i < rep.n_records; i++) {
		struct vgpu_type *t;

		r = make_type(parent, rep.fields + i * 5, &t);
		if (r == 0) {
			r = vgpu_vec_push(out, t);
			if (r < 0)
				vgpu_type_unref(t);
		}
	}
	vfu_ctl_reply_free(&rep);
	/* a provider that went away has no types */
	return absent(r) ? 0 : r;
}

static int vu_get_type(struct vgpu_parent *parent, const char *id,
		       struct vgpu_type **ret)
{
	struct vgpu_vec v = { 0 };
	int r = vu_list_types(parent, &v);

	*ret = NULL;
	for (size_t i = 0; i < v.n; i++) {
		struct vgpu_type *t = v.items[i];

		if (r >= 0 && !*ret && !strcmp(t->id, id))
			*ret = t;
		else
			vgpu_type_unref(t);
	}
	free(v.items);
	if (r < 0)
		return r;
	return *ret ? 0 : -ENOENT;
}

static int make_instance(struct vgpu_ctx *ctx, const char *parent, char **f,
			 struct vgpu_instance **ret)
{
	struct vgpu_instance *in;
	char norm[VGPU_UUID_LEN + 1];

	if (vgpu_uuid_normalize(f[0], norm) < 0 || strcmp(norm, f[0]) ||
	    !vfu_ctl_valid_id(f[1]) || f[2][0] != '/')
		return -EBADMSG;
	in = vgpu_instance_alloc(ctx, &vgpu_backend_vfio_user, norm, parent);
	if (!in)
		return -ENOMEM;
	in->active = true;
	in->type_id = strdup(f[1]);
	in->syspath = strdup(f[2]);
	if (!in->type_id || !in->syspath) {
		vgpu_instance_unref(in);
		return -ENOMEM;
	}
	*ret = in;
	return 0;
}

struct collect {
	struct vgpu_vec *out;
	const char *uuid; /* only this one */
};

static int collect_devices(struct vgpu_ctx *ctx, const char *id, void *data)
{
	struct collect *c = data;
	struct vfu_ctl_reply rep;
	int r = ask(ctx, id, "list", 3, &rep);

	if (r < 0) /* gone: it has no instances; not answering: an error */
		return absent(r) ? 0 : r;
	for (size_t i = 0; r >= 0 && i < rep.n_records; i++) {
		struct vgpu_instance *in;

		if (c->uuid && strcmp(rep.fields[i * 3], c->uuid))
			continue;
		r = make_instance(ctx, id, rep.fields + i * 3, &in);
		if (r == 0) {
			r = vgpu_vec_push(c->out, in);
			if (r < 0)
				vgpu_instance_unref(in);
		}
	}
	vfu_ctl_reply_free(&rep);
	return r;
}

/* collect_devices() for a listing: a provider that fails is left out
 * whole (none of its devices) when the context says so */
static int list_devices(struct vgpu_ctx *ctx, const char *id, void *data)
{
	struct collect *c = data;
	size_t before = c->out->n;
	int r = collect_devices(ctx, id, data);

	if (r < 0 && r != -ENOMEM && ctx->unreachable_fn) {
		while (c->out->n > before)
			vgpu_instance_unref(c->out->items[--c->out->n]);
	}
	return leave_out(ctx, id, r);
}

static int vu_list_active(struct vgpu_ctx *ctx, const char *parent_id,
			  struct vgpu_vec *out)
{
	struct collect c = { out, NULL };

	if (parent_id)
		return vfu_ctl_valid_id(parent_id)
			       ? list_devices(ctx, parent_id, &c)
			       : 0;
	return for_each_provider(ctx, list_devices, &c);
}

static int vu_get_active(struct vgpu_ctx *ctx, const char *uuid,
			 struct vgpu_instance **ret)
{
	struct vgpu_vec v = { 0 };
	struct collect c = { &v, uuid };
	int r = for_each_provider(ctx, collect_devices, &c);

	/* found: another provider's failure does not matter */
	if (v.n && r != -ENOMEM)
		r = 0;
	for (size_t i = 1; i < v.n; i++)
		vgpu_instance_unref(v.items[i]);
	if (r == 0 && v.n)
		*ret = v.items[0];
	else if (v.n)
		vgpu_instance_unref(v.items[0]);
	free(v.items);
	if (r < 0)
		return r;
	return v.n ? 0 : -ENOENT;
}

static int vu_create(struct vgpu_parent *parent, const char *type_id,
		     const char *uuid)
{
	struct vfu_ctl_reply rep;
	char req[VFU_CTL_MAX_REQ];
	int r;

	if (!vfu_ctl_valid_id(type_id))
		return -ENOENT;
	snprintf(req, sizeof(req), "create %s %s", type_id, uuid);
	r = ask(parent->ctx, parent->id, req, 3, &rep);
	if (r < 0)
		return r;
	r = rep.n_records == 1 && !strcmp(rep.fields[0], uuid) ? 0 : -EBADMSG;
	vfu_ctl_reply_free(&rep);
	return r;
}

/* create with attributes: they travel percent-encoded on the create line,
 * and the provider gives them to its vendor's create_attrs */
static int vu_create_attrs(struct vgpu_parent *parent, const char *type_id,
			   const char *uuid, const struct vgpu_kv *attrs,
			   size_t n_attrs)
{
	struct vfu_ctl_reply rep;
	char req[VFU_CTL_MAX_REQ];
	int r;

	if (!vfu_ctl_valid_id(type_id))
		return -ENOENT;
	if (n_attrs > VFU_CTL_MAX_ATTRS) {
		err(parent->ctx, "%s: at most %d attributes reach a provider",
		    uuid, VFU_CTL_MAX_ATTRS);
		return -E2BIG;
	}
	snprintf(req, sizeof(req), "create %s %s", type_id, uuid);
	for (size_t i = 0; i < n_attrs; i++) {
		r = vfu_ctl_append_attr(req, sizeof(req), attrs[i].key,
					attrs[i].value);
		if (r < 0) {
			err(parent->ctx,
			    "%s: attribute %s cannot be sent to provider %s: %s",
			    uuid, attrs[i].key, parent->id,
			    r == -ENOSPC
				    ? "the request is too long"
				    : "bad key, control characters or a value over 255 bytes");
			return r == -ENOSPC ? -E2BIG : -EINVAL;
		}
	}
	r = ask(parent->ctx, parent->id, req, 3, &rep);
	if (r == -EOPNOTSUPP && n_attrs)
		err(parent->ctx, "%s: provider %s takes no attributes", uuid,
		    parent->id);
	else if (r == -EINVAL && n_attrs)
		err(parent->ctx, "%s: provider %s refused the attributes", uuid,
		    parent->id);
	if (r < 0)
		return r;
	r = rep.n_records == 1 && !strcmp(rep.fields[0], uuid) ? 0 : -EBADMSG;
	vfu_ctl_reply_free(&rep);
	return r;
}

static int vu_write_attr(struct vgpu_instance *instance, const char *key,
			 const char *value)
{
	return -EOPNOTSUPP;
}

static int vu_remove(struct vgpu_instance *instance)
{
	struct vfu_ctl_reply rep;
	char req[VFU_CTL_MAX_REQ];
	int r;

	snprintf(req, sizeof(req), "remove %s", instance->uuid);
	r = ask(instance->ctx, instance->parent_id, req, 3, &rep);
	vfu_ctl_reply_free(&rep);
	return r;
}

/*
 * In use: the provider asks the client to let go (the REQ interrupt; QEMU
 * hot-unplugs the device) and answers EINPROGRESS; the device is removed
 * once the client has gone, which takes the guest a few seconds. Gives up
 * after a minute: -ETIMEDOUT, the device stays.
 */
static int vu_remove_force(struct vgpu_instance *instance)
{
	struct vfu_ctl_reply rep;
	char req[VFU_CTL_MAX_REQ];
	int r;

	snprintf(req, sizeof(req), "remove-force %s", instance->uuid);
	r = ask(instance->ctx, instance->parent_id, req, 3, &rep);
	vfu_ctl_reply_free(&rep);
	if (r != -EINPROGRESS)
		return r;
	info(instance->ctx, "%s: in use; asked its client to release it",
	     instance->uuid);
	for (int i = 0; i < 600; i++) {
		struct timespec ts = { .tv_nsec = 100 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		r = vu_remove(instance);
		if (r != -EBUSY)
			return r;
	}
	return -ETIMEDOUT;
}

/* persistent definitions: out of mdevctl's directory, which mdevctl would
 * take for mdev devices */
static char *vu_config_dir(struct vgpu_ctx *ctx)
{
	return vgpu_backend_config_dir(ctx, "VGPU_VFIO_USER_CONFIG_DIR",
				       "vgpu-vfio-user.d");
}

/* providers raise no uevents; their control sockets and their instances'
 * sockets come and go in <runtime>/vfio-user (created here if we may) */
static char *vu_watch_dir(struct vgpu_ctx *ctx)
{
	char *dir;

	if (asprintf(&dir, "%s/vfio-user", ctx->runtime_dir) < 0)
		return NULL;
	if (mkdir(ctx->runtime_dir, 0755) < 0 && errno != EEXIST)
		dbg(ctx, "no runtime directory %s: %s", ctx->runtime_dir,
		    strerror(errno));
	else if (mkdir(dir, 0755) < 0 && errno != EEXIST)
		dbg(ctx, "no %s: %s", dir, strerror(errno));
	return dir;
}

/* display.c */
int vu_open_display(struct vgpu_instance *in, struct vgpu_display *d);

/*
 * QoS and usage of a provider's device: the provider's vendor answers
 * through its qos_set/qos_get/usage callbacks (qos.c, over the control
 * socket). A knob the vendor lacks, or a provider without the callbacks,
 * is refused with the backend's name.
 */
static int vu_qos_set(struct vgpu_instance *instance, enum vgpu_qos_knob knob,
		      uint64_t value)
{
	int r = vu_provider_qos_set(instance, (unsigned int)knob, value);

	if (r == -EOPNOTSUPP)
		return vgpu_qos_unsupported(
			instance, knob,
			"the provider has no such knob (or no QoS callback)");
	if (r == -ERANGE)
		err(instance->ctx, "%s: provider %s cannot honour %s=%" PRIu64,
		    instance->uuid, instance->parent_id,
		    vgpu_qos_knob_name(knob), value);
	return r;
}

static int vu_qos_get(struct vgpu_instance *instance, enum vgpu_qos_knob knob,
		      uint64_t *value, unsigned int *state)
{
	int r = vu_provider_qos_get(instance, (unsigned int)knob, value);

	if (r == 0 && state)
		*state = 0;
	return r;
}

static int vu_get_usage(struct vgpu_instance *instance,
			struct vgpu_usage *usage)
{
	uint64_t v[VFU_CTL_COUNTERS];
	unsigned int mask = 0;
	int r = vu_provider_usage(instance, v, &mask);

	if (r == -EOPNOTSUPP)
		return 0; /* the provider reports nothing: all "not reported" */
	for (unsigned int i = 0; r == 0 && i < VFU_CTL_COUNTERS; i++)
		if (mask & (1u << i))
			vgpu_usage_set(usage, (enum vgpu_usage_counter)i, v[i]);
	return r;
}

const struct vgpu_backend vgpu_backend_vfio_user = {
	.name = "vfio-user",
	.list_parents = vu_list_parents,
	.get_parent = vu_get_parent,
	.list_types = vu_list_types,
	.get_type = vu_get_type,
	.list_active = vu_list_active,
	.get_active = vu_get_active,
	.create = vu_create,
	.write_attr = vu_write_attr,
	.remove = vu_remove,
	.remove_force = vu_remove_force,
	.config_dir = vu_config_dir,
	/* an instance's syspath is its vfio-user socket */
	.access = "vfio-user",
	.watch_dir = vu_watch_dir,
	.open_display = vu_open_display,
	.create_attrs = vu_create_attrs,
	.qos_get = vu_qos_get,
	.qos_set = vu_qos_set,
	.get_usage = vu_get_usage,
};
