/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Quality of service and usage: one set of knobs and counters over every
 * backend. The backends map them to their vendor interfaces (struct
 * vgpu_backend qos_get/qos_set/get_usage); this file holds the names, the
 * ranges, the persistent part and the snapshots.
 *
 * Persistent QoS lives beside the definition, in
 * <config_dir>/../vgpu-qos.d/<parent>/<uuid> (or $VGPU_QOS_CONFIG_DIR),
 * never inside it: mdev definitions are mdevctl's files, which mdevctl and
 * libvirt read and rewrite themselves (a key they do not know is dropped
 * by "mdevctl modify" and by libvirt's define), and whose bytes libvgpu
 * keeps identical to mdevctl's. See docs/qos.md.
 */
#include <errno.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <json-c/json.h>

#include "libvgpu-private.h"
#include "util-file.h"
#include "util-json.h"
#include "util-sysfs.h"
#include "util-uuid.h"

#define QOS_FILE_MAX 4096

static const struct {
	const char *name;
	uint64_t min, max;
} knobs[VGPU_QOS_KNOBS] = {
	[VGPU_QOS_TIME_SLICE_US] = { "time_slice_us", 0, UINT32_MAX },
	[VGPU_QOS_PREEMPT_TIMEOUT_US] = { "preempt_timeout_us", 0, UINT32_MAX },
	[VGPU_QOS_PRIORITY] = { "priority", VGPU_QOS_PRIORITY_LOW,
				VGPU_QOS_PRIORITY_HIGH },
	[VGPU_QOS_WEIGHT] = { "weight", 1, 1000000 },
	[VGPU_QOS_FRAME_RATE_LIMIT] = { "frame_rate_limit", 0, 1000 },
};

static const char *const counters[VGPU_USAGE_COUNTERS] = {
	[VGPU_USAGE_ENGINE_BUSY_NS] = "engine_busy_ns",
	[VGPU_USAGE_WORK_ITEMS] = "work_items",
	[VGPU_USAGE_DMA_BYTES] = "dma_bytes",
	[VGPU_USAGE_INTERRUPTS] = "interrupts",
	[VGPU_USAGE_FB_BYTES] = "fb_bytes",
	[VGPU_USAGE_FRAMES] = "frames",
};

static bool knob_ok(enum vgpu_qos_knob knob)
{
	return (unsigned int)knob < VGPU_QOS_KNOBS;
}

VGPU_EXPORT const char *vgpu_qos_knob_name(enum vgpu_qos_knob knob)
{
	return knob_ok(knob) ? knobs[knob].name : NULL;
}

VGPU_EXPORT int vgpu_qos_knob_from_name(const char *name)
{
	if (!name)
		return -EINVAL;
	for (int i = 0; i < VGPU_QOS_KNOBS; i++)
		if (!strcmp(knobs[i].name, name))
			return i;
	return -EINVAL;
}

VGPU_EXPORT int vgpu_qos_check_value(enum vgpu_qos_knob knob, uint64_t value)
{
	if (!knob_ok(knob))
		return -EINVAL;
	return value < knobs[knob].min || value > knobs[knob].max ? -ERANGE : 0;
}

int vgpu_qos_unsupported(struct vgpu_instance *instance,
			 enum vgpu_qos_knob knob, const char *why)
{
	err(instance->ctx, "%s: the %s backend cannot set %s%s%s",
	    instance->uuid, instance->backend->name, vgpu_qos_knob_name(knob),
	    why ? ": " : "", why ? why : "");
	return -EOPNOTSUPP;
}

int vgpu_parse_size(const char *s, uint64_t *bytes)
{
	unsigned long long v;
	unsigned int shift = 0;
	char *end;

	if (!s || !(*s >= '0' && *s <= '9'))
		return -EINVAL;
	errno = 0;
	v = strtoull(s, &end, 10);
	if (errno)
		return -EINVAL;
	switch (*end) {
	case 'K':
	case 'k':
		shift = 10;
		end++;
		break;
	case 'M':
	case 'm':
		shift = 20;
		end++;
		break;
	case 'G':
	case 'g':
		shift = 30;
		end++;
		break;
	}
	if (shift && (*end == 'B' || *end == 'b'))
		end++;
	if (*end || v > (UINT64_MAX >> shift))
		return -EINVAL;
	*bytes = (uint64_t)v << shift;
	return 0;
}

const char *vgpu_kv_get(const struct vgpu_kv *kv, size_t n, const char *key)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(kv[i].key, key))
			return kv[i].value;
	return NULL;
}

