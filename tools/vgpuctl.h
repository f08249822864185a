/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What the verbs of vgpuctl share: the verb table entry, the global options,
 * the exit codes, and the helpers of tools/cli.c (error printing, JSON
 * output and files, tables, option parsing). Every verb lives in a file of
 * its own and exports one `const struct verb verb_NAME`; tools/verbs.h lists
 * them, one line each.
 */
#ifndef VGPUCTL_H
#define VGPUCTL_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include <libvgpu.h>

#include "util-json.h"

#include "cli.h"

/* verb flags */
enum {
	/* the verb gets no context (ctx NULL), and sees --help itself */
	VERB_RAW = 1u << 0,
};

struct verb {
	const char *name;
	int (*run)(struct vgpu_ctx *ctx, const struct opts *o, int argc,
		   char **argv);
	const char *args;    /* the synopsis after the verb's name */
	const char *summary; /* one line */
	const char *options; /* the verb's options, one per line, or NULL */
	unsigned int flags;
};

#define VERB(name) extern const struct verb verb_##name;
#include "verbs.h"
#undef VERB

/* ---- tools/cli.c ------------------------------------------------------- */

/* the program's name in messages ("vgpuctl") */
extern const char *cli_prog;

/* one error line: "vgpuctl: <message>" on stderr */
void __attribute__((format(printf, 1, 2))) fail_msg(const char *fmt, ...);
/* one warning line: "vgpuctl: warning: <message>" on stderr */
void __attribute__((format(printf, 1, 2))) warn_msg(const char *fmt, ...);
/*
 * Report a failed library call on @object and return the exit status for
 * it: "vgpuctl: <object>: <text for @r>", or "vgpuctl: <the library's
 * message>" when the library logged why (see cli_ctx_new()) and says more
 * than the errno. One line per failure.
 */
int __attribute__((format(printf, 2, 3)))
fail_errno(int r, const char *object_fmt, ...);
/* "parent ID: no such parent" (exit 3) for -ENODEV/-ENOENT/-EINVAL, else
 * fail_errno() */
int fail_parent(int r, const char *id);
/* "instance UUID: no such instance" (or @absent) for -ENOENT, "not a UUID"
 * for -EINVAL, else fail_errno() */
int fail_instance(int r, const char *uuid, const char *absent);
/* the text fail_errno() prints for @r without a logged cause */
const char *cli_strerror(int r);
/* the exit status for a library error */
int exit_for(int r);
int __attribute__((format(printf, 2, 3)))
usage_error(const char *verb, const char *fmt, ...);

/* print a finished JSON document on stdout, followed by a newline */
void print_json(struct jw *j);

/* forget a logged error cause (a failure that was handled) */
void cli_clear_cause(void);
/* print a logged error cause that no failure reported (and forget it) */
void cli_flush_cause(void);
/* the logged error cause, malloc'd, or NULL; it is forgotten */
char *cli_take_cause(void);

/* a column table: rows of cells, printed with widths fitted to the content */
struct table {
	size_t ncols;
	char **cells;
	size_t nrows;
};
void table_add(struct table *t, ...);
void table_print(struct table *t);

/* getopt_long over @extra plus --json and --help */
int parse_common(int argc, char **argv, const struct option *extra,
		 const char *shortopts,
		 int (*handle)(int c, const char *arg, void *data), void *data,
		 struct opts *o);
bool looks_like_uuid(const char *s);
/* the option -p/--parent alone, and its handler (data: const char **) */
extern const struct option parent_only[];
int parent_opt(int c, const char *arg, void *data);
/* a non-negative decimal number, or EXIT_USAGE after saying what is wrong */
int cli_parse_count(const char *what, const char *arg, long *ret);

/* device verbs (vgpuctl-device.c) */
int cmd_regions(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		char **argv);
int cmd_irqs(struct vgpu_ctx *ctx, const struct opts *go, int argc,
	     char **argv);
int cmd_migration(struct vgpu_ctx *ctx, const struct opts *go, int argc,
		  char **argv);

#endif
