/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdevctl's callout and notifier scripts (1.4's, or 1.2's), for the mdevctl
 * personality. See mdevctl-callouts.c and docs/mdevctl-compat.md.
 */
#ifndef VGPUCTL_MDEVCTL_CALLOUTS_H
#define VGPUCTL_MDEVCTL_CALLOUTS_H

#include <stdbool.h>

#include <json-c/json.h>

/* where the scripts are (NULL: none) */
struct callout_env {
	const char *lib_callouts, *callouts; /* asked in this order */
	const char *lib_notifiers, *notifiers;
	/* 1.2's rules: directory order (not sorted), no versioned scripts,
	 * the device on every script's stdin but get's, 1.2's wording */
	bool v12;
};

struct callout_dev {
	const char *uuid, *parent, *type;
};

/* one device's conversation with its script */
struct callout {
	const struct callout_env *env;
	struct callout_dev dev;
	const char *state;     /* "none", "success", "failure" */
	char *script;	       /* the device's script, once known */
	bool versioned;	       /* it answered "-e get -a capabilities" */
	json_object *supports; /* then what it supports (cached) */
};

/* find the device's versioned script, if any (asked once per process) */
void callout_init(struct callout *c, const struct callout_env *env,
		  const struct callout_dev *dev);
void callout_fini(struct callout *c);

/*
 * callout_call - ask the device's script (or the first that does not exit
 * with 2) about @event/@action, @in on its stdin; its stdout into *@out
 * (malloc'd) when @out. Returns 0 (also when no script answers), or a
 * negative errno with mdevctl's wording of the failure in *@why.
 */
int callout_call(struct callout *c, const char *event, const char *action,
		 const char *in, char **out, char **why);

/*
 * callout_get_attributes - ask for the running device's attributes as
 * mdevctl does (1.4: the versioned script, or the first that answers; the
 * one that answered is then the device's script). *@out is the script's
 * stdout, NULL when no script answered. Returns 0, or a negative errno
 * with mdevctl's wording in *@why.
 */
int callout_get_attributes(struct callout *c, char **out, char **why);

/* tell every notifier script (errors are ignored, as mdevctl does); @in is
 * the device's JSON, which 1.2 hands to notifiers as well */
void callout_notify(struct callout *c, const char *action, const char *in);

/* provided by the personality: a warning in env_logger's format, and a
 * path as Rust's {:?} prints it (a static buffer) */
void mdevctl_warn(const char *module, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
const char *mdevctl_quote_path(const char *path);

#endif
