/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The helpers every vgpuctl verb and personality shares: messages and exit
 * codes, JSON output, files, the context and its log function, tables and
 * option parsing. Declared in cli.h (all personalities) and vgpuctl.h
 * (vgpuctl's verbs).
 */
#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <syslog.h>

#include "vgpuctl.h"

const char *cli_prog = "vgpuctl";

/* the library's first error message, kept as the cause of the failure the
 * verb reports next (so a failure is one line, not the library's and ours) */
static char *cause;

/* what cli_keep_until_exit() keeps: reachable from here until the exit */
static void *kept[4];

void cli_keep_until_exit(void *p, void (*free_fn)(void *))
{
	for (size_t i = 0; i < sizeof(kept) / sizeof(kept[0]); i++)
		if (!kept[i]) {
			kept[i] = p;
			return;
		}
	free_fn(p);
}

void cli_flush_cause(void)
{
	if (cause)
		fprintf(stderr, "%s: %s\n", cli_prog, cause);
	free(cause);
	cause = NULL;
}

char *cli_take_cause(void)
{
	char *c = cause;

	cause = NULL;
	return c;
}

void cli_clear_cause(void)
{
	free(cause);
	cause = NULL;
}

/* exit: a cause nobody reported is still printed, never lost */
static void __attribute__((destructor)) cli_exit(void)
{
	cli_flush_cause();
}

static void log_to_stderr(struct vgpu_ctx *ctx, int priority, const char *file,
			  int line, const char *fn, const char *format,
			  va_list args, void *userdata)
{
	const int *verbose = userdata;

	(void)ctx;
	(void)file;
	(void)line;
	if (priority <= LOG_ERR && !*verbose) {
		/* the first error is the cause; what follows is its
		 * consequence ("...: removing it again", "parent P: ...") */
		if (!cause && vasprintf(&cause, format, args) < 0)
			cause = NULL;
		return;
	}
	if (priority >= LOG_DEBUG)
		fprintf(stderr, "%s: debug: %s: ", cli_prog, fn);
	else if (priority >= LOG_INFO)
		fprintf(stderr, "%s: ", cli_prog);
	else
		fprintf(stderr, "%s: %s", cli_prog,
			priority >= LOG_WARNING ? "warning: " : "");
	vfprintf(stderr, format, args);
	fputc('\n', stderr);
}

void __attribute__((format(printf, 1, 2))) fail_msg(const char *fmt, ...)
{
	va_list ap;

	cli_clear_cause();
	fprintf(stderr, "%s: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

void __attribute__((format(printf, 1, 2))) warn_msg(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: warning: ", cli_prog);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

const char *cli_strerror(int r)
{
	switch (-r) {
	case EACCES:
	case EPERM:
		return "permission denied";
	case ETIMEDOUT:
		return "not responding";
	case ENOSPC:
		return "no capacity left";
	case EEXIST:
		return "exists already";
	case EBUSY:
		return "in use";
	}
	return strerror(-r);
}

/* causes for which the library's own message says more than ours */
static bool library_says_more(int r)
{
	switch (-r) {
	case ENOENT:
	case ENODEV:
	case ENOSPC:
	case EEXIST:
	case EBUSY:
	case ENOTUNIQ:
		return false;
	}
	return true;
}

int __attribute__((format(printf, 2, 3)))
fail_errno(int r, const char *object_fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", cli_prog);
	if (cause && library_says_more(r)) {
		/* the library's message names its object itself */
		fprintf(stderr, "%s\n", cause);
	} else {
		va_start(ap, object_fmt);
		vfprintf(stderr, object_fmt, ap);
		va_end(ap);
		fprintf(stderr, ": %s\n", cli_strerror(r));
	}
	cli_clear_cause();
	return exit_for(r);
}

int fail_parent(int r, const char *id)
{
	if (r == -ENODEV || r == -ENOENT || r == -EINVAL) {
		fail_msg("parent %s: no such parent", id);
		return EXIT_NOTFOUND;
	}
	return fail_errno(r, "parent %s", id);
}

int fail_instance(int r, const char *uuid, const char *absent)
{
	switch (-r) {
	case EINVAL:
		fail_msg("%s: not a UUID", uuid);
		return EXIT_USAGE;
	case ENOENT:
		fail_msg("instance %s: %s", uuid,
			 absent ? absent : "no such instance");
		return EXIT_NOTFOUND;
	case ENOTUNIQ:
		fail_msg(
			"instance %s: defined under several parents; name one with --parent",
			uuid);
		return EXIT_CONFLICT;
	}
	return fail_errno(r, "instance %s", uuid);
}

int exit_for(int r)
{
	switch (-r) {
	case 0:
		return EXIT_SUCCESS;
	case ENOENT:
	case ENODEV:
		return EXIT_NOTFOUND;
	case EEXIST:
	case ENOSPC:
	case EBUSY:
	case ENOTUNIQ:
		return EXIT_CONFLICT;
	case EINVAL:
		return EXIT_USAGE;
	case EACCES:
	case EPERM:
		return EXIT_PERMISSION;
	case ETIMEDOUT:
		return EXIT_UNRESPONSIVE;
	default:
		return EXIT_FAILURE;
	}
}

int __attribute__((format(printf, 2, 3)))
usage_error(const char *verb, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s %s: ", cli_prog, verb);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fprintf(stderr, "\nTry '%s %s --help'.\n", cli_prog, verb);
	return EXIT_USAGE;
}

bool cli_want_help(int argc, char **argv)
{
	for (int i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "--"))
			break;
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
			return true;
	}
	return false;
}

void print_json(struct jw *j)
{
	char *text;

	if (jw_finish(j, &text) < 0) {
		fail_msg("out of memory");
		return;
	}
	puts(text);
	free(text);
}

int cli_read_file(const char *path, bool allow_stdin, size_t max, char **ret,
		  size_t *len_ret)
{
	bool use_stdin = allow_stdin && !strcmp(path, "-");
	FILE *f = use_stdin ? stdin : fopen(path, "re");
	size_t len = 0, cap = 0;
	char *buf = NULL;
	int r = 0;

	if (!f)
		return -errno;
	for (;;) {
		size_t n;

		if (cap - len < 4096) {
			char *nb;

			cap = cap ? 2 * cap : 8192;
			nb = realloc(buf, cap + 1);
			if (!nb) {
				r = -ENOMEM;
				break;
			}
			buf = nb;
		}
		errno = 0;
		n = fread(buf + len, 1, cap - len, f);
		len += n;
		if (len > max) {
			r = -EFBIG;
			break;
		}
		if (n == 0) {
			/* read()'s errno: EISDIR for a directory */
			if (ferror(f))
				r = errno ? -errno : -EIO;
			break;
		}
	}
	if (!use_stdin)
		fclose(f);
	if (r < 0) {
		free(buf);
		return r;
	}
	if (!buf) {
		buf = malloc(1);
		if (!buf)
			return -ENOMEM;
	}
	buf[len] = '\0';
	*ret = buf;
	*len_ret = len;
	return 0;
}

int cli_ctx_new(const struct opts *o, bool log_fn, struct vgpu_ctx **ret)
{
	static int verbose;
	struct vgpu_ctx *ctx;
	int r;

	r = vgpu_ctx_new(&ctx);
	if (r < 0) {
		fprintf(stderr, "%s: cannot create a context: %s\n", cli_prog,
			strerror(-r));
		return EXIT_FAILURE;
	}
	verbose = o ? o->verbose : 0;
	if (log_fn)
		vgpu_ctx_set_log_fn(ctx, log_to_stderr, &verbose);
	if (verbose)
		vgpu_ctx_set_log_priority(ctx,
					  verbose > 1 ? LOG_DEBUG : LOG_INFO);
	if (o && ((o->sysfs_root &&
		   vgpu_ctx_set_sysfs_root(ctx, o->sysfs_root) < 0) ||
		  (o->config_dir &&
		   vgpu_ctx_set_config_dir(ctx, o->config_dir) < 0) ||
		  (o->runtime_dir &&
		   vgpu_ctx_set_runtime_dir(ctx, o->runtime_dir) < 0))) {
		fprintf(stderr, "%s: directories must be absolute paths\n",
			cli_prog);
		vgpu_ctx_unref(ctx);
		return EXIT_USAGE;
	}
	*ret = ctx;
	return 0;
}

void table_add(struct table *t, ...)
{
	va_list ap;
	char **grown = reallocarray(t->cells, (t->nrows + 1) * t->ncols,
				    sizeof(char *));

	if (!grown)
		return;
	t->cells = grown;
	va_start(ap, t);
	for (size_t c = 0; c < t->ncols; c++) {
		const char *s = va_arg(ap, const char *);

		grown[t->nrows * t->ncols + c] = strdup(s ? s : "-");
	}
	va_end(ap);
	t->nrows++;
}

void table_print(struct table *t)
{
	size_t width[16] = { 0 };

	for (size_t i = 0; i < t->nrows * t->ncols; i++) {
		size_t len = t->cells[i] ? strlen(t->cells[i]) : 0;

		if (len > width[i % t->ncols])
			width[i % t->ncols] = len;
	}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *s = t->cells[r * t->ncols + c];

			if (c + 1 == t->ncols)
				printf("%s\n", s ? s : "");
			else
				printf("%-*s  ", (int)width[c], s ? s : "");
		}
	}
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	t->cells = NULL;
	t->nrows = 0;
}

