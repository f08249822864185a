/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * screenshot and vnc, as vgpuctl sees them: run the private program
 * vgpuctl-display with the same global options and the verb's arguments.
 *
 * libvncserver (and through it gnutls, libgcrypt, libjpeg, ... some twenty
 * shared libraries) and libpng are needed by these two verbs only; linked
 * into vgpuctl they cost every other verb their loading and relocation
 * (a tenth of `vgpuctl mdevctl types` on a big host). vgpuctl-display is
 * vgpuctl's own dispatcher built with just these two verbs (vgpuctl.c with
 * VGPUCTL_DISPLAY_HELPER), so it parses, helps and fails exactly as they
 * did inside vgpuctl.
 *
 * Where it is: next to the running vgpuctl when it is there (a build tree),
 * else where it is installed (VGPUCTL_DISPLAY_PATH, libexecdir/libvgpu).
 * The directory of the running program is trusted as much as the program.
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "vgpuctl.h"
#include "vgpuctl-display.h"

#define HELPER "vgpuctl-display"

/* the helper next to the running program into @buf, or the installed one */
static const char *helper_path(char *buf, size_t size)
{
	ssize_t n = readlink("/proc/self/exe", buf, size - 1);
	char *slash;

	if (n > 0 && (size_t)n < size - 1) {
		buf[n] = '\0';
		slash = strrchr(buf, '/');
		if (slash &&
		    (size_t)(slash + 1 - buf) + sizeof(HELPER) <= size) {
			memcpy(slash + 1, HELPER, sizeof(HELPER));
			if (access(buf, X_OK) == 0)
				return buf;
		}
	}
	return VGPUCTL_DISPLAY_PATH;
}

/* argv[0] is the verb; the global options go before it, as given */
static int run_display(struct vgpu_ctx *ctx, const struct opts *o, int argc,
		       char **argv)
{
	const char *opt[] = { "--sysfs-root", o->sysfs_root,   "--config-dir",
			      o->config_dir,  "--runtime-dir", o->runtime_dir };
	char buf[PATH_MAX];
	const char *path = helper_path(buf, sizeof(buf));
	/* the program, 3 options with values, -j, -v each, argv, NULL */
	size_t max = 1 + 6 + 1 + (size_t)(o->verbose > 0 ? o->verbose : 0) +
		     (size_t)argc + 1,
	       k = 0;
	char **av = calloc(max, sizeof(*av));

	(void)ctx;
	if (!av) {
		fail_msg("%s", strerror(ENOMEM));
		return EXIT_FAILURE;
	}
	av[k++] = (char *)path;
	for (size_t i = 0; i < sizeof(opt) / sizeof(opt[0]); i += 2) {
		if (!opt[i + 1])
			continue;
		av[k++] = (char *)opt[i];
		av[k++] = (char *)opt[i + 1];
	}
	if (o->json)
		av[k++] = (char *)"-j";
	for (int i = 0; i < o->verbose; i++)
		av[k++] = (char *)"-v";
	for (int i = 0; i < argc; i++)
		av[k++] = argv[i];
	fflush(stdout);
	execv(path, av);
	fail_msg("%s needs %s: %s", argv[0], path, strerror(errno));
	free(av);
	return EXIT_FAILURE;
}

const struct verb verb_screenshot = {
	VERB_SCREENSHOT_INFO,
	.run = run_display,
	.flags = VERB_RAW,
};

const struct verb verb_vnc = {
	VERB_VNC_INFO,
	.run = run_display,
	.flags = VERB_RAW,
};
