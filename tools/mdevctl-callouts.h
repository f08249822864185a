/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdevctl 1.4's callout and notifier scripts, for the mdevctl personality.
 * See mdevctl-callouts.c and docs/mdevctl-compat.md.
 */
#ifndef VGPUCTL_MDEVCTL_CALLOUTS_H
#define VGPUCTL_MDEVCTL_CALLOUTS_H

#include <stdbool.h>

#include <json-c/json.h>

/* where the scripts are (NULL: none) */
struct callout_env {
	const char *lib_callouts, *callouts; /* asked in this order */
	const char *lib_notifiers, *notifiers;
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

/* tell every notifier script (errors are ignored, as mdevctl does) */
void callout_notify(struct callout *c, const char *action);

#endif
