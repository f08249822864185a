/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* Persistent definitions in mdevctl's JSON format. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <json-c/json.h>

#include "libvgpu-private.h"
#include "util-json.h"

/* a definition file is a few hundred bytes; refuse to slurp anything huge */
#define CONFIG_FILE_MAX (1024 * 1024)

VGPU_EXPORT int vgpu_config_new(struct vgpu_config **ret)
{
	struct vgpu_config *c;

	if (!ret)
		return -EINVAL;
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->refcount = 1;
	*ret = c;
	return 0;
}

VGPU_EXPORT struct vgpu_config *vgpu_config_ref(struct vgpu_config *config)
{
	if (config)
		config->refcount++;
	return config;
}

VGPU_EXPORT struct vgpu_config *vgpu_config_unref(struct vgpu_config *config)
{
	if (!config)
		return NULL;
	if (--config->refcount > 0)
		return config;
	free(config->type);
	vgpu_kv_free(config->attrs, config->n_attrs);
	free(config);
	return NULL;
}

static bool has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

VGPU_EXPORT int vgpu_config_set_type(struct vgpu_config *config,
				     const char *type_id)
{
	char *copy = NULL;

	if (!config)
		return -EINVAL;
	if (type_id) {
		if (!*type_id || strlen(type_id) > 255 ||
		    strchr(type_id, '/') || has_control(type_id) ||
		    !strcmp(type_id, ".") || !strcmp(type_id, ".."))
			return -EINVAL;
		copy = strdup(type_id);
		if (!copy)
			return -ENOMEM;
	}
	free(config->type);
	config->type = copy;
	return 0;
}

VGPU_EXPORT const char *vgpu_config_get_type(struct vgpu_config *config)
{
	return config ? config->type : NULL;
}

VGPU_EXPORT void vgpu_config_set_autostart(struct vgpu_config *config,
					   bool autostart)
{
	if (config)
		config->autostart = autostart;
}

VGPU_EXPORT bool vgpu_config_get_autostart(struct vgpu_config *config)
{
	return config ? config->autostart : false;
}

/* an attribute path inside the instance directory: relative, no "..",
 * no empty or "." components, no control characters */
int vgpu_config_valid_key(const char *key)
{
	const char *p = key;

	if (!key || !*key || strlen(key) > 1024 || has_control(key))
		return -EINVAL;
	while (*p) {
		size_t len = strcspn(p, "/");

		if (len == 0 || (len == 1 && p[0] == '.') ||
		    (len == 2 && p[0] == '.' && p[1] == '.'))
			return -EINVAL;
		p += len;
		if (*p == '/')
			p++;
		if (!*p && p[-1] == '/')
			return -EINVAL;
	}
	return 0;
}

VGPU_EXPORT int vgpu_config_add_attr(struct vgpu_config *config,
				     const char *key, const char *value,
				     long index)
{
	struct vgpu_kv *grown, kv;
	size_t at;

	if (!config || !value || vgpu_config_valid_key(key) < 0)
		return -EINVAL;
	at = (index < 0 || (size_t)index > config->n_attrs) ? config->n_attrs
							    : (size_t)index;
	kv.key = strdup(key);
	kv.value = strdup(value);
	grown = reallocarray(config->attrs, config->n_attrs + 1, sizeof(kv));
	if (!kv.key || !kv.value || !grown) {
		free(kv.key);
		free(kv.value);
		if (grown)
			config->attrs = grown;
		return -ENOMEM;
	}
	config->attrs = grown;
	memmove(&grown[at + 1], &grown[at],
		(config->n_attrs - at) * sizeof(kv));
	grown[at] = kv;
	config->n_attrs++;
	return 0;
}

VGPU_EXPORT int vgpu_config_del_attr(struct vgpu_config *config, long index)
{
	size_t at;

	if (!config)
		return -EINVAL;
	if (!config->n_attrs)
		return -ERANGE;
	if (index < 0)
		at = config->n_attrs - 1;
	else if ((size_t)index >= config->n_attrs)
		return -ERANGE;
	else
		at = (size_t)index;
	free(config->attrs[at].key);
	free(config->attrs[at].value);
	memmove(&config->attrs[at], &config->attrs[at + 1],
		(config->n_attrs - at - 1) * sizeof(config->attrs[0]));
	config->n_attrs--;
	return 0;
}

VGPU_EXPORT size_t vgpu_config_get_attr_count(struct vgpu_config *config)
{
	return config ? config->n_attrs : 0;
}

VGPU_EXPORT int vgpu_config_get_attr(struct vgpu_config *config, size_t index,
				     const char **key, const char **value)
{
	if (!config)
		return -EINVAL;
	if (index >= config->n_attrs)
		return -ERANGE;
	if (key)
		*key = config->attrs[index].key;
	if (value)
		*value = config->attrs[index].value;
	return 0;
}

