/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the persistent definitions (see definition-scan.h).
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "definition-scan.h"
#include "libvgpu-private.h"
#include "util-sysfs.h"
#include "util-uuid.h"

/* one definition file, as a worker read it */
struct def_file {
	char uuid[VGPU_UUID_LEN + 1];
	char *name; /* the file's name in its parent directory */
	struct vgpu_config *config;
	int r; /* vgpu_config_read_with()'s answer */
};

/* one parent directory of one location */
struct def_parent {
	size_t loc;
	char *name;
	struct def_file *f;
	size_t n;
	int r; /* -ENOMEM when not all of it could be kept */
};

bool vgpu_def_valid_parent_id(const char *id)
{
	return id && *id && strlen(id) < 256 && !strchr(id, '/') &&
	       strcmp(id, ".") && strcmp(id, "..") && id[0] != '.';
}

/* the definition files of one parent directory, read and parsed into
 * memory of its own (run in a worker thread: no context, no log) */
static void read_parent(struct def_scan *scan, struct def_parent *dp)
{
	struct vgpu_config_reader rd = { 0 }; /* one parser for the files */
	const struct dirent64 *de;
	struct vgpu_dir pd;
	size_t cap = 0;

	if (vgpu_dir_open(scan->topfd[dp->loc], dp->name, &pd) < 0)
		return; /* gone, or not a directory: nothing of it */
	while ((de = vgpu_dir_next(&pd))) {
		struct def_file *f;
		char norm[VGPU_UUID_LEN + 1];

		if (vgpu_uuid_normalize(de->d_name, norm) < 0)
			continue;
		if (scan->uuid && strcmp(scan->uuid, norm))
			continue;
		if (vgpu_array_reserve(&dp->f, &cap, dp->n, sizeof(*dp->f), 8) <
		    0) {
			dp->r = -ENOMEM;
			break;
		}
		f = &dp->f[dp->n];
		*f = (struct def_file){ .name = strdup(de->d_name) };
		if (!f->name) {
			dp->r = -ENOMEM;
			break;
		}
		memcpy(f->uuid, norm, sizeof(norm));
		f->r = vgpu_config_read_with(&rd, pd.fd, de->d_name,
					     &f->config);
		dp->n++;
	}
	vgpu_config_reader_clear(&rd);
	vgpu_dir_close(&pd);
}

static void read_parent_step(void *data, size_t i)
{
	struct def_scan *scan = data;

	read_parent(scan, &scan->p[i]);
}

/* the parent directories of location @k (in directory order) */
static int add_location(struct def_scan *scan, const char *parent_id, size_t k)
{
	const struct dirent64 *pe;
	struct vgpu_dir top;
	int r;

	/* directories read with getdents64 directly: a listing reads one per
	 * parent, and fdopendir() adds three system calls to each */
	r = vgpu_dir_open(AT_FDCWD, scan->loc[k].dir, &top);
	if (r < 0)
		return r == -ENOENT ? 0 : r;
	/* keeps the directory open for the workers; closed at the end */
	scan->topfd[k] = top.fd;
	while ((pe = vgpu_dir_next(&top))) {
		char *name;

		if (!vgpu_def_valid_parent_id(pe->d_name))
			continue;
		if (parent_id && strcmp(parent_id, pe->d_name))
			continue;
		if (pe->d_type != DT_DIR && pe->d_type != DT_UNKNOWN)
			continue;
		if (vgpu_array_reserve(&scan->p, &scan->cap, scan->n,
				       sizeof(*scan->p), 64) < 0)
			return -ENOMEM;
		name = strdup(pe->d_name);
		if (!name)
			return -ENOMEM;
		scan->p[scan->n++] =
			(struct def_parent){ .loc = k, .name = name };
	}
	/* the directory's buffer only; the descriptor stays */
	top.fd = -1;
	vgpu_dir_close(&top);
	return 0;
}

/* the definition directories: mdevctl's, then each backend's own */
static int add_locations(struct vgpu_ctx *ctx, struct def_scan *scan)
{
	scan->loc[scan->n_loc++] = (struct def_loc){ ctx->config_dir, NULL };
	for (size_t i = 0; vgpu_backends[i]; i++) {
		char *dir;

		if (!vgpu_backends[i]->config_dir || !vgpu_backend_on(ctx, i))
			continue;
		dir = vgpu_backends[i]->config_dir(ctx);
		if (!dir)
			return -ENOMEM;
		if (!strcmp(dir, ctx->config_dir) ||
		    scan->n_loc == DEF_LOCATIONS_MAX) {
			free(dir);
			continue;
		}
		scan->owned[scan->n_loc] = dir;
		scan->loc[scan->n_loc++] =
			(struct def_loc){ dir, vgpu_backends[i] };
	}
	return 0;
}

