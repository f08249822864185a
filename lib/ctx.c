/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pci/pci.h>

#include "enum-parallel.h"
#include "libvgpu-private.h"
#include "util-sysfs.h"

static void log_stderr(struct vgpu_ctx *ctx, int priority, const char *file,
		       int line, const char *fn, const char *format,
		       va_list args, void *userdata)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)fn; /* a user reads what failed, not where in the library */
	(void)userdata;
	fprintf(stderr, "libvgpu: %s",
		priority <= LOG_ERR	  ? ""
		: priority == LOG_WARNING ? "warning: "
		: priority >= LOG_DEBUG	  ? "debug: "
					  : "");
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

void vgpu_log(struct vgpu_ctx *ctx, int priority, const char *file, int line,
	      const char *fn, const char *format, ...)
{
	va_list args;

	if (!ctx->log_fn)
		return;
	va_start(args, format);
	ctx->log_fn(ctx, priority, file, line, fn, format, args, ctx->log_data);
	va_end(args);
}

static int log_priority_from_string(const char *s)
{
	static const struct {
		const char *name;
		int prio;
	} names[] = {
		{ "err", LOG_ERR },	    { "error", LOG_ERR },
		{ "warning", LOG_WARNING }, { "warn", LOG_WARNING },
		{ "notice", LOG_NOTICE },   { "info", LOG_INFO },
		{ "debug", LOG_DEBUG },
	};
	long v;

	if (vgpu_parse_long(s, 10, 0, 7, &v) == 0)
		return (int)v;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (!strcasecmp(s, names[i].name))
			return names[i].prio;
	return -EINVAL;
}

static int set_dir(char **slot, const char *path)
{
	char *copy;
	size_t len;

	if (!path || path[0] != '/')
		return -EINVAL;
	copy = strdup(path);
	if (!copy)
		return -ENOMEM;
	/* keep "/" as is, drop other trailing slashes */
	len = strlen(copy);
	while (len > 1 && copy[len - 1] == '/')
		copy[--len] = '\0';
	free(*slot);
	*slot = copy;
	return 0;
}

VGPU_EXPORT int vgpu_ctx_new(struct vgpu_ctx **ret)
{
	static const struct {
		const char *env;
		size_t offset;
		const char *def;
	} dirs[] = {
		{ "VGPU_SYSFS_ROOT", offsetof(struct vgpu_ctx, sysfs_root),
		  "/sys" },
		{ "VGPU_CONFIG_DIR", offsetof(struct vgpu_ctx, config_dir),
		  "/etc/mdevctl.d" },
		{ "VGPU_RUNTIME_DIR", offsetof(struct vgpu_ctx, runtime_dir),
		  "/run/vgpu" },
	};
	struct vgpu_ctx *ctx;
	const char *env;

	if (!ret)
		return -EINVAL;
	ctx = calloc(1, sizeof(*ctx));
	if (!ctx)
		return -ENOMEM;
	ctx->refcount = 1;
	ctx->log_fn = log_stderr;
	ctx->log_priority = LOG_ERR;
	env = secure_getenv("VGPU_LOG");
	if (env && log_priority_from_string(env) >= 0)
		ctx->log_priority = log_priority_from_string(env);
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		char **slot = (char **)((char *)ctx + dirs[i].offset);

		env = secure_getenv(dirs[i].env);
		if (env && *env && set_dir(slot, env) == 0)
			continue;
		if (env && *env)
			err(ctx, "ignoring %s=%s: not an absolute path",
			    dirs[i].env, env);
		if (set_dir(slot, dirs[i].def) < 0) {
			vgpu_ctx_unref(ctx);
			return -ENOMEM;
		}
	}
	dbg(ctx, "context %p: sysfs %s, config %s, runtime %s", (void *)ctx,
	    ctx->sysfs_root, ctx->config_dir, ctx->runtime_dir);
	*ret = ctx;
	return 0;
}

VGPU_EXPORT struct vgpu_ctx *vgpu_ctx_ref(struct vgpu_ctx *ctx)
{
	if (ctx)
		ctx->refcount++;
	return ctx;
}

VGPU_EXPORT struct vgpu_ctx *vgpu_ctx_unref(struct vgpu_ctx *ctx)
{
	if (!ctx)
		return NULL;
	if (--ctx->refcount > 0)
		return ctx;
	vgpu_enum_pool_free(ctx->enum_pool);
	if (ctx->pacc)
		pci_cleanup(ctx->pacc);
	free(ctx->sysfs_root);
	free(ctx->config_dir);
	free(ctx->runtime_dir);
	free(ctx);
	return NULL;
}

