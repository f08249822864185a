/* SPDX-License-Identifier: LGPL-2.1-or-later */
/* vgpuctl's JSON documents (vgpuctl-json.c, docs/json-schema.md). */
#ifndef VGPUCTL_JSON_H
#define VGPUCTL_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <libvgpu.h>

#include "util-json.h"
#include "vgpuctl.h"

/* the "version" of every document; raised when a member changes meaning
 * or goes away (new members do not raise it) */
#define VGPUCTL_JSON_VERSION 1

/* "{ "version": N" ... "}" and print it */
void json_doc_begin(struct jw *j, bool pretty);
void json_doc_end(struct jw *j);
/* now, as RFC 3339 UTC with milliseconds: 2026-12-01T14:49:34.123Z */
void json_time_now(char *buf, size_t size);

void json_parent(struct jw *j, struct vgpu_parent *p);
void json_type(struct jw *j, struct vgpu_type *t);
/* @in_use: 1/0 when known, < 0 for null */
void json_instance(struct jw *j, struct vgpu_instance *in, int in_use);
/* "parents"/"types"/"instances": [ ... ] members of a document */
void json_member_parents(struct jw *j, struct vgpu_parent **list, size_t n);
void json_member_types(struct jw *j, struct vgpu_type **list, size_t n);
void json_member_instances(struct jw *j, struct vgpu_instance **list, size_t n);
/* a whole document with one instance */
void json_print_instance(struct vgpu_instance *in, int in_use);
const char *json_event_name(enum vgpu_event_type t);
void json_event(struct jw *j, struct vgpu_event *e, const char *time);

/*
 * What a listing left out: the parents that could not be asked (a provider
 * that does not answer, or refuses us). The document's "errors" member;
 * each one is also printed on stderr.
 */
struct json_error {
	char *backend;
	char *parent;
	int error; /* negative errno */
	char *message;
};
struct json_errors {
	struct vgpu_ctx *ctx;
	struct json_error *e;
	size_t n;
};
/* let the listings of @ctx leave out the parents that cannot be asked,
 * noting them in @errs (vgpu_ctx_set_unreachable_fn()) */
void json_errors_watch(struct vgpu_ctx *ctx, struct json_errors *errs);
/* note one (once for each backend and parent); @message NULL: a text
 * made from @error */
void json_errors_add(struct json_errors *errs, const char *backend,
		     const char *parent, int error, const char *message);
/* whether parent @id is among them */
bool json_errors_has(const struct json_errors *errs, const char *id);
/* "errors": [ ... ] */
void json_member_errors(struct jw *j, const struct json_errors *errs);
/* print each on stderr, stop watching and forget them: EXIT_PARTIAL when
 * there were any, else 0 */
int json_errors_finish(struct json_errors *errs);
/* the same without printing them (the caller showed them its own way) */
int json_errors_forget(struct json_errors *errs);
/* the symbolic name of a negative errno ("ETIMEDOUT") */
const char *json_errno_name(int error);

#endif
