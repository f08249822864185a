/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * What every personality of vgpuctl shares (vgpuctl's verbs and the mdevctl
 * personality): exit codes, the global options, files, the context. The
 * helpers are in tools/cli.c.
 */
#ifndef VGPUCTL_CLI_H
#define VGPUCTL_CLI_H

#include <stdbool.h>
#include <stddef.h>

#include <libvgpu.h>

/*
 * Exit codes, the same cause giving the same code in every verb (vgpuctl(8),
 * "EXIT STATUS"). exit_for() maps a library error to one of them.
 */
enum {
	EXIT_USAGE = 2,	       /* bad command line, malformed input */
	EXIT_NOTFOUND = 3,     /* no such parent, type or instance */
	EXIT_CONFLICT = 4,     /* exists, in use, no capacity left */
	EXIT_PERMISSION = 5,   /* permission denied (EACCES, EPERM) */
	EXIT_UNRESPONSIVE = 6, /* a provider does not answer in time */
	EXIT_PARTIAL = 7,      /* a listing printed what answered; some
				* parents did not (each one on stderr) */
};

/* the global options, handed to every verb */
struct opts {
	bool json;
	const char *sysfs_root;
	const char *config_dir;
	const char *runtime_dir;
	int verbose;
};

/*
 * Set up the process's heap for listings of big hosts: grown in large
 * steps, huge pages allowed above its first 256 KiB (tools/cli-heap.c).
 * Called first thing in main(), before anything is allocated; it never
 * fails.
 */
void cli_heap_setup(void);

/* whether -h/--help comes before a "--" in argv[0..argc) */
bool cli_want_help(int argc, char **argv);

/*
 * Read a whole file (or stdin for "-" when @allow_stdin) of at most @max
 * bytes into a malloc'd, NUL-terminated buffer. -errno; -EFBIG when larger.
 */
int cli_read_file(const char *path, bool allow_stdin, size_t max, char **ret,
		  size_t *len_ret);

/*
 * A context with the directories of @o (NULL: the library's defaults and
 * environment) and, when @log_fn is true, vgpuctl's log function: library
 * warnings are printed at once, errors are kept as the cause of the next
 * fail_errno(). Returns 0 or the exit status after printing why.
 */
int cli_ctx_new(const struct opts *o, bool log_fn, struct vgpu_ctx **ret);

/*
 * Keep @p, the last thing a listing verb would free before vgpuctl exits,
 * for the exit instead: freeing thousands of instances and definitions one
 * by one costs a listing of a big host a twentieth of its time, for memory
 * the exit returns at once. @p stays reachable (leak checkers count it as
 * such); should the few places for that be taken, @free_fn(@p) runs now.
 * Only for what the process holds until it exits.
 */
void cli_keep_until_exit(void *p, void (*free_fn)(void *));

#endif