/* ---- definitions ------------------------------------------------------- */

VGPU_EXPORT int vgpu_config_set_qos(struct vgpu_config *config,
				    enum vgpu_qos_knob knob, uint64_t value)
{
	int r;

	if (!config)
		return -EINVAL;
	r = vgpu_qos_check_value(knob, value);
	if (r < 0)
		return r;
	config->qos[knob] = value;
	config->qos_set |= 1u << knob;
	config->qos_touched = true;
	return 0;
}

VGPU_EXPORT int vgpu_config_unset_qos(struct vgpu_config *config,
				      enum vgpu_qos_knob knob)
{
	if (!config || !knob_ok(knob))
		return -EINVAL;
	config->qos[knob] = 0;
	config->qos_set &= ~(1u << knob);
	config->qos_touched = true;
	return 0;
}

VGPU_EXPORT int vgpu_config_get_qos(struct vgpu_config *config,
				    enum vgpu_qos_knob knob, uint64_t *value)
{
	if (!config || !value || !knob_ok(knob))
		return -EINVAL;
	if (!(config->qos_set & (1u << knob)))
		return -ENODATA;
	*value = config->qos[knob];
	return 0;
}

static char *qos_dir(struct vgpu_ctx *ctx)
{
	return vgpu_backend_config_dir(ctx, "VGPU_QOS_CONFIG_DIR",
				       "vgpu-qos.d");
}

/* the file's text: {"knob": number, ...}; unknown knobs (from a newer
 * libvgpu) are refused, since applying a definition partly is worse than
 * not starting it */
static int qos_parse(const char *text, size_t len, struct vgpu_config *c)
{
	struct json_tokener *tok = json_tokener_new();
	json_object *root;
	uint64_t val[VGPU_QOS_KNOBS] = { 0 };
	unsigned int set = 0;
	int r = 0;

	if (!tok)
		return -ENOMEM;
	root = json_tokener_parse_ex(tok, text, (int)len);
	if (!root || json_tokener_get_error(tok) != json_tokener_success ||
	    !json_object_is_type(root, json_type_object)) {
		r = -EBADMSG;
	} else {
		size_t end = json_tokener_get_parse_end(tok);

		if (end > len || strspn(text + end, " \t\r\n") != len - end)
			r = -EBADMSG;
	}
	if (r == 0) {
		json_object_object_foreach(root, key, v)
		{
			int k = vgpu_qos_knob_from_name(key);
			int64_t n;

			if (k < 0 || !json_object_is_type(v, json_type_int)) {
				r = -EBADMSG;
				break;
			}
			errno = 0;
			n = json_object_get_int64(v);
			if (errno || n < 0 ||
			    vgpu_qos_check_value(k, (uint64_t)n) < 0) {
				r = -EBADMSG;
				break;
			}
			val[k] = (uint64_t)n;
			set |= 1u << k;
		}
	}
	json_object_put(root);
	json_tokener_free(tok);
	if (r == 0) {
		memcpy(c->qos, val, sizeof(val));
		c->qos_set = set;
		c->qos_touched = true;
	}
	return r;
}

