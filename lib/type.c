/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "libvgpu-private.h"
#include "util-sysfs.h"

struct vgpu_type *vgpu_type_alloc(struct vgpu_parent *parent, const char *id)
{
	struct vgpu_type *t = calloc(1, sizeof(*t));

	if (!t)
		return NULL;
	t->id = strdup(id);
	if (!t->id) {
		free(t);
		return NULL;
	}
	t->refcount = 1;
	t->parent = vgpu_parent_ref(parent);
	t->available = -ENODATA;
	t->max = -ENODATA;
	return t;
}

void vgpu_kv_free(struct vgpu_kv *kv, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(kv[i].key);
		free(kv[i].value);
	}
	free(kv);
}

static bool key_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.' ||
	       c == ' ';
}

/* trim [*s, *e) of blanks */
static void trim(const char **s, const char **e)
{
	while (*s < *e && isspace((unsigned char)**s))
		(*s)++;
	while (*e > *s && isspace((unsigned char)(*e)[-1]))
		(*e)--;
}

static int kv_add(struct vgpu_kv **kv, size_t *n, const char *k, const char *ke,
		  const char *v, const char *ve)
{
	struct vgpu_kv *grown = reallocarray(*kv, *n + 1, sizeof(**kv));

	if (!grown)
		return -ENOMEM;
	*kv = grown;
	grown[*n].key = strndup(k, (size_t)(ke - k));
	grown[*n].value = strndup(v, (size_t)(ve - v));
	if (!grown[*n].key || !grown[*n].value) {
		free(grown[*n].key);
		free(grown[*n].value);
		return -ENOMEM;
	}
	(*n)++;
	return 0;
}

/*
 * Split @text into items at any character of @seps, and each item at the
 * first @sep into key and value. Fails (-EBADMSG) as soon as one non-blank
 * item does not have that shape, so that a text in another format yields
 * nothing rather than nonsense.
 */
static int parse_items(const char *text, const char *seps, char sep,
		       struct vgpu_kv **ret, size_t *n_ret)
{
	struct vgpu_kv *kv = NULL;
	size_t n = 0;
	const char *p = text;
	int r = 0;

	while (*p) {
		const char *end = p + strcspn(p, seps);
		const char *s = p, *e = end, *mid, *ks, *ke, *vs, *ve;

		trim(&s, &e);
		if (s < e) {
			mid = memchr(s, sep, (size_t)(e - s));
			if (!mid) {
				r = -EBADMSG;
				break;
			}
			ks = s;
			ke = mid;
			vs = mid + 1;
			ve = e;
			trim(&ks, &ke);
			trim(&vs, &ve);
			if (ks == ke) {
				r = -EBADMSG;
				break;
			}
			for (const char *c = ks; c < ke; c++)
				if (!key_char(*c))
					r = -EBADMSG;
			if (r < 0)
				break;
			r = kv_add(&kv, &n, ks, ke, vs, ve);
			if (r < 0)
				break;
		}
		p = *end ? end + 1 : end;
	}
	if (r < 0 || !n) {
		vgpu_kv_free(kv, n);
		return r < 0 ? r : -EBADMSG;
	}
	*ret = kv;
	*n_ret = n;
	return 0;
}

int vgpu_parse_description(const char *text, struct vgpu_kv **ret,
			   size_t *n_ret)
{
	int r;

	*ret = NULL;
	*n_ret = 0;
	if (!text)
		return 0;
	/* Intel GVT-g: "key: value" lines */
	r = parse_items(text, "\n", ':', ret, n_ret);
	if (r != -EBADMSG)
		return r;
	/* NVIDIA: "key=value, key=value" (on one or several lines) */
	r = parse_items(text, ",\n", '=', ret, n_ret);
	if (r != -EBADMSG)
		return r;
	return 0;
}

static int cmp_type(const void *a, const void *b)
{
	return strcmp((*(struct vgpu_type *const *)a)->id,
		      (*(struct vgpu_type *const *)b)->id);
}

static void *unref_type(void *t)
{
	return vgpu_type_unref(t);
}

VGPU_EXPORT int vgpu_type_list(struct vgpu_parent *parent,
			       struct vgpu_type ***ret, size_t *n_ret)
{
	struct vgpu_vec vec = { 0 };
	int r;

	if (!parent || !ret || !n_ret)
		return -EINVAL;
	r = parent->backend->list_types(parent, &vec);
	if (r < 0) {
		vgpu_vec_clear(&vec, unref_type);
		return r;
	}
	vgpu_vec_sort(&vec, cmp_type);
	*ret = (struct vgpu_type **)vgpu_vec_steal(&vec, n_ret);
	return 0;
}

int vgpu_types_leave_out(struct vgpu_parent *p, struct vgpu_vec *v, int r)
{
	if (r >= 0 || r == -ENOMEM || !p->ctx->unreachable_fn)
		return r;
	vgpu_vec_clear(v, unref_type);
	err(p->ctx, "%s parent %s: its types are left out: %s",
	    p->backend->name, p->id, strerror(-r));
	return vgpu_ctx_leave_out(p->ctx, p->backend, p->id, r);
}

/*
 * The types of parents[0..n) into vecs[0..n): runs of parents of one
 * backend and one context go to the backend's list_types_many at once
 */
static int list_types_each(struct vgpu_parent *const *parents, size_t n,
			   struct vgpu_vec *vecs)
{
	size_t i = 0, run;
	int r = 0;

