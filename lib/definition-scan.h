/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * Reading the persistent definitions: mdevctl's directory
 * (ctx->config_dir, <dir>/<parent>/<uuid>) and the own directory of every
 * backend that has one.  A scan is started before the caller does other
 * work (a listing reads the active instances meanwhile): on a host with
 * many parents the definition files are read and parsed by worker threads
 * (enum-parallel.h), and vgpu_def_scan_finish() then hands them to the
 * caller one by one, in directory order, from the calling thread, with the
 * warnings and errors a sequential reading gives.
 */
#ifndef DEFINITION_SCAN_H
#define DEFINITION_SCAN_H

#include <stdbool.h>
#include <stddef.h>

#include "enum-parallel.h"

struct vgpu_ctx;
struct vgpu_config;
struct vgpu_backend;

/* where a definition was found */
struct def_loc {
	const char *dir;
	const struct vgpu_backend *backend; /* NULL: the parent's backend */
};

typedef int (*definition_fn)(struct vgpu_ctx *ctx, const struct def_loc *loc,
			     const char *parent, const char *uuid,
			     struct vgpu_config *config, void *data);

/* mdevctl's directory and each backend's own, at most */
#define DEF_LOCATIONS_MAX 8

/* one scan under way; its fields are the scan's own */
struct def_scan {
	struct def_loc loc[DEF_LOCATIONS_MAX];
	char *owned
		[DEF_LOCATIONS_MAX]; /* the directories of loc[] that the scan allocated */
	int topfd[DEF_LOCATIONS_MAX];
	size_t n_loc;
	struct def_parent *p; /* every parent directory of every location */
	size_t n, cap;
	const char *uuid; /* only this UUID's files (normalized), or NULL */
	bool qos;	  /* whether a QoS directory may exist (asked once) */
	struct vgpu_enum_job job;
};

/* a parent ID that can name a directory of its own */
bool vgpu_def_valid_parent_id(const char *id);

/* start reading the definitions (of @parent_id, of @uuid, when given);
 * on failure nothing is left to finish */
int vgpu_def_scan_start(struct vgpu_ctx *ctx, const char *parent_id,
			const char *uuid, struct def_scan *scan);

/* wait for the reading, then call @fn for every definition (a malformed
 * one is skipped with a warning, or with @strict ends the scan with
 * -EBADMSG) until @fn fails; @fn NULL: only free.  Returns @fn's error,
 * -EBADMSG or -ENOMEM, else 0. */
int vgpu_def_scan_finish(struct vgpu_ctx *ctx, struct def_scan *scan,
			 bool strict, definition_fn fn, void *data);

/* both: visit every definition */
int vgpu_def_for_each(struct vgpu_ctx *ctx, const char *parent_id,
		      const char *uuid, bool strict, definition_fn fn,
		      void *data);

#endif
