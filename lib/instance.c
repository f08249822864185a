/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Instances: merging active ones (from the backends) with persistent
 * definitions (config_dir/<parent>/<uuid>), and the lifecycle calls. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "definition-scan.h"
#include "libvgpu-private.h"
#include "util-file.h"
#include "util-sysfs.h"
#include "util-uuid.h"

struct vgpu_instance *vgpu_instance_alloc(struct vgpu_ctx *ctx,
					  const struct vgpu_backend *backend,
					  const char *uuid,
					  const char *parent_id)
{
	struct vgpu_instance *i = calloc(1, sizeof(*i));

	if (!i)
		return NULL;
	i->parent_id = strdup(parent_id);
	if (!i->parent_id) {
		free(i);
		return NULL;
	}
	i->refcount = 1;
	i->ctx = vgpu_ctx_ref(ctx);
	i->backend = backend;
	i->iommu_group = -1;
	/* truncated like snprintf would, without its cost per instance */
	size_t n = strnlen(uuid, sizeof(i->uuid) - 1);

	memcpy(i->uuid, uuid, n);
	i->uuid[n] = '\0';
	return i;
}

VGPU_EXPORT struct vgpu_instance *
vgpu_instance_ref(struct vgpu_instance *instance)
{
	if (instance)
		instance->refcount++;
	return instance;
}

VGPU_EXPORT struct vgpu_instance *
vgpu_instance_unref(struct vgpu_instance *instance)
{
	if (!instance)
		return NULL;
	if (--instance->refcount > 0)
		return instance;
	vgpu_ctx_unref(instance->ctx);
	free(instance->parent_id);
	free(instance->type_id);
	free(instance->syspath);
	vgpu_config_unref(instance->config);
	free(instance);
	return NULL;
}

static void *free_str(void *p)
{
	free(p);
	return NULL;
}

static void *unref_instance(void *p)
{
	return vgpu_instance_unref(p);
}

VGPU_EXPORT void vgpu_instance_list_free(struct vgpu_instance **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		vgpu_instance_unref(list[i]);
	free(list);
}

/* the backend of a parent, when the parent is present; mdev otherwise,
 * since the definitions directory is mdevctl's */
static const struct vgpu_backend *backend_of(struct vgpu_ctx *ctx,
					     const char *parent_id)
{
	struct vgpu_parent *p;
	const struct vgpu_backend *b = &vgpu_backend_mdev;

	if (vgpu_parent_get(ctx, parent_id, &p) == 0) {
		b = p->backend;
		vgpu_parent_unref(p);
	}
	return b;
}

/* ---- definitions ---------------------------------------------------- */

/* the backend named by a "<backend>:" prefix of @id (the rest in *rest),
 * or NULL (and *rest = @id) */
static const struct vgpu_backend *backend_by_prefix(const char *id,
						    const char **rest)
{
	for (size_t i = 0; vgpu_backends[i]; i++) {
		size_t n = strlen(vgpu_backends[i]->name);

		if (!strncmp(id, vgpu_backends[i]->name, n) && id[n] == ':') {
			*rest = id + n + 1;
			return vgpu_backends[i];
		}
	}
	*rest = id;
	return NULL;
}

/* the directory for new definitions of @parent_id's backend */
static char *definition_dir(struct vgpu_ctx *ctx,
			    const struct vgpu_backend *backend)
{
	if (backend && backend->config_dir)
		return backend->config_dir(ctx);
	return strdup(ctx->config_dir);
}

struct merge {
	struct vgpu_vec *vec;
	size_t n_sorted; /* items[0..n_sorted) are sorted by parent, uuid */
	/* the parents the listing left out: whether their instances run is
	 * not known, so their definitions are left out as well */
	struct vgpu_vec *left_out;
};

static bool left_out(const struct merge *m, const char *parent)
{
	for (size_t i = 0; i < m->left_out->n; i++)
		if (!strcmp(m->left_out->items[i], parent))
			return true;
	return false;
}

static int cmp_key(const char *parent, const char *uuid,
		   const struct vgpu_instance *in)
{
	int r = strcmp(parent, in->parent_id);

	return r ? r : strcmp(uuid, in->uuid);
}

