/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * A small streaming JSON writer. Pretty output is laid out like serde_json's
 * pretty printer, which is what mdevctl writes: two-space indent,
 * "key": value, empty containers as {} and [], no trailing newline.
 * Shared by the library and the command line tools (compiled into each).
 */
#ifndef UTIL_JSON_H
#define UTIL_JSON_H

#include <stdbool.h>
#include <stdio.h>

#define JW_MAX_DEPTH 32

struct jw {
	FILE *f;
	char *buf;
	size_t len;
	bool pretty;
	int depth;
	bool has_items[JW_MAX_DEPTH];
	bool after_key;
	int error;
};

int jw_init(struct jw *j, bool pretty);
void jw_begin_object(struct jw *j);
void jw_end_object(struct jw *j);
void jw_begin_array(struct jw *j);
void jw_end_array(struct jw *j);
void jw_key(struct jw *j, const char *key);
void jw_string(struct jw *j, const char *s);
void jw_int(struct jw *j, long long v);
void jw_bool(struct jw *j, bool v);
void jw_null(struct jw *j);
/* a string member, or null when @value is NULL */
void jw_member_string(struct jw *j, const char *key, const char *value);
/* close the stream and hand the text over (malloc'd); -ENOMEM/-EINVAL */
int jw_finish(struct jw *j, char **ret);
void jw_abandon(struct jw *j);

#endif
