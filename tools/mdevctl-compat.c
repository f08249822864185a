/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdevctl personality of vgpuctl.
 *
 * Reproduces the command line, output formats, exit codes and effects of
 * mdevctl 1.4, or 1.2 where a host pins it (see docs/mdevctl-compat.md), on
 * top of the public libvgpu API only.  Layout:
 *   - small utilities (dynamic strings, error reporting, UUID syntax)
 *   - a JSON emitter printing like serde_json's pretty printer
 *   - one option table and one command table; a shared parser that checks
 *     required / conflicting / dependent options the way clap reports them
 *   - device collection on top of vgpu_instance_list()
 *   - one function per command
 */
#ifndef _GNU_SOURCE
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#endif
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include <libvgpu.h>

#include "cli.h"
#include "mdevctl-callouts.h"
#include "mdevctl-compat.h"

/* ------------------------------------------------------------------------ */
/* Dynamic strings                                                           */
/* ------------------------------------------------------------------------ */

struct buf {
	char *s;
	size_t len, cap;
};

static void buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		size_t cap = b->cap ? b->cap : 256;

		while (cap < b->len + n + 1)
			cap *= 2;
		b->s = realloc(b->s, cap);
		if (!b->s) {
			fputs("out of memory\n", stderr);
			exit(1);
		}
		b->cap = cap;
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = '\0';
}

static void buf_puts(struct buf *b, const char *s)
{
	buf_add(b, s, strlen(s));
}

static void buf_printf(struct buf *b, const char *fmt, ...)
{
	char *s;
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (n < 0) {
		fputs("out of memory\n", stderr);
		exit(1);
	}
	buf_add(b, s, (size_t)n);
	free(s);
}

/* ------------------------------------------------------------------------ */
/* Errors, in the shape mdevctl (anyhow) prints them                         */
/* ------------------------------------------------------------------------ */

/* a warning from mdevctl's module @module (mdevctl-callouts.h) */
#define warn_in	  mdevctl_warn
#define warn(...) warn_in("mdevctl", __VA_ARGS__)

/* start-parent-mdevs logs failures as warnings instead of failing */
static bool errors_as_warnings;

/* which mdevctl to be: 1.4 (today's), or 1.2 where a host pins it */
static bool compat_12;
/* whether any callout script exists (listings ask none otherwise) */
static bool callouts_present;
#define COMPAT_CONFIG_FILE "/etc/vgpu/vgpuctl.conf"

/*
 * Listings end differently: 1.2 prints a newline after the whole text (a
 * blank line after text listings, a newline after --dumpjson), 1.4 only
 * what it lists.
 */
static void print_listing(const char *text)
{
	fputs(text ? text : "", stdout);
	if (compat_12)
		fputc('\n', stdout);
}

/*
 * Where errors go: stderr, or (while an operation runs between its callout
 * scripts) a buffer printed after the post and notify scripts, where
 * mdevctl prints the error it returns.
 */
static FILE *errf;

static void warn_to(FILE *f, const char *module, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* "Error: <msg>\n" and, with a negative errno cause, the "Caused by" part */
static int fail_errno(int neg_errno, const char *fmt, ...)
{
	FILE *f = errf ? errf : stderr;
	va_list ap;

	if (errors_as_warnings) {
		char *msg;

		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) >= 0) {
			warn_to(f, "mdevctl", "%s", msg);
			free(msg);
		}
		va_end(ap);
		if (neg_errno)
			warn_to(f, "mdevctl", "%s (os error %d)",
				strerror(-neg_errno), -neg_errno);
		return 1;
	}
	fputs("Error: ", f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
	if (neg_errno)
		fprintf(f, "\nCaused by:\n    %s (os error %d)\n",
			strerror(-neg_errno), -neg_errno);
	return 1;
}

#define fail(...) fail_errno(0, __VA_ARGS__)

/* an OS error with no context: "Error: <strerror> (os error N)" */
static int fail_os(int neg_errno)
{
	return fail("%s (os error %d)", strerror(-neg_errno), -neg_errno);
}

static bool warnings_enabled(void)
{
	const char *l = getenv("MDEVCTL_LOG");

	return !l ||
	       !(strcasecmp(l, "off") == 0 || strcasecmp(l, "error") == 0);
}

/* env_logger's default line: "[<UTC time>Z WARN  <module>] <msg>" */
static void vwarn_to(FILE *f, const char *module, const char *fmt, va_list ap)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;

	if (!warnings_enabled())
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(f, "[%s WARN  %s] ", ts, module);
	vfprintf(f, fmt, ap);
	fputc('\n', f);
}

static void warn_to(FILE *f, const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_to(f, module, fmt, ap);
	va_end(ap);
}

void mdevctl_warn(const char *module, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vwarn_to(stderr, module, fmt, ap);
	va_end(ap);
}

/* Rust's {:?} of a path: double quoted, '"' and '\\' escaped */
static const char *quote_path(const char *path)
{
	static struct buf b;

	b.len = 0;
	buf_puts(&b, "\"");
	for (const char *p = path; *p; p++) {
		if (*p == '"' || *p == '\\')
			buf_add(&b, "\\", 1);
		buf_add(&b, p, 1);
	}
	buf_puts(&b, "\"");
	return b.s;
}

const char *mdevctl_quote_path(const char *path)
{
	return quote_path(path);
}

/* ------------------------------------------------------------------------ */
/* UUID syntax, as accepted (and rejected) by the uuid crate mdevctl uses    */
/* ------------------------------------------------------------------------ */

/*
 * Parse @s (simple, hyphenated, {braced} or urn:uuid: form) into the
 * lower-case hyphenated @out. On failure write the reason to @err.
 */
static bool uuid_parse(const char *s, char out[37], struct buf *err)
{
	static const int group_len[5] = { 8, 4, 4, 4, 12 };
	size_t len = strlen(s), off = 0;
	const char *body = s;
	int groups = 1, glen[8] = { 0 }, hex = 0;

	/* the common case, sysfs' and the definitions' own names: a
	 * lower-case hyphenated UUID is copied as it is */
	if (len == 36) {
		size_t i;

		for (i = 0; i < 36; i++) {
			char c = s[i];

			if (i == 8 || i == 13 || i == 18 || i == 23
				    ? c != '-'
				    : !((c >= '0' && c <= '9') ||
					(c >= 'a' && c <= 'f')))
				break;
		}
		if (i == 36) {
			memcpy(out, s, 37);
			return true;
		}
	}
	if (len >= 9 && strncmp(s, "urn:uuid:", 9) == 0)
		off = 9;
	else if (len >= 2 && s[0] == '{' && s[len - 1] == '}')
		off = 1;
	body = s + off;
	len -= off + (off == 1);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)body[i];

		if (c == '-') {
			if (groups < 8)
				glen[groups] = 0;
			groups++;
			continue;
		}
		if (!isxdigit(c)) {
			buf_printf(
				err,
				"invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-zA-Z], found `%c` at %zu",
				c, off + i + 1);
			return false;
		}
		if (groups <= 8)
			glen[groups - 1]++;
		if (hex < 32)
			out[hex + (hex >= 8) + (hex >= 12) + (hex >= 16) +
			    (hex >= 20)] = (char)tolower(c);
		hex++;
	}
	if (groups == 1) {
		if (len != 32) {
			buf_printf(
				err,
				"invalid length: expected length 32 for simple format, found %zu",
				len);
			return false;
		}
	} else if (groups != 5) {
		buf_printf(err, "invalid group count: expected 5, found %d",
			   groups);
		return false;
	} else {
		for (int g = 0; g < 5; g++)
			if (glen[g] != group_len[g]) {
				buf_printf(
					err,
					"invalid group length in group %d: expected %d, found %d",
					g, group_len[g], glen[g]);
				return false;
			}
	}
	out[8] = out[13] = out[18] = out[23] = '-';
	out[36] = '\0';
	return true;
}

/* ------------------------------------------------------------------------ */
/* JSON output, byte-compatible with serde_json::to_string_pretty            */
/* ------------------------------------------------------------------------ */

struct json {
	struct buf out;
	int depth;
	bool has_items[16];
	bool after_key;
};

static void json_indent(struct json *j, int depth)
{
	buf_puts(&j->out, "\n");
	for (int i = 0; i < depth; i++)
		buf_puts(&j->out, "  ");
}

/* called before every value or key */
static void json_item(struct json *j)
{
	if (j->after_key) {
		j->after_key = false;
		return;
	}
	if (j->depth > 0) {
		if (j->has_items[j->depth])
			buf_puts(&j->out, ",");
		json_indent(j, j->depth);
		j->has_items[j->depth] = true;
	}
}

static void json_string_raw(struct json *j, const char *s)
{
	buf_puts(&j->out, "\"");
	for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
		size_t run = 0;

		/* plain characters go in one piece */
		while (p[run] >= 0x20 && p[run] != '"' && p[run] != '\\')
			run++;
		if (run) {
			buf_add(&j->out, (const char *)p, run);
			p += run - 1;
			continue;
		}
		switch (*p) {
		case '"':
			buf_puts(&j->out, "\\\"");
			break;
		case '\\':
			buf_puts(&j->out, "\\\\");
			break;
		case '\n':
			buf_puts(&j->out, "\\n");
			break;
		case '\r':
			buf_puts(&j->out, "\\r");
			break;
		case '\t':
			buf_puts(&j->out, "\\t");
			break;
		case '\b':
			buf_puts(&j->out, "\\b");
			break;
		case '\f':
			buf_puts(&j->out, "\\f");
			break;
		default:
			if (*p < 0x20)
				buf_printf(&j->out, "\\u%04x", *p);
			else
				buf_add(&j->out, (const char *)p, 1);
		}
	}
	buf_puts(&j->out, "\"");
}

static void json_open(struct json *j, const char *bracket)
{
	json_item(j);
	buf_puts(&j->out, bracket);
	j->depth++;
	j->has_items[j->depth] = false;
}

static void json_close(struct json *j, const char *bracket)
{
	bool had = j->has_items[j->depth];

	j->depth--;
	if (had)
		json_indent(j, j->depth);
	buf_puts(&j->out, bracket);
}

static void json_key(struct json *j, const char *key)
{
	json_item(j);
	json_string_raw(j, key);
	buf_puts(&j->out, ": ");
	j->after_key = true;
}

static void json_string(struct json *j, const char *s)
{
	json_item(j);
	json_string_raw(j, s);
}

static void json_int(struct json *j, long v)
{
	json_item(j);
	buf_printf(&j->out, "%ld", v);
}

/* ------------------------------------------------------------------------ */
/* Options and commands                                                      */
/* ------------------------------------------------------------------------ */

enum opt_id {
	O_UUID,
	O_PARENT,
	O_TYPE,
	O_AUTO,
	O_MANUAL,
	O_JSONFILE,
	O_DEFINED,
	O_DUMPJSON,
	O_VERBOSE,
	O_ADDATTR,
	O_DELATTR,
	O_INDEX,
	O_VALUE,
	O_FORCE,
	O_LIVE,
	O_POSITIONAL,
	O_COUNT
};

#define BIT(o) (1u << (o))

struct opt_def {
	const char *lng;
	char shrt;
	const char *value_name; /* NULL for a flag */
};

/* mdevctl's spelling of every option; the order is the usage order */
static const struct opt_def opt_defs[O_COUNT] = {
	[O_UUID] = { "uuid", 'u', "UUID" },
	[O_PARENT] = { "parent", 'p', "PARENT" },
	[O_TYPE] = { "type", 't', "type" },
	[O_AUTO] = { "auto", 'a', NULL },
	[O_MANUAL] = { "manual", 'm', NULL },
	[O_JSONFILE] = { "jsonfile", 0, "JSONFILE" },
	[O_DEFINED] = { "defined", 'd', NULL },
	[O_DUMPJSON] = { "dumpjson", 0, NULL },
	[O_VERBOSE] = { "verbose", 'v', NULL },
	[O_ADDATTR] = { "addattr", 0, "attr_name" },
	[O_DELATTR] = { "delattr", 0, NULL },
	[O_INDEX] = { "index", 'i', "INDEX" },
	[O_VALUE] = { "value", 0, "attr_value" },
	[O_FORCE] = { "force", 'f', NULL },
	[O_LIVE] = { "live", 'l', NULL },
	[O_POSITIONAL] = { NULL, 0, "PARENT" },
};

