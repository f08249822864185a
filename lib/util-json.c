/* SPDX-License-Identifier: LGPL-2.1-or-later */
#include <errno.h>
#include <stdlib.h>

#include "util-json.h"

int jw_init(struct jw *j, bool pretty)
{
	*j = (struct jw){ .pretty = pretty };
	j->f = open_memstream(&j->buf, &j->len);
	return j->f ? 0 : -ENOMEM;
}

static void newline_indent(struct jw *j)
{
	if (!j->pretty)
		return;
	fputc('\n', j->f);
	for (int i = 0; i < j->depth; i++)
		fputs("  ", j->f);
}

/* separator and indentation before a value or a key */
static void before_item(struct jw *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth == 0)
		return;
	if (j->has_items[j->depth])
		fputc(',', j->f);
	j->has_items[j->depth] = true;
	newline_indent(j);
}

static void open_container(struct jw *j, char c)
{
	before_item(j);
	fputc(c, j->f);
	if (j->depth + 1 >= JW_MAX_DEPTH) {
		j->error = -E2BIG;
		return;
	}
	j->depth++;
	j->has_items[j->depth] = false;
}

static void close_container(struct jw *j, char c)
{
	bool had = j->has_items[j->depth];

	if (j->depth == 0) {
		j->error = -EINVAL;
		return;
	}
	j->depth--;
	if (had)
		newline_indent(j);
	fputc(c, j->f);
}

void jw_begin_object(struct jw *j)
{
	open_container(j, '{');
}

void jw_end_object(struct jw *j)
{
	close_container(j, '}');
}

void jw_begin_array(struct jw *j)
{
	open_container(j, '[');
}

void jw_end_array(struct jw *j)
{
	close_container(j, ']');
}

static void put_escaped(FILE *f, const char *s)
{
	fputc('"', f);
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		switch (*p) {
		case '"':
			fputs("\\\"", f);
			break;
		case '\\':
			fputs("\\\\", f);
			break;
		case '\n':
			fputs("\\n", f);
			break;
		case '\r':
			fputs("\\r", f);
			break;
		case '\t':
			fputs("\\t", f);
			break;
		case '\b':
			fputs("\\b", f);
			break;
		case '\f':
			fputs("\\f", f);
			break;
		default:
			if (*p < 0x20)
				fprintf(f, "\\u%04x", *p);
			else
				fputc(*p, f);
		}
	}
	fputc('"', f);
}

void jw_key(struct jw *j, const char *key)
{
	before_item(j);
	put_escaped(j->f, key);
	fputs(j->pretty ? ": " : ":", j->f);
	j->after_key = true;
}

void jw_string(struct jw *j, const char *s)
{
	before_item(j);
	put_escaped(j->f, s);
}

void jw_int(struct jw *j, long long v)
{
	before_item(j);
	fprintf(j->f, "%lld", v);
}

void jw_bool(struct jw *j, bool v)
{
	before_item(j);
	fputs(v ? "true" : "false", j->f);
}

void jw_null(struct jw *j)
{
	before_item(j);
	fputs("null", j->f);
}

void jw_member_string(struct jw *j, const char *key, const char *value)
{
	jw_key(j, key);
	if (value)
		jw_string(j, value);
	else
		jw_null(j);
}

int jw_finish(struct jw *j, char **ret)
{
	int r = j->error;

	if (!r && j->depth)
		r = -EINVAL;
	if (fclose(j->f) != 0 && !r)
		r = -ENOMEM;
	j->f = NULL;
	if (r < 0) {
		free(j->buf);
		j->buf = NULL;
		return r;
	}
	*ret = j->buf;
	j->buf = NULL;
	return 0;
}

void jw_abandon(struct jw *j)
{
	if (j->f)
		fclose(j->f);
	free(j->buf);
	j->f = NULL;
	j->buf = NULL;
}
