/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * mdevctl 1.2 personality of vgpuctl.
 *
 * Reproduces the command line, output formats, exit codes and effects of
 * mdevctl 1.2 (see docs/mdevctl-compat.md) on top of the public libvgpu API
 * only.  Layout:
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
#include <sys/stat.h>
#include <syslog.h>
#include <time.h>

#include <libvgpu.h>

#include "cli.h"
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

static void warn_in(const char *module, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
#define warn(...) warn_in("mdevctl", __VA_ARGS__)

/* start-parent-mdevs logs failures as warnings instead of failing */
static bool errors_as_warnings;

/* "Error: <msg>\n" and, with a negative errno cause, the "Caused by" part */
static int fail_errno(int neg_errno, const char *fmt, ...)
{
	va_list ap;

	if (errors_as_warnings) {
		char *msg;

		va_start(ap, fmt);
		if (vasprintf(&msg, fmt, ap) >= 0) {
			warn("%s", msg);
			free(msg);
		}
		va_end(ap);
		if (neg_errno)
			warn("%s (os error %d)", strerror(-neg_errno), -neg_errno);
		return 1;
	}
	fputs("Error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (neg_errno)
		fprintf(stderr, "\nCaused by:\n    %s (os error %d)\n",
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

	return !l || !(strcasecmp(l, "off") == 0 || strcasecmp(l, "error") == 0);
}

/* env_logger's default line: "[<UTC time>Z WARN  <module>] <msg>" */
static void warn_in(const char *module, const char *fmt, ...)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	va_list ap;

	if (!warnings_enabled())
		return;
	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	fprintf(stderr, "[%s WARN  %s] ", ts, module);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
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
			buf_printf(err, "invalid character: expected an optional prefix of `urn:uuid:` followed by [0-9a-zA-Z], found `%c` at %zu",
				   c, off + i + 1);
			return false;
		}
		if (groups <= 8)
			glen[groups - 1]++;
		if (hex < 32)
			out[hex + (hex >= 8) + (hex >= 12) + (hex >= 16) + (hex >= 20)] = (char)tolower(c);
		hex++;
	}
	if (groups == 1) {
		if (len != 32) {
			buf_printf(err, "invalid length: expected length 32 for simple format, found %zu", len);
			return false;
		}
	} else if (groups != 5) {
		buf_printf(err, "invalid group count: expected 5, found %d", groups);
		return false;
	} else {
		for (int g = 0; g < 5; g++)
			if (glen[g] != group_len[g]) {
				buf_printf(err, "invalid group length in group %d: expected %d, found %d",
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
		switch (*p) {
		case '"': buf_puts(&j->out, "\\\""); break;
		case '\\': buf_puts(&j->out, "\\\\"); break;
		case '\n': buf_puts(&j->out, "\\n"); break;
		case '\r': buf_puts(&j->out, "\\r"); break;
		case '\t': buf_puts(&j->out, "\\t"); break;
		case '\b': buf_puts(&j->out, "\\b"); break;
		case '\f': buf_puts(&j->out, "\\f"); break;
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
	O_UUID, O_PARENT, O_TYPE, O_AUTO, O_MANUAL, O_JSONFILE, O_DEFINED,
	O_DUMPJSON, O_VERBOSE, O_ADDATTR, O_DELATTR, O_INDEX, O_VALUE,
	O_POSITIONAL, O_COUNT
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
	unsigned int opts;        /* accepted options */
	unsigned int need_one_of; /* at least one of these (clap required) */
	unsigned int conflicts[2][2];
	unsigned int requires[2]; /* opt a requires opt b */
	const char *usage;        /* after "USAGE:\n    " */
	const char *missing_usage;/* usage line shown for a missing option */
	cmd_fn run;
};

static int cmd_list(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_types(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_define(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_undefine(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_modify(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_start(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_stop(struct vgpu_ctx *, const struct cmd *, struct args *);
static int cmd_start_parent(struct vgpu_ctx *, const struct cmd *, struct args *);

#define LIST_OPTS (BIT(O_DEFINED) | BIT(O_DUMPJSON) | BIT(O_VERBOSE) | \
		   BIT(O_UUID) | BIT(O_PARENT))

static const struct cmd lsmdev_cmd = {
	"lsmdev", LIST_OPTS, 0, { { 0 } }, { 0 },
	"lsmdev [OPTIONS]", NULL, cmd_list,
};

static const struct cmd commands[] = {
	{ "define",
	  BIT(O_UUID) | BIT(O_AUTO) | BIT(O_PARENT) | BIT(O_TYPE) | BIT(O_JSONFILE),
	  BIT(O_UUID) | BIT(O_PARENT),
	  { { BIT(O_TYPE), BIT(O_JSONFILE) }, { BIT(O_AUTO), BIT(O_JSONFILE) } },
	  { 0 },
	  "mdevctl define [OPTIONS]",
	  "mdevctl define --uuid <UUID> --parent <PARENT>", cmd_define },
	{ "list", LIST_OPTS, 0, { { 0 } }, { 0 },
	  "mdevctl list [OPTIONS]", NULL, cmd_list },
	{ "modify",
	  BIT(O_UUID) | BIT(O_PARENT) | BIT(O_TYPE) | BIT(O_ADDATTR) |
		  BIT(O_DELATTR) | BIT(O_INDEX) | BIT(O_VALUE) | BIT(O_AUTO) |
		  BIT(O_MANUAL),
	  BIT(O_UUID),
	  { { BIT(O_ADDATTR), BIT(O_DELATTR) }, { BIT(O_AUTO), BIT(O_MANUAL) } },
	  { BIT(O_ADDATTR), BIT(O_VALUE) },
	  "mdevctl modify [OPTIONS] --uuid <UUID>", NULL, cmd_modify },
	{ "start",
	  BIT(O_UUID) | BIT(O_PARENT) | BIT(O_TYPE) | BIT(O_JSONFILE),
	  BIT(O_UUID) | BIT(O_PARENT),
	  { { BIT(O_TYPE), BIT(O_JSONFILE) } },
	  { 0 },
	  "mdevctl start [OPTIONS]",
	  "mdevctl start --uuid <UUID> --parent <PARENT>", cmd_start },
	{ "start-parent-mdevs", BIT(O_POSITIONAL), BIT(O_POSITIONAL),
	  { { 0 } }, { 0 },
	  "mdevctl start-parent-mdevs <PARENT>", NULL, cmd_start_parent },
	{ "stop", BIT(O_UUID), BIT(O_UUID), { { 0 } }, { 0 },
	  "mdevctl stop --uuid <UUID>", NULL, cmd_stop },
	{ "types", BIT(O_PARENT) | BIT(O_DUMPJSON), 0, { { 0 } }, { 0 },
	  "mdevctl types [OPTIONS]", NULL, cmd_types },
	{ "undefine", BIT(O_UUID) | BIT(O_PARENT), BIT(O_UUID), { { 0 } }, { 0 },
	  "mdevctl undefine [OPTIONS] --uuid <UUID>", NULL, cmd_undefine },
};

static const char *opt_display(enum opt_id o)
{
	static char s[O_COUNT][64];
	char *r = s[o];

	if (o == O_POSITIONAL)
		snprintf(r, 64, "<%s>", opt_defs[o].value_name);
	else if (opt_defs[o].value_name)
		snprintf(r, 64, "--%s <%s>", opt_defs[o].lng, opt_defs[o].value_name);
	else
		snprintf(r, 64, "--%s", opt_defs[o].lng);
	return r;
}

static int usage_error(const char *usage, const char *fmt, ...)
{
	va_list ap;

	fputs("error: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	if (usage)
		fprintf(stderr, "\n\nUSAGE:\n    %s", usage);
	fputs("\n\nFor more information try --help\n", stderr);
	return EXIT_USAGE;
}

static int unexpected_arg(const struct cmd *cmd, const char *arg)
{
	if (arg[0] == '-')
		return usage_error(cmd->usage,
				   "Found argument '%s' which wasn't expected, or isn't valid in this context\n\n"
				   "\tIf you tried to supply `%s` as a value rather than a flag, use `-- %s`",
				   arg, arg, arg);
	return usage_error(cmd->usage,
			   "Found argument '%s' which wasn't expected, or isn't valid in this context",
			   arg);
}

/* store one option occurrence; returns 0 or an exit status */
static int set_opt(const struct cmd *cmd, struct args *a, enum opt_id o,
		   const char *value, unsigned int pos)
{
	struct buf err = { 0 };

	if (a->set[o])
		return usage_error(cmd->usage,
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
			return usage_error(NULL, "Invalid value \"%s\" for '%s': %s",
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
			size_t n = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
			int o;

			for (o = 0; o < O_POSITIONAL; o++)
				if ((cmd->opts & BIT(o)) &&
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
					return usage_error(NULL,
							   "The argument '%s' requires a value but none was supplied",
							   opt_display(o));
			} else if (eq) {
				return usage_error(NULL, "The argument '%s' takes no value",
						   opt_display(o));
			}
			r = set_opt(cmd, a, (enum opt_id)o, value, pos);
			if (r)
				return r;
		} else if (!only_positional && arg[0] == '-' && arg[1]) {
			for (const char *c = arg + 1; *c; c++) {
				int o;

				for (o = 0; o < O_POSITIONAL; o++)
					if ((cmd->opts & BIT(o)) && opt_defs[o].shrt == *c)
						break;
				if (o == O_POSITIONAL) {
					char bad[3] = { '-', *c, 0 };

					return unexpected_arg(cmd, bad);
				}
				const char *value = NULL;

				if (opt_defs[o].value_name) {
					if (c[1])
						value = c[1] == '=' ? c + 2 : c + 1;
					else if (i + 1 < argc)
						value = argv[++i];
					else
						return usage_error(NULL,
								   "The argument '%s' requires a value but none was supplied",
								   opt_display(o));
				}
				r = set_opt(cmd, a, (enum opt_id)o, value, pos);
				if (r)
					return r;
				if (value)
					break;
			}
		} else if ((cmd->opts & BIT(O_POSITIONAL)) && !a->set[O_POSITIONAL]) {
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
		return usage_error(conflict_usage(cmd, a, second),
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
		return usage_error(u.s,
				   "The following required arguments were not provided:\n    %s",
				   opt_display(need));
	}
	if (cmd->need_one_of) {
		bool any = false;
		struct buf missing = { 0 };

		for (int o = 0; o < O_COUNT; o++)
			if (cmd->need_one_of & BIT(o)) {
				any |= a->set[o];
				buf_printf(&missing, "%s    %s", missing.len ? "\n" : "",
					   opt_display(o));
			}
		if (!any) {
			r = usage_error(cmd->missing_usage ? cmd->missing_usage : cmd->usage,
					"The following required arguments were not provided:\n%s",
					missing.s);
			free(missing.s);
			return r;
		}
		free(missing.s);
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
	const char *type;           /* definition's type when defined */
	struct vgpu_config *config; /* NULL when not defined */
	bool active;                /* active with this parent and type */
	bool defined;
};

struct devlist {
	struct vgpu_instance **raw;
	size_t n_raw;
	struct dev *d;
	size_t n;
};

static void devlist_free(struct devlist *l)
{
	vgpu_instance_list_free(l->raw, l->n_raw);
	free(l->d);
	memset(l, 0, sizeof(*l));
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
		if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
			continue;
		if (!uuid_parse(de->d_name, u, &why)) {
			if (warn_bad)
				warn("Can't determine uuid for file '%s'", de->d_name);
		} else if (fn) {
			fn(u, data);
		}
	}
	free(why.s);
	if (d)
		closedir(d);
}

static void warn_non_uuid(struct vgpu_ctx *ctx, bool defined, const char *parent)
{
	const char *top = defined ? vgpu_ctx_get_config_dir(ctx) :
				    vgpu_ctx_get_sysfs_root(ctx);
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

		if (de->d_name[0] == '.' || strcmp(de->d_name, "scripts.d") == 0 ||
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

/* what collect() lists and how, besides the @uuid and @parent filters */
enum collect_flags {
	C_DEFINED = 1 << 0,	/* definitions, else active instances */
	C_STRICT = 1 << 1,	/* a malformed definition fails (-EBADMSG) */
	C_WARN = 1 << 2,	/* warn about non-UUID names like mdevctl */
};
/* how mdevctl scans definitions for list -d, undefine, modify, start */
#define C_SCAN (C_DEFINED | C_STRICT | C_WARN)

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
	if (flags & C_WARN)
		warn_non_uuid(ctx, defined, parent);
	r = vgpu_instance_list(ctx, lf | (flags & C_STRICT ? VGPU_LIST_STRICT : 0),
			       parent, uuid, &l->raw, &l->n_raw);
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
		d->type = d->config ? vgpu_config_get_type(d->config) : active_type;
		d->active = vgpu_instance_is_active(in);
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
			warn_in("mdevctl::mdev", "Overwriting mdev type for mdev %s: %s => %s",
				d->uuid, active_type, d->type);
		l->n++;
	}
	qsort(l->d, l->n, sizeof(*l->d), dev_cmp);
	return 0;
}

/* report a collect() failure the way mdevctl reports a bad definition */
static int fail_collect(int r)
{
	return r == -EBADMSG ? fail("invalid json") : fail_os(r);
}

static size_t dev_attr_count(const struct dev *d)
{
	return d->config ? vgpu_config_get_attr_count(d->config) : 0;
}

static bool dev_autostart(const struct dev *d)
{
	return d->config && vgpu_config_get_autostart(d->config);
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

		vgpu_config_get_attr(d->config, i, &k, &v);
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

static int cmd_list(struct vgpu_ctx *ctx, const struct cmd *cmd,
		    struct args *a)
{
	bool defined = a->set[O_DEFINED];
	const char *uuid = a->set[O_UUID] ? a->uuid : NULL;
	struct devlist l;
	struct json j = { 0 };
	int r;

	(void)cmd;
	r = collect(ctx, defined ? C_SCAN : C_WARN, uuid, a->val[O_PARENT], &l);
	if (r < 0)
		return fail_collect(r);

	if (a->set[O_DUMPJSON] && uuid && l.n == 1) {
		dev_json(&j, &l.d[0]);
	} else if (a->set[O_DUMPJSON]) {
		json_open(&j, "[");
		if (l.n) {
			json_open(&j, "{");
			for (size_t i = 0; i < l.n; i++) {
				if (i == 0 || strcmp(l.d[i].parent, l.d[i - 1].parent)) {
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
			buf_printf(&j.out, "%s %s %s %s%s\n", d->uuid, d->parent,
				   d->type, dev_autostart(d) ? "auto" : "manual",
				   mark);
			if (!a->set[O_VERBOSE] || !dev_attr_count(d))
				continue;
			buf_puts(&j.out, "  Attrs:\n");
			for (size_t k = 0; k < dev_attr_count(d); k++) {
				const char *key, *val;

				vgpu_config_get_attr(d->config, k, &key, &val);
				buf_printf(&j.out, "    @{%zu}: {\"%s\":\"%s\"}\n",
					   k, key, val);
			}
		}
	}
	printf("%s\n", j.out.s ? j.out.s : "");
	free(j.out.s);
	devlist_free(&l);
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

static int type_cmp(const void *x, const void *y)
{
	return strcmp(vgpu_type_get_id(*(struct vgpu_type *const *)x),
		      vgpu_type_get_id(*(struct vgpu_type *const *)y));
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

/* trimmed copy; with @join, inner newlines become ", " like mdevctl */
static char *clean_text(const char *s, bool join)
{
	struct buf b = { 0 };
	const char *end;

	if (!s)
		return NULL;
	while (isspace((unsigned char)*s))
		s++;
	end = s + strlen(s);
	while (end > s && isspace((unsigned char)end[-1]))
		end--;
	buf_add(&b, "", 0);
	for (const char *p = s; p < end; p++) {
		if (join && *p == '\n')
			buf_puts(&b, ", ");
		else
			buf_add(&b, p, 1);
	}
	if (!b.len) {
		free(b.s);
		return NULL;
	}
	return b.s;
}

static int cmd_types(struct vgpu_ctx *ctx, const struct cmd *cmd,
		     struct args *a)
{
	struct vgpu_parent **parents;
	size_t n_parents, n_shown = 0;
	struct json j = { 0 };
	struct buf text = { 0 };
	int r, ret = 0;

	(void)cmd;
	r = mdev_parents(ctx, &parents, &n_parents);
	if (r < 0)
		return fail_os(r);
	json_open(&j, "[");
	for (size_t i = 0; i < n_parents && !ret; i++) {
		const char *pid = vgpu_parent_get_id(parents[i]);
		struct vgpu_type **types;
		size_t n_types;

		if (a->val[O_PARENT] && strcmp(a->val[O_PARENT], pid) != 0)
			continue;
		r = vgpu_type_list(parents[i], &types, &n_types);
		if (r < 0) {
			ret = fail_os(r);
			break;
		}
		if (n_types > 1)
			qsort(types, n_types, sizeof(*types), type_cmp);
		if (n_shown++ == 0)
			json_open(&j, "{");
		json_key(&j, pid);
		json_open(&j, "[");
		buf_printf(&text, "%s\n", pid);
		for (size_t t = 0; t < n_types; t++) {
			const char *tid = vgpu_type_get_id(types[t]);
			const char *api = vgpu_type_get_device_api(types[t]);
			int avail = vgpu_type_get_available_instances(types[t]);
			char *name = clean_text(vgpu_type_get_name(types[t]), false);
			char *desc = clean_text(vgpu_type_get_description(types[t]), true);

			if (avail < 0) {
				free(name);
				free(desc);
				ret = fail_os(avail);
				break;
			}
			json_open(&j, "{");
			json_key(&j, tid);
			json_open(&j, "{");
			json_key(&j, "available_instances");
			json_int(&j, avail);
			json_key(&j, "device_api");
			json_string(&j, api ? api : "");
			buf_printf(&text, "  %s\n    Available instances: %d\n    Device API: %s\n",
				   tid, avail, api ? api : "");
			if (name) {
				json_key(&j, "name");
				json_string(&j, name);
				buf_printf(&text, "    Name: %s\n", name);
			}
			if (desc) {
				json_key(&j, "description");
				json_string(&j, desc);
				buf_printf(&text, "    Description: %s\n", desc);
			}
			json_close(&j, "}");
			json_close(&j, "}");
			free(name);
			free(desc);
		}
		json_close(&j, "]");
		vgpu_type_list_free(types, n_types);
	}
	if (n_shown)
		json_close(&j, "}");
	json_close(&j, "]");
	if (!ret) {
		if (a->set[O_DUMPJSON])
			printf("%s\n", j.out.s);
		else
			printf("%s\n", text.s ? text.s : "");
	}
	free(j.out.s);
	free(text.s);
	vgpu_parent_list_free(parents, n_parents);
	return ret;
}

/* ------------------------------------------------------------------------ */
/* Shared helpers for the lifecycle commands                                 */
/* ------------------------------------------------------------------------ */

/* read and parse a --jsonfile */
static int load_jsonfile(const char *path, struct vgpu_config **ret)
{
	char *text;
	size_t len;
	int r;

	r = cli_read_file(path, false, 16u << 20, &text, &len);
	if (r < 0)
		return fail_errno(r, "Unable to read jsonfile %s", quote_path(path));
	r = vgpu_config_new_from_json(text, len, ret);
	free(text);
	if (r < 0)
		return fail("invalid json");
	return 0;
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
		return fail_errno(r, "Failed to write %s to attribute %s", v, k);
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
				if (strcasecmp(vgpu_parent_get_id(all[i]), parent) == 0)
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
		fail("Parent %s is not currently registered for mdev support", parent);
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

static int cmd_define(struct vgpu_ctx *ctx, const struct cmd *cmd,
		      struct args *a)
{
	const char *uuid = a->set[O_UUID] ? a->uuid : NULL;
	const char *parent = a->val[O_PARENT];
	const char *type = a->val[O_TYPE];
	struct vgpu_config *config = NULL;
	struct vgpu_instance *in = NULL;
	int r;

	(void)cmd;
	if (a->set[O_JSONFILE]) {
		const char *path = a->val[O_JSONFILE];
		struct devlist l;

		if (!parent)
			return fail("Parent device required to define device via %s",
				    quote_path(path));
		if (uuid) {
			r = collect(ctx, C_DEFINED, uuid, parent, &l);
			if (r < 0)
				return fail_os(r);
			if (l.n) {
				devlist_free(&l);
				return fail("Cowardly refusing to overwrite existing config for %s/%s",
					    parent, uuid);
			}
			devlist_free(&l);
		}
		if (load_jsonfile(path, &config))
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
			return fail(!parent ? "No parent specified" : "No type specified");
		}
		if (uuid) {
			r = collect(ctx, C_DEFINED, uuid, parent, &l);
			if (r == 0 && l.n) {
				devlist_free(&l);
				fail("Device %s on %s already defined", uuid, parent);
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
		r = vgpu_instance_define(ctx, parent, uuid, config, 0, &in);
		vgpu_instance_unref(act);
		goto done;
	}
	r = vgpu_instance_define(ctx, parent, uuid, config, 0, &in);
done:
	vgpu_config_unref(config);
	if (r < 0) {
		if (r == -EEXIST)
			return fail("Device %s on %s already defined", uuid, parent);
		return fail_os(r);
	}
	if (!uuid)
		printf("%s\n", vgpu_instance_get_uuid(in));
	vgpu_instance_unref(in);
	return 0;
}

static int cmd_undefine(struct vgpu_ctx *ctx, const struct cmd *cmd,
			struct args *a)
{
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
	for (size_t i = 0; i < l.n; i++)
		(void)vgpu_instance_undefine(ctx, a->uuid, l.d[i].parent);
	devlist_free(&l);
	return 0;
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
		r = fail("Multiple definitions found for %s, specify a parent", uuid);
	devlist_free(l);
	return r;
}

static int cmd_modify(struct vgpu_ctx *ctx, const struct cmd *cmd,
		      struct args *a)
{
	struct vgpu_config *c;
	struct devlist l;
	size_t n_attrs;
	int r;

	(void)cmd;
	if (get_defined(ctx, a->uuid, a->val[O_PARENT], &l))
		return 1;
	c = config_clone(l.d[0].config, true);
	if (!c) {
		devlist_free(&l);
		return fail_os(-ENOMEM);
	}
	if (a->set[O_TYPE])
		vgpu_config_set_type(c, a->val[O_TYPE]);
	if (a->set[O_AUTO] || a->set[O_MANUAL])
		vgpu_config_set_autostart(c, a->set[O_AUTO]);
	n_attrs = vgpu_config_get_attr_count(c);
	r = 0;
	if (a->set[O_INDEX] && (a->set[O_ADDATTR] || a->set[O_DELATTR]) &&
	    (a->index > n_attrs || (a->set[O_DELATTR] && a->index == n_attrs)))
		r = fail("Attribute index %lu is invalid", a->index);
	else if (a->set[O_ADDATTR])
		vgpu_config_add_attr(c, a->val[O_ADDATTR], a->val[O_VALUE],
				     a->set[O_INDEX] ? (long)a->index : -1);
	else if (a->set[O_DELATTR] && n_attrs)
		vgpu_config_del_attr(c, a->set[O_INDEX] ? (long)a->index : -1);
	if (!r) {
		r = vgpu_instance_modify(ctx, a->uuid, l.d[0].parent, c);
		if (r < 0)
			r = fail_errno(r, "Failed to write config for device %s", a->uuid);
	}
	vgpu_config_unref(c);
	devlist_free(&l);
	return r;
}

/* ------------------------------------------------------------------------ */
/* start / stop / start-parent-mdevs                                         */
/* ------------------------------------------------------------------------ */

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
		if (load_jsonfile(a->val[O_JSONFILE], &config))
			return 1;
		if (!parent) {
			r = fail("Parent device required to start device via json file");
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
				r = fail("Multiple definitions found for device %s. Please specify a parent.",
					 uuid);
				goto out;
			}
			if (l.n == 1) {
				if (type && strcmp(type, l.d[0].type) != 0) {
					r = fail("Device %s already exists on parent %s with type %s",
						 uuid, l.d[0].parent, l.d[0].type);
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
	r = create_device(ctx, uuid, parent, config, &made);
	if (!r && !uuid)
		printf("%s\n", made);
out:
	free(made);
	vgpu_config_unref(config);
	devlist_free(&l);
	return r;
}

static int cmd_stop(struct vgpu_ctx *ctx, const struct cmd *cmd,
		    struct args *a)
{
	(void)cmd;
	return remove_device(ctx, a->uuid);
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

		if (strcmp(d->uuid, uuid) != 0 || !dev_autostart(d))
			continue;
		/* errors are reported as warnings; the exit status stays 0 */
		errors_as_warnings = true;
		(void)create_device(as->ctx, d->uuid, d->parent, d->config, NULL);
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
	if (asprintf(&dir, "%s/%s", vgpu_ctx_get_config_dir(ctx), parent) >= 0) {
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
	fprintf(f, "%s 1.2.0 (vgpuctl mdevctl compatibility)\n\n"
		   "USAGE:\n    %s <SUBCOMMAND>\n\nSUBCOMMANDS:\n", prog, prog);
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (strcmp(commands[i].name, "start-parent-mdevs") != 0)
			fprintf(f, "    %s\n", commands[i].usage);
	fputs("\nSee docs/mdevctl-compat.md; options follow mdevctl 1.2.\n", f);
}

static int check_environment(struct vgpu_ctx *ctx)
{
	static const char *const sub[] = { "", "/scripts.d/callouts",
					   "/scripts.d/notifiers" };
	const char *dir = vgpu_ctx_get_config_dir(ctx);

	for (size_t i = 0; i < 3; i++) {
		char *path;
		FILE *probe;

		if (asprintf(&path, "%s%s", dir, sub[i]) < 0)
			return fail_os(-ENOMEM);
		/* opening a directory read-only succeeds iff it exists */
		probe = fopen(path, "re");
		if (!probe) {
			fail("Required directory %s doesn't exist. This may indicate a packaging or installation error",
			     quote_path(path));
			free(path);
			return 1;
		}
		fclose(probe);
		free(path);
	}
	return 0;
}

int mdevctl_compat_main(const struct opts *o, int argc, char **argv,
			bool as_lsmdev)
{
	const struct cmd *cmd = NULL;
	struct vgpu_ctx *ctx = NULL;
	struct args a;
	int r;

	if (as_lsmdev) {
		cmd = &lsmdev_cmd;
	} else if (argc < 2) {
		print_help(stderr, "mdevctl");
		return EXIT_USAGE;
	} else if (strcmp(argv[1], "-V") == 0 || strcmp(argv[1], "--version") == 0) {
		puts("mdevctl 1.2.0");
		return 0;
	} else if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0 ||
		   strcmp(argv[1], "--help") == 0) {
		print_help(stdout, "mdevctl");
		return 0;
	} else {
		for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
			if (strcmp(argv[1], commands[i].name) == 0)
				cmd = &commands[i];
		if (!cmd) {
			static const struct cmd top = { .usage = "mdevctl <SUBCOMMAND>" };

			return unexpected_arg(&top, argv[1]);
		}
	}
	argc -= as_lsmdev ? 1 : 2;
	argv += as_lsmdev ? 1 : 2;
	if (cli_want_help(argc, argv)) {
		printf("USAGE:\n    %s\n", cmd->usage);
		return 0;
	}
	r = parse_args(cmd, argc, argv, &a);
	if (r)
		return r;

	/* mdevctl prints its own messages, not the library's */
	if (cli_ctx_new(o, false, &ctx))
		return 1;
	vgpu_ctx_set_log_fn(ctx, NULL, NULL);
	/* mdevctl knows mdev alone: no other backend may slow or fail it */
	vgpu_ctx_set_backends(ctx, "mdev");
	r = check_environment(ctx);
	if (!r)
		r = cmd->run(ctx, cmd, &a);
	fflush(stdout);
	vgpu_ctx_unref(ctx);
	return r;
}