struct args {
	bool set[O_COUNT];
	const char *val[O_COUNT];
	unsigned int order[O_COUNT]; /* position on the command line */
	char uuid[37];
	unsigned long index;
};

struct cmd;
typedef int (*cmd_fn)(struct vgpu_ctx *ctx, const struct cmd *cmd,
		      struct args *a);

struct cmd {
	const char *name;
	unsigned int opts;	  /* accepted options */
	unsigned int need_one_of; /* at least one of these (clap required) */
	unsigned int conflicts[2][2];
	unsigned int requires[2];  /* opt a requires opt b */
	const char *usage;	   /* after "USAGE:\n    " */
	const char *missing_usage; /* usage line shown for a missing option */
	cmd_fn run;
};

static int cmd_list(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_types(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_define(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_undefine(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_modify(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_start(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_stop(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_start_parent(struct vgpu_ctx *, const struct cmd *,
			    struct args *);

#define LIST_OPTS                                                          \
	(BIT(O_DEFINED) | BIT(O_DUMPJSON) | BIT(O_VERBOSE) | BIT(O_UUID) | \
	 BIT(O_PARENT))

static const struct cmd lsmdev_cmd = {
	"lsmdev", LIST_OPTS,	      0,    { { 0 } },
	{ 0 },	  "lsmdev [OPTIONS]", NULL, cmd_list,
};

static const struct cmd commands[] = {
	{ "define",
	  BIT(O_UUID) | BIT(O_AUTO) | BIT(O_PARENT) | BIT(O_TYPE) |
		  BIT(O_JSONFILE),
	  BIT(O_UUID) | BIT(O_PARENT),
	  { { BIT(O_TYPE), BIT(O_JSONFILE) },
	    { BIT(O_AUTO), BIT(O_JSONFILE) } },
	  { 0 },
	  "mdevctl define [OPTIONS]",
	  "mdevctl define --uuid <UUID> --parent <PARENT>",
	  cmd_define },
	{ "list",
	  LIST_OPTS,
	  0,
	  { { 0 } },
	  { 0 },
	  "mdevctl list [OPTIONS]",
	  NULL,
	  cmd_list },
	{ "modify",
	  BIT(O_UUID) | BIT(O_PARENT) | BIT(O_TYPE) | BIT(O_ADDATTR) |
		  BIT(O_DELATTR) | BIT(O_INDEX) | BIT(O_VALUE) | BIT(O_AUTO) |
		  BIT(O_MANUAL),
	  BIT(O_UUID),
	  { { BIT(O_ADDATTR), BIT(O_DELATTR) },
	    { BIT(O_AUTO), BIT(O_MANUAL) } },
	  { BIT(O_ADDATTR), BIT(O_VALUE) },
	  "mdevctl modify [OPTIONS] --uuid <UUID>",
	  NULL,
	  cmd_modify },
	{ "start",
	  BIT(O_UUID) | BIT(O_PARENT) | BIT(O_TYPE) | BIT(O_JSONFILE),
	  BIT(O_UUID) | BIT(O_PARENT),
	  { { BIT(O_TYPE), BIT(O_JSONFILE) } },
	  { 0 },
	  "mdevctl start [OPTIONS]",
	  "mdevctl start --uuid <UUID> --parent <PARENT>",
	  cmd_start },
	{ "start-parent-mdevs",
	  BIT(O_POSITIONAL),
	  BIT(O_POSITIONAL),
	  { { 0 } },
	  { 0 },
	  "mdevctl start-parent-mdevs <PARENT>",
	  NULL,
	  cmd_start_parent },
	{ "stop",
	  BIT(O_UUID),
	  BIT(O_UUID),
	  { { 0 } },
	  { 0 },
	  "mdevctl stop --uuid <UUID>",
	  NULL,
	  cmd_stop },
	{ "types",
	  BIT(O_PARENT) | BIT(O_DUMPJSON),
	  0,
	  { { 0 } },
	  { 0 },
	  "mdevctl types [OPTIONS]",
	  NULL,
	  cmd_types },
	{ "undefine",
	  BIT(O_UUID) | BIT(O_PARENT),
	  BIT(O_UUID),
	  { { 0 } },
	  { 0 },
	  "mdevctl undefine [OPTIONS] --uuid <UUID>",
	  NULL,
	  cmd_undefine },
};

static const char *opt_display(enum opt_id o)
{
	static char s[O_COUNT][64];
	char *r = s[o];

	if (o == O_POSITIONAL)
		snprintf(r, 64, "<%s>", opt_defs[o].value_name);
	else if (opt_defs[o].value_name)
		snprintf(r, 64, "--%s <%s>", opt_defs[o].lng,
			 opt_defs[o].value_name);
	else
		snprintf(r, 64, "--%s", opt_defs[o].lng);
	return r;
}

/* replace the first @from in @b by @to */
static void buf_replace(struct buf *b, const char *from, const char *to)
{
	char *at = b->s ? strstr(b->s, from) : NULL;
	struct buf n = { 0 };

	if (!at)
		return;
	buf_add(&n, b->s, (size_t)(at - b->s));
	buf_puts(&n, to);
	buf_puts(&n, at + strlen(from));
	free(b->s);
	*b = n;
}

/*
 * clap's errors: 1.2 is built with clap 3, 1.4 with clap 4, which words
 * the same errors in lower case, some differently, and ends differently.
 * The messages below are written as clap 3 says them and reworded here.
 */
static void clap4_wording(struct buf *m, bool top)
{
	static const char *const same[][2] = {
		{ "The following required arguments were not provided:",
		  "the following required arguments were not provided:" },
		{ "The argument '", "the argument '" },
		{ "' was provided more than once, but cannot be used multiple times",
		  "' cannot be used multiple times" },
		{ "' requires a value but none was supplied",
		  "' requires a value but none was supplied" },
	};
	char *p;

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++)
		buf_replace(m, same[i][0], same[i][1]);
	/* required options are indented by two, not four */
	while ((p = strstr(m->s, "\n    ")))
		memmove(p + 3, p + 5, strlen(p + 5) + 1);
	if (!strncmp(m->s, "Found argument '", 16)) {
		char *q = strchr(m->s + 16, '\'');
		struct buf n = { 0 };

		if (q) {
			buf_printf(&n,
				   top ? "unrecognized subcommand '%.*s'"
				       : "unexpected argument '%.*s' found",
				   (int)(q - m->s - 16), m->s + 16);
			free(m->s);
			*m = n;
		}
	}
	if (!strncmp(m->s, "Invalid value \"", 15)) {
		char *q = strchr(m->s + 15, '"');
		char *why = q ? strstr(q, "': ") : NULL;
		const char *bad;
		struct buf n = { 0 };

		if (why) {
			buf_printf(&n, "invalid value '%.*s'%.*s",
				   (int)(q - m->s - 15), m->s + 15,
				   (int)(why + 3 - q - 1), q + 1);
			/* the uuid crate's newer wording, with a 0-based index */
			bad = strstr(why, "found `");
			if (!strncmp(why + 3, "invalid character: ", 19) && bad)
				buf_printf(
					&n,
					"invalid character: found `%c` at %ld",
					bad[7],
					strtol(strstr(bad, " at ") + 4, NULL,
					       10) -
						1);
			else
				buf_puts(&n, why + 3);
			free(m->s);
			*m = n;
		}
	}
}

static int usage_error(const char *usage, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int usage_error(const char *usage, const char *fmt, ...)
{
	struct buf m = { 0 };
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	buf_puts(&m, msg ? msg : "out of memory");
	free(msg);
	if (compat_12) {
		fprintf(stderr, "error: %s", m.s);
		if (usage)
			fprintf(stderr, "\n\nUSAGE:\n    %s", usage);
		fputs("\n\nFor more information try --help\n", stderr);
	} else {
		clap4_wording(&m,
			      usage && !strcmp(usage, "mdevctl <SUBCOMMAND>"));
		fprintf(stderr, "error: %s", m.s);
		if (usage)
			fprintf(stderr, "\n\nUsage: %s",
				!strcmp(usage, "mdevctl <SUBCOMMAND>")
					? "mdevctl <COMMAND>"
					: usage);
		fputs("\n\nFor more information, try '--help'.\n", stderr);
	}
	free(m.s);
	return EXIT_USAGE;
}

static int unexpected_arg(const struct cmd *cmd, const char *arg)
{
	if (arg[0] == '-')
		return usage_error(
			cmd->usage,
			"Found argument '%s' which wasn't expected, or isn't valid in this context\n\n"
			"\tIf you tried to supply `%s` as a value rather than a flag, use `-- %s`",
			arg, arg, arg);
	return usage_error(
		cmd->usage,
		"Found argument '%s' which wasn't expected, or isn't valid in this context",
		arg);
}

/* 1.4 added --force to the commands that run callout scripts, and
 * --live, --defined and --jsonfile to modify */
static bool takes(const struct cmd *cmd, int o)
{
	static const char *const forced[] = { "define", "undefine", "modify",
					      "start", "stop" };

	if (!compat_12 && !strcmp(cmd->name, "modify") &&
	    (o == O_LIVE || o == O_DEFINED || o == O_JSONFILE))
		return true;
	if (o != O_FORCE)
		return cmd->opts & BIT(o);
	for (size_t i = 0; !compat_12 && i < sizeof(forced) / sizeof(*forced);
	     i++)
		if (!strcmp(cmd->name, forced[i]))
			return true;
	return false;
}

/* store one option occurrence; returns 0 or an exit status */
static int set_opt(const struct cmd *cmd, struct args *a, enum opt_id o,
		   const char *value, unsigned int pos)
{
	struct buf err = { 0 };

	if (a->set[o])
		return usage_error(
			cmd->usage,
			"The argument '%s' was provided more than once, but cannot be used multiple times",
			opt_display(o));
	a->set[o] = true;
	a->val[o] = value;
	a->order[o] = pos;
	if (o == O_UUID && !uuid_parse(value, a->uuid, &err)) {
		int r = usage_error(NULL, "Invalid value \"%s\" for '%s': %s",
				    value, opt_display(o), err.s);

		free(err.s);
		return r;
	}
	if (o == O_INDEX) {
		const char *why = NULL;
		char *end;

		errno = 0;
		if (!*value)
			why = "cannot parse integer from empty string";
		else if (strspn(value, "0123456789") != strlen(value) ||
			 (value[0] == '+' && !value[1]))
			why = "invalid digit found in string";
		else {
			a->index = strtoul(value, &end, 10);
			if (errno || a->index > 0xffffffffUL)
				why = "number too large to fit in target type";
		}
		if (why)
			return usage_error(NULL,
					   "Invalid value \"%s\" for '%s': %s",
					   value, opt_display(o), why);
	}
	return 0;
}

/* the usage line clap prints with a conflict: the given options, in order */
static const char *conflict_usage(const struct cmd *cmd, const struct args *a,
				  enum opt_id skip)
{
	static struct buf b;

	b.len = 0;
	buf_printf(&b, "mdevctl %s", cmd->name);
	for (int o = 0; o < O_COUNT; o++)
		if (a->set[o] && o != (int)skip)
			buf_printf(&b, " %s", opt_display(o));
	return b.s;
}

/* 1.4's modify needs one of these (a clap group), shown as one item */
#define MODIFY14_GROUP                                                   \
	(BIT(O_AUTO) | BIT(O_MANUAL) | BIT(O_ADDATTR) | BIT(O_DELATTR) | \
	 BIT(O_JSONFILE))
#define MODIFY14_GROUP_TEXT \
	"<--auto|--manual|--addattr <attr_name>|--delattr|--jsonfile <JSONFILE>>"

static bool is_modify14(const struct cmd *cmd)
{
	return !compat_12 && !strcmp(cmd->name, "modify");
}

/* clap 4's usage line for a modify error: the given options that are not
 * in the group, then @need, then the group */
static const char *modify14_usage(const struct args *a, int need)
{
	static struct buf b;

	b.len = 0;
	buf_puts(&b, "mdevctl modify --uuid <UUID>");
	for (int o = 0; o < O_COUNT; o++)
		if (a->set[o] && o != O_UUID && !(MODIFY14_GROUP & BIT(o)))
			buf_printf(&b, " %s", opt_display((enum opt_id)o));
	if (need >= 0)
		buf_printf(&b, " %s", opt_display((enum opt_id)need));
	buf_puts(&b, " " MODIFY14_GROUP_TEXT);
	return b.s;
}

static enum opt_id only_bit(unsigned int mask)
{
	return (enum opt_id)__builtin_ctz(mask);
}

static int parse_args(const struct cmd *cmd, int argc, char **argv,
		      struct args *a)
{
	bool only_positional = false;
	int r;

	memset(a, 0, sizeof(*a));
	for (int i = 0; i < argc; i++) {
		const char *arg = argv[i];
		unsigned int pos = (unsigned int)i + 1;

		if (!only_positional && strcmp(arg, "--") == 0) {
			only_positional = true;
		} else if (!only_positional && arg[0] == '-' && arg[1] == '-') {
			const char *eq = strchr(arg + 2, '=');
			size_t n =
				eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			int o;

			for (o = 0; o < O_POSITIONAL; o++)
				if (takes(cmd, o) &&
				    strlen(opt_defs[o].lng) == n &&
				    strncmp(opt_defs[o].lng, arg + 2, n) == 0)
					break;
			if (o == O_POSITIONAL) {
				char *name = strndup(arg, n + 2);

				r = unexpected_arg(cmd, name);
				free(name);
				return r;
			}
			const char *value = NULL;

			if (opt_defs[o].value_name) {
				if (eq)
					value = eq + 1;
				else if (i + 1 < argc)
					value = argv[++i];
				else
					return usage_error(
						NULL,
						"The argument '%s' requires a value but none was supplied",
						opt_display(o));
			} else if (eq) {
				return usage_error(
					NULL,
					"The argument '%s' takes no value",
					opt_display(o));
			}
			r = set_opt(cmd, a, (enum opt_id)o, value, pos);
			if (r)
				return r;
		} else if (!only_positional && arg[0] == '-' && arg[1]) {
			for (const char *c = arg + 1; *c; c++) {
				int o;

				for (o = 0; o < O_POSITIONAL; o++)
					if (takes(cmd, o) &&
					    opt_defs[o].shrt == *c)
						break;
				if (o == O_POSITIONAL) {
					char bad[3] = { '-', *c, 0 };

					return unexpected_arg(cmd, bad);
				}
				const char *value = NULL;

				if (opt_defs[o].value_name) {
					if (c[1])
						value = c[1] == '=' ? c + 2
								    : c + 1;
					else if (i + 1 < argc)
						value = argv[++i];
					else
						return usage_error(
							NULL,
							"The argument '%s' requires a value but none was supplied",
							opt_display(o));
				}
				r = set_opt(cmd, a, (enum opt_id)o, value, pos);
				if (r)
					return r;
				if (value)
					break;
			}
		} else if ((cmd->opts & BIT(O_POSITIONAL)) &&
			   !a->set[O_POSITIONAL]) {
			a->set[O_POSITIONAL] = true;
			a->val[O_POSITIONAL] = arg;
		} else {
			return unexpected_arg(cmd, arg);
		}
	}

	for (int c = 0; c < 2; c++) {
		unsigned int x = cmd->conflicts[c][0], y = cmd->conflicts[c][1];

		if (!x || !a->set[only_bit(x)] || !a->set[only_bit(y)])
			continue;
		enum opt_id first = only_bit(x), second = only_bit(y);

		if (a->order[second] < a->order[first]) {
			enum opt_id t = first;

			first = second;
			second = t;
		}
		return usage_error(is_modify14(cmd)
					   ? modify14_usage(a, -1)
					   : conflict_usage(cmd, a, second),
				   "The argument '%s' cannot be used with '%s'",
				   opt_display(first), opt_display(second));
	}
	if (cmd->requires[0] && a->set[only_bit(cmd->requires[0])] &&
	    !a->set[only_bit(cmd->requires[1])]) {
		enum opt_id need = only_bit(cmd->requires[1]);
		static struct buf u;

		u.len = 0;
		buf_printf(&u, "mdevctl %s", cmd->name);
		for (int o = 0; o < O_COUNT; o++)
			if (a->set[o] && (cmd->need_one_of & BIT(o)))
				buf_printf(&u, " %s", opt_display(o));
		buf_printf(&u, " %s", opt_display(need));
		for (int o = 0; o < O_COUNT; o++)
			if (a->set[o] && !(cmd->need_one_of & BIT(o)))
				buf_printf(&u, " %s", opt_display(o));
		return usage_error(
			is_modify14(cmd) ? modify14_usage(a, need) : u.s,
			"The following required arguments were not provided:\n    %s",
			opt_display(need));
	}
	if (cmd->need_one_of) {
		bool any = false;
		struct buf missing = { 0 };

		for (int o = 0; o < O_COUNT; o++)
			if (cmd->need_one_of & BIT(o)) {
				any |= a->set[o];
				buf_printf(&missing, "%s    %s",
					   missing.len ? "\n" : "",
					   opt_display(o));
			}
		if (!any) {
			const char *usage = cmd->missing_usage
						    ? cmd->missing_usage
						    : cmd->usage;
			char *u14 = NULL;

			/* clap 4 leaves "[OPTIONS]" out of this usage line */
			if (!compat_12 &&
			    !strncmp(usage + 8 + strlen(cmd->name),
				     " [OPTIONS]", 10) &&
			    asprintf(&u14, "mdevctl %s%s", cmd->name,
				     usage + 18 + strlen(cmd->name)) >= 0)
				usage = u14;
			r = usage_error(
				usage,
				"The following required arguments were not provided:\n%s",
				missing.s);
			free(missing.s);
			free(u14);
			return r;
		}
		free(missing.s);
	}
	if (is_modify14(cmd) && a->set[O_JSONFILE]) {
		static const enum opt_id clash[] = { O_AUTO, O_MANUAL, O_TYPE,
						     O_INDEX, O_VALUE };

		for (size_t i = 0; i < sizeof(clash) / sizeof(*clash); i++) {
			enum opt_id first = clash[i], second = O_JSONFILE;

			if (!a->set[first])
				continue;
			if (a->order[second] < a->order[first]) {
				first = O_JSONFILE;
				second = clash[i];
			}
			return usage_error(
				modify14_usage(a, -1),
				"The argument '%s' cannot be used with '%s'",
				opt_display(first), opt_display(second));
		}
	}
	if (is_modify14(cmd)) {
		bool any = false;

		for (int o = 0; o < O_COUNT; o++)
			any |= a->set[o] && (MODIFY14_GROUP & BIT(o));
		if (!any)
			return usage_error(
				modify14_usage(a, -1),
				"The following required arguments were not provided:\n    %s",
				MODIFY14_GROUP_TEXT);
	}
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Devices: active instances and definitions, the way mdevctl sees them      */
/* ------------------------------------------------------------------------ */

struct dev {
	struct vgpu_instance *inst; /* reference held by the list array */
	const char *uuid;
	const char *parent;
	const char *type;	    /* definition's type when defined */
	struct vgpu_config *config; /* NULL when not defined */
	bool active;		    /* active with this parent and type */
	bool defined;
	bool live_attrs;	  /* attributes of the running device */
	struct vgpu_config *live; /* those, from a get-attributes callout */
};

struct devlist {
	struct vgpu_instance **raw;
	size_t n_raw;
	struct dev *d;
	size_t n;
};

static void devlist_free(struct devlist *l)
{
	for (size_t i = 0; l->d && i < l->n; i++)
		vgpu_config_unref(l->d[i].live);
	vgpu_instance_list_free(l->raw, l->n_raw);
	free(l->d);
	memset(l, 0, sizeof(*l));
}

static void devlist_destroy(void *p)
{
	devlist_free(p);
	free(p);
}

/* a listing's devices left to the exit (cli_keep_until_exit()); @l is
 * emptied */
static void devlist_keep(struct devlist *l)
{
	struct devlist *k = malloc(sizeof(*k));

	if (!k) {
		devlist_free(l);
		return;
	}
	*k = *l;
	memset(l, 0, sizeof(*l));
	cli_keep_until_exit(k, devlist_destroy);
}

static int dev_cmp(const void *x, const void *y)
{
	const struct dev *a = x, *b = y;
	int r = strcmp(a->parent, b->parent);

	return r ? r : strcmp(a->uuid, b->uuid);
}

/*
 * The only directory reading of the personality, for what the library
 * does not tell: mdevctl warns about every entry whose name is not a UUID
 * while it scans /sys/bus/mdev/devices (active listing) or the parent
 * directories of the definitions (every lookup of definitions), and it
 * starts a parent's definitions in readdir order.  scan_dir() reads @dir,
 * warns about non-UUID names when @warn_bad, and gives each UUID to @fn.
 */
static void scan_dir(const char *dir, bool warn_bad,
		     void (*fn)(const char *uuid, void *data), void *data)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	struct buf why = { 0 };
	char u[37];

	while (d && (de = readdir(d))) {
		if (strcmp(de->d_name, ".") == 0 ||
		    strcmp(de->d_name, "..") == 0)
			continue;
		if (!uuid_parse(de->d_name, u, &why)) {
			if (warn_bad)
				warn_in(compat_12 ? "mdevctl"
						  : "mdevctl::environment",
					"Can't determine uuid for file '%s'",
					de->d_name);
		} else if (fn) {
			fn(u, data);
		}
	}
	free(why.s);
	if (d)
		closedir(d);
}

static void warn_non_uuid(struct vgpu_ctx *ctx, bool defined,
			  const char *parent)
{
	const char *top = defined ? vgpu_ctx_get_config_dir(ctx)
				  : vgpu_ctx_get_sysfs_root(ctx);
	struct dirent *de;
	DIR *d;

	if (!defined) {
		char *path;

		if (asprintf(&path, "%s/bus/mdev/devices", top) >= 0) {
			scan_dir(path, true, NULL, NULL);
			free(path);
		}
		return;
	}
	d = opendir(top);
	while (d && (de = readdir(d))) {
		struct stat st;
		char *path;

		if (de->d_name[0] == '.' ||
		    strcmp(de->d_name, "scripts.d") == 0 ||
		    (parent && strcmp(parent, de->d_name) != 0) ||
		    asprintf(&path, "%s/%s", top, de->d_name) < 0)
			continue;
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			scan_dir(path, true, NULL, NULL);
		free(path);
	}
	if (d)
		closedir(d);
}

static struct vgpu_config *
callout_attributes(const char *uuid, const char *parent, const char *type);

/* a listed active device's attributes from its get-attributes callout */
static void ask_live_attrs(const char *uuid, void *data)
{
	struct devlist *l = data;

	for (size_t i = 0; i < l->n; i++) {
		struct dev *d = &l->d[i];

		if (d->live_attrs && !d->live && !strcmp(d->uuid, uuid))
			d->live = callout_attributes(
				d->uuid, d->parent,
				vgpu_instance_get_type_id(d->inst));
	}
}

/* what collect() lists and how, besides the @uuid and @parent filters */
enum collect_flags {
	C_DEFINED = 1 << 0, /* definitions, else active instances */
	C_STRICT = 1 << 1,  /* a malformed definition fails (-EBADMSG) */
	C_WARN = 1 << 2,    /* warn about non-UUID names like mdevctl */
	C_LIVE = 1 << 3,    /* 1.4: active devices' attributes from callouts */
};
/* how mdevctl scans definitions for list -d, undefine, modify, start */
#define C_SCAN (C_DEFINED | C_STRICT | C_WARN)

/* notes that the library warned (userdata: bool) */
static void note_warning(struct vgpu_ctx *ctx, int priority, const char *file,
			 int line, const char *fn, const char *format,
			 va_list args, void *userdata)
{
	(void)ctx;
	(void)file;
	(void)line;
	(void)fn;
	(void)format;
	(void)args;
	if (priority <= LOG_WARNING)
		*(bool *)userdata = true;
}

/*
 * vgpu_instance_list(), and mdevctl's warnings about the names in
 * bus/mdev/devices that are not UUIDs when @warn_bus.  Listing every active
 * instance, the library reads that directory too and warns about each such
 * name (it can take none of them for an instance): reading it a second
 * time for our own warnings (a 4,096-entry directory costs as much as a
 * tenth of the listing) is needed only when the library warned about
 * something, or failed.  The warnings still come first, as mdevctl's do.
 */
static int list_warn(struct vgpu_ctx *ctx, unsigned int lf, const char *parent,
		     const char *uuid, bool warn_bus, struct devlist *l)
{
	int prio = vgpu_ctx_get_log_priority(ctx);
	bool warned = false;
	int r;

	if (!warn_bus || uuid) {
		if (warn_bus)
			warn_non_uuid(ctx, false, parent);
		return vgpu_instance_list(ctx, lf, parent, uuid, &l->raw,
					  &l->n_raw);
	}
	vgpu_ctx_set_log_fn(ctx, note_warning, &warned);
	if (prio < LOG_WARNING)
		vgpu_ctx_set_log_priority(ctx, LOG_WARNING);
	r = vgpu_instance_list(ctx, lf, parent, NULL, &l->raw, &l->n_raw);
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	vgpu_ctx_set_log_priority(ctx, prio);
	if (warned || r < 0)
		warn_non_uuid(ctx, false, parent);
	return r;
}

/*
 * Collect devices: definitions (C_DEFINED) or active instances, optionally
 * filtered by @uuid and @parent.  mdevctl parses only the definitions that
 * pass the filters, so a malformed one of another UUID does not count.
 */
static int collect(struct vgpu_ctx *ctx, unsigned int flags, const char *uuid,
		   const char *parent, struct devlist *l)
{
	unsigned int lf = VGPU_LIST_ACTIVE | VGPU_LIST_DEFINED;
	bool defined = flags & C_DEFINED;
	int r;

	memset(l, 0, sizeof(*l));
	if ((flags & C_WARN) && defined)
		warn_non_uuid(ctx, defined, parent);
	r = list_warn(ctx, lf | (flags & C_STRICT ? VGPU_LIST_STRICT : 0),
		      parent, uuid, !defined && (flags & C_WARN), l);
	if (r < 0)
		return r;
	l->d = calloc(l->n_raw ? l->n_raw : 1, sizeof(*l->d));
	if (!l->d)
		return -ENOMEM;
	for (size_t i = 0; i < l->n_raw; i++) {
		struct vgpu_instance *in = l->raw[i];
		struct dev *d = &l->d[l->n];
		const char *active_type;

		if (strcmp(vgpu_instance_get_backend(in), "mdev") != 0)
			continue;
		d->inst = in;
		d->uuid = vgpu_instance_get_uuid(in);
		d->parent = vgpu_instance_get_parent_id(in);
		d->defined = vgpu_instance_is_defined(in);
		d->config = d->defined ? vgpu_instance_get_config(in) : NULL;
		active_type = vgpu_instance_get_type_id(in);
		d->type = d->config ? vgpu_config_get_type(d->config)
				    : active_type;
		/* 1.4 lists a running device with the type it runs with */
		if (!defined && !compat_12 && active_type)
			d->type = active_type;
		d->active = vgpu_instance_is_active(in);
		/* 1.4 asks for every running device's attributes, 1.2 for
		 * those of running devices without a definition */
		d->live_attrs = !defined && (flags & C_LIVE) &&
				(!compat_12 || !d->defined);
		if (defined && !d->defined)
			continue;
		if (!defined && !d->active)
			continue;
		/* a definition only counts as running with the same type */
		if (defined && d->active && active_type && d->type &&
		    strcmp(active_type, d->type) != 0)
			d->active = false;
		if (!d->type)
			continue;
		/* mdevctl lets the definition's type win, and says so */
		if (!defined && d->config && active_type &&
		    strcmp(active_type, d->type) != 0)
			warn_in("mdevctl::mdev",
				"Overwriting mdev type for mdev %s: %s => %s",
				d->uuid, active_type, d->type);
		l->n++;
	}
	/* the library's order (parent, UUID) is ours: sort only if not */
	for (size_t i = 1; i < l->n; i++)
		if (dev_cmp(&l->d[i - 1], &l->d[i]) > 0) {
			qsort(l->d, l->n, sizeof(*l->d), dev_cmp);
			break;
		}
	/* scripts are asked in the order mdevctl reads the bus directory */
	if ((flags & C_LIVE) && callouts_present) {
		char *bus;

		if (asprintf(&bus, "%s/bus/mdev/devices",
			     vgpu_ctx_get_sysfs_root(ctx)) >= 0) {
			scan_dir(bus, false, ask_live_attrs, l);
			free(bus);
		}
	}
	return 0;
}

/* report a collect() failure the way mdevctl reports a bad definition */
static int fail_collect(int r)
{
	return r == -EBADMSG ? fail("invalid json") : fail_os(r);
}

/*
 * The attributes a listing shows: the definition's; but 1.4 shows those of
 * the running device in an active listing, which only a get-attributes
 * callout can tell (none: no attributes).
 */
static struct vgpu_config *dev_attrs(const struct dev *d)
{
	return d->live_attrs ? d->live : d->config;
}

static size_t dev_attr_count(const struct dev *d)
{
	return dev_attrs(d) ? vgpu_config_get_attr_count(dev_attrs(d)) : 0;
}

static bool dev_autostart(const struct dev *d)
{
	return d->config && vgpu_config_get_autostart(d->config);
}

/* "  Attrs:" and one line per attribute, as list -v shows them */
static void attrs_text(struct buf *b, struct vgpu_config *c)
{
	size_t n = c ? vgpu_config_get_attr_count(c) : 0;

	if (!n)
		return;
	buf_puts(b, "  Attrs:\n");
	for (size_t k = 0; k < n; k++) {
		const char *key, *val;

		vgpu_config_get_attr(c, k, &key, &val);
		buf_printf(b, "    @{%zu}: {\"%s\":\"%s\"}\n", k, key, val);
	}
}

/* {"mdev_type": ..., "start": ..., "attrs": [...]} */
static void dev_json(struct json *j, const struct dev *d)
{
	json_open(j, "{");
	json_key(j, "mdev_type");
	json_string(j, d->type);
	json_key(j, "start");
	json_string(j, dev_autostart(d) ? "auto" : "manual");
	json_key(j, "attrs");
	json_open(j, "[");
	for (size_t i = 0; i < dev_attr_count(d); i++) {
		const char *k, *v;

		vgpu_config_get_attr(dev_attrs(d), i, &k, &v);
		json_open(j, "{");
		json_key(j, k);
		json_string(j, v);
		json_close(j, "}");
	}
	json_close(j, "]");
	json_close(j, "}");
}

/* ------------------------------------------------------------------------ */
/* list                                                                      */
/* ------------------------------------------------------------------------ */

static int cmd_list(struct vgpu_ctx *ctx, const struct cmd *cmd, struct args *a)
{
	bool defined = a->set[O_DEFINED];
	const char *uuid = a->set[O_UUID] ? a->uuid : NULL;
	struct devlist l;
	struct json j = { 0 };
	int r;

	(void)cmd;
	r = collect(ctx, defined ? C_SCAN : C_WARN | C_LIVE, uuid,
		    a->val[O_PARENT], &l);
	if (r < 0)
		return fail_collect(r);

	if (a->set[O_DUMPJSON] && uuid && l.n == 1) {
		dev_json(&j, &l.d[0]);
	} else if (a->set[O_DUMPJSON]) {
		json_open(&j, "[");
		if (l.n) {
			json_open(&j, "{");
			for (size_t i = 0; i < l.n; i++) {
				if (i == 0 ||
				    strcmp(l.d[i].parent, l.d[i - 1].parent)) {
					if (i)
						json_close(&j, "]");
					json_key(&j, l.d[i].parent);
					json_open(&j, "[");
				}
				json_open(&j, "{");
				json_key(&j, l.d[i].uuid);
				dev_json(&j, &l.d[i]);
				json_close(&j, "}");
			}
			json_close(&j, "]");
			json_close(&j, "}");
		}
		json_close(&j, "]");
	} else {
		for (size_t i = 0; i < l.n; i++) {
			const struct dev *d = &l.d[i];
			const char *mark = "";

			if (defined && d->active)
				mark = " (active)";
			else if (!defined && d->defined)
				mark = " (defined)";
			/* thousands of lines: no printf for each */
			buf_puts(&j.out, d->uuid);
			buf_puts(&j.out, " ");
			buf_puts(&j.out, d->parent);
			buf_puts(&j.out, " ");
			buf_puts(&j.out, d->type);
			buf_puts(&j.out,
				 dev_autostart(d) ? " auto" : " manual");
			buf_puts(&j.out, mark);
			buf_puts(&j.out, "\n");
			if (!a->set[O_VERBOSE] || !dev_attr_count(d))
				continue;
			attrs_text(&j.out, dev_attrs(d));
		}
	}
	print_listing(j.out.s);
	free(j.out.s);
	devlist_keep(&l);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* types                                                                     */
/* ------------------------------------------------------------------------ */

static int parent_cmp(const void *x, const void *y)
{
	return strcmp(vgpu_parent_get_id(*(struct vgpu_parent *const *)x),
		      vgpu_parent_get_id(*(struct vgpu_parent *const *)y));
}

/* mdev parents sorted by id; non-mdev entries are dropped (unref'd) */
static int mdev_parents(struct vgpu_ctx *ctx, struct vgpu_parent ***ret,
			size_t *n_ret)
{
	size_t n, k = 0;
	int r = vgpu_parent_list(ctx, ret, &n);

	if (r < 0)
		return r;
	for (size_t i = 0; i < n; i++) {
		if (strcmp(vgpu_parent_get_backend((*ret)[i]), "mdev") == 0)
			(*ret)[k++] = (*ret)[i];
		else
			vgpu_parent_unref((*ret)[i]);
	}
	if (k > 1)
		qsort(*ret, k, sizeof(**ret), parent_cmp);
	*n_ret = k;
	return 0;
}

/*
 * @s trimmed; with @join, inner newlines become ", " like mdevctl.  NULL
 * when nothing is left.  Most texts need nothing done: they come back as
 * they are; a changed one is a copy that *@copy keeps for the caller to free.
 */
static const char *clean_text(const char *s, bool join, char **copy)
{
	const char *end;
	size_t len, n = 0;
	char *out;

	*copy = NULL;
	if (!s)
		return NULL;
	len = strlen(s);
	if (len && !isspace((unsigned char)s[0]) &&
	    !isspace((unsigned char)s[len - 1]) &&
	    (!join || !memchr(s, '\n', len)))
		return s;
	end = s + len;
	while (isspace((unsigned char)*s))
		s++;
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	if (end == s)
		return NULL;
	/* one allocation per text (thousands of types): each newline may
	 * become ", ", so twice the length is always enough */
	out = malloc(2 * (size_t)(end - s) + 1);
	if (!out) {
		fputs("out of memory\n", stderr);
		exit(1);
	}
	for (const char *p = s; p < end;) {
		const char *nl =
			join ? memchr(p, '\n', (size_t)(end - p)) : NULL;
		size_t k = (size_t)((nl ? nl : end) - p);

		memcpy(out + n, p, k);
		n += k;
		if (!nl)
			break;
		memcpy(out + n, ", ", 2);
		n += 2;
		p = nl + 1;
	}
	out[n] = '\0';
	*copy = out;
	return out;
}

/* one type, as text or as JSON */
static void type_out(struct json *j, struct buf *text, bool js, const char *tid,
		     int avail, const char *api, const char *name,
		     const char *desc)
{
	if (!js) {
		char num[16], *n = num + sizeof(num) - 1;
		unsigned int v = (unsigned int)avail;

		/* 16,384 types on a big host: no printf for each */
		*n = '\0';
		do
			*--n = (char)('0' + v % 10);
		while (v /= 10);
		buf_puts(text, "  ");
		buf_puts(text, tid);
		buf_puts(text, "\n    Available instances: ");
		buf_puts(text, n);
		buf_puts(text, "\n    Device API: ");
		buf_puts(text, api);
		buf_puts(text, "\n");
		if (name) {
			buf_puts(text, "    Name: ");
			buf_puts(text, name);
			buf_puts(text, "\n");
		}
		if (desc) {
			buf_puts(text, "    Description: ");
			buf_puts(text, desc);
			buf_puts(text, "\n");
		}
		return;
	}
	json_open(j, "{");
	json_key(j, tid);
	json_open(j, "{");
	json_key(j, "available_instances");
	json_int(j, avail);
	json_key(j, "device_api");
	json_string(j, api);
	if (name) {
		json_key(j, "name");
		json_string(j, name);
	}
	if (desc) {
		json_key(j, "description");
		json_string(j, desc);
	}
	json_close(j, "}");
	json_close(j, "}");
}

static int cmd_types(struct vgpu_ctx *ctx, const struct cmd *cmd,
		     struct args *a)
{
	struct vgpu_parent **parents;
	struct vgpu_type **all = NULL;
	size_t n_parents, n_shown = 0, n_all = 0, *counts;
	struct json j = { 0 };
	struct buf text = { 0 };
	bool js = a->set[O_DUMPJSON]; /* build only what is printed */
	int r, ret = 0;

	(void)cmd;
	r = mdev_parents(ctx, &parents, &n_parents);
	if (r < 0)
		return fail_os(r);
	if (a->val[O_PARENT]) {
		size_t k = 0;

		/* -p: that parent alone */
		for (size_t i = 0; i < n_parents; i++) {
			if (!strcmp(a->val[O_PARENT],
				    vgpu_parent_get_id(parents[i])))
				parents[k++] = parents[i];
			else
				vgpu_parent_unref(parents[i]);
		}
		n_parents = k;
	}
	counts = calloc(n_parents ? n_parents : 1, sizeof(*counts));
	if (!counts) {
		vgpu_parent_list_free(parents, n_parents);
		return fail_os(-ENOMEM);
	}
	/* every parent's types in one call: read side by side */
	r = vgpu_type_list_many(parents, n_parents, &all, &n_all, counts);
	if (r < 0)
		ret = fail_os(r);
	json_open(&j, "[");
	for (size_t i = 0, first = 0; i < n_parents && !ret;
	     first += counts[i++]) {
		const char *pid = vgpu_parent_get_id(parents[i]);
		struct vgpu_type **types = all + first;
		size_t n_types = counts[i];

		/* sorted by id already (vgpu_type_list_many()) */
		if (n_shown++ == 0)
			json_open(&j, "{");
		json_key(&j, pid);
		json_open(&j, "[");
		if (!js)
			buf_printf(&text, "%s\n", pid);
		for (size_t t = 0; t < n_types; t++) {
			const char *api = vgpu_type_get_device_api(types[t]);
			int avail = vgpu_type_get_available_instances(types[t]);
			char *name_copy, *desc_copy;
			const char *name =
				clean_text(vgpu_type_get_name(types[t]), false,
					   &name_copy);
			const char *desc =
				clean_text(vgpu_type_get_description(types[t]),
					   true, &desc_copy);

			if (avail >= 0)
				type_out(&j, &text, js,
					 vgpu_type_get_id(types[t]), avail,
					 api ? api : "", name, desc);
			free(name_copy);
			free(desc_copy);
			if (avail < 0) {
				ret = fail_os(avail);
				break;
			}
		}
		json_close(&j, "]");
	}
	if (n_shown)
		json_close(&j, "}");
	json_close(&j, "]");
	if (!ret)
		print_listing(js ? j.out.s : text.s);
	free(j.out.s);
	free(text.s);
	vgpu_type_list_free(all, n_all);
	free(counts);
	vgpu_parent_list_free(parents, n_parents);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Callout scripts (1.4)                                                     */
/* ------------------------------------------------------------------------ */

static struct callout_env callout_env;
static char *callout_paths[2];

/* mdevctl 1.4's own script directories */
#define LIB_SCRIPTS	  "/usr/lib/mdevctl/scripts.d"
#define SYSTEM_CONFIG_DIR "/etc/mdevctl.d"

/*
 * Whether 1.4's /usr/lib/mdevctl belongs to this run: with the system's
 * definitions directory it does (and must exist, as 1.4 requires); a
 * private one (--config-dir, VGPU_CONFIG_DIR) is a world of its own,
 * without the system's scripts.
 */
static bool lib_dir(struct vgpu_ctx *ctx)
{
	return !strcmp(vgpu_ctx_get_config_dir(ctx), SYSTEM_CONFIG_DIR);
}

static bool dir_has_entries(const char *path)
{
	DIR *d = path ? opendir(path) : NULL;
	struct dirent *de;
	bool any = false;

	while (d && !any && (de = readdir(d)))
		any = strcmp(de->d_name, ".") && strcmp(de->d_name, "..");
	if (d)
		closedir(d);
	return any;
}

static void callouts_setup(struct vgpu_ctx *ctx)
{
	const char *dir = vgpu_ctx_get_config_dir(ctx);

	/* 1.2 knows only the scripts under its definitions directory */
	callout_env.v12 = compat_12;
	if (!compat_12 && lib_dir(ctx)) {
		callout_env.lib_callouts = LIB_SCRIPTS "/callouts";
		callout_env.lib_notifiers = LIB_SCRIPTS "/notifiers";
	}
	if (asprintf(&callout_paths[0], "%s/scripts.d/callouts", dir) >= 0)
		callout_env.callouts = callout_paths[0];
	if (asprintf(&callout_paths[1], "%s/scripts.d/notifiers", dir) >= 0)
		callout_env.notifiers = callout_paths[1];
	callouts_present = dir_has_entries(callout_env.lib_callouts) ||
			   dir_has_entries(callout_env.callouts);
}

/* a device as mdevctl hands it to scripts: {"mdev_type":..,"start":..,"attrs":[..]} */
static char *callout_json(const char *type, struct vgpu_config *c)
{
	struct buf b = { 0 };
	size_t n = c ? vgpu_config_get_attr_count(c) : 0;
	struct json j = { 0 };

	/* compact serde: no spaces, the same string escaping */
	buf_puts(&b, "{\"mdev_type\":");
	json_string_raw(&j, type);
	buf_puts(&b, j.out.s);
	free(j.out.s);
	buf_printf(&b, ",\"start\":\"%s\",\"attrs\":[",
		   c && vgpu_config_get_autostart(c) ? "auto" : "manual");
	for (size_t i = 0; i < n; i++) {
		const char *k, *v;
		struct json jk = { 0 }, jv = { 0 };

		vgpu_config_get_attr(c, i, &k, &v);
		json_string_raw(&jk, k);
		json_string_raw(&jv, v);
		buf_printf(&b, "%s{%s:%s}", i ? "," : "", jk.out.s, jv.out.s);
		free(jk.out.s);
		free(jv.out.s);
	}
	buf_puts(&b, "]}");
	return b.s;
}

/* an operation run between callouts; @c (NULL: none) is the device's
 * conversation with its script, which define asks for attributes */
typedef int (*callout_op)(struct callout *c, void *data);

/*
 * Run @op between the device's pre and post callouts, then the notifiers,
 * as mdevctl does; a refusing pre callout stops the operation unless
 * --force (1.4). @op prints its own errors, which come out after the post
 * and notify scripts ran, and returns an exit status. A refusal is printed
 * as an error, or handed to the caller in *@refused (malloc'd) when that
 * is given.
 */
static int with_callouts(const char *action, bool force, const char *uuid,
			 const char *parent, const char *type,
			 struct vgpu_config *conf, callout_op op, void *data,
			 char **refused)
{
	struct callout_dev dev = { uuid, parent, type };
	char *json, *why = NULL, *deferred = NULL;
	struct callout c;
	int r;

	if (!type || !parent || !uuid)
		return op(NULL, data);
	callout_init(&c, &callout_env, &dev);
	json = callout_json(type, conf);
	r = callout_call(&c, "pre", action, json, NULL, &why);
	if (r < 0 && force) {
		warn_in("mdevctl::callouts",
			"Forcing operation '%s' despite callout failure. Error was: %s",
			action, why ? why : strerror(-r));
		free(why);
		why = NULL;
		r = 0;
	}
	if (r < 0) {
		if (!why)
			why = strdup(strerror(-r));
		r = 1;
	} else {
		FILE *saved = errf;
		char *ignored = NULL;
		size_t len = 0;

		errf = open_memstream(&deferred, &len);
		r = op(&c, data);
		if (errf)
			fclose(errf);
		errf = saved;
		c.state = r ? "failure" : "success";
		callout_call(&c, "post", action, json, NULL, &ignored);
		free(ignored);
	}
	callout_notify(&c, action, json);
	if (deferred)
		fputs(deferred, errf ? errf : stderr);
	if (why && refused) {
		*refused = why;
		why = NULL;
	} else if (why) {
		fail("%s", why);
	}
	free(why);
	free(deferred);
	free(json);
	callout_fini(&c);
	return r;
}

/* a document whole as serde_json reads it: one value, then only space */
static json_object *json_parse_whole(const char *s)
{
	json_tokener *tok = json_tokener_new();
	json_object *j = NULL;
	size_t len = strlen(s);

	if (!tok)
		return NULL;
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT);
	j = json_tokener_parse_ex(tok, s, (int)len);
	if (json_tokener_get_error(tok) != json_tokener_success)
		j = NULL;
	else if (s[strspn(s + json_tokener_get_parse_end(tok), " \t\r\n") +
		   json_tokener_get_parse_end(tok)]) {
		json_object_put(j);
		j = NULL;
	}
	json_tokener_free(tok);
	return j;
}

/*
 * Add the attributes a get-attributes callout printed (@out) to @cfg, as
 * mdevctl does: nothing for no output or "[{}]", else a JSON array of
 * objects with one string each; the ones before a bad one are kept.
 * Returns 0, or -EBADMSG with mdevctl's message in *@why.
 */
static int add_callout_attrs(struct vgpu_config *cfg, const char *out,
			     char **why)
{
	json_object *j;
	int r = 0;

	*why = NULL;
	if (!out || !*out || !strcmp(out, "[{}]"))
		return 0;
	j = json_parse_whole(out);
	if (!j) {
		/* serde's reason (the cause) is not known here */
		*why = strdup(
			compat_12
				? "Unable to parse attributes from JSON"
				: "Invalid JSON received from callout script");
		return -EBADMSG;
	}
	if (json_object_is_type(j, json_type_array)) {
		for (size_t i = 0; !r && i < json_object_array_length(j); i++) {
			json_object *a = json_object_array_get_idx(j, i);
			struct json_object_iterator it, end;
			const char *k;
			json_object *v;

			if (!json_object_is_type(a, json_type_object)) {
				*why = strdup(
					"invalid JSON format for attribute: not an object");
				r = -EBADMSG;
				break;
			}
			if (json_object_object_length(a) != 1) {
				*why = strdup(
					"invalid JSON format for attribute: too many fields");
				r = -EBADMSG;
				break;
			}
			it = json_object_iter_begin(a);
			end = json_object_iter_end(a);
			if (json_object_iter_equal(&it, &end))
				break;
			k = json_object_iter_peek_name(&it);
			v = json_object_iter_peek_value(&it);
			if (!json_object_is_type(v, json_type_string)) {
				struct json jk = { 0 };

				json_string_raw(&jk, k);
				if (asprintf(
					    why,
					    "invalid JSON format for attribute {%s, %s}: value must be of type str",
					    jk.out.s,
					    json_object_to_json_string_ext(
						    v,
						    JSON_C_TO_STRING_PLAIN |
							    JSON_C_TO_STRING_NOSLASHESCAPE)) <
				    0)
					*why = NULL;
				free(jk.out.s);
				r = -EBADMSG;
				break;
			}
			(void)vgpu_config_add_attr(
				cfg, k, json_object_get_string(v), -1);
		}
	} else if (!json_object_is_type(j, json_type_null)) {
		*why = strdup("attributes field is not an array");
		r = -EBADMSG;
	}
	json_object_put(j);
	return r;
}

/* the attributes a running device's get-attributes callout reports, as a
 * definition (NULL: none, or no script answers) */
static struct vgpu_config *
callout_attributes(const char *uuid, const char *parent, const char *type)
{
	struct callout_dev dev = { uuid, parent, type };
	struct vgpu_config *cfg = NULL;
	struct callout c;
	char *out = NULL, *why = NULL;

	if (!type)
		return NULL;
	callout_init(&c, &callout_env, &dev);
	if (callout_get_attributes(&c, &out, &why) == 0 && out &&
	    vgpu_config_new(&cfg) == 0) {
		vgpu_config_set_type(cfg, type);
		/* a listing keeps what came before a bad attribute */
		free(why);
		(void)add_callout_attrs(cfg, out, &why);
	}
	free(out);
	free(why);
	callout_fini(&c);
	return cfg;
}

/* ------------------------------------------------------------------------ */
/* Shared helpers for the lifecycle commands                                 */
/* ------------------------------------------------------------------------ */

/* read and parse a --jsonfile */
static int load_jsonfile_as(const char *path, bool define,
			    struct vgpu_config **ret)
{
	char *text;
	size_t len;
	int r;

	r = cli_read_file(path, false, 16u << 20, &text, &len);
	if (r < 0)
		return fail_errno(r,
				  compat_12 || !define
					  ? "Unable to read jsonfile %s"
					  : "Unable to read file %s",
				  quote_path(path));
	r = vgpu_config_new_from_json(text, len, ret);
	free(text);
	if (r < 0)
		return fail("invalid json");
	return 0;
}

/* define's reading of --jsonfile (1.4 words its failure differently) */
static int load_jsonfile(const char *path, struct vgpu_config **ret)
{
	return load_jsonfile_as(path, true, ret);
}

/* a fresh definition with the same type, start mode and (@attrs) attributes */
static struct vgpu_config *config_clone(struct vgpu_config *src, bool attrs)
{
	struct vgpu_config *c;

	if (vgpu_config_new(&c) < 0)
		return NULL;
	if (!src)
		return c;
	vgpu_config_set_type(c, vgpu_config_get_type(src));
	vgpu_config_set_autostart(c, vgpu_config_get_autostart(src));
	for (size_t i = 0; attrs && i < vgpu_config_get_attr_count(src); i++) {
		const char *k, *v;

		vgpu_config_get_attr(src, i, &k, &v);
		vgpu_config_add_attr(c, k, v, -1);
	}
	return c;
}

/* the active instance with @uuid, if any */
static struct vgpu_instance *find_active(struct vgpu_ctx *ctx, const char *uuid)
{
	struct devlist l;
	struct vgpu_instance *in = NULL;

	if (!uuid || collect(ctx, 0, uuid, NULL, &l) < 0)
		return NULL;
	if (l.n)
		in = vgpu_instance_ref(l.d[0].inst);
	devlist_free(&l);
	return in;
}

/* mdevctl stop: write "1" to the instance's remove file */
static int remove_device(struct vgpu_ctx *ctx, const char *uuid)
{
	int r = vgpu_instance_remove(ctx, uuid);

	if (r < 0)
		return fail_errno(r, "Error removing device %s", uuid);
	return 0;
}

/*
 * Write the attributes of @config to the new instance @in in order, like
 * mdevctl: on the first failure remove the instance again; if that fails
 * too, its error is the one reported.
 */
static int write_attrs(struct vgpu_ctx *ctx, struct vgpu_instance *in,
		       struct vgpu_config *config)
{
	for (size_t i = 0; i < vgpu_config_get_attr_count(config); i++) {
		const char *k, *v;
		int r;

		vgpu_config_get_attr(config, i, &k, &v);
		r = vgpu_instance_write_attr(in, k, v);
		if (r == 0)
			continue;
		if (remove_device(ctx, vgpu_instance_get_uuid(in)))
			return 1;
		/* mdevctl checks that the file exists before writing it */
		if (r == -ENOENT)
			return fail("Invalid attribute '%s'", k);
		return fail_errno(r, "Failed to write %s to attribute %s", v,
				  k);
	}
	return 0;
}

/*
 * Create @uuid (NULL: random) on @parent with @config after mdevctl's
 * checks; on success *uuid_out (if given) receives the malloc'd UUID.
 */
static int create_device(struct vgpu_ctx *ctx, const char *uuid,
			 const char *parent, struct vgpu_config *config,
			 char **uuid_out)
{
	const char *type = vgpu_config_get_type(config);
	struct vgpu_instance *in = find_active(ctx, uuid);
	struct vgpu_parent *p = NULL;
	struct vgpu_type *t = NULL, **types = NULL;
	struct vgpu_config *bare;
	size_t n_types = 0;
	int r, ret = 1;

	if (in) {
		if (strcmp(vgpu_instance_get_parent_id(in), parent) != 0)
			fail("Device exists under different parent");
		else if (strcmp(vgpu_instance_get_type_id(in), type) != 0)
			fail("Device exists with different type");
		else
			fail("Device already exists");
		vgpu_instance_unref(in);
		return 1;
	}
	r = vgpu_parent_get(ctx, parent, &p);
	if (r < 0) {
		struct vgpu_parent **all;
		size_t n_all;
		const char *hint = NULL;

		if (mdev_parents(ctx, &all, &n_all) == 0) {
			for (size_t i = 0; i < n_all && !hint; i++)
				if (strcasecmp(vgpu_parent_get_id(all[i]),
					       parent) == 0)
					hint = vgpu_parent_get_id(all[i]);
			if (hint)
				fail("Unable to find parent device '%s'. Did you mean '%s'?",
				     parent, hint);
			vgpu_parent_list_free(all, n_all);
		}
		if (!hint)
			fail("Unable to find parent device '%s'", parent);
		return 1;
	}
	if (vgpu_type_list(p, &types, &n_types) < 0) {
		fail("Parent %s is not currently registered for mdev support",
		     parent);
		goto out;
	}
	if (vgpu_type_get(p, type, &t) < 0) {
		fail("Parent %s does not support mdev type %s", parent, type);
		goto out;
	}
	r = vgpu_type_get_available_instances(t);
	if (r < 0) {
		fail_os(r);
		goto out;
	}
	if (r == 0) {
		fail("No available instances of %s on %s", type, parent);
		goto out;
	}
	/* the attributes are written here, to tell mdevctl's errors apart */
	bare = config_clone(config, false);
	r = bare ? vgpu_instance_create(ctx, parent, uuid, bare, &in) : -ENOMEM;
	vgpu_config_unref(bare);
	if (r < 0) {
		fail_errno(r, "Failed to create mdev %s, type %s on %s",
			   uuid ? uuid : "(random)", type, parent);
		goto out;
	}
	if (write_attrs(ctx, in, config)) {
		vgpu_instance_unref(in);
		goto out;
	}
	if (uuid_out)
		*uuid_out = strdup(vgpu_instance_get_uuid(in));
	vgpu_instance_unref(in);
	ret = 0;
out:
	vgpu_type_unref(t);
	vgpu_type_list_free(types, n_types);
	vgpu_parent_unref(p);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* define / undefine / modify                                                */
/* ------------------------------------------------------------------------ */

struct define_call {
	struct vgpu_ctx *ctx;
	const char *parent, *uuid;
	struct vgpu_config *config;
	bool active; /* 1.4 asks a running device's script for attributes */
};

/*
 * Ask the running device @uuid's script for its attributes and add them to
 * @config, as define does; 1 after printing mdevctl's error.
 */
static int define_attrs(struct callout *c, struct vgpu_config *config)
{
	char *out = NULL, *why = NULL;
	int r = callout_get_attributes(c, &out, &why);

	if (r == 0)
		r = add_callout_attrs(config, out, &why);
	if (r < 0)
		fail("%s", why ? why : strerror(-r));
	free(out);
	free(why);
	return r < 0;
}

static int define_now(struct callout *c, void *data)
{
	struct define_call *d = data;
	int r;

	if (d->active && c && define_attrs(c, d->config))
		return 1;
	r = vgpu_instance_define(d->ctx, d->parent, d->uuid, d->config, 0,
				 NULL);
	if (r == -EEXIST)
		return fail("Device %s on %s already defined", d->uuid,
			    d->parent);
	return r < 0 ? fail_os(r) : 0;
}

/* a random (version 4) UUID, as mdevctl makes one for define and start
 * without --uuid */
static const char *random_uuid(char out[37])
{
	unsigned char b[16];
	size_t n = 0;

	while (n < sizeof(b)) {
		ssize_t r = getrandom(b + n, sizeof(b) - n, 0);

		if (r > 0)
			n += (size_t)r;
		else if (r < 0 && errno != EINTR)
			return NULL;
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(
		out, 37,
		"%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7], b[8], b[9],
		b[10], b[11], b[12], b[13], b[14], b[15]);
	return out;
}

/* define, between the callouts; @uuid NULL: a random one, printed */
static int define_op(struct vgpu_ctx *ctx, const struct args *a,
		     const char *parent, const char *uuid,
		     struct vgpu_config *config, bool active)
{
	struct define_call d = { ctx, parent, uuid, config, false };
	char gen[37];
	int r;

	if (!uuid && !(d.uuid = random_uuid(gen)))
		return fail_os(-errno);
	if (active && compat_12) {
		/* 1.2 asks before anything else, and stops if that fails */
		struct callout_dev dev = { d.uuid, parent,
					   vgpu_config_get_type(config) };
		struct callout c;

		callout_init(&c, &callout_env, &dev);
		r = define_attrs(&c, config);
		callout_fini(&c);
		if (r)
			return r;
	}
	d.active = active && !compat_12;
	r = with_callouts("define", a->set[O_FORCE], d.uuid, parent,
			  vgpu_config_get_type(config), config, define_now, &d,
			  NULL);
	if (!r && !uuid)
		printf("%s\n", d.uuid);
	return r;
}

static int cmd_define(struct vgpu_ctx *ctx, const struct cmd *cmd,
		      struct args *a)
{
	const char *uuid = a->set[O_UUID] ? a->uuid : NULL;
	const char *parent = a->val[O_PARENT];
	const char *type = a->val[O_TYPE];
	struct vgpu_config *config = NULL;
	int r;

	(void)cmd;
	if (a->set[O_JSONFILE]) {
		const char *path = a->val[O_JSONFILE];
		struct devlist l;

		/* 1.4 reads the file before it looks at anything else */
		if (!compat_12 && load_jsonfile(path, &config))
			return 1;
		if (!parent) {
			vgpu_config_unref(config);
			return fail(
				"Parent device required to define device via %s",
				quote_path(path));
		}
		if (uuid) {
			r = collect(ctx, C_DEFINED, uuid, parent, &l);
			if (r < 0)
				return fail_os(r);
			if (l.n) {
				devlist_free(&l);
				vgpu_config_unref(config);
				return fail(
					"Cowardly refusing to overwrite existing config for %s/%s",
					parent, uuid);
			}
			devlist_free(&l);
		}
		if (compat_12 && load_jsonfile(path, &config))
			return 1;
	} else {
		struct vgpu_instance *act = find_active(ctx, uuid);
		struct devlist l;

		if (uuid && !parent && (!act || type)) {
			vgpu_instance_unref(act);
			return fail("No parent specified");
		}
		if (!parent && act)
			parent = vgpu_instance_get_parent_id(act);
		if (!type && act)
			type = vgpu_instance_get_type_id(act);
		if (!parent || !type) {
			vgpu_instance_unref(act);
			return fail(!parent ? "No parent specified"
					    : "No type specified");
		}
		if (uuid) {
			r = collect(ctx, C_DEFINED, uuid, parent, &l);
			if (r == 0 && l.n) {
				devlist_free(&l);
				fail("Device %s on %s already defined", uuid,
				     parent);
				vgpu_instance_unref(act);
				return 1;
			}
			if (r == 0)
				devlist_free(&l);
		}
		if (vgpu_config_new(&config) < 0 ||
		    vgpu_config_set_type(config, type) < 0) {
			vgpu_instance_unref(act);
			vgpu_config_unref(config);
			return fail("No type specified");
		}
		vgpu_config_set_autostart(config, a->set[O_AUTO]);
		/* strings of @act are used above; release it only now */
		r = define_op(ctx, a, parent, uuid, config, act != NULL);
		vgpu_instance_unref(act);
		vgpu_config_unref(config);
		return r;
	}
	r = define_op(ctx, a, parent, uuid, config, false);
	vgpu_config_unref(config);
	return r;
}

struct undefine_call {
	struct vgpu_ctx *ctx;
	const char *uuid, *parent;
};

static int undefine_now(struct callout *c, void *data)
{
	struct undefine_call *u = data;

	(void)c;
	(void)vgpu_instance_undefine(u->ctx, u->uuid, u->parent);
	return 0;
}

static int cmd_undefine(struct vgpu_ctx *ctx, const struct cmd *cmd,
			struct args *a)
{
	bool failed = false;
	struct devlist l;
	int r;

	(void)cmd;
	r = collect(ctx, C_SCAN, a->uuid, a->val[O_PARENT], &l);
	if (r < 0)
		return fail_collect(r);
	if (!l.n) {
		devlist_free(&l);
		return fail("No devices match the specified uuid");
	}
	for (size_t i = 0; i < l.n; i++) {
		struct undefine_call u = { ctx, a->uuid, l.d[i].parent };
		char *refused = NULL;

		/* 1.2 goes on silently; 1.4 warns, goes on, and fails */
		if (with_callouts("undefine", a->set[O_FORCE], a->uuid,
				  l.d[i].parent, l.d[i].type, l.d[i].config,
				  undefine_now, &u, &refused) &&
		    !compat_12) {
			failed = true;
			if (refused)
				warn("Undefine of %s on parent %s failed with error: %s",
				     a->uuid, l.d[i].parent, refused);
		}
		free(refused);
	}
	devlist_free(&l);
	return failed ? fail("Undefine failed") : 0;
}

/* the single definition of @uuid (under @parent), with mdevctl's errors */
static int get_defined(struct vgpu_ctx *ctx, const char *uuid,
		       const char *parent, struct devlist *l)
{
	int r = collect(ctx, C_SCAN, uuid, parent, l);

	if (r < 0)
		return fail_collect(r);
	if (l->n == 1)
		return 0;
	if (l->n == 0 && parent)
		r = fail("Mediated device %s/%s is not defined", parent, uuid);
	else if (l->n == 0)
		r = fail("Mediated device %s is not defined", uuid);
	else if (parent)
		r = fail("Multiple definitions found for %s/%s", parent, uuid);
	else
		r = fail("Multiple definitions found for %s, specify a parent",
			 uuid);
	devlist_free(l);
	return r;
}

/* modify's changes, applied under the definition's lock to what is on
 * disk then; -ERANGE: the index is out of range */
static int modify_edit(struct vgpu_config *c, void *userdata)
{
	const struct args *a = userdata;
	size_t n_attrs = vgpu_config_get_attr_count(c);

	if (a->set[O_INDEX] && (a->set[O_ADDATTR] || a->set[O_DELATTR]) &&
	    (a->index > n_attrs || (a->set[O_DELATTR] && a->index == n_attrs)))
		return -ERANGE;
	if (a->set[O_TYPE])
		vgpu_config_set_type(c, a->val[O_TYPE]);
	if (a->set[O_AUTO] || a->set[O_MANUAL])
		vgpu_config_set_autostart(c, a->set[O_AUTO]);
	if (a->set[O_ADDATTR])
		vgpu_config_add_attr(c, a->val[O_ADDATTR], a->val[O_VALUE],
				     a->set[O_INDEX] ? (long)a->index : -1);
	else if (a->set[O_DELATTR] && n_attrs)
		vgpu_config_del_attr(c, a->set[O_INDEX] ? (long)a->index : -1);
	return 0;
}

struct modify_call {
	struct vgpu_ctx *ctx;
	struct args *a;
	const char *parent;
	struct vgpu_config *before;
};

static int modify_now(struct callout *c, void *data)
{
	struct modify_call *m = data;
	int r = vgpu_instance_edit(m->ctx, m->a->uuid, m->parent, modify_edit,
				   m->a);

	(void)c;
	if (r == -ERANGE && compat_12) {
		r = fail("Attribute index %lu is invalid", m->a->index);
	} else if (r == -ERANGE) {
		struct buf b = { 0 };

		buf_printf(&b, "Attribute index %lu is invalid\n", m->a->index);
		attrs_text(&b, m->before);
		r = fail("%s", b.s);
		free(b.s);
	} else if (r < 0) {
		r = fail_errno(r, "Failed to write config for device %s",
			       m->a->uuid);
	}
	return r;
}

static int load_jsonfile_as(const char *path, bool define,
			    struct vgpu_config **ret);

struct replace_call {
	struct vgpu_ctx *ctx;
	const char *uuid, *parent;
	struct vgpu_config *config;
};

static int replace_now(struct callout *c, void *data)
{
	struct replace_call *rc = data;
	int r = vgpu_instance_define(rc->ctx, rc->parent, rc->uuid, rc->config,
				     VGPU_DEFINE_FORCE, NULL);

	(void)c;
	return r < 0 ? fail_errno(r, "Failed to write config for device %s",
				  rc->uuid)
		     : 0;
}

/* modify of 1.4 with --jsonfile, --live (and --defined): the file replaces
 * the definition's start mode and attributes; --live hands it to the
 * running device's versioned callout script instead (or as well) */
static int modify14_json(struct vgpu_ctx *ctx, struct args *a)
{
	const char *parent = a->val[O_PARENT], *path = a->val[O_JSONFILE];
	struct vgpu_instance *act = NULL;
	struct vgpu_config *c = NULL;
	int r;

	if (a->set[O_LIVE]) {
		if (a->set[O_TYPE])
			return fail("'type' cannot be changed on active mdev");
		if (a->set[O_AUTO])
			return fail("'auto' cannot be changed on active mdev");
		if (a->set[O_MANUAL])
			return fail(
				"'manual' cannot be changed on active mdev");
		act = find_active(ctx, a->uuid);
		if (act && parent &&
		    strcmp(parent, vgpu_instance_get_parent_id(act))) {
			vgpu_instance_unref(act);
			act = NULL;
		}
		if (!act)
			return parent ? fail("Mediated device %s/%s is not active",
					     parent, a->uuid)
				      : fail("Mediated device %s is not active",
					     a->uuid);
		parent = vgpu_instance_get_parent_id(act);
		/* looking the running device up asks for its attributes */
		vgpu_config_unref(callout_attributes(
			a->uuid, parent, vgpu_instance_get_type_id(act)));
		if (!path) {
			vgpu_instance_unref(act);
			return fail(
				"'live' option must be used with 'jsonfile' option");
		}
	} else if (!parent) {
		return fail(
			"Parent device required to modify device via json file");
	}
	if (load_jsonfile_as(path, true, &c)) {
		vgpu_instance_unref(act);
		return 1;
	}
	if (act &&
	    strcmp(vgpu_config_get_type(c), vgpu_instance_get_type_id(act))) {
		r = fail("'type' cannot be changed on active mdev");
	} else if (act) {
		struct callout_dev dev = { a->uuid, parent,
					   vgpu_config_get_type(c) };
		struct callout co;
		char *json = callout_json(dev.type, c), *why = NULL;

		callout_init(&co, &callout_env, &dev);
		if (!co.versioned) {
			r = fail(
				"Live modification is not supported for this device type. "
				"Changing the device configuration requires stopping and restarting the device.");
		} else {
			r = callout_call(&co, "live", "modify", json, NULL,
					 &why);
			/* a script that does not support it is not run: no notification */
			if (r != -EOPNOTSUPP)
				callout_notify(&co, "modify", json);
			r = r < 0 ? fail("%s", why ? why : strerror(-r)) : 0;
		}
		if (!r && a->set[O_DEFINED]) {
			struct replace_call rc = { ctx, a->uuid, parent, c };

			r = with_callouts("modify", a->set[O_FORCE], a->uuid,
					  parent, dev.type, c, replace_now, &rc,
					  NULL);
		}
		free(why);
		free(json);
		callout_fini(&co);
	} else {
		struct replace_call rc = { ctx, a->uuid, parent, c };

		r = with_callouts("modify", a->set[O_FORCE], a->uuid, parent,
				  vgpu_config_get_type(c), c, replace_now, &rc,
				  NULL);
	}
	vgpu_config_unref(c);
	vgpu_instance_unref(act);
	return r;
}

static int cmd_modify(struct vgpu_ctx *ctx, const struct cmd *cmd,
		      struct args *a)
{
	struct devlist l;
	int r;

	(void)cmd;
	if (!compat_12 && (a->set[O_LIVE] || a->set[O_JSONFILE]))
		return modify14_json(ctx, a);
	if (get_defined(ctx, a->uuid, a->val[O_PARENT], &l))
		return 1;
	{
		/* scripts hear the modified definition */
		struct vgpu_config *after = config_clone(l.d[0].config, true);
		struct modify_call m = { ctx, a, l.d[0].parent, l.d[0].config };

		if (after && modify_edit(after, a) == 0) {
			r = with_callouts("modify", a->set[O_FORCE], a->uuid,
					  l.d[0].parent,
					  vgpu_config_get_type(after), after,
					  modify_now, &m, NULL);
			vgpu_config_unref(after);
			devlist_free(&l);
			return r;
		}
		vgpu_config_unref(after);
	}
	r = vgpu_instance_edit(ctx, a->uuid, l.d[0].parent, modify_edit, a);
	if (r == -ERANGE && compat_12) {
		r = fail("Attribute index %lu is invalid", a->index);
	} else if (r == -ERANGE) {
		/* 1.4 lists the definition's attributes after the message */
		struct buf b = { 0 };

		buf_printf(&b, "Attribute index %lu is invalid\n", a->index);
		attrs_text(&b, l.d[0].config);
		r = fail("%s", b.s);
		free(b.s);
	} else if (r < 0) {
		r = fail_errno(r, "Failed to write config for device %s",
			       a->uuid);
	}
	devlist_free(&l);
	return r;
}

/* ------------------------------------------------------------------------ */
/* start / stop / start-parent-mdevs                                         */
/* ------------------------------------------------------------------------ */

struct start_call {
	struct vgpu_ctx *ctx;
	const char *uuid, *parent;
	struct vgpu_config *config;
	char **made;
};

static int start_now(struct callout *c, void *data)
{
	struct start_call *s = data;

	(void)c;
	return create_device(s->ctx, s->uuid, s->parent, s->config, s->made);
}

static int cmd_start(struct vgpu_ctx *ctx, const struct cmd *cmd,
		     struct args *a)
{
	const char *uuid = a->set[O_UUID] ? a->uuid : NULL;
	const char *parent = a->val[O_PARENT];
	const char *type = a->val[O_TYPE];
	struct vgpu_config *config = NULL;
	struct devlist l = { 0 };
	char *made = NULL;
	int r;

	(void)cmd;
	if (a->set[O_JSONFILE]) {
		/* mdevctl reads and parses the file before checking -p */
		if (load_jsonfile_as(a->val[O_JSONFILE], false, &config))
			return 1;
		if (!parent) {
			r = fail(
				"Parent device required to start device via json file");
			goto out;
		}
	} else {
		if (uuid) {
			r = collect(ctx, C_SCAN, uuid, parent, &l);
			if (r < 0) {
				r = fail_collect(r);
				goto out;
			}
			if (l.n > 1) {
				r = fail(
					"Multiple definitions found for device %s. Please specify a parent.",
					uuid);
				goto out;
			}
			if (l.n == 1) {
				if (type && strcmp(type, l.d[0].type) != 0) {
					r = fail(
						"Device %s already exists on parent %s with type %s",
						uuid, l.d[0].parent,
						l.d[0].type);
					goto out;
				}
				parent = l.d[0].parent;
				config = config_clone(l.d[0].config, true);
			}
		}
		if (!config) {
			if (type && !parent) {
				r = fail("can't provide type without parent");
				goto out;
			}
			if (!type || !parent) {
				r = fail("Device is insufficiently specified");
				goto out;
			}
			if (vgpu_config_new(&config) < 0) {
				r = fail_os(-ENOMEM);
				goto out;
			}
			vgpu_config_set_type(config, type);
		}
	}
	{
		/* without --uuid, a random one (the scripts hear it) */
		char gen[37];
		struct start_call sc = { ctx, uuid ? uuid : random_uuid(gen),
					 parent, config, &made };

		if (!sc.uuid) {
			r = fail_os(-errno);
			goto out;
		}
		r = with_callouts("start", a->set[O_FORCE], sc.uuid, parent,
				  vgpu_config_get_type(config), config,
				  start_now, &sc, NULL);
	}
	if (!r && !uuid)
		printf("%s\n", made);
out:
	free(made);
	vgpu_config_unref(config);
	devlist_free(&l);
	return r;
}

struct stop_call {
	struct vgpu_ctx *ctx;
	const char *uuid;
};

static int stop_now(struct callout *c, void *data)
{
	struct stop_call *s = data;

	(void)c;
	return remove_device(s->ctx, s->uuid);
}

static int cmd_stop(struct vgpu_ctx *ctx, const struct cmd *cmd, struct args *a)
{
	struct vgpu_instance *in;

	struct stop_call sc = { ctx, a->uuid };
	struct vgpu_config *c = NULL;
	int r;

	(void)cmd;
	in = find_active(ctx, a->uuid);
	/* 1.2 tries anyway (no scripts: the device has no type); 1.4 says
	 * there is nothing to stop */
	if (!in && compat_12)
		return remove_device(ctx, a->uuid);
	if (!in)
		return fail("Device %s is not an active mdev", a->uuid);
	/* scripts hear the device as sysfs shows it: manual, no attributes */
	if (vgpu_config_new(&c) == 0)
		vgpu_config_set_type(c, vgpu_instance_get_type_id(in));
	r = with_callouts("stop", a->set[O_FORCE], a->uuid,
			  vgpu_instance_get_parent_id(in),
			  vgpu_instance_get_type_id(in), c, stop_now, &sc,
			  NULL);
	vgpu_config_unref(c);
	vgpu_instance_unref(in);
	return r;
}

struct autostart {
	struct vgpu_ctx *ctx;
	struct devlist l;
};

/* start the definition @uuid of the listed parent if it is "auto" */
static void autostart_one(const char *uuid, void *data)
{
	struct autostart *as = data;

	for (size_t i = 0; i < as->l.n; i++) {
		const struct dev *d = &as->l.d[i];
		struct start_call sc = { as->ctx, d->uuid, d->parent, d->config,
					 NULL };

		if (strcmp(d->uuid, uuid) != 0 || !dev_autostart(d))
			continue;
		/* errors are reported as warnings; the exit status stays 0 */
		errors_as_warnings = true;
		(void)with_callouts("start", false, d->uuid, d->parent, d->type,
				    d->config, start_now, &sc, NULL);
		errors_as_warnings = false;
	}
}

static int cmd_start_parent(struct vgpu_ctx *ctx, const struct cmd *cmd,
			    struct args *a)
{
	const char *parent = a->val[O_POSITIONAL];
	struct autostart as = { .ctx = ctx };
	char *dir;
	int r;

	(void)cmd;
	r = collect(ctx, C_SCAN, NULL, parent, &as.l);
	if (r < 0)
		return fail_collect(r);
	/* in the order mdevctl reads the parent's definitions */
	if (asprintf(&dir, "%s/%s", vgpu_ctx_get_config_dir(ctx), parent) >=
	    0) {
		scan_dir(dir, false, autostart_one, &as);
		free(dir);
	}
	devlist_free(&as.l);
	return 0;
}

/* ------------------------------------------------------------------------ */
/* Entry points                                                              */
/* ------------------------------------------------------------------------ */

static void print_help(FILE *f, const char *prog)
{
	fprintf(f,
		"%s %s (vgpuctl mdevctl compatibility)\n\n"
		"USAGE:\n    %s <SUBCOMMAND>\n\nSUBCOMMANDS:\n",
		prog, compat_12 ? "1.2.0" : "1.4.0", prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, "start-parent-mdevs") != 0)
			fprintf(f, "    %s\n", commands[i].usage);
	fprintf(f,
		"\nSee docs/mdevctl-compat.md; options follow mdevctl %s\n"
		"(VGPU_MDEVCTL_COMPAT=1.2|1.4, or mdevctl-compat = 1.2|1.4 in %s).\n",
		compat_12 ? "1.2" : "1.4", COMPAT_CONFIG_FILE);
}

/*
 * mdevctl's start-up check, before it reads its command line: the
 * definitions directory, and the script directories its packaging
 * provides, must exist (1.2: those under the definitions directory; 1.4:
 * those under /usr/lib/mdevctl, see lib_dir()).
 */
static int check_environment(struct vgpu_ctx *ctx)
{
	const char *dir = vgpu_ctx_get_config_dir(ctx);
	char *path[3] = { NULL };
	int r = 0;

	if (asprintf(&path[0], "%s", dir) < 0)
		return fail_os(-ENOMEM);
	if (compat_12) {
		if (asprintf(&path[1], "%s/scripts.d/callouts", dir) < 0 ||
		    asprintf(&path[2], "%s/scripts.d/notifiers", dir) < 0)
			r = fail_os(-ENOMEM);
	} else if (lib_dir(ctx)) {
		path[1] = strdup(LIB_SCRIPTS "/callouts");
		path[2] = strdup(LIB_SCRIPTS "/notifiers");
	}
	for (size_t i = 0; !r && i < 3 && path[i]; i++) {
		struct stat st;

		if (stat(path[i], &st) < 0)
			r = fail(
				"Required directory %s doesn't exist. This may indicate a packaging or installation error",
				quote_path(path[i]));
	}
	for (size_t i = 0; i < 3; i++)
		free(path[i]);
	return r;
}

/*
 * Which mdevctl to be.  VGPU_MDEVCTL_COMPAT in the environment wins; else
 * "mdevctl-compat = <version>" in the configuration file (VGPU_CONFIG_FILE
 * or /etc/vgpu/vgpuctl.conf), for hosts where libvirt or udev start the
 * tool with an environment of their own; else 1.4.  Returns 0 or 1 after
 * printing an error naming the source of a bad value.
 */
static int set_compat(const char *value, const char *source, unsigned int line)
{
	if (!strcmp(value, "1.4")) {
		compat_12 = false;
	} else if (!strcmp(value, "1.2")) {
		compat_12 = true;
	} else {
		if (line)
			fprintf(stderr,
				"Error: %s:%u: mdevctl-compat must be 1.2 or 1.4, not \"%s\"\n",
				source, line, value);
		else
			fprintf(stderr,
				"Error: %s must be 1.2 or 1.4, not \"%s\"\n",
				source, value);
		return 1;
	}
	return 0;
}

static char *trim(char *s)
{
	char *e;

	while (*s == ' ' || *s == '\t')
		s++;
	e = s + strlen(s);
	while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\n' ||
			 e[-1] == '\r'))
		*--e = '\0';
	return s;
}

static int choose_compat(void)
{
	const char *env = getenv("VGPU_MDEVCTL_COMPAT");
	const char *path = getenv("VGPU_CONFIG_FILE");
	char line[512];
	unsigned int n = 0;
	int r = 0;
	FILE *f;

	compat_12 = false;
	if (env)
		return set_compat(env, "VGPU_MDEVCTL_COMPAT", 0);
	if (!path || !*path)
		path = COMPAT_CONFIG_FILE;
	f = fopen(path, "re");
	if (!f)
		return 0; /* no file: the default */
	while (!r && fgets(line, sizeof(line), f)) {
		char *key = trim(line), *eq;

		n++;
		if (!*key || *key == '#')
			continue;
		eq = strchr(key, '=');
		if (!eq)
			continue; /* other settings are other tools' business */
		*eq = '\0';
		if (!strcmp(trim(key), "mdevctl-compat"))
			r = set_compat(trim(eq + 1), path, n);
	}
	fclose(f);
	return r;
}

/* the command line, once the environment passed mdevctl's check: the
 * exit status, or -1 to run @cmd with @a */
static int parse_command_line(int argc, char **argv, bool as_lsmdev,
			      const struct cmd **cmd, struct args *a)
{
	if (as_lsmdev) {
		*cmd = &lsmdev_cmd;
	} else if (argc < 2) {
		print_help(stderr, "mdevctl");
		return EXIT_USAGE;
	} else if (strcmp(argv[1], "-V") == 0 ||
		   strcmp(argv[1], "--version") == 0) {
		puts(compat_12 ? "mdevctl 1.2.0" : "mdevctl 1.4.0");
		return 0;
	} else if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
		   strcmp(argv[1], "--help") == 0) {
		print_help(stdout, "mdevctl");
		return 0;
	} else {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]);
		     i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				*cmd = &commands[i];
		if (!*cmd) {
			static const struct cmd top = {
				.usage = "mdevctl <SUBCOMMAND>"
			};

			return unexpected_arg(&top, argv[1]);
		}
	}
	argc -= as_lsmdev ? 1 : 2;
	argv += as_lsmdev ? 1 : 2;
	if (cli_want_help(argc, argv)) {
		printf("USAGE:\n    %s\n", (*cmd)->usage);
		return 0;
	}
	return parse_args(*cmd, argc, argv, a) ?: -1;
}

int mdevctl_compat_main(const struct opts *o, int argc, char **argv,
			bool as_lsmdev)
{
	const struct cmd *cmd = NULL;
	struct vgpu_ctx *ctx = NULL;
	struct args a;
	int r;

	if (choose_compat())
		return 1;
	/* mdevctl prints its own messages, not the library's */
	if (cli_ctx_new(o, false, &ctx))
		return 1;
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	/* mdevctl knows mdev alone: no other backend may slow or fail it */
	vgpu_ctx_set_backends(ctx, "mdev");
	/* mdevctl checks its directories before it reads its arguments */
	r = check_environment(ctx);
	if (!r)
		r = parse_command_line(argc, argv, as_lsmdev, &cmd, &a);
	if (r < 0) {
		callouts_setup(ctx);
		r = cmd->run(ctx, cmd, &a);
	}
	fflush(stdout);
	vgpu_ctx_unref(ctx);
	return r;
}
