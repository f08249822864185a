/* SPDX-License-Identifier: LGPL-2.1-or-later */
/*
 * The mdevctl personality of vgpuctl: a drop-in for /usr/sbin/mdevctl and
 * lsmdev, built only on the public libvgpu API.  See docs/mdevctl-compat.md.
 * vgpuctl runs it when called as mdevctl or lsmdev (tools/vgpuctl.c) and for
 * `vgpuctl mdevctl ...`.
 */
#ifndef VGPUCTL_MDEVCTL_COMPAT_H
#define VGPUCTL_MDEVCTL_COMPAT_H

#include <stdbool.h>

#include "cli.h"

/*
 * mdevctl_compat_main - run an mdevctl (or lsmdev when @as_lsmdev) command
 * line; argv[0] is the program name, argv[1] the subcommand (mdevctl) or the
 * first option (lsmdev). @o gives vgpuctl's directories (--sysfs-root,
 * --config-dir, --runtime-dir), NULL for the library's defaults and
 * environment. Returns the process exit status: 0, 1 for runtime errors, 2
 * for command-line errors, like mdevctl.
 */
int mdevctl_compat_main(const struct opts *o, int argc, char **argv,
			bool as_lsmdev);

#endif