static int open_parent_dir(struct vgpu_ctx *ctx, const char *parent,
			   bool create, char **path_ret)
{
	char *top = qos_dir(ctx), *path = NULL;
	int fd, r;

	if (!top)
		return -ENOMEM;
	if (asprintf(&path, "%s/%s", top, parent) < 0) {
		free(top);
		return -ENOMEM;
	}
	free(top);
	if (create) {
		r = vgpu_mkdir_p(path, 0755);
		if (r < 0) {
			err(ctx, "cannot create %s: %s", path, strerror(-r));
			free(path);
			return r;
		}
	}
	fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	r = fd < 0 ? -errno : fd;
	if (path_ret)
		*path_ret = path;
	else
		free(path);
	return r;
}

/* the whole file @name (not a symlink, like a definition) into @buf;
 * its length, -EFBIG when it does not fit */
static int read_small(int dirfd, const char *name, char *buf, size_t size)
{
	size_t len = 0;
	int fd = openat(dirfd, name,
			O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);

	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t n = read(fd, buf + len, size - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			int r = -errno;

			close(fd);
			return r;
		}
		if (n == 0)
			break;
		len += (size_t)n;
		if (len == size - 1) {
			close(fd);
			return -EFBIG;
		}
	}
	close(fd);
	buf[len] = '\0';
	return (int)len;
}

bool vgpu_qos_def_dir_exists(struct vgpu_ctx *ctx)
{
	char *top = qos_dir(ctx);
	struct stat st;
	/* without memory, say yes: each parent's directory is then asked */
	bool yes = !top || stat(top, &st) == 0 || errno != ENOENT;

	free(top);
	return yes;
}

int vgpu_qos_def_dir_open(struct vgpu_ctx *ctx, const char *parent)
{
	int fd = open_parent_dir(ctx, parent, false, NULL);

	return fd == -ENOTDIR ? -ENOENT : fd;
}

int vgpu_qos_def_load_at(struct vgpu_ctx *ctx, int dirfd, const char *parent,
			 const char *uuid, struct vgpu_config *config)
{
	char buf[QOS_FILE_MAX], *top;
	int r;

	if (dirfd == -ENOENT)
		return 0;
	r = dirfd < 0 ? dirfd : read_small(dirfd, uuid, buf, sizeof(buf));
	if (r == -ENOENT)
		return 0;
	if (r >= 0)
		r = qos_parse(buf, (size_t)r, config);
	if (r < 0) {
		top = qos_dir(ctx);
		err(ctx, "%s/%s/%s: QoS of the definition unusable: %s",
		    top ? top : "", parent, uuid,
		    strerror(r == -EFBIG ? EBADMSG : -r));
		free(top);
	}
	return r == -EFBIG ? -EBADMSG : r;
}

int vgpu_qos_def_load(struct vgpu_ctx *ctx, const char *parent,
		      const char *uuid, struct vgpu_config *config)
{
	int fd = vgpu_qos_def_dir_open(ctx, parent), r;

	r = vgpu_qos_def_load_at(ctx, fd, parent, uuid, config);
	if (fd >= 0)
		close(fd);
	return r;
}

void vgpu_qos_def_delete(struct vgpu_ctx *ctx, const char *parent,
			 const char *uuid)
{
	int fd = open_parent_dir(ctx, parent, false, NULL);

	if (fd < 0)
		return;
	if (unlinkat(fd, uuid, 0) < 0 && errno != ENOENT)
		warn(ctx, "%s: cannot delete its QoS file: %s", uuid,
		     strerror(errno));
	close(fd);
}