	for (; r >= 0 && i < n; i += run) {
		const struct vgpu_backend *b = parents[i]->backend;

		run = 1;
		if (b->list_types_many) {
			while (i + run < n && parents[i + run]->backend == b &&
			       parents[i + run]->ctx == parents[i]->ctx)
				run++;
			r = b->list_types_many(parents + i, run, vecs + i);
		} else {
			r = b->list_types(parents[i], &vecs[i]);
			r = vgpu_types_leave_out(parents[i], &vecs[i], r);
		}
	}
	return r;
}

VGPU_EXPORT int vgpu_type_list_many(struct vgpu_parent *const *parents,
				    size_t n, struct vgpu_type ***ret,
				    size_t *n_ret, size_t *counts)
{
	struct vgpu_vec *vecs, all = { 0 };
	int r;

	if ((n && !parents) || !ret || !n_ret)
		return -EINVAL;
	for (size_t i = 0; i < n; i++)
		if (!parents[i])
			return -EINVAL;
	vecs = calloc(n ? n : 1, sizeof(*vecs));
	if (!vecs)
		return -ENOMEM;
	r = list_types_each(parents, n, vecs);
	for (size_t i = 0; r >= 0 && i < n; i++) {
		vgpu_vec_sort(&vecs[i], cmp_type);
		for (size_t k = 0; r >= 0 && k < vecs[i].n; k++) {
			r = vgpu_vec_push(&all, vecs[i].items[k]);
			if (r >= 0)
				vecs[i].items[k] = NULL;
		}
		if (counts)
			counts[i] = vecs[i].n;
	}
	for (size_t i = 0; i < n; i++)
		vgpu_vec_clear(&vecs[i], unref_type);
	free(vecs);
	if (r < 0) {
		vgpu_vec_clear(&all, unref_type);
		return r;
	}
	*ret = (struct vgpu_type **)vgpu_vec_steal(&all, n_ret);
	return 0;
}

VGPU_EXPORT void vgpu_type_list_free(struct vgpu_type **list, size_t n)
{
	if (!list)
		return;
	for (size_t i = 0; i < n; i++)
		vgpu_type_unref(list[i]);
	free(list);
}

VGPU_EXPORT int vgpu_type_get(struct vgpu_parent *parent, const char *id,
			      struct vgpu_type **ret)
{
	if (!parent || !ret || !id)
		return -EINVAL;
	if (!*id || strlen(id) > 255 || strchr(id, '/') || !strcmp(id, ".") ||
	    !strcmp(id, ".."))
		return -EINVAL;
	return parent->backend->get_type(parent, id, ret);
}

VGPU_EXPORT struct vgpu_type *vgpu_type_ref(struct vgpu_type *type)
{
	if (type)
		type->refcount++;
	return type;
}

VGPU_EXPORT struct vgpu_type *vgpu_type_unref(struct vgpu_type *type)
{
	if (!type)
		return NULL;
	if (--type->refcount > 0)
		return type;
	vgpu_parent_unref(type->parent);
	free(type->id);
	free(type->name);
	free(type->description);
	free(type->device_api);
	vgpu_kv_free(type->attrs, type->n_attrs);
	free(type);
	return NULL;
}

VGPU_EXPORT struct vgpu_parent *vgpu_type_get_parent(struct vgpu_type *type)
{
	return type ? type->parent : NULL;
}

VGPU_EXPORT const char *vgpu_type_get_id(struct vgpu_type *type)
{
	return type ? type->id : NULL;
}

VGPU_EXPORT const char *vgpu_type_get_name(struct vgpu_type *type)
{
	return type ? type->name : NULL;
}

VGPU_EXPORT const char *vgpu_type_get_description(struct vgpu_type *type)
{
	return type ? type->description : NULL;
}

VGPU_EXPORT const char *vgpu_type_get_device_api(struct vgpu_type *type)
{
	return type ? type->device_api : NULL;
}

VGPU_EXPORT int vgpu_type_get_available_instances(struct vgpu_type *type)
{
	return type ? type->available : -EINVAL;
}

VGPU_EXPORT int vgpu_type_get_max_instances(struct vgpu_type *type)
{
	const char *v;
	long n;

	if (!type)
		return -EINVAL;
	if (type->max >= 0)
		return type->max;
	/* NVIDIA's mdev types say it in their description */
	v = vgpu_type_get_attr_value(type, "max_instance");
	if (v && vgpu_parse_long(v, 10, 0, 0x7fffffff, &n) == 0)
		return (int)n;
	return -ENODATA;
}

/* parse the description into attributes, when still to do; without
 * memory the type has none this time, and the next call tries again */
static void type_attrs(struct vgpu_type *type)
{
	if (!type->attrs_pending)
		return;
	if (vgpu_parse_description(type->description, &type->attrs,
				   &type->n_attrs) == 0)
		type->attrs_pending = false;
}

VGPU_EXPORT size_t vgpu_type_get_attr_count(struct vgpu_type *type)
{
	if (!type)
		return 0;
	type_attrs(type);
	return type->n_attrs;
}

VGPU_EXPORT int vgpu_type_get_attr(struct vgpu_type *type, size_t index,
				   const char **key, const char **value)
{
	if (!type)
		return -EINVAL;
	type_attrs(type);
	if (index >= type->n_attrs)
		return -ERANGE;
	if (key)
		*key = type->attrs[index].key;
	if (value)
		*value = type->attrs[index].value;
	return 0;
}

VGPU_EXPORT const char *vgpu_type_get_attr_value(struct vgpu_type *type,
						 const char *key)
{
	if (!type || !key)
		return NULL;
	type_attrs(type);
	for (size_t i = 0; i < type->n_attrs; i++)
		if (!strcmp(type->attrs[i].key, key))
			return type->attrs[i].value;
	return NULL;
}