int vgpu_ctx_leave_out(struct vgpu_ctx *ctx, const struct vgpu_backend *backend,
		       const char *id, int r)
{
	char *copy;

	if (r >= 0 || r == -ENOMEM || !ctx->unreachable_fn)
		return r;
	/* an instance listing leaves out the parent's definitions too */
	if (ctx->left_out) {
		copy = strdup(id);
		if (!copy || vgpu_vec_push(ctx->left_out, copy) < 0) {
			free(copy);
			return -ENOMEM;
		}
	}
	ctx->unreachable_fn(ctx, backend->name, id, r, ctx->unreachable_data);
	return 0;
}

VGPU_EXPORT void vgpu_ctx_set_log_fn(struct vgpu_ctx *ctx, vgpu_log_fn fn,
				     void *userdata)
{
	if (!ctx)
		return;
	ctx->log_fn = fn;
	ctx->log_data = userdata;
}

VGPU_EXPORT void vgpu_ctx_set_unreachable_fn(struct vgpu_ctx *ctx,
					     vgpu_unreachable_fn fn,
					     void *userdata)
{
	if (!ctx)
		return;
	ctx->unreachable_fn = fn;
	ctx->unreachable_data = userdata;
}

VGPU_EXPORT void vgpu_ctx_set_log_priority(struct vgpu_ctx *ctx, int priority)
{
	if (ctx)
		ctx->log_priority = priority;
}

VGPU_EXPORT int vgpu_ctx_get_log_priority(struct vgpu_ctx *ctx)
{
	return ctx ? ctx->log_priority : -EINVAL;
}

VGPU_EXPORT void vgpu_ctx_set_userdata(struct vgpu_ctx *ctx, void *userdata)
{
	if (ctx)
		ctx->userdata = userdata;
}

VGPU_EXPORT void *vgpu_ctx_get_userdata(struct vgpu_ctx *ctx)
{
	return ctx ? ctx->userdata : NULL;
}

VGPU_EXPORT int vgpu_ctx_set_sysfs_root(struct vgpu_ctx *ctx, const char *path)
{
	return ctx ? set_dir(&ctx->sysfs_root, path) : -EINVAL;
}

VGPU_EXPORT const char *vgpu_ctx_get_sysfs_root(struct vgpu_ctx *ctx)
{
	return ctx ? ctx->sysfs_root : NULL;
}

VGPU_EXPORT int vgpu_ctx_set_config_dir(struct vgpu_ctx *ctx, const char *path)
{
	return ctx ? set_dir(&ctx->config_dir, path) : -EINVAL;
}

VGPU_EXPORT const char *vgpu_ctx_get_config_dir(struct vgpu_ctx *ctx)
{
	return ctx ? ctx->config_dir : NULL;
}

VGPU_EXPORT int vgpu_ctx_set_runtime_dir(struct vgpu_ctx *ctx, const char *path)
{
	return ctx ? set_dir(&ctx->runtime_dir, path) : -EINVAL;
}

VGPU_EXPORT const char *vgpu_ctx_get_runtime_dir(struct vgpu_ctx *ctx)
{
	return ctx ? ctx->runtime_dir : NULL;
}

VGPU_EXPORT int vgpu_ctx_set_backends(struct vgpu_ctx *ctx, const char *names)
{
	unsigned int on = 0;
	const char *p = names;

	if (!ctx)
		return -EINVAL;
	if (!names) {
		ctx->backends_off = 0;
		return 0;
	}
	while (*p) {
		size_t len = strcspn(p, ",");
		size_t i;

		for (i = 0; vgpu_backends[i]; i++)
			if (strlen(vgpu_backends[i]->name) == len &&
			    !strncmp(vgpu_backends[i]->name, p, len))
				break;
		if (!vgpu_backends[i]) {
			err(ctx,
			    "no backend \"%.*s\" (backends: mdev, sriov, vfio-user)",
			    (int)(len > 64 ? 64 : len), p);
			return -EINVAL;
		}
		on |= 1u << i;
		p += len;
		if (*p == ',' && *++p == '\0')
			return -EINVAL;
	}
	if (!on)
		return -EINVAL;
	ctx->backends_off = ~on;
	return 0;
}

char *vgpu_backend_config_dir(struct vgpu_ctx *ctx, const char *env_name,
			      const char *dir_name)
{
	const char *env = secure_getenv(env_name);
	const char *slash;
	char *dir;

	if (env && env[0] == '/')
		return strdup(env);
	slash = strrchr(ctx->config_dir, '/');
	if (asprintf(&dir, "%.*s/%s",
		     (int)(slash ? slash - ctx->config_dir : 0),
		     ctx->config_dir, dir_name) < 0)
		return NULL;
	return dir;
}