int parse_common(int argc, char **argv, const struct option *extra,
		 const char *shortopts,
		 int (*handle)(int c, const char *arg, void *data), void *data,
		 struct opts *o)
{
	struct option all[24];
	size_t n = 0;
	int c;

	for (; extra && extra[n].name && n < 21; n++)
		all[n] = extra[n];
	all[n++] = (struct option){ "json", no_argument, NULL, 'j' };
	all[n++] = (struct option){ "help", no_argument, NULL, 'h' };
	all[n] = (struct option){ 0 };
	optind = 0; /* 0, not 1: glibc re-reads the ordering mode (permute) */
	opterr = 0;
	while ((c = getopt_long(argc, argv, shortopts, all, NULL)) != -1) {
		int r;

		if (c == 'j') {
			o->json = true;
			continue;
		}
		if (c == '?' || c == ':')
			return usage_error(argv[0], "bad option '%s'",
					   argv[optind - 1]);
		r = handle ? handle(c, optarg, data) : EXIT_USAGE;
		if (r)
			return r;
	}
	return 0;
}

bool looks_like_uuid(const char *s)
{
	return strlen(s) == 36 && s[8] == '-' && s[13] == '-' && s[18] == '-' &&
	       s[23] == '-';
}

int cli_parse_count(const char *what, const char *arg, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(arg, &end, 10);
	if (!isdigit((unsigned char)arg[0]) || errno || *end || v < 0) {
		fprintf(stderr, "%s: %s '%s' is not a non-negative number\n",
			cli_prog, what, arg);
		return EXIT_USAGE;
	}
	*ret = v;
	return 0;
}

int parent_opt(int c, const char *arg, void *data)
{
	if (c != 'p')
		return EXIT_USAGE;
	*(const char **)data = arg;
	return 0;
}

const struct option parent_only[] = {
	{ "parent", required_argument, NULL, 'p' },
	{ 0 },
};