static int config_from_object(json_object *root, struct vgpu_config *c)
{
	json_object *type, *start, *attrs;
	int r;

	if (!json_object_is_type(root, json_type_object))
		return -EBADMSG;
	if (!json_object_object_get_ex(root, "mdev_type", &type) ||
	    !json_object_is_type(type, json_type_string))
		return -EBADMSG;
	r = vgpu_config_set_type(c, json_object_get_string(type));
	if (r < 0)
		return r == -EINVAL ? -EBADMSG : r;
	if (json_object_object_get_ex(root, "start", &start)) {
		const char *s;

		if (!json_object_is_type(start, json_type_string))
			return -EBADMSG;
		/* like mdevctl: anything but "auto" means manual */
		s = json_object_get_string(start);
		c->autostart = !strcmp(s, "auto");
	} else {
		c->incomplete = true;
	}
	if (!json_object_object_get_ex(root, "attrs", &attrs) ||
	    json_object_is_type(attrs, json_type_null))
		return 0;
	if (!json_object_is_type(attrs, json_type_array))
		return -EBADMSG;
	for (size_t i = 0; i < json_object_array_length(attrs); i++) {
		json_object *item = json_object_array_get_idx(attrs, i);
		struct json_object_iterator it, end;
		json_object *val;
		const char *key;

		if (!json_object_is_type(item, json_type_object) ||
		    json_object_object_length(item) != 1)
			return -EBADMSG;
		it = json_object_iter_begin(item);
		end = json_object_iter_end(item);
		if (json_object_iter_equal(&it, &end))
			return -EBADMSG;
		key = json_object_iter_peek_name(&it);
		val = json_object_iter_peek_value(&it);
		if (!json_object_is_type(val, json_type_string))
			return -EBADMSG;
		r = vgpu_config_add_attr(c, key, json_object_get_string(val),
					 -1);
		if (r < 0)
			return r == -EINVAL ? -EBADMSG : r;
	}
	return 0;
}

/* vgpu_config_new_from_json() with a tokener of the caller's */
static int config_parse(struct json_tokener *tok, const char *json, size_t len,
			struct vgpu_config **ret)
{
	struct vgpu_config *c;
	json_object *root;
	int r;

	if (len > CONFIG_FILE_MAX || len > INT32_MAX)
		return -EFBIG;
	if (memchr(json, '\0', len))
		return -EBADMSG;
	json_tokener_reset(tok);
	root = json_tokener_parse_ex(tok, json, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    (size_t)json_tokener_get_parse_end(tok) != len) {
		/* allow trailing white space only */
		size_t end = json_tokener_get_parse_end(tok);

		if (!root ||
		    json_tokener_get_error(tok) != json_tokener_success ||
		    strspn(json + end, " \t\r\n") != len - end) {
			json_object_put(root);
			return -EBADMSG;
		}
	}
	r = vgpu_config_new(&c);
	if (r < 0) {
		json_object_put(root);
		return r;
	}
	r = config_from_object(root, c);
	json_object_put(root);
	if (r < 0) {
		vgpu_config_unref(c);
		return r;
	}
	*ret = c;
	return 0;
}

VGPU_EXPORT int vgpu_config_new_from_json(const char *json, size_t len,
					  struct vgpu_config **ret)
{
	struct json_tokener *tok;
	int r;

	if (!json || !ret)
		return -EINVAL;
	tok = json_tokener_new();
	if (!tok)
		return -ENOMEM;
	r = config_parse(tok, json, len, ret);
	json_tokener_free(tok);
	return r;
}

VGPU_EXPORT int vgpu_config_to_json(struct vgpu_config *config,
				    unsigned int flags, char **ret)
{
	struct jw j;
	int r;

	if (!config || !ret || (flags & ~VGPU_JSON_PRETTY))
		return -EINVAL;
	if (!config->type)
		return -EINVAL;
	r = jw_init(&j, flags & VGPU_JSON_PRETTY);
	if (r < 0)
		return r;
	jw_begin_object(&j);
	jw_member_string(&j, "mdev_type", config->type);
	jw_member_string(&j, "start", config->autostart ? "auto" : "manual");
	jw_key(&j, "attrs");
	jw_begin_array(&j);
	for (size_t i = 0; i < config->n_attrs; i++) {
		jw_begin_object(&j);
		jw_member_string(&j, config->attrs[i].key,
				 config->attrs[i].value);
		jw_end_object(&j);
	}
	jw_end_array(&j);
	jw_end_object(&j);
	return jw_finish(&j, ret);
}

int vgpu_config_read_with(struct vgpu_config_reader *rd, int dirfd,
			  const char *name, struct vgpu_config **ret)
{
	size_t len = 0;
	int fd, r = 0;

	if (!rd->tok) {
		rd->tok = json_tokener_new();
		if (!rd->tok)
			return -ENOMEM;
	}
	fd = openat(dirfd, name,
		    O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n;

		if (len == rd->cap) {
			size_t cap = rd->cap ? rd->cap * 4 : 1024;
			char *grown;

			if (rd->cap >= CONFIG_FILE_MAX) {
				r = -EFBIG;
				break;
			}
			grown = realloc(rd->buf, cap);
			if (!grown) {
				r = -ENOMEM;
				break;
			}
			rd->buf = grown;
			rd->cap = cap;
		}
		n = read(fd, rd->buf + len, rd->cap - len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			r = -errno;
			break;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len < rd->cap)
			break; /* short read of a regular file: its end */
	}
	close(fd);
	if (r == 0)
		r = config_parse(rd->tok, len ? rd->buf : "", len, ret);
	return r;
}

void vgpu_config_reader_clear(struct vgpu_config_reader *rd)
{
	if (rd->tok)
		json_tokener_free(rd->tok);
	free(rd->buf);
	*rd = (struct vgpu_config_reader){ 0 };
}

int vgpu_config_read_at(int dirfd, const char *name, struct vgpu_config **ret)
{
	struct vgpu_config_reader rd = { 0 };
	int r = vgpu_config_read_with(&rd, dirfd, name, ret);

	vgpu_config_reader_clear(&rd);
	return r;
}

int vgpu_config_load_file(struct vgpu_ctx *ctx, int dirfd, const char *name,
			  struct vgpu_config **ret)
{
	int r = vgpu_config_read_at(dirfd, name, ret);

	if (r < 0)
		vgpu_config_warn_unusable(ctx, name, r);
	return r;
}

void vgpu_config_warn_unusable(struct vgpu_ctx *ctx, const char *name, int r)
{
	warn(ctx, "definition %s unusable: %s", name, strerror(-r));
}
