/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * vgpuctl — manage vGPU parents, types and instances through libvgpu.
 * Links only against the public library, like any other user.
 *
 * One program, several personalities chosen by the name it is run as
 * (program_invocation_short_name): vgpuctl with its verb table (verbs.h,
 * one file per verb group), and mdevctl/lsmdev (mdevctl-compat.c).
 *
 * Built a second time with VGPUCTL_DISPLAY_HELPER as the private program
 * vgpuctl-display: the verbs that need libvncserver and libpng (screenshot,
 * vnc) and nothing else; vgpuctl runs it for them (vgpuctl-display-exec.c).
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mdevctl-compat.h"
#include "vgpuctl.h"

#ifdef VGPUCTL_DISPLAY_HELPER
static const struct verb *const verbs[] = {
	&verb_screenshot,
	&verb_vnc,
	NULL,
};
#else
static const struct verb *const verbs[] = {
#define VERB(name) &verb_##name,
#include "verbs.h"
#undef VERB
	NULL,
};
#endif

static int run_vgpuctl(int argc, char **argv);

#ifndef VGPUCTL_DISPLAY_HELPER

static int run_mdevctl(int argc, char **argv)
{
	return mdevctl_compat_main(NULL, argc, argv, false);
}

static int run_lsmdev(int argc, char **argv)
{
	return mdevctl_compat_main(NULL, argc, argv, true);
}

/* personalities by program name; the first match wins */
static const struct personality {
	const char *name;
	bool suffix; /* the name ends with it (mdevctl's own test for lsmdev) */
	int (*run)(int argc, char **argv);
} personalities[] = {
	{ "lsmdev", true, run_lsmdev },
	{ "mdevctl", false, run_mdevctl },
	{ "vgpuctl", false, run_vgpuctl },
};

/* "vgpuctl mdevctl ARGS": the personality with vgpuctl's directories */
static int cmd_mdevctl(struct vgpu_ctx *ctx, const struct opts *o, int argc,
		       char **argv)
{
	(void)ctx;
	return mdevctl_compat_main(o, argc, argv, false);
}

const struct verb verb_mdevctl = {
	.name = "mdevctl",
	.run = cmd_mdevctl,
	.args = "MDEVCTL-ARGS...",
	.summary = "behave exactly like mdevctl (see mdevctl --help)",
	.flags = VERB_RAW,
};

#endif

static void usage(FILE *f)
{
	fprintf(f,
		"Usage: %s [OPTIONS] VERB [VERB OPTIONS]\n\n"
		"Options:\n"
		"  --sysfs-root DIR   where sysfs is mounted (default /sys)\n"
		"  --config-dir DIR   persistent definitions (default /etc/mdevctl.d)\n"
		"  --runtime-dir DIR  locks and sockets (default /run/vgpu)\n"
		"  -j, --json         JSON output (docs/json-schema.md)\n"
		"  -v, --verbose      log more (repeat for debug)\n"
		"  -h, --help         this help\n"
		"  -V, --version      print the version\n\n"
		"Verbs (VERB --help explains each):\n",
		cli_prog);
	for (size_t i = 0; verbs[i]; i++)
		fprintf(f, "  %-10s %s\n", verbs[i]->name, verbs[i]->summary);
	fprintf(f,
		"\nExit status: 0 success, 1 failure, 2 usage error, 3 not found,\n"
		"4 conflict (exists, in use, no capacity left), 5 permission denied,\n"
		"6 a provider is not responding, 7 a partial listing (providers\n"
		"that did not answer are named on stderr). See vgpuctl(8).\n");
}

#ifndef VGPUCTL_DISPLAY_HELPER
static int cmd_help(struct vgpu_ctx *ctx, const struct opts *o, int argc,
		    char **argv)
{
	(void)ctx;
	(void)o;
	(void)argc;
	(void)argv;
	usage(stdout);
	return 0;
}

const struct verb verb_help = {
	.name = "help",
	.run = cmd_help,
	.args = "",
	.summary = "show this help",
	.flags = VERB_RAW,
};
#endif

static const struct verb *find_verb(const char *name)
{
	for (size_t i = 0; verbs[i]; i++)
		if (!strcmp(verbs[i]->name, name))
			return verbs[i];
	return NULL;
}

static void print_verb_help(const struct verb *v)
{
	printf("Usage: %s %s %s\n\n%s\n", cli_prog, v->name, v->args,
	       v->summary);
	if (v->options)
		printf("\nOptions:\n%s", v->options);
	printf("  -j, --json         JSON output\n"
	       "  -h, --help         this help\n");
}

static int run_vgpuctl(int argc, char **argv)
{
	static const struct option go[] = {
		{ "sysfs-root", required_argument, NULL, 'S' },
		{ "config-dir", required_argument, NULL, 'C' },
		{ "runtime-dir", required_argument, NULL, 'R' },
		{ "json", no_argument, NULL, 'j' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ 0 },
	};
	struct opts o = { 0 };
	struct vgpu_ctx *ctx = NULL;
	const struct verb *v;
	int c, r;

	while ((c = getopt_long(argc, argv, "+jvhV", go, NULL)) != -1) {
		switch (c) {
		case 'S':
			o.sysfs_root = optarg;
			break;
		case 'C':
			o.config_dir = optarg;
			break;
		case 'R':
			o.runtime_dir = optarg;
			break;
		case 'j':
			o.json = true;
			break;
		case 'v':
			o.verbose++;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V':
			printf("vgpuctl %s\n", VGPU_VERSION);
			return 0;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	v = find_verb(argv[optind]);
	if (!v) {
		fprintf(stderr, "%s: unknown verb '%s'\n", cli_prog,
			argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	argc -= optind;
	argv += optind;
	if (v->flags & VERB_RAW)
		return v->run(NULL, &o, argc, argv);
	if (cli_want_help(argc - 1, argv + 1)) {
		print_verb_help(v);
		return 0;
	}
	r = cli_ctx_new(&o, true, &ctx);
	if (r)
		return r;
	r = v->run(ctx, &o, argc, argv);
	vgpu_ctx_unref(ctx);
	if (fflush(stdout) != 0 || ferror(stdout)) {
		fail_msg("write error: %s", strerror(errno));
		return EXIT_FAILURE;
	}
	return r;
}

int main(int argc, char **argv)
{
#ifdef VGPUCTL_DISPLAY_HELPER
	/* run by vgpuctl only, whatever its own name */
	return run_vgpuctl(argc, argv);
#else
	const char *name = program_invocation_short_name;
	size_t n = strlen(name);

	cli_heap_setup();
	for (size_t i = 0; i < sizeof(personalities) / sizeof(personalities[0]);
	     i++) {
		const struct personality *p = &personalities[i];
		size_t k = strlen(p->name);

		if (p->suffix ? n >= k && !strcmp(name + n - k, p->name)
			      : !strcmp(name, p->name))
			return p->run(argc, argv);
	}
	/* any other name (a copy, a test's wrapper) is vgpuctl */
	return run_vgpuctl(argc, argv);
#endif
}