/* binary search of the sorted active instances */
static struct vgpu_instance *find_in(struct merge *m, const char *parent,
				     const char *uuid)
{
	size_t lo = 0, hi = m->n_sorted;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		struct vgpu_instance *in = m->vec->items[mid];
		int c = cmp_key(parent, uuid, in);

		if (!c)
			return in;
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int merge_definition(struct vgpu_ctx *ctx, const struct def_loc *loc,
			    const char *parent, const char *uuid,
			    struct vgpu_config *config, void *data)
{
	struct merge *m = data;
	struct vgpu_instance *in = find_in(m, parent, uuid);
	int r;

	if (in) {
		in->config = vgpu_config_ref(config);
		return 0;
	}
	if (left_out(m, parent))
		return 0;
	in = vgpu_instance_alloc(
		ctx, loc->backend ? loc->backend : backend_of(ctx, parent),
		uuid, parent);
	if (!in)
		return -ENOMEM;
	in->config = vgpu_config_ref(config);
	r = vgpu_vec_push(m->vec, in);
	if (r < 0)
		vgpu_instance_unref(in);
	return r;
}

static int cmp_instance(const void *a, const void *b)
{
	const struct vgpu_instance *ia = *(struct vgpu_instance *const *)a;
	const struct vgpu_instance *ib = *(struct vgpu_instance *const *)b;
	int r = strcmp(ia->parent_id, ib->parent_id);

	return r ? r : strcmp(ia->uuid, ib->uuid);
}

/* the active instances of one UUID (of one parent), from every backend */
static int list_active_uuid(struct vgpu_ctx *ctx, const char *uuid,
			    const char *parent_id, struct vgpu_vec *out)
{
	for (size_t i = 0; vgpu_backends[i]; i++) {
		struct vgpu_instance *in;
		int r = vgpu_backend_on(ctx, i)
				? vgpu_backends[i]->get_active(ctx, uuid, &in)
				: -ENOENT;

		if (r == -ENOENT)
			continue;
		if (r < 0)
			return r;
		if (parent_id && strcmp(parent_id, in->parent_id)) {
			vgpu_instance_unref(in);
			continue;
		}
		r = vgpu_vec_push(out, in);
		if (r < 0) {
			vgpu_instance_unref(in);
			return r;
		}
	}
	return 0;
}

VGPU_EXPORT int vgpu_instance_list(struct vgpu_ctx *ctx, unsigned int flags,
				   const char *parent_id, const char *uuid,
				   struct vgpu_instance ***ret, size_t *n_ret)
{
	char norm[VGPU_UUID_LEN + 1];
	struct vgpu_vec vec = { 0 };
	struct vgpu_vec left = { 0 };
	struct merge m = { .vec = &vec, .left_out = &left };
	struct def_scan scan;
	int r = 0, r2;

	if (!ctx || !ret || !n_ret ||
	    (flags &
	     ~(VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED | VGPU_LIST_STRICT)))
		return -EINVAL;
	if (parent_id && !vgpu_def_valid_parent_id(parent_id))
		return -EINVAL;
	if (uuid && vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	if (!(flags & (VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED)))
		flags |= VGPU_LIST_ACTIVE;
	/* the definitions are read (by worker threads on a big host) while
	 * the active instances are: with a UUID, only that UUID's definition
	 * files are opened, so a malformed definition of another instance
	 * does not count, even with VGPU_LIST_STRICT */
	r = vgpu_def_scan_start(ctx, parent_id, uuid ? norm : NULL, &scan);
	if (r < 0)
		return r;
	/* active ones are needed to merge states even for a defined listing */
	ctx->left_out = &left;
	if (uuid)
		r = list_active_uuid(ctx, norm, parent_id, &vec);
	for (size_t i = 0; !uuid && vgpu_backends[i] && r >= 0; i++)
		if (vgpu_backend_on(ctx, i))
			r = vgpu_backends[i]->list_active(ctx, parent_id, &vec);
	ctx->left_out = NULL;
	vgpu_vec_sort(&vec, cmp_instance);
	m.n_sorted = vec.n;
	/* called in any case: it joins the readers */
	r2 = vgpu_def_scan_finish(ctx, &scan, flags & VGPU_LIST_STRICT,
				  r >= 0 ? merge_definition : NULL, &m);
	vgpu_vec_clear(&left, free_str);
	if (r >= 0)
		r = r2;
	if (r < 0) {
		vgpu_vec_clear(&vec, unref_instance);
		return r;
	}
	/* keep only what was asked for */
	size_t kept = 0;

	for (size_t i = 0; i < vec.n; i++) {
		struct vgpu_instance *in = vec.items[i];
		bool keep = ((flags & VGPU_LIST_ACTIVE) && in->active) ||
			    ((flags & VGPU_LIST_DEFINED) && in->config);

		if (keep)
			vec.items[kept++] = in;
		else
			vgpu_instance_unref(in);
	}
	vec.n = kept;
	vgpu_vec_sort(&vec, cmp_instance);
	*ret = (struct vgpu_instance **)vgpu_vec_steal(&vec, n_ret);
	return 0;
}

struct find_def {
	char *dir;
	const struct vgpu_backend *backend;
	char *parent;
	struct vgpu_config *config;
	int count;
};

static int collect_definition(struct vgpu_ctx *ctx, const struct def_loc *loc,
			      const char *parent, const char *uuid,
			      struct vgpu_config *config, void *data)
{
	struct find_def *f = data;

	(void)ctx;
	(void)uuid;
	if (++f->count > 1)
		return 0;
	f->parent = strdup(parent);
	f->dir = strdup(loc->dir);
	f->backend = loc->backend;
	if (!f->parent || !f->dir)
		return -ENOMEM;
	f->config = vgpu_config_ref(config);
	return 0;
}

/* the definition of @uuid under @parent_id (or the only one) */
static int find_definition(struct vgpu_ctx *ctx, const char *uuid,
			   const char *parent_id, struct find_def *f)
{
	int r;

	*f = (struct find_def){ 0 };
	r = vgpu_def_for_each(ctx, parent_id, uuid, false, collect_definition,
			      f);
	if (r >= 0 && f->count == 0)
		r = -ENOENT;
	if (r >= 0 && f->count > 1)
		r = -ENOTUNIQ;
	if (r < 0) {
		free(f->parent);
		free(f->dir);
		vgpu_config_unref(f->config);
		*f = (struct find_def){ 0 };
	}
	return r;
}

static int get_active(struct vgpu_ctx *ctx, const char *uuid,
		      struct vgpu_instance **ret)
{
	for (size_t i = 0; vgpu_backends[i]; i++) {
		int r = vgpu_backend_on(ctx, i)
				? vgpu_backends[i]->get_active(ctx, uuid, ret)
				: -ENOENT;

		if (r != -ENOENT)
			return r;
	}
	return -ENOENT;
}

VGPU_EXPORT int vgpu_instance_get(struct vgpu_ctx *ctx, const char *uuid,
				  const char *parent_id,
				  struct vgpu_instance **ret)
{
	char norm[VGPU_UUID_LEN + 1];
	struct vgpu_instance *in = NULL;
	struct find_def f;
	int r;

	if (!ctx || !ret || vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	if (parent_id && !vgpu_def_valid_parent_id(parent_id))
		return -EINVAL;
	r = get_active(ctx, norm, &in);
	if (r < 0 && r != -ENOENT)
		return r;
	if (in && parent_id && strcmp(in->parent_id, parent_id))
		in = vgpu_instance_unref(in);
	r = find_definition(ctx, norm, in ? in->parent_id : parent_id, &f);
	if (r == -ENOENT && !in)
		return -ENOENT;
	if (r < 0 && r != -ENOENT) {
		vgpu_instance_unref(in);
		return r;
	}
	if (!in) {
		in = vgpu_instance_alloc(
			ctx, f.backend ? f.backend : backend_of(ctx, f.parent),
			norm, f.parent);
		if (!in) {
			free(f.parent);
			free(f.dir);
			vgpu_config_unref(f.config);
			return -ENOMEM;
		}
	}
	in->config = f.config;
	free(f.parent);
	free(f.dir);
	*ret = in;
	return 0;
}

VGPU_EXPORT const char *vgpu_instance_get_uuid(struct vgpu_instance *instance)
{
	return instance ? instance->uuid : NULL;
}

VGPU_EXPORT const char *
vgpu_instance_get_parent_id(struct vgpu_instance *instance)
{
	return instance ? instance->parent_id : NULL;
}

VGPU_EXPORT const char *
vgpu_instance_get_type_id(struct vgpu_instance *instance)
{
	if (!instance)
		return NULL;
	if (instance->type_id)
		return instance->type_id;
	return instance->config ? instance->config->type : NULL;
}

VGPU_EXPORT const char *
vgpu_instance_get_backend(struct vgpu_instance *instance)
{
	return instance ? instance->backend->name : NULL;
}

VGPU_EXPORT bool vgpu_instance_is_active(struct vgpu_instance *instance)
{
	return instance && instance->active;
}

VGPU_EXPORT bool vgpu_instance_is_defined(struct vgpu_instance *instance)
{
	return instance && instance->config;
}

VGPU_EXPORT struct vgpu_config *
vgpu_instance_get_config(struct vgpu_instance *instance)
{
	return instance ? instance->config : NULL;
}

VGPU_EXPORT const char *
vgpu_instance_get_syspath(struct vgpu_instance *instance)
{
	return instance ? instance->syspath : NULL;
}

VGPU_EXPORT int vgpu_instance_get_iommu_group(struct vgpu_instance *instance)
{
	char buf[NAME_MAX + 1];
	long group;
	int fd;

	if (!instance)
		return -1;
	if (instance->iommu_group != VGPU_IOMMU_GROUP_UNREAD)
		return instance->iommu_group;
	/* listings leave it unread: most callers never ask */
	instance->iommu_group = -1;
	if (!instance->syspath)
		return -1;
	fd = open(instance->syspath, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	if (vgpu_readlink_base(fd, "iommu_group", buf, sizeof(buf)) > 0 &&
	    vgpu_parse_long(buf, 10, 0, INT_MAX, &group) == 0)
		instance->iommu_group = (int)group;
	close(fd);
	return instance->iommu_group;
}

/* ---- lifecycle ------------------------------------------------------ */

/* named by backend and parent id: a PF listed by two backends has two
 * parents, and each backend's lifecycle steps are serialized by its own */
static int lock_parent(struct vgpu_ctx *ctx, const struct vgpu_backend *b,
		       const char *parent_id)
{
	char name[300];

	snprintf(name, sizeof(name), "%s-%s", b->name, parent_id);
	return vgpu_lock_take(ctx, name);
}

/* write the attributes in order; on failure remove the instance again */
static int apply_attrs(struct vgpu_ctx *ctx, struct vgpu_instance *in,
		       struct vgpu_config *config)
{
	for (size_t i = 0; i < config->n_attrs; i++) {
		const struct vgpu_kv *a = &config->attrs[i];
		int r = in->backend->write_attr(in, a->key, a->value);

		if (r < 0) {
			int rr;

			err(ctx,
			    "%s: writing attribute %s=\"%s\" failed: %s; removing the instance again",
			    in->uuid, a->key, a->value, strerror(-r));
			rr = in->backend->remove(in);
			if (rr < 0)
				err(ctx, "%s: removing it failed too: %s",
				    in->uuid, strerror(-rr));
			return r;
		}
	}
	return 0;
}

static int create_locked(struct vgpu_ctx *ctx, struct vgpu_parent *p,
			 const char *uuid, struct vgpu_config *config,
			 struct vgpu_instance **ret)
{
	struct vgpu_instance *in = NULL;
	struct vgpu_type *t;
	int r;

	r = get_active(ctx, uuid, &in);
	if (r == 0) {
		err(ctx,
		    "%s: an instance with this UUID exists already (parent %s)",
		    uuid, in->parent_id);
		vgpu_instance_unref(in);
		return -EEXIST;
	}
	r = vgpu_type_get(p, config->type, &t);
	if (r < 0) {
		err(ctx, "parent %s has no type %s", p->id, config->type);
		return r == -EINVAL ? -EINVAL : -ENOENT;
	}
	if (t->available == 0) {
		err(ctx, "parent %s: type %s has no capacity left", p->id,
		    config->type);
		vgpu_type_unref(t);
		return -ENOSPC;
	}
	vgpu_type_unref(t);
	if (p->backend->create_attrs)
		r = p->backend->create_attrs(p, config->type, uuid,
					     config->attrs, config->n_attrs);
	else
		r = p->backend->create(p, config->type, uuid);
	if (r < 0) {
		/* the kernel's word for "full" differs between drivers */
		if (r == -EUSERS || r == -EDQUOT)
			r = -ENOSPC;
		if (r == -EOPNOTSUPP && config->n_attrs)
			err(ctx, "parent %s takes no attributes at creation",
			    p->id);
		/* no UUID: it may be one the caller never gave */
		err(ctx, "parent %s: creating a %s instance failed: %s", p->id,
		    config->type, strerror(-r));
		return r;
	}
	r = p->backend->get_active(ctx, uuid, &in);
	if (r < 0) {
		err(ctx, "%s: created, but it does not show: %s", uuid,
		    strerror(-r));
		return r;
	}
	/* a backend that took them at creation has them already */
	r = p->backend->create_attrs ? 0 : apply_attrs(ctx, in, config);
	if (r == 0)
		r = vgpu_qos_apply(ctx, in, config);
	if (r < 0) {
		vgpu_instance_unref(in);
		return r;
	}
	info(ctx, "%s: created %s on %s", uuid, config->type, p->id);
	if (ret)
		*ret = in;
	else
		vgpu_instance_unref(in);
	return 0;
}

static int create_instance(struct vgpu_ctx *ctx, const char *parent_id,
			   const char *uuid, struct vgpu_config *config,
			   struct vgpu_instance **ret)
{
	struct vgpu_parent *p;
	int lock, r;

	r = vgpu_parent_get(ctx, parent_id, &p);
	if (r < 0) {
		err(ctx, "parent %s: %s", parent_id,
		    r == -ENODEV ? "not present" : strerror(-r));
		return r;
	}
	lock = lock_parent(ctx, p->backend, p->id);
	if (lock < 0) {
		vgpu_parent_unref(p);
		return lock;
	}
	r = create_locked(ctx, p, uuid, config, ret);
	vgpu_lock_release(lock);
	vgpu_parent_unref(p);
	return r;
}

VGPU_EXPORT int vgpu_instance_create(struct vgpu_ctx *ctx,
				     const char *parent_id, const char *uuid,
				     struct vgpu_config *config,
				     struct vgpu_instance **ret)
{
	char norm[VGPU_UUID_LEN + 1];

	if (ret)
		*ret = NULL;
	if (!ctx || !config || !config->type ||
	    !vgpu_def_valid_parent_id(parent_id))
		return -EINVAL;
	if (uuid) {
		if (vgpu_uuid_normalize(uuid, norm) < 0) {
			err(ctx, "\"%s\" is not a UUID", uuid);
			return -EINVAL;
		}
	} else {
		vgpu_uuid_generate(norm);
	}
	return create_instance(ctx, parent_id, norm, config, ret);
}

VGPU_EXPORT int vgpu_instance_write_attr(struct vgpu_instance *instance,
					 const char *key, const char *value)
{
	int r;

	if (!instance || !value || vgpu_config_valid_key(key) < 0)
		return -EINVAL;
	if (!instance->active)
		return -ENOENT;
	r = instance->backend->write_attr(instance, key, value);
	if (r < 0)
		err(instance->ctx, "%s: writing %s=\"%s\" failed: %s",
		    instance->uuid, key, value, strerror(-r));
	return r;
}

static int instance_remove(struct vgpu_ctx *ctx, const char *uuid, bool force);

VGPU_EXPORT int vgpu_instance_remove(struct vgpu_ctx *ctx, const char *uuid)
{
	return instance_remove(ctx, uuid, false);
}

VGPU_EXPORT int vgpu_instance_remove_force(struct vgpu_ctx *ctx,
					   const char *uuid)
{
	return instance_remove(ctx, uuid, true);
}

static int instance_remove(struct vgpu_ctx *ctx, const char *uuid, bool force)
{
	char norm[VGPU_UUID_LEN + 1];
	struct vgpu_instance *in;
	struct vgpu_parent *p;
	int lock, r;

	if (!ctx || vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	r = get_active(ctx, norm, &in);
	if (r < 0)
		return r;
	r = vgpu_parent_get(ctx, in->parent_id, &p);
	if (r < 0) {
		vgpu_instance_unref(in);
		return r == -ENODEV ? -ENOENT : r;
	}
	lock = lock_parent(ctx, in->backend, in->parent_id);
	if (lock < 0) {
		r = lock;
	} else {
		r = force && in->backend->remove_force
			    ? in->backend->remove_force(in)
			    : in->backend->remove(in);
		vgpu_lock_release(lock);
	}
	if (r < 0)
		err(ctx, "%s: removing it failed: %s", norm, strerror(-r));
	else
		info(ctx, "%s: removed", norm);
	vgpu_parent_unref(p);
	vgpu_instance_unref(in);
	return r;
}

/* seconds after which a writer's temporary file counts as left behind */
#define STALE_TMP_AGE 10

/*
 * libvirt watches the definitions directory and every directory below it,
 * and re-reads all definitions whenever a file there is closed after
 * writing, when one moves in, and 2 s after one appears otherwise. So a
 * definition is staged in the directory above @top (same file system,
 * unwatched) and renamed into place: the watcher sees one IN_MOVED_TO.
 * Where that is impossible (@top is a mount point, the parent is not
 * writable) it is written next to its final name.
 */
static int write_definition_file(struct vgpu_ctx *ctx, const char *top, int dfd,
				 const char *uuid, const char *json,
				 bool replace)
{
	char *stage = strdup(top), *slash, *prefix = NULL;
	int sfd = -1, r = -EXDEV;

	if (!stage)
		return -ENOMEM;
	while ((slash = strrchr(stage, '/')) && slash != stage && !slash[1])
		*slash = '\0';
	slash = strrchr(stage, '/');
	if (slash && slash[1] &&
	    asprintf(&prefix, ".%s.%s", slash + 1, uuid) >= 0) {
		*slash = '\0';
		sfd = open(*stage ? stage : "/",
			   O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	}
	if (sfd >= 0) {
		char *mine = NULL;

		/* a crashed writer's staged files: ".<top>.<uuid>.xxxxxxxx.tmp" */
		if (asprintf(&mine, ".%s.", slash + 1) >= 0)
			vgpu_clean_stale_tmp(sfd, mine, STALE_TMP_AGE);
		free(mine);
		r = vgpu_write_file_staged(sfd, prefix, dfd, uuid, json,
					   strlen(json), replace);
		close(sfd);
	}
	free(prefix);
	free(stage);
	if (r == -EXDEV) {
		dbg(ctx, "%s/%s: not staged, written in place", top, uuid);
		r = vgpu_write_file_atomic(dfd, uuid, json, strlen(json),
					   replace);
	}
	return r;
}

static int write_definition(struct vgpu_ctx *ctx, const char *top,
			    const char *parent_id, const char *uuid,
			    struct vgpu_config *config, bool replace)
{
	char *dir = NULL, *json = NULL;
	int dfd, r;

	r = vgpu_config_to_json(config, VGPU_JSON_PRETTY, &json);
	if (r < 0)
		return r;
	if (asprintf(&dir, "%s/%s", top, parent_id) < 0) {
		free(json);
		return -ENOMEM;
	}
	r = vgpu_mkdir_p(dir, 0755);
	dfd = r < 0 ? r : open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0) {
		r = r < 0 ? r : -errno;
		err(ctx, "cannot open %s: %s", dir, strerror(-r));
		free(dir);
		free(json);
		return r;
	}
	/* what a writer that crashed before its rename left behind (mdevctl
	 * warns about such files); younger ones may be another writer's */
	if (vgpu_clean_stale_tmp(dfd, NULL, STALE_TMP_AGE) > 0)
		info(ctx,
		     "%s: removed temporary files left by an interrupted write",
		     dir);
	/* exactly what mdevctl writes: no final newline */
	r = write_definition_file(ctx, top, dfd, uuid, json, replace);
	if (r < 0 && r != -EEXIST)
		err(ctx, "cannot write %s/%s: %s", dir, uuid, strerror(-r));
	close(dfd);
	free(dir);
	free(json);
	return r;
}

VGPU_EXPORT int vgpu_instance_define(struct vgpu_ctx *ctx,
				     const char *parent_id, const char *uuid,
				     struct vgpu_config *config,
				     unsigned int flags,
				     struct vgpu_instance **ret)
{
	char norm[VGPU_UUID_LEN + 1];
	const struct vgpu_backend *backend;
	struct vgpu_parent *p = NULL;
	char *top;
	int lock, r;

	if (ret)
		*ret = NULL;
	if (!ctx || !config || !config->type ||
	    !vgpu_def_valid_parent_id(parent_id) ||
	    (flags & ~VGPU_DEFINE_FORCE))
		return -EINVAL;
	if (uuid) {
		if (vgpu_uuid_normalize(uuid, norm) < 0)
			return -EINVAL;
	} else {
		vgpu_uuid_generate(norm);
	}
	/* a present parent decides the directory (and its canonical id); an
	 * absent one is its backend's when the id names it ("sriov:<bdf>"),
	 * else taken for an mdev parent, as mdevctl does */
	if (vgpu_parent_get(ctx, parent_id, &p) < 0)
		p = NULL;
	if (p) {
		backend = p->backend;
		parent_id = p->id;
	} else {
		backend = backend_by_prefix(parent_id, &parent_id);
		if (!vgpu_def_valid_parent_id(parent_id))
			return -EINVAL;
	}
	top = definition_dir(ctx, backend);
	if (!top) {
		vgpu_parent_unref(p);
		return -ENOMEM;
	}
	r = vgpu_mkdir_p(top, 0755);
	lock = r < 0 ? r : vgpu_lock_dir(ctx, top);
	if (lock >= 0) {
		r = write_definition(ctx, top, parent_id, norm, config,
				     flags & VGPU_DEFINE_FORCE);
		vgpu_lock_release(lock);
	} else {
		r = lock;
	}
	free(top);
	if (r >= 0)
		r = vgpu_qos_def_store(ctx, parent_id, norm, config);
	if (r == -EEXIST)
		err(ctx, "%s is already defined for parent %s", norm,
		    parent_id);
	if (r >= 0 && ret)
		r = vgpu_instance_get(ctx, norm, parent_id, ret);
	vgpu_parent_unref(p);
	return r;
}

struct undefine {
	int count;
	int error;
};

static int unlink_definition(struct vgpu_ctx *ctx, const struct def_loc *loc,
			     const char *parent, const char *uuid,
			     struct vgpu_config *config, void *data)
{
	struct undefine *u = data;
	char *path;

	int lock;

	(void)config;
	if (asprintf(&path, "%s/%s/%s", loc->dir, parent, uuid) < 0)
		return -ENOMEM;
	/* not in the middle of someone's modify, which would write it back */
	lock = vgpu_lock_dir(ctx, loc->dir);
	if (lock < 0) {
		u->error = lock;
	} else if (unlink(path) < 0 && errno != ENOENT) {
		u->error = -errno;
		err(ctx, "cannot delete %s: %s", path, strerror(errno));
	} else {
		u->count++;
		vgpu_qos_def_delete(ctx, parent, uuid);
	}
	vgpu_lock_release(lock);
	free(path);
	return 0;
}

VGPU_EXPORT int vgpu_instance_undefine(struct vgpu_ctx *ctx, const char *uuid,
				       const char *parent_id)
{
	char norm[VGPU_UUID_LEN + 1];
	struct undefine u = { 0 };
	int r;

	if (!ctx || vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	if (parent_id && !vgpu_def_valid_parent_id(parent_id))
		return -EINVAL;
	r = vgpu_def_for_each(ctx, parent_id, norm, false, unlink_definition,
			      &u);
	if (r < 0)
		return r;
	if (u.error)
		return u.error;
	return u.count ? 0 : -ENOENT;
}

VGPU_EXPORT int vgpu_instance_start(struct vgpu_ctx *ctx, const char *uuid,
				    const char *parent_id,
				    struct vgpu_instance **ret)
{
	char norm[VGPU_UUID_LEN + 1];
	struct vgpu_instance *in = NULL;
	struct find_def f;
	int r;

	if (ret)
		*ret = NULL;
	if (!ctx || vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	if (parent_id && !vgpu_def_valid_parent_id(parent_id))
		return -EINVAL;
	r = find_definition(ctx, norm, parent_id, &f);
	if (r < 0) {
		err(ctx, "%s: %s", norm,
		    r == -ENOENT     ? "no such definition"
		    : r == -ENOTUNIQ ? "defined under several parents; name one"
				     : strerror(-r));
		return r;
	}
	r = create_instance(ctx, f.parent, norm, f.config, &in);
	if (r == 0) {
		in->config = vgpu_config_ref(f.config);
		if (ret)
			*ret = in;
		else
			vgpu_instance_unref(in);
	}
	free(f.parent);
	free(f.dir);
	vgpu_config_unref(f.config);
	return r;
}

/* vgpu_instance_modify()'s edit: none, the caller's definition is written */
static int no_edit(struct vgpu_config *config, void *userdata)
{
	(void)config;
	(void)userdata;
	return 0;
}

/*
 * Find the definition, lock its directory, read it again under the lock
 * (another writer may have changed or removed it meanwhile), let @edit
 * change it, write it back.  @replacement, when given, is written instead
 * of the edited copy.
 */
static int
edit_definition(struct vgpu_ctx *ctx, const char *uuid, const char *parent_id,
		int (*edit)(struct vgpu_config *config, void *userdata),
		void *userdata, struct vgpu_config *replacement)
{
	char norm[VGPU_UUID_LEN + 1];
	struct find_def f;
	char *parent;
	int lock, r;

	if (vgpu_uuid_normalize(uuid, norm) < 0)
		return -EINVAL;
	if (parent_id && !vgpu_def_valid_parent_id(parent_id))
		return -EINVAL;
	r = find_definition(ctx, norm, parent_id, &f);
	if (r < 0)
		return r;
	lock = vgpu_lock_dir(ctx, f.dir);
	if (lock < 0) {
		r = lock;
		goto out;
	}
	parent = f.parent;
	f.parent = NULL;
	free(f.dir);
	vgpu_config_unref(f.config);
	r = find_definition(ctx, norm, parent, &f);
	free(parent);
	if (r < 0) {
		vgpu_lock_release(lock);
		return r;
	}
	r = edit(f.config, userdata);
	if (r >= 0 && !(replacement ? replacement : f.config)->type)
		r = -EINVAL;
	if (r >= 0) {
		struct vgpu_config *w = replacement ? replacement : f.config;

		r = write_definition(ctx, f.dir, f.parent, norm, w, true);
		/* QoS stays unless the new definition speaks of it */
		if (r >= 0 && w->qos_touched)
			r = vgpu_qos_def_store(ctx, f.parent, norm, w);
	}
	vgpu_lock_release(lock);
out:
	free(f.parent);
	free(f.dir);
	vgpu_config_unref(f.config);
	return r;
}

VGPU_EXPORT int vgpu_instance_modify(struct vgpu_ctx *ctx, const char *uuid,
				     const char *parent_id,
				     struct vgpu_config *config)
{
	if (!ctx || !config || !config->type || !uuid)
		return -EINVAL;
	return edit_definition(ctx, uuid, parent_id, no_edit, NULL, config);
}

VGPU_EXPORT int vgpu_instance_edit(
	struct vgpu_ctx *ctx, const char *uuid, const char *parent_id,
	int (*edit)(struct vgpu_config *config, void *userdata), void *userdata)
{
	if (!ctx || !uuid || !edit)
		return -EINVAL;
	return edit_definition(ctx, uuid, parent_id, edit, userdata, NULL);
}

struct autostart {
	struct vgpu_vec uuids;
};

static int collect_auto(struct vgpu_ctx *ctx, const struct def_loc *loc,
			const char *parent, const char *uuid,
			struct vgpu_config *config, void *data)
{
	struct autostart *a = data;
	char *copy;
	int r;

	(void)ctx;
	(void)loc;
	(void)parent;
	if (!config->autostart)
		return 0;
	copy = strdup(uuid);
	if (!copy)
		return -ENOMEM;
	r = vgpu_vec_push(&a->uuids, copy);
	if (r < 0)
		free(copy);
	return r;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

VGPU_EXPORT int vgpu_parent_autostart(struct vgpu_ctx *ctx,
				      const char *parent_id)
{
	struct autostart a = { 0 };
	int started = 0, first_error = 0, r;

	if (!ctx || !vgpu_def_valid_parent_id(parent_id))
		return -EINVAL;
	r = vgpu_def_for_each(ctx, parent_id, NULL, false, collect_auto, &a);
	if (r < 0) {
		vgpu_vec_clear(&a.uuids, free_str);
		return r;
	}
	vgpu_vec_sort(&a.uuids, cmp_str);
	for (size_t i = 0; i < a.uuids.n; i++) {
		struct vgpu_instance *in;

		if (get_active(ctx, a.uuids.items[i], &in) == 0) {
			dbg(ctx, "%s: active already",
			    (char *)a.uuids.items[i]);
			vgpu_instance_unref(in);
			continue;
		}
		r = vgpu_instance_start(ctx, a.uuids.items[i], parent_id, NULL);
		if (r == 0)
			started++;
		else if (!first_error)
			first_error = r;
	}
	vgpu_vec_clear(&a.uuids, free_str);
	return started || !first_error ? started : first_error;
}