int vgpu_qos_def_store(struct vgpu_ctx *ctx, const char *parent,
		       const char *uuid, struct vgpu_config *config)
{
	struct jw j;
	char *text = NULL, *path = NULL;
	int fd, r;

	if (!config->qos_set) {
		vgpu_qos_def_delete(ctx, parent, uuid);
		return 0;
	}
	r = jw_init(&j, true);
	if (r < 0)
		return r;
	jw_begin_object(&j);
	for (int k = 0; k < VGPU_QOS_KNOBS; k++) {
		if (!(config->qos_set & (1u << k)))
			continue;
		jw_key(&j, knobs[k].name);
		jw_int(&j, (long long)config->qos[k]);
	}
	jw_end_object(&j);
	r = jw_finish(&j, &text);
	if (r < 0)
		return r;
	fd = open_parent_dir(ctx, parent, true, &path);
	if (fd < 0) {
		err(ctx, "%s: cannot store its QoS in %s: %s", uuid,
		    path ? path : "the QoS directory", strerror(-fd));
		free(path);
		free(text);
		return fd;
	}
	r = vgpu_write_file_atomic(fd, uuid, text, strlen(text), true);
	if (r < 0)
		err(ctx, "cannot write %s/%s: %s", path, uuid, strerror(-r));
	close(fd);
	free(path);
	free(text);
	return r;
}

/* ---- instances ---------------------------------------------------------- */

static int set_live(struct vgpu_instance *in, enum vgpu_qos_knob knob,
		    uint64_t value)
{
	int r;

	if (!in->backend->qos_set)
		return vgpu_qos_unsupported(in, knob, "it has no QoS knobs");
	r = in->backend->qos_set(in, knob, value);
	if (r == VGPU_QOS_APPLIED_AT_NEXT_START)
		info(in->ctx,
		     "%s: %s=%llu stored; the %s device applies it at the next VM start",
		     in->uuid, knobs[knob].name, (unsigned long long)value,
		     in->backend->name);
	else if (r < 0 && r != -EOPNOTSUPP)
		err(in->ctx, "%s: setting %s=%llu failed: %s", in->uuid,
		    knobs[knob].name, (unsigned long long)value, strerror(-r));
	return r;
}

int vgpu_qos_apply(struct vgpu_ctx *ctx, struct vgpu_instance *in,
		   struct vgpu_config *config)
{
	for (int k = 0; k < VGPU_QOS_KNOBS; k++) {
		int r, rr;

		if (!(config->qos_set & (1u << k)))
			continue;
		r = set_live(in, k, config->qos[k]);
		if (r >= 0)
			continue;
		err(ctx,
		    "%s: QoS %s=%llu of its definition refused; removing the instance again",
		    in->uuid, knobs[k].name,
		    (unsigned long long)config->qos[k]);
		rr = in->backend->remove(in);
		if (rr < 0)
			err(ctx, "%s: removing it failed too: %s", in->uuid,
			    strerror(-rr));
		return r;
	}
	return 0;
}

VGPU_EXPORT int vgpu_instance_set_qos(struct vgpu_instance *instance,
				      enum vgpu_qos_knob knob, uint64_t value,
				      unsigned int flags)
{
	bool live, persist;
	int r, result = 0;

	if (!instance || (flags & ~(VGPU_QOS_LIVE | VGPU_QOS_CONFIG)))
		return -EINVAL;
	r = vgpu_qos_check_value(knob, value);
	if (r < 0) {
		if (r == -ERANGE)
			err(instance->ctx,
			    "%s: %s=%llu is out of range (%llu to %llu)",
			    instance->uuid, knobs[knob].name,
			    (unsigned long long)value,
			    (unsigned long long)knobs[knob].min,
			    (unsigned long long)knobs[knob].max);
		return r;
	}
	live = flags ? flags & VGPU_QOS_LIVE : instance->active;
	persist = flags ? flags & VGPU_QOS_CONFIG : instance->config != NULL;
	if ((live && !instance->active) || (persist && !instance->config) ||
	    (!live && !persist))
		return -ENOENT;
	if (live) {
		result = set_live(instance, knob, value);
		if (result < 0)
			return result;
	}
	if (persist) {
		struct vgpu_config *c = instance->config;
		uint64_t old = c->qos[knob];
		unsigned int old_set = c->qos_set;
		bool old_touched = c->qos_touched;

		vgpu_config_set_qos(c, knob, value);
		r = vgpu_qos_def_store(instance->ctx, instance->parent_id,
				       instance->uuid, c);
		if (r < 0) {
			c->qos[knob] = old;
			c->qos_set = old_set;
			c->qos_touched = old_touched;
			return r;
		}
	}
	return result;
}