static void scan_free(struct def_scan *scan)
{
	for (size_t i = 0; i < scan->n; i++) {
		struct def_parent *dp = &scan->p[i];

		for (size_t j = 0; j < dp->n; j++) {
			free(dp->f[j].name);
			vgpu_config_unref(dp->f[j].config);
		}
		free(dp->f);
		free(dp->name);
	}
	free(scan->p);
	for (size_t k = 0; k < scan->n_loc; k++) {
		if (scan->topfd[k] >= 0)
			close(scan->topfd[k]);
		free(scan->owned[k]);
	}
	memset(scan, 0, sizeof(*scan));
}

int vgpu_def_scan_start(struct vgpu_ctx *ctx, const char *parent_id,
			const char *uuid, struct def_scan *scan)
{
	int r;

	memset(scan, 0, sizeof(*scan));
	for (size_t k = 0; k < DEF_LOCATIONS_MAX; k++)
		scan->topfd[k] = -1;
	/* asked once: most hosts have no QoS directory at all */
	scan->qos = vgpu_qos_def_dir_exists(ctx);
	scan->uuid = uuid;
	r = add_locations(ctx, scan);
	/* an unreadable first location fails the scan, as it always did;
	 * a backend's own directory then goes unread */
	for (size_t k = 0; r >= 0 && k < scan->n_loc; k++)
		r = add_location(scan, parent_id, k);
	if (r < 0) {
		scan_free(scan);
		return r;
	}
	vgpu_enum_start(ctx, &scan->job, scan->n, VGPU_ENUM_MIN_ITEMS,
			read_parent_step, scan);
	return 0;
}

/* the definitions of one parent directory handed to @fn */
static int deliver_parent(struct vgpu_ctx *ctx, struct def_scan *scan,
			  struct def_parent *dp, bool strict, definition_fn fn,
			  void *data)
{
	const struct def_loc *loc = &scan->loc[dp->loc];
	int qfd = -EAGAIN; /* the parent's QoS directory, once */
	int r = dp->r;

	for (size_t j = 0; r >= 0 && j < dp->n; j++) {
		struct def_file *f = &dp->f[j];

		r = f->r;
		if (r < 0)
			vgpu_config_warn_unusable(ctx, f->name, r);
		if (r >= 0 && qfd == -EAGAIN)
			qfd = scan->qos ? vgpu_qos_def_dir_open(ctx, dp->name)
					: -ENOENT;
		if (r >= 0 && vgpu_qos_def_load_at(ctx, qfd, dp->name, f->uuid,
						   f->config) < 0)
			r = -EBADMSG;
		if (r >= 0 && strict && f->config->incomplete)
			r = -EBADMSG;
		if (r < 0) {
			if (strict) {
				err(ctx, "%s/%s/%s: malformed definition",
				    loc->dir, dp->name, f->name);
				r = r == -ENOMEM ? r : -EBADMSG;
				break;
			}
			r = 0;
			continue;
		}
		r = fn(ctx, loc, dp->name, f->uuid, f->config, data);
	}
	if (qfd >= 0)
		close(qfd);
	return r;
}

int vgpu_def_scan_finish(struct vgpu_ctx *ctx, struct def_scan *scan,
			 bool strict, definition_fn fn, void *data)
{
	int r = 0;

	vgpu_enum_finish(&scan->job);
	for (size_t i = 0; fn && r >= 0 && i < scan->n; i++)
		r = deliver_parent(ctx, scan, &scan->p[i], strict, fn, data);
	scan_free(scan);
	return r;
}

int vgpu_def_for_each(struct vgpu_ctx *ctx, const char *parent_id,
		      const char *uuid, bool strict, definition_fn fn,
		      void *data)
{
	struct def_scan scan;
	int r = vgpu_def_scan_start(ctx, parent_id, uuid, &scan);

	return r < 0 ? r : vgpu_def_scan_finish(ctx, &scan, strict, fn, data);
}