VGPU_EXPORT int vgpu_instance_get_qos(struct vgpu_instance *instance,
				      enum vgpu_qos_knob knob,
				      unsigned int flags, uint64_t *value,
				      unsigned int *state)
{
	unsigned int st = 0;
	int r;

	if (!instance || !value || !knob_ok(knob) ||
	    (flags & ~(VGPU_QOS_LIVE | VGPU_QOS_CONFIG)) ||
	    flags == (VGPU_QOS_LIVE | VGPU_QOS_CONFIG))
		return -EINVAL;
	if (state)
		*state = 0;
	if (flags == VGPU_QOS_LIVE || (!flags && instance->active)) {
		if (!instance->active)
			return -ENOENT;
		if (!instance->backend->qos_get)
			return -EOPNOTSUPP;
		r = instance->backend->qos_get(instance, knob, value, &st);
		if (r == 0 && state)
			*state = st;
		return r;
	}
	if (!instance->config)
		return -ENOENT;
	r = vgpu_config_get_qos(instance->config, knob, value);
	if (r == 0 && state)
		*state = VGPU_QOS_STATE_DEFINED;
	return r;
}

/* ---- usage ------------------------------------------------------------- */

VGPU_EXPORT const char *vgpu_usage_counter_name(enum vgpu_usage_counter counter)
{
	return (unsigned int)counter < VGPU_USAGE_COUNTERS ? counters[counter]
							   : NULL;
}

void vgpu_usage_set(struct vgpu_usage *usage, enum vgpu_usage_counter counter,
		    uint64_t value)
{
	if ((unsigned int)counter >= VGPU_USAGE_COUNTERS)
		return;
	usage->value[counter] = value;
	usage->reported |= 1u << counter;
}

VGPU_EXPORT int vgpu_instance_get_usage(struct vgpu_instance *instance,
					struct vgpu_usage **ret)
{
	struct vgpu_usage *u;
	struct timespec ts;
	int r = 0;

	if (!instance || !ret)
		return -EINVAL;
	*ret = NULL;
	if (!instance->active)
		return -ENOENT;
	u = calloc(1, sizeof(*u));
	if (!u)
		return -ENOMEM;
	u->refcount = 1;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	u->timestamp = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	if (instance->backend->get_usage)
		r = instance->backend->get_usage(instance, u);
	if (r < 0) {
		err(instance->ctx, "%s: reading its usage failed: %s",
		    instance->uuid, strerror(-r));
		free(u);
		return r;
	}
	*ret = u;
	return 0;
}

VGPU_EXPORT struct vgpu_usage *vgpu_usage_ref(struct vgpu_usage *usage)
{
	if (usage)
		usage->refcount++;
	return usage;
}

VGPU_EXPORT struct vgpu_usage *vgpu_usage_unref(struct vgpu_usage *usage)
{
	if (!usage)
		return NULL;
	if (--usage->refcount > 0)
		return usage;
	free(usage);
	return NULL;
}

VGPU_EXPORT int vgpu_usage_get(struct vgpu_usage *usage,
			       enum vgpu_usage_counter counter, uint64_t *value)
{
	if (!usage || !value || (unsigned int)counter >= VGPU_USAGE_COUNTERS)
		return -EINVAL;
	if (!(usage->reported & (1u << counter)))
		return -ENODATA;
	*value = usage->value[counter];
	return 0;
}

VGPU_EXPORT uint64_t vgpu_usage_get_timestamp(struct vgpu_usage *usage)
{
	return usage ? usage->timestamp : 0;
}
